"""Money, dates and parameters as the engine reads them (DOMAIN.md, "Engine conventions").

Money is ``Decimal``, never float; required minimums round up to the grosz, caps round
down.  Times are aware instants; days are decided in Europe/Warsaw.
"""
from __future__ import annotations

import datetime as dt
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from dateutil.relativedelta import relativedelta

WARSAW = ZoneInfo("Europe/Warsaw")
GROSZ = Decimal("0.01")
ZERO = Decimal("0.00")


def to_decimal(value) -> Decimal | None:
    """A parameter or amount as ``Decimal`` (``None`` stays ``None``); floats are refused."""
    if value is None or value == "":
        return None
    if isinstance(value, float):
        raise TypeError("money and percentages are never floats")
    if isinstance(value, Decimal):
        return value
    try:
        return Decimal(str(value).strip())
    except InvalidOperation as exc:
        raise ValueError(f"not a number: {value!r}") from exc


def floor_grosz(amount: Decimal) -> Decimal:
    """A cap: rounded down to the grosz."""
    return amount.quantize(GROSZ, rounding=ROUND_FLOOR)


def ceil_grosz(amount: Decimal) -> Decimal:
    """A required minimum: rounded up to the grosz."""
    return amount.quantize(GROSZ, rounding=ROUND_CEILING)


def share(amount: Decimal, percent) -> Decimal:
    """``percent`` % of ``amount``, exactly (round it with floor_grosz / ceil_grosz)."""
    return amount * to_decimal(percent) / Decimal(100)


def to_date(value) -> dt.date | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value))


def deadline_instant(day) -> dt.datetime | None:
    """The instant a deadline date closes: 23:59:59 Europe/Warsaw that day, as aware UTC.

    Submissions are late when strictly after it, so 23:59:59 itself is on time.
    """
    day = to_date(day)
    if day is None:
        return None
    local = dt.datetime.combine(day, dt.time(23, 59, 59), tzinfo=WARSAW)
    return local.astimezone(dt.timezone.utc)


def warsaw_time(day, hour: int, minute: int = 0) -> dt.datetime:
    """``hour:minute`` Europe/Warsaw on ``day``, as aware UTC (CET or CEST as that day has)."""
    local = dt.datetime.combine(to_date(day), dt.time(hour, minute), tzinfo=WARSAW)
    return local.astimezone(dt.timezone.utc)


def warsaw_date(instant: dt.datetime) -> dt.date:
    """The day an instant falls on in Europe/Warsaw (not the UTC date)."""
    if instant.tzinfo is None:
        raise ValueError("naive datetimes are not judged; give a timezone")
    return instant.astimezone(WARSAW).date()


def add_months(day: dt.date, months: int) -> dt.date:
    """``day`` + ``months``, clamped to the month's last day (31 Aug + 6 = 28/29 Feb)."""
    return day + relativedelta(months=int(months))


def add_years(day: dt.date, years: int) -> dt.date:
    """``day`` + ``years``; 29 February becomes 28 February in a common year."""
    return day + relativedelta(years=int(years))


def lasts_at_least(start: dt.date, end: dt.date, months: int) -> bool:
    """A project lasts at least N months when ``end ≥ start + N months − 1 day``."""
    return end >= add_months(start, months) - dt.timedelta(days=1)


def lasts_at_most(start: dt.date, end: dt.date, months: int) -> bool:
    """A project lasts at most M months when ``end ≤ start + M months − 1 day``."""
    return end <= add_months(start, months) - dt.timedelta(days=1)


def pool_from_params(params: dict) -> Decimal | None:
    """The call's pool: ``pool`` as given, else the municipality's budget less the
    operator's fee (budget × (100 − fee %) / 100, rounded down to the grosz)."""
    pool = to_decimal(params.get("pool"))
    if pool is not None:
        return pool.quantize(GROSZ)
    budget = to_decimal(params.get("municipality_budget"))
    if budget is None:
        return None
    fee = to_decimal(params.get("operator_fee_percent")) or Decimal(0)
    return floor_grosz(budget * (Decimal(100) - fee) / Decimal(100))


def split_points(total: Decimal, parts: int) -> list[Decimal]:
    """``total`` points split into ``parts`` maxima of a score card (whole points where they
    divide, the remainder on the first criteria) that add up to ``total`` exactly."""
    if parts <= 0:
        return []
    unit = Decimal(1) if total == total.to_integral_value() else Decimal("0.01")
    base = (total / parts / unit).to_integral_value(rounding=ROUND_FLOOR) * unit
    maxima = [base] * parts
    rest = total - base * parts
    i = 0
    while rest > 0:
        step = min(unit, rest)
        maxima[i % parts] += step
        rest -= step
        i += 1
    return maxima
