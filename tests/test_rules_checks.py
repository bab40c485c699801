"""The shared checks of the rule engine, as pure functions, at their boundaries.

Each reading is DOMAIN.md's "fine print": deadlines at 23:59:59 Warsaw time, month
arithmetic that clamps, ages on the Warsaw date, 29 February birthdays, caps rounded
down and minimums rounded up to the grosz.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from rules_facts import (alone, application, group, institution, ngo, person, warsaw)

from core.rules import CheckContext, Violation, checks
from core.rules.engine import deadline_instant, pool_from_params, rule_ids, sort_violations
from core.rules.values import add_months, lasts_at_least, lasts_at_most

D = Decimal
UTC = dt.timezone.utc


@pytest.fixture(autouse=True)
def polish(app):
    """Messages in the default language (Polish), as a command or a job sees them."""
    with app.app_context():
        yield


def ids(violations):
    return [v.rule_id for v in violations]


def text(violation):
    """The message with ordinary spaces (money and dates use non-breaking ones)."""
    return violation.message.replace("\xa0", " ").replace("\u202f", " ")


# --- time ------------------------------------------------------------------------------

def test_deadline_is_23_59_59_warsaw_in_utc():
    assert deadline_instant("2025-01-31") == dt.datetime(2025, 1, 31, 22, 59, 59, tzinfo=UTC)
    # Summer time from 30 March 2025: UTC+2
    assert deadline_instant("2025-03-31") == dt.datetime(2025, 3, 31, 21, 59, 59, tzinfo=UTC)
    assert deadline_instant(None) is None


def test_the_last_second_is_on_time_and_midnight_is_late():
    deadline = deadline_instant("2025-03-31")
    on_time = application(submitted=warsaw(2025, 3, 31, 23, 59, 59))
    late = application(submitted=warsaw(2025, 4, 1, 0, 0, 0))
    assert checks.check_late(on_time, deadline) == []
    found = checks.check_late(late, deadline)
    assert ids(found) == ["submission.late"]
    assert found[0].field == "submitted_at"
    assert "po terminie" in text(found[0])
    assert "1 kwietnia 2025, 00:00:00" in text(found[0])
    assert "31 marca 2025, 23:59:59" in text(found[0])


def test_lateness_is_judged_on_the_instant_whatever_the_offset():
    deadline = deadline_instant("2025-03-31")
    same_second_in_utc = application(submitted=dt.datetime(2025, 3, 31, 21, 59, 59, tzinfo=UTC))
    next_second = application(submitted=dt.datetime(2025, 3, 31, 23, 0, 0,
                                                     tzinfo=dt.timezone(dt.timedelta(hours=1))))
    assert checks.check_late(same_second_in_utc, deadline) == []
    assert ids(checks.check_late(next_second, deadline)) == ["submission.late"]


def test_a_draft_is_judged_as_of_now():
    draft = application(submitted=None)
    draft = draft.__class__(**{**draft.__dict__, "submitted_at": None})
    deadline = deadline_instant("2025-03-31")
    assert checks.check_late(draft, deadline, CheckContext(now=warsaw(2025, 3, 30, 12))) == []
    assert ids(checks.check_late(draft, deadline, CheckContext(now=warsaw(2025, 4, 2)))) == [
        "submission.late"]


# --- money -----------------------------------------------------------------------------

def test_amount_limits_are_inclusive():
    assert checks.check_amount(application(requested="1000.00"), "1000.00", "4000.00") == []
    assert checks.check_amount(application(requested="4000.00"), "1000.00", "4000.00") == []
    low = checks.check_amount(application(requested="999.99"), "1000.00", "4000.00")
    high = checks.check_amount(application(requested="4000.01"), "1000.00", "4000.00")
    assert ids(low) == ["amount.below_min"] and ids(high) == ["amount.above_max"]
    assert "co najmniej 1 000,00 zł" in text(low[0]) and "999,99 zł" in text(low[0])
    assert "najwyżej 4 000,00 zł" in text(high[0]) and "4 000,01 zł" in text(high[0])
    assert low[0].field == "requested"


def test_budget_lines_must_add_up_to_the_requested_amount():
    ok = application(requested="4000.00")
    wrong = application(requested="4000.00", budget=[("materials", "x", "3999.99")])
    assert checks.check_budget_sum(ok) == []
    found = checks.check_budget_sum(wrong)
    assert ids(found) == ["budget.sum_mismatch"]
    assert "3 999,99 zł" in text(found[0]) and "4 000,00 zł" in text(found[0])


def test_exactly_ten_percent_admin_passes():
    exact = application(requested="3500.00", budget=[("admin", "Koordynacja", "350.00"),
                                                     ("materials", "m", "3150.00")])
    over = application(requested="3500.00", budget=[("admin", "Koordynacja", "350.01"),
                                                    ("materials", "m", "3149.99")])
    assert checks.check_admin_share(exact, 10) == []
    found = checks.check_admin_share(over, 10)
    assert ids(found) == ["budget.admin_share"]
    assert text(found[0]) == ("Koszty obsługi projektu mogą wynieść najwyżej 10% dotacji "
                              "(350,01 zł z 3 500,00 zł; najwyżej 350,00 zł).")


def test_admin_cap_is_rounded_down_to_the_grosz():
    # 10% of 3 333,33 zł is 333,333 zł: the cap is 333,33 zł
    at_cap = application(requested="3333.33", budget=[("admin", "a", "333.33"),
                                                      ("materials", "m", "3000.00")])
    above = application(requested="3333.33", budget=[("admin", "a", "333.34"),
                                                      ("materials", "m", "2999.99")])
    assert checks.check_admin_share(at_cap, 10) == []
    assert ids(checks.check_admin_share(above, 10)) == ["budget.admin_share"]


def test_admin_lines_are_summed():
    two = application(requested="1000.00", budget=[("admin", "a", "60.00"), ("admin", "b", "50.00"),
                                                   ("materials", "m", "890.00")])
    assert ids(checks.check_admin_share(two, 10)) == ["budget.admin_share"]


def test_each_forbidden_line_is_named():
    app_ = application(requested="1000.00", budget=[("materials", "Farby", "500.00"),
                                                    ("alcohol", "Wino", "300.00"),
                                                    ("fixed_assets", "Laptop", "200.00")])
    found = checks.check_forbidden_categories(app_, ["alcohol", "fixed_assets"])
    assert ids(found) == ["budget.ineligible_cost", "budget.ineligible_cost"]
    assert [v.field for v in found] == ["budget.1.category", "budget.2.category"]
    assert "„Wino”" in text(found[0]) and "napoje alkoholowe" in text(found[0])
    assert checks.check_forbidden_categories(app_, []) == []


def test_contribution_minimums_are_rounded_up_to_the_grosz():
    # 25% of 3 333,33 zł = 833,3325 zł → 833,34 zł; 5% = 166,6665 zł → 166,67 zł
    def with_contribution(financial, volunteer):
        return application(requested="3333.33", budget=[("materials", "m", "3333.33")],
                           contribution={"financial": D(financial), "volunteer": D(volunteer)})

    assert checks.check_contribution(with_contribution("166.67", "666.67"), 25, 5) == []
    short = checks.check_contribution(with_contribution("166.67", "666.66"), 25, 5)
    assert ids(short) == ["contribution.total_share"]
    assert "833,34 zł" in text(short[0])
    financial = checks.check_contribution(with_contribution("166.66", "700.00"), 25, 5)
    assert ids(financial) == ["contribution.financial_share"]
    assert "166,67 zł" in text(financial[0])


def test_the_financial_part_counts_toward_the_total():
    app_ = application(requested="1000.00", budget=[("materials", "m", "1000.00")],
                       contribution={"financial": D("250.00")})
    assert checks.check_contribution(app_, 25, 5) == []


# --- dates ------------------------------------------------------------------------------

def test_month_arithmetic_clamps_to_the_last_day():
    assert add_months(dt.date(2025, 8, 31), 6) == dt.date(2026, 2, 28)
    assert add_months(dt.date(2027, 8, 31), 6) == dt.date(2028, 2, 29)
    assert add_months(dt.date(2025, 1, 31), 1) == dt.date(2025, 2, 28)


@pytest.mark.parametrize("start,end,months", [
    (dt.date(2025, 9, 1), dt.date(2025, 11, 30), 3),
    (dt.date(2025, 7, 1), dt.date(2025, 12, 31), 6),
])
def test_exact_durations(start, end, months):
    assert lasts_at_least(start, end, months) and lasts_at_most(start, end, months)
    assert not lasts_at_least(start, end - dt.timedelta(days=1), months)
    assert not lasts_at_most(start, end + dt.timedelta(days=1), months)


def test_duration_too_short_and_too_long():
    ok = application(start=dt.date(2025, 9, 1), end=dt.date(2025, 11, 30))
    short = application(start=dt.date(2025, 9, 1), end=dt.date(2025, 11, 29))
    long = application(start=dt.date(2025, 7, 1), end=dt.date(2026, 1, 1))
    assert checks.check_duration(ok, 3, 6) == []
    found = checks.check_duration(short, 3, 6)
    assert ids(found) == ["duration.too_short"]
    assert "co najmniej 3 miesiące" in text(found[0]) and "30 listopada 2025" in text(found[0])
    assert ids(checks.check_duration(long, 3, 6)) == ["duration.too_long"]


def test_duration_with_a_clamped_month():
    # From 31 August, 6 months end on 27 February at the latest (31 Aug + 6 = 28 Feb, − 1 day)
    at_most = application(start=dt.date(2025, 8, 31), end=dt.date(2026, 2, 27))
    over = application(start=dt.date(2025, 8, 31), end=dt.date(2026, 2, 28))
    assert checks.check_duration(at_most, None, 6) == []
    assert ids(checks.check_duration(over, None, 6)) == ["duration.too_long"]


def test_an_end_before_the_start_is_too_short():
    found = checks.check_duration(application(start=dt.date(2025, 9, 1), end=dt.date(2025, 8, 1)))
    assert ids(found) == ["duration.too_short"]


def test_window_is_inclusive():
    inside = application(start=dt.date(2025, 5, 1), end=dt.date(2025, 11, 15))
    early = application(start=dt.date(2025, 4, 30), end=dt.date(2025, 11, 15))
    late = application(start=dt.date(2025, 5, 1), end=dt.date(2025, 11, 16))
    assert checks.check_window(inside, "2025-05-01", "2025-11-15") == []
    assert [(v.rule_id, v.field) for v in checks.check_window(early, "2025-05-01", "2025-11-15")] \
        == [("duration.outside_window", "start")]
    assert [(v.rule_id, v.field) for v in checks.check_window(late, "2025-05-01", "2025-11-15")] \
        == [("duration.outside_window", "end")]


# --- people -----------------------------------------------------------------------------

def test_18th_birthday_on_the_submission_day_is_adult():
    birthday = person("K", dt.date(2007, 3, 12))
    day_before = person("K", dt.date(2007, 3, 13))
    on_day = application(applicant=alone(who=birthday), submitted=warsaw(2025, 3, 12, 9))
    before = application(applicant=alone(who=day_before), submitted=warsaw(2025, 3, 12, 9))
    assert checks.check_ages(on_day) == []
    found = checks.check_ages(before)
    assert ids(found) == ["applicant.under_age"]
    assert "musi mieć ukończone 18 lat" in text(found[0])


def test_age_is_decided_on_the_warsaw_date():
    # 22:30 UTC on 14 May is 00:30 on 15 May in Warsaw: the 18th birthday has come
    who = person("K", dt.date(2007, 5, 15))
    app_ = application(applicant=alone(who=who),
                       submitted=dt.datetime(2025, 5, 14, 22, 30, tzinfo=UTC))
    assert checks.check_ages(app_) == []


def test_a_29_february_birthday_counts_from_28_february():
    leapling = person("K", dt.date(2008, 2, 29))
    assert checks.is_adult(leapling, dt.date(2026, 2, 28))
    assert not checks.is_adult(leapling, dt.date(2026, 2, 27))
    app_ = application(applicant=alone(who=leapling), submitted=warsaw(2026, 2, 28, 8))
    assert checks.check_ages(app_) == []


def test_minimum_age_from_the_call():
    who = person("K", dt.date(2005, 1, 1))
    app_ = application(applicant=alone(who=who), submitted=warsaw(2025, 3, 12, 9))
    assert checks.check_ages(app_, 18) == []
    assert ids(checks.check_ages(app_, 21)) == ["applicant.under_age"]


def test_group_size_counts_adults_with_the_representative():
    rep = person("R")
    three = group(members=[person("a"), person("b")], representative=rep)
    assert checks.check_group_size(application(applicant=ngo(), realizer=three)) == []
    minor = person("m", dt.date(2010, 1, 1))
    two_adults = group(members=[rep, person("b"), minor], representative=rep)
    app_ = application(applicant=ngo(), realizer=two_adults)
    found = checks.check_group_size(app_, 3)
    assert ids(found) == ["group.too_few_members"]
    assert found[0].field == "realizer"
    assert "co najmniej 3 pełnoletnie osoby" in text(found[0]) and "liczy 2" in text(found[0])
    assert ids(checks.check_ages(app_)) == ["applicant.under_age"]


def test_group_without_birth_dates_does_not_prove_adults():
    unknown = group(members=[person("a", None), person("b"), person("c")])
    assert ids(checks.check_group_size(application(realizer=unknown, applicant=ngo()))) == [
        "group.too_few_members"]


def test_territory():
    assert checks.check_territory(application(place={"gmina": " lipiny "}), ["Lipiny"]) == []
    found = checks.check_territory(application(place={"gmina": "Brzozowo"}), ["Lipiny", "Wola"])
    assert ids(found) == ["applicant.territory"] and found[0].field == "place.gmina"
    assert "Lipiny, Wola" in text(found[0]) and "Brzozowo" in text(found[0])
    assert ids(checks.check_territory(application(place={}), ["Lipiny"])) == ["applicant.territory"]
    assert checks.check_territory(application(place={}), []) == []


def test_seat_of_an_organisation():
    assert checks.check_seat(application(applicant=ngo(seat="Lipiny")), ["Lipiny"]) == []
    assert ids(checks.check_seat(application(applicant=ngo(seat="Kraków")), ["Lipiny"])) == [
        "applicant.territory"]
    assert checks.check_seat(application(applicant=alone()), ["Lipiny"]) == []


# --- young organisations -------------------------------------------------------------------

def young(registered_on, revenue="8000.00"):
    return ngo("N1", registered_on=registered_on, revenue=revenue)


def test_exactly_30_months_is_still_young():
    # registered 30 Sep 2022 + 30 months = 30 Mar 2025
    on_day = application(applicant=young(dt.date(2022, 9, 30)), claims_young_ngo=True,
                         submitted=warsaw(2025, 3, 30, 23, 59))
    day_after = application(applicant=young(dt.date(2022, 9, 30)), claims_young_ngo=True,
                            submitted=warsaw(2025, 3, 31, 0, 1))
    assert checks.check_young_ngo(on_day, 30, "25000.00") == []
    found = checks.check_young_ngo(day_after, 30, "25000.00")
    assert ids(found) == ["applicant.young_ngo_not_eligible"]
    assert "ponad 30 miesięcy" in text(found[0])


def test_young_ngo_months_clamp():
    # registered 31 Aug 2022 + 30 months = 28 Feb 2025 (clamped)
    eligible = application(applicant=young(dt.date(2022, 8, 31)), claims_young_ngo=True,
                           submitted=warsaw(2025, 2, 28, 12))
    too_old = application(applicant=young(dt.date(2022, 8, 31)), claims_young_ngo=True,
                          submitted=warsaw(2025, 3, 1, 12))
    assert checks.young_ngo_eligible(eligible, 30, "25000.00")
    assert not checks.young_ngo_eligible(too_old, 30, "25000.00")


def test_young_ngo_revenue_limit_is_inclusive():
    at_limit = application(applicant=young(dt.date(2024, 1, 1), "25000.00"), claims_young_ngo=True)
    above = application(applicant=young(dt.date(2024, 1, 1), "25000.01"), claims_young_ngo=True)
    assert checks.check_young_ngo(at_limit, 30, "25000.00") == []
    found = checks.check_young_ngo(above, 30, "25000.00")
    assert ids(found) == ["applicant.young_ngo_not_eligible"]
    assert "25 000,01 zł" in text(found[0])


def test_young_ngo_unclaimed_is_not_checked():
    old = application(applicant=young(dt.date(2000, 1, 1), "99999.00"))
    assert checks.check_young_ngo(old, 30, "25000.00") == []


def test_young_ngo_claimed_by_a_group_fails():
    app_ = application(applicant=group("G9"), claims_young_ngo=True)
    assert ids(checks.check_young_ngo(app_, 30, "25000.00")) == ["applicant.young_ngo_not_eligible"]


# --- across applications ------------------------------------------------------------------

def test_the_earliest_application_of_a_realizer_stands():
    club = ngo("N1")
    first = application("A2", club, submitted=warsaw(2025, 3, 10, 10))
    second = application("A7", club, submitted=warsaw(2025, 3, 20, 11))
    context = CheckContext(others=[first, second])
    assert checks.check_duplicates(first, context) == []
    found = checks.check_duplicates(second, context)
    assert ids(found) == ["applicant.duplicate_application"]
    assert "A2" in text(found[0])


def test_same_instant_duplicates_are_ordered_by_ref():
    club = ngo("N1")
    a = application("A1", club, submitted=warsaw(2025, 3, 10, 10))
    b = application("B1", club, submitted=warsaw(2025, 3, 10, 10))
    context = CheckContext(others=[a, b])
    assert checks.check_duplicates(a, context) == []
    assert ids(checks.check_duplicates(b, context)) == ["applicant.duplicate_application"]


def test_a_patron_applying_for_different_groups_is_no_duplicate():
    patron = ngo("P1")
    for_g1 = application("A1", patron, group("G1"), submitted=warsaw(2025, 3, 12, 9))
    for_g2 = application("A4", patron, group("G2"), submitted=warsaw(2025, 3, 15, 12))
    context = CheckContext(others=[for_g1, for_g2])
    assert checks.check_duplicates(for_g2, context) == []


def test_a_group_applying_twice_through_two_patrons_is_a_duplicate():
    g = group("G1")
    a = application("A1", ngo("P1"), g, submitted=warsaw(2025, 3, 12, 9))
    b = application("A2", ngo("P2"), g, submitted=warsaw(2025, 3, 13, 9))
    assert ids(checks.check_duplicates(b, CheckContext(others=[a]))) == [
        "applicant.duplicate_application"]


def test_the_same_organisation_is_known_by_its_krs():
    a = application("A1", ngo("#1", krs="0000123456"), submitted=warsaw(2025, 3, 12, 9))
    b = application("A2", ngo("#2", krs="0000123456"), submitted=warsaw(2025, 3, 13, 9))
    assert ids(checks.check_duplicates(b, CheckContext(others=[a]))) == [
        "applicant.duplicate_application"]


def test_every_group_sharing_a_member_is_rejected():
    shared = person("X")
    g1 = group("G1", members=[person("a"), person("b"), shared])
    g2 = group("G2", members=[shared, person("c"), person("d")])
    a = application("A1", ngo("P1"), g1, submitted=warsaw(2025, 3, 12))
    b = application("A2", ngo("P2"), g2, submitted=warsaw(2025, 3, 13))
    assert ids(checks.check_member_in_other_group(a, CheckContext(others=[b]))) == [
        "group.member_in_other_group"]
    found = checks.check_member_in_other_group(b, CheckContext(others=[a]))
    assert ids(found) == ["group.member_in_other_group"]
    assert "Osoba X" in text(found[0]) and "Grupa G1" in text(found[0])


def test_the_same_group_twice_is_not_another_group():
    g1 = group("G1")
    a = application("A1", ngo("P1"), g1)
    b = application("A2", ngo("P1"), g1)
    assert checks.check_member_in_other_group(a, CheckContext(others=[b])) == []


def test_patron_board_member_in_its_group():
    board = person("B")
    patron = ngo("P1", board=[board])
    clean = application(applicant=patron, realizer=group("G1"))
    dirty = application(applicant=patron,
                        realizer=group("G2", members=[person("a"), person("b"), board]))
    assert checks.check_patron_board_member(clean) == []
    found = checks.check_patron_board_member(dirty)
    assert ids(found) == ["group.patron_board_member"] and found[0].field == "realizer"


@pytest.mark.parametrize("where", ["applicant_person", "member", "representative", "board",
                                   "realizer_board"])
def test_conflict_of_interest(where):
    staff = person("E1", name="Robert Król")
    if where == "applicant_person":
        app_ = application(applicant=alone(who=staff))
    elif where == "member":
        app_ = application(applicant=ngo(), realizer=group(members=[person("a"), person("b"),
                                                                   staff]))
    elif where == "representative":
        app_ = application(applicant=ngo(), realizer=group(members=[person("a"), person("b"),
                                                                   person("c")],
                                                          representative=staff))
    elif where == "board":
        app_ = application(applicant=ngo(board=[staff]))
    else:
        app_ = application(applicant=institution(), realizer=ngo("N2", board=[staff]))
    found = checks.check_conflict_of_interest(app_, {"E1"})
    assert ids(found) == ["applicant.conflict_of_interest"]
    assert "Robert Król jest pracownikiem operatora" in text(found[0])


def test_conflict_of_interest_matches_any_key_of_a_person():
    staff = person("pesel:80050112345", name="Anna Nowak", aliases=("anna nowak|1980-05-01",))
    app_ = application(applicant=ngo(board=[staff]))
    assert ids(checks.check_conflict_of_interest(app_, {"anna nowak|1980-05-01"})) == [
        "applicant.conflict_of_interest"]
    assert checks.check_conflict_of_interest(app_, set()) == []


# --- who applies ---------------------------------------------------------------------------

def test_applicant_kind():
    allowed = [("ngo", None, "standard"), ("ngo", "group", "standard")]
    assert checks.check_applicant_kind(application(applicant=ngo()), allowed) == []
    assert checks.check_applicant_kind(application(applicant=ngo(), realizer=group()),
                                       allowed) == []
    found = checks.check_applicant_kind(application(applicant=alone()), allowed)
    assert ids(found) == ["applicant.kind_not_allowed"]
    assert "osoba fizyczna działająca samodzielnie" in text(found[0])
    assert ids(checks.check_applicant_kind(
        application(applicant=institution(), realizer=group()), allowed)) == [
        "applicant.kind_not_allowed"]
    assert ids(checks.check_applicant_kind(
        application(applicant=group(), mode="dl_initiative"), allowed)) == [
        "applicant.kind_not_allowed"]


def test_patron_required():
    assert ids(checks.check_patron_required(application(applicant=group()))) == [
        "group.patron_required"]
    assert checks.check_patron_required(application(applicant=group()), required=False) == []
    assert checks.check_patron_required(application(applicant=ngo(), realizer=group())) == []
    assert checks.check_patron_required(application(applicant=group(),
                                                    mode="dl_initiative")) == []


# --- engine helpers -----------------------------------------------------------------------

def test_pool_from_a_municipality_budget_is_rounded_down():
    assert pool_from_params({"municipality_budget": "15000.00", "operator_fee_percent": 20}) \
        == D("12000.00")
    assert pool_from_params({"municipality_budget": "333.33", "operator_fee_percent": 20}) \
        == D("266.66")
    assert pool_from_params({"pool": "38000.00", "municipality_budget": "1.00"}) == D("38000.00")
    assert pool_from_params({}) is None
    with pytest.raises(TypeError):
        pool_from_params({"pool": 38000.0})


def test_violations_are_sorted_without_repeats():
    a = Violation("budget.sum_mismatch", "x", "budget")
    b = Violation("amount.above_max", "y", "requested")
    assert sort_violations([a, b, a]) == [b, a]
    assert rule_ids([a, b, a]) == ["amount.above_max", "budget.sum_mismatch"]
