"""Scores: the averages of the evaluators' cards and of the committee, and what they decide.

DOMAIN.md, "Engine conventions" and "Scores": the stage-1 score is the average of the
submitted cards' totals (every submitted card counts, a third evaluator's too), rounded
half-up to 0.01 (8.625 → 8.63); below ``stage1_pass_mark`` the application is
``below_threshold`` (a score equal to the mark passes).  Stage 2 (where the call has one)
is the average of the committee members' points; a no-show is ``disqualified``.  The final
score is stage 1 + stage 2.  Points are ``Decimal``, never float.

Pure functions (:func:`average`, :func:`final_score`, :func:`outcome`) decide; the others
read the cards from the database (through the tenant filter) and store the scores.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import NamedTuple

from flask import current_app

from core.applications.models import Application, ApplicationStatus
from core.db import db

CENT = Decimal("0.01")


class Scores(NamedTuple):
    """An application's scores: ``stage1``, ``stage2`` and ``final`` (``None``: not yet)."""

    stage1: Decimal | None
    stage2: Decimal | None
    final: Decimal | None


@dataclass
class ScoreSheet:
    """What the cards of one application say: the scores, the totals they come from, a
    no-show, and how many assigned evaluators have not submitted yet."""

    stage1_totals: list[Decimal]
    stage2_points: list[Decimal]
    no_show: bool = False
    pending: int = 0

    def scores(self, has_stage2: bool) -> Scores:
        stage1 = average(self.stage1_totals)
        stage2 = None if self.no_show else average(self.stage2_points)
        return Scores(stage1, stage2, final_score(stage1, stage2, has_stage2))


def average(points: list[Decimal]) -> Decimal | None:
    """The average of ``points``, half-up to 0.01 (8.625 → 8.63); ``None`` for no points."""
    points = [Decimal(p) for p in points if p is not None]
    if not points:
        return None
    return (sum(points, Decimal(0)) / len(points)).quantize(CENT, rounding=ROUND_HALF_UP)


def final_score(stage1: Decimal | None, stage2: Decimal | None, has_stage2: bool
                ) -> Decimal | None:
    """Stage 1 + stage 2 where the call has a stage 2, else stage 1; ``None`` until known."""
    if stage1 is None:
        return None
    if not has_stage2:
        return stage1
    if stage2 is None:
        return None
    return (stage1 + stage2).quantize(CENT)


# --- stages ------------------------------------------------------------------------------

def stages_for(call) -> list:
    """The call's evaluation stages (the ``evaluation_stages`` hook), stage 1 first."""
    stages = current_app.extensions["mikrogranty.plugins"].hook.evaluation_stages(call=call)
    return sorted(stages or [], key=lambda s: s.number)


def has_stage2(stages) -> bool:
    return any(s.number == 2 for s in stages)


def pass_mark(stages) -> Decimal | None:
    first = next((s for s in stages if s.number == 1), None)
    return first.pass_mark if first is not None else None


def outcome(stages, scores: Scores, no_show: bool = False, pending: int = 0) -> str | None:
    """What the scores decide (pure): ``below_threshold``, ``invited`` (to stage II, no
    points yet), ``disqualified`` (no-show), ``ranked``, or ``None`` while stage 1 is not
    complete (no submitted card, or an assigned evaluator still to submit)."""
    if scores.stage1 is None or pending:
        return None
    mark = pass_mark(stages)
    if mark is not None and scores.stage1 < mark:
        return ApplicationStatus.BELOW_THRESHOLD.value
    if has_stage2(stages):
        if no_show:
            return ApplicationStatus.DISQUALIFIED.value
        if scores.stage2 is None:
            return ApplicationStatus.INVITED.value
    return ApplicationStatus.RANKED.value


# --- from the database -------------------------------------------------------------------

def score_sheets(call=None, application_ids=None) -> dict[int, ScoreSheet]:
    """The score sheets of a call's applications (or of ``application_ids``), by application
    id, in three queries whatever the number of applications.

    Stage 1 counts the submitted cards of assignments that were not recused; ``pending``
    counts assignments (not recused) whose card is not submitted.  Stage 2 counts the
    committee's points; any no-show row marks the application a no-show.
    """
    from core.evaluation.models import Assignment, CommitteeScore, ScoreCard

    def scoped(query, column):
        if application_ids is not None:
            return query.where(column.in_(list(application_ids)))
        return query.where(column.in_(
            db.select(Application.id).where(Application.call_id == call.id)))

    sheets: dict[int, ScoreSheet] = defaultdict(lambda: ScoreSheet([], []))
    rows = db.session.execute(scoped(
        db.select(Assignment.application_id, Assignment.stage, Assignment.status,
                  ScoreCard.total, ScoreCard.submitted_at)
        .outerjoin(ScoreCard, ScoreCard.assignment_id == Assignment.id)
        .where(Assignment.status != "recused"), Assignment.application_id))
    for application_id, stage, _status, total, submitted_at in rows:
        sheet = sheets[application_id]
        if submitted_at is None or total is None:
            sheet.pending += 1
        elif stage == 1:
            sheet.stage1_totals.append(total)
        elif stage == 2:
            sheet.stage2_points.append(total)
    rows = db.session.execute(scoped(
        db.select(CommitteeScore.application_id, CommitteeScore.points, CommitteeScore.no_show),
        CommitteeScore.application_id))
    for application_id, points, no_show in rows:
        sheet = sheets[application_id]
        if no_show:
            sheet.no_show = True
        elif points is not None:
            sheet.stage2_points.append(points)
    return dict(sheets)


def stage_scores(application: Application, stages=None) -> Scores:
    """``(stage1, stage2, final)`` of one application from its submitted cards and the
    committee's points (``None`` where there are none yet; a no-show has no stage 2)."""
    stages = stages if stages is not None else stages_for(application.call)
    sheet = score_sheets(application_ids=[application.id]).get(application.id) \
        or ScoreSheet([], [])
    return sheet.scores(has_stage2(stages))


def _store(application: Application, scores: Scores) -> None:
    application.stage1_score = scores.stage1
    application.stage2_score = scores.stage2
    application.final_score = scores.final


def recompute(application: Application, stages=None) -> Scores:
    """Compute the application's scores and store them on it (``stage1_score``,
    ``stage2_score``, ``final_score``); returns them."""
    scores = stage_scores(application, stages)
    _store(application, scores)
    return scores


#: The statuses scoring may move an application from (never after the allocation).
SCORING_STATUSES = (ApplicationStatus.ACCEPTED, ApplicationStatus.BELOW_THRESHOLD,
                    ApplicationStatus.INVITED, ApplicationStatus.DISQUALIFIED,
                    ApplicationStatus.RANKED)


def settle(application: Application, actor=None, stages=None, sheet: ScoreSheet | None = None
           ) -> str | None:
    """Recompute the scores and move the application to what they decide
    (``below_threshold``, ``invited``, ``disqualified`` or ``ranked``, through
    :func:`core.evaluation.transitions.set_status`).

    Only an application between its formal acceptance and the allocation moves; returns
    the status it holds afterwards, or ``None`` when stage 1 is not complete yet.
    """
    from core.evaluation.transitions import set_status

    stages = stages if stages is not None else stages_for(application.call)
    if sheet is None:
        sheet = score_sheets(application_ids=[application.id]).get(application.id) \
            or ScoreSheet([], [])
    scores = sheet.scores(has_stage2(stages))
    _store(application, scores)
    decided = outcome(stages, scores, sheet.no_show, sheet.pending)
    if decided is None or application.status not in SCORING_STATUSES:
        return decided
    changes = {"stage1_score": scores.stage1, "stage2_score": scores.stage2,
               "final_score": scores.final}
    if decided in (ApplicationStatus.RANKED, ApplicationStatus.DISQUALIFIED) \
            and has_stage2(stages) and application.status == ApplicationStatus.ACCEPTED:
        # Stage II comes after an invitation: the lifecycle passes through it.
        set_status(application, ApplicationStatus.INVITED, actor,
                   changes={"stage1_score": scores.stage1})
    if application.status != decided:
        set_status(application, decided, actor, changes=changes)
    return decided


def settle_call(call, actor=None) -> dict[int, str | None]:
    """:func:`settle` every application of ``call`` that scoring may move; by id."""
    stages = stages_for(call)
    sheets = score_sheets(call)
    applications = db.session.scalars(
        db.select(Application).where(Application.call_id == call.id,
                                     Application.status.in_(SCORING_STATUSES))
        .order_by(Application.id)).all()
    return {a.id: settle(a, actor, stages, sheets.get(a.id) or ScoreSheet([], []))
            for a in applications}
