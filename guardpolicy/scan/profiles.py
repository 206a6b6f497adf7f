"""Named profiles of pickle globals that only rebuild data: ``[rules.pickle] profiles``.

A profile is a list of exact ``(module, name)`` pairs that everyday pickles of one library use
to rebuild plain data: a numpy array or generator, a pandas DataFrame, a fitted scikit-learn
estimator, a scipy sparse matrix, a deque, a compiled regex. The pairs are not guessed: they
are the globals found in real pickles and ``joblib.dump`` files of such objects, plus every
scikit-learn estimator class, written to ``profile_data.py`` by ``tools/gen_pickle_profiles.py``
(its header names the library versions and the date). Regenerate it with that script.

No glob is used, and deny wins: a pair ``allowlist.named_danger`` knows is never allowed, even
when listed (the generator drops them too). A class in a profile is judged safe to call with
constant arguments and to receive pickled state; every global it is handed (a
``FunctionTransformer``'s ``func``, a ``defaultdict``'s factory) is a global of the same pickle
and is judged on its own.
"""

from __future__ import annotations

from functools import lru_cache
from typing import FrozenSet, Iterable, Optional, Tuple

#: every profile name, in the order messages list them
KNOWN = ("numpy", "pandas", "sklearn", "scipy", "collections", "stdlib-data")
#: what a policy that does not set ``profiles`` enables (the default policy's everyday data)
DEFAULT = KNOWN
#: the strict policy: containers that never hold an object with behaviour of its own
STRICT = ("numpy", "collections", "stdlib-data")


@lru_cache(maxsize=None)
def _profile(name: str) -> FrozenSet[Tuple[str, str]]:
    """The pairs of one profile (``KeyError`` for an unknown name)."""
    from .profile_data import PROFILES  # generated; loaded only when a global is outside the base allowlist

    return frozenset((module, n) for module, names in PROFILES[name].items() for n in names)


@lru_cache(maxsize=64)
def profile_pairs(names: Tuple[str, ...]) -> FrozenSet[Tuple[str, str]]:
    """The union of the named profiles; unknown names add nothing (the policy loader refuses them)."""
    out: FrozenSet[Tuple[str, str]] = frozenset()
    for name in names:
        if name in KNOWN:
            out = out | _profile(name)
    return out


def covering(module: str, name: str) -> Optional[str]:
    """The first profile that lists ``module.name`` (for "enable profile X" hints), or ``None``."""
    for profile in KNOWN:
        if (module, name) in _profile(profile):
            return profile
    return None


def enabled(policy) -> Tuple[str, ...]:
    """``[rules.pickle] profiles`` of ``policy``; the default profiles when there is no policy."""
    if policy is None:
        return DEFAULT
    try:
        value = policy.rule("pickle").get("profiles")
    except Exception:  # a policy object from elsewhere (tests, other tools)
        return DEFAULT
    return DEFAULT if value is None else tuple(value)


def unknown_action(policy) -> str:
    """``[rules.pickle] unknown_globals``: ``deny`` (the default) or ``warn``."""
    if policy is None:
        return "deny"
    try:
        value = policy.rule("pickle").get("unknown_globals")
    except Exception:
        return "deny"
    return "warn" if value == "warn" else "deny"


def unknown_profiles(names: Iterable[str]) -> Tuple[str, ...]:
    """The names that are not profiles (the policy loader's error lists them)."""
    return tuple(n for n in names if n not in KNOWN)
