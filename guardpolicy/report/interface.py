"""The abstract report format."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Sequence

from ..model import Decision


class Format(ABC):
    """Renders a ``Decision`` as text for a terminal, a file or another tool."""

    #: True when the output is for machines (the CLI then prints nothing else on stdout)
    machine: bool = True

    def __init__(self, *, color: bool = False, policy=None, targets: Sequence[str] = ()):
        """Options every format accepts: ``color`` (terminal), the ``policy`` and the ``targets`` checked."""
        self.color, self.policy, self.targets = color, policy, tuple(targets)

    @abstractmethod
    def format(self, decision: Decision) -> str:
        """Return the whole report."""
