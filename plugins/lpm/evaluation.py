"""How an LPM call is evaluated (the Lubochnia 2020 regulations, sections V–VI).

Stage I: the formal check and a merit assessment of the preliminary projects by two
evaluators, on a score card (Załącznik nr 2), whose average decides; stage II: a
presentation of the project to the committee, scored on the presentation card
(Załącznik nr 4); a no-show is disqualified (0 points).  The final score is the sum.

The regulations name what the score cards weigh (the programme's goals and the kinds of
projects it supports, the local community's needs, residents' involvement, a plan inside
the realization period, costs that are necessary, rational and effective); the criteria
below follow them.  Their maxima split the stage's maximum evenly (18 points: 6 × 3).
"""
from __future__ import annotations

from decimal import Decimal

from core.plugins.toolkit import (ChecklistItem, Criterion, Stage, format_money,
                                  gettext as _, lazy_gettext as _l, ngettext, split_points,
                                  to_decimal)

from .rules import param

# Stage I: the merit card (Załącznik nr 2), after sections I, IV and the glossary.
STAGE1_CRITERIA = (
    ("goals", _l("Fit with the programme"),
     _l("The project serves the programme's goal (residents' and organisations' involvement "
        "in public life) and is one of the kinds it supports: events for the gmina, "
        "developing a young organisation, activating residents, regional identity, ecology.")),
    ("needs", _l("A local need"),
     _l("The project answers a need or a problem of the local community, or stirs local "
        "activity, and the application shows how that need was recognised.")),
    ("residents", _l("Residents taking part"),
     _l("Residents of the gmina are its audience and take part in preparing and carrying "
        "out the project; volunteers and partners are involved.")),
    ("plan", _l("A clear, feasible plan"),
     _l("The activities, their schedule inside the realization period and the people "
        "responsible are clear and realistic.")),
    ("budget", _l("Necessary and reasonable costs"),
     _l("Each cost is needed for the project, rational and effective, and fits the "
        "activities; administrative costs stay within the limit.")),
    ("results", _l("Results for the community"),
     _l("The expected results are concrete and measurable, and something of the project "
        "stays with the community when it ends.")),
)

# Stage II: the presentation card (Załącznik nr 4).
STAGE2_CRITERIA = (
    ("presentation", _l("The presentation"),
     _l("The idea, its audience and its activities are presented clearly and convincingly.")),
    ("team", _l("The team's readiness"),
     _l("The people presenting know the project and are prepared to carry it out.")),
    ("community", _l("Support in the community"),
     _l("Residents, volunteers and local partners are committed to the project.")),
    ("answers", _l("Answers to the committee"),
     _l("Questions about the plan, the budget and the risks are answered well.")),
)


def _ours(call) -> bool:
    from .rules import KEY

    return call is not None and call.variant == KEY


def _points(params: dict, name: str) -> Decimal:
    return to_decimal(param(params, name))


def stages(call) -> list[Stage]:
    params = call.params or {}
    found = [Stage(1, "evaluators", _points(params, "stage1_max_points"),
                   to_decimal(params.get("stage1_pass_mark")),
                   _l("Stage I: formal and merit assessment"))]
    if param(params, "stage2"):
        found.append(Stage(2, "committee", _points(params, "stage2_max_points"), None,
                           _l("Stage II: presentation to the committee")))
    return found


def criteria(call, stage: int) -> list[Criterion]:
    params = call.params or {}
    if stage == 1:
        items, total = STAGE1_CRITERIA, _points(params, "stage1_max_points")
    elif stage == 2 and param(params, "stage2"):
        items, total = STAGE2_CRITERIA, _points(params, "stage2_max_points")
    else:
        return []
    return [Criterion(key, label, maximum, description)
            for (key, label, description), maximum in zip(items, split_points(total, len(items)),
                                                          strict=True)]


def checklist(call) -> list[ChecklistItem]:
    """The formal check of the regulations, item by item, with the call's own numbers."""
    params = call.params or {}
    members = int(param(params, "min_group_members"))
    gminas = ", ".join(param(params, "eligible_gminas") or []) or _("the call's area")
    return [
        ChecklistItem("submitted_in_time", _(
            "Submitted through the generator by the deadline.")),
        ChecklistItem("eligible_applicant", ngettext(
            "The applicant is a non-governmental organisation (or another entity of art. 3 "
            "sec. 3 of the Public Benefit Act), or an informal group of at least %(num)d "
            "adult applying through a patron organisation.",
            "The applicant is a non-governmental organisation (or another entity of art. 3 "
            "sec. 3 of the Public Benefit Act), or an informal group of at least %(num)d "
            "adults applying through a patron organisation.", members)),
        ChecklistItem("territory", _(
            "The applicant has its seat in, or the project is carried out for the residents "
            "of: %(gminas)s.", gminas=gminas)),
        ChecklistItem("one_project", _(
            "One project per applicant or realizer (a patron may support several groups).")),
        ChecklistItem("groups", _(
            "Each person belongs to one group only, and no board member of the patron is in "
            "its group.")),
        ChecklistItem("no_operator_staff", _(
            "No employee of the operator (or their family) applies or takes part.")),
        ChecklistItem("amount", _(
            "The amount is from %(min)s to %(max)s (up to %(young)s for a young "
            "organisation).", min=format_money(to_decimal(param(params, "amount_min"))),
            max=format_money(to_decimal(param(params, "amount_max"))),
            young=format_money(to_decimal(param(params, "young_ngo_amount_max"))))),
        ChecklistItem("budget", _(
            "Administrative costs are at most %(percent)s%% of the grant and no cost is "
            "ineligible.", percent=param(params, "admin_max_percent"))),
        ChecklistItem("dates", _(
            "The project's dates are inside the realization period.")),
        ChecklistItem("project_type", _(
            "The project is of a kind the programme supports and serves the public benefit.")),
    ]
