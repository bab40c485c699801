"""Signed, expiring tokens for e-mail confirmation and password reset."""
from __future__ import annotations

import hashlib

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

CONFIRM_MAX_AGE = 7 * 24 * 3600
RESET_MAX_AGE = 2 * 3600


def _serializer(purpose: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=f"mikrogranty.{purpose}")


def _fingerprint(user) -> str:
    # Changes when the password or the confirmation changes, so a used link stops working.
    raw = f"{user.password_hash}|{user.confirmed_at}".encode()
    return hashlib.sha256(raw).hexdigest()[:16]


def make_token(user, purpose: str) -> str:
    return _serializer(purpose).dumps({"u": user.id, "f": _fingerprint(user)})


def read_token(token: str, purpose: str, max_age: int):
    """Return the user the token is for, or ``None`` when it is invalid, used or expired."""
    from core.db import db

    from .models import User

    try:
        data = _serializer(purpose).loads(token, max_age=max_age)
    except (BadSignature, SignatureExpired):
        return None
    user = db.session.get(User, data.get("u"))
    if user is None or data.get("f") != _fingerprint(user):
        return None
    return user


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
