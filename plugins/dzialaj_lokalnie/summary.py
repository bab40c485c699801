"""The call's rules in plain language, with its own numbers, for residents."""
from __future__ import annotations

import datetime as dt

from flask_babel import format_date, format_datetime, format_decimal

from core.plugins.toolkit import (category_label, deadline_instant, format_money, gettext as _,
                                  legal_form_label, ngettext, pool_from_params, to_decimal)

from .rules import DL_INITIATIVE_FORBIDDEN, NEWCOMER, criteria_points, param


def _money(value) -> str:
    return format_money(to_decimal(value))


def _day(value) -> str:
    if isinstance(value, str):
        value = dt.date.fromisoformat(value)
    return format_date(value, "d MMMM y")


def _number(value) -> str:
    """``25`` → "25", ``"12.5"`` → "12,5" in Polish."""
    return format_decimal(to_decimal(value).normalize())


def _who(params: dict) -> list[str]:
    members = int(param(params, "min_group_members"))
    sentences = [_(
        "Non-governmental organisations with legal personality (foundations, associations, "
        "sports clubs and others) may apply for their own project.")]
    excluded = param(params, "excluded_legal_forms") or []
    if excluded:
        sentences.append(_(
            "Organisations in liquidation may not apply, nor may these: %(forms)s.",
            forms=", ".join(legal_form_label(f).lower() for f in excluded)))
    else:
        sentences.append(_("Organisations in liquidation may not apply."))
    sentences.append(ngettext(
        "An informal group of at least %(num)d adult applies through such an organisation or "
        "through a public institution (a public preschool or school, a culture institution, a "
        "public library, a social welfare centre), which records its power of attorney for "
        "the group; or it applies directly to the local grant centre as a DL Initiative: the "
        "centre then pays the project's costs itself and no money is transferred to the group.",
        "An informal group of at least %(num)d adults applies through such an organisation or "
        "through a public institution (a public preschool or school, a culture institution, a "
        "public library, a social welfare centre), which records its power of attorney for "
        "the group; or it applies directly to the local grant centre as a DL Initiative: the "
        "centre then pays the project's costs itself and no money is transferred to the group.",
        members))
    return sentences


def _money_rules(call, params: dict) -> list[str]:
    sentences = []
    low, high = params.get("amount_min"), param(params, "amount_max")
    if low is not None:
        sentences.append(_("Grants are from %(min)s to %(max)s.", min=_money(low),
                           max=_money(high)))
    else:
        sentences.append(_("Grants are at most %(max)s.", max=_money(high)))
    pool = call.pool if getattr(call, "pool", None) is not None else pool_from_params(params)
    if pool is not None:
        sentences.append(_("The call's pool for grants is %(pool)s.", pool=_money(pool)))
    # The allocation reads the sub-pool, the policy and one grant per realizer from the
    # call's own parameters (core's walk): say what it will do, not what the default is.
    if params.get("large_town_pool") is not None:
        sentences.append(_(
            "Projects carried out in a town of more than %(population)s residents may receive "
            "at most %(pool)s together; projects in smaller towns and villages are not counted "
            "there, even when the organisation's seat is in a large town.",
            population=format_decimal(int(param(params, "large_town_population"))),
            pool=_money(params["large_town_pool"])))
    sentences.append(_(
        "Organisations and institutions bring an own contribution of at least %(total)s%% of "
        "the grant, at least %(financial)s%% of it in money; the rest may be things, services "
        "or volunteers' work. A DL Initiative brings a contribution that fits the project and "
        "its means, which the committee scores.",
        total=_number(param(params, "contribution_total_percent")),
        financial=_number(param(params, "contribution_financial_percent"))))
    forbidden = param(params, "forbidden_categories") or []
    if forbidden:
        sentences.append(_("The grant cannot pay for: %(costs)s.",
                           costs=", ".join(category_label(c) for c in forbidden)))
    sentences.append(_("A DL Initiative cannot buy %(costs)s.",
                       costs=", ".join(category_label(c) for c in DL_INITIATIVE_FORBIDDEN)))
    return sentences


def _evaluation(params: dict) -> list[str]:
    points = criteria_points(params)
    most = _number(param(params, "stage1_max_points"))
    sentences = [_(
        "The Local Grant Committee scores each application on eight criteria, at most "
        "%(most)s points: the community's need and the common good, the activities and their "
        "results, residents', volunteers' and partners' part, the way of reaching people, the "
        "benefits, continuation after the project, the own contribution and the budget.",
        most=most)]
    if NEWCOMER in points:
        sentences.append(_(
            "Organisations and groups just starting to raise outside funds may get up to "
            "%(points)s more points.", points=_number(points[NEWCOMER])))
    mark = params.get("stage1_pass_mark")
    if mark is not None:
        sentences.append(_("Applications with fewer than %(mark)s points are not funded.",
                           mark=_number(mark)))
    sentences.append(_(
        "The committee may grant less than was asked for; the applicant then accepts the "
        "lower amount or declines it (declining withdraws the application, and the money "
        "goes to the next projects on the list)."))
    policy = str(params.get("cutoff_policy") or "STOP").upper()
    if policy == "SKIP_TO_FIT":
        sentences.append(_(
            "Projects are funded in the order of the ranking; one that no longer fits the "
            "money left goes to the reserve list, and lower ones that fit are funded."))
    elif policy == "STOP":
        sentences.append(_(
            "Projects are funded in the order of the ranking until the first one that no "
            "longer fits the money left; it and the ones below form the reserve list."))
    elif policy == "PARTIAL_LAST":
        sentences.append(_(
            "Projects are funded in the order of the ranking; the first one that no longer "
            "fits is offered what is left, and the ones below form the reserve list."))
    return sentences


def rules_summary(call) -> list[str]:
    """Sentences describing a Działaj Lokalnie call (``call``: a :class:`Call` model)."""
    params = call.params or {}
    sentences = _who(params)
    gminas = param(params, "eligible_gminas")
    if gminas:
        sentences.append(_(
            "The organisation's or institution's seat and the project's place must be in: "
            "%(gminas)s.", gminas=", ".join(gminas)))
    sentences += _money_rules(call, params)
    deadline = getattr(call, "deadline_at", None) or deadline_instant(params.get("deadline"))
    if deadline is not None:
        sentences.append(_("Applications are accepted until %(deadline)s.",
                           deadline=format_datetime(deadline, "d MMMM y, HH:mm")))
    shortest = int(param(params, "duration_min_months"))
    longest = int(param(params, "duration_max_months"))
    start = params.get("window_start") or getattr(call, "realization_start", None)
    end = params.get("window_end") or getattr(call, "realization_end", None)
    if start and end:
        sentences.append(_(
            "A project lasts from %(min)s to %(max)s months, between %(start)s and %(end)s.",
            min=shortest, max=longest, start=_day(start), end=_day(end)))
    else:
        sentences.append(_("A project lasts from %(min)s to %(max)s months.", min=shortest,
                           max=longest))
    if params.get("one_grant_per_realizer"):
        sentences.append(_(
            "You may submit any number of applications, but each organisation or group "
            "carries out at most one funded project: its best-ranked one."))
    if param(params, "operator_staff"):
        sentences.append(_("Staff of the operator and their families may not apply or take "
                           "part in projects."))
    sentences += _evaluation(params)
    sentences.append(_(
        "The grant is transferred to the organisation or institution after the agreement is "
        "signed; for a DL Initiative the centre pays the invoices itself, up to the grant."))
    return sentences
