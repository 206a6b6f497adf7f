"""Shared test helpers, and the isolation every test runs in.

The suite never touches the real user's guard files: before any test (or any ``guard``
subprocess a test starts) the audit log, decision cache, bundle cache, user and system config
directories point into one temporary folder for this test session, and ``GUARD_*`` settings
from the developer's shell are dropped so they cannot change what a test sees. pip's and uv's
own caches keep their real location (set explicitly, since they too follow ``XDG_CACHE_HOME``)
so venv-building tests stay fast. At the end of the session the real user files are compared
with how they were at the start; any change fails the run.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _real_user_places() -> list:
    """Where guard keeps the real user's files (as platformdirs resolves them before isolation)."""
    import platformdirs

    return [Path(platformdirs.user_log_dir("guardpolicy", appauthor=False)),
            Path(platformdirs.user_cache_dir("guard", appauthor=False)),
            Path(platformdirs.user_cache_dir("guardpolicy", appauthor=False)),
            Path(platformdirs.user_config_dir("guard", appauthor=False))]


def _snapshot(places) -> dict:
    """Every file under ``places`` with its size and mtime."""
    seen = {}
    for place in places:
        files = sorted(place.rglob("*")) if place.is_dir() else []
        seen[str(place)] = [(str(f), f.stat().st_size, f.stat().st_mtime_ns) for f in files if f.is_file()]
    return seen


def _isolate() -> Path:
    """Point every guard location at a fresh session folder; return it."""
    import platformdirs

    # pip and uv follow XDG_CACHE_HOME too: keep their real caches (built venvs reuse wheels)
    os.environ.setdefault("PIP_CACHE_DIR", platformdirs.user_cache_dir("pip", appauthor=False))
    os.environ.setdefault("UV_CACHE_DIR", str(Path(platformdirs.user_cache_dir("uv", appauthor=False))))
    for name in [n for n in os.environ if n.startswith(("GUARD_", "GUARDPOLICY_"))]:
        del os.environ[name]
    root = Path(tempfile.mkdtemp(prefix="guard-tests-"))
    for var, sub in (("XDG_CONFIG_HOME", "config"), ("XDG_CACHE_HOME", "cache"), ("XDG_STATE_HOME", "state"),
                     ("XDG_DATA_HOME", "data"), ("GUARD_CONFIG_DIR", "config/guard"),
                     ("GUARD_CACHE_DIR", "cache/guard"), ("GUARD_SYSTEM_CONFIG_DIR", "etc-guard")):
        (root / sub).mkdir(parents=True, exist_ok=True)
        os.environ[var] = str(root / sub)
    return root


_REAL_PLACES = _real_user_places()
#: the real user's files before the session (compared in pytest_sessionfinish)
_REAL_BEFORE = _snapshot(_REAL_PLACES)
#: this session's private HOME-like folder (pytest-xdist workers each get their own)
SESSION_ROOT = _isolate()


def pytest_sessionfinish(session, exitstatus):
    after = _snapshot(_REAL_PLACES)
    changed = [place for place in after if after[place] != _REAL_BEFORE[place]]
    shutil.rmtree(SESSION_ROOT, ignore_errors=True)
    if changed:
        session.config.get_terminal_writer().line(
            f"tests changed the real user's guard files: {', '.join(changed)}", red=True)
        session.exitstatus = 1


#: fixtures that serve on 127.0.0.1: a test using one (directly or through another fixture) is
#: marked ``network``; modules whose own fixtures start servers mark themselves
SERVER_FIXTURES = frozenset({"fakehub", "server", "tls_server", "osv_server", "json_index"})


def pytest_collection_modifyitems(items):
    for item in items:
        if SERVER_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.network)


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


_WHOLE_MODULE_SLOW = re.compile(r"^pytestmark = pytest\.mark\.slow\b", re.M)


def pytest_ignore_collect(collection_path, config):
    """For ``-m "not slow"``, a module marked slow as a whole is not even imported: importing torch,
    transformers or scikit-learn for tests that are deselected anyway cost every xdist worker seconds."""
    if config.getoption("markexpr", "").strip() != "not slow":
        return None
    if collection_path.suffix != ".py" or not collection_path.name.startswith("test_"):
        return None
    try:
        return True if _WHOLE_MODULE_SLOW.search(collection_path.read_text(encoding="utf-8")) else None
    except OSError:
        return None
