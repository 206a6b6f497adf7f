"""Rule ``invalid``: input the checker cannot read (a malformed requirement line, a missing include).

Sources produce these findings themselves (they know file and line). This plugin declares the
rule so policies can set its action and waive it, and judges one thing every source shares: a
package name that is not a valid project name (a lock file or pip report can carry any
string; name-based rules cannot judge it, so it must not pass silently).
"""

from __future__ import annotations

import re

from ..hookspecs import hookimpl
from ..model import Finding
from . import RuleInfo

#: PEP 508 / core metadata project names
_VALID_NAME = re.compile(r"^([A-Z0-9]|[A-Z0-9][A-Z0-9._-]*[A-Z0-9])$", re.IGNORECASE)

RULE = RuleInfo(
    id="invalid",
    summary="A line or file the checker cannot read.",
    help="A requirement line that is not valid pip syntax, an include that cannot be found, a file "
         "that cannot be parsed, or a package name (from a lock file or pip report) that is not a valid "
         "project name. The rest of the input is still checked; unreadable input is never silently allowed.",
    default_action="deny",
    example="requirements.txt:7: invalid: 'requests>=>2' is not a valid requirement",
    subjects=("package", "model", "file"),
)


def valid_project_name(name: str) -> bool:
    """True for a name pip could install (letters, digits, ``.``, ``_``, ``-``; alphanumeric ends)."""
    return bool(_VALID_NAME.match(name))


@hookimpl
def guard_check_package(package, policy, context):
    if package.name is None or valid_project_name(package.name):
        return []
    return [Finding(rule="invalid", subject=package.subject, location=package.location,
                    message=f"{package.name!r} is not a valid project name, so no name-based rule can judge it",
                    suggestion="use the project's real name (letters, digits, '.', '_', '-')")]


@hookimpl
def guard_rules():
    """Describe the rule."""
    return [RULE]
