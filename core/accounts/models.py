from __future__ import annotations

import datetime as dt
import enum

import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Base, TenantScoped, UTCDateTime, utcnow


class Role(enum.StrEnum):
    """Roles a person holds in one tenant."""

    ADMIN = "admin"
    EVALUATOR = "evaluator"
    COMMITTEE = "committee"
    APPLICANT = "applicant"


class PlatformRole(enum.StrEnum):
    """Roles on the whole platform, held by the operator's people."""

    OPERATOR_STAFF = "operator_staff"


class User(UserMixin, Base):
    """One identity per e-mail address across the whole platform."""

    __tablename__ = "user_account"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)
    password_hash: Mapped[str | None] = mapped_column(sa.String(255))
    confirmed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    locale: Mapped[str | None] = mapped_column(sa.String(8))
    platform_role: Mapped[str | None] = mapped_column(sa.String(32))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    memberships: Mapped[list[Membership]] = relationship(back_populates="user",
                                                         cascade="all, delete-orphan")

    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_operator_staff(self) -> bool:
        return self.platform_role == PlatformRole.OPERATOR_STAFF

    def __repr__(self) -> str:
        return f"<User {self.id}>"


class Membership(TenantScoped, Base):
    """A role of a person in one tenant."""

    __tablename__ = "membership"
    __table_args__ = (sa.UniqueConstraint("tenant_id", "user_id", "role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id", ondelete="CASCADE"),
                                         index=True)
    role: Mapped[str] = mapped_column(sa.String(32))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    user: Mapped[User] = relationship(back_populates="memberships")


class Invitation(TenantScoped, Base):
    """An invitation to take a role in a tenant, sent by e-mail with a one-time link."""

    __tablename__ = "invitation"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(254))
    role: Mapped[str] = mapped_column(sa.String(32))
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    invited_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("user_account.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    accepted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
