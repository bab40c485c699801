"""The plugin's tables: named ``sample_*``, created by its own migrations, never core's."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from core.plugins.toolkit import Base, TenantScoped, UTCDateTime, utcnow

from .rules import TITLE_MAX


class SampleNote(TenantScoped, Base):
    """A short public note of one municipality.

    ``TenantScoped`` adds ``tenant_id`` and puts the table under the global tenant
    filter: a query for notes only ever sees the current tenant's rows.
    """

    __tablename__ = "sample_note"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(sa.String(TITLE_MAX))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    def __repr__(self) -> str:
        return f"<SampleNote {self.id}>"
