"""The rules of Działaj Lokalnie: pure functions over the engine's facts.

Parameters and rules are DOMAIN.md's "Variant dzialaj_lokalnie" (defaults from the
regulations of the Działaj Lokalnie VIII 2013 call of the Równiny Wołomińskie centre); the
shared checks come from the toolkit.  Rules every variant shares (on time, the budget adds
up, group size, ages, operator staff) are core's defaults and are not repeated here.  One
grant per realizer and the large-town pool are not rules of an application but of the
allocation: core's walk reads ``one_grant_per_realizer``, ``large_town_pool`` and
``large_town_population`` from the call's parameters.
"""
from __future__ import annotations

from decimal import Decimal

from core.plugins.toolkit import (ApplicationFacts, CallFacts, CheckContext, Violation,
                                  ceil_grosz, checks, gettext as _, legal_form_label,
                                  split_points, to_decimal)

KEY = "dzialaj_lokalnie"
STANDARD, DL_INITIATIVE = "standard", "dl_initiative"

# Section II of the regulations: foundations of the State Treasury, social and housing
# cooperatives, associations of local governments, local action and fisheries groups,
# local tourism organisations and unions of associations may not apply.
EXCLUDED_LEGAL_FORMS = (
    "social_cooperative", "housing_cooperative", "local_government_association",
    "local_action_group", "local_fisheries_group", "tourism_organisation",
    "association_union", "state_treasury_foundation", "political_party_foundation",
)

# Section III: what the grant cannot pay for; a DL Initiative cannot buy fixed assets either.
FORBIDDEN = ("loans", "direct_aid", "investment", "real_estate", "foreign_trips", "endowment",
             "business_activity", "vat_recoverable", "religious", "political")
DL_INITIATIVE_FORBIDDEN = ("fixed_assets",)

# Section II: the public institutions that may apply for an informal group.
INSTITUTION_TYPES = ("public_preschool", "public_school", "culture_institution",
                     "public_library", "social_welfare_centre")

# Section IV: the Local Grant Committee's eight criteria, and the preference for
# organisations that are only starting to raise outside funds (weighted by the call).
CRITERIA = ("c1", "c2", "c3", "c4", "c5", "c6", "c7", "c8")
NEWCOMER = "newcomer"

DEFAULTS: dict = {
    "pool": "55000.00",
    "amount_max": "6000.00",
    "contribution_total_percent": 25,
    "contribution_financial_percent": 5,
    "duration_min_months": 3,
    "duration_max_months": 6,
    "eligible_gminas": [],
    "large_town_population": 20000,
    "large_town_pool": "5000.00",
    "one_grant_per_realizer": True,
    "excluded_legal_forms": list(EXCLUDED_LEGAL_FORMS),
    "min_group_members": 3,
    "stage1_max_points": 40,
    "newcomer_points": 0,
    "cutoff_policy": "SKIP_TO_FIT",
    "operator_staff": [],
    "forbidden_categories": list(FORBIDDEN),
}


def param(params: dict, name: str):
    """A parameter of the call, or its Działaj Lokalnie default."""
    value = (params or {}).get(name)
    return DEFAULTS.get(name) if value is None else value


def is_initiative(application: ApplicationFacts) -> bool:
    return (application.mode or STANDARD) == DL_INITIATIVE


def allowed_options(params: dict | None = None) -> list[tuple[str, str | None, str]]:
    """Who may apply: (applicant kind, realizer kind, mode).

    An NGO for its own project or for an informal group; a public institution only for a
    group; a group by itself only as a DL Initiative.  No persons alone.
    """
    return [("ngo", None, STANDARD), ("ngo", "group", STANDARD),
            ("public_institution", "group", STANDARD), ("group", None, DL_INITIATIVE)]


def check_kinds(call: CallFacts, application: ApplicationFacts) -> list[Violation]:
    """``group.patron_required`` (a group in standard mode, alone) and
    ``applicant.kind_not_allowed``."""
    alone = application.applicant.kind == "group" and not application.has_realizer
    if alone and not is_initiative(application):
        return checks.check_patron_required(application, True)
    return checks.check_applicant_kind(application, allowed_options(call.params))


def _organisations(application: ApplicationFacts):
    found = []
    for role, profile in (("applicant", application.applicant),
                          ("realizer", application.realizer)):
        if profile.kind == "ngo" and all(profile.identity != p.identity for _r, p in found):
            found.append((role, profile))
    return found


def check_legal_form(call: CallFacts, application: ApplicationFacts) -> list[Violation]:
    """``applicant.legal_form_excluded``: an organisation of a legal form the call excludes
    (``excluded_legal_forms``), or one in liquidation; an organisation applying for a
    group is held to the same (section II: "organizacja pozarządowa (jak wyżej)")."""
    excluded = set(param(call.params, "excluded_legal_forms") or ())
    found = []
    for role, profile in _organisations(application):
        name = profile.name or profile.ref
        if profile.in_liquidation:
            found.append(Violation("applicant.legal_form_excluded", _(
                "%(name)s is in liquidation; organisations in liquidation cannot apply.",
                name=name), role))
        elif profile.legal_form and profile.legal_form in excluded:
            found.append(Violation("applicant.legal_form_excluded", _(
                "%(name)s is of a legal form this call does not accept (%(form)s).",
                name=name, form=legal_form_label(profile.legal_form)), role))
    return found


def check_amounts(call: CallFacts, application: ApplicationFacts) -> list[Violation]:
    """``amount.below_min`` / ``amount.above_max`` (``amount_min`` is optional)."""
    params = call.params
    return checks.check_amount(application, params.get("amount_min"),
                               param(params, "amount_max"))


def forbidden_categories(params: dict, application: ApplicationFacts) -> list[str]:
    """The call's forbidden costs; a DL Initiative's also fixed assets."""
    forbidden = list(param(params, "forbidden_categories") or ())
    if is_initiative(application):
        forbidden += [c for c in DL_INITIATIVE_FORBIDDEN if c not in forbidden]
    return forbidden


def check_budget(call: CallFacts, application: ApplicationFacts) -> list[Violation]:
    """``budget.ineligible_cost``."""
    return checks.check_forbidden_categories(application,
                                             forbidden_categories(call.params, application))


def check_contribution(call: CallFacts, application: ApplicationFacts) -> list[Violation]:
    """``contribution.total_share`` / ``contribution.financial_share``: at least
    ``contribution_total_percent`` of the requested grant with at least
    ``contribution_financial_percent`` in money (minimums rounded up to the grosz).  A DL
    Initiative has no fixed share: the committee scores its contribution instead."""
    if is_initiative(application):
        return []
    params = call.params
    return checks.check_contribution(application, param(params, "contribution_total_percent"),
                                     param(params, "contribution_financial_percent"))


def minimums(params: dict, application: ApplicationFacts) -> list[tuple[str | None, object,
                                                                         Decimal]]:
    """The required own contribution in money: ``(kind, percent, amount)`` for the total
    (kind ``None``) and the financial part; none for a DL Initiative or without an amount."""
    requested = application.requested
    if requested is None or is_initiative(application):
        return []
    found = []
    for kind, name in ((None, "contribution_total_percent"),
                       ("financial", "contribution_financial_percent")):
        percent = param(params, name)
        if percent is not None:
            found.append((kind, percent, ceil_grosz(requested * to_decimal(percent)
                                                    / Decimal(100))))
    return found


def check_dates(call: CallFacts, application: ApplicationFacts) -> list[Violation]:
    """``duration.too_short`` / ``duration.too_long`` (3–6 months by DOMAIN.md's month
    arithmetic) and ``duration.outside_window``."""
    params = call.params
    return (checks.check_duration(application, param(params, "duration_min_months"),
                                  param(params, "duration_max_months"))
            + checks.check_window(application, params.get("window_start"),
                                  params.get("window_end")))


def check_place(call: CallFacts, application: ApplicationFacts) -> list[Violation]:
    """``applicant.territory``: the project's gmina, and the seat of an organisation or
    institution applicant, among ``eligible_gminas``."""
    gminas = param(call.params, "eligible_gminas")
    return checks.check_territory(application, gminas) + checks.check_seat(application, gminas)


def check(call: CallFacts, application: ApplicationFacts,
          context: CheckContext | None = None) -> list[Violation]:
    """Every Działaj Lokalnie rule; core's defaults add the shared ones.  Applications are
    not limited in number (no duplicate rule): one grant per realizer is the allocation's."""
    return (check_kinds(call, application)
            + check_legal_form(call, application)
            + check_amounts(call, application)
            + check_budget(call, application)
            + check_contribution(call, application)
            + check_dates(call, application)
            + check_place(call, application))


# --- the generator's answers (hook check_draft) ------------------------------------------

def acts_for_a_group(application: ApplicationFacts) -> bool:
    """An organisation or a public institution applies on behalf of an informal group."""
    return (application.applicant.kind in ("ngo", "public_institution")
            and application.has_realizer and application.realizer.kind == "group")


def _answered(answers: dict, name: str) -> bool:
    return bool(str((answers or {}).get(name) or "").strip())


def check_answers(call: CallFacts, application: ApplicationFacts,
                  answers: dict) -> list[Violation]:
    """What the generator needs in some cases only: the power of attorney (or agreement)
    for the group when an organisation or institution applies for one, and the kind of a
    public institution (only some may apply)."""
    found = []
    if acts_for_a_group(application) and not _answered(answers, "power_of_attorney"):
        found.append(Violation("form.required", _(
            "An organisation or institution applying for an informal group records on what "
            "basis it acts for the group: fill in “Power of attorney for the group” before "
            "you submit."), "power_of_attorney"))
    if application.applicant.kind == "public_institution" \
            and not _answered(answers, "institution_type"):
        found.append(Violation("form.required", _(
            "A public institution says what kind of institution it is: choose it in "
            "“Kind of public institution” before you submit."), "institution_type"))
    return found


# --- the committee's score card ----------------------------------------------------------


def criteria_points(params: dict) -> dict[str, Decimal]:
    """The most points of each criterion: ``criteria_points`` where the call gives them,
    else ``stage1_max_points`` less the newcomer preference split evenly over the eight;
    the newcomer preference (``newcomer_points``) only where the call weighs it."""
    newcomer = to_decimal(param(params, "newcomer_points")) or Decimal(0)
    given = (params or {}).get("criteria_points") or {}
    if all(given.get(key) is not None for key in CRITERIA):
        points = {key: to_decimal(given[key]) for key in CRITERIA}
    else:
        total = to_decimal(param(params, "stage1_max_points")) - newcomer
        points = dict(zip(CRITERIA, split_points(max(total, Decimal(0)), len(CRITERIA)), strict=True))
    if newcomer > 0:
        points[NEWCOMER] = newcomer
    return points
