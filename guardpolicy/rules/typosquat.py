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

Evidence decides the action. Strong shapes (look-alike characters, one edit of a top-1,000
name, a swap, an affix or bait word on a top name, a protected name) are denied; weak shapes
(version suffixes, edits of less popular names, two popular names glued) are warned. Two
kinds of evidence clear a match (it is then a note, action ``info``): a popular package in the
same resolution requires the name (``huggingface-hub`` requires ``httpx2``), or, when the check
may use the network, the index shows a weak match is an established project. A weak match
created days ago that imitates a top name is denied.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Optional, Tuple

from ..durations import parse_duration
from ..hookspecs import hookimpl
from ..hubids import is_local_only
from ..indexmeta import index_for, project_facts
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
        "Exact hits on the known-malicious list are the `malicious` rule's. Strong evidence (look-alikes, "
        "one edit of a top-1,000 name, swaps, bait words) denies; weak evidence (version suffixes, edits of "
        "less popular names, first-letter rhymes) warns. A name a popular package requires in the same "
        "resolution, or (online) an established project on the index, is cleared (a note in JSON).",
    default_action="deny",
    allowlist=True,  # honours the policy's allow list (a lock on this rule covers allow entries too)
    options={
        "one_edit_rank": Option(int, 15000, "one-edit typos are matched against the N most popular PyPI names",
                                minimum=0),
        "two_edit_rank": Option(int, 5000, "two-edit typos of long names against the N most popular PyPI names (weak evidence)",
                                minimum=0),
        "combosquats": Option(bool, True, "flag two popular names glued together (pandas-numpy) and bait words"),
        "lookup": Option(bool, True, "when the check may use the network, ask the index about weak matches "
                                      "(first upload, releases)"),
        "established_age": Option(str, "365d", "a weak match first uploaded this long ago ..."),
        "established_releases": Option(int, 3, "... with at least this many releases is an established project, "
                                               "not denied", minimum=1),
        "new_age": Option(str, "30d", "a weak match first uploaded less than this ago is denied"),
    },
    example="requirements.txt:2: typosquat: 'reqeusts' looks like 'requests' (typo: transposition; "
            "strong evidence: two letters swapped in the #7 most popular name)",
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
    return PypiIndex(data.pypi_top(), opts, combos=combos, canonical=True, cores=data.pypi_cores()).warm()


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
            index=_pypi_index(int(settings.get("one_edit_rank", 15000)), int(settings.get("two_edit_rank", 5000)),
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
    rank = 0
    if match is not None:
        strong, evidence = True, f"imitates a protected name ({match[2]})"
    else:
        m = index.match(canonical)
        if m is None:
            return None
        match, strong, evidence, rank = (m.target, m.kind, m.how), m.strong, m.evidence, m.rank
    target, kind, how = match
    strength = "strong" if strong else "weak"
    return Finding(rule="typosquat", subject=name, action=None if strong else "warn",
                   message=f"{name!r} looks like {target!r} ({kind}: {how}; {strength} evidence: {evidence})",
                   suggestion=f"did you mean {target!r}? (if {name!r} is intended, add it to the policy's allow list)",
                   details={"target": target, "kind": kind, "how": how, "strength": strength, "evidence": evidence,
                            "rank": rank})


def _parents(context) -> dict:
    """Canonical name -> the names that require it, from every package in this check (built once per run).

    Sources record what the resolver or lock says: ``extra["requires"]`` (uv.lock, pylock.toml,
    pip's report) and ``extra["required_by"]`` (the hooked pip's resolver, ``uv pip compile``).
    """
    got = context.cache.get("typosquat-parents")
    if got is None:
        from ..model import PackageRef

        got = {}
        for s in context.subjects:
            if not isinstance(s, PackageRef) or not s.name:
                continue
            me = canonicalize_name(s.name)
            for child in s.extra.get("requires", ()) or ():
                got.setdefault(canonicalize_name(child), set()).add(me)
            by = s.extra.get("required_by")
            for parent in (by,) if isinstance(by, str) else by or ():
                got.setdefault(me, set()).add(canonicalize_name(parent))
        context.cache["typosquat-parents"] = got
    return got


def required_by_popular(canonical: str, context, ps: "PypiSettings") -> Optional[Tuple[str, ...]]:
    """The chain ``(popular, ..., parent)`` through which a popular package requires ``canonical``, or ``None``.

    A popular (top-list) or protected package vouches for what it requires, and so on down the
    graph; the user's own roots vouch for nothing, so a typo in a requirements file stays a typo.
    """
    if context is None or not context.subjects:
        return None
    parents = _parents(context)
    seen = {canonical}
    frontier = [(p, (p,)) for p in sorted(parents.get(canonical, ()))]
    while frontier:
        name, chain = frontier.pop(0)
        if name in seen:
            continue
        seen.add(name)
        if name in ps.index.rank or name in ps.literal:
            return tuple(reversed(chain))
        frontier.extend((p, chain + (p,)) for p in sorted(parents.get(name, ())) if p not in seen)
    return None


def _confirm_online(found: Finding, package, policy, context) -> Finding:
    """Grade a weak match with what the index says: established -> note; brand new and imitating a top name -> deny."""
    from dataclasses import replace

    settings = policy.rule("typosquat")
    key = ("typosquat-facts", package.name, index_for(package))
    if key not in context.cache:
        context.cache[key] = project_facts(key[2], package.name)
    facts = context.cache[key]
    if facts is None:
        return found
    details = dict(found.details)
    if not facts.exists:
        details["index"] = "no such project on the index"
        return replace(found, details=details, message=f"{found.message}; the index has no project of this name")
    import datetime as _dt

    now = context.cache.get("now") or _dt.datetime.now(_dt.timezone.utc)
    age = (now - facts.first_upload).total_seconds() if facts.first_upload else None
    details["index"] = {"first_upload": facts.first_upload.isoformat() if facts.first_upload else None,
                        "releases": facts.releases}
    since = facts.first_upload.date().isoformat() if facts.first_upload else "?"
    if age is not None and age >= parse_duration(str(settings.get("established_age", "365d"))) and \
            facts.releases >= int(settings.get("established_releases", 3)):
        return replace(found, action="info", details={**details, "cleared_by": "index"},
                       message=f"{found.message}; cleared: an established project (first upload {since}, "
                               f"{facts.releases} releases)")
    if age is not None and age < parse_duration(str(settings.get("new_age", "30d"))):
        return replace(found, action=None, details={**details, "strength": "strong"},
                       message=f"{found.message}; first uploaded {since}: a new project imitating a top name")
    return replace(found, message=f"{found.message}; first upload {since}, {facts.releases} releases")


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

    found = replace(found, subject=package.subject, location=package.location)
    chain = required_by_popular(canonicalize_name(package.name), context, pypi_settings(policy))
    if chain is not None:
        return [replace(found, action="info", details={**found.details, "cleared_by": "context",
                                                       "required_by": chain[-1], "required_by_chain": list(chain)},
                        message=f"{found.message}; cleared: required by {' -> '.join(chain)} in this resolution")]
    if found.details.get("strength") == "weak" and context is not None and not context.options.offline and \
            policy.rule("typosquat").get("lookup", True):
        found = _confirm_online(found, package, policy, context)
    return [found]


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
