"""Parsing of Hub references: hf: targets, Hub URLs, ref-list files, guard.lock (pure functions)."""

from __future__ import annotations

import pytest

from guardpolicy.model import Location, ModelRef
from guardpolicy.sources import hub
from guardpolicy.sources.hub import RefError, parse_hf_ref, parse_hub_url

SHA = "0123456789abcdef0123456789abcdef01234567"
NOENV: dict = {}


@pytest.mark.parametrize("text, repo_id, repo_type, rev", [
    ("hf:acme/tiny", "acme/tiny", "model", None),
    ("hf:acme/tiny@main", "acme/tiny", "model", "main"),
    (f"hf:acme/tiny@{SHA}", "acme/tiny", "model", SHA),
    ("hf:datasets/acme/data@v1.0", "acme/data", "dataset", "v1.0"),
    ("hf:spaces/acme/demo", "acme/demo", "space", None),
    ("hf:models/acme/tiny@dev", "acme/tiny", "model", "dev"),
    ("hf://datasets/acme/data", "acme/data", "dataset", None),
    ("hf:gpt2", "gpt2", "model", None),
    ("hf:acme/tiny@refs/pr/1", "acme/tiny", "model", "refs/pr/1"),
    ("  hf:acme/tiny  ", "acme/tiny", "model", None),
    ("HF:acme/tiny", "acme/tiny", "model", None),
    ("hf:datasets", "datasets", "model", None),  # a legacy id, not a prefix without a repo
    ("hf:Org.Name/Model_v1.5-b", "Org.Name/Model_v1.5-b", "model", None),
])
def test_parse_hf_ref(text, repo_id, repo_type, rev):
    ref = parse_hf_ref(text)
    assert (ref.repo_id, ref.repo_type, ref.revision, ref.endpoint) == (repo_id, repo_type, rev, None)


@pytest.mark.parametrize("text, why", [
    ("hf:", "no repository id"),
    ("hf:acme/tiny@", "empty revision"),
    ("hf:acme/ti ny", "not a valid"),
    ("hf:a/b/c", "not a valid"),
    ("hf:acme/-tiny", "not a valid"),
    ("hf:acme/ti--ny", "not a valid"),
    ("hf:acme/ti..ny", "not a valid"),
    ("hf:acme/" + "x" * 97, "not a valid"),
    ("hf:@main", "no repository id"),
    ("acme/tiny", "not an hf:"),
    # revisions git (and so the Hub) can never have: clear errors, not "a branch that floats"
    ("hf:acme/tiny@main:x", "not a valid revision"),
    ("hf:acme/tiny@v1..v2", "not a valid revision"),
    ("hf:acme/tiny@ma in", "not a valid revision"),
    ("hf:acme/tiny@main@{1}", "not a valid revision"),
    ("hf:acme/tiny@main~1", "not a valid revision"),
    ("hf:acme/tiny@refs/pr/", "not a valid revision"),
    ("hf:acme/tiny@x.lock", "not a valid revision"),
])
def test_parse_hf_ref_errors(text, why):
    with pytest.raises(RefError, match=why):
        parse_hf_ref(text)


@pytest.mark.parametrize("rev", ["main", "v1.0", "refs/pr/1", "refs/convert/parquet", "feature/x-y_z", "a@b", SHA])
def test_valid_revisions_stay_valid(rev):
    assert parse_hf_ref(f"hf:acme/tiny@{rev}").revision == rev


def test_location_and_subject_roundtrip():
    loc = Location("models.hfrefs", 3)
    ref = parse_hf_ref("hf:datasets/acme/data@v1", loc)
    assert ref.location == loc and ref.subject == "hf:datasets/acme/data@v1"
    assert parse_hf_ref(ref.subject) == ModelRef("acme/data", "dataset", "v1")


@pytest.mark.parametrize("url, repo_id, repo_type, rev, files, endpoint", [
    ("https://huggingface.co/acme/tiny", "acme/tiny", "model", None, (), "https://huggingface.co"),
    ("https://huggingface.co/acme/tiny/", "acme/tiny", "model", None, (), "https://huggingface.co"),
    ("https://huggingface.co/acme/tiny/tree/main", "acme/tiny", "model", "main", (), "https://huggingface.co"),
    (f"https://huggingface.co/acme/tiny/tree/{SHA}/sub", "acme/tiny", "model", SHA, (), "https://huggingface.co"),
    ("https://huggingface.co/acme/tiny/blob/v1/config.json", "acme/tiny", "model", "v1", ("config.json",), "https://huggingface.co"),
    ("https://huggingface.co/acme/tiny/resolve/main/a/b.bin?download=true", "acme/tiny", "model", "main", ("a/b.bin",), "https://huggingface.co"),
    ("https://huggingface.co/acme/tiny/resolve/refs%2Fpr%2F1/x.json", "acme/tiny", "model", "refs/pr/1", ("x.json",), "https://huggingface.co"),
    # refs/pr/N and refs/convert/NAME written unescaped (as pasted from elsewhere) are one revision
    ("https://huggingface.co/acme/tiny/blob/refs/pr/1/x.json", "acme/tiny", "model", "refs/pr/1", ("x.json",), "https://huggingface.co"),
    ("https://huggingface.co/acme/tiny/tree/refs/pr/12", "acme/tiny", "model", "refs/pr/12", (), "https://huggingface.co"),
    ("https://huggingface.co/acme/tiny/resolve/refs/convert/parquet/a/b.parquet", "acme/tiny", "model", "refs/convert/parquet", ("a/b.parquet",), "https://huggingface.co"),
    (f"https://huggingface.co/acme/tiny/commit/{SHA}", "acme/tiny", "model", SHA, (), "https://huggingface.co"),
    ("https://huggingface.co/datasets/acme/data/tree/v2", "acme/data", "dataset", "v2", (), "https://huggingface.co"),
    ("https://huggingface.co/spaces/acme/demo/blob/main/app.py", "acme/demo", "space", "main", ("app.py",), "https://huggingface.co"),
    ("https://huggingface.co/gpt2/resolve/main/config.json", "gpt2", "model", "main", ("config.json",), "https://huggingface.co"),
    ("https://huggingface.co/gpt2", "gpt2", "model", None, (), "https://huggingface.co"),
    ("https://HF.co:443/acme/tiny#readme", "acme/tiny", "model", None, (), "https://hf.co"),
    ("http://127.0.0.1:8080/acme/tiny/tree/main", "acme/tiny", "model", "main", (), "http://127.0.0.1:8080"),
])
def test_parse_hub_url(url, repo_id, repo_type, rev, files, endpoint):
    ref = parse_hub_url(url, env=NOENV)
    assert (ref.repo_id, ref.repo_type, ref.revision, ref.files, ref.endpoint) == (repo_id, repo_type, rev, files, endpoint)


def test_tree_url_keeps_folder():
    assert parse_hub_url("https://huggingface.co/acme/tiny/tree/main/sub/dir", env=NOENV).extra == {"path": "sub/dir"}


def test_mirror_with_path_prefix():
    env = {"HF_ENDPOINT": "https://mirror.example/hf/"}
    ref = parse_hub_url("https://mirror.example/hf/acme/tiny/resolve/main/config.json", env=env)
    assert (ref.repo_id, ref.endpoint, ref.files) == ("acme/tiny", "https://mirror.example/hf", ("config.json",))
    assert hub.is_hub_ref("https://mirror.example/hf/acme/tiny", env)
    assert not hub.is_hub_ref("https://mirror.example/other/acme/tiny", env)


@pytest.mark.parametrize("url, why", [
    ("https://huggingface.co/", "does not name"),
    ("https://huggingface.co/docs/hub/index", "does not name"),
    ("https://huggingface.co/models?search=x", "does not name"),
    ("https://huggingface.co/datasets", "does not name"),
    ("https://huggingface.co/acme/tiny/discussions/3", "not a repository file"),
    ("https://huggingface.co/acme/tiny/tree", "no revision"),
    ("https://huggingface.co/acme/tiny/blob/main", "no file path"),
    ("https://huggingface.co/ac%20me/tiny", "not a valid"),
    ("ftp://huggingface.co/acme/tiny", "not an http"),
    ("huggingface.co/acme/tiny", "not an http"),
    ("https://huggingface.co/acme/tiny/tree/main%5E", "not a valid revision"),
])
def test_parse_hub_url_errors(url, why):
    with pytest.raises(RefError, match=why):
        parse_hub_url(url, env=NOENV)


@pytest.mark.parametrize("text, expected", [
    ("hf:acme/tiny", True),
    ("hf:not valid", True),  # meant as a ref: invalid, but claimed (so it gets a clear error)
    ("https://huggingface.co/acme/tiny", True),
    ("https://hf.co/acme/tiny", True),
    ("https://huggingface.co/acme/pkgs/resolve/main/pkg-1.0-py3-none-any.whl", False),  # a pip direct URL
    ("https://huggingface.co/acme/pkgs/resolve/main/pkg-1.0.tar.gz", False),
    ("https://pypi.org/simple/requests", False),
    ("requests==2.0", False),
    ("./model", False),
])
def test_is_hub_ref(text, expected):
    assert hub.is_hub_ref(text, NOENV) is expected


@pytest.mark.parametrize("endpoint, norm", [
    ("https://huggingface.co/", "https://huggingface.co"),
    ("HTTPS://HuggingFace.CO", "https://huggingface.co"),
    ("https://huggingface.co:443", "https://huggingface.co"),
    ("http://127.0.0.1:80/", "http://127.0.0.1"),
    ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
    ("https://mirror.example/hf//", "https://mirror.example/hf"),
    ("not a url/", "not a url"),
])
def test_normalize_endpoint(endpoint, norm):
    assert hub.normalize_endpoint(endpoint) == norm


def test_effective_endpoint():
    assert hub.effective_endpoint(ModelRef("a/b"), env={}) == "https://huggingface.co"
    assert hub.effective_endpoint(ModelRef("a/b"), env={"HF_ENDPOINT": "https://m.example/"}) == "https://m.example"
    assert hub.effective_endpoint(ModelRef("a/b", endpoint="https://x.example/"), env={"HF_ENDPOINT": "https://m"}) == "https://x.example"


def test_strip_comment_and_iter_lines():
    assert hub.strip_comment("  # all comment") == ""
    assert hub.strip_comment("hf:a/b  # note") == "hf:a/b"
    assert hub.strip_comment("https://huggingface.co/a/b#readme") == "https://huggingface.co/a/b#readme"
    assert list(hub.iter_ref_lines("\n# c\nhf:a/b\n\n  hf:c/d # x\n")) == [(3, "hf:a/b"), (5, "hf:c/d")]


@pytest.mark.parametrize("text, expected", [
    ("hf:a/b\nhttps://huggingface.co/c/d\n", True),
    ("# only a comment\n", False),
    ("", False),
    ("hf:a/b\nrequests==2.0\n", False),
    ("hf:a/b\nhf:bad ref\n", True),
    ("https://huggingface.co/a/b/resolve/main/x-1.0-py3-none-any.whl\n", False),
    ("-r other.txt\nhf:a/b\n", False),
])
def test_is_ref_list_text(text, expected):
    assert hub.is_ref_list_text(text, NOENV) is expected


def test_is_ref_list_file(tmp_path):
    refs = tmp_path / "models.txt"
    refs.write_text("hf:a/b@main\n")
    assert hub.is_ref_list_file(refs, NOENV)
    named = tmp_path / "x.hfrefs"
    named.write_text("anything")
    assert hub.is_ref_list_file(named, NOENV)
    req = tmp_path / "requirements.txt"
    req.write_text("hf:a/b\n")  # never steal a requirements file, whatever it holds
    assert not hub.is_ref_list_file(req, NOENV)
    binary = tmp_path / "blob.txt"
    binary.write_bytes(b"\xff\xfe\x00")
    assert not hub.is_ref_list_file(binary, NOENV)
    assert not hub.is_ref_list_file(tmp_path / "absent.txt", NOENV)
    assert not hub.is_ref_list_file(tmp_path, NOENV)


def test_ref_list_source_yields_refs_and_invalid(tmp_path):
    f = tmp_path / "models.hfrefs"
    f.write_text("# ours\nhf:acme/tiny@main\n\nhttps://huggingface.co/datasets/acme/d/tree/v1  # data\nhf:acme/bad ref\n")
    items = list(hub.RefListSource(f).collect())
    assert [type(i).__name__ for i in items] == ["ModelRef", "ModelRef", "Finding"]
    assert items[0].location == Location(str(f), 2)
    assert items[1].repo_type == "dataset" and items[1].location.line == 4
    assert items[2].rule == "invalid" and items[2].location.line == 5


def test_ref_list_with_a_byte_order_mark(tmp_path):
    # editors on Windows save UTF-8 with a BOM: the first ref must not become invalid
    f = tmp_path / "models.txt"
    f.write_bytes("\ufeffhf:acme/tiny@main\r\n# c\r\nhf:acme/other\r\n".encode("utf-8"))
    assert hub.is_ref_list_file(f, NOENV)
    items = list(hub.RefListSource(f).collect())
    assert [(i.repo_id, i.revision) for i in items] == [("acme/tiny", "main"), ("acme/other", None)]


def test_plugin_dispatch(tmp_path):
    from guardpolicy.engine import CheckOptions
    from guardpolicy.plugins import get_plugin_manager

    make = get_plugin_manager().hook.guard_make_source
    opts = CheckOptions()
    assert isinstance(make(target="hf:acme/tiny", options=opts), hub.HubRefSource)
    assert isinstance(make(target="https://huggingface.co/acme/tiny", options=opts), hub.HubRefSource)
    lock = tmp_path / "guard.lock"
    lock.write_text("version = 1\n")
    assert isinstance(make(target=str(lock), options=opts), hub.LockSource)
    refs = tmp_path / "models.txt"
    refs.write_text("hf:acme/tiny\n")
    assert isinstance(make(target=str(refs), options=opts), hub.RefListSource)
    req = tmp_path / "requirements.txt"
    req.write_text("requests==2.0\n")
    assert not isinstance(make(target=str(req), options=opts), (hub.RefListSource, hub.HubRefSource))


def test_cli_invalid_target_is_one_line(guard):
    r = guard("check", "hf:acme/bad id")
    assert r.returncode == 2 and "not a valid Hub repository id" in r.stderr and "Traceback" not in r.stderr
