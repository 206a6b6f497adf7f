"""Differential test: guard's requirements reader against pip's own parser, line by line.

Every logical line of the 66-file corpus is written to a one-line file and parsed twice: by
pip (``pip._internal.req.req_file.parse_requirements`` + ``install_req_from_parsed_requirement``,
the code ``pip install -r`` runs) and by guard. They must agree on what each line is: the same
project names, the same editable flags, the same ``--hash`` values, and an ``invalid``
finding exactly where pip refuses the line, except for the few documented places where guard
deliberately differs (listed in ``known_difference``). pip's internals are not a public API:
the test is skipped when they cannot be imported.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

import pytest

from guardpolicy.model import Finding, PackageRef
from guardpolicy.names import canonicalize_name
from guardpolicy.sources.requirements import (
    EGG_NAME_RE,
    EGG_RE,
    ReadOptions,
    logical_lines,
    read_requirements,
    url_hashes,
    url_scheme,
)

req_file = pytest.importorskip("pip._internal.req.req_file")
constructors = pytest.importorskip("pip._internal.req.constructors")
session_mod = pytest.importorskip("pip._internal.network.session")

CORPUS = Path(__file__).parent / "data" / "requirements-corpus"


def pip_view(path: Path, session):
    """What pip makes of a file: [(name, editable, hashes)], or the error text."""
    try:
        out = []
        for parsed in req_file.parse_requirements(str(path), session=session):
            ireq = constructors.install_req_from_parsed_requirement(parsed)
            hashes = tuple(sorted(f"{algo}:{value}" for algo, values in (ireq.hash_options or {}).items()
                                  for value in values))
            out.append((canonicalize_name(ireq.name) if ireq.name else None, ireq.editable, hashes))
        return out
    except BaseException as exc:  # pip raises InstallationError, SystemExit from optparse, ...
        return f"{type(exc).__name__}: {exc}"


def guard_view(path: Path):
    """What guard makes of it: ([(name, editable, --hash values)], invalid findings, URLs/paths)."""
    items = read_requirements(str(path), ReadOptions(env={}))
    pkgs = []
    urls = [i.url for i in items if isinstance(i, PackageRef) and i.url]
    for item in items:
        if isinstance(item, PackageRef):
            from_url = set(url_hashes(item.url or ""))
            pkgs.append((canonicalize_name(item.name) if item.name else None, item.editable,
                         tuple(sorted(h for h in item.hashes if h not in from_url))))
    return pkgs, [i for i in items if isinstance(i, Finding)], urls


def _is_local(url: str) -> bool:
    return url_scheme(url) in (None, "file")


def known_difference(line: str, pip, ours, found, urls) -> str | None:
    """Why guard may differ from pip on this line (a documented choice), or ``None``."""
    from packaging.requirements import InvalidRequirement, Requirement

    if isinstance(pip, str) and ours:
        if urls and all(_is_local(u) for u in urls):
            return "static reading: local paths need not exist when guard reads the file"
        if any((url_scheme(u) or "") in ("git", "svn") for u in urls):
            return "plain git:// / svn:// requirements are read (and flagged as unencrypted)"
        egg = EGG_RE.search(line)
        if egg and not EGG_NAME_RE.match(egg.group(1)):
            return "#egg= with a version: guard takes the project name"
        if "no such option" in pip:
            return "an option this pip removed"
    if not isinstance(pip, str) and found and not ours:
        text = line.split(" --", 1)[0].split(" -", 1)[0]
        try:
            Requirement(text)
        except InvalidRequirement:
            return "legacy version or specifier: older pip accepted it, pip >= 24.1 and packaging do not"
    if not isinstance(pip, str) and ours and len(pip) == len(ours):
        if all(p[0] is None and o[0] is not None and p[1:] == o[1:] for p, o in zip(pip, ours) if p != o):
            return "guard names the project from #egg= where pip leaves a relative file: URL unnamed"
    return None


def corpus_lines():
    for path in sorted(CORPUS.glob("*.txt")):
        for number, line in logical_lines(path.read_text(encoding="utf-8", errors="replace"), {}):
            if line.split()[0] in ("-r", "-c", "--requirement", "--constraint") or \
                    line.startswith(("-r", "-c", "--requirement=", "--constraint=")):
                continue  # includes are tested on whole trees elsewhere
            yield path.name, number, line


def test_guard_agrees_with_pip_on_every_corpus_line(tmp_path):
    logging.disable(logging.CRITICAL)
    warnings.simplefilter("ignore")
    session = session_mod.PipSession()
    one = tmp_path / "one.txt"
    disagreements, known, total = [], {}, 0
    try:
        for name, number, line in corpus_lines():
            one.write_text(line + "\n")
            pip = pip_view(one, session)
            ours, found, urls = guard_view(one)
            total += 1
            agree = (bool(found) and not ours) if isinstance(pip, str) else pip == ours
            if agree:
                continue
            why = known_difference(line, pip, ours, found, urls)
            if why:
                known.setdefault(why, []).append(f"{name}:{number}")
            else:
                disagreements.append(f"{name}:{number}: {line!r}\n  pip:   {pip}\n  guard: {ours} "
                                     f"{[f.message for f in found]}")
    finally:
        logging.disable(logging.NOTSET)
    assert total > 800
    assert not disagreements, "\n".join(disagreements)
    # the documented differences stay a small minority
    assert sum(len(v) for v in known.values()) < total // 20, known
