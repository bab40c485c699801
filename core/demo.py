"""``flask demo seed``: the demo's people, on top of the tenants from ``tenants/``.

Idempotent; ``make run`` calls it after ``flask db upgrade`` and ``flask tenants sync``.
"""
from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup

from core.accounts import operations
from core.accounts.models import PlatformRole, Role
from core.db import db
from core.tenancy.models import Tenant

demo_cli = AppGroup("demo", help="The demo's accounts.")

DEMO_PASSWORD = "demo-Mikrogranty-2026"
OPERATOR_EMAIL = "operator@mikrogranty.demo"


def seed() -> list[tuple[str, str, str]]:
    """Create the demo accounts; return (where, e-mail, role) rows."""
    rows = []
    operator = operations.find_user(OPERATOR_EMAIL) or operations.create_user(
        OPERATOR_EMAIL, DEMO_PASSWORD, confirmed=True, platform_role=PlatformRole.OPERATOR_STAFF)
    base = current_app.config["BASE_DOMAIN"]
    rows.append((base, operator.email, "operator staff"))
    for tenant in db.session.scalars(db.select(Tenant).order_by(Tenant.slug)):
        for role in (Role.ADMIN, Role.EVALUATOR, Role.COMMITTEE, Role.APPLICANT):
            email = f"{role.value}@{tenant.slug}.demo"
            user = operations.find_user(email) or operations.create_user(
                email, DEMO_PASSWORD, confirmed=True)
            operations.ensure_role(user, tenant, role)
            rows.append((f"{tenant.slug}.{base}", email, role.value))
    db.session.commit()
    return rows


@demo_cli.command("seed")
def seed_command():
    """Create the demo's accounts (password: demo-Mikrogranty-2026)."""
    port = current_app.config.get("PUBLIC_PORT")
    for host, email, role in seed():
        where = f"http://{host}:{port}" if port else host
        click.echo(f"{where:45} {email:40} {role}", err=True)
    click.echo(f"Password for every demo account: {DEMO_PASSWORD}", err=True)
