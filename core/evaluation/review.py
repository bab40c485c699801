"""Stage I after the formal check (:mod:`core.evaluation.formal`): evaluators and their cards.

Views parse the request and call one of these; these check what is allowed, change the
data, write the audit events and change statuses through
:func:`core.evaluation.transitions.set_status` (by way of
:func:`core.evaluation.scoring.settle`).  They flush but never commit (the view
commits).  A refused change raises :class:`core.errors.ValidationError` before anything
is written, so bad input never leaves half a change behind.

- Evaluators: assigned by hand or automatically (N per application, balanced load, never
  one who recused or who is linked to the applicant); each declares no conflict of
  interest before seeing the application, or recuses (and the application is reassigned).
- Score cards: criteria from the ``score_card`` hook; points and a justification per
  criterion; saved as a draft, then submitted and locked.  When every card is in, the
  stage-1 score is recomputed and the status follows the pass mark.  Totals far apart
  (call parameter ``third_evaluator_threshold``) ask for a third evaluator.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import selectinload

from core.accounts.models import Membership, Role, User
from core.applicants.models import ApplicantProfile, Person, ProfileEditor, ProfileMember
from core.applications.models import Application, ApplicationStatus
from core.audit.operations import record
from core.calls.models import Call
from core.db import db, utcnow
from core.errors import ValidationError

from .models import Assignment, ScoreCard

STAGE = 1
DEFAULT_EVALUATORS = 2
MAX_EVALUATORS = 10
REASON_MAX = 2000
JUSTIFICATION_MAX = 5000
POINTS_PLACES = Decimal("0.01")

# Applications past the formal check that evaluators work on or worked on.
EVALUATED = (ApplicationStatus.ACCEPTED, ApplicationStatus.BELOW_THRESHOLD,
             ApplicationStatus.INVITED, ApplicationStatus.DISQUALIFIED, ApplicationStatus.RANKED,
             ApplicationStatus.FUNDED, ApplicationStatus.RESERVE, ApplicationStatus.EXCLUDED)

ASSIGNED, DECLARED, SUBMITTED, RECUSED = "assigned", "declared", "submitted", "recused"
ACTIVE = (ASSIGNED, DECLARED, SUBMITTED)

ASSIGNMENT_STATUS_LABELS = {
    ASSIGNED: _l("waiting for the declaration"),
    DECLARED: _l("scoring"),
    SUBMITTED: _l("card submitted"),
    RECUSED: _l("recused"),
}


def assignment_status_label(status: str) -> str:
    return str(ASSIGNMENT_STATUS_LABELS.get(status, status))


def _pm():
    return current_app.extensions["mikrogranty.plugins"]


# =========================================================================================
# Evaluators and their assignments
# =========================================================================================

def evaluators_per_application(call: Call) -> int:
    value = (call.params or {}).get("evaluators_per_application")
    try:
        number = int(value)
    except (TypeError, ValueError):
        return DEFAULT_EVALUATORS
    return min(max(number, 1), MAX_EVALUATORS)


def third_evaluator_threshold(call: Call) -> Decimal | None:
    value = (call.params or {}).get("third_evaluator_threshold")
    if value in (None, "", False):
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def update_settings(call: Call, per_application: int, threshold: Decimal | None, actor) -> dict:
    """Set ``evaluators_per_application`` and ``third_evaluator_threshold`` (``None``: no
    third evaluator) on the call; audited as ``call.evaluation_settings``."""
    errors = {}
    if per_application is None or not 1 <= int(per_application) <= MAX_EVALUATORS:
        errors["evaluators_per_application"] = [_l(
            "Give a number from 1 to %(max)d.", max=MAX_EVALUATORS)]
    if threshold is not None and threshold < 0:
        errors["third_evaluator_threshold"] = [_l("The difference cannot be negative.")]
    if errors:
        raise ValidationError(errors)
    params = dict(call.params or {})
    new = {"evaluators_per_application": int(per_application),
           "third_evaluator_threshold": f"{threshold:.2f}" if threshold is not None else None}
    changes = {key: [params.get(key), value] for key, value in new.items()
               if params.get(key) != value}
    if changes:
        params.update(new)
        call.params = params
        db.session.flush()
        record("call.evaluation_settings", call, changes=changes, actor=actor)
        # Fewer cards needed now (or no third opinion): applications may be complete.
        for application in db.session.scalars(db.select(Application).where(
                Application.call_id == call.id,
                Application.status == ApplicationStatus.ACCEPTED).order_by(Application.id)):
            check_complete(application, actor)
    return changes


def evaluator_accounts() -> list[User]:
    """The accounts holding the evaluator role in the current tenant, by e-mail."""
    return list(db.session.scalars(
        db.select(User).join(Membership, Membership.user_id == User.id)
        .where(Membership.role == Role.EVALUATOR, User.active.is_(True))
        .order_by(User.email)).unique())


def _profiles(application: Application) -> list[ApplicantProfile]:
    profiles = []
    for profile in (application.applicant, application.realizer):
        if profile is not None and profile not in profiles:
            profiles.append(profile)
            if profile.patron is not None and profile.patron not in profiles:
                profiles.append(profile.patron)
    return profiles


def linked_users(application: Application, candidates: list[int] | None = None) -> set[int]:
    """Accounts linked to the applicant: the author, the profiles' owners and editors, and
    the accounts whose own person record (``Person.user_id``) is the applicant person, a
    member or representative of the group or on the board of the organisation — by record
    or by identity (PESEL, else name and birth date)."""
    profiles = _profiles(application)
    linked: set[int] = {application.created_by_id} if application.created_by_id else set()
    people: list[Person] = []
    for profile in profiles:
        if profile.owner_id:
            linked.add(profile.owner_id)
        people += [p for p in (profile.person, profile.representative) if p is not None]
        people += [m.person for m in profile.members if m.person is not None]
    profile_ids = [p.id for p in profiles]
    if profile_ids:
        linked |= set(db.session.scalars(db.select(ProfileEditor.user_id).where(
            ProfileEditor.profile_id.in_(profile_ids))))
    linked |= {p.user_id for p in people if p.user_id}
    identities = {p.identity for p in people}
    if identities:
        query = db.select(Person).where(Person.user_id.is_not(None))
        if candidates is not None:
            query = query.where(Person.user_id.in_(candidates))
        linked |= {p.user_id for p in db.session.scalars(query) if p.identity in identities}
    return linked


def assignments_of(application: Application, stage: int = STAGE) -> list[Assignment]:
    return list(db.session.scalars(
        db.select(Assignment).where(Assignment.application_id == application.id,
                                    Assignment.stage == stage)
        .options(selectinload(Assignment.card)).order_by(Assignment.id)))


def _loads(call: Call) -> Counter:
    """Active stage-1 assignments per evaluator in ``call``."""
    rows = db.session.execute(
        db.select(Assignment.evaluator_id, db.func.count(Assignment.id))
        .join(Application, Application.id == Assignment.application_id)
        .where(Application.call_id == call.id, Assignment.stage == STAGE,
               Assignment.status.in_(ACTIVE), Assignment.evaluator_id.is_not(None))
        .group_by(Assignment.evaluator_id)).all()
    return Counter({evaluator_id: count for evaluator_id, count in rows})


def _submitted_totals(assignments: list[Assignment]) -> list[Decimal]:
    return [a.card.total for a in assignments
            if a.status == SUBMITTED and a.card is not None and a.card.submitted_at is not None
            and a.card.total is not None]


def disagreement(call: Call, assignments: list[Assignment]) -> bool:
    """Whether the submitted totals differ by more than the call's threshold."""
    threshold = third_evaluator_threshold(call)
    totals = _submitted_totals(assignments)
    return threshold is not None and len(totals) >= 2 and max(totals) - min(totals) > threshold


def required_evaluators(call: Call, assignments: list[Assignment]) -> int:
    """N per application, one more when two totals differ by more than the threshold."""
    return evaluators_per_application(call) + (1 if disagreement(call, assignments) else 0)


def _eligible(application: Application, assignments: list[Assignment], accounts: list[User],
              loads: Counter) -> list[User]:
    taken = {a.evaluator_id for a in assignments}
    linked = linked_users(application, [u.id for u in accounts])
    free = [u for u in accounts if u.id not in taken and u.id not in linked]
    return sorted(free, key=lambda u: (loads.get(u.id, 0), u.id))


def _create_assignment(application, evaluator_id, actor, *, how: str, loads=None) -> Assignment:
    assignment = Assignment(application_id=application.id, tenant_id=application.tenant_id,
                            evaluator_id=evaluator_id, stage=STAGE, status=ASSIGNED,
                            assigned_by_id=getattr(actor, "id", None))
    db.session.add(assignment)
    db.session.flush()
    if loads is not None:
        loads[evaluator_id] += 1
    record("evaluation.assigned", application, changes={
        "evaluator_id": evaluator_id, "stage": STAGE, "how": how,
        "assignment_id": assignment.id}, actor=actor)
    return assignment


def assign(application: Application, evaluator_id: int | None, actor) -> Assignment:
    """Assign an evaluator to ``application`` by hand."""
    if application.status != ApplicationStatus.ACCEPTED:
        raise ValidationError(_l("Only an application that passed the formal check and is "
                                 "waiting for its scores can get evaluators."))
    accounts = {u.id: u for u in evaluator_accounts()}
    if evaluator_id not in accounts:
        raise ValidationError({"evaluator_id": [_l(
            "Choose a person who holds the evaluator role in this municipality.")]})
    existing = [a for a in assignments_of(application) if a.evaluator_id == evaluator_id]
    email = accounts[evaluator_id].email
    if existing and existing[0].status == RECUSED:
        raise ValidationError({"evaluator_id": [_l(
            "%(who)s declared a conflict of interest with this application and cannot "
            "evaluate it.", who=email)]})
    if existing:
        raise ValidationError({"evaluator_id": [_l(
            "%(who)s is already assigned to this application.", who=email)]})
    if evaluator_id in linked_users(application, [evaluator_id]):
        raise ValidationError({"evaluator_id": [_l(
            "%(who)s is linked to the applicant (a member, the representative, on the board, "
            "or the profile's owner or editor) and cannot evaluate this application.",
            who=email)]})
    return _create_assignment(application, evaluator_id, actor, how="manual")


def unassign(assignment: Assignment, actor) -> None:
    """Take an evaluator off an application; a submitted card stays (it counts)."""
    if assignment.status == SUBMITTED:
        raise ValidationError(_l("This evaluator has submitted the score card; it counts and "
                                 "cannot be taken back."))
    if assignment.status == RECUSED:
        raise ValidationError(_l("This evaluator recused; the declaration stays on record."))
    application = assignment.application
    record("evaluation.unassigned", application, changes={
        "evaluator_id": assignment.evaluator_id, "assignment_id": assignment.id,
        "status": assignment.status,
        "draft_points": (assignment.card.points if assignment.card else None)}, actor=actor)
    db.session.delete(assignment)
    db.session.flush()
    check_complete(application, actor)


@dataclass
class AutoResult:
    created: list = field(default_factory=list)      # new assignments
    short: dict = field(default_factory=dict)        # application → evaluators missing


def _to_evaluate(call: Call) -> list[Application]:
    profile_options = (selectinload(ApplicantProfile.members).selectinload(ProfileMember.person),
                       selectinload(ApplicantProfile.person),
                       selectinload(ApplicantProfile.representative))
    return list(db.session.scalars(
        db.select(Application).where(Application.call_id == call.id,
                                     Application.status == ApplicationStatus.ACCEPTED)
        .options(selectinload(Application.applicant).options(
                     *profile_options,
                     selectinload(ApplicantProfile.patron).options(*profile_options)),
                 selectinload(Application.realizer).options(*profile_options))
        .order_by(Application.submitted_at, Application.id)))


def assign_automatically(call: Call, actor) -> AutoResult:
    """Give every accepted application of ``call`` the evaluators it still needs.

    The least loaded eligible evaluator first (ties: the earliest account), never one who
    recused from or is linked to the application.  Applications that cannot get enough
    are returned in ``short`` (staff see them on the assignment page).
    """
    accounts = evaluator_accounts()
    loads = _loads(call)
    result = AutoResult()
    for application in _to_evaluate(call):
        assignments = assignments_of(application)
        active = [a for a in assignments if a.status in ACTIVE]
        missing = required_evaluators(call, assignments) - len(active)
        if missing <= 0:
            continue
        for evaluator in _eligible(application, assignments, accounts, loads)[:missing]:
            result.created.append(_create_assignment(application, evaluator.id, actor,
                                                     how="automatic", loads=loads))
            missing -= 1
        if missing > 0:
            result.short[application] = missing
    return result


def _replace(application: Application, actor, why: str, replaced: Assignment | None = None
             ) -> Assignment | None:
    """One more evaluator for ``application`` (a recusal, a third opinion), if any is
    eligible; audited either way."""
    call = application.call
    assignments = assignments_of(application)
    accounts = evaluator_accounts()
    eligible = _eligible(application, assignments, accounts, _loads(call))
    replaced_id = replaced.evaluator_id if replaced is not None else None
    if not eligible:
        record(f"evaluation.{why}_unfilled", application, changes={
            "replaced_evaluator_id": replaced_id}, actor=actor)
        return None
    new = _create_assignment(application, eligible[0].id, actor, how=why)
    record(f"evaluation.{why}", application, changes={
        "replaced_evaluator_id": replaced_id, "evaluator_id": new.evaluator_id,
        "assignment_id": new.id}, actor=actor)
    return new


@dataclass
class CallOverview:
    rows: list                        # [{application, assignments, required, missing}]
    evaluators: list                  # [(user, load)]
    per_application: int
    threshold: Decimal | None

    @property
    def short(self) -> list:
        return [row for row in self.rows if row["missing"] > 0]


def assignment_overview(call: Call) -> CallOverview:
    """The assignment page: each application after the formal check with its evaluators."""
    applications = list(db.session.scalars(
        db.select(Application).where(Application.call_id == call.id,
                                     Application.status.in_(EVALUATED))
        .order_by(Application.submitted_at, Application.id)))
    by_application: dict[int, list] = {a.id: [] for a in applications}
    if applications:
        for assignment in db.session.scalars(
                db.select(Assignment).where(Assignment.application_id.in_(list(by_application)),
                                            Assignment.stage == STAGE)
                .options(selectinload(Assignment.card)).order_by(Assignment.id)):
            by_application[assignment.application_id].append(assignment)
    accounts = evaluator_accounts()
    emails = {u.id: u.email for u in accounts}
    missing_ids = {a.evaluator_id for rows in by_application.values() for a in rows
                   if a.evaluator_id and a.evaluator_id not in emails}
    if missing_ids:
        emails.update({u.id: u.email for u in db.session.scalars(
            db.select(User).where(User.id.in_(missing_ids)))})
    loads = _loads(call)
    rows = []
    for application in applications:
        assignments = by_application[application.id]
        active = [a for a in assignments if a.status in ACTIVE]
        required = required_evaluators(call, assignments)
        missing = max(required - len(active), 0) \
            if application.status == ApplicationStatus.ACCEPTED else 0
        rows.append({"application": application, "assignments": assignments,
                     "required": required, "missing": missing,
                     "third": disagreement(call, assignments), "emails": emails})
    return CallOverview(rows=rows, evaluators=[(u, loads.get(u.id, 0)) for u in accounts],
                        per_application=evaluators_per_application(call),
                        threshold=third_evaluator_threshold(call))


# --- the evaluator's side ---------------------------------------------------------------

def my_assignments(user) -> list[Assignment]:
    """The evaluator's assignments in the current tenant, without the recused ones; a fixed
    number of queries whatever their number (the list page)."""
    return list(db.session.scalars(
        db.select(Assignment).where(Assignment.evaluator_id == user.id,
                                    Assignment.status != RECUSED)
        .options(selectinload(Assignment.application).selectinload(Application.call),
                 selectinload(Assignment.card))
        .order_by(Assignment.created_at, Assignment.id)))


def my_assignment_or_404(assignment_id: int, user) -> Assignment:
    """The evaluator's own assignment; another's, a recused one or another tenant's is 404."""
    from flask import abort

    assignment = db.session.execute(db.select(Assignment).where(
        Assignment.id == assignment_id, Assignment.evaluator_id == user.id)
    ).scalar_one_or_none()
    if assignment is None or assignment.status == RECUSED:
        abort(404)
    return assignment


def declare(assignment: Assignment, actor, statement: bool) -> Assignment:
    """The evaluator states there is no conflict of interest; then the application opens."""
    if assignment.status in (DECLARED, SUBMITTED):
        return assignment
    if assignment.status != ASSIGNED:
        raise ValidationError(_l("This assignment is closed."))
    if not statement:
        raise ValidationError({"statement": [_l(
            "Tick the statement to confirm you have no conflict of interest, or recuse "
            "yourself below.")]})
    assignment.status = DECLARED
    assignment.declared_at = utcnow()
    db.session.flush()
    record("evaluation.declared", assignment.application, changes={
        "assignment_id": assignment.id, "evaluator_id": assignment.evaluator_id,
        "no_conflict_of_interest": True}, actor=actor)
    return assignment


def recuse(assignment: Assignment, actor, reason: str) -> Assignment | None:
    """The evaluator declares a conflict of interest and steps back; the application goes
    to another eligible evaluator if there is one (returned), else staff see it short."""
    if assignment.status == SUBMITTED:
        raise ValidationError(_l("Your score card is submitted; you can no longer recuse. "
                                 "Tell the staff about the conflict of interest."))
    if assignment.status == RECUSED:
        return None
    reason = str(reason or "").strip()[:REASON_MAX]
    if not reason:
        raise ValidationError({"reason": [_l("Say why you recuse yourself (e.g. a family "
                                             "member is in the group).")]})
    application = assignment.application
    assignment.status = RECUSED
    assignment.recused_at = utcnow()
    assignment.recusal_reason = reason
    db.session.flush()
    record("evaluation.recused", application, changes={
        "assignment_id": assignment.id, "evaluator_id": assignment.evaluator_id,
        "reason": reason}, actor=actor)
    if application.status != ApplicationStatus.ACCEPTED:
        return None
    return _replace(application, actor, "reassigned", replaced=assignment)


# =========================================================================================
# Score cards
# =========================================================================================

def stages(call: Call) -> list:
    from .scoring import stages_for

    return stages_for(call)


def stage_one(call: Call):
    return next((s for s in stages(call) if s.number == STAGE), None)


def criteria(call: Call, stage: int = STAGE) -> list:
    """The score card's criteria (``score_card`` hook)."""
    return list(_pm().hook.score_card(call=call, stage=stage) or [])


class CardLocked(ValidationError):
    """The score card is submitted: it can no longer change."""


def _parse_points(text, criterion) -> tuple[Decimal | None, str | None]:
    value = str(text or "").strip().replace(",", ".").replace("\u00a0", "").replace(" ", "")
    if not value:
        return None, None
    label = str(criterion.label)
    try:
        points = Decimal(value)
    except InvalidOperation:
        return None, _("“%(criterion)s”: enter the points as a number, e.g. 3 or 2,5.",
                       criterion=label)
    if not points.is_finite():
        return None, _("“%(criterion)s”: enter the points as a number, e.g. 3 or 2,5.",
                       criterion=label)
    maximum = Decimal(str(criterion.max_points))
    if points < 0:
        return None, _("“%(criterion)s”: points cannot be negative (0 to %(max)s).",
                       criterion=label, max=_points_text(maximum))
    if points > maximum:
        return None, _("“%(criterion)s”: at most %(max)s points.", criterion=label,
                       max=_points_text(maximum))
    if points != points.quantize(POINTS_PLACES):
        return None, _("“%(criterion)s”: use at most two decimal places.", criterion=label)
    return points.quantize(POINTS_PLACES), None


def _points_text(value: Decimal) -> str:
    from flask_babel import format_decimal

    return format_decimal(value, "#,##0.##")


def points_field(key: str) -> str:
    return f"points-{key}"


def justification_field(key: str) -> str:
    return f"justification-{key}"


def save_card(assignment: Assignment, actor, points: dict, justifications: dict,
              submit: bool = False) -> ScoreCard:
    """Save the evaluator's card (a draft), or submit it (``submit``): then it is locked.

    ``points``/``justifications``: ``{criterion key: text}`` as typed.  Points lie within
    0 … the criterion's maximum, two decimals at most; submitting needs points and a
    justification for every criterion.  Errors name the criterion and nothing changes.
    """
    card = assignment.card
    if assignment.status == SUBMITTED or (card is not None and card.submitted_at is not None):
        raise CardLocked(_l("This score card is submitted and locked; nothing was changed."))
    if assignment.status == ASSIGNED:
        raise ValidationError(_l("Declare that you have no conflict of interest before "
                                 "scoring; nothing was saved."))
    if assignment.status != DECLARED:
        raise ValidationError(_l("This assignment is closed; nothing was saved."))
    application = assignment.application
    if application.status != ApplicationStatus.ACCEPTED:
        raise ValidationError(_l("This application is no longer being scored (it is %(status)s); "
                                 "nothing was saved.", status=_status_text(application.status)))
    errors: dict[str, list] = {}
    clean_points: dict[str, str] = {}
    clean_texts: dict[str, str] = {}
    total = Decimal("0.00")
    for criterion in criteria(application.call):
        value, error = _parse_points(points.get(criterion.key), criterion)
        text = str(justifications.get(criterion.key) or "").strip()[:JUSTIFICATION_MAX]
        if error:
            errors.setdefault(points_field(criterion.key), []).append(error)
        elif value is None and submit:
            errors.setdefault(points_field(criterion.key), []).append(_(
                "“%(criterion)s”: give the points before submitting.",
                criterion=str(criterion.label)))
        if submit and not text:
            errors.setdefault(justification_field(criterion.key), []).append(_(
                "“%(criterion)s”: justify the points before submitting.",
                criterion=str(criterion.label)))
        if value is not None:
            clean_points[criterion.key] = str(value)
            total += value
        if text:
            clean_texts[criterion.key] = text
    if errors:
        raise ValidationError(errors)
    if submit:
        # Two evaluators submitting at once: the second waits and sees the first's card.
        db.session.execute(db.select(Application.id).where(Application.id == application.id)
                           .with_for_update())
    if card is None:
        card = ScoreCard(assignment=assignment, tenant_id=assignment.tenant_id)
        db.session.add(card)
    card.points = clean_points
    card.justifications = clean_texts
    card.total = total.quantize(POINTS_PLACES) if clean_points else None
    if not submit:
        db.session.flush()
        return card
    card.submitted_at = utcnow()
    assignment.status = SUBMITTED
    db.session.flush()
    record("evaluation.card_submitted", application, changes={
        "assignment_id": assignment.id, "evaluator_id": assignment.evaluator_id,
        "points": clean_points, "total": card.total}, actor=actor)
    after_card_submitted(application, actor)
    return card


def _status_text(status: str) -> str:
    from core.applications.operations import status_label

    return status_label(status)


def after_card_submitted(application: Application, actor) -> None:
    """A card came in: ask for a third evaluator when the totals are far apart; when every
    card is in, recompute the stage-1 score and move the status by the pass mark."""
    call = application.call
    assignments = assignments_of(application)
    active = [a for a in assignments if a.status in ACTIVE]
    if disagreement(call, assignments) and len(active) < required_evaluators(call, assignments):
        totals = [str(t) for t in _submitted_totals(assignments)]
        record("evaluation.third_requested", application, changes={
            "totals": totals, "threshold": third_evaluator_threshold(call)}, actor=actor)
        _replace(application, actor, "third_assigned")
        return
    check_complete(application, actor, assignments)


def check_complete(application: Application, actor, assignments=None) -> str | None:
    """Close stage 1 of ``application`` when every active evaluator has submitted and
    there are as many cards as required; returns the new status, or ``None``."""
    if application.status != ApplicationStatus.ACCEPTED:
        return None
    assignments = assignments if assignments is not None else assignments_of(application)
    active = [a for a in assignments if a.status in ACTIVE]
    submitted = [a for a in active if a.status == SUBMITTED]
    if not submitted or len(submitted) < len(active) \
            or len(submitted) < required_evaluators(application.call, assignments):
        return None
    return complete_stage_one(application, actor)


def complete_stage_one(application: Application, actor) -> str | None:
    """Every card is in: store the stage-1 score and move the status by it (below the
    pass mark → below_threshold, else invited for a call with stage II, or ranked)."""
    from .scoring import settle

    return settle(application, actor)


def visible_cards(assignment: Assignment) -> list[Assignment]:
    """The other evaluators' submitted cards, once the evaluator's own is submitted."""
    if assignment.status != SUBMITTED:
        return []
    return [a for a in assignments_of(assignment.application)
            if a.id != assignment.id and a.status == SUBMITTED and a.card is not None]


def points_value(card: ScoreCard | None, key: str):
    if card is None or (card.points or {}).get(key) in (None, ""):
        return None
    return Decimal(str(card.points[key]))


__all__ = [
    "AutoResult", "CardLocked", "assign", "assign_automatically", "assignment_overview",
    "criteria", "declare", "evaluator_accounts", "linked_users", "my_assignment_or_404",
    "my_assignments", "recuse", "required_evaluators", "save_card", "unassign",
    "update_settings", "visible_cards",
]
