"""Background jobs: RQ on Redis when ``REDIS_URL`` is set, in-process otherwise.

Every job takes ``tenant_id`` and runs inside that tenant's scope, with a fresh
application context, so a job never depends on the request that enqueued it (a job of no
municipality sees no municipality's rows; it opens an audited platform scope itself
where it must, as the delivery of the operator's own e-mail does).  Jobs are
idempotent: RQ retries a failed one with a backoff (``JOB_RETRY_INTERVALS``), and the
records a job works on (e.g. the outbox) say whether its work is already done.

Queues: ``mail`` (e-mail; first, so a password reset never waits behind an export),
``default``, ``documents`` (PDFs and exports).  Jobs that fail for good stay in RQ's
failed registry, shown to the operator's staff on the console with their error and a
button to run them again.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import importlib
import logging

from flask import current_app, g

log = logging.getLogger(__name__)

QUEUES = ("mail", "default", "documents")


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

    # A fresh app context per job: its own database session, removed when the job ends.
    app = current_app._get_current_object() if has_app_context() else _worker_app()
    with app.app_context():
        return call()


_app = None
_app_pid = None


def _worker_app():
    """The application of a worker, built once (``flask jobs worker`` builds it before
    forking) and given fresh database connections in each forked work horse."""
    global _app, _app_pid
    import os

    if _app is None:
        from core import create_app

        set_worker_app(create_app())
    elif _app_pid != os.getpid():
        from core.db import db

        with _app.app_context():
            for engine in db.engines.values():
                engine.dispose(close=False)
        _app_pid = os.getpid()
    return _app


def warm_up() -> None:
    """Do once, before the worker forks, what every job would otherwise do again: map the
    models and compile the delivery's statements; then close the connections used."""
    from sqlalchemy.orm import configure_mappers

    from core.db import Scope, db, reset_scope, set_scope
    from core.notifications.models import OutboxMessage

    configure_mappers()
    token = set_scope(Scope(tenant_id=0))
    try:
        db.session.get(OutboxMessage, 0)
    except Exception:  # a database not reachable yet: the jobs will say so themselves
        log.warning("could not warm up the database connection", exc_info=True)
    finally:
        db.session.rollback()
        reset_scope(token)
        for engine in db.engines.values():
            engine.dispose()


def set_worker_app(app) -> None:
    global _app, _app_pid
    import os

    _app, _app_pid = app, os.getpid()


def redis_connection(url: str | None = None):
    """A Redis client that gives up quickly: a request never hangs on a dead queue."""
    from redis import Redis

    return Redis.from_url(url or current_app.config["REDIS_URL"], socket_connect_timeout=2,
                          socket_timeout=5)


def queue_name(queue: str) -> str:
    return f"{current_app.config.get('RQ_QUEUE_PREFIX', 'mikrogranty')}-{queue}"


def get_queue(queue: str, connection=None):
    from rq import Queue

    return Queue(queue_name(queue), connection=connection or redis_connection())


def enqueue(func, *args, tenant_id: int | None, queue: str = "default", **kwargs):
    """Run ``func(*args, **kwargs)`` as a job for ``tenant_id``."""
    config = current_app.config
    if not config.get("REDIS_URL") or config.get("JOBS_IN_PROCESS"):
        return run_job(_path(func), tenant_id, args, kwargs)
    from rq import Retry

    intervals = config["JOB_RETRY_INTERVALS"]
    return get_queue(queue).enqueue(
        run_job, _path(func), tenant_id, args, kwargs, job_timeout=config["JOB_TIMEOUT"],
        retry=Retry(max=len(intervals), interval=intervals) if intervals else None,
        description=f"{_path(func)}{args!r} tenant={tenant_id}")


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
            except Exception:  # the work is recorded (e.g. the outbox); the sweep retries
                log.exception("could not enqueue %s", _path(func))

    @event.listens_for(Session, "after_rollback")
    def _drop_jobs(session):
        try:
            g.pop("_jobs_after_commit", None)
        except RuntimeError:
            return

    _listening = True


# --- failed jobs, for the console -------------------------------------------------------------

@dataclasses.dataclass
class FailedJob:
    id: str
    queue: str
    function: str
    tenant_id: int | None
    args: tuple
    error: str
    failed_at: dt.datetime | None
    enqueued_at: dt.datetime | None


def failed_jobs(limit: int = 200) -> list[FailedJob]:
    """Jobs RQ gave up on (after their retries), newest first; empty without Redis."""
    if not current_app.config.get("REDIS_URL"):
        return []
    from rq.job import Job

    connection = redis_connection()
    found: list[FailedJob] = []
    for queue in QUEUES:
        registry = get_queue(queue, connection).failed_job_registry
        for job in Job.fetch_many(registry.get_job_ids(0, limit - 1), connection=connection):
            if job is None:
                continue
            path, tenant_id, args = (tuple(job.args or ()) + (job.func_name, None, ()))[:3]
            result = job.latest_result()
            error = (result.exc_string if result is not None else job.exc_info) or ""
            found.append(FailedJob(
                id=job.id, queue=queue, function=str(path), tenant_id=tenant_id,
                args=tuple(args or ()), error=error.strip(),
                failed_at=_aware(job.ended_at), enqueued_at=_aware(job.enqueued_at)))
    found.sort(key=lambda job: job.failed_at or dt.datetime.min.replace(tzinfo=dt.UTC),
               reverse=True)
    return found[:limit]


def requeue_failed(job_id: str) -> bool:
    """Run a failed job again; ``False`` when no such failed job exists."""
    from rq.exceptions import InvalidJobOperation, NoSuchJobError

    if not current_app.config.get("REDIS_URL"):
        return False
    connection = redis_connection()
    for queue in QUEUES:
        registry = get_queue(queue, connection).failed_job_registry
        if job_id in registry.get_job_ids():
            try:
                registry.requeue(job_id)
            except (InvalidJobOperation, NoSuchJobError):
                return False
            return True
    return False


def _aware(value):
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value
