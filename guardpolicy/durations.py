"""Durations in policies (``min_release_age = "3d"``, ``[cache] ttl = "7d"``). Stdlib-only."""

from __future__ import annotations

import re

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$", re.I)


def parse_duration(text: str) -> float:
    """Seconds in ``text``: a number with one unit ``s``, ``m``, ``h``, ``d`` or ``w`` (``"3d"``, ``"12h"``).

    A bare ``"0"`` is zero. Raises ``ValueError`` naming the accepted form otherwise.
    """
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        raise ValueError(f"duration must be a string such as '3d', got {text!r}")
    if text.strip() == "0":
        return 0.0
    m = _DURATION.match(text or "")
    if not m:
        raise ValueError(f"invalid duration {text!r}: use a number and one unit s, m, h, d or w (e.g. '3d', '12h')")
    return float(m.group(1)) * _UNITS[m.group(2).lower()]
