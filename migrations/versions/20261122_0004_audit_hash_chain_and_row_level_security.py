"""audit hash chain; PostgreSQL row-level security, audit append-only

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 12:00:00

Written by hand.  On every database: ``audit_event.prev_hash`` and ``hash``, filled in for
existing events.  On PostgreSQL only: the policy function and the function that secures
the tenant tables (run again after each upgrade by ``core.cli.upgrade_all``, so plugin
tables are covered), and a trigger that refuses UPDATE and DELETE of audit events.
"""
from alembic import op
import sqlalchemy as sa
import core.db


# revision identifiers, used by Alembic.
revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


POLICY_FUNCTIONS = r"""
CREATE OR REPLACE FUNCTION mikrogranty_tenant() RETURNS integer
LANGUAGE sql STABLE AS
$$ SELECT NULLIF(current_setting('mikrogranty.tenant_id', true), '')::integer $$;

CREATE OR REPLACE FUNCTION mikrogranty_secure_tables(tables text[]) RETURNS void
LANGUAGE plpgsql AS
$$
DECLARE
    t text;
    r text;
BEGIN
    FOREACH t IN ARRAY tables LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('DROP POLICY IF EXISTS tenant_isolation ON %I', t);
        EXECUTE format('CREATE POLICY tenant_isolation ON %I '
                       'USING (tenant_id = mikrogranty_tenant()) '
                       'WITH CHECK (tenant_id = mikrogranty_tenant())', t);
    END LOOP;
    FOREACH r IN ARRAY ARRAY['mikrogranty_app', 'mikrogranty_platform'] LOOP
        IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) THEN
            EXECUTE format('GRANT USAGE ON SCHEMA %I TO %I', current_schema(), r);
            EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA %I TO %I',
                           current_schema(), r);
            EXECUTE format('GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA %I TO %I',
                           current_schema(), r);
            IF to_regclass('audit_event') IS NOT NULL THEN
                EXECUTE format('REVOKE UPDATE, DELETE, TRUNCATE ON audit_event FROM %I', r);
            END IF;
        END IF;
    END LOOP;
END
$$;

CREATE OR REPLACE FUNCTION mikrogranty_audit_append_only() RETURNS trigger
LANGUAGE plpgsql AS
$$
BEGIN
    RAISE EXCEPTION 'audit_event is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;
"""


def _backfill_hashes():
    from core.audit.chain import GENESIS, compute_hash

    audit = sa.table(
        "audit_event", sa.column("id", sa.Integer), sa.column("tenant_id", sa.Integer),
        sa.column("actor_id", sa.Integer), sa.column("action", sa.String),
        sa.column("object_type", sa.String), sa.column("object_id", sa.Integer),
        sa.column("changes", sa.JSON), sa.column("created_at", core.db.UTCDateTime()),
        sa.column("prev_hash", sa.String), sa.column("hash", sa.String))
    bind = op.get_bind()
    heads = {}
    # Every tenant's events at once: the platform's reading.
    token = core.db.set_scope(core.db.Scope(platform=True, reason="migration 0004"))
    try:
        for row in bind.execute(sa.select(audit).order_by(audit.c.id)).all():
            prev = heads.get(row.tenant_id, GENESIS)
            digest = compute_hash(row, prev)
            bind.execute(audit.update().where(audit.c.id == row.id)
                         .values(prev_hash=prev, hash=digest))
            heads[row.tenant_id] = digest
    finally:
        core.db.reset_scope(token)


def upgrade():
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.add_column(sa.Column('prev_hash', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('hash', sa.String(length=64), nullable=True))
    _backfill_hashes()

    if op.get_bind().dialect.name == "postgresql":
        op.execute(POLICY_FUNCTIONS)
        op.execute("CREATE TRIGGER audit_event_append_only BEFORE UPDATE OR DELETE "
                   "ON audit_event FOR EACH ROW EXECUTE FUNCTION mikrogranty_audit_append_only()")
        from core.cli import secure_tenant_tables

        secure_tenant_tables(op.get_bind())


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        from core.cli import tenant_tables

        for table in tenant_tables(op.get_bind()):
            op.execute(f'DROP POLICY IF EXISTS tenant_isolation ON "{table}"')
            op.execute(f'ALTER TABLE "{table}" NO FORCE ROW LEVEL SECURITY')
            op.execute(f'ALTER TABLE "{table}" DISABLE ROW LEVEL SECURITY')
        op.execute("DROP TRIGGER IF EXISTS audit_event_append_only ON audit_event")
        op.execute("DROP FUNCTION IF EXISTS mikrogranty_audit_append_only()")
        op.execute("DROP FUNCTION IF EXISTS mikrogranty_secure_tables(text[])")
        op.execute("DROP FUNCTION IF EXISTS mikrogranty_tenant()")
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.drop_column('hash')
        batch_op.drop_column('prev_hash')
