"""The abstract source: something that yields subjects to check."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Iterator, Union

from ..model import Finding, Subject


class SourceError(Exception):
    """A source cannot be read at all (missing file, unreadable TOML). Names file and line."""

    def __init__(self, message: str, file: str | None = None, line: int | None = None):
        """Keep ``file`` and ``line``; the message reads ``file:line: message``."""
        self.file, self.line = file, line
        where = f"{file}:{line}: " if file and line else (f"{file}: " if file else "")
        super().__init__(f"{where}{message}")


class Source(ABC):
    """Yields the subjects one input declares.

    ``collect()`` yields ``PackageRef`` / ``IndexRef`` / ``ModelRef`` / ``FileRef`` objects,
    and may also yield ``Finding`` objects for input it could not read (rule ``invalid``):
    one bad line never hides the rest of the file.
    """

    #: a short name for reports (usually the path or the target string)
    name: str = ""

    @abstractmethod
    def collect(self) -> Iterator[Union[Subject, Finding]]:
        """Yield every subject (and any ``invalid`` findings) of this input, in order."""
