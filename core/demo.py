"""``flask demo seed``: the demo's people, on top of the tenants from ``tenants/``.

Idempotent; ``make run`` calls it after ``flask db upgrade`` and ``flask tenants sync``.
"""
from __future__ import annotations

import datetime as dt

import click
from dateutil.relativedelta import relativedelta
from flask import current_app
from flask.cli import AppGroup

from core.accounts import operations
from core.accounts.models import PlatformRole, Role
from core.db import db, tenant_scope
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
        # Two evaluators, so that each application can get its two score cards.
        for name, role in (("admin", Role.ADMIN), ("evaluator", Role.EVALUATOR),
                           ("evaluator2", Role.EVALUATOR), ("committee", Role.COMMITTEE),
                           ("applicant", Role.APPLICANT)):
            email = f"{name}@{tenant.slug}.demo"
            user = operations.find_user(email) or operations.create_user(
                email, DEMO_PASSWORD, confirmed=True)
            operations.ensure_role(user, tenant, role)
            rows.append((f"{tenant.slug}.{base}", email, role.value))
    db.session.commit()
    return rows


def seed_calls(today: dt.date | None = None) -> list[tuple[str, str]]:
    """Open one call in each municipality for each of its installed variants that has
    none yet, with the variant's defaults and a deadline six weeks ahead."""
    from core.calls import operations as calls
    from core.calls.models import Call

    pm = current_app.extensions["mikrogranty.plugins"]
    today = today or dt.date.today()
    opened = []
    for tenant in db.session.scalars(db.select(Tenant).order_by(Tenant.slug)):
        with tenant_scope(tenant):
            for key in calls.enabled_variants(tenant):
                params = pm.hook.default_params(variant=key)
                exists = db.session.execute(
                    db.select(Call.id).where(Call.variant == key)).first()
                if params is None or exists:
                    continue
                defaults = (tenant.settings.get("defaults") or {}).get(key, {})
                year = today.year if today.month < 10 else today.year + 1
                if "municipality_budget" in defaults:  # the pool is computed from it
                    params.pop("pool", None)
                params = {**params, **defaults}
                params["eligible_gminas"] = params.get("eligible_gminas") or [
                    tenant.name.removeprefix("Gmina ").strip()]
                # Projects start on the first of the month at least a month after the
                # deadline, and may last half a year, whatever the time of year.
                deadline = today + dt.timedelta(days=42)
                start = (deadline + dt.timedelta(days=31)).replace(day=1) + relativedelta(months=1)
                call = calls.create_call(tenant, {
                    "ref": f"{key.replace('_', '-')}-{year}",
                    "title": f"{pm.variants[key].label} – {tenant.name} {year}",
                    "description": tenant.settings.get("description", ""),
                    "variant": key, "params": params,
                    "announced_on": today,
                    "deadline": deadline,
                    "realization_start": start,
                    "realization_end": start + relativedelta(months=6) - dt.timedelta(days=1),
                })
                calls.publish_call(call)
                opened.append((tenant.slug, call.ref))
            # Written in the municipality's own scope, before the next one's begins.
            db.session.commit()
    return opened


@demo_cli.command("seed")
def seed_command():
    """Create the demo's accounts (password: demo-Mikrogranty-2026)."""
    port = current_app.config.get("PUBLIC_PORT")
    for host, email, role in seed():
        where = f"http://{host}:{port}" if port else host
        click.echo(f"{where:45} {email:40} {role}", err=True)
    click.echo(f"Password for every demo account: {DEMO_PASSWORD}", err=True)
    for slug, ref in seed_calls():
        click.echo(f"Opened the demo call {ref} in {slug}", err=True)
