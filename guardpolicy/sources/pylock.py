"""PEP 751 ``pylock.toml`` (and ``pylock.<name>.toml``): resolved packages with their sources.

Each ``[[packages]]`` entry becomes a resolved ``PackageRef``: ``version``, every wheel/sdist/
archive hash, ``url`` for direct sources (VCS pinned to its ``commit-id``, archive URL, local
directory) and ``indexes=(IndexRef(index, "registry"),)``. Each distinct registry is yielded
once as an ``IndexRef`` so the ``source`` rule judges it. Editable directories (the project
itself, workspace members) are the user's own code and are not judged by name.
"""

from __future__ import annotations

from typing import Iterator

from ..model import Finding, Location
from .interface import SourceError
from .locks import (
    RegistryRefs,
    TomlLockSource,
    dependency_names,
    download_origin,
    hash_strings,
    iter_tables,
    resolved_package,
    unique,
    vcs_url,
)


def _artifacts(entry: dict) -> list:
    """The sdist, wheels and archive tables of a package entry."""
    out = [entry["sdist"]] if isinstance(entry.get("sdist"), dict) else []
    out += [w for _, w in iter_tables(entry.get("wheels"))]
    if isinstance(entry.get("archive"), dict):
        out.append(entry["archive"])
    return out


def direct_url(entry: dict):
    """(url, editable) for a VCS, directory or archive package; ``(None, False)`` for index ones."""
    vcs = entry.get("vcs")
    if isinstance(vcs, dict):
        return vcs_url(str(vcs.get("type", "git")), str(vcs.get("url") or vcs.get("path") or ""),
                       vcs.get("commit-id"), vcs.get("subdirectory")), False
    directory = entry.get("directory")
    if isinstance(directory, dict):
        return str(directory.get("path", ".")), bool(directory.get("editable", False))
    archive = entry.get("archive")
    if isinstance(archive, dict):
        return str(archive.get("url") or archive.get("path") or ""), False
    return None, False


class PylockSource(TomlLockSource):
    """A PEP 751 lock file."""

    table = "packages"

    def check_document(self, data: dict) -> Iterator[Finding]:
        """A ``lock-version`` is required; a major version other than 1 is read on a best-effort basis."""
        version = str(data.get("lock-version", ""))
        if not version:
            raise SourceError("not a PEP 751 lock file: no lock-version", file=self.path)
        if version.split(".")[0] != "1":
            yield Finding(rule="invalid", subject=self.path, location=Location(self.path, 1),
                          message=f"lock-version {version} is not supported (1.x is); read on a best-effort basis",
                          suggestion="re-create the lock with a tool that writes PEP 751 lock-version 1.x")

    def read_package(self, entry: dict, name: str, location: Location, registries: RegistryRefs) -> Iterator:
        """The package's registry (when new) and the resolved package; nothing for an editable directory."""
        url, editable = direct_url(entry)
        if editable:
            return  # an editable directory is the user's own project (the lock's root), not a dependency
        artifacts = _artifacts(entry)
        hashes = unique(h for a in artifacts for h in hash_strings(a.get("hashes")))
        index = entry.get("index")
        if not index and url is None:
            first = next((a.get("url") for a in artifacts if isinstance(a.get("url"), str)), None)
            index = download_origin(first) if first else None
        new, indexes = registries.for_package(index if isinstance(index, str) else None, location)
        yield from new
        requires = dependency_names(entry)
        yield resolved_package(name, entry.get("version"), marker=entry.get("marker"), url=url or None,
                               editable=editable, hashes=hashes, indexes=indexes, location=location,
                               extra={"requires": requires} if requires else {})
