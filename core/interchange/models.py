"""What an import keeps beside the call it creates."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Base, TenantScoped, UTCDateTime, utcnow


class CallImport(TenantScoped, Base):
    """An imported ``mikrogranty/call@1`` document: where the call came from, and the parts
    of the edition that are not applications — the evaluators' points and the events after
    the ranking — as the document gave them (people by ref only, no personal data)."""

    __tablename__ = "call_import"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(sa.ForeignKey("call.id", ondelete="CASCADE"),
                                         index=True, unique=True)
    format: Mapped[str] = mapped_column(sa.String(40))
    sha256: Mapped[str] = mapped_column(sa.String(64))
    evaluations: Mapped[list | None] = mapped_column(sa.JSON)
    events: Mapped[list] = mapped_column(default=list)
    imported_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    imported_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("user_account.id", ondelete="SET NULL"))

    call = relationship("Call")
