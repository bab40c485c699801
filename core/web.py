"""What every page shares: the layout's context, error pages and response headers."""
from __future__ import annotations

from flask import abort, g, render_template, request
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup, escape

from core.accounts.permissions import has_permission, role_label


def menu():
    pm = _pm()
    tenant = g.get("tenant")
    items = [item for result in pm.hook.menu_items(tenant=tenant, user=current_user)
             for item in result or []]
    return sorted((i for i in items if has_permission(i.permission)), key=lambda i: i.order)


def slot(name: str) -> Markup:
    pm = _pm()
    pieces = pm.hook.template_slot(slot=name, tenant=g.get("tenant"), user=current_user)
    return Markup("").join(p if isinstance(p, Markup) else escape(p)
                           for p in reversed(pieces) if p)


def _pm():
    from flask import current_app

    return current_app.extensions["mikrogranty.plugins"]


def inject():
    tenant = g.get("tenant")
    branding = tenant.branding if tenant is not None else {}
    return {"tenant": tenant, "branding": branding, "menu": menu, "slot": slot,
            "can": has_permission}


def not_found(error):
    if g.get("unknown_host"):
        # An unknown host gets a plain page: no tenant's name, menu or branding.
        return render_template("errors/unknown_host.html"), 404
    return render_template("errors/error.html", code=404,
                           title=_("Page not found"),
                           message=_("There is no such page here. Check the address.")), 404


def forbidden(error):
    return render_template("errors/error.html", code=403, title=_("Access denied"),
                           message=_("Your account does not allow this.")), 403


def too_many(error):
    return render_template("errors/error.html", code=429, title=_("Too many attempts"),
                           message=_("Too many attempts in a short time. Wait a minute and "
                                     "try again.")), 429


def too_large(error):
    from flask import current_app

    from flask_babel import format_decimal

    limit = current_app.config.get("MAX_CONTENT_LENGTH") or 0
    if limit >= 1024 * 1024:
        size = _("%(num)s MB", num=format_decimal(round(limit / (1024 * 1024), 1)))
    else:
        size = _("%(num)s kB", num=format_decimal(max(1, round(limit / 1024))))
    return render_template(
        "errors/error.html", code=413, title=_("The file is too large"),
        message=_("What you sent is larger than the %(size)s this site accepts at once. "
                  "Go back, choose a smaller file (or save the document again as a smaller "
                  "PDF) and send it again.", size=size.replace(" ", "\u00a0"))), 413


def bad_request(error):
    if request.url_rule is None and getattr(request, "url_adapter", None) is None:
        # A forged or unknown Host header: no tenant and no URLs can be built.
        return render_template("errors/unknown_host.html"), 400
    return render_template("errors/error.html", code=400, title=_("Bad request"),
                           message=_("The request could not be understood.")), 400


def refuse_nul_bytes():
    """No form a person fills can send a NUL byte, and PostgreSQL cannot store one in text:
    such a request is refused as malformed (400) before it reaches any view."""
    if any("\x00" in value for values in request.args.listvalues() for value in values):
        abort(400)
    if request.method in ("POST", "PUT", "PATCH") and request.mimetype in (
            "application/x-www-form-urlencoded", "multipart/form-data") and any(
            "\x00" in value for values in request.form.listvalues() for value in values):
        abort(400)


def security_headers(response):
    from flask import current_app

    if request.is_secure or current_app.config.get("PREFERRED_URL_SCHEME") == "https":
        # Browsers ignore it over plain HTTP; behind a TLS proxy the scheme setting says so.
        response.headers.setdefault("Strict-Transport-Security",
                                    "max-age=31536000; includeSubDomains")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
    response.headers.setdefault(
        "Content-Security-Policy",
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "frame-ancestors 'none'; form-action 'self'; base-uri 'self'")
    if current_user and current_user.is_authenticated:
        response.headers["Cache-Control"] = "no-store"
    response.vary.add("Cookie")
    return response


def init_app(app) -> None:
    app.context_processor(inject)
    app.register_error_handler(404, not_found)
    app.register_error_handler(403, forbidden)
    app.register_error_handler(429, too_many)
    app.register_error_handler(400, bad_request)
    app.register_error_handler(413, too_large)
    from flask_wtf.csrf import CSRFError

    from core.security import csrf_failed

    app.register_error_handler(CSRFError, csrf_failed)
    app.before_request(refuse_nul_bytes)
    app.after_request(security_headers)
    app.jinja_env.add_extension("jinja2.ext.do")
    app.jinja_env.globals["role_label"] = role_label
    from core.calls.models import call_status_label

    app.jinja_env.globals["call_status_label"] = call_status_label
    from core.notifications.models import delivery_problem, delivery_status_label

    app.jinja_env.globals["delivery_status_label"] = delivery_status_label
    app.jinja_env.globals["delivery_problem"] = delivery_problem
    app.register_blueprint(_theme_blueprint())


def _theme_blueprint():
    from flask import Blueprint, Response

    from core.accounts.permissions import host_scope, public

    bp = host_scope(Blueprint("theme", __name__), "tenant")

    @bp.get("/theme.css")
    @public
    def css():
        colour = (g.tenant.branding or {}).get("primary_color") or "#1d4f91"
        body = f":root {{ --brand: {colour}; }}\n"
        response = Response(body, mimetype="text/css")
        response.cache_control.public = True
        response.cache_control.max_age = 3600
        return response

    return bp
