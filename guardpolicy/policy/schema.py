"""Which keys a policy may have and what type each takes.

Top-level keys and sections are listed here; the options under ``[rules.<id>]`` are
declared by each rule's ``RuleInfo.options`` (so a plugin's rule brings its own schema).
A key not listed is an error, never ignored.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from typing import Any, Mapping, Tuple

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
    "build": {
        "require_pins": BOOL,
    },
    "cache": {
        "enabled": BOOL,
        "path": STR,
        "ttl": STR,
    },
    "log": {
        "path": STR,
        "enabled": BOOL,
    },
    "bundle": {
        "trusted_keys": STRLIST,
        "max_age": STR,
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

#: Lists that accumulate across layers (union) instead of being replaced.
ACCUMULATING = {("allow",), ("deny",), ("sources", "protected"), ("waivers",), ("locked",)}


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
