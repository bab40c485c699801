"""Allocation: walking the ranking to decide funded / reserve / excluded, and resignations.

DOMAIN.md, "Engine conventions" and "Awards, allocation, resignations" are the contract.
For each project, in ranking order:

1. its realizer already has a funded project (where one grant per realizer applies) →
   ``excluded`` with ``realizer.already_funded``, for good;
2. its sub-pool (e.g. Działaj Lokalnie's ``large_town_pool``, a cap inside the main pool)
   or its area quota (Wrocław's ``area_quotas[area]``, a number of projects) has too
   little left → ``reserve`` with ``pool.area_quota``, and the walk goes on;
3. the main pool, under the call's ``cutoff_policy``: ``STOP`` (the first project that
   does not fit ends funding: it and all below go to the reserve), ``SKIP_TO_FIT`` (a
   project that does not fit goes to the reserve, lower ones that fit are funded),
   ``PARTIAL_LAST`` (the first one that does not fit is offered what is left when that is
   > 0 and ≥ ``amount_min`` — any positive rest without ``amount_min`` — and funding ends
   all the same).  After funding ends, checks 1 and 2 still decide excluded vs reserve.

A resignation returns the money (and the quota), then walks the reserve from its top with
a fresh policy state; excluded projects stay excluded; a reserve project that withdraws
just leaves the list.  A withdrawn application keeps its place in the ranking.

The walk itself (:func:`walk`, :func:`resign_walk`) is pure; :func:`allocate_call`,
:func:`resign` and :func:`apply` read and write the database and call the ``allocate``
hook (core's default, in :mod:`core.plugins.defaults`, is :func:`walk`).
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field
from decimal import Decimal

from flask import current_app

from core.applications.models import Application, ApplicationStatus
from core.audit.operations import record
from core.db import db

from .ranking import Entry, rank

STOP, SKIP_TO_FIT, PARTIAL_LAST = "STOP", "SKIP_TO_FIT", "PARTIAL_LAST"
POLICIES = (STOP, SKIP_TO_FIT, PARTIAL_LAST)
AREA_QUOTA = "pool.area_quota"
ALREADY_FUNDED = "realizer.already_funded"
LARGE_TOWN = "large_town"

FUNDED, RESERVE, EXCLUDED, WITHDRAWN = "funded", "reserve", "excluded", "withdrawn"
ZERO = Decimal("0.00")


# --- the pure engine ---------------------------------------------------------------------

@dataclass(frozen=True)
class Limits:
    """What a call's allocation must respect: the pool, the policy, the smallest grant,
    sub-pool caps (key → money), area quotas (key → number of projects) and whether a
    realizer may receive one grant only."""

    pool: Decimal
    policy: str = STOP
    amount_min: Decimal | None = None
    subpools: dict = field(default_factory=dict)
    quotas: dict = field(default_factory=dict)
    one_grant_per_realizer: bool = False

    def __post_init__(self):
        if self.policy not in POLICIES:
            raise ValueError(f"unknown cut-off policy {self.policy!r} (one of: "
                             f"{', '.join(POLICIES)})")


@dataclass
class AllocationState:
    """Where a walk stands: the policy, money left in the pool and in each sub-pool, the
    quota left in each area, the realizers funded so far, and whether funding has ended."""

    policy: str
    remaining: Decimal
    subpools_left: dict = field(default_factory=dict)
    quotas_left: dict = field(default_factory=dict)
    funded_realizers: dict = field(default_factory=dict)   # realizer → funded projects
    stopped: bool = False

    @classmethod
    def fresh(cls, limits: Limits, policy: str | None = None) -> AllocationState:
        """Nothing spent yet (a first allocation, or a "what if" under ``policy``)."""
        policy = policy or limits.policy
        Limits(limits.pool, policy)   # checks the policy's name
        return cls(policy=policy, remaining=limits.pool, subpools_left=dict(limits.subpools),
                   quotas_left=dict(limits.quotas))

    @classmethod
    def after(cls, limits: Limits, funded: list[tuple[Entry, Decimal]],
              policy: str | None = None) -> AllocationState:
        """What is left once ``funded`` (entry, amount) pairs are paid, with a fresh policy
        state: the start of a reserve walk."""
        state = cls.fresh(limits, policy)
        for entry, amount in funded:
            state.take(entry, amount)
        return state

    def take(self, entry: Entry, amount: Decimal) -> None:
        self.remaining -= amount
        if entry.subpool in self.subpools_left:
            self.subpools_left[entry.subpool] -= amount
        if entry.area in self.quotas_left:
            self.quotas_left[entry.area] -= 1
        if entry.realizer is not None:
            self.funded_realizers[entry.realizer] = \
                self.funded_realizers.get(entry.realizer, 0) + 1


@dataclass
class Outcome:
    """What the allocation decided for one ranked application."""

    status: str
    amount: Decimal | None = None          # funded: the amount granted
    reserve_position: int | None = None    # reserve: 1 first
    rules: list[str] = field(default_factory=list)
    partial: bool = False                  # funded with less than its amount (PARTIAL_LAST)

    def as_dict(self) -> dict:
        return {"status": self.status, "amount": self.amount,
                "reserve_position": self.reserve_position, "rules": list(self.rules),
                "partial": self.partial}


@dataclass
class Allocation:
    """The result of a walk: the ranking (best first; withdrawn entries keep their place)
    and an :class:`Outcome` per entry, by ref; ``state`` is where the walk ended."""

    policy: str
    pool: Decimal
    ranking: list[Entry]
    outcomes: dict[str, Outcome]
    state: AllocationState | None = None
    #: Applications outside the ranking that withdraw with this change (by id).
    withdrawing: list[int] = field(default_factory=list)

    def __getitem__(self, ref: str) -> Outcome:
        return self.outcomes[ref]

    def outcome(self, entry: Entry) -> Outcome:
        return self.outcomes[entry.ref]

    def entries(self, status: str) -> list[Entry]:
        """The entries with ``status``, best first (the reserve in its order)."""
        found = [e for e in self.ranking if e.ref in self.outcomes
                 and self.outcomes[e.ref].status == status]
        if status == RESERVE:
            found.sort(key=lambda e: self.outcomes[e.ref].reserve_position or 0)
        return found

    @property
    def funded(self) -> list[Entry]:
        return self.entries(FUNDED)

    @property
    def reserve(self) -> list[Entry]:
        return self.entries(RESERVE)

    @property
    def excluded(self) -> list[Entry]:
        return self.entries(EXCLUDED)

    @property
    def allocated(self) -> Decimal:
        return sum((o.amount or ZERO for o in self.outcomes.values() if o.status == FUNDED),
                   ZERO)

    @property
    def unallocated(self) -> Decimal:
        return self.pool - self.allocated

    def number_reserve(self) -> None:
        """Number the reserve list 1, 2, … in ranking order."""
        position = 0
        for entry in self.ranking:
            outcome = self.outcomes.get(entry.ref)
            if outcome is None:
                continue
            if outcome.status == RESERVE:
                position += 1
                outcome.reserve_position = position
            else:
                outcome.reserve_position = None

    def summary(self) -> dict:
        """Counts and money, for a "what if" table."""
        return {"policy": self.policy, "pool": self.pool, "allocated": self.allocated,
                "unallocated": self.unallocated, "funded": len(self.funded),
                "reserve": len(self.reserve), "excluded": len(self.excluded)}


def walk(ranking: list[Entry], limits: Limits, state: AllocationState | None = None
         ) -> Allocation:
    """Walk ``ranking`` (best first) and decide each entry (pure).

    ``state``: where to start from (money, quotas and realizers already taken, and the
    policy); ``None`` starts fresh under ``limits.policy``.  Withdrawn entries are
    ``withdrawn`` and take nothing.  Reserve positions are numbered in ranking order.
    """
    state = copy.deepcopy(state) if state is not None else AllocationState.fresh(limits)
    outcomes: dict[str, Outcome] = {}
    for entry in ranking:
        outcomes[entry.ref] = _decide(entry, limits, state)
    allocation = Allocation(policy=state.policy, pool=limits.pool, ranking=list(ranking),
                            outcomes=outcomes, state=state)
    allocation.number_reserve()
    return allocation


def _decide(entry: Entry, limits: Limits, state: AllocationState) -> Outcome:
    if entry.withdrawn:
        return Outcome(WITHDRAWN)
    if limits.one_grant_per_realizer and entry.realizer is not None \
            and state.funded_realizers.get(entry.realizer):
        return Outcome(EXCLUDED, rules=[ALREADY_FUNDED])
    amount = entry.amount
    if entry.subpool in state.subpools_left and state.subpools_left[entry.subpool] < amount:
        return Outcome(RESERVE, rules=[AREA_QUOTA])
    if entry.area in state.quotas_left and state.quotas_left[entry.area] < 1:
        return Outcome(RESERVE, rules=[AREA_QUOTA])
    if state.stopped:
        return Outcome(RESERVE)
    if amount <= state.remaining:
        state.take(entry, amount)
        return Outcome(FUNDED, amount=amount)
    if state.policy == SKIP_TO_FIT:
        return Outcome(RESERVE)
    state.stopped = True
    if state.policy == PARTIAL_LAST:
        rest = state.remaining
        if rest > 0 and (limits.amount_min is None or rest >= limits.amount_min):
            state.take(entry, rest)
            return Outcome(FUNDED, amount=rest, partial=True)
    return Outcome(RESERVE)


def resign_walk(allocation: Allocation, ref: str, limits: Limits, walker=None) -> Allocation:
    """The allocation after the application ``ref`` resigns (pure).

    A funded project returns its money (and quota), then the reserve is walked from its
    top with a fresh policy state by ``walker(entries, state)`` (default :func:`walk` with
    ``limits``); a reserve project just leaves the list; any other is marked withdrawn
    and nothing is re-allocated.  Excluded projects stay excluded.
    """
    if walker is None:
        def walker(entries, state):
            return walk(entries, limits, state)

    outcomes = {key: copy.copy(o) for key, o in allocation.outcomes.items()}
    before = outcomes.get(ref)
    outcomes[ref] = Outcome(WITHDRAWN)
    result = Allocation(policy=allocation.policy, pool=allocation.pool,
                        ranking=list(allocation.ranking), outcomes=outcomes,
                        state=allocation.state, withdrawing=list(allocation.withdrawing))
    if before is not None and before.status == FUNDED:
        funded = [(e, outcomes[e.ref].amount) for e in result.ranking
                  if outcomes.get(e.ref) is not None and outcomes[e.ref].status == FUNDED]
        state = AllocationState.after(limits, funded, allocation.policy)
        reserve = sorted((e for e in result.ranking if e.ref in outcomes
                          and outcomes[e.ref].status == RESERVE),
                         key=lambda e: (outcomes[e.ref].reserve_position or 0, e.rank or 0))
        walked = walker(reserve, state)
        for entry in reserve:
            outcomes[entry.ref] = copy.copy(walked.outcomes[entry.ref])
        result.state = walked.state
    result.number_reserve()
    return result


# --- the call's limits and entries, from the database ------------------------------------

def _decimal(value) -> Decimal | None:
    from core.rules.values import to_decimal

    return to_decimal(value)


def limits_for(call, pool: Decimal | None = None, policy: str | None = None) -> Limits:
    """The :class:`Limits` a call's parameters set (DOMAIN.md names them):
    ``cutoff_policy`` (STOP by default), ``amount_min``, ``large_town_pool`` (a sub-pool for
    places above ``large_town_population``), ``area_quotas`` and
    ``one_grant_per_realizer``."""
    from core.rules.engine import call_pool

    params = call.params or {}
    pool = pool if pool is not None else (call_pool(call) or ZERO)
    subpools = {}
    if params.get("large_town_pool") is not None:
        subpools[LARGE_TOWN] = _decimal(params["large_town_pool"])
    quotas = {str(area): int(count) for area, count in (params.get("area_quotas") or {}).items()}
    return Limits(pool=pool, policy=policy or str(params.get("cutoff_policy") or STOP).upper(),
                  amount_min=_decimal(params.get("amount_min")), subpools=subpools,
                  quotas=quotas, one_grant_per_realizer=bool(params.get("one_grant_per_realizer")))


#: The statuses of applications that stand in the ranking.
RANKED_STATUSES = (ApplicationStatus.RANKED, ApplicationStatus.FUNDED, ApplicationStatus.RESERVE,
                   ApplicationStatus.EXCLUDED)


def _subpool(params: dict, place: dict) -> str | None:
    if params.get("large_town_pool") is None:
        return None
    population = place.get("population")
    limit = params.get("large_town_population", 20000)
    if isinstance(population, int) and not isinstance(population, bool) \
            and population > int(limit):
        return LARGE_TOWN
    return None


def _realizer_key(realizer_id: int | None, applicant_id: int | None) -> str | None:
    """Who carries the project out: the realizer's profile, else the applicant's."""
    profile = realizer_id or applicant_id
    return f"profile:{profile}" if profile is not None else None


def gather_entries(call) -> list[Entry]:
    """The call's ranked applications as entries (not yet sorted), in two queries.

    In the ranking: applications scored and ranked (``ranked``, ``funded``, ``reserve``,
    ``excluded``) and those withdrawn after the allocation (they keep their place).  The
    amount is the award where the committee granted less (an award the applicant
    declined makes the entry withdrawn).
    """
    from .models import Award

    params = call.params or {}
    quotas = params.get("area_quotas") or {}
    rows = db.session.execute(
        db.select(Application.id, Application.ref, Application.status, Application.requested,
                  Application.final_score, Application.stage1_score,
                  Application.stage2_score, Application.submitted_at, Application.place,
                  Application.applicant_id, Application.realizer_id, Application.rank,
                  Application.allocated, Application.reserve_position, Application.rules)
        .where(Application.call_id == call.id, Application.final_score.is_not(None))
        .where(Application.status.in_(RANKED_STATUSES)
               | ((Application.status == ApplicationStatus.WITHDRAWN)
                  & Application.rank.is_not(None)))).all()
    awards = {application_id: (amount, status) for application_id, amount, status in
              db.session.execute(db.select(Award.application_id, Award.amount, Award.status)
                                 .where(Award.application_id.in_([r.id for r in rows])))} \
        if rows else {}
    entries = []
    for row in rows:
        place = row.place or {}
        amount = row.requested or ZERO
        withdrawn = row.status == ApplicationStatus.WITHDRAWN
        award = awards.get(row.id)
        if award is not None:
            if award[1] == "declined":
                withdrawn = True
            else:
                amount = min(amount, award[0]) if row.requested is not None else award[0]
        area = place.get("area") if quotas and place.get("area") in quotas else None
        entries.append(Entry(
            ref=row.ref or f"#{row.id}", final=row.final_score, amount=amount,
            submitted_at=row.submitted_at, stage1=row.stage1_score, stage2=row.stage2_score,
            application_id=row.id, realizer=_realizer_key(row.realizer_id, row.applicant_id),
            requested=row.requested, area=area, subpool=_subpool(params, place),
            withdrawn=withdrawn, status=str(row.status), rank=row.rank,
            extra={"allocated": row.allocated, "reserve_position": row.reserve_position,
                   "rules": row.rules}))
    return entries


def _pm():
    return current_app.extensions["mikrogranty.plugins"]


def _pool(call) -> Decimal:
    from core.rules.engine import call_pool

    return call_pool(call) or ZERO


def allocate_call(call, policy: str | None = None) -> Allocation:
    """Rank the call's scored applications and allocate its pool (the ``allocate`` hook).

    ``policy`` overrides the call's ``cutoff_policy`` (the "what if" view).  Nothing is
    written; :func:`apply` stores an allocation.
    """
    ranking = rank(gather_entries(call))
    pool = _pool(call)
    state = None
    if policy is not None:
        state = AllocationState.fresh(limits_for(call, pool), policy.upper())
    allocation = _pm().hook.allocate(call=call, ranking=ranking, pool=pool, state=state)
    if allocation is None:
        raise RuntimeError(f"no plugin allocated the call {call.ref}")
    return allocation


def compare_policies(call) -> dict[str, Allocation]:
    """The allocation under each cut-off policy, for the "what if" view."""
    return {policy: allocate_call(call, policy) for policy in POLICIES}


def current_allocation(call) -> Allocation:
    """The allocation as stored on the applications (after :func:`apply`)."""
    entries = gather_entries(call)
    ranking = sorted(entries, key=lambda e: e.rank) \
        if all(e.rank is not None for e in entries) else rank(entries)
    outcomes = {}
    for entry in ranking:
        # The stored status decides (an entry marked withdrawn only because its award was
        # just declined is still funded or in reserve until its resignation is applied).
        status = entry.status
        if status == ApplicationStatus.RANKED:
            continue   # ranked, not allocated yet
        stored = entry.extra
        amount = stored.get("allocated") if status == FUNDED else None
        outcomes[entry.ref] = Outcome(
            status=status, amount=amount,
            reserve_position=stored.get("reserve_position") if status == RESERVE else None,
            rules=list(stored.get("rules") or []) if status in (RESERVE, EXCLUDED) else [],
            partial=amount is not None and amount < entry.amount)
    limits = limits_for(call)
    return Allocation(policy=limits.policy, pool=limits.pool, ranking=ranking,
                      outcomes=outcomes)


def resign(call, application: Application) -> Allocation:
    """The allocation after ``application`` resigns (or declines), from the stored one: the
    money returns and the reserve is walked under the call's policy (the ``allocate``
    hook, given the state to continue from).  Nothing is written; :func:`apply` stores it.

    An application that is neither funded nor in the reserve is just marked withdrawn
    and nothing is re-allocated.
    """
    current = current_allocation(call)
    ref = application.ref or f"#{application.id}"
    limits = limits_for(call)

    def walker(entries, state):
        return _pm().hook.allocate(call=call, ranking=entries, pool=limits.pool, state=state)

    if not any(e.ref == ref for e in current.ranking):
        current.withdrawing.append(application.id)
        return current
    return resign_walk(current, ref, limits, walker)


# --- writing -----------------------------------------------------------------------------

@dataclass
class Change:
    """What :func:`apply` changed on one application (for notices to the applicant)."""

    application: Application
    old_status: str
    new_status: str
    old_amount: Decimal | None
    new_amount: Decimal | None
    old_position: int | None
    new_position: int | None


def apply(call, allocation: Allocation, actor=None) -> list[Change]:
    """Store ``allocation`` on the call's applications: status (through
    :func:`core.evaluation.transitions.set_status`), rank, amount allocated, reserve
    position and rules, each change audited; a ``call.allocated`` event sums it up (when
    anything changed).

    Returns the :class:`Change` of every application whose status, amount or reserve
    position changed, in ranking order (applying the same allocation twice changes
    nothing and returns ``[]``).
    """
    from .transitions import set_status

    ids = [e.application_id for e in allocation.ranking if e.application_id is not None]
    applications = {a.id: a for a in db.session.scalars(
        db.select(Application).where(Application.id.in_(ids)))} if ids else {}
    changes = []
    for entry in allocation.ranking:
        application = applications.get(entry.application_id)
        outcome = allocation.outcomes.get(entry.ref)
        if application is None or outcome is None:
            continue
        old = (str(application.status), application.allocated, application.reserve_position)
        amount = outcome.amount if outcome.status == FUNDED else None
        position = outcome.reserve_position if outcome.status == RESERVE else None
        rules = list(outcome.rules) if outcome.status in (RESERVE, EXCLUDED) else []
        if outcome.status == WITHDRAWN and old[0] == WITHDRAWN:
            rules = list(application.rules or [])
        application.rank = entry.rank
        audit = {}
        if old[1] != amount:
            audit["allocated"] = [old[1], amount]
        if old[2] != position:
            audit["reserve_position"] = [old[2], position]
        application.allocated = amount
        application.reserve_position = position
        moved = set_status(application, outcome.status, actor, rules=rules,
                           changes={"rank": entry.rank, **audit, "policy": allocation.policy})
        if not moved and audit:
            record("application.allocation_changed", application, actor=actor,
                   changes={"rank": entry.rank, **audit})
        if moved or audit:
            changes.append(Change(application, old[0], outcome.status, old[1], amount,
                                  old[2], position))
    for application in db.session.scalars(db.select(Application).where(
            Application.id.in_(allocation.withdrawing))) if allocation.withdrawing else ():
        if application.status == ApplicationStatus.WITHDRAWN:
            continue
        old_status = str(application.status)
        set_status(application, WITHDRAWN, actor)
        changes.append(Change(application, old_status, WITHDRAWN, application.allocated,
                              application.allocated, application.reserve_position,
                              application.reserve_position))
    if not changes:
        return changes
    record("call.allocated", call, actor=actor, changes={
        "policy": allocation.policy, "pool": allocation.pool,
        "allocated": allocation.allocated, "unallocated": allocation.unallocated,
        "funded": len(allocation.funded), "reserve": len(allocation.reserve),
        "excluded": len(allocation.excluded)})
    db.session.flush()
    return changes
