"""The WSGI entry point: ``gunicorn -c deploy/gunicorn.conf.py`` serves ``core.wsgi:app``.

Importing this module builds the application as a server would run it: outside debug
mode it refuses to start without SECRET_KEY (:class:`core.StartupError`, with a message
saying how to make one), so a misconfigured server stops at once instead of handing
out sessions signed with a throw-away key.

The application runs behind the reverse proxy from ``deploy/nginx``, which sets
``X-Forwarded-For`` to the client's address and ``X-Forwarded-Proto`` to the scheme.
One proxy hop is trusted, so ``request.remote_addr`` (login rate limits, the audit
trail) is the client's and not the proxy's; gunicorn must therefore be reachable only
from that proxy (it binds to 127.0.0.1 by default).
"""
from __future__ import annotations

from werkzeug.middleware.proxy_fix import ProxyFix

from core import create_app

app = create_app(serving=True)
app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1)  # type: ignore[method-assign]
