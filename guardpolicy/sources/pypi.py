"""``pypi:NAME`` and ``pypi:NAME==VERSION`` targets: one package each, from PyPI.

Many targets in one ``guard check`` call share one process and one plugin manager; each costs
one requirement parse, so a batch of a thousand names costs little more than start-up.
"""

from __future__ import annotations

from typing import Iterator

from ..model import Finding, IndexRef, Location, PackageRef
from .interface import Source

#: a ``pypi:`` target names PyPI's copy of the package
PYPI_INDEX = IndexRef("https://pypi.org/simple", "registry", None)


class PypiTargetSource(Source):
    """One ``pypi:`` target from the command line."""

    def __init__(self, target: str):
        self.name = target
        self.spec = target.split(":", 1)[1].strip()

    def collect(self) -> Iterator[PackageRef | Finding]:
        """Yield the package, or an ``invalid`` finding when the text is not a requirement."""
        from packaging.requirements import InvalidRequirement, Requirement

        from .requirements import pinned_version

        try:
            req = Requirement(self.spec)
        except InvalidRequirement as exc:
            yield Finding(rule="invalid", subject=self.name, message=f"not a valid requirement: {exc}",
                          location=Location(self.name))
            return
        yield PackageRef(name=req.name, specifier=str(req.specifier), version=pinned_version(req.specifier),
                         extras=tuple(sorted(req.extras)), url=req.url,
                         marker=str(req.marker) if req.marker else None, indexes=(PYPI_INDEX,), location=None)
