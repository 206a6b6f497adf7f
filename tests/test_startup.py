"""The startup hook (_guardpolicy_startup, guardpolicy._startup): lazy finder, patch-on-import, kill switch, failures.

Each case runs a fresh interpreter so sys.meta_path and sys.modules start clean.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest


def _run(tmp_path, code, env_extra=None):
    """Run ``code`` in a fresh interpreter with ``tmp_path`` on sys.path; return CompletedProcess."""
    env = dict(os.environ)
    env.pop("GUARDPOLICY_DISABLE", None)
    env["PYTHONPATH"] = os.pathsep.join([str(tmp_path), env.get("PYTHONPATH", "")])
    env.update(env_extra or {})
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=env, capture_output=True,
                          text=True, timeout=60)


@pytest.fixture
def fake_lib(tmp_path):
    """A target module ``guardfake_lib`` and patch module ``guardfake_patch`` on disk."""
    (tmp_path / "guardfake_lib.py").write_text("def fetch():\n    return 'bytes'\nVALUE = 1\n")
    (tmp_path / "guardfake_patch.py").write_text(textwrap.dedent("""
        CALLS = []
        def patch(module):
            CALLS.append(module.__name__)
            orig = module.fetch
            def fetch():
                return 'patched:' + orig()
            module.fetch = fetch
        def broken(module):
            raise RuntimeError('boom')
        def fail_closed(module, error):
            def refuse():
                raise RuntimeError('refused: ' + error)
            module.fetch = refuse
    """))
    return tmp_path


PRELUDE = """
import sys
import _guardpolicy_startup as g
import guardpolicy._startup as s
s.TARGETS['guardfake_lib'] = 'guardfake_patch:{func}'
g.PREFIXES += ('guardfake_lib',)
"""


def test_target_patched_before_import_returns(fake_lib):
    r = _run(fake_lib, PRELUDE.format(func="patch") + """
s.install()
from guardfake_lib import fetch
print(fetch())
import guardfake_patch
print(guardfake_patch.CALLS)
""")
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["patched:bytes", "['guardfake_lib']"]


def test_install_is_idempotent_and_first(fake_lib):
    r = _run(fake_lib, PRELUDE.format(func="patch") + """
s.install(); s.install()
print(sum(1 for f in sys.meta_path if getattr(f, '_guardpolicy_finder', False)), sys.meta_path[0] is g)
import guardfake_lib, guardfake_patch
print(len(guardfake_patch.CALLS))
""")
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["1", "True", "1"]


def test_already_imported_target_patched_at_install(fake_lib):
    r = _run(fake_lib, PRELUDE.format(func="patch") + """
import guardfake_lib
print(guardfake_lib.fetch())
s.install()
print(guardfake_lib.fetch())
s.uninstall(); s.install()   # second install must not double-patch an already-patched module
print(guardfake_lib.fetch())
""")
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["bytes", "patched:bytes", "patched:bytes"]


def test_non_targets_untouched(fake_lib):
    (fake_lib / "other_mod.py").write_text("X = 2\n")
    r = _run(fake_lib, PRELUDE.format(func="patch") + """
s.install()
import other_mod, guardfake_patch
print(other_mod.X, type(other_mod.__spec__.loader).__name__, 'exec_module' in vars(other_mod.__spec__.loader))
""")
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["2", "SourceFileLoader", "False"]


def test_kill_switch_is_a_request_the_gate_decides(fake_lib):
    """GUARDPOLICY_DISABLE does not skip the hook: it is recorded, and the gate treats it as
    GUARD_MODE=off, which the policy may refuse (tests in test_hook_pip.py)."""
    r = _run(fake_lib, PRELUDE.format(func="patch") + """
s.install()
import guardfake_lib
from guardpolicy.runtime import gate
print(s.installed(), gate.disable_requested())
""", {"GUARDPOLICY_DISABLE": "1"})
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["True", "True"]


def test_kill_switch_zero_means_enabled(fake_lib):
    r = _run(fake_lib, PRELUDE.format(func="patch") + """
s.install()
from guardpolicy.runtime import gate
print(s.installed(), gate.disable_requested())
""", {"GUARDPOLICY_DISABLE": "0"})
    assert r.stdout.split() == ["True", "False"]


def test_broken_patch_does_not_break_import_and_fails_closed(fake_lib):
    r = _run(fake_lib, PRELUDE.format(func="broken") + """
s.install()
import guardfake_lib                       # the import itself still works
print('imported', guardfake_lib.VALUE)
print(s.failure('guardfake_lib'))
try:
    guardfake_lib.fetch()
except RuntimeError as e:
    print('REFUSED', e)
""")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == "imported 1"
    assert lines[1] == "guardfake_lib: RuntimeError: boom"
    assert lines[2].startswith("REFUSED refused: RuntimeError: boom")
    err = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(err) == 1 and err[0].startswith("guard: could not patch guardfake_lib")


def test_missing_patch_module_fails_closed_via_gate(fake_lib):
    r = _run(fake_lib, """
import _guardpolicy_startup as g, guardpolicy._startup as s
s.TARGETS['guardfake_lib'] = 'guardfake_missing:patch'
g.PREFIXES += ('guardfake_lib',)
s.install()
import guardfake_lib
from guardpolicy.runtime import gate
from guardpolicy.model import PackageRef
try:
    gate.enforce([PackageRef('requests', '==2.31.0', version='2.31.0')], 'fake fetch', library='guardfake_lib')
except Exception as e:
    print(type(e).__name__, 'patch failed' in str(e))
""")
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["PolicyViolation", "True"]


def test_startup_imports_only_sys(tmp_path):
    """What every hooked start runs pulls in no module but itself (sys and os are already loaded),
    and a non-target import afterwards loads no guardpolicy module either."""
    r = _run(tmp_path, """
import sys
before = set(sys.modules)
import _guardpolicy_startup as g
g.install()
print(' '.join(sorted(set(sys.modules) - before)))
import json
print(sorted(m for m in sys.modules if m.startswith(('guardpolicy', '_guardpolicy'))))
""")
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == ["_guardpolicy_startup", "['_guardpolicy_startup']"]


def test_every_target_passes_the_start_up_filter():
    """The start-up finder only hands names with its PREFIXES to the patching half: a target outside
    them would never be patched."""
    import _guardpolicy_startup
    from guardpolicy._startup import TARGETS

    assert TARGETS and all(name.startswith(_guardpolicy_startup.PREFIXES) for name in TARGETS)


def test_targets_cover_design():
    from guardpolicy._startup import TARGETS

    for name in ("huggingface_hub.file_download", "huggingface_hub._snapshot_download", "huggingface_hub.hf_api",
                 "huggingface_hub.hf_file_system", "torch", "pip._internal.resolution.resolvelib.resolver",
                 "pip._internal.resolution.legacy.resolver", "pip._internal.operations.prepare"):
        assert name in TARGETS
    assert all(v.startswith("guardpolicy.runtime.") and ":" in v for v in TARGETS.values())


def test_a_refusal_is_said_once_per_subject_and_raised_every_time(tmp_path):
    """Libraries retry refused calls and wrap the exception: the stderr line shows once, the refusal each time."""
    policy = tmp_path / "p.toml"
    policy.write_text('extends = ["default"]\ndeny = ["evilpkg"]\n', encoding="utf-8")
    r = _run(tmp_path, """
from guardpolicy.errors import PolicyViolation
from guardpolicy.model import PackageRef
from guardpolicy.runtime import gate
for _ in range(3):
    try:
        gate.enforce([PackageRef('evilpkg', '==1.0', version='1.0')], 'install evilpkg')
    except PolicyViolation:
        print('refused')
""", {"GUARD_POLICY": str(policy), "GUARD_CACHE_DIR": str(tmp_path / "cache")})
    assert r.stdout.split() == ["refused"] * 3, r.stderr
    assert r.stderr.count("guard: BLOCKED install evilpkg: [denylist] evilpkg") == 1, r.stderr
