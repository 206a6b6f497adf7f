"""Rule ``digest``: a file whose sha256 differs from ``guard.lock`` (or that is missing/unexpected).

``guard verify PATH --lock guard.lock`` yields each local file as a ``FileRef`` whose
``extra`` carries ``expected_sha256`` (from the lock) and, usually, ``sha256`` (hashed in
parallel beforehand); this rule compares them, hashing the file itself when no digest was
given. Missing and unexpected files are reported by the verify source under the same rule id.
"""

from __future__ import annotations

from ..hookspecs import hookimpl
from ..model import Finding
from . import RuleInfo

RULE = RuleInfo(
    id="digest",
    summary="A file's sha256 differs from the lock, or a locked file is missing, or an unlocked one is present.",
    help="`guard lock` records every file's sha256; `guard verify PATH --lock guard.lock` re-hashes the local "
         "files. A mismatch means the file changed after locking (tampering, a moved branch, a bad download).",
    default_action="deny",
    example="models/tiny/model.safetensors: digest: sha256 3f2a... differs from guard.lock (9c1d...)",
    subjects=("file", "model"),
)


@hookimpl
def guard_check_file(file, policy, context):
    """Flag a file whose sha256 differs from the one its lock expects."""
    extra = file.extra or {}
    expected = extra.get("expected_sha256")
    if not expected:
        return None
    actual = extra.get("sha256")
    if actual is None:
        from ..hashing import sha256_file

        try:
            actual = sha256_file(file.path)
        except OSError as exc:
            return [Finding(rule="digest", subject=file.subject, location=file.location,
                            message=f"cannot read {file.path}: {exc.strerror or exc}",
                            suggestion="check the file's permissions", details={"expected_sha256": expected})]
    if actual == expected:
        return None
    lock = extra.get("lock", "the lock")
    repo = extra.get("repo")
    return [Finding(rule="digest", subject=file.subject, location=file.location,
                    message=f"sha256 {actual} differs from {lock} ({expected})" + (f" for {repo}" if repo else ""),
                    suggestion="re-download the file at the locked commit; if the change is intended, run guard lock again",
                    details={"expected_sha256": expected, "sha256": actual, **({"repo": repo} if repo else {}),
                             **({"path_in_repo": extra["path_in_repo"]} if "path_in_repo" in extra else {})})]


@hookimpl
def guard_rules():
    """Describe the rule."""
    return [RULE]
