"""``.pre-commit-hooks.yaml``: the hook's file pattern and its entry run as pre-commit runs it."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
(HOOK,) = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())


@pytest.mark.parametrize("path", ["requirements.txt", "requirements-dev.txt", "requirements.in", "sub/requirements_test.txt",
                                  "requirements/base.txt", "requirements/prod.in", "dev-requirements.txt",
                                  "pylock.toml", "pylock.gpu.toml", "app/uv.lock"])
def test_pattern_matches_requirements_and_locks(path):
    assert re.search(HOOK["files"], path)  # pre-commit uses re.search


@pytest.mark.parametrize("path", ["README.md", "requirements.txt.bak", "setup.py", "docs/requirements.md",
                                  "uv.lock.orig", "pylock.json", "myrequirements.txt"])
def test_pattern_skips_other_files(path):
    assert not re.search(HOOK["files"], path)


def test_hook_shape():
    assert HOOK["id"] == "guard-check" and HOOK["language"] == "python" and HOOK["pass_filenames"] is True
    assert HOOK["entry"].split()[0] == "guard"


def test_entry_runs_like_pre_commit_runs_it(tmp_path):
    (tmp_path / "requirements.txt").write_text("requests==2.32.3\n")
    (tmp_path / "requirements-dev.txt").write_text("reqeusts==1.0\n--index-url http://evil.example/simple\n")
    env = dict(os.environ, XDG_STATE_HOME=str(tmp_path / "state"), XDG_CONFIG_HOME=str(tmp_path / "config"))
    env.pop("GUARD_POLICY", None)
    # pre-commit runs `entry` + the matching file names; `guard` is the console script of this package
    args = shlex.split(HOOK["entry"])[1:]
    run = lambda *files: subprocess.run([sys.executable, "-m", "guardpolicy", *args, *files], cwd=tmp_path, env=env,
                                        capture_output=True, text=True, timeout=120)
    ok = run("requirements.txt")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    bad = run("requirements.txt", "requirements-dev.txt")
    assert bad.returncode == 1 and "requirements-dev.txt" in bad.stdout and "evil.example" in bad.stdout
