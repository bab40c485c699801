"""E-mail: written to the outbox with the change it reports, delivered by a job, exactly once.

The outbox row is the notification.  ``send_mail`` renders it (text and HTML, in the
recipient's language, with the municipality's name and sender) in the caller's
transaction; after the commit a job on the ``mail`` queue delivers it.  When the queue is
unreachable the row simply waits: the periodic sweep (``flask jobs tick``) enqueues every
message still waiting, so nothing a person did is lost because Redis or the mail server
was down.

Delivery is at most once per notification: the row is claimed (``sending``, committed)
just before the message is handed to the mail server and marked ``sent`` right after.  A
job killed before the claim is simply retried; a job killed after it leaves the row
``sending`` — it may or may not have left — and the sweep marks it ``failed`` for a person
to look at, instead of sending a second copy.  Every attempt carries the same Message-ID.
"""
from __future__ import annotations

import datetime as dt
import logging
import smtplib
import uuid
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import format_datetime, formataddr

import sqlalchemy as sa
from flask import current_app, render_template
from flask_babel import force_locale
from jinja2 import TemplateNotFound

from core import jobs
from core.db import current_scope, db, platform_scope, tenant_scope, utcnow

from . import notices
from .models import DeliveryStatus, OutboxMessage

log = logging.getLogger(__name__)


@dataclass
class ScheduledNotice:
    """A reminder the periodic sweep sends once, when ``due_at`` has come.

    ``key`` names the notification uniquely within the municipality (e.g.
    ``"deadline:<call>:<application>:<user>:7d"``); ``until`` (optional) is the moment
    after which it is no longer worth sending; ``template`` is ``mail/<template>.txt``.
    """

    key: str
    recipient: str
    template: str
    due_at: dt.datetime
    until: dt.datetime | None = None
    user: object | None = None
    locale: str | None = None
    context: dict = field(default_factory=dict)


def _sender(tenant) -> tuple[str, str | None]:
    config = current_app.config
    settings = (tenant.settings or {}) if tenant is not None else {}
    name = tenant.name if tenant is not None else "Mikrogranty"
    address = settings.get("mail_from") or config["MAIL_DEFAULT_SENDER"]
    return formataddr((name, address)), settings.get("mail_reply_to") or None


def _message_id() -> str:
    domain = current_app.config.get("MAIL_MESSAGE_ID_DOMAIN") or \
        current_app.config["MAIL_DEFAULT_SENDER"].rpartition("@")[2] or "localhost"
    return f"<{uuid.uuid4().hex}@{domain}>"


def send_mail(recipient: str, template: str, *, tenant=None, locale: str | None = None,
              key: str | None = None, user=None, **context) -> OutboxMessage | None:
    """Write ``mail/<template>.txt`` and ``mail/<template>.html`` to the outbox.

    The message is committed with the caller's transaction; delivery runs as a job after
    the commit.  The text template's first line (``Subject: …``) gives the subject.
    ``key`` makes the call idempotent: a second call with the same key returns the
    message already written.  An optional kind of notice (see ``notices.py``) is not
    written at all for a person who turned it off; ``None`` is returned then.
    """
    tenant_id = tenant.id if tenant is not None else current_scope().tenant_id
    if tenant is None and tenant_id is not None:
        from core.tenancy.models import Tenant

        tenant = db.session.get(Tenant, tenant_id)
    full_key = f"{tenant_id or 'platform'}:{key}" if key else None
    if full_key is not None:
        existing = db.session.execute(
            db.select(OutboxMessage).where(OutboxMessage.key == full_key)).scalar_one_or_none()
        if existing is not None:
            return existing
    unsubscribe_url = None
    if notices.is_optional(template):
        if user is None:
            from core.accounts.operations import find_user

            user = find_user(recipient)
        if not notices.wants(user, template):
            return None
        if user is not None:
            from core.tenancy.resolve import tenant_url

            unsubscribe_url = tenant_url(
                tenant, f"/notices/off/{notices.unsubscribe_token(user.id, template, tenant_id)}")
            context.setdefault("preferences_url", tenant_url(tenant, "/account/notices"))
    context["unsubscribe_url"] = unsubscribe_url
    locale = locale or (tenant.default_locale if tenant is not None else "pl")
    with force_locale(locale):
        text = render_template(f"mail/{template}.txt", tenant=tenant, **context)
        subject, _, body = text.partition("\n")
        subject = subject.removeprefix("Subject:").strip()
        try:
            html = render_template(f"mail/{template}.html", tenant=tenant, subject=subject,
                                   **context)
        except TemplateNotFound:
            html = None
    sender, reply_to = _sender(tenant)
    message = OutboxMessage(
        key=full_key, message_id=_message_id(), recipient=recipient,
        user_id=getattr(user, "id", None), subject=subject, body_text=body.strip() + "\n",
        body_html=html, template=template, sender=sender, reply_to=reply_to,
        unsubscribe_url=unsubscribe_url, tenant_id=tenant_id, enqueued_at=utcnow())
    if full_key is None:
        db.session.add(message)
        db.session.flush()
    else:
        # Two sweeps racing for one reminder: the second finds the first's message.
        try:
            with db.session.begin_nested():
                db.session.add(message)
        except sa.exc.IntegrityError:
            return db.session.execute(
                db.select(OutboxMessage).where(OutboxMessage.key == full_key)).scalar_one()
    jobs.after_commit(deliver_message, message.id, tenant_id=message.tenant_id, queue="mail")
    return message


# --- delivery ---------------------------------------------------------------------------------

class MessageRefused(Exception):
    """The mail server answered with an error: the message certainly did not leave."""


def build_email(message: OutboxMessage) -> EmailMessage:
    email = EmailMessage()
    email["From"] = message.sender
    email["To"] = message.recipient
    email["Subject"] = message.subject
    email["Message-ID"] = message.message_id
    email["Date"] = format_datetime(utcnow())
    email["Auto-Submitted"] = "auto-generated"
    if message.reply_to:
        email["Reply-To"] = message.reply_to
    if message.unsubscribe_url:
        email["List-Unsubscribe"] = f"<{message.unsubscribe_url}>"
        email["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    email.set_content(message.body_text)
    if message.body_html:
        email.add_alternative(message.body_html, subtype="html")
    return email


def _smtp_connect() -> smtplib.SMTP:
    config = current_app.config
    smtp = smtplib.SMTP(config["MAIL_SERVER"], config["MAIL_PORT"],
                        timeout=config.get("MAIL_TIMEOUT", 30))
    if config["MAIL_USE_TLS"]:
        smtp.starttls()
    if config["MAIL_USERNAME"]:
        smtp.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"] or "")
    return smtp


def _hand_over(smtp: smtplib.SMTP, email: EmailMessage) -> None:
    """Give the message to the mail server (the one step that cannot be repeated safely)."""
    smtp.send_message(email)


def _claim(message_id: int) -> bool:
    """Mark the message ``sending`` if it is still ``queued``; committed at once."""
    now = utcnow()
    claimed = db.session.execute(
        sa.update(OutboxMessage)
        .where(OutboxMessage.id == message_id, OutboxMessage.status == DeliveryStatus.QUEUED)
        .values(status=DeliveryStatus.SENDING, sending_at=now,
                attempts=OutboxMessage.attempts + 1)
        .execution_options(synchronize_session=False)).rowcount
    db.session.commit()
    return claimed == 1


def _finish(message_id: int, **values) -> None:
    db.session.execute(
        sa.update(OutboxMessage)
        .where(OutboxMessage.id == message_id, OutboxMessage.status == DeliveryStatus.SENDING)
        .values(**values).execution_options(synchronize_session=False))
    db.session.commit()


def _note_failed_attempt(message_id: int, attempts: int, error: str) -> None:
    """An attempt that never reached the hand-over: count it, keep the message queued."""
    config = current_app.config
    values = {"attempts": attempts, "error": error}
    if attempts >= config["MAIL_MAX_ATTEMPTS"]:
        values["status"] = DeliveryStatus.FAILED
    else:
        values["next_attempt_at"] = utcnow() + dt.timedelta(
            seconds=_delay(config["MAIL_RETRY_INTERVALS"], attempts))
    db.session.rollback()
    db.session.execute(
        sa.update(OutboxMessage)
        .where(OutboxMessage.id == message_id, OutboxMessage.status == DeliveryStatus.QUEUED)
        .values(**values).execution_options(synchronize_session=False))
    db.session.commit()


def _delay(intervals, attempts: int) -> int:
    return intervals[min(attempts, len(intervals)) - 1] if intervals else 0


def _retry_later(message_id: int, attempts: int, error: str) -> None:
    """The message did not leave: back to the queue with a later attempt, or failed."""
    config = current_app.config
    if attempts >= config["MAIL_MAX_ATTEMPTS"]:
        _finish(message_id, status=DeliveryStatus.FAILED, error=error)
        return
    _finish(message_id, status=DeliveryStatus.QUEUED, error=error,
            next_attempt_at=utcnow() + dt.timedelta(
                seconds=_delay(config["MAIL_RETRY_INTERVALS"], attempts)))


def deliver_message(message_id: int) -> None:
    """Job: deliver one outbox message, at most once (see the module's docstring)."""
    if current_scope().tenant_id is None and not current_scope().platform:
        # The operator's own messages (no municipality) are read in the platform scope.
        with platform_scope("deliver an e-mail of the operator's console"):
            return _deliver(message_id)
    return _deliver(message_id)


def _deliver(message_id: int) -> None:
    message = db.session.get(OutboxMessage, message_id)
    if message is None or message.status != DeliveryStatus.QUEUED:
        return
    if current_app.config["MAIL_BACKEND"] != "smtp":
        # The demo's "outbox" backend: the message stays readable on the outbox page.
        if _claim(message_id):
            _finish(message_id, status=DeliveryStatus.SENT, sent_at=utcnow(), error=None)
        return
    email = build_email(message)
    attempts = message.attempts + 1
    try:
        smtp = _smtp_connect()
    except (OSError, smtplib.SMTPException) as exc:
        # The server cannot be reached: nothing was handed over; try again later.
        _note_failed_attempt(message_id, attempts, f"{type(exc).__name__}: {exc}")
        raise
    try:
        if not _claim(message_id):
            return
        try:
            _hand_over(smtp, email)
        except smtplib.SMTPResponseException as exc:
            # The server said no: the message did not leave and may be tried again.
            _retry_later(message_id, attempts, f"{exc.smtp_code} {exc.smtp_error!r}")
            raise MessageRefused(f"{exc.smtp_code} {exc.smtp_error!r}") from exc
        except smtplib.SMTPRecipientsRefused as exc:
            _retry_later(message_id, current_app.config["MAIL_MAX_ATTEMPTS"], repr(exc))
            raise MessageRefused(repr(exc)) from exc
        except Exception as exc:
            # Cut off in the middle of the hand-over: it may have been delivered.
            _finish(message_id, status=DeliveryStatus.FAILED, error=_interrupted(exc))
            raise
        _finish(message_id, status=DeliveryStatus.SENT, sent_at=utcnow(), error=None)
    finally:
        try:
            smtp.quit()
        except Exception:  # the connection is gone; nothing to close
            pass


INTERRUPTED = "Interrupted while the message was handed to the mail server"


def _interrupted(exc: BaseException | None = None) -> str:
    reason = f" ({type(exc).__name__}: {exc})" if exc is not None else ""
    return (INTERRUPTED + "; it may have been "
            "delivered. Check with the recipient before sending it again." + reason)


# --- the sweep's part ---------------------------------------------------------------------------

def sweep_outbox(now: dt.datetime) -> dict[str, int]:
    """Enqueue messages still waiting; mark as failed those whose sender died mid-way.

    Runs in a platform scope (every municipality's outbox at once).
    """
    config = current_app.config
    lease = dt.timedelta(seconds=config["MAIL_SENDING_LEASE"])
    stale = db.session.scalars(db.select(OutboxMessage).where(
        OutboxMessage.status == DeliveryStatus.SENDING,
        OutboxMessage.sending_at < now - lease)).all()
    for message in stale:
        message.status, message.error = DeliveryStatus.FAILED, _interrupted()
    waiting_since = now - dt.timedelta(seconds=config["MAIL_REQUEUE_AFTER"])
    waiting = db.session.scalars(db.select(OutboxMessage).where(
        OutboxMessage.status == DeliveryStatus.QUEUED,
        sa.or_(OutboxMessage.enqueued_at.is_(None), OutboxMessage.enqueued_at <= waiting_since),
        sa.or_(OutboxMessage.next_attempt_at.is_(None), OutboxMessage.next_attempt_at <= now),
    ).order_by(OutboxMessage.id)).all()
    for message in waiting:
        message.enqueued_at = now
    todo = [(m.id, m.tenant_id) for m in waiting]
    db.session.commit()
    enqueued = 0
    for message_id, tenant_id in todo:
        try:
            jobs.enqueue(deliver_message, message_id, tenant_id=tenant_id, queue="mail")
            enqueued += 1
        except Exception:
            log.exception("could not enqueue outbox message %s; the next sweep tries again",
                          message_id)
            break
    return {"enqueued": enqueued, "interrupted": len(stale)}


def send_again(message: OutboxMessage, actor) -> None:
    """A person decided a failed message should go (again): back to the queue, audited."""
    from core.audit.operations import record

    if message.status != DeliveryStatus.FAILED:
        raise ValueError("only a failed message is sent again")
    record("outbox.send_again", message, {"status": [message.status, DeliveryStatus.QUEUED],
                                         "error": message.error}, actor=actor,
           tenant_id=message.tenant_id)
    message.status, message.next_attempt_at, message.enqueued_at = \
        DeliveryStatus.QUEUED, None, utcnow()
    jobs.after_commit(deliver_message, message.id, tenant_id=message.tenant_id, queue="mail")


def send_scheduled(tenant, notice: ScheduledNotice) -> OutboxMessage | None:
    return send_mail(notice.recipient, notice.template, tenant=tenant, locale=notice.locale,
                     key=notice.key, user=notice.user, **notice.context)


__all__ = ["ScheduledNotice", "deliver_message", "send_again", "send_mail", "sweep_outbox",
           "tenant_scope"]
