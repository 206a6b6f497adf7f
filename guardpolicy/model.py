"""The shared vocabulary of guardpolicy: what is checked and what was decided.

Every layer speaks these types: sources yield *subjects* (``PackageRef``, ``IndexRef``,
``ModelRef``, ``FileRef``), rules return ``Finding`` objects about them, the engine folds
findings into one ``Decision``, and every report format renders that ``Decision``.

This module is stdlib-only and cheap to import: the runtime hooks load it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Mapping, Optional, Tuple, Union

from .names import canonicalize_name


def printable_path(path: str) -> str:
    """``path`` as shown in findings and reports: unchanged when it is valid Unicode; a file name
    whose bytes are not UTF-8 (decoded by Python with surrogate escapes) gets ``\\xNN`` escapes for
    those bytes, so every report format and the audit log can write it."""
    try:
        path.encode("utf-8")
        return path
    except UnicodeEncodeError:
        return path.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


#: What a rule asks for; ``off`` findings are dropped by the engine.
#: ``info``: a rule matched but evidence cleared the subject (reported under ``notes``, never counted)
Action = Literal["deny", "warn", "info", "off"]
#: The verdict of a whole check.
Verdict = Literal["allow", "warn", "deny"]


@dataclass(frozen=True)
class Location:
    """Where a subject was declared: a file and a 1-based line (``None`` when unknown).

    ``offset``: for a finding inside a binary file, the byte offset in that file (never in an
    archive member: those are named in the message).
    """

    file: str
    line: Optional[int] = None
    offset: Optional[int] = None

    def __str__(self) -> str:
        """``file:line``, or just ``file`` when the line is unknown."""
        return f"{self.file}:{self.line}" if self.line else self.file

    def to_dict(self) -> dict:
        """The JSON form: ``{"file": ..., "line": ...}`` (and ``"offset"`` when known)."""
        out = {"file": self.file, "line": self.line}
        if self.offset is not None:
            out["offset"] = self.offset
        return out


@dataclass(frozen=True)
class IndexRef:
    """A place packages come from: an index URL, extra index, find-links location or trusted host.

    ``kind`` is one of ``index-url``, ``extra-index-url``, ``find-links``, ``trusted-host``
    (and ``registry`` for a lock file's per-package source).
    """

    url: str
    kind: str = "index-url"
    location: Optional[Location] = None

    @property
    def subject(self) -> str:
        """The string findings about this index name."""
        return self.url


@dataclass(frozen=True)
class PackageRef:
    """One Python requirement or resolved package.

    ``name`` is as written (``None`` for a bare URL or path whose name is unknown);
    ``specifier`` is the PEP 440 specifier text (``""`` when absent); ``version`` is set
    when the package is resolved to exactly one version (lock files, pip reports,
    ``pypi:NAME==VER``). ``url`` holds a direct URL, VCS URL or local path.
    ``hashes`` are ``"algo:hexdigest"`` strings. ``indexes`` are the sources in effect
    for this requirement (from its file's options, or the lock's registry).
    """

    name: Optional[str]
    specifier: str = ""
    version: Optional[str] = None
    extras: Tuple[str, ...] = ()
    marker: Optional[str] = None
    url: Optional[str] = None
    editable: bool = False
    hashes: Tuple[str, ...] = ()
    indexes: Tuple[IndexRef, ...] = ()
    constraint: bool = False
    location: Optional[Location] = None
    #: free-form facts a source knows (e.g. ``upload_time``, ``build_requirement``)
    extra: Mapping[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @property
    def canonical_name(self) -> Optional[str]:
        """PEP 503 normalised name, or ``None`` when the name is unknown."""
        if self.name is None:
            return None
        return canonicalize_name(self.name)

    @property
    def subject(self) -> str:
        """The string findings about this package name: ``name`` or ``name==version``."""
        base = self.name or self.url or "<unnamed>"
        if self.version:
            return f"{base}=={self.version}"
        return base


@dataclass(frozen=True)
class ModelRef:
    """A Hugging Face Hub repository: model, dataset or space (LoRA adapters are models).

    ``repo_id`` is ``org/name`` (or a legacy un-namespaced id); ``revision`` is as written
    (``None`` means the default branch); ``files`` optionally names the files in play.
    ``extra["local_only"]`` marks a folder on disk that looks like a repo (``guard check DIR``
    with an ``adapter_config.json`` or an ``auto_map``) but names no Hub repo: its subject is the
    folder (``extra["local_dir"]``) and the rules about Hub references leave it alone.
    """

    repo_id: str
    repo_type: str = "model"
    revision: Optional[str] = None
    endpoint: Optional[str] = None
    files: Tuple[str, ...] = ()
    location: Optional[Location] = None
    extra: Mapping[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @property
    def org(self) -> Optional[str]:
        """The namespace before ``/``, or ``None`` for a legacy id."""
        return self.repo_id.split("/", 1)[0] if "/" in self.repo_id else None

    @property
    def subject(self) -> str:
        """``hf:[datasets/]org/name[@rev]`` (the folder's path for a ``local_only`` folder)."""
        if self.extra and self.extra.get("local_only"):
            return printable_path(str(self.extra.get("local_dir") or self.repo_id))
        prefix = "" if self.repo_type == "model" else f"{self.repo_type}s/"
        rev = f"@{self.revision}" if self.revision else ""
        return f"hf:{prefix}{self.repo_id}{rev}"


@dataclass(frozen=True)
class FileRef:
    """A local artifact file (a checkpoint, an archive, a model file) to scan."""

    path: str
    location: Optional[Location] = None
    #: set when the file belongs to a Hub repo (downloaded by the runtime hook, or locked)
    model: Optional[ModelRef] = None
    extra: Mapping[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @property
    def subject(self) -> str:
        """The path (undecodable bytes of a file name as ``\\xNN``: see ``printable_path``)."""
        return printable_path(self.path)


Subject = Union[PackageRef, IndexRef, ModelRef, FileRef]


@dataclass(frozen=True)
class Finding:
    """One thing a rule found wrong with one subject.

    ``rule`` is the stable rule id (``typosquat``, ``unpinned``, ...). ``action`` is what
    the policy makes of it (``deny`` or ``warn``); rules may leave it ``None`` and the engine
    fills it in from the policy. ``suggestion`` is a fix hint a person can act on.
    ``details`` carries structured extras (e.g. the offending pickle globals).
    """

    rule: str
    subject: str
    message: str
    action: Optional[Action] = None
    location: Optional[Location] = None
    suggestion: Optional[str] = None
    details: Mapping[str, Any] = field(default_factory=dict, compare=False, hash=False)
    #: set by the engine when a waiver matched (the finding is then reported, not counted)
    waived_by: Optional[str] = None

    def to_dict(self) -> dict:
        """The stable JSON form documented in docs/output.md."""
        out = {
            "rule": self.rule,
            "action": self.action,
            "subject": self.subject,
            "message": self.message,
            "location": self.location.to_dict() if self.location else None,
            "suggestion": self.suggestion,
        }
        if self.details:
            out["details"] = dict(self.details)
        if self.waived_by:
            out["waived_by"] = self.waived_by
        return out


@dataclass(frozen=True)
class Decision:
    """The verdict over a set of findings under the policy mode.

    ``findings`` are the findings that count (action ``deny`` or ``warn``); ``waived``
    are those a waiver silenced. ``checked`` lists the subjects that were evaluated, so
    reports (SBOMs) can name what passed too.
    """

    decision: Verdict
    findings: Tuple[Finding, ...] = ()
    waived: Tuple[Finding, ...] = ()
    checked: Tuple[Subject, ...] = ()
    mode: str = "enforce"
    policy_digest: Optional[str] = None
    #: who decided: ``cli`` (``guard check``) or ``runtime`` (a gated pip / Hub operation)
    origin: str = "cli"
    #: the gated operation for runtime decisions (``pip install``, ``hf download org/name``)
    operation: Optional[str] = None
    #: matches a rule cleared with evidence (action ``info``): shown, never counted
    notes: Tuple[Finding, ...] = ()

    @property
    def denied(self) -> bool:
        """True when the verdict is ``deny``."""
        return self.decision == "deny"

    def to_dict(self) -> dict:
        """The stable JSON form: ``{"decision": ..., "findings": [...]}`` plus extras."""
        return {
            "decision": self.decision,
            "findings": [f.to_dict() for f in self.findings],
            "waived": [f.to_dict() for f in self.waived],
            "notes": [f.to_dict() for f in self.notes],
            "mode": self.mode,
            "policy_digest": self.policy_digest,
        }
