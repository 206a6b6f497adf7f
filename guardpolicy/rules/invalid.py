"""Rule ``invalid``: input the checker cannot read (a malformed requirement line, a missing include).

Sources produce these findings themselves (they know file and line); this plugin only
declares the rule so policies can set its action and waive it.
"""

from __future__ import annotations

from ..hookspecs import hookimpl
from . import RuleInfo

RULE = RuleInfo(
    id="invalid",
    summary="A line or file the checker cannot read.",
    help="A requirement line that is not valid pip syntax, an include that cannot be found, or a file "
         "that cannot be parsed. The rest of the input is still checked; unreadable input is never "
         "silently allowed.",
    default_action="deny",
    example="requirements.txt:7: invalid: 'requests>=>2' is not a valid requirement",
    subjects=("package", "model", "file"),
)


@hookimpl
def guard_rules():
    """Describe the rule."""
    return [RULE]
