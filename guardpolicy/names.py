"""Small pure functions on package and repo names."""

from __future__ import annotations

import re

_CANON = re.compile(r"[-_.]+")


def canonicalize_name(name: str) -> str:
    """PEP 503 normalisation: lower case, runs of ``-``, ``_`` and ``.`` become one ``-``."""
    return _CANON.sub("-", name).lower()
