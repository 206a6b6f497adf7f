"""PEP 508 strings parsed with ``packaging``, hardened against hostile input.

``packaging`` parses markers by recursive descent (a few thousand ``(`` exhaust Python's
stack with ``RecursionError``) and for some malformed specifiers raises ``InvalidSpecifier``
instead of ``InvalidRequirement``. Every place guard reads a requirement string (requirements
files, pyproject, ``pypi:`` targets, a policy's ``deny`` list) goes through here, so one bad
string is one clear error, never a traceback.
"""

from __future__ import annotations

import re

#: far beyond any real marker; deeper nesting is refused before packaging recurses into it
MAX_NESTING = 64


def _nesting(text: str) -> int:
    """The deepest ``(`` nesting in ``text`` (quotes are not special: a bound, not a parse)."""
    depth = deepest = 0
    for c in text:
        if c == "(":
            depth += 1
            deepest = max(deepest, depth)
        elif c == ")":
            depth = max(depth - 1, 0)
    return deepest


#: ``===`` followed by no version: PEP 508's grammar needs one, but packaging before 24 accepted it
_EMPTY_ARBITRARY = re.compile(r"===\s*(?:[,;)]|$)")
EMPTY_ARBITRARY_MESSAGE = "'===' without a version (arbitrary equality needs the exact version string: name===1.2.3)"


def has_empty_arbitrary_equality(text: str) -> bool:
    """True when a requirement's version part has ``===`` with nothing after it.

    Decided here, not by packaging, so the answer is the same whatever packaging is installed.
    """
    head = text.split(";", 1)[0]
    return "===" in head and "@" not in head and _EMPTY_ARBITRARY.search(head) is not None


def parse_requirement(text: str):
    """``packaging.requirements.Requirement(text)``; any parse failure is ``InvalidRequirement``."""
    from packaging.requirements import InvalidRequirement, Requirement

    if "(" in text and _nesting(text) > MAX_NESTING:
        raise InvalidRequirement(f"parentheses nested more than {MAX_NESTING} deep")
    if has_empty_arbitrary_equality(text):
        raise InvalidRequirement(EMPTY_ARBITRARY_MESSAGE)
    try:
        req = Requirement(text)
    except InvalidRequirement:
        raise
    # InvalidSpecifier/InvalidMarker/InvalidVersion are ValueErrors; packaging evaluates marker
    # strings with ast.literal_eval, so a backslash escape or a NUL in one is a SyntaxError
    except (ValueError, RecursionError, SyntaxError) as exc:
        raise InvalidRequirement(str(exc) or type(exc).__name__) from None
    if any(s.operator == "===" and not s.version.strip() for s in req.specifier):
        raise InvalidRequirement(EMPTY_ARBITRARY_MESSAGE)
    return req


def parse_marker(text: str):
    """``packaging.markers.Marker(text)``; any parse failure is ``InvalidMarker``."""
    from packaging.markers import InvalidMarker, Marker

    if "(" in text and _nesting(text) > MAX_NESTING:
        raise InvalidMarker(f"parentheses nested more than {MAX_NESTING} deep")
    try:
        return Marker(text)
    except InvalidMarker:
        raise
    except (ValueError, RecursionError, SyntaxError) as exc:
        raise InvalidMarker(str(exc) or type(exc).__name__) from None
