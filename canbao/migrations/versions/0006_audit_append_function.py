"""audit_append(): the chaining step of canbao.audit.chain as one database call on PostgreSQL.

It takes a transaction's pending events as arrays, locks a chain head nobody else holds (any head if
all are busy), numbers the events, hashes each over the canonical text with sha256(), inserts them and
moves the head: one round trip per commit instead of three. It runs with the caller's rights, so
`canbao_app` needs nothing beyond its INSERT on audit_event and UPDATE on audit_chain_head.

Revision ID: 0006
Revises: 0005
"""

from collections.abc import Sequence

from alembic import op

from canbao.audit.chain import sql_hash

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The arguments as they were at this revision (0010 replaces the function by one that takes JSON).
APPEND_COLUMNS = (
    "at",
    "actor_sub",
    "actor_role",
    "area",
    "client_addr",
    "action",
    "object_type",
    "object_id",
    "case_id",
    "person_id",
    "payload",
)
APPEND_TYPES = {"at": "timestamptz[]", "case_id": "bigint[]"}
_VALUE = {"chain": "h_chain", "seq": "(h_seq + i)", "prev_hash": "prev"}
_ARGS = ", ".join(f"p_{c} {APPEND_TYPES.get(c, 'text[]')}" for c in APPEND_COLUMNS)
_COLUMNS = ", ".join(("chain", "seq", *APPEND_COLUMNS, "prev_hash", "hash"))
_VALUES = ", ".join(("h_chain", "h_seq + i", *(f"p_{c}[i]" for c in APPEND_COLUMNS), "prev", "digest"))

UPGRADE = f"""
CREATE FUNCTION audit_append({_ARGS}) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  h_chain smallint;
  h_seq bigint;
  prev text;
  digest text;
BEGIN
  SELECT h.chain, h.seq, h.hash INTO h_chain, h_seq, prev
    FROM audit_chain_head h ORDER BY random() LIMIT 1 FOR UPDATE SKIP LOCKED;
  IF NOT FOUND THEN
    SELECT h.chain, h.seq, h.hash INTO h_chain, h_seq, prev FROM audit_chain_head h
      WHERE h.chain = (SELECT c.chain FROM audit_chain_head c ORDER BY random() LIMIT 1) FOR UPDATE;
  END IF;
  FOR i IN 1 .. cardinality(p_at) LOOP
    digest := {sql_hash(lambda field: _VALUE.get(field) or f"p_{field}[i]")};
    INSERT INTO audit_event ({_COLUMNS}) VALUES ({_VALUES});
    prev := digest;
  END LOOP;
  UPDATE audit_chain_head SET seq = h_seq + cardinality(p_at), hash = prev WHERE chain = h_chain;
END $$;
"""


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(UPGRADE)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "DROP FUNCTION audit_append("
            + ", ".join(APPEND_TYPES.get(c, "text[]") for c in APPEND_COLUMNS)
            + ")"
        )
