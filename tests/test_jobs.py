"""Jobs run in-process by default and on RQ workers with Redis; each job rebuilds its tenant."""
from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

from conftest import BASE, PASSWORD, REDIS_URL, need_service


def _messages(app):
    from core.db import Scope, db, reset_scope, set_scope
    from core.notifications.models import OutboxMessage

    with app.app_context():
        token = set_scope(Scope(platform=True, reason="tests"))
        try:
            return [(m.recipient, m.sent_at is not None, m.tenant_id)
                    for m in db.session.scalars(db.select(OutboxMessage))]
        finally:
            reset_scope(token)


def _register(application, slug="gmina-a"):
    from conftest import HostClient

    client = HostClient(application, f"{slug}.{BASE}")
    response = client.post("/register", data={"email": "anna@example.org", "password": PASSWORD,
                                              "password_again": PASSWORD})
    assert response.status_code == 200


def test_without_redis_mail_is_delivered_in_process(app, create_tenant):
    tenant_id = create_tenant("gmina-a")
    _register(app)
    assert _messages(app) == [("anna@example.org", True, tenant_id)]


def test_with_redis_a_worker_process_delivers_in_the_tenant_scope(make_app, app, app_config,
                                                                 create_tenant):
    need_service("Redis", bool(REDIS_URL), "set REDIS_URL=redis://…")
    from redis import Redis

    prefix = f"mikrogranty-test-{uuid.uuid4().hex[:8]}"
    queued = make_app(REDIS_URL=REDIS_URL, RQ_QUEUE_PREFIX=prefix)
    tenant_id = create_tenant("gmina-a")
    _register(queued)
    # Saved, not yet delivered: the job waits in Redis.
    assert _messages(app) == [("anna@example.org", False, tenant_id)]
    assert Redis.from_url(REDIS_URL).llen(f"rq:queue:{prefix}-mail") == 1

    env = {**os.environ, "DATABASE_URL": app_config["DATABASE_URL"], "BASE_DOMAIN": BASE,
           "REDIS_URL": REDIS_URL, "MAIL_BACKEND": "outbox", "SECRET_KEY": "worker"}
    rq = Path(sys.executable).with_name("rq")
    result = subprocess.run([str(rq), "worker", "--burst", "--url", REDIS_URL,
                             f"{prefix}-mail"], env=env, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    assert _messages(app) == [("anna@example.org", True, tenant_id)]
