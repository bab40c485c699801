"""The rule engine: facts in, violations out.

Rules are pure functions over plain facts (:class:`CallFacts`, :class:`ApplicationFacts`),
so the same rules judge an application typed into the generator and one read from an
interchange document.  Variants collect them through the ``check_application`` hook.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal


@dataclass(frozen=True)
class Violation:
    """A broken rule: its id (INTERCHANGE.md), a message people read, the field it concerns.

    ``field`` names the generator's field or step (``"requested"``, ``"budget"``,
    ``"budget.3.category"``, ``"applicant"``, ``"start"`` …); ``formal`` rules block
    submission, others only warn.
    """

    rule_id: str
    message: str
    field: str | None = None
    formal: bool = True


@dataclass(frozen=True)
class PersonFacts:
    key: str                      # identity: the interchange ref, or PESEL / name + birth date
    name: str = ""
    birth_date: dt.date | None = None
    aliases: tuple[str, ...] = ()  # other keys the person is known by (ref, name|birth date)

    @property
    def keys(self) -> frozenset[str]:
        return frozenset((self.key, *self.aliases))


@dataclass(frozen=True)
class ApplicantFacts:
    ref: str
    kind: str                     # ngo | group | person | public_institution
    name: str = ""
    legal_form: str | None = None
    registered_on: dt.date | None = None
    revenue_last_year: Decimal | None = None
    seat: str | None = None
    in_liquidation: bool = False
    board: tuple[PersonFacts, ...] = ()
    members: tuple[PersonFacts, ...] = ()
    representative: PersonFacts | None = None
    person: PersonFacts | None = None   # kind == "person"
    krs: str | None = None

    @property
    def identity(self) -> str:
        """What makes two applicant records the same: the KRS number, else the ref."""
        return f"krs:{self.krs}" if self.krs else self.ref

    @property
    def people(self) -> tuple[PersonFacts, ...]:
        """Everyone in the profile: the person, the representative, members and board."""
        found = [p for p in (self.person, self.representative) if p is not None]
        return tuple(found) + self.members + self.board

    @property
    def group_people(self) -> tuple[PersonFacts, ...]:
        """A group's members with its representative (once), in order."""
        people = list(self.members)
        if self.representative is not None and self.representative.key not in {
                p.key for p in people}:
            people.insert(0, self.representative)
        return tuple(people)


@dataclass(frozen=True)
class BudgetLineFacts:
    category: str
    item: str
    amount: Decimal


@dataclass(frozen=True)
class ApplicationFacts:
    ref: str
    applicant: ApplicantFacts
    realizer: ApplicantFacts          # the applicant itself when no realizer is named
    mode: str = "standard"
    submitted_at: dt.datetime | None = None   # aware; None for a draft (judged as of now)
    title: str = ""
    requested: Decimal | None = None
    budget: tuple[BudgetLineFacts, ...] = ()
    contribution: dict = field(default_factory=dict)   # kind → Decimal
    start: dt.date | None = None
    end: dt.date | None = None
    place: dict = field(default_factory=dict)
    claims_young_ngo: bool = False
    has_realizer: bool = False        # a realizer other than the applicant was named


@dataclass(frozen=True)
class CallFacts:
    ref: str
    variant: str
    params: dict                      # as stored: money strings, ISO dates, lists
    deadline_at: dt.datetime | None = None   # aware UTC instant
    # Person keys of the operator's staff (``params["operator_staff"]`` resolved to people).
    staff_keys: frozenset[str] = frozenset()


@dataclass
class CheckContext:
    """What a rule across applications needs: the call's other applications."""

    others: list[ApplicationFacts] = field(default_factory=list)
    now: dt.datetime | None = None    # the instant a draft is judged at (default: now)
