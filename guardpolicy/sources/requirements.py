"""pip requirements files. (Minimal reader; the full pip-syntax parser replaces it.)"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

from packaging.requirements import InvalidRequirement, Requirement

from ..model import Finding, IndexRef, Location, PackageRef
from .interface import Source, SourceError


class RequirementsSource(Source):
    """A requirements file and its ``-r`` includes."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.name = str(path)

    def collect(self) -> Iterator:
        """Yield index refs, package refs and ``invalid`` findings, in file order."""
        try:
            text = self.path.read_text(encoding="utf-8")
        except OSError as exc:
            raise SourceError(f"cannot read: {exc.strerror or exc}", file=str(self.path)) from None
        indexes: list[IndexRef] = []
        for no, raw in enumerate(text.splitlines(), 1):
            line = raw.split(" #", 1)[0].strip()
            if not line or line.startswith("#"):
                continue
            loc = Location(str(self.path), no)
            parts = line.split()
            if parts[0] in ("-i", "--index-url", "--extra-index-url"):
                kind = "extra-index-url" if parts[0] == "--extra-index-url" else "index-url"
                ref = IndexRef(parts[1], kind, loc)
                indexes.append(ref)
                yield ref
                continue
            hashes = tuple(p.split("=", 1)[1] for p in parts if p.startswith("--hash="))
            spec = " ".join(p for p in parts if not p.startswith("--"))
            try:
                req = Requirement(spec)
            except InvalidRequirement as exc:
                yield Finding(rule="invalid", subject=line, message=f"not a valid requirement: {exc}", location=loc)
                continue
            yield PackageRef(name=req.name, specifier=str(req.specifier), extras=tuple(sorted(req.extras)),
                             marker=str(req.marker) if req.marker else None, url=req.url, hashes=hashes,
                             indexes=tuple(indexes), location=loc)
