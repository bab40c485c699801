"""How a Działaj Lokalnie call is evaluated (the regulations, section IV).

The local grant centre checks the formal criteria (the checklist below, beside the rule
engine's findings); then one stage: the members of the Local Grant Committee score each
application on the regulations' eight criteria, and the average of their cards ranks it.
The committee also weighs the organisation's experience of raising outside funds,
preferring those that are only starting: a criterion of its own where the call gives it
points (``newcomer_points``).  The committee may grant less than asked (an award the
applicant accepts or declines: core's awards).  The criteria's keys ``c1``…``c8`` are those
of the interchange format's score cards.
"""
from __future__ import annotations

from core.plugins.toolkit import (ChecklistItem, Criterion, Stage, category_label,
                                  format_money, gettext as _, lazy_gettext as _l, ngettext,
                                  to_decimal)

from .rules import DL_INITIATIVE_FORBIDDEN, NEWCOMER, criteria_points, param

CRITERIA = {
    "c1": (_l("A need of the community, for the common good"),
           _l("The project answers a clearly defined need that matters to the community, and "
              "meeting it serves the common good.")),
    "c2": (_l("Activities, schedule and results"),
           _l("The activities fit the need, the schedule fits the project's plan, and the "
              "results are measurable.")),
    "c3": (_l("Residents, volunteers and partners"),
           _l("The project widely involves residents in meeting the need, and so in acting "
              "for the common good; it rests on cooperation with institutional partners and "
              "volunteers.")),
    "c4": (_l("Attractive activities, varied communication"),
           _l("The activities are attractive to their audience, and the project is made known "
              "in varied ways.")),
    "c5": (_l("Benefits"),
           _l("The benefits for the participants, for the local community and for the "
              "realizers themselves are presented clearly and measurably.")),
    "c6": (_l("Continuation"),
           _l("Chosen activities continue, and the activity of the groups or circles involved "
              "is kept up, after the project ends.")),
    "c7": (_l("Own contribution"),
           _l("The required own contribution is guaranteed (for a DL Initiative: a "
              "contribution that fits the project, the grant and the group's means).")),
    "c8": (_l("Budget"),
           _l("The budget fits the planned activities; costs, rates and fees are reasonable.")),
    NEWCOMER: (_l("Starting to raise funds"),
               _l("Preference for organisations and groups with little experience of raising "
                  "outside funds.")),
}


def stages(call) -> list[Stage]:
    """One stage: the Local Grant Committee's members score the applications assigned to
    them (``stage1_max_points``; ``stage1_pass_mark`` where the call sets one)."""
    params = call.params or {}
    return [Stage(1, "evaluators", to_decimal(param(params, "stage1_max_points")),
                  to_decimal(params.get("stage1_pass_mark")),
                  _l("Assessment by the Local Grant Committee"))]


def criteria(call, stage: int) -> list[Criterion]:
    if stage != 1:
        return []
    return [Criterion(key, CRITERIA[key][0], maximum, CRITERIA[key][1])
            for key, maximum in criteria_points(call.params or {}).items()]


def checklist(call) -> list[ChecklistItem]:
    """The formal criteria of the regulations (section IV), with the call's own numbers."""
    params = call.params or {}
    gminas = ", ".join(param(params, "eligible_gminas") or []) or _("the call's area")
    members = int(param(params, "min_group_members"))
    shortest = int(param(params, "duration_min_months"))
    longest = int(param(params, "duration_max_months"))
    return [
        ChecklistItem("submitted_in_time", _(
            "Submitted through the generator by the deadline.")),
        ChecklistItem("complete", _(
            "Written on the call's application form, legible and complete: every question "
            "is answered.")),
        ChecklistItem("eligible_applicant", ngettext(
            "The applicant may take part: a non-governmental organisation with legal "
            "personality (not of an excluded legal form, not in liquidation), an "
            "organisation or a public institution applying for an informal group of at "
            "least %(num)d adult, or such a group applying by itself as a DL Initiative.",
            "The applicant may take part: a non-governmental organisation with legal "
            "personality (not of an excluded legal form, not in liquidation), an "
            "organisation or a public institution applying for an informal group of at "
            "least %(num)d adults, or such a group applying by itself as a DL Initiative.",
            members)),
        ChecklistItem("territory", _(
            "The project is for a community in, and the seat of the organisation or "
            "institution is in: %(gminas)s.", gminas=gminas)),
        ChecklistItem("schedule", _(
            "The schedule lasts from %(min)s to %(max)s months, inside the call's window.",
            min=shortest, max=longest)),
        ChecklistItem("budget", _(
            "The budget is filled in correctly (no arithmetic errors) and pays for no cost "
            "the grant cannot pay for (a DL Initiative: no %(assets)s either).",
            assets=", ".join(category_label(c) for c in DL_INITIATIVE_FORBIDDEN))),
        ChecklistItem("amount", _(
            "The amount requested is at most %(max)s.",
            max=format_money(to_decimal(param(params, "amount_max"))))),
        ChecklistItem("contribution", _(
            "The own contribution is at least %(total)s%% of the grant, at least %(financial)s%% "
            "of it in money (a DL Initiative: a contribution that fits the project).",
            total=param(params, "contribution_total_percent"),
            financial=param(params, "contribution_financial_percent"))),
        # Checked before any transfer: the organisation's legal personality (its KRS entry
        # or another register), or the power of attorney of the group it applies for.
        ChecklistItem("legal_proof", _(
            "The organisation's legal personality is proved (an extract from the KRS or "
            "another register), and where it applies for a group, the group's power of "
            "attorney is attached; a DL Initiative needs neither.")),
    ]
