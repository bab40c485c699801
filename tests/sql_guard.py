"""A guard over the test suite: no SQL statement reads or changes a tenant table without a
tenant condition, outside the audited platform scope.

The global tenant filter (core.db) adds ``<table>.tenant_id = ?`` to every ORM select,
update and delete, relationship loads included; with no tenant at all it adds a false
condition (``0 = 1`` / ``false``), so nothing is seen.  A statement that reaches a tenant
table another way (raw SQL, ``skip_tenant_filter``, a Core statement on the table) is a
hole in that filter: the guard raises :class:`UnscopedTenantQuery` before it runs, so the
test that caused it errors.

Allowed without a condition:

* the platform scope (``core.db.current_scope().platform``), which is audited;
* reloading the expired columns of an object already in the session, by primary key;
* the unit of work's own ``UPDATE``/``DELETE ... WHERE id = ?`` for rows it loaded through
  the filter (and ``before_flush`` already refuses a row of another tenant);
* anything inside :func:`allowed` (the fixtures' clean-up and schema migrations), and every
  statement while the guard is not switched on (fixture set-up and tear-down).

``conftest.py`` installs :func:`check` on every engine and switches it on around each test.
"""
from __future__ import annotations

import contextlib
import contextvars
import re

import sqlalchemy as sa
from sqlalchemy import event

# On for the whole process while a test runs (a live server's threads included) ...
_state = {"active": False}
# ... except in a block of :func:`allowed`, in the thread that runs it.
_paused: contextvars.ContextVar[bool] = contextvars.ContextVar("sql_guard_paused", default=False)
_TABLES: set[str] | None = None

_VERB = re.compile(r"^\s*(?:WITH\b.*?\)\s*)?(SELECT|UPDATE|DELETE)\b", re.IGNORECASE | re.DOTALL)
# A table named after FROM/JOIN/UPDATE (optionally quoted, optionally aliased).
_NAME = r'"?(\w+)"?(?:\s+(?:AS\s+)?"?(?!(?:WHERE|ON|SET|JOIN|LEFT|RIGHT|INNER|OUTER|CROSS|FULL|ORDER|GROUP|LIMIT|OFFSET|FOR|UNION|HAVING|RETURNING|USING|NATURAL)\b)(\w+)"?)?'
_SOURCE = re.compile(r"\b(?:JOIN|UPDATE)\s+" + _NAME, re.IGNORECASE)
_FROM = re.compile(r"\bFROM\s+(.*?)(?=\bWHERE\b|\bJOIN\b|\bLEFT\b|\bINNER\b|\bCROSS\b|\bFULL\b"
                   r"|\bORDER\b|\bGROUP\b|\bLIMIT\b|\bOFFSET\b|\bFOR\b|\bUNION\b|\bHAVING\b"
                   r"|\bRETURNING\b|\)|$)", re.IGNORECASE | re.DOTALL)
_ITEM = re.compile(r"^\s*" + _NAME + r"\s*$", re.IGNORECASE)
_NOTHING = re.compile(r"\b(?:0\s*=\s*1|1\s*!=\s*1|false)\b", re.IGNORECASE)


class UnscopedTenantQuery(AssertionError):
    """A statement touched a tenant table without a tenant condition."""


def tenant_tables() -> set[str]:
    global _TABLES
    if _TABLES is None:
        from core.db import tenant_scoped_models

        _TABLES = {model.__table__.name for model in tenant_scoped_models()}
    return _TABLES


def sources(statement: str) -> list[tuple[str, str]]:
    """The (table, name used in the statement) pairs a statement reads or changes."""
    found = [(m.group(1), m.group(2) or m.group(1)) for m in _SOURCE.finditer(statement)]
    for clause in _FROM.finditer(statement):
        for item in clause.group(1).split(","):
            match = _ITEM.match(item)
            if match:
                found.append((match.group(1), match.group(2) or match.group(1)))
    return found


def unscoped(statement: str, tables: set[str]) -> list[str]:
    """The tenant tables of ``statement`` that have no tenant condition (empty if fine)."""
    if not _VERB.match(statement):
        return []
    missing = []
    for table, name in sources(statement):
        if table.lower() not in tables:
            continue
        condition = re.compile(rf'"?\b{re.escape(name)}"?\."?tenant_id"?\s*(?:=|IN\b)',
                               re.IGNORECASE)
        if condition.search(statement):
            continue
        if _NOTHING.search(statement):  # no tenant in scope: the filter shows nothing
            continue
        missing.append(table)
    return missing


def _flush_statement(context) -> bool:
    """The unit of work's UPDATE/DELETE by primary key of a row it loaded (or created)."""
    cache = context.execution_options.get("compiled_cache") if context is not None else None
    if cache is None:
        return False
    from core.db import Base

    return any(cache is mapper._compiled_cache for mapper in Base.registry.mappers)


def _refresh_of_a_loaded_row(context) -> bool:
    """Reloading the expired columns of an object already in the session, by its primary key
    (it got there through the filter, or was created in its tenant's scope)."""
    options = context.execution_options.get("_sa_orm_load_options") if context is not None else None
    return getattr(options, "_refresh_state", None) is not None


def check(conn, cursor, statement, parameters, context, executemany):
    if not _state["active"] or _paused.get():
        return
    from core.db import current_scope

    if current_scope().platform:
        return
    missing = unscoped(statement, tenant_tables())
    if missing and not (_flush_statement(context) or _refresh_of_a_loaded_row(context)):
        raise UnscopedTenantQuery(
            f"SQL on tenant table(s) {', '.join(sorted(set(missing)))} without a tenant "
            f"condition, outside the platform scope:\n{statement}")


def install() -> None:
    if not event.contains(sa.engine.Engine, "before_cursor_execute", check):
        event.listen(sa.engine.Engine, "before_cursor_execute", check)


@contextlib.contextmanager
def active():
    _state["active"] = True
    try:
        yield
    finally:
        _state["active"] = False


@contextlib.contextmanager
def allowed():
    """Statements that may touch every tenant (clean-up, schema migrations)."""
    token = _paused.set(True)
    try:
        yield
    finally:
        _paused.reset(token)
