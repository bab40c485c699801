"""``flask audit verify``: recompute the audit trail's hash chains."""
from __future__ import annotations

import sys

import click
from flask.cli import AppGroup

from core.db import db, platform_scope, tenant_scope

from .chain import verify

audit_cli = AppGroup("audit", help="The audit trail.")


@audit_cli.command("verify")
@click.option("--tenant", "slug", help="Check only this municipality's chain (its slug).")
def verify_command(slug):
    """Recompute the hash chains; report the first broken link (exit 1) or that all hold."""
    from core.tenancy.models import Tenant

    if slug:
        tenant = db.session.execute(db.select(Tenant).where(Tenant.slug == slug)).scalar_one_or_none()
        if tenant is None:
            click.echo(f"Error: no municipality with the slug '{slug}'.", err=True)
            sys.exit(2)
        with tenant_scope(tenant):
            report = verify(db.session, tenant.id, all_chains=False)
    else:
        with platform_scope("audit verify: recomputing every audit chain"):
            report = verify(db.session)
    db.session.rollback()
    if report.intact:
        click.echo(f"{report.events} events, chain intact")
        return
    for item in report.breaks:
        click.echo(f"BROKEN: {item.describe()}")
    click.echo(f"{report.events} events checked, {len(report.breaks)} chain(s) broken", err=True)
    sys.exit(1)
