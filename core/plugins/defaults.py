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
            MenuItem(_l("Background jobs"), "console.jobs_page", "platform.console", order=20),
        ]
    return [
        MenuItem(_l("Home"), "site.home", "public", order=0),
        MenuItem(_l("Calls"), "calls.index", "public", order=10),
        MenuItem(_l("Results"), "results.index", "public", order=12),
        MenuItem(_l("Committee"), "committee.index", "committee.view", order=70),
        MenuItem(_l("Manage calls"), "calls.admin_index", "tenant.manage", order=80),
        MenuItem(_l("Evaluation of applications"), "review.calls", "tenant.manage", order=82),
        MenuItem(_l("Purchases for groups"), "payments.index", "tenant.manage", order=84),
        MenuItem(_l("My evaluations"), "review.my_assignments", "evaluation.score", order=60),
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


@hookimpl(trylast=True)
def check_draft(call, application, answers):
    """Nothing beyond the generator's own required fields, which it checks itself."""
    return []


@hookimpl(trylast=True)
def contribution_requirements(call, application):
    """No fixed own contribution: a variant that asks for one says how much."""
    return []


# --- evaluation and allocation (DOMAIN.md, "Engine conventions") --------------------------

def _number(params: dict, name: str, default=None):
    from decimal import Decimal

    from core.rules.values import to_decimal

    value = params.get(name)
    return to_decimal(value) if value is not None else (
        Decimal(default) if default is not None else None)


def _has_stage2(params: dict) -> bool:
    if "stage2" in params:
        return bool(params.get("stage2"))
    return params.get("stage2_max_points") is not None


@hookimpl(trylast=True)
def formal_checklist(call):
    """No checklist of its own: the rule engine's findings are the formal check."""
    return []


@hookimpl(trylast=True)
def evaluation_stages(call):
    """Stage 1 by the evaluators (``stage1_max_points``, 100 when the call does not say;
    ``stage1_pass_mark``), and stage 2 by the committee where the call has ``stage2`` (or
    ``stage2_max_points``)."""
    from core.plugins.toolkit import Stage

    params = call.params or {}
    stages = [Stage(1, "evaluators", _number(params, "stage1_max_points", 100),
                    _number(params, "stage1_pass_mark"), _l("Stage I: assessment"))]
    if _has_stage2(params):
        stages.append(Stage(2, "committee", _number(params, "stage2_max_points", 100), None,
                            _l("Stage II: interview with the committee")))
    return stages


@hookimpl(trylast=True)
def score_card(call, stage):
    """One criterion, "total", worth the stage's maximum."""
    from core.evaluation.scoring import stages_for
    from core.plugins.toolkit import Criterion

    stages = {s.number: s for s in stages_for(call)}
    found = stages.get(stage)
    if found is None:
        return []
    return [Criterion("total", _l("Total"), found.max_points,
                      _l("The points for the whole application."))]


@hookimpl(trylast=True)
def allocate(call, ranking, pool, state):
    """The engine's walk: the call's ``cutoff_policy``, sub-pools, area quotas and one
    grant per realizer (core.evaluation.allocation)."""
    from core.evaluation.allocation import limits_for, walk

    return walk(ranking, limits_for(call, pool), state)


# --- payment ---------------------------------------------------------------------------------

@hookimpl(trylast=True)
def payment_mode(call, application):
    """``"transfer"``, unless the call's parameter ``payment_mode`` names another mode
    (``"operator_paid"``: the operator buys for every funded project of the call)."""
    from core.payments.modes import PAYMENT_MODES, TRANSFER

    chosen = (call.params or {}).get("payment_mode") if call is not None else None
    return chosen if chosen in PAYMENT_MODES else TRANSFER


# --- notices and periodic work -------------------------------------------------------------

@hookimpl(trylast=True)
def notice_kinds():
    from core.notifications.notices import NoticeKind

    return [NoticeKind(
        "deadline_reminder", _l("Reminders before a call's deadline"),
        _l("While your application is still a draft: a week and a day before the deadline."),
        default=True, order=10)]


@hookimpl(trylast=True)
def scheduled_notices(tenant, now):
    from core.applications.reminders import deadline_reminders

    return deadline_reminders(tenant, now)
