"""The 66 real-world requirements files (tests/data/requirements-corpus, see its README).

Every file goes through the real ``guard check`` CLI: exit 0 or 1, never 2 from a crash, no
traceback. Several are then checked for specific, sensible results.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from guardpolicy.model import Finding, IndexRef, PackageRef
from guardpolicy.sources.requirements import ReadOptions, read_requirements

CORPUS = Path(__file__).parent / "data" / "requirements-corpus"
FILES = sorted(CORPUS.glob("*.txt"))


def test_corpus_is_complete():
    assert len(FILES) == 66
    assert (CORPUS / "README.md").read_text().startswith("# Real-world requirements files")


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_every_file_reads_without_an_exception(path):
    items = read_requirements(str(path), ReadOptions(env={}))
    for item in items:
        assert isinstance(item, (PackageRef, IndexRef, Finding))
        if isinstance(item, Finding):
            assert item.rule == "invalid" and item.location and item.location.line and item.message


def test_whole_corpus_through_the_cli_in_one_run(guard):
    r = guard("check", "--format", "json", *FILES, cwd=CORPUS)
    assert r.returncode in (0, 1), r.stderr
    assert "Traceback" not in r.stderr and r.stderr == ""
    out = json.loads(r.stdout)
    assert out["decision"] == "deny"  # the corpus has invalid lines and plain-http indexes
    files = {f["location"]["file"] for f in out["findings"] if f["location"]}
    assert len(files) > 30


@pytest.mark.parametrize("name", [
    "sc-requirements__basic-requirements.txt",
    "requirements__unsupported_options.txt",
    "requirements__pip-docs-examples3.txt",
    "more-requirements__Elchi3-kuma-requirements-dev.txt",
])
def test_single_files_through_the_cli(guard, name):
    r = guard("check", "--format", "json", CORPUS / name)
    assert r.returncode in (0, 1) and "Traceback" not in r.stderr, r.stderr
    json.loads(r.stdout)


def _findings(name, guard, *extra):
    r = guard("check", "--format", "json", CORPUS / name, *extra)
    assert r.returncode in (0, 1) and "Traceback" not in r.stderr, r.stderr
    return r.returncode, json.loads(r.stdout)["findings"]


def test_unsupported_options_are_invalid_with_lines(guard):
    rc, fs = _findings("requirements__unsupported_options.txt", guard)
    invalid = sorted((f["location"]["line"], f["message"]) for f in fs if f["rule"] == "invalid")
    assert [line for line, _ in invalid] == [4, 7, 10]
    assert "--no-use-wheel" in invalid[0][1] and "--unknown-options" in invalid[1][1]
    assert "some trailing junk" in invalid[2][1]
    assert rc == 1


def test_missing_include_names_file_and_line(guard):
    rc, fs = _findings("more-requirements__Elchi3-kuma-requirements-dev.txt", guard)
    (f,) = [f for f in fs if f["rule"] == "invalid"]
    assert f["location"]["line"] == 2 and "default.txt" in f["message"]


def test_pipfile_example_hashes_and_extra_index(guard):
    items = read_requirements(str(CORPUS / "requirements__pipfile-requirements-tests.txt"), ReadOptions(env={}))
    six = next(i for i in items if isinstance(i, PackageRef) and i.name == "six")
    assert len(six.hashes) == 2 and all(h.startswith("sha256:") for h in six.hashes)
    assert [i.url for i in six.indexes] == ["https://pypi.org/simple", "https://pypi.example.com/simple"]
    rc, fs = _findings("requirements__pipfile-requirements-tests.txt", guard)
    src = [f for f in fs if f["rule"] == "source"]
    assert [f["subject"] for f in src] == ["https://pypi.example.com/simple"]
    assert src[0]["location"]["line"] == 10


def test_invalid_spec_file(guard):
    rc, fs = _findings("sc-requirements__invalid_spec-requirements.txt", guard)
    assert rc == 1 and sorted(f["location"]["line"] for f in fs if f["rule"] == "invalid") == [1, 2]


def test_vcs_docs_examples_unpinned_except_full_commit(guard):
    rc, fs = _findings("requirements__pip-docs-examples-vcs.txt", guard)
    lines = {f["location"]["line"] for f in fs if f["rule"] == "unpinned"}
    assert 12 not in lines  # @da39a3ee... full commit id
    assert {5, 7, 10, 11, 13}.issubset(lines)  # no ref, @master, @v1.0, @refs/pull/...
    http = [f for f in fs if f["rule"] == "source" and "unencrypted" in f["message"]]
    assert {f["location"]["line"] for f in http} >= {16}  # hg+http://
    assert 17 not in {f["location"]["line"] for f in http}  # hg+https://


def test_urls_with_checksums_are_pinned(guard):
    rc, fs = _findings("sc-requirements__urls_wth_checksums-requirements.txt", guard)
    assert not [f for f in fs if f["rule"] == "unpinned"]
    assert {f["location"]["line"] for f in fs if f["rule"] == "source"} == {1, 2}  # plain http


def test_pep508_examples_read_fully():
    items = read_requirements(str(CORPUS / "requirements__pep-508-examples.txt"), ReadOptions(env={}))
    pkgs = [i for i in items if isinstance(i, PackageRef)]
    assert not [i for i in items if isinstance(i, Finding)]
    fred = next(p for p in pkgs if p.extras == ("bar", "fred"))
    assert fred.url == "http://foo.com" and fred.marker == 'python_version == "2.7"'
