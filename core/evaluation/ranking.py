"""The ranking: the order in which allocation walks the scored applications.

DOMAIN.md, "Engine conventions": final score desc, then stage-2 points desc, stage-1 desc,
submission time asc, application ref asc.  Pure: :class:`Entry` holds what the engine
needs of an application (no database, no request), :func:`rank` sorts and numbers them.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)


@dataclass(slots=True)
class Entry:
    """One scored application as the ranking and the allocation see it.

    ``realizer``: the key of who carries the project out (the applicant when no realizer
    is named), for one grant per realizer.  ``amount``: what it would receive when funded
    (``requested``, or the committee's ``award``).  ``area``: the key of its area quota,
    ``subpool``: the key of the sub-pool it draws on (``None``: none).  ``withdrawn``: it
    keeps its place in the ranking but gets nothing.  ``rank`` is set by :func:`rank`.
    """

    ref: str
    final: Decimal
    amount: Decimal
    submitted_at: dt.datetime | None = None
    stage1: Decimal | None = None
    stage2: Decimal | None = None
    application_id: int | None = None
    realizer: str | None = None
    requested: Decimal | None = None
    area: str | None = None
    subpool: str | None = None
    withdrawn: bool = False
    status: str | None = None
    rank: int | None = None
    extra: dict = field(default_factory=dict)


def _desc(value: Decimal | None) -> tuple:
    # Higher first; a missing score (no stage 2) after any given one.
    return (value is None, -(value if value is not None else Decimal(0)))


def order_key(entry: Entry) -> tuple:
    """The sort key of the ranking order (best first)."""
    submitted = entry.submitted_at
    if submitted is not None and submitted.tzinfo is None:
        submitted = submitted.replace(tzinfo=dt.timezone.utc)
    return (_desc(entry.final), _desc(entry.stage2), _desc(entry.stage1),
            submitted is None, submitted or _EPOCH, entry.ref)


def rank(entries) -> list[Entry]:
    """The entries best first, each with its ``rank`` (1 first) set.

    Withdrawn entries keep their place (and number): the ranking is the one the
    committee approved, and a resignation does not renumber it.
    """
    ranked = sorted(entries, key=order_key)
    for place, entry in enumerate(ranked, start=1):
        entry.rank = place
    return ranked
