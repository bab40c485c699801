from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Base, UTCDateTime, utcnow


class Tenant(Base):
    """A municipality (or an operator's area of several gminas), served on its own subdomain."""

    __tablename__ = "tenant"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(sa.String(63), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    locales: Mapped[list] = mapped_column(default=lambda: ["pl", "en", "uk"])
    variants: Mapped[list] = mapped_column(default=list)
    settings: Mapped[dict] = mapped_column(default=dict)
    branding: Mapped[dict] = mapped_column(default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    hosts: Mapped[list[TenantHost]] = relationship(
        back_populates="tenant", cascade="all, delete-orphan", order_by="TenantHost.host")

    @property
    def default_locale(self) -> str:
        return self.locales[0] if self.locales else "pl"

    @property
    def secondary_hosts(self) -> list[str]:
        return [h.host for h in self.hosts]

    def __repr__(self) -> str:
        return f"<Tenant {self.slug}>"


class TenantHost(Base):
    """A secondary host of a tenant; requests to it are redirected to the main host."""

    __tablename__ = "tenant_host"

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(sa.ForeignKey("tenant.id", ondelete="CASCADE"),
                                           index=True)
    host: Mapped[str] = mapped_column(sa.String(253), unique=True)

    tenant: Mapped[Tenant] = relationship(back_populates="hosts")
