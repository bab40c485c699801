"""A call's results in the interchange form (INTERCHANGE.md, "Results").

``call_results(call)`` reads what is stored on the applications (statuses, scores, ranks,
amounts, reserve positions, rules) and writes, per status, exactly the keys the format
lists: funded — status, rank, score, amount; reserve — status, rank, score,
reserve_position (and rules when a quota holds it back); excluded — status, rank, score,
rules; below_threshold — status and the stage-1 score; rejected — status and every
broken rule; disqualified and withdrawn — status.  ``ranking`` lists the ranked
applications best first (a withdrawn one keeps its place).  Money and scores are strings
with two decimals.
"""
from __future__ import annotations

from decimal import Decimal

from core.applications.models import Application, ApplicationStatus
from core.db import db

ZERO = Decimal("0.00")


def _money(value: Decimal | None) -> str | None:
    return None if value is None else f"{Decimal(value):.2f}"


def entry(status: str, rank: int | None = None, score: Decimal | None = None,
          stage1: Decimal | None = None, amount: Decimal | None = None,
          reserve_position: int | None = None, rules=None) -> dict:
    """One application's results entry, with the keys its status carries (pure)."""
    status = str(status)
    if status == ApplicationStatus.REJECTED:
        return {"status": status, "rules": list(rules or [])}
    if status == ApplicationStatus.BELOW_THRESHOLD:
        return {"status": status, "score": _money(stage1)}
    if status in (ApplicationStatus.DISQUALIFIED, ApplicationStatus.WITHDRAWN):
        return {"status": status}
    if status == ApplicationStatus.FUNDED:
        return {"status": status, "rank": rank, "score": _money(score),
                "amount": _money(amount)}
    if status == ApplicationStatus.RESERVE:
        found = {"status": status, "rank": rank, "score": _money(score),
                 "reserve_position": reserve_position}
        if rules:
            found["rules"] = list(rules)
        return found
    if status == ApplicationStatus.EXCLUDED:
        return {"status": status, "rank": rank, "score": _money(score),
                "rules": list(rules or [])}
    # Still in evaluation (submitted, accepted, invited, ranked): what is known so far.
    found = {"status": status}
    if rank is not None:
        found["rank"] = rank
    if score is not None:
        found["score"] = _money(score)
    elif stage1 is not None:
        found["score"] = _money(stage1)
    return found


def call_results(call) -> dict:
    """The results of ``call`` in the interchange form (one query for the applications)."""
    from core.rules.engine import call_pool

    rows = db.session.execute(
        db.select(Application.id, Application.ref, Application.status, Application.rules,
                  Application.stage1_score, Application.final_score, Application.rank,
                  Application.allocated, Application.reserve_position)
        .where(Application.call_id == call.id,
               Application.status != ApplicationStatus.DRAFT)
        .order_by(Application.submitted_at, Application.id)).all()
    pool = call_pool(call)
    allocated = sum((r.allocated or ZERO for r in rows
                     if r.status == ApplicationStatus.FUNDED), ZERO)
    applications = {}
    for row in rows:
        applications[row.ref or f"#{row.id}"] = entry(
            row.status, rank=row.rank, score=row.final_score, stage1=row.stage1_score,
            amount=row.allocated, reserve_position=row.reserve_position, rules=row.rules)
    ranking = [row.ref or f"#{row.id}" for row in sorted(
        (r for r in rows if r.rank is not None), key=lambda r: r.rank)]
    return {
        "call": call.ref,
        "pool": _money(pool),
        "allocated": _money(allocated),
        "unallocated": _money(pool - allocated) if pool is not None else None,
        "ranking": ranking,
        "applications": applications,
    }


def stage1_list(call) -> list[dict]:
    """The stage-I list (LPM publishes it before the interviews): the applications scored
    at stage 1, by stage-1 score desc (then submission, ref), with their status
    (``invited`` or ``below_threshold``, or where they went since)."""
    rows = db.session.execute(
        db.select(Application.id, Application.ref, Application.title, Application.status,
                  Application.stage1_score, Application.submitted_at)
        .where(Application.call_id == call.id, Application.stage1_score.is_not(None))).all()
    rows = sorted(rows, key=lambda r: (-r.stage1_score, r.submitted_at is None,
                                       r.submitted_at, r.ref or ""))
    return [{"application_id": r.id, "ref": r.ref or f"#{r.id}", "title": r.title,
             "status": str(r.status), "score": _money(r.stage1_score),
             "passed": r.status != ApplicationStatus.BELOW_THRESHOLD} for r in rows]
