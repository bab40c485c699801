"""``flask`` commands of core: plugins, accounts, the demo, and plugin-aware migrations."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import click
import sqlalchemy as sa
from alembic import command as alembic_command
from alembic.config import Config as AlembicConfig
from flask import current_app
from flask.cli import AppGroup, with_appcontext
from flask_migrate import cli as migrate_cli

from core.config import ROOT
from core.db import db
from core.errors import ValidationError

# --- migrations ------------------------------------------------------------------------

# Flask-Migrate's group, whose ``upgrade`` goes on to the plugins' migrations.
db_cli = migrate_cli.db


def plugin_migration_dirs() -> dict[str, str]:
    pm = current_app.extensions["mikrogranty.plugins"]
    dirs: dict[str, str] = {}
    for result in pm.hook.migration_dirs():
        dirs.update(result or {})
    return dirs


def plugin_alembic_config(key: str, versions: str) -> AlembicConfig:
    """Alembic configuration for one plugin: core's env, the plugin's versions and table."""
    cfg = AlembicConfig(str(ROOT / "migrations" / "alembic.ini"))
    cfg.set_main_option("script_location", str(ROOT / "migrations"))
    cfg.set_main_option("path_separator", "os")  # a folder may contain spaces
    cfg.set_main_option("version_locations", versions)
    cfg.attributes["plugin_key"] = key
    return cfg


def upgrade_all(revision: str = "head") -> None:
    """Upgrade core to ``revision``, then every enabled plugin to its head."""
    from flask_migrate import upgrade

    upgrade(directory=str(ROOT / "migrations"), revision=revision)
    for key, versions in sorted(plugin_migration_dirs().items()):
        alembic_command.upgrade(plugin_alembic_config(key, versions), "heads")
    with db.engine.begin() as connection:
        secure_tenant_tables(connection)


# --- PostgreSQL: row-level security and the app's roles -------------------------------

def tenant_tables(connection) -> list[str]:
    """The existing tables of every tenant-scoped model, core's and the plugins'."""
    from core.db import tenant_scoped_models

    existing = set(sa.inspect(connection).get_table_names())
    return sorted({m.__table__.name for m in tenant_scoped_models()} & existing)


def secure_tenant_tables(connection) -> list[str]:
    """Enable and force row-level security, with the tenant policy, on every tenant table,
    and grant the app's roles what they need (PostgreSQL; a no-op elsewhere).

    Run after every upgrade, so that a plugin's new tables are covered too; the SQL
    function comes from core's migration 0004.
    """
    if connection.dialect.name != "postgresql":
        return []
    exists = connection.execute(sa.text(
        "SELECT to_regprocedure('mikrogranty_secure_tables(text[])') IS NOT NULL")).scalar()
    if not exists:
        return []
    tables = tenant_tables(connection)
    connection.execute(sa.text("SELECT mikrogranty_secure_tables(CAST(:tables AS text[]))"),
                       {"tables": tables})
    return tables


ROLES_SQL = """
DO $roles$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'mikrogranty_platform') THEN
        CREATE ROLE mikrogranty_platform NOLOGIN BYPASSRLS;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'mikrogranty_app') THEN
        CREATE ROLE mikrogranty_app LOGIN NOBYPASSRLS;
    END IF;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
    NULL;  -- created at the same moment by another session
END
$roles$;
ALTER ROLE mikrogranty_platform NOLOGIN BYPASSRLS NOSUPERUSER;
ALTER ROLE mikrogranty_app LOGIN NOBYPASSRLS NOSUPERUSER NOCREATEROLE NOCREATEDB;
GRANT mikrogranty_platform TO mikrogranty_app;
"""


def create_roles(connection, app_password: str | None) -> None:
    """Create the app's login role and the platform role (needs a superuser)."""
    connection.exec_driver_sql(ROLES_SQL)
    if app_password:
        literal = "'" + app_password.replace("'", "''") + "'"
        connection.exec_driver_sql(f"ALTER ROLE mikrogranty_app PASSWORD {literal}")
    secure_tenant_tables(connection)


@db_cli.command("create-roles")
@click.option("--app-password", envvar="MIKROGRANTY_APP_PASSWORD",
              help="Password of the role mikrogranty_app (or MIKROGRANTY_APP_PASSWORD).")
@with_appcontext
def create_roles_command(app_password):
    """Create the PostgreSQL roles mikrogranty_app and mikrogranty_platform; grant them the
    tables.  Run once as a superuser, after `flask db upgrade`."""
    if db.engine.dialect.name != "postgresql":
        raise click.ClickException("Database roles exist only in PostgreSQL.")
    with db.engine.begin() as connection:
        create_roles(connection, app_password)
    click.echo("Roles mikrogranty_app and mikrogranty_platform are ready.", err=True)


@click.command("upgrade")
@click.argument("revision", default="head")
@with_appcontext
def upgrade_command(revision):
    """Upgrade core, then each plugin (each plugin has its own version table)."""
    upgrade_all(revision)


db_cli.add_command(upgrade_command, "upgrade")


@db_cli.command("plugin-revision")
@click.argument("key")
@click.option("-m", "--message", required=True)
@click.option("--autogenerate", is_flag=True, help="Compare the plugin's models with the database.")
@with_appcontext
def plugin_revision(key, message, autogenerate):
    """Create a migration in a plugin's own version folder."""
    dirs = plugin_migration_dirs()
    if key not in dirs:
        raise click.ClickException(f"No enabled plugin gives migrations for '{key}' "
                                   f"(known: {', '.join(sorted(dirs)) or 'none'}).")
    cfg = plugin_alembic_config(key, dirs[key])
    # env.py reads this to skip an empty autogenerated revision, as for core.
    cfg.cmd_opts = argparse.Namespace(autogenerate=autogenerate)
    alembic_command.revision(cfg, message=message,
                             autogenerate=autogenerate, version_path=dirs[key],
                             head="head" if _has_revisions(dirs[key]) else "base")


def _has_revisions(folder: str) -> bool:
    return any(p.suffix == ".py" for p in Path(folder).glob("*.py"))


# --- plugins ---------------------------------------------------------------------------

plugins_cli = AppGroup("plugins", help="Plugins and the regulation variants they provide.")


@plugins_cli.command("list")
def list_plugins():
    """Show the loaded plugins and their variants."""
    pm = current_app.extensions["mikrogranty.plugins"]
    if not pm.loaded:
        click.echo("No plugins loaded (only core's defaults).", err=True)
    for name, plugin in sorted(pm.loaded.items()):
        version = f"{plugin.distribution} {plugin.version}" if plugin.distribution else "-"
        variants = ", ".join(plugin.variants) or "-"
        click.echo(f"{name}\t{version}\tvariants: {variants}")


# --- accounts --------------------------------------------------------------------------

accounts_cli = AppGroup("accounts", help="Accounts of the platform.")


@accounts_cli.command("create-operator")
@click.argument("email")
@click.password_option(help="The password (asked when not given).")
def create_operator(email, password):
    """Create an operator staff account (it can use the console and act on any tenant)."""
    from core.accounts import operations
    from core.accounts.models import PlatformRole

    try:
        operations.create_user(email, password, confirmed=True,
                               platform_role=PlatformRole.OPERATOR_STAFF)
    except ValidationError as exc:
        db.session.rollback()
        click.echo(f"Error: {exc}", err=True)
        sys.exit(1)
    db.session.commit()
    click.echo(f"Operator staff account {email} created.", err=True)
