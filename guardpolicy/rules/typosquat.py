"""Rule ``typosquat``: a name close to a popular or protected name that is not itself one.

PyPI packages are compared (PEP 503 canonical names) against the shipped list of the
15,000 most-downloaded projects and the policy's ``[sources] protected`` names; Hugging Face
repo ids against the shipped popular models/datasets and well-known orgs plus the policy's
``hub_orgs``, ``protected`` and ``[hub] protected_repos``. Exact hits on the shipped
known-malicious names are rule ``malicious`` (``guardpolicy/rules/malicious.py``). The matching itself lives in
``guardpolicy.similarity`` (pure functions, tested on their own); this module only turns
matches into findings.

Never flagged: a popular name, an allowlisted name (``allow``, globs), a name matching a
protected glob (that is the org's own name; the ``source`` rule handles dependency confusion),
a known Hub org, and spellings that normalise to the same project (``PyYAML``, ``ruamel_yaml``).
"""

from __future__ import annotations

import fnmatch
from functools import lru_cache
from dataclasses import dataclass
from typing import Any, Optional, Tuple

from ..hookspecs import hookimpl
from ..model import Finding
from ..names import canonicalize_name
from . import Option, RuleInfo

RULE = RuleInfo(
    id="typosquat",
    summary="The name imitates a popular or protected name.",
    help="Compares PEP 503 names against the 15,000 most-downloaded PyPI projects and the policy's "
         "`protected` names (look-alike characters l/I/1, o/0, rn/m, vv/w, cl/d and separators; one "
         "edit, two for long names; `python-`/`-py`/`-cli`/version affixes; two popular names glued "
         "together), and Hugging Face repo ids against popular repos and well-known orgs (look-alike "
         "orgs, a known org plus `-official`/`-research`/`-hf`/digits, typos of popular repo names). "
        "Exact hits on the known-malicious list are the `malicious` rule's.",
    default_action="deny",
    allowlist=True,  # honours the policy's allow list (a lock on this rule covers allow entries too)
    options={
        "one_edit_rank": Option(int, 15000, "one-edit typos are matched against the N most popular PyPI names",
                                minimum=0),
        "two_edit_rank": Option(int, 1000, "two-edit typos of long names against the N most popular PyPI names",
                                minimum=0),
        "combosquats": Option(bool, True, "flag two popular names glued together (pandas-numpy) and bait words"),
    },
    example="requirements.txt:2: typosquat: 'reqeusts' looks like 'requests' (transposition)",
    subjects=("package", "model"),
)

_GLOB_CHARS = "*?["


def _is_glob(pattern: str) -> bool:
    """True when ``pattern`` has fnmatch wildcards."""
    return any(ch in pattern for ch in _GLOB_CHARS)


def allowed(names, patterns) -> bool:
    """True when any of ``names`` matches any allow pattern (case-insensitive; PyPI names canonical)."""
    for pattern in patterns:
        low = pattern.lower()
        canon = canonicalize_name(pattern)
        for n in names:
            n_low = n.lower()
            if fnmatch.fnmatchcase(n_low, low) or fnmatch.fnmatchcase(canonicalize_name(n), canon):
                return True
    return False


@lru_cache(maxsize=8)
def _pypi_index(one_edit_rank: int, two_edit_rank: int, combos: bool):
    """The shipped-list index under these options (the shared default one when they are defaults)."""
    from ..similarity import data
    from ..similarity.pypi import MatchOptions, PypiIndex

    default = MatchOptions()
    if (one_edit_rank, two_edit_rank, combos) == (default.one_edit_rank, default.two_edit_rank, True):
        return data.pypi_index()
    opts = MatchOptions(one_edit_rank=one_edit_rank, two_edit_rank=two_edit_rank)
    return PypiIndex(data.pypi_top(), opts, combos=combos, canonical=True, cores=data.pypi_cores())


@lru_cache(maxsize=32)
def _protected_index(names: Tuple[str, ...]):
    """An index over the policy's literal protected names (all equally important)."""
    from ..similarity.pypi import MatchOptions, PypiIndex

    # every protected name counts as top-ranked: no weak-evidence rank cut applies to them
    top = len(names) + 1
    return PypiIndex(names, MatchOptions(two_edit_rank=top, weak_rank=top, version_rank=top), combos=False)


@dataclass(frozen=True)
class PypiSettings:
    """What the rule needs from one policy, digested once per policy (not once per name)."""

    allow: Tuple[str, ...]
    literal: Tuple[str, ...]
    globs: Tuple[str, ...]
    index: Any


_SETTINGS: dict = {}


def pypi_settings(policy) -> PypiSettings:
    """The ``PypiSettings`` of ``policy`` (cached by the policy's digest)."""
    key = policy.digest
    got = _SETTINGS.get(key) if key else None
    if got is None:
        settings = policy.rule("typosquat")
        protected = tuple(policy.sources.get("protected", ()))
        got = PypiSettings(
            allow=tuple(policy.allow),
            literal=tuple(sorted({canonicalize_name(p) for p in protected if not _is_glob(p)})),
            globs=tuple(canonicalize_name(p) for p in protected if _is_glob(p)),
            index=_pypi_index(int(settings.get("one_edit_rank", 15000)), int(settings.get("two_edit_rank", 1000)),
                              bool(settings.get("combosquats", True))),
        )
        if key:
            _SETTINGS[key] = got
    return got


def check_name(name: str, policy) -> Optional[Finding]:
    """The typosquat finding for one PyPI name under ``policy``, or ``None``."""
    canonical = canonicalize_name(name)
    ps = pypi_settings(policy)
    if not canonical or (ps.allow and allowed((name, canonical), ps.allow)):
        return None
    literal, globs, index = ps.literal, ps.globs, ps.index
    if canonical in literal or (globs and any(fnmatch.fnmatchcase(canonical, g) for g in globs)):
        return None  # the org's own internal name
    if canonical in index.rank:
        return None  # popular names are never flagged
    match = None
    if literal:
        match = _protected_index(literal).match(canonical)
        if match is not None:
            kind = f"protected {match.kind}"
            match = (match.target, kind, match.how)
    if match is None and globs:
        from ..similarity.text import glob_lookalike

        pattern = glob_lookalike(canonical, globs)
        if pattern is not None:
            match = (pattern, "protected look-alike", "look-alike of a protected name pattern")
    if match is None:
        m = index.match(canonical)
        if m is None:
            return None
        match = (m.target, m.kind, m.how)
    target, kind, how = match
    return Finding(rule="typosquat", subject=name,
                   message=f"{name!r} looks like {target!r} ({kind}: {how})",
                   suggestion=f"did you mean {target!r}? (if {name!r} is intended, add it to the policy's allow list)",
                   details={"target": target, "kind": kind, "how": how})


@hookimpl
def guard_check_package(package, policy, context):
    """Flag a requirement whose name imitates a popular or protected name."""
    if not package.name:
        return None
    cache = context.cache.setdefault("typosquat", {}) if context is not None else {}
    key = (package.name, policy.digest)
    if key not in cache:
        cache[key] = check_name(package.name, policy)
    found = cache[key]
    if found is None:
        return None
    from dataclasses import replace

    return [replace(found, subject=package.subject, location=package.location)]


def check_repo(repo_id: str, repo_type: str, policy) -> Optional[Finding]:
    """The typosquat finding for one Hub repo id under ``policy``, or ``None``."""
    from ..similarity import data
    from ..similarity.hub import org_globs

    subject_names = (repo_id, f"hf:{repo_id}", f"hf:{repo_type}s/{repo_id}")
    if allowed(subject_names, policy.allow):
        return None
    sources = policy.sources
    protected_repos = tuple(policy.section("hub").get("protected_repos", ()))
    extra_orgs = tuple(sources.get("hub_orgs", ())) + org_globs(protected_repos) + \
        tuple(sources.get("protected", ()))
    m = data.hf_index().match(repo_id, repo_type,
                              extra_orgs=extra_orgs, protected_repos=protected_repos)
    if m is None:
        return None
    what = "org" if m.kind.startswith("org") else "repo"
    return Finding(rule="typosquat", subject="",
                   message=f"{repo_id!r} looks like the {what} {m.target!r} ({m.kind}: {m.how})",
                   suggestion=f"did you mean {m.suggestion!r}?",
                   details={"target": m.suggestion, "imitated": m.target, "kind": m.kind, "how": m.how})


@hookimpl
def guard_check_model(model, policy, context):
    """Flag a Hub repo whose org or name imitates a well-known org or popular repo."""
    from ..hubinfo import is_local_only

    if is_local_only(model):
        return None
    found = check_repo(model.repo_id, model.repo_type, policy)
    if found is None:
        return None
    from dataclasses import replace

    return [replace(found, subject=model.subject, location=model.location)]


@hookimpl
def guard_rules():
    """Describe the rule."""
    return [RULE]
