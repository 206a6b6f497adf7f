"""Rule ``typosquat``: a name close to a popular or protected name that is not itself one.

(Stub: the matcher lands with the typosquat work.)
"""

from __future__ import annotations

from ..hookspecs import hookimpl
from . import RuleInfo

RULE = RuleInfo(
    id="typosquat",
    summary="The name imitates a popular or protected name.",
    help="Compares PEP 503 names against the most-downloaded PyPI projects and the policy's "
         "`protected` names.",
    default_action="deny",
    example="requirements.txt:2: typosquat: 'reqeusts' looks like 'requests'",
    subjects=("package", "model"),
)


@hookimpl
def guard_rules():
    return [RULE]
