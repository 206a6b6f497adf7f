"""Layers as data: what makes two layers the same file, and how a stack of them merges.

The bottom of ``policy/``: the loader, the lock checks and the trust root all use it, and it
imports none of them.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Iterable, Mapping

from . import schema
from .model import Layer


def identity(layer: Layer) -> str:
    """What makes two layers the same file (for cycles and de-duplication)."""
    if layer.bundle:
        return layer.bundle["url"]
    return _resolved(layer.path) if layer.path else layer.name


@functools.lru_cache(maxsize=1024)
def _resolved(path: str) -> str:
    """``path`` with symlinks and ``..`` resolved (asked again and again while stacking)."""
    return str(Path(path).resolve())


def merge_layers(layers: Iterable[Layer]) -> tuple[dict, dict]:
    """Merge layers lowest first; return (merged data, provenance of each dotted key).

    Tables merge key by key, values replace, lists in ``schema.ACCUMULATING`` union (their
    provenance lists every contributing layer, joined by `` + ``).
    """
    merged: dict = {}
    prov: dict[str, str] = {}

    def merge(dst: dict, src: Mapping, path: tuple, origin: str) -> None:
        for key, value in src.items():
            here = path + (key,)
            dotted = ".".join(here)
            if len(here) == 1 and key in schema.PER_LAYER:
                continue
            if isinstance(value, dict) and isinstance(dst.get(key), dict):
                merge(dst[key], value, here, origin)
            elif isinstance(value, dict):
                dst[key] = {}
                merge(dst[key], value, here, origin)
            elif here in schema.ACCUMULATING and isinstance(dst.get(key), list):
                added = [v for v in value if v not in dst[key]]
                dst[key] = dst[key] + added
                if added or dotted not in prov:
                    prov[dotted] = f"{prov[dotted]} + {origin}" if prov.get(dotted) else origin
            else:
                dst[key] = list(value) if isinstance(value, list) else value
                prov[dotted] = origin

    for layer in layers:
        merge(merged, layer.data, (), layer.name)
    return merged, prov
