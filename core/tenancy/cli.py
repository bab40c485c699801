"""``flask tenants …``: create, list and sync tenants from ``tenants/<slug>/tenant.toml``."""
from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from core.db import db
from core.errors import ValidationError

from . import operations, sources
from .models import Tenant
from .resolve import main_host

tenants_cli = AppGroup("tenants", help="Manage tenants (municipalities).")


def _err(message: str) -> None:
    click.echo(message, err=True)


@tenants_cli.command("list")
def list_tenants():
    """Show the tenants with their hosts and variants."""
    rows = db.session.scalars(db.select(Tenant).order_by(Tenant.slug)).all()
    if not rows:
        _err("No tenants yet: `flask tenants sync` or `flask tenants create`.")
    for tenant in rows:
        unavailable = set(operations.unavailable_variants(tenant))
        variants = ", ".join(f"{v} (unavailable)" if v in unavailable else v
                             for v in tenant.variants) or "-"
        hosts = ", ".join([main_host(tenant)] + tenant.secondary_hosts)
        click.echo(f"{tenant.slug}\t{tenant.name}\t{hosts}\t{variants}")


@tenants_cli.command("create")
@click.argument("slug")
@click.option("--name", required=True, help="The municipality's name.")
@click.option("--host", "hosts", multiple=True, help="A secondary host (repeatable).")
@click.option("--variant", "variants", multiple=True,
              help="An enabled regulation variant (repeatable; default: every installed one).")
@click.option("--locale", "locales", multiple=True, help="A language (default: pl, en, uk).")
def create(slug, name, hosts, variants, locales):
    """Create a tenant directly."""
    pm = current_app.extensions["mikrogranty.plugins"]
    values = {"slug": slug, "name": name, "hosts": list(hosts),
              "variants": list(variants) if variants else sorted(pm.variants)}
    if locales:
        values["locales"] = list(locales)
    try:
        tenant = operations.create_tenant(values)
    except ValidationError as exc:
        db.session.rollback()
        for field, messages in exc.errors.items():
            for message in messages:
                _err(f"Error: {field}: {message}")
        sys.exit(1)
    db.session.commit()
    _warn_unavailable(tenant)
    _err(f"Created tenant {tenant.slug}: {tenant.name}")


@tenants_cli.command("sync")
@click.option("--dir", "folder", type=click.Path(file_okay=False, path_type=Path),
              help="Folder of <slug>/tenant.toml files (default: TENANTS_DIR).")
def sync(folder):
    """Create or update tenants from their tenant.toml files (idempotent)."""
    folder = folder or Path(current_app.config["TENANTS_DIR"])
    try:
        definitions = sources.read_all(folder)
        existing = {t.slug: t for t in db.session.scalars(db.select(Tenant))}
        for definition in definitions:
            sources.check_definition(definition, existing.get(definition.slug))
    except sources.TenantFileError as exc:
        _err(f"Error: {exc}")
        _err("Nothing was changed.")
        sys.exit(1)
    summary = {"created": 0, "updated": 0, "unchanged": 0}
    try:
        for definition in definitions:
            tenant = existing.get(definition.slug)
            if tenant is None:
                tenant = operations.create_tenant(definition.values)
                summary["created"] += 1
                _err(f"created {tenant.slug}")
            elif operations.update_tenant(tenant, definition.values):
                summary["updated"] += 1
                _err(f"updated {tenant.slug}")
            else:
                summary["unchanged"] += 1
            _warn_unavailable(tenant)
    except ValidationError as exc:  # e.g. two files claiming one host
        db.session.rollback()
        _err(f"Error: {definition.path}: {exc}")
        _err("Nothing was changed.")
        sys.exit(1)
    db.session.commit()
    _err("{created} created, {updated} updated, {unchanged} unchanged".format(**summary))


def _warn_unavailable(tenant: Tenant) -> None:
    for key in operations.unavailable_variants(tenant):
        _err(f"Warning: {tenant.slug}: variant '{key}' is not installed; it is kept as "
             f"unavailable and becomes available when its plugin is installed.")
