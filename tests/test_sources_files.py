"""pyproject.toml, pylock.toml, uv.lock and pip report sources, and dispatch by name/content.

Lock and report fixtures in tests/data/locks were produced by the real uv and pip (see the
README there); one test also runs real pip offline against a wheelhouse it builds.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from wheelhouse import build_wheelhouse

from guardpolicy.model import Finding, IndexRef, PackageRef
from guardpolicy.sources.interface import SourceError
from guardpolicy.sources.pip_report import PipReportSource
from guardpolicy.sources.plugin import guard_make_source, sniff_kind
from guardpolicy.sources.pylock import PylockSource
from guardpolicy.sources.pyproject import PyprojectSource, resolve_groups
from guardpolicy.sources.textpos import LineFinder, string_literals
from guardpolicy.sources.uvlock import UvLockSource, uv_git_url

LOCKS = Path(__file__).parent / "data" / "locks"
SHA = "sha256:" + "a" * 64


def pkgs(items):
    return {i.name: i for i in items if isinstance(i, PackageRef)}


def findings(items):
    return [i for i in items if isinstance(i, Finding)]


def write(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(text)
    return p


# ---------------------------------------------------------------- text positions


def test_string_literals_handle_quotes_comments_and_multiline():
    text = 'a = "x"  # "not me"\nb = \'y\\n\'\nc = """\nlong\n"""\nd = ["z\\"q"]\n'
    assert string_literals(text) == [(1, "x"), (2, "y\\n"), (6, 'z"q')]


def test_line_finder_uses_each_literal_once():
    f = LineFinder('a = ["x"]\nb = ["x"]\n')
    assert f.find_all(["x", "x", "x"]) == [1, 2, None]


# ---------------------------------------------------------------- pyproject


PYPROJECT = '''\
[build-system]
requires = ["setuptools>=68"]

[project]
name = "demo"
dependencies = [
    "requests==2.32.3",   # comment with "quotes"
    'numpy>=1.26',
    "bad>>1",
]

[project.optional-dependencies]
docs = ["sphinx==7.3.7"]
"test-suite" = [
    "requests==2.32.3",
]

[dependency-groups]
dev = ["ruff==0.5.0", {include-group = "lint"}]
lint = ["flake8"]
'''


def test_pyproject_every_dependency_with_its_line(tmp_path):
    items = list(PyprojectSource(write(tmp_path, "pyproject.toml", PYPROJECT)).collect())
    refs = [i for i in items if isinstance(i, PackageRef)]
    assert [(r.name, r.location.line, dict(r.extra)) for r in refs] == [
        ("setuptools", 2, {"build_requirement": True}),
        ("requests", 7, {}),
        ("numpy", 8, {}),
        ("sphinx", 13, {"optional": "docs"}),
        ("requests", 15, {"optional": "test-suite"}),
        ("ruff", 19, {"group": "dev"}),
        ("flake8", 20, {"group": "lint"}),
    ]
    assert refs[1].version == "2.32.3" and refs[2].version is None
    (bad,) = findings(items)
    assert bad.rule == "invalid" and bad.location.line == 9 and "bad>>1" in bad.message


def test_pyproject_group_include_problems(tmp_path):
    assert resolve_groups({"a": [{"include-group": "b"}], "b": [{"include-group": "a"}]}) == [
        "dependency group cycle: a -> b -> a", "dependency group cycle: b -> a -> b"]
    assert resolve_groups({"a": [{"include-group": "nope"}]}) == ["dependency group 'a' includes unknown group 'nope'"]
    assert resolve_groups({"Dev_Tools": ["x"], "all": [{"include-group": "dev-tools"}]}) == []
    items = list(PyprojectSource(write(tmp_path, "pyproject.toml",
                                       '[dependency-groups]\na = [{include-group = "b"}]\nb = [{include-group = "a"}]\n')).collect())
    assert len(findings(items)) == 2 and all(f.location.line == 1 for f in findings(items))


def test_pyproject_bad_toml_names_the_line(tmp_path):
    p = write(tmp_path, "pyproject.toml", '[project]\nname = "x"\ndependencies = ["a",\n  oops\n]\n')
    with pytest.raises(SourceError) as exc:
        list(PyprojectSource(p).collect())
    assert exc.value.line == 4 and str(p) in str(exc.value)


def test_pyproject_non_string_dependency(tmp_path):
    items = list(PyprojectSource(write(tmp_path, "pyproject.toml", '[project]\ndependencies = [1]\n')).collect())
    assert "must be a string" in findings(items)[0].message


def test_pyproject_real_fixture():
    items = list(PyprojectSource(LOCKS / "pypi" / "pyproject.toml").collect())
    assert sorted(pkgs(items)) == ["iniconfig", "requests", "six"]


# ---------------------------------------------------------------- uv.lock


def test_uvlock_real_pypi_fixture():
    items = list(UvLockSource(LOCKS / "pypi" / "uv.lock").collect())
    idx = [i for i in items if isinstance(i, IndexRef)]
    assert [(i.url, i.kind) for i in idx] == [("https://pypi.org/simple", "registry")]
    p = pkgs(items)
    assert "real-app" not in p  # the project itself (editable source) is not a dependency
    assert p["requests"].version == "2.32.3" and p["requests"].specifier == "==2.32.3"
    assert p["requests"].hashes and all(h.startswith("sha256:") for h in p["requests"].hashes)
    assert p["requests"].indexes == (idx[0],) and p["requests"].url is None
    assert p["certifi"].location.line == 5


def test_uvlock_local_fixture_path_source_and_registry_dir():
    items = list(UvLockSource(LOCKS / "local" / "uv.lock").collect())
    p = pkgs(items)
    assert set(p) == {"alpha", "beta", "delta", "gamma"}
    assert p["delta"].url == "local/delta-0.5-py3-none-any.whl" and p["delta"].hashes
    assert p["alpha"].indexes[0].url == "wheels"


UV_SOURCES = '''\
version = 1
requires-python = ">=3.10"

[[package]]
name = "app"
version = "0.1.0"
source = { virtual = "." }

[[package]]
name = "httpx"
version = "0.28.0"
source = { git = "https://github.com/encode/httpx?rev=master#336204f0121a9aefdebac5cacd81f912bafe8057" }

[[package]]
name = "tool"
version = "1.0"
source = { url = "https://example.com/tool-1.0.tar.gz" }
sdist = { hash = "sha256:''' + "b" * 64 + '''" }

[[package]]
name = "member"
version = "0.1"
source = { editable = "packages/member" }
'''


def test_uvlock_git_url_and_own_sources(tmp_path):
    items = list(UvLockSource(write(tmp_path, "uv.lock", UV_SOURCES)).collect())
    p = pkgs(items)
    assert set(p) == {"httpx", "tool"}
    assert p["httpx"].url == "git+https://github.com/encode/httpx@336204f0121a9aefdebac5cacd81f912bafe8057"
    assert p["tool"].url == "https://example.com/tool-1.0.tar.gz" and p["tool"].hashes == ("sha256:" + "b" * 64,)
    assert p["httpx"].location.line == 9


def test_uv_git_url_subdirectory():
    assert uv_git_url("https://h/r?subdirectory=pkg&rev=v1#" + "c" * 40) == "git+https://h/r@" + "c" * 40 + "#subdirectory=pkg"


def test_uvlock_bad_toml_and_wrong_file(tmp_path):
    with pytest.raises(SourceError) as exc:
        list(UvLockSource(write(tmp_path, "uv.lock", "version = 1\n[[package]\n")).collect())
    assert exc.value.line == 2
    with pytest.raises(SourceError, match="not a uv lock"):
        list(UvLockSource(write(tmp_path, "uv.lock", "x = 1\n")).collect())


# ---------------------------------------------------------------- pylock.toml


def test_pylock_real_pypi_fixture():
    items = list(PylockSource(LOCKS / "pypi" / "pylock.toml").collect())
    p = pkgs(items)
    assert "real-app" not in p and {"requests", "six", "iniconfig", "urllib3"} <= set(p)
    assert p["six"].version and p["six"].hashes and p["six"].indexes[0].url == "https://pypi.org/simple"
    assert len([i for i in items if isinstance(i, IndexRef)]) == 1


def test_pylock_local_fixture_archive():
    p = pkgs(PylockSource(LOCKS / "local" / "pylock.toml").collect())
    assert p["delta"].url == "local/delta-0.5-py3-none-any.whl" and p["delta"].hashes
    assert "demo-app" not in p


PYLOCK = '''\
lock-version = "1.0"
created-by = "hand"

[[packages]]
name = "attrs"
version = "25.1.0"
index = "https://pypi.org/simple"
wheels = [{ url = "https://files.pythonhosted.org/packages/attrs-25.1.0-py3-none-any.whl", hashes = { sha256 = "''' + "d" * 64 + '''" } }]

[[packages]]
name = "lib"
vcs = { type = "git", url = "https://github.com/o/lib.git", requested-revision = "main", commit-id = "''' + "e" * 40 + '''" }

[[packages]]
name = "mirror-only"
version = "1.0"
sdist = { url = "https://mirror.example/files/mirror-only-1.0.tar.gz", hashes = { sha256 = "''' + "f" * 64 + '''" } }

[[packages]]
version = "1"
'''


def test_pylock_sources(tmp_path):
    items = list(PylockSource(write(tmp_path, "pylock.toml", PYLOCK)).collect())
    p = pkgs(items)
    assert p["lib"].url == "git+https://github.com/o/lib.git@" + "e" * 40 and p["lib"].version is None
    assert p["mirror-only"].indexes[0].url == "https://mirror.example"
    assert [i.url for i in items if isinstance(i, IndexRef)] == ["https://pypi.org/simple", "https://mirror.example"]
    (f,) = findings(items)
    assert "without a name" in f.message and f.location.line == 19


def test_pylock_requires_lock_version(tmp_path):
    with pytest.raises(SourceError, match="lock-version"):
        list(PylockSource(write(tmp_path, "pylock.toml", "[[packages]]\nname='x'\n")).collect())


# ---------------------------------------------------------------- pip report


def test_pip_report_real_pypi_fixture():
    items = list(PipReportSource(LOCKS / "pypi" / "pip-report.json").collect())
    p = pkgs(items)
    assert p["requests"].version == "2.32.3" and p["requests"].hashes[0].startswith("sha256:")
    assert p["requests"].extra["requested"] and not p["idna"].extra["requested"]
    assert [i.url for i in items if isinstance(i, IndexRef)] == ["https://pypi.org/simple"]
    assert p["requests"].location.line and p["requests"].location.line < p["six"].location.line


def test_pip_report_direct_vcs_and_errors(tmp_path):
    report = {"version": "1", "install": [
        {"download_info": {"url": "https://github.com/o/lib.git",
                           "vcs_info": {"vcs": "git", "commit_id": "c" * 40, "requested_revision": "main"}},
         "is_direct": True, "requested": True, "metadata": {"name": "lib", "version": "0.1"}},
        {"download_info": {"url": "file:///src/app", "dir_info": {"editable": True}},
         "is_direct": True, "metadata": {"name": "app", "version": "1.0"}},
        {"metadata": {}},
    ]}
    p_file = write(tmp_path, "report.json", json.dumps(report, indent=2))
    items = list(PipReportSource(p_file).collect())
    p = pkgs(items)
    assert p["lib"].url == "git+https://github.com/o/lib.git@" + "c" * 40 and not p["lib"].indexes
    assert "app" not in p  # the editable project itself
    assert len(findings(items)) == 1
    with pytest.raises(SourceError) as exc:
        list(PipReportSource(write(tmp_path, "r.json", '{\n "install": [\n oops ]}')).collect())
    assert exc.value.line == 3
    with pytest.raises(SourceError, match="not a pip installation report"):
        list(PipReportSource(write(tmp_path, "other.json", '{"a": 1}')).collect())


def test_real_pip_report_offline_against_a_wheelhouse(tmp_path, guard):
    wheels = build_wheelhouse(tmp_path / "wheels")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    env["PIP_CONFIG_FILE"] = os.devnull
    report = tmp_path / "report.json"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--dry-run", "--ignore-installed", "--no-index",
                    "--find-links", str(wheels), "--report", str(report), "alpha", "gamma"],
                   check=True, env=env, capture_output=True, timeout=120)
    p = pkgs(PipReportSource(report).collect())
    assert {n: r.version for n, r in p.items()} == {"alpha": "1.0", "beta": "2.0", "gamma": "0.1"}
    assert all(r.hashes for r in p.values())
    # strict pins and hashes, but local sources allowed (a shipped strict may forbid local paths)
    policy = tmp_path / "policy.toml"
    policy.write_text('[rules.unpinned]\naction = "deny"\n[rules.unhashed]\nrequire_hashes = true\n'
                      '[sources]\nallow_local = true\n')
    r = guard("check", "--policy", policy, "--format", "json", report)
    assert r.returncode == 0, r.stdout + r.stderr
    assert json.loads(r.stdout)["decision"] == "allow"


# ---------------------------------------------------------------- dispatch


@pytest.mark.parametrize("name,head,kind", [
    ("pyproject.toml", "", "pyproject"),
    ("uv.lock", "", "uvlock"),
    ("pylock.toml", "", "pylock"),
    ("pylock.dev.toml", "", "pylock"),
    ("deps.toml", 'lock-version = "1.0"\n', "pylock"),
    ("old.lock", "version = 1\n\n[[package]]\nname = 'x'\n", "uvlock"),
    ("other.toml", "[project]\nname='x'\n", "pyproject"),
    ("report.json", "", "pip-report"),
    ("install-report", '  {"version": "1"}', "pip-report"),
    ("requirements.txt", "", "requirements"),
    ("constraints.in", "", "requirements"),
    ("requirements-prod", "requests==2\n", "requirements"),
])
def test_sniff_kind(name, head, kind):
    assert sniff_kind(name, head) == kind


def test_dispatch_by_content_through_the_cli(tmp_path, guard):
    shutil.copy(LOCKS / "pypi" / "uv.lock", tmp_path / "frozen.lock")
    r = guard("check", "--format", "json", tmp_path / "frozen.lock")
    assert r.returncode == 0, r.stdout + r.stderr
    assert guard_make_source(str(tmp_path / "missing-dir"), None) is None


@pytest.mark.parametrize("name,text", [
    ("pyproject.toml", "[project\n"),
    ("uv.lock", "version = \n"),
    ("pylock.toml", "lock-version = 1.0.0\n"),
    ("report.json", "{\n\n]"),
])
def test_unreadable_inputs_exit_2_with_file_and_line(tmp_path, guard, name, text):
    p = write(tmp_path, name, text)
    r = guard("check", p)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert r.stderr.startswith("guard: error: ") and str(p) + ":" in r.stderr and len(r.stderr.splitlines()) == 1


def test_lock_fixtures_through_the_cli(guard):
    for path in sorted(LOCKS.glob("*/*")):
        if path.name == "README.md":
            continue
        r = guard("check", "--format", "json", path)
        assert r.returncode in (0, 1) and "Traceback" not in r.stderr, (path, r.stderr)


# ---------------------------------------------------------------- pypi: targets


@pytest.mark.parametrize("target,name,spec,version", [
    ("pypi:requests", "requests", "", None),
    ("pypi:requests==2.32.3", "requests", "==2.32.3", "2.32.3"),
    ("pypi:Requests == 2.0", "Requests", "==2.0", "2.0"),
    ("pypi:requests===2.0", "requests", "===2.0", "2.0"),
    ("pypi:requests==2.*", "requests", "==2.*", None),
    ("pypi:requests>=2", "requests", ">=2", None),
    ("pypi:requests[socks]==2.0", "requests", "==2.0", "2.0"),
])
def test_pypi_targets(target, name, spec, version):
    from guardpolicy.sources.pypi import PypiTargetSource

    (ref,) = PypiTargetSource(target).collect()
    assert (ref.name, ref.specifier, ref.version) == (name, spec, version)
    assert [i.url for i in ref.indexes] == ["https://pypi.org/simple"]


@pytest.mark.parametrize("target", ["pypi:bad>>1", "pypi:x==1.0_bad", "pypi:"])
def test_pypi_target_invalid(target):
    from guardpolicy.sources.pypi import PypiTargetSource

    (f,) = PypiTargetSource(target).collect()
    assert f.rule == "invalid" and "\n" not in f.message


# ---------------------------------------------------------------- odd shapes never crash

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-3, 3), st.sampled_from(
    ["", "x", "requests>=2", "https://pypi.org/simple", "sha256:ab", "git+https://h/r", ".", "1.0", "bad>>"]))
_VALUES = st.recursive(_SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=3),
    st.dictionaries(st.sampled_from(["name", "version", "url", "path", "hashes", "hash", "sha256", "registry", "git",
                                     "editable", "virtual", "index", "vcs", "type", "commit-id", "directory", "archive",
                                     "sdist", "wheels", "include-group", "metadata", "download_info", "is_direct",
                                     "archive_info", "vcs_info", "dir_info", "requested_extras", "commit_id",
                                     "dependencies", "optional-dependencies", "requires", "source", "marker",
                                     "subdirectory", "dev"]),
                    inner, max_size=4)), max_leaves=12)


def _doc(top_keys):
    return st.dictionaries(st.sampled_from(top_keys), _VALUES, max_size=4)


def _no_nulls(value):
    if isinstance(value, dict):
        return {k: _no_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_no_nulls(v) for v in value if v is not None]
    return value


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(_doc(["project", "dependency-groups", "build-system", "version", "package", "lock-version", "packages"]),
       st.sampled_from(["pyproject.toml", "uv.lock", "pylock.toml"]))
def test_toml_sources_survive_any_structure(tmp_path, doc, name):
    import tomli_w

    p = tmp_path / name
    p.write_text(tomli_w.dumps(_no_nulls(doc)))
    try:
        items = list(guard_make_source(str(p), None).collect())
    except SourceError:
        return
    assert all(isinstance(i, (PackageRef, IndexRef, Finding)) for i in items)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.one_of(_VALUES, _doc(["install", "version"]), st.fixed_dictionaries({"install": st.lists(_VALUES, max_size=4)})))
def test_pip_report_survives_any_structure(tmp_path, doc):
    p = tmp_path / "report.json"
    p.write_text(json.dumps(doc))
    try:
        items = list(PipReportSource(p).collect())
    except SourceError:
        return
    assert all(isinstance(i, (PackageRef, IndexRef, Finding)) for i in items)
