from ..api.conftest import api  # noqa: F401  (the real app on PostgreSQL, one user per role)
