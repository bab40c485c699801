"""The operator-paid ledger: what the operator bought for a funded project, per budget line.

One :class:`Ledger` per project (its row is what concurrent writers lock), its lines
copied from the application's budget when it is opened (:class:`LedgerLine`), and the
purchases recorded against them (:class:`Purchase`).  A purchase entered by mistake is
cancelled with a reason, never deleted, so the ledger shows every invoice ever entered.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Base, Money, TenantScoped, UTCDateTime, utcnow


class Ledger(TenantScoped, Base):
    """The ledger of one operator-paid project, opened once it is funded.

    ``revision`` grows with every purchase and cancellation: writing it first takes the
    row's lock (and SQLite's write lock), so two staff recording at once run one after
    the other and the second sees the first's purchase before it checks the amounts.
    """

    __tablename__ = "ledger"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(
        sa.ForeignKey("application.id", ondelete="CASCADE"), unique=True)
    opened_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    opened_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("user_account.id", ondelete="SET NULL"))
    revision: Mapped[int] = mapped_column(default=0)

    application = relationship("Application")


class LedgerLine(TenantScoped, Base):
    """A line of the ledger: one line of the budget as submitted, with its planned amount.

    The planned amount is the line's cap; the grant (``Application.allocated``) caps the
    whole ledger, and may be lower than the lines' sum when the committee granted less.
    """

    __tablename__ = "ledger_line"
    __table_args__ = (sa.UniqueConstraint("application_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(
        sa.ForeignKey("application.id", ondelete="CASCADE"), index=True)
    # The budget line it was copied from (kept for reference; the copy is what counts).
    budget_line_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("budget_line.id", ondelete="SET NULL"))
    position: Mapped[int] = mapped_column(default=0)
    category: Mapped[str] = mapped_column(sa.String(32))
    item: Mapped[str] = mapped_column(sa.String(300), default="")
    planned: Mapped[Decimal] = mapped_column(Money)


class Purchase(TenantScoped, Base):
    """An invoice the operator paid for the project, charged to one line.

    Cancelled (``cancelled_at``, ``cancelled_by_id``, ``cancel_reason``) when entered by
    mistake; a cancelled purchase counts for nothing but stays on the ledger.
    """

    __tablename__ = "purchase"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(
        sa.ForeignKey("application.id", ondelete="CASCADE"), index=True)
    line_id: Mapped[int] = mapped_column(
        sa.ForeignKey("ledger_line.id", ondelete="CASCADE"), index=True)
    supplier: Mapped[str] = mapped_column(sa.String(300))
    invoice_number: Mapped[str] = mapped_column(sa.String(100))
    invoice_date: Mapped[dt.date] = mapped_column(sa.Date)
    amount: Mapped[Decimal] = mapped_column(Money)
    note: Mapped[str | None] = mapped_column(sa.Text)
    recorded_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("user_account.id", ondelete="SET NULL"))
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    cancelled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    cancelled_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("user_account.id", ondelete="SET NULL"))
    cancel_reason: Mapped[str | None] = mapped_column(sa.Text)

    line: Mapped[LedgerLine] = relationship()

    @property
    def cancelled(self) -> bool:
        return self.cancelled_at is not None
