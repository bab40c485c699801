"""Results in the interchange form, the import of evaluations, awards and resignations,
and ``flask calls results``.

The Dębowa Wola edition (tests/scenarios/lpm_debowa_wola_2025.json) is imported through
the same operations the platform uses; its results must equal its ``expected`` block.
"""
from __future__ import annotations

import copy
import json
from decimal import Decimal as D
from pathlib import Path

import pytest

from core.db import db, tenant_scope
from core.evaluation.results import entry
from results_subset import subset_problems

TESTS = Path(__file__).resolve().parent
LPM = json.loads((TESTS / "scenarios" / "lpm_debowa_wola_2025.json").read_text("utf-8"))
REF = LPM["call"]["ref"]


def document():
    doc = copy.deepcopy(LPM)
    doc.pop("expected")
    return doc


@pytest.fixture
def tenant(create_tenant):
    return create_tenant("gmina-a", variants=["lpm"])


def imported(app, doc, tenant_id):
    """Import ``doc`` and return its results."""
    from core.evaluation.results import call_results
    from core.interchange.operations import import_call
    from core.tenancy.models import Tenant

    with app.app_context():
        t = db.session.execute(db.select(Tenant).where(Tenant.id == tenant_id)).scalar_one()
        with tenant_scope(t):
            call = import_call(doc, t)
            db.session.commit()
            return call_results(call)


# --- the entries, per status ---------------------------------------------------------------

def test_each_status_carries_exactly_its_keys():
    assert entry("funded", rank=1, score=D("27.5"), amount=D("5000")) == {
        "status": "funded", "rank": 1, "score": "27.50", "amount": "5000.00"}
    assert entry("reserve", rank=5, score=D("28"), reserve_position=2) == {
        "status": "reserve", "rank": 5, "score": "28.00", "reserve_position": 2}
    assert entry("reserve", rank=3, score=D("31"), reserve_position=1,
                 rules=["pool.area_quota"]) == {
        "status": "reserve", "rank": 3, "score": "31.00", "reserve_position": 1,
        "rules": ["pool.area_quota"]}
    assert entry("excluded", rank=5, score=D("30"), rules=["realizer.already_funded"]) == {
        "status": "excluded", "rank": 5, "score": "30.00",
        "rules": ["realizer.already_funded"]}
    assert entry("below_threshold", score=D("99"), stage1=D("12.5")) == {
        "status": "below_threshold", "score": "12.50"}
    assert entry("rejected", rules=["amount.above_max"], rank=3) == {
        "status": "rejected", "rules": ["amount.above_max"]}
    for status in ("disqualified", "withdrawn"):
        assert entry(status, rank=2, score=D(1), amount=D(1)) == {"status": status}
    assert entry("invited", stage1=D("15.5")) == {"status": "invited", "score": "15.50"}
    assert entry("submitted") == {"status": "submitted"}


def test_the_subset_checker_follows_the_format():
    found = {"ranking": ["A", "B"], "applications": {
        "A": {"status": "excluded", "rank": 1, "rules": ["x", "y"]}}}
    assert subset_problems({"applications": {"A": {"status": "excluded", "rules": ["y"]}}},
                           found) == []
    assert subset_problems({"ranking": ["B", "A"]}, found)           # order matters
    assert subset_problems({"ranking": ["A"]}, found)                # lists are exact
    assert subset_problems({"applications": {"A": {"rules": ["z"]}}}, found)
    assert subset_problems({"applications": {"A": {"rank": 2}}}, found)


# --- the Dębowa Wola edition ---------------------------------------------------------------

def test_the_lpm_edition_matches_its_expected_results_exactly(app, tenant):
    found = imported(app, document(), tenant)
    assert found == LPM["expected"]


def test_the_import_records_cards_committee_points_and_the_no_show(app, tenant):
    from core.applications.models import Application
    from core.audit.models import AuditEvent
    from core.evaluation.models import Assignment, CommitteeScore, ScoreCard

    imported(app, document(), tenant)
    with app.app_context(), tenant_scope(tenant):
        assignments = db.session.scalars(db.select(Assignment)).all()
        assert len(assignments) == 14   # two evaluators × seven formally valid applications
        assert {a.evaluator_ref for a in assignments} == {"E1", "E2"}
        assert all(a.status == "submitted" and a.evaluator_id is None and a.stage == 1
                   for a in assignments)
        cards = db.session.scalars(db.select(ScoreCard)).all()
        assert all(c.submitted_at is not None for c in cards)
        a1 = db.session.execute(db.select(Application).where(Application.ref == "A1")).scalar_one()
        e1 = next(a for a in assignments if a.application_id == a1.id and a.evaluator_ref == "E1")
        assert e1.card.points == {"total": "15"} and e1.card.total == D("15.00")
        scores = db.session.scalars(db.select(CommitteeScore)).all()
        assert len(scores) == 16
        no_show = [s for s in scores if s.no_show]
        assert len(no_show) == 1 and no_show[0].member_ref is None and no_show[0].points is None
        assert {s.member_ref for s in scores if not s.no_show} == {"KM1", "KM2", "KM3"}
        assert (a1.stage1_score, a1.stage2_score, a1.final_score) == (
            D("15.50"), D("10.00"), D("25.50"))
        actions = [e.action for e in db.session.scalars(
            db.select(AuditEvent).where(AuditEvent.object_type == "Application",
                                        AuditEvent.object_id == a1.id)
            .order_by(AuditEvent.id))]
        assert actions == ["application.accepted", "application.invited", "application.ranked",
                           "application.funded", "application.withdrawn"]


def test_the_import_fires_the_state_changes_of_the_evaluation(app, app_config, tenant):
    from core import create_app
    from core.interchange.operations import import_call
    from core.plugins.toolkit import hookimpl
    from core.tenancy.models import Tenant

    class Spy:
        def __init__(self):
            self.changes = []

        @hookimpl
        def application_state_changed(self, application, old, new, actor):
            self.changes.append((application.ref, old, new))

    spy = Spy()
    other = create_app(app_config, plugins={"spy": spy})
    with other.app_context():
        t = db.session.execute(db.select(Tenant).where(Tenant.id == tenant)).scalar_one()
        with tenant_scope(t):
            import_call(document(), t)
            db.session.commit()
    assert [c for c in spy.changes if c[0] == "A6"] == [
        ("A6", "draft", "submitted"), ("A6", "submitted", "accepted"),
        ("A6", "accepted", "invited"), ("A6", "invited", "ranked"),
        ("A6", "ranked", "reserve"), ("A6", "reserve", "funded")]
    assert ("A5", "invited", "disqualified") in spy.changes
    assert ("A4", "accepted", "below_threshold") in spy.changes


def test_an_award_that_lowers_an_amount(app, tenant):
    """The committee grants A6 2000 instead of 3500 (the event stands after the
    resignation in the list, but applies before the allocation): A3, A1, A2 and A6 fill
    the pool; when A1 resigns, A8 moves up and 2000 stay unallocated."""
    from core.evaluation.models import Award

    doc = document()
    doc["events"].append({"type": "award", "application": "A6", "amount": "2000.00"})
    found = imported(app, doc, tenant)
    assert found["applications"]["A6"] == {"status": "funded", "rank": 4, "score": "22.50",
                                           "amount": "2000.00"}
    assert found["applications"]["A8"]["status"] == "funded"
    assert (found["allocated"], found["unallocated"]) == ("10000.00", "2000.00")
    with app.app_context(), tenant_scope(tenant):
        award = db.session.execute(db.select(Award)).scalar_one()
        assert award.amount == D("2000.00") and award.status == "accepted"


def test_without_the_resignation_the_reserve_waits(app, tenant):
    doc = document()
    doc["events"] = []
    found = imported(app, doc, tenant)
    assert found["ranking"] == ["A3", "A1", "A2", "A6", "A8"]
    assert found["applications"]["A1"] == {"status": "funded", "rank": 2, "score": "25.50",
                                           "amount": "4000.00"}
    assert found["applications"]["A6"] == {"status": "reserve", "rank": 4, "score": "22.50",
                                           "reserve_position": 1}
    assert found["applications"]["A8"] == {"status": "reserve", "rank": 5, "score": "21.50",
                                           "reserve_position": 2}
    assert (found["allocated"], found["unallocated"]) == ("10000.00", "2000.00")


@pytest.mark.parametrize("policy, funded, allocated", [
    ("SKIP_TO_FIT", ["A3", "A1", "A2", "A8"], "12000.00"),
    ("PARTIAL_LAST", ["A3", "A1", "A2", "A6"], "12000.00"),
])
def test_the_edition_under_another_policy(app, tenant, policy, funded, allocated):
    doc = document()
    doc["events"] = []
    doc["call"]["params"]["cutoff_policy"] = policy
    found = imported(app, doc, tenant)
    assert [r for r in found["ranking"] if found["applications"][r]["status"] == "funded"] \
        == funded
    assert found["allocated"] == allocated
    if policy == "PARTIAL_LAST":
        assert found["applications"]["A6"]["amount"] == "2000.00"   # of 3500: the rest


def test_a_rejected_application_that_resigns_is_withdrawn(app, tenant):
    doc = document()
    doc["events"] = [{"type": "resignation", "application": "A7"}]
    found = imported(app, doc, tenant)
    assert found["applications"]["A7"] == {"status": "withdrawn"}
    assert found["allocated"] == "10000.00"


def test_stage1_list(app, tenant):
    from core.evaluation.results import stage1_list
    from core.interchange.operations import find_call

    imported(app, document(), tenant)
    with app.app_context(), tenant_scope(tenant):
        rows = stage1_list(find_call(REF))
    assert [(r["ref"], r["score"], r["passed"]) for r in rows] == [
        ("A3", "16.50", True), ("A1", "15.50", True), ("A5", "15.00", True),
        ("A6", "14.50", True), ("A8", "14.50", True), ("A2", "13.50", True),
        ("A4", "12.50", False)]


# --- the command ---------------------------------------------------------------------------

def test_flask_calls_results_prints_json_alone(app, tenant, tmp_path):
    path = tmp_path / "doc.json"
    path.write_text(json.dumps(document(), ensure_ascii=False), "utf-8")
    runner = app.test_cli_runner()
    result = runner.invoke(args=["calls", "import", str(path), "--tenant", "gmina-a"])
    assert result.exit_code == 0, result.stderr
    result = runner.invoke(args=["calls", "results", REF, "--tenant", "gmina-a", "--json"])
    assert result.exit_code == 0
    assert json.loads(result.stdout) == LPM["expected"]
    human = runner.invoke(args=["calls", "results", REF, "--tenant", "gmina-a"]).stdout
    assert "pool 12000.00" in human and "allocated 11500.00" in human
    assert "A3\tfunded\trank 1\t27.50\t5000.00" in human
    assert "A8\tfunded\trank 5\t21.50\t2000.00" in human
    assert "A1\twithdrawn" in human
    assert "A7\trejected\tapplicant.duplicate_application" in human
