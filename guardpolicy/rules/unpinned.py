"""Rule ``unpinned``: a requirement that can resolve to more than one artifact.

Pinned means: exactly ``==`` without a wildcard, or ``===``; a direct URL with a hash; a VCS
URL whose ref is a full 40-hex commit id. A Hub reference (``ModelRef``) is pinned only by a
full 40-hex commit id: branches (``main``), tags and ``refs/pr/N`` move.
"""

# Python requirements (this module's package and index side):
# Pinned means: exactly one ``==`` without a wildcard, or ``===``; a direct URL with a hash; a
# VCS URL whose ref is a full commit id (40 or 64 hex for git/hg, a revision number for svn);
# a local path (the user's own tree). Resolved packages (lock files, pip reports) carry a
# version and are pinned. Constraint entries (``-c`` files) are not judged themselves: they only
# narrow what is installed, and a requirement that a constraint in the same check pins to one
# version (as ``pip-compile`` output used with ``-c`` does) counts as pinned.
# Hub references are judged by the model rules.

from __future__ import annotations

import re
from typing import Dict

from packaging.specifiers import InvalidSpecifier, SpecifierSet

from ..hookspecs import hookimpl
from ..hubids import is_local_only
from ..hubinfo import HubLookupError, repo_facts
from ..model import Finding, PackageRef
from ..names import canonicalize_name
from . import RuleInfo

RULE = RuleInfo(
    id="unpinned",
    summary="The requirement is not pinned to exactly one version or commit.",
    help="Pin with `name==1.2.3` (no wildcard) or `===`; give direct URLs a `#sha256=` hash; pin VCS "
         "URLs to a full commit id. Branches, tags and ranges move under you. A pin in a constraints "
         "file (`-c`) read in the same check counts.",
    default_action="warn",
    example="requirements.txt:3: unpinned: 'requests>=2' is not pinned (use requests==2.32.3)",
    subjects=("package", "model"),
)

VCS_PREFIXES = ("git+", "hg+", "svn+", "bzr+", "git:", "svn:")
_COMMIT = re.compile(r"^[0-9a-f]{40}$")
#: a VCS commit in a requirement: git/hg print lower case but accept any case; git's sha256 repos use 64 hex
_VCS_COMMIT = re.compile(r"^(?:[0-9a-fA-F]{40}|[0-9a-fA-F]{64})$")
_SVN_REVISION = re.compile(r"^\d+$")
_URL_HASH = re.compile(r"[#&](sha256|sha384|sha512|md5|sha1|sha224)=[0-9a-fA-F]+")


def is_pinned_specifier(specifier: str) -> bool:
    """True for exactly one ``==X`` (no ``*``) or one ``===X``."""
    try:
        spec = SpecifierSet(specifier)
    except InvalidSpecifier:
        return False
    items = list(spec)
    # packaging before 24 accepts "===" with an empty version: that pins nothing
    return len(items) == 1 and bool(items[0].version.strip()) and (
        items[0].operator == "===" or (items[0].operator == "==" and "*" not in items[0].version))


def vcs_ref(url: str) -> str | None:
    """The ``@ref`` of a VCS URL (``git+https://host/repo.git@ref#egg=x``), or ``None``.

    The ``user@`` of ``ssh://user@host/...`` is not a ref: only an ``@`` in the path counts.
    """
    body = url.split("#", 1)[0]
    rest = body.split("://", 1)[1] if "://" in body else body.split(":", 1)[-1]
    path = rest.split("/", 1)[1] if "/" in rest else ""
    return path.rsplit("@", 1)[1] if "@" in path else None


def is_commit_ref(url: str, ref: str | None) -> bool:
    """True when ``ref`` names one immutable revision: a full git/hg hash, an svn revision number."""
    if not ref:
        return False
    if _VCS_COMMIT.match(ref):
        return True
    return url.startswith(("svn+", "svn:")) and bool(_SVN_REVISION.match(ref))


def url_has_hash(url: str) -> bool:
    """True when the URL fragment carries a hash (``#sha256=...``)."""
    return bool(_URL_HASH.search(url))


def is_vcs(url: str) -> bool:
    """True for a VCS requirement URL (``git+https://``, ``hg+ssh://``, ``svn://``...)."""
    return url.startswith(VCS_PREFIXES)


def is_local(url: str) -> bool:
    """True for a local path or ``file:`` URL (the user's own tree: nothing floats remotely)."""
    if url.startswith(("file:", ".", "/", "~", "\\")) or re.match(r"^[A-Za-z]:[\\/]", url):
        return True
    return "://" not in url and not is_vcs(url)


def constraint_pins(context) -> Dict[str, PackageRef]:
    """Canonical name -> a constraint ``PackageRef`` that pins it, over every subject in the check."""
    cache = getattr(context, "cache", None)
    if cache is not None and "unpinned.constraint_pins" in cache:
        return cache["unpinned.constraint_pins"]
    pins: Dict[str, PackageRef] = {}
    for subject in getattr(context, "subjects", ()) or ():
        if isinstance(subject, PackageRef) and subject.constraint and subject.name and \
                (subject.version or is_pinned_specifier(subject.specifier)):
            pins.setdefault(canonicalize_name(subject.name), subject)
    if cache is not None:
        cache["unpinned.constraint_pins"] = pins
    return pins


def url_problem(package: PackageRef) -> tuple | None:
    """(message, hint) when a URL requirement is not pinned, else ``None``."""
    url, subject = package.url, package.subject
    if is_vcs(url):
        ref = vcs_ref(url)
        if is_commit_ref(url, ref):
            return None
        what = f"ref {ref!r} is not a full commit id" if ref else "has no ref (it follows the default branch)"
        return (f"{subject}: VCS requirement {what}",
                "pin the VCS URL to a full commit: git+https://host/repo.git@<40-hex commit>")
    if is_local(url) or url_has_hash(url) or package.hashes:
        return None
    return (f"{subject}: URL requirement without a hash: the file behind {url} can change",
            "add '#sha256=<digest>' to the URL or a --hash option")


@hookimpl
def guard_check_package(package, policy, context):
    """Flag a requirement not pinned to one version (or a direct URL not pinned to a commit or hash)."""
    if package.constraint:
        return None
    if package.url:
        problem = url_problem(package)
        if problem is None:
            return None
        msg, hint = problem
        return [Finding(rule="unpinned", subject=package.subject, message=msg, location=package.location, suggestion=hint)]
    if package.version or is_pinned_specifier(package.specifier):
        return None
    if package.name and canonicalize_name(package.name) in constraint_pins(context):
        return None
    name = package.name or package.subject
    spec = package.specifier or "any version"
    return [Finding(rule="unpinned", subject=package.subject, location=package.location,
                    message=f"{name} is not pinned ({spec})",
                    suggestion=f"pin one version: {name}==<version> (pip-compile / uv pip compile can do it)")]


def is_commit_id(revision) -> bool:
    """True for a full, lower-case 40-hex commit id (what the Hub returns as ``sha``)."""
    return isinstance(revision, str) and bool(_COMMIT.match(revision))


@hookimpl
def guard_check_model(model, policy, context):
    """Flag a Hub reference whose revision is not a full commit id."""
    if is_commit_id(model.revision) or is_local_only(model):
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
    try:
        facts = repo_facts(model, context, policy)
    except HubLookupError:
        return None
    return facts.commit if facts else None


@hookimpl
def guard_rules():
    """Describe the rule."""
    return [RULE]
