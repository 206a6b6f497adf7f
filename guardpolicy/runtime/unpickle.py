"""The gate on every in-process unpickling: the ``pickle.find_class`` audit event.

CPython raises the audit event ``pickle.find_class(module, name)`` each time an unpickler looks up
a global: ``pickle.load(s)``, ``joblib.load``, ``numpy.load(allow_pickle=True)``,
``pandas.read_pickle`` and ``torch.load(weights_only=False)`` all go through it. The startup hook
(``_guardpolicy_startup``) registers an audit hook that calls ``check_global``; raising there stops
the unpickler before the global is imported or returned.

What is refused here is narrower than the static scanner's allowlist, on purpose: unpickling is
also how ``multiprocessing``, ``concurrent.futures`` and caches move the user's own classes,
functions, paths and partials between processes, and refusing those would stop legitimate work.
Refused: globals that run commands or code — whole modules such as ``os``, ``subprocess``,
``builtins`` (beyond the allowlisted types), ``runpy``, ``importlib``, ``ctypes``, ``pty``,
``socket``, ``pydoc`` — plus the scanner's known code-loading functions (``torch.load``,
``numpy.load``, ``pandas.read_pickle``...), code-running names (``eval``, ``exec``, ``system``,
``getattr``...) anywhere, and attribute walks. Globals the scanner names although live processes pass
them to each other (``numpy.memmap``, ``logging.handlers``, ``scipy.stats`` distributions,
``torch._inductor`` compile jobs: ``allowlist._SCAN_ONLY``) pass: worker processes receive them. The policy's
``[rules.pickle] profiles`` and ``allowed_globals`` let a global through, as in the scanner (an
exact entry waives even a dangerous one; a profile never lists one, so it only matters for the
exact attribute walks it lists, such as ``zoneinfo.ZoneInfo._unpickle``). Files fetched or
``torch.load``-ed through the hooks are still scanned against the full allowlist before loading.
``mode = "warn"`` or the rule's ``action = "warn"`` print a warning and load; ``off`` loads.
"""

from __future__ import annotations

import sys
from typing import Dict, Optional, Tuple

#: modules every member of which runs commands, code, imports or reaches the network
RUNTIME_DANGEROUS_MODULES = frozenset("""
os posix nt subprocess _posixsubprocess runpy pty code codeop ctypes _ctypes webbrowser commands popen2 marshal
pdb bdb timeit cProfile profile trace doctest idlelib pip _pip ensurepip venv zipimport importlib pkgutil builtins
__builtin__ __builtins__ sys shutil socket socketserver _thread signal gc inspect pydoc _osx_support _aix_support
_pyrepl imp _imp _winapi
""".split())

#: (module, name) -> the refusal message, or None when it may load (judged once per process)
_verdicts: Dict[Tuple[str, str], Optional[str]] = {}


def check_global(module, name) -> None:
    """Raise ``PolicyViolation`` when unpickling ``module.name`` is refused by the policy."""
    key = (str(module), str(name))
    if key not in _verdicts:
        _verdicts[key] = _judge(*key)
    message = _verdicts[key]
    if message is not None:
        from ..errors import PolicyViolation

        raise PolicyViolation(message)


def runtime_danger(module: str, name: str) -> Optional[str]:
    """Why unpickling ``module.name`` in a live process runs code, or ``None``."""
    from ..scan.allowlist import danger, py3_name, scan_only_danger

    why = danger(module, name)  # None for allowlisted globals too
    if why is None:
        return None
    mapped_module, mapped_name = py3_name(module, name)
    top = mapped_module.split(".", 1)[0]
    if why.startswith("module ") and top not in RUNTIME_DANGEROUS_MODULES:
        return None  # multiprocessing, functools, pathlib, copyreg...: how processes pass the user's objects
    if why == scan_only_danger(mapped_module, mapped_name):
        return None  # memmaps, log handlers, scipy.stats distributions, torch.compile jobs: workers receive them
    return why


def _judge(module: str, name: str) -> Optional[str]:
    """The refusal message for ``module.name``, or ``None`` (allowed, or only warned about)."""
    why = runtime_danger(module, name)
    if why is None:
        return None
    from . import gate

    policy = gate.get_policy()  # a broken policy raises PolicyViolation: fail closed
    if policy.mode == "off":
        return None
    settings = policy.rule("pickle")
    if settings.action == "off":
        return None
    from ..scan.allowlist import is_safe
    from ..scan.api import allowed_globals
    from ..scan.profiles import enabled

    if is_safe(module, name, allowed_globals(policy), enabled(policy)):
        return None
    what = f"{module}.{name}"
    line = f"[pickle] unpickling {what} refused: {why}"
    if settings.action == "warn" or policy.mode == "warn":
        sys.stderr.write(f"guard: WARN {line} (allowed: warn mode)\n")
        return None
    # printed now: libraries that catch and re-wrap exceptions would otherwise hide the reason
    sys.stderr.write(f"guard: BLOCKED {line}\n")
    return (f"guard: {line}\n  fix: do not load this data; if you trust it, waive it: add '{what}' to "
            "[rules.pickle] allowed_globals in the policy")
