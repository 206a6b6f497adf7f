"""Property tests: the matchers never crash and never flag what they must not (hypothesis, bounded)."""

from __future__ import annotations

import string

from hypothesis import given, settings
from hypothesis import strategies as st

from guardpolicy.similarity import data
from guardpolicy.similarity.text import affix_cores, canonicalize, describe_edit, fold

NAME_CHARS = string.ascii_letters + string.digits + "-_."
names = st.text(alphabet=NAME_CHARS, min_size=0, max_size=40)
anything = st.text(max_size=40)


@settings(max_examples=300, deadline=None)
@given(anything)
def test_pypi_match_never_crashes_on_any_text(name):
    m = data.pypi_index().match(name)
    if m is not None:
        assert m.target in data.pypi_index().rank
        assert m.target != canonicalize(name)


@settings(max_examples=300, deadline=None)
@given(names)
def test_spellings_of_a_popular_name_are_never_flagged(noise):
    top = data.pypi_top()
    name = top[len(noise) * 97 % len(top)]
    # same project under any case and separator spelling
    variant = "".join(c.upper() if i % 2 else c for i, c in enumerate(name)).replace("-", "_")
    assert data.pypi_index().match(variant) is None


@settings(max_examples=300, deadline=None)
@given(names)
def test_fold_and_cores_are_total(name):
    c = canonicalize(name)
    assert fold(fold(c)) == fold(fold(fold(c)))
    for core in affix_cores(c):
        assert core != c and len(core) < len(c)
    assert isinstance(describe_edit(c, "requests"), str)


@settings(max_examples=200, deadline=None)
@given(anything, st.sampled_from(["model", "dataset", "space"]))
def test_hub_match_never_crashes(repo_id, kind):
    m = data.hf_index().match(repo_id, kind)
    assert m is None or m.suggestion
