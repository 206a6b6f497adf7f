"""Helpers for the runtime (startup hook) tests: run code in a fresh interpreter with the hook active.

Each scenario runs in a subprocess started with ``guardpolicy._startup.install()`` first, exactly
like an interpreter whose ``guardpolicy.pth`` ran, so the real ``huggingface_hub`` / ``torch`` /
``transformers`` are patched at import time. Results come back as ``label: OK ...`` /
``label: BLOCKED ...`` / ``label: ERROR ...`` lines.
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

PRELUDE = r'''
import os, sys
import guardpolicy._startup as _startup
_startup.install()
from guardpolicy.errors import PolicyViolation

def _violation(exc):
    seen = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, PolicyViolation):
            return exc
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return None

def attempt(label, fn, *args, **kwargs):
    try:
        result = fn(*args, **kwargs)
    except BaseException as exc:
        v = _violation(exc)
        if v is not None:
            lines = [l.strip() for l in str(v).splitlines() if l.strip().startswith("[")]
            print(f"{label}: BLOCKED {' | '.join(lines) or str(v).splitlines()[0]}", flush=True)
        else:
            print(f"{label}: ERROR {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}", flush=True)
        return None
    print(f"{label}: OK {result}", flush=True)
    return result
'''


class Evil:
    """Unpickling this runs ``os.system(cmd)``: a real malicious pickle, never loaded by the tests."""

    def __init__(self, cmd: str):
        self.cmd = cmd

    def __reduce__(self):
        return (os.system, (self.cmd,))


def evil_pickle(marker: Path) -> bytes:
    """A protocol-2 pickle whose load would create ``marker`` (``posix.system``)."""
    return pickle.dumps({"weight": [1.0, 2.0], "payload": Evil(f"touch {marker}")}, protocol=2)


def clean_pickle() -> bytes:
    """A pickle with only plain containers and numbers (no globals at all)."""
    return pickle.dumps({"weight": [1.0, 2.0], "bias": [0.5]}, protocol=4)


def safetensors_bytes(values=(1.0, 2.0)) -> bytes:
    """A valid safetensors file with one F32 tensor ``w`` (the format written by hand, per its spec)."""
    import json
    import struct

    data = struct.pack(f"<{len(values)}f", *values)
    header = json.dumps({"w": {"dtype": "F32", "shape": [len(values)], "data_offsets": [0, len(data)]}}).encode()
    header += b" " * (-len(header) % 8)
    return struct.pack("<Q", len(header)) + header + data


def run_hooked(code: str, env: dict, timeout: int = 120, pythonpath: str = "") -> subprocess.CompletedProcess:
    """Run ``PRELUDE + code`` in a fresh interpreter with ``env`` overlaid on a clean environment."""
    full = dict(os.environ)
    for key in list(full):
        if key.startswith(("HF_", "GUARD", "HUGGINGFACE_", "TRANSFORMERS_", "TORCH_FORCE")):
            del full[key]
    full.update({"HF_HUB_DISABLE_TELEMETRY": "1", "HF_HUB_DISABLE_PROGRESS_BARS": "1",
                 "HF_HUB_DISABLE_XET": "1", "HF_HUB_DISABLE_IMPLICIT_TOKEN": "1", "TOKENIZERS_PARALLELISM": "false",
                 "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost"})
    full.update(env)
    paths = [p for p in (pythonpath, str(ROOT)) if p]
    full["PYTHONPATH"] = os.pathsep.join(paths)
    return subprocess.run([sys.executable, "-c", PRELUDE + textwrap.dedent(code)], env=full, capture_output=True,
                          text=True, timeout=timeout)


def outcomes(proc: subprocess.CompletedProcess) -> dict:
    """``{label: "OK ..." | "BLOCKED ..." | "ERROR ..."}`` from a ``run_hooked`` result."""
    out = {}
    for line in proc.stdout.splitlines():
        label, sep, rest = line.partition(": ")
        if sep and rest.split(" ", 1)[0] in ("OK", "BLOCKED", "ERROR"):
            out[label] = rest
    return out
