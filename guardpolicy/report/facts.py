"""Facts about subjects for reporters; the functions live in :mod:`guardpolicy.facts` (bottom layer)."""

# re-exported: reporters and plugins import them from here
from ..facts import (  # noqa: F401
    findings_for,
    pinned_version,
    relative_path,
    split_hash,
    subject_digest,
    subject_keys,
    subject_kind,
    subject_name,
    subject_revision,
    subject_version,
    unmatched_findings,
    verdict_of,
)
