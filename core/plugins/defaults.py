"""Built-in behaviour, as an ordinary plugin registered ``trylast``.

Variants come before it, so they extend or replace these without any
``if variant == ...`` in core.
"""
from __future__ import annotations

import pluggy
from flask_babel import lazy_gettext as _l

hookimpl = pluggy.HookimplMarker("mikrogranty")


@hookimpl(trylast=True)
def menu_items(tenant, user):
    from core.plugins.toolkit import MenuItem

    if tenant is None:
        return [
            MenuItem(_l("Municipalities"), "console.tenants", "platform.console", order=10),
        ]
    return [
        MenuItem(_l("Home"), "site.home", "public", order=0),
        MenuItem(_l("Calls"), "calls.index", "public", order=10),
        MenuItem(_l("Manage calls"), "calls.admin_index", "tenant.manage", order=80),
        MenuItem(_l("My profiles"), "applicants.index", "application.apply", order=20),
        MenuItem(_l("My applications"), "applications.dashboard", "application.apply", order=15),
        MenuItem(_l("Administration"), "admin.members", "tenant.manage", order=90),
    ]


@hookimpl(trylast=True)
def template_slot(slot, tenant, user):
    return None


@hookimpl(trylast=True)
def application_state_changed(application, old, new, actor):
    # Core's own reaction is already done (audit event, receipt e-mail); keep a log line.
    import logging

    logging.getLogger("mikrogranty.applications").info(
        "application %s: %s -> %s (by %s)", getattr(application, "id", None), old, new,
        getattr(actor, "id", actor))


@hookimpl(trylast=True)
def translation_dirs():
    from pathlib import Path

    return [str(Path(__file__).resolve().parent.parent.parent / "translations")]


@hookimpl(trylast=True)
def check_application(call, application, context):
    """The rules every variant shares (DOMAIN.md): on time, the budget adds up, groups
    big enough and adult, and no operator staff where the call names them."""
    from core.rules import checks

    params = call.params or {}
    min_age = params.get("min_age", 18)
    found = []
    found += checks.check_late(application, call.deadline_at, context)
    found += checks.check_budget_sum(application)
    found += checks.check_group_size(application, params.get("min_group_members", 3),
                                     min_age, context)
    found += checks.check_ages(application, min_age, context)
    staff = set(call.staff_keys) | {str(s) for s in params.get("operator_staff") or () if s}
    found += checks.check_conflict_of_interest(application, staff)
    return found
