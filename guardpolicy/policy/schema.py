"""Which keys a policy may have and what type each takes.

Top-level keys and sections are listed here; the options under ``[rules.<id>]`` are
declared by each rule's ``RuleInfo.options`` (so a plugin's rule brings its own schema).
A key not listed is an error, never ignored.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from typing import Any, Mapping, Tuple

# the one duration grammar lives in guardpolicy.durations; re-exported for the loader and plugins
from ..durations import DURATION_UNITS, parse_duration  # noqa: F401

MODES = ("enforce", "warn", "off")
ACTIONS = ("deny", "warn", "off")

#: TOML type names used in error messages.
STR, BOOL, INT, DATE, STRLIST, TABLE, TABLELIST = "string", "boolean", "integer", "date", "array of strings", "table", "array of tables"

TOP_LEVEL = {
    "schema_version": INT,
    "extends": STRLIST,
    "mode": STR,
    "allow_mode_override": BOOL,
    "locked": STRLIST,
    "allowed_waivers": STRLIST,
    "revision": INT,
    "expires": DATE,
    "max_age": STR,
    "allow": STRLIST,
    "deny": STRLIST,
    "sources": TABLE,
    "rules": TABLE,
    "waivers": TABLELIST,
    "hub": TABLE,
    "build": TABLE,
    "cache": TABLE,
    "log": TABLE,
    "bundle": TABLE,
}

#: Keys of each fixed section.
SECTIONS = {
    "sources": {
        "indexes": STRLIST,
        "hub_endpoints": STRLIST,
        "hub_orgs": STRLIST,
        "protected": STRLIST,
        "allow_http": BOOL,
        "allow_trusted_host": BOOL,
        "allow_local": BOOL,
    },
    "hub": {
        "allowed_formats": STRLIST,
        "scan_pickles": BOOL,
        "protected_repos": STRLIST,
        "lock": STR,
    },
    # build dependencies pip installs for sdists (typosquat, deny-list and source checks always apply)
    "build": {
        "require_pins": BOOL,
        "require_hashes": BOOL,
        "min_release_age": STR,
    },
    "cache": {
        "enabled": BOOL,
        "path": STR,
        "ttl": STR,
    },
    "log": {
        "path": STR,
        "enabled": BOOL,
        "max_size": STR,
    },
    "bundle": {
        "trusted_keys": STRLIST,
        "refresh": STR,
    },
}

@dataclass(frozen=True)
class OneOf:
    """A string that must be one of ``choices`` (rule options such as a severity threshold)."""

    choices: Tuple[str, ...]


@dataclass(frozen=True)
class TableList:
    """An array of tables whose keys are declared: ``keys`` maps key -> type; ``required`` keys must be non-empty.

    Used by rule options such as ``ignore = [{id = "...", reason = "...", expires = 2026-12-31}]``;
    an unknown key or a missing required one makes the whole value invalid (the loader names file and line).
    """

    keys: Mapping[str, Any] = field(default_factory=dict)
    required: Tuple[str, ...] = ()


WAIVER_KEYS = {"rule": STR, "subject": STR, "reason": STR, "expires": DATE, "id": STR, "owner": STR, "allowed_by": STR}

#: Keys that describe one file, not the effective policy: never merged across layers.
PER_LAYER = {"extends", "schema_version", "revision", "expires", "max_age"}

#: Lists that accumulate across layers (union) instead of being replaced.
ACCUMULATING = {("allow",), ("deny",), ("sources", "protected"), ("waivers",), ("locked",), ("allowed_waivers",),
                ("bundle", "trusted_keys")}

#: Which way is *tighter* for keys a ``locked`` entry protects (see ``policy/locking.py``):
#: ``true``/``false`` (that boolean value is the strict one), ``subset`` (a list may only
#: shrink), ``superset`` (a list may only grow), ``min``/``max`` (a number may only go
#: down/up), ``empty-is-any`` (a list that means "anything" when empty: may only shrink and
#: may not become empty). Keys not listed here may not change at all under a lock.
TIGHTEN = {
    ("allow_mode_override",): "false",
    ("sources", "indexes"): "subset",
    ("sources", "hub_endpoints"): "subset",
    ("sources", "hub_orgs"): "empty-is-any",
    ("sources", "protected"): "superset",
    ("sources", "allow_http"): "false",
    ("sources", "allow_trusted_host"): "false",
    ("sources", "allow_local"): "false",
    ("hub", "allowed_formats"): "empty-is-any",  # unset allows every format the scan passes
    ("hub", "scan_pickles"): "true",
    ("hub", "protected_repos"): "superset",
    ("build", "require_pins"): "true",
}

#: Tightening directions for built-in rule options whose ``Option`` does not declare
#: ``tighten`` itself (kept here so the rule modules need no change; a rule's own
#: ``Option.tighten`` wins).
RULE_OPTION_TIGHTEN = {
    ("unhashed", "require_hashes"): "true",
    ("source", "allow_direct_urls"): "false",
    ("typosquat", "one_edit_rank"): "max",
    ("typosquat", "two_edit_rank"): "max",
    ("typosquat", "combosquats"): "true",
}

#: The rules that enforce a section: locking the section locks them too (``locked =
#: ["sources"]`` would mean nothing if a project could set ``[rules.source] action = "off"``).
SECTION_RULES = {
    "sources": ("source",),
    "hub": ("format", "pickle"),
    # the lists are enforced by rules too: locking the list locks the rule that reads it
    "deny": ("denylist",),
    "allow": ("typosquat", "malicious"),
}

#: Non-section names a ``locked`` entry may use besides section names and rule ids.
LOCKABLE_KEYS = ("mode", "allow", "deny", "waivers", "rules")

#: ``[log] max_size`` units (binary: ``"10MB"`` is 10 MiB); a bare number is bytes.
SIZE_UNITS = {"": 1, "b": 1, "k": 1024, "kb": 1024, "kib": 1024, "m": 1024 ** 2, "mb": 1024 ** 2,
              "mib": 1024 ** 2, "g": 1024 ** 3, "gb": 1024 ** 3, "gib": 1024 ** 3}


def parse_size(text: str) -> int:
    """Bytes in a size such as ``10MB``, ``512KB``, ``1GiB`` or ``"0"`` (``ValueError`` when malformed)."""
    import re

    m = re.fullmatch(r"\s*(\d+)\s*([a-zA-Z]*)\s*", str(text))
    unit = m.group(2).lower() if m else None
    if not m or unit not in SIZE_UNITS:
        raise ValueError(f"expected a size like 10MB, 512KB or 1GB (or \"0\" for no limit), got {text!r}")
    return int(m.group(1)) * SIZE_UNITS[unit]


def type_ok(value, expected: str) -> bool:
    """True when ``value`` (as parsed by tomllib) has the TOML type ``expected``."""
    if expected == STR:
        return isinstance(value, str)
    if expected == BOOL:
        return isinstance(value, bool)
    if expected == INT:
        return isinstance(value, int) and not isinstance(value, bool)
    if expected == DATE:
        if isinstance(value, _dt.date) and not isinstance(value, _dt.datetime):
            return True
        if isinstance(value, str):
            try:
                _dt.date.fromisoformat(value)
                return True
            except ValueError:
                return False
        return False
    if expected == STRLIST:
        return isinstance(value, list) and all(isinstance(v, str) for v in value)
    if expected == TABLE:
        return isinstance(value, dict)
    if expected == TABLELIST:
        return isinstance(value, list) and all(isinstance(v, dict) for v in value)
    if isinstance(expected, OneOf):
        return isinstance(value, str) and value in expected.choices
    if isinstance(expected, TableList):
        if not isinstance(value, list):
            return False
        for item in value:
            if not isinstance(item, dict) or any(k not in expected.keys for k in item):
                return False
            if any(not str(item.get(k, "")).strip() for k in expected.required):
                return False
            if not all(type_ok(v, expected.keys[k]) for k, v in item.items()):
                return False
        return True
    if isinstance(expected, tuple):  # alternatives
        return any(type_ok(value, e) for e in expected)
    if isinstance(expected, type):
        return isinstance(value, expected) and not (expected is int and isinstance(value, bool))
    raise AssertionError(f"unknown schema type {expected!r}")


def type_name(expected) -> str:
    """A readable name for a schema type."""
    if isinstance(expected, OneOf):
        return "one of " + ", ".join(repr(c) for c in expected.choices)
    if isinstance(expected, TableList):
        keys = ", ".join(f"{k} = {type_name(t)}{' (required)' if k in expected.required else ''}"
                         for k, t in expected.keys.items())
        return f"array of tables {{{keys}}}"
    if isinstance(expected, tuple):
        return " or ".join(type_name(e) for e in expected)
    if isinstance(expected, type):
        return {str: STR, bool: BOOL, int: INT, float: "float", list: "array", dict: TABLE}.get(expected, expected.__name__)
    return str(expected)
