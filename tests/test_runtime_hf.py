"""The Hub patches with the REAL huggingface_hub client against a FakeHub on 127.0.0.1.

Every scenario runs in a fresh interpreter where the startup hook is installed before
huggingface_hub is imported (``tests/runtime_support.py``), so what is tested is exactly what a
user's process runs. The server records every request, so "blocked before a byte is fetched"
is asserted on the server side.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

# the real Hub clients (transformers, datasets, ...) in hooked subprocesses against the fake Hub
pytestmark = [pytest.mark.slow, pytest.mark.network]

import huggingface_hub  # noqa: E402,F401  (a runtime dependency: a failed import fails)
from runtime_support import clean_pickle, evil_pickle, outcomes, run_hooked, safetensors_bytes  # noqa: E402

try:
    from support.fakehub import FakeHub
except ImportError:  # pragma: no cover - run from the repo root
    from tests.support.fakehub import FakeHub

WEIGHTS = safetensors_bytes()
CONFIG = b'{"model_type": "gpt2", "n_layer": 1, "n_head": 1, "n_embd": 8, "vocab_size": 16, "n_positions": 8}'


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    """One FakeHub for the module: clean, mixed (clean + evil .bin) and pickle repos."""
    marker_dir = tmp_path_factory.mktemp("markers")
    h = FakeHub()
    h.shas = {
        "tiny": h.add_repo("acme/tiny", {"config.json": CONFIG, "model.safetensors": WEIGHTS}, tags=("v1",)),
        "mixed": h.add_repo("acme/mixed", {"config.json": CONFIG, "model.safetensors": WEIGHTS,
                                           "pytorch_model.bin": evil_pickle(marker_dir / "mixed")}),
        "pkl": h.add_repo("acme/pkl", {"evil.pkl": evil_pickle(marker_dir / "pkl"), "clean.pkl": clean_pickle(),
                                       "renamed.safetensors": evil_pickle(marker_dir / "renamed")}),
        "other": h.add_repo("elsewhere/tiny", {"config.json": CONFIG}),
        "squat": h.add_repo("meta-Ilama/Llama-3.1-8B", {"config.json": CONFIG, "model.safetensors": WEIGHTS}),
        "data": h.add_repo("acme/data", {"train.csv": b"a,b\n1,2\n", "evil.pkl": evil_pickle(marker_dir / "ds")},
                           repo_type="dataset"),
    }
    h.markers = marker_dir
    h.start()
    yield h
    h.stop()


def write_policy(path: Path, endpoint: str, *, unpinned="deny", mode="enforce", hub_extra="", sources_extra="") -> Path:
    """A policy allowing the fake hub's endpoint, with the given Hub settings."""
    path.write_text(f'''
mode = "{mode}"
[sources]
hub_endpoints = ["{endpoint}"]
allow_http = true
{sources_extra}
[rules.unpinned]
action = "{unpinned}"
[hub]
{hub_extra}
''')
    return path


@pytest.fixture
def env(tmp_path, hub):
    """Subprocess environment: fake endpoint, private HF cache, policy, quarantine under XDG cache."""
    policy = write_policy(tmp_path / "guard.toml", hub.url)
    return {"HF_ENDPOINT": hub.url, "HF_HUB_CACHE": str(tmp_path / "hfcache"), "HF_HOME": str(tmp_path / "hfhome"),
            "GUARD_POLICY": str(policy), "XDG_CACHE_HOME": str(tmp_path / "xdg"), "_POLICY": str(policy)}


def file_requests(hub, repo: str, method: str = "GET"):
    return [p for m, p in hub.requests if m == method and f"/{repo}/resolve/" in p]


def test_pinned_safetensors_downloads_and_floating_revision_is_blocked_before_any_request(hub, env):
    sha = hub.shas["tiny"]
    before = len(hub.requests)
    r = run_hooked(f'''
        from huggingface_hub import hf_hub_download, HfApi
        p = attempt("pinned", hf_hub_download, "acme/tiny", "model.safetensors", revision="{sha}")
        print("content", open(p, "rb").read() == {WEIGHTS!r})
        attempt("config", hf_hub_download, "acme/tiny", "config.json", revision="{sha}")
        attempt("floating", hf_hub_download, "acme/tiny", "config.json", revision="main")
        attempt("default", hf_hub_download, "acme/tiny", "config.json")
        attempt("tag", HfApi().hf_hub_download, "acme/tiny", "config.json", revision="v1")
        attempt("legacy-kwarg", hf_hub_download, "acme/tiny", "config.json", proxies={{}})
    ''', env)
    o = outcomes(r)
    assert o["pinned"].startswith("OK") and "content True" in r.stdout, r.stdout + r.stderr
    assert o["config"].startswith("OK")
    for label in ("floating", "default", "tag", "legacy-kwarg"):
        assert o[label].startswith("BLOCKED [unpinned]"), (label, r.stdout, r.stderr)
    assert "guard: BLOCKED hf_hub_download hf:acme/tiny@main" in r.stderr
    # nothing was asked of the server for the floating refs
    paths = [p for _, p in hub.requests[before:]]
    assert not any("/resolve/main/" in p or "/resolve/v1/" in p for p in paths), paths


def test_typosquatted_repo_is_blocked_before_any_request(hub, env):
    sha = hub.shas["squat"]
    before = len(hub.requests)
    r = run_hooked(f'''
        from huggingface_hub import hf_hub_download, snapshot_download, HfFileSystem
        attempt("file", hf_hub_download, "meta-Ilama/Llama-3.1-8B", "config.json", revision="{sha}")
        attempt("snapshot", snapshot_download, "meta-Ilama/Llama-3.1-8B", revision="{sha}")
        attempt("fs", lambda: HfFileSystem().open("meta-Ilama/Llama-3.1-8B@{sha}/config.json").read())
    ''', env)
    o = outcomes(r)
    for label in ("file", "snapshot", "fs"):
        assert o[label].startswith("BLOCKED [typosquat]") and "meta-llama" in o[label], (label, r.stdout, r.stderr)
    assert hub.requests[before:] == []  # not even an API call


def test_floating_revision_warns_under_warn_action(hub, env, tmp_path):
    write_policy(Path(env["_POLICY"]), hub.url, unpinned="warn")
    r = run_hooked('''
        from huggingface_hub import hf_hub_download
        attempt("floating", hf_hub_download, "acme/tiny", "config.json", revision="main")
        attempt("again", hf_hub_download, "acme/tiny", "config.json", revision="main")
    ''', env)
    o = outcomes(r)
    assert o["floating"].startswith("OK") and o["again"].startswith("OK"), r.stdout + r.stderr
    # one warning per reference and process, not one per call
    assert r.stderr.count("guard: WARNING [unpinned] hf:acme/tiny@main") == 1, r.stderr


def test_endpoint_and_org_allowlists(hub, env, tmp_path):
    write_policy(Path(env["_POLICY"]), "https://huggingface.co")
    sha = hub.shas["tiny"]
    r = run_hooked(f'''
        from huggingface_hub import hf_hub_download
        attempt("endpoint", hf_hub_download, "acme/tiny", "config.json", revision="{sha}")
    ''', env)
    assert outcomes(r)["endpoint"].startswith("BLOCKED [source]"), r.stdout + r.stderr
    assert "is not an allowed source" in r.stdout
    write_policy(Path(env["_POLICY"]), hub.url, sources_extra='hub_orgs = ["acme"]')
    r = run_hooked(f'''
        from huggingface_hub import hf_hub_download
        attempt("acme", hf_hub_download, "acme/tiny", "config.json", revision="{sha}")
        attempt("elsewhere", hf_hub_download, "elsewhere/tiny", "config.json", revision="{hub.shas["other"]}")
    ''', env)
    o = outcomes(r)
    assert o["acme"].startswith("OK") and o["elsewhere"].startswith("BLOCKED [source]"), r.stdout + r.stderr


def test_malicious_pickle_is_scanned_blocked_and_removed_from_the_cache(hub, env, tmp_path):
    import guardpolicy.scan  # noqa: F401
    sha = hub.shas["pkl"]
    r = run_hooked(f'''
        import glob
        from huggingface_hub import hf_hub_download, try_to_load_from_cache
        attempt("evil", hf_hub_download, "acme/pkl", "evil.pkl", revision="{sha}")
        print("left", sorted(glob.glob(os.environ["HF_HUB_CACHE"] + "/models--acme--pkl/snapshots/*/*")))
        attempt("cache", try_to_load_from_cache, "acme/pkl", "evil.pkl", revision="{sha}")
        attempt("clean", hf_hub_download, "acme/pkl", "clean.pkl", revision="{sha}")
        attempt("renamed", hf_hub_download, "acme/pkl", "renamed.safetensors", revision="{sha}")
        local = os.environ["HF_HUB_CACHE"] + "-local"
        attempt("local-dir", hf_hub_download, "acme/pkl", "evil.pkl", revision="{sha}", local_dir=local)
        print("local-left", sorted(os.listdir(local)))
    ''', env)
    o = outcomes(r)
    assert o["evil"].startswith("BLOCKED [pickle]"), r.stdout + r.stderr
    assert "posix.system" in o["evil"] or "os.system" in o["evil"], o["evil"]
    assert o["clean"].startswith("OK"), r.stdout + r.stderr
    assert o["renamed"].startswith("BLOCKED"), r.stdout + r.stderr  # a pickle named .safetensors is still a pickle
    assert o["local-dir"].startswith("BLOCKED [pickle]") and "local-left ['.cache']" in r.stdout, r.stdout + r.stderr
    left = next(l for l in r.stdout.splitlines() if l.startswith("left"))
    assert "evil.pkl" not in left
    assert o["cache"].startswith("OK None"), o["cache"]  # nothing left in the cache to hand over
    blobs = list((Path(env["HF_HUB_CACHE"]) / "models--acme--pkl" / "blobs").iterdir())
    evil_digest = hashlib.sha256(evil_pickle(hub.markers / "pkl")).hexdigest()
    assert all(b.name != evil_digest for b in blobs)
    quarantined = list((Path(env["XDG_CACHE_HOME"]) / "guardpolicy" / "quarantine").iterdir())
    assert any(q.name.endswith("evil.pkl") for q in quarantined), quarantined
    assert not (hub.markers / "pkl").exists()


def _populate_unguarded(env, code):
    r = run_hooked(code, {**env, "GUARD_MODE": "off"})
    assert "ERROR" not in r.stdout and "BLOCKED" not in r.stdout, r.stdout + r.stderr
    return r


def test_offline_cache_hit_of_a_bad_file_is_blocked(hub, env):
    import guardpolicy.scan  # noqa: F401
    sha = hub.shas["pkl"]
    # the bad file gets into the cache while guard is off (e.g. before the hook was installed)
    _populate_unguarded(env, f'''
        from huggingface_hub import hf_hub_download
        attempt("fill", hf_hub_download, "acme/pkl", "evil.pkl", revision="{sha}")
        attempt("fill2", hf_hub_download, "acme/pkl", "clean.pkl", revision="{sha}")
    ''')
    before = len(hub.requests)
    r = run_hooked(f'''
        from huggingface_hub import hf_hub_download, try_to_load_from_cache, snapshot_download
        attempt("cache", try_to_load_from_cache, "acme/pkl", "evil.pkl", revision="{sha}")
    ''', {**env, "HF_HUB_OFFLINE": "1"})
    assert outcomes(r)["cache"].startswith("BLOCKED [pickle]"), r.stdout + r.stderr
    _populate_unguarded(env, f'''
        from huggingface_hub import hf_hub_download
        attempt("fill", hf_hub_download, "acme/pkl", "evil.pkl", revision="{sha}")
    ''')
    r = run_hooked(f'''
        from huggingface_hub import hf_hub_download, snapshot_download
        attempt("clean", hf_hub_download, "acme/pkl", "clean.pkl", revision="{sha}")
        attempt("download", hf_hub_download, "acme/pkl", "evil.pkl", revision="{sha}")
    ''', {**env, "HF_HUB_OFFLINE": "1"})
    o = outcomes(r)
    assert o["clean"].startswith("OK") and o["download"].startswith("BLOCKED [pickle]"), r.stdout + r.stderr
    _populate_unguarded(env, f'''
        from huggingface_hub import hf_hub_download
        attempt("fill", hf_hub_download, "acme/pkl", "evil.pkl", revision="{sha}")
    ''')
    before = len(hub.requests)
    r = run_hooked(f'''
        from huggingface_hub import snapshot_download
        attempt("snapshot", snapshot_download, "acme/pkl", revision="{sha}")
    ''', {**env, "HF_HUB_OFFLINE": "1"})
    assert outcomes(r)["snapshot"].startswith("BLOCKED [pickle]"), r.stdout + r.stderr
    assert hub.requests[before:] == []  # offline: the server never heard of it


def test_snapshot_with_a_bin_is_blocked_before_any_file_byte_and_allowed_with_patterns(hub, env):
    write_policy(Path(env["_POLICY"]), hub.url, hub_extra='allowed_formats = ["safetensors", "gguf", "onnx"]')
    sha = hub.shas["mixed"]
    before = len(hub.requests)
    r = run_hooked(f'''
        from huggingface_hub import snapshot_download
        attempt("all", snapshot_download, "acme/mixed", revision="{sha}")
        attempt("floating", snapshot_download, "acme/mixed")
        d = attempt("patterns", snapshot_download, "acme/mixed", revision="{sha}",
                    allow_patterns=["*.safetensors", "*.json"])
        print("files", sorted(os.listdir(d)))
    ''', env)
    o = outcomes(r)
    assert o["all"].startswith("BLOCKED [format]") and "pytorch_model.bin" in o["all"], r.stdout + r.stderr
    assert o["floating"].startswith("BLOCKED [unpinned]")
    assert o["patterns"].startswith("OK"), r.stdout + r.stderr
    assert "files ['config.json', 'model.safetensors']" in r.stdout
    new = hub.requests[before:]
    # the .bin was never fetched, and the blocked snapshot fetched no file at all
    assert not [p for m, p in new if m == "GET" and p.endswith("pytorch_model.bin")], new
    gets = [p for m, p in new if m == "GET" and "/resolve/" in p]
    assert sorted(p.rsplit("/", 1)[-1] for p in gets) == ["config.json", "model.safetensors"], gets
    assert not (hub.markers / "mixed").exists()


def test_lock_commit_and_digests(hub, env, tmp_path):
    sha = hub.shas["tiny"]
    good = hashlib.sha256(WEIGHTS).hexdigest()
    lock = tmp_path / "guard.lock"
    lock.write_text(f'''
version = 1

[[repo]]
id = "acme/tiny"
kind = "model"
commit = "{sha}"

[[repo.files]]
path = "config.json"
size = {len(CONFIG)}
sha256 = "{hashlib.sha256(CONFIG).hexdigest()}"

[[repo.files]]
path = "model.safetensors"
size = {len(WEIGHTS)}
sha256 = "{"0" * 64}"
''')
    write_policy(Path(env["_POLICY"]), hub.url, hub_extra='lock = "guard.lock"')
    new_sha = hub.commit("acme/tiny", {"extra.json": b"{}"}, branch="next", replace=False)
    r = run_hooked(f'''
        from huggingface_hub import hf_hub_download
        attempt("config", hf_hub_download, "acme/tiny", "config.json", revision="{sha}")
        attempt("weights", hf_hub_download, "acme/tiny", "model.safetensors", revision="{sha}")
        attempt("othercommit", hf_hub_download, "acme/tiny", "config.json", revision="{new_sha}")
        attempt("unlisted", hf_hub_download, "acme/tiny", "extra.json", revision="{new_sha}")
    ''', env)
    o = outcomes(r)
    assert o["config"].startswith("OK"), r.stdout + r.stderr
    assert o["weights"].startswith("BLOCKED [digest]") and good in o["weights"], o["weights"]
    assert o["othercommit"].startswith("BLOCKED [digest]") and "locks" in o["othercommit"]
    assert o["unlisted"].startswith("BLOCKED [digest]")
    snap = Path(env["HF_HUB_CACHE"]) / "models--acme--tiny" / "snapshots" / sha
    assert (snap / "config.json").exists() and not (snap / "model.safetensors").exists()


def test_hf_file_system_reads_are_gated(hub, env):
    sha = hub.shas["pkl"]
    data_sha = hub.shas["data"]
    r = run_hooked(f'''
        from huggingface_hub import HfFileSystem
        fs = HfFileSystem()
        def read(path):
            with fs.open(path, "rb") as fh:
                return len(fh.read())
        attempt("floating", read, "acme/pkl/clean.pkl")
        attempt("evil", read, "acme/pkl@{sha}/evil.pkl")
        attempt("clean", read, "acme/pkl@{sha}/clean.pkl")
        attempt("dataset", read, "datasets/acme/data@{data_sha}/train.csv")
        attempt("get", fs.get_file, "datasets/acme/data@{data_sha}/evil.pkl", os.environ["HF_HUB_CACHE"] + "-x.pkl")
        print("exists", os.path.exists(os.environ["HF_HUB_CACHE"] + "-x.pkl"))
    ''', env)
    o = outcomes(r)
    assert o["floating"].startswith("BLOCKED [unpinned]"), r.stdout + r.stderr
    assert o["dataset"] == "OK 8", r.stdout + r.stderr
    if _has_scanner():
        assert o["evil"].startswith("BLOCKED [pickle]"), r.stdout + r.stderr
        assert o["clean"].startswith("OK"), r.stdout + r.stderr
        assert o["get"].startswith("BLOCKED [pickle]") and "exists False" in r.stdout, r.stdout + r.stderr


def _has_scanner() -> bool:
    import guardpolicy.scan  # noqa: F401  (a failed import of our own module fails the test)

    return True


def test_resolve_revision_and_aliases_are_gated(hub, env):
    import huggingface_hub as hf
    if not hasattr(hf.HfApi, "resolve_revision"):
        pytest.skip("huggingface_hub < 1.0 has no resolve_revision")
    sha = hub.shas["tiny"]
    r = run_hooked(f'''
        import huggingface_hub
        from huggingface_hub import HfApi, resolve_revision, hf_hub_download
        attempt("alias", resolve_revision, "acme/tiny")
        attempt("method", HfApi().resolve_revision, "acme/tiny", revision="v1")
        rr = attempt("pinned", HfApi().resolve_revision, "acme/tiny", revision="{sha}")
        attempt("laundered", hf_hub_download, "acme/tiny", "config.json",
                revision=huggingface_hub.ResolvedRevision("{sha}", None, "acme/tiny"))
        attempt("pinned-resolved", hf_hub_download, "acme/tiny", "config.json", revision=rr)
    ''', env)
    o = outcomes(r)
    assert o["alias"].startswith("BLOCKED [unpinned]") and o["method"].startswith("BLOCKED [unpinned]"), r.stdout + r.stderr
    assert o["pinned"].startswith("OK")
    assert o["laundered"].startswith("BLOCKED [unpinned]")  # initial=None: resolved from main
    assert o["pinned-resolved"].startswith("OK"), r.stdout + r.stderr


def test_patches_are_idempotent_and_keep_signatures(hub, env):
    r = run_hooked('''
        import inspect
        import huggingface_hub.file_download as fd, huggingface_hub._snapshot_download as sd
        import huggingface_hub.hf_api as api, huggingface_hub.hf_file_system as hfs
        from guardpolicy.runtime import hf
        first = (fd.hf_hub_download, fd.try_to_load_from_cache, sd.snapshot_download, hfs.HfFileSystem._open)
        hf.patch_file_download(fd); hf.patch_snapshot_download(sd); hf.patch_hf_api(api); hf.patch_hf_file_system(hfs)
        again = (fd.hf_hub_download, fd.try_to_load_from_cache, sd.snapshot_download, hfs.HfFileSystem._open)
        print("same", all(a is b for a, b in zip(first, again)))
        print("flagged", all(getattr(f, "_guard_patched", False) for f in first))
        print("sig", inspect.signature(fd.hf_hub_download) == inspect.signature(fd.hf_hub_download.__wrapped__))
        print("name", fd.hf_hub_download.__name__, fd.hf_hub_download.__doc__ == fd.hf_hub_download.__wrapped__.__doc__)
        print("inner", sd.hf_hub_download is fd.hf_hub_download)
        import huggingface_hub
        print("toplevel", huggingface_hub.hf_hub_download is fd.hf_hub_download,
              huggingface_hub.snapshot_download is sd.snapshot_download)
    ''', env)
    for line in ("same True", "flagged True", "sig True", "name hf_hub_download True", "inner True", "toplevel True True"):
        assert line in r.stdout, r.stdout + r.stderr


def test_late_install_rebinds_names_bound_before_the_hook(hub, env):
    sha = hub.shas["tiny"]
    r = run_hooked(f'''
        import guardpolicy._startup as s
        s.uninstall()
        for name in list(sys.modules):
            if name.startswith("huggingface_hub"):
                del sys.modules[name]
        from huggingface_hub import hf_hub_download as early   # bound before the hook
        import huggingface_hub._snapshot_download
        s.install()
        attempt("early", early, "acme/tiny", "config.json")
        from huggingface_hub import snapshot_download
        attempt("snap", snapshot_download, "acme/tiny")
        attempt("pinned", snapshot_download, "acme/tiny", revision="{sha}")
        print("inner", getattr(huggingface_hub._snapshot_download.hf_hub_download, "_guard_patched", False))
    ''', env)
    o = outcomes(r)
    # names bound before the hook (module globals, __main__ included) are rebound to the wrappers
    assert o["early"].startswith("BLOCKED [unpinned]"), r.stdout + r.stderr
    assert o["snap"].startswith("BLOCKED [unpinned]"), r.stdout + r.stderr
    assert o["pinned"].startswith("OK") and "inner True" in r.stdout, r.stdout + r.stderr


def test_transformers_from_pretrained(hub, env):
    pytest.importorskip("transformers")
    sha = hub.shas["tiny"]
    before = len(hub.requests)
    r = run_hooked(f'''
        from transformers import AutoConfig
        attempt("unpinned", AutoConfig.from_pretrained, "acme/tiny")
        cfg = attempt("pinned", AutoConfig.from_pretrained, "acme/tiny", revision="{sha}")
        print("layers", getattr(cfg, "n_layer", None))
        attempt("unpinned-after-cache", AutoConfig.from_pretrained, "acme/tiny")
    ''', env, timeout=240)
    o = outcomes(r)
    assert o["unpinned"].startswith("BLOCKED [unpinned]"), r.stdout + r.stderr
    assert o["pinned"].startswith("OK") and "layers 1" in r.stdout, r.stdout + r.stderr
    # the pinned download must not launder the unpinned call into a cache hit
    assert o["unpinned-after-cache"].startswith("BLOCKED [unpinned]"), r.stdout + r.stderr
    assert "guard: BLOCKED" in r.stderr
    # transformers passes the legacy ``proxies=`` kwarg: the unpinned fetch must still never happen
    assert not [p for _, p in hub.requests[before:] if "/resolve/main/" in p], hub.requests[before:]


def test_datasets_streaming_goes_through_the_gate(hub, env):
    pytest.importorskip("datasets")
    sha = hub.shas["data"]
    before = len(hub.requests)
    r = run_hooked(f'''
        from datasets import load_dataset
        ds = attempt("pinned", load_dataset, "acme/data", revision="{sha}", streaming=True, split="train",
                     data_files="train.csv")
        if ds is not None:
            attempt("rows", lambda: list(ds))
        attempt("unpinned", lambda: list(load_dataset("acme/data", streaming=True, split="train",
                                                      data_files="train.csv")))
    ''', {**env, "HF_DATASETS_CACHE": env["HF_HUB_CACHE"] + "-ds"}, timeout=240)
    o = outcomes(r)
    assert o["rows"] == "OK [{'a': 1, 'b': 2}]", r.stdout + r.stderr
    assert o["unpinned"].startswith("BLOCKED [unpinned]"), r.stdout + r.stderr
    assert not [p for _, p in hub.requests[before:] if "/resolve/main/" in p]


def test_a_failed_patch_fails_closed(hub, env):
    sha = hub.shas["tiny"]
    r = run_hooked(f'''
        _startup.uninstall()
        _startup.TARGETS["huggingface_hub.hf_file_system"] = "guardpolicy.runtime.hf:no_such_patch"
        _startup.install()
        from huggingface_hub import HfFileSystem, hf_hub_download
        attempt("fs", lambda: HfFileSystem().open("acme/tiny@{sha}/config.json").read())
        attempt("download", hf_hub_download, "acme/tiny", "config.json", revision="{sha}")
    ''', env)
    o = outcomes(r)
    assert "guard: could not patch huggingface_hub.hf_file_system" in r.stderr, r.stderr
    assert o["fs"].startswith("BLOCKED") and o["download"].startswith("BLOCKED"), r.stdout + r.stderr


def test_end_to_end_through_the_shipped_pth_in_a_fresh_venv(hub, env, tmp_path):
    """No explicit install(): a venv whose site-packages holds the shipped guardpolicy.pth."""
    import subprocess
    import sys
    import sysconfig

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", "--system-site-packages", str(venv)],
                   check=True, timeout=120)
    py = venv / "bin" / "python"
    purelib = subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    root = Path(__file__).resolve().parent.parent
    # the checkout and the test interpreter's site-packages (guardpolicy's dependencies and any
    # editable plugins, whose own .pth files addsitedir processes), as an installed guardpolicy would
    # provide them; "00-" sorts before the shipped hook line
    Path(purelib, "00-guardpolicy-src.pth").write_text(
        str(root) + "\n" + f"import site; site.addsitedir({sysconfig.get_paths()['purelib']!r})\n")
    Path(purelib, "guardpolicy.pth").write_text((root / "sitecustomize" / "guardpolicy.pth").read_text())
    full = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "GUARD", "PYTHONPATH"))}
    full.update({k: v for k, v in env.items() if not k.startswith("_")})
    code = (f"from huggingface_hub import hf_hub_download\n"
            f"print(open(hf_hub_download('acme/tiny', 'config.json', revision='{hub.shas['tiny']}')).read()[:14])\n"
            f"hf_hub_download('acme/tiny', 'config.json')\n")
    r = subprocess.run([str(py), "-c", code], env=full, capture_output=True, text=True, timeout=120)
    assert '{"model_type"' in r.stdout, r.stdout + r.stderr
    assert r.returncode == 1 and "guardpolicy.errors.PolicyViolation" in r.stderr, r.stderr
    assert "guard: BLOCKED hf_hub_download hf:acme/tiny" in r.stderr


def test_scan_pickles_false_skips_the_pickle_scan_but_not_format_rules(hub, env):
    import guardpolicy.scan  # noqa: F401
    sha = hub.shas["pkl"]
    write_policy(Path(env["_POLICY"]), hub.url, hub_extra="scan_pickles = false")
    r = run_hooked(f'''
        from huggingface_hub import hf_hub_download
        attempt("evil", lambda: os.path.basename(hf_hub_download("acme/pkl", "evil.pkl", revision="{sha}")))
    ''', env)
    assert outcomes(r)["evil"] == "OK evil.pkl", r.stdout + r.stderr  # the policy said: don't scan
    write_policy(Path(env["_POLICY"]), hub.url, hub_extra='scan_pickles = false\nallowed_formats = ["safetensors"]')
    r = run_hooked(f'''
        from huggingface_hub import hf_hub_download
        attempt("renamed", hf_hub_download, "acme/pkl", "renamed.safetensors", revision="{sha}")
    ''', env)
    assert outcomes(r)["renamed"].startswith("BLOCKED [format]"), r.stdout + r.stderr  # content says pickle


def test_a_broken_policy_refuses_downloads_but_not_imports(hub, env):
    Path(env["_POLICY"]).write_text("mode = \n")
    r = run_hooked(f'''
        import huggingface_hub
        print("imported", huggingface_hub.__name__)
        from huggingface_hub import hf_hub_download
        attempt("download", hf_hub_download, "acme/tiny", "config.json", revision="{hub.shas["tiny"]}")
    ''', env)
    assert "imported huggingface_hub" in r.stdout, r.stdout + r.stderr
    assert outcomes(r)["download"].startswith("BLOCKED"), r.stdout + r.stderr
    assert "policy error" in r.stdout


@pytest.mark.parametrize("lib,modules", [
    ("transformers", ["transformers.utils.hub"]),
    ("diffusers", ["diffusers.utils.hub_utils", "diffusers.pipelines.pipeline_utils"]),
    ("peft", ["peft.config", "peft.utils.save_and_load"]),
])
def test_libraries_that_bind_names_early_get_the_wrappers(lib, modules, env):
    pytest.importorskip(lib)
    r = run_hooked(f'''
        import importlib
        for name in {modules!r}:
            mod = importlib.import_module(name)
            for attr in ("hf_hub_download", "snapshot_download", "try_to_load_from_cache"):
                if hasattr(mod, attr):
                    print("bound", name, attr, getattr(getattr(mod, attr), "_guard_patched", False))
    ''', env, timeout=240)
    lines = [l for l in r.stdout.splitlines() if l.startswith("bound")]
    assert lines and all(l.endswith("True") for l in lines), r.stdout + r.stderr


def test_peft_adapter_config_through_the_gate(hub, env):
    pytest.importorskip("peft")
    sha = hub.add_repo("acme/adapter", {"adapter_config.json": b'{"peft_type": "LORA", "r": 4, "task_type": null}'})
    r = run_hooked(f'''
        from peft import PeftConfig
        attempt("unpinned", PeftConfig.from_pretrained, "acme/adapter")
        cfg = attempt("pinned", lambda: PeftConfig.from_pretrained("acme/adapter", revision="{sha}").r)
    ''', env, timeout=240)
    o = outcomes(r)
    assert o["unpinned"].startswith("BLOCKED [unpinned]"), r.stdout + r.stderr
    assert o["pinned"] == "OK 4", r.stdout + r.stderr


def test_code_files_are_judged_once_they_exist(hub, env):
    """A probe for a missing ``*.py`` (datasets asks for ``<name>.py``) is not a repo shipping code;
    a fetched one is judged by rule ``remote-code`` (where that rule is installed)."""
    from guardpolicy.plugins import rule_infos

    if "remote-code" not in rule_infos():
        pytest.skip("rule remote-code is not installed in this checkout")
    sha = hub.add_repo("acme/coder", {"config.json": CONFIG, "modeling_x.py": b"import os\n"})
    r = run_hooked(f'''
        from huggingface_hub import hf_hub_download
        attempt("probe", hf_hub_download, "acme/coder", "missing.py", revision="{sha}")
        attempt("config", hf_hub_download, "acme/coder", "config.json", revision="{sha}")
        attempt("code", hf_hub_download, "acme/coder", "modeling_x.py", revision="{sha}")
        import glob
        print("left", sorted(os.path.basename(p) for p in glob.glob(os.environ["HF_HUB_CACHE"] + "/*coder/snapshots/*/*")))
    ''', env)
    o = outcomes(r)
    assert "EntryNotFound" in o["probe"] and o["config"].startswith("OK"), r.stdout + r.stderr
    assert o["code"].startswith("BLOCKED [remote-code]"), r.stdout + r.stderr
    assert "left ['config.json']" in r.stdout


def test_a_waiver_names_the_hub_file(hub, env):
    from guardpolicy.plugins import rule_infos

    if "pickle" not in rule_infos():
        pytest.skip("rule pickle is not registered in this checkout (waivers must name known rules)")
    sha = hub.shas["pkl"]
    policy = Path(env["_POLICY"])
    write_policy(policy, hub.url)
    policy.write_text(policy.read_text().replace("[rules.unpinned]", f'''
[[waivers]]
rule = "pickle"
subject = "hf:acme/pkl@{sha}/evil.pkl"
reason = "reviewed: test fixture"

[rules.unpinned]'''))
    r = run_hooked(f'''
        from huggingface_hub import hf_hub_download
        attempt("waived", lambda: os.path.basename(hf_hub_download("acme/pkl", "evil.pkl", revision="{sha}")))
        attempt("other", hf_hub_download, "acme/pkl", "renamed.safetensors", revision="{sha}")
    ''', env)
    o = outcomes(r)
    assert o["waived"] == "OK evil.pkl", r.stdout + r.stderr
    assert o["other"].startswith("BLOCKED [pickle]"), r.stdout + r.stderr


def test_hf_file_system_scans_by_content_not_by_name(hub, env, tmp_path):
    """Issue 14: a pickle named .txt, .dat or .safetensors was returned unscanned by HfFileSystem.open."""
    markers = {n: tmp_path / n for n in ("txt", "dat", "st")}
    sha = hub.add_repo("acme/disguised", {"notes.txt": evil_pickle(markers["txt"]), "blob.dat": evil_pickle(markers["dat"]),
                                          "model.safetensors": evil_pickle(markers["st"]), "readme.txt": b"just text\n"})
    r = run_hooked(f'''
        from huggingface_hub import HfFileSystem
        fs = HfFileSystem()
        def read(path):
            with fs.open(path, "rb") as fh:
                return len(fh.read())
        for name in ("notes.txt", "blob.dat", "model.safetensors", "readme.txt"):
            attempt(name, read, "acme/disguised@{sha}/" + name)
    ''', env)
    o = outcomes(r)
    for name in ("notes.txt", "blob.dat", "model.safetensors"):
        assert o[name].startswith("BLOCKED"), (name, r.stdout + r.stderr)
    assert o["readme.txt"] == "OK 10", r.stdout + r.stderr
    assert not any(m.exists() for m in markers.values())
