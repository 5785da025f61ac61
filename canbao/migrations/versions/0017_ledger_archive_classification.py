"""Each archive package's classification under 《社会保险业务档案管理规定（试行）》 (第八条: 年度—业务类别—
业务环节, with the outcome) and its 档号, and the table numbering the items of each 档号 series
(`archive.classification`).

Packages archived before this revision get theirs here, numbered in the order they were archived: the
year is that of their archiving (China time), the 业务环节 comes from the case's process, the outcome from
the last approval or refusal among the case's decisions in the audit log. Their manifests, under
retention, stay as they were written (format /1, without the classification). The codes are frozen
copies of those in `archive.classification` as of this revision.

Revision ID: 0017
Revises: 0016
"""

import json
from collections.abc import Sequence
from datetime import UTC, timedelta, timezone

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CHINA = timezone(timedelta(hours=8))
STEPS = {
    "survey_registration": "DJ",
    "counter_collection": "DJ",
    "change_approval": "BG",
    "self_service_update": "GZ",
    "id_correction": "GZ",
}
DECISIONS = ("case.start", "task.complete", "task.return")
COLUMNS = {
    "archive_no": sa.String(length=40),
    "archive_year": sa.Integer(),
    "category": sa.String(length=8),
    "step": sa.String(length=8),
    "outcome": sa.String(length=8),
}

_PACKAGE = sa.table(
    "archive_package",
    sa.column("id"),
    sa.column("case_id"),
    sa.column("sealed_at"),
    sa.column("archive_no"),
    sa.column("archive_year"),
    sa.column("category"),
    sa.column("step"),
    sa.column("outcome"),
)
_CASE = sa.table("cases", sa.column("id"), sa.column("process_key"), sa.column("area"))
_EVENT = sa.table(
    "audit_event", sa.column("id"), sa.column("case_id"), sa.column("action"), sa.column("payload")
)
_SERIES = sa.table("archive_series", sa.column("series"), sa.column("last_item"))


def _outcomes(connection: sa.Connection) -> dict[int, str]:
    """case id → approved | rejected, from the decisions of the archived cases."""
    events = connection.execute(
        sa.select(_EVENT.c.case_id, _EVENT.c.payload)
        .where(
            _EVENT.c.action.in_(DECISIONS),
            _EVENT.c.case_id.in_(sa.select(_PACKAGE.c.case_id)),
        )
        .order_by(_EVENT.c.id)
    )
    outcomes: dict[int, str] = {}
    for case_id, payload in events:
        decision = ((json.loads(payload) if isinstance(payload, str) else payload).get("data") or {}).get(
            "decision"
        )
        if decision in ("approve", "reject"):
            outcomes[case_id] = "rejected" if decision == "reject" else "approved"
    return outcomes


def _classify_existing(connection: sa.Connection) -> None:
    outcomes = _outcomes(connection)
    packages = connection.execute(
        sa.select(_PACKAGE.c.id, _PACKAGE.c.case_id, _PACKAGE.c.sealed_at, _CASE.c.process_key, _CASE.c.area)
        .join(_CASE, _CASE.c.id == _PACKAGE.c.case_id)
        .order_by(_PACKAGE.c.sealed_at, _PACKAGE.c.id)
    ).all()
    items: dict[str, int] = {}
    for package in packages:
        sealed = package.sealed_at if package.sealed_at.tzinfo else package.sealed_at.replace(tzinfo=UTC)
        year = sealed.astimezone(CHINA).year
        step = STEPS.get(package.process_key, "QT")
        outcome = outcomes.get(package.case_id, "approved")
        series = f"{package.area[:6]}-{year}-D100-RYDJ-{step}-{'BY' if outcome == 'rejected' else 'ZY'}"
        items[series] = items.get(series, 0) + 1
        connection.execute(
            _PACKAGE.update()
            .where(_PACKAGE.c.id == package.id)
            .values(
                archive_no=f"{series}-{items[series]:06d}",
                archive_year=year,
                category="RYDJ",
                step=step,
                outcome=outcome,
            )
        )
    if items:
        connection.execute(_SERIES.insert(), [{"series": s, "last_item": n} for s, n in items.items()])


def upgrade() -> None:
    op.create_table(
        "archive_series",
        sa.Column("series", sa.String(length=40), nullable=False),
        sa.Column("last_item", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("series", name=op.f("pk_archive_series")),
    )
    with op.batch_alter_table("archive_package", schema=None) as batch_op:
        for name, type_ in COLUMNS.items():
            batch_op.add_column(sa.Column(name, type_, nullable=True))
    _classify_existing(op.get_bind())
    with op.batch_alter_table("archive_package", schema=None) as batch_op:
        for name, type_ in COLUMNS.items():
            batch_op.alter_column(name, existing_type=type_, nullable=False)
        batch_op.create_unique_constraint(batch_op.f("uq_archive_package_archive_no"), ["archive_no"])


def downgrade() -> None:
    with op.batch_alter_table("archive_package", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_archive_package_archive_no"), type_="unique")
        for name in reversed(COLUMNS):
            batch_op.drop_column(name)
    op.drop_table("archive_series")
