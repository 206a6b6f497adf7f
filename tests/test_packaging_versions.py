"""guard judges requirement strings the same with the oldest and the newest packaging it supports.

packaging changes what it accepts between releases (24 started refusing ``===`` with no version),
and an upstream release must not change guard's verdict. The oldest supported release (the floor in
pyproject.toml) comes from ``requirements/packaging-oldest.txt`` (hash-pinned) and is put first on
``PYTHONPATH`` of a real ``guard check``; the newest is the one the test lock installs.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT

OLDEST = ROOT / "requirements" / "packaging-oldest.txt"

REQUIREMENTS = """\
requests===
exact===2.32.3
legacy===2004d
stringy===foobar
spaced ===  1.0+local
ranged>=1.0
emptyarb[socks]===  ; os_name == "posix"
"""


def _pinned_oldest() -> str:
    return re.search(r"^packaging==(\S+)", OLDEST.read_text(encoding="utf-8"), re.M).group(1)


def test_the_oldest_pin_is_pyprojects_floor():
    floor = re.search(r'"packaging>=([^",;]+)"', (ROOT / "pyproject.toml").read_text(encoding="utf-8")).group(1)
    from packaging.version import Version

    assert Version(_pinned_oldest()) == Version(floor)


@pytest.fixture(scope="module")
def oldest_wheel(tmp_path_factory) -> Path:
    dest = tmp_path_factory.mktemp("packaging-oldest")
    proc = subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary", ":all:",
                           "--require-hashes", "-r", str(OLDEST), "-d", str(dest)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    (wheel,) = dest.glob("packaging-*.whl")
    return wheel


def _run(tmp_path: Path, pythonpath: str | None):
    env = dict(os.environ)
    if pythonpath:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [pythonpath, env.get("PYTHONPATH")]))
    version = subprocess.run([sys.executable, "-c", "import packaging; print(packaging.__version__)"],
                             capture_output=True, text=True, env=env, check=True).stdout.strip()
    req = tmp_path / "requirements.txt"
    req.write_text(REQUIREMENTS, encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "guardpolicy", "check", str(req), "pypi:target===", "pypi:target2===1.0",
                           "--format", "json"], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300)
    assert "Traceback" not in proc.stderr + proc.stdout, proc.stderr
    verdict = sorted((f["rule"], f["subject"], f["message"]) for f in json.loads(proc.stdout)["findings"])
    return version, proc.returncode, verdict


@pytest.mark.slow  # pip downloads the oldest packaging (hash-pinned) from the index
def test_same_verdicts_with_oldest_and_newest_packaging(tmp_path, oldest_wheel):
    old_version, old_rc, old = _run(tmp_path, str(oldest_wheel))
    new_version, new_rc, new = _run(tmp_path, None)
    assert old_version == _pinned_oldest() and new_version != old_version
    assert (old_rc, old) == (new_rc, new)
    by_subject = {}
    for rule, subject, _ in new:
        by_subject.setdefault(subject, set()).add(rule)
    # no version after === is one 'invalid' finding saying so; an exact === string is a pin
    invalid = sorted(subject for rule, subject, message in new if rule == "invalid" and "'===' without a version" in message)
    assert invalid == ['emptyarb[socks]===  ; os_name == "posix"', "pypi:target===", "requests==="], new
    for pinned in ("exact", "legacy", "stringy", "spaced", "target2"):
        assert "unpinned" not in by_subject.get(pinned, set()), new
    assert "unpinned" in by_subject["ranged"]
