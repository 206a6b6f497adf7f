"""Plugins enter through the ``guardpolicy`` entry-point group; a broken one fails loudly, not silently."""

from __future__ import annotations

import os

from conftest import run_guard


def _broken_plugin_on_path(tmp_path) -> dict:
    dist = tmp_path / "site" / "guardpolicy_broken-1.0.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: guardpolicy-broken\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[guardpolicy]\nbroken = guardpolicy_broken_missing.rules\n")
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(tmp_path / "site"), env.get("PYTHONPATH")]))
    return env


def test_a_plugin_that_cannot_load_is_a_one_line_error_naming_it(tmp_path):
    r = run_guard("check", "pypi:numpy==1.26.4", env=_broken_plugin_on_path(tmp_path))
    assert r.returncode == 2, r.stdout + r.stderr
    assert "Traceback" not in r.stderr
    assert "plugin 'broken' (guardpolicy_broken_missing.rules, from guardpolicy-broken 1.0) failed to load" in r.stderr


def test_runtime_gate_fails_closed_when_a_plugin_cannot_load(tmp_path):
    import subprocess
    import sys

    code = ("from guardpolicy.runtime import gate\n"
            "from guardpolicy.model import PackageRef\n"
            "try:\n    gate.enforce([PackageRef('numpy', '==1.26.4', version='1.26.4')], 'test')\n"
            "except Exception as exc:\n    print(type(exc).__name__, exc)\n")
    r = subprocess.run([sys.executable, "-c", code], env=_broken_plugin_on_path(tmp_path),
                       capture_output=True, text=True, timeout=120)
    assert r.stdout.startswith("PolicyViolation"), r.stdout + r.stderr
    assert "plugin 'broken'" in r.stdout


def test_builtin_rules_are_registered_under_their_entry_point_names():
    from pathlib import Path

    import tomllib

    from guardpolicy.plugins import BUILTIN_PLUGINS, get_plugin_manager

    declared = tomllib.loads((Path(__file__).parent.parent / "pyproject.toml").read_text())["project"]["entry-points"]["guardpolicy"]
    assert declared == BUILTIN_PLUGINS
    pm = get_plugin_manager()
    assert all(pm.get_plugin(name) is not None for name in declared)
