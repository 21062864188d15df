"""Reading query parameters a user can type: never an exception, always a value in range.

Ids beyond a 64-bit integer, dates outside 1900–2199, non-ASCII digits and text where a number
belongs fall back to the default (a page then shows its normal state or a 404 for an id), so a
hostile URL never becomes a server error.
"""
from __future__ import annotations

import datetime as dt

from sam.importing import MAX_DATE, MIN_DATE

MAX_ID = 2**63 - 1


def param_id(value: str | None) -> int | None:
    """A database id from text, or None (not digits, or beyond what the database stores)."""
    text = (value or "").strip()
    if not text.isascii() or not text.isdigit() or len(text) > 19:
        return None
    number = int(text)
    return number if 0 < number <= MAX_ID else None


def param_int(value: str | None, default: int, *, low: int, high: int) -> int:
    """A whole number from text, clamped to ``low..high``; ``default`` when it is not one."""
    text = (value or "").strip()
    if not text.isascii() or not text.lstrip("-").isdigit() or len(text) > 12:
        return default
    return min(max(int(text), low), high)


def param_date(value: str | None, default: dt.date | None = None) -> dt.date | None:
    """An ISO date between 1900-01-01 and 2199-12-31, else ``default``."""
    text = (value or "").strip()
    if len(text) != 10 or not text.isascii():
        return default
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        return default
    return day if MIN_DATE <= day <= MAX_DATE else default
