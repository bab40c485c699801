"""The checks regulation variants share: pure functions over facts, violations out.

Each function takes the facts it needs and the parameter values (already chosen by the
variant) and returns a list of :class:`~core.rules.Violation`; an empty list means the
rule holds.  Messages are translated in the current language (Polish by default) and name
the rule with its numbers, so an applicant sees what to change.  The readings of the cases
regulations leave open are DOMAIN.md's "fine print".
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal

from babel.dates import format_date as _babel_date
from babel.dates import format_datetime as _babel_datetime
from babel.numbers import format_decimal as _babel_decimal
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import ngettext

from core.i18n import format_money

from . import ApplicantFacts, ApplicationFacts, CheckContext, PersonFacts, Violation
from .labels import MODE_LABELS, applicant_kind_label, category_label
from .values import (WARSAW, ZERO, add_months, add_years, ceil_grosz, floor_grosz,
                     lasts_at_least, lasts_at_most, share, to_date, to_decimal, warsaw_date)

__all__ = [
    "submission_instant", "submission_date",
    "check_late", "check_amount", "check_budget_sum", "check_admin_share",
    "check_forbidden_categories", "check_contribution", "check_duration", "check_window",
    "check_ages", "check_group_size", "check_territory", "check_seat", "young_ngo_eligible",
    "check_young_ngo", "check_duplicates", "check_member_in_other_group",
    "check_patron_board_member", "check_conflict_of_interest", "check_applicant_kind",
    "check_patron_required", "groups_of", "is_adult",
]


# --- formatting --------------------------------------------------------------------------

def _locale() -> str:
    try:
        return str(get_locale() or "pl")
    except Exception:  # outside an application context
        return "pl"


def _money(amount) -> str:
    return format_money(to_decimal(amount).quantize(Decimal("0.01")), locale=_locale())


def _date(day: dt.date) -> str:
    return _babel_date(day, "d MMMM y", locale=_locale())


def _instant(instant: dt.datetime) -> str:
    return _babel_datetime(instant, "d MMMM y, HH:mm:ss", tzinfo=WARSAW, locale=_locale())


def _number(value) -> str:
    return _babel_decimal(to_decimal(value).normalize(), locale=_locale())


def _name(person: PersonFacts) -> str:
    return person.name or person.key


def _applicant_name(applicant: ApplicantFacts) -> str:
    if applicant.name:
        return applicant.name
    if applicant.person is not None:
        return _name(applicant.person)
    return applicant.ref


# --- time --------------------------------------------------------------------------------

def submission_instant(application: ApplicationFacts, context: CheckContext | None = None
                       ) -> dt.datetime:
    """When the application was (or, for a draft, would now be) submitted."""
    if application.submitted_at is not None:
        return application.submitted_at
    if context is not None and context.now is not None:
        return context.now
    return dt.datetime.now(dt.timezone.utc)


def submission_date(application: ApplicationFacts, context: CheckContext | None = None
                    ) -> dt.date:
    """The submission's day in Europe/Warsaw (a late evening in UTC may be the next day)."""
    return warsaw_date(submission_instant(application, context))


def check_late(application: ApplicationFacts, deadline_at: dt.datetime | None,
               context: CheckContext | None = None) -> list[Violation]:
    """``submission.late``: strictly after the deadline instant (23:59:59 is on time)."""
    if deadline_at is None:
        return []
    submitted = submission_instant(application, context)
    if submitted.replace(microsecond=0) <= deadline_at:  # judged to the second, as submit is
        return []
    return [Violation("submission.late", _(
        "The application was submitted after the deadline: on %(submitted)s, while "
        "submissions closed on %(deadline)s.",
        submitted=_instant(submitted), deadline=_instant(deadline_at)), "submitted_at")]


# --- money -------------------------------------------------------------------------------

def check_amount(application: ApplicationFacts, amount_min=None, amount_max=None,
                 young_ngo: bool = False) -> list[Violation]:
    """``amount.below_min`` / ``amount.above_max``: the requested amount within the limits."""
    requested = application.requested
    if requested is None:
        return []
    low, high = to_decimal(amount_min), to_decimal(amount_max)
    if low is not None and requested < low:
        return [Violation("amount.below_min", _(
            "The requested amount must be at least %(min)s (requested: %(requested)s).",
            min=_money(low), requested=_money(requested)), "requested")]
    if high is not None and requested > high:
        if young_ngo:
            message = _("A young organisation may request at most %(max)s "
                        "(requested: %(requested)s).",
                        max=_money(high), requested=_money(requested))
        else:
            message = _("The requested amount may be at most %(max)s (requested: %(requested)s).",
                        max=_money(high), requested=_money(requested))
        return [Violation("amount.above_max", message, "requested")]
    return []


def check_budget_sum(application: ApplicationFacts) -> list[Violation]:
    """``budget.sum_mismatch``: the budget lines add up to the requested amount."""
    if application.requested is None:
        return []
    total = sum((line.amount for line in application.budget), ZERO)
    if total == application.requested:
        return []
    return [Violation("budget.sum_mismatch", _(
        "The budget lines add up to %(total)s, but the requested amount is %(requested)s; "
        "they must be equal.", total=_money(total), requested=_money(application.requested)),
        "budget")]


def check_admin_share(application: ApplicationFacts, max_percent,
                      category: str = "admin") -> list[Violation]:
    """``budget.admin_share``: project handling costs ≤ ``max_percent`` % of the grant.

    The cap is rounded down to the grosz; exactly the cap passes.
    """
    if max_percent is None or application.requested is None:
        return []
    admin = sum((line.amount for line in application.budget if line.category == category), ZERO)
    cap = floor_grosz(share(application.requested, max_percent))
    if admin <= cap:
        return []
    return [Violation("budget.admin_share", _(
        "Project handling costs may be at most %(percent)s%% of the grant (%(admin)s of "
        "%(grant)s; at most %(cap)s).", percent=_number(max_percent), admin=_money(admin),
        grant=_money(application.requested), cap=_money(cap)), "budget")]


def check_forbidden_categories(application: ApplicationFacts,
                               forbidden: Iterable[str]) -> list[Violation]:
    """``budget.ineligible_cost``: one violation per line of a forbidden category."""
    forbidden = set(forbidden or ())
    found = []
    for index, line in enumerate(application.budget):
        if line.category in forbidden:
            found.append(Violation("budget.ineligible_cost", _(
                "“%(item)s”: costs of the category “%(category)s” cannot be paid from the "
                "grant in this call.", item=line.item or category_label(line.category),
                category=category_label(line.category)), f"budget.{index}.category"))
    return found


def check_contribution(application: ApplicationFacts, total_percent=None,
                       financial_percent=None) -> list[Violation]:
    """``contribution.total_share`` / ``contribution.financial_share``.

    Shares are of the requested grant; minimums round up to the grosz.  The total counts
    every kind (financial, in kind, services, volunteer work), the financial part too.
    """
    requested = application.requested
    if requested is None:
        return []
    amounts = {kind: to_decimal(value) or ZERO
               for kind, value in (application.contribution or {}).items()}
    found = []
    if total_percent is not None:
        minimum = ceil_grosz(share(requested, total_percent))
        total = sum(amounts.values(), ZERO)
        if total < minimum:
            found.append(Violation("contribution.total_share", _(
                "The own contribution must be at least %(percent)s%% of the requested grant: "
                "%(min)s (given: %(given)s).", percent=_number(total_percent),
                min=_money(minimum), given=_money(total)), "contribution"))
    if financial_percent is not None:
        minimum = ceil_grosz(share(requested, financial_percent))
        financial = amounts.get("financial", ZERO)
        if financial < minimum:
            found.append(Violation("contribution.financial_share", _(
                "The financial contribution must be at least %(percent)s%% of the requested "
                "grant: %(min)s (given: %(given)s).", percent=_number(financial_percent),
                min=_money(minimum), given=_money(financial)), "contribution.financial"))
    return found


# --- dates -------------------------------------------------------------------------------

def check_duration(application: ApplicationFacts, min_months=None,
                   max_months=None) -> list[Violation]:
    """``duration.too_short`` / ``duration.too_long`` with DOMAIN.md's month arithmetic:
    at least N months when ``end ≥ start + N months − 1 day`` (1 Sep–30 Nov is 3 months)."""
    start, end = application.start, application.end
    if start is None or end is None:
        return []
    if end < start:
        return [Violation("duration.too_short", _(
            "The project ends (%(end)s) before it starts (%(start)s).",
            end=_date(end), start=_date(start)), "end")]
    if min_months is not None and not lasts_at_least(start, end, int(min_months)):
        earliest = add_months(start, int(min_months)) - dt.timedelta(days=1)
        return [Violation("duration.too_short", ngettext(
            "The project must last at least %(num)d month: starting on %(start)s, it may end "
            "on %(earliest)s at the earliest.",
            "The project must last at least %(num)d months: starting on %(start)s, it may end "
            "on %(earliest)s at the earliest.", int(min_months),
            start=_date(start), earliest=_date(earliest)), "end")]
    if max_months is not None and not lasts_at_most(start, end, int(max_months)):
        latest = add_months(start, int(max_months)) - dt.timedelta(days=1)
        return [Violation("duration.too_long", ngettext(
            "The project may last at most %(num)d month: starting on %(start)s, it must end "
            "by %(latest)s.",
            "The project may last at most %(num)d months: starting on %(start)s, it must end "
            "by %(latest)s.", int(max_months),
            start=_date(start), latest=_date(latest)), "end")]
    return []


def check_window(application: ApplicationFacts, window_start=None,
                 window_end=None) -> list[Violation]:
    """``duration.outside_window``: the project's dates inside the call's window."""
    window_start, window_end = to_date(window_start), to_date(window_end)
    found = []
    if application.start is not None and window_start is not None \
            and application.start < window_start:
        found.append(Violation("duration.outside_window", _(
            "The project may not start before %(first)s (planned start: %(start)s).",
            first=_date(window_start), start=_date(application.start)), "start"))
    if application.end is not None and window_end is not None and application.end > window_end:
        found.append(Violation("duration.outside_window", _(
            "The project must end by %(last)s (planned end: %(end)s).",
            last=_date(window_end), end=_date(application.end)), "end"))
    return found


# --- people ------------------------------------------------------------------------------

def is_adult(person: PersonFacts, on: dt.date, min_age: int = 18) -> bool:
    """``birth_date`` + ``min_age`` years (29 Feb counts from 28 Feb) is on or before ``on``.

    A person without a birth date is not proven adult.
    """
    if person.birth_date is None:
        return False
    return add_years(person.birth_date, min_age) <= on


def groups_of(application: ApplicationFacts) -> list[ApplicantFacts]:
    """The groups an application involves: the applicant and/or the realizer (once each)."""
    groups = []
    for profile in (application.applicant, application.realizer):
        if profile.kind == "group" and all(profile.identity != g.identity for g in groups):
            groups.append(profile)
    return groups


def _role_field(application: ApplicationFacts, profile: ApplicantFacts) -> str:
    return "realizer" if application.has_realizer and profile is application.realizer \
        else "applicant"


def check_ages(application: ApplicationFacts, min_age=18,
               context: CheckContext | None = None) -> list[Violation]:
    """``applicant.under_age``: the person applying, and every group member and representative,
    has turned ``min_age`` on the submission's day in Europe/Warsaw."""
    min_age = int(min_age if min_age is not None else 18)
    on = submission_date(application, context)
    people: list[tuple[PersonFacts, str]] = []
    for profile in (application.applicant, application.realizer):
        role = _role_field(application, profile)
        if profile.kind == "person" and profile.person is not None:
            people.append((profile.person, role))
        elif profile.kind == "group":
            people += [(p, role) for p in profile.group_people]
    found, seen = [], set()
    for person, role in people:
        if person.key in seen:
            continue
        seen.add(person.key)
        if person.birth_date is not None and not is_adult(person, on, min_age):
            found.append(Violation("applicant.under_age", ngettext(
                "%(name)s must be at least %(num)d year old on the day of submission "
                "(%(date)s).",
                "%(name)s must be at least %(num)d years old on the day of submission "
                "(%(date)s).", min_age, name=_name(person), date=_date(on)), role))
    return found


def check_group_size(application: ApplicationFacts, min_members=3, min_age=18,
                     context: CheckContext | None = None) -> list[Violation]:
    """``group.too_few_members``: adult members, the representative included, against
    ``min_members`` (members under age or without a birth date do not count)."""
    if min_members is None:
        return []
    min_members, min_age = int(min_members), int(min_age if min_age is not None else 18)
    on = submission_date(application, context)
    found = []
    for group in groups_of(application):
        adults = sum(1 for p in group.group_people if is_adult(p, on, min_age))
        if adults < min_members:
            found.append(Violation("group.too_few_members", ngettext(
                "The group must have at least %(num)d adult member, the representative "
                "included (it has %(adults)d).",
                "The group must have at least %(num)d adult members, the representative "
                "included (it has %(adults)d).", min_members, adults=adults),
                _role_field(application, group)))
    return found


# --- place -------------------------------------------------------------------------------

def _norm(text) -> str:
    return " ".join(str(text or "").split()).casefold()


def check_territory(application: ApplicationFacts, eligible_gminas) -> list[Violation]:
    """``applicant.territory``: ``place.gmina`` among the call's gminas."""
    gminas = [g for g in (eligible_gminas or []) if g]
    if not gminas:
        return []
    gmina = (application.place or {}).get("gmina")
    listed = ", ".join(gminas)
    if not gmina:
        return [Violation("applicant.territory", _(
            "Say in which municipality the project takes place; this call covers: %(gminas)s.",
            gminas=listed), "place.gmina")]
    if _norm(gmina) in {_norm(g) for g in gminas}:
        return []
    return [Violation("applicant.territory", _(
        "The project must take place in: %(gminas)s (given: %(gmina)s).",
        gminas=listed, gmina=gmina), "place.gmina")]


def check_seat(application: ApplicationFacts, eligible_gminas,
               kinds: Iterable[str] = ("ngo", "public_institution")) -> list[Violation]:
    """``applicant.territory``: the seat of an organisation or institution applicant."""
    gminas = [g for g in (eligible_gminas or []) if g]
    applicant = application.applicant
    if not gminas or applicant.kind not in set(kinds):
        return []
    if applicant.seat and _norm(applicant.seat) in {_norm(g) for g in gminas}:
        return []
    return [Violation("applicant.territory", _(
        "The organisation's seat must be in: %(gminas)s (seat: %(seat)s).",
        gminas=", ".join(gminas), seat=applicant.seat or "—"), "applicant")]


# --- young organisations -----------------------------------------------------------------

def _young_candidate(application: ApplicationFacts) -> ApplicantFacts:
    """The organisation whose age counts: the realizer when it is an NGO, else the applicant."""
    if application.realizer.kind == "ngo":
        return application.realizer
    return application.applicant


def young_ngo_eligible(application: ApplicationFacts, max_age_months, max_revenue,
                       context: CheckContext | None = None) -> bool:
    """Registered on or after the submission's Warsaw date − N months (i.e. the date ≤
    ``registered_on`` + N calendar months) and last year's revenue ≤ the limit."""
    return not _young_ngo_problems(application, max_age_months, max_revenue, context)


def _young_ngo_problems(application, max_age_months, max_revenue, context) -> list[str]:
    org = _young_candidate(application)
    if org.kind != "ngo" or org.registered_on is None or org.revenue_last_year is None:
        return [_("Only a non-governmental organisation that gives its registration date and "
                  "last year's revenue can use the young organisation limits.")]
    problems = []
    on = submission_date(application, context)
    if max_age_months is not None and on > add_months(org.registered_on, int(max_age_months)):
        months = int(max_age_months)
        problems.append(ngettext(
            "%(name)s cannot use the young organisation limits: it was registered on "
            "%(registered)s, more than %(num)d month before submission (%(date)s).",
            "%(name)s cannot use the young organisation limits: it was registered on "
            "%(registered)s, more than %(num)d months before submission (%(date)s).",
            months, name=_applicant_name(org), registered=_date(org.registered_on),
            date=_date(on)))
    limit = to_decimal(max_revenue)
    if limit is not None and org.revenue_last_year > limit:
        problems.append(_(
            "%(name)s cannot use the young organisation limits: its revenue last year was "
            "%(revenue)s, more than %(limit)s.", name=_applicant_name(org),
            revenue=_money(org.revenue_last_year), limit=_money(limit)))
    return problems


def check_young_ngo(application: ApplicationFacts, max_age_months, max_revenue,
                    context: CheckContext | None = None) -> list[Violation]:
    """``applicant.young_ngo_not_eligible``: a claim to the young-NGO limits that fails.

    Unclaimed, nothing is checked; a failed claim means the standard limits apply.
    """
    if not application.claims_young_ngo:
        return []
    return [Violation("applicant.young_ngo_not_eligible", message, "claims_young_ngo")
            for message in _young_ngo_problems(application, max_age_months, max_revenue,
                                               context)]


# --- across applications -----------------------------------------------------------------

def _order_key(application: ApplicationFacts, context: CheckContext | None):
    return (submission_instant(application, context), application.ref)


def check_duplicates(application: ApplicationFacts,
                     context: CheckContext | None) -> list[Violation]:
    """``applicant.duplicate_application``: one project per realizer.

    Keyed by realizer (the applicant when none is named); the earliest submission (instant,
    then ref) stands and every later one breaks the rule, whatever becomes of the earlier.
    A patron's applications for different groups have different realizers.
    """
    if context is None:
        return []
    mine = _order_key(application, context)
    key = application.realizer.identity
    earlier = [other for other in context.others
               if other.ref != application.ref and other.realizer.identity == key
               and other.submitted_at is not None and _order_key(other, context) < mine]
    if not earlier:
        return []
    first = min(earlier, key=lambda other: _order_key(other, context))
    return [Violation("applicant.duplicate_application", _(
        "%(realizer)s already has an earlier application in this call (%(ref)s); one "
        "realizer may carry out one project only.",
        realizer=_applicant_name(application.realizer), ref=first.title or first.ref),
        "realizer" if application.has_realizer else "applicant")]


def check_member_in_other_group(application: ApplicationFacts,
                                context: CheckContext | None) -> list[Violation]:
    """``group.member_in_other_group``: every group sharing a member with another group that
    applies in the call breaks it (not only the later one)."""
    if context is None:
        return []
    found, seen = [], set()
    for group in groups_of(application):
        people = {p.key: p for p in group.group_people}
        for other in context.others:
            if other.ref == application.ref:
                continue
            for other_group in groups_of(other):
                if other_group.identity == group.identity:
                    continue
                for person in other_group.group_people:
                    if person.key in people and (person.key, other_group.identity) not in seen:
                        seen.add((person.key, other_group.identity))
                        found.append(Violation("group.member_in_other_group", _(
                            "%(name)s is also a member of another group applying in this call "
                            "(%(group)s); a person may belong to one group only.",
                            name=_name(people[person.key]),
                            group=_applicant_name(other_group)),
                            _role_field(application, group)))
    return found


def check_patron_board_member(application: ApplicationFacts) -> list[Violation]:
    """``group.patron_board_member``: no board member of the patron in its group."""
    patron, group = application.applicant, application.realizer
    if not application.has_realizer or group.kind != "group" or not patron.board:
        return []
    board = {p.key for p in patron.board}
    return [Violation("group.patron_board_member", _(
        "%(name)s is on the board of %(patron)s, the organisation applying for the group, and "
        "cannot be a member of the group.", name=_name(person),
        patron=_applicant_name(patron)), "realizer")
        for person in group.group_people if person.key in board]


def check_conflict_of_interest(application: ApplicationFacts,
                               staff_keys: Iterable[str]) -> list[Violation]:
    """``applicant.conflict_of_interest``: a staff member is the applicant person, a member or
    representative of the applicant or realizer group, or on the board of either
    organisation."""
    staff = set(staff_keys or ())
    if not staff:
        return []
    found, seen = [], set()
    for profile in (application.applicant, application.realizer):
        for person in profile.people:
            if person.keys & staff and person.key not in seen:
                seen.add(person.key)
                found.append(Violation("applicant.conflict_of_interest", _(
                    "%(name)s works for the operator and may neither apply nor take part in a "
                    "project.", name=_name(person)), _role_field(application, profile)))
    return found


# --- who applies -------------------------------------------------------------------------

def _who(applicant_kind: str, realizer_kind: str | None, mode: str) -> str:
    who = applicant_kind_label(applicant_kind)
    if realizer_kind:
        who = _("%(applicant)s on behalf of %(realizer)s", applicant=who,
                realizer=applicant_kind_label(realizer_kind))
    if mode and mode != "standard":
        who = _("%(who)s – %(mode)s", who=who, mode=MODE_LABELS.get(mode, mode))
    return who


def check_applicant_kind(application: ApplicationFacts,
                         allowed: Iterable[tuple[str, str | None, str]]) -> list[Violation]:
    """``applicant.kind_not_allowed``: (applicant kind, realizer kind or ``None``, mode)
    among the combinations the call allows."""
    allowed = list(allowed)
    realizer_kind = application.realizer.kind if application.has_realizer else None
    option = (application.applicant.kind, realizer_kind, application.mode or "standard")
    if option in allowed:
        return []
    accepted = "; ".join(_who(*item) for item in allowed)
    return [Violation("applicant.kind_not_allowed", _(
        "This call does not accept applications from %(who)s. It accepts: %(accepted)s.",
        who=_who(*option), accepted=accepted or "—"), "applicant")]


def check_patron_required(application: ApplicationFacts, required: bool = True
                          ) -> list[Violation]:
    """``group.patron_required``: a group in ``standard`` mode applies through an
    organisation (a patron) where the call requires one."""
    if not required or (application.mode or "standard") != "standard":
        return []
    if application.applicant.kind != "group":
        return []
    return [Violation("group.patron_required", _(
        "In this call a group applies through an organisation that lends it legal "
        "personality (a patron); name the patron organisation."), "applicant")]

