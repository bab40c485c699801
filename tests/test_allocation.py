"""Allocation: the cut-off policies, sub-pools, area quotas, one grant per realizer, awards
and resignations (DOMAIN.md, "Engine conventions" and "Awards, allocation, resignations").

Most tests drive the pure engine (``walk``, ``resign_walk``); the Działaj Lokalnie and
Wrocław editions are replayed through it from their scenario files (their variants'
plugins do not exist yet); the last part goes through the database, the ``allocate``
hook and ``apply``.
"""
from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal as D
from pathlib import Path
from types import SimpleNamespace

import pytest

from core.evaluation.allocation import (ALREADY_FUNDED, AREA_QUOTA, PARTIAL_LAST, SKIP_TO_FIT,
                                        STOP, AllocationState, Limits, limits_for, resign_walk,
                                        walk)
from core.evaluation.ranking import Entry, rank
from core.evaluation.results import entry as results_entry
from core.evaluation.scoring import average
from results_subset import subset_problems

SCENARIOS = Path(__file__).resolve().parent / "scenarios"
T0 = dt.datetime(2025, 3, 1, 9, 0, tzinfo=dt.timezone.utc)


def e(ref, final, amount, realizer=None, minute=0, area=None, subpool=None, withdrawn=False):
    return Entry(ref=ref, final=D(final), amount=D(amount), stage1=D(final),
                 submitted_at=T0 + dt.timedelta(minutes=minute),
                 realizer=realizer or f"r-{ref}", area=area, subpool=subpool,
                 withdrawn=withdrawn)


def ranking(*entries):
    return rank(list(entries))


def statuses(allocation):
    """``{ref: (status, amount or reserve position, rules)}`` for compact assertions."""
    found = {}
    for entry in allocation.ranking:
        o = allocation[entry.ref]
        detail = o.amount if o.status == "funded" else o.reserve_position
        found[entry.ref] = (o.status, detail, tuple(o.rules)) if o.rules else (o.status, detail)
    return found


# Five projects: 5000, 4000, 3000 and 1000 in a pool of 10 000.
def five():
    return ranking(e("A", 30, "5000.00"), e("B", 29, "4000.00"), e("C", 28, "3000.00"),
                   e("D", 27, "1000.00"))


# --- the cut-off policies -----------------------------------------------------------------

def test_stop_ends_funding_at_the_first_project_that_does_not_fit():
    allocation = walk(five(), Limits(D("10000.00"), STOP))
    assert statuses(allocation) == {"A": ("funded", D("5000.00")), "B": ("funded", D("4000.00")),
                                    "C": ("reserve", 1), "D": ("reserve", 2)}
    assert allocation.allocated == D("9000.00") and allocation.unallocated == D("1000.00")
    assert [x.ref for x in allocation.reserve] == ["C", "D"]
    assert allocation.policy == STOP and allocation.state.stopped


def test_skip_to_fit_funds_lower_projects_that_fit():
    allocation = walk(five(), Limits(D("10000.00"), SKIP_TO_FIT))
    assert statuses(allocation) == {"A": ("funded", D("5000.00")), "B": ("funded", D("4000.00")),
                                    "C": ("reserve", 1), "D": ("funded", D("1000.00"))}
    assert allocation.unallocated == D("0.00")


def test_partial_last_offers_the_rest_and_ends_funding():
    allocation = walk(five(), Limits(D("10000.00"), PARTIAL_LAST, amount_min=D("1000.00")))
    assert statuses(allocation) == {"A": ("funded", D("5000.00")), "B": ("funded", D("4000.00")),
                                    "C": ("funded", D("1000.00")), "D": ("reserve", 1)}
    assert allocation["C"].partial and not allocation["A"].partial
    assert allocation.unallocated == D("0.00")


def test_partial_last_without_an_offer_still_ends_funding():
    # 500 left is below amount_min: no offer, and C and everything below go to the reserve.
    allocation = walk(five(), Limits(D("9500.00"), PARTIAL_LAST, amount_min=D("1000.00")))
    assert statuses(allocation) == {"A": ("funded", D("5000.00")), "B": ("funded", D("4000.00")),
                                    "C": ("reserve", 1), "D": ("reserve", 2)}
    assert allocation.unallocated == D("500.00")


def test_partial_last_offers_any_positive_rest_without_amount_min():
    allocation = walk(five(), Limits(D("9500.00"), PARTIAL_LAST))
    assert allocation["C"].status == "funded" and allocation["C"].amount == D("500.00")
    assert allocation["D"].status == "reserve"


def test_partial_last_with_nothing_left_makes_no_offer():
    allocation = walk(five(), Limits(D("9000.00"), PARTIAL_LAST))
    assert statuses(allocation)["C"] == ("reserve", 1)
    assert statuses(allocation)["D"] == ("reserve", 2)


@pytest.mark.parametrize("policy", [STOP, SKIP_TO_FIT, PARTIAL_LAST])
def test_an_exact_fit_is_funded(policy):
    allocation = walk(five(), Limits(D("12000.00"), policy))
    assert [x.ref for x in allocation.funded] == ["A", "B", "C"]
    assert allocation.unallocated == D("0.00")


def test_an_unknown_policy_is_refused():
    with pytest.raises(ValueError, match="unknown cut-off policy 'FIRST_COME'"):
        Limits(D("100.00"), "FIRST_COME")
    with pytest.raises(ValueError):
        AllocationState.fresh(Limits(D("100.00")), "FIRST_COME")


def test_a_state_can_carry_another_policy():
    """The "what if" view: the same ranking under SKIP_TO_FIT although the call says STOP."""
    limits = Limits(D("10000.00"), STOP)
    allocation = walk(five(), limits, AllocationState.fresh(limits, SKIP_TO_FIT))
    assert allocation.policy == SKIP_TO_FIT and allocation["D"].status == "funded"


def test_a_withdrawn_entry_keeps_its_place_and_gets_nothing():
    entries = five()
    entries[0].withdrawn = True
    allocation = walk(entries, Limits(D("10000.00"), STOP))
    assert [x.rank for x in allocation.ranking] == [1, 2, 3, 4]
    assert statuses(allocation) == {"A": ("withdrawn", None), "B": ("funded", D("4000.00")),
                                    "C": ("funded", D("3000.00")), "D": ("funded", D("1000.00"))}


def test_an_award_that_lowers_an_amount_lets_the_project_fit():
    """The committee grants C 2000 instead of 3000: under STOP it now fits (the award
    applies before the allocation)."""
    before = walk(ranking(e("A", 30, "5000.00"), e("C", 28, "3000.00")),
                  Limits(D("7000.00"), STOP))
    assert before["C"].status == "reserve"
    awarded = e("C", 28, "2000.00")
    awarded.requested = D("3000.00")
    after = walk(ranking(e("A", 30, "5000.00"), awarded), Limits(D("7000.00"), STOP))
    assert after["C"].status == "funded" and after["C"].amount == D("2000.00")
    assert after.unallocated == D("0.00")


# --- one grant per realizer, sub-pools and quotas ----------------------------------------

def test_a_funded_realizer_is_excluded_for_good():
    entries = ranking(e("A", 30, "1000.00", realizer="R"), e("B", 29, "1000.00", realizer="R"),
                      e("C", 28, "1000.00"))
    allocation = walk(entries, Limits(D("10000.00"), STOP, one_grant_per_realizer=True))
    assert statuses(allocation) == {"A": ("funded", D("1000.00")),
                                    "B": ("excluded", None, (ALREADY_FUNDED,)),
                                    "C": ("funded", D("1000.00"))}
    # Without the rule (e.g. a patron's several groups), both are funded.
    allocation = walk(entries, Limits(D("10000.00"), STOP))
    assert allocation["B"].status == "funded"


def test_after_stop_the_realizer_and_quota_checks_still_decide():
    entries = ranking(e("A", 30, "5000.00", realizer="R", area="north"),
                      e("B", 29, "6000.00"),
                      e("C", 28, "1000.00", realizer="R"),
                      e("D", 27, "1000.00", area="north"),
                      e("F", 26, "1000.00"))
    limits = Limits(D("10000.00"), STOP, quotas={"north": 1}, one_grant_per_realizer=True)
    assert statuses(walk(entries, limits)) == {
        "A": ("funded", D("5000.00")), "B": ("reserve", 1),
        "C": ("excluded", None, (ALREADY_FUNDED,)), "D": ("reserve", 2, (AREA_QUOTA,)),
        "F": ("reserve", 3)}


def test_a_sub_pool_holds_back_without_stopping_the_walk():
    entries = ranking(e("A", 30, "4000.00", subpool="large_town"),
                      e("B", 29, "3000.00", subpool="large_town"),
                      e("C", 28, "3000.00"), e("D", 27, "1000.00", subpool="large_town"))
    limits = Limits(D("20000.00"), STOP, subpools={"large_town": D("5000.00")})
    allocation = walk(entries, limits)
    assert statuses(allocation) == {
        "A": ("funded", D("4000.00")), "B": ("reserve", 1, (AREA_QUOTA,)),
        "C": ("funded", D("3000.00")), "D": ("funded", D("1000.00"))}
    assert allocation.state.subpools_left == {"large_town": D("0.00")}


def test_an_area_quota_counts_projects():
    entries = ranking(e("A", 30, "1000.00", area="Krzyki"), e("B", 29, "1000.00", area="Krzyki"),
                      e("C", 28, "1000.00", area="Krzyki"), e("F", 27, "1000.00", area="Fabryczna"))
    allocation = walk(entries, Limits(D("10000.00"), STOP, quotas={"Krzyki": 2, "Fabryczna": 1}))
    assert statuses(allocation) == {
        "A": ("funded", D("1000.00")), "B": ("funded", D("1000.00")),
        "C": ("reserve", 1, (AREA_QUOTA,)), "F": ("funded", D("1000.00"))}


# --- the editions of other variants, through the pure engine -----------------------------

def replay(name: str):
    """Build the entries of a scenario from its file (scores from its evaluations, the
    formal outcome from its ``expected`` block) and allocate them with the call's limits."""
    doc = json.loads((SCENARIOS / name).read_text("utf-8"))
    params = doc["call"]["params"]
    call = SimpleNamespace(params=params, pool=D(params["pool"]))
    expected = doc["expected"]["applications"]
    entries = []
    for item in doc["applications"]:
        if expected[item["ref"]]["status"] == "rejected":
            continue
        stage1 = average([D(str(x["points"])) for x in doc["evaluations"]
                          if x["application"] == item["ref"] and x["stage"] == 1])
        place = item.get("place") or {}
        subpool = "large_town" if "large_town_pool" in params and \
            place.get("population", 0) > params["large_town_population"] else None
        area = place.get("area") if place.get("area") in (params.get("area_quotas") or {}) \
            else None
        entries.append(Entry(
            ref=item["ref"], final=stage1, stage1=stage1, amount=D(item["requested"]),
            submitted_at=dt.datetime.fromisoformat(item["submitted_at"]),
            realizer=item.get("realizer") or item["applicant"], area=area, subpool=subpool))
    limits = limits_for(call)
    return doc, limits, walk(rank(entries), limits)


def as_results(allocation) -> dict:
    found = {}
    for x in allocation.ranking:
        o = allocation[x.ref]
        found[x.ref] = results_entry(o.status, rank=x.rank, score=x.final, amount=o.amount,
                                     reserve_position=o.reserve_position, rules=o.rules)
    return {"ranking": [x.ref for x in allocation.ranking], "applications": found,
            "allocated": f"{allocation.allocated:.2f}",
            "unallocated": f"{allocation.unallocated:.2f}"}


def expected_allocation(doc) -> dict:
    want = doc["expected"]
    return {"ranking": want["ranking"], "allocated": want["allocated"],
            "unallocated": want["unallocated"],
            "applications": {ref: x for ref, x in want["applications"].items()
                             if x["status"] != "rejected"}}


def test_dzialaj_lokalnie_sub_pool_and_one_grant_per_realizer():
    doc, limits, allocation = replay("dzialaj_lokalnie_dolina_rzeki_2025.json")
    assert limits.policy == SKIP_TO_FIT and limits.one_grant_per_realizer
    assert limits.subpools == {"large_town": D("5000.00")}
    assert subset_problems(expected_allocation(doc), as_results(allocation)) == []
    # D9 is held back by the large-town pool (1000 left after D5), not by the main pool.
    assert allocation["D9"].rules == [AREA_QUOTA]
    assert allocation.state.subpools_left == {"large_town": D("1000.00")}


def test_wroclaw_area_quotas_in_one_ranking():
    doc, limits, allocation = replay("wroclaw_2025_05.json")
    assert limits.policy == STOP and limits.quotas["Fabryczna"] == 1
    assert subset_problems(expected_allocation(doc), as_results(allocation)) == []
    # W2 and W5 tie at 21.50 with equal stage-1 scores: the earlier submission (W2) first.
    assert [x.ref for x in allocation.ranking][-2:] == ["W2", "W5"]


def test_a_resignation_returns_the_quota():
    doc, limits, allocation = replay("wroclaw_2025_05.json")
    after = resign_walk(allocation, "W1", limits)   # Fabryczna's funded project resigns
    assert after["W1"].status == "withdrawn"
    assert after["W2"].status == "funded" and after["W2"].amount == D("5000.00")
    assert after.reserve == [] and after.allocated == D("18700.00")


def test_a_resignation_returns_sub_pool_money_and_excluded_stay_excluded():
    doc, limits, allocation = replay("dzialaj_lokalnie_dolina_rzeki_2025.json")
    after = resign_walk(allocation, "D5", limits)   # the large-town project resigns
    assert statuses(after)["D9"] == ("funded", D("3000.00"))
    assert statuses(after)["D8"] == ("reserve", 1)
    # R1's funded D1 resigns: D7 (R1's, excluded) stays excluded; D8 (realizer GM) is
    # funded when the freed 6000 fit.
    after = resign_walk(after, "D1", limits)
    assert statuses(after)["D7"] == ("excluded", None, (ALREADY_FUNDED,))
    assert statuses(after)["D8"] == ("funded", D("6000.00"))


# --- resignations under each policy -------------------------------------------------------

def test_resignation_under_stop_walks_the_reserve_and_stops_again():
    entries = ranking(e("A", 30, "5000.00"), e("B", 29, "4000.00"), e("C", 28, "3500.00"),
                      e("D", 27, "3000.00"), e("F", 26, "1000.00"))
    limits = Limits(D("10000.00"), STOP)
    allocation = walk(entries, limits)
    assert [x.ref for x in allocation.reserve] == ["C", "D", "F"]
    after = resign_walk(allocation, "B", limits)   # 5000 free
    assert statuses(after) == {"A": ("funded", D("5000.00")), "B": ("withdrawn", None),
                               "C": ("funded", D("3500.00")), "D": ("reserve", 1),
                               "F": ("reserve", 2)}
    assert after.unallocated == D("1500.00")
    assert allocation["B"].status == "funded"   # the earlier allocation is left as it was


def test_resignation_under_skip_to_fit_funds_what_fits():
    entries = ranking(e("A", 30, "5000.00"), e("B", 29, "4000.00"), e("C", 28, "6000.00"),
                      e("D", 27, "3000.00"), e("F", 26, "1000.00"))
    limits = Limits(D("10000.00"), SKIP_TO_FIT)
    allocation = walk(entries, limits)
    assert statuses(allocation)["F"] == ("funded", D("1000.00"))
    after = resign_walk(allocation, "B", limits)   # 4000 free
    assert statuses(after) == {"A": ("funded", D("5000.00")), "B": ("withdrawn", None),
                               "C": ("reserve", 1), "D": ("funded", D("3000.00")),
                               "F": ("funded", D("1000.00"))}


def test_resignation_under_partial_last_never_tops_up_and_offers_the_rest():
    entries = ranking(e("A", 30, "5000.00"), e("B", 29, "4000.00"), e("C", 28, "3000.00"),
                      e("D", 27, "3000.00"), e("F", 26, "2000.00"))
    limits = Limits(D("10000.00"), PARTIAL_LAST, amount_min=D("1000.00"))
    allocation = walk(entries, limits)
    assert statuses(allocation)["C"] == ("funded", D("1000.00"))   # partial
    after = resign_walk(allocation, "B", limits)   # 4000 free
    # C keeps its partial 1000; D (3000) is funded; F is offered the last 1000.
    assert statuses(after) == {"A": ("funded", D("5000.00")), "B": ("withdrawn", None),
                               "C": ("funded", D("1000.00")), "D": ("funded", D("3000.00")),
                               "F": ("funded", D("1000.00"))}
    assert after["F"].partial and after.unallocated == D("0.00")


def test_a_partial_grant_that_resigns_returns_what_it_received():
    entries = ranking(e("A", 30, "5000.00"), e("B", 29, "4000.00"), e("C", 28, "3000.00"),
                      e("D", 27, "500.00"))
    limits = Limits(D("10000.00"), PARTIAL_LAST)
    allocation = walk(entries, limits)
    assert allocation["C"].amount == D("1000.00")
    after = resign_walk(allocation, "C", limits)
    assert statuses(after)["D"] == ("funded", D("500.00"))
    assert after.unallocated == D("500.00")


def test_a_reserve_project_that_withdraws_just_leaves_the_list():
    allocation = walk(five(), Limits(D("10000.00"), STOP))
    after = resign_walk(allocation, "C", Limits(D("10000.00"), STOP))
    assert statuses(after) == {"A": ("funded", D("5000.00")), "B": ("funded", D("4000.00")),
                               "C": ("withdrawn", None), "D": ("reserve", 1)}
    assert after.allocated == allocation.allocated


def test_an_excluded_project_that_withdraws_reallocates_nothing():
    entries = ranking(e("A", 30, "5000.00", realizer="R"), e("B", 29, "5000.00", realizer="R"),
                      e("C", 28, "6000.00"))
    limits = Limits(D("10000.00"), STOP, one_grant_per_realizer=True)
    allocation = walk(entries, limits)
    after = resign_walk(allocation, "B", limits)
    assert statuses(after) == {"A": ("funded", D("5000.00")), "B": ("withdrawn", None),
                               "C": ("reserve", 1)}


def test_in_a_reserve_walk_a_realizer_counts_as_funded_only_through_funded_projects():
    # Under SKIP_TO_FIT R's big project Y waits in the reserve while R's small X is funded.
    entries = ranking(e("A", 30, "6000.00"), e("Y", 29, "5000.00", realizer="R"),
                      e("X", 28, "3000.00", realizer="R"), e("Z", 27, "2000.00"))
    limits = Limits(D("10000.00"), SKIP_TO_FIT, one_grant_per_realizer=True)
    allocation = walk(entries, limits)
    assert statuses(allocation) == {"A": ("funded", D("6000.00")), "Y": ("reserve", 1),
                                    "X": ("funded", D("3000.00")), "Z": ("reserve", 2)}
    # A resigns: Y's realizer R is funded at that moment (X), so Y becomes excluded.
    after = resign_walk(allocation, "A", limits)
    assert statuses(after) == {"A": ("withdrawn", None),
                               "Y": ("excluded", None, (ALREADY_FUNDED,)),
                               "X": ("funded", D("3000.00")), "Z": ("funded", D("2000.00"))}
    # Had X resigned instead, R has no funded project: Y is judged on money alone.
    after = resign_walk(allocation, "X", limits)   # 4000 free: Y (5000) waits, Z fits
    assert statuses(after) == {"A": ("funded", D("6000.00")), "Y": ("reserve", 1),
                               "X": ("withdrawn", None), "Z": ("funded", D("2000.00"))}


def test_reserve_walk_after_the_realizers_funded_project_withdraws():
    entries = ranking(e("A", 30, "4000.00"), e("Y", 29, "7000.00", realizer="R"),
                      e("X", 28, "3000.00", realizer="R"), e("Z", 27, "2000.00"))
    limits = Limits(D("10000.00"), SKIP_TO_FIT, one_grant_per_realizer=True)
    allocation = walk(entries, limits)
    assert statuses(allocation)["Y"] == ("reserve", 1)
    assert statuses(allocation)["X"] == ("funded", D("3000.00"))
    after = resign_walk(allocation, "X", limits)   # 4000 left, R has nothing funded now
    assert statuses(after)["Y"] == ("reserve", 1)        # 7000 does not fit
    after = resign_walk(after, "A", limits)        # 8000 left
    assert statuses(after)["Y"] == ("funded", D("7000.00"))
    assert after.unallocated == D("1000.00")


# --- through the database: the allocate hook, apply, resign -------------------------------

@pytest.fixture
def edition(app, create_tenant):
    """An LPM call in gmina-a with five ranked applications (pool 10 000, STOP):
    A 5000 (30), B 4000 (29), C 3000 (28), D 1000 (27), F 2000 (26)."""
    from core.applicants.models import ApplicantProfile
    from core.applications.models import Application
    from core.calls.models import Call
    from core.db import db, tenant_scope
    from core.tenancy.models import Tenant

    create_tenant("gmina-a", variants=["lpm"])
    with app.app_context():
        tenant = db.session.execute(db.select(Tenant).where(Tenant.slug == "gmina-a")).scalar_one()
        with tenant_scope(tenant):
            call = Call(tenant_id=tenant.id, ref="lpm-test", title="LPM", variant="lpm",
                        status="closed", pool=D("10000.00"),
                        params={"cutoff_policy": "STOP", "amount_min": "1000.00",
                                "stage2": False})
            db.session.add(call)
            apps = {}
            for i, (ref, score, amount) in enumerate((("A", 30, 5000), ("B", 29, 4000),
                                                      ("C", 28, 3000), ("D", 27, 1000),
                                                      ("F", 26, 2000))):
                profile = ApplicantProfile(kind="ngo", name=f"Org {ref}")
                apps[ref] = Application(
                    call=call, ref=ref, applicant=profile, status="ranked",
                    requested=D(amount), stage1_score=D(score), final_score=D(score),
                    submitted_at=T0 + dt.timedelta(minutes=i))
                db.session.add(apps[ref])
            db.session.commit()
            yield SimpleNamespace(tenant=tenant, call=call, apps=apps)


def stored(edition):
    from core.evaluation.results import call_results

    return call_results(edition.call)


def test_allocate_call_ranks_and_walks_without_writing(edition):
    from core.evaluation.allocation import allocate_call, compare_policies

    allocation = allocate_call(edition.call)
    assert [x.ref for x in allocation.ranking] == ["A", "B", "C", "D", "F"]
    assert [x.ref for x in allocation.funded] == ["A", "B"]
    assert edition.apps["A"].status == "ranked" and edition.apps["A"].rank is None
    policies = compare_policies(edition.call)
    assert {p: [x.ref for x in a.funded] for p, a in policies.items()} == {
        "STOP": ["A", "B"], "SKIP_TO_FIT": ["A", "B", "D"], "PARTIAL_LAST": ["A", "B", "C"]}
    assert policies["PARTIAL_LAST"]["C"].amount == D("1000.00")
    assert policies["SKIP_TO_FIT"].summary() == {
        "policy": "SKIP_TO_FIT", "pool": D("10000.00"), "allocated": D("10000.00"),
        "unallocated": D("0.00"), "funded": 3, "reserve": 2, "excluded": 0}


def test_apply_stores_statuses_amounts_and_positions_with_audit_events(edition, app):
    from core.audit.models import AuditEvent
    from core.evaluation.allocation import allocate_call, apply, current_allocation

    changes = apply(edition.call, allocate_call(edition.call))
    assert [(c.application.ref, c.old_status, c.new_status) for c in changes] == [
        ("A", "ranked", "funded"), ("B", "ranked", "funded"), ("C", "ranked", "reserve"),
        ("D", "ranked", "reserve"), ("F", "ranked", "reserve")]
    a, c = edition.apps["A"], edition.apps["C"]
    assert (a.status, a.rank, a.allocated) == ("funded", 1, D("5000.00"))
    assert (c.status, c.rank, c.reserve_position, c.allocated) == ("reserve", 3, 1, None)
    events = {e.action for e in db_events()}
    assert {"application.funded", "application.reserve", "call.allocated"} <= events
    # Applying the same allocation again changes nothing.
    assert apply(edition.call, allocate_call(edition.call)) == []
    # What is stored reads back as the same allocation.
    again = current_allocation(edition.call)
    assert statuses(again) == statuses(allocate_call(edition.call))


def db_events():
    from core.audit.models import AuditEvent
    from core.db import db

    return list(db.session.scalars(db.select(AuditEvent).order_by(AuditEvent.id)))


def test_resign_moves_the_reserve_up_and_reports_the_changes(edition):
    from core.evaluation.allocation import allocate_call, apply, resign

    apply(edition.call, allocate_call(edition.call))
    changes = apply(edition.call, resign(edition.call, edition.apps["B"]))   # 4000 free
    assert [(c.application.ref, c.old_status, c.new_status, c.new_amount, c.new_position)
            for c in changes] == [
        ("B", "funded", "withdrawn", None, None),
        ("C", "reserve", "funded", D("3000.00"), None),
        ("D", "reserve", "funded", D("1000.00"), None),
        ("F", "reserve", "reserve", None, 1)]   # moved from 3rd to 1st on the reserve list
    found = stored(edition)
    assert found["ranking"] == ["A", "B", "C", "D", "F"]
    assert found["applications"]["B"] == {"status": "withdrawn"}
    assert found["applications"]["F"] == {"status": "reserve", "rank": 5, "score": "26.00",
                                          "reserve_position": 1}
    assert (found["allocated"], found["unallocated"]) == ("9000.00", "1000.00")
    b = edition.apps["B"]
    assert b.withdrawn_at is not None and b.allocated is None and b.rank == 2
    actions = [e.action for e in db_events()]
    assert "application.allocation_changed" in actions   # F's new reserve position


def test_a_resignation_outside_the_allocation_just_withdraws(edition):
    from core.applicants.models import ApplicantProfile
    from core.applications.models import Application
    from core.db import db
    from core.evaluation.allocation import allocate_call, apply, resign

    low = Application(call=edition.call, ref="Z", applicant=ApplicantProfile(kind="ngo", name="Z"),
                      status="below_threshold", requested=D("1000.00"), stage1_score=D(5),
                      submitted_at=T0)
    db.session.add(low)
    db.session.flush()
    apply(edition.call, allocate_call(edition.call))
    changes = apply(edition.call, resign(edition.call, low))
    assert [(c.application.ref, c.new_status) for c in changes] == [("Z", "withdrawn")]
    assert stored(edition)["applications"]["Z"] == {"status": "withdrawn"}
    assert "Z" not in stored(edition)["ranking"]


def test_awards_apply_before_allocation_and_a_declined_one_withdraws(edition):
    from core.db import db
    from core.evaluation.allocation import allocate_call
    from core.evaluation.models import Award

    db.session.add(Award(application_id=edition.apps["C"].id, amount=D("1000.00"),
                         status="accepted"))
    db.session.flush()
    allocation = allocate_call(edition.call)   # C asks 3000, is awarded 1000: it fits now
    assert statuses(allocation)["C"] == ("funded", D("1000.00"))
    assert not allocation["C"].partial
    db.session.add(Award(application_id=edition.apps["A"].id, amount=D("4000.00"),
                         status="declined"))
    db.session.flush()
    allocation = allocate_call(edition.call)
    assert allocation["A"].status == "withdrawn"
    assert [x.ref for x in allocation.funded] == ["B", "C", "D", "F"]


def test_a_variant_may_allocate_its_own_way(app_config, edition):
    """The ``allocate`` hook: the first plugin that answers decides."""
    from core import create_app
    from core.db import db, tenant_scope
    from core.evaluation.allocation import Limits, allocate_call, walk
    from core.plugins.toolkit import hookimpl

    class EveryoneSkips:
        seen = []

        @hookimpl
        def allocate(self, call, ranking, pool, state):
            self.seen.append((call.ref, [x.ref for x in ranking], pool, state))
            return walk(ranking, Limits(pool, "SKIP_TO_FIT"), None)

    plugin = EveryoneSkips()
    other = create_app(app_config, plugins={"skips": plugin})
    with other.app_context(), tenant_scope(edition.tenant.id):
        from core.calls.models import Call

        call = db.session.execute(db.select(Call)).scalar_one()
        allocation = allocate_call(call)
    assert [x.ref for x in allocation.funded] == ["A", "B", "D"]
    assert plugin.seen == [("lpm-test", ["A", "B", "C", "D", "F"], D("10000.00"), None)]


def test_the_bench_runs_on_a_small_edition(capsys):
    """``make bench`` (python -m bench.run) still works; its figures are only reported."""
    import sql_guard
    from bench.run import main

    with sql_guard.allowed():  # the bench builds and seeds its own database
        assert main(["--applications", "300", "--skip-http", "--mail-messages", "20"]) == 0
    out = capsys.readouterr().out
    assert "Rank + allocate 300 applications" in out
    assert "Scores from the 600 cards" in out and "funded" in out


def test_a_funded_project_that_declines_its_award_resigns_and_the_reserve_moves_up(edition):
    from core.db import db
    from core.evaluation.allocation import allocate_call, apply, resign
    from core.evaluation.models import Award

    apply(edition.call, allocate_call(edition.call))
    db.session.add(Award(application_id=edition.apps["B"].id, amount=D("3000.00"),
                         status="declined"))
    db.session.flush()
    changes = apply(edition.call, resign(edition.call, edition.apps["B"]))
    assert [(c.application.ref, c.new_status) for c in changes][:3] == [
        ("B", "withdrawn"), ("C", "funded"), ("D", "funded")]
