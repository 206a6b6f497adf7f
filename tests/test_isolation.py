"""The suite runs in its own HOME-like folder: no test reads or writes the real user's guard files."""

from __future__ import annotations

import json
import os
from pathlib import Path

from conftest import SESSION_ROOT, run_guard


def test_every_guard_location_is_inside_the_session_folder():
    from guardpolicy.audit.log import default_log_path
    from guardpolicy.policy.bundles import cache_root, system_config_dir
    from guardpolicy.policy.loader import user_config_dir
    from guardpolicy.runtime.cache import default_dir

    # with the session's GUARD_* settings, and without them (a test that drops GUARD_* from a
    # subprocess environment falls back on the XDG folders, which are the session's too)
    bare = {k: v for k, v in os.environ.items() if not k.startswith("GUARD_")}
    for env in (os.environ, bare):
        for path in (cache_root(env), user_config_dir(env), default_dir(env=env)):
            assert Path(path).resolve().is_relative_to(SESSION_ROOT.resolve()), path
    assert default_log_path().resolve().is_relative_to(SESSION_ROOT.resolve())
    from guardpolicy.runtime.filescan import quarantine_dir

    assert Path(quarantine_dir()).resolve().is_relative_to(SESSION_ROOT.resolve())
    assert system_config_dir(os.environ).resolve().is_relative_to(SESSION_ROOT.resolve())
    assert not [name for name in os.environ if name.startswith("GUARD_") and name not in
                ("GUARD_CONFIG_DIR", "GUARD_CACHE_DIR", "GUARD_SYSTEM_CONFIG_DIR")]


def test_a_guard_run_logs_into_the_session_folder(tmp_path):
    from guardpolicy.audit.log import default_log_path

    log = default_log_path()
    before = log.read_bytes().count(b"\n") if log.exists() else 0
    req = tmp_path / "requirements.txt"
    req.write_text("reqeusts==1.0\n", encoding="utf-8")
    proc = run_guard("check", req, cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr
    lines = log.read_text(encoding="utf-8").splitlines()[before:]
    assert any(json.loads(line).get("subject", "").startswith("reqeusts") for line in lines), lines
