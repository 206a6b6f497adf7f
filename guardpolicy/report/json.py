"""``--format json``: the stable machine shape documented in docs/output.md."""

from __future__ import annotations

import json

from ..model import Decision
from .interface import Format


class JsonFormat(Format):
    """``{"decision": ..., "findings": [...], ...}``."""

    def format(self, decision: Decision) -> str:
        """Return indented JSON."""
        return json.dumps(decision.to_dict(), indent=2, default=str) + "\n"
