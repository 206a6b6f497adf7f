"""``scan_path``: files and directories in, ``Finding`` objects out (rules ``format`` and ``pickle``).

Rule ``pickle`` reports dangerous globals and, in a finding of its own, globals outside the
allowlist and the enabled profiles (each ``module.name`` with the archive member and byte offset,
also in ``details["globals"]``), and everything that makes a scan fail closed: parse errors,
limits, code hidden in constants or Keras configs. Rule ``format``
reports a format the policy's ``[hub] allowed_formats`` does not list, and invalid
safetensors/npy headers. For a file, the finding's subject is its path (a name that is not
UTF-8 shows its undecodable bytes as ``\\xNN``).
"""

from __future__ import annotations

import os
from typing import Iterable, Iterator, List, Optional

from ..model import Finding, Location, printable_path
from .containers import Report, Scanner
from .detect import family
from .limits import DEFAULT_LIMITS, ScanLimits
from .profiles import covering, enabled, unknown_action

#: folders never descended into when a directory is scanned
SKIP_DIRS = frozenset([".git", ".cache", ".hg", ".svn", "__pycache__", ".venv", "node_modules"])
#: problems reported under rule ``format`` (the others are rule ``pickle``)
_FORMAT_KINDS = frozenset(["header", "archive"])
#: problems that mean "part of the file could not be read": rule ``format``, action ``unreadable``
_UNREADABLE_KINDS = frozenset(["parse", "unsupported"])
#: formats that say nothing about the file's safety by themselves
_NEUTRAL = frozenset(["archive", "unknown", "zip-anomaly", "data"])


def iter_files(path: str, max_files: int = DEFAULT_LIMITS.max_files) -> Iterator[str]:
    """``path`` itself, or every file under it (sorted, skipping VCS and cache folders).

    Symlinked folders are followed (``ckpt/latest -> step-1000``: a loader reads through them),
    each real folder once, so link loops end and a folder linked twice is walked once.
    """
    if not os.path.isdir(path):
        yield path
        return
    count = 0
    seen = set()
    unlisted: List[str] = []
    for root, dirs, files in os.walk(path, followlinks=True, onerror=lambda e: unlisted.append(e.filename)):
        while unlisted:
            # a folder that cannot be listed: yielded itself, so the scan reports it instead of skipping it
            yield os.fsdecode(unlisted.pop(0))
        try:
            st = os.stat(root)
        except OSError:
            dirs[:] = []
            continue
        if (st.st_dev, st.st_ino) in seen:
            dirs[:] = []
            continue
        seen.add((st.st_dev, st.st_ino))
        dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS)
        for name in sorted(files):
            full = os.path.join(root, name)
            if not os.path.isfile(full):
                continue  # FIFOs, sockets, devices, dangling links: nothing a loader reads as a model
            count += 1
            if count > max_files:
                # more files than the limit: the folder itself is yielded, so the scan reports it as
                # not fully scanned (denied) instead of passing the files it never looked at
                yield os.fsdecode(path)
                return
            yield full
    for folder in unlisted:
        yield os.fsdecode(folder)


def allowed_globals(policy) -> tuple:
    """The policy's extra allowlist (``[rules.pickle] allowed_globals``)."""
    if policy is None:
        return ()
    try:
        return tuple(policy.rule("pickle").get("allowed_globals") or ())
    except Exception:  # a policy object from elsewhere (tests, other tools)
        return ()


def unreadable_action(policy) -> str:
    """``[rules.format] unreadable``: what unreadable or unrecognised content gets (``warn`` unless set)."""
    if policy is None:
        return "warn"
    try:
        return str(policy.rule("format").get("unreadable") or "warn")
    except Exception:  # a policy object from elsewhere (tests, other tools)
        return "warn"


def allowed_formats(policy) -> Optional[tuple]:
    """``[hub] allowed_formats`` or ``None`` when the policy allows every format (pickles still scanned)."""
    if policy is None:
        return None
    value = policy.section("hub").get("allowed_formats")
    return tuple(value) if value else None


def scan_report(path: str, policy=None, limits: ScanLimits = DEFAULT_LIMITS) -> Report:
    """Scan one file and return the raw ``Report``."""
    return Scanner(limits, allowed_globals(policy), enabled(policy)).scan_file(path)


def scan_path(path, policy=None, limits: ScanLimits = DEFAULT_LIMITS) -> List[Finding]:
    """Scan a file, or every file under a directory; return the findings (empty when clean)."""
    path = os.fsdecode(path)  # bytes paths too (undecodable bytes become surrogate escapes)
    scanner = Scanner(limits, allowed_globals(policy), enabled(policy))
    out: List[Finding] = []
    references: set = set()
    for file in iter_files(path, limits.max_files):
        report = scanner.scan_file(file)
        out.extend(pickle_findings(report, unknown_action(policy)))
        out.extend(format_findings(report, allowed_formats(policy), unreadable_action(policy)))
        references.update(report.references)
    return without_referenced_data(out, references)


def without_referenced_data(findings: List[Finding], references) -> List[Finding]:
    """``findings`` minus "unrecognised binary content" about files a scanned model reads as its data
    (ONNX external data: raw tensor bytes no detector can name, and no loader runs)."""
    if not references:
        return findings
    return [f for f in findings if not (f.rule == "format" and f.details.get("kind") == "unreadable"
                                        and f.details.get("format") == "unknown"
                                        and os.path.normpath(f.subject) in references)]


def _where(member: str, offset: Optional[int]) -> str:
    """``in MEMBER at byte N`` for messages."""
    parts = []
    if member:
        parts.append(f"in {member}")
    if offset is not None:
        parts.append(f"at byte {offset}")
    return " ".join(parts)


def _hit_items(hits, describe) -> str:
    """``a.b: why (GLOBAL in member at byte N); ...``, at most 20, then how many more."""
    items = []
    for h in hits[:20]:
        where = _where(h.member, h.offset)
        what = f"{h.module}.{h.name}{describe(h)}"
        items.append(f"{what} ({h.opcode} {where})" if where else what)
    more = f" and {len(hits) - 20} more" if len(hits) > 20 else ""
    return "; ".join(items) + more


def _unique(hits) -> list:
    """Each global once per place: a joblib file is read twice (joblib's way and pickle.load's)."""
    seen, out = set(), []
    for h in hits:
        key = (h.module, h.name, h.member, h.offset)
        if key not in seen:
            seen.add(key)
            out.append(h)
    return out


def _profile_hint(h) -> str:
    """`` [in profile 'sklearn', not enabled]`` for a global of a profile the policy does not enable."""
    name = covering(h.module, h.name)
    return f" [in profile {name!r}, not enabled]" if name else ""


def _hit_location(path: str, hits) -> Location:
    """The file, with the first hit's byte offset when it lies in the file itself (not in a member)."""
    first = hits[0]
    return Location(path, offset=None if first.member else first.offset)


def pickle_findings(report: Report, unknown: str = "deny") -> List[Finding]:
    """Rule ``pickle``: dangerous globals, unknown globals (a finding each), and fail-closed problems.

    ``unknown`` is ``[rules.pickle] unknown_globals``: ``warn`` grades the unknown-globals finding down.
    """
    out = []
    path = printable_path(report.path)
    hits = _unique(report.hits)
    dangerous = [h for h in hits if h.danger]
    unknown_hits = [h for h in hits if not h.danger]
    if dangerous:
        out.append(Finding(
            rule="pickle", subject=path, location=_hit_location(path, dangerous),
            message="dangerous: " + _hit_items(dangerous, lambda h: f": {h.danger}"),
            suggestion="do not load this file: loading it runs what these globals name; get the model from its "
                       "source in a format without code (safetensors)",
            details={"format": report.format, "kind": "dangerous", "globals": [h.to_dict() for h in dangerous]},
        ))
    if unknown_hits:
        out.append(Finding(
            rule="pickle", subject=path, location=_hit_location(path, unknown_hits), action="warn" if unknown == "warn" else None,
            message=("not in the allowlist or any enabled profile: " + _hit_items(unknown_hits, _profile_hint)
                     + " (a class or function guard does not know; allow it with [rules.pickle] allowed_globals "
                       "or a profile)"),
            suggestion="if the file comes from a source you trust, add these exact globals to [rules.pickle] "
                       "allowed_globals (or enable the profile named); otherwise convert the model to safetensors",
            details={"format": report.format, "kind": "unknown", "globals": [h.to_dict() for h in unknown_hits]},
        ))
    for p in report.problems:
        if p.kind in _FORMAT_KINDS or p.kind in _UNREADABLE_KINDS:
            continue
        where = _where(p.member, p.offset)
        out.append(Finding(rule="pickle", subject=printable_path(report.path),
                           location=Location(printable_path(report.path), offset=None if p.member else p.offset),
                           message=f"{p.message}{' (' + where + ')' if where else ''}",
                           suggestion="treat the file as hostile; re-export it from its source as safetensors",
                           details={"format": report.format, "kind": p.kind, "member": p.member, "offset": p.offset}))
    return out


def _at(subject: str, p) -> Location:
    """The finding's location: the file, with the problem's byte offset when it is one in the file itself."""
    return Location(subject, offset=None if p.member else p.offset)


def looks_like_text(path: str, size: int = 8192) -> bool:
    """True for an empty file or one whose head is NUL-free UTF-8 (README, JSON config, tokenizer files).

    Such files carry no weights or code a loader runs, so a format allowlist leaves them alone.
    """
    try:
        with open(path, "rb") as fh:
            head = fh.read(size)
    except OSError:
        return False
    if b"\x00" in head:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        return len(head) == size and exc.start >= size - 3  # a character cut by the read
    return True


def format_findings(report: Report, allowed: Optional[Iterable[str]], unreadable: str = "warn") -> List[Finding]:
    """Rule ``format``: a format the policy does not allow, a malformed header, or content that cannot
    be read or recognised (action ``unreadable``: ``warn`` by default, ``deny`` under strict; never a
    silent pass)."""
    out = []
    subject = printable_path(report.path)
    for p in report.problems:
        if p.kind in _FORMAT_KINDS:
            where = _where(p.member, p.offset)
            out.append(Finding(rule="format", subject=subject, location=_at(subject, p), message=f"{p.message}{' (' + where + ')' if where else ''}",
                               suggestion="re-download or re-export the file",
                               details={"format": report.format, "kind": p.kind}))
        elif p.kind in _UNREADABLE_KINDS:
            where = _where(p.member, p.offset)
            out.append(Finding(rule="format", subject=subject, location=_at(subject, p), action=unreadable,
                               message=f"cannot be fully read: {p.message}{' (' + where + ')' if where else ''}",
                               suggestion="re-download or re-export the file from its source; do not load it as is",
                               details={"format": report.format, "kind": "unreadable", "problem": p.kind}))
    refused_unknown = (allowed is not None and report.format == "unknown" and "unknown" not in set(allowed))
    if report.format == "unknown" and not refused_unknown and not report.problems and not looks_like_text(report.path):
        out.append(Finding(rule="format", subject=subject, location=Location(subject), action=unreadable,
                           message="unrecognised binary content: no model format guard knows, so what loads it "
                                   "and whether that runs code cannot be told",
                           suggestion="use a safetensors, GGUF or ONNX export; if you know what this file is, "
                                      "waive this finding for it",
                           details={"format": "unknown", "kind": "unreadable"}))
    if allowed is None:
        return out
    allowed = set(allowed)
    if refused_unknown and not looks_like_text(report.path):
        # an allowlist of formats: binary content nobody recognised is not one of them
        out.append(Finding(rule="format", subject=report.path, location=Location(report.path),
                           message=f"unrecognised binary content is not an allowed format (allowed: {', '.join(sorted(allowed))})",
                           suggestion="use a safetensors (or GGUF/ONNX) export, or add \"unknown\" to [hub] allowed_formats",
                           details={"format": "unknown"}))
    seen = report.formats | {report.format}
    bad_families = {family(f) for f in seen if family(f) not in _NEUTRAL and f not in allowed and family(f) not in allowed}
    # name each refused family once, by the file's own format when it is of that family
    bad = sorted(report.format if family(report.format) == fam else
                 sorted(f for f in seen if family(f) == fam)[0] for fam in bad_families)
    if bad:
        names = ", ".join(f"{f} ({family(f)})" if family(f) != f else f for f in bad)
        out.append(Finding(rule="format", subject=printable_path(report.path), location=Location(printable_path(report.path)),
                           message=f"format not allowed by the policy: {names} (allowed: {', '.join(sorted(allowed))})",
                           suggestion="use a safetensors (or GGUF/ONNX) export of the model",
                           details={"format": report.format, "formats": sorted(report.formats)}))
    return out


def cached_report(path: str, policy, context) -> Report:
    """One scan per file per run, shared by rules ``format`` and ``pickle`` (``context.cache``)."""
    cache = getattr(context, "cache", None)
    key = ("scan", path, allowed_globals(policy), enabled(policy))
    if cache is not None and key in cache:
        return cache[key]
    report = scan_report(path, policy)
    if cache is not None:
        cache[key] = report
    return report
