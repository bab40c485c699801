"""`flask db upgrade` builds the whole schema from empty, on SQLite and on PostgreSQL,
and the migrations match the models (core's and the plugins')."""
from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

import sql_guard
from conftest import DATABASE_URL, is_postgres, need_service


def _upgrade_and_compare(make_app, url):
    from core.db import db

    application = make_app(DATABASE_URL=url)
    with sql_guard.allowed():  # migrations move every tenant's rows (e.g. 0005's outbox)
        result = application.test_cli_runner().invoke(args=["db", "upgrade"])
    assert result.exit_code == 0, result.output
    with application.app_context():
        engine = db.engine
        with engine.connect() as conn:
            tables = set(sa.inspect(conn).get_table_names())
            assert {"tenant", "tenant_host", "user_account", "membership", "audit_event",
                    "invitation", "outbox_message", "alembic_version"} <= tables
            # Each plugin keeps its own version table.
            assert "sample_note" in tables and "alembic_version_sample" in tables
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            diff = [d for d in compare_metadata(context, db.metadata)
                    if not (isinstance(d, tuple) and d[0] == "remove_table"
                            and d[1].name.startswith("alembic_version"))]
            assert diff == [], diff
        # Upgrading again is a no-op.
        with sql_guard.allowed():
            again = application.test_cli_runner().invoke(args=["db", "upgrade"])
        assert again.exit_code == 0, again.output
        engine.dispose()


def test_upgrade_from_empty_on_sqlite(make_app, tmp_path):
    _upgrade_and_compare(make_app, f"sqlite:///{tmp_path / 'fresh.sqlite'}")


@pytest.fixture
def empty_postgres_database():
    need_service("PostgreSQL", is_postgres(), "set DATABASE_URL=postgresql://…")
    name = f"mikrogranty_migrations_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(DATABASE_URL.replace("postgresql://", "postgresql+psycopg://", 1),
                             isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = DATABASE_URL.rsplit("/", 1)[0] + "/" + name
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_upgrade_from_empty_on_postgresql(make_app, empty_postgres_database):
    _upgrade_and_compare(make_app, empty_postgres_database)
