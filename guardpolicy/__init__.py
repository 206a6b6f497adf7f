"""guardpolicy: a supply-chain policy engine for Python packages and ML artifacts.

Kept tiny and stdlib-only: the runtime startup hook imports this package. Heavier parts
load on first use through ``__getattr__``.
"""

# No imports here, not even ``from __future__``: the startup hook imports this package in every
# Python process of a hooked environment, so each module loaded here is start-up time for all.
__version__ = "0.1.0"

__all__ = ["__version__", "GuardError", "PolicyError", "PolicyViolation", "scan_path", "load_policy", "Engine"]


def __getattr__(name):
    """Lazy top-level names (PEP 562): importing ``guardpolicy`` stays as cheap as the startup hook needs."""
    if name in ("GuardError", "PolicyError", "PolicyViolation"):
        from . import errors

        return getattr(errors, name)
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
