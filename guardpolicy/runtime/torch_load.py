"""Runtime patch for ``torch.load``: a full unpickle of a file that was not scanned clean is gated.

``torch.load(f, weights_only=False)`` (or an old torch's default, or an explicit ``pickle_module``)
runs whatever the pickle asks for. The wrapper decides the effective ``weights_only`` the way torch
does (argument, ``_default_to_weights_only``, the ``TORCH_FORCE_*`` variables); when it is false, the
file is judged first as a ``FileRef`` through ``gate.enforce`` -- the same engine and file rules as
``guard scan`` (``format``, ``pickle``, plugins' ``guard_check_file``), clean results cached by content
digest and shared with the Hub patches -- and denied (``PolicyViolation``) or warned per policy.
``weights_only=True`` loads use torch's own restricted unpickler and pass straight through.

File objects are read into a temporary file for the scan (from their current position) and rewound,
so torch still reads them from where the caller left them.
"""

from __future__ import annotations

import functools
import inspect
import os
import sys
import tempfile
from typing import Any, Optional

from . import gate
from .filescan import enforce_file

LIBRARY = "torch"
_TRUE = ("1", "y", "yes", "true")


def effective_weights_only(serialization, weights_only: Optional[bool], pickle_module: Any) -> bool:
    """What ``torch.load`` will use: the argument, else torch's default, then the ``TORCH_FORCE_*`` overrides.

    Torch before 2.6 has no ``_default_to_weights_only`` and defaults to a full unpickle (``False``).
    """
    explicit = weights_only is not None
    if not explicit:
        default = getattr(serialization, "_default_to_weights_only", None)
        weights_only = bool(default(pickle_module)) if default is not None else False
    if os.getenv("TORCH_FORCE_WEIGHTS_ONLY_LOAD", "0").lower() in _TRUE:
        return True
    if os.getenv("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", "0").lower() in _TRUE and not explicit:
        return False
    return bool(weights_only)


def _scan_target(f):
    """``(path to scan, cleanup)``: the file itself, or a temp copy of a file object's remaining bytes."""
    if isinstance(f, (str, bytes, os.PathLike)):
        path = os.fsdecode(f)
        return (path if os.path.isfile(path) else None), None
    read, seek, tell = (getattr(f, n, None) for n in ("read", "seek", "tell"))
    if read is None or seek is None or tell is None:
        return None, None
    try:
        start = tell()
        seek(start)
    except (OSError, ValueError):  # not seekable (io.UnsupportedOperation is both): cannot rewind after a scan
        return None, None
    fd, tmp = tempfile.mkstemp(prefix="guard-torch-")
    try:
        with os.fdopen(fd, "wb") as out:
            while True:
                block = read(1 << 20)
                if not block:
                    break
                out.write(block)
    finally:
        seek(start)
    return tmp, tmp


def stream_label(f) -> str:
    """How a file object is named in findings: an open file's path, else ``<TypeName>`` (never the temp copy)."""
    name = getattr(f, "name", None)
    if isinstance(name, (str, bytes)) and name:
        return os.fsdecode(name)
    return f"<{type(f).__name__}>"


def check_load(f, operation: str = "torch.load") -> None:
    """Scan what ``torch.load`` is about to unpickle and enforce the policy on the findings."""
    if isinstance(f, (str, bytes, os.PathLike)) and not os.path.isfile(os.fsdecode(f)):
        return  # torch raises its own FileNotFoundError / IsADirectoryError
    policy = gate.get_policy()
    if policy.mode == "off":
        return
    path, cleanup = _scan_target(f)
    try:
        if path is None:
            from ..model import Finding

            findings = [Finding(rule="pickle", subject=repr(f)[:200],
                                message="torch.load with weights_only=False on a stream guard cannot read back to scan",
                                suggestion="pass weights_only=True, or load from a file path")]
            gate.enforce(findings, operation, policy=policy, library=LIBRARY)
        else:
            # the file (or the stream's temp copy) is a FileRef judged by every file rule, built-in and plugin
            enforce_file(path, operation, policy, subject=os.fsdecode(f) if cleanup is None else stream_label(f),
                         library=LIBRARY)
    finally:
        if cleanup:
            try:
                os.unlink(cleanup)
            except OSError:
                pass


def wrap_load(original, serialization):
    """Wrap ``torch.load`` (``torch.serialization.load``), keeping its signature and metadata."""
    if getattr(original, "_guard_patched", False):
        return original
    try:
        sig = inspect.signature(original)
    except (TypeError, ValueError):
        sig = None

    @functools.wraps(original)
    def load(*args, **kwargs):
        try:
            bound = sig.bind(*args, **kwargs) if sig is not None else None
        except TypeError:
            bound = None
        if bound is None:
            return original(*args, **kwargs)
        arguments = bound.arguments
        weights_only = arguments.get("weights_only")
        pickle_module = arguments.get("pickle_module")
        if not effective_weights_only(serialization, weights_only, pickle_module):
            f = arguments.get("f", args[0] if args else None)
            name = os.fsdecode(f) if isinstance(f, (str, bytes, os.PathLike)) else stream_label(f)
            check_load(f, operation=f"torch.load({name!s}, weights_only=False)")
        return original(*args, **kwargs)

    load._guard_patched = True
    load._guard_original = original
    return load


def patch_torch(module) -> None:
    """Patch ``torch.load`` and ``torch.serialization.load`` (called once ``torch`` has executed)."""
    serialization = getattr(module, "serialization", None) or sys.modules.get("torch.serialization")
    original = getattr(module, "load", None)
    if original is None or getattr(original, "_guard_patched", False):
        return
    wrapper = wrap_load(original, serialization)
    module.load = wrapper
    if serialization is not None and getattr(serialization, "load", None) is original:
        serialization.load = wrapper


def fail_closed(module, error: str) -> None:
    """Called by the startup hook when the patch failed: refuse full unpickling loads."""
    original = getattr(module, "load", None)
    if original is None:
        return

    @functools.wraps(original)
    def load(*args, **kwargs):
        if kwargs.get("weights_only") is True:
            return original(*args, **kwargs)
        from ..errors import PolicyViolation

        print(f"guard: BLOCKED torch.load: guard's torch patch failed ({error})", file=sys.stderr)
        raise PolicyViolation(f"guard: torch.load refused: the torch patch failed ({error}); use weights_only=True")

    load._guard_patched = True
    module.load = load
