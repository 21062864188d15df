"""Figures formatted by their kind: money with its currency, counts without decimals, ISO dates.

``{{ cost|money:"EUR" }}`` → ``12,345.60 EUR``; ``{{ n|count }}`` → ``1,234``;
``{{ qty|quantity }}`` → ``1,234`` or ``2.5`` (fractions kept, no trailing zeros);
``{{ day|isodate }}`` → ``2027-02-14``. Empty values give ``—``.
"""
from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django import template

register = template.Library()
EMPTY = "—"


def _decimal(value) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


def _group(number: Decimal, places: int) -> str:
    quantum = Decimal(1).scaleb(-places)
    return f"{number.quantize(quantum, rounding=ROUND_HALF_UP):,.{places}f}"


@register.filter
def money(value, currency: str = "") -> str:
    """Two decimals, thousands separated, followed by the currency code when known."""
    number = _decimal(value)
    if number is None:
        return EMPTY
    text = _group(number, 2)
    return f"{text} {currency}".strip() if currency else text


@register.filter
def count(value) -> str:
    """A whole number with thousands separators (a count never shows decimals)."""
    number = _decimal(value)
    if number is None:
        return EMPTY
    return _group(number, 0)


@register.filter
def quantity(value) -> str:
    """Units: whole numbers without decimals, fractions (Oracle cores × factor) with up to two."""
    number = _decimal(value)
    if number is None:
        return EMPTY
    if number == number.to_integral_value():
        return _group(number, 0)
    return _group(number, 2).rstrip("0").rstrip(".")


@register.filter
def isodate(value) -> str:
    if value is None or value == "":
        return EMPTY
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


@register.filter
def figure(value, kind: str = "") -> str:
    """Format by a declared kind (``money:EUR``, ``count``, ``quantity``, ``date``); numbers default to quantity."""
    kind, _sep, arg = (kind or "").partition(":")
    if kind == "money":
        return money(value, arg)
    if kind == "count":
        return count(value)
    if kind == "date" or isinstance(value, dt.date):
        return isodate(value)
    if isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
        return quantity(value)
    return EMPTY if value is None else str(value)


@register.filter
def kpi_value(panel: dict) -> str:
    """A dashboard figure formatted by the panel's optional ``kind`` (text values stay as given)."""
    return figure(panel.get("value"), panel.get("kind", "") or "")
