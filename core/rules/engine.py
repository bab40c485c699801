"""The rule engine's entry points: models → facts → ``check_application`` hook → violations.

Core's operations (the generator's submit, the calls admin's formal check, the import)
call :func:`check`; the interchange import may call :func:`check_facts` directly.  Every
rule itself is a hook implementation: core's shared ones in :mod:`core.plugins.defaults`,
each variant's own in its plugin.
"""
from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable

from flask import current_app
from sqlalchemy.orm import selectinload

from core.db import db, utcnow

from . import (ApplicantFacts, ApplicationFacts, BudgetLineFacts, CallFacts, CheckContext,
               PersonFacts, Violation)
from .values import ZERO, deadline_instant, pool_from_params

__all__ = ["check", "check_all", "check_facts", "facts_from_models", "call_facts",
           "application_facts", "person_facts", "deadline_instant", "pool_from_params",
           "sort_violations", "rule_ids", "other_applications", "call_pool",
           "COUNTED_STATUSES_EXCLUDED"]

# Applications that do not count as "other applications of the call" for the rules
# across applications (duplicates, members in two groups).
COUNTED_STATUSES_EXCLUDED = ("draft", "withdrawn")

_PESEL = re.compile(r"^\d{11}$")
_NAME_AND_DATE = re.compile(r"^(?P<name>.+?)[,;|]\s*(?P<date>\d{4}-\d{2}-\d{2})$")


# --- facts from models -------------------------------------------------------------------

def _name_key(name: str, birth_date) -> str:
    return f"{' '.join((name or '').lower().split())}|{birth_date}"


def person_facts(person) -> PersonFacts | None:
    """A :class:`Person` as facts: keyed by its identity, also known by ref and name|date."""
    if person is None:
        return None
    aliases = tuple(a for a in (person.ref, _name_key(person.name, person.birth_date))
                    if a and a != person.identity)
    return PersonFacts(key=person.identity, name=person.name, birth_date=person.birth_date,
                       aliases=aliases)


def _profile_ref(profile) -> str:
    return profile.ref or f"#{profile.id}"


def profile_facts(profile) -> ApplicantFacts:
    return ApplicantFacts(
        ref=_profile_ref(profile), kind=profile.kind, name=profile.name or "",
        legal_form=profile.legal_form, registered_on=profile.registered_on,
        revenue_last_year=profile.revenue_last_year, seat=profile.seat,
        in_liquidation=bool(profile.in_liquidation),
        board=tuple(person_facts(p) for p in profile.people("board")),
        members=tuple(person_facts(p) for p in profile.people("member")),
        representative=person_facts(profile.representative),
        person=person_facts(profile.person), krs=profile.krs or None)


def _missing_profile(ref: str) -> ApplicantFacts:
    return ApplicantFacts(ref=ref, kind="")


def staff_keys(entries: Iterable, people_by_ref: dict | None = None) -> frozenset[str]:
    """Resolve ``operator_staff`` entries to person keys.

    An entry is a person's ref (an imported call), a PESEL, or "Name, YYYY-MM-DD"; each is
    kept as given too, so facts keyed by refs (an interchange document) match as well.
    """
    keys = set()
    for entry in entries or ():
        text = str(entry).strip()
        if not text:
            continue
        keys.add(text)
        person = (people_by_ref or {}).get(text)
        if person is not None:
            keys.add(person.identity)
            keys.add(_name_key(person.name, person.birth_date))
        elif _PESEL.match(text):
            keys.add(f"pesel:{text}")
        elif (match := _NAME_AND_DATE.match(text)) is not None:
            keys.add(_name_key(match["name"], match["date"]))
    return frozenset(keys)


def call_facts(call) -> CallFacts:
    """A :class:`Call` as facts; ``operator_staff`` refs are resolved to people of the tenant."""
    params = dict(call.params or {})
    deadline_at = call.deadline_at or deadline_instant(params.get("deadline"))
    # The realization window lives in the call's columns; a call whose parameters do not
    # repeat it (made without the variant's form) is still checked against it.
    window = ((("realization_start", "window_start"), getattr(call, "realization_start", None)),
              (("realization_end", "window_end"), getattr(call, "realization_end", None)))
    for names, day in window:
        if day is not None and not any(params.get(name) for name in names):
            for name in names:
                params[name] = day.isoformat()
    people_by_ref = {}
    refs = [str(r) for r in params.get("operator_staff") or () if r]
    if refs:
        from core.applicants.models import Person

        people_by_ref = {p.ref: p for p in db.session.scalars(
            db.select(Person).where(Person.ref.in_(refs)))}
    return CallFacts(ref=call.ref, variant=call.variant, params=params,
                     deadline_at=deadline_at,
                     staff_keys=staff_keys(params.get("operator_staff"), people_by_ref))


def application_facts(application) -> ApplicationFacts:
    """An :class:`Application` as facts, in the interchange shape.

    The applicant signs; the realizer carries the project out (the applicant itself when
    none is named).  A group profile with a patron organisation, applying without a named
    realizer, is read as the patron applying for the group.
    """
    applicant_profile, realizer_profile = application.applicant, application.realizer
    if (realizer_profile is None and applicant_profile is not None
            and applicant_profile.kind == "group" and applicant_profile.patron is not None):
        applicant_profile, realizer_profile = applicant_profile.patron, applicant_profile
    applicant = profile_facts(applicant_profile) if applicant_profile is not None \
        else _missing_profile(f"#{application.applicant_id}")
    has_realizer = realizer_profile is not None and realizer_profile is not applicant_profile
    realizer = profile_facts(realizer_profile) if has_realizer else applicant
    # A variant's generator fields live in ``content`` (``application_form``); the ones the
    # rules read have columns too, and a column that is set wins.
    content = application.content or {}
    place = dict(application.place or {})
    if not place.get("gmina") and content.get("place_gmina"):
        place["gmina"] = content["place_gmina"]
    claims_young_ngo = bool(application.claims_young_ngo or content.get("claims_young_ngo"))
    contribution: dict = {}
    for line in application.contributions:
        contribution[line.kind] = contribution.get(line.kind, ZERO) + (line.amount or ZERO)
    return ApplicationFacts(
        ref=application.ref or f"#{application.id}", applicant=applicant, realizer=realizer,
        mode=application.mode or "standard", submitted_at=application.submitted_at,
        title=application.title or "", requested=application.requested,
        budget=tuple(BudgetLineFacts(line.category, line.item or "", line.amount or ZERO)
                     for line in application.budget),
        contribution=contribution, start=application.start, end=application.end,
        place=place, claims_young_ngo=claims_young_ngo,
        has_realizer=has_realizer)


def facts_from_models(call_model, application_model) -> tuple[CallFacts, ApplicationFacts]:
    """The facts the rules judge, from a call and one of its applications."""
    return call_facts(call_model), application_facts(application_model)


# --- judging -----------------------------------------------------------------------------

def sort_violations(violations: Iterable[Violation]) -> list[Violation]:
    """Drop repeats (the same rule, field and message) and order by rule id, then field."""
    unique = {(v.rule_id, v.field or "", str(v.message)): v for v in violations if v}
    return [unique[key] for key in sorted(unique)]


def rule_ids(violations: Iterable[Violation]) -> list[str]:
    """The distinct rule ids, sorted (what an application's ``rules`` column keeps)."""
    return sorted({v.rule_id for v in violations})


def check_facts(call: CallFacts, application: ApplicationFacts,
                context: CheckContext | None = None) -> list[Violation]:
    """Ask every plugin's ``check_application`` and return the violations, sorted."""
    pm = current_app.extensions["mikrogranty.plugins"]
    context = context if context is not None else CheckContext()
    results = pm.hook.check_application(call=call, application=application, context=context)
    return sort_violations(v for result in results for v in (result or ()))


def _applications_query(call_id):
    from core.applicants.models import ApplicantProfile, ProfileMember
    from core.applications.models import Application

    profile_options = (
        selectinload(ApplicantProfile.members).selectinload(ProfileMember.person),
        selectinload(ApplicantProfile.person), selectinload(ApplicantProfile.representative),
    )
    return (db.select(Application)
            .where(Application.call_id == call_id)
            .options(selectinload(Application.budget), selectinload(Application.contributions),
                     selectinload(Application.applicant).options(
                         *profile_options,
                         selectinload(ApplicantProfile.patron).options(*profile_options)),
                     selectinload(Application.realizer).options(*profile_options))
            .order_by(Application.id))


def other_applications(call_model, application_model=None) -> list:
    """The call's applications that count for rules across applications: submitted ones
    (rejected too: "whatever becomes of the earlier one"), never drafts or withdrawn."""
    from core.applications.models import Application

    query = _applications_query(call_model.id).where(
        Application.status.not_in(COUNTED_STATUSES_EXCLUDED),
        Application.submitted_at.is_not(None))
    if application_model is not None and application_model.id is not None:
        query = query.where(Application.id != application_model.id)
    return list(db.session.scalars(query))


def check(call_model, application_model, others=None, now: dt.datetime | None = None
          ) -> list[Violation]:
    """Judge one application of ``call_model``.

    ``others``: the call's other applications (models or facts) for rules across
    applications; by default its other submitted applications.  ``now``: the instant a
    draft is judged at (default: now).  Returns the violations, sorted, without repeats.
    """
    call, application = facts_from_models(call_model, application_model)
    if others is None:
        others = other_applications(call_model, application_model)
    other_facts = [o if isinstance(o, ApplicationFacts) else application_facts(o)
                   for o in others]
    other_facts = [o for o in other_facts if o.ref != application.ref]
    return check_facts(call, application, CheckContext(others=other_facts, now=now or utcnow()))


def check_all(call_model, applications: list, now: dt.datetime | None = None) -> dict:
    """Judge several applications of one call against each other (an imported edition).

    Returns ``{application: [Violation, …]}``; each is judged with all the others as context.
    """
    call = call_facts(call_model)
    facts = [(application, application_facts(application)) for application in applications]
    now = now or utcnow()
    results = {}
    for application, mine in facts:
        context = CheckContext(others=[f for a, f in facts if a is not application], now=now)
        results[application] = check_facts(call, mine, context)
    return results


def call_pool(call_model):
    """The pool of a call: its column, else from its parameters."""
    return call_model.pool if call_model.pool is not None else pool_from_params(
        call_model.params or {})
