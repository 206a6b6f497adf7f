"""The fake Hub works with the REAL huggingface_hub client (so the hub tests test real calls)."""

from __future__ import annotations

import hashlib

import huggingface_hub as hf
import pytest
from huggingface_hub import HfApi, hf_hub_download, snapshot_download  # noqa: E402
from huggingface_hub.errors import EntryNotFoundError, RepositoryNotFoundError, RevisionNotFoundError  # noqa: E402

WEIGHTS = b"\x00weights" * 1000


@pytest.fixture
def hub(fakehub):
    fakehub.add_repo("acme/tiny", {"config.json": b'{"a": 1}', "model.safetensors": WEIGHTS,
                                   "sub/dir/notes.txt": "hello"}, tags=("v1",), branches=("dev",))
    return fakehub


def test_download_by_branch_tag_sha_and_moving_branch(hub, tmp_path):
    sha1 = hub._repos[("model", "acme/tiny")].branches["main"]
    for rev in ("main", "v1", sha1, None):
        p = hf_hub_download("acme/tiny", "config.json", revision=rev, endpoint=hub.url, cache_dir=tmp_path / "c")
        assert open(p, "rb").read() == b'{"a": 1}'
        assert sha1 in p
    sha2 = hub.commit("acme/tiny", {"config.json": b'{"a": 2}'}, replace=False)
    assert sha2 != sha1
    p = hf_hub_download("acme/tiny", "config.json", revision="main", endpoint=hub.url, cache_dir=tmp_path / "c")
    assert open(p, "rb").read() == b'{"a": 2}' and sha2 in p
    # the old commit stays reachable by sha and by tag
    p = hf_hub_download("acme/tiny", "config.json", revision="v1", endpoint=hub.url, cache_dir=tmp_path / "d")
    assert open(p, "rb").read() == b'{"a": 1}'
    assert ("HEAD", "/acme/tiny/resolve/main/config.json") in hub.requests


def test_lfs_file_and_redirect(fakehub, tmp_path):
    fakehub.add_repo("acme/lfs", {"model.safetensors": WEIGHTS}, lfs_redirect=True)
    p = hf_hub_download("acme/lfs", "model.safetensors", endpoint=fakehub.url, cache_dir=tmp_path)
    assert open(p, "rb").read() == WEIGHTS
    assert any(path.startswith("/_lfs/") for _, path in fakehub.requests)
    meta = hf.get_hf_file_metadata(hf.hf_hub_url("acme/lfs", "model.safetensors", endpoint=fakehub.url))
    assert meta.etag == hashlib.sha256(WEIGHTS).hexdigest() and meta.size == len(WEIGHTS)


def test_snapshot_and_subfolder_and_dataset(hub, tmp_path):
    d = snapshot_download("acme/tiny", revision="v1", endpoint=hub.url, cache_dir=tmp_path)
    assert open(f"{d}/sub/dir/notes.txt").read() == "hello"
    assert open(f"{d}/model.safetensors", "rb").read() == WEIGHTS
    hub.add_repo("acme/data", {"train.csv": "a,b\n"}, repo_type="dataset")
    p = hf_hub_download("acme/data", "train.csv", repo_type="dataset", endpoint=hub.url, cache_dir=tmp_path)
    assert open(p).read() == "a,b\n"
    p = hf_hub_download("acme/tiny", "notes.txt", subfolder="sub/dir", endpoint=hub.url, cache_dir=tmp_path)
    assert open(p).read() == "hello"
    d = snapshot_download("acme/tiny", allow_patterns=["*.json"], local_dir=tmp_path / "local", endpoint=hub.url)
    assert (tmp_path / "local" / "config.json").exists() and not (tmp_path / "local" / "model.safetensors").exists()


def test_model_info_files_metadata_and_security(hub):
    api = HfApi(endpoint=hub.url)
    info = api.model_info("acme/tiny", revision="v1", files_metadata=True)
    sib = {s.rfilename: s for s in info.siblings}
    assert sib["model.safetensors"].lfs.sha256 == hashlib.sha256(WEIGHTS).hexdigest()
    assert sib["model.safetensors"].size == len(WEIGHTS)
    assert sib["config.json"].lfs is None and sib["config.json"].size == 8
    assert info.security_repo_status is None
    status = {"scansDone": True, "filesWithIssues": [{"path": "model.safetensors", "level": "unsafe"}]}
    hub.set_security("acme/tiny", status)
    assert api.model_info("acme/tiny", securityStatus=True).security_repo_status == status
    assert api.model_info("acme/tiny").security_repo_status is None  # only when asked
    plain = api.model_info("acme/tiny")
    assert [s.size for s in plain.siblings] == [None, None, None]


def test_tree_paths_info_refs(hub):
    api = HfApi(endpoint=hub.url)
    flat = {e.path for e in api.list_repo_tree("acme/tiny")}
    assert flat == {"config.json", "model.safetensors", "sub"}
    deep = {e.path: e for e in api.list_repo_tree("acme/tiny", recursive=True, revision="dev")}
    assert {"sub", "sub/dir", "sub/dir/notes.txt"} <= set(deep)
    assert deep["model.safetensors"].lfs.sha256 == hashlib.sha256(WEIGHTS).hexdigest()
    assert [e.path for e in api.list_repo_tree("acme/tiny", path_in_repo="sub/dir")] == ["sub/dir/notes.txt"]
    info = api.get_paths_info("acme/tiny", ["config.json", "sub", "missing"])
    assert sorted(e.path for e in info) == ["config.json", "sub"]
    refs = api.list_repo_refs("acme/tiny")
    assert {b.name for b in refs.branches} == {"main", "dev"} and [t.name for t in refs.tags] == ["v1"]


def test_typed_errors(hub, tmp_path):
    api = HfApi(endpoint=hub.url)
    with pytest.raises(RepositoryNotFoundError):
        api.model_info("acme/nope")
    with pytest.raises(RevisionNotFoundError):
        api.model_info("acme/tiny", revision="nobranch")
    with pytest.raises(EntryNotFoundError):
        hf_hub_download("acme/tiny", "nofile.json", endpoint=hub.url, cache_dir=tmp_path)
    with pytest.raises(RevisionNotFoundError):
        hf_hub_download("acme/tiny", "config.json", revision="refs/pr/1", endpoint=hub.url, cache_dir=tmp_path)
    assert any("refs%2Fpr%2F1" in p for _, p in hub.requests)


def test_stop_is_idempotent(fakehub):
    url = fakehub.url
    fakehub.stop()
    fakehub.stop()
    import urllib.error
    import urllib.request

    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(url + "/api/models/x/y", timeout=2)
