"""The Hub patches on older huggingface_hub majors (0.25, 0.36, 1.x), each in its own interpreter.

Each version is installed once per session with pip into a target directory (``--target``, with
its own dependencies) and put first on ``PYTHONPATH`` of the hooked subprocess, so the startup hook
patches that exact version. The scenarios are the version-sensitive ones: the pin check, the
snapshot pre-flight (``dry_run`` on 1.x, ``repo_info`` on 0.x), the offline path that never calls
``hf_hub_download``, and ``HfFileSystem``.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

# installs older huggingface_hub releases; hooked subprocesses against the fake Hub
pytestmark = [pytest.mark.slow, pytest.mark.network]

from conftest import ROOT  # noqa: E402
from runtime_support import clean_pickle, evil_pickle, outcomes, run_hooked, safetensors_bytes  # noqa: E402

try:
    from support.fakehub import FakeHub
except ImportError:  # pragma: no cover
    from tests.support.fakehub import FakeHub

VERSIONS = ["0.25.2", "0.36.2", "1.33.0"]  # each has requirements/huggingface_hub-VERSION.lock
WEIGHTS = safetensors_bytes()


@pytest.fixture(scope="session")
def hf_target(tmp_path_factory):
    """``install(version) -> directory`` holding that huggingface_hub and its dependencies."""
    base = tmp_path_factory.mktemp("hfversions")
    done = {}

    def install(version: str) -> str:
        if version not in done:
            target = base / version
            # hash-pinned with its dependencies (requirements/update-lock.sh), so a release cannot drift in
            lock = ROOT / "requirements" / f"huggingface_hub-{version}.lock"
            proc = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--disable-pip-version-check",
                                   "--require-hashes", "--only-binary", ":all:", "--target", str(target), "-r", str(lock)],
                                  capture_output=True, text=True, timeout=300)
            assert proc.returncode == 0, f"cannot install huggingface_hub=={version}: {proc.stderr.strip()[-300:]}"
            done[version] = str(target)
        return done[version]

    return install


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    markers = tmp_path_factory.mktemp("markers")
    h = FakeHub()
    h.shas = {
        "tiny": h.add_repo("acme/tiny", {"config.json": b"{}", "model.safetensors": WEIGHTS}),
        "mixed": h.add_repo("acme/mixed", {"config.json": b"{}", "model.safetensors": WEIGHTS,
                                           "pytorch_model.bin": evil_pickle(markers / "mixed")}),
        "pkl": h.add_repo("acme/pkl", {"evil.pkl": evil_pickle(markers / "pkl"), "clean.pkl": clean_pickle()}),
    }
    h.markers = markers
    h.start()
    yield h
    h.stop()


def _env(tmp_path, hub, hub_extra=""):
    policy = tmp_path / "guard.toml"
    policy.write_text(f'mode = "enforce"\n[sources]\nhub_endpoints = ["{hub.url}"]\nallow_http = true\n'
                      f'[rules.unpinned]\naction = "deny"\n[hub]\n{hub_extra}\n')
    return {"HF_ENDPOINT": hub.url, "HF_HUB_CACHE": str(tmp_path / "hfcache"), "HF_HOME": str(tmp_path / "hfhome"),
            "GUARD_POLICY": str(policy), "XDG_CACHE_HOME": str(tmp_path / "xdg")}


@pytest.mark.parametrize("version", VERSIONS)
def test_gates_on_older_huggingface_hub(version, hf_target, hub, tmp_path):
    target = hf_target(version)
    env = _env(tmp_path, hub, hub_extra='allowed_formats = ["safetensors"]')
    tiny, mixed = hub.shas["tiny"], hub.shas["mixed"]
    # the pre-flight refuses the snapshot before any file is fetched (not even the allowed ones)
    before = len(hub.requests)
    r = run_hooked(f'''
        from huggingface_hub import snapshot_download
        attempt("snap-bin", snapshot_download, "acme/mixed", revision="{mixed}")
    ''', env, pythonpath=target)
    assert outcomes(r)["snap-bin"].startswith("BLOCKED [format]"), r.stdout + r.stderr
    assert not [p for m, p in hub.requests[before:] if m == "GET" and "/resolve/" in p], hub.requests[before:]
    before = len(hub.requests)
    r = run_hooked(f'''
        import huggingface_hub
        from huggingface_hub import hf_hub_download, snapshot_download, HfFileSystem
        print("version", huggingface_hub.__version__)
        attempt("unpinned", hf_hub_download, "acme/tiny", "config.json")
        attempt("pinned", hf_hub_download, "acme/tiny", "model.safetensors", revision="{tiny}")
        attempt("snap-bin", snapshot_download, "acme/mixed", revision="{mixed}")
        d = attempt("snap-patterns", snapshot_download, "acme/mixed", revision="{mixed}",
                    allow_patterns=["*.safetensors", "*.json"])
        print("files", sorted(os.listdir(d)) if d else None)
        attempt("snap-unpinned", snapshot_download, "acme/tiny")
        fs = HfFileSystem()
        attempt("fs-unpinned", lambda: fs.open("acme/tiny/config.json").read())
        attempt("fs-pinned", lambda: fs.open("acme/tiny@{tiny}/config.json").read())
    ''', env, pythonpath=target)
    o = outcomes(r)
    assert f"version {version}" in r.stdout, r.stdout + r.stderr
    assert o["unpinned"].startswith("BLOCKED [unpinned]"), r.stdout + r.stderr
    assert o["pinned"].startswith("OK"), r.stdout + r.stderr
    assert o["snap-bin"].startswith("BLOCKED [format]") and "pytorch_model.bin" in o["snap-bin"], r.stdout + r.stderr
    assert o["snap-patterns"].startswith("OK") and "files ['config.json', 'model.safetensors']" in r.stdout
    assert o["snap-unpinned"].startswith("BLOCKED [unpinned]")
    assert o["fs-unpinned"].startswith("BLOCKED [unpinned]"), r.stdout + r.stderr
    assert o["fs-pinned"] == "OK b'{}'", r.stdout + r.stderr
    new = hub.requests[before:]
    assert not [p for m, p in new if m == "GET" and p.endswith("pytorch_model.bin")], new
    assert not [p for _, p in new if "/resolve/main/" in p], new

    # offline: a .bin planted in the cache (guard off) is refused by every path that would hand it over
    planted = run_hooked(f'''
        from huggingface_hub import snapshot_download
        attempt("fill", snapshot_download, "acme/mixed", revision="{mixed}")
    ''', {**env, "GUARD_MODE": "off"}, pythonpath=target)
    assert outcomes(planted)["fill"].startswith("OK"), planted.stdout + planted.stderr
    before = len(hub.requests)
    r = run_hooked(f'''
        from huggingface_hub import hf_hub_download, snapshot_download, try_to_load_from_cache
        attempt("offline-file", hf_hub_download, "acme/mixed", "pytorch_model.bin", revision="{mixed}")
        attempt("offline-cache", try_to_load_from_cache, "acme/mixed", "pytorch_model.bin", revision="{mixed}")
        attempt("offline-snapshot", snapshot_download, "acme/mixed", revision="{mixed}")
        attempt("offline-ok", hf_hub_download, "acme/mixed", "config.json", revision="{mixed}")
    ''', {**env, "HF_HUB_OFFLINE": "1"}, pythonpath=target)
    o = outcomes(r)
    for label in ("offline-file", "offline-cache", "offline-snapshot"):
        assert o[label].startswith("BLOCKED [format]"), (label, r.stdout, r.stderr)
    assert o["offline-ok"].startswith("OK"), r.stdout + r.stderr
    assert hub.requests[before:] == []
    assert not (hub.markers / "mixed").exists()


@pytest.mark.parametrize("version", ["0.36.2"])
def test_pickle_scan_on_older_huggingface_hub(version, hf_target, hub, tmp_path):
    import guardpolicy.scan  # noqa: F401
    target = hf_target(version)
    env = _env(tmp_path, hub)
    sha = hub.shas["pkl"]
    r = run_hooked(f'''
        from huggingface_hub import hf_hub_download, snapshot_download
        attempt("evil", hf_hub_download, "acme/pkl", "evil.pkl", revision="{sha}")
        attempt("clean", hf_hub_download, "acme/pkl", "clean.pkl", revision="{sha}")
        attempt("snapshot", snapshot_download, "acme/pkl", revision="{sha}")
        import glob
        print("left", sorted(os.path.basename(p) for p in glob.glob(os.environ["HF_HUB_CACHE"] + "/*/snapshots/*/*")))
    ''', env, pythonpath=target)
    o = outcomes(r)
    assert o["evil"].startswith("BLOCKED [pickle]") and o["snapshot"].startswith("BLOCKED [pickle]"), r.stdout + r.stderr
    assert o["clean"].startswith("OK")
    assert "left ['clean.pkl']" in r.stdout, r.stdout
    assert not (hub.markers / "pkl").exists()


@pytest.mark.parametrize("version", ["0.25.2"])
def test_legacy_cached_download_is_gated(version, hf_target, hub, tmp_path):
    import guardpolicy.scan  # noqa: F401
    target = hf_target(version)
    env = _env(tmp_path, hub)
    tiny, pkl = hub.shas["tiny"], hub.shas["pkl"]
    before = len(hub.requests)
    r = run_hooked(f'''
        import warnings
        warnings.simplefilter("ignore")
        from huggingface_hub import cached_download, hf_hub_url
        attempt("unpinned", cached_download, hf_hub_url("acme/tiny", "config.json"))
        attempt("pinned", lambda: open(cached_download(hf_hub_url("acme/tiny", "config.json", revision="{tiny}"))).read())
        attempt("evil", cached_download, hf_hub_url("acme/pkl", "evil.pkl", revision="{pkl}"))
    ''', env, pythonpath=target)
    o = outcomes(r)
    assert o["unpinned"].startswith("BLOCKED [unpinned]"), r.stdout + r.stderr
    assert o["pinned"] == "OK {}", r.stdout + r.stderr
    assert o["evil"].startswith("BLOCKED [pickle]"), r.stdout + r.stderr
    assert not [p for _, p in hub.requests[before:] if "/resolve/main/" in p]
    assert not (hub.markers / "pkl").exists()
