"""The shipped typosquat data: present, packaged, well-formed, and derived files in step."""

from __future__ import annotations

import re
from pathlib import Path

from guardpolicy.similarity import data
from guardpolicy.similarity.build import cores_text
from guardpolicy.similarity.text import canonicalize

ROOT = Path(__file__).resolve().parent.parent


def test_pypi_list_is_canonical_ranked_and_unique():
    names = data.pypi_top()
    assert len(names) == 15000
    assert names[:3] == ("boto3", "packaging", "setuptools")
    assert all(n == canonicalize(n) for n in names)
    assert len(set(names)) == len(names)


def test_derived_cores_file_matches_the_code():
    shipped = data.read_text("pypi_cores.tsv")
    assert shipped == cores_text(list(data.pypi_top())), "run: python -m guardpolicy.similarity.build"


def test_malicious_list_shape():
    mal = data.pypi_malicious()
    assert len(mal) > 1400
    assert {c for c, _ in mal.values()} == {"malicious_intent", "typosquat", "compromised_lib"}
    assert mal["acqusition"] == ("typosquat", "acquisition")
    assert "num2words" not in data.known_malicious_names()
    assert all(n == canonicalize(n) for n in mal)


def test_hub_lists_shape():
    assert len(data.hf_models()) > 1000 and "bert-base-uncased" in data.hf_models()
    assert "meta-llama/Llama-3.1-8B" in data.hf_models()
    assert len(data.hf_datasets()) > 1000
    orgs = data.hf_orgs()
    assert orgs["meta-llama"] is True and orgs["mteb"] is False
    assert all(re.fullmatch(r"[^/\s]+(/[^/\s]+)?", r) for r in data.hf_models() + data.hf_datasets())


def test_data_readme_names_every_file():
    readme = (ROOT / "guardpolicy" / "data" / "README.md").read_text(encoding="utf-8")
    for f in (ROOT / "guardpolicy" / "data").iterdir():
        if f.name != "README.md":
            assert f"`{f.name}`" in readme, f.name


def test_package_data_globs_cover_every_data_file():
    """pyproject's package-data must ship each file (``data/*`` does not recurse into folders)."""
    import fnmatch

    import tomllib

    conf = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    globs = conf["tool"]["setuptools"]["package-data"]["guardpolicy"]
    for f in (ROOT / "guardpolicy" / "data").iterdir():
        assert f.is_file(), f"{f} is a folder: package-data globs would miss its files"
        assert any(fnmatch.fnmatch(f"data/{f.name}", g) for g in globs), f.name
