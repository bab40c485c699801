"""The application generator's operations: drafts, saving steps, submission, withdrawal.

Views parse the request and call one of these; these check what is allowed, change the
data, write revisions and audit events and fire ``application_state_changed``.  They
flush but never commit (the view commits), except where a refusal must be kept.

Saving is optimistic: a form carries the version it was based on; a save based on an
older version than the application's is refused with a :class:`Conflict` that tells
what the other writer changed (their value against yours), and nothing is overwritten.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import secrets
from dataclasses import dataclass, field
from decimal import Decimal
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import format_date
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.datastructures import MultiDict

from core.audit.operations import record
from core.calls.models import Call, CallStatus
from core.db import db, utcnow
from core.errors import ValidationError
from core.i18n import format_money
from core.rules import Violation

from . import forms
from .models import (
    Application,
    ApplicationRevision,
    ApplicationStatus,
    BudgetLine,
    ContributionLine,
)

WARSAW = ZoneInfo("Europe/Warsaw")
EDITABLE_STEPS = forms.STEPS[:-1]
TABLES = ("budget", "contribution")
# Statuses after which the results are known: no withdrawal through the generator.
RESULT_STATUSES = ("funded", "reserve", "excluded", "below_threshold", "disqualified",
                   "rejected", "settled", "closed")
STATUS_LABELS = {
    ApplicationStatus.DRAFT: _l("draft"),
    ApplicationStatus.SUBMITTED: _l("submitted"),
    ApplicationStatus.REJECTED: _l("rejected"),
    ApplicationStatus.WITHDRAWN: _l("withdrawn"),
    # After the formal check (core/evaluation); the same words as the results pages.
    ApplicationStatus.ACCEPTED: _l("formally accepted"),
    ApplicationStatus.BELOW_THRESHOLD: _l("below the pass mark"),
    ApplicationStatus.INVITED: _l("invited to stage II"),
    ApplicationStatus.DISQUALIFIED: _l("disqualified"),
    ApplicationStatus.RANKED: _l("ranked"),
    ApplicationStatus.FUNDED: _l("funded"),
    ApplicationStatus.RESERVE: _l("reserve list"),
    ApplicationStatus.EXCLUDED: _l("excluded"),
}


def clock() -> dt.datetime:
    """The current instant; tests replace this function to freeze time."""
    return utcnow()


def status_label(status: str) -> str:
    label = STATUS_LABELS.get(status)
    return str(label) if label is not None else status.replace("_", " ")


# --- errors -------------------------------------------------------------------------------

class Locked(ValidationError):
    """The application is no longer a draft."""


class SubmissionRefused(ValidationError):
    """Submission refused: late, closed call, or formal rules broken (``violations``)."""

    def __init__(self, message, violations=()):
        super().__init__(message)
        self.message = str(message)
        self.violations = list(violations)


@dataclass
class ConflictItem:
    field: str
    label: str
    theirs: str
    yours: str | None
    by: list[str]
    you_changed: bool       # you changed it too: your value stays in the form, unsaved


class Conflict(Exception):
    """Someone saved the application after the version your form was based on."""

    def __init__(self, items: list[ConflictItem], version: int, merged: MultiDict | None = None):
        self.items, self.version, self.merged = items, version, merged
        super().__init__(", ".join(item.field for item in items) or "stale version")

    @property
    def changes(self) -> dict:
        """``{field: (their value, your value)}`` as people read them."""
        return {item.field: (item.theirs, item.yours) for item in self.items}


@dataclass
class SaveResult:
    errors: dict = field(default_factory=dict)      # form key → [messages]
    changes: dict = field(default_factory=dict)     # field → [old, new]
    version: int = 0
    rows: dict = field(default_factory=dict)        # table → [forms.Row] as posted
    saved_at: dt.datetime | None = None


# --- who may see what ---------------------------------------------------------------------

def profiles_for(user) -> list:
    from core.applicants.operations import profiles_for as _profiles_for

    return _profiles_for(user)


def can_edit_profile(user, profile) -> bool:
    from core.applicants.operations import can_edit

    return can_edit(user, profile)


def can_access(user, application: Application) -> bool:
    """The draft's author, and the owner or an editor of its applicant or realizer profile."""
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    if application.created_by_id == user.id:
        return True
    return any(profile is not None and can_edit_profile(user, profile)
               for profile in (application.applicant, application.realizer))


def applications_for(user) -> list[Application]:
    """Every application of the current tenant ``user`` may open, newest first."""
    profile_ids = [p.id for p in profiles_for(user)]
    query = db.select(Application).where(db.or_(
        Application.created_by_id == user.id,
        Application.applicant_id.in_(profile_ids) if profile_ids else db.false(),
        Application.realizer_id.in_(profile_ids) if profile_ids else db.false()))
    return list(db.session.scalars(query.order_by(Application.updated_at.desc(),
                                                  Application.id.desc())))


def open_calls(now: dt.datetime | None = None) -> list[Call]:
    now = now or clock()
    return list(db.session.scalars(db.select(Call).where(
        Call.status == CallStatus.PUBLISHED, Call.deadline_at.is_not(None),
        Call.deadline_at >= now).order_by(Call.deadline_at, Call.id)))


def is_open(call: Call, now: dt.datetime | None = None) -> bool:
    now = (now or clock()).replace(microsecond=0)
    return call.status == CallStatus.PUBLISHED and (
        call.deadline_at is None or now <= call.deadline_at)


# --- starting -----------------------------------------------------------------------------

def start_draft(call: Call, actor, profile=None) -> Application:
    """Create a draft for ``call`` (as ``profile``), or reopen the existing one.

    Returns the draft; ``draft.reopened`` is true when it existed already.  Refused
    (:class:`ValidationError`) when the call is not taking applications or the profile is
    not the actor's to use.
    """
    if not is_open(call):
        raise ValidationError(_("This call is not taking applications (the deadline has "
                                "passed or it is not published)."))
    if profile is not None and not can_edit_profile(actor, profile):
        raise ValidationError(_("You cannot apply as this profile."), "profile")
    query = db.select(Application).where(Application.call_id == call.id,
                                         Application.status == ApplicationStatus.DRAFT)
    if profile is not None:
        query = query.where(Application.applicant_id == profile.id)
    else:
        query = query.where(Application.applicant_id.is_(None),
                            Application.created_by_id == actor.id)
    existing = db.session.scalars(query.order_by(Application.id)).first()
    if existing is not None:
        existing.reopened = True
        return existing
    application = Application(call=call, call_id=call.id, created_by_id=actor.id,
                              applicant_id=profile.id if profile else None,
                              status=ApplicationStatus.DRAFT, content={}, place={},
                              mode=_default_mode(call))
    if profile is not None:
        application.applicant = profile
    db.session.add(application)
    db.session.flush()
    record("application.created", application, changes={"call": call.ref}, actor=actor)
    application.reopened = False
    return application


def applicant_options(call) -> list:
    pm = current_app.extensions["mikrogranty.plugins"]
    return list(pm.hook.applicant_kinds(call=call) or [])


def _option_key(option) -> str:
    return f"{option.applicant_kind}:{option.realizer_kind or ''}:{option.mode}"


def _default_mode(call) -> str:
    options = applicant_options(call)
    return options[0].mode if options else "standard"


# --- the step forms -----------------------------------------------------------------------

def _profile_label(profile) -> str:
    from core.rules.labels import applicant_kind_label

    return f"{profile.display_name or '—'} ({applicant_kind_label(profile.kind)})"


def _patronage_partners(profiles: list) -> list:
    """The confirmed patrons of ``profiles``' groups and the groups under their organisations'
    wing: a group applies through its patron, and a patron applies for its groups."""
    from core.applicants.operations import patronised_groups

    partners = [p.patron for p in profiles if p.kind == "group" and p.patron is not None
                and p.patron_confirmed_at is not None]
    for profile in profiles:
        if profile.kind != "group":
            partners.extend(patronised_groups(profile))
    return partners


def form_choices(application: Application, actor) -> dict:
    """The choices of the applicant step: the actor's profiles, their patronage partners
    (a group's patron, an organisation's groups) and those already chosen."""
    profiles = list(profiles_for(actor))
    for partner in _patronage_partners(profiles):
        if partner not in profiles:
            profiles.append(partner)
    for current in (application.applicant, application.realizer):
        if current is not None and current not in profiles:
            profiles.append(current)
    blank = [("", _("— choose —"))]
    return {
        "profile_choices": blank + [(str(p.id), _profile_label(p)) for p in profiles],
        "realizer_choices": [("", _("the applicant itself"))]
        + [(str(p.id), _profile_label(p)) for p in profiles if p.kind == "group"],
        "applicant_options": [(_option_key(o), o.label) for o in applicant_options(
            application.call)],
    }


def step_form(application: Application, step: str, actor, formdata=None):
    """The bound WTForms form of ``step``: from ``formdata`` when given, else the draft."""
    cls = _form_class(application, step, actor)
    return cls(formdata=formdata if formdata is not None else stored_formdata(application, step))


def _form_class(application: Application, step: str, actor=None):
    if actor is not None:
        choices = form_choices(application, actor)
    else:
        choices = {"applicant_options": [(_option_key(o), o.label)
                                         for o in applicant_options(application.call)]}
    return forms.step_form_class(step, application.call, **choices)


def step_fields(application: Application, step: str) -> list[str]:
    """The names of the fields ``step`` owns (tables included)."""
    if step not in EDITABLE_STEPS:
        return []
    names = list(_form_class(application, step)()._fields)
    if step in TABLES:
        names.append(step)
    return names


def _jsonable(value):
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, (bool, int, str)):
        return value
    return str(value)


def _money_text(value) -> str | None:
    return None if value is None else str(Decimal(value).quantize(forms.GROSZ))


def _budget_rows(application) -> list:
    return [[line.category or "", line.item or "", _money_text(line.quantity),
             _money_text(line.unit_price)] for line in application.budget]


def _contribution_rows(application) -> list:
    return [[line.kind or "", line.description or "", _money_text(line.hours),
             _money_text(line.rate), _money_text(line.amount)]
            for line in application.contributions]


def field_value(application: Application, name: str):
    """A field's stored value as JSON (what revisions and conflicts compare)."""
    if name == "budget":
        return _budget_rows(application)
    if name == "contribution":
        return _contribution_rows(application)
    if name in ("applicant_id", "realizer_id"):
        return getattr(application, name)
    if name in ("title",):
        return application.title or ""
    if name in ("start", "end"):
        return _jsonable(getattr(application, name))
    if name == "claims_young_ngo":
        return bool(application.claims_young_ngo)
    if name.startswith("place_"):
        return (application.place or {}).get(name[len("place_"):])
    return (application.content or {}).get(name)


def snapshot(application: Application, step: str | None = None) -> dict:
    steps = [step] if step else EDITABLE_STEPS
    return {name: field_value(application, name)
            for s in steps for name in step_fields(application, s)}


def stored_formdata(application: Application, step: str) -> MultiDict:
    """The draft's values of ``step`` as a browser would post them."""
    data = MultiDict()
    for name in step_fields(application, step):
        if name in TABLES:
            continue
        _put_formdata(data, name, field_value(application, name))
    if step == "budget":
        for n, line in enumerate(application.budget):
            data.update({f"budget-{n}-id": str(line.id), f"budget-{n}-category": line.category,
                         f"budget-{n}-item": line.item or "",
                         f"budget-{n}-quantity": _decimal_text(line.quantity),
                         f"budget-{n}-unit_price": _decimal_text(line.unit_price)})
    if step == "contribution":
        for n, line in enumerate(application.contributions):
            data.update({f"contribution-{n}-id": str(line.id),
                         f"contribution-{n}-kind": line.kind,
                         f"contribution-{n}-description": line.description or "",
                         f"contribution-{n}-hours": _decimal_text(line.hours),
                         f"contribution-{n}-rate": _decimal_text(line.rate),
                         f"contribution-{n}-amount": _decimal_text(line.amount)})
    return data


def _put_formdata(data: MultiDict, name: str, value) -> None:
    if value is None or value is False:
        return
    if value is True:
        data[name] = "y"
    elif isinstance(value, list):
        data.setlist(name, [str(v) for v in value])
    else:
        data[name] = str(value)


def _decimal_text(value) -> str:
    """``Decimal('3500.00')`` → ``"3500,00"`` in Polish input style (``""`` for none)."""
    if value is None:
        return ""
    text = str(Decimal(value).quantize(forms.GROSZ))
    text = text.removesuffix(".00")
    return text.replace(".", ",")


# --- saving -------------------------------------------------------------------------------

def _posted_scalar(form_field):
    if form_field.errors:
        return form_field.raw_data[0] if form_field.raw_data else None
    value = form_field.data
    if form_field.name in ("applicant_id", "realizer_id"):
        return int(value) if value and str(value).isdigit() else None
    if isinstance(value, str) and form_field.name not in ("applicant_option",):
        value = value.strip()
        if value == "" and form_field.name != "title":
            return None
    return _jsonable(value)


def _posted_table(table: str, rows: list) -> list:
    if table == "budget":
        return [[r.values.get("category") or "", r.values.get("item") or "",
                 _money_text(r.values.get("quantity")), _money_text(r.values.get("unit_price"))]
                if not r.errors else [r.typed.get(c, "") for c in forms.BUDGET_COLUMNS]
                for r in rows]
    return [[r.values.get("kind") or "", r.values.get("description") or "",
             _money_text(r.values.get("hours")), _money_text(r.values.get("rate")),
             _money_text(r.values.get("amount"))]
            if not r.errors else [r.typed.get(c, "") for c in forms.CONTRIBUTION_COLUMNS]
            for r in rows]


def _present(formdata, name: str, step: str, form_field=None) -> bool:
    if name in formdata:
        return True
    # An unchecked box or an unanswered radio sends nothing: the whole step form was sent.
    return formdata.get("form_step") == step and form_field is not None and \
        form_field.type in ("BooleanField", "RadioField")


def _without_row(formdata, remove: tuple[str, int] | None) -> MultiDict:
    data = MultiDict(formdata)
    if remove:
        table, index = remove
        prefix = f"{table}-{index}-"
        for key in [k for k in data if k.startswith(prefix)]:
            data.poplist(key)
    return data


class _Raced(Exception):
    """Another request saved the same row between our check and our write."""


def save_step(application: Application, step: str, data, base_version, actor, *,
              remove: tuple[str, int] | None = None) -> SaveResult:
    """Save what ``data`` holds for ``step`` of a draft.

    Every field is checked on its own: a field with an error keeps its saved value and its
    error is returned (``result.errors``), the rest is saved.  A save based on an older
    version than the application's raises :class:`Conflict` and writes nothing.  When a
    concurrent request wins the race for the row, the save is judged again against what
    it wrote (an autosave racing the "save" button of the same person is no conflict).
    """
    for _attempt in range(3):
        try:
            return _save_step(application, step, data, base_version, actor, remove)
        except (_Raced, StaleDataError):  # also an autoflush of a query inside the save
            db.session.rollback()
    raise Conflict([], _current_version(application.id))


def _save_step(application, step, data, base_version, actor, remove) -> SaveResult:
    if step not in EDITABLE_STEPS:
        raise ValidationError(_("There is no such step."), "step")
    if application.status != ApplicationStatus.DRAFT:
        raise Locked(_("This application has been submitted; it can no longer be changed."))
    data = _without_row(data if data is not None else {}, remove)
    form = step_form(application, step, actor, formdata=data)
    form.validate()
    result = SaveResult()
    allowed_profiles = {int(v) for v, _label in form_choices(application, actor)[
        "profile_choices"] if v}
    posted: dict = {}
    valid: dict = {}
    for name, form_field in form._fields.items():
        if not _present(data, name, step, form_field):
            continue
        errors = list(form_field.errors)
        raw = (form_field.raw_data or [""])[0] if form_field.raw_data else ""
        if errors and not str(raw).strip() and form_field.flags.required:
            errors = []  # a draft may leave a required field empty; submission asks for it
            form_field.errors = []
        value = None if errors else _posted_scalar(form_field)
        if not errors and name in ("applicant_id", "realizer_id") and value is not None \
                and value not in allowed_profiles:
            errors = [_("Choose one of the profiles in the list.")]
        if not errors and name == "realizer_id" and value is not None and \
                value == valid.get("applicant_id", application.applicant_id):
            value = None  # the applicant itself
        posted[name] = value if not errors else raw
        if errors:
            result.errors[name] = errors
        else:
            valid[name] = value
    tables: dict = {}
    for table in TABLES:
        if step == table and forms.has_table(data, table):
            parsed = forms.parse_budget(data) if table == "budget" else \
                forms.parse_contribution(data)
            if parsed.error:
                result.errors[table] = [parsed.error]
                continue
            tables[table] = parsed.rows
            result.rows[table] = parsed.rows
            posted[table] = _posted_table(table, parsed.rows)
            for row in parsed.rows:
                for column, message in row.errors.items():
                    result.errors[f"{table}-{row.index}-{column}"] = [message]
    _check_version(application, step, base_version, posted, actor, data)

    before = snapshot(application, step)
    for name, value in valid.items():
        _apply(application, name, value)
    if "budget" in tables:
        _apply_budget(application, tables["budget"])
    if "contribution" in tables:
        _apply_contribution(application, tables["contribution"])
    if step == "budget":
        _set_requested(application)
    after = snapshot(application, step)
    result.changes = {name: [before.get(name), after.get(name)] for name in after
                      if before.get(name) != after.get(name)}
    if result.changes:
        now = clock()
        application.updated_at = now
        try:
            db.session.flush()
        except StaleDataError:
            raise _Raced() from None
        db.session.add(ApplicationRevision(
            application_id=application.id, tenant_id=application.tenant_id,
            version=application.version, step=step, actor_id=getattr(actor, "id", None),
            changes=_jsonable_changes(result.changes), created_at=now))
        db.session.flush()
        result.saved_at = now
    try:
        # Whatever else is pending (a table reassigned to the same lines) is written here,
        # where a concurrent save of the same row is caught, and not at the view's commit.
        db.session.flush()
    except StaleDataError:
        raise _Raced() from None
    result.version = application.version
    return result


def _current_version(application_id: int) -> int:
    return db.session.execute(db.select(Application.version).where(
        Application.id == application_id)).scalar_one_or_none() or 0


def _jsonable_changes(changes: dict) -> dict:
    return {name: [_jsonable(old), _jsonable(new)] for name, (old, new) in changes.items()}


def _profile(profile_id):
    from core.applicants.models import ApplicantProfile

    if profile_id is None:
        return None
    return db.session.execute(db.select(ApplicantProfile).where(
        ApplicantProfile.id == profile_id)).scalar_one_or_none()


def _apply(application: Application, name: str, value) -> None:
    if name in ("applicant_id", "realizer_id"):
        relation = "applicant" if name == "applicant_id" else "realizer"
        setattr(application, relation, _profile(value))
        setattr(application, name, value)
    elif name == "title":
        application.title = value or ""
    elif name in ("start", "end"):
        setattr(application, name, forms.parse_date(value) if value else None)
    elif name == "claims_young_ngo":
        application.claims_young_ngo = bool(value)
    elif name.startswith("place_"):
        place = dict(application.place or {})
        key = name[len("place_"):]
        if value in (None, ""):
            place.pop(key, None)
        else:
            place[key] = value
        application.place = place
    else:
        content = dict(application.content or {})
        if value in (None, ""):
            content.pop(name, None)
        else:
            content[name] = value
        application.content = content
        if name == "applicant_option" and value:
            for option in applicant_options(application.call):
                if _option_key(option) == value:
                    application.mode = option.mode


def _apply_budget(application: Application, rows: list) -> None:
    existing = {line.id: line for line in application.budget}
    lines = []
    for position, row in enumerate(rows):
        line = existing.pop(row.id, None) if row.id is not None else None
        if line is None:
            line = BudgetLine(tenant_id=application.tenant_id, category="", item="",
                              amount=Decimal("0.00"))
        for column in forms.BUDGET_COLUMNS:
            if column not in row.errors:
                value = row.values.get(column)
                if column in ("category", "item"):
                    value = value or ""
                setattr(line, column, value)
        line.position = position
        line.amount = forms.line_amount(line.quantity, line.unit_price)
        lines.append(line)
    application.budget = lines


def _apply_contribution(application: Application, rows: list) -> None:
    existing = {line.id: line for line in application.contributions}
    lines = []
    for position, row in enumerate(rows):
        line = existing.pop(row.id, None) if row.id is not None else None
        if line is None:
            if "kind" in row.errors:
                continue  # a new line of no known kind: nothing sensible to keep
            line = ContributionLine(tenant_id=application.tenant_id, kind=row.values["kind"],
                                    description="", amount=Decimal("0.00"))
        for column in forms.CONTRIBUTION_COLUMNS:
            if column not in row.errors:
                value = row.values.get(column)
                if column == "kind":
                    value = value or line.kind
                elif column == "description":
                    value = value or ""
                setattr(line, column, value)
        if line.kind == "volunteer" and (line.hours is not None or line.rate is not None):
            line.amount = forms.line_amount(line.hours, line.rate)
        if line.kind != "volunteer":
            line.hours = line.rate = None
        if line.amount is None:
            line.amount = Decimal("0.00")
        line.position = position
        lines.append(line)
    application.contributions = lines


def _set_requested(application: Application) -> None:
    """The requested grant is the budget's total, unless the variant asks for it apart."""
    typed = (application.content or {}).get("requested")
    if typed not in (None, ""):
        try:
            application.requested = forms.parse_decimal(typed)
            return
        except forms.NumberError:
            pass
    application.requested = application.budget_total if application.budget else None


# --- conflicts ----------------------------------------------------------------------------

def _check_version(application, step, base_version, posted, actor, data) -> None:
    try:
        base = int(base_version)
    except (TypeError, ValueError):
        base = 0
    if not 0 <= base <= application.version:  # forged or garbled: treat as the oldest
        base = 0
    if base == application.version:
        return
    revisions = list(db.session.scalars(db.select(ApplicationRevision).where(
        ApplicationRevision.application_id == application.id,
        ApplicationRevision.version > base).order_by(ApplicationRevision.version)))
    changed: dict[str, dict] = {}
    for revision in revisions:
        for name, (old, _new) in (revision.changes or {}).items():
            entry = changed.setdefault(name, {"old": old, "by": []})
            if revision.actor_id not in entry["by"]:
                entry["by"].append(revision.actor_id)
    actor_id = getattr(actor, "id", None)
    foreign = any(revision.actor_id != actor_id for revision in revisions)
    current = snapshot(application)
    overwrites = [name for name in changed if name in posted and posted[name] != current.get(name)]
    if not foreign and not overwrites and base < application.version:
        return  # your own earlier save (another tab, an autosave racing a submit): nothing lost
    items = []
    for name, entry in changed.items():
        yours = posted.get(name) if name in posted else None
        you_changed = name in posted and posted[name] != entry["old"] and \
            posted[name] != current.get(name)
        items.append(ConflictItem(
            field=name, label=field_label(application, name),
            theirs=display_value(application, name, current.get(name)),
            yours=display_value(application, name, yours) if name in posted else None,
            by=_people(entry["by"]), you_changed=you_changed))
    merged = MultiDict(data)
    if step:
        for name, entry in changed.items():
            if name not in posted or posted[name] == entry["old"]:
                _replace_formdata(merged, application, name)
        merged["version"] = str(application.version)
    raise Conflict(items, application.version, merged)


def _replace_formdata(data: MultiDict, application, name: str) -> None:
    """Put the saved value of ``name`` into ``data`` (their change, which you did not touch)."""
    if name in TABLES:
        for key in [k for k in data if k.startswith(name + "-")]:
            data.poplist(key)
        step = name
        for key, value in stored_formdata(application, step).items(multi=True):
            if key.startswith(name + "-"):
                data.add(key, value)
        data[f"{name}-present"] = "1"
        return
    data.poplist(name)
    _put_formdata(data, name, field_value(application, name))


def _people(user_ids: list) -> list[str]:
    from core.accounts.models import User

    ids = [i for i in user_ids if i is not None]
    if not ids:
        return []
    users = {u.id: u.email for u in db.session.scalars(db.select(User).where(User.id.in_(ids)))}
    return [users.get(i, "?") for i in ids]


def field_label(application: Application, name: str) -> str:
    if name in TABLES:
        return str(forms.STEP_LABELS[name])
    for step in EDITABLE_STEPS:
        form = _form_class(application, step)()
        if name in form._fields:
            return str(form._fields[name].label.text)
    return name


def display_value(application: Application, name: str, value) -> str:
    """A stored or posted value as people read it (short)."""
    if value in (None, "", []):
        return "—"
    if name in ("applicant_id", "realizer_id"):
        profile = _profile(int(value)) if str(value).isdigit() else None
        return profile.display_name if profile is not None else str(value)
    if name in ("start", "end"):
        day = forms.parse_date(str(value))
        return format_date(day, "d MMMM y") if day else str(value)
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if name in TABLES and isinstance(value, list):
        return _table_summary(name, value)
    text = str(value)
    return text if len(text) <= 300 else text[:297] + "…"


def step_facts(application: Application, step: str, skip=()) -> list[tuple[str, str, bool]]:
    """What the summary shows of ``step``: every field's label, its stored value as people
    read it (a choice by its label, a long text whole) and whether the text is long."""
    form = _form_class(application, step)()
    facts = []
    for name, form_field in form._fields.items():
        if name in skip or name in TABLES:
            continue
        value = field_value(application, name)
        long = form_field.type == "TextAreaField"
        if form_field.type == "BooleanField":
            text = _("yes") if value else _("no")
        elif value in (None, "", []):
            text = "—"
        elif getattr(form_field, "choices", None) and name not in ("applicant_id", "realizer_id"):
            labels = {str(option[0]): str(option[1]) for option in form_field.iter_choices()}
            text = labels.get(str(value), str(value))
        elif long:
            text = str(value)
        else:
            text = display_value(application, name, value)
        facts.append((str(form_field.label.text), text, long))
    return facts


def _table_summary(name: str, rows: list) -> str:
    from core.rules.labels import category_label

    parts = []
    for row in rows[:20]:
        if name == "budget":
            category, item, quantity, price = (row + [None] * 4)[:4]
            try:
                amount = format_money(forms.line_amount(
                    Decimal(quantity) if quantity else None, Decimal(price) if price else None))
            except (ArithmeticError, ValueError, TypeError):  # typed text that did not parse
                amount = f"{quantity} × {price}"
            parts.append(f"{item or category_label(category or 'other')}: {amount}")
        else:
            kind, description, _hours, _rate, amount = (row + [None] * 5)[:5]
            label = forms.CONTRIBUTION_LABELS.get(kind, kind)
            try:
                money = format_money(Decimal(amount)) if amount else "—"
            except (ArithmeticError, ValueError, TypeError):
                money = str(amount)
            parts.append(f"{description or label}: {money}")
    if len(rows) > 20:
        parts.append("…")
    return "; ".join(parts)


# --- what the rules say -------------------------------------------------------------------

def completeness(application: Application) -> list[Violation]:
    """What the generator itself needs before submission: required fields, complete lines."""
    found = []
    required = {"applicant_id": application.applicant_id, "title": application.title,
                "description": (application.content or {}).get("description"),
                "start": application.start, "end": application.end}
    for name, value in required.items():
        if value in (None, ""):
            found.append(Violation("form.required", _("%(field)s: fill this in before you "
                                                      "submit.", field=field_label(
                                                          application, name)), name))
    for fields in forms.plugin_fields(application.call).values():
        for name, unbound in fields.items():
            validators = unbound.kwargs.get("validators") or []
            if any(getattr(v, "field_flags", {}).get("required") for v in validators) and \
                    field_value(application, name) in (None, ""):
                found.append(Violation("form.required", _(
                    "%(field)s: fill this in before you submit.",
                    field=field_label(application, name)), name))
    if application.start and application.end and application.end < application.start:
        found.append(Violation("form.dates", _("The project cannot end before it starts."),
                               "end"))
    if not application.budget:
        found.append(Violation("form.budget_empty", _("Add at least one line to the budget."),
                               "budget"))
    for index, line in enumerate(application.budget):
        missing = [label for value, label in (
            (line.category, _("category")), (line.item, _("item")),
            (line.quantity, _("quantity")), (line.unit_price, _("unit price"))) if value in (
                None, "")]
        if missing:
            found.append(Violation("form.budget_line", _(
                "Budget line %(num)d: fill in the %(missing)s.", num=index + 1,
                missing=", ".join(missing)), f"budget.{index}"))
    for index, line in enumerate(application.contributions):
        if not line.description:
            found.append(Violation("form.contribution_line", _(
                "Contribution line %(num)d: describe what you bring.", num=index + 1),
                f"contribution.{index}"))
    return found


def violations(application: Application, now: dt.datetime | None = None) -> list[Violation]:
    """The generator's own checks and the regulation's rules, as of ``now``."""
    from core.rules.engine import check

    found = completeness(application)
    try:
        found += list(check(application.call, application, now=now or clock()))
        found += draft_checks(application)
    except Exception:  # never let a rule's bug cost an applicant their draft
        current_app.logger.exception("rule check failed for application %s", application.id)
        found.append(Violation("engine.error", _(
            "The rules could not be checked just now; your draft is saved. Try again later."),
            None, formal=True))
    return found


def draft_checks(application: Application) -> list[Violation]:
    """What the variant asks of this draft beyond the regulation's rules: answers it needs
    only in some cases (the ``check_draft`` hook, given the draft's facts and answers)."""
    from core.rules.engine import facts_from_models

    call, facts = facts_from_models(application.call, application)
    pm = current_app.extensions["mikrogranty.plugins"]
    results = pm.hook.check_draft(call=call, application=facts,
                                  answers=dict(application.content or {}))
    return [v for result in results for v in (result or ())]


@dataclass
class ContributionNeed:
    """A minimum own contribution the call asks of this draft, against what it gives."""

    label: str
    amount: Decimal
    kind: str | None
    given: Decimal

    @property
    def missing(self) -> Decimal:
        return max(self.amount - self.given, Decimal("0.00"))


def contribution_minimums(application: Application) -> list[ContributionNeed]:
    """The own contribution the call requires, computed from the requested amount (the
    ``contribution_requirements`` hook), each with what the draft gives toward it; empty
    when the call asks for no fixed contribution or nothing is requested yet.  Shown in
    the budget and contribution steps, refreshed by every autosave."""
    from core.rules.engine import facts_from_models

    if application.requested is None:
        return []
    call, facts = facts_from_models(application.call, application)
    pm = current_app.extensions["mikrogranty.plugins"]
    try:
        results = pm.hook.contribution_requirements(call=call, application=facts)
    except Exception:  # only information: never let it cost an applicant the page
        current_app.logger.exception("contribution requirements failed for application %s",
                                     application.id)
        return []
    return [ContributionNeed(label=str(item.label), amount=item.amount, kind=item.kind,
                             given=application.contribution_total(item.kind))
            for result in results for item in (result or ())]


STEP_OF_FIELD = {
    "applicant": "applicant", "realizer": "applicant", "applicant_id": "applicant",
    "realizer_id": "applicant", "mode": "applicant", "group": "applicant",
    "claims_young_ngo": "applicant", "patron": "applicant", "members": "applicant",
    "applicant_option": "applicant",
    "title": "project", "description": "project", "beneficiaries": "project",
    "place": "project",
    "start": "schedule", "end": "schedule", "duration": "schedule", "activities": "schedule",
    "budget": "budget", "requested": "budget", "amount": "budget",
    "contribution": "contribution",
}


def step_of(application: Application, violation: Violation) -> str:
    name = (violation.field or "").split(".")[0]
    if name in STEP_OF_FIELD:
        return STEP_OF_FIELD[name]
    if name.startswith("place_"):
        return "project"
    for step, fields in forms.plugin_fields(application.call).items():
        if name in fields:
            return step
    return "summary"


def violations_by_step(application: Application, found: list[Violation]) -> dict:
    steps: dict[str, list] = {step: [] for step in forms.STEPS}
    for violation in found:
        steps[step_of(application, violation)].append(violation)
    return steps


# --- submission ---------------------------------------------------------------------------

def new_submit_token() -> str:
    return secrets.token_urlsafe(24)


def canonical_json(document: dict) -> bytes:
    return json.dumps(document, sort_keys=True, ensure_ascii=False,
                      separators=(",", ":")).encode("utf-8")


def _profile_document(profile) -> dict | None:
    if profile is None:
        return None
    return {"id": profile.id, "ref": profile.ref, "kind": profile.kind,
            "name": profile.display_name, "legal_form": profile.legal_form,
            "krs": profile.krs, "seat": profile.seat}


def submission_document(application: Application, submitted_at: dt.datetime,
                        receipt_number: str) -> dict:
    """The application as submitted, in JSON (money as strings, times in UTC ISO)."""
    totals = {kind: str(application.contribution_total(kind)) for kind in forms.CONTRIBUTION_KINDS}
    call = application.call
    return {
        "format": "mikrogranty/application@1",
        "call": {"ref": call.ref, "title": call.title, "variant": call.variant},
        "application": application.id,
        "receipt_number": receipt_number,
        "submitted_at": submitted_at.astimezone(dt.UTC).isoformat(),
        "applicant": _profile_document(application.applicant),
        "realizer": _profile_document(application.realizer),
        "mode": application.mode,
        "title": application.title,
        "content": _jsonable_dict(application.content or {}),
        "place": _jsonable_dict(application.place or {}),
        "start": _jsonable(application.start),
        "end": _jsonable(application.end),
        "claims_young_ngo": bool(application.claims_young_ngo),
        "requested": _jsonable(application.requested),
        "budget": [{"category": line.category, "item": line.item,
                    "quantity": _jsonable(line.quantity), "unit_price": _jsonable(line.unit_price),
                    "amount": _jsonable(line.amount)} for line in application.budget],
        "budget_total": str(application.budget_total),
        "contribution": [{"kind": line.kind, "description": line.description,
                          "hours": _jsonable(line.hours), "rate": _jsonable(line.rate),
                          "amount": _jsonable(line.amount)} for line in application.contributions],
        "contribution_totals": totals,
        "contribution_total": str(application.contribution_total()),
    }


def _jsonable_dict(values: dict) -> dict:
    return {str(k): _jsonable(v) if not isinstance(v, dict) else _jsonable_dict(v)
            for k, v in values.items()}


def next_receipt_number(call: Call) -> str:
    # One submission of a call numbers at a time (a row lock on the call, held until the
    # commit; PostgreSQL): concurrent submissions at the deadline do not take one number.
    db.session.execute(db.select(Call.id).where(Call.id == call.id).with_for_update())
    numbers = db.session.scalars(db.select(Application.receipt_number).where(
        Application.call_id == call.id, Application.receipt_number.is_not(None)))
    highest = 0
    for number in numbers:
        tail = number.rsplit("/", 1)[-1]
        if tail.isdigit():
            highest = max(highest, int(tail))
    return f"{call.ref.upper()}/{highest + 1:04d}"


def submit(application: Application, actor, token: str | None, now: dt.datetime | None = None
           ) -> Application:
    """Submit a draft and give it its receipt; idempotent.

    A second call for an application already submitted (a double click, a retried request,
    the same token) returns it unchanged: one submission, one receipt, one e-mail.  Refused
    (:class:`SubmissionRefused`, the draft kept) after the deadline, strictly after the
    deadline's second, or while a formal rule is broken.
    """
    if application.status != ApplicationStatus.DRAFT:
        if application.receipt_number:
            return application
        raise Locked(_("This application can no longer be submitted."))
    now = (now or clock()).astimezone(dt.UTC)
    call = application.call
    deadline = call.deadline_at
    if deadline is not None and now.replace(microsecond=0) > deadline:
        raise SubmissionRefused(_(
            "Submissions closed on %(deadline)s. Your draft is kept, but it can no longer "
            "be submitted.", deadline=_warsaw(deadline)))
    if call.status != CallStatus.PUBLISHED:
        raise SubmissionRefused(_("This call is not taking applications."))
    found = violations(application, now=now)
    formal = [v for v in found if v.formal]
    if formal:
        raise SubmissionRefused(_refused_message(len(formal)), formal)
    old = application.status
    number = next_receipt_number(call)
    document = submission_document(application, now, number)
    application.status = ApplicationStatus.SUBMITTED
    application.submitted_at = now
    application.receipt_number = number
    application.submitted_content = document
    application.content_sha256 = hashlib.sha256(canonical_json(document)).hexdigest()
    application.submit_token = (token or "")[:64] or None
    application.rules = []
    application_id = application.id  # read before the flush: after a failed one it cannot be
    try:
        db.session.flush()
    except StaleDataError:
        # Another request changed or submitted it meanwhile: theirs stands.
        db.session.rollback()
        fresh = db.session.execute(db.select(Application).where(
            Application.id == application_id)).scalar_one()
        if fresh.receipt_number:
            return fresh
        raise Conflict([], fresh.version) from None
    record("application.submitted", application, changes={
        "status": [old, application.status], "receipt_number": number,
        "content_sha256": application.content_sha256}, actor=actor)
    _state_changed(application, old, application.status, actor)
    _send_receipt(application, actor)
    return application


def _refused_message(count: int) -> str:
    from flask_babel import ngettext

    return ngettext("The application cannot be submitted: %(num)d rule of the regulations "
                    "is broken. Correct it and submit again; your draft is saved.",
                    "The application cannot be submitted: %(num)d rules of the regulations "
                    "are broken. Correct them and submit again; your draft is saved.", count)


def _warsaw(instant: dt.datetime) -> str:
    from flask_babel import format_datetime

    return format_datetime(instant, "d MMMM y, HH:mm:ss")


def _state_changed(application, old, new, actor) -> None:
    pm = current_app.extensions["mikrogranty.plugins"]
    pm.hook.application_state_changed(application=application, old=old, new=new, actor=actor)


def _send_receipt(application: Application, actor) -> None:
    from core.notifications.operations import send_mail
    from core.tenancy.models import Tenant
    from core.tenancy.resolve import tenant_url

    from core.accounts.models import User

    tenant = db.session.get(Tenant, application.tenant_id)
    # The person who submitted, and the owners of the applicant and realizer profiles: a
    # patron organisation learns of an application a group submitted in its name.
    recipients = [actor] if getattr(actor, "email", None) else []
    for profile in (application.applicant, application.realizer):
        owner = db.session.get(User, profile.owner_id) if profile is not None \
            and profile.owner_id else None
        if owner is not None and all(owner.email != r.email for r in recipients):
            recipients.append(owner)
    submitted_by = getattr(actor, "email", None)
    for recipient in recipients:
        send_mail(recipient.email, "submission_receipt", tenant=tenant,
                  locale=getattr(recipient, "locale", None) or None, application=application,
                  submitted_by=submitted_by if recipient.email != submitted_by else None,
                  receipt_url=tenant_url(tenant, f"/applications/{application.id}/receipt"),
                  pdf_url=tenant_url(tenant, f"/applications/{application.id}/receipt.pdf"))


# --- withdrawal ---------------------------------------------------------------------------

def may_withdraw(application: Application, now: dt.datetime | None = None) -> bool:
    if application.status in (ApplicationStatus.DRAFT, ApplicationStatus.WITHDRAWN) or \
            application.status in RESULT_STATUSES:
        return False
    results = (application.call.timeline or {}).get("results")
    day = forms.parse_date(str(results)) if results else None
    return day is None or (now or clock()).astimezone(WARSAW).date() < day


def withdraw(application: Application, actor, now: dt.datetime | None = None) -> Application:
    """Withdraw a submitted application before the results; the receipt stays valid."""
    if application.status == ApplicationStatus.WITHDRAWN:
        return application
    if not may_withdraw(application, now):
        raise ValidationError(_("This application can no longer be withdrawn here: the results "
                                "are out. To resign from a grant, contact the operator."))
    old = application.status
    application.status = ApplicationStatus.WITHDRAWN
    application.withdrawn_at = (now or clock()).astimezone(dt.UTC)
    db.session.flush()
    record("application.withdrawn", application, changes={"status": [old, application.status]},
           actor=actor)
    _state_changed(application, old, application.status, actor)
    return application


# --- for the templates --------------------------------------------------------------------

_NEAR = {"applicant_id": ("applicant",), "realizer_id": ("realizer",),
         "budget": ("budget", "requested"), "start": ("start", "duration"),
         "end": ("end", "duration", "duration.outside_window")}


def near_items(found: list[Violation], name: str) -> list[Violation]:
    """The violations to show next to field ``name`` (not those of one table row)."""
    keys = {name, *_NEAR.get(name, ())}
    if name.startswith("place_"):
        keys |= {"place", "place." + name[len("place_"):]}
        if name == "place_gmina":
            keys.add("territory")
    return [v for v in found if (v.field or "") in keys]


def row_items(found: list[Violation], table: str, position) -> list[Violation]:
    """The violations of line ``position`` (0-based) of ``table``."""
    if position is None:
        return []
    prefix = f"{table}.{position}"
    return [v for v in found if (v.field or "") == prefix or (v.field or "").startswith(
        prefix + ".")]


def error_label(application: Application, key: str) -> str:
    """``budget-3-quantity`` → "Budget, line 4: quantity"; a field → its label."""
    parts = key.split("-")
    if len(parts) == 3 and parts[0] in TABLES and parts[1].isdigit():
        column = {"category": _("category"), "item": _("item"), "quantity": _("quantity"),
                  "unit_price": _("unit price"), "kind": _("kind"),
                  "description": _("description"), "hours": _("hours"), "rate": _("rate"),
                  "amount": _("value")}.get(parts[2], parts[2])
        return _("%(table)s, line %(num)s: %(column)s", table=forms.STEP_LABELS[parts[0]],
                 num=int(parts[1]) + 1, column=column)
    return field_label(application, key)


def percent(part: Decimal, whole: Decimal) -> str:
    from babel.numbers import format_decimal
    from flask_babel import get_locale

    if not whole:
        return "—"
    value = (Decimal(part) * 100 / Decimal(whole)).quantize(Decimal("0.1"))
    return format_decimal(value, format="#,##0.0", locale=str(get_locale() or "pl")) + "%"


def category_label(category: str) -> str:
    from core.rules.labels import category_label as label

    return label(category) if category else "—"


def contribution_kinds() -> list[tuple[str, str]]:
    return [(kind, forms.CONTRIBUTION_LABELS[kind]) for kind in forms.CONTRIBUTION_KINDS]
