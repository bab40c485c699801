"""Importing a whole edition (``mikrogranty/call@1``) into a tenant, and its results.

An import is a recording of what people did, not a bypass: it creates the same rows the
web forms do (call, people, applicant profiles, applications with their budgets and
contributions), judges every application with the rule engine against all the others of
the document, rejects those that break a formal rule (with an audit event each) and fires
``application_state_changed``.  The caller commits; on :class:`DocumentError` (or any
error) it rolls back, so a refused document stores nothing.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
from decimal import ROUND_HALF_UP, Decimal

from flask import current_app
from werkzeug.datastructures import MultiDict

from core.applicants.models import ApplicantProfile, Person, ProfileMember
from core.applications.models import (Application, ApplicationStatus, BudgetLine,
                                      ContributionLine)
from core.audit.operations import record
from core.calls.models import Call, CallStatus
from core.db import current_scope, db, utcnow
from core.rules import engine
from core.rules.values import pool_from_params, to_decimal

from .document import CALL_FORMAT, CallDocument, DocumentError, read_call_document
from .models import CallImport

CENT = Decimal("0.01")


def _pm():
    return current_app.extensions["mikrogranty.plugins"]


def importable_variants(tenant) -> set[str]:
    """Variants a document may name here: installed, and run by the municipality."""
    installed = set(_pm().variants)
    enabled = set(tenant.variants or []) if tenant is not None else installed
    return installed & enabled


def _as_typed(form) -> MultiDict:
    """What a browser would send for ``form`` as filled now."""
    data = MultiDict()
    for field in form:
        if field.type == "CSRFTokenField":
            continue
        if field.type == "BooleanField":
            if field.data:
                data.add(field.name, "y")
        elif isinstance(field.data, (list, tuple)):
            for value in field.data:
                data.add(field.name, str(value))
        elif hasattr(field, "_value"):
            data.add(field.name, field._value())
        elif field.data is not None:
            data.add(field.name, str(field.data))
    return data


def _params_problems(variant: str, params: dict) -> list[str]:
    """The variant's own parameter form judges the parameters, as if typed in the web form."""
    form_class = _pm().hook.call_params_form(variant=variant)
    if form_class is None:
        return []
    filled = form_class(formdata=None, meta={"csrf": False})
    filled.from_params(params)
    form = form_class(formdata=_as_typed(filled), meta={"csrf": False})
    form.validate()
    return [f"call.params.{name}: {message}" for name, field in form._fields.items()
            for message in field.errors]


def import_call(data: dict, tenant, actor=None) -> Call:
    """Import a call@1 document into ``tenant`` (the current tenant scope must be its).

    Raises :class:`DocumentError` naming every problem; nothing is flushed before the whole
    document has been checked, and the caller rolls back on any error.
    """
    if current_scope().tenant_id != tenant.id:
        raise RuntimeError("import_call runs inside tenant_scope(tenant)")
    doc = read_call_document(data, importable_variants(tenant))
    problems = _params_problems(doc.variant, doc.params)
    if problems:
        raise DocumentError(problems)
    existing = db.session.execute(db.select(Call.id).where(Call.ref == doc.ref)).first()
    if existing is not None:
        raise DocumentError(f"call.ref: a call \"{doc.ref}\" exists already in this "
                            f"municipality; a document is imported once")

    call = _create_call(doc, tenant, actor)
    people = _create_people(doc)
    profiles = _create_profiles(doc, people)
    applications = _create_applications(doc, call, profiles)
    db.session.flush()

    for application in applications.values():
        _state_changed(application, ApplicationStatus.DRAFT, ApplicationStatus.SUBMITTED, actor)
    judged = engine.check_all(call, list(applications.values()))
    rejected = set()
    for application, violations in judged.items():
        if not violations:
            continue
        rules = engine.rule_ids(violations)
        application.status = ApplicationStatus.REJECTED
        application.rules = rules
        rejected.add(application.ref)
        record("application.rejected", application, actor=actor, changes={
            "status": [ApplicationStatus.SUBMITTED.value, ApplicationStatus.REJECTED.value],
            "rules": rules, "source": "import"})
        _state_changed(application, ApplicationStatus.SUBMITTED, ApplicationStatus.REJECTED,
                       actor)
    _check_scores_complete(doc, rejected)

    db.session.add(CallImport(
        call_id=call.id, format=CALL_FORMAT, sha256=_sha256(data),
        evaluations=data.get("evaluations") if doc.evaluations is not None else None,
        events=list(data.get("events") or []), imported_by_id=getattr(actor, "id", actor)))
    record("call.imported", call, actor=actor, changes={
        "ref": call.ref, "variant": call.variant, "status": [CallStatus.DRAFT, call.status],
        "applications": len(applications), "rejected": sorted(rejected)})
    db.session.flush()
    return call


# --- rows --------------------------------------------------------------------------------

# Where a field of the calls operation lives in a document.
_CALL_PATHS = {"title": "call.title", "ref": "call.ref", "variant": "call.variant",
               "description": "call.description"}


def _create_call(doc: CallDocument, tenant, actor=None) -> Call:
    """The call, through the calls operation (its checks and audit event), then opened and,
    when its deadline has passed, closed as the edition was."""
    from core.calls.operations import create_call
    from core.errors import ValidationError

    try:
        call = create_call(tenant, {"title": doc.title, "ref": doc.ref, "variant": doc.variant,
                                    "params": dict(doc.params)}, actor=actor)
    except ValidationError as exc:
        raise DocumentError([f"{_CALL_PATHS.get(name, 'call.params.' + name)}: {message}"
                             for name, messages in exc.errors.items()
                             for message in messages]) from None
    if call.ref != doc.ref:
        raise DocumentError(f"call.ref: use lower-case letters, digits and hyphens "
                            f"(\"{doc.ref}\" would become \"{call.ref}\")")
    if call.pool is None:
        call.pool = pool_from_params(doc.params)
    call.status = CallStatus.CLOSED if call.deadline_at is not None \
        and call.deadline_at < utcnow() else CallStatus.PUBLISHED
    return call


def _create_people(doc: CallDocument) -> dict[str, Person]:
    people = {}
    for item in doc.people:
        person = Person(ref=item.ref, name=item.name, birth_date=item.birth_date,
                        pesel=item.pesel)
        db.session.add(person)
        people[item.ref] = person
    return people


def _create_profiles(doc: CallDocument, people: dict[str, Person]
                     ) -> dict[str, ApplicantProfile]:
    profiles = {}
    for item in doc.applicants:
        profile = ApplicantProfile(
            ref=item.ref, kind=item.kind, name=item.name or item.ref,
            legal_form=item.legal_form, krs=item.krs, registered_on=item.registered_on,
            revenue_last_year=item.revenue_last_year, seat=item.seat,
            in_liquidation=item.in_liquidation,
            person=people.get(item.person) if item.person else None,
            representative=people.get(item.representative) if item.representative else None)
        profile.members = (
            [ProfileMember(person=people[ref], role="member") for ref in item.members]
            + [ProfileMember(person=people[ref], role="board") for ref in item.board])
        db.session.add(profile)
        profiles[item.ref] = profile
    # A group carried out through an organisation has that organisation as its patron.
    for item in sorted(doc.applications, key=lambda a: (a.submitted_at, a.ref)):
        group = profiles.get(item.realizer) if item.realizer else None
        patron = profiles[item.applicant]
        if group is not None and group is not patron and group.kind == "group" \
                and patron.kind != "group" and group.patron is None:
            group.patron = patron
            group.patron_confirmed_at = item.submitted_at
    return profiles


def _canonical(item: dict) -> str:
    return json.dumps(item, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def _sha256(item) -> str:
    return hashlib.sha256(_canonical(item).encode("utf-8")).hexdigest()


def _create_applications(doc: CallDocument, call: Call,
                         profiles: dict[str, ApplicantProfile]) -> dict[str, Application]:
    applications = {}
    for item in doc.applications:
        applicant = profiles[item.applicant]
        realizer = profiles[item.realizer] if item.realizer and \
            item.realizer != item.applicant else None
        application = Application(
            call=call, ref=item.ref, applicant=applicant, realizer=realizer, mode=item.mode,
            status=ApplicationStatus.SUBMITTED, title=item.title, requested=item.requested,
            start=item.start, end=item.end, place=item.place,
            claims_young_ngo=item.claims_young_ngo,
            submitted_at=item.submitted_at.astimezone(dt.timezone.utc),
            submitted_content=item.raw, content_sha256=_sha256(item.raw))
        application.budget = [BudgetLine(position=i, category=line.category, item=line.item,
                                         amount=line.amount)
                              for i, line in enumerate(item.budget)]
        application.contributions = [
            ContributionLine(position=i, kind=kind, amount=amount)
            for i, (kind, amount) in enumerate(item.contribution.items()) if amount > 0]
        db.session.add(application)
        applications[item.ref] = application
    return applications


def _state_changed(application, old, new, actor) -> None:
    _pm().hook.application_state_changed(application=application, old=str(old), new=str(new),
                                         actor=actor)


# --- scores ------------------------------------------------------------------------------

def stage_average(points: list[Decimal]) -> Decimal:
    """The average of the evaluators' totals, half-up to 0.01 (8.625 → 8.63)."""
    return (sum(points, Decimal(0)) / len(points)).quantize(CENT, rounding=ROUND_HALF_UP)


def _check_scores_complete(doc: CallDocument, rejected: set[str]) -> None:
    """A formally valid application needs stage-1 points; a stage-2 candidate (at or above
    the pass mark, where the call has a stage 2) needs stage-2 points or a no-show.

    Applies to a document that has ``evaluations`` (one without is a record of the
    submissions only, to be evaluated on the platform).
    """
    if doc.evaluations is None:
        return
    params = doc.params
    has_stage2 = bool(params.get("stage2")) or params.get("stage2_max_points") is not None
    mark = to_decimal(params.get("stage1_pass_mark")) if params.get("stage1_pass_mark") \
        is not None else None
    problems = []
    for item in doc.applications:
        if item.ref in rejected:
            continue
        where = f"applications[{item.index}]"
        stage1 = [e.points for e in doc.evaluations
                  if e.application == item.ref and e.stage == 1 and e.points is not None]
        if not stage1:
            problems.append(f"{where}: \"{item.ref}\" passes the formal rules but has no "
                            f"stage-1 points in evaluations")
            continue
        if not has_stage2 or (mark is not None and stage_average(stage1) < mark):
            continue
        stage2 = [e for e in doc.evaluations if e.application == item.ref and e.stage == 2
                  and (e.points is not None or e.no_show)]
        if not stage2:
            problems.append(f"{where}: \"{item.ref}\" goes on to stage 2 but has neither "
                            f"stage-2 points nor no_show in evaluations")
    if problems:
        raise DocumentError(problems)


# --- results -----------------------------------------------------------------------------

def call_results(call: Call) -> dict:
    """The results of a call in the interchange form (INTERCHANGE.md, "Results").

    So far: the formal check (``rejected`` with every broken rule) and withdrawals; the
    others read ``submitted`` until evaluation and allocation record more.
    """
    applications = db.session.scalars(
        db.select(Application).where(Application.call_id == call.id)
        .where(Application.status != ApplicationStatus.DRAFT)
        .order_by(Application.submitted_at, Application.id)).all()
    pool = engine.call_pool(call)
    entries = {}
    for application in applications:
        ref = application.ref or f"#{application.id}"
        if application.status == ApplicationStatus.REJECTED:
            entries[ref] = {"status": "rejected", "rules": list(application.rules or [])}
        else:
            entries[ref] = {"status": str(application.status)}
    return {"call": call.ref, "pool": f"{pool:.2f}" if pool is not None else None,
            "applications": entries}


def find_call(ref: str) -> Call | None:
    return db.session.execute(db.select(Call).where(Call.ref == ref)).scalar_one_or_none()
