"""Write the audit log: JSON Lines, one record per judged subject per decision (``audit.query`` reads it).

Every record of one decision shares a ``decision_id``; a decision with no subjects writes one
record whose ``subject`` is ``null``. The writer appends all records of a decision with one
``write`` on a descriptor opened with ``O_APPEND``, under an exclusive ``fcntl.flock``: so
concurrent writers (several ``pip install`` processes, CI jobs on one host) never interleave
or tear lines, whatever their length. Readers (``audit.query``) skip and report lines that are not JSON.
Shape and fields: docs/audit-log.md.

Each line is chained to the one before it: under the lock the writer adds ``seq`` (one more than
the previous line's) and ``prev`` (sha256 of the previous line's bytes; after a rotation, of the
last line of ``.1``). ``guard log --verify`` walks the chain: an edited, inserted or deleted line
breaks it at that point. (Truncating the newest lines leaves a shorter, intact chain: keep a
copy of the last ``seq`` elsewhere to detect that.)
"""

from __future__ import annotations

import datetime as _dt
import errno
import functools
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping, Optional, Sequence

from ..facts import (
    findings_for,
    subject_digest,
    subject_kind,
    subject_name,
    subject_revision,
    subject_version,
    unmatched_findings,
    verdict_of,
)
from ..model import Decision, Finding

#: file name under the user log directory when the policy names no path
DEFAULT_FILE = "decisions.jsonl"


#: the environment variables platformdirs derives the user log dir from (XDG; macOS uses HOME)
_LOG_DIR_ENV = ("XDG_STATE_HOME", "HOME")
_default_paths: dict = {}


def default_log_path() -> Path:
    """``<user log dir>/decisions.jsonl`` (platformdirs: ``~/.local/state/guardpolicy/log`` on Linux).

    Remembered per value of the environment it depends on: the runtime gate logs every
    decision, and asking platformdirs each time cost more than the rest of a cached decision.
    """
    key = tuple(os.environ.get(name) for name in _LOG_DIR_ENV)
    path = _default_paths.get(key)
    if path is None:
        from ..dirs import user_log_dir

        path = _default_paths[key] = Path(user_log_dir("guardpolicy")) / DEFAULT_FILE
    return path


#: ``[log] max_size`` when the policy sets none: the log is on by default, so it must not grow without
#: bound (a shared machine's log reached 160 MB); with the one rotated generation at most ~20 MiB on disk.
DEFAULT_MAX_SIZE = 10 * 1024 * 1024


def rotated_path(path: Path) -> Path:
    """Where a full log is moved on rotation: ``<path>.1`` (one generation, replaced on the next rotation)."""
    return Path(str(path) + ".1")


@dataclass(frozen=True)
class LogSettings:
    """The effective ``[log]`` section: ``enabled`` (default true), the resolved ``path`` and ``max_size``.

    ``explicit`` is true when the policy named the path (write errors are then reported).
    ``max_size`` is in bytes; ``0`` means never rotate.
    """

    enabled: bool
    path: Path
    explicit: bool = False
    max_size: int = DEFAULT_MAX_SIZE

    @classmethod
    def from_policy(cls, policy) -> "LogSettings":
        """Read ``[log]``; a relative ``path`` is relative to the policy file that set it."""
        section = policy.section("log") if policy is not None else {}
        enabled = bool(section.get("enabled", True))
        max_size = DEFAULT_MAX_SIZE
        if section.get("max_size") is not None:
            from ..policy.schema import parse_size

            max_size = parse_size(section["max_size"])  # validated when the policy was loaded
        raw = section.get("path")
        if not raw:
            return cls(enabled, default_log_path(), False, max_size)
        path = Path(os.path.expandvars(os.path.expanduser(raw)))
        if not path.is_absolute():
            origin = getattr(policy, "provenance", {}).get("log.path")
            base = Path(origin).parent if origin and Path(origin).is_file() else Path.cwd()
            path = base / path
        return cls(enabled, path, True, max_size)


def _uuid4() -> str:
    """A random (version 4) UUID string, as ``str(uuid.uuid4())`` gives, in a third of its time (hot path)."""
    raw = bytearray(os.urandom(16))
    raw[6] = (raw[6] & 0x0F) | 0x40  # version 4
    raw[8] = (raw[8] & 0x3F) | 0x80  # RFC 4122 variant
    h = raw.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _utc_now() -> str:
    """Now in UTC, ISO 8601 with microseconds and a ``Z`` suffix."""
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="microseconds").replace("+00:00", "Z")


@functools.lru_cache(maxsize=None)
def _user() -> Optional[str]:
    """The login name, or ``None``; looked up once per process (it is the same for every record)."""
    # what getpass.getuser() does, without importing getpass (and termios) on the gate's hot path
    for name in ("LOGNAME", "USER", "LNAME", "USERNAME"):
        user = os.environ.get(name)
        if user:
            return user
    try:
        import pwd

        return pwd.getpwuid(os.getuid()).pw_name
    except Exception:  # no login name in some containers (no pwd entry, no pwd module)
        return None


@functools.lru_cache(maxsize=None)
def _host() -> Optional[str]:
    """The host name, or ``None``; looked up once per process (``uname`` where there is one: what
    ``socket.gethostname`` returns, without importing socket on every command's path)."""
    if hasattr(os, "uname"):
        return os.uname().nodename or None
    import socket

    try:
        return socket.gethostname()
    except OSError:
        return None


def _finding(f: Finding) -> dict:
    """A finding as it appears in a record: rule, action, message, and location / waiver when set."""
    out = {"rule": f.rule, "action": f.action, "message": f.message}
    if f.location:
        out["location"] = str(f.location)
    if f.waived_by:
        out["waived_by"] = f.waived_by
    return out


def policy_revision(policy) -> tuple[Any, Optional[str]]:
    """``(revision, bundle url)``: the newest remote bundle layer's, else the top-most layer declaring ``revision``."""
    if policy is None:
        return None, None
    layers = list(getattr(policy, "layers", ()) or ())
    for layer in reversed(layers):
        bundle = getattr(layer, "bundle", None)
        if isinstance(bundle, Mapping) and bundle.get("revision") is not None:
            return bundle.get("revision"), bundle.get("url")
    for layer in reversed(layers):
        data = getattr(layer, "data", None) or {}
        if "revision" in data:
            return data["revision"], None
    return (getattr(policy, "data", {}) or {}).get("revision"), None


_revisions: dict = {}


def _policy_revision_of(policy) -> tuple[Any, Optional[str]]:
    """``policy_revision(policy)``, remembered per policy object (a loaded policy does not change)."""
    hit = _revisions.get(id(policy))
    if hit is not None and hit[0] is policy:
        return hit[1]
    value = policy_revision(policy)
    if len(_revisions) >= 64:
        _revisions.clear()
    _revisions[id(policy)] = (policy, value)
    return value


def records_for(decision: Decision, subjects: Optional[Sequence] = None, policy=None,
                now: Optional[str] = None, decision_id: Optional[str] = None) -> list[dict]:
    """The log records of one decision: one per subject, plus one per finding about no subject."""
    common = _common_fields(decision, policy, now, decision_id)
    return [{**common, **part} for part in _subject_fields(decision, subjects)]


def _common_fields(decision: Decision, policy, now: Optional[str] = None, decision_id: Optional[str] = None) -> dict:
    """The fields every record of ``decision`` shares (time, ids, who, where, policy, tool), in record order."""
    from .. import __version__

    revision, bundle_url = _policy_revision_of(policy)
    return {
        "time": now or _utc_now(),
        "decision_id": decision_id or _uuid4(),
        "origin": decision.origin,
        "operation": decision.operation,
        "user": _user(),
        "host": _host(),
        "pid": os.getpid(),
        "mode": decision.mode,
        "run_decision": decision.decision,
        "policy": {
            "name": getattr(policy, "name", None),
            "digest": decision.policy_digest or getattr(policy, "digest", None),
            "revision": revision,
            "bundle": bundle_url,
        },
        "tool": {"name": "guardpolicy", "version": __version__},
    }


def _subject_fields(decision: Decision, subjects: Optional[Sequence] = None, unmatched: bool = True) -> list[dict]:
    """Per record, the fields after the common ones: subject, its facts, verdict, findings, waivers.

    ``unmatched=False`` leaves out the records of findings about no subject (a later chunk of a
    decision written in several parts: the first part has them)."""
    subjects = list(decision.checked if subjects is None else subjects)
    parts = []
    for s in subjects:
        counted, waived = findings_for(s, decision.findings), findings_for(s, decision.waived)
        parts.append({"subject": s.subject, "kind": subject_kind(s), "name": subject_name(s),
                      "version": subject_version(s), "revision": subject_revision(s), "digest": subject_digest(s),
                      "location": str(s.location) if s.location else None, "decision": verdict_of(counted),
                      "findings": [_finding(f) for f in counted],
                      "waivers_applied": sorted({f.waived_by for f in waived if f.waived_by})})
    for f in (unmatched_findings(decision) if unmatched else ()):
        counted = [] if f.waived_by else [f]
        parts.append({"subject": f.subject, "kind": "input", "name": None, "version": None, "revision": None,
                      "digest": None, "location": str(f.location) if f.location else None,
                      "decision": verdict_of(counted), "findings": [_finding(f)],
                      "waivers_applied": [f.waived_by] if f.waived_by else []})
    if not parts and unmatched:
        parts.append({"subject": None, "kind": None, "name": None, "version": None, "revision": None,
                      "digest": None, "location": None, "decision": decision.decision, "findings": [],
                      "waivers_applied": []})
    return parts


#: what ``json.dumps(r, separators=(",", ":"), default=str, ensure_ascii=False)`` builds on every call
_ENCODER = json.JSONEncoder(separators=(",", ":"), default=str, ensure_ascii=False)


def encode(records: Iterable[Mapping[str, Any]]) -> bytes:
    """JSON Lines bytes: compact, one record per line, newline-terminated, no raw newlines inside."""
    return b"".join(_ENCODER.encode(r).encode("utf-8") + b"\n" for r in records)


def encode_decision(decision: Decision, subjects: Optional[Sequence] = None, policy=None,
                    now: Optional[str] = None, decision_id: Optional[str] = None, unmatched: bool = True) -> bytes:
    """``encode(records_for(decision, subjects, policy))``, byte for byte, with the shared fields encoded once.

    The runtime gate logs every decision; encoding the common head once per decision instead
    of once per record keeps that write cheap. Each line is the common object without its
    closing brace, a comma, and the per-subject object without its opening brace (the two key
    sets are disjoint, and records list the common keys first).
    """
    head = _ENCODER.encode(_common_fields(decision, policy, now, decision_id))[:-1] + ","
    return "".join(head + _ENCODER.encode(part)[1:] + "\n"
                   for part in _subject_fields(decision, subjects, unmatched)).encode("utf-8")


def append_records(path: Path, records: Sequence[Mapping[str, Any]], max_size: int = 0) -> None:
    """Append ``records`` to ``path`` atomically with respect to other writers (one locked O_APPEND write)."""
    append_bytes(path, encode(records), max_size)


def _open_log(path: Path) -> int:
    """An ``O_APPEND`` descriptor on ``path`` (readable too: the chain needs the last line), creating the file (``0600``) and its folder (``0700``) if needed.

    Never through a symlink (``O_NOFOLLOW``: a link planted at a shared log path would make the
    writer append to a file of the planter's choosing), and only to a regular file the user owns.
    """
    flags = os.O_RDWR | os.O_APPEND | os.O_CREAT | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOFOLLOW", 0) \
        | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(path, flags, 0o600)
    except FileNotFoundError:  # first record in this directory: create it (not on every write; hot path)
        Path(path).parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(path, flags, 0o600)
    st = os.fstat(fd)
    import stat as _stat

    if not _stat.S_ISREG(st.st_mode) or (hasattr(os, "getuid") and st.st_uid != os.getuid()):
        os.close(fd)
        raise PermissionError(errno.EPERM, "not a regular file of your own", str(path))
    return fd


def append_bytes(path: Path, blob: bytes, max_size: int = 0) -> None:
    """Append encoded records (whole lines) to ``path`` with one ``write`` under an exclusive ``flock``.

    With ``max_size`` > 0, a file that this write would take past ``max_size`` bytes is first
    renamed to ``<path>.1`` (replacing the previous one) and the records start a new file.
    Rotation happens under the lock of the file being rotated; a writer that finds its file
    full checks that the file is still the one at ``path`` (else another writer rotated it:
    reopen) before rotating, so one overflow never rotates twice and no record is lost. The
    common case (the record fits) costs one ``fstat``: the hot path logs every decision.
    """
    try:
        import fcntl
    except ImportError:  # Windows: O_APPEND alone, no rotation (it needs the lock); documented
        fcntl = None  # type: ignore[assignment]
    fd = _open_log(path)
    chain_from: Optional[bytes] = None
    try:
        if fcntl is not None:
            for _ in range(100):  # bounded: each retry means another writer rotated meanwhile
                fcntl.flock(fd, fcntl.LOCK_EX)
                if not max_size:
                    break
                st = os.fstat(fd)
                if not st.st_size or st.st_size + len(blob) <= max_size:
                    break  # fits (a writer still holding the just-rotated file may add its record to .1: kept)
                try:
                    current = os.stat(path)
                except FileNotFoundError:
                    current = None
                if current is None or (current.st_ino, current.st_dev) != (st.st_ino, st.st_dev):
                    # rotated (or removed) by someone else after we opened it: write to the file at path
                    os.close(fd)
                    fd = _open_log(path)
                    continue
                chain_from = _last_line(fd, st.st_size)  # the new file's first line chains to the old one's last
                try:
                    os.replace(path, rotated_path(path))
                except OSError:  # cannot rotate (a folder named .1, a read-only dir): keep the record anyway
                    break
                os.close(fd)  # waiters on the old file's lock find it full or rotated and reopen
                fd = _open_log(path)
        start = os.fstat(fd).st_size
        prev_line: Optional[bytes]
        if start == 0 and chain_from is not None:
            prev_line = chain_from
        else:
            prev_line = _last_line(fd, start)
        blob = chain(blob, prev_line)
        view = memoryview(blob)
        try:
            while view:  # a regular file takes the whole write; loop anyway in case of a short write
                written = os.write(fd, view)
                view = view[written:]
        except OSError:
            # ENOSPC / EDQUOT mid-record: cut the torn tail so the next record starts on a line of its own
            try:
                os.ftruncate(fd, start)
            except OSError:
                pass
            raise
    finally:
        os.close(fd)  # closing releases the flock


#: ``prev`` of the very first line of a log
GENESIS = "0" * 64
_TAIL = 1 << 16
#: the first read of the tail: a record is a few hundred bytes, and this runs on every logged decision
_FIRST_TAIL = 1 << 12


def _last_line(fd: int, size: int) -> Optional[bytes]:
    """The last complete line of the open log (``None`` when empty or it has no newline-ended line in its tail)."""
    if size <= 0:
        return None
    want = _FIRST_TAIL
    while True:
        n = min(size, want)
        tail = os.pread(fd, n, size - n)
        if not tail.endswith(b"\n"):
            return None
        start = tail.rfind(b"\n", 0, len(tail) - 1) + 1
        if start > 0 or n == size:
            return tail[start:]
        if want >= _TAIL:
            return None  # a line longer than the tail we read: the chain restarts (verify reports it)
        want = _TAIL


def _seq_of(line: Optional[bytes]) -> int:
    """The ``seq`` of a written line (0 when there is none or it has none)."""
    if not line:
        return 0
    try:
        value = json.loads(line).get("seq", 0)
    except (ValueError, UnicodeDecodeError, AttributeError):
        return 0
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def line_digest(line: bytes) -> str:
    """sha256 of a log line as written (newline included)."""
    import hashlib

    return hashlib.sha256(line).hexdigest()


def chain(blob: bytes, prev_line: Optional[bytes]) -> bytes:
    """``blob``'s lines (JSON objects) each with ``"seq"`` and ``"prev"`` added, chained from ``prev_line``."""
    seq = _seq_of(prev_line)
    prev = line_digest(prev_line) if prev_line else GENESIS
    out = []
    for line in blob.splitlines(keepends=True):
        if not line.strip():
            continue
        seq += 1
        body = line.rstrip(b"\n")
        if not body.endswith(b"}"):
            continue  # not a record (encode() never writes one)
        joiner = b"," if body[:-1].strip() != b"{" else b""
        line = body[:-1] + joiner + f'"seq":{seq},"prev":"{prev}"}}\n'.encode()
        out.append(line)
        prev = line_digest(line)
    return b"".join(out)


def verify_chain(paths: Sequence[Path]) -> tuple[int, list[str]]:
    """Walk the chain through ``paths`` (oldest first); return (lines checked, problems)."""
    problems: list[str] = []
    prev_line: Optional[bytes] = None
    count = 0
    for path in paths:
        with open(path, "rb") as fh:
            for no, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                count += 1
                where = f"{path}:{no}"
                try:
                    record = json.loads(line)
                except (ValueError, UnicodeDecodeError):
                    problems.append(f"{where}: not JSON (a torn or edited line)")
                    prev_line = line
                    continue
                if not isinstance(record, dict) or "prev" not in record or "seq" not in record:
                    problems.append(f"{where}: no seq/prev (written by an older guard, or inserted)")
                    prev_line = line
                    continue
                want_prev = line_digest(prev_line) if prev_line is not None else None
                want_seq = _seq_of(prev_line) + 1 if prev_line is not None else None
                if want_prev is not None and record.get("prev") != want_prev:
                    problems.append(f"{where}: prev does not match the line before it (a line before it was "
                                    "edited or deleted)")
                elif want_seq is not None and record.get("seq") != want_seq:
                    problems.append(f"{where}: seq {record.get('seq')!r} follows {want_seq - 1} "
                                    "(lines deleted or inserted)")
                prev_line = line
    return count, problems


#: log paths this process already warned about
_warned: set = set()
#: at most this many records are encoded and written at once
WRITE_CHUNK = 256


def write_decision(decision: Decision, subjects: Optional[Sequence], policy) -> None:
    """Append ``decision``'s records to the policy's ``[log]`` path (when enabled); never raises ``OSError``.

    What the built-in ``audit-log`` plugin does; the gate also calls it directly when that plugin is
    the only decision observer and the plugins were not loaded (a cached policy and cached allows).
    A write error is reported once per path when the policy named the path itself, and dropped
    silently for the default path (a read-only home must not break installs).
    """
    import sys

    settings = LogSettings.from_policy(policy)
    if not settings.enabled:
        return
    subjects = list(decision.checked if subjects is None else subjects)
    try:
        if len(subjects) <= WRITE_CHUNK:
            append_bytes(settings.path, encode_decision(decision, subjects, policy), settings.max_size)
        else:
            # a scan of thousands of files: the records go out in parts sharing one decision id and
            # time, so memory stays flat in the number of subjects (one part is ~WRITE_CHUNK records)
            now, decision_id = _utc_now(), _uuid4()
            for i in range(0, len(subjects), WRITE_CHUNK):
                append_bytes(settings.path, encode_decision(decision, subjects[i:i + WRITE_CHUNK], policy, now=now,
                                                            decision_id=decision_id, unmatched=i == 0),
                             settings.max_size)
    except OSError as exc:
        # once per path and process: pip makes several decisions per install, each would repeat it
        if settings.explicit and settings.path not in _warned:
            _warned.add(settings.path)
            print(f"guard: warning: cannot write audit log {settings.path}: {exc.strerror or exc}; "
                  f"decisions of this process are not logged", file=sys.stderr)

