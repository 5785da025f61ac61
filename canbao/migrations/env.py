import warnings

from alembic import context
from sqlalchemy import pool
from sqlalchemy.exc import SAWarning

from canbao.db import make_engine

config = context.config


def run_migrations() -> None:
    # Batch alterations on SQLite cannot reflect the inbox's expression indexes and say so on every
    # fresh install; 0023 recreates them, and a test checks they exist after every migration.
    warnings.filterwarnings("ignore", "Skipped unsupported reflection of expression-based index", SAWarning)
    url = config.get_main_option("sqlalchemy.url")
    engine = make_engine(url, poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


run_migrations()
