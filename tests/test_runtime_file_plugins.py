"""A third-party plugin's ``guard_check_file`` runs on Hub downloads and ``torch.load``, as in ``guard scan``.

The runtime judges each downloaded or loaded file as a ``FileRef`` through the engine, so a plugin
installed through the ``guardpolicy`` entry-point group (a dist-info on ``sys.path``, as
``pip install`` would leave it) can block it. The plugin here denies files whose sha256 is listed
in ``BAD_SHA256`` and puts what it was given (the ``ModelRef`` the file belongs to, the digest)
in its message, so the test also checks the subject the runtime builds.
"""

from __future__ import annotations

import hashlib
import textwrap
from pathlib import Path

import pytest

# torch and hooked subprocesses against the fake Hub
pytestmark = [pytest.mark.slow, pytest.mark.network]

import huggingface_hub  # noqa: E402,F401  (a runtime dependency: a failed import fails)
from runtime_support import outcomes, run_hooked, safetensors_bytes  # noqa: E402

try:
    from support.fakehub import FakeHub
except ImportError:  # pragma: no cover - run from the repo root
    from tests.support.fakehub import FakeHub

GOOD = safetensors_bytes((1.0, 2.0))
BAD = safetensors_bytes((6.0, 6.0))

PLUGIN = '''
"""A third-party file rule: deny files by content digest."""
import os
from guardpolicy.hookspecs import hookimpl
from guardpolicy.model import Finding
from guardpolicy.rules import RuleInfo

RULE = RuleInfo(id="bad-digest", summary="a file whose sha256 is on the test's deny list",
                default_action="deny", subjects=("file",))

@hookimpl
def guard_rules():
    return [RULE]

@hookimpl
def guard_check_file(file, policy, context):
    digest = (file.extra or {}).get("sha256")
    if digest not in os.environ.get("BAD_SHA256", "").split(","):
        return None
    model = file.model.subject if file.model is not None else None
    return [Finding(rule="bad-digest", subject=file.subject,
                    message=f"listed digest sha256={digest} model={model}")]
'''


def plugin_site(root: Path) -> str:
    """A site dir holding the plugin module and a dist-info declaring it in the ``guardpolicy`` group."""
    site = root / "site"
    dist = site / "guard_test_filerule-1.0.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: guard-test-filerule\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[guardpolicy]\nbad-digest = guard_test_filerule\n")
    (site / "guard_test_filerule.py").write_text(PLUGIN)
    return str(site)


@pytest.fixture(scope="module")
def hub():
    h = FakeHub()
    h.shas = {"repo": h.add_repo("acme/weights", {"good.safetensors": GOOD, "bad.safetensors": BAD})}
    h.start()
    yield h
    h.stop()


@pytest.fixture
def env(tmp_path, hub):
    policy = tmp_path / "guard.toml"
    policy.write_text(f'mode = "enforce"\n[sources]\nhub_endpoints = ["{hub.url}"]\nallow_http = true\n')
    return {"HF_ENDPOINT": hub.url, "HF_HUB_CACHE": str(tmp_path / "hfcache"), "HF_HOME": str(tmp_path / "hfhome"),
            "GUARD_POLICY": str(policy), "XDG_CACHE_HOME": str(tmp_path / "xdg"),
            "XDG_STATE_HOME": str(tmp_path / "state"), "BAD_SHA256": hashlib.sha256(BAD).hexdigest()}


def test_a_plugin_file_rule_blocks_a_hub_download_even_after_a_cached_allow(hub, env, tmp_path):
    sha = hub.shas["repo"]
    code = f'''
        import glob
        from huggingface_hub import hf_hub_download
        attempt("good", lambda: os.path.basename(hf_hub_download("acme/weights", "good.safetensors", revision="{sha}")))
        attempt("bad", lambda: os.path.basename(hf_hub_download("acme/weights", "bad.safetensors", revision="{sha}")))
        print("left", sorted(os.path.basename(p) for p in glob.glob(os.environ["HF_HUB_CACHE"] + "/*/snapshots/*/*")))
    '''
    # without the plugin both files pass (and are remembered clean in the shared decision cache)
    r = run_hooked(code, env)
    o = outcomes(r)
    assert o["good"] == "OK good.safetensors" and o["bad"] == "OK bad.safetensors", r.stdout + r.stderr
    # with it installed the cached allow no longer counts (the rules' fingerprint changed): cache hit, blocked
    r = run_hooked(code, env, pythonpath=plugin_site(tmp_path))
    o = outcomes(r)
    assert o["good"] == "OK good.safetensors", r.stdout + r.stderr
    assert o["bad"].startswith(f"BLOCKED [bad-digest] hf:acme/weights@{sha}/bad.safetensors: listed digest "
                               f"sha256={env['BAD_SHA256']} model=hf:acme/weights@{sha}"), r.stdout + r.stderr
    assert "left ['good.safetensors']" in r.stdout  # the refused file is quarantined, not left in the cache
    assert "guard: BLOCKED hf_hub_download" in r.stderr
    quarantined = list((Path(env["XDG_CACHE_HOME"]) / "guardpolicy" / "quarantine").iterdir())
    assert any(q.name.endswith("bad.safetensors") for q in quarantined), quarantined
    # the audit log records the runtime decision with the plugin's finding
    logs = list(Path(env["XDG_STATE_HOME"]).rglob("*.jsonl"))
    assert any("bad-digest" in p.read_text() for p in logs), logs


def test_a_plugin_file_rule_blocks_torch_load(env, tmp_path):
    torch = pytest.importorskip("torch")
    ckpt = tmp_path / "ckpt.pt"
    torch.save({"w": torch.zeros(3)}, ckpt)
    other = tmp_path / "other.pt"
    torch.save({"w": torch.ones(3)}, other)
    env = dict(env, BAD_SHA256=hashlib.sha256(ckpt.read_bytes()).hexdigest(), T_CKPT=str(ckpt), T_OTHER=str(other))
    r = run_hooked(textwrap.dedent(r'''
        import io, torch
        attempt("path", torch.load, os.environ["T_CKPT"], weights_only=False)
        with open(os.environ["T_CKPT"], "rb") as fh:
            buf = io.BytesIO(fh.read())
        attempt("stream", torch.load, buf, weights_only=False)
        attempt("other", lambda: sorted(torch.load(os.environ["T_OTHER"], weights_only=False)))
    '''), env, pythonpath=plugin_site(tmp_path))
    o = outcomes(r)
    assert o["path"].startswith(f"BLOCKED [bad-digest] {ckpt}: listed digest sha256={env['BAD_SHA256']} model=None"), \
        r.stdout + r.stderr
    assert o["stream"].startswith("BLOCKED [bad-digest] <BytesIO>: listed digest"), r.stdout + r.stderr
    assert o["other"] == "OK ['w']", r.stdout + r.stderr
