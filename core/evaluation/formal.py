"""The formal check: the rule engine's findings and the variant's checklist, decided by staff.

Each item is what the engine proposes (a rule it finds broken; a checklist item met
unless the rule of that key is broken); staff confirm it or override it with a reason
(each decision audited with the item's key and reason), then accept the application or
reject it with the broken rules' ids, through :func:`core.evaluation.transitions.set_status`.
The applicant is told why by e-mail (``mail/formal_accepted.txt`` /
``formal_rejected.txt``) and on their application's page (:func:`formal_outcome`), in
the municipality's language — the labels are kept as told.

Operations flush and never commit; a refusal raises :class:`ValidationError` before
anything is written.
"""
from __future__ import annotations

from dataclasses import dataclass

from flask import current_app
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import selectinload

from core.accounts.models import User
from core.applications.models import Application, ApplicationStatus
from core.audit.operations import record
from core.calls.models import Call
from core.db import db, utcnow
from core.errors import ValidationError

from .models import FormalReview

REASON_MAX = 2000

# Statuses waiting for the formal check, and those listed with it.
FORMAL_PENDING = (ApplicationStatus.SUBMITTED,)
FORMAL_LISTED = (ApplicationStatus.SUBMITTED, ApplicationStatus.ACCEPTED,
                 ApplicationStatus.REJECTED, ApplicationStatus.BELOW_THRESHOLD,
                 ApplicationStatus.INVITED, ApplicationStatus.DISQUALIFIED,
                 ApplicationStatus.RANKED, ApplicationStatus.FUNDED, ApplicationStatus.RESERVE,
                 ApplicationStatus.EXCLUDED, ApplicationStatus.WITHDRAWN)
# Past the formal check.
PASSED = (ApplicationStatus.ACCEPTED, ApplicationStatus.BELOW_THRESHOLD,
          ApplicationStatus.INVITED, ApplicationStatus.DISQUALIFIED, ApplicationStatus.RANKED,
          ApplicationStatus.FUNDED, ApplicationStatus.RESERVE, ApplicationStatus.EXCLUDED)

FORMAL_STATUS_LABELS = {
    "pending": _l("waiting for the formal check"),
    "accepted": _l("formally correct"),
    "rejected": _l("rejected at the formal check"),
}


def formal_status_label(status: str) -> str:
    return str(FORMAL_STATUS_LABELS.get(status, status))


def _pm():
    return current_app.extensions["mikrogranty.plugins"]


def _tenant(tenant_id: int):
    from core.tenancy.models import Tenant

    return db.session.get(Tenant, tenant_id)


def _clean_text(text, limit: int) -> str:
    return str(text or "").strip()[:limit]


@dataclass
class ReviewItem:
    """One line of the formal check: a rule the engine found broken, or a checklist item.

    ``broken`` is what the engine proposes (a rule finding: broken; a checklist item:
    met, unless the engine found the rule of the same key broken); staff confirm it or
    override it with a reason.
    """

    key: str
    label: str
    source: str                      # "rule" | "checklist"
    broken: bool
    decision: str | None = None      # None | "confirmed" | "overridden"
    reason: str = ""
    by: int | None = None
    at: str | None = None
    detail: str = ""                 # the engine's message beside a checklist item

    @property
    def ident(self) -> str:
        return f"{self.source}:{self.key}"

    @property
    def is_broken(self) -> bool:
        """Broken as decided: the proposal, flipped when staff overrode it."""
        return self.broken != (self.decision == "overridden")

    @property
    def text(self) -> str:
        """What the applicant reads about it."""
        return f"{self.label} {self.detail}".strip() if self.detail else self.label

    def as_dict(self) -> dict:
        return {"key": self.key, "label": self.label, "source": self.source,
                "broken": self.broken, "decision": self.decision, "reason": self.reason,
                "by": self.by, "at": self.at, "detail": self.detail}


def formal_review_of(application: Application) -> FormalReview | None:
    return db.session.execute(db.select(FormalReview).where(
        FormalReview.application_id == application.id)).scalar_one_or_none()


def formal_status(application: Application, review: FormalReview | None = None) -> str:
    if review is not None and review.status in ("accepted", "rejected"):
        return review.status
    if application.status == ApplicationStatus.REJECTED:
        return "rejected"
    if application.status in PASSED:
        return "accepted"
    return "pending"


def checklist(call: Call) -> list:
    return list(_pm().hook.formal_checklist(call=call) or [])


def findings(call: Call, application: Application, others=None) -> list:
    """The rule engine's violations for ``application`` (its other applications as context)."""
    from core.rules.engine import check

    return check(call, application, others=others)


def _proposed_items(call: Call, application: Application, violations=None) -> list[ReviewItem]:
    violations = findings(call, application) if violations is None else violations
    by_rule: dict[str, list] = {}
    for violation in violations:
        by_rule.setdefault(violation.rule_id, []).append(violation)
    items: list[ReviewItem] = []
    listed = checklist(call)
    checklist_keys = {item.key for item in listed}
    for rule_id, found in by_rule.items():
        if rule_id in checklist_keys:
            continue
        messages = list(dict.fromkeys(str(v.message) for v in found))
        items.append(ReviewItem(key=rule_id, label=" ".join(messages), source="rule",
                                broken=any(v.formal for v in found)))
    for item in listed:
        found = by_rule.get(item.key, [])
        detail = " ".join(dict.fromkeys(str(v.message) for v in found))
        items.append(ReviewItem(key=item.key, label=str(item.label), source="checklist",
                                broken=any(v.formal for v in found), detail=detail))
    return items


def formal_items(application: Application, review: FormalReview | None = None
                 ) -> list[ReviewItem]:
    """The items of the formal check with the decisions taken so far.

    Once decided, the items are as they were when decided (with the labels in the
    language the applicant was told in).  While pending they are judged afresh, and a
    decision stays only while the engine still proposes what was decided on.
    """
    review = review if review is not None else formal_review_of(application)
    if review is not None and review.status in ("accepted", "rejected"):
        return [ReviewItem(**{k: v for k, v in item.items()
                              if k in ReviewItem.__dataclass_fields__})
                for item in review.items or []]
    stored = {f"{i.get('source')}:{i.get('key')}": i for i in (review.items if review else [])}
    items = _proposed_items(application.call, application)
    for item in items:
        previous = stored.get(item.ident)
        if previous and previous.get("decision") and bool(previous.get("broken")) == item.broken:
            item.decision = previous["decision"]
            item.reason = previous.get("reason") or ""
            item.by, item.at = previous.get("by"), previous.get("at")
    return items


def formal_list(call: Call) -> list[dict]:
    """The call's submitted applications for the formal check, oldest submission first,
    each with its formal status and the number of rules the engine finds broken."""
    from core.rules.engine import check_all, other_applications

    counted = other_applications(call)
    judged = check_all(call, counted) if counted else {}
    applications = db.session.scalars(
        db.select(Application).where(Application.call_id == call.id,
                                     Application.status.in_(FORMAL_LISTED),
                                     Application.submitted_at.is_not(None))
        .options(selectinload(Application.applicant))
        .order_by(Application.submitted_at, Application.id)).all()
    reviews = {r.application_id: r for r in db.session.scalars(
        db.select(FormalReview).where(FormalReview.application_id.in_(
            [a.id for a in applications])))} if applications else {}
    rows = []
    for application in applications:
        found = judged.get(application, [])
        rows.append({"application": application,
                     "review": reviews.get(application.id),
                     "status": formal_status(application, reviews.get(application.id)),
                     "findings": len({v.rule_id for v in found if v.formal})})
    return rows


def _review_for_update(application: Application) -> FormalReview:
    review = formal_review_of(application)
    if review is None:
        review = FormalReview(application_id=application.id, tenant_id=application.tenant_id,
                              status="pending", items=[])
        db.session.add(review)
    return review


def decide_formal(application: Application, decisions: dict, actor, outcome: str | None = None,
                  note: str = "") -> FormalReview:
    """Record staff's decisions on the formal check; accept or reject when ``outcome`` says.

    ``decisions``: ``{item ident: (broken: bool | None, reason)}`` where ``broken`` is
    the state staff judged (``None``: not decided yet).  Judging an item otherwise than the
    engine proposes overrides it and needs a reason.  ``outcome``: ``None`` (save),
    ``"accept"`` or ``"reject"``; either needs every item decided; accepting needs none
    broken, rejecting at least one.  Errors name the items (``item-<n>-reason``/``-state``
    keys, ``_`` for the form) and nothing is written.
    """
    if application.status not in FORMAL_PENDING:
        raise ValidationError(_l("The formal check of this application is already decided; "
                                 "nothing was changed."))
    review = formal_review_of(application)
    items = formal_items(application, review)
    errors: dict[str, list] = {}
    decided: list[tuple[ReviewItem, str | None, str]] = []
    for n, item in enumerate(items):
        state, reason = decisions.get(item.ident, (None, ""))
        reason = _clean_text(reason, REASON_MAX)
        if state is None:
            decided.append((item, None, reason))
            if outcome:
                errors.setdefault(f"item-{n}-state", []).append(
                    _l("Decide this item: confirm it or override it."))
            continue
        decision = "confirmed" if bool(state) == item.broken else "overridden"
        if decision == "overridden" and not reason:
            errors.setdefault(f"item-{n}-reason", []).append(
                _l("Give the reason for overriding “%(item)s”.", item=item.label))
        decided.append((item, decision, reason))
    note = _clean_text(note, REASON_MAX)
    if not errors and outcome in ("accept", "reject"):
        broken = [item for item, decision, _r in decided
                  if item.broken != (decision == "overridden")]
        if outcome == "accept" and broken:
            errors["_"] = [_l("The application cannot be accepted while items are broken: "
                              "%(items)s. Reject it, or override them with a reason.",
                              items="; ".join(i.label for i in broken))]
        if outcome == "reject" and not broken:
            errors["_"] = [_l("Nothing is marked as broken, so there is no reason to reject "
                              "the application. Mark the broken items or accept it.")]
    if outcome not in (None, "accept", "reject"):
        errors["_"] = [_l("Choose what to do with the application.")]
    if errors:
        raise ValidationError(errors)

    review = review or _review_for_update(application)
    now = utcnow().isoformat()
    actor_id = getattr(actor, "id", None)
    for item, decision, reason in decided:
        if (decision, reason if decision else "") == (item.decision, item.reason if
                                                      item.decision else ""):
            continue
        item.decision, item.reason = decision, reason if decision else ""
        item.by, item.at = (actor_id, now) if decision else (None, None)
        record("formal.item_decided", application, changes={
            "key": item.key, "source": item.source, "decision": decision,
            "reason": item.reason, "broken": item.is_broken}, actor=actor)
    review.items = [item.as_dict() for item, _d, _r in decided]
    if outcome is None:
        db.session.flush()
        return review
    return _finish_formal(application, review, outcome, actor, note)


def _finish_formal(application: Application, review: FormalReview, outcome: str, actor,
                   note: str) -> FormalReview:
    from .transitions import set_status

    tenant = _tenant(application.tenant_id)
    locale = (tenant.default_locale if tenant is not None else None) or "pl"
    decided = {f"{i['source']}:{i['key']}": i for i in review.items}
    # The applicant is told in the municipality's language: labels as they read them.
    with force_locale(locale):
        told = _proposed_items(application.call, application)
    told_by_ident = {item.ident: item for item in told}
    items = []
    for ident, stored in decided.items():
        item = ReviewItem(**{k: v for k, v in stored.items()
                             if k in ReviewItem.__dataclass_fields__})
        fresh = told_by_ident.get(ident)
        if fresh is not None:
            item.label, item.detail = fresh.label, fresh.detail
        items.append(item)
    broken = [item for item in items if item.is_broken]
    status = "accepted" if outcome == "accept" else "rejected"
    review.items = [item.as_dict() for item in items]
    review.status = status
    review.reason = note or None
    review.decided_by_id = getattr(actor, "id", None)
    review.decided_at = utcnow()
    db.session.flush()
    rules = sorted({rule_id(item, application.call) for item in broken})
    record(f"formal.{status}", application, changes={
        "rules": rules, "note": note, "items": len(items)}, actor=actor)
    set_status(application, ApplicationStatus.ACCEPTED if status == "accepted"
               else ApplicationStatus.REJECTED, actor,
               rules=rules if status == "rejected" else [])
    _tell_applicant(application, review, broken, tenant, locale)
    return review


def rule_id(item: ReviewItem, call: Call) -> str:
    """The rule id a broken item stands for: a rule's own id; a checklist item's key,
    prefixed with the variant's key unless it is a rule id already (INTERCHANGE.md)."""
    if item.source == "rule" or "." in item.key:
        return item.key
    return f"{call.variant}.{item.key}"


def applicant_recipients(application: Application) -> list:
    """Who hears about the application: its author and the applicant profile's owner."""
    ids = [i for i in (application.created_by_id,
                       getattr(application.applicant, "owner_id", None)) if i]
    users = []
    for user_id in dict.fromkeys(ids):
        user = db.session.get(User, user_id)
        if user is not None and user.email and user.active:
            users.append(user)
    return users


def _tell_applicant(application, review, broken, tenant, locale) -> None:
    from core.notifications.operations import send_mail
    from core.tenancy.resolve import tenant_url

    template = "formal_accepted" if review.status == "accepted" else "formal_rejected"
    url = tenant_url(tenant, f"/applications/{application.id}/receipt") if tenant else ""
    for user in applicant_recipients(application):
        # The regulation speaks Polish; the municipality's language is the applicant's.
        send_mail(user.email, template, tenant=tenant, locale=locale, application=application,
                  broken=broken, note=review.reason, receipt_url=url)


def formal_outcome(application: Application) -> dict | None:
    """What the applicant's pages say about the formal check (``None`` before it)."""
    review = formal_review_of(application)
    if review is None or review.status not in ("accepted", "rejected"):
        return None
    items = formal_items(application, review)
    return {"status": review.status, "broken": [i for i in items if i.is_broken],
            "note": review.reason, "decided_at": review.decided_at}
