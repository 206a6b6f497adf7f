"""guardpolicy-pip-audit as a separate distribution: pip-installed into a fresh venv beside guardpolicy.

The venv is real and isolated: no system site-packages. Both projects are built from their
local folders by that venv's own pip (``--no-deps --no-build-isolation --no-index``: no
network); their dependencies come from this test environment through a folder of symlinks
to exactly those distributions (never guardpolicy itself nor the plugin), added by a ``.pth``
file. Then: ``guard check`` reports ``vulnerability`` findings from the offline OSV database;
``pip uninstall guardpolicy-pip-audit`` makes the rule disappear.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path

import pytest

# builds guardpolicy and the plugin into a fresh venv
pytestmark = pytest.mark.slow
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
PLUGIN = ROOT / "plugins" / "guardpolicy-pip-audit"
OSV = ROOT / "tests" / "data" / "osv"
OWN = {"guardpolicy", "guardpolicy-pip-audit"}


def dependency_closure(roots) -> dict:
    """Installed distributions needed by ``roots`` (recursively, extras off), without our own two."""
    seen: dict = {}
    todo = list(roots)
    while todo:
        name = canonicalize_name(todo.pop())
        if name in seen or name in OWN:
            continue
        try:
            dist = distribution(name)
        except PackageNotFoundError:
            continue  # optional or platform-specific: the import will tell if it mattered
        seen[name] = dist
        for text in dist.requires or ():
            req = Requirement(text)
            if req.marker is None or req.marker.evaluate({"extra": ""}):
                todo.append(req.name)
    return seen


def link_dependencies(target: Path, dists) -> None:
    """Symlink each distribution's top-level files and folders (code and dist-info) into ``target``."""
    target.mkdir(parents=True, exist_ok=True)
    for dist in dists:
        base = Path(dist.locate_file(""))
        for f in dist.files or ():
            top = Path(f).parts[0]
            if top == ".." or top.endswith(".pth") or top == "__pycache__":
                continue
            src, dst = base / top, target / top
            if src.exists() and not dst.exists():
                dst.symlink_to(src)


def pip_env() -> dict:
    """Isolate pip from machine config (TEAM.md) and from the network."""
    env = dict(os.environ)
    env.pop("PIP_FIND_LINKS", None)
    env.pop("PYTHONPATH", None)
    env.update(PIP_CONFIG_FILE=os.devnull, PIP_NO_INDEX="1", PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_NO_INPUT="1")
    return env


@pytest.fixture(scope="module")
def venv(tmp_path_factory):
    """A fresh venv with guardpolicy and guardpolicy-pip-audit pip-installed from local paths."""
    pytest.importorskip("wheel", reason="the test extra installs wheel (pip builds without isolation offline)")
    tmp = tmp_path_factory.mktemp("pluginvenv")
    env_dir = tmp / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(env_dir)], check=True, timeout=120)
    py = env_dir / "bin" / "python"
    site = Path(subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               capture_output=True, text=True, check=True).stdout.strip())
    roots = [Requirement(r).name for r in distribution("guardpolicy").requires or () if "extra ==" not in r]
    roots += ["pip-audit", "wheel"]
    deps = tmp / "deps"
    link_dependencies(deps, dependency_closure(roots).values())
    (site / "zz_guard_test_deps.pth").write_text(str(deps) + "\n")
    proc = subprocess.run([str(py), "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation",
                           str(ROOT), str(PLUGIN)], capture_output=True, text=True, env=pip_env(), timeout=300, cwd=tmp)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return env_dir


def guard(venv_dir: Path, *args, cwd):
    return subprocess.run([str(venv_dir / "bin" / "guard"), *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, env=pip_env(), timeout=120)


def test_plugin_installed_reports_then_uninstalled_is_gone(venv, tmp_path):
    py = venv / "bin" / "python"
    # the installed copies are the ones in the venv, not this checkout
    where = subprocess.run([str(py), "-c", "import guardpolicy, guardpolicy_pip_audit as p; print(guardpolicy.__file__); print(p.__file__)"],
                           capture_output=True, text=True, cwd=tmp_path, env=pip_env())
    assert where.returncode == 0, where.stderr
    assert all(str(venv) in line for line in where.stdout.splitlines()), where.stdout

    (tmp_path / "requirements.txt").write_text("jinja2==2.11.3\npyyaml==5.3.1\nrequests>=2\n")
    (tmp_path / "guard.toml").write_text(textwrap.dedent(f"""
        [rules.vulnerability]
        database = "{OSV}"
        severity = "medium"
    """))
    proc = guard(venv, "check", "requirements.txt", "-f", "json", cwd=tmp_path)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    report = json.loads(proc.stdout)
    vulns = [f for f in report["findings"] if f["rule"] == "vulnerability"]
    ids = sorted(f["details"]["id"] for f in vulns)
    assert ids == ["GHSA-8q59-q68h-6hv4", "GHSA-h5c8-rqwp-cp95", "GHSA-h75v-3vvj-5mfj", "GHSA-q2x7-8rv6-6q7h"]
    assert {f["subject"] for f in vulns} == {"jinja2==2.11.3", "pyyaml==5.3.1"}

    sarif = json.loads(guard(venv, "check", "requirements.txt", "-f", "sarif", cwd=tmp_path).stdout)
    assert "vulnerability" in [r["id"] for r in sarif["runs"][0]["tool"]["driver"]["rules"]]

    out = subprocess.run([str(py), "-m", "pip", "uninstall", "-y", "-q", "guardpolicy-pip-audit"],
                         capture_output=True, text=True, env=pip_env(), timeout=120)
    assert out.returncode == 0, out.stderr
    # the policy still configures the rule: now nobody provides it, and guard says so (exit 2, one line)
    proc = guard(venv, "check", "requirements.txt", cwd=tmp_path)
    assert proc.returncode == 2 and "vulnerability" in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
    (tmp_path / "guard.toml").write_text("mode = \"enforce\"\n")
    proc = guard(venv, "check", "requirements.txt", "-f", "sarif", cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    sarif = json.loads(proc.stdout)
    assert "vulnerability" not in [r["id"] for r in sarif["runs"][0]["tool"]["driver"]["rules"]]
    assert not [r for r in sarif["runs"][0]["results"] if r["ruleId"] == "vulnerability"]


def test_core_never_imports_the_plugin():
    offenders = [str(p.relative_to(ROOT)) for p in (ROOT / "guardpolicy").rglob("*.py")
                 if "guardpolicy_pip_audit" in p.read_text(encoding="utf-8")]
    assert offenders == []
