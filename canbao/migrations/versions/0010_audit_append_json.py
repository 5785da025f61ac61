"""audit_append_events(): the chaining step of 0006 taking a transaction's events as one JSON array
(one row array per event, in `chain.APPEND_COLUMNS` order) and inserting them in one statement.

Eleven array parameters cost the client more to encode than the events themselves, and one INSERT
per event in the loop cost the server an executor start each; now the loop only hashes, and a single
INSERT … SELECT writes every event with its hash. Same chaining, same canonical text, same hashes.

Revision ID: 0010
Revises: 0009
"""

from collections.abc import Sequence
from importlib import import_module

from alembic import op

from canbao.audit.chain import APPEND_COLUMNS, sql_hash
from canbao.crypto import STANDARD, Profile

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_CASTS = {"at": "timestamptz", "case_id": "bigint"}
_FIELDS = ", ".join(
    f"(v->>{i})::{_CASTS[c]} AS {c}" if c in _CASTS else f"v->>{i} AS {c}"
    for i, c in enumerate(APPEND_COLUMNS)
)
_EVENTS = f"SELECT i, {_FIELDS} FROM jsonb_array_elements(p_events) WITH ORDINALITY AS x(v, i)"
_VALUE = {"chain": "h_chain", "seq": "(h_seq + ev.i)", "prev_hash": "prev"}
_COLUMNS = ", ".join(("chain", "seq", *APPEND_COLUMNS, "prev_hash", "hash"))
_VALUES = ", ".join(
    (
        "h_chain",
        "h_seq + e.i",
        *(f"e.{c}" for c in APPEND_COLUMNS),
        "CASE WHEN e.i = 1 THEN head_hash ELSE hashes[e.i - 1] END",
        "hashes[e.i]",
    )
)


def create_function(profile: Profile = STANDARD, *, replace: bool = False) -> str:
    """The function hashing with the profile's hash (0015 installs the SM3 one under the national profile)."""
    create = "CREATE OR REPLACE" if replace else "CREATE"
    return f"""
{create} FUNCTION audit_append_events(p_events jsonb) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  h_chain smallint;
  h_seq bigint;
  head_hash text;
  prev text;
  hashes text[] := '{{}}';
  ev record;
BEGIN
  SELECT h.chain, h.seq, h.hash INTO h_chain, h_seq, head_hash
    FROM audit_chain_head h ORDER BY random() LIMIT 1 FOR UPDATE SKIP LOCKED;
  IF NOT FOUND THEN
    SELECT h.chain, h.seq, h.hash INTO h_chain, h_seq, head_hash FROM audit_chain_head h
      WHERE h.chain = (SELECT c.chain FROM audit_chain_head c ORDER BY random() LIMIT 1) FOR UPDATE;
  END IF;
  prev := head_hash;
  FOR ev IN {_EVENTS} LOOP
    prev := {sql_hash(lambda field: _VALUE.get(field) or f"ev.{field}", profile)};
    hashes[ev.i] := prev;
  END LOOP;
  INSERT INTO audit_event ({_COLUMNS}) SELECT {_VALUES} FROM ({_EVENTS}) e;
  UPDATE audit_chain_head SET seq = h_seq + cardinality(hashes), hash = prev WHERE chain = h_chain;
END $$;
"""


UPGRADE = create_function()


def _previous():
    return import_module("canbao.migrations.versions.0006_audit_append_function")


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(UPGRADE)
        _previous().downgrade()


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _previous().upgrade()
        op.execute("DROP FUNCTION audit_append_events(jsonb)")
