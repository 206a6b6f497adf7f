"""Which installed distributions provide guardpolicy plugins, read from the folders on ``sys.path``.

``importlib.metadata`` answers this too, but importing it and walking every distribution costs
a short command ~15 ms; here it is one directory listing per folder and one small read per
distribution that declares entry points. The compiled policy cache keys on it, and ``guard
scan`` uses it to write its audit record without loading the plugin manager when no other
distribution than guardpolicy itself provides plugins.
"""

from __future__ import annotations

import os
import sys

#: the entry-point group plugins register under (``hookspecs.PROJECT``; not imported: pluggy is heavy)
_PLUGIN_GROUP = "[guardpolicy]"


def dist_folders() -> tuple:
    """The ``sys.path`` folders that hold distributions (where plugins come from), as absolute paths."""
    out = []
    for entry in sys.path:
        folder = os.path.abspath(entry or os.curdir)
        try:
            with os.scandir(folder) as it:
                if any(e.name.endswith((".dist-info", ".egg-info", ".egg")) for e in it):
                    out.append(folder)
        except OSError:
            continue
    return tuple(out)


def _names(folder: str) -> frozenset:
    try:
        with os.scandir(folder) as it:
            return frozenset(e.name for e in it if e.name.endswith((".dist-info", ".egg-info", ".egg")))
    except OSError:
        return frozenset()


def _may_provide_plugins(folder: str, name: str) -> bool:
    """True when distribution ``name`` declares guardpolicy entry points (an ``.egg``: cannot tell cheaply, so yes)."""
    if name.endswith(".egg"):
        return True
    try:
        with open(os.path.join(folder, name, "entry_points.txt"), encoding="utf-8", errors="replace") as fh:
            return any(line.strip() == _PLUGIN_GROUP for line in fh)
    except OSError:  # no entry points (or an .egg-info file, not a folder)
        return False


def distributions() -> dict:
    """``{folder: (distribution names, the ones that provide plugins)}`` for every distribution folder.

    Recorded with an entry instead of the folders' mtimes: every ``pip install`` changes
    site-packages, and a cache that every install invalidated would miss for every pip run.
    An entry stays valid while each plugin provider is still there and no new distribution
    provides plugins.
    """
    out = {}
    for folder in dist_folders():
        names = _names(folder)
        out[folder] = (tuple(sorted(names)), tuple(sorted(n for n in names if _may_provide_plugins(folder, n))))
    return out


def same_plugins(recorded: dict) -> bool:
    """True when no plugin provider of ``recorded`` vanished and no new distribution provides plugins."""
    for folder, (names, providers) in recorded.items():
        now = _names(folder)
        if not now.issuperset(providers):
            return False
        if any(_may_provide_plugins(folder, name) for name in now.difference(names)):
            return False
    return True


def third_party_providers() -> list:
    """The plugin-providing distributions other than guardpolicy itself (``name-version.dist-info``)."""
    return [name for _folder, (_names, providers) in distributions().items() for name in providers
            if not name.lower().startswith(("guardpolicy-", "guardpolicy.egg"))]
