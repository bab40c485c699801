"""Is the web process answering?  Exit 0 if so, 1 if not: the container's HEALTHCHECK.

Asks gunicorn (GUNICORN_BIND, on this machine) for the login page of the operator's
console, with BASE_DOMAIN as the Host: any other Host is refused with 400 by the
application's host check, which would make a healthy process look broken.  The page
needs no database, so the check says whether the process serves, not whether
PostgreSQL does (a database outage should not get every web container restarted).

Run it in the web container: ``python deploy/healthcheck.py``.
"""
from __future__ import annotations

import http.client
import os
import sys

PATH = "/login"


def address(bind: str) -> tuple[str, int]:
    """Where to reach gunicorn from inside its own container or machine."""
    host, _, port = bind.strip().rpartition(":")
    host = host.strip("[]")
    if host in {"", "0.0.0.0", "::"}:
        host = "127.0.0.1"
    return host, int(port)


def check(environ: dict[str, str] | None = None, timeout: float = 4) -> tuple[bool, str]:
    environ = dict(os.environ if environ is None else environ)
    bind = environ.get("GUNICORN_BIND", "127.0.0.1:8000").split(",")[0]
    if bind.startswith("unix:"):
        return False, f"{bind}: a unix socket is not checked over TCP"
    host, port = address(bind)
    connection = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        connection.request("GET", PATH, headers={
            "Host": environ.get("BASE_DOMAIN", "localhost").strip().lower()})
        status = connection.getresponse().status
    except OSError as exc:
        return False, f"{host}:{port}: {exc}"
    finally:
        connection.close()
    return status == 200, f"{host}:{port}{PATH}: HTTP {status}"


if __name__ == "__main__":
    healthy, detail = check()
    print(detail)
    sys.exit(0 if healthy else 1)
