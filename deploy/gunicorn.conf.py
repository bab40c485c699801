"""gunicorn settings for Mikrogranty: ``gunicorn -c deploy/gunicorn.conf.py``.

Run from the checkout (the systemd unit sets WorkingDirectory), with the application's
environment loaded (``/etc/mikrogranty/env``, see ``deploy/env.example``).  Every value
here can be changed through the environment; the defaults suit one machine with nginx in
front of gunicorn on the same host.
"""
import multiprocessing
import os

wsgi_app = "core.wsgi:app"

# Where gunicorn listens.  Keep it on the loopback interface, or on a unix socket in the
# web unit's RuntimeDirectory ("unix:/run/mikrogranty-web/gunicorn.sock"): the
# application trusts the proxy's X-Forwarded-For, so only the proxy may reach gunicorn.
bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")

# Worker processes: WEB_CONCURRENCY, or two per CPU plus one (at most 8 by default).
workers = int(os.environ.get("WEB_CONCURRENCY") or min(2 * multiprocessing.cpu_count() + 1, 8))
threads = 1
timeout = 60
graceful_timeout = 30
keepalive = 5
# Recycle workers now and then, so that a slow leak never grows unbounded.
max_requests = 1000
max_requests_jitter = 100

# Addresses of the reverse proxy, whose X-Forwarded-Proto gunicorn believes (comma list).
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")

# Logs go to stdout/stderr, where systemd's journal (or a container runtime) keeps them.
# The access log names the client (as the proxy saw it) and the host, i.e. the tenant.
accesslog = "-"
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
access_log_format = ('%({x-forwarded-for}i)s %({host}i)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s '
                     '%(M)sms "%(f)s" "%(a)s"')

# Build the application once, in the master: a missing SECRET_KEY or a broken plugin
# stops gunicorn with the application's message instead of failing every worker in turn.
preload_app = True

# The heartbeat file of each worker lives in memory, never on a slow disk.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None

# gunicorn's control socket (for ``gunicornc``): in systemd's RuntimeDirectory when the
# unit gives one (deploy/systemd/mikrogranty-web.service does), else gunicorn's default.
if os.environ.get("RUNTIME_DIRECTORY"):
    control_socket = os.path.join(os.environ["RUNTIME_DIRECTORY"].split(":")[0], "gunicorn.ctl")


def post_fork(server, worker):
    """Each worker opens its own database connections, never the master's."""
    from core.db import db
    from core.wsgi import app

    with app.app_context():
        for engine in db.engines.values():
            engine.dispose(close=False)
