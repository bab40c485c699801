"""The audit trail's hash chain.

Each event stores ``prev_hash`` (the hash of the event before it in the same chain) and
``hash``: SHA-256 of a canonical JSON of its content (tenant, actor, action, object,
changes as ``[old, new]``, time) and ``prev_hash``.  Changing, removing or reordering any
event breaks the chain from that event on, which :func:`verify` finds.

There is one chain per tenant and one for the platform (``tenant_id`` NULL).  Per tenant,
because with row-level security a tenant's transaction can only read its own events, so
it could not read a global chain's head; and one tenant's rush of submissions then never
waits for another's.  Two transactions appending to one chain at once would both link to
the same head: in PostgreSQL a transaction-scoped advisory lock on (audit, tenant) is
taken before the head is read and held until commit, so appends to one chain are serial
and their ids follow the chain's order.  (SQLite allows one writer at a time anyway.)
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Session

from core.db import Scope, current_scope, reset_scope, set_scope, sync_rls_scope, utcnow

from .models import AuditEvent

GENESIS = "0" * 64
_ELEVATED = "mikrogranty.audit.platform_token"
_LOCK_CLASS = 0x41554454  # "AUDT": the first key of the advisory lock, the tenant the second


def canonical(event, prev_hash: str) -> str:
    created = event.created_at
    if created is not None:
        created = created.astimezone(dt.timezone.utc).isoformat(timespec="microseconds")
    content = {
        "tenant_id": event.tenant_id,
        "actor_id": event.actor_id,
        "action": event.action,
        "object_type": event.object_type,
        "object_id": event.object_id,
        "changes": event.changes or {},
        "created_at": created,
        "prev_hash": prev_hash,
    }
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def compute_hash(event, prev_hash: str) -> str:
    return hashlib.sha256(canonical(event, prev_hash).encode("utf-8")).hexdigest()


def _chain_condition(tenant_id):
    return ("audit_event.tenant_id IS NULL" if tenant_id is None
            else "audit_event.tenant_id = :tenant_id")


def chain_head(connection, tenant_id: int | None) -> str:
    """Lock the chain (PostgreSQL) and return the hash of its last event."""
    if connection.dialect.name == "postgresql":
        connection.execute(sa.text("SELECT pg_advisory_xact_lock(:cls, :tenant_id)"),
                           {"cls": _LOCK_CLASS, "tenant_id": tenant_id or 0})
    head = connection.execute(
        sa.text(f"SELECT hash FROM audit_event WHERE {_chain_condition(tenant_id)} "
                "ORDER BY id DESC LIMIT 1"), {"tenant_id": tenant_id}).scalar()
    return head or GENESIS


@event.listens_for(Session, "before_flush")
def _chain_new_events(session, flush_context, instances):
    new = [obj for obj in session.new if isinstance(obj, AuditEvent) and obj.hash is None]
    if not new:
        return
    scope = current_scope()
    if scope.tenant_id is None and not scope.platform:
        # Appending to the platform's own trail (events with no tenant, e.g. the operator
        # console's) is done as the platform: only it may read that chain's head and
        # write rows without a tenant.  The scope returns after the flush.
        session.info[_ELEVATED] = set_scope(Scope(platform=True, reason="audit: platform trail"))
    sync_rls_scope(session)
    new.sort(key=lambda obj: sa.inspect(obj).insert_order)
    scope_tenant = scope.tenant_id
    connection = session.connection()
    heads: dict[int | None, str] = {}
    for obj in new:
        if obj.tenant_id is None and scope_tenant is not None:
            obj.tenant_id = scope_tenant
        if obj.created_at is None:
            obj.created_at = utcnow()
        if obj.changes is None:
            obj.changes = {}
        if obj.tenant_id not in heads:
            heads[obj.tenant_id] = chain_head(connection, obj.tenant_id)
        obj.prev_hash = heads[obj.tenant_id]
        obj.hash = heads[obj.tenant_id] = compute_hash(obj, obj.prev_hash)


def _restore_scope(session, *args):
    token = session.info.pop(_ELEVATED, None)
    if token is not None:
        reset_scope(token)


event.listen(Session, "after_flush_postexec", _restore_scope)
event.listen(Session, "after_soft_rollback", _restore_scope)


# --- verification ------------------------------------------------------------------------

@dataclass(frozen=True)
class Break:
    event_id: int
    tenant_id: int | None
    reason: str  # "altered" or "link"

    def describe(self) -> str:
        chain = f"tenant {self.tenant_id}" if self.tenant_id is not None else "platform"
        if self.reason == "altered":
            return (f"audit event #{self.event_id} ({chain} chain) was altered: "
                    "its content no longer matches its hash")
        return (f"audit event #{self.event_id} ({chain} chain) does not follow the event "
                "before it: an event was removed, inserted or reordered")


@dataclass(frozen=True)
class Report:
    events: int
    breaks: list[Break]

    @property
    def intact(self) -> bool:
        return not self.breaks


def verify_events(events) -> Report:
    """Walk events (ordered by id) chain by chain; the first break of each chain is kept."""
    expected: dict[int | None, str] = {}
    broken: dict[int | None, Break] = {}
    count = 0
    for ev in events:
        count += 1
        if ev.tenant_id in broken:
            continue
        prev = expected.get(ev.tenant_id, GENESIS)
        if ev.prev_hash != prev:
            broken[ev.tenant_id] = Break(ev.id, ev.tenant_id, "link")
        elif ev.hash != compute_hash(ev, ev.prev_hash):
            broken[ev.tenant_id] = Break(ev.id, ev.tenant_id, "altered")
        else:
            expected[ev.tenant_id] = ev.hash
    return Report(count, sorted(broken.values(), key=lambda b: b.event_id))


def verify(session, tenant_id: int | None = None, all_chains: bool = True) -> Report:
    """Recompute the chains visible in the current scope (one tenant's, or every chain in
    the platform scope)."""
    query = sa.select(AuditEvent).order_by(AuditEvent.id)
    if not all_chains:
        query = query.where(AuditEvent.tenant_id == tenant_id)
    return verify_events(session.execute(query.execution_options(yield_per=500)).scalars())
