"""Applications: drafts, submissions and what the rules found."""
from __future__ import annotations

import datetime as dt
import enum
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Base, Money, Points, TenantScoped, UTCDateTime, utcnow

BUDGET_CATEGORIES = (
    "admin", "fees", "materials", "equipment", "rental", "transport", "printing", "food",
    "promotion", "other",
    # Categories that regulations forbid; which ones is the variant's and the call's choice.
    "vat_recoverable", "real_estate", "fixed_assets", "depreciation", "leasing", "reserves",
    "interest", "fines", "court_costs", "staff_bonuses", "bank_fees", "alcohol",
    "cash_prizes", "religious", "political", "loans", "investment", "foreign_trips",
    "endowment", "business_activity", "direct_aid",
)
CONTRIBUTION_KINDS = ("financial", "in_kind", "services", "volunteer")


class ApplicationStatus(enum.StrEnum):
    """The lifecycle (ARCHITECTURE.md): draft → submitted → accepted | rejected →
    below_threshold | invited → disqualified | ranked → funded | reserve | excluded;
    withdrawn at any point before settlement."""

    DRAFT = "draft"
    SUBMITTED = "submitted"
    ACCEPTED = "accepted"          # formally correct, waiting for the evaluators
    REJECTED = "rejected"
    BELOW_THRESHOLD = "below_threshold"
    INVITED = "invited"            # to stage II
    DISQUALIFIED = "disqualified"  # did not come to stage II
    RANKED = "ranked"              # scored, before the list is approved
    FUNDED = "funded"
    RESERVE = "reserve"
    EXCLUDED = "excluded"
    WITHDRAWN = "withdrawn"


class Application(TenantScoped, Base):
    __tablename__ = "application"
    __table_args__ = (sa.UniqueConstraint("call_id", "ref"),
                      sa.UniqueConstraint("call_id", "receipt_number"))

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(sa.ForeignKey("call.id", ondelete="CASCADE"), index=True)
    ref: Mapped[str | None] = mapped_column(sa.String(80))
    applicant_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("applicant_profile.id", ondelete="SET NULL"), index=True)
    realizer_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("applicant_profile.id", ondelete="SET NULL"))
    mode: Mapped[str] = mapped_column(sa.String(32), default="standard")
    status: Mapped[str] = mapped_column(sa.String(32), default=ApplicationStatus.DRAFT, index=True)
    title: Mapped[str] = mapped_column(sa.String(300), default="")
    # The project description, by field name (base form fields and the variant's own).
    content: Mapped[dict] = mapped_column(default=dict)
    requested: Mapped[Decimal | None] = mapped_column(Money)
    start: Mapped[dt.date | None] = mapped_column(sa.Date)
    end: Mapped[dt.date | None] = mapped_column(sa.Date)
    # Where: {"gmina": …, "population": …, "area": …, "osiedle": …}
    place: Mapped[dict] = mapped_column(default=dict)
    claims_young_ngo: Mapped[bool] = mapped_column(default=False)
    # Optimistic locking: every save bumps it; a save based on an older version is refused
    # (the ORM's version counter also refuses a concurrent UPDATE of the same row).
    version: Mapped[int] = mapped_column(default=1)
    created_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("user_account.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    submitted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # The receipt: a number, the canonical content as submitted and its SHA-256.
    receipt_number: Mapped[str | None] = mapped_column(sa.String(100))
    submitted_content: Mapped[dict | None] = mapped_column(sa.JSON)
    content_sha256: Mapped[str | None] = mapped_column(sa.String(64))
    # Formal rules broken at submission (rule ids), for a rejected application.
    rules: Mapped[list] = mapped_column(default=list)
    withdrawn_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # Evaluation and allocation (see core/evaluation): scores with two decimals, the place
    # in the ranking, the amount allocated, the place on the reserve list.
    stage1_score: Mapped[Decimal | None] = mapped_column(Points)
    stage2_score: Mapped[Decimal | None] = mapped_column(Points)
    final_score: Mapped[Decimal | None] = mapped_column(Points)
    rank: Mapped[int | None]
    allocated: Mapped[Decimal | None] = mapped_column(Money)
    reserve_position: Mapped[int | None]
    # The idempotency token of the submitting request: a retried POST finds its receipt.
    submit_token: Mapped[str | None] = mapped_column(sa.String(64))

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012

    call = relationship("Call")
    applicant = relationship("ApplicantProfile", foreign_keys=[applicant_id])
    realizer = relationship("ApplicantProfile", foreign_keys=[realizer_id])
    budget: Mapped[list[BudgetLine]] = relationship(
        back_populates="application", cascade="all, delete-orphan",
        order_by="BudgetLine.position")
    contributions: Mapped[list[ContributionLine]] = relationship(
        back_populates="application", cascade="all, delete-orphan",
        order_by="ContributionLine.position")

    @property
    def budget_total(self) -> Decimal:
        return sum((line.amount or Decimal("0") for line in self.budget), Decimal("0.00"))

    def contribution_total(self, kind: str | None = None) -> Decimal:
        return sum((line.amount or Decimal("0") for line in self.contributions
                    if kind is None or line.kind == kind), Decimal("0.00"))


class BudgetLine(TenantScoped, Base):
    """A line of the grant's budget: category, item, quantity × unit price = amount."""

    __tablename__ = "budget_line"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(
        sa.ForeignKey("application.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(default=0)
    category: Mapped[str] = mapped_column(sa.String(32))
    item: Mapped[str] = mapped_column(sa.String(300), default="")
    quantity: Mapped[Decimal | None] = mapped_column(sa.Numeric(12, 2, asdecimal=True))
    unit_price: Mapped[Decimal | None] = mapped_column(Money)
    amount: Mapped[Decimal] = mapped_column(Money)

    application: Mapped[Application] = relationship(back_populates="budget")


class ContributionLine(TenantScoped, Base):
    """Own contribution: financial, in kind, services, or volunteer work (hours × rate)."""

    __tablename__ = "contribution_line"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(
        sa.ForeignKey("application.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(default=0)
    kind: Mapped[str] = mapped_column(sa.String(16))
    description: Mapped[str] = mapped_column(sa.String(300), default="")
    hours: Mapped[Decimal | None] = mapped_column(sa.Numeric(8, 2, asdecimal=True))
    rate: Mapped[Decimal | None] = mapped_column(Money)
    amount: Mapped[Decimal] = mapped_column(Money)

    application: Mapped[Application] = relationship(back_populates="contributions")


class ApplicationRevision(TenantScoped, Base):
    """One save of a draft: which fields changed, from what to what, by whom.

    The generator reads these to tell a second writer what the first one changed since
    the version their form was based on, instead of overwriting it.
    """

    __tablename__ = "application_revision"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(
        sa.ForeignKey("application.id", ondelete="CASCADE"), index=True)
    # The version this save produced.
    version: Mapped[int]
    step: Mapped[str] = mapped_column(sa.String(32))
    actor_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("user_account.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    # {field: [old, new]} with values as JSON (money and dates as strings).
    changes: Mapped[dict] = mapped_column(default=dict)

    application: Mapped[Application] = relationship()
