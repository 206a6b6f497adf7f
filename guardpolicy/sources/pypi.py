"""``pypi:NAME`` and ``pypi:NAME==VERSION`` targets: one package each."""

from __future__ import annotations

from typing import Iterator

from packaging.requirements import InvalidRequirement, Requirement

from ..model import Finding, Location, PackageRef
from .interface import Source


class PypiTargetSource(Source):
    """One ``pypi:`` target from the command line."""

    def __init__(self, target: str):
        self.name = target
        self.spec = target.split(":", 1)[1].strip()

    def collect(self) -> Iterator[PackageRef | Finding]:
        """Yield the package, or an ``invalid`` finding when the text is not a requirement."""
        try:
            req = Requirement(self.spec)
        except InvalidRequirement as exc:
            yield Finding(rule="invalid", subject=self.name, message=f"not a valid requirement: {exc}",
                          location=Location(self.name))
            return
        pins = [s for s in req.specifier if s.operator in ("==", "===") and "*" not in s.version]
        version = pins[0].version if len(list(req.specifier)) == 1 and pins else None
        yield PackageRef(name=req.name, specifier=str(req.specifier), version=version,
                         extras=tuple(sorted(req.extras)), url=req.url, location=None)
