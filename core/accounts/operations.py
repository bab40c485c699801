"""Accounts: registration, confirmation, login, password reset, roles and invitations.

Views call these; each checks what it needs, changes data, writes the audit event
and sends the e-mail.  Messages people read are translated.
"""
from __future__ import annotations

import datetime as dt
import secrets
from functools import lru_cache
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app, g, url_for
from flask_babel import lazy_gettext as _l

from core.audit.operations import record
from core.db import db, tenant_scope, utcnow
from core.errors import ValidationError
from core.notifications.operations import send_mail
from core.tenancy.resolve import tenant_url

from . import tokens
from .models import Invitation, Membership, Role, User


def _hasher() -> PasswordHasher:
    """argon2id with the platform's cost (RFC 9106 defaults unless configured lower for tests)."""
    config = current_app.config
    key = (config.get("ARGON2_TIME_COST"), config.get("ARGON2_MEMORY_COST"))
    if key not in _HASHERS:
        kwargs = {}
        if key[0]:
            kwargs["time_cost"] = key[0]
        if key[1]:
            kwargs["memory_cost"] = key[1]
        _HASHERS[key] = PasswordHasher(**kwargs)
    return _HASHERS[key]


_HASHERS: dict = {}
MIN_PASSWORD_LENGTH = 10
INVITATION_DAYS = 14


@lru_cache(maxsize=1)
def _common_passwords() -> frozenset[str]:
    path = Path(__file__).with_name("common_passwords.txt")
    return frozenset(line.strip().lower() for line in path.read_text("utf-8").splitlines()
                     if line.strip())


def normalise_email(email: str) -> str:
    return (email or "").strip().lower()


def check_password(password: str, email: str = "", field: str = "password") -> None:
    """Refuse short, common or guessable passwords, naming the field."""
    if len(password or "") < MIN_PASSWORD_LENGTH:
        raise ValidationError(_l("Use at least %(num)d characters.", num=MIN_PASSWORD_LENGTH),
                              field)
    lowered = password.lower()
    local = normalise_email(email).split("@")[0]
    if lowered in _common_passwords() or lowered.rstrip("0123456789!") in _common_passwords():
        raise ValidationError(_l("This password is too common; choose another."), field)
    if local and len(local) >= 4 and local in lowered:
        raise ValidationError(_l("The password must not contain your e-mail address."), field)


def set_password(user: User, password: str) -> None:
    check_password(password, user.email)
    user.password_hash = _hasher().hash(password)


def find_user(email: str) -> User | None:
    return db.session.execute(
        db.select(User).where(User.email == normalise_email(email))).scalar_one_or_none()


def create_user(email: str, password: str | None = None, *, confirmed: bool = False,
                platform_role: str | None = None, locale: str | None = None,
                actor=None) -> User:
    email = normalise_email(email)
    if find_user(email) is not None:
        raise ValidationError(_l("An account with this e-mail address exists already."), "email")
    user = User(email=email, platform_role=platform_role, locale=locale,
                confirmed_at=utcnow() if confirmed else None)
    if password is not None:
        set_password(user, password)
    db.session.add(user)
    db.session.flush()
    record("account.created", user, changes={"platform_role": platform_role}, actor=actor)
    return user


def register(email: str, password: str, tenant, locale: str | None = None) -> None:
    """Start a registration: the account is usable once the e-mail link is opened.

    An address that has an account already gets a reminder instead (the page says the
    same in both cases, so nobody learns who has an account).
    """
    existing = find_user(email)
    if existing is not None:
        send_mail(existing.email, "account_exists", tenant=tenant,
                  locale=existing.locale or locale,
                  login_url=tenant_url(tenant, url_for("accounts.login")),
                  reset_url=tenant_url(tenant, url_for("accounts.reset_request")))
        return
    user = create_user(email, password, locale=locale, actor=None)
    send_confirmation(user, tenant)


def send_confirmation(user: User, tenant) -> None:
    token = tokens.make_token(user, "confirm")
    send_mail(user.email, "confirm_account", tenant=tenant, locale=user.locale,
              confirm_url=tenant_url(tenant, url_for("accounts.confirm", token=token)))


def confirm(token: str, tenant) -> User | None:
    user = tokens.read_token(token, "confirm", tokens.CONFIRM_MAX_AGE)
    if user is None:
        return None
    if user.confirmed_at is None:
        user.confirmed_at = utcnow()
        record("account.confirmed", user, actor=user)
    if tenant is not None:
        ensure_role(user, tenant, Role.APPLICANT, actor=user)
    return user


def authenticate(email: str, password: str) -> User | None:
    user = find_user(email)
    if user is None or not user.password_hash or not user.is_active:
        _hasher().hash("timing-equaliser")  # similar time whether or not the account exists
        return None
    try:
        _hasher().verify(user.password_hash, password or "")
    except (VerificationError, InvalidHashError):
        return None
    if _hasher().check_needs_rehash(user.password_hash):
        user.password_hash = _hasher().hash(password)
    return user


def log_in(user: User, tenant) -> None:
    """Record the login; a confirmed person may apply in any municipality."""
    if tenant is not None:
        ensure_role(user, tenant, Role.APPLICANT, actor=user)
    record("account.login", user, actor=user)


def ensure_role(user: User, tenant, role: str, actor=None) -> Membership:
    with tenant_scope(tenant):
        membership = db.session.execute(db.select(Membership).where(
            Membership.user_id == user.id, Membership.role == role)).scalar_one_or_none()
        if membership is None:
            membership = Membership(user_id=user.id, role=str(role), tenant_id=tenant.id)
            db.session.add(membership)
            db.session.flush()
            record("membership.created", membership, changes={"role": str(role),
                                                              "user_id": user.id},
                   actor=actor, tenant_id=tenant.id)
        g.pop("_roles", None)
        return membership


def remove_role(membership: Membership, actor=None) -> None:
    record("membership.removed", membership,
           changes={"role": membership.role, "user_id": membership.user_id}, actor=actor)
    db.session.delete(membership)
    g.pop("_roles", None)


def request_password_reset(email: str, tenant) -> None:
    user = find_user(email)
    if user is None or not user.is_active:
        return
    token = tokens.make_token(user, "reset")
    send_mail(user.email, "password_reset", tenant=tenant, locale=user.locale,
              reset_url=tenant_url(tenant, url_for("accounts.reset", token=token)))
    record("account.reset_requested", user, actor=user)


def reset_password(token: str, password: str) -> User:
    user = tokens.read_token(token, "reset", tokens.RESET_MAX_AGE)
    if user is None:
        raise ValidationError(_l("This link is invalid, used or expired. Ask for a new one."))
    set_password(user, password)
    if user.confirmed_at is None:  # the e-mail reached its owner
        user.confirmed_at = utcnow()
    record("account.password_reset", user, actor=user)
    return user


def set_locale(user: User, locale: str) -> None:
    if user.locale != locale:
        record("account.locale_changed", user, changes={"locale": [user.locale, locale]},
               actor=user)
        user.locale = locale


def invite(tenant, email: str, role: str, actor=None) -> Invitation:
    """Invite a person to take ``role`` in ``tenant``; the link goes to the tenant's site."""
    email = normalise_email(email)
    if role not in {r.value for r in Role}:
        raise ValidationError(_l("Unknown role."), "role")
    token = secrets.token_urlsafe(32)
    with tenant_scope(tenant):
        invitation = Invitation(email=email, role=role, token_hash=tokens.hash_token(token),
                                invited_by_id=getattr(actor, "id", None), tenant_id=tenant.id,
                                expires_at=utcnow() + dt.timedelta(days=INVITATION_DAYS))
        db.session.add(invitation)
        db.session.flush()
        record("invitation.created", invitation, changes={"role": role}, actor=actor,
               tenant_id=tenant.id)
        user = find_user(email)
        send_mail(email, "invitation", tenant=tenant, locale=user.locale if user else None,
                  role=role, days=INVITATION_DAYS,
                  accept_url=tenant_url(tenant, url_for("accounts.accept_invitation",
                                                        token=token)))
    return invitation


def find_invitation(token: str) -> Invitation | None:
    """The pending invitation of the current tenant for ``token`` (tenant filter applies)."""
    invitation = db.session.execute(db.select(Invitation).where(
        Invitation.token_hash == tokens.hash_token(token))).scalar_one_or_none()
    if invitation is None or invitation.accepted_at is not None or \
            invitation.expires_at < utcnow():
        return None
    return invitation


def accept_invitation(invitation: Invitation, tenant, user: User | None = None,
                      password: str | None = None) -> User:
    if user is None:
        user = find_user(invitation.email)
    if user is None:
        if not password:
            raise ValidationError(_l("Choose a password."), "password")
        user = create_user(invitation.email, password, confirmed=True, actor=None)
    elif user.email != invitation.email:
        raise ValidationError(_l("This invitation was sent to another e-mail address."))
    elif user.confirmed_at is None:
        user.confirmed_at = utcnow()  # the link reached the address
    invitation.accepted_at = utcnow()
    ensure_role(user, tenant, invitation.role, actor=user)
    record("invitation.accepted", invitation, actor=user)
    return user
