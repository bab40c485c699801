"""The call's rules in plain language, with its own numbers, for residents."""
from __future__ import annotations

import datetime as dt

from flask_babel import format_date, format_datetime

from core.plugins.toolkit import (category_label, deadline_instant, format_money, gettext as _,
                                  ngettext, pool_from_params, to_decimal)

from .rules import OFFER_FEE_PERCENT, OFFER_VARIANTS, param


def _money(value) -> str:
    return format_money(to_decimal(value))


def _day(value) -> str:
    if isinstance(value, str):
        value = dt.date.fromisoformat(value)
    return format_date(value, "d MMMM y")


def _number(value) -> str:
    text = f"{to_decimal(value).normalize():f}"
    return text.replace(".", ",") if "." in text else text


def rules_summary(call) -> list[str]:
    """Sentences describing an LPM call (``call``: a :class:`Call` model)."""
    params = call.params or {}
    sentences = []
    members = int(param(params, "min_group_members"))
    if param(params, "group_requires_patron"):
        sentences.append(ngettext(
            "Non-governmental organisations, young organisations, and informal groups of at "
            "least %(num)d adult applying through a patron organisation may apply. Persons "
            "alone and public institutions may not apply.",
            "Non-governmental organisations, young organisations, and informal groups of at "
            "least %(num)d adults applying through a patron organisation may apply. Persons "
            "alone and public institutions may not apply.", members))
    else:
        sentences.append(ngettext(
            "Non-governmental organisations, young organisations and informal groups of at "
            "least %(num)d adult may apply. Persons alone and public institutions may not apply.",
            "Non-governmental organisations, young organisations and informal groups of at "
            "least %(num)d adults may apply. Persons alone and public institutions may not "
            "apply.", members))
    sentences.append(_("A grant is from %(min)s to %(max)s.",
                       min=_money(param(params, "amount_min")),
                       max=_money(param(params, "amount_max"))))
    sentences.append(ngettext(
        "A young organisation (registered at most %(num)d month before submitting, with last "
        "year's revenue of at most %(revenue)s) may ask for up to %(max)s.",
        "A young organisation (registered at most %(num)d months before submitting, with last "
        "year's revenue of at most %(revenue)s) may ask for up to %(max)s.",
        int(param(params, "young_ngo_max_age_months")),
        revenue=_money(param(params, "young_ngo_max_revenue")),
        max=_money(param(params, "young_ngo_amount_max"))))
    pool = call.pool if getattr(call, "pool", None) is not None else pool_from_params(params)
    if pool is not None:
        sentences.append(_("The pool for grants is %(pool)s.", pool=_money(pool)))
    deadline = getattr(call, "deadline_at", None) or deadline_instant(params.get("deadline"))
    if deadline is not None:
        sentences.append(_("Applications are accepted until %(deadline)s.",
                           deadline=format_datetime(deadline, "d MMMM y, HH:mm")))
    start, end = params.get("realization_start"), params.get("realization_end")
    if start and end:
        sentences.append(_("Projects take place between %(start)s and %(end)s.",
                           start=_day(start), end=_day(end)))
    gminas = param(params, "eligible_gminas")
    if gminas:
        sentences.append(_("Projects take place in: %(gminas)s.", gminas=", ".join(gminas)))
    sentences.append(_(
        "Project handling costs (coordination, bookkeeping, office) may be at most %(percent)s%% "
        "of the grant.", percent=_number(param(params, "admin_max_percent"))))
    forbidden = param(params, "forbidden_categories")
    if forbidden:
        sentences.append(_("The grant cannot pay for: %(costs)s.",
                           costs=", ".join(category_label(c) for c in forbidden)))
    sentences.append(_(
        "Each organisation or group may carry out one project in the call; an organisation may "
        "apply for several groups. A person may belong to one group only, and members of the "
        "organisation's board may not be in the groups it applies for."))
    sentences.append(_("The operator's staff and their families may not apply or take part "
                       "in projects."))
    most = param(params, "stage1_max_points")
    mark = params.get("stage1_pass_mark")
    if mark is not None:
        sentences.append(_(
            "Two evaluators score each application (at most %(most)s points); applications "
            "with at least %(mark)s points go on to the next stage.", most=most,
            mark=_number(mark)))
    else:
        sentences.append(_("Two evaluators score each application (at most %(most)s points).",
                           most=most))
    if param(params, "stage2"):
        sentences.append(_(
            "In stage II the applicants present their project to the committee (at most "
            "%(most)s points); not coming means disqualification. The final score is the sum "
            "of both stages, and there is no appeal.",
            most=param(params, "stage2_max_points")))
    sentences.append(_("The grant is transferred after the agreement is signed by all parties."))
    return sentences


def presets() -> list:
    """The OPUS offer's budget variants as ``(label, params)`` pairs."""
    found = []
    for budget, fewest, most in OFFER_VARIANTS:
        params = {"municipality_budget": f"{budget:.2f}",
                  "operator_fee_percent": OFFER_FEE_PERCENT, "pool": None}
        found.append((_(
            "%(budget)s from the municipality: a pool of %(pool)s for %(fewest)d–%(most)d "
            "projects (operator's fee %(fee)d%%)", budget=format_money(budget),
            pool=format_money(pool_from_params(params)), fewest=fewest, most=most,
            fee=OFFER_FEE_PERCENT), params))
    return found
