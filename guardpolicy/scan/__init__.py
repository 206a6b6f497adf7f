"""Static scanning of model files: format detection, a pickle machine, containers, findings.

Public API: ``scan_path(path, policy=None) -> list[Finding]`` (also ``guardpolicy.scan_path``).
Stdlib-only, and nothing here imports, unpickles or executes what it scans.
"""

from __future__ import annotations

from .api import scan_path, scan_report

__all__ = ["scan_path", "scan_report"]
