"""The audit log is append-only on PostgreSQL, and the application's role can only append to it.

- Triggers refuse UPDATE, DELETE and TRUNCATE on `audit_event` for everyone, the owner included
  (an owner who disables them leaves the rows to `canbao audit verify` and the archive anchors).
  Chain heads may only move forward: no DELETE or TRUNCATE, no UPDATE that lowers `seq`.
- `canbao_app` (NOLOGIN) holds what the API and the worker need: all DML on the other tables, only
  SELECT and INSERT on `audit_event`, SELECT and UPDATE on `audit_chain_head`. Production connects
  as a login role that is a member of it (`CREATE ROLE canbao_web LOGIN PASSWORD … IN ROLE
  canbao_app`), while migrations run as the owner of the schema; see README "Audit log".

SQLite has no roles: there the chains, verify and the anchors are the protection.

Revision ID: 0005
Revises: 0004
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

APP_ROLE = "canbao_app"

UPGRADE = f"""
CREATE FUNCTION audit_event_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit_event is append-only: % refused', TG_OP
    USING ERRCODE = 'insufficient_privilege', HINT = '审计日志只允许追加，不能修改或删除';
END $$;

CREATE TRIGGER audit_event_no_update_delete BEFORE UPDATE OR DELETE ON audit_event
  FOR EACH ROW EXECUTE FUNCTION audit_event_append_only();
CREATE TRIGGER audit_event_no_truncate BEFORE TRUNCATE ON audit_event
  FOR EACH STATEMENT EXECUTE FUNCTION audit_event_append_only();

CREATE FUNCTION audit_chain_head_forward_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'UPDATE' AND NEW.chain = OLD.chain AND NEW.seq >= OLD.seq THEN
    RETURN NEW;
  END IF;
  RAISE EXCEPTION 'audit_chain_head only moves forward: % refused', TG_OP
    USING ERRCODE = 'insufficient_privilege', HINT = '审计链头只能前移';
END $$;

CREATE TRIGGER audit_chain_head_forward_only BEFORE UPDATE OR DELETE ON audit_chain_head
  FOR EACH ROW EXECUTE FUNCTION audit_chain_head_forward_only();
CREATE TRIGGER audit_chain_head_no_truncate BEFORE TRUNCATE ON audit_chain_head
  FOR EACH STATEMENT EXECUTE FUNCTION audit_chain_head_forward_only();

DO $$ BEGIN
  CREATE ROLE {APP_ROLE} NOLOGIN;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
  NULL;  -- roles are per cluster: another database created it already
END $$;

GRANT USAGE ON SCHEMA public TO {APP_ROLE};
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {APP_ROLE};
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {APP_ROLE};
REVOKE INSERT, UPDATE, DELETE ON alembic_version FROM {APP_ROLE};
REVOKE UPDATE, DELETE ON audit_event FROM {APP_ROLE};
REVOKE INSERT, DELETE ON audit_chain_head FROM {APP_ROLE};
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {APP_ROLE};
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO {APP_ROLE};
"""

DOWNGRADE = f"""
ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE USAGE, SELECT ON SEQUENCES FROM {APP_ROLE};
ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE SELECT, INSERT, UPDATE, DELETE ON TABLES FROM {APP_ROLE};
REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM {APP_ROLE};
REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {APP_ROLE};
REVOKE USAGE ON SCHEMA public FROM {APP_ROLE};
DROP TRIGGER audit_chain_head_no_truncate ON audit_chain_head;
DROP TRIGGER audit_chain_head_forward_only ON audit_chain_head;
DROP FUNCTION audit_chain_head_forward_only();
DROP TRIGGER audit_event_no_truncate ON audit_event;
DROP TRIGGER audit_event_no_update_delete ON audit_event;
DROP FUNCTION audit_event_append_only();
"""


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(UPGRADE)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(DOWNGRADE)
