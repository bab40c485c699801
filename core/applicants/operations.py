"""Applicant profiles: who an account applies as, the people in them, patrons and editors.

Views call these.  Each operation checks what it needs, changes data and writes the audit
event; personal data (names, birth dates, PESEL, a person's bank account) never goes
into the audit trail: people are referred to by id, and changed personal fields by name.

Helpers other modules rely on (kept stable): :func:`profiles_for`, :func:`can_edit`.
"""
from __future__ import annotations

import datetime as dt
import secrets
from decimal import Decimal

from flask import url_for
from flask_babel import lazy_gettext as _l

from core.accounts import tokens
from core.accounts.operations import find_user, normalise_email
from core.audit.operations import diff, record
from core.db import db, utcnow
from core.errors import ValidationError
from core.notifications.operations import send_mail
from core.tenancy.models import Tenant
from core.tenancy.resolve import tenant_url

from .models import (LEGAL_FORMS, ApplicantKind, ApplicantProfile, Person, ProfileEditor,
                     ProfileMember)
from .validators import (NumberInvalid, check_birth_date, clean_iban, clean_krs, clean_nip,
                         clean_pesel, clean_regon)

KINDS = tuple(kind.value for kind in ApplicantKind)
ORGANISATION_KINDS = (ApplicantKind.NGO, ApplicantKind.PUBLIC_INSTITUTION)
PATRON_INVITATION_DAYS = 14

# The profile's own columns each kind keeps (a person alone keeps its data on Person).
PROFILE_FIELDS = {
    ApplicantKind.NGO: ("name", "legal_form", "krs", "nip", "regon", "registered_on",
                        "revenue_last_year", "seat", "in_liquidation", "iban"),
    ApplicantKind.PUBLIC_INSTITUTION: ("name", "nip", "regon", "seat", "iban"),
    ApplicantKind.GROUP: ("name", "iban"),
    ApplicantKind.PERSON: ("iban",),
}
PERSON_FIELDS = ("name", "birth_date", "pesel", "phone")
# Fields whose values are personal data for that kind: the audit names them, no values.
PERSONAL_PROFILE_FIELDS = {ApplicantKind.GROUP: {"iban"}, ApplicantKind.PERSON: {"iban"}}
MEMBER_ROLES = ("member", "board")
_CLEANERS = {"nip": clean_nip, "regon": clean_regon, "iban": clean_iban, "krs": clean_krs}


# --- who sees and changes what ------------------------------------------------------------

def profiles_for(user) -> list[ApplicantProfile]:
    """The profiles ``user`` owns or edits in the current tenant, by name."""
    if user is None or not getattr(user, "is_authenticated", False):
        return []
    edited = db.select(ProfileEditor.profile_id).where(ProfileEditor.user_id == user.id)
    profiles = db.session.scalars(db.select(ApplicantProfile).where(
        db.or_(ApplicantProfile.owner_id == user.id, ApplicantProfile.id.in_(edited)))
        .order_by(ApplicantProfile.created_at, ApplicantProfile.id)).all()
    return sorted(profiles, key=lambda p: (p.display_name or "").lower())


def is_owner(user, profile: ApplicantProfile) -> bool:
    return bool(user is not None and getattr(user, "is_authenticated", False)
                and profile.owner_id is not None and profile.owner_id == user.id)


def can_edit(user, profile: ApplicantProfile) -> bool:
    """True for the profile's owner and its editors (who also see its people's data)."""
    if user is None or not getattr(user, "is_authenticated", False) or profile is None:
        return False
    if is_owner(user, profile):
        return True
    return db.session.execute(db.select(ProfileEditor.id).where(
        ProfileEditor.profile_id == profile.id, ProfileEditor.user_id == user.id)
    ).first() is not None


def personal_profile(user) -> ApplicantProfile | None:
    """The profile in which ``user`` applies as a person alone, in the current tenant."""
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return db.session.scalars(db.select(ApplicantProfile).where(
        ApplicantProfile.owner_id == user.id,
        ApplicantProfile.kind == ApplicantKind.PERSON).order_by(ApplicantProfile.id)).first()


def patronised_groups(organisation: ApplicantProfile) -> list[ApplicantProfile]:
    """Groups whose confirmed patron ``organisation`` is (names only are shown to it)."""
    return list(db.session.scalars(db.select(ApplicantProfile).where(
        ApplicantProfile.patron_id == organisation.id,
        ApplicantProfile.patron_confirmed_at.is_not(None)).order_by(ApplicantProfile.name)))


# --- checking values ----------------------------------------------------------------------

def _check_profile_values(kind: str, values: dict) -> dict:
    """Clean what the forms send (and what imports send without forms); errors name fields."""
    allowed = PROFILE_FIELDS[kind]
    unknown = set(values) - set(allowed) - (set(PERSON_FIELDS) if kind == ApplicantKind.PERSON
                                            else set())
    if unknown:
        raise ValueError(f"fields not kept for a {kind} profile: {sorted(unknown)}")
    cleaned = {field: values[field] for field in allowed if field in values}
    errors: dict[str, list] = {}
    for field, cleaner in _CLEANERS.items():
        if cleaned.get(field):
            try:
                cleaned[field] = cleaner(cleaned[field])
            except NumberInvalid as exc:
                errors.setdefault(field, []).append(exc.message)
        elif field in cleaned:
            cleaned[field] = None
    if "name" in allowed and "name" in cleaned and not (cleaned.get("name") or "").strip():
        errors.setdefault("name", []).append(_l("This field is required."))
    if cleaned.get("legal_form") and cleaned["legal_form"] not in LEGAL_FORMS:
        errors.setdefault("legal_form", []).append(_l("Choose a legal form from the list."))
    revenue = cleaned.get("revenue_last_year")
    if revenue is not None:
        if isinstance(revenue, float):
            raise TypeError("money is never a float")
        if Decimal(revenue) < 0:
            errors.setdefault("revenue_last_year", []).append(
                _l("Enter an amount in złoty, e.g. 12500,00."))
    if "in_liquidation" in cleaned:
        cleaned["in_liquidation"] = bool(cleaned["in_liquidation"])
    if errors:
        raise ValidationError(errors)
    return cleaned


def _check_person_values(values: dict, field_prefix: str = "") -> dict:
    cleaned = {field: values.get(field) for field in PERSON_FIELDS if field in values}
    errors: dict[str, list] = {}
    name = " ".join((cleaned.get("name") or "").split())
    cleaned["name"] = name
    if not name:
        errors.setdefault(f"{field_prefix}name", []).append(_l("Give the person's full name."))
    if cleaned.get("pesel"):
        try:
            cleaned["pesel"] = clean_pesel(cleaned["pesel"])
        except NumberInvalid as exc:
            errors.setdefault(f"{field_prefix}pesel", []).append(exc.message)
            cleaned["pesel"] = None
    else:
        cleaned["pesel"] = None
    if cleaned.get("birth_date") is None:
        errors.setdefault(f"{field_prefix}birth_date", []).append(_l("Give the date of birth."))
    else:
        try:
            check_birth_date(cleaned["birth_date"], cleaned["pesel"])
        except NumberInvalid as exc:
            errors.setdefault(f"{field_prefix}birth_date", []).append(exc.message)
    if errors:
        raise ValidationError(errors)
    return cleaned


def _audit_values(kind: str, changes: dict) -> dict:
    personal = PERSONAL_PROFILE_FIELDS.get(kind, set())
    return {field: ("changed" if field in personal else value)
            for field, value in changes.items()}


# --- profiles -----------------------------------------------------------------------------

def create_profile(owner, kind: str, values: dict, people: list[dict] | None = None,
                   representative: int | None = None) -> ApplicantProfile:
    """Create a profile of ``kind`` owned by ``owner``.

    ``values`` holds the profile's fields (for a person alone also name, birth_date, pesel,
    phone, kept on the owner's own :class:`Person`); ``people`` the rows of members (a
    group) or board (an organisation); ``representative`` the place of the group's
    representative among ``people``.
    """
    if kind not in KINDS:
        raise ValidationError(_l("Choose what you apply as."), "kind")
    kind = ApplicantKind(kind)
    cleaned = _check_profile_values(kind, values)
    if kind != ApplicantKind.PERSON and not cleaned.get("name"):
        raise ValidationError(_l("This field is required."), "name")
    profile = ApplicantProfile(kind=kind.value, owner_id=owner.id, name="")
    if kind == ApplicantKind.PERSON:
        if personal_profile(owner) is not None:
            raise ValidationError(_l("You have a profile as a person already; change it "
                                     "instead."))
        person_values = _check_person_values(values)
        person = _own_person(owner)
        diff(person, person_values)
        profile.person = person
        cleaned = {k: v for k, v in cleaned.items() if k not in PERSON_FIELDS}
    diff(profile, {k: v for k, v in cleaned.items()})
    db.session.add(profile)
    db.session.flush()
    record("profile.created", profile, changes=_audit_values(kind, {
        "kind": kind.value, "owner_id": owner.id, "person_id": profile.person_id,
        **{k: v for k, v in cleaned.items() if v not in (None, "", False)}}), actor=owner)
    if people is not None and kind in (ApplicantKind.GROUP, ApplicantKind.NGO):
        set_people(profile, people, representative, actor=owner)
    return profile


def update_profile(profile: ApplicantProfile, values: dict, actor=None) -> dict:
    """Change a profile's own data (for a person alone, also the person's); returns the
    changed fields."""
    kind = ApplicantKind(profile.kind)
    cleaned = _check_profile_values(kind, values)
    person_changed: dict = {}
    if kind == ApplicantKind.PERSON:
        person_values = _check_person_values(values)
        person = profile.person or _own_person_for(profile)
        person_changed = diff(person, person_values)
        cleaned = {k: v for k, v in cleaned.items() if k not in PERSON_FIELDS}
        if person_changed:
            record("profile.person_updated", profile,
                   changes={"person_id": person.id, "fields": sorted(person_changed)},
                   actor=actor)
    if kind != ApplicantKind.PERSON and not cleaned.get("name"):
        raise ValidationError(_l("This field is required."), "name")
    changed = diff(profile, cleaned)
    if changed:
        profile.updated_at = utcnow()
        record("profile.updated", profile, changes=_audit_values(kind, changed), actor=actor)
    return {**changed, **person_changed}


def _own_person(user) -> Person:
    person = db.session.scalars(db.select(Person).where(Person.user_id == user.id)).first()
    if person is None:
        person = Person(user_id=user.id, name="", email=user.email)
        db.session.add(person)
    return person


def _own_person_for(profile: ApplicantProfile) -> Person:
    from core.accounts.models import User

    owner = db.session.get(User, profile.owner_id)
    person = _own_person(owner)
    profile.person = person
    return person


# --- people: members of a group, an organisation's board ----------------------------------

def _role_for(profile: ApplicantProfile) -> str:
    if profile.kind == ApplicantKind.GROUP:
        return "member"
    if profile.kind == ApplicantKind.NGO:
        return "board"
    raise ValidationError(_l("This kind of profile has no members."))


def add_member(profile: ApplicantProfile, values: dict, role: str | None = None,
               actor=None, check_duplicates: bool = True) -> Person:
    """Add a person (name, birth date, optional PESEL that must match it) to the profile."""
    role = role or _role_for(profile)
    if role not in MEMBER_ROLES:
        raise ValueError(f"unknown role {role!r}")
    cleaned = _check_person_values(values)
    if check_duplicates:
        _refuse_duplicate(profile, cleaned, role)
    person = Person(**cleaned)
    db.session.add(person)
    profile.members.append(ProfileMember(person=person, role=role))
    db.session.flush()
    record("profile.member_added", profile, changes={"person_id": person.id, "role": role},
           actor=actor)
    return person


def update_member(profile: ApplicantProfile, person: Person, values: dict,
                  actor=None, check_duplicates: bool = True) -> list[str]:
    """Change a member's data; the audit names the changed fields only."""
    membership = _membership(profile, person)
    cleaned = _check_person_values(values)
    if check_duplicates:
        _refuse_duplicate(profile, cleaned, membership.role, except_person=person)
    changed = sorted(diff(person, cleaned))
    if changed:
        record("profile.person_updated", profile,
               changes={"person_id": person.id, "fields": changed}, actor=actor)
    return changed


def remove_member(profile: ApplicantProfile, person: Person, actor=None) -> None:
    membership = _membership(profile, person)
    role = membership.role
    profile.members.remove(membership)
    if profile.representative_id == person.id:
        profile.representative = None
        record("profile.representative_changed", profile,
               changes={"representative_id": [person.id, None]}, actor=actor)
    db.session.flush()
    record("profile.member_removed", profile, changes={"person_id": person.id, "role": role},
           actor=actor)
    _erase_if_unused(person)


def set_representative(profile: ApplicantProfile, person: Person | None, actor=None) -> None:
    """Name the group's representative; it must be one of its members."""
    if profile.kind != ApplicantKind.GROUP:
        raise ValidationError(_l("Only a group has a representative."), "representative")
    if person is not None and person not in profile.people("member"):
        raise ValidationError(_l("The representative must be a member of the group."),
                              "representative")
    new_id = person.id if person is not None else None
    if profile.representative_id != new_id:
        old = profile.representative_id
        profile.representative = person
        db.session.flush()
        record("profile.representative_changed", profile,
               changes={"representative_id": [old, new_id]}, actor=actor)


def set_people(profile: ApplicantProfile, rows: list[dict], representative: int | None = None,
               actor=None) -> None:
    """Make the profile's people exactly ``rows`` (in that order for new ones).

    A row with the ``person_id`` of one of this profile's people changes that person;
    any other row adds a person; people missing from ``rows`` are removed.  For a group,
    ``representative`` is the representative's place in ``rows``.
    """
    role = _role_for(profile)
    errors: dict[str, list] = {}
    cleaned_rows = []
    for position, row in enumerate(rows):
        try:
            cleaned_rows.append(_check_person_values(row, f"people-{position}-"))
        except ValidationError as exc:
            for field, messages in exc.errors.items():
                errors.setdefault(field, []).extend(messages)
    keys = [_identity(r) for r in cleaned_rows]
    if len(set(keys)) != len(keys):
        errors.setdefault("people", []).append(_l("A person is listed twice."))
    if role == "member" and representative is not None and \
            not 0 <= representative < len(rows):
        errors.setdefault("representative", []).append(
            _l("The representative must be a member of the group."))
    if errors:
        raise ValidationError(errors)

    current = {p.id: p for p in profile.people(role)}
    kept: list[Person] = []
    # Remove first, so a person moved from one row to another is not seen twice.
    wanted_ids = {row.get("person_id") for row in rows if row.get("person_id") in current}
    for person_id, person in current.items():
        if person_id not in wanted_ids:
            remove_member(profile, person, actor=actor)
    for row in rows:
        person_id = row.get("person_id")
        if person_id in current:
            person = current[person_id]
            update_member(profile, person, row, actor=actor, check_duplicates=False)
        else:
            person = add_member(profile, row, role, actor=actor, check_duplicates=False)
        kept.append(person)
    if role == "member":
        set_representative(profile, kept[representative] if representative is not None
                           else None, actor=actor)


def _identity(values: dict) -> str:
    if values.get("pesel"):
        return f"pesel:{values['pesel']}"
    return f"{' '.join(values['name'].lower().split())}|{values['birth_date']}"


def _refuse_duplicate(profile: ApplicantProfile, values: dict, role: str,
                      except_person: Person | None = None) -> None:
    key = _identity(values)
    for other in profile.people(role):
        if other is not except_person and other.identity == key:
            raise ValidationError(_l("This person is listed already."), "people")


def _membership(profile: ApplicantProfile, person: Person) -> ProfileMember:
    for membership in profile.members:
        if membership.person_id == person.id or membership.person is person:
            return membership
    raise ValidationError(_l("This person is not in the profile."), "people")


def _erase_if_unused(person: Person) -> None:
    """A person nobody refers to any more is deleted (personal data is not kept idle)."""
    if person.user_id is not None:
        return
    used = db.session.scalar(db.select(db.func.count()).select_from(ProfileMember).where(
        ProfileMember.person_id == person.id))
    used += db.session.scalar(db.select(db.func.count()).select_from(ApplicantProfile).where(
        db.or_(ApplicantProfile.person_id == person.id,
               ApplicantProfile.representative_id == person.id)))
    if not used:
        db.session.delete(person)


# --- patron organisation ------------------------------------------------------------------

def _tenant_of(profile: ApplicantProfile) -> Tenant:
    return db.session.get(Tenant, profile.tenant_id)


def invite_patron(group: ApplicantProfile, email: str, actor) -> str:
    """Send the patron organisation's representative a one-time link; returns the token.

    A new invitation replaces a pending one (its link stops working); a confirmed patron
    stays until another one confirms.
    """
    if group.kind != ApplicantKind.GROUP:
        raise ValidationError(_l("Only a group invites a patron organisation."))
    email = normalise_email(email)
    if not email or "@" not in email:
        raise ValidationError(_l("Enter a valid e-mail address, e.g. anna@example.org."),
                              "email")
    replaces = group.patron_token_hash is not None
    token = secrets.token_urlsafe(32)
    group.patron_token_hash = tokens.hash_token(token)
    group.patron_invited_at = utcnow()
    db.session.flush()
    record("profile.patron_invited", group, changes={"replaces_pending": replaces},
           actor=actor)
    tenant = _tenant_of(group)
    recipient = find_user(email)
    send_mail(email, "patron_invitation", tenant=tenant,
              locale=recipient.locale if recipient else None,
              group_name=group.name, inviter_email=getattr(actor, "email", None),
              days=PATRON_INVITATION_DAYS,
              confirm_url=tenant_url(tenant, url_for("applicants.patron_confirm", token=token)))
    return token


def find_patron_invitation(token: str) -> ApplicantProfile | None:
    """The group whose pending invitation this token is, in the current tenant."""
    if not token:
        return None
    group = db.session.scalars(db.select(ApplicantProfile).where(
        ApplicantProfile.patron_token_hash == tokens.hash_token(token))).first()
    if group is None or group.patron_invited_at is None:
        return None
    if group.patron_invited_at + dt.timedelta(days=PATRON_INVITATION_DAYS) < utcnow():
        return None
    return group


def patron_candidates(user) -> list[ApplicantProfile]:
    """The organisation profiles ``user`` may confirm a patronage for."""
    return [p for p in profiles_for(user) if p.kind in ORGANISATION_KINDS]


def confirm_patron(group: ApplicantProfile, organisation: ApplicantProfile, actor) -> None:
    """The organisation takes the group under its wing; the link is used up."""
    if group.kind != ApplicantKind.GROUP or group.patron_token_hash is None:
        raise ValidationError(_l("This invitation is invalid, used or expired."))
    if organisation.kind not in ORGANISATION_KINDS:
        raise ValidationError(_l("Only an organisation or a public institution can be a "
                                 "patron."), "organisation")
    if not can_edit(actor, organisation):
        raise ValidationError(_l("Choose one of your organisation profiles."), "organisation")
    old = group.patron_id
    group.patron = organisation
    group.patron_confirmed_at = utcnow()
    group.patron_token_hash = None
    group.patron_invited_at = None
    db.session.flush()
    record("profile.patron_confirmed", group,
           changes={"patron_id": [old, organisation.id]}, actor=actor)
    _tell_owner(group, "patron_confirmed", organisation_name=organisation.display_name)


def decline_patron(group: ApplicantProfile, actor) -> None:
    if group.patron_token_hash is None:
        raise ValidationError(_l("This invitation is invalid, used or expired."))
    group.patron_token_hash = None
    group.patron_invited_at = None
    record("profile.patron_declined", group, actor=actor)
    _tell_owner(group, "patron_declined")


def end_patronage(group: ApplicantProfile, actor) -> None:
    """The group, or its patron organisation, ends the patronage."""
    if group.patron_id is None:
        return
    if not (can_edit(actor, group) or (group.patron is not None
                                       and can_edit(actor, group.patron))):
        raise ValidationError(_l("Only the group or its patron organisation ends the "
                                 "patronage."))
    old = group.patron_id
    by_patron = group.patron is not None and can_edit(actor, group.patron) and \
        not can_edit(actor, group)
    group.patron = None
    group.patron_confirmed_at = None
    record("profile.patron_removed", group, changes={"patron_id": [old, None],
                                                     "by_patron": by_patron}, actor=actor)
    if by_patron:
        _tell_owner(group, "patron_ended")


def cancel_patron_invitation(group: ApplicantProfile, actor) -> None:
    if group.patron_token_hash is not None:
        group.patron_token_hash = None
        group.patron_invited_at = None
        record("profile.patron_invitation_cancelled", group, actor=actor)


def _tell_owner(group: ApplicantProfile, template: str, **context) -> None:
    from core.accounts.models import User

    owner = db.session.get(User, group.owner_id) if group.owner_id else None
    if owner is None:
        return
    tenant = _tenant_of(group)
    send_mail(owner.email, template, tenant=tenant, locale=owner.locale,
              group_name=group.name,
              profile_url=tenant_url(tenant, url_for("applicants.detail", profile_id=group.id)),
              **context)


# --- editors ------------------------------------------------------------------------------

def add_editor(profile: ApplicantProfile, email: str, actor) -> ProfileEditor:
    """Let another account edit the profile and its application drafts (owner only)."""
    if not is_owner(actor, profile):
        raise ValidationError(_l("Only the profile's owner adds editors."))
    user = find_user(email)
    if user is None or not user.is_active:
        raise ValidationError(_l("No account uses this e-mail address. Ask the person to "
                                 "register on this site first."), "email")
    if user.id == profile.owner_id:
        raise ValidationError(_l("This is the owner's account."), "email")
    exists = db.session.scalars(db.select(ProfileEditor).where(
        ProfileEditor.profile_id == profile.id, ProfileEditor.user_id == user.id)).first()
    if exists is not None:
        raise ValidationError(_l("This account is an editor already."), "email")
    editor = ProfileEditor(user_id=user.id)
    profile.editors.append(editor)
    db.session.flush()
    record("profile.editor_added", profile, changes={"user_id": user.id}, actor=actor)
    return editor


def remove_editor(profile: ApplicantProfile, editor_id: int, actor) -> None:
    """The owner removes an editor; an editor may also leave."""
    editor = db.session.scalars(db.select(ProfileEditor).where(
        ProfileEditor.profile_id == profile.id, ProfileEditor.id == editor_id)).first()
    if editor is None:
        raise ValidationError(_l("This editor is not on the profile."))
    if not (is_owner(actor, profile) or editor.user_id == getattr(actor, "id", None)):
        raise ValidationError(_l("Only the profile's owner removes editors."))
    profile.editors.remove(editor)
    record("profile.editor_removed", profile, changes={"user_id": editor.user_id},
           actor=actor)


def editor_emails(profile: ApplicantProfile) -> list[tuple[int, str]]:
    """(editor id, e-mail) for the profile's editors, for its owner and editors to see."""
    from core.accounts.models import User

    return [(editor_id, email) for editor_id, email in db.session.execute(
        db.select(ProfileEditor.id, User.email).join(User, User.id == ProfileEditor.user_id)
        .where(ProfileEditor.profile_id == profile.id).order_by(User.email))]


__all__ = ["add_editor", "add_member", "can_edit", "confirm_patron", "create_profile",
           "decline_patron", "end_patronage", "find_patron_invitation", "invite_patron",
           "is_owner", "personal_profile", "patron_candidates", "patronised_groups",
           "profiles_for", "remove_editor", "remove_member", "set_people",
           "set_representative", "update_member", "update_profile"]
