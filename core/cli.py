"""``flask`` commands of core: plugins, accounts, the demo, and plugin-aware migrations."""
from __future__ import annotations

import sys
from pathlib import Path

import click
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
    cfg.set_main_option("version_locations", versions)
    cfg.attributes["plugin_key"] = key
    return cfg


def upgrade_all(revision: str = "head") -> None:
    """Upgrade core to ``revision``, then every enabled plugin to its head."""
    from flask_migrate import upgrade

    upgrade(directory=str(ROOT / "migrations"), revision=revision)
    for key, versions in sorted(plugin_migration_dirs().items()):
        alembic_command.upgrade(plugin_alembic_config(key, versions), "heads")


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
    alembic_command.revision(plugin_alembic_config(key, dirs[key]), message=message,
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
