"""Rule ``unhashed``: no ``--hash`` while the policy requires hashes (``strict`` does).

Satisfied by ``--hash`` options, a ``#sha256=`` URL fragment, the hashes a lock file or pip
report records, a hashed constraint for the same name in the same check, or a VCS URL pinned
to a full commit id (a commit id is a content hash; pip cannot hash VCS checkouts).
Constraint entries are not judged themselves.
"""

from __future__ import annotations

from typing import Set

from ..hookspecs import hookimpl
from ..model import Finding, PackageRef
from ..names import canonicalize_name
from . import Option, RuleInfo
from .unpinned import is_commit_ref, is_vcs, vcs_ref

RULE = RuleInfo(
    id="unhashed",
    summary="The requirement carries no hash while the policy requires hashes.",
    help="With `require_hashes = true` every requirement needs `--hash=sha256:...` (pip's hash-checking "
         "mode), so a re-uploaded or swapped artifact cannot be installed.",
    default_action="deny",
    options={"require_hashes": Option(bool, False, "require a --hash on every requirement")},
    example="requirements.txt:3: unhashed: requests==2.32.3 has no --hash",
)


def hashed_constraints(context) -> Set[str]:
    """Canonical names that a constraint with ``--hash`` covers, over every subject in the check."""
    cache = getattr(context, "cache", None)
    if cache is not None and "unhashed.constraints" in cache:
        return cache["unhashed.constraints"]
    names = {canonicalize_name(s.name) for s in getattr(context, "subjects", ()) or ()
             if isinstance(s, PackageRef) and s.constraint and s.name and strong_hashes(s.hashes)}
    if cache is not None:
        cache["unhashed.constraints"] = names
    return names


#: pip's STRONG_HASHES: md5/sha1/sha224 cannot stop a swapped artifact (md5 and sha1 collide)
STRONG = ("sha256", "sha384", "sha512")


def strong_hashes(hashes) -> tuple:
    """The ``algo:hex`` entries whose algorithm is one pip calls strong."""
    return tuple(h for h in hashes if h.split(":", 1)[0].lower() in STRONG)


def has_hash(package: PackageRef) -> bool:
    """True when the package's artifact is fixed by a strong hash (or a full VCS commit id)."""
    if strong_hashes(package.hashes):
        return True
    if package.url:
        from ..sources.requirements import url_hashes

        if strong_hashes(url_hashes(package.url)):
            return True
        if is_vcs(package.url) and is_commit_ref(package.url, vcs_ref(package.url)):
            return True
    return False


@hookimpl
def guard_check_package(package, policy, context):
    """Flag a requirement without a hash when the policy sets ``require_hashes``."""
    if package.constraint or not policy.rule("unhashed").get("require_hashes"):
        return None
    if has_hash(package):
        return None
    if package.name and canonicalize_name(package.name) in hashed_constraints(context):
        return None
    name = package.name or package.subject
    weak = sorted({h.split(":", 1)[0] for h in package.hashes})
    what = f"has only weak hashes ({', '.join(weak)})" if weak else "has no hash"
    return [Finding(rule="unhashed", subject=package.subject, location=package.location,
                    message=f"{package.subject} {what} (--hash, #sha256= or a lock-file hash)",
                    suggestion=f"add --hash=sha256:<digest> (pip-compile --generate-hashes / uv pip compile --generate-hashes) for {name}")]


@hookimpl
def guard_rules():
    """Describe the rule."""
    return [RULE]
