"""The ``lpm`` variant: each of its rules passes and fails, and its hooks answer for its calls.

Rules are judged through the engine (``check_application`` of every plugin: core's shared
rules and the variant's own), so what a call of the variant really asks is tested.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from rules_facts import alone, application, call, group, institution, ngo, person, warsaw
from werkzeug.datastructures import MultiDict

from core.calls.models import Call
from core.rules import CheckContext
from core.rules.engine import check_facts
from plugins.lpm import rules

D = Decimal


@pytest.fixture(autouse=True)
def polish(app):
    with app.app_context():
        yield


def judge(app_, others=(), **params):
    return check_facts(call(**params), app_, CheckContext(others=list(others)))


def ids(violations):
    return sorted({v.rule_id for v in violations})


def text(violations, rule_id):
    return " ".join(v.message for v in violations if v.rule_id == rule_id).replace("\xa0", " ")


def valid(**values):
    """A patron NGO applying for a group: breaks nothing."""
    values.setdefault("applicant", ngo("P1", board=[person("B1")]))
    values.setdefault("realizer", group("G1"))
    return application(**values)


# --- passing ----------------------------------------------------------------------------

def test_a_valid_application_breaks_nothing():
    assert judge(valid()) == []
    assert judge(application(applicant=ngo("N1"))) == []


def test_other_variants_get_no_lpm_rules(app):
    pm = app.extensions["mikrogranty.plugins"]
    from plugins.lpm import plugin

    wrong = application(applicant=alone(), requested="90000.00",
                        budget=[("materials", "m", "90000.00")])
    assert plugin.check_application(call=call(variant="other"), application=wrong,
                                    context=CheckContext()) == []
    assert "lpm" in {pm.get_name(i.plugin) for i in pm.hook.check_application.get_hookimpls()}


# --- who applies ------------------------------------------------------------------------

@pytest.mark.parametrize("applicant,realizer,mode", [
    (alone(), None, "standard"),                 # a person alone
    (institution(), None, "standard"),           # a public institution
    (institution(), group("G1"), "standard"),    # a public institution as patron
    (ngo(), ngo("N2"), "standard"),              # an NGO for another NGO
    (ngo(), group("G1"), "dl_initiative"),       # the DL Initiative is not LPM's
])
def test_applicant_kind_not_allowed(applicant, realizer, mode):
    found = judge(application(applicant=applicant, realizer=realizer, mode=mode))
    assert "applicant.kind_not_allowed" in ids(found)
    assert "organizacja pozarządowa" in text(found, "applicant.kind_not_allowed")


def test_group_needs_a_patron():
    found = judge(application(applicant=group("G1")))
    assert ids(found) == ["group.patron_required"]
    assert "patrona" in text(found, "group.patron_required")
    assert judge(application(applicant=group("G1")), group_requires_patron=False) == []


# --- amounts ----------------------------------------------------------------------------

def test_amount_limits():
    assert ids(judge(valid(requested="999.00", budget=[("materials", "m", "999.00")]))) == [
        "amount.below_min"]
    assert ids(judge(valid(requested="4000.01",
                           budget=[("materials", "m", "4000.01")]))) == ["amount.above_max"]
    assert judge(valid(requested="1000.00", budget=[("materials", "m", "1000.00")])) == []


def test_young_ngo_may_ask_for_more():
    young = ngo("N2", registered_on=dt.date(2024, 1, 15), revenue="8200.00")
    app_ = application(applicant=young, requested="5000.00", claims_young_ngo=True,
                       budget=[("admin", "a", "400.00"), ("materials", "m", "4600.00")],
                       submitted=warsaw(2025, 3, 14, 18, 30))
    assert judge(app_) == []
    too_much = application(applicant=young, requested="5000.01", claims_young_ngo=True,
                           budget=[("materials", "m", "5000.01")])
    found = judge(too_much)
    assert ids(found) == ["amount.above_max"]
    assert "Młoda organizacja może wnioskować najwyżej o 5 000,00 zł" in text(
        found, "amount.above_max")


def test_a_failed_young_ngo_claim_leaves_the_standard_limit():
    old = ngo("N2", registered_on=dt.date(2015, 1, 15), revenue="8200.00")
    app_ = application(applicant=old, requested="4500.00", claims_young_ngo=True,
                       budget=[("materials", "m", "4500.00")])
    assert ids(judge(app_)) == ["amount.above_max", "applicant.young_ngo_not_eligible"]
    rich = ngo("N3", registered_on=dt.date(2024, 1, 15), revenue="30000.00")
    within = application(applicant=rich, requested="4000.00", claims_young_ngo=True,
                         budget=[("materials", "m", "4000.00")])
    assert ids(judge(within)) == ["applicant.young_ngo_not_eligible"]


def test_admin_share():
    assert ids(judge(valid(requested="3500.00", budget=[("admin", "a", "350.01"),
                                                        ("materials", "m", "3149.99")]))) == [
        "budget.admin_share"]
    assert judge(valid(requested="3500.00", budget=[("admin", "a", "350.00"),
                                                    ("materials", "m", "3150.00")])) == []


def test_forbidden_costs_by_default_every_forbidden_category():
    app_ = valid(requested="3000.00", budget=[("materials", "m", "2000.00"),
                                              ("fixed_assets", "Laptop", "1000.00")])
    found = judge(app_)
    assert ids(found) == ["budget.ineligible_cost"]
    assert judge(app_, forbidden_categories=["alcohol"]) == []


def test_budget_must_add_up():
    assert ids(judge(valid(requested="4000.00", budget=[("materials", "m", "3000.00")]))) == [
        "budget.sum_mismatch"]


# --- place and dates -------------------------------------------------------------------

def test_realization_window():
    assert ids(judge(valid(start=dt.date(2025, 4, 30)))) == ["duration.outside_window"]
    assert ids(judge(valid(end=dt.date(2025, 11, 16)))) == ["duration.outside_window"]
    assert judge(valid(start=dt.date(2025, 5, 1), end=dt.date(2025, 11, 15))) == []


def test_territory():
    found = judge(valid(place={"gmina": "Kraków"}))
    assert ids(found) == ["applicant.territory"]
    assert "Lipiny" in text(found, "applicant.territory")


def test_late_submission():
    assert ids(judge(valid(submitted=warsaw(2025, 4, 1, 0, 0, 1)))) == ["submission.late"]
    assert judge(valid(submitted=warsaw(2025, 3, 31, 23, 59, 59))) == []


# --- people -----------------------------------------------------------------------------

def test_group_of_three_adults():
    minor = person("m", dt.date(2010, 1, 1))
    small = group("G1", members=[person("a"), person("b"), minor])
    found = judge(valid(realizer=small))
    assert ids(found) == ["applicant.under_age", "group.too_few_members"]


def test_operator_staff_may_not_take_part():
    staff = person("E1", name="Robert Król")
    found = judge(valid(realizer=group("G1", members=[person("a"), person("b"), staff])))
    assert ids(found) == ["applicant.conflict_of_interest"]
    assert "Robert Król" in text(found, "applicant.conflict_of_interest")


def test_patron_board_member_in_the_group():
    board = person("B1")
    found = judge(valid(realizer=group("G1", members=[person("a"), person("b"), board])))
    assert ids(found) == ["group.patron_board_member"]


# --- across applications ----------------------------------------------------------------

def test_one_project_per_realizer():
    club = ngo("N1")
    first = application("A2", club, submitted=warsaw(2025, 3, 10, 10))
    later = application("A7", club, submitted=warsaw(2025, 3, 20, 11))
    assert judge(first, [later]) == []
    assert ids(judge(later, [first])) == ["applicant.duplicate_application"]


def test_a_patron_may_apply_for_several_groups():
    patron = ngo("P1")
    a = valid(ref="A1", applicant=patron, realizer=group("G1"))
    b = valid(ref="A4", applicant=patron, realizer=group("G2"), submitted=warsaw(2025, 3, 15))
    assert judge(b, [a]) == []


def test_a_person_in_two_groups_rejects_both():
    shared = person("X")
    a = valid(ref="A1", applicant=ngo("P1"),
              realizer=group("G1", members=[person("a"), person("b"), shared]))
    b = valid(ref="A2", applicant=ngo("P2"),
              realizer=group("G2", members=[shared, person("c"), person("d")]),
              submitted=warsaw(2025, 3, 20))
    assert ids(judge(a, [b])) == ["group.member_in_other_group"]
    assert ids(judge(b, [a])) == ["group.member_in_other_group"]


# --- pure rules -------------------------------------------------------------------------

def test_allowed_options():
    assert rules.allowed_options({}) == [("ngo", None, "standard"), ("ngo", "group", "standard")]
    assert ("group", None, "standard") in rules.allowed_options({"group_requires_patron": False})


def test_rules_alone_leave_the_shared_ones_to_core():
    late = valid(submitted=warsaw(2025, 4, 2))
    assert rules.check(call(), late, CheckContext()) == []


# --- hooks ------------------------------------------------------------------------------

def pm(app):
    return app.extensions["mikrogranty.plugins"]


def test_default_params(app):
    params = pm(app).hook.default_params(variant="lpm")
    assert params["amount_min"] == "1000.00" and params["amount_max"] == "4000.00"
    assert params["young_ngo_amount_max"] == "5000.00"
    assert params["young_ngo_max_age_months"] == 30
    assert params["young_ngo_max_revenue"] == "25000.00"
    assert params["admin_max_percent"] == 10 and params["min_group_members"] == 3
    assert params["pool"] == "38000.00" and params["operator_fee_percent"] == 20
    assert params["group_requires_patron"] is True and params["cutoff_policy"] == "STOP"
    assert "alcohol" in params["forbidden_categories"]
    assert pm(app).hook.default_params(variant="unknown") is None


FORM_DATA = {
    "deadline": "2025-03-31", "pool": "", "municipality_budget": "15 000,00",
    "operator_fee_percent": "20", "amount_min": "1000", "amount_max": "4000",
    "young_ngo_amount_max": "5000", "young_ngo_max_age_months": "30",
    "young_ngo_max_revenue": "25000", "admin_max_percent": "10", "min_group_members": "3",
    "group_requires_patron": "y", "eligible_gminas": "Dębowa Wola\n\n dębowa wola\nLipiny",
    "realization_start": "2025-05-01", "realization_end": "2025-11-15",
    "stage1_max_points": "18", "stage1_pass_mark": "13", "stage2": "y",
    "stage2_max_points": "12", "cutoff_policy": "STOP", "operator_staff": "E1\nE2",
    "forbidden_categories": ["alcohol", "fixed_assets"],
}


def params_form(app, **changes):
    form_class = pm(app).hook.call_params_form(variant="lpm")
    data = MultiDict()
    for key, value in {**FORM_DATA, **changes}.items():
        for item in (value if isinstance(value, list) else [value]):
            data.add(key, item)
    with app.test_request_context():
        form = form_class(formdata=data, meta={"csrf": False})
        valid_ = form.validate()
        return form, valid_


def test_call_params_form_to_params(app):
    form, ok = params_form(app)
    assert ok, form.errors
    with app.test_request_context():
        params = form.to_params()
    assert params["municipality_budget"] == "15000.00" and "pool" not in params
    assert params["operator_fee_percent"] == 20 and params["admin_max_percent"] == 10
    assert params["eligible_gminas"] == ["Dębowa Wola", "Lipiny"]
    assert params["deadline"] == "2025-03-31" and params["realization_end"] == "2025-11-15"
    assert params["stage1_pass_mark"] == "13.00" and params["stage2_max_points"] == 12
    assert params["operator_staff"] == ["E1", "E2"]
    assert params["forbidden_categories"] == ["fixed_assets", "alcohol"]


def test_call_params_form_round_trip(app):
    form_class = pm(app).hook.call_params_form(variant="lpm")
    form, _ = params_form(app)
    with app.test_request_context():
        params = form.to_params()
        again = form_class(formdata=None, meta={"csrf": False})
        again.from_params(params)
        assert again.to_params() == params
        defaults = form_class(formdata=None, meta={"csrf": False})
        defaults.from_params({})
        assert defaults.amount_max.data == D("4000.00") and defaults.pool.data == D("38000.00")


@pytest.mark.parametrize("changes,field,message", [
    ({"amount_min": "5000"}, "amount_max",
     "Najwyższy mikrogrant nie może być niższy niż najniższy."),
    ({"young_ngo_amount_max": "3000"}, "young_ngo_amount_max",
     "Najwyższy mikrogrant dla młodej organizacji nie może być niższy niż najwyższy mikrogrant."),
    ({"realization_start": "2025-12-01"}, "realization_end",
     "Dzień zakończenia projektów nie może być wcześniejszy niż dzień ich rozpoczęcia."),
    ({"municipality_budget": ""}, "pool",
     "Podaj pulę albo budżet gminy i koszt obsługi operatora."),
    ({"pool": "12000"}, "pool", "Podaj pulę albo budżet gminy, nie oba naraz."),
    ({"operator_fee_percent": "120"}, "operator_fee_percent",
     "Podaj wartość procentową od 0 do 100."),
    ({"admin_max_percent": "-1"}, "admin_max_percent", "Podaj wartość procentową od 0 do 100."),
    ({"eligible_gminas": "  \n"}, "eligible_gminas",
     "Podaj co najmniej jedną gminę, w której realizowane są projekty."),
    ({"stage1_pass_mark": "19"}, "stage1_pass_mark",
     "Próg punktowy nie może przekraczać maksymalnej liczby punktów I etapu."),
    ({"amount_max": "cztery tysiące"}, "amount_max", "Wpisz kwotę w złotych"),
])
def test_call_params_form_errors_name_the_field(app, changes, field, message):
    form, ok = params_form(app, **changes)
    assert not ok
    assert any(message in str(m) for m in form[field].errors), form.errors


def test_call_rules_summary(app):
    params = {**pm(app).hook.default_params(variant="lpm"),
              "eligible_gminas": ["Lubochnia"], "deadline": "2020-03-31",
              "realization_start": "2020-05-01", "realization_end": "2020-11-15",
              "stage1_pass_mark": "13.00"}
    the_call = Call(ref="lpm-2020", title="LPM", variant="lpm", params=params,
                    pool=D("38000.00"))
    with app.test_request_context():
        sentences = [s.replace("\xa0", " ") for s in
                     pm(app).hook.call_rules_summary(call=the_call)]
    whole = " ".join(sentences)
    assert "Mikrogrant wynosi od 1 000,00 zł do 4 000,00 zł." in sentences
    assert "30 miesięcy" in whole and "5 000,00 zł" in whole and "25 000,00 zł" in whole
    assert "Pula środków na mikrogranty wynosi 38 000,00 zł." in sentences
    assert "Wnioski są przyjmowane do 31 marca 2020, 23:59." in sentences
    assert "Projekty są realizowane na terenie: Lubochnia." in sentences
    assert "10% dotacji" in whole and "co najmniej 13 pkt" in whole
    assert "co najmniej 3 pełnoletnie osoby" in whole
    other = Call(ref="x", title="x", variant="other", params={})
    assert pm(app).hook.call_rules_summary(call=other) is None


def test_pool_presets_are_the_offer(app):
    with app.test_request_context():
        presets = pm(app).hook.pool_presets(variant="lpm")
        labels = [str(label).replace("\xa0", " ") for label, _ in presets]
    budgets = [params["municipality_budget"] for _, params in presets]
    assert budgets == ["100000.00", "50000.00", "30000.00", "15000.00"]
    assert all(params["operator_fee_percent"] == 20 for _, params in presets)
    assert "100 000,00 zł od gminy: pula 80 000,00 zł na 16–20 projektów" in labels[0]
    assert "na 4–7 projektów" in labels[3]
    assert pm(app).hook.pool_presets(variant="other") is None


def test_applicant_kinds(app):
    the_call = Call(ref="x", title="x", variant="lpm", params={"min_group_members": 3})
    with app.test_request_context():
        options = pm(app).hook.applicant_kinds(call=the_call)
        labels = [str(o.label) for o in options]
    assert [(o.applicant_kind, o.realizer_kind, o.mode) for o in options] == [
        ("ngo", None, "standard"), ("ngo", "group", "standard")]
    assert "co najmniej 3 pełnoletnie osoby" in labels[1]


def test_application_form_adds_lpm_fields(app):
    from flask_wtf import FlaskForm

    the_call = Call(ref="x", title="x", variant="lpm",
                    params={"eligible_gminas": ["Dębowa Wola", "Lipiny"]})
    with app.test_request_context():
        steps = [s for result in pm(app).hook.application_form(call=the_call) or []
                 for s in (result or [])]
        assert [s.step for s in steps] == ["project"]
        fields = steps[0].fields
        assert set(fields) == {"place_gmina", "project_type"}
        form_class = type("F", (FlaskForm,), dict(fields))
        form = form_class(formdata=MultiDict({"place_gmina": "Kraków", "project_type": "ecology"}),
                          meta={"csrf": False})
        assert not form.validate()
        assert form.place_gmina.errors and not form.project_type.errors
        assert str(form.place_gmina.label.text) == "Gmina, w której projekt będzie realizowany"
        # A blank first choice: a list must not look answered before anybody chose.
        assert [c.value for c in form.place_gmina.choices] == ["", "Dębowa Wola", "Lipiny"]
        assert form.project_type.choices[0].value == ""
        assert str(form.project_type.choices[0].label) == "— wybierz —"
    other = Call(ref="y", title="y", variant="other", params={})
    assert pm(app).hook.application_form(call=other) in ([], [None])


def test_lpm_imports_only_from_the_toolkit():
    """Of core, the plugin imports only core.plugins.toolkit."""
    import ast
    from pathlib import Path

    package = Path(rules.__file__).resolve().parent
    for path in package.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                     [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level
                     else [])
            for name in names:
                if name == "core" or name.startswith("core."):
                    assert name == "core.plugins.toolkit", f"{path.name} imports {name}"


def test_lpm_translation_dirs(app):
    from pathlib import Path

    dirs = [d for result in app.extensions["mikrogranty.plugins"].hook.translation_dirs()
            for d in result]
    lpm = [d for d in dirs if Path(d).parent.name == "lpm"]
    assert lpm and (Path(lpm[0]) / "pl" / "LC_MESSAGES" / "messages.po").exists()


def test_params_survive_the_calls_form_check(app):
    """core.calls.forms re-checks stored parameters as if typed again."""
    from core.calls.forms import params_errors

    params = {**pm(app).hook.default_params(variant="lpm"),
              "eligible_gminas": ["Dębowa Wola", "Lipiny"], "operator_staff": ["E1", "E2"]}
    with app.test_request_context():
        assert params_errors("lpm", params) == {}
        form = pm(app).hook.call_params_form(variant="lpm")(
            formdata=MultiDict([("eligible_gminas", "Dębowa Wola"), ("eligible_gminas", "Lipiny")]),
            meta={"csrf": False})
        assert form.eligible_gminas.data == ["Dębowa Wola", "Lipiny"]
        bad = {**params, "amount_min": "5000.00"}
        assert "amount_max" in params_errors("lpm", bad)
