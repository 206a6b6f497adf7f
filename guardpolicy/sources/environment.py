"""An installed Python environment as a target: ``env:PYTHON`` (``guard check --environment``, or no target).

Whatever put a distribution into the environment (uv, pipx, conda's pip, a base interpreter's pip
with ``--prefix``), it is judged here like a resolved package: name, version, and what it requires
(context for rule ``typosquat``). The interpreter is asked with ``importlib.metadata`` in a child
process (``-I``: no user site, no environment variables steering it); nothing is imported from
the distributions themselves.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Iterator, Optional

from ..model import Location
from .interface import Source, SourceError
from .locks import requirement_name, resolved_package

#: runs in the target interpreter: every distribution's name, version and requirement names
_LIST = r"""
import json, importlib.metadata as md
out = []
for d in md.distributions():
    name = d.metadata.get("Name")
    if name:
        out.append({"name": name, "version": d.version, "requires": list(d.requires or ())})
print(json.dumps(out))
"""


def default_python(env=None) -> str:
    """The activated virtual environment's interpreter, else the one running guard."""
    env = os.environ if env is None else env
    venv = env.get("VIRTUAL_ENV")
    if venv:
        for cand in (os.path.join(venv, "bin", "python"), os.path.join(venv, "Scripts", "python.exe")):
            if os.path.exists(cand):
                return cand
    return sys.executable


class EnvironmentSource(Source):
    """Every distribution installed in one interpreter's environment."""

    def __init__(self, python: Optional[str] = None):
        """``python``: the interpreter whose environment to read (default: ``default_python()``)."""
        self.python = python or default_python()
        self.name = f"env:{self.python}"

    def collect(self) -> Iterator:
        """Yield a resolved ``PackageRef`` per installed distribution (``requires`` kept as context)."""
        try:
            proc = subprocess.run([self.python, "-I", "-c", _LIST], capture_output=True, text=True, timeout=120)
        except (OSError, subprocess.SubprocessError) as exc:
            raise SourceError(f"cannot run {self.python}: {exc}", file=self.python) from None
        if proc.returncode != 0:
            raise SourceError(f"{self.python} could not list its distributions: "
                              f"{(proc.stderr.strip().splitlines() or ['?'])[-1]}", file=self.python)
        try:
            dists = json.loads(proc.stdout)
        except ValueError:
            raise SourceError(f"{self.python} printed no distribution list", file=self.python) from None
        loc = Location(f"{self.python} (installed)")
        seen = set()
        for d in dists if isinstance(dists, list) else ():
            name, version = d.get("name"), d.get("version")
            if not isinstance(name, str) or not isinstance(version, str) or name.lower() in seen:
                continue
            seen.add(name.lower())
            requires = tuple(dict.fromkeys(n for n in map(requirement_name, d.get("requires") or ()) if n))
            yield resolved_package(name, version, location=loc,
                                   extra={"installed": True, **({"requires": requires} if requires else {})})
