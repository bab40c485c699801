from __future__ import annotations

import datetime as dt
import enum
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Base, Money, TenantScoped, UTCDateTime, utcnow


class CallStatus(enum.StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    CLOSED = "closed"


class Call(TenantScoped, Base):
    """One competition: a regulation variant with its parameters, timeline and pool.

    ``params`` holds the variant's parameters as the interchange format writes them
    (money as strings with two decimals, dates as ISO strings); the columns below are
    the ones core itself needs to query and decide on.
    """

    __tablename__ = "call"
    __table_args__ = (sa.UniqueConstraint("tenant_id", "ref"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ref: Mapped[str] = mapped_column(sa.String(80))
    title: Mapped[str] = mapped_column(sa.String(300))
    description: Mapped[str] = mapped_column(sa.Text, default="")
    variant: Mapped[str] = mapped_column(sa.String(64))
    params: Mapped[dict] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(sa.String(16), default=CallStatus.DRAFT)
    announced_on: Mapped[dt.date | None] = mapped_column(sa.Date)
    # The instant submissions close: the deadline date at 23:59:59 Europe/Warsaw, in UTC.
    deadline_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    realization_start: Mapped[dt.date | None] = mapped_column(sa.Date)
    realization_end: Mapped[dt.date | None] = mapped_column(sa.Date)
    # Further dates by name (e.g. "formal_check", "stage2", "results"): ISO dates.
    timeline: Mapped[dict] = mapped_column(default=dict)
    pool: Mapped[Decimal | None] = mapped_column(Money)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    documents: Mapped[list[CallDocument]] = relationship(
        back_populates="call", cascade="all, delete-orphan", order_by="CallDocument.id")

    def __repr__(self) -> str:
        return f"<Call {self.ref}>"


class CallDocument(TenantScoped, Base):
    """A regulation document attached to a call (PDF), stored under a generated name."""

    __tablename__ = "call_document"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(sa.ForeignKey("call.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(sa.String(300))
    filename: Mapped[str] = mapped_column(sa.String(255))
    stored_name: Mapped[str] = mapped_column(sa.String(80), unique=True)
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(sa.String(64))
    uploaded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    call: Mapped[Call] = relationship(back_populates="documents")


def call_status_label(status: str) -> str:
    from flask_babel import gettext as _

    return {CallStatus.DRAFT: _("draft"), CallStatus.PUBLISHED: _("published"),
            CallStatus.CLOSED: _("closed")}.get(status, status)
