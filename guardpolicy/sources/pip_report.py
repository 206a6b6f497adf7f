"""pip's installation report: ``pip install --dry-run --ignore-installed --report report.json``.

The report is what pip *would* install after resolution, so every entry is resolved: name and
version from ``metadata``, hashes from ``download_info.archive_info``, a direct URL (VCS pinned
to its ``commit_id``, archive or local directory) when ``is_direct``, and the registry the file
came from (PyPI for ``files.pythonhosted.org``, else the download host). Editable local
directories (``pip install -e .``) are the user's own project and are not judged by name.
See https://pip.pypa.io/en/stable/reference/installation-report/.
"""

from __future__ import annotations

from typing import Iterator, Optional, Tuple

from ..model import Finding, Location
from .interface import Source, SourceError
from .locks import RegistryRefs, dependency_names, download_origin, hash_strings, resolved_package, unique, vcs_url
from .textpos import LineFinder, load_json


def report_hashes(download: dict) -> Tuple[str, ...]:
    """Hashes of ``archive_info``: the ``hashes`` table and the legacy ``hash = "algo=hex"``."""
    archive = download.get("archive_info")
    if not isinstance(archive, dict):
        return ()
    out = list(hash_strings(archive.get("hashes")))
    legacy = archive.get("hash")
    if isinstance(legacy, str) and "=" in legacy:
        algo, digest = legacy.split("=", 1)
        out.append(f"{algo.lower()}:{digest.lower()}")
    return unique(out)


def report_url(download: dict) -> Tuple[Optional[str], bool]:
    """(direct URL, editable) of a direct download; VCS URLs are pinned to their commit."""
    url = download.get("url")
    if not isinstance(url, str):
        return None, False
    vcs = download.get("vcs_info")
    if isinstance(vcs, dict):
        return vcs_url(str(vcs.get("vcs", "git")), url, vcs.get("commit_id"), download.get("subdirectory")), False
    directory = download.get("dir_info")
    if isinstance(directory, dict):
        return url, bool(directory.get("editable", False))
    return url, False


class PipReportSource(Source):
    """A pip installation report (JSON)."""

    def __init__(self, path):
        """The report file at ``path``."""
        self.path = str(path)
        self.name = self.path

    def collect(self) -> Iterator:
        """Yield registries (once each), resolved packages and ``invalid`` findings."""
        data, text = load_json(self.path)
        yield from self.read(data, text)

    def read(self, data, text: str = "") -> Iterator:
        """``collect`` for a report already parsed (``guard install`` reads pip's stdout).

        ``text`` is the JSON as written, for line numbers; without it locations have none.
        """
        if not isinstance(data, dict) or not isinstance(data.get("install"), list):
            raise SourceError("not a pip installation report (no \"install\" list); "
                              "make one with: pip install --dry-run --ignore-installed --report FILE ...", file=self.path)
        finder = LineFinder(text)
        registries = RegistryRefs()
        cursor = 1
        for entry in data["install"]:
            meta = entry.get("metadata") if isinstance(entry, dict) else None
            name = meta.get("name") if isinstance(meta, dict) else None
            if not isinstance(name, str):
                yield Finding(rule="invalid", subject=self.path, location=Location(self.path, cursor),
                              message="install entry without metadata.name",
                              suggestion="re-create it: pip install --dry-run --ignore-installed --report FILE ...")
                continue
            line = finder.find(name, cursor)
            cursor = line or cursor
            loc = Location(self.path, line)
            version = meta.get("version")
            download = entry.get("download_info") if isinstance(entry.get("download_info"), dict) else {}
            url, editable = report_url(download)
            if editable:
                continue  # an editable local directory is the user's own project, not a dependency
            new, indexes = registries.for_package(download_origin(url) if url and not entry.get("is_direct") else None, loc)
            yield from new
            extra = {"requested": bool(entry.get("requested"))}
            requires = dependency_names(meta)
            if requires:
                extra["requires"] = requires
            if entry.get("is_yanked"):
                extra["yanked"] = True
            yield resolved_package(name, version,
                                   extras=tuple(sorted(str(e) for e in entry.get("requested_extras") or () if isinstance(e, str)))
                                   if isinstance(entry.get("requested_extras"), list) else (),
                                   url=url if entry.get("is_direct") else None, editable=editable,
                                   hashes=report_hashes(download), indexes=indexes, location=loc, extra=extra)
