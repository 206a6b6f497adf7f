"""`guard hook install|uninstall|status` on real venvs (no pip needed: they only run Python)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

# real venvs with the hook installed
pytestmark = pytest.mark.slow

from pipindex import make_venv, pip_env

from guardpolicy.cli import hook


def guard(*args, env=None):
    return subprocess.run([sys.executable, "-m", "guardpolicy", *map(str, args)], capture_output=True, text=True,
                          env=env or pip_env(), timeout=120)


def purelib(python) -> Path:
    return Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               capture_output=True, text=True, check=True).stdout.strip())


def active(python, env=None, flags=()) -> bool:
    code = "import sys; print(any(getattr(f, '_guardpolicy_finder', False) for f in sys.meta_path))"
    r = subprocess.run([str(python), *flags, "-c", code], capture_output=True, text=True, env=env or pip_env(), timeout=60)
    assert r.returncode == 0, r.stderr
    return r.stdout.strip() == "True"


@pytest.fixture
def venv(tmp_path):
    return make_venv(tmp_path / "venv", without_pip=True)


def test_install_status_uninstall_roundtrip(venv):
    site = purelib(venv)
    before = sorted(p.name for p in site.iterdir())
    assert not active(venv)
    r = guard("hook", "status", "--python", venv)
    assert r.returncode == 1 and "active:        no (no hook installed)" in r.stdout

    r = guard("hook", "install", "--python", venv)
    assert r.returncode == 0, r.stderr
    assert (site / "guardpolicy.pth").read_text() == "import _guardpolicy_startup; _guardpolicy_startup.install()\n"
    assert not (site / "guardpolicy.start").exists()  # Python 3.11: no PEP 829
    manifest = json.loads((site / hook.MANIFEST).read_text())
    assert manifest["kind"] == "pth" and [Path(f["path"]).name for f in manifest["files"]] == ["guardpolicy.pth"]
    assert active(venv)
    assert active(venv, flags=("-I",))            # -I keeps the venv's site-packages
    assert not active(venv, flags=("-S",))        # -S skips all site processing
    assert active(venv, env=pip_env({"GUARDPOLICY_DISABLE": "1"}))  # a request the policy decides, not a bypass

    r = guard("hook", "status", "--python", venv)
    assert r.returncode == 0 and "active:        yes" in r.stdout
    assert "hook files:    guardpolicy.pth" in r.stdout

    r = guard("hook", "install", "--python", venv)  # idempotent re-install
    assert r.returncode == 0

    r = guard("hook", "uninstall", "--python", venv)
    assert r.returncode == 0, r.stderr
    assert sorted(p.name for p in site.iterdir()) == before
    assert not active(venv)
    r = guard("hook", "uninstall", "--python", venv)
    assert r.returncode == 0 and "nothing to remove" in r.stdout


def test_status_names_bypasses(venv):
    guard("hook", "install", "--python", venv)
    r = guard("hook", "status", "--python", venv, env=pip_env({"GUARDPOLICY_DISABLE": "1", "GUARD_MODE": "warn"}))
    assert r.returncode == 0 and "active:        yes" in r.stdout
    assert "GUARDPOLICY_DISABLE=1 is set" in r.stdout and "honoured only if the policy allows" in r.stdout and "GUARD_MODE=warn is set" in r.stdout
    assert "mode:          warn (from GUARD_MODE environment variable)" in r.stdout
    assert "uv" in r.stdout


def test_status_shows_broken_policy(venv, tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("mode = 3\n")
    guard("hook", "install", "--python", venv)
    r = guard("hook", "status", "--python", venv, env=pip_env({"GUARD_POLICY": str(bad)}))
    assert "policy:        ERROR" in r.stdout and str(bad) in r.stdout
    assert "fail closed" in r.stdout


def test_status_loads_the_policy_as_the_hooked_interpreter_does(venv, tmp_path):
    """The policy is judged in the target interpreter: there a rule from a plugin guard has but the
    environment lacks (guardpolicy-pip-audit) makes every gated operation fail closed."""
    import guardpolicy_pip_audit  # noqa: F401  (installed by README's test command)
    policy = tmp_path / "guard.toml"
    policy.write_text('[rules.vulnerability]\nseverity = "high"\n')
    guard("hook", "install", "--python", venv)
    r = guard("hook", "status", "--python", venv, env=pip_env({"GUARD_POLICY": str(policy)}))
    assert "policy:        ERROR" in r.stdout and "unknown rule" in r.stdout, r.stdout
    assert "fail closed" in r.stdout
    # the same policy in an environment that has the plugin (guard's own) loads fine
    assert guard("policy", "validate", policy, env=pip_env()).returncode == 0


def test_sitecustomize_never_overwrites(venv):
    site = purelib(venv)
    (site / "sitecustomize.py").write_text("print('theirs')\n")
    r = guard("hook", "install", "--sitecustomize", "--python", venv)
    assert r.returncode == 2 and "not overwriting" in r.stderr
    assert (site / "sitecustomize.py").read_text() == "print('theirs')\n"
    assert not (site / hook.MANIFEST).exists()


def test_sitecustomize_chains_next_one(venv, tmp_path):
    site = purelib(venv)
    other = tmp_path / "later"
    other.mkdir()
    (other / "sitecustomize.py").write_text("import builtins; builtins.CHAINED = True\n")
    r = guard("hook", "install", "--sitecustomize", "--python", venv)
    assert r.returncode == 0, r.stderr
    assert (site / "sitecustomize.py").exists() and not (site / "guardpolicy.pth").exists()
    env = pip_env({"PYTHONPATH": ""})
    # put a later sitecustomize on sys.path after site-packages with a .pth path line
    (site / "zz_later.pth").write_text(str(other) + "\n")
    code = "import sys, builtins; print(any(getattr(f, '_guardpolicy_finder', False) for f in sys.meta_path), getattr(builtins, 'CHAINED', False))"
    out = subprocess.run([str(venv), "-c", code], capture_output=True, text=True, env=env, timeout=60)
    # Debian-style interpreters may ship their own stdlib sitecustomize that wins; then ours cannot run
    if "sitecustomize" in sys.modules and not str(getattr(sys.modules["sitecustomize"], "__file__", "")).startswith(str(site)):
        pytest.skip("this interpreter has a stdlib sitecustomize that shadows site-packages")
    assert out.stdout.split() == ["True", "True"], out.stderr
    (site / "zz_later.pth").unlink()
    r = guard("hook", "uninstall", "--python", venv)
    assert r.returncode == 0 and not (site / "sitecustomize.py").exists()


def test_uninstall_leaves_modified_files(venv):
    site = purelib(venv)
    guard("hook", "install", "--python", venv)
    (site / "guardpolicy.pth").write_text("import os\n")
    r = guard("hook", "uninstall", "--python", venv)
    assert r.returncode == 0 and "was changed since guard wrote it" in r.stderr
    assert (site / "guardpolicy.pth").read_text() == "import os\n"


def test_install_refuses_when_guardpolicy_missing(tmp_path):
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(tmp_path / "bare")], check=True, timeout=120)
    python = tmp_path / "bare" / "bin" / "python"
    r = guard("hook", "install", "--python", python)
    assert r.returncode == 2 and "guardpolicy is not importable" in r.stderr
    assert not (purelib(python) / "guardpolicy.pth").exists()


def test_install_unknown_interpreter(tmp_path):
    r = guard("hook", "install", "--python", tmp_path / "nope")
    assert r.returncode == 2 and "cannot run" in r.stderr


def test_startup_module_is_compiled(venv):
    """Without a .pyc every start would compile the start-up module (~3 ms), e.g. under PYTHONDONTWRITEBYTECODE."""
    root = Path(__file__).resolve().parent.parent
    deps = venv.parent.parent / "guard-deps"          # where make_venv links the start-up module
    guard("hook", "install", "--python", venv)
    assert list((deps / "__pycache__").glob("_guardpolicy_startup.*.pyc"))
    assert list((root / "guardpolicy" / "__pycache__").glob("_startup.*.pyc"))


def test_start_up_loads_no_guardpolicy_module(venv):
    """A hooked start imports one small top-level module; the patching machinery waits for a gated import."""
    guard("hook", "install", "--python", venv)
    code = "import sys; print(sorted(m for m in sys.modules if 'guardpolicy' in m))"
    r = subprocess.run([str(venv), "-c", code], capture_output=True, text=True, env=pip_env(), timeout=60)
    assert r.stdout.split() == ["['_guardpolicy_startup']"], r.stderr
    # a name that could be a target ("torch...") brings in the patching half, nothing more
    probe = "try:\n    import torch_no_such_module\nexcept ImportError:\n    pass\n"
    r = subprocess.run([str(venv), "-c", probe + code], capture_output=True, text=True, env=pip_env(), timeout=60)
    assert "'guardpolicy._startup'" in r.stdout and "runtime" not in r.stdout, (r.stdout, r.stderr)


def test_broken_policy_never_breaks_plain_python(venv, tmp_path):
    guard("hook", "install", "--python", venv)
    bad = tmp_path / "bad.toml"
    bad.write_text("this is not toml ][\n")
    r = subprocess.run([str(venv), "-c", "print(1)"], capture_output=True, text=True,
                       env=pip_env({"GUARD_POLICY": str(bad)}), timeout=60)
    assert (r.returncode, r.stdout, r.stderr) == (0, "1\n", "")


@pytest.mark.parametrize("version,expected", [((3, 11, 7), False), ((3, 14, 0), False), ((3, 15, 0), True), ((4, 0), True)])
def test_start_files_from_315(version, expected):
    assert hook.supports_start_files(version) is expected


def test_templates_match_design():
    tdir = hook.templates_dir()
    assert (tdir / "guardpolicy.start").read_text().splitlines()[-1] == "_guardpolicy_startup:install"
    pth = (tdir / "guardpolicy.pth").read_text()
    assert pth.startswith("import ") and "install()" in pth and pth.count("\n") == 1


def test_default_python_prefers_activated_venv(venv):
    env_dir = venv.parent.parent
    assert hook.default_python({"VIRTUAL_ENV": str(env_dir)}) == str(env_dir / "bin" / "python")
    assert hook.default_python({}) == sys.executable
    assert hook.default_python({"VIRTUAL_ENV": str(env_dir / "missing")}) == sys.executable


def test_install_defaults_to_activated_venv(venv):
    r = guard("hook", "install", env=pip_env({"VIRTUAL_ENV": str(venv.parent.parent)}))
    assert r.returncode == 0, r.stderr
    assert (purelib(venv) / "guardpolicy.pth").exists() and active(venv)


def test_hook_verify_notices_tampering(venv, tmp_path):
    """Issue 14: emptying or renaming guardpolicy.pth, or a .pth that runs first and pulls the finder,
    is reported by `guard hook verify` (exit 1) and `guard hook status`."""
    from pathlib import Path

    assert guard("hook", "install", "--python", venv).returncode == 0
    ok = guard("hook", "verify", "--python", venv)
    assert ok.returncode == 0 and ok.stdout.strip().endswith("no .pth touches it)"), ok.stdout + ok.stderr
    import subprocess

    purelib = Path(subprocess.run([venv, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                                  capture_output=True, text=True, check=True).stdout.strip())
    pre = purelib / "aaa-first.pth"
    pre.write_text("import sys; sys.meta_path[:] = [f for f in sys.meta_path if 'guard' not in repr(f)]\n")
    (purelib / "guardpolicy.pth").write_text("")
    bad = guard("hook", "verify", "--python", venv)
    assert bad.returncode == 1, bad.stdout
    assert "guardpolicy.pth changed since guard hook install" in bad.stdout
    assert "aaa-first.pth runs before the hook and touches it" in bad.stdout
    assert "TAMPERED" in guard("hook", "status", "--python", venv).stdout
    pre.unlink()
    assert guard("hook", "install", "--python", venv).returncode == 0   # restored
    assert guard("hook", "verify", "--python", venv).returncode == 0
