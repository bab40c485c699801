"""Reading a ``mikrogranty/call@1`` document (INTERCHANGE.md): every problem, by its place.

:func:`read_call_document` checks the whole document before anything is stored and
returns it parsed (money as ``Decimal``, dates and aware datetimes); a malformed document
raises :class:`DocumentError` listing each problem as ``path: what is wrong``, e.g.
``applications[3].budget[1].amount: not a number``.
"""
from __future__ import annotations

import json

import datetime as dt
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from core.applicants.models import LEGAL_FORMS, ApplicantKind
from core.applications.models import BUDGET_CATEGORIES, CONTRIBUTION_KINDS

CALL_FORMAT = "mikrogranty/call@1"
EVENT_FORMAT = "mikrogranty/event@1"

_MONEY = re.compile(r"^-?\d+\.\d{2}$")
_KRS = re.compile(r"^\d{10}$")
MODES = ("standard", "dl_initiative")
EVENT_TYPES = ("award", "resignation")

# Parameters whose type the format fixes (others are the variant's and checked by its form).
MONEY_PARAMS = ("pool", "municipality_budget", "amount_min", "amount_max",
                "young_ngo_amount_max", "young_ngo_max_revenue", "large_town_pool")
DATE_PARAMS = ("deadline", "realization_start", "realization_end", "window_start",
               "window_end")
NUMBER_PARAMS = ("operator_fee_percent", "admin_max_percent", "contribution_total_percent",
                 "contribution_financial_percent", "young_ngo_max_age_months",
                 "min_group_members", "duration_min_months", "duration_max_months",
                 "stage1_max_points", "stage2_max_points", "stage1_pass_mark", "min_age",
                 "large_town_population")
LIST_PARAMS = ("eligible_gminas", "operator_staff", "forbidden_categories", "excluded_osiedla",
               "excluded_legal_forms")


class DocumentError(ValueError):
    """A document that cannot be imported; ``problems`` lists ``path: what is wrong``."""

    def __init__(self, problems):
        if isinstance(problems, str):
            problems = [problems]
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


@dataclass
class Person:
    ref: str
    name: str
    birth_date: dt.date | None = None
    pesel: str | None = None


@dataclass
class Applicant:
    ref: str
    kind: str
    name: str = ""
    legal_form: str | None = None
    krs: str | None = None
    registered_on: dt.date | None = None
    revenue_last_year: Decimal | None = None
    seat: str | None = None
    in_liquidation: bool = False
    board: list[str] = field(default_factory=list)
    members: list[str] = field(default_factory=list)
    representative: str | None = None
    person: str | None = None


@dataclass
class BudgetLine:
    category: str
    item: str
    amount: Decimal


@dataclass
class Application:
    index: int
    ref: str
    applicant: str
    realizer: str | None
    mode: str
    submitted_at: dt.datetime
    title: str
    requested: Decimal
    budget: list[BudgetLine]
    contribution: dict[str, Decimal]
    start: dt.date | None
    end: dt.date | None
    place: dict
    claims_young_ngo: bool
    raw: dict


@dataclass
class Evaluation:
    index: int
    application: str
    stage: int
    evaluator: str | None
    points: Decimal | None
    no_show: bool = False
    criteria: dict | None = None


@dataclass
class Event:
    index: int
    type: str
    application: str
    amount: Decimal | None = None


@dataclass
class CallDocument:
    ref: str
    title: str
    variant: str
    params: dict
    people: list[Person]
    applicants: list[Applicant]
    applications: list[Application]
    evaluations: list[Evaluation] | None   # None: the document has no evaluations at all
    events: list[Event]
    raw: dict


class _Reader:
    """Collects every problem of a document; each ``take_*`` returns a parsed value or None."""

    def __init__(self):
        self.problems: list[str] = []

    def fail(self, path: str, message: str) -> None:
        self.problems.append(f"{path}: {message}")

    # --- values ---------------------------------------------------------------------

    def obj(self, value, path, required=True) -> dict | None:
        if value is None:
            if required:
                self.fail(path, "missing")
            return None
        if not isinstance(value, dict):
            self.fail(path, "must be an object")
            return None
        return value

    def array(self, value, path, required=False) -> list:
        if value is None:
            if required:
                self.fail(path, "missing")
            return []
        if not isinstance(value, list):
            self.fail(path, "must be a list")
            return []
        return value

    def text(self, data: dict, key: str, path: str, required=True, max_length=None) -> str | None:
        value = data.get(key)
        where = f"{path}.{key}"
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                self.fail(where, "missing")
            return None
        if not isinstance(value, str):
            self.fail(where, "must be a string")
            return None
        if max_length and len(value) > max_length:
            self.fail(where, f"too long ({max_length} characters at most)")
            return None
        return value.strip()

    def money(self, value, where: str, required=True, negative=False) -> Decimal | None:
        if value is None:
            if required:
                self.fail(where, "missing")
            return None
        if isinstance(value, bool) or not isinstance(value, str):
            if isinstance(value, (int, float)):
                self.fail(where, f'money is a string with two decimals, e.g. "4000.00", '
                                 f'never a number ({value!r})')
            else:
                self.fail(where, "not a number")
            return None
        text = value.strip()
        try:
            amount = Decimal(text)
        except InvalidOperation:
            self.fail(where, "not a number")
            return None
        if not amount.is_finite():
            self.fail(where, "not a number")
            return None
        if not _MONEY.match(text):
            self.fail(where, f'money needs exactly two decimals, e.g. "4000.00" (got "{value}")')
            return None
        if amount < 0 and not negative:
            self.fail(where, "must not be negative")
            return None
        return amount

    def number(self, value, where: str, required=False, integer=False) -> Decimal | None:
        """A number given as an integer or a string (points, percentages); never a float."""
        if value is None:
            if required:
                self.fail(where, "missing")
            return None
        if isinstance(value, bool) or isinstance(value, float):
            self.fail(where, "give an integer or a string, e.g. \"12.5\" (floats are refused)")
            return None
        if isinstance(value, int):
            return Decimal(value)
        if not isinstance(value, str):
            self.fail(where, "not a number")
            return None
        try:
            number = Decimal(value.strip())
        except InvalidOperation:
            self.fail(where, "not a number")
            return None
        if not number.is_finite():
            self.fail(where, "not a number")
            return None
        if integer and number != number.to_integral_value():
            self.fail(where, "must be a whole number")
            return None
        return number

    def date(self, value, where: str, required=False) -> dt.date | None:
        if value is None:
            if required:
                self.fail(where, "missing")
            return None
        if not isinstance(value, str):
            self.fail(where, "must be a date as a string, e.g. \"2025-03-31\"")
            return None
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            self.fail(where, f"not a date (YYYY-MM-DD): \"{value}\"")
            return None

    def instant(self, value, where: str, required=True) -> dt.datetime | None:
        if value is None:
            if required:
                self.fail(where, "missing")
            return None
        if not isinstance(value, str):
            self.fail(where, "must be a date and time as a string, e.g. "
                             "\"2025-03-12T09:00:00+01:00\"")
            return None
        try:
            instant = dt.datetime.fromisoformat(value)
        except ValueError:
            self.fail(where, f"not an ISO 8601 date and time: \"{value}\"")
            return None
        if instant.tzinfo is None or instant.utcoffset() is None:
            self.fail(where, f"needs its offset, e.g. \"{value}+01:00\"")
            return None
        return instant

    def boolean(self, data: dict, key: str, path: str) -> bool:
        value = data.get(key, False)
        if value is None:
            return False
        if not isinstance(value, bool):
            self.fail(f"{path}.{key}", "must be true or false")
            return False
        return value

    def one_of(self, value, choices, where: str, required=True, what="value") -> str | None:
        if value is None:
            if required:
                self.fail(where, "missing")
            return None
        if value not in choices:
            self.fail(where, f"unknown {what} {value!r} (one of: {', '.join(choices)})")
            return None
        return value


def member(path: str, key: str) -> str:
    """The path of ``key`` inside ``path``: ``a.b`` for a plain name, ``a["odd key"]`` else."""
    if re.fullmatch(r"[A-Za-z_]\w*", key or ""):
        return f"{path}.{key}"
    return f"{path}[{json.dumps(key, ensure_ascii=False)}]"


def read_call_document(data, variants=None) -> CallDocument:
    """Check and parse a call@1 document.

    ``variants``: the variant keys that may be imported (installed and enabled); ``None``
    skips that check.  Raises :class:`DocumentError` naming every problem.
    """
    r = _Reader()
    if not isinstance(data, dict):
        raise DocumentError("document: must be a JSON object")
    fmt = data.get("format")
    if fmt != CALL_FORMAT:
        if fmt == EVENT_FORMAT:
            raise DocumentError(f"format: \"{EVENT_FORMAT}\" documents are imported with "
                                f"`flask events import`")
        raise DocumentError(f"format: expected \"{CALL_FORMAT}\", got {fmt!r}")

    refs: dict[str, str] = {}

    def claim(ref, where):
        if ref is None:
            return
        if ref in refs:
            r.fail(where, f"duplicate ref \"{ref}\" (also at {refs[ref]})")
        else:
            refs[ref] = where

    # call
    call = r.obj(data.get("call"), "call") or {}
    call_ref = r.text(call, "ref", "call", max_length=80)
    claim(call_ref, "call.ref")
    title = r.text(call, "title", "call", required=False, max_length=300) or call_ref or ""
    variant = r.text(call, "variant", "call", max_length=64)
    if variant is not None and variants is not None and variant not in variants:
        r.fail("call.variant", f"unknown variant \"{variant}\" (available here: "
                               f"{', '.join(sorted(variants)) or 'none'})")
    params = r.obj(call.get("params", {}), "call.params") or {}
    for key in MONEY_PARAMS:
        if params.get(key) is not None:
            r.money(params[key], f"call.params.{key}")
    for key in DATE_PARAMS:
        if params.get(key) is not None:
            r.date(params[key], f"call.params.{key}")
    for key in NUMBER_PARAMS:
        if params.get(key) is not None:
            r.number(params[key], f"call.params.{key}")
    for key in LIST_PARAMS:
        if params.get(key) is not None:
            for i, item in enumerate(r.array(params[key], f"call.params.{key}")):
                if not isinstance(item, str):
                    r.fail(f"call.params.{key}[{i}]", "must be a string")

    # people
    people: dict[str, Person] = {}
    for i, raw in enumerate(r.array(data.get("people"), "people")):
        path = f"people[{i}]"
        item = r.obj(raw, path)
        if item is None:
            continue
        ref = r.text(item, "ref", path, max_length=80)
        claim(ref, f"{path}.ref")
        name = r.text(item, "name", path, max_length=200)
        birth_date = r.date(item.get("birth_date"), f"{path}.birth_date")
        pesel = r.text(item, "pesel", path, required=False, max_length=11)
        if ref is not None and ref not in people:
            people[ref] = Person(ref, name or "", birth_date, pesel)

    def person_ref(value, where, required=True):
        if value is None:
            if required:
                r.fail(where, "missing")
            return None
        if not isinstance(value, str):
            r.fail(where, "must be a person's ref (a string)")
            return None
        if value not in people:
            r.fail(where, f"no person with ref \"{value}\" in people")
            return None
        return value

    for i, ref in enumerate(params.get("operator_staff") or []):
        if isinstance(ref, str):
            person_ref(ref, f"call.params.operator_staff[{i}]")

    # applicants
    applicants: dict[str, Applicant] = {}
    for i, raw in enumerate(r.array(data.get("applicants"), "applicants")):
        path = f"applicants[{i}]"
        item = r.obj(raw, path)
        if item is None:
            continue
        ref = r.text(item, "ref", path, max_length=80)
        claim(ref, f"{path}.ref")
        kind = r.one_of(item.get("kind"), [k.value for k in ApplicantKind], f"{path}.kind",
                        what="kind")
        applicant = Applicant(ref=ref or "", kind=kind or "")
        if kind in ("ngo", "group", "public_institution"):
            applicant.name = r.text(item, "name", path, max_length=300) or ""
        elif kind == "person":
            applicant.person = person_ref(item.get("person"), f"{path}.person")
            if applicant.person:
                applicant.name = people[applicant.person].name
        if kind in ("ngo", "public_institution"):
            applicant.seat = r.text(item, "seat", path, required=False, max_length=200)
        if kind == "ngo":
            applicant.legal_form = r.one_of(item.get("legal_form"), LEGAL_FORMS,
                                            f"{path}.legal_form", required=False,
                                            what="legal form")
            krs = item.get("krs")
            if krs is not None:
                if not isinstance(krs, str) or not _KRS.match(krs):
                    r.fail(f"{path}.krs", "a KRS number has 10 digits, e.g. \"0000123456\"")
                else:
                    applicant.krs = krs
            applicant.registered_on = r.date(item.get("registered_on"),
                                             f"{path}.registered_on")
            applicant.revenue_last_year = r.money(item.get("revenue_last_year"),
                                                  f"{path}.revenue_last_year", required=False)
            applicant.in_liquidation = r.boolean(item, "in_liquidation", path)
            applicant.board = [p for j, v in enumerate(r.array(item.get("board"),
                                                               f"{path}.board"))
                               if (p := person_ref(v, f"{path}.board[{j}]"))]
        if kind == "group":
            applicant.members = [p for j, v in enumerate(r.array(item.get("members"),
                                                                 f"{path}.members",
                                                                 required=True))
                                 if (p := person_ref(v, f"{path}.members[{j}]"))]
            applicant.representative = person_ref(item.get("representative"),
                                                  f"{path}.representative", required=False)
        if ref and ref not in applicants:
            applicants[ref] = applicant

    def applicant_ref(value, where, required=True):
        if value is None:
            if required:
                r.fail(where, "missing")
            return None
        if not isinstance(value, str):
            r.fail(where, "must be an applicant's ref (a string)")
            return None
        if value not in applicants:
            r.fail(where, f"no applicant with ref \"{value}\" in applicants")
            return None
        return value

    # applications
    applications: dict[str, Application] = {}
    for i, raw in enumerate(r.array(data.get("applications"), "applications")):
        path = f"applications[{i}]"
        item = r.obj(raw, path)
        if item is None:
            continue
        ref = r.text(item, "ref", path, max_length=80)
        claim(ref, f"{path}.ref")
        applicant = applicant_ref(item.get("applicant"), f"{path}.applicant")
        realizer = applicant_ref(item.get("realizer"), f"{path}.realizer", required=False)
        mode = r.one_of(item.get("mode", "standard"), MODES, f"{path}.mode", what="mode")
        submitted_at = r.instant(item.get("submitted_at"), f"{path}.submitted_at")
        title = r.text(item, "title", path, required=False, max_length=300) or ""
        requested = r.money(item.get("requested"), f"{path}.requested")
        budget = []
        for j, raw_line in enumerate(r.array(item.get("budget"), f"{path}.budget")):
            where = f"{path}.budget[{j}]"
            line = r.obj(raw_line, where)
            if line is None:
                continue
            category = r.one_of(line.get("category"), BUDGET_CATEGORIES, f"{where}.category",
                                what="category")
            item_name = r.text(line, "item", where, required=False, max_length=300) or ""
            amount = r.money(line.get("amount"), f"{where}.amount")
            if category and amount is not None:
                budget.append(BudgetLine(category, item_name, amount))
        contribution = {}
        raw_contribution = r.obj(item.get("contribution", {}), f"{path}.contribution") or {}
        for kind, value in raw_contribution.items():
            where = member(f"{path}.contribution", kind)
            if kind not in CONTRIBUTION_KINDS:
                r.fail(where, f"unknown kind of contribution (one of: "
                              f"{', '.join(CONTRIBUTION_KINDS)})")
                continue
            amount = r.money(value, where)
            if amount is not None:
                contribution[kind] = amount
        start = r.date(item.get("start"), f"{path}.start")
        end = r.date(item.get("end"), f"{path}.end")
        place = r.obj(item.get("place", {}), f"{path}.place") or {}
        for key in ("gmina", "area", "osiedle"):
            if place.get(key) is not None and not isinstance(place[key], str):
                r.fail(f"{path}.place.{key}", "must be a string")
        population = place.get("population")
        if population is not None and (isinstance(population, bool)
                                       or not isinstance(population, int) or population < 0):
            r.fail(f"{path}.place.population", "must be a whole number of residents")
        claims = r.boolean(item, "claims_young_ngo", path)
        if ref and ref not in applications and applicant and submitted_at and \
                requested is not None and mode:
            applications[ref] = Application(
                index=i, ref=ref, applicant=applicant, realizer=realizer, mode=mode,
                submitted_at=submitted_at, title=title, requested=requested, budget=budget,
                contribution=contribution, start=start, end=end, place=dict(place),
                claims_young_ngo=claims, raw=item)

    def application_ref(value, where):
        if value is None:
            r.fail(where, "missing")
            return None
        if not isinstance(value, str) or value not in applications:
            if isinstance(value, str) and refs.get(value, "").startswith("applications["):
                return value  # the application itself is malformed; reported there
            r.fail(where, f"no application with ref \"{value}\" in applications")
            return None
        return value

    # evaluations
    stage_max = {1: params.get("stage1_max_points"), 2: params.get("stage2_max_points")}
    evaluations = None
    if "evaluations" in data:
        evaluations = []
        seen = {}
        for i, raw in enumerate(r.array(data.get("evaluations"), "evaluations")):
            path = f"evaluations[{i}]"
            item = r.obj(raw, path)
            if item is None:
                continue
            application = application_ref(item.get("application"), f"{path}.application")
            stage = item.get("stage")
            if stage not in (1, 2) or isinstance(stage, bool):
                r.fail(f"{path}.stage", "must be 1 or 2")
                stage = None
            elif stage == 2 and params.get("stage2") is False:
                r.fail(f"{path}.stage", "this call has no stage 2")
            no_show = r.boolean(item, "no_show", path)
            evaluator = person_ref(item.get("evaluator"), f"{path}.evaluator",
                                   required=not no_show)
            points = r.number(item.get("points"), f"{path}.points")
            criteria = None
            if item.get("criteria") is not None:
                raw_criteria = r.obj(item.get("criteria"), f"{path}.criteria") or {}
                criteria = {}
                for key, value in raw_criteria.items():
                    number = r.number(value, member(f"{path}.criteria", key), required=True)
                    if number is not None:
                        criteria[key] = number
                total = sum(criteria.values(), Decimal(0))
                if points is None:
                    points = total
                elif points != total:
                    r.fail(f"{path}.points", f"{points} is not the sum of the criteria ({total})")
            if no_show and stage == 1:
                r.fail(f"{path}.no_show", "a no-show is recorded at stage 2 only")
            if no_show and item.get("points") is not None:
                r.fail(f"{path}.points", "give either points or no_show, not both")
            if not no_show and points is None and criteria is None:
                r.fail(f"{path}.points", "missing")
            if points is not None and stage is not None:
                top = stage_max.get(stage)
                if points < 0:
                    r.fail(f"{path}.points", "must not be negative")
                elif top is not None and not isinstance(top, (bool, float)) and \
                        _as_decimal(top) is not None and points > _as_decimal(top):
                    r.fail(f"{path}.points", f"{points} is above the stage's maximum ({top})")
            key = (application, stage, evaluator if not no_show else "no_show")
            if application and stage and key in seen:
                r.fail(path, f"repeats {seen[key]} (the same application, stage and evaluator)")
            elif application and stage:
                seen[key] = path
            if application and stage:
                evaluations.append(Evaluation(i, application, stage, evaluator,
                                              None if no_show else points, no_show, criteria))

    # events
    events = []
    for i, raw in enumerate(r.array(data.get("events"), "events")):
        path = f"events[{i}]"
        item = r.obj(raw, path)
        if item is None:
            continue
        kind = r.one_of(item.get("type"), EVENT_TYPES, f"{path}.type", what="event type")
        application = application_ref(item.get("application"), f"{path}.application")
        amount = None
        if kind == "award":
            amount = r.money(item.get("amount"), f"{path}.amount")
            target = applications.get(application) if application else None
            if amount is not None and amount <= 0:
                r.fail(f"{path}.amount", "an award must be above zero")
            elif amount is not None and target is not None and amount > target.requested:
                r.fail(f"{path}.amount", f"an award ({amount}) is never above the requested "
                                         f"amount ({target.requested})")
        if kind and application:
            events.append(Event(i, kind, application, amount))

    if r.problems:
        raise DocumentError(r.problems)
    return CallDocument(ref=call_ref, title=title, variant=variant, params=dict(params),
                        people=list(people.values()), applicants=list(applicants.values()),
                        applications=list(applications.values()), evaluations=evaluations,
                        events=events, raw=data)


def _as_decimal(value) -> Decimal | None:
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None
