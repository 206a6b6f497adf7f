"""guardpolicy: a supply-chain policy engine for Python packages and ML artifacts.

Kept tiny and stdlib-only: the runtime startup hook imports this package. Heavier parts
load on first use through ``__getattr__``.
"""

from __future__ import annotations

__version__ = "0.1.0"

from .errors import GuardError, PolicyError, PolicyViolation  # noqa: E402  (stdlib-only)

__all__ = ["__version__", "GuardError", "PolicyError", "PolicyViolation", "scan_path", "load_policy", "Engine"]


def __getattr__(name: str):
    if name == "load_policy":
        from .policy import load_policy

        return load_policy
    if name == "Engine":
        from .engine import Engine

        return Engine
    if name == "scan_path":
        from .scan import scan_path

        return scan_path
    raise AttributeError(f"module 'guardpolicy' has no attribute {name!r}")
