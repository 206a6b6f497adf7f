"""Durations and ages: the one duration grammar (``min_release_age = "3d"``, ``[cache] ttl = "7d"``,
a bundle's ``max_age`` and ``[bundle] refresh``), ages as words (``"3d"``), and index times. Stdlib-only."""

from __future__ import annotations

import datetime as _dt
import re
from typing import Optional

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$", re.I)
#: ``[bundle]`` durations' units (kept for callers of ``policy.schema.DURATION_UNITS``)
DURATION_UNITS = dict(_UNITS)


def parse_duration(text: str) -> float:
    """Seconds in ``text``: a number with one unit ``s``, ``m``, ``h``, ``d`` or ``w`` (``"3d"``, ``"12h"``,
    ``"1.5h"``, any case).

    A bare ``"0"`` is zero. A whole number of seconds comes back as an ``int``. Raises ``ValueError``
    naming the accepted form otherwise (a non-string included).
    """
    if not isinstance(text, str):
        raise ValueError(f"expected a duration string like 90s, 30m, 12h, 7d or 2w, got {text!r}")
    if text.strip() == "0":
        return 0
    m = _DURATION.match(text)
    if not m:
        raise ValueError(f"expected a duration like 90s, 30m, 12h, 7d or 2w, got {text!r}")
    seconds = float(m.group(1)) * _UNITS[m.group(2).lower()]
    return int(seconds) if seconds.is_integer() else seconds


def human_age(seconds: float, *, weeks: bool = True) -> str:
    """``"2h"``, ``"3d"``, ``"45m"``: the largest whole unit (negative reads as ``0s``).

    ``weeks=False`` stops at days (``"10d"``, not ``"1w"``), for durations a person wrote in days.
    """
    seconds = max(0, int(seconds))
    units = (("w", 604800), ("d", 86400), ("h", 3600), ("m", 60)) if weeks else \
        (("d", 86400), ("h", 3600), ("m", 60))
    for unit, size in units:
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def parse_time(value) -> Optional[_dt.datetime]:
    """A PEP 700 / ISO 8601 time (``2024-01-01T00:00:00Z``, with offset or fraction) as an aware datetime, or ``None``.

    A ``datetime`` passes through (naive ones read as UTC).
    """
    if isinstance(value, _dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=_dt.timezone.utc)
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip().replace("Z", "+00:00").replace("z", "+00:00")
    try:
        parsed = _dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=_dt.timezone.utc)
