"""Languages, dates and money in Polish style (Polish first, then English and Ukrainian)."""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from babel.numbers import format_currency
from flask import current_app, g, request, session
from flask_babel import format_date, format_datetime, get_locale
from flask_login import current_user

LANGUAGE_NAMES = {"pl": "Polski", "en": "English", "uk": "Українська"}


def tenant_locales() -> list[str]:
    tenant = g.get("tenant")
    if tenant is not None and tenant.locales:
        return list(tenant.locales)
    return list(current_app.config["LANGUAGES"])


def select_locale() -> str:
    """The user's saved choice, else this browser's choice, else the tenant's first language.

    The browser's Accept-Language is not used: the sites are Polish unless a person
    chooses otherwise.
    """
    allowed = tenant_locales()
    candidates = []
    if request and current_user and getattr(current_user, "is_authenticated", False):
        candidates.append(current_user.locale)
    if request:
        candidates.append(session.get("locale"))
    for candidate in candidates:
        if candidate in allowed:
            return candidate
    return allowed[0] if allowed else current_app.config["BABEL_DEFAULT_LOCALE"]


def select_timezone() -> str:
    return "Europe/Warsaw"


def to_decimal(amount) -> Decimal:
    if isinstance(amount, float):
        raise TypeError("money is never a float")
    if isinstance(amount, int):  # integer grosze
        return (Decimal(amount) / 100).quantize(Decimal("0.01"))
    return Decimal(amount).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def format_money(amount, locale=None) -> str:
    """``Decimal('4000')`` → ``4 000,00 zł`` (with non-breaking spaces) in Polish.

    Integers are grosze; floats are refused.
    """
    if amount is None:
        return ""
    locale = str(locale or get_locale() or "pl")
    text = format_currency(to_decimal(amount), "PLN", locale=locale)
    if locale == "uk":  # Ukrainian CLDR spells the code; Polish readers expect "zł"
        text = text.replace("PLN", "zł")
    return text


def init_app(app, babel) -> None:
    babel.init_app(app, locale_selector=select_locale, timezone_selector=select_timezone)
    app.jinja_env.filters["money"] = format_money
    app.jinja_env.filters["date"] = format_date
    app.jinja_env.filters["datetime"] = format_datetime
    app.jinja_env.globals["language_names"] = LANGUAGE_NAMES
    app.jinja_env.globals["tenant_locales"] = tenant_locales
    app.jinja_env.globals["current_locale"] = lambda: str(get_locale() or "pl")
