"""What a vulnerability source answers: ``Advisory`` records for one (name, version)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Optional, Tuple


@dataclass(frozen=True)
class Advisory:
    """One known vulnerability affecting one package version.

    ``severity`` is ``low`` | ``medium`` | ``high`` | ``critical`` | ``none`` | ``unknown``;
    ``score`` and ``vector`` are set when a CVSS vector gave the severity. ``fixed`` lists the
    versions that fix it (ascending), ``source`` names where it came from.
    """

    id: str
    aliases: Tuple[str, ...] = ()
    summary: str = ""
    fixed: Tuple[str, ...] = ()
    severity: str = "unknown"
    score: Optional[float] = None
    vector: Optional[str] = None
    source: str = ""
    published: Optional[str] = None
    extra: dict = field(default_factory=dict, compare=False, hash=False)

    @property
    def ids(self) -> Tuple[str, ...]:
        """The id and every alias."""
        return (self.id, *self.aliases)


class VulnerabilitySourceError(Exception):
    """A source cannot answer (database unreadable, service unreachable). The message says why."""


class VulnerabilitySource(ABC):
    """Answers "which advisories affect NAME==VERSION?"."""

    #: for messages and ``Advisory.source``
    name: str = ""

    @abstractmethod
    def query(self, name: str, version: str) -> list[Advisory]:
        """Advisories affecting exactly ``name==version`` (empty when none); ``VulnerabilitySourceError`` on failure."""
