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


@pytest.fixture
def fakehub():
    """A started ``tests.support.fakehub.FakeHub`` on 127.0.0.1 (stopped after the test).

    Pass ``endpoint=fakehub.url`` to huggingface_hub calls (its ``HF_ENDPOINT`` constant is
    read at import) and a temporary ``cache_dir``; subprocesses get ``HF_ENDPOINT``.
    """
    try:  # tests/ on sys.path (pytest's rootdir conftest insertion) or the repo root
        from support.fakehub import FakeHub
    except ImportError:
        from tests.support.fakehub import FakeHub

    hub = FakeHub()
    hub.start()
    try:
        yield hub
    finally:
        hub.stop()
