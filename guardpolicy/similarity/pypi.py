"""Match a PyPI project name against a ranked list of popular (or protected) names.

``PypiIndex(ranked_names).match(name)`` answers "which popular project does this name
imitate, and how?" in tens of microseconds: exact dictionary look-ups for look-alikes,
affixes and combinations, and rapidfuzz's C batch functions with score cutoffs over small
pre-bucketed candidate lists for edit-distance typos (never a Python loop over the list).

Pieces are built lazily on first use, so asking whether a popular name is popular costs one
set look-up.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass, replace
from functools import cached_property
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

from .text import (
    PREFIXES,
    SUFFIXES,
    affix_cores,
    canonicalize,
    combo_splits,
    describe_edit,
    fold,
    fold_many,
    strip_trailing_version,
)


@dataclass(frozen=True)
class MatchOptions:
    """Thresholds of the matcher. The defaults are tuned on the top-15,000 list (see docs/typosquat.md)."""

    #: folded names this long or shorter are matched only by exact folding (no edit distance);
    #: at least 4: the one-edit buckets key on two letters at each end of names of 5+ letters
    short_name: int = 4
    #: one edit (a swap counts as one) against targets ranked better than this
    one_edit_rank: int = 15000
    #: two edits (or a reordering of the same letters) only for names at least this long ...
    long_name: int = 9
    #: ... against targets ranked better than this (the most popular ones)
    two_edit_rank: int = 5000
    #: both halves of a combosquat must be ranked better than this
    combo_rank: int = 500
    #: a popular token used as a component of at least this many popular names is an ordinary word
    generic_component: int = 30
    #: edit-distance matching of a name with its affixes stripped needs a core at least this long
    core_fuzzy_min: int = 6
    #: a popular token heading at least this many popular names is a plugin host (``pytest-``,
    #: ``django-``, ``flask-``): host + popular name is how plugins are named (``pytest-django``)
    plugin_host: int = 30
    #: ... unless the glued name is one of the N most popular names, the ones squatters bait with
    plugin_bait_rank: int = 20
    #: weak evidence (a plural, a numbered sibling, the bare word a ``py``-prefixed name was made
    #: from) is acted on only against targets ranked better than this
    weak_rank: int = 1000
    #: a bare version suffix (``xlrd2``, ``fabric2``) only against targets ranked better than this
    version_rank: int = 100
    #: strong evidence (denied) needs a target ranked better than this, except look-alikes, swaps
    #: and bait words; matches against less popular names are weak evidence (warned)
    strong_rank: int = 1000


#: Words that turn a popular name into bait: "install numpy", "requests setup", "pip flask", and
#: the system modules attackers glue to a popular name (``os-numpy``, ``sys-selenium``).
BAIT_WORDS = frozenset({
    "install", "installer", "setup", "pip", "update", "updater", "upgrade", "download",
    "downloader", "print", "os", "sys", "subprocess", "shell", "exec",
})


@dataclass(frozen=True)
class Match:
    """The popular name a candidate imitates.

    ``kind`` is ``look-alike`` (same fold: homoglyphs, separators, case), ``affix``
    (a popular name plus or minus ``python-``, ``-py``, a version, ...), ``typo`` (one edit,
    or two for long names), ``reordering`` (same letters reshuffled), or ``combosquat``
    (two popular names, or a popular name and a bait word, glued). ``how`` names the edit
    (``transposition``, ``keyboard-substitution``, ``prefix python3-``, ...).
    """

    target: str
    kind: str
    how: str
    rank: int
    #: strong evidence (look-alike characters, one edit of a top name, a swap, an affix or bait word
    #: on a top name) is denied; weak evidence (shapes real long-tail projects share) is warned
    strong: bool = True
    #: the evidence in words, for the finding (``one edit of the #45 most popular name``)
    evidence: str = ""
    #: the canonical name that was judged
    candidate: str = ""
    #: the affix or bait word the match turned on (``python3-``, ``2``, ``install``), ``""`` for none
    affix: str = ""
    #: an affix and a typo together (``python3-requets``)
    with_typo: bool = False


class PypiIndex:
    """An index over canonical names ordered by popularity (first = most popular)."""

    def __init__(self, ranked_names: Iterable[str], options: MatchOptions = MatchOptions(), combos: bool = True,
                 canonical: bool = False, cores: Optional[Dict[str, str]] = None):
        """Index ``ranked_names`` (most popular first).

        ``canonical=True`` promises the names are already PEP 503 normalised (the shipped list
        is), which skips normalising 15,000 names at start-up. ``cores`` is a precomputed
        ``by_core`` table (the shipped ``pypi_cores.tsv``); computed on demand when omitted.
        """
        if not canonical:
            ranked_names = (canonicalize(n) for n in ranked_names)
        self.names: List[str] = [n for n in dict.fromkeys(ranked_names) if n]
        self.rank: Dict[str, int] = {n: i for i, n in enumerate(self.names)}
        self.options = options
        self.combos = combos
        self._warmed = False
        if cores is not None:
            self.by_core = cores

    def __contains__(self, name: str) -> bool:
        """True when ``name`` (any spelling) is in the list."""
        return canonicalize(name) in self.rank

    def __len__(self) -> int:
        """How many distinct names the index holds."""
        return len(self.names)

    def warm(self) -> "PypiIndex":
        """Build every look-up table now (~20 ms for 15,000 names, rapidfuzz's import included).

        ``match`` calls it on its first use, so every name after the first that needs a look-up
        costs what the thousandth does, while a process that only meets popular names (most
        installs: the rule stops at ``rank``) never builds a table.
        """
        if self._warmed:
            return self
        self._warmed = True
        for attr in ("by_fold", "by_core", "by_versioned_core", "by_plain", "_by_length", "_two_edit_buckets",
                     "_anagrams", "generic_tokens", "plugin_hosts", "by_words", "_near", "_two_near"):
            getattr(self, attr)
        from rapidfuzz import process  # noqa: F401  (imported here so the first fuzzy match does not pay for it)
        from rapidfuzz.distance import OSA  # noqa: F401

        # run every path a few times on made-up names: the interpreter specialises the code on its
        # first executions, which otherwise land on the first real names judged (~0.5 ms, once)
        for _ in range(4):
            for probe in _WARM_PROBES:
                self.match(probe)
        return self

    # ---- lazily built look-up tables -------------------------------------------------------

    @cached_property
    def by_fold(self) -> Dict[str, str]:
        """Folded form -> most popular name with that fold."""
        # reversed, so the most popular name is written last and wins
        return dict(zip(reversed(fold_many(self.names)), reversed(self.names)))

    @cached_property
    def by_core(self) -> Dict[str, str]:
        """A popular name with one affix stripped -> that popular name (``dateutil`` -> ``python-dateutil``)."""
        return popular_cores(self.names)

    @cached_property
    def by_versioned_core(self) -> Dict[str, str]:
        """Cores of popular names that end in a version (``pysqlite3`` -> ``pysqlite``, ``sqlite``).

        Only consulted for candidates that carry an affix themselves, so a bare ``ldap`` is
        not taken for ``ldap3`` while ``python-sqlite`` is taken for ``pysqlite3``.
        """
        out: Dict[str, str] = {}
        for name in self.names:
            if not name[-1].isdigit():
                continue
            base = strip_trailing_version(name)
            if base == name or len(base) < 4:
                continue
            for core in (base, *affix_cores(base, max_steps=1)):
                if len(core) >= 4 and core not in self.rank:
                    out.setdefault(core, name)
        return out

    @cached_property
    def by_plain(self) -> Dict[str, str]:
        """Name without separators -> most popular name with that spelling (edit distance works on these)."""
        plain = "\n".join(self.names).replace("-", "").split("\n")
        return dict(zip(reversed(plain), reversed(self.names)))

    @cached_property
    def _by_length(self) -> Dict[int, List[str]]:
        """Plain spellings of the one-edit targets, grouped by length."""
        out: Dict[int, List[str]] = defaultdict(list)
        short = self.options.short_name
        for plain, name in self.by_plain.items():
            if len(plain) > short and self.rank[name] < self.options.one_edit_rank:
                out[len(plain)].append(plain)
        return dict(out)

    @cached_property
    def _near(self) -> Tuple[Dict[Tuple[int, str], list], Dict[Tuple[int, str], list]]:
        """One-edit targets by ``(length, first two letters)`` and by ``(length, last two letters)``.

        One edit (insertion, omission, substitution or adjacent swap) of a name of five or more
        letters leaves its first two or its last two letters alone, so a query needs the targets
        of length n-1..n+1 sharing either end: a few tiny lists instead of the whole list.
        Built whole at ``warm`` (a few ms).
        """
        by_first: Dict[Tuple[int, str], list] = defaultdict(list)
        by_last: Dict[Tuple[int, str], list] = defaultdict(list)
        for length, plains in self._by_length.items():
            for plain in plains:
                by_first[(length, plain[:2])].append(plain)
                by_last[(length, plain[-2:])].append(plain)
        return dict(by_first), dict(by_last)

    def _near_buckets(self, n: int, plain: str) -> Tuple[list, ...]:
        """The one-edit candidates of ``plain`` (length ``n`` >= 5): one list (a target may repeat)."""
        by_first, by_last = self._near
        first, last = plain[:2], plain[-2:]
        out: list = []
        for length in (n - 1, n, n + 1):
            out += by_first.get((length, first), ())
            out += by_last.get((length, last), ())
        return (out,)

    @cached_property
    def _two_edit_buckets(self) -> Dict[int, list]:
        """Plain long names of the most popular targets, by length."""
        out: Dict[int, list] = defaultdict(list)
        for name in self.names[: self.options.two_edit_rank]:
            plain = name.replace("-", "")
            if len(plain) >= self.options.long_name - 2 and self.by_plain[plain] == name:
                out[len(plain)].append(plain)
        return dict(out)

    @cached_property
    def _two_near(self) -> Tuple[Dict[Tuple[int, str], list], Dict[Tuple[int, str], list]]:
        """Two-edit targets by ``(length, first letter)`` and ``(length, last letter)`` (queries read n-2..n+2).

        Two slips that change both the first and the last letter of a long name are not a typo's
        shape (and a changed first letter is weak evidence anyway), so two buckets suffice.
        """
        by_first: Dict[Tuple[int, str], list] = defaultdict(list)
        by_last: Dict[Tuple[int, str], list] = defaultdict(list)
        for length, plains in self._two_edit_buckets.items():
            for plain in plains:
                by_first[(length, plain[0])].append(plain)
                if plain[-1] != plain[0]:
                    by_last[(length, plain[-1])].append(plain)
        return dict(by_first), dict(by_last)

    @cached_property
    def by_words(self) -> Dict[Tuple[str, ...], str]:
        """The dash-separated words of each multi-word popular name, sorted -> the most popular such name.

        ``learn-scikit`` and ``storage-cloud-google`` reorder the words of ``scikit-learn`` and
        ``google-cloud-storage``: a reordering, not a new name.
        """
        out: Dict[Tuple[str, ...], str] = {}
        for name in self.names:
            if "-" in name:
                out.setdefault(tuple(sorted(name.split("-"))), name)
        return out

    @cached_property
    def _anagrams(self) -> Dict[str, str]:
        """Sorted letters of the most popular names -> name (``matlibplot`` reorders ``matplotlib``)."""
        out: Dict[str, str] = {}
        for name in self.names[: self.options.two_edit_rank]:
            plain = name.replace("-", "")
            if len(plain) >= self.options.long_name:
                out.setdefault("".join(sorted(plain)), name)
        return out

    @cached_property
    def generic_tokens(self) -> frozenset:
        """Popular names that are ordinary component words (``utils``, ``core``, ``client``, ``sdk``).

        A token used after the first dash by many popular names is a word, not a brand:
        gluing it to a popular name (``flask-utils``) is how real projects are named.
        """
        later = Counter(t for n in self.names if "-" in n for t in n.split("-")[1:])
        return frozenset(t for t, k in later.items() if k >= self.options.generic_component)

    # ---- matching -------------------------------------------------------------------------

    def _best(self, names: Iterable[str]) -> Optional[str]:
        """The most popular of ``names`` (``None`` when empty)."""
        best = None
        for n in names:
            if best is None or self.rank[n] < self.rank[best]:
                best = n
        return best

    def fuzzy(self, plain: str, one_edit_only: bool = False) -> Optional[Tuple[str, str]]:
        """The most popular name within one edit (two for long names) of ``plain``: ``(name, kind)``.

        ``plain`` is a canonical name without separators. Edits are counted on the plain
        spelling, not the folded one: look-alikes are caught exactly, and a look-alike plus
        a typo at once is too loose a match to act on.
        """
        from rapidfuzz import process
        from rapidfuzz.distance import OSA

        opts = self.options
        n = len(plain)
        if n <= opts.short_name:
            return None
        hits = []
        for bucket in self._near_buckets(n, plain):
            if bucket:
                hits.extend(h[0] for h in process.extract(plain, bucket, scorer=OSA.distance,
                                                          score_cutoff=1, limit=None))
        hits = [h for h in hits if not self._weak_typo(plain, h)]
        if hits:
            return self._best(self.by_plain[h] for h in hits), "typo"
        if one_edit_only:
            return None
        if n >= opts.long_name:
            by_first, by_last = self._two_near
            bucket: list = []
            for length in range(n - 2, n + 3):
                bucket += by_first.get((length, plain[0]), ())
                bucket += by_last.get((length, plain[-1]), ())
            if bucket:
                hits.extend(h[0] for h in process.extract(plain, bucket, scorer=OSA.distance,
                                                          score_cutoff=2, limit=None))
            hits = [h for h in hits if not self._weak_typo(plain, h)]
            if hits:
                return self._best(self.by_plain[h] for h in hits), "typo"
        if n >= opts.long_name:
            name = self._anagrams.get("".join(sorted(plain)))
            if name is not None and name[0] == plain[0]:
                return name, "reordering"
        return None

    def match(self, name: str) -> Optional[Match]:
        """The popular name ``name`` imitates, or ``None``; graded strong or weak. A popular name never matches."""
        if not self._warmed:
            self.warm()
        m = self._match(name)
        if m is None:
            return None
        m = replace(m, candidate=canonicalize(name))
        strong, evidence = self.grade(m)
        return replace(m, strong=strong, evidence=evidence)

    def grade(self, m: Match) -> Tuple[bool, str]:
        """``(strong, evidence)`` for a match: which shape, against how popular a name."""
        top = m.rank < self.options.strong_rank
        where = f"the #{m.rank + 1} most popular name" if top else f"a name ranked #{m.rank + 1}"
        very_top = m.rank < self.options.version_rank
        if m.kind == "look-alike":
            if m.how == "separator":  # gitchangelog / git-changelog: PyPI itself refuses new names like these
                return very_top, f"the same letters as {where}, other separators"
            return True, f"look-alike characters ({m.how}) of {where}"
        if m.kind == "typo":
            if m.how == "edits":
                return False, f"two edits of {where}"
            if m.how == "namespace sibling":
                return False, f"the last word of {where} changed (a namespace family's member)"
            shape = sibling_shape(m.candidate, m.target) if m.candidate else None
            if shape:
                return False, f"one edit of {where}, {shape}"
            if m.how == "transposition":
                return True, f"two letters swapped in {where}"
            return top, f"one edit ({m.how}) of {where}"
        if m.kind == "reordering":
            return top, f"the letters or words of {where} reordered"
        if m.kind == "combosquat":
            bait = bool(m.affix)
            return bait, (f"a bait word glued to {where}" if bait else f"two popular names glued ({m.how})")
        if m.kind == "affix":
            if m.with_typo:  # strong only on the very top names, the ones squatters bait with
                return m.rank < self.options.version_rank, f"an affix and a typo of {where}"
            label = m.affix
            if _VERSION_ONLY.fullmatch(label.strip("-+")) or all(_VERSION_ONLY.fullmatch(p) for p in label.split("+") if p):
                return False, f"a version added to {where}"
            if label == "-cli" and not very_top:  # a project's own command-line front end (typer-cli)
                return False, f"a -cli front end of {where}"
            if any(part.strip("-") in ("py", "python", "py3", "python3") or not part for part in label.split("+")) and \
                    any(_VERSION_ONLY.fullmatch(part.strip("-")) for part in label.split("+")):
                return False, f"a version added to {where}"
            if label.strip("-") in ("py", "python", "py3", "python3", "pyt"):
                # pyamqp, py-bcrypt, datadogpy: how bindings of mid-ranked projects are named
                return very_top, f"a python affix ({label}) on {where}"
            return top, f"an affix ({label}) on {where}"
        return top, f"{m.kind} of {where}"

    def _match(self, name: str) -> Optional[Match]:
        """The popular name ``name`` imitates (ungraded), or ``None``."""
        c = canonicalize(name)
        if not c or c in self.rank:
            return None
        f = fold(c)
        # 1. looks the same (case, separators, l/I/1, o/0, rn/m, vv/w, cl/d)
        hit = self.by_fold.get(f)
        if hit is not None:
            return Match(hit, "look-alike", describe_edit(c, hit), self.rank[hit])
        # 1b. the words of a popular name reordered (learn-scikit), or a py/python word swapped or dropped
        if "-" in c:
            words = c.split("-")
            hit = self.by_words.get(tuple(sorted(words)))
            if hit is not None and hit != c:
                return Match(hit, "reordering", "words reordered", self.rank[hit])
            for i, word in enumerate(words):
                for alt in _PY_TERMS.get(word, ()):
                    form = words[:i] + ([alt] if alt else []) + words[i + 1:]
                    for cand in ("-".join(form), "".join(form)):
                        if cand and cand != c and cand in self.rank:
                            return Match(cand, "affix", f"'{word}' {'for ' + repr(alt) if alt else 'added'}", self.rank[cand],
                                         affix=word)
        # 2. a popular name with an affix added, removed or swapped (python3-dateutil, requests-py)
        cores = affix_cores(c)
        found = []
        swapped = self.by_core.get(c)
        if swapped is not None and not self._bare_product(c, swapped) and self.rank[swapped] < self.options.weak_rank:  # dateutil -> python-dateutil
            found.append((self.rank[swapped], swapped, swapped.replace(c, "").strip("-") or "affix"))
        for core, how in cores.items():
            target = core if core in self.rank else self.by_fold.get(fold(core)) or self.by_core.get(core)
            if target is None and not any(ch.isdigit() for ch in how):
                # python-sqlite -> pysqlite3: an affixed name against a numbered popular name's core
                target = self.by_versioned_core.get(core)
            if target is not None and target != c:
                # a bare version on a mid-ranked name (xlrd2, fabric2) ranks after every other affix
                found.append((self.rank[target] + (1 << 20 if self._weak_version(how, target) else 0), target, how))
        if found:
            rank, target, how = min(found)
            return Match(target, "affix", f"{how!r} added or swapped", self.rank[target], affix=how)
        # 3. one edit (two for long names, or a reordering) of a popular name
        fz = self.fuzzy(c.replace("-", ""))
        if fz is not None and not word_swap(c, fz[0]):
            target, kind = fz
            if namespace_siblings(c, target):  # types-boto3-sts / types-boto3-sqs: weak, graded below
                return Match(target, "typo", "namespace sibling", self.rank[target])
            return Match(target, kind, describe_edit(c, target), self.rank[target])
        # 4. two popular names glued, or a popular name and a bait word
        if self.combos:
            combo = self.combo(c)
            if combo is not None:
                return combo
        # 5. affix plus a typo (python3-requets)
        found = []
        for core, how in cores.items():
            pc = core.replace("-", "")
            if len(pc) >= self.options.core_fuzzy_min:
                fz = self.fuzzy(pc, one_edit_only=True)
                # a core that IS a popular name was judged in step 2 (a weak version suffix is no typo);
                # an edit at the core's first letter sits on the affix seam (py-tgcalls / ntgcalls,
                # pydoctest / xdoctest): where the affix ends is a guess, so it is no evidence
                if fz is not None and fz[0].replace("-", "") != pc and fz[0][0] == pc[0]:
                    found.append((self.rank[fz[0]], fz[0], how))
        if found:
            rank, target, how = min(found)
            return Match(target, "affix", f"{how!r} added, and a typo", rank, affix=how, with_typo=True)
        return None

    def _bare_product(self, candidate: str, popular: str) -> bool:
        """True when ``popular`` is ``candidate`` plus a product suffix (``emmet`` / ``emmet-api``).

        A project's ``-sdk``, ``-cli``, ``-api`` or ``-client`` distribution is published next to
        the bare product name by the same vendor, so the bare name alone is weak evidence (unlike
        ``dateutil`` / ``python-dateutil``, where the prefix only says "for Python").
        """
        return popular.startswith(candidate + "-") and popular[len(candidate) + 1:] in PRODUCT_SUFFIXES

    def _weak_version(self, how: str, target: str) -> bool:
        """True when the only affix is a version and ``target`` is not among the most popular names.

        ``xlrd2``, ``fabric2``, ``pypdf3`` are real forks and successors of mid-ranked projects;
        a version stuck on a name is bait mainly for the very popular ones (``requests2``).
        """
        if how == "-cli":  # a project's own command-line front end (typer-cli, langchain-cli)
            return self.rank[target] >= self.options.version_rank
        return _VERSION_ONLY.fullmatch(how) is not None and self.rank[target] >= self.options.version_rank

    def _weak_typo(self, plain: str, hit: str) -> bool:
        """True when the one edit between ``plain`` and the popular ``hit`` is not a typo's shape.

        A letter put before a whole popular name coins a new word (``jdatetime``, ``uxarray``,
        ``ctransformers``: the J, U and C ports); squatters slip inside a name instead. Below the
        most popular targets, a plural (``kernel`` / ``kernels``) or a number (``cu12`` /
        ``cu13``, ``atomate`` / ``atomate2``) names a sibling project, not a typo.
        """
        if plain[1:] == hit:
            return True
        if self.rank[self.by_plain[hit]] < self.options.weak_rank:
            return False
        if len(plain) == len(hit) and plain[0] != hit[0] and plain[1:] == hit[1:]:
            return True  # a rhyme (mocket / locket, rowan / roman): a new word, not a slip
        return numbered_siblings(plain, hit) or plural_pair(plain, hit)

    @cached_property
    def plugin_hosts(self) -> frozenset:
        """Popular names that head many popular names (``pytest``, ``django``, ``flask``, ``sphinx``)."""
        first = Counter(n.split("-", 1)[0] for n in self.names if "-" in n)
        return frozenset(t for t, k in first.items() if k >= self.options.plugin_host and t in self.rank)

    def is_brand(self, token: str) -> bool:
        """True when ``token`` is a popular, distinctive project name (not an ordinary word)."""
        r = self.rank.get(token)
        return (r is not None and r < self.options.combo_rank and len(token) >= 3
                and token not in self.generic_tokens and token not in BAIT_WORDS)

    def combo(self, canonical: str) -> Optional[Match]:
        """``pandas-numpy`` (two brands) or ``numpy-install`` (brand + bait word) -> a match."""
        for left, right in combo_splits(canonical):
            lb, rb = self.is_brand(left), self.is_brand(right)
            if lb and rb:
                if left in self.plugin_hosts and self.rank[right] >= self.options.plugin_bait_rank:
                    continue  # pytest-django, flask-sqlalchemy: a plugin, not two names glued
                target = left if self.rank[left] <= self.rank[right] else right
                return Match(target, "combosquat", f"{left} + {right}", self.rank[target])
            if lb and right in BAIT_WORDS:
                return Match(left, "combosquat", f"{left} + {right!r}", self.rank[left], affix=right)
            if rb and left in BAIT_WORDS:
                return Match(right, "combosquat", f"{left!r} + {right}", self.rank[right], affix=left)
        # any listed name with an installer word (bson-update, install-tree-sitter): graded by the target's rank
        words = canonical.split("-")
        if len(words) >= 2:
            for bait, rest in ((words[-1], "-".join(words[:-1])), (words[0], "-".join(words[1:]))):
                if bait in INSTALLER_WORDS and rest in self.rank:
                    return Match(rest, "combosquat", f"{rest} + {bait!r}", self.rank[rest], affix=bait)
        return None


#: Made-up names that take every path of ``match`` (look-alike, words, affixes, one and two edits, combos)
_WARM_PROBES = ("zq0xv", "zqxv-wkjy", "wkjy-zqxv", "python-zqxvwkjy", "zqxvwkjy-py", "zqxvwkjyqq",
                "zqxvwkjyqqzz-install", "py-zqxv-wkjy2", "zqxvwkjyqqzzkk", "install-zqxv", "zqxv-wkjy-lmno-py")

#: The bait words that pose as an installer or updater of the project they are glued to
INSTALLER_WORDS = frozenset({"install", "installer", "setup", "update", "updater", "upgrade", "download", "pip"})

#: The "python" words squatters swap or drop inside a name (``django-py-utils`` for ``django-python-utils``)
_PY_TERMS = {"py": ("python", ""), "python": ("py", ""), "python3": ("python", "py", ""), "py3": ("py", "python", "")}

#: Suffixes a vendor uses for the parts of one product (``foo`` and ``foo-sdk`` are siblings).
PRODUCT_SUFFIXES = frozenset({"sdk", "cli", "api", "client"})


def sibling_shape(candidate: str, target: str) -> Optional[str]:
    """Why a one-edit pair looks like two real projects rather than a slip, or ``None``.

    Real long-tail projects sit one edit from popular ones in a few shapes: a different first
    letter of the name or of one of its words (``djongo``/``django``, ``dbt-score``/``dbt-core``),
    a number (``pypdf4``/``pypdf``, ``botostubs``/``boto3-stubs``), a plural (``panda``), or a whole
    word added (``django-q``). A squatter's slip sits inside a word.
    """
    a, b = candidate.replace("-", ""), target.replace("-", "")
    if a[:1] != b[:1]:
        return "a different first letter"
    if a.translate(_NO_DIGITS) == b.translate(_NO_DIGITS):
        return "a number changed"
    if plural_pair(a, b):
        return "a plural"
    ca, cb = candidate.split("-"), target.split("-")
    if len(ca) != len(cb):
        short, long_ = (ca, cb) if len(ca) < len(cb) else (cb, ca)
        if all(w in long_ for w in short):
            return "a word added"
    elif len(ca) > 1:
        diff = [(x, y) for x, y in zip(ca, cb) if x != y]
        if len(diff) == 1 and diff[0][0][:1] != diff[0][1][:1]:
            return "a different first letter of a word"
    return None


def numbered_siblings(a: str, b: str) -> bool:
    """True when ``a`` and ``b`` differ only in digits (``cupy-cuda11x`` / ``cupy-cuda12x``, ``storage`` / ``storage3``).

    Numbered builds and major versions of one project are published side by side; a typo of a
    letter is what a squatter relies on.
    """
    return a != b and a.translate(_NO_DIGITS) == b.translate(_NO_DIGITS)


_NO_DIGITS = str.maketrans("", "", "0123456789")
#: An affix label that is nothing but a trailing version (``2``, ``-3-13``, ``v2``, ``3k``).
_VERSION_ONLY = re.compile(r"-?v?\d+(?:-\d+)*k?")


def plural_pair(a: str, b: str) -> bool:
    """True when one name is the other plus a plural ``s`` or ``es`` (``email`` / ``emails``)."""
    short, long_ = (a, b) if len(a) < len(b) else (b, a)
    return long_ in (short + "s", short + "es")


def word_swap(a: str, b: str) -> bool:
    """True when ``a`` and ``b`` differ by a whole short word of two or more edits (``pytest-xml`` / ``pytest-html``).

    Both have the same dash-separated components but one, and that one is at most four letters
    in either name and two or more edits apart: a different word (``python-okx`` / ``python-docx``,
    ``fastapi-slim`` / ``fastapi-cli``), where a slip of the finger changes one letter.
    """
    pa, pb = a.split("-"), b.split("-")
    if len(pa) != len(pb) or len(pa) < 2:
        return False
    diff = [(x, y) for x, y in zip(pa, pb) if x != y]
    if len(diff) != 1:
        return False
    x, y = diff[0]
    return min(len(x), len(y)) <= 4 and not _one_edit(x, y)


def _one_edit(x: str, y: str) -> bool:
    """True when ``x`` and ``y`` are one insertion, deletion, substitution or adjacent swap apart."""
    from rapidfuzz.distance import OSA

    return OSA.distance(x, y, score_cutoff=1) <= 1


def namespace_siblings(a: str, b: str) -> bool:
    """True when ``a`` and ``b`` share at least two leading components and differ only in the last.

    ``types-boto3-sts`` / ``types-boto3-sqs`` and ``google-cloud-iap`` / ``google-cloud-iam``
    are members of one namespace family, each named after a different service.
    """
    pa, pb = a.split("-"), b.split("-")
    return len(pa) == len(pb) >= 3 and pa[:-1] == pb[:-1] and pa[-1] != pb[-1]


def popular_cores(names: Sequence[str]) -> Dict[str, str]:
    """Each popular name with one affix stripped -> the most popular name with that core.

    ``python-dateutil`` gives ``dateutil``, ``pyyaml`` gives ``yaml``. Cores that are popular
    names themselves, shorter than four letters, or made by stripping a version number
    (``foo-cu12`` / ``foo-cu13`` are numbered siblings, not squats) are left out.
    """
    popular = set(names)
    out: Dict[str, str] = {}
    for name in names:
        if not (name.startswith(PREFIXES) or name.endswith(SUFFIXES)):
            continue  # nothing to strip: skip the generator (most names)
        for core, how in affix_cores(name, max_steps=1).items():
            if len(core) >= 4 and core not in popular and not how[-1:].isdigit():
                out.setdefault(core, name)
    return out


def build_index(names: Sequence[str], options: MatchOptions = MatchOptions(), combos: bool = True) -> PypiIndex:
    """A ``PypiIndex`` over ``names`` (most popular first)."""
    return PypiIndex(names, options, combos)
