"""Rule ``unhashed``: no ``--hash`` while the policy requires hashes (``strict`` does)."""

from __future__ import annotations

from ..hookspecs import hookimpl
from ..model import Finding
from . import Option, RuleInfo
from .unpinned import url_has_hash

RULE = RuleInfo(
    id="unhashed",
    summary="The requirement carries no hash while the policy requires hashes.",
    help="With `require_hashes = true` every requirement needs `--hash=sha256:...` (pip's hash-checking "
         "mode), so a re-uploaded or swapped artifact cannot be installed.",
    default_action="deny",
    options={"require_hashes": Option(bool, False, "require a --hash on every requirement")},
    example="requirements.txt:3: unhashed: requests==2.32.3 has no --hash",
)


@hookimpl
def guard_check_package(package, policy, context):
    if package.constraint or not policy.rule("unhashed").get("require_hashes"):
        return None
    if package.hashes or (package.url and url_has_hash(package.url)):
        return None
    name = package.name or package.subject
    return [Finding(rule="unhashed", subject=package.subject, location=package.location,
                    message=f"{package.subject} has no --hash",
                    suggestion=f"add --hash=sha256:<digest> (pip-compile --generate-hashes / uv pip compile --generate-hashes) for {name}")]


@hookimpl
def guard_rules():
    return [RULE]
