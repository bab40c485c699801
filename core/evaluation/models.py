"""Evaluation: the formal check, evaluators and their score cards, stage-II interviews,
awards and the approved result lists."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Base, Money, Points, TenantScoped, UTCDateTime, utcnow


class FormalReview(TenantScoped, Base):
    """The formal check of one application.

    ``items``: ``[{"key", "label", "source": "rule" | "checklist", "broken": bool,
    "decision": None | "confirmed" | "overridden", "reason", "by", "at"}]`` — the rule
    engine's findings and the variant's checklist, each confirmed or overridden by staff.
    """

    __tablename__ = "formal_review"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(
        sa.ForeignKey("application.id", ondelete="CASCADE"), unique=True)
    status: Mapped[str] = mapped_column(sa.String(16), default="pending")  # accepted|rejected
    items: Mapped[list] = mapped_column(default=list)
    reason: Mapped[str | None] = mapped_column(sa.Text)   # told to the applicant
    decided_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("user_account.id", ondelete="SET NULL"))
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    application = relationship("Application")


class Assignment(TenantScoped, Base):
    """An evaluator assigned to score one application at one stage.

    ``evaluator_id`` is the evaluator's account; a paper card entered in bulk (or an
    imported edition) names the evaluator by ``evaluator_ref`` instead.
    """

    __tablename__ = "evaluation_assignment"
    __table_args__ = (sa.UniqueConstraint("application_id", "evaluator_id", "stage"),
                      sa.UniqueConstraint("application_id", "evaluator_ref", "stage"))

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(
        sa.ForeignKey("application.id", ondelete="CASCADE"), index=True)
    evaluator_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("user_account.id", ondelete="SET NULL"), index=True)
    evaluator_ref: Mapped[str | None] = mapped_column(sa.String(80))
    stage: Mapped[int] = mapped_column(default=1)
    # assigned → declared (no conflict) → submitted; or recused
    status: Mapped[str] = mapped_column(sa.String(16), default="assigned")
    declared_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    recused_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    recusal_reason: Mapped[str | None] = mapped_column(sa.Text)
    assigned_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("user_account.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    application = relationship("Application")
    card: Mapped[ScoreCard | None] = relationship(back_populates="assignment", uselist=False,
                                                  cascade="all, delete-orphan")


class ScoreCard(TenantScoped, Base):
    """An evaluator's points per criterion with a justification each; locked once submitted."""

    __tablename__ = "score_card"

    id: Mapped[int] = mapped_column(primary_key=True)
    assignment_id: Mapped[int] = mapped_column(
        sa.ForeignKey("evaluation_assignment.id", ondelete="CASCADE"), unique=True)
    points: Mapped[dict] = mapped_column(default=dict)           # criterion → "3" (string)
    justifications: Mapped[dict] = mapped_column(default=dict)   # criterion → text
    total: Mapped[Decimal | None] = mapped_column(Points)
    submitted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    assignment: Mapped[Assignment] = relationship(back_populates="card")


class InterviewSlot(TenantScoped, Base):
    """A stage-II interview slot published by staff; an invited applicant books one."""

    __tablename__ = "interview_slot"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(sa.ForeignKey("call.id", ondelete="CASCADE"), index=True)
    starts_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    minutes: Mapped[int] = mapped_column(default=20)
    place: Mapped[str] = mapped_column(sa.String(300), default="")
    published: Mapped[bool] = mapped_column(default=False)
    application_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("application.id", ondelete="SET NULL"), unique=True)
    booked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class CommitteeScore(TenantScoped, Base):
    """Stage II: one committee member's points for an application, or the applicant's no-show."""

    __tablename__ = "committee_score"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(
        sa.ForeignKey("application.id", ondelete="CASCADE"), index=True)
    member_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("user_account.id", ondelete="SET NULL"))
    member_ref: Mapped[str | None] = mapped_column(sa.String(80))
    points: Mapped[Decimal | None] = mapped_column(Points)
    no_show: Mapped[bool] = mapped_column(default=False)
    recorded_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("user_account.id", ondelete="SET NULL"))
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Award(TenantScoped, Base):
    """The committee grants less than requested; the applicant accepts or declines."""

    __tablename__ = "award"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(
        sa.ForeignKey("application.id", ondelete="CASCADE"), unique=True)
    amount: Mapped[Decimal] = mapped_column(Money)
    status: Mapped[str] = mapped_column(sa.String(16), default="offered")  # accepted|declined
    decided_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("user_account.id", ondelete="SET NULL"))
    decided_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    answered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class ResultList(TenantScoped, Base):
    """An approved list of a call: the stage-I list or the final ranking with allocation.

    ``results`` is the snapshot in the interchange results format; a resignation after
    approval writes a new snapshot (``revision`` + 1), audited.
    """

    __tablename__ = "result_list"
    __table_args__ = (sa.UniqueConstraint("call_id", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(sa.ForeignKey("call.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(16))   # "stage1" | "final"
    policy: Mapped[str | None] = mapped_column(sa.String(16))
    results: Mapped[dict] = mapped_column(default=dict)
    revision: Mapped[int] = mapped_column(default=1)
    approved_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("user_account.id", ondelete="SET NULL"))
    approved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    published_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
