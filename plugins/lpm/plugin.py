"""Hook implementations of the ``lpm`` variant (the rules themselves are in rules.py)."""
from __future__ import annotations

from pathlib import Path

from core.plugins.toolkit import ApplicantOption, FormStep, Variant, gettext as _, hookimpl
from core.plugins.toolkit import lazy_gettext as _l, ngettext

from . import rules

KEY = rules.KEY
HERE = Path(__file__).resolve().parent


def _ours(variant) -> bool:
    return variant == KEY


@hookimpl
def register_variants():
    return [Variant(KEY, _l("Local Micro-grant Programme (LPM)"),
                    _l("Micro-grants for NGOs, young NGOs and informal groups with a patron "
                       "organisation, run by the operator together with the municipality."))]


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
    from .forms import LpmParamsForm

    return LpmParamsForm


@hookimpl
def call_rules_summary(call):
    if not _ours(call.variant):
        return None
    from .summary import rules_summary

    return rules_summary(call)


@hookimpl
def pool_presets(variant):
    if not _ours(variant):
        return None
    from .summary import presets

    return presets()


@hookimpl
def applicant_kinds(call):
    if not _ours(call.variant):
        return None
    params = call.params or {}
    members = int(rules.param(params, "min_group_members"))
    labels = {
        ("ngo", None, "standard"): _("A non-governmental organisation (a young one too) "
                                     "carrying out its own project"),
        ("ngo", "group", "standard"): ngettext(
            "A non-governmental organisation applying for an informal group of at least "
            "%(num)d adult (as its patron)",
            "A non-governmental organisation applying for an informal group of at least "
            "%(num)d adults (as its patron)", members),
        ("group", None, "standard"): ngettext(
            "An informal group of at least %(num)d adult",
            "An informal group of at least %(num)d adults", members),
    }
    return [ApplicantOption(applicant, realizer, mode, labels[(applicant, realizer, mode)])
            for applicant, realizer, mode in rules.allowed_options(params)]


@hookimpl
def application_form(call):
    if not _ours(call.variant):
        return None
    from .forms import application_fields

    return [FormStep("project", application_fields(call.params or {}))]


@hookimpl
def check_application(call, application, context):
    if not _ours(call.variant):
        return []
    return rules.check(call, application, context)


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
