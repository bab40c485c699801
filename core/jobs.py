"""Background jobs: RQ on Redis when ``REDIS_URL`` is set, in-process otherwise.

Every job takes ``tenant_id`` and runs inside that tenant's scope, with a fresh
application context, so a job never depends on the request that enqueued it.
"""
from __future__ import annotations

import importlib
import logging

from flask import current_app, g

log = logging.getLogger(__name__)


def _path(func) -> str:
    return f"{func.__module__}:{func.__qualname__}"


def _resolve(path: str):
    module, _, name = path.partition(":")
    return getattr(importlib.import_module(module), name)


def run_job(path: str, tenant_id: int | None, args: tuple, kwargs: dict):
    """Entry point of every job: rebuild the app and tenant context, then call the function."""
    from flask import has_app_context

    from core.db import Scope, reset_scope, set_scope

    def call():
        token = set_scope(Scope(tenant_id=tenant_id))
        try:
            return _resolve(path)(*args, **kwargs)
        finally:
            reset_scope(token)

    if has_app_context():
        return call()
    from core import create_app

    with create_app().app_context():
        return call()


def enqueue(func, *args, tenant_id: int | None, queue: str = "default", **kwargs):
    """Run ``func(*args, **kwargs)`` as a job for ``tenant_id``."""
    redis_url = current_app.config.get("REDIS_URL")
    if not redis_url or current_app.config.get("JOBS_IN_PROCESS"):
        # A fresh app context gives the job its own database session, as a worker would.
        with current_app.app_context():
            return run_job(_path(func), tenant_id, args, kwargs)
    from redis import Redis
    from rq import Queue, Retry

    connection = Redis.from_url(redis_url)
    prefix = current_app.config.get("RQ_QUEUE_PREFIX", "mikrogranty")
    return Queue(f"{prefix}-{queue}", connection=connection).enqueue(
        run_job, _path(func), tenant_id, args, kwargs, retry=Retry(max=3, interval=[10, 60, 300]))


def after_commit(func, *args, tenant_id: int | None, queue: str = "default", **kwargs):
    """Enqueue a job once the current transaction commits (never for a rolled-back change)."""
    pending = g.setdefault("_jobs_after_commit", [])
    pending.append((func, args, kwargs, tenant_id, queue))
    _ensure_listener()


_listening = False


def _ensure_listener():
    global _listening
    if _listening:
        return
    from sqlalchemy import event
    from sqlalchemy.orm import Session

    @event.listens_for(Session, "after_commit")
    def _flush_jobs(session):
        try:
            pending = g.pop("_jobs_after_commit", [])
        except RuntimeError:  # outside an app context
            return
        for func, args, kwargs, tenant_id, queue in pending:
            try:
                enqueue(func, *args, tenant_id=tenant_id, queue=queue, **kwargs)
            except Exception:  # the message stays in the outbox; a sweep re-sends it
                log.exception("could not enqueue %s", _path(func))

    @event.listens_for(Session, "after_rollback")
    def _drop_jobs(session):
        try:
            g.pop("_jobs_after_commit", None)
        except RuntimeError:
            return

    _listening = True
