"""Distribution file names: the name and version in a wheel (``n-1.0-py3-none-any.whl``) or an sdist
(``n-1.0.tar.gz``) file name, without reading the file. Stdlib-only.

These are not ``packaging.utils.parse_wheel_filename`` / ``parse_sdist_filename`` on purpose: those
normalise the version (``1.0RC1`` -> ``1.0rc1``) and reject names pip still installs, and callers
report and match the version exactly as the file spells it.
"""

from __future__ import annotations

import re
import urllib.parse
from typing import Optional, Tuple

WHEEL_RE = re.compile(r"^(?P<name>[^\s-]+?)-(?P<ver>[^\s-]+?)(-(?P<build>\d[^-]*))?-(?P<pyver>[^\s-]+?)-(?P<abi>[^\s-]+?)-(?P<plat>[^\s-]+?)\.whl$", re.I)
SDIST_SUFFIXES = (".tar.gz", ".tar.bz2", ".tar.xz", ".tgz", ".tbz", ".txz", ".tar", ".zip")
_SDIST_STEM = re.compile(r"^(?P<name>[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)-(?P<ver>[0-9][0-9A-Za-z.+!_]*)$")


def base_name(filename: str) -> str:
    """The last path segment of a file name or URL, fragment and query dropped, %-escapes decoded."""
    return urllib.parse.unquote(filename.rsplit("/", 1)[-1].split("#", 1)[0].split("?", 1)[0])


def version_from_filename(filename: str, name: Optional[str]) -> Optional[str]:
    """The version in a wheel (``n-1.0-py3-none-any.whl``) or sdist (``n-1.0.tar.gz``) file name."""
    if filename.endswith(".whl"):
        parts = filename[:-4].split("-")
        return parts[1] if len(parts) >= 5 else None
    for ext in (".tar.gz", ".zip", ".tar.bz2", ".tgz", ".tar"):
        if filename.endswith(ext):
            stem = filename[: -len(ext)]
            head, sep, ver = stem.rpartition("-")
            return ver if sep and head and ver and ver[0].isdigit() else None
    return None


def wheel_name_version(filename: str) -> Optional[Tuple[str, str]]:
    """(name, version) from a wheel file name or URL, or ``None`` when it is not one."""
    match = WHEEL_RE.match(base_name(filename))
    return (match.group("name"), match.group("ver")) if match else None


def sdist_name_version(filename: str) -> Tuple[Optional[str], Optional[str]]:
    """(name, version) from an sdist archive name (``crypt-1.0.tar.gz``), or ``(None, None)``.

    The archive's own metadata is what pip installs; the file name is what a person reads, so it
    is judged (typosquat, malicious, deny list) rather than leaving a direct URL unnamed.
    """
    base = base_name(filename)
    suffix = next((s for s in SDIST_SUFFIXES if base.lower().endswith(s)), None)
    if suffix is None:
        return None, None
    match = _SDIST_STEM.match(base[: -len(suffix)])
    return (match.group("name"), match.group("ver")) if match else (None, None)
