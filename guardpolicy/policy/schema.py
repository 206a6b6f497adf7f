"""Which keys a policy may have and what type each takes.

Top-level keys and sections are listed here; the options under ``[rules.<id>]`` are
declared by each rule's ``RuleInfo.options`` (so a plugin's rule brings its own schema).
A key not listed is an error, never ignored.
"""

from __future__ import annotations

import datetime as _dt

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
    },
    "bundle": {
        "trusted_keys": STRLIST,
        "max_age": STR,
    },
}

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
    if isinstance(expected, tuple):  # alternatives
        return any(type_ok(value, e) for e in expected)
    if isinstance(expected, type):
        return isinstance(value, expected) and not (expected is int and isinstance(value, bool))
    raise AssertionError(f"unknown schema type {expected!r}")


def type_name(expected) -> str:
    """A readable name for a schema type."""
    if isinstance(expected, tuple):
        return " or ".join(type_name(e) for e in expected)
    if isinstance(expected, type):
        return {str: STR, bool: BOOL, int: INT, float: "float", list: "array", dict: TABLE}.get(expected, expected.__name__)
    return str(expected)
