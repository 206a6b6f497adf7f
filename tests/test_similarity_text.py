"""Edge cases of the pure name functions behind the typosquat rule (guardpolicy.similarity.text)."""

from __future__ import annotations

import pytest

from guardpolicy.similarity.text import (
    MIN_CORE,
    affix_cores,
    are_variants,
    canonicalize,
    combo_splits,
    describe_edit,
    fold,
    is_variant_token,
    keyboard_adjacent,
    model_skeleton,
    model_tokens,
    org_cores,
    split_repo_id,
    strip_leading_version,
    strip_separators,
    strip_trailing_version,
)


@pytest.mark.parametrize("raw, canon", [
    ("Requests", "requests"),
    ("ruamel.yaml", "ruamel-yaml"),
    ("ruamel_yaml", "ruamel-yaml"),
    ("Foo__Bar--baz..qux", "foo-bar-baz-qux"),
    ("  PyYAML ", "pyyaml"),
    ("a-_.b", "a-b"),
    ("", ""),
])
def test_canonicalize_is_pep503(raw, canon):
    assert canonicalize(raw) == canon


@pytest.mark.parametrize("raw, out", [
    ("setup-tools", "setuptools"),
    ("Setup_Tools", "setuptools"),
    ("a.b c", "abc"),
    ("", ""),
])
def test_strip_separators(raw, out):
    assert strip_separators(raw) == out


@pytest.mark.parametrize("a, b", [
    ("jellyfish", "jeIlyfish"),   # capital I for l
    ("jellyfish", "je1lyfish"),   # digit one for l
    ("boto", "bot0"),             # zero for o
    ("matplotlib", "rnatplotlib"),  # rn for m
    ("wheel", "vvheel"),          # vv for w
    ("django", "cljango"),        # cl for d
    ("setuptools", "setup-tools"),  # separators
    ("setuptools", "SETUP_TOOLS"),  # case
    ("python-dateutil", "python_dateutil"),
])
def test_fold_equates_look_alikes(a, b):
    assert fold(a) == fold(b)


@pytest.mark.parametrize("a, b", [
    ("numpy", "numba"),
    ("boto", "boto3"),
    ("scipy", "scapy"),
    ("requests", "reqeusts"),  # a swap is a typo, not a look-alike
    ("pandas", "panda"),
])
def test_fold_keeps_distinct_names_apart(a, b):
    assert fold(a) != fold(b)


def test_fold_is_idempotent_on_its_alphabet():
    for name in ("jellyfish", "matplotlib", "click", "wheel", "boto3", "l1Io0O"):
        assert fold(fold(name)) == fold(fold(fold(name)))


@pytest.mark.parametrize("name, core", [
    ("requests2", "requests"),
    ("requests-2", "requests"),
    ("requests-v2", "requests"),
    ("requests-2-0", "requests"),   # requests-2.0 after canonicalisation
    ("requests", "requests"),
    ("py3", "py3"),                  # core would be too short
    ("ab1", "ab1"),
    ("boto3", "boto"),
])
def test_strip_trailing_version(name, core):
    assert strip_trailing_version(name) == core


@pytest.mark.parametrize("name, core", [
    ("2requests", "requests"),
    ("v2-requests", "requests"),
    ("requests", "requests"),
    ("3ab", "3ab"),
])
def test_strip_leading_version(name, core):
    assert strip_leading_version(name) == core


@pytest.mark.parametrize("name, core, how", [
    ("python3-dateutil", "dateutil", "python3-"),
    ("python-requests", "requests", "python-"),
    ("py-requests", "requests", "py-"),
    ("pyrequests", "requests", "py"),
    ("pythonrequests", "requests", "python"),
    ("install-numpy", "numpy", "install-"),
    ("requests-py", "requests", "-py"),
    ("requests-python", "requests", "-python"),
    ("stripe-lib", "stripe", "-lib"),
    ("stripe-sdk", "stripe", "-sdk"),
    ("stripe-api", "stripe", "-api"),
    ("stripe-cli", "stripe", "-cli"),
    ("stripe-client", "stripe", "-client"),
    ("requests2", "requests", "2"),
])
def test_affix_cores_single_strip(name, core, how):
    cores = affix_cores(name)
    assert cores[core] == how


def test_affix_cores_chain_strips():
    cores = affix_cores("python3-requests-py2")
    assert "requests" in cores
    assert cores["requests"].count("+") >= 1


def test_affix_cores_never_returns_the_name_or_tiny_cores():
    for name in ("py", "pyx", "python", "py-io", "ab-py", "requests"):
        cores = affix_cores(name)
        assert name not in cores
        assert all(len(c.replace("-", "")) >= MIN_CORE for c in cores)


def test_affix_cores_of_plain_word_is_empty():
    assert affix_cores("requests") == {}
    assert affix_cores("") == {}


def test_combo_splits():
    assert list(combo_splits("pandas-numpy")) == [("pandas", "numpy")]
    assert list(combo_splits("a-b-c")) == [("a", "b-c"), ("a-b", "c")]
    assert list(combo_splits("numpy")) == []
    assert list(combo_splits("")) == []


@pytest.mark.parametrize("a, b, adjacent", [
    ("s", "a", True), ("s", "d", True), ("s", "w", True), ("s", "z", True),
    ("s", "p", False), ("q", "p", False), ("S", "A", True), ("é", "e", False),
])
def test_keyboard_adjacent(a, b, adjacent):
    assert keyboard_adjacent(a, b) is adjacent


@pytest.mark.parametrize("typed, target, kind", [
    ("requests", "requests", "identical"),
    ("setup-tools", "setuptools", "separator"),
    ("jeIlyfish", "jellyfish", "homoglyph"),
    ("urlib3", "urllib3", "omission"),
    ("flaask", "flask", "repetition"),
    ("colourama", "colorama", "insertion"),
    ("reqeusts", "requests", "transposition"),
    ("djanga", "django", "substitution"),
    ("diango", "django", "keyboard-substitution"),
    ("matlibplot", "matplotlib", "edits"),
])
def test_describe_edit(typed, target, kind):
    assert describe_edit(typed, target) == kind


def test_model_tokens():
    assert model_tokens("Llama-3.1-8B-Instruct") == ("llama", "3.1", "8b", "instruct")
    assert model_tokens("bert_base uncased") == ("bert", "base", "uncased")
    assert model_tokens("") == ()


@pytest.mark.parametrize("token, variant", [
    ("7b", True), ("2.7b", True), ("560m", True), ("8x7b", True), ("v2", True), ("3.1", True),
    ("2", True), ("instruct", True), ("cased", True), ("uncased", True), ("base", True),
    ("medium", True), ("uncasedd", False), ("bert", False), ("llama", False), ("mediun", False),
])
def test_is_variant_token(token, variant):
    assert is_variant_token(token) is variant


@pytest.mark.parametrize("a, b", [
    ("bert-base-cased", "bert-base-uncased"),
    ("gpt2", "gpt2-medium"),
    ("opt-2.7b", "opt-6.7b"),
    ("Llama-3.1-8B", "Llama-3.1-8B-Instruct"),
    ("Qwen2-7B", "Qwen2.5-7B"),
    ("t5-small", "t5-large"),
])
def test_siblings_are_variants(a, b):
    assert are_variants(a, b)


@pytest.mark.parametrize("a, b", [
    ("bert-base-uncasedd", "bert-base-uncased"),
    ("gpt2-mediun", "gpt2-medium"),
    ("Llama-3.1-8B-Instrcut", "Llama-3.1-8B-Instruct"),
    ("roberta-base", "bert-base"),
])
def test_typos_are_not_variants(a, b):
    assert not are_variants(a, b)


def test_model_skeleton_drops_digits_and_variant_words():
    assert model_skeleton("bert-base-uncased") == ("bert",)
    assert model_skeleton("gpt2-medium") == ("gpt",)
    assert model_skeleton("2-7b") == ()


@pytest.mark.parametrize("org, core, affix", [
    ("facebookresearch", "facebook", "research"),
    ("metallamaofficial", "metallama", "official"),
    ("openai2", "openai", "2"),
    ("mistralaihf", "mistralai", "hf"),
    ("theopenai", "openai", "the"),
    ("nvidiaai", "nvidia", "ai"),
])
def test_org_cores(org, core, affix):
    assert org_cores(org)[core] == affix


def test_org_cores_drops_short_cores_and_self():
    cores = org_cores("aiai")
    assert "aiai" not in cores
    assert all(len(c) >= MIN_CORE for c in cores)
    assert org_cores("") == {}


def test_split_repo_id():
    assert split_repo_id("meta-llama/Llama-3.1-8B") == ("meta-llama", "Llama-3.1-8B")
    assert split_repo_id("gpt2") == (None, "gpt2")
    assert split_repo_id("a/b/c") == ("a", "b/c")


def test_fold_many_equals_fold_one_by_one():
    from guardpolicy.similarity import data
    from guardpolicy.similarity.text import fold_many

    names = list(data.pypi_top())
    assert fold_many(names) == [fold(n) for n in names]
    assert fold_many([]) == []
    assert fold_many(["c-l-ick", "r-n"]) == [fold("c-l-ick"), fold("r-n")]  # digraphs across separators


def test_popular_cores():
    from guardpolicy.similarity.pypi import popular_cores

    cores = popular_cores(["python-dateutil", "pyyaml", "foo-cu12", "yaml-utils", "requests", "py"])
    assert cores["dateutil"] == "python-dateutil"
    assert cores["yaml"] == "pyyaml"
    assert "foo-cu" not in cores          # version-stripped siblings are not cores
    assert "requests" not in cores
    assert all(len(c) >= 4 for c in cores)


def test_fold_glob_keeps_wildcards():
    from guardpolicy.similarity.text import fold_glob

    assert fold_glob("Acrne-*") == "acme*"
    assert fold_glob("acme-?x") == "acme?x"
    assert fold_glob("[l1]ib-*") == "[ii]ib*"
    assert fold_glob("") == ""


def test_glob_lookalike():
    from guardpolicy.similarity.text import glob_lookalike

    assert glob_lookalike("acrne-billing", ["acme-*"]) == "acme-*"
    assert glob_lookalike("acmebilling", ["zeta-*", "acme-*"]) == "acme-*"
    assert glob_lookalike("zebra", ["acme-*"]) is None
    assert glob_lookalike("acme", ["acme"]) is None  # literal names are not globs
