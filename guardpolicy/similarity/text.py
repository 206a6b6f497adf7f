"""Small pure functions on names: folding, affixes, combos, edit descriptions, model-name tokens.

Nothing here knows about data files or policies; every function maps strings to strings (or
small tuples) so each can be tested exhaustively on its own. The matchers in
``guardpolicy.similarity.pypi`` and ``guardpolicy.similarity.hub`` compose them.
"""

from __future__ import annotations

import fnmatch
import re
from typing import Iterator, Optional, Tuple

from ..names import canonicalize_name

_SEPARATORS = re.compile(r"[-_.\s]+")

#: Look-alike characters after lower-casing. ``l``, ``I`` (lower-cased to ``i``) and ``1`` look
#: alike in most fonts, as do ``o`` and ``0``. PyPI's own "too similar" check folds exactly these.
_HOMOGLYPHS = str.maketrans({"l": "i", "1": "i", "0": "o"})
#: Multi-letter look-alikes (kerning tricks), applied before the single-character table so a
#: ``cl`` written as ``c1`` is not turned into ``d`` twice over.
_DIGRAPHS = (("rn", "m"), ("vv", "w"), ("cl", "d"))


def canonicalize(name: str) -> str:
    """PEP 503 normalisation (``names.canonicalize_name``) of ``name`` with surrounding blanks removed
    (names read from data files and user input may carry them)."""
    return canonicalize_name(name.strip())


def strip_separators(name: str) -> str:
    """Lower case with every ``-``, ``_``, ``.`` and blank removed (``setup-tools`` -> ``setuptools``)."""
    return _SEPARATORS.sub("", name).lower()


def fold(name: str) -> str:
    """The look-alike-insensitive form of a name.

    Extends PyPI's "too similar" normalisation (case, separators, ``l/I/1``, ``o/0``) with
    ``rn -> m``, ``vv -> w`` and ``cl -> d``. Two names with the same fold look the same to a
    person reading them, so a distinct project with the same fold is an impersonation.
    """
    s = strip_separators(name)
    for pair, single in _DIGRAPHS:
        s = s.replace(pair, single)
    return s.translate(_HOMOGLYPHS)


def fold_many(canonical_names) -> list:
    """``[fold(n) for n in canonical_names]`` for PEP 503 names, in a few C-level string passes.

    Joining the names lets each replacement run once over one big string instead of once per
    name; a newline between names keeps a digraph from spanning two of them.
    """
    s = "\n".join(canonical_names).replace("-", "")
    for pair, single in _DIGRAPHS:
        s = s.replace(pair, single)
    s = s.translate(_HOMOGLYPHS)
    return s.split("\n") if canonical_names else []


_GLOB_SPECIAL = "*?[]"


def fold_glob(pattern: str) -> str:
    """Fold the literal parts of an ``fnmatch`` glob, keeping its wildcards: ``Acrne-*`` -> ``acme*``."""
    parts, buf = [], ""
    for ch in pattern:
        if ch in _GLOB_SPECIAL:
            parts.append(fold(buf) if buf else "")
            parts.append(ch)
            buf = ""
        else:
            buf += ch
    parts.append(fold(buf) if buf else "")
    return "".join(parts)


def glob_lookalike(name: str, patterns) -> Optional[str]:
    """The first glob that ``name`` matches once both are folded (``acrne-billing`` vs ``acme-*``), or ``None``."""
    folded = fold(name)
    for pattern in patterns:
        if any(ch in pattern for ch in "*?[") and fnmatch.fnmatchcase(folded, fold_glob(pattern)):
            return pattern
    return None


#: Prefixes squatters put before a popular name (canonical form, longest first).
PREFIXES = ("python3-", "python2-", "python-", "install-", "py3-", "py2-", "py-", "python", "py")
#: Suffixes squatters put after a popular name (canonical form, longest first).
SUFFIXES = ("-python3", "-python2", "-python", "-client", "-py3", "-py2", "-sdk", "-api", "-cli",
            "-lib", "-py", "python", "py")
#: A trailing version: ``-2``, ``2``, ``-v2``, ``-1-0`` (``1.0`` after canonicalisation), ``3k``.
_TRAILING_VERSION = re.compile(r"-?v?\d+(?:-\d+)*k?$")
#: A leading digit run (``2requests``) or version (``v2-requests``).
_LEADING_VERSION = re.compile(r"^v?\d+-?")
#: Shortest core worth comparing: two letters match too much by chance.
MIN_CORE = 3


def strip_trailing_version(name: str) -> str:
    """``requests2`` / ``requests-2-0`` / ``requests-v2`` -> ``requests``; unchanged when nothing trails.

    Returns the input when stripping would leave fewer than ``MIN_CORE`` characters.
    """
    core = _TRAILING_VERSION.sub("", name).rstrip("-")
    return core if len(core) >= MIN_CORE else name


def strip_leading_version(name: str) -> str:
    """``2requests`` / ``v2-requests`` -> ``requests``; unchanged when nothing leads."""
    core = _LEADING_VERSION.sub("", name).lstrip("-")
    return core if len(core) >= MIN_CORE else name


def affix_cores(canonical: str, max_steps: int = 3) -> dict:
    """Every core reachable by stripping up to ``max_steps`` affixes, mapped to what was stripped.

    ``canonical`` must be PEP 503 normalised. The result never contains ``canonical`` itself,
    and every core has at least ``MIN_CORE`` characters. Example:
    ``python3-dateutil`` -> ``{"dateutil": "python3-", "3-dateutil": "python", ...}``.
    """
    found: dict = {}
    frontier = [(canonical, "")]
    for _ in range(max_steps):
        nxt = []
        for name, how in frontier:
            for core, what in _one_strip(name):
                if core != canonical and core not in found and len(core.replace("-", "")) >= MIN_CORE:
                    label = f"{how}+{what}" if how else what
                    found[core] = label
                    nxt.append((core, label))
        frontier = nxt
    return found


def _one_strip(name: str) -> Iterator[Tuple[str, str]]:
    """Each way of removing exactly one affix (or version) from ``name``."""
    for p in PREFIXES:
        if name.startswith(p) and len(name) > len(p):
            yield name[len(p):].lstrip("-"), p
    for s in SUFFIXES:
        if name.endswith(s) and len(name) > len(s):
            yield name[: -len(s)].rstrip("-"), s
    core = strip_trailing_version(name)
    if core != name:
        yield core, name[len(core):]
    core = strip_leading_version(name)
    if core != name:
        yield core, name[: len(name) - len(core)]


def combo_splits(canonical: str) -> Iterator[Tuple[str, str]]:
    """Every split of a dashed name into a left and right part at a dash.

    ``pandas-numpy`` -> ``("pandas", "numpy")``; ``a-b-c`` -> ``("a", "b-c"), ("a-b", "c")``.
    """
    parts = canonical.split("-")
    for i in range(1, len(parts)):
        left, right = "-".join(parts[:i]), "-".join(parts[i:])
        if left and right:
            yield left, right


#: QWERTY neighbours, to name a substitution that is a slip of the finger.
_KEYBOARD_ROWS = ("1234567890", "qwertyuiop", "asdfghjkl", "zxcvbnm")


def _neighbours() -> dict:
    """Key -> set of touching keys on a QWERTY layout (rows treated as aligned)."""
    pos = {c: (r, i) for r, row in enumerate(_KEYBOARD_ROWS) for i, c in enumerate(row)}
    out: dict = {c: set() for c in pos}
    for a, (ra, ia) in pos.items():
        for b, (rb, ib) in pos.items():
            if a != b and abs(ra - rb) <= 1 and abs(ia - ib) <= 1:
                out[a].add(b)
    return out


_KEYBOARD = _neighbours()


def keyboard_adjacent(a: str, b: str) -> bool:
    """True when keys ``a`` and ``b`` touch on a QWERTY keyboard (same or adjacent row)."""
    return b.lower() in _KEYBOARD.get(a.lower(), ())


def describe_edit(typed: str, target: str) -> str:
    """Name the single slip that turns ``target`` into ``typed``, or ``"edits"`` for anything else.

    One of ``omission``, ``repetition``, ``insertion``, ``transposition``,
    ``keyboard-substitution``, ``homoglyph``, ``substitution``, ``separator``, ``identical``.
    """
    if typed == target:
        return "identical"
    if strip_separators(typed) == strip_separators(target):
        return "separator"
    if fold(typed) == fold(target):
        return "homoglyph"
    a, b = strip_separators(typed), strip_separators(target)
    if len(a) + 1 == len(b):
        for i in range(len(b)):
            if b[:i] + b[i + 1:] == a:
                return "omission"
    if len(a) == len(b) + 1:
        for i in range(len(a)):
            if a[:i] + a[i + 1:] == b:
                return "repetition" if (i > 0 and a[i - 1] == a[i]) or (i + 1 < len(a) and a[i + 1] == a[i]) else "insertion"
    if len(a) == len(b):
        diff = [i for i in range(len(a)) if a[i] != b[i]]
        if len(diff) == 2 and diff[1] == diff[0] + 1 and a[diff[0]] == b[diff[1]] and a[diff[1]] == b[diff[0]]:
            return "transposition"
        if len(diff) == 1:
            i = diff[0]
            return "keyboard-substitution" if keyboard_adjacent(a[i], b[i]) else "substitution"
    return "edits"


# ---- Hugging Face model names -------------------------------------------------------------

_MODEL_TOKEN_SPLIT = re.compile(r"[-_/\s]+")
#: Sizes (``7b``, ``2.7b``, ``560m``, ``8x7b``, ``1.5t``), versions (``v2``, ``3.1``, ``2``), dates.
_SIZE_OR_VERSION = re.compile(r"^(?:v?\d+(?:\.\d+)*|\d+(?:\.\d+)?[kmbt]|\d+x\d+(?:\.\d+)?[kmbt]|[a-z]?\d+[kmbt]?-?(?:e|a)\d+[kmbt]?)$")
#: Words model families use for siblings of one another, never typos of each other.
VARIANT_WORDS = frozenset({
    "base", "large", "small", "medium", "tiny", "mini", "micro", "nano", "xl", "xxl", "xs", "s", "m", "l",
    "huge", "giant", "big", "instruct", "chat", "it", "hf", "cased", "uncased", "multilingual",
    "distilled", "finetuned", "sft", "dpo", "rlhf", "preview", "latest", "beta", "alpha", "pro",
    "flash", "lite", "plus", "max", "turbo", "en", "zh", "code", "coder", "math", "vision", "vl",
    "awq", "gptq", "gguf", "fp8", "fp16", "bf16", "int4", "int8", "4bit", "8bit", "mlx", "onnx",
    "whole", "word", "masking", "squad", "mnli", "v1", "v2", "v3", "deduped", "raw", "full", "quantized",
})


def model_tokens(name: str) -> Tuple[str, ...]:
    """Lower-cased tokens of a model or dataset name (``Llama-3.1-8B-Instruct`` -> ``llama, 3.1, 8b, instruct``)."""
    return tuple(t for t in _MODEL_TOKEN_SPLIT.split(name.lower()) if t)


def is_variant_token(token: str) -> bool:
    """True for size, version and family-sibling tokens (``7b``, ``2.7b``, ``v2``, ``instruct``, ``cased``)."""
    return token in VARIANT_WORDS or bool(_SIZE_OR_VERSION.match(token))


def model_skeleton(name: str) -> Tuple[str, ...]:
    """A model name without its variant tokens and digits: what stays the same across siblings.

    ``bert-base-uncased`` and ``bert-base-cased`` -> ``("bert",)``; ``opt-2.7b`` -> ``("opt",)``;
    ``gpt2-medium`` -> ``("gpt",)``; ``bert-base-uncasedd`` -> ``("bert", "uncasedd")``.
    """
    out = []
    for tok in model_tokens(name):
        if is_variant_token(tok):
            continue
        bare = re.sub(r"[\d.]+", "", tok)
        if bare:
            out.append(bare)
    return tuple(out)


def are_variants(a: str, b: str) -> bool:
    """True when two model names differ only by size, version or sibling tokens (not a typo)."""
    return model_skeleton(a) == model_skeleton(b)


#: Affixes impersonators add to a known organisation's name (compared on the folded form).
ORG_SUFFIXES = ("official", "research", "community", "models", "model", "team", "labs", "lab", "inc",
                "org", "corp", "hf", "ai", "io")
ORG_PREFIXES = ("official", "the", "real", "hf")
_DIGITS_AT_END = re.compile(r"\d+$")
_DIGITS_AT_START = re.compile(r"^\d+")


def org_cores(plain_org: str) -> dict:
    """An org name (lower case, separators removed) without impersonation affixes: ``{core: affix}``.

    ``facebookresearch`` -> ``{"facebook": "research"}``; ``openai2`` -> ``{"openai": "2", "open": "ai", ...}``.
    Up to two affixes are stripped; cores shorter than ``MIN_CORE`` are dropped. Callers fold
    the cores before looking them up.
    """
    found: dict = {}
    frontier = [(plain_org, "")]
    for _ in range(2):
        nxt = []
        for name, how in frontier:
            options = []
            for s in ORG_SUFFIXES:
                if name.endswith(s):
                    options.append((name[: -len(s)], s))
            for p in ORG_PREFIXES:
                if name.startswith(p):
                    options.append((name[len(p):], p))
            m = _DIGITS_AT_END.search(name)
            if m:
                options.append((name[: m.start()], m.group()))
            m = _DIGITS_AT_START.match(name)
            if m:
                options.append((name[m.end():], m.group()))
            for core, what in options:
                if len(core) >= MIN_CORE and core not in found and core != plain_org:
                    label = f"{how}+{what}" if how else what
                    found[core] = label
                    nxt.append((core, label))
        frontier = nxt
    return found


def split_repo_id(repo_id: str) -> Tuple[Optional[str], str]:
    """``org/name`` -> ``("org", "name")``; a legacy id without ``/`` -> ``(None, id)``."""
    if "/" in repo_id:
        org, name = repo_id.split("/", 1)
        return org, name
    return None, repo_id
