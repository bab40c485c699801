"""Scores and the ranking order (DOMAIN.md, "Engine conventions" and "Scores").

Averages half-up to 0.01; a stage-1 score equal to the pass mark passes; a no-show is
disqualified; final = stage 1 + stage 2; the ranking order breaks ties by stage 2, stage 1,
submission time and ref.  Then the same through the database (cards, a third evaluator,
the committee) and the variant hooks ``evaluation_stages``, ``score_card`` and
``formal_checklist``.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal as D
from types import SimpleNamespace

import pytest

from core.db import db, tenant_scope
from core.evaluation.ranking import Entry, rank
from core.evaluation.scoring import Scores, average, final_score, outcome
from core.plugins.toolkit import Stage

T0 = dt.datetime(2025, 3, 10, 9, 0, tzinfo=dt.timezone.utc)


# --- averages and what they decide ---------------------------------------------------------

@pytest.mark.parametrize("points, expected", [
    (["15", "16"], "15.50"),
    (["8.62", "8.63"], "8.63"),        # 8.625 rounds half-up
    (["8.61", "8.62"], "8.62"),        # 8.615 too
    (["17", "16", "16"], "16.33"),
    (["10", "11", "9"], "10.00"),
    (["15", "16", "11"], "14.00"),     # a third evaluator's card counts
    (["0", "0"], "0.00"),
    ([7], "7.00"),
])
def test_average_is_half_up_to_the_hundredth(points, expected):
    found = average([D(str(p)) for p in points])
    assert isinstance(found, D) and str(found) == expected


def test_no_points_have_no_average():
    assert average([]) is None


def test_final_score_is_the_sum_of_both_stages():
    assert final_score(D("15.50"), D("10.00"), True) == D("25.50")
    assert final_score(D("15.50"), None, True) is None   # stage 2 not scored yet
    assert final_score(D("15.50"), None, False) == D("15.50")
    assert final_score(None, D("10.00"), True) is None


STAGES = [Stage(1, "evaluators", D(18), D("13.00")), Stage(2, "committee", D(12))]


@pytest.mark.parametrize("scores, no_show, pending, expected", [
    (Scores(D("12.99"), None, None), False, 0, "below_threshold"),
    (Scores(D("13.00"), None, None), False, 0, "invited"),       # equal to the mark passes
    (Scores(D("13.00"), None, None), True, 0, "disqualified"),   # no-show
    (Scores(D("13.50"), D("9.00"), D("22.50")), False, 0, "ranked"),
    (Scores(D("15.00"), None, None), False, 1, None),            # a card still to come
    (Scores(None, None, None), False, 0, None),
    (Scores(D("12.50"), None, None), True, 0, "below_threshold"),
])
def test_outcome_of_the_scores(scores, no_show, pending, expected):
    assert outcome(STAGES, scores, no_show, pending) == expected


def test_one_stage_without_a_pass_mark_ranks_every_scored_application():
    stages = [Stage(1, "evaluators", D(40))]
    assert outcome(stages, Scores(D("1.00"), None, D("1.00"))) == "ranked"


# --- the ranking order ---------------------------------------------------------------------

def entry(ref, final, stage2=None, stage1=None, minutes=0, tz=dt.timezone.utc):
    return Entry(ref=ref, final=D(final), amount=D("1000.00"),
                 stage2=D(stage2) if stage2 is not None else None,
                 stage1=D(stage1) if stage1 is not None else D(final),
                 submitted_at=(T0 + dt.timedelta(minutes=minutes)).astimezone(tz))


def refs(entries):
    return [e.ref for e in rank(entries)]


def test_final_score_first():
    assert refs([entry("A", "20.00"), entry("B", "27.50"), entry("C", "22.00")]) == \
        ["B", "C", "A"]


def test_tie_on_final_is_broken_by_stage_2():
    # The Dębowa Wola edition: A2 and A6 both 22.50; A2 had 9 points at stage 2, A6 8.
    assert refs([entry("A6", "22.50", "8.00", "14.50"),
                 entry("A2", "22.50", "9.00", "13.50")]) == ["A2", "A6"]


def test_stage_1_decides_when_final_and_stage_2_tie():
    # Final scores given by a variant need not be the plain sum (e.g. a bonus): stage 1
    # still breaks the tie after stage 2.
    assert refs([entry("L", "25.00", "10.00", "14.00"),
                 entry("H", "25.00", "10.00", "15.00")]) == ["H", "L"]


def test_tie_on_scores_is_broken_by_the_earlier_submission():
    # W2 and W5 of the Wrocław edition: 21.50 each; W2 came first.
    assert refs([entry("W5", "21.50", minutes=9 * 24 * 60), entry("W2", "21.50")]) == \
        ["W2", "W5"]


def test_submission_instants_compare_across_offsets():
    warsaw = dt.timezone(dt.timedelta(hours=2))
    # 09:30 in Warsaw (+02:00) is 07:30 UTC: earlier than 08:00 UTC.
    early = entry("B", "20.00", minutes=-90, tz=warsaw)
    late = entry("A", "20.00", minutes=-60)
    assert refs([late, early]) == ["B", "A"]


def test_a_full_tie_is_broken_by_ref():
    assert refs([entry("A9", "20.00"), entry("A10", "20.00"), entry("A1", "20.00")]) == \
        ["A1", "A10", "A9"]


def test_a_missing_stage_2_comes_after_any_given_one():
    assert refs([entry("N", "20.00", None, "20.00"), entry("G", "20.00", "0.00", "20.00")]) \
        == ["G", "N"]


def test_rank_numbers_every_entry_and_keeps_withdrawn_ones_in_place():
    entries = [entry("A", "10.00"), entry("B", "30.00"), entry("C", "20.00")]
    entries[1].withdrawn = True
    ranked = rank(entries)
    assert [(e.ref, e.rank) for e in ranked] == [("B", 1), ("C", 2), ("A", 3)]


# --- through the database ------------------------------------------------------------------

@pytest.fixture
def lpm(app, create_tenant):
    """A closed LPM call in gmina-a, with a helper to add applications."""
    from core.calls.models import Call
    from core.tenancy.models import Tenant

    create_tenant("gmina-a", variants=["lpm"])
    with app.app_context():
        tenant = db.session.execute(db.select(Tenant).where(Tenant.slug == "gmina-a")).scalar_one()
        with tenant_scope(tenant):
            call = Call(tenant_id=tenant.id, ref="lpm-test", title="LPM", variant="lpm",
                        status="closed", pool=D("12000.00"),
                        params={"stage1_max_points": 18, "stage1_pass_mark": "13.00",
                                "stage2": True, "stage2_max_points": 12,
                                "cutoff_policy": "STOP", "amount_min": "1000.00"})
            db.session.add(call)
            db.session.commit()
            yield SimpleNamespace(tenant=tenant, call=call)


def add_application(call, ref, requested="2000.00", minutes=0, status="accepted"):
    from core.applicants.models import ApplicantProfile
    from core.applications.models import Application

    profile = ApplicantProfile(kind="ngo", name=f"Org {ref}", ref=f"P-{ref}")
    application = Application(call=call, ref=ref, applicant=profile, status=status,
                              requested=D(requested), title=f"Project {ref}",
                              submitted_at=T0 + dt.timedelta(minutes=minutes))
    db.session.add(application)
    db.session.flush()
    return application


def card(application, evaluator, total, submitted=True, stage=1, status="submitted"):
    from core.evaluation.models import Assignment, ScoreCard

    assignment = Assignment(application_id=application.id, evaluator_ref=evaluator, stage=stage,
                            status=status)
    assignment.card = ScoreCard(points={"total": str(total)}, total=D(str(total)),
                                submitted_at=T0 if submitted else None)
    db.session.add(assignment)
    db.session.flush()
    return assignment


def committee(application, points=None, no_show=False, member="KM1"):
    from core.evaluation.models import CommitteeScore

    db.session.add(CommitteeScore(application_id=application.id, member_ref=member,
                                  points=D(str(points)) if points is not None else None,
                                  no_show=no_show))
    db.session.flush()


def test_stage_scores_count_a_third_evaluator_and_only_submitted_cards(lpm):
    from core.evaluation.scoring import recompute, settle, stage_scores

    application = add_application(lpm.call, "A1")
    card(application, "E1", 15)
    card(application, "E2", 9)
    card(application, "E3", 14, submitted=False)       # saved, not submitted
    card(application, "E4", 2, status="recused")       # recused: never counts
    assert stage_scores(application) == (D("12.00"), None, None)
    assert settle(application) is None                 # E3 has not submitted yet
    assert application.status == "accepted"
    card(application, "E5", 16)                         # (a fourth, for the arithmetic)
    from core.evaluation.models import Assignment, ScoreCard

    pending = db.session.execute(db.select(ScoreCard).join(Assignment).where(
        Assignment.evaluator_ref == "E3")).scalar_one()
    pending.submitted_at = T0
    db.session.flush()
    # (15 + 9 + 14 + 16) / 4 = 13.50: passes the mark of 13.00
    assert recompute(application) == (D("13.50"), None, None)
    assert application.stage1_score == D("13.50") and application.final_score is None
    assert settle(application) == "invited" and application.status == "invited"


def test_committee_points_are_averaged_and_added(lpm, app):
    from core.audit.models import AuditEvent
    from core.evaluation.scoring import settle, stage_scores

    application = add_application(lpm.call, "A1")
    card(application, "E1", 15)
    card(application, "E2", 16)
    assert settle(application) == "invited"
    for member, points in (("KM1", 10), ("KM2", 11), ("KM3", 9)):
        committee(application, points, member=member)
    assert stage_scores(application) == (D("15.50"), D("10.00"), D("25.50"))
    assert settle(application) == "ranked"
    assert application.final_score == D("25.50") and application.stage2_score == D("10.00")
    actions = [e.action for e in db.session.scalars(db.select(AuditEvent).where(
        AuditEvent.object_type == "Application", AuditEvent.object_id == application.id)
        .order_by(AuditEvent.id))]
    assert actions == ["application.invited", "application.ranked"]


def test_a_no_show_is_disqualified_and_audited(lpm, app):
    from core.audit.models import AuditEvent
    from core.evaluation.scoring import settle_call

    application = add_application(lpm.call, "A5")
    low = add_application(lpm.call, "A4", minutes=1)
    card(application, "E1", 16)
    card(application, "E2", 14)
    card(low, "E1", 12)
    card(low, "E2", 13)
    committee(application, no_show=True, member=None)
    assert settle_call(lpm.call) == {application.id: "disqualified", low.id: "below_threshold"}
    assert application.status == "disqualified" and application.stage2_score is None
    assert low.status == "below_threshold" and low.stage1_score == D("12.50")
    event = db.session.execute(db.select(AuditEvent).where(
        AuditEvent.action == "application.disqualified")).scalar_one()
    assert event.object_id == application.id
    assert event.changes["status"] == ["invited", "disqualified"]   # (invited first)


def test_scoring_never_moves_an_allocated_application(lpm):
    from core.evaluation.scoring import settle

    application = add_application(lpm.call, "A1", status="funded")
    card(application, "E1", 5)
    card(application, "E2", 5)
    assert settle(application) == "below_threshold"
    assert application.status == "funded"


# --- the variant hooks ---------------------------------------------------------------------

def test_lpm_evaluation_stages_and_score_cards(app, lpm):
    pm = app.extensions["mikrogranty.plugins"]
    stages = pm.hook.evaluation_stages(call=lpm.call)
    assert [(s.number, s.kind, s.max_points, s.pass_mark) for s in stages] == [
        (1, "evaluators", D(18), D("13.00")), (2, "committee", D(12), None)]
    stage1 = pm.hook.score_card(call=lpm.call, stage=1)
    assert [c.key for c in stage1] == ["goals", "needs", "residents", "plan", "budget",
                                       "results"]
    assert sum(c.max_points for c in stage1) == D(18)
    assert all(c.description for c in stage1)
    stage2 = pm.hook.score_card(call=lpm.call, stage=2)
    assert sum(c.max_points for c in stage2) == D(12)
    assert pm.hook.score_card(call=lpm.call, stage=3) == []
    other = SimpleNamespace(variant="lpm", params={"stage1_max_points": 20, "stage2": False})
    assert [c.max_points for c in pm.hook.score_card(call=other, stage=1)] == [4, 4, 3, 3, 3, 3]
    assert len(pm.hook.evaluation_stages(call=other)) == 1
    assert pm.hook.score_card(call=other, stage=2) == []


def test_lpm_formal_checklist_names_the_calls_numbers(app, lpm):
    pm = app.extensions["mikrogranty.plugins"]
    with app.test_request_context("/"):
        items = pm.hook.formal_checklist(call=SimpleNamespace(variant="lpm", params={
            "eligible_gminas": ["Dębowa Wola"], "amount_max": "4000.00"}))
        keys = [i.key for i in items]
        labels = " ".join(str(i.label) for i in items)
        criteria = pm.hook.score_card(call=lpm.call, stage=1)
        assert str(criteria[0].label) == "Zgodność z celami programu"   # Polish by default
        stages = pm.hook.evaluation_stages(call=lpm.call)
        assert str(stages[1].label) == "Etap II: prezentacja przed Komisją Oceniającą"
    assert len(keys) == len(set(keys)) == 10
    assert "Dębowa Wola" in labels and "4000,00" in labels.replace("\xa0", "")
    assert "najwyżej 10% dotacji" in labels
    assert "co najmniej 3 osób pełnoletnich" in labels


def test_core_defaults_for_a_variant_without_its_own(app):
    from core.plugins import defaults

    pm = app.extensions["mikrogranty.plugins"]
    call = SimpleNamespace(variant="unknown_variant", params={"stage1_max_points": 40})
    with app.app_context():
        stages = pm.hook.evaluation_stages(call=call)
        assert [(s.number, s.max_points, s.pass_mark) for s in stages] == [(1, D(40), None)]
        assert [(c.key, c.max_points) for c in pm.hook.score_card(call=call, stage=1)] == [
            ("total", D(40))]
        assert pm.hook.formal_checklist(call=call) == []
        two = SimpleNamespace(variant="x", params={"stage2_max_points": 10,
                                                   "stage1_pass_mark": "5"})
        assert [(s.number, s.max_points, s.pass_mark)
                for s in defaults.evaluation_stages(two)] == [(1, D(100), D(5)), (2, D(10), None)]
