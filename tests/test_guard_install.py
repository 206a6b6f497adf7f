"""Pure helpers of `guard install` (command splitting, argument scanning, report and compile parsing)."""

from __future__ import annotations

import pytest

from guardpolicy.cli import install as gi
from guardpolicy.errors import UsageError
from guardpolicy.model import Finding, IndexRef


@pytest.mark.parametrize("argv,kind,prefix,rest", [
    (["--", "pip", "install", "a"], "pip", ["pip"], ["a"]),
    (["pip3", "install", "-r", "r.txt"], "pip", ["pip3"], ["-r", "r.txt"]),
    (["/v/bin/python", "-m", "pip", "install", "a"], "pip", ["/v/bin/python", "-m", "pip"], ["a"]),
    (["uv", "pip", "install", "a==1"], "uv", ["uv"], ["a==1"]),
])
def test_split_command(argv, kind, prefix, rest):
    assert gi.split_command(argv) == (kind, prefix, rest)


@pytest.mark.parametrize("argv", [[], ["--"], ["pip", "download", "a"], ["npm", "install"], ["uv", "add", "a"]])
def test_split_command_rejects(argv):
    with pytest.raises(UsageError):
        gi.split_command(argv)


def test_scan_args():
    s = gi.scan_args(["-i", "https://i/simple", "--extra-index-url=https://x/simple", "-rreq.txt", "-c", "c.txt",
                      "--no-index", "-f", "/w", "--trusted-host", "x", "a==1", "b>=2", "-e", "./src", "--upgrade",
                      "--target", "/t"])
    assert s["requirements"] == ["a==1", "b>=2"]
    assert s["files"] == ["req.txt"] and s["constraints"] == ["c.txt"] and s["editables"] == ["./src"]
    assert s["indexes"] == [("https://i/simple", "index-url"), ("https://x/simple", "extra-index-url"),
                            ("/w", "find-links"), ("x", "trusted-host")]
    assert s["no_index"] is True


def test_requirement_subjects():
    items = gi.requirement_subjects({"requirements": ["a>=1", "b[x]==2", "not a req!!", "./pkg.whl"]}, ())
    a, b, bad, local = items
    assert (a.name, a.specifier) == ("a", ">=1") and b.extras == ("x",)
    assert isinstance(bad, Finding) and bad.rule == "invalid"
    assert local.url == "./pkg.whl" and local.name is None


def test_subjects_from_pip_report():
    report = {"install": [
        {"metadata": {"name": "goodpkg", "version": "1.0"}, "requested": True, "is_direct": False,
         "download_info": {"url": "http://h/files/goodpkg-1.0-py3-none-any.whl",
                           "archive_info": {"hashes": {"sha256": "aa"}, "hash": "sha256=aa"}}},
        {"metadata": {"name": "direct", "version": "2.0"}, "is_direct": True,
         "download_info": {"url": "https://h/direct-2.0.tar.gz", "archive_info": {"hash": "sha256=bb"}}},
    ]}
    idx = (IndexRef("http://h/simple"),)
    good, direct = gi.subjects_from_pip_report(report, idx)
    assert (good.name, good.version, good.url, good.hashes, good.indexes) == ("goodpkg", "1.0", None, ("sha256:aa",), idx)
    assert direct.url == "https://h/direct-2.0.tar.gz" and direct.hashes == ("sha256:bb",)
    assert gi.subjects_from_pip_report({}, ()) == []


def test_subjects_from_pip_report_reads_like_the_pip_report_source():
    """One reader: editable local projects are the user's own code, nameless entries are invalid, VCS pinned."""
    report = {"install": [
        {"metadata": {"name": "proj", "version": "0.1"}, "is_direct": True, "requested": True,
         "download_info": {"url": "file:///src/proj", "dir_info": {"editable": True}}},
        {"metadata": {}, "download_info": {}},
        {"metadata": {"name": "vcs", "version": "1"}, "is_direct": True,
         "download_info": {"url": "https://h/r.git", "vcs_info": {"vcs": "git", "commit_id": "abc"}}},
    ]}
    idx = (IndexRef("https://i/simple"),)
    bad, vcs = gi.subjects_from_pip_report(report, idx)
    assert isinstance(bad, Finding) and bad.rule == "invalid"
    assert (vcs.url, vcs.version, vcs.indexes, vcs.location) == ("git+https://h/r.git@abc", "1", idx, None)


def test_parse_compiled_uv_output():
    text = ("anyio==4.4.0 \\\n    --hash=sha256:aa \\\n    --hash=sha256:bb\n    # via httpx\n"
            "    # from https://pypi.org/simple\nidna==3.7\n-e ./local\n")
    anyio, idna = gi.parse_compiled(text, ())
    assert (anyio.name, anyio.version, anyio.hashes) == ("anyio", "4.4.0", ("sha256:aa", "sha256:bb"))
    assert anyio.indexes == (IndexRef("https://pypi.org/simple"),)
    assert (idna.name, idna.version) == ("idna", "3.7")
