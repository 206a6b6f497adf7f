"""``guardpolicy.pep508``: packaging's parsers with every failure as one exception type."""

from __future__ import annotations

import pytest
from packaging.markers import InvalidMarker
from packaging.requirements import InvalidRequirement

from guardpolicy.pep508 import MAX_NESTING, _nesting, parse_marker, parse_requirement


def test_nesting_depth():
    assert _nesting("") == 0
    assert _nesting("a (b) (c)") == 1
    assert _nesting("((a) (b))") == 2
    assert _nesting(")))((") == 2  # stray closers do not go negative


def test_real_requirements_and_markers_parse():
    req = parse_requirement('requests[socks]>=2; (python_version >= "3.8" and (os_name == "posix"))')
    assert req.name == "requests" and req.extras == {"socks"}
    assert str(parse_marker('python_version < "3"')) == 'python_version < "3"'


@pytest.mark.parametrize("text", [
    "foo; " + "(" * 5000 + 'python_version > "3"' + ")" * 5000,  # RecursionError inside packaging
    "foo; " + "(" * (MAX_NESTING + 1) + 'os_name == "nt"' + ")" * (MAX_NESTING + 1),
    "x===@,\u00e9",  # packaging raises InvalidSpecifier here
    'foo; os_name == "\\x"',  # packaging's ast.literal_eval: SyntaxError on a bad escape
    'foo; os_name == "a\x00"',  # ... and on a NUL
    "foo bar",
    "",
])
def test_every_failure_is_invalid_requirement(text):
    with pytest.raises(InvalidRequirement):
        parse_requirement(text)


def test_nesting_at_the_bound_still_parses():
    marker = "(" * MAX_NESTING + 'os_name == "nt"' + ")" * MAX_NESTING
    assert parse_requirement(f"foo; {marker}").name == "foo"


@pytest.mark.parametrize("text", ["(" * 5000 + 'os_name == "nt"' + ")" * 5000, "os_name ==", "((", 'os_name == "\\N{x}"'])
def test_every_marker_failure_is_invalid_marker(text):
    with pytest.raises(InvalidMarker):
        parse_marker(text)
