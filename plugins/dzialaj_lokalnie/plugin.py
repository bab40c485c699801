"""Hook implementations of the ``dzialaj_lokalnie`` variant (the rules themselves are in
rules.py).

Allocation is core's: its default ``allocate`` walks the ranking under the call's
``cutoff_policy`` (SKIP_TO_FIT here), the ``large_town_pool`` cap for places above
``large_town_population`` and ``one_grant_per_realizer``, all read from the parameters
this plugin gives the call.  Awards (the committee granting less, the applicant accepting
or declining) are core's too.
"""
from __future__ import annotations

from pathlib import Path

from flask_babel import format_decimal

from core.plugins.toolkit import (ApplicantOption, ContributionMinimum, FormStep, Variant,
                                  gettext as _, hookimpl, ngettext, to_decimal)
from core.plugins.toolkit import lazy_gettext as _l

from . import rules

KEY = rules.KEY
HERE = Path(__file__).resolve().parent


def _ours(variant) -> bool:
    return variant == KEY


@hookimpl
def register_variants():
    return [Variant(KEY, _l("Działaj Lokalnie"),
                    _l("Grants of a local grant centre for non-governmental organisations and "
                       "informal groups (through an organisation or a public institution, or "
                       "directly as a DL Initiative), for projects for the common good."))]


@hookimpl
def translation_dirs():
    return [str(HERE / "translations")]


@hookimpl
def default_params(variant):
    if not _ours(variant):
        return None
    return {key: (list(value) if isinstance(value, list) else value)
            for key, value in rules.DEFAULTS.items()}


@hookimpl
def call_params_form(variant):
    if not _ours(variant):
        return None
    from .forms import DlParamsForm

    return DlParamsForm


@hookimpl
def call_rules_summary(call):
    if not _ours(call.variant):
        return None
    from .summary import rules_summary

    return rules_summary(call)


@hookimpl
def applicant_kinds(call):
    if not _ours(call.variant):
        return None
    members = int(rules.param(call.params or {}, "min_group_members"))
    labels = {
        ("ngo", None, rules.STANDARD): _(
            "A non-governmental organisation with legal personality, for its own project"),
        ("ngo", "group", rules.STANDARD): ngettext(
            "A non-governmental organisation applying for an informal group of at least "
            "%(num)d adult",
            "A non-governmental organisation applying for an informal group of at least "
            "%(num)d adults", members),
        ("public_institution", "group", rules.STANDARD): ngettext(
            "A public institution (preschool, school, culture institution, library, social "
            "welfare centre) applying for an informal group of at least %(num)d adult",
            "A public institution (preschool, school, culture institution, library, social "
            "welfare centre) applying for an informal group of at least %(num)d adults",
            members),
        ("group", None, rules.DL_INITIATIVE): ngettext(
            "An informal group of at least %(num)d adult applying by itself as a DL "
            "Initiative (the centre pays the costs)",
            "An informal group of at least %(num)d adults applying by itself as a DL "
            "Initiative (the centre pays the costs)", members),
    }
    return [ApplicantOption(applicant, realizer, mode, labels[(applicant, realizer, mode)])
            for applicant, realizer, mode in rules.allowed_options(call.params)]


@hookimpl
def application_form(call):
    if not _ours(call.variant):
        return None
    from .forms import application_fields

    return [FormStep(step, fields)
            for step, fields in application_fields(call.params or {}).items()]


@hookimpl
def check_application(call, application, context):
    if not _ours(call.variant):
        return []
    return rules.check(call, application, context)


@hookimpl
def check_draft(call, application, answers):
    if not _ours(call.variant):
        return []
    return rules.check_answers(call, application, answers)


@hookimpl
def contribution_requirements(call, application):
    if not _ours(call.variant):
        return []
    labels = {
        None: lambda p: _("Own contribution in total: %(percent)s%% of the grant", percent=p),
        "financial": lambda p: _("Of which in money: %(percent)s%% of the grant", percent=p),
    }
    return [ContributionMinimum(labels[kind](_percent(percent)), amount, kind)
            for kind, percent, amount in rules.minimums(call.params, application)]


def _percent(value) -> str:
    """``25`` → "25", ``Decimal("12.5")`` → "12,5" in Polish."""
    return format_decimal(to_decimal(value).normalize())


@hookimpl
def formal_checklist(call):
    if not _ours(call.variant):
        return None
    from .evaluation import checklist

    return checklist(call)


@hookimpl
def evaluation_stages(call):
    if not _ours(call.variant):
        return None
    from .evaluation import stages

    return stages(call)


@hookimpl
def score_card(call, stage):
    if not _ours(call.variant):
        return None
    from .evaluation import criteria

    return criteria(call, stage)


@hookimpl
def payment_mode(call, application):
    """A DL Initiative gets no transfer: the centre buys what it needs, up to its budget
    (the operator-paid ledger); other grants are transferred after the agreement."""
    if not _ours(call.variant):
        return None
    from core.plugins.toolkit import OPERATOR_PAID, TRANSFER

    mode = getattr(application, "mode", None) if application is not None else None
    return OPERATOR_PAID if mode == rules.DL_INITIATIVE else TRANSFER
