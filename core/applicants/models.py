"""Who applies: people (personal data, kept apart) and the profiles an account applies as."""
from __future__ import annotations

import datetime as dt
import enum
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from flask_babel import lazy_gettext as _l

from core.db import Base, Money, TenantScoped, UTCDateTime, utcnow


class ApplicantKind(enum.StrEnum):
    NGO = "ngo"
    GROUP = "group"
    PERSON = "person"
    PUBLIC_INSTITUTION = "public_institution"


LEGAL_FORMS = (
    "association", "foundation", "ordinary_association", "sports_club",
    "rural_housewives_circle", "church_entity", "social_cooperative", "housing_cooperative",
    "local_government_association", "local_action_group", "local_fisheries_group",
    "tourism_organisation", "association_union", "state_treasury_foundation",
    "political_party_foundation", "other",
)

KIND_LABELS = {
    ApplicantKind.NGO: _l("Organisation"),
    ApplicantKind.GROUP: _l("Informal group"),
    ApplicantKind.PERSON: _l("Person applying alone"),
    ApplicantKind.PUBLIC_INSTITUTION: _l("Public institution"),
}

LEGAL_FORM_LABELS = {
    "association": _l("Association"),
    "foundation": _l("Foundation"),
    "ordinary_association": _l("Ordinary association"),
    "sports_club": _l("Sports club"),
    "rural_housewives_circle": _l("Rural housewives' circle"),
    "church_entity": _l("Church legal person or church organisational unit"),
    "social_cooperative": _l("Social cooperative"),
    "housing_cooperative": _l("Housing cooperative"),
    "local_government_association": _l("Association of local government units"),
    "local_action_group": _l("Local action group"),
    "local_fisheries_group": _l("Local fisheries group"),
    "tourism_organisation": _l("Regional or local tourism organisation"),
    "association_union": _l("Union of associations"),
    "state_treasury_foundation": _l("State Treasury foundation"),
    "political_party_foundation": _l("Political party foundation"),
    "other": _l("Other legal form"),
}


def kind_label(kind: str | None) -> str:
    return str(KIND_LABELS.get(kind, kind or ""))


def legal_form_label(legal_form: str | None) -> str:
    return str(LEGAL_FORM_LABELS.get(legal_form, legal_form or ""))


class Person(TenantScoped, Base):
    """A natural person: a group member, a board member, a representative, an applicant.

    Personal data lives here only; everything else refers to a person by id, so erasing
    a person pseudonymises this row and leaves applications and the audit trail intact.
    """

    __tablename__ = "person"
    __table_args__ = (sa.UniqueConstraint("tenant_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # The account holder's own record (a person applying alone), one per tenant.
    user_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("user_account.id", ondelete="SET NULL"))
    ref: Mapped[str | None] = mapped_column(sa.String(80))
    name: Mapped[str] = mapped_column(sa.String(200))
    birth_date: Mapped[dt.date | None] = mapped_column(sa.Date)
    pesel: Mapped[str | None] = mapped_column(sa.String(11))
    email: Mapped[str | None] = mapped_column(sa.String(254))
    phone: Mapped[str | None] = mapped_column(sa.String(40))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    @property
    def identity(self) -> str:
        """What makes two records the same person: the PESEL, else name and birth date."""
        if self.pesel:
            return f"pesel:{self.pesel}"
        return f"{' '.join(self.name.lower().split())}|{self.birth_date}"


class ApplicantProfile(TenantScoped, Base):
    """What an account applies as: an organisation, an informal group, or the person alone."""

    __tablename__ = "applicant_profile"

    id: Mapped[int] = mapped_column(primary_key=True)
    ref: Mapped[str | None] = mapped_column(sa.String(80))
    owner_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("user_account.id", ondelete="SET NULL"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(32))
    name: Mapped[str] = mapped_column(sa.String(300))
    # Organisations and institutions
    legal_form: Mapped[str | None] = mapped_column(sa.String(64))
    krs: Mapped[str | None] = mapped_column(sa.String(10))
    nip: Mapped[str | None] = mapped_column(sa.String(10))
    regon: Mapped[str | None] = mapped_column(sa.String(14))
    registered_on: Mapped[dt.date | None] = mapped_column(sa.Date)
    revenue_last_year: Mapped[Decimal | None] = mapped_column(Money)
    seat: Mapped[str | None] = mapped_column(sa.String(200))
    in_liquidation: Mapped[bool] = mapped_column(default=False)
    iban: Mapped[str | None] = mapped_column(sa.String(34))
    # A person applying alone
    person_id: Mapped[int | None] = mapped_column(sa.ForeignKey("person.id", ondelete="SET NULL"))
    # A group: its representative and the organisation lending it legal personality
    representative_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("person.id", ondelete="SET NULL"))
    patron_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("applicant_profile.id", ondelete="SET NULL"))
    patron_confirmed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    patron_token_hash: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    patron_invited_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    person: Mapped[Person | None] = relationship(foreign_keys=[person_id])
    representative: Mapped[Person | None] = relationship(foreign_keys=[representative_id])
    patron: Mapped[ApplicantProfile | None] = relationship(remote_side=[id])
    members: Mapped[list[ProfileMember]] = relationship(
        back_populates="profile", cascade="all, delete-orphan", order_by="ProfileMember.id")
    editors: Mapped[list[ProfileEditor]] = relationship(
        back_populates="profile", cascade="all, delete-orphan")

    def people(self, role: str) -> list[Person]:
        return [m.person for m in self.members if m.role == role]

    @property
    def display_name(self) -> str:
        """The name to show: a person applying alone has no name of its own (the name is
        personal data and stays on :class:`Person`)."""
        if self.kind == ApplicantKind.PERSON and self.person is not None:
            return self.person.name
        return self.name


class ProfileMember(TenantScoped, Base):
    """A person in a profile: a member of a group, or on the board of an organisation."""

    __tablename__ = "profile_member"

    id: Mapped[int] = mapped_column(primary_key=True)
    profile_id: Mapped[int] = mapped_column(
        sa.ForeignKey("applicant_profile.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[int] = mapped_column(sa.ForeignKey("person.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(sa.String(16))  # "member" | "board"

    profile: Mapped[ApplicantProfile] = relationship(back_populates="members")
    person: Mapped[Person] = relationship()


class ProfileEditor(TenantScoped, Base):
    """An account other than the owner that may edit the profile's applications."""

    __tablename__ = "profile_editor"
    __table_args__ = (sa.UniqueConstraint("profile_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    profile_id: Mapped[int] = mapped_column(
        sa.ForeignKey("applicant_profile.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id", ondelete="CASCADE"))

    profile: Mapped[ApplicantProfile] = relationship(back_populates="editors")
