"""The checks CI runs on the code itself (issue 16): layers (import-linter), ruff, mypy on the core.

Each runs the real tool from this environment on this checkout, configured in pyproject.toml.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def _run(*cmd):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([str(BIN / cmd[0]), *cmd[1:]], cwd=ROOT, capture_output=True, text=True, env=env, timeout=600)


def test_layers_contract_holds():
    """cli > runtime > rules > scan > engine/audit > policy/sources > report > bottom: no import reaches up."""
    r = _run("lint-imports", "--no-cache")
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-2000:]


def test_ruff_is_clean():
    r = _run("ruff", "check", "guardpolicy", "tests", "benchmarks", "plugins")
    assert r.returncode == 0, r.stdout[-4000:]


@pytest.mark.slow  # a cold mypy run takes ~20 s
def test_mypy_core_is_clean():
    r = _run("mypy")
    assert r.returncode == 0, r.stdout[-4000:]
