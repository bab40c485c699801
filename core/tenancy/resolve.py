"""Host → tenant, once per request.

``<slug>.<BASE_DOMAIN>`` is a tenant's main host; ``BASE_DOMAIN`` itself is the
operator's console; a tenant's secondary host redirects (301) to its main host; any
other host gets a plain 404 page.  Hosts outside ``TRUSTED_HOSTS`` are refused (400) by
Flask before this runs.
"""
from __future__ import annotations

from flask import abort, current_app, g, redirect, request, url_for
from werkzeug.local import LocalProxy

from core.db import Scope, db, reset_scope, set_scope

from .models import Tenant, TenantHost


def _current_tenant():
    return g.get("tenant")


current_tenant: Tenant | None = LocalProxy(_current_tenant)  # type: ignore[assignment]


class UnknownHost(Exception):
    pass


def main_host(tenant: Tenant) -> str:
    return f"{tenant.slug}.{current_app.config['BASE_DOMAIN']}"


def tenant_url(tenant: Tenant | None, path: str = "/") -> str:
    """An absolute link built from the tenant's stored host, never the request's Host."""
    config = current_app.config
    host = main_host(tenant) if tenant is not None else config["BASE_DOMAIN"]
    port = config.get("PUBLIC_PORT")
    netloc = f"{host}:{port}" if port else host
    return f"{config['PREFERRED_URL_SCHEME']}://{netloc}{path}"


def resolve_host(host: str):
    """Return ``("platform", None)``, ``("tenant", tenant)`` or ``("redirect", tenant)``."""
    host = host.split(":")[0].lower().rstrip(".")
    base = current_app.config["BASE_DOMAIN"]
    if host == base:
        return "platform", None
    if host.endswith("." + base):
        slug = host[: -len(base) - 1]
        if "." not in slug:
            tenant = db.session.execute(
                db.select(Tenant).where(Tenant.slug == slug)).scalar_one_or_none()
            if tenant is not None:
                return "tenant", tenant
    secondary = db.session.execute(
        db.select(TenantHost).where(TenantHost.host == host)).scalar_one_or_none()
    if secondary is not None:
        return "redirect", secondary.tenant
    raise UnknownHost(host)


def before_request():
    try:
        kind, tenant = resolve_host(request.host)
    except UnknownHost:
        g.tenant = None
        g.unknown_host = True
        abort(404)
    if kind == "redirect":
        target = tenant_url(tenant, request.full_path if request.query_string else request.path)
        return redirect(target, code=301)
    g.tenant = tenant
    g._scope_token = set_scope(Scope(tenant_id=tenant.id if tenant else None))
    from core.accounts.permissions import blueprint_host_scope

    scope = blueprint_host_scope(request.blueprint)
    if request.endpoint == "static" or scope == "any":
        return None
    if (scope == "tenant") != (tenant is not None):
        if tenant is None and request.path == "/":
            # The base host's home is the operator's console.
            return redirect(url_for("console.tenants"))
        abort(404)
    return None


def teardown_request(exc=None):
    token = g.pop("_scope_token", None)
    if token is not None:
        reset_scope(token)


def init_app(app):
    app.before_request_funcs.setdefault(None, []).insert(0, before_request)
    app.teardown_request(teardown_request)
