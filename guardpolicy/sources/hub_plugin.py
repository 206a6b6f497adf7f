"""Built-in plugin: claim Hub targets for ``guard check`` before the Python sources look.

``hf:`` refs and Hub URLs, ``guard.lock`` and ref-list files (``*.hfrefs`` or text whose every
line is a Hub ref) become Hub sources; anything else is left to the other plugins.
"""

from __future__ import annotations

from pathlib import Path

from ..hookspecs import hookimpl


@hookimpl(tryfirst=True)
def guard_make_source(target, options):
    """A Hub source for ``hf:`` refs, Hub URLs, ``guard.lock`` and ref-list files; ``None`` for anything else."""
    from . import hub

    if hub.is_hub_ref(target):
        return hub.HubRefSource(target)
    path = Path(target)
    if hub.is_lock_file(path):
        return hub.LockSource(path)
    if hub.is_ref_list_file(path):
        return hub.RefListSource(path)
    return None
