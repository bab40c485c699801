"""An RQ worker (as ``flask jobs worker --burst`` on the mail queue) that fails once at a
named point of delivering an e-mail, for tests/test_delivery.py.

    python tests/fault_worker.py POINT MARKER_FILE

Points: ``before_send`` — the work horse is killed before the message is claimed;
``after_send`` — killed right after the mail server accepted the message, before the
delivery is recorded; ``hang_after_send`` — hangs there until the job timeout stops it.
The marker file records that the fault happened, so that the retried job runs normally.
"""
from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

point, marker = sys.argv[1], Path(sys.argv[2])

from core.notifications import operations  # noqa: E402


def _fault_now(where: str) -> None:
    if point.endswith(where) and not marker.exists():
        marker.write_text(point)
        if point.startswith("hang"):
            time.sleep(600)
        os.kill(os.getpid(), signal.SIGKILL)


original_claim, original_hand_over = operations._claim, operations._hand_over


def claim(message_id):
    _fault_now("before_send")
    return original_claim(message_id)


def hand_over(smtp, email):
    original_hand_over(smtp, email)
    _fault_now("after_send")


operations._claim, operations._hand_over = claim, hand_over

from rq import Worker  # noqa: E402

from core import create_app, jobs  # noqa: E402

app = create_app()
with app.app_context():
    jobs.set_worker_app(app)
    connection = jobs.redis_connection()
    Worker([jobs.get_queue("mail", connection)], connection=connection).work(
        burst=True, with_scheduler=False)
