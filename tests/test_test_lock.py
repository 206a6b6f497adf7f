"""The test environment is pinned: the lock covers what pyproject's test extra asks for, with hashes."""

from __future__ import annotations

import re

from conftest import ROOT
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

LOCK = ROOT / "requirements" / "test.lock"


def _lock_pins(path) -> dict:
    text = path.read_text(encoding="utf-8")
    pins = {}
    for block in re.split(r"\n(?=[A-Za-z0-9])", text):
        m = re.match(r"([A-Za-z0-9._-]+)==(\S+)", block)
        if m:
            assert "--hash=sha256:" in block, f"{path.name}: {m.group(1)} has no hash"
            pins[canonicalize_name(m.group(1))] = Version(m.group(2))
    return pins


def _pyproject():
    import tomllib

    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def test_lock_pins_every_runtime_and_test_requirement_within_its_range():
    pins = _lock_pins(LOCK)
    project = _pyproject()
    wanted = [Requirement(r) for r in project["dependencies"] + project["optional-dependencies"]["test"]]
    for req in wanted:
        name = canonicalize_name(req.name)
        assert name in pins, f"requirements/test.lock lacks {req.name}: run requirements/update-lock.sh"
        assert req.specifier.contains(pins[name], prereleases=True), \
            f"requirements/test.lock pins {name}=={pins[name]} outside {req}: run requirements/update-lock.sh"


def test_every_huggingface_hub_version_the_runtime_tests_patch_is_locked():
    from test_runtime_hf_versions import VERSIONS

    for version in VERSIONS:
        pins = _lock_pins(ROOT / "requirements" / f"huggingface_hub-{version}.lock")
        assert pins[canonicalize_name("huggingface_hub")] == Version(version)


def test_the_runtime_floor_stays_loose():
    # pyproject states ranges for users; only the lock pins
    assert not [r for r in _pyproject()["dependencies"] if "==" in r]
