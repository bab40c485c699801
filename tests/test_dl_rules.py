"""The ``dzialaj_lokalnie`` variant: each rule and parameter at its boundaries, its hooks,
and its allocation (the large-town pool, one grant per realizer) on imported editions.

Rules are judged through the engine (``check_application`` of every plugin: core's shared
rules and the variant's own), so what a call of the variant really asks is tested.
"""
from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

import pytest
from rules_facts import alone, group, institution, ngo, person, warsaw
from werkzeug.datastructures import MultiDict

from core.calls.models import Call
from core.rules import ApplicationFacts, BudgetLineFacts, CallFacts, CheckContext
from core.rules.engine import check_facts
from core.rules.values import deadline_instant
from plugins.dzialaj_lokalnie import rules

D = Decimal
SCENARIO = Path(__file__).resolve().parent / "scenarios" / \
    "dzialaj_lokalnie_dolina_rzeki_2025.json"

DL_PARAMS = {
    "deadline": "2025-05-15", "pool": "22000.00", "amount_max": "6000.00",
    "contribution_total_percent": 25, "contribution_financial_percent": 5,
    "duration_min_months": 3, "duration_max_months": 6,
    "window_start": "2025-07-01", "window_end": "2025-12-31",
    "eligible_gminas": ["Brzozowo", "Lipiny", "Miasto Duże"],
    "large_town_population": 20000, "large_town_pool": "5000.00",
    "one_grant_per_realizer": True, "stage1_max_points": 40, "cutoff_policy": "SKIP_TO_FIT",
}


@pytest.fixture(autouse=True)
def polish(app):
    with app.app_context():
        yield


def call(**params) -> CallFacts:
    merged = {**DL_PARAMS, **params}
    return CallFacts(ref="dl-2025", variant="dzialaj_lokalnie", params=merged,
                     deadline_at=deadline_instant(merged.get("deadline")))


def dl_app(ref="D1", applicant=None, realizer=None, requested="4000.00", budget=None,
           contribution=None, **values) -> ApplicationFacts:
    """A standard application of an NGO from Lipiny: breaks nothing as it stands."""
    applicant = applicant or ngo("R1")
    budget = budget if budget is not None else [("fees", "Warsztaty", "2000.00"),
                                                ("materials", "Materiały",
                                                 str(D(requested) - D("2000.00")))]
    if contribution is None:
        contribution = {"financial": "200.00", "volunteer": "800.00"}
    return ApplicationFacts(
        ref=ref, applicant=applicant, realizer=realizer or applicant,
        has_realizer=realizer is not None, mode=values.pop("mode", "standard"),
        submitted_at=values.pop("submitted", warsaw(2025, 5, 5, 19, 42)),
        title=values.pop("title", ref), requested=D(requested),
        budget=tuple(BudgetLineFacts(c, i, D(a)) for c, i, a in budget),
        contribution={kind: D(amount) for kind, amount in contribution.items()},
        start=values.pop("start", dt.date(2025, 7, 1)),
        end=values.pop("end", dt.date(2025, 10, 31)),
        place=values.pop("place", {"gmina": "Lipiny", "population": 8100}), **values)


def initiative(**values) -> ApplicationFacts:
    """A group applying by itself as a DL Initiative, with volunteer work only."""
    values.setdefault("contribution", {"volunteer": "400.00"})
    values.setdefault("applicant", group("GK"))
    return dl_app(mode="dl_initiative", **values)


def judge(application, others=(), **params):
    return check_facts(call(**params), application, CheckContext(others=list(others)))


def ids(violations):
    return sorted({v.rule_id for v in violations})


def text(violations, rule_id):
    return " ".join(v.message for v in violations if v.rule_id == rule_id).replace("\xa0", " ")


def organisation(ref="R1", **changes):
    return dataclasses.replace(ngo(ref), **changes)


# --- who applies ------------------------------------------------------------------------

def test_the_eligible_applicants_break_nothing():
    assert judge(dl_app()) == []
    assert judge(dl_app(realizer=group("GM"))) == []                      # NGO for a group
    assert judge(dl_app(applicant=institution("BL"), realizer=group("GT"))) == []
    assert judge(initiative()) == []


@pytest.mark.parametrize("applicant,realizer,mode", [
    (alone(), None, "standard"),                         # a person alone
    (institution(), None, "standard"),                   # an institution for itself
    (ngo(), None, "dl_initiative"),                      # the DL Initiative is for groups
    (institution(), group("G1"), "dl_initiative"),       # … applying by themselves
    (ngo(), ngo("N2"), "standard"),                      # an NGO for another NGO
])
def test_applicant_kind_not_allowed(applicant, realizer, mode):
    found = judge(dl_app(applicant=applicant, realizer=realizer, mode=mode))
    assert "applicant.kind_not_allowed" in ids(found)
    assert "Inicjatywa DL" in text(found, "applicant.kind_not_allowed")


def test_a_group_in_standard_mode_needs_an_organisation():
    found = judge(dl_app(applicant=group("GK")))
    assert ids(found) == ["group.patron_required"]
    assert judge(dl_app(applicant=group("GK"), mode="dl_initiative")) == []


@pytest.mark.parametrize("legal_form", rules.EXCLUDED_LEGAL_FORMS)
def test_every_excluded_legal_form_of_the_regulations_is_refused(legal_form):
    found = judge(dl_app(applicant=organisation(legal_form=legal_form)))
    assert ids(found) == ["applicant.legal_form_excluded"]


def test_excluded_legal_form_names_the_form():
    found = judge(dl_app(applicant=organisation(legal_form="social_cooperative",
                                                name="Spółdzielnia Socjalna Razem")))
    assert "Spółdzielnia Socjalna Razem" in text(found, "applicant.legal_form_excluded")
    assert "Spółdzielnia socjalna" in text(found, "applicant.legal_form_excluded")


@pytest.mark.parametrize("legal_form", ["association", "foundation", "sports_club",
                                        "ordinary_association", "rural_housewives_circle"])
def test_organisations_of_other_forms_may_apply(legal_form):
    assert judge(dl_app(applicant=organisation(legal_form=legal_form))) == []


def test_the_call_decides_which_legal_forms_are_excluded():
    """Newer editions admit ordinary associations; a call may also exclude more."""
    housing = dl_app(applicant=organisation(legal_form="housing_cooperative"))
    assert ids(judge(housing)) == ["applicant.legal_form_excluded"]
    assert judge(housing, excluded_legal_forms=["association_union"]) == []
    ordinary = dl_app(applicant=organisation(legal_form="ordinary_association"))
    assert ids(judge(ordinary, excluded_legal_forms=["ordinary_association"])) == [
        "applicant.legal_form_excluded"]


def test_an_organisation_in_liquidation_is_refused_whatever_its_form():
    found = judge(dl_app(applicant=organisation(in_liquidation=True)))
    assert ids(found) == ["applicant.legal_form_excluded"]
    assert "likwidacji" in text(found, "applicant.legal_form_excluded")
    assert ids(judge(dl_app(applicant=organisation(in_liquidation=True)),
                     excluded_legal_forms=[])) == ["applicant.legal_form_excluded"]


def test_an_excluded_organisation_cannot_apply_for_a_group_either():
    patron = organisation("LGD", legal_form="local_action_group")
    assert ids(judge(dl_app(applicant=patron, realizer=group("GM")))) == [
        "applicant.legal_form_excluded"]


# --- place --------------------------------------------------------------------------------

def test_place_outside_the_call_gminas():
    found = judge(dl_app(place={"gmina": "Kraków", "population": 800000}))
    assert ids(found) == ["applicant.territory"]
    assert "Brzozowo, Lipiny, Miasto Duże" in text(found, "applicant.territory")


def test_seat_outside_the_call_gminas():
    far = organisation(seat="Nowe Miasto Lubawskie")
    found = judge(dl_app(applicant=far))
    assert ids(found) == ["applicant.territory"]
    assert "Nowe Miasto Lubawskie" in text(found, "applicant.territory")
    library = dataclasses.replace(institution("BL"), seat="Kłodzko")
    assert ids(judge(dl_app(applicant=library, realizer=group("GT")))) == [
        "applicant.territory"]


def test_a_group_has_no_seat_to_check():
    assert judge(initiative(place={"gmina": "Brzozowo", "population": 6200})) == []


# --- money --------------------------------------------------------------------------------

def test_amount_up_to_the_largest_grant():
    assert judge(dl_app(requested="6000.00", contribution={"financial": "300.00",
                                                           "volunteer": "1200.00"})) == []
    found = judge(dl_app(requested="6000.01", contribution={"financial": "300.01",
                                                            "volunteer": "1200.00"}))
    assert ids(found) == ["amount.above_max"]


def test_contribution_of_exactly_25_and_5_percent_passes():
    assert judge(dl_app(requested="6000.00", contribution={"financial": "300.00",
                                                           "in_kind": "400.00",
                                                           "services": "200.00",
                                                           "volunteer": "600.00"})) == []


def test_contribution_a_grosz_below_25_percent():
    found = judge(dl_app(requested="6000.00", contribution={"financial": "300.00",
                                                            "volunteer": "1199.99"}))
    assert ids(found) == ["contribution.total_share"]
    assert "1 500,00 zł" in text(found, "contribution.total_share")


def test_financial_contribution_a_grosz_below_5_percent():
    found = judge(dl_app(requested="6000.00", contribution={"financial": "299.99",
                                                            "volunteer": "1300.00"}))
    assert ids(found) == ["contribution.financial_share"]
    assert "300,00 zł" in text(found, "contribution.financial_share")


def test_minimums_round_up_to_the_grosz():
    # 25% of 3333.33 is 833.3325 → 833.34; 5% is 166.6665 → 166.67.
    budget = [("materials", "m", "3333.33")]
    exact = dl_app(requested="3333.33", budget=budget,
                   contribution={"financial": "166.67", "volunteer": "666.67"})
    assert judge(exact) == []
    short = dl_app(requested="3333.33", budget=budget,
                   contribution={"financial": "166.66", "volunteer": "666.68"})
    assert ids(judge(short)) == ["contribution.financial_share"]
    total = dl_app(requested="3333.33", budget=budget,
                   contribution={"financial": "166.67", "volunteer": "666.66"})
    assert ids(judge(total)) == ["contribution.total_share"]


def test_the_shares_are_parameters():
    app_ = dl_app(contribution={"financial": "200.00", "volunteer": "800.00"})
    assert ids(judge(app_, contribution_total_percent=30)) == ["contribution.total_share"]
    assert ids(judge(app_, contribution_financial_percent="5.5")) == [
        "contribution.financial_share"]
    assert judge(app_, contribution_total_percent=20, contribution_financial_percent=0) == []


def test_a_dl_initiative_needs_no_financial_part_and_no_fixed_share():
    assert judge(initiative(contribution={"volunteer": "400.00"})) == []
    assert judge(initiative(contribution={})) == []
    # The same contribution in standard mode, through an organisation, falls short.
    through = dl_app(realizer=group("GK"), contribution={"volunteer": "400.00"})
    assert ids(judge(through)) == ["contribution.financial_share", "contribution.total_share"]


def test_a_dl_initiative_may_not_buy_fixed_assets():
    budget = [("fixed_assets", "Rzutnik multimedialny", "1500.00"),
              ("materials", "Materiały", "2500.00")]
    found = judge(initiative(budget=budget))
    assert ids(found) == ["budget.ineligible_cost"]
    assert "Rzutnik multimedialny" in text(found, "budget.ineligible_cost")
    # An organisation's project may, unless the call forbids them for everyone.
    assert judge(dl_app(budget=budget)) == []
    assert ids(judge(dl_app(budget=budget), forbidden_categories=["fixed_assets"])) == [
        "budget.ineligible_cost"]


@pytest.mark.parametrize("category", rules.FORBIDDEN)
def test_forbidden_costs(category):
    budget = [(category, "Koszt", "1000.00"), ("materials", "Materiały", "3000.00")]
    assert ids(judge(dl_app(budget=budget))) == ["budget.ineligible_cost"]


def test_the_budget_must_add_up():
    found = judge(dl_app(budget=[("materials", "m", "3999.99")]))
    assert ids(found) == ["budget.sum_mismatch"]


# --- dates ----------------------------------------------------------------------------------

def test_exactly_three_months_and_a_day_less():
    assert judge(dl_app(start=dt.date(2025, 9, 1), end=dt.date(2025, 11, 30))) == []
    found = judge(dl_app(start=dt.date(2025, 9, 1), end=dt.date(2025, 11, 29)))
    assert ids(found) == ["duration.too_short"]
    assert "30 listopada 2025" in text(found, "duration.too_short")


def test_exactly_six_months_and_a_day_more():
    assert judge(dl_app(start=dt.date(2025, 7, 1), end=dt.date(2025, 12, 31))) == []
    longer = dl_app(start=dt.date(2025, 7, 1), end=dt.date(2026, 1, 1))
    assert ids(judge(longer, window_end="2026-06-30")) == ["duration.too_long"]
    # 31 August + 6 months is 28 February (clamped): the last day is 27 February.
    later = dl_app(start=dt.date(2025, 8, 31), end=dt.date(2026, 2, 27))
    assert judge(later, window_end="2026-06-30") == []
    assert ids(judge(dataclasses.replace(later, end=dt.date(2026, 2, 28)),
                     window_end="2026-06-30")) == ["duration.too_long"]


def test_the_durations_are_parameters():
    two = dl_app(start=dt.date(2025, 7, 1), end=dt.date(2025, 8, 31))
    assert ids(judge(two)) == ["duration.too_short"]
    assert judge(two, duration_min_months=2) == []
    assert ids(judge(dl_app(), duration_max_months=3)) == ["duration.too_long"]


def test_dates_inside_the_window():
    early = dl_app(start=dt.date(2025, 6, 30), end=dt.date(2025, 10, 31))
    assert ids(judge(early)) == ["duration.outside_window"]
    late = dl_app(start=dt.date(2025, 10, 1), end=dt.date(2026, 1, 1))
    assert ids(judge(late)) == ["duration.outside_window"]


def test_late_submission():
    assert ids(judge(dl_app(submitted=warsaw(2025, 5, 16, 0, 0, 1)))) == ["submission.late"]
    assert judge(dl_app(submitted=warsaw(2025, 5, 15, 23, 59, 59))) == []


def test_group_members_are_adults():
    minor = person("m", dt.date(2010, 1, 1))
    small = group("GK", members=[person("a"), person("b"), minor])
    found = judge(initiative(applicant=small))
    assert ids(found) == ["applicant.under_age", "group.too_few_members"]


# --- any number of applications -------------------------------------------------------------

def test_any_number_of_applications_of_one_realizer():
    """Unlimited applications: one grant per realizer is the allocation's (excluded)."""
    first = dl_app("D1", submitted=warsaw(2025, 5, 5, 10))
    later = dl_app("D7", submitted=warsaw(2025, 5, 6, 8))
    assert judge(later, [first]) == []


def test_rules_alone_leave_the_shared_ones_to_core():
    late = dl_app(submitted=warsaw(2025, 6, 2))
    assert rules.check(call(), late, CheckContext()) == []


def test_other_variants_get_no_dl_rules():
    from plugins.dzialaj_lokalnie import plugin

    wrong = dl_app(applicant=alone(), requested="90000.00",
                   budget=[("materials", "m", "90000.00")])
    other = dataclasses.replace(call(), variant="lpm")
    assert plugin.check_application(call=other, application=wrong,
                                    context=CheckContext()) == []
    assert plugin.check_draft(call=other, application=wrong, answers={}) == []
    assert plugin.contribution_requirements(call=other, application=wrong) == []


# --- hooks ----------------------------------------------------------------------------------

def pm(app):
    return app.extensions["mikrogranty.plugins"]


def test_default_params(app):
    params = pm(app).hook.default_params(variant="dzialaj_lokalnie")
    assert params["pool"] == "55000.00" and params["amount_max"] == "6000.00"
    assert params["contribution_total_percent"] == 25
    assert params["contribution_financial_percent"] == 5
    assert (params["duration_min_months"], params["duration_max_months"]) == (3, 6)
    assert params["large_town_population"] == 20000 and params["large_town_pool"] == "5000.00"
    assert params["one_grant_per_realizer"] is True
    assert params["cutoff_policy"] == "SKIP_TO_FIT"
    assert set(params["excluded_legal_forms"]) == {
        "social_cooperative", "housing_cooperative", "local_government_association",
        "local_action_group", "local_fisheries_group", "tourism_organisation",
        "association_union", "state_treasury_foundation", "political_party_foundation"}
    assert {"loans", "direct_aid", "investment", "real_estate", "foreign_trips", "endowment",
            "business_activity", "vat_recoverable", "religious", "political"} == set(
        params["forbidden_categories"])
    # The defaults are not shared: changing one call's list leaves the next call's alone.
    params["excluded_legal_forms"].clear()
    assert pm(app).hook.default_params(variant="dzialaj_lokalnie")["excluded_legal_forms"]


def test_applicant_kinds(app):
    the_call = Call(ref="x", title="x", variant="dzialaj_lokalnie",
                    params={"min_group_members": 3})
    with app.test_request_context():
        options = pm(app).hook.applicant_kinds(call=the_call)
        labels = [str(o.label) for o in options]
    assert [(o.applicant_kind, o.realizer_kind, o.mode) for o in options] == [
        ("ngo", None, "standard"), ("ngo", "group", "standard"),
        ("public_institution", "group", "standard"), ("group", None, "dl_initiative")]
    assert "co najmniej 3 pełnoletnie osoby" in labels[1]
    assert "biblioteka" in labels[2] and "Inicjatywa DL" in labels[3]


def _form_steps(app, params):
    the_call = Call(ref="x", title="x", variant="dzialaj_lokalnie", params=params)
    steps = {}
    for result in pm(app).hook.application_form(call=the_call) or []:
        for step in result or []:
            steps.setdefault(step.step, {}).update(step.fields)
    return steps


def test_application_form_asks_the_regulations_questions(app):
    from flask_wtf import FlaskForm

    with app.test_request_context():
        steps = _form_steps(app, {**DL_PARAMS, "newcomer_points": 2})
        assert set(steps) == {"project", "contribution"}
        project = steps["project"]
        assert {"place_gmina", "place_population", "common_good", "partners", "volunteers",
                "continuation", "fundraising_experience", "institution_type",
                "power_of_attorney"} == set(project)
        assert set(steps["contribution"]) == {"contribution_plan"}
        form = type("F", (FlaskForm,), dict(project))(
            formdata=MultiDict({"place_gmina": "Kraków", "place_population": "20 001"}),
            meta={"csrf": False})
        assert not form.validate()
        assert form.place_gmina.errors and form.place_population.data == 20001
        assert [c.value for c in form.place_gmina.choices] == [
            "", "Brzozowo", "Lipiny", "Miasto Duże"]
        assert str(form.common_good.label.text).startswith("Na jaką potrzebę")
        assert "dobru wspólnemu" in str(form.common_good.label.text)
        assert "20 000" in str(form.place_population.description).replace("\xa0", " ")
        assert "5 000,00 zł" in str(form.place_population.description).replace("\xa0", " ")
        assert [c.value for c in form.institution_type.choices][1:] == list(
            rules.INSTITUTION_TYPES)
        help_text = str(steps["contribution"]["contribution_plan"].kwargs["description"])
        assert "25%" in help_text and "5%" in help_text
        assert "godzin × rynkowa stawka" in help_text and "innych programów" in help_text
        assert "dotychczasowy majątek" in help_text
        # Without the newcomer preference the experience question is not asked.
        assert "fundraising_experience" not in _form_steps(app, DL_PARAMS)["project"]


def test_check_draft_asks_for_the_power_of_attorney_only_for_a_group(app):
    def draft(**values):
        return pm(app).hook.check_draft(call=call(), application=dl_app(**values),
                                        answers=values.pop("answers", {}))

    def missing(results):
        return sorted(v.field for result in results for v in result)

    with app.test_request_context():
        assert missing(draft()) == []                                   # NGO, own project
        assert missing(draft(realizer=group("GM"))) == ["power_of_attorney"]
        assert missing(draft(applicant=institution("BL"), realizer=group("GT"))) == [
            "institution_type", "power_of_attorney"]
        assert missing(pm(app).hook.check_draft(
            call=call(), application=dl_app(applicant=institution("BL"), realizer=group("GT")),
            answers={"power_of_attorney": "Umowa z grupą z 2 maja 2025",
                     "institution_type": "public_library"})) == []
        assert missing(pm(app).hook.check_draft(call=call(), application=initiative(),
                                                answers={})) == []
        found = [v for result in draft(realizer=group("GM")) for v in result]
        assert found[0].rule_id == "form.required" and found[0].formal
        assert "Pełnomocnictwo grupy" in found[0].message


def test_contribution_requirements_in_money(app):
    def minimums(application):
        return [(m.kind, m.amount, str(m.label)) for result in
                pm(app).hook.contribution_requirements(call=call(), application=application)
                for m in result]

    with app.test_request_context():
        found = minimums(dl_app(requested="4000.00"))
        assert [(kind, amount) for kind, amount, _ in found] == [
            (None, D("1000.00")), ("financial", D("200.00"))]
        assert "25%" in found[0][2] and "5%" in found[1][2]
        odd = minimums(dl_app(requested="3333.33", budget=[("materials", "m", "3333.33")]))
        assert [amount for _, amount, _ in odd] == [D("833.34"), D("166.67")]
        assert minimums(initiative()) == []
        assert minimums(dataclasses.replace(dl_app(), requested=None)) == []


def test_evaluation_stages_one_stage_by_the_committee(app):
    the_call = Call(ref="x", title="x", variant="dzialaj_lokalnie", params=DL_PARAMS)
    with app.test_request_context():
        stages = pm(app).hook.evaluation_stages(call=the_call)
        assert [(s.number, s.kind, s.max_points, s.pass_mark) for s in stages] == [
            (1, "evaluators", D(40), None)]
        assert str(stages[0].label) == "Ocena Lokalnej Komisji Grantowej"


def test_score_card_has_the_eight_criteria(app):
    def card(**params):
        the_call = Call(ref="x", title="x", variant="dzialaj_lokalnie",
                        params={**DL_PARAMS, **params})
        return pm(app).hook.score_card(call=the_call, stage=1)

    with app.test_request_context():
        criteria = card()
        assert [c.key for c in criteria] == ["c1", "c2", "c3", "c4", "c5", "c6", "c7", "c8"]
        assert [c.max_points for c in criteria] == [D(5)] * 8
        assert str(criteria[0].label) == "Potrzeba społeczności, dobro wspólne"
        weighted = card(stage1_max_points=40, newcomer_points=4)
        assert [c.key for c in weighted][-1] == "newcomer"
        assert [c.max_points for c in weighted] == [D(5)] * 4 + [D(4)] * 4 + [D(4)]
        assert sum(c.max_points for c in weighted) == 40
        chosen = card(stage1_max_points=30, newcomer_points=2,
                      criteria_points={"c1": 6, "c2": 4, "c3": 4, "c4": 2, "c5": 3, "c6": 3,
                                       "c7": 3, "c8": 3})
        assert [c.max_points for c in chosen] == [D(n) for n in (6, 4, 4, 2, 3, 3, 3, 3, 2)]
        assert card(stage1_max_points=40).__len__() == 8
        assert pm(app).hook.score_card(call=Call(ref="x", title="x", variant="dzialaj_lokalnie",
                                                 params=DL_PARAMS), stage=2) == []


def test_formal_checklist_has_the_regulations_formal_criteria(app):
    the_call = Call(ref="x", title="x", variant="dzialaj_lokalnie", params=DL_PARAMS)
    with app.test_request_context():
        items = pm(app).hook.formal_checklist(call=the_call)
        labels = " ".join(str(i.label) for i in items).replace("\xa0", " ")
    assert [i.key for i in items] == ["submitted_in_time", "complete", "eligible_applicant",
                                      "territory", "schedule", "budget", "amount",
                                      "contribution", "legal_proof"]
    assert "Brzozowo, Lipiny, Miasto Duże" in labels and "6 000,00 zł" in labels
    assert "od 3 do 6 miesięcy" in labels and "25%" in labels and "środki trwałe" in labels
    # Before any transfer: proof of legal personality, or the group's power of attorney.
    assert "odpis z KRS" in labels and "pełnomocnictwo grupy" in labels


def test_call_rules_summary(app):
    params = {**pm(app).hook.default_params(variant="dzialaj_lokalnie"),
              "eligible_gminas": ["Tłuszcz", "Wołomin"], "deadline": "2025-05-15",
              "window_start": "2025-07-01", "window_end": "2025-12-31", "newcomer_points": 3}
    the_call = Call(ref="dl-2025", title="DL", variant="dzialaj_lokalnie", params=params,
                    pool=D("55000.00"))
    with app.test_request_context():
        sentences = [s.replace("\xa0", " ") for s in
                     pm(app).hook.call_rules_summary(call=the_call)]
    whole = " ".join(sentences)
    assert "Dotacja wynosi najwyżej 6 000,00 zł." in sentences
    assert "Pula środków na dotacje wynosi 55 000,00 zł." in sentences
    assert "spółdzielnia socjalna" in whole and "w likwidacji" in whole
    assert "Inicjatywa DL" in whole and "co najmniej 3 pełnoletnie osoby" in whole
    assert "na terenie: Tłuszcz, Wołomin." in whole
    assert "ponad 20 000 mieszkańców" in whole and "najwyżej 5 000,00 zł" in whole
    assert "co najmniej 25% dotacji, w tym co najmniej 5% w formie finansowej" in whole
    assert "Projekt trwa od 3 do 6 miesięcy, w okresie od 1 lipca 2025 do 31 grudnia 2025." \
        in sentences
    assert "Wnioski są przyjmowane do 15 maja 2025, 23:59." in sentences
    assert "najwyżej jeden dofinansowany projekt" in whole
    assert "ośmiu kryteriów, najwyżej na 40 pkt" in whole and "do 3 pkt więcej" in whole
    assert "trafia na listę rezerwową" in whole
    assert "Komisja może przyznać mniej, niż wnioskowano" in whole
    other = Call(ref="x", title="x", variant="other", params={})
    assert pm(app).hook.call_rules_summary(call=other) is None


def test_dl_translation_dirs(app):
    dirs = [d for result in pm(app).hook.translation_dirs() for d in result]
    ours = [d for d in dirs if Path(d).parent.name == "dzialaj_lokalnie"]
    assert ours and (Path(ours[0]) / "uk" / "LC_MESSAGES" / "messages.po").exists()


def test_the_variant_is_registered(app):
    assert "dzialaj_lokalnie" in pm(app).variants
    with app.test_request_context():
        assert str(pm(app).variants["dzialaj_lokalnie"].label) == "Działaj Lokalnie"


# --- the call's parameters form ---------------------------------------------------------------

FORM_DATA = {
    "deadline": "2025-05-15", "pool": "55 000,00", "amount_min": "", "amount_max": "6000",
    "contribution_total_percent": "25", "contribution_financial_percent": "5",
    "duration_min_months": "3", "duration_max_months": "6",
    "window_start": "2025-07-01", "window_end": "2025-12-31",
    "eligible_gminas": "Tłuszcz\nWołomin\n wołomin\n", "large_town_population": "20 000",
    "large_town_pool": "5000", "one_grant_per_realizer": "y",
    "excluded_legal_forms": ["social_cooperative", "local_action_group"],
    "min_group_members": "3", "stage1_max_points": "40",
    **{f"points_c{n}": "5" for n in range(1, 9)}, "newcomer_points": "0",
    "stage1_pass_mark": "", "cutoff_policy": "SKIP_TO_FIT", "operator_staff": "",
    "forbidden_categories": ["loans", "alcohol"],
}


def params_form(app, **changes):
    form_class = pm(app).hook.call_params_form(variant="dzialaj_lokalnie")
    data = MultiDict()
    for key, value in {**FORM_DATA, **changes}.items():
        for item in (value if isinstance(value, list) else [value]):
            data.add(key, item)
    with app.test_request_context():
        form = form_class(formdata=data, meta={"csrf": False})
        return form, form.validate()


def test_call_params_form_to_params(app):
    form, ok = params_form(app)
    assert ok, form.errors
    with app.test_request_context():
        params = form.to_params()
    assert params["pool"] == "55000.00" and "amount_min" not in params
    assert params["eligible_gminas"] == ["Tłuszcz", "Wołomin"]
    assert params["large_town_population"] == 20000 and params["large_town_pool"] == "5000.00"
    assert params["excluded_legal_forms"] == ["social_cooperative", "local_action_group"]
    assert params["criteria_points"] == {f"c{n}": 5 for n in range(1, 9)}
    assert params["newcomer_points"] == 0 and params["one_grant_per_realizer"] is True
    assert params["window_start"] == "2025-07-01" and params["deadline"] == "2025-05-15"
    assert params["forbidden_categories"] == ["alcohol", "loans"]


def test_excluded_legal_forms_offer_every_legal_form_the_platform_knows(app):
    from core.applicants.models import LEGAL_FORMS

    form, _ = params_form(app)
    assert [c.value for c in form.excluded_legal_forms.choices] == list(LEGAL_FORMS)
    with app.test_request_context():
        labels = {c.value: str(c.label) for c in form.excluded_legal_forms.choices}
    assert labels["rural_housewives_circle"] == "Koło gospodyń wiejskich"


def test_call_params_form_round_trip_and_defaults(app):
    form_class = pm(app).hook.call_params_form(variant="dzialaj_lokalnie")
    form, _ = params_form(app, newcomer_points="4", points_c8="1")
    with app.test_request_context():
        assert form.validate(), form.errors
        params = form.to_params()
        again = form_class(formdata=None, meta={"csrf": False})
        again.from_params(params)
        assert again.to_params() == params
        defaults = form_class(formdata=None, meta={"csrf": False})
        defaults.from_params({})
        assert defaults.pool.data == D("55000.00") and defaults.points_c1.data == 5
        assert defaults.cutoff_policy.data == "SKIP_TO_FIT"
        assert defaults.excluded_legal_forms.data == list(rules.EXCLUDED_LEGAL_FORMS)


@pytest.mark.parametrize("changes,field,message", [
    ({"points_c1": "6"}, "stage1_max_points",
     "Punkty ośmiu kryteriów i preferencji dają razem 41, a nie maksymalną liczbę punktów"),
    ({"newcomer_points": "2"}, "stage1_max_points", "dają razem 42"),
    ({"contribution_financial_percent": "30"}, "contribution_financial_percent",
     "Wkład finansowy jest częścią całego wkładu"),
    ({"duration_min_months": "7"}, "duration_max_months",
     "Najdłuższy projekt nie może być krótszy niż najkrótszy."),
    ({"window_start": "2026-01-01"}, "window_end",
     "Dzień zakończenia projektów nie może być wcześniejszy"),
    ({"eligible_gminas": " \n"}, "eligible_gminas",
     "Podaj co najmniej jedną gminę objętą konkursem."),
    ({"large_town_pool": "60000"}, "large_town_pool",
     "Pula dla dużych miejscowości jest częścią puli"),
    ({"amount_min": "7000"}, "amount_max", "Najwyższa dotacja nie może być niższa"),
    ({"stage1_pass_mark": "41"}, "stage1_pass_mark", "Próg punktowy nie może przekraczać"),
    ({"contribution_total_percent": "120"}, "contribution_total_percent",
     "Podaj wartość procentową od 0 do 100."),
    ({"large_town_population": "dużo"}, "large_town_population", ""),
])
def test_call_params_form_errors_name_the_field(app, changes, field, message):
    form, ok = params_form(app, **changes)
    assert not ok
    assert form[field].errors and any(message in str(m) for m in form[field].errors), \
        form.errors


def test_params_survive_the_calls_form_check(app):
    """core.calls.forms re-checks stored parameters as if typed again (on publishing)."""
    from core.calls.forms import params_errors

    params = {**pm(app).hook.default_params(variant="dzialaj_lokalnie"),
              "eligible_gminas": ["Tłuszcz", "Wołomin"]}
    with app.test_request_context():
        assert params_errors("dzialaj_lokalnie", params) == {}
        assert params_errors("dzialaj_lokalnie", DL_PARAMS) == {}
        assert "eligible_gminas" in params_errors("dzialaj_lokalnie",
                                                  {**params, "eligible_gminas": []})


def test_dl_imports_only_from_the_toolkit():
    """Of core, the plugin imports only core.plugins.toolkit."""
    import ast

    package = Path(rules.__file__).resolve().parent
    for path in package.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                     [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level
                     else [])
            for name in names:
                if name == "core" or name.startswith("core."):
                    assert name == "core.plugins.toolkit", f"{path.name} imports {name}"


# --- allocation: the large-town pool and one grant per realizer (imported editions) -------

def _edition(applications, **params):
    """The worked edition with other applications (and every card 32 points unless the
    application names ``points``), for allocation cases."""
    doc = json.loads(SCENARIO.read_text("utf-8"))
    doc = copy.deepcopy(doc)
    doc["call"]["params"].update(params)
    doc["expected"] = {}
    base = next(a for a in doc["applications"] if a["ref"] == "D1")
    doc["applications"], doc["evaluations"] = [], []
    for n, spec in enumerate(applications):
        spec = dict(spec)
        requested = D(spec.pop("requested"))
        points = spec.pop("points", 32 - n)
        population = spec.pop("population", 6200)
        item = copy.deepcopy(base)
        item.update({"ref": spec.pop("ref"), "title": f"Projekt {n}",
                     "requested": f"{requested:.2f}",
                     "budget": [{"category": "materials", "item": "Materiały",
                                 "amount": f"{requested:.2f}"}],
                     "contribution": {"financial": _up(requested / 20),
                                      "volunteer": _up(requested / 5)},
                     "place": {"gmina": spec.pop("gmina", "Brzozowo"),
                               "population": population},
                     "submitted_at": f"2025-05-0{1 + n % 9}T10:00:00+02:00"})
        item.update(spec)
        doc["applications"].append(item)
        for evaluator in ("KG1", "KG2"):
            doc["evaluations"].append({"application": item["ref"], "stage": 1,
                                       "evaluator": evaluator, "points": points})
    return doc


def _up(amount: Decimal) -> str:
    from decimal import ROUND_CEILING

    return f"{amount.quantize(D('0.01'), rounding=ROUND_CEILING)}"


def _results(app, create_tenant, doc):
    from core.db import db, tenant_scope
    from core.interchange.operations import call_results, import_call
    from core.tenancy.models import Tenant

    create_tenant("dolina", variants=["dzialaj_lokalnie"])
    with app.app_context():
        tenant = db.session.execute(db.select(Tenant).where(Tenant.slug == "dolina")
                                    ).scalar_one()
        with tenant_scope(tenant):
            found = call_results(import_call(doc, tenant))
            db.session.commit()
    return found["applications"], found


def test_the_worked_edition(app, create_tenant):
    doc = json.loads(SCENARIO.read_text("utf-8"))
    found, whole = _results(app, create_tenant, doc)
    assert whole["ranking"] == doc["expected"]["ranking"]
    assert found["D9"]["status"] == "reserve" and found["D9"]["rules"] == ["pool.area_quota"]
    assert found["D7"] == {"status": "excluded", "rank": 5, "score": "30.00",
                           "rules": ["realizer.already_funded"]}


def test_a_town_of_exactly_the_threshold_is_not_large(app, create_tenant):
    """``place.population`` strictly greater than ``large_town_population`` is large."""
    found, _ = _results(app, create_tenant, _edition([
        {"ref": "TX1", "applicant": "SM", "requested": "5000.00", "population": 20001,
         "gmina": "Miasto Duże"},
        {"ref": "TX2", "applicant": "KM", "requested": "3000.00", "population": 20000,
         "gmina": "Miasto Duże"},
        {"ref": "TX3", "applicant": "FM", "requested": "3000.00", "population": 20001,
         "gmina": "Miasto Duże"},
    ]))
    assert found["TX1"]["status"] == "funded"      # fills the large-town pool of 5 000 zł
    assert found["TX2"]["status"] == "funded"      # 20 000: not a large town, the main pool
    assert found["TX3"]["status"] == "reserve" and found["TX3"]["rules"] == ["pool.area_quota"]


def test_the_large_town_pool_is_filled_to_the_grosz(app, create_tenant):
    found, whole = _results(app, create_tenant, _edition([
        {"ref": "TX1", "applicant": "SM", "requested": "2999.99", "population": 40350},
        {"ref": "TX2", "applicant": "KM", "requested": "2000.01", "population": 40350},
        {"ref": "TX3", "applicant": "FM", "requested": "1000.00", "population": 40350},
        {"ref": "TX4", "applicant": "KS", "requested": "1000.00", "population": 8100},
    ]))
    assert [found[r]["status"] for r in ("TX1", "TX2", "TX3", "TX4")] == [
        "funded", "funded", "reserve", "funded"]
    assert found["TX3"]["rules"] == ["pool.area_quota"]
    assert whole["allocated"] == "6000.00"


def test_a_grosz_over_the_large_town_pool_waits_in_reserve(app, create_tenant):
    found, _ = _results(app, create_tenant, _edition([
        {"ref": "TX1", "applicant": "SM", "requested": "3000.00", "population": 40350},
        {"ref": "TX2", "applicant": "KM", "requested": "2000.01", "population": 40350},
        {"ref": "TX3", "applicant": "FM", "requested": "2000.00", "population": 40350},
    ]))
    assert [found[r]["status"] for r in ("TX1", "TX2", "TX3")] == ["funded", "reserve", "funded"]
    assert found["TX2"]["reserve_position"] == 1 and found["TX2"]["rules"] == ["pool.area_quota"]


def test_one_grant_per_realizer(app, create_tenant):
    """An organisation's second project is excluded; its groups' projects are not."""
    found, _ = _results(app, create_tenant, _edition([
        {"ref": "A1", "applicant": "R1", "requested": "3000.00"},
        {"ref": "A2", "applicant": "R1", "requested": "3000.00"},
        {"ref": "A3", "applicant": "R1", "realizer": "GM", "requested": "3000.00"},
        {"ref": "A4", "applicant": "BL", "realizer": "GT", "requested": "3000.00",
         "gmina": "Lipiny"},
        {"ref": "A5", "applicant": "BL", "realizer": "GT", "requested": "3000.00",
         "gmina": "Lipiny"},
    ]))
    assert [found[r]["status"] for r in ("A1", "A2", "A3", "A4", "A5")] == [
        "funded", "excluded", "funded", "funded", "excluded"]
    assert found["A2"]["rules"] == ["realizer.already_funded"]


def test_without_one_grant_per_realizer_both_are_funded(app, create_tenant):
    found, _ = _results(app, create_tenant, _edition([
        {"ref": "A1", "applicant": "R1", "requested": "3000.00"},
        {"ref": "A2", "applicant": "R1", "requested": "3000.00"},
    ], one_grant_per_realizer=False))
    assert [found[r]["status"] for r in ("A1", "A2")] == ["funded", "funded"]


def test_skip_to_fit_funds_lower_projects_that_fit(app, create_tenant):
    found, whole = _results(app, create_tenant, _edition([
        {"ref": "A1", "applicant": "R1", "requested": "6000.00"},
        {"ref": "A2", "applicant": "KS", "requested": "6000.00", "gmina": "Lipiny"},
        {"ref": "A3", "applicant": "FM", "requested": "6000.00"},
        {"ref": "A4", "applicant": "KM", "requested": "5000.00"},
        {"ref": "A5", "applicant": "SM", "requested": "3000.00"},
    ], pool="20000.00"))
    assert [found[r]["status"] for r in ("A1", "A2", "A3", "A4", "A5")] == [
        "funded", "funded", "funded", "reserve", "reserve"]
    found, _ = _results_again(app, _edition([
        {"ref": "SX1", "applicant": "R1", "requested": "6000.00"},
        {"ref": "SX2", "applicant": "KS", "requested": "6000.00", "gmina": "Lipiny"},
        {"ref": "SX3", "applicant": "FM", "requested": "5000.00"},
        {"ref": "SX4", "applicant": "KM", "requested": "2000.00"},
    ], pool="15000.00"))
    assert [found[r]["status"] for r in ("SX1", "SX2", "SX3", "SX4")] == [
        "funded", "funded", "reserve", "funded"]


def _results_again(app, doc):
    """A second edition in the same tenant (a call of its own reference)."""
    from core.db import db, tenant_scope
    from core.interchange.operations import call_results, import_call
    from core.tenancy.models import Tenant

    doc["call"]["ref"] = "dl-dolina-rzeki-2025-b"
    with app.app_context():
        tenant = db.session.execute(db.select(Tenant).where(Tenant.slug == "dolina")
                                    ).scalar_one()
        with tenant_scope(tenant):
            found = call_results(import_call(doc, tenant))
            db.session.commit()
    return found["applications"], found
