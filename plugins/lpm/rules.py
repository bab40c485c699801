"""The rules of the Lokalny Program Mikrograntów: pure functions over the engine's facts.

Parameters and rules are DOMAIN.md's "Variant lpm" (defaults from the Lubochnia 2020
regulations); the shared checks come from the toolkit.  Rules every variant shares
(on time, the budget adds up, group size, ages, operator staff) are core's defaults and
are not repeated here.
"""
from __future__ import annotations

from decimal import Decimal

from core.plugins.toolkit import (FORBIDDEN_CATEGORIES, ApplicationFacts, CallFacts,
                                  CheckContext, Violation, checks)

KEY = "lpm"

DEFAULTS: dict = {
    "pool": "38000.00",
    "operator_fee_percent": 20,
    "amount_min": "1000.00",
    "amount_max": "4000.00",
    "young_ngo_amount_max": "5000.00",
    "young_ngo_max_age_months": 30,
    "young_ngo_max_revenue": "25000.00",
    "admin_max_percent": 10,
    "min_group_members": 3,
    "group_requires_patron": True,
    "eligible_gminas": [],
    "stage1_max_points": 18,
    "stage2": True,
    "stage2_max_points": 12,
    "cutoff_policy": "STOP",
    "operator_staff": [],
    "forbidden_categories": list(FORBIDDEN_CATEGORIES),
}

# The OPUS offer's budget variants: the municipality's money, the number of projects it
# usually funds, and the operator's fee of 20%.
OFFER_FEE_PERCENT = 20
OFFER_VARIANTS = (
    (Decimal("100000.00"), 16, 20),
    (Decimal("50000.00"), 8, 15),
    (Decimal("30000.00"), 4, 6),
    (Decimal("15000.00"), 4, 7),
)

# The kinds of projects the Lubochnia regulations name (section I.1 a–e).
PROJECT_TYPES = ("events", "young_ngo_development", "activation", "regional_identity",
                 "ecology")


def param(params: dict, name: str):
    """A parameter of the call, or its LPM default."""
    value = (params or {}).get(name)
    return DEFAULTS.get(name) if value is None else value


def allowed_options(params: dict) -> list[tuple[str, str | None, str]]:
    """Who may apply: (applicant kind, realizer kind, mode).

    NGOs (young ones too) alone or as a patron lending legal personality to a group; a
    group alone only where the call does not require a patron.  No persons alone, no
    public institutions (as applicant or patron), no DL Initiative.
    """
    options = [("ngo", None, "standard"), ("ngo", "group", "standard")]
    if not param(params, "group_requires_patron"):
        options.append(("group", None, "standard"))
    return options


def check_kinds(call: CallFacts, application: ApplicationFacts) -> list[Violation]:
    """``applicant.kind_not_allowed`` and ``group.patron_required``."""
    requires_patron = bool(param(call.params, "group_requires_patron"))
    alone = application.applicant.kind == "group" and not application.has_realizer
    if alone and (application.mode or "standard") == "standard" and requires_patron:
        return checks.check_patron_required(application, True)
    return checks.check_applicant_kind(application, allowed_options(call.params))


def young_ngo_applies(call: CallFacts, application: ApplicationFacts,
                      context: CheckContext | None = None) -> bool:
    """The young-organisation limits apply: claimed, and the organisation qualifies."""
    params = call.params
    return application.claims_young_ngo and checks.young_ngo_eligible(
        application, param(params, "young_ngo_max_age_months"),
        param(params, "young_ngo_max_revenue"), context)


def check_amounts(call: CallFacts, application: ApplicationFacts,
                  context: CheckContext | None = None) -> list[Violation]:
    """``applicant.young_ngo_not_eligible``, ``amount.below_min``/``amount.above_max``:
    a failed claim to the young-organisation limits leaves the standard limit."""
    params = call.params
    found = checks.check_young_ngo(application, param(params, "young_ngo_max_age_months"),
                                   param(params, "young_ngo_max_revenue"), context)
    young = young_ngo_applies(call, application, context)
    high = param(params, "young_ngo_amount_max") if young else param(params, "amount_max")
    found += checks.check_amount(application, param(params, "amount_min"), high, young_ngo=young)
    return found


def check_budget(call: CallFacts, application: ApplicationFacts) -> list[Violation]:
    """``budget.admin_share`` and ``budget.ineligible_cost``."""
    params = call.params
    return (checks.check_admin_share(application, param(params, "admin_max_percent"))
            + checks.check_forbidden_categories(application,
                                                param(params, "forbidden_categories")))


def check_place_and_dates(call: CallFacts, application: ApplicationFacts) -> list[Violation]:
    """``duration.outside_window`` (the realization window) and ``applicant.territory``
    (``place.gmina`` among ``eligible_gminas``)."""
    params = call.params
    return (checks.check_duration(application)
            + checks.check_window(application, params.get("realization_start"),
                                  params.get("realization_end"))
            + checks.check_territory(application, param(params, "eligible_gminas")))


def check_across(call: CallFacts, application: ApplicationFacts,
                 context: CheckContext | None) -> list[Violation]:
    """One project per realizer; a person in one group only; no patron board members."""
    return (checks.check_duplicates(application, context)
            + checks.check_member_in_other_group(application, context)
            + checks.check_patron_board_member(application))


def check(call: CallFacts, application: ApplicationFacts,
          context: CheckContext | None = None) -> list[Violation]:
    """Every LPM-specific rule; core's defaults add the shared ones."""
    return (check_kinds(call, application)
            + check_amounts(call, application, context)
            + check_budget(call, application)
            + check_place_and_dates(call, application)
            + check_across(call, application, context))
