"""The database layer: declarative base, the tenant mixin and the global tenant filter.

Every tenant-scoped model inherits :class:`TenantScoped`.  A query on such a model
is filtered to the current tenant by the ``do_orm_execute`` hook below, so a query
written without a tenant condition still cannot see another tenant's rows.  The
current scope is a context variable set once per request (from the host), by
:func:`tenant_scope` in jobs and CLI commands, or by :func:`platform_scope` for the
few audited readings across tenants.  With no scope at all, tenant rows are invisible.
"""
from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import event
from sqlalchemy.orm import (DeclarativeBase, Mapped, Session, declared_attr, mapped_column,
                            registry, with_loader_criteria)

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    registry = registry(metadata=sa.MetaData(naming_convention=NAMING_CONVENTION),
                        type_annotation_map={dict: sa.JSON, list: sa.JSON})


db = SQLAlchemy(model_class=Base)


def utcnow() -> dt.datetime:
    """Aware UTC now; times are stored in UTC and shown in Europe/Warsaw."""
    return dt.datetime.now(dt.timezone.utc)


class UTCDateTime(sa.types.TypeDecorator):
    """A timestamp stored in UTC and always read back as an aware datetime."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; give a timezone")
        return value.astimezone(dt.timezone.utc)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:  # SQLite keeps no offset
            return value.replace(tzinfo=dt.timezone.utc)
        return value.astimezone(dt.timezone.utc)


class TenantScoped:
    """Mixin for rows that belong to one tenant.

    ``__tenant_optional__ = True`` lets a model keep platform rows (``tenant_id`` NULL),
    which only a platform scope can read.
    """

    __tenant_optional__ = False

    @declared_attr
    def tenant_id(cls) -> Mapped[int]:  # noqa: N805
        return mapped_column(sa.ForeignKey("tenant.id", ondelete="CASCADE"), index=True,
                             nullable=cls.__tenant_optional__)


@dataclass(frozen=True)
class Scope:
    tenant_id: int | None = None
    platform: bool = False
    reason: str | None = None


_scope: contextvars.ContextVar[Scope] = contextvars.ContextVar("mikrogranty_scope", default=Scope())


class CrossTenantWrite(RuntimeError):
    """A tenant-scoped row was written outside its tenant's scope."""


def current_scope() -> Scope:
    return _scope.get()


def set_scope(scope: Scope) -> contextvars.Token:
    return _scope.set(scope)


def reset_scope(token: contextvars.Token) -> None:
    _scope.reset(token)


@contextlib.contextmanager
def tenant_scope(tenant_or_id):
    """Run a block as one tenant: jobs and CLI commands name their tenant explicitly."""
    tenant_id = getattr(tenant_or_id, "id", tenant_or_id)
    if tenant_id is None:
        raise ValueError("tenant_scope needs a tenant")
    token = _scope.set(Scope(tenant_id=tenant_id))
    try:
        yield
    finally:
        _scope.reset(token)


@contextlib.contextmanager
def platform_scope(reason: str, actor_id: int | None = None):
    """Read across tenants, for a named reason; the entry is audited.

    Only operator totals, platform jobs and the operator console use this.
    """
    if not reason or not reason.strip():
        raise ValueError("platform_scope needs a reason")
    from core.audit.operations import record_platform_scope

    token = _scope.set(Scope(platform=True, reason=reason))
    try:
        record_platform_scope(reason, actor_id)
        yield
    finally:
        _scope.reset(token)


@event.listens_for(Session, "do_orm_execute")
def _apply_tenant_filter(state):
    if not (state.is_select or state.is_update or state.is_delete):
        return
    if state.execution_options.get("skip_tenant_filter"):
        return
    scope = _scope.get()
    if scope.platform:
        return
    tenant_id = scope.tenant_id
    if tenant_id is None:
        criteria = with_loader_criteria(TenantScoped, lambda cls: sa.false(), include_aliases=True)
    else:
        criteria = with_loader_criteria(
            TenantScoped, lambda cls: cls.tenant_id == tenant_id, include_aliases=True)
    state.statement = state.statement.options(criteria)


@event.listens_for(Session, "before_flush")
def _stamp_tenant(session, flush_context, instances):
    """New rows take the current tenant; a row of another tenant is never written.

    Outside any tenant (CLI commands, the operator's console) a row must name its
    tenant explicitly; in a tenant's scope it may only be that tenant's.
    """
    scope = _scope.get()
    for obj in list(session.new) + list(session.dirty):
        if not isinstance(obj, TenantScoped):
            continue
        if obj.tenant_id is None and obj in session.new and scope.tenant_id is not None:
            obj.tenant_id = scope.tenant_id
        if obj.tenant_id is None and not obj.__tenant_optional__:
            raise CrossTenantWrite(f"{type(obj).__name__} written with no tenant")
        if scope.tenant_id is not None and obj.tenant_id not in (None, scope.tenant_id):
            raise CrossTenantWrite(
                f"{type(obj).__name__} of tenant {obj.tenant_id} written in scope of "
                f"tenant {scope.tenant_id}")


def tenant_scoped_models() -> list[type]:
    """Every mapped class that carries the tenant filter (core and plugins)."""
    return sorted((m.class_ for m in Base.registry.mappers if issubclass(m.class_, TenantScoped)),
                  key=lambda cls: cls.__name__)


def get_or_404(model, ident):
    """Load one row by id through the tenant filter (never from the identity map alone)."""
    from flask import abort

    obj = db.session.execute(db.select(model).where(model.id == ident)).scalar_one_or_none()
    if obj is None:
        abort(404)
    return obj


class Money(sa.types.TypeDecorator):
    """An amount of money: stored as integer grosze, read and written as ``Decimal``.

    Floats are refused, so a rounding error can never reach the database.
    """

    impl = sa.BigInteger
    cache_ok = True

    def process_bind_param(self, value, dialect):
        from decimal import ROUND_HALF_UP, Decimal

        if value is None:
            return None
        if isinstance(value, float):
            raise TypeError("money is never a float")
        amount = Decimal(value)
        grosze = (amount * 100).quantize(Decimal("1"), rounding=ROUND_HALF_UP)
        if grosze != amount * 100:
            raise ValueError(f"{value} has more than two decimal places")
        return int(grosze)

    def process_result_value(self, value, dialect):
        from decimal import Decimal

        if value is None:
            return None
        return (Decimal(int(value)) / 100).quantize(Decimal("0.01"))


class Points(Money):
    """Points with two decimals (e.g. an average, 8.63), stored as integer hundredths."""

    cache_ok = True


# --- row-level security in PostgreSQL ------------------------------------------------------
#
# In production the app connects as ``mikrogranty_app``: not the tables' owner, no
# BYPASSRLS.  PostgreSQL's policies (migration 0004, :func:`core.cli.secure_tenant_tables`)
# then show a tenant table's rows only where ``tenant_id`` equals the setting
# ``mikrogranty.tenant_id``; unset, nothing is visible.  Each transaction sets it from the
# current scope (``set_config(..., true)``, local to the transaction); the platform scope
# switches to the role ``mikrogranty_platform`` (BYPASSRLS) with ``SET LOCAL ROLE``.  A
# connection that already bypasses row security (a superuser, the owner in development and
# in most tests) is left as it is, so it runs exactly the statements it ran before.

TENANT_SETTING = "mikrogranty.tenant_id"
PLATFORM_ROLE = "mikrogranty_platform"
APP_ROLE = "mikrogranty_app"
_RLS_INFO = "mikrogranty.rls"


def _rls_capabilities(connection) -> tuple[bool, bool]:
    """(is the connection subject to row security, may it become the platform role).

    Asked once per database connection, on the raw cursor (not counted as the app's query).
    """
    info = connection.info
    if _RLS_INFO not in info:
        cursor = connection.connection.dbapi_connection.cursor()
        try:
            cursor.execute(
                "SELECT NOT (r.rolsuper OR r.rolbypassrls), EXISTS (SELECT 1 FROM pg_roles p "
                "WHERE p.rolname = %s AND pg_has_role(r.oid, p.oid, 'MEMBER')) "
                "FROM pg_roles r WHERE r.rolname = session_user", (PLATFORM_ROLE,))
            restricted, can_platform = cursor.fetchone()
        finally:
            cursor.close()
        info[_RLS_INFO] = (bool(restricted), bool(can_platform))
    return info[_RLS_INFO]


def _apply_rls_scope(session, connection) -> None:
    if connection.dialect.name != "postgresql":
        return
    restricted, can_platform = _rls_capabilities(connection)
    if not restricted:
        return
    scope = _scope.get()
    tenant = "" if scope.platform or scope.tenant_id is None else str(int(scope.tenant_id))
    cursor = connection.connection.dbapi_connection.cursor()
    try:
        cursor.execute("SELECT set_config(%s, %s, true)", (TENANT_SETTING, tenant))
        if scope.platform and can_platform:
            cursor.execute(f"SET LOCAL ROLE {PLATFORM_ROLE}")
        else:
            cursor.execute("SET LOCAL ROLE NONE")
    finally:
        cursor.close()
    session.info[_RLS_INFO] = (connection, scope)


@event.listens_for(Session, "after_begin")
def _set_rls_scope_for_transaction(session, transaction, connection):
    """Each transaction carries the current tenant (or the platform role) to PostgreSQL."""
    _apply_rls_scope(session, connection)


def sync_rls_scope(session) -> None:
    """Re-apply the scope if it changed since the transaction began (e.g. a host lookup,
    then the tenant's scope, in one transaction)."""
    applied = session.info.get(_RLS_INFO)
    if applied is None or not session.in_transaction():
        return
    connection, scope = applied
    if scope != _scope.get():
        _apply_rls_scope(session, connection)


@event.listens_for(Session, "do_orm_execute")
def _sync_rls_scope_before_execute(state):
    sync_rls_scope(state.session)


@event.listens_for(Session, "before_flush")
def _sync_rls_scope_before_flush(session, flush_context, instances):
    sync_rls_scope(session)


@event.listens_for(Session, "after_transaction_end")
def _forget_rls_scope(session, transaction):
    if transaction.parent is None:
        session.info.pop(_RLS_INFO, None)
