"""Rule ``unpinned``: a requirement that can resolve to more than one artifact.

Pinned means: exactly ``==`` without a wildcard, or ``===``; a direct URL with a hash; a VCS
URL whose ref is a full 40-hex commit id. A Hub reference (``ModelRef``) is pinned only by a
full 40-hex commit id: branches (``main``), tags and ``refs/pr/N`` move.
"""

from __future__ import annotations

import re

from packaging.specifiers import InvalidSpecifier, SpecifierSet

from ..hookspecs import hookimpl
from ..model import Finding
from . import RuleInfo

RULE = RuleInfo(
    id="unpinned",
    summary="The requirement is not pinned to exactly one version or commit.",
    help="Pin with `name==1.2.3` (no wildcard) or `===`; give direct URLs a `#sha256=` hash; pin VCS "
         "URLs to a full 40-hex commit id. Branches, tags and ranges move under you.",
    default_action="warn",
    example="requirements.txt:3: unpinned: 'requests>=2' is not pinned (use requests==2.32.3)",
    subjects=("package", "model"),
)

VCS_PREFIXES = ("git+", "hg+", "svn+", "bzr+")
_COMMIT = re.compile(r"^[0-9a-f]{40}$")


def is_pinned_specifier(specifier: str) -> bool:
    """True for exactly one ``==X`` (no ``*``) or one ``===X``."""
    try:
        spec = SpecifierSet(specifier)
    except InvalidSpecifier:
        return False
    items = list(spec)
    return len(items) == 1 and (items[0].operator == "===" or (items[0].operator == "==" and "*" not in items[0].version))


def vcs_ref(url: str) -> str | None:
    """The ``@ref`` of a VCS URL (``git+https://host/repo.git@ref#egg=x``), or ``None``."""
    body = url.split("#", 1)[0]
    rest = body.split("://", 1)[-1]
    path = rest.split("/", 1)[1] if "/" in rest else ""
    return path.rsplit("@", 1)[1] if "@" in path else None


def url_has_hash(url: str) -> bool:
    """True when the URL fragment carries a hash (``#sha256=...``)."""
    return bool(re.search(r"[#&](sha256|sha384|sha512|md5|sha1|sha224)=[0-9a-fA-F]+", url))


def is_local(url: str) -> bool:
    """True for a local path or ``file:`` URL (the user's own tree: nothing floats remotely)."""
    return url.startswith(("file:", ".", "/", "~")) or "://" not in url and not url.startswith(VCS_PREFIXES)


@hookimpl
def guard_check_package(package, policy, context):
    if package.constraint:
        return None
    subject = package.subject
    if package.url:
        url = package.url
        if url.startswith(VCS_PREFIXES):
            ref = vcs_ref(url)
            if ref and _COMMIT.match(ref):
                return None
            msg = f"{subject}: VCS requirement {'ref ' + repr(ref) + ' is not a full commit id' if ref else 'has no ref'}"
            hint = "pin the VCS URL to a full 40-hex commit: git+https://host/repo.git@<commit>"
        elif is_local(url):
            return None
        elif url_has_hash(url) or package.hashes:
            return None
        else:
            msg = f"{subject}: URL requirement without a hash"
            hint = "add '#sha256=<digest>' to the URL or a --hash option"
        return [Finding(rule="unpinned", subject=subject, message=msg, location=package.location, suggestion=hint)]
    if package.version or is_pinned_specifier(package.specifier):
        return None
    name = package.name or subject
    spec = package.specifier or "any version"
    return [Finding(rule="unpinned", subject=subject, location=package.location,
                    message=f"{name} is not pinned ({spec})",
                    suggestion=f"pin one version: {name}==<version> (pip-compile / uv pip compile can do it)")]


def is_commit_id(revision) -> bool:
    """True for a full, lower-case 40-hex commit id (what the Hub returns as ``sha``)."""
    return isinstance(revision, str) and bool(_COMMIT.match(revision))


@hookimpl
def guard_check_model(model, policy, context):
    if is_commit_id(model.revision):
        return None
    what = f"revision {model.revision!r} is a branch or tag, not a commit id" if model.revision else \
        "no revision: it follows the default branch"
    if model.revision and re.fullmatch(r"[0-9a-fA-F]{7,40}", model.revision):
        what = f"revision {model.revision!r} is not a full lower-case 40-hex commit id"
    commit = _current_commit(model, context, policy)
    base = model.subject.rsplit("@", 1)[0] if model.revision else model.subject
    hint = f"pin the commit: {base}@{commit}" if commit else \
        f"pin a 40-hex commit: {base}@<commit> (`guard lock {model.subject}` resolves and freezes it)"
    return [Finding(rule="unpinned", subject=model.subject, location=model.location,
                    message=what, suggestion=hint,
                    details={"revision": model.revision, **({"commit": commit} if commit else {})})]


def _current_commit(model, context, policy=None):
    """The commit the revision points at now (only when online; ``None`` otherwise)."""
    from ..hubinfo import HubLookupError, repo_facts

    try:
        facts = repo_facts(model, context, policy)
    except HubLookupError:
        return None
    return facts.commit if facts else None


@hookimpl
def guard_rules():
    return [RULE]
