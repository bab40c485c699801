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
from core.db import db, platform_scope
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


# --- jobs ---------------------------------------------------------------------------------------

jobs_cli = AppGroup("jobs", help="Background jobs: the periodic sweep, workers, failed jobs.")


@jobs_cli.command("tick")
@click.option("--now", help="Run as if at this time (ISO 8601 with a timezone; for checks).")
def tick_command(now):
    """One sweep: due reminders, e-mails left waiting, deliveries cut off (idempotent)."""
    import datetime as dt

    from core.schedule import tick

    when = None
    if now:
        when = dt.datetime.fromisoformat(now)
        if when.tzinfo is None:
            raise click.BadParameter("give a timezone, e.g. 2026-03-24T09:00+01:00", param_hint="--now")
    report = tick(when)
    click.echo(f"reminders written: {report.reminders}, e-mails enqueued: {report.enqueued}, "
               f"deliveries cut off: {report.interrupted}")
    for error in report.errors:
        click.echo(f"Error: {error}", err=True)
    if report.errors:
        sys.exit(1)


@jobs_cli.command("worker")
@click.option("--burst", is_flag=True, help="Stop when the queues are empty.")
@click.option("--queue", "queues", multiple=True, help="Queues to work on (default: all).")
@click.option("--with-scheduler/--without-scheduler", default=True,
              help="Also run RQ's scheduler (the retries with a delay).")
@click.option("--no-fork", is_flag=True,
              help="Run jobs in the worker's own process (faster; a crash stops the worker, "
                   "which its service manager restarts).")
def worker_command(burst, queues, with_scheduler, no_fork):
    """An RQ worker with the application built once (needs REDIS_URL)."""
    from flask import current_app
    from rq import SimpleWorker, Worker

    from core import jobs

    if not current_app.config.get("REDIS_URL"):
        click.echo("Error: REDIS_URL is not set; without it jobs run in-process.", err=True)
        sys.exit(1)
    jobs.set_worker_app(current_app._get_current_object())
    jobs.warm_up()
    connection = jobs.redis_connection()
    worker_class = SimpleWorker if no_fork else Worker
    worker = worker_class([jobs.get_queue(q, connection) for q in (queues or jobs.QUEUES)],
                          connection=connection)
    worker.work(burst=burst, with_scheduler=with_scheduler)


@jobs_cli.command("failed")
def failed_command():
    """Jobs that failed for good and e-mails that could not be delivered."""
    from core import jobs
    from core.notifications.models import DeliveryStatus, OutboxMessage

    for job in jobs.failed_jobs():
        last = job.error.strip().splitlines()[-1] if job.error else ""
        click.echo(f"job {job.id} [{job.queue}] {job.function} tenant={job.tenant_id}: {last}")
    with platform_scope("flask jobs failed"):
        for message in db.session.scalars(db.select(OutboxMessage).where(
                OutboxMessage.status == DeliveryStatus.FAILED).order_by(OutboxMessage.id)):
            click.echo(f"e-mail {message.id} to {message.recipient} ({message.template}) "
                       f"tenant={message.tenant_id}: {message.error}")


@jobs_cli.command("retry")
@click.argument("job_id")
def retry_command(job_id):
    """Run a failed job again."""
    from core import jobs

    if not jobs.requeue_failed(job_id):
        click.echo(f"Error: no failed job {job_id}.", err=True)
        sys.exit(1)
    click.echo(f"Job {job_id} queued again.")
