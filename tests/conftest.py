"""Shared test helpers."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def run_guard(*args, cwd=None, env=None, input=None):
    """Run the real ``guard`` CLI in a subprocess; return CompletedProcess (text)."""
    return subprocess.run([sys.executable, "-m", "guardpolicy", *map(str, args)], cwd=cwd, env=env,
                          input=input, capture_output=True, text=True, timeout=300)


@pytest.fixture
def guard():
    """The ``run_guard`` helper as a fixture."""
    return run_guard
