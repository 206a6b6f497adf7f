"""PEP 508 strings parsed with ``packaging``, hardened against hostile input.

``packaging`` parses markers by recursive descent (a few thousand ``(`` exhaust Python's
stack with ``RecursionError``) and for some malformed specifiers raises ``InvalidSpecifier``
instead of ``InvalidRequirement``. Every place guard reads a requirement string (requirements
files, pyproject, ``pypi:`` targets, a policy's ``deny`` list) goes through here, so one bad
string is one clear error, never a traceback.
"""

from __future__ import annotations

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


def parse_requirement(text: str):
    """``packaging.requirements.Requirement(text)``; any parse failure is ``InvalidRequirement``."""
    from packaging.requirements import InvalidRequirement, Requirement

    if "(" in text and _nesting(text) > MAX_NESTING:
        raise InvalidRequirement(f"parentheses nested more than {MAX_NESTING} deep")
    try:
        return Requirement(text)
    except InvalidRequirement:
        raise
    # InvalidSpecifier/InvalidMarker/InvalidVersion are ValueErrors; packaging evaluates marker
    # strings with ast.literal_eval, so a backslash escape or a NUL in one is a SyntaxError
    except (ValueError, RecursionError, SyntaxError) as exc:
        raise InvalidRequirement(str(exc) or type(exc).__name__) from None


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
