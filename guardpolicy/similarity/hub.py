"""Match a Hugging Face repo id against popular repos and well-known organisations.

A Hub repo id is ``org/name`` (or a legacy id without an org, such as ``bert-base-uncased``).
Only an org's members can publish under it, so:

- a **known org** (shipped list, policy ``hub_orgs``, protected orgs) is never a squat,
  whatever the repo name;
- an **unknown org that looks like a known one** (same fold, one or two edits, or a known org
  plus an impersonation affix such as ``-official``, ``-research``, ``-hf``, digits) is a squat
  whatever the repo name;
- an unknown org is otherwise judged by the repo **name**: a typo of a popular repo's name is a
  squat, a size/version/sibling variant (``opt-2.7b`` vs ``opt-6.7b``, ``-Instruct``) is not,
  and reusing a popular name exactly (a mirror or re-upload) is not judged here;
- a **legacy id** is judged by its name against popular ids the same way.

Everything is compared lower-cased: the Hub resolves ids case-insensitively.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from functools import cached_property
from typing import Dict, Iterable, List, Mapping, Optional, Tuple

from .text import are_variants, describe_edit, fold, glob_lookalike, org_cores, split_repo_id, strip_separators


@dataclass(frozen=True)
class HubMatch:
    """What a repo id imitates: ``target`` (an org, or a full repo id) and ``kind``.

    ``kind`` is ``id-look-alike`` (the whole id folds like a popular one, e.g. the slash moved),
    ``org-look-alike`` (fold-equal org), ``org-typo`` (edits to a known org),
    ``org-affix`` (known org plus an impersonation affix), ``name-typo`` (a typo of a popular
    repo name), ``protected`` (a protected repo name under another org). ``suggestion`` is
    the repo id the user most likely meant.
    """

    target: str
    kind: str
    how: str
    suggestion: str


class HubIndex:
    """Popular model and dataset ids plus known orgs, indexed for look-alike matching."""

    def __init__(self, models: Iterable[str] = (), datasets: Iterable[str] = (),
                 orgs: Mapping[str, bool] | Iterable[str] = ()):
        """Index popular ``models`` and ``datasets`` ids and known ``orgs`` (``{org: widely known}`` or names)."""
        self.repos: Dict[str, Dict[str, str]] = {"model": {}, "dataset": {}}
        for kind, ids in (("model", models), ("dataset", datasets)):
            for rid in ids:
                self.repos[kind].setdefault(rid.lower(), rid)
        #: lower-cased org -> (display name, widely known)
        self.orgs: Dict[str, Tuple[str, bool]] = {}
        items = orgs.items() if isinstance(orgs, Mapping) else ((o, True) for o in orgs)
        for org, wellknown in items:
            self.orgs[org.lower()] = (org, bool(wellknown) or self.orgs.get(org.lower(), ("", False))[1])
        for table in self.repos.values():
            for rid in table.values():
                org, _ = split_repo_id(rid)
                if org and org.lower() not in self.orgs:
                    self.orgs[org.lower()] = (org, False)

    # ---- tables ---------------------------------------------------------------------------

    @cached_property
    def org_by_fold(self) -> Dict[str, str]:
        """Folded org -> lower-cased known org (widely known ones win a tie)."""
        out: Dict[str, str] = {}
        for low, (_, wellknown) in sorted(self.orgs.items(), key=lambda kv: not kv[1][1]):
            out.setdefault(fold(low), low)
        return out

    @cached_property
    def _by_id_fold(self) -> Dict[str, Dict[str, str]]:
        """Per repo type: folded whole id (org and name run together) -> display id."""
        return {kind: {fold(low.replace("/", "")): rid for low, rid in table.items() if "/" in low}
                for kind, table in self.repos.items()}

    @cached_property
    def _plain_orgs(self) -> Dict[str, str]:
        """Known orgs without separators -> lower-cased org (edit distance runs on these)."""
        return {strip_separators(k): k for k in self.orgs}

    @cached_property
    def _names(self) -> Dict[str, Dict[str, List[str]]]:
        """Per repo type: lower-cased repo name -> full display ids having that name."""
        out: Dict[str, Dict[str, List[str]]] = {}
        for kind, table in self.repos.items():
            names: Dict[str, List[str]] = {}
            for low, rid in table.items():
                names.setdefault(split_repo_id(low)[1], []).append(rid)
            out[kind] = names
        return out

    @cached_property
    def _names_by_length(self) -> Dict[str, Dict[int, List[str]]]:
        """Per repo type: lower-cased popular names grouped by length (edit-distance buckets)."""
        out: Dict[str, Dict[int, List[str]]] = {}
        for kind, names in self._names.items():
            by_len: Dict[int, List[str]] = {}
            for n in names:
                by_len.setdefault(len(n), []).append(n)
            out[kind] = by_len
        return out

    @cached_property
    def _names_by_fold(self) -> Dict[str, Dict[str, str]]:
        """Per repo type: folded popular name -> lower-cased name."""
        return {kind: {fold(n): n for n in sorted(names, reverse=True)} for kind, names in self._names.items()}

    # ---- matching -------------------------------------------------------------------------

    def is_known_org(self, org: str, extra_orgs: Iterable[str] = ()) -> bool:
        """True for a shipped or policy-given org (globs allowed in ``extra_orgs``)."""
        low = org.lower()
        return low in self.orgs or any(fnmatch.fnmatchcase(low, e.lower()) for e in extra_orgs)

    def org_lookalike(self, org: str, extra_orgs: Iterable[str] = ()) -> Optional[Tuple[str, str, str]]:
        """The known org an unknown ``org`` imitates: ``(known org, kind, how)`` or ``None``."""
        from rapidfuzz import process
        from rapidfuzz.distance import OSA

        low = org.lower()
        extra = [e.lower() for e in extra_orgs if not any(ch in e for ch in "*?[")]
        by_fold = with_extras(self.org_by_fold, extra, fold)
        f = fold(low)
        hit = by_fold.get(f)
        if hit is not None:
            return hit, "org-look-alike", describe_edit(low, hit)
        pattern = glob_lookalike(low, extra_orgs)
        if pattern is not None:
            return pattern, "org-look-alike", "look-alike of a protected org pattern"
        for core, affix in org_cores(strip_separators(low)).items():
            hit = by_fold.get(fold(core))
            if hit is not None:
                return hit, "org-affix", f"{hit} + {affix!r}"
        if len(f) <= 4:
            return None  # short names: exact folding only
        plain_known = with_extras(self._plain_orgs, extra, strip_separators)
        plain = strip_separators(low)
        hits = process.extract(plain, list(plain_known), scorer=OSA.distance, score_cutoff=2, limit=None)
        best = None
        for cand, dist, _ in hits:
            known = plain_known[cand]
            if len(cand) <= 4 or (dist == 2 and not (len(plain) >= 7 and (self.orgs.get(known, ("", True))[1]))):
                continue  # two edits only for long names against widely known orgs
            key = (dist, not self.orgs.get(known, ("", True))[1])
            if best is None or key < best[0]:
                best = (key, known)
        if best is not None:
            known = best[1]
            return known, "org-typo", describe_edit(low, known)
        return None

    def name_typo(self, name: str, repo_type: str) -> Optional[Tuple[str, str]]:
        """A popular repo id whose name ``name`` mistypes (not a variant): ``(repo id, how)``."""
        from rapidfuzz import process
        from rapidfuzz.distance import OSA

        low = name.lower()
        names = self._names.get(repo_type)
        if not names or low in names:
            return None  # exact reuse of a popular name: a mirror, not a typo
        f = fold(low)
        same = self._names_by_fold[repo_type].get(f)
        if same is not None:
            return names[same][0], describe_edit(low, same)
        if len(f) <= 4:
            return None  # short names: exact folding only
        cutoff = 1 if len(f) < 10 else 2
        by_len = self._names_by_length[repo_type]
        best = None
        for length in range(len(low) - cutoff, len(low) + cutoff + 1):
            bucket = by_len.get(length)
            if not bucket:
                continue
            for cand, dist, _ in process.extract(low, bucket, scorer=OSA.distance, score_cutoff=cutoff, limit=None):
                # siblings differ by a size or version; a doubled character or two swapped ones inside
                # a size (qwen11.5, m5t-base) is a slip on the popular name, not a new sibling
                if are_variants(low, cand) and not _slip(low, cand):
                    continue
                key = (dist, len(cand), cand)
                if best is None or key < best[0]:
                    best = (key, cand)
        if best is None:
            return None
        cand = best[1]
        ids = names[cand]
        return ids[0], describe_edit(low, cand)

    def match(self, repo_id: str, repo_type: str = "model", extra_orgs: Iterable[str] = (),
              protected_repos: Iterable[str] = ()) -> Optional[HubMatch]:
        """The popular repo or org ``repo_id`` imitates, or ``None``."""
        low = repo_id.lower()
        table = self.repos.get(repo_type, {})
        if low in table:
            return None
        org, name = split_repo_id(repo_id)
        protected = [p for p in protected_repos]
        if protected:
            hit = self._protected(org, name, protected)
            if hit is not None:
                return hit
        if org is not None:
            if self.is_known_org(org, extra_orgs):
                return None  # only the org's members can publish there
            look = self.org_lookalike(org, extra_orgs)
            if look is not None:
                known, kind, how = look
                display = self.orgs.get(known, (known, False))[0]
                real = f"{display}/{name}"
                named = self._names.get(repo_type, {}).get(name.lower())
                if named:
                    same_org = [r for r in named if r.lower().startswith(known + "/")]
                    real = same_org[0] if same_org else real
                return HubMatch(display, kind, how, real)
            # separator games across the slash: meta-llama/Llama-3.1-8B as metal/lama-Llama-3.1-8B
            same = self._by_id_fold.get(repo_type, {}).get(fold(low.replace("/", "")))
            if same is not None:
                return HubMatch(same, "id-look-alike", describe_edit(low, same.lower()), same)
        typo = self.name_typo(name, repo_type)
        if typo is not None:
            rid, how = typo
            return HubMatch(rid, "name-typo", how, rid)
        return None

    def _protected(self, org: Optional[str], name: str, protected: List[str]) -> Optional[HubMatch]:
        """A protected repo's name (or a typo of it) published under a different org."""
        for pat in protected:
            p_org, p_name = split_repo_id(pat)
            if org is not None and p_org is not None and fnmatch.fnmatchcase(org.lower(), p_org.lower()):
                return None  # the protected org itself
        for pat in protected:
            p_org, p_name = split_repo_id(pat)
            if any(ch in p_name for ch in "*?["):
                continue
            if name.lower() == p_name.lower() or (len(name) > 4 and fold(name) == fold(p_name)):
                return HubMatch(pat, "protected", "protected repo name under another org", pat)
        return None


def _slip(typed: str, popular: str) -> bool:
    """True when ``typed`` is ``popular`` with one character doubled or two neighbours swapped, separators kept.

    ``qwen11.5`` for ``qwen1.5`` and ``m5t-base`` for ``mt5-base`` are slips; ``opt-13.3b`` for
    ``opt-1.3b`` is not (a different number), nor is anything that moves a separator.
    """
    if len(typed) == len(popular) + 1:
        for i in range(len(typed)):
            if typed[:i] + typed[i + 1:] == popular:
                return (i > 0 and typed[i - 1] == typed[i]) or (i + 1 < len(typed) and typed[i + 1] == typed[i])
        return False
    if len(typed) == len(popular):
        diff = [i for i in range(len(typed)) if typed[i] != popular[i]]
        return (len(diff) == 2 and diff[1] == diff[0] + 1 and typed[diff[0]] == popular[diff[1]]
                and typed[diff[1]] == popular[diff[0]])
    return False


def with_extras(known: Mapping[str, str], extra: List[str], key) -> Mapping[str, str]:
    """``known`` plus ``key(e) -> e`` for each policy-given ``extra`` org whose key is new.

    A copy when there are extras (the shipped index is shared), ``known`` itself otherwise.
    """
    if not extra:
        return known
    out = dict(known)
    for e in extra:
        out.setdefault(key(e), e)
    return out


def org_globs(values: Iterable[str]) -> Tuple[str, ...]:
    """Org names (or globs) from policy lists that may hold org names, repo ids or package globs."""
    out = []
    for v in values:
        org, _ = split_repo_id(v)
        out.append(org if org is not None else v)
    return tuple(out)
