"""``torch.load`` under the startup hook, with REAL torch and real checkpoint files.

The malicious checkpoint is a genuine ``torch.save`` of a state dict carrying an object whose
``__reduce__`` calls ``os.system("touch MARKER")``: if guard ever lets it be unpickled the
marker file appears, so every "blocked" assertion also checks that no code ran.
"""

from __future__ import annotations

import importlib.util
import textwrap
from pathlib import Path

import pytest

# real torch checkpoints and hooked torch.load in subprocesses
pytestmark = pytest.mark.slow

pytest.importorskip("torch")

from runtime_support import outcomes, run_hooked  # noqa: E402

MAKE = r'''
import io, pickle, torch
class Evil:
    def __init__(self, cmd): self.cmd = cmd
    def __reduce__(self): return (os.system, (self.cmd,))
torch.save({"w": torch.zeros(2), "b": torch.ones(1)}, os.environ["T_CLEAN"])
torch.save({"w": torch.zeros(2), "x": Evil("touch " + os.environ["T_MARKER"])}, os.environ["T_EVIL"])
with open(os.environ["T_EVIL_RAW"], "wb") as fh:
    pickle.dump({"x": Evil("touch " + os.environ["T_MARKER"])}, fh, protocol=2)
'''


def write_policy(path: Path, mode: str = "enforce") -> Path:
    path.write_text(f'mode = "{mode}"\n')
    return path


@pytest.fixture
def env(tmp_path):
    return {"GUARD_POLICY": str(write_policy(tmp_path / "guard.toml")), "XDG_CACHE_HOME": str(tmp_path / "xdg"),
            "T_CLEAN": str(tmp_path / "clean.pt"), "T_EVIL": str(tmp_path / "evil.pt"),
            "T_EVIL_RAW": str(tmp_path / "evil.pkl"), "T_MARKER": str(tmp_path / "PWNED")}


def test_weights_only_false_denied_on_malicious_and_allowed_on_clean(env):
    import guardpolicy.scan  # noqa: F401
    r = run_hooked(MAKE + textwrap.dedent(r'''
        import torch, pickle
        attempt("clean", lambda: sorted(torch.load(os.environ["T_CLEAN"], weights_only=False)))
        attempt("evil", torch.load, os.environ["T_EVIL"], weights_only=False)
        attempt("evil-serialization", torch.serialization.load, os.environ["T_EVIL"], weights_only=False)
        attempt("evil-raw", torch.load, os.environ["T_EVIL_RAW"], weights_only=False)
        attempt("evil-pickle-module", torch.load, os.environ["T_EVIL"], pickle_module=pickle)
        with open(os.environ["T_EVIL"], "rb") as fh:
            buf = io.BytesIO(fh.read())
        attempt("evil-stream", torch.load, buf, weights_only=False)
        print("stream-pos", buf.tell())
        class Pipe(io.RawIOBase):   # a stream that cannot seek back: guard cannot scan it, so it refuses
            def __init__(self, data): self.data = io.BytesIO(data)
            def readable(self): return True
            def readinto(self, b): n = self.data.readinto(b); return n
        with open(os.environ["T_CLEAN"], "rb") as fh:
            attempt("pipe", torch.load, io.BufferedReader(Pipe(fh.read())), weights_only=False)
        attempt("evil-weights-only", torch.load, os.environ["T_EVIL"])
        print("marker", os.path.exists(os.environ["T_MARKER"]))
    '''), env)
    o = outcomes(r)
    assert o["clean"] == "OK ['b', 'w']", r.stdout + r.stderr
    for label in ("evil", "evil-serialization", "evil-raw", "evil-pickle-module", "evil-stream"):
        assert o[label].startswith("BLOCKED [pickle]"), (label, r.stdout, r.stderr)
    assert o["pipe"].startswith("BLOCKED [pickle]") and "cannot read back" in o["pipe"], o["pipe"]
    assert "stream-pos 0" in r.stdout  # the caller's stream is rewound after the scan
    # weights_only=True is torch's own restricted unpickler: not ours to block, and it refuses too
    assert o["evil-weights-only"].startswith("ERROR UnpicklingError"), r.stdout + r.stderr
    assert "marker False" in r.stdout
    assert "guard: BLOCKED torch.load(" in r.stderr


def test_warn_mode_lets_the_load_proceed_with_a_warning(env, tmp_path):
    import guardpolicy.scan  # noqa: F401
    write_policy(Path(env["GUARD_POLICY"]), mode="warn")
    r = run_hooked(MAKE + textwrap.dedent(r'''
        import torch
        attempt("evil", lambda: sorted(torch.load(os.environ["T_EVIL"], weights_only=False)))
    '''), env)
    assert outcomes(r)["evil"] == "OK ['w', 'x']", r.stdout + r.stderr
    assert "guard: WARNING [pickle]" in r.stderr
    assert Path(env["T_MARKER"]).exists()  # the policy said warn: the (harmless) payload ran


def test_scan_results_are_cached_by_content(env):
    import guardpolicy.scan  # noqa: F401
    r = run_hooked(MAKE + textwrap.dedent(r'''
        import shutil, torch
        import guardpolicy.scan.api as scan_api   # what rules format and pickle scan with
        calls = []
        orig = scan_api.scan_report
        scan_api.scan_report = lambda p, policy=None, **kw: calls.append(p) or orig(p, policy, **kw)
        torch.load(os.environ["T_CLEAN"], weights_only=False)
        copy = os.environ["T_CLEAN"] + ".copy"
        shutil.copy(os.environ["T_CLEAN"], copy)
        torch.load(copy, weights_only=False)          # same bytes, other path: no second scan
        torch.load(os.environ["T_CLEAN"], weights_only=False)
        print("scans", len(calls))
    '''), env)
    assert "scans 1" in r.stdout, r.stdout + r.stderr
    # another process: the clean result comes from the shared decision cache, no scan at all
    r = run_hooked(textwrap.dedent(r'''
        import torch
        import guardpolicy.scan.api as scan_api
        calls = []
        orig = scan_api.scan_report
        scan_api.scan_report = lambda p, policy=None, **kw: calls.append(p) or orig(p, policy, **kw)
        torch.load(os.environ["T_CLEAN"], weights_only=False)
        print("scans", len(calls))
    '''), env)
    if importlib.util.find_spec("guardpolicy.runtime.cache") is not None:
        assert "scans 0" in r.stdout, r.stdout + r.stderr


def test_effective_weights_only_follows_torch():
    import torch.serialization as ser

    from guardpolicy.runtime.torch_load import effective_weights_only

    assert effective_weights_only(ser, None, None) is True  # torch >= 2.6 default
    assert effective_weights_only(ser, None, object()) is False  # explicit pickle_module
    assert effective_weights_only(ser, False, None) is False
    assert effective_weights_only(ser, True, None) is True

    class OldTorch:  # torch < 2.6: no _default_to_weights_only, full unpickle by default
        pass

    assert effective_weights_only(OldTorch, None, None) is False


def test_effective_weights_only_env_overrides(monkeypatch):
    import torch.serialization as ser

    from guardpolicy.runtime.torch_load import effective_weights_only

    monkeypatch.setenv("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", "1")
    assert effective_weights_only(ser, None, None) is False
    assert effective_weights_only(ser, True, None) is True  # explicit argument wins over NO_...
    monkeypatch.delenv("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD")
    monkeypatch.setenv("TORCH_FORCE_WEIGHTS_ONLY_LOAD", "1")
    assert effective_weights_only(ser, False, None) is True


def test_patch_is_idempotent_and_keeps_signature(env):
    r = run_hooked(r'''
        import inspect, torch
        from guardpolicy.runtime import torch_load
        first = torch.load
        torch_load.patch_torch(torch)
        print("same", torch.load is first, torch.serialization.load is first)
        print("flag", getattr(torch.load, "_guard_patched", False))
        print("sig", inspect.signature(torch.load) == inspect.signature(torch.load.__wrapped__))
        attempt("missing", torch.load, "/nonexistent/x.pt", weights_only=False)
    ''', env)
    assert "same True True" in r.stdout and "flag True" in r.stdout and "sig True" in r.stdout, r.stdout + r.stderr
    assert outcomes(r)["missing"].startswith("ERROR FileNotFoundError")


def test_a_stream_finding_names_the_stream_not_a_temp_copy(env):
    # the scan copies a stream to a temp file; the finding (and a waiver's subject) must name what the
    # caller passed: an open file's path, or the stream's type
    import guardpolicy.scan  # noqa: F401
    r = run_hooked(MAKE + textwrap.dedent(r'''
        import io, torch
        from guardpolicy.runtime.torch_load import check_load
        def subjects(f):
            try:
                check_load(f)
            except PolicyViolation as exc:
                return sorted({x.subject for x in exc.decision.findings})
        with open(os.environ["T_EVIL"], "rb") as fh:
            print("file", subjects(fh))
            print("bytesio", subjects(io.BytesIO(fh.read())))
    '''), env)
    assert f"file ['{env['T_EVIL']}']" in r.stdout, r.stdout + r.stderr
    assert "bytesio ['<BytesIO>']" in r.stdout, r.stdout + r.stderr
    assert "guard-torch-" not in r.stdout + r.stderr
