"""The shipped name lists (``guardpolicy/data/``), each read once, on first use.

Files are plain UTF-8 text committed with their sources and licences in
``guardpolicy/data/README.md``. The PyPI list is stored already PEP 503 normalised and in
rank order, so loading it is one read and one split (about a millisecond).
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from typing import Dict, FrozenSet, Tuple


def read_text(name: str) -> str:
    """The text of the shipped data file ``guardpolicy/data/<name>``."""
    return resources.files("guardpolicy").joinpath("data", name).read_text(encoding="utf-8")


def _lines(name: str) -> Tuple[str, ...]:
    """Non-empty, non-comment lines of a shipped data file."""
    return tuple(line for line in read_text(name).splitlines() if line and not line.startswith("#"))


@lru_cache(maxsize=1)
def pypi_top() -> Tuple[str, ...]:
    """Canonical names of the most-downloaded PyPI projects, most popular first."""
    return _lines("pypi_top.txt")


@lru_cache(maxsize=1)
def pypi_index():
    """The ``PypiIndex`` over ``pypi_top()`` (built once per process; its tables on the first ``match``)."""
    from .pypi import PypiIndex

    return PypiIndex(pypi_top(), canonical=True, cores=pypi_cores())


@lru_cache(maxsize=1)
def pypi_cores() -> Dict[str, str]:
    """The precomputed ``PypiIndex.by_core`` table of the shipped list (``pypi_cores.tsv``).

    Derived from ``pypi_top.txt`` by ``python -m guardpolicy.similarity.build``; a test keeps
    the two in step. Shipping it saves computing affix cores of 15,000 names at start-up.
    """
    out: Dict[str, str] = {}
    for line in _lines("pypi_cores.tsv"):
        core, _, name = line.partition("\t")
        out[core] = name
    return out


@lru_cache(maxsize=1)
def pypi_malicious() -> Dict[str, Tuple[str, str]]:
    """Known-malicious canonical names -> ``(category, known_target)``.

    ``category`` is ``malicious_intent``, ``typosquat`` or ``compromised_lib`` (a real project
    whose specific releases were hijacked: not a malicious name).
    """
    out: Dict[str, Tuple[str, str]] = {}
    for line in _lines("pypi_malicious.tsv")[1:]:
        name, category, target = (line.split("\t") + ["", ""])[:3]
        out[name] = (category, target)
    return out


@lru_cache(maxsize=1)
def hf_models() -> Tuple[str, ...]:
    """Popular Hugging Face model repo ids (``org/name`` or legacy ids), as published."""
    return _lines("hf_models_popular.txt")


@lru_cache(maxsize=1)
def hf_datasets() -> Tuple[str, ...]:
    """Popular Hugging Face dataset repo ids."""
    return _lines("hf_datasets_popular.txt")


@lru_cache(maxsize=1)
def hf_orgs() -> Dict[str, bool]:
    """Well-known Hub organisations -> ``True`` when hand-curated as widely known."""
    out: Dict[str, bool] = {}
    for line in _lines("hf_orgs.tsv")[1:]:
        org, curated = (line.split("\t") + [""])[:2]
        out[org] = curated == "yes"
    return out


@lru_cache(maxsize=1)
def hf_index():
    """The ``HubIndex`` over the shipped Hub lists (built once per process)."""
    from .hub import HubIndex

    return HubIndex(models=hf_models(), datasets=hf_datasets(), orgs=hf_orgs())


def known_malicious_names() -> FrozenSet[str]:
    """Names on the known-malicious list that are malicious as names (not ``compromised_lib``)."""
    return frozenset(n for n, (cat, _) in pypi_malicious().items() if cat != "compromised_lib")
