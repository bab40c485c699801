from __future__ import annotations

import datetime as dt
import enum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, TenantScoped, UTCDateTime, utcnow


class DeliveryStatus(enum.StrEnum):
    """Where an outbox message is on its way to the recipient.

    ``queued`` → ``sending`` (committed just before the message is handed to the mail
    server) → ``sent``.  A failed attempt before the hand-over goes back to ``queued``
    with a later ``next_attempt_at``; after the last attempt, or when a worker died after
    the hand-over began (the message may or may not have left), it is ``failed`` and
    waits for a person on the console's jobs page: it is never sent twice by itself.
    """

    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"


class OutboxMessage(TenantScoped, Base):
    """An e-mail as it was written; kept until (and after) it is delivered.

    Writing the message in the same transaction as the change it reports means a
    message is never lost because the mail server or the queue was down.
    """

    __tablename__ = "outbox_message"
    __tenant_optional__ = True

    id: Mapped[int] = mapped_column(primary_key=True)
    # One message per notification: a second send_mail() with the same key (a retried
    # job, a second sweep) finds this one instead of writing another.
    key: Mapped[str | None] = mapped_column(sa.String(250), unique=True)
    # The Message-ID header, the same on every attempt.
    message_id: Mapped[str] = mapped_column(sa.String(250), default="")
    recipient: Mapped[str] = mapped_column(sa.String(254))
    user_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("user_account.id", ondelete="SET NULL"))
    sender: Mapped[str] = mapped_column(sa.String(300))
    reply_to: Mapped[str | None] = mapped_column(sa.String(300))
    subject: Mapped[str] = mapped_column(sa.String(300))
    body_text: Mapped[str] = mapped_column(sa.Text)
    body_html: Mapped[str | None] = mapped_column(sa.Text)
    template: Mapped[str] = mapped_column(sa.String(80))
    # For optional notices: the address that turns this kind of notice off in one click.
    unsubscribe_url: Mapped[str | None] = mapped_column(sa.String(500))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    status: Mapped[str] = mapped_column(sa.String(16), default=DeliveryStatus.QUEUED, index=True)
    attempts: Mapped[int] = mapped_column(default=0)
    enqueued_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    next_attempt_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    sending_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    error: Mapped[str | None] = mapped_column(sa.Text)


class NoticePreference(Base):
    """A person's choice for one optional kind of notice (see ``notices.py``).

    Kept per account, for every municipality: no row means the notice's default.
    """

    __tablename__ = "notice_preference"
    __table_args__ = (sa.UniqueConstraint("user_id", "notice"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id", ondelete="CASCADE"),
                                         index=True)
    notice: Mapped[str] = mapped_column(sa.String(80))
    enabled: Mapped[bool]
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


def delivery_status_label(status: str) -> str:
    from flask_babel import gettext as _

    return {DeliveryStatus.QUEUED: _("waiting to be sent"), DeliveryStatus.SENDING: _("sending"),
            DeliveryStatus.SENT: _("sent"), DeliveryStatus.FAILED: _("not delivered")
            }.get(status, status)


def delivery_problem(message) -> str | None:
    """What went wrong with a message, for the staff who decide whether to send it again:
    a delivery cut off mid-way explained in their language, other errors as the mail
    server or the network gave them."""
    from flask_babel import gettext as _

    from .operations import INTERRUPTED

    if message.error and message.error.startswith(INTERRUPTED):
        return _("Cut off while it was handed to the mail server: it may have been delivered. "
                 "Check with the recipient before sending it again.")
    return message.error
