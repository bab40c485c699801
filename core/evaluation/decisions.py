"""The committee's decisions and what follows them: stage II, awards, the approved lists
and resignations (what the public may read of them: :mod:`core.evaluation.publication`).

Views call one of these operations; each checks what is allowed, changes the data,
writes the audit event, and sends the e-mails (through the outbox, committed with the
change).  They flush but never commit.  A refusal is a :class:`ValidationError` raised
before anything changed.

The engine (scoring, ranking, allocation, results) decides; these record decisions
people take and call the engine for the arithmetic.  Status changes of an application go
through :func:`core.evaluation.transitions.set_status`.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from core.applicants.models import ApplicantProfile
from core.applications.models import Application, ApplicationStatus
from core.audit.operations import record
from core.calls.models import Call, CallStatus
from core.db import db, utcnow
from core.errors import ValidationError

from . import allocation as engine
from . import results as results_format
from . import scoring
from .models import Award, CommitteeScore, InterviewSlot, ResultList
from .transitions import set_status

WARSAW = ZoneInfo("Europe/Warsaw")
CENT = Decimal("0.01")
POLICIES = engine.POLICIES
POLICY_LABELS = {
    "STOP": _l("Stop at the first project that does not fit"),
    "SKIP_TO_FIT": _l("Skip to the next project that fits"),
    "PARTIAL_LAST": _l("Offer the rest to the first project that does not fit"),
}
KINDS = ("stage1", "final")
KIND_LABELS = {"stage1": _l("Stage I list"), "final": _l("Final list")}
# Before the final list: still being evaluated.
PENDING = (ApplicationStatus.SUBMITTED, ApplicationStatus.ACCEPTED, ApplicationStatus.INVITED)
# The outcome of the allocation, told to the applicants.
OUTCOMES = (ApplicationStatus.FUNDED, ApplicationStatus.RESERVE, ApplicationStatus.EXCLUDED)
# An award may be offered to a project that is still competing.
AWARDABLE = (ApplicationStatus.INVITED, ApplicationStatus.RANKED)
OUTCOME_LABELS = {
    "funded": _l("funded"), "reserve": _l("reserve list"), "excluded": _l("excluded"),
    "withdrawn": _l("withdrawn"), "ranked": _l("ranked"), "invited": _l("invited to stage II"),
    "disqualified": _l("disqualified"), "below_threshold": _l("below the pass mark"),
    "rejected": _l("rejected"), "accepted": _l("formally accepted"),
    "submitted": _l("submitted"),
}


def outcome_label(status: str | None) -> str:
    return str(OUTCOME_LABELS.get(status or "", (status or "").replace("_", " ")))


def policy_label(policy: str) -> str:
    return str(POLICY_LABELS.get(policy, policy))


def kind_label(kind: str) -> str:
    return str(KIND_LABELS.get(kind, kind))


def clock() -> dt.datetime:
    """The current instant; tests replace it to move time."""
    return utcnow()


def _pm():
    return current_app.extensions["mikrogranty.plugins"]


def _set_status(application: Application, new: str, actor, **kwargs) -> None:
    set_status(application, new, actor, **kwargs)


def ref_of(application: Application) -> str:
    """How pages name an application: its ref (imports), else its receipt number."""
    return application.ref or application.receipt_number or f"#{application.id}"


def key_of(application: Application) -> str:
    """How the engine and the results format key an application."""
    return application.ref or f"#{application.id}"


# --- the call's stages --------------------------------------------------------------------

def stages(call: Call) -> list:
    return list(_pm().hook.evaluation_stages(call=call) or [])


def committee_stage(call: Call):
    """The stage the committee scores at interviews (stage II), or ``None``."""
    return next((s for s in stages(call) if s.kind == "committee"), None)


def first_stage(call: Call):
    return next(iter(stages(call)), None)


def calls_in_evaluation() -> list[Call]:
    """Calls past their publication, newest first (for the committee's start page)."""
    return list(db.session.scalars(db.select(Call).where(Call.status != CallStatus.DRAFT)
                                   .order_by(Call.created_at.desc(), Call.id.desc())))


def status_counts(call: Call) -> dict[str, int]:
    rows = db.session.execute(db.select(Application.status, db.func.count(Application.id))
                              .where(Application.call_id == call.id)
                              .group_by(Application.status))
    return {status: count for status, count in rows}


# --- who is told --------------------------------------------------------------------------

def contacts(application: Application) -> list[tuple[str, str | None]]:
    """E-mail addresses (with the account's language) of those who answer for
    ``application``: its author and the owners of its applicant and realizer profiles."""
    from core.accounts.models import User

    ids = [application.created_by_id]
    for profile in (application.applicant, application.realizer):
        if profile is not None:
            ids.append(profile.owner_id)
    ids = [i for i in dict.fromkeys(ids) if i is not None]
    if not ids:
        return []
    users = db.session.scalars(db.select(User).where(User.id.in_(ids), User.active.is_(True)))
    by_id = {u.id: u for u in users}
    return [(by_id[i].email, by_id[i].locale) for i in ids if i in by_id]


def _notify(application: Application, template: str, **context) -> int:
    """Send ``mail/<template>.txt`` to everyone answering for the application."""
    from core.notifications.operations import send_mail
    from core.tenancy.models import Tenant
    from core.tenancy.resolve import tenant_url

    tenant = db.session.get(Tenant, application.tenant_id)
    sent = 0
    for email, locale in contacts(application):
        send_mail(email, template, tenant=tenant, locale=locale or None,
                  application=application, call=application.call, ref=ref_of(application),
                  url=tenant_url(tenant, f"/applications/{application.id}/result"),
                  results_url=tenant_url(tenant, f"/calls/{application.call.ref}/results"),
                  **context)
        sent += 1
    return sent


# --- stage II: interview slots ------------------------------------------------------------

def _need_committee_stage(call: Call):
    stage = committee_stage(call)
    if stage is None:
        raise ValidationError(_("This call has no stage II (interviews with the committee)."))
    return stage


def slots_for(call: Call, published_only: bool = False) -> list[InterviewSlot]:
    query = db.select(InterviewSlot).where(InterviewSlot.call_id == call.id)
    if published_only:
        query = query.where(InterviewSlot.published.is_(True))
    return list(db.session.scalars(query.order_by(InterviewSlot.starts_at, InterviewSlot.id)))


def local_instant(day: dt.date, time: dt.time) -> dt.datetime:
    """A date and a time as people in Poland read them, as an aware UTC instant."""
    return dt.datetime.combine(day, time).replace(tzinfo=WARSAW).astimezone(dt.UTC)


def add_slots(call: Call, day: dt.date, start: dt.time, minutes: int, place: str, actor,
              count: int = 1, publish: bool = True) -> list[InterviewSlot]:
    """Add ``count`` consecutive interview slots of ``minutes`` from ``start`` (Warsaw time)."""
    _need_committee_stage(call)
    errors: dict[str, list] = {}
    if not isinstance(minutes, int) or not 5 <= minutes <= 240:
        errors["minutes"] = [_("A slot lasts from 5 to 240 minutes.")]
    if not isinstance(count, int) or not 1 <= count <= 40:
        errors["count"] = [_("Add from 1 to 40 slots at once.")]
    place = (place or "").strip()
    if not place:
        errors["place"] = [_("Say where the interview takes place.")]
    elif len(place) > 300:
        errors["place"] = [_("The place is too long (300 characters at most).")]
    first = local_instant(day, start)
    if not errors and first <= clock():
        errors["day"] = [_("The slot must be in the future.")]
    if errors:
        raise ValidationError(errors)
    taken = {(s.starts_at, s.place) for s in slots_for(call)}
    slots = []
    for n in range(count):
        starts = first + dt.timedelta(minutes=minutes * n)
        if (starts, place) in taken:
            raise ValidationError({"start": [_("There is already a slot at %(when)s in this "
                                               "place.", when=_local(starts))]})
        slot = InterviewSlot(call_id=call.id, starts_at=starts, minutes=minutes, place=place,
                             published=publish)
        db.session.add(slot)
        slots.append(slot)
    db.session.flush()
    for slot in slots:
        record("interview_slot.added", slot, actor=actor, changes={
            "call": call.ref, "starts_at": slot.starts_at.isoformat(),
            "minutes": slot.minutes, "place": slot.place, "published": slot.published})
    return slots


def _local(instant: dt.datetime) -> str:
    from flask_babel import format_datetime

    return format_datetime(instant, "d MMMM y, HH:mm")


def publish_slots(call: Call, actor) -> int:
    _need_committee_stage(call)
    count = 0
    for slot in slots_for(call):
        if not slot.published:
            slot.published = True
            record("interview_slot.published", slot, actor=actor, changes={"published": True})
            count += 1
    db.session.flush()
    return count


def remove_slot(slot: InterviewSlot, actor) -> None:
    if slot.application_id is not None:
        raise ValidationError(_("This slot is booked; the applicant must cancel the booking "
                                "first."))
    record("interview_slot.removed", slot, actor=actor,
           changes={"starts_at": slot.starts_at.isoformat(), "place": slot.place})
    db.session.delete(slot)
    db.session.flush()


def booked_slot(application: Application) -> InterviewSlot | None:
    return db.session.execute(db.select(InterviewSlot).where(
        InterviewSlot.application_id == application.id)).scalar_one_or_none()


def free_slots(call: Call) -> list[InterviewSlot]:
    now = clock()
    return [s for s in slots_for(call, published_only=True)
            if s.application_id is None and s.starts_at > now]


def book_slot(application: Application, slot: InterviewSlot, actor) -> InterviewSlot:
    """Book ``slot`` for an invited application: one per application, first come."""
    if application.status != ApplicationStatus.INVITED:
        raise ValidationError(_("Only applications invited to stage II can book an interview."))
    if slot.call_id != application.call_id or not slot.published:
        raise ValidationError(_("This interview slot does not exist."))
    if slot.starts_at <= clock():
        raise ValidationError(_("This slot has already passed; choose another one."))
    current = booked_slot(application)
    if current is not None:
        if current.id == slot.id:
            return slot
        raise ValidationError(_("You have already booked %(when)s. Cancel that booking first "
                                "to choose another slot.", when=_local(current.starts_at)))
    now = clock()
    # First come: only a free slot is taken, in one statement.
    try:
        with db.session.begin_nested():
            taken = db.session.execute(
                db.update(InterviewSlot)
                .where(InterviewSlot.id == slot.id, InterviewSlot.application_id.is_(None))
                .values(application_id=application.id, booked_at=now)
                .execution_options(synchronize_session=False))
    except IntegrityError:  # the same application booked another slot at the same moment
        raise ValidationError(_("This application already has an interview booked.")) from None
    if taken.rowcount != 1:
        db.session.refresh(slot)
        raise ValidationError(_("Sorry, someone has just booked this slot. Please choose "
                                "another one."))
    db.session.refresh(slot)
    record("interview_slot.booked", slot, actor=actor,
           changes={"application": application.id, "starts_at": slot.starts_at.isoformat()})
    return slot


def cancel_booking(application: Application, actor) -> None:
    slot = booked_slot(application)
    if slot is None:
        return
    if application.status != ApplicationStatus.INVITED or slot.starts_at <= clock():
        raise ValidationError(_("This booking can no longer be cancelled here; contact the "
                                "operator."))
    record("interview_slot.cancelled", slot, actor=actor,
           changes={"application": [application.id, None]})
    slot.application_id = None
    slot.booked_at = None
    db.session.flush()


def invitations_pending(call: Call) -> list[Application]:
    """Invited applications not told yet about stage II."""
    from core.audit.models import AuditEvent

    invited = list(db.session.scalars(db.select(Application).where(
        Application.call_id == call.id, Application.status == ApplicationStatus.INVITED)
        .order_by(Application.id)))
    if not invited:
        return []
    told = set(db.session.scalars(db.select(AuditEvent.object_id).where(
        AuditEvent.action == "stage2.invitation_sent", AuditEvent.object_type == "Application",
        AuditEvent.object_id.in_([a.id for a in invited]))))
    return [a for a in invited if a.id not in told]


def send_invitations(call: Call, actor) -> int:
    """E-mail every invited application not told yet; returns how many were told."""
    stage = _need_committee_stage(call)
    if not free_slots(call) and not any(s.application_id for s in slots_for(call)):
        raise ValidationError(_("Publish the interview slots first, so that the invitation "
                                "can offer them."))
    count = 0
    for application in invitations_pending(call):
        _notify(application, "stage2_invitation", stage=stage,
                slots=[s for s in free_slots(call)][:10])
        record("stage2.invitation_sent", application, actor=actor)
        count += 1
    db.session.flush()
    return count


# --- stage II: the committee's points -----------------------------------------------------

def committee_members() -> list:
    """The accounts holding the committee role in the current tenant, by e-mail."""
    from core.accounts.models import Membership, Role, User

    return list(db.session.scalars(
        db.select(User).join(Membership, Membership.user_id == User.id)
        .where(Membership.role == Role.COMMITTEE).order_by(User.email)))


def stage2_candidates(call: Call) -> list[Application]:
    """The applications of stage II: invited, or already scored there."""
    return list(db.session.scalars(
        db.select(Application).where(
            Application.call_id == call.id,
            Application.status.in_([ApplicationStatus.INVITED, ApplicationStatus.RANKED,
                                    ApplicationStatus.DISQUALIFIED]),
            Application.stage1_score.is_not(None))
        .order_by(Application.stage1_score.desc(), Application.submitted_at, Application.id)))


def committee_scores(application_ids) -> dict[int, list[CommitteeScore]]:
    ids = list(application_ids)
    found: dict[int, list[CommitteeScore]] = {i: [] for i in ids}
    if ids:
        for score in db.session.scalars(db.select(CommitteeScore).where(
                CommitteeScore.application_id.in_(ids)).order_by(CommitteeScore.id)):
            found[score.application_id].append(score)
    return found


def parse_points(text) -> Decimal | None:
    """``"7,5"`` → ``Decimal("7.50")``; empty → ``None``; anything else raises ValueError."""
    if text is None:
        return None
    if isinstance(text, Decimal):
        value = text
    elif isinstance(text, int) and not isinstance(text, bool):
        value = Decimal(text)
    elif isinstance(text, str):
        text = text.strip().replace(",", ".")
        if not text:
            return None
        try:
            value = Decimal(text)
        except InvalidOperation:
            raise ValueError(text) from None
    else:
        raise ValueError(text)
    if not value.is_finite():
        raise ValueError(text)
    return value


def _check_points(raw, maximum: Decimal) -> tuple[Decimal | None, str | None]:
    try:
        value = parse_points(raw)
    except ValueError:
        return None, _("Enter points as a number, e.g. 7 or 7,5.")
    if value is None:
        return None, None
    if value < 0:
        return None, _("Points cannot be negative.")
    if value > maximum:
        return None, _("At most %(max)s points.", max=_points_text(maximum))
    if value != value.quantize(CENT):
        return None, _("Two decimal places at most.")
    return value.quantize(CENT), None


def _points_text(value) -> str:
    from flask_babel import format_decimal

    return format_decimal(Decimal(value), format="#,##0.##")


def _final_approved(call: Call) -> ResultList | None:
    found = result_list(call, "final")
    return found if found is not None and found.approved_at is not None else None


def record_stage2(application: Application, points: dict, actor, *, no_show: bool = False
                  ) -> Application:
    """Record the committee's points per member (``{member_id: points}``), or a no-show.

    Points lie within 0 … the stage's maximum; members left empty did not score.  A
    no-show disqualifies the application.  When every invited application of the call has
    its result, they all become ``ranked``.
    """
    call = application.call
    stage = _need_committee_stage(call)
    if _final_approved(call) is not None:
        raise ValidationError(_("The final list is approved; stage II can no longer change."))
    if application.status not in (ApplicationStatus.INVITED, ApplicationStatus.RANKED):
        raise ValidationError(_("Only applications invited to stage II are scored by the "
                                "committee (this one is %(status)s).",
                                status=outcome_label(application.status)))
    existing = committee_scores([application.id])[application.id]
    if no_show:
        for score in existing:
            db.session.delete(score)
        db.session.add(CommitteeScore(application_id=application.id, no_show=True,
                                      recorded_by_id=getattr(actor, "id", None)))
        db.session.flush()
        _recompute(application)
        record("stage2.no_show", application, actor=actor,
               changes={"no_show": True, "stage": stage.number})
        _set_status(application, ApplicationStatus.DISQUALIFIED, actor)
        _rank_when_complete(call, actor)
        return application
    members = {m.id for m in committee_members()}
    errors: dict[str, list] = {}
    values: dict[int, Decimal] = {}
    for member_id, raw in points.items():
        key = f"member_{member_id}"
        if int(member_id) not in members:
            errors[key] = [_("This person is not on the committee.")]
            continue
        value, problem = _check_points(raw, Decimal(stage.max_points))
        if problem:
            errors[key] = [problem]
        elif value is not None:
            values[int(member_id)] = value
    if not errors and not values:
        errors["_"] = [_("Enter the points of at least one committee member, or record "
                         "that the applicant did not come.")]
    if errors:
        raise ValidationError(errors)
    before = {s.member_id: s.points for s in existing if not s.no_show}
    for score in existing:
        if score.no_show or score.member_id not in values:
            db.session.delete(score)
    kept = {s.member_id: s for s in existing if not s.no_show and s.member_id in values}
    for member_id, value in values.items():
        score = kept.get(member_id)
        if score is None:
            db.session.add(CommitteeScore(application_id=application.id, member_id=member_id,
                                          points=value, recorded_by_id=getattr(actor, "id", None)))
        else:
            score.points = value
            score.recorded_by_id = getattr(actor, "id", None)
            score.recorded_at = utcnow()
    db.session.flush()
    _recompute(application)
    record("stage2.points_recorded", application, actor=actor, changes={
        "stage": stage.number,
        "points": {str(k): [str(before.get(k)) if before.get(k) is not None else None, str(v)]
                   for k, v in values.items()},
        "stage2_score": str(application.stage2_score) if application.stage2_score is not None
        else None})
    _rank_when_complete(call, actor)
    return application


def _recompute(application: Application) -> None:
    scoring.recompute(application)
    db.session.flush()


def _rank_when_complete(call: Call, actor) -> int:
    """When every invited application has points or a no-show, they become ``ranked``."""
    invited = list(db.session.scalars(db.select(Application).where(
        Application.call_id == call.id, Application.status == ApplicationStatus.INVITED)))
    if not invited:
        return 0
    scored = committee_scores(a.id for a in invited)
    if any(not scored[a.id] for a in invited):
        return 0
    for application in invited:
        _set_status(application, ApplicationStatus.RANKED, actor)
    db.session.flush()
    return len(invited)


# --- awards -------------------------------------------------------------------------------

AWARD_STATUS_LABELS = {"offered": _l("waiting for the applicant's answer"),
                       "accepted": _l("accepted"), "declined": _l("declined")}


def award_status(status: str) -> str:
    return str(AWARD_STATUS_LABELS.get(status, status))


def award_of(application: Application) -> Award | None:
    return db.session.execute(db.select(Award).where(
        Award.application_id == application.id)).scalar_one_or_none()


def offer_award(application: Application, amount, actor) -> Award:
    """The committee grants less than requested; the applicant is asked to accept."""
    call = application.call
    if _final_approved(call) is not None:
        raise ValidationError(_("The final list is approved; awards can no longer change."))
    if application.status not in AWARDABLE:
        raise ValidationError(_("An award can be offered only to a project in the ranking "
                                "(this one is %(status)s).",
                                status=outcome_label(application.status)))
    if amount is None:
        raise ValidationError({"amount": [_("Enter the amount.")]})
    if isinstance(amount, float):
        raise TypeError("money is never a float")
    amount = Decimal(amount)
    requested = application.requested or Decimal("0.00")
    if amount != amount.quantize(CENT):
        raise ValidationError({"amount": [_("Give the amount in złoty and grosze (two decimal "
                                            "places at most).")]})
    if amount <= 0:
        raise ValidationError({"amount": [_("The award must be more than zero.")]})
    if amount > requested:
        raise ValidationError({"amount": [_(
            "The award cannot be higher than the amount requested (%(requested)s).",
            requested=_money(requested))]})
    if amount == requested:
        raise ValidationError({"amount": [_(
            "This is the amount requested; an award is only for granting less.")]})
    award = award_of(application)
    if award is not None and award.status == "accepted" and award.amount == amount:
        return award
    old = award.amount if award is not None else None
    if award is None:
        award = Award(application_id=application.id, amount=amount)
        db.session.add(award)
    award.amount = amount.quantize(CENT)
    award.status = "offered"
    award.decided_by_id = getattr(actor, "id", None)
    award.decided_at = utcnow()
    award.answered_at = None
    db.session.flush()
    record("award.offered", application, actor=actor,
           changes={"amount": [str(old) if old is not None else None, str(award.amount)],
                    "requested": str(requested)})
    _notify(application, "award_offer", amount=award.amount, requested=requested)
    return award


def cancel_award(application: Application, actor) -> None:
    """The committee takes the offer back: the project competes for the amount requested."""
    award = award_of(application)
    if award is None:
        return
    if _final_approved(application.call) is not None:
        raise ValidationError(_("The final list is approved; awards can no longer change."))
    record("award.cancelled", application, actor=actor, changes={"amount": [str(award.amount),
                                                                            None]})
    db.session.delete(award)
    db.session.flush()


def answer_award(application: Application, accept: bool, actor) -> Award:
    """The applicant accepts the lower amount, or declines it (and so withdraws)."""
    award = award_of(application)
    if award is None:
        raise ValidationError(_("There is no award to answer for this application."))
    if award.status != "offered":
        raise ValidationError(_("You have already answered this offer."))
    if application.status in (ApplicationStatus.WITHDRAWN, ApplicationStatus.EXCLUDED,
                              ApplicationStatus.DISQUALIFIED):
        raise ValidationError(_("This application is %(status)s; the offer can no longer be "
                                "answered.", status=outcome_label(application.status)))
    award.status = "accepted" if accept else "declined"
    award.answered_at = utcnow()
    db.session.flush()
    record("award.accepted" if accept else "award.declined", application, actor=actor,
           changes={"amount": str(award.amount)})
    if not accept:
        if application.status in (ApplicationStatus.FUNDED, ApplicationStatus.RESERVE) and \
                _final_approved(application.call) is not None:
            resign(application, actor, reason="award_declined")
        else:
            _withdraw(application, actor)
        _notify(application, "award_declined", amount=award.amount)
    return award


def _withdraw(application: Application, actor) -> None:
    _set_status(application, ApplicationStatus.WITHDRAWN, actor)


def _money(value) -> str:
    from core.i18n import format_money

    return format_money(Decimal(value))


# --- the ranking and "what if" ------------------------------------------------------------

@dataclass
class RankingRow:
    application: Application
    rank: int | None
    ref: str
    name: str
    award: Award | None
    outcomes: dict = field(default_factory=dict)   # policy → allocation.Outcome

    @property
    def requested(self) -> Decimal | None:
        return self.application.requested


@dataclass
class RankingTable:
    call: Call
    policy: str
    pool: Decimal
    rows: list[RankingRow]
    totals: dict          # policy → Allocation.summary()
    differs: bool         # the policies give different results
    approved: ResultList | None = None


def call_policy(call: Call) -> str:
    policy = str((call.params or {}).get("cutoff_policy") or "STOP").upper()
    return policy if policy in POLICIES else "STOP"


def _allocation_items(allocation) -> list:
    """(entry, outcome) pairs of an engine :class:`Allocation`, best first."""
    return [(entry, allocation.outcomes[entry.ref]) for entry in allocation.ranking
            if entry.ref in allocation.outcomes]


def ranking_table(call: Call) -> RankingTable:
    """The ranking with the allocation under each cut-off policy, side by side.

    The number of queries does not depend on the number of applications.
    """
    own = call_policy(call)
    allocations = {policy: engine.allocate_call(call, policy=policy) for policy in POLICIES}
    base = allocations[own]
    entries = [entry for entry, _outcome in _allocation_items(base)]
    ids = [e.application_id for e in entries]
    applications = _load(ids)
    awards = {a.application_id: a for a in db.session.scalars(
        db.select(Award).where(Award.application_id.in_(ids)))} if ids else {}
    rows = []
    for position, entry in enumerate(entries, start=1):
        application = applications[entry.application_id]
        rows.append(RankingRow(
            application=application, rank=entry.rank or position, ref=ref_of(application),
            name=display_name(application), award=awards.get(application.id),
            outcomes={p: allocations[p].outcomes.get(entry.ref) for p in POLICIES}))

    def decided(policy, ref):
        outcome = allocations[policy].outcomes.get(ref)
        return (outcome.status, outcome.amount) if outcome is not None else None

    differs = any(decided(p, e.ref) != decided(own, e.ref) for p in POLICIES for e in entries)
    return RankingTable(call=call, policy=own, pool=base.pool, rows=rows,
                        totals={p: allocations[p].summary() for p in POLICIES},
                        differs=differs, approved=_final_approved(call))


def _load(ids) -> dict[int, Application]:
    """Applications with their profiles and people, in a fixed number of queries."""
    if not ids:
        return {}
    query = db.select(Application).where(Application.id.in_(list(ids))).options(
        selectinload(Application.applicant).selectinload(ApplicantProfile.person),
        selectinload(Application.realizer).selectinload(ApplicantProfile.person))
    return {a.id: a for a in db.session.scalars(query)}


def display_name(application: Application) -> str:
    """The name staff and the committee read: the realizer, and the applicant where it
    is another (a patron)."""
    realizer = application.realizer or application.applicant
    applicant = application.applicant
    name = realizer.display_name if realizer is not None else ""
    if applicant is not None and realizer is not None and applicant.id != realizer.id:
        name = _("%(realizer)s (through %(applicant)s)", realizer=name,
                 applicant=applicant.display_name)
    return name


# --- approving the lists ------------------------------------------------------------------

def result_list(call: Call, kind: str) -> ResultList | None:
    return db.session.execute(db.select(ResultList).where(
        ResultList.call_id == call.id, ResultList.kind == kind)).scalar_one_or_none()


def result_lists(call: Call) -> dict[str, ResultList]:
    return {r.kind: r for r in db.session.scalars(
        db.select(ResultList).where(ResultList.call_id == call.id))}


def accepts_applications(call: Call) -> bool:
    """Whether residents can still submit to ``call``: published and before its deadline."""
    return call.status == CallStatus.PUBLISHED and (
        call.deadline_at is None or clock() <= call.deadline_at)


def _refuse_while_open(call: Call) -> None:
    """A list decided while applications still come in would leave the late ones out."""
    if accepts_applications(call):
        raise ValidationError(_(
            "The call still accepts applications until %(deadline)s: a list can be approved "
            "only after the deadline, or once an administrator has closed the call.",
            deadline=_local(call.deadline_at) if call.deadline_at else "—"))


def _refuse_pending(call: Call, statuses, message) -> None:
    count = db.session.execute(db.select(db.func.count(Application.id)).where(
        Application.call_id == call.id, Application.status.in_(list(statuses)))).scalar_one()
    if count:
        raise ValidationError(message(count))


def stage1_results(call: Call) -> dict:
    """The stage-I list as a snapshot: the applications that passed to stage II with their
    stage-1 scores, best first (the engine's order: score, submission, ref)."""
    stage = first_stage(call)
    passed = [row for row in results_format.stage1_list(call) if row["passed"]
              and row["status"] not in (ApplicationStatus.REJECTED,)]
    return {
        "call": call.ref, "kind": "stage1",
        "pass_mark": f"{Decimal(stage.pass_mark):.2f}"
        if stage is not None and stage.pass_mark is not None else None,
        "ranking": [row["ref"] for row in passed],
        "applications": {row["ref"]: {"status": "invited", "rank": n, "score": row["score"]}
                         for n, row in enumerate(passed, start=1)},
    }


def approve_stage1_list(call: Call, actor) -> ResultList:
    """Approve the list of those invited to stage II (LPM publishes it separately)."""
    _need_committee_stage(call)
    _refuse_while_open(call)
    existing = result_list(call, "stage1")
    if existing is not None and existing.approved_at is not None:
        raise ValidationError(_("The stage I list was already approved on %(when)s; it cannot "
                                "be approved twice.", when=_local(existing.approved_at)))
    _refuse_pending(call, (ApplicationStatus.SUBMITTED, ApplicationStatus.ACCEPTED),
                    lambda n: ngettext(
                        "%(num)d application still waits for its formal check or stage I "
                        "scores.",
                        "%(num)d applications still wait for their formal check or stage I "
                        "scores.", n))
    snapshot = stage1_results(call)
    if not snapshot["ranking"]:
        raise ValidationError(_("No application has passed to stage II yet."))
    return _store_list(call, "stage1", snapshot, actor, existing)


def _store_list(call, kind, snapshot, actor, existing=None) -> ResultList:
    now = utcnow()
    if existing is None:
        existing = ResultList(call_id=call.id, kind=kind)
        db.session.add(existing)
    existing.results = snapshot
    existing.policy = call_policy(call) if kind == "final" else None
    existing.approved_by_id = getattr(actor, "id", None)
    existing.approved_at = now
    existing.revision = 1
    try:
        db.session.flush()
    except IntegrityError:  # approved at the same moment by someone else
        db.session.rollback()
        raise ValidationError(_("This list has just been approved by someone else.")) from None
    record("results.approved", existing, actor=actor, changes={
        "call": call.ref, "kind": kind, "policy": existing.policy, "revision": 1,
        "ranking": snapshot.get("ranking")})
    return existing


def approve_final_list(call: Call, actor) -> ResultList:
    """The committee approves the ranking: the allocation is applied, statuses become
    funded / reserve / excluded, a snapshot is kept, and every applicant is told."""
    existing = result_list(call, "final")
    if existing is not None and existing.approved_at is not None:
        raise ValidationError(_("The final list was already approved on %(when)s; it cannot be "
                                "approved twice.", when=_local(existing.approved_at)))
    _refuse_while_open(call)
    _refuse_pending(call, PENDING, lambda n: ngettext(
        "%(num)d application is still being evaluated (formal check, stage I or stage II); "
        "finish the evaluation first.",
        "%(num)d applications are still being evaluated (formal check, stage I or stage II); "
        "finish the evaluation first.", n))
    allocation = engine.allocate_call(call)
    if not _allocation_items(allocation):
        raise ValidationError(_("There is no ranked application to approve."))
    changes = engine.apply(call, allocation, actor)
    snapshot = results_format.call_results(call)
    stored = _store_list(call, "final", snapshot, actor, existing)
    for change in changes:
        application = change.application
        if application.status in OUTCOMES:
            _notify(application, "results", status=str(application.status),
                    amount=application.allocated, position=application.reserve_position,
                    rules=[_rule_label(r) for r in (application.rules or [])])
    return stored


def _rule_label(rule: str) -> str:
    return str({"realizer.already_funded": _l("the realizer already has a funded project in "
                                              "this call"),
                "pool.area_quota": _l("the area's quota or sub-pool is used up")}.get(rule, rule))


def publish_list(call: Call, kind: str, actor) -> ResultList:
    if kind not in KINDS:
        raise ValidationError(_("Unknown list."))
    found = result_list(call, kind)
    if found is None or found.approved_at is None:
        raise ValidationError(_("Only an approved list can be published."))
    if found.published_at is not None:
        raise ValidationError(_("This list is already published."))
    found.published_at = utcnow()
    db.session.flush()
    record("results.published", found, actor=actor, changes={"call": call.ref, "kind": kind,
                                                              "revision": found.revision})
    return found


# --- resignation --------------------------------------------------------------------------

def may_resign(application: Application) -> bool:
    return application.status in (ApplicationStatus.FUNDED, ApplicationStatus.RESERVE) and \
        _final_approved(application.call) is not None


def resign(application: Application, actor, reason: str | None = None) -> list[Application]:
    """A funded or reserve project resigns: the money returns, the reserve moves up under
    the call's policy, a new revision of the final list is kept, and those moved up to
    funded are told.  Returns the applications now funded that were not before."""
    call = application.call
    stored = _final_approved(call)
    if stored is None or application.status not in (ApplicationStatus.FUNDED,
                                                     ApplicationStatus.RESERVE):
        raise ValidationError(_("Only a funded project or one on the reserve list can resign, "
                                "after the final list is approved."))
    old_status = application.status
    freed = application.allocated
    allocation = engine.resign(call, application)
    changes = engine.apply(call, allocation, actor)
    if application.status != ApplicationStatus.WITHDRAWN:
        _withdraw(application, actor)
    moved = [c.application for c in changes if c.new_status == ApplicationStatus.FUNDED
             and c.old_status != ApplicationStatus.FUNDED]
    previous = stored.results
    stored.results = results_format.call_results(call)
    stored.revision += 1
    db.session.flush()
    record("application.resigned", application, actor=actor, changes={
        "status": [old_status, ApplicationStatus.WITHDRAWN],
        "freed": str(freed) if freed is not None else None, "reason": reason,
        "moved_up": [key_of(a) for a in moved]})
    # The audit trail keeps every revision of the list: the one replaced is in the event.
    record("results.revised", stored, actor=actor, changes={
        "call": call.ref, "revision": [stored.revision - 1, stored.revision],
        "resigned": key_of(application), "previous": previous})
    for other in moved:
        _notify(other, "reserve_moved_up", amount=other.allocated)
    return moved


# --- the applicant's view -----------------------------------------------------------------

@dataclass
class ApplicantDecision:
    """What an applicant may see and do about one application after submission."""

    application: Application
    stage: object | None
    slot: InterviewSlot | None
    free_slots: list
    award: Award | None
    may_book: bool
    may_resign: bool
    final_published: bool


def applicant_decision(application: Application) -> ApplicantDecision:
    call = application.call
    stage = committee_stage(call)
    slot = booked_slot(application) if stage is not None else None
    invited = application.status == ApplicationStatus.INVITED and stage is not None
    lists = result_lists(call)
    final = lists.get("final")
    return ApplicantDecision(
        application=application, stage=stage, slot=slot,
        free_slots=free_slots(call) if invited and slot is None else [],
        award=award_of(application), may_book=invited and slot is None,
        may_resign=may_resign(application),
        final_published=final is not None and final.published_at is not None)


def pending_action(application: Application) -> str | None:
    """What the applicant should do now: ``"book"``, ``"answer"``, ``"result"`` or None."""
    if application.status == ApplicationStatus.INVITED and committee_stage(application.call):
        return "book" if booked_slot(application) is None else "interview"
    award = award_of(application)
    if award is not None and award.status == "offered" and \
            application.status not in (ApplicationStatus.WITHDRAWN,):
        return "answer"
    if application.status in OUTCOMES:
        return "result"
    return None
