"""Importing a whole edition (``mikrogranty/call@1``) into a tenant, and its results.

An import is a recording of what people did, not a bypass: it creates the same rows the
web forms do (call, people, applicant profiles, applications with their budgets and
contributions), judges every application with the rule engine against all the others of
the document, rejects those that break a formal rule (with an audit event each) and fires
``application_state_changed``.  Where the document has ``evaluations``, it records them as
the platform does (evaluators' assignments with submitted score cards, the committee's
points or a no-show), accepts the formally valid applications and moves each to what its
scores decide; then ``award`` events become accepted awards, the pool is allocated under
the call's policy, and ``resignation`` events are applied in order (the reserve moving
up), all through core.evaluation's operations.  The caller commits; on
:class:`DocumentError` (or any error) it rolls back, so a refused document stores nothing.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
from decimal import Decimal

from flask import current_app
from werkzeug.datastructures import MultiDict

from core.applicants.models import ApplicantProfile, Person, ProfileMember
from core.applications.models import (Application, ApplicationStatus, BudgetLine,
                                      ContributionLine)
from core.audit.operations import record
from core.calls.models import Call, CallStatus
from core.db import current_scope, db, utcnow
from core.evaluation import allocation, scoring
from core.evaluation.models import Assignment, Award, CommitteeScore, ScoreCard
from core.evaluation.transitions import set_status
from core.rules import engine
from core.rules.values import pool_from_params, to_decimal

from .document import CALL_FORMAT, CallDocument, DocumentError, read_call_document
from .models import CallImport


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
        rejected.add(application.ref)
        set_status(application, ApplicationStatus.REJECTED, actor,
                   rules=engine.rule_ids(violations), changes={"source": "import"})
    _check_scores_complete(doc, rejected)
    if doc.evaluations is not None:
        _record_evaluations(doc, call, applications, rejected, actor)
    _record_awards(doc, applications, actor)
    if doc.evaluations is not None:
        allocation.apply(call, allocation.allocate_call(call), actor)
    for event in doc.events:
        if event.type == "resignation":
            application = applications[event.application]
            allocation.apply(call, allocation.resign(call, application), actor)

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


# --- scores, awards and resignations ----------------------------------------------------

def _points_text(value: Decimal) -> str:
    return str(int(value)) if value == value.to_integral_value() else str(value)


def _record_evaluations(doc: CallDocument, call: Call, applications: dict, rejected: set,
                        actor=None) -> None:
    """The evaluators' cards and the committee's points, as the platform records them:
    stage 1 (or any stage scored by evaluators) as an assignment of the evaluator (by ref)
    with a submitted, locked score card (its criteria where the document gives them, else
    one criterion "total"); stage 2 by the committee as committee scores (a no-show
    without a member).  Then each formally valid application is accepted and moved to
    what its scores decide (below threshold, invited, disqualified, ranked)."""
    stages = scoring.stages_for(call)
    committee = {s.number for s in stages if s.kind == "committee"}
    now = utcnow()
    for item in doc.evaluations:
        if item.application in rejected:
            continue
        application = applications[item.application]
        if item.stage in committee:
            db.session.add(CommitteeScore(
                application_id=application.id, member_ref=item.evaluator, points=item.points,
                no_show=item.no_show, recorded_at=now, recorded_by_id=getattr(actor, "id",
                                                                                actor)))
            continue
        points = {key: _points_text(value) for key, value in (item.criteria or {}).items()} \
            or {"total": _points_text(item.points)}
        assignment = Assignment(application=application, evaluator_ref=item.evaluator,
                                stage=item.stage, status="submitted", declared_at=now,
                                assigned_by_id=getattr(actor, "id", actor), created_at=now)
        assignment.card = ScoreCard(points=points, total=item.points, submitted_at=now,
                                    justifications={})
        db.session.add(assignment)
    db.session.flush()
    for application in applications.values():
        if application.ref in rejected:
            continue
        set_status(application, ApplicationStatus.ACCEPTED, actor,
                   changes={"source": "import"})
    valid = [a for a in applications.values() if a.ref not in rejected]
    sheets = scoring.score_sheets(application_ids=[a.id for a in valid])
    for application in valid:
        scoring.settle(application, actor, stages,
                       sheets.get(application.id) or scoring.ScoreSheet([], []))
    record("call.evaluations_imported", call, actor=actor, changes={
        "cards": sum(1 for e in doc.evaluations if e.stage not in committee),
        "committee_scores": sum(1 for e in doc.evaluations if e.stage in committee)})
    db.session.flush()


def _record_awards(doc: CallDocument, applications: dict, actor=None) -> None:
    """``award`` events apply before the allocation, wherever they stand: the committee's
    amount, accepted by the applicant (a document records what was agreed)."""
    awards: dict[str, Award] = {}
    now = utcnow()
    for event in doc.events:
        if event.type != "award":
            continue
        application = applications[event.application]
        award = awards.get(event.application)
        if award is None:
            award = Award(application_id=application.id, amount=event.amount,
                          status="accepted", decided_by_id=getattr(actor, "id", actor),
                          decided_at=now, answered_at=now)
            db.session.add(award)
            awards[event.application] = award
        else:
            award.amount = event.amount
        db.session.flush()
        record("award.accepted", award, actor=actor, changes={
            "application": application.ref, "requested": application.requested,
            "amount": event.amount, "source": "import"})


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
        if not has_stage2 or (mark is not None and scoring.average(stage1) < mark):
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
    """The results of a call in the interchange form (INTERCHANGE.md, "Results")."""
    from core.evaluation.results import call_results as results

    return results(call)


def find_call(ref: str) -> Call | None:
    return db.session.execute(db.select(Call).where(Call.ref == ref)).scalar_one_or_none()
