"""``pypi:NAME`` and ``pypi:NAME==VERSION`` targets: one package each, from PyPI.

Many targets in one ``guard check`` call share one process and one plugin manager; each costs
one requirement parse, so a batch of a thousand names costs little more than start-up.
"""

from __future__ import annotations

import re
from typing import Iterator

from ..model import Finding, IndexRef, PackageRef
from .interface import Source

#: a ``pypi:`` target names PyPI's copy of the package
PYPI_INDEX = IndexRef("https://pypi.org/simple", "registry", None)
#: the common shapes ``name`` and ``name==1.2.3`` skip the full PEP 508 parser (batches of names)
_SIMPLE = re.compile(r"^([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)(?:\s*==\s*([0-9][0-9A-Za-z.+!]*))?$")


def _valid_version(version) -> bool:
    """True for ``None`` (no version) or a valid PEP 440 version."""
    if version is None:
        return True
    from packaging.version import InvalidVersion, Version

    try:
        Version(version)
    except InvalidVersion:
        return False
    return True


class PypiTargetSource(Source):
    """One ``pypi:`` target from the command line."""

    def __init__(self, target: str):
        """A ``pypi:REQUIREMENT`` target."""
        self.name = target
        self.spec = target.split(":", 1)[1].strip()

    def collect(self) -> Iterator[PackageRef | Finding]:
        """Yield the package, or an ``invalid`` finding when the text is not a requirement."""
        simple = _SIMPLE.match(self.spec)
        if simple and _valid_version(simple.group(2)):
            name, version = simple.groups()
            yield PackageRef(name=name, specifier=f"=={version}" if version else "", version=version,
                             indexes=(PYPI_INDEX,), location=None)
            return
        from packaging.requirements import InvalidRequirement

        from ..pep508 import parse_requirement
        from .requirements import pinned_version

        try:
            req = parse_requirement(self.spec)
        except InvalidRequirement as exc:
            # a command-line target has no file: location is None (docs/output.md)
            yield Finding(rule="invalid", subject=self.name, message=f"not a valid requirement: {str(exc).splitlines()[0]}",
                          suggestion="write pypi:NAME or pypi:NAME==VERSION",
                          location=None)
            return
        yield PackageRef(name=req.name, specifier=str(req.specifier), version=pinned_version(req.specifier),
                         extras=tuple(sorted(req.extras)), url=req.url,
                         marker=str(req.marker) if req.marker else None, indexes=(PYPI_INDEX,), location=None)
