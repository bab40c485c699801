"""Calls: creating and editing them, publishing and closing them, their documents.

A call is ``draft`` → ``published`` → ``closed``.  While it is a draft everything may
change.  Once published, residents apply under its rules, so only its wording (title,
description) and its documents may change: a change of the variant, the parameters,
the pool or the dates is refused with a message that says so.  Every write records an
audit event; the caller commits.
"""
from __future__ import annotations

import datetime as dt
import re
import unicodedata
from decimal import Decimal

from flask import current_app
from flask_babel import lazy_gettext as _l

from core.audit.operations import record
from core.db import db, utcnow
from core.errors import ValidationError
from core.rules.engine import deadline_instant, pool_from_params
from core.rules.values import to_date, warsaw_date

from . import storage
from .forms import SHARED_FIELDS, TIMELINE_FIELDS, params_errors, params_form_class
from .models import Call, CallDocument, CallStatus

REF_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,78}[a-z0-9])?$")
TEXT_FIELDS = ("title", "description")
DATE_FIELDS = ("announced_on", "deadline", "realization_start", "realization_end")
# Values that decide the call's rules; frozen once it is published.
RULE_FIELDS = ("ref", "variant", "params", "announced_on", "deadline_at",
               "realization_start", "realization_end", "timeline", "pool")


def enabled_variants(tenant) -> dict:
    """The variants this tenant runs that are installed here: ``{key: Variant}``."""
    registry = current_app.extensions["mikrogranty.plugins"].variants
    return {key: registry[key] for key in (tenant.variants or []) if key in registry}


# --- references -------------------------------------------------------------------------

def slugify(text: str) -> str:
    text = (text or "").replace("ł", "l").replace("Ł", "L")
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _ref_taken(ref: str, call: Call | None = None) -> bool:
    query = db.select(Call.id).where(Call.ref == ref)
    if call is not None and call.id is not None:
        query = query.where(Call.id != call.id)
    return db.session.execute(query).first() is not None


def make_ref(title: str, year: int) -> str:
    """A reference made from the title and the year, unique in the tenant: ``lpm-2025-2``."""
    base = slugify(title)[:70].strip("-") or "nabor"
    if str(year) not in base:
        base = f"{base[:65].strip('-')}-{year}"
    ref, n = base, 1
    while _ref_taken(ref):
        n += 1
        ref = f"{base}-{n}"
    return ref


# --- validation -------------------------------------------------------------------------

def _pool_field(variant: str | None) -> str:
    """Where an error about the pool is shown: the variant's field that gives it."""
    fields = params_form_class(variant)(formdata=None, meta={"csrf": False})._fields
    for name in ("pool", "municipality_budget"):
        if name in fields:
            return f"params.{name}"
    return "_"


def _date(value, name, errors):
    try:
        return to_date(value)
    except (TypeError, ValueError):
        errors.setdefault(name, []).append(_l("Enter a date, e.g. 2025-03-31."))
        return None


def _iso(day: dt.date | None) -> str | None:
    return day.isoformat() if day else None


def _current(call: Call | None) -> dict:
    if call is None:
        return {"title": "", "description": "", "ref": "", "variant": None, "params": {},
                "announced_on": None, "realization_start": None, "realization_end": None,
                "timeline": {}}
    return {"title": call.title, "description": call.description, "ref": call.ref,
            "variant": call.variant, "params": dict(call.params or {}),
            "announced_on": call.announced_on, "realization_start": call.realization_start,
            "realization_end": call.realization_end, "timeline": dict(call.timeline or {})}


def _check_text(merged: dict, errors: dict) -> dict:
    title = (merged.get("title") or "").strip()
    if not title:
        errors.setdefault("title", []).append(_l("Give the call a title."))
    elif len(title) > 300:
        errors.setdefault("title", []).append(_l("The title is too long (300 characters at most)."))
    description = (merged.get("description") or "").replace("\r\n", "\n").strip()
    if len(description) > 20000:
        errors.setdefault("description", []).append(
            _l("The description is too long (20 000 characters at most)."))
    return {"title": title, "description": description}


def _check_dates(values: dict, merged: dict, params: dict, call: Call | None,
                 errors: dict) -> dict:
    """The timeline: dates from ``values``, else from the params (as imported), else as
    stored.  The params get the deadline and the window back as ISO dates."""
    if "deadline" in values:
        deadline = _date(values["deadline"], "deadline", errors)
    elif params.get("deadline"):
        deadline = _date(params["deadline"], "deadline", errors)
    else:
        deadline = warsaw_date(call.deadline_at) if call and call.deadline_at else None
    dates = {"deadline": deadline}
    for name in ("realization_start", "realization_end"):
        if name in values:
            dates[name] = _date(values[name], name, errors)
        else:
            given = [params[alias] for alias in SHARED_FIELDS[name] if params.get(alias)]
            dates[name] = _date(given[0], name, errors) if given else merged.get(name)
    for name, aliases in SHARED_FIELDS.items():
        for alias in aliases:
            if alias in params or alias == "deadline":
                params[alias] = _iso(dates[name])
    if params.get("deadline") is None:
        params.pop("deadline", None)
    announced_on = _date(merged.get("announced_on"), "announced_on", errors)
    timeline = {}
    for name in TIMELINE_FIELDS:
        day = _date((merged.get("timeline") or {}).get(name), name, errors)
        if day is not None:
            timeline[name] = day

    if announced_on and deadline and announced_on > deadline:
        errors.setdefault("announced_on", []).append(
            _l("The call cannot be announced after its submission deadline."))
    previous = ("deadline", deadline)
    for name in TIMELINE_FIELDS:  # formal check, stage II, results: after the deadline, in order
        day = timeline.get(name)
        if day is None:
            continue
        if previous[1] and day < previous[1]:
            errors.setdefault(name, []).append(
                _l("This date must come after the submission deadline.")
                if previous[0] == "deadline" else
                _l("The stages must follow one another: this date is before the previous one."))
        previous = (name, day)
    start, end = dates["realization_start"], dates["realization_end"]
    if start and end and end < start:
        errors.setdefault("realization_end", []).append(
            _l("The realization window cannot end before it starts."))
    if start and deadline and start <= deadline:
        errors.setdefault("realization_start", []).append(
            _l("Projects cannot start before the submission deadline has passed."))
    return {"deadline": deadline, "announced_on": announced_on, "realization_start": start,
            "realization_end": end, "timeline": timeline}


def _check_ref(ref: str, call: Call | None, errors: dict) -> str:
    ref = (ref or "").strip().lower()
    if ref and not REF_RE.match(ref):
        errors.setdefault("ref", []).append(_l(
            "Use lower-case letters, digits and hyphens, starting and ending with a letter "
            "or digit, e.g. lpm-2025."))
    elif ref and _ref_taken(ref, call):
        errors.setdefault("ref", []).append(
            _l("Another call of this municipality already has the address “%(ref)s”.", ref=ref))
    return ref


def _clean(values: dict, tenant, call: Call | None) -> dict:
    """Check the values of a call; return the column values or raise ValidationError."""
    errors: dict[str, list] = {}
    merged = {**_current(call), **values}
    clean = _check_text(merged, errors)

    variant = (merged.get("variant") or "").strip()
    kept = call is not None and variant == call.variant and "variant" not in values
    if variant not in enabled_variants(tenant) and not kept:
        errors.setdefault("variant", []).append(_l(
            "“%(key)s” is not a regulation variant of this municipality; choose one from "
            "the list.", key=variant) if variant else _l("Choose the regulation variant."))

    params = dict(merged.get("params") or {})
    dates = _check_dates(values, merged, params, call, errors)
    try:
        pool = pool_from_params(params)
    except (TypeError, ValueError, ArithmeticError):
        errors.setdefault(_pool_field(variant), []).append(_l("The pool is not a valid amount."))
        pool = None
    if pool is not None and pool <= 0:
        errors.setdefault(_pool_field(variant), []).append(_l("The pool must be above zero."))
    ref = _check_ref(merged.get("ref"), call, errors)
    if errors:
        raise ValidationError(errors)

    deadline = dates["deadline"]
    clean.update(
        variant=variant, params=params, pool=pool, announced_on=dates["announced_on"],
        ref=ref or make_ref(clean["title"], (deadline or warsaw_date(utcnow())).year),
        deadline_at=deadline_instant(deadline), realization_start=dates["realization_start"],
        realization_end=dates["realization_end"],
        timeline={k: v.isoformat() for k, v in dates["timeline"].items()})
    return clean


# --- writing calls ----------------------------------------------------------------------

def create_call(tenant, values: dict, actor=None) -> Call:
    """Create a draft call in ``tenant``.

    ``values``: title, description, ref (made from the title and year when empty), variant
    (one the tenant runs), params (interchange form), announced_on, deadline (a date: the
    call closes at 23:59:59 Warsaw time that day), realization_start, realization_end,
    timeline (``{"formal_check" | "stage2" | "results": date}``).  Dates may be ISO strings.
    """
    clean = _clean(values, tenant, None)
    call = Call(tenant_id=tenant.id, status=CallStatus.DRAFT, **clean)
    db.session.add(call)
    db.session.flush()
    record("call.created", call, changes={
        "ref": call.ref, "title": call.title, "variant": call.variant,
        "deadline": call.params.get("deadline"), "pool": call.pool}, actor=actor)
    return call


def _params_changes(old: dict, new: dict) -> dict:
    return {f"params.{key}": [old.get(key), new.get(key)]
            for key in sorted(set(old) | set(new)) if old.get(key) != new.get(key)}


def update_call(call: Call, values: dict, actor=None) -> dict:
    """Change a call; return ``{field: [old, new]}`` of what changed (audited as
    ``call.updated``).  A published or closed call keeps its rules: changing anything but
    its title and description is refused."""
    from core.tenancy.models import Tenant

    tenant = db.session.execute(db.select(Tenant).where(Tenant.id == call.tenant_id)).scalar_one()
    clean = _clean(values, tenant, call)
    changes: dict = {}
    for name, new in clean.items():
        old = getattr(call, name)
        if name == "params":
            changes.update(_params_changes(old or {}, new))
        elif old != new:
            changes[name] = [old, new]
    if call.status != CallStatus.DRAFT:
        frozen = [name for name in changes
                  if name not in TEXT_FIELDS]
        if frozen:
            message = _l("The call is published: residents apply under its rules, so they "
                         "can no longer change. Only the title, the description and the "
                         "documents may be edited.")
            errors: dict[str, list] = {"_": [message]}
            aliases = {f"params.{alias}": core for core, names in SHARED_FIELDS.items()
                       for alias in names}
            for name in frozen:
                field = {"deadline_at": "deadline", "pool": _pool_field(call.variant),
                         "timeline": "_", **aliases}.get(name, name)
                if field != "_" and field not in errors:
                    errors[field] = [_l("This can no longer change.")]
            raise ValidationError(errors)
    for name, new in clean.items():
        setattr(call, name, new)
    if changes:
        db.session.flush()
        record("call.updated", call, changes=changes, actor=actor)
    return changes


def publish_call(call: Call, actor=None, now: dt.datetime | None = None) -> None:
    """Open a draft call to residents.  It needs a deadline still ahead, a pool and
    parameters its variant accepts; errors name the fields to correct."""
    from core.tenancy.models import Tenant

    now = now or utcnow()
    if call.status != CallStatus.DRAFT:
        raise ValidationError(_l("Only a draft can be published; this call is already "
                                 "published or closed."))
    tenant = db.session.execute(db.select(Tenant).where(Tenant.id == call.tenant_id)).scalar_one()
    errors: dict[str, list] = {}
    if call.variant not in enabled_variants(tenant):
        errors.setdefault("variant", []).append(_l(
            "“%(key)s” is not a regulation variant of this municipality; choose one from "
            "the list.", key=call.variant))
    else:
        for name, messages in params_errors(call.variant, call.params or {}).items():
            errors.setdefault(f"params.{name}", []).extend(messages)
    if call.deadline_at is None:
        errors.setdefault("deadline", []).append(
            _l("Set the submission deadline before publishing."))
    elif call.deadline_at <= now:
        errors.setdefault("deadline", []).append(
            _l("The submission deadline has passed; set a later date before publishing."))
    if not call.pool or call.pool <= Decimal(0):
        errors.setdefault(_pool_field(call.variant), []).append(
            _l("Set the pool before publishing."))
    if errors:
        raise ValidationError(errors)
    changes = {"status": [CallStatus.DRAFT, CallStatus.PUBLISHED],
               "deadline_at": call.deadline_at.isoformat(), "pool": call.pool}
    call.status = CallStatus.PUBLISHED
    if call.announced_on is None:
        call.announced_on = warsaw_date(now)
        changes["announced_on"] = [None, call.announced_on]
    db.session.flush()
    record("call.published", call, changes=changes, actor=actor)


def close_call(call: Call, actor=None, now: dt.datetime | None = None,
               early_confirmed: bool = True) -> None:
    """End a published call (no more submissions); closing before the deadline is noted.

    Closing early cannot be undone and stops residents who are still writing, so the
    person closing it confirms that first (``early_confirmed``)."""
    now = now or utcnow()
    if call.status != CallStatus.PUBLISHED:
        raise ValidationError(_l("Only a published call can be closed."))
    if not early_confirmed and call.deadline_at and now < call.deadline_at:
        raise ValidationError({"confirm_early": [_l(
            "The deadline has not passed yet: confirm that residents can no longer apply "
            "from now on.")]})
    call.status = CallStatus.CLOSED
    db.session.flush()
    record("call.closed", call, changes={
        "status": [CallStatus.PUBLISHED, CallStatus.CLOSED],
        "before_deadline": bool(call.deadline_at and now < call.deadline_at)}, actor=actor)


# --- documents --------------------------------------------------------------------------

def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):g}"


def attach_document(call: Call, upload, title: str | None = None, actor=None) -> CallDocument:
    """Store an uploaded PDF and attach it to ``call``.  ``upload`` is a werkzeug
    FileStorage; the content must be a PDF within the size limit."""
    filename = (getattr(upload, "filename", None) or "").replace("\\", "/").rsplit("/", 1)[-1]
    filename = filename.strip()[:200]
    if upload is None or not filename:
        raise ValidationError({"file": [_l("Choose a PDF file to upload.")]})
    title = (title or "").strip()
    if len(title) > 300:
        raise ValidationError({"title": [_l("The title is too long (300 characters at most).")]})
    try:
        stored = storage.save_pdf(call.tenant_id, upload.stream)
    except storage.FileTooLarge as exc:
        raise ValidationError({"file": [_l(
            "“%(name)s” is too large: a document may have at most %(size)s MB.",
            name=filename, size=_megabytes(exc.limit))]}) from None
    except storage.EmptyFile:
        raise ValidationError({"file": [_l("“%(name)s” is empty.", name=filename)]}) from None
    except storage.NotAPdf:
        raise ValidationError({"file": [_l(
            "“%(name)s” is not a PDF file. Save the document as PDF and upload it again.",
            name=filename)]}) from None
    if not filename.lower().endswith(".pdf"):
        filename = f"{filename}.pdf"
    document = CallDocument(call=call, tenant_id=call.tenant_id,
                            title=title or filename[:-4], filename=filename,
                            stored_name=stored.stored_name, size=stored.size,
                            sha256=stored.sha256)
    db.session.add(document)
    db.session.flush()
    record("call.document_added", call, changes={
        "document": document.id, "title": document.title, "filename": document.filename,
        "size": document.size, "sha256": document.sha256}, actor=actor)
    return document


def remove_document(document: CallDocument, actor=None) -> None:
    """Detach a document from its call and delete its file."""
    call = document.call
    record("call.document_removed", call, changes={
        "document": document.id, "title": document.title, "filename": document.filename},
        actor=actor)
    tenant_id, stored_name = document.tenant_id, document.stored_name
    call.documents.remove(document)
    db.session.delete(document)
    db.session.flush()
    storage.delete(tenant_id, stored_name)
