from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, TenantScoped, UTCDateTime, utcnow


class AuditEvent(TenantScoped, Base):
    """Who did what to which object, and when.

    The actor and the object are referred to by id only: personal data lives in its
    own tables, so erasing it later leaves this trail intact.  Platform events (the
    operator console, platform scopes) have no tenant.  Rows are append-only: in
    PostgreSQL a trigger refuses UPDATE and DELETE and the app's role has neither
    privilege; ``prev_hash``/``hash`` chain them so that ``flask audit verify`` finds any
    change made around those guards.
    """

    __tablename__ = "audit_event"
    __tenant_optional__ = True

    id: Mapped[int] = mapped_column(primary_key=True)
    actor_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("user_account.id", ondelete="SET NULL"), index=True)
    action: Mapped[str] = mapped_column(sa.String(80), index=True)
    object_type: Mapped[str | None] = mapped_column(sa.String(80))
    object_id: Mapped[int | None]
    changes: Mapped[dict] = mapped_column(default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    # The hash chain (core/audit/chain.py): SHA-256 hex of this event and the one before.
    prev_hash: Mapped[str | None] = mapped_column(sa.String(64))
    hash: Mapped[str | None] = mapped_column(sa.String(64))
