"""Creating and changing tenants: the rules shared by the console, the CLI and ``tenants sync``."""
from __future__ import annotations

import re

from flask import current_app
from babel.numbers import format_decimal
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from werkzeug.sansio.utils import host_is_trusted

from core.audit.operations import record
from core.db import db
from core.errors import ValidationError

from .models import Tenant, TenantHost

SLUG_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
HOST_RE = re.compile(r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
RESERVED_SLUGS = frozenset({
    "www", "admin", "api", "mail", "smtp", "imap", "pop", "ftp", "static", "assets", "cdn",
    "app", "console", "operator", "platform", "status", "help", "support", "docs", "blog",
    "auth", "login", "account", "accounts", "media", "files", "test", "localhost", "root",
})
LOCALES = ("pl", "en", "uk")
HEX_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")


def _is_main_host(host: str, base: str) -> bool:
    label = host[: -len(base) - 1]
    return "." not in label and db.session.execute(
        db.select(Tenant.id).where(Tenant.slug == label)).scalar() is not None


def normalise_hosts(hosts) -> list[str]:
    return sorted({h.strip().lower().rstrip(".") for h in hosts or [] if h and h.strip()})


def validate(values: dict, tenant: Tenant | None = None) -> dict:
    """Check tenant values; return them cleaned or raise :class:`ValidationError`.

    ``values`` holds any of slug, name, hosts, locales, variants, settings, branding.
    """
    errors: dict[str, list] = {}
    clean = dict(values)
    if "slug" in values:
        slug = (values.get("slug") or "").strip().lower()
        clean["slug"] = slug
        if not SLUG_RE.match(slug):
            errors.setdefault("slug", []).append(_l(
                "Use 1 to 63 lower-case letters, digits and hyphens, "
                "starting and ending with a letter or digit."))
        elif slug in RESERVED_SLUGS:
            errors.setdefault("slug", []).append(
                _l("“%(slug)s” is reserved; choose another address.", slug=slug))
        else:
            other = db.session.execute(db.select(Tenant).where(Tenant.slug == slug)).scalar()
            if other is not None and other is not tenant:
                errors.setdefault("slug", []).append(
                    _l("Another municipality already uses the address “%(slug)s”.", slug=slug))
            elif db.session.execute(db.select(TenantHost).where(
                    TenantHost.host == f"{slug}.{current_app.config['BASE_DOMAIN']}")).scalar():
                errors.setdefault("slug", []).append(
                    _l("Another municipality already uses the address “%(slug)s”.", slug=slug))
    if "name" in values:
        name = (values.get("name") or "").strip()
        clean["name"] = name
        if not name:
            errors.setdefault("name", []).append(_l("Give the municipality's name."))
        elif len(name) > 200:
            errors.setdefault("name", []).append(_l("The name is too long (200 characters at most)."))
    if "hosts" in values:
        hosts = normalise_hosts(values.get("hosts"))
        clean["hosts"] = hosts
        base = current_app.config["BASE_DOMAIN"]
        trusted = current_app.config.get("TRUSTED_HOSTS") or []
        for host in hosts:
            if not HOST_RE.match(host):
                errors.setdefault("hosts", []).append(
                    _l("“%(host)s” is not a valid host name.", host=host))
                continue
            if host == base or (host.endswith("." + base) and _is_main_host(host, base)):
                errors.setdefault("hosts", []).append(_l(
                    "“%(host)s” is the main address of a municipality or of the platform.",
                    host=host))
                continue
            if not host_is_trusted(host, trusted):
                errors.setdefault("hosts", []).append(_l(
                    "“%(host)s” is not among the platform's trusted hosts; add it to "
                    "TRUSTED_HOSTS (and to the web server) first.", host=host))
                continue
            owner = db.session.execute(
                db.select(TenantHost).where(TenantHost.host == host)).scalar()
            if owner is not None and owner.tenant is not tenant:
                errors.setdefault("hosts", []).append(_l(
                    "The host “%(host)s” already belongs to another municipality.", host=host))
    if "locales" in values:
        locales = [loc for loc in (values.get("locales") or []) if loc]
        clean["locales"] = locales
        unknown = [loc for loc in locales if loc not in LOCALES]
        if not locales:
            errors.setdefault("locales", []).append(_l("Choose at least one language."))
        elif unknown:
            errors.setdefault("locales", []).append(
                _l("Unknown language: %(codes)s.", codes=", ".join(unknown)))
    if "variants" in values:
        variants = list(dict.fromkeys(v.strip() for v in values.get("variants") or [] if v.strip()))
        clean["variants"] = variants
        for key in variants:
            if not re.match(r"^[a-z][a-z0-9_]*$", key):
                errors.setdefault("variants", []).append(
                    _l("“%(key)s” is not a variant key.", key=key))
    if "branding" in values:
        branding = dict(values.get("branding") or {})
        clean["branding"] = branding
        colour = branding.get("primary_color")
        if colour is not None:
            if not HEX_COLOUR.match(str(colour)):
                errors.setdefault("branding", []).append(
                    _l("The colour must look like #1d4f91."))
            elif contrast_ratio(colour, "#ffffff") < 4.5:
                errors.setdefault("branding", []).append(_l(
                    "The colour %(colour)s is too light: white text on it needs a contrast of "
                    "at least 4.5:1 (it has %(ratio)s:1).", colour=colour,
                    ratio=format_decimal(round(contrast_ratio(colour, "#ffffff"), 1),
                                         locale=str(get_locale() or "pl"))))
    if "settings" in values:
        clean["settings"] = dict(values.get("settings") or {})
    if errors:
        raise ValidationError(errors)
    return clean


def create_tenant(values: dict, actor=None) -> Tenant:
    values = {"locales": list(LOCALES), "variants": [], "hosts": [], "settings": {},
              "branding": {}, **values}
    clean = validate(values)
    tenant = Tenant(slug=clean["slug"], name=clean["name"], locales=clean["locales"],
                    variants=clean["variants"], settings=clean["settings"],
                    branding=clean["branding"])
    tenant.hosts = [TenantHost(host=h) for h in clean["hosts"]]
    db.session.add(tenant)
    db.session.flush()
    record("tenant.created", tenant, changes={k: v for k, v in clean.items()}, actor=actor,
           tenant_id=tenant.id)
    return tenant


def update_tenant(tenant: Tenant, values: dict, actor=None) -> dict:
    """Apply changed values; return ``{field: [old, new]}`` (empty when nothing changed)."""
    clean = validate(values, tenant)
    changes = {}
    for field in ("slug", "name", "locales", "variants", "settings", "branding"):
        if field in clean and getattr(tenant, field) != clean[field]:
            changes[field] = [getattr(tenant, field), clean[field]]
            setattr(tenant, field, clean[field])
    if "hosts" in clean and tenant.secondary_hosts != clean["hosts"]:
        changes["hosts"] = [tenant.secondary_hosts, clean["hosts"]]
        keep = {h.host: h for h in tenant.hosts}
        tenant.hosts = [keep.get(h) or TenantHost(host=h) for h in clean["hosts"]]
    if changes:
        db.session.flush()
        record("tenant.updated", tenant, changes=changes, actor=actor, tenant_id=tenant.id)
    return changes


def unavailable_variants(tenant: Tenant) -> list[str]:
    """Variants the tenant names whose plugin is not installed (kept, shown as unavailable)."""
    registry = current_app.extensions["mikrogranty.plugins"].variants
    return [key for key in tenant.variants if key not in registry]


def available_variants(tenant: Tenant) -> list:
    registry = current_app.extensions["mikrogranty.plugins"].variants
    return [registry[key] for key in tenant.variants if key in registry]


def _luminance(colour: str) -> float:
    channels = [int(colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def contrast_ratio(a: str, b: str) -> float:
    la, lb = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)
