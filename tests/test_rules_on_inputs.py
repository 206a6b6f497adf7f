"""Rules ``unpinned``, ``unhashed``, ``source``, ``denylist`` and ``invalid`` on real parsed input.

Each case writes a real requirements / lock file, reads it with the real source, and runs the
real engine with a real policy file: positives and negatives for every rule.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from guardpolicy.engine import Engine
from guardpolicy.policy import load_policy
from guardpolicy.sources.plugin import guard_make_source

C40 = "0123456789abcdef0123456789abcdef01234567"
H = "sha256:" + "a" * 64
LOCKS = Path(__file__).parent / "data" / "locks"


def check(tmp_path, text, policy="", name="requirements.txt", files=None):
    """Findings as ``{(rule, line)}`` plus the decision, for ``text`` under ``policy`` (on default)."""
    for fname, body in (files or {}).items():
        (tmp_path / fname).write_text(body)
    target = tmp_path / name
    target.write_text(text)
    pol = tmp_path / "policy.toml"
    pol.write_text(policy)
    items = list(guard_make_source(str(target), None).collect())
    decision = Engine(load_policy(str(pol))).decide(items)
    return decision, {(f.rule, f.location.line if f.location else None) for f in decision.findings}


def rules_at(found, rule):
    return sorted(line for r, line in found if r == rule)


# ---------------------------------------------------------------- unpinned


UNPINNED_POS = [
    "requests", "requests>=2", "requests==2.*", "requests~=2.32", "requests>=2,<3", "requests==2.0,!=2.1",
    "git+https://github.com/psf/requests#egg=requests",
    "git+https://github.com/psf/requests@main#egg=requests",
    "git+https://github.com/psf/requests@v2.32.3#egg=requests",
    "git+https://github.com/psf/requests@0123456#egg=requests",
    "requests @ git+https://github.com/psf/requests@refs/pull/1/head",
    "https://example.com/requests-2.32.3.tar.gz",
    "https://example.com/requests-2.32.3-py3-none-any.whl",
    "-e git+https://github.com/psf/requests@main#egg=requests",
]


@pytest.mark.parametrize("line", UNPINNED_POS)
def test_unpinned_positive(tmp_path, line):
    decision, found = check(tmp_path, line + "\n")
    assert rules_at(found, "unpinned") == [1]
    assert decision.decision == "warn"  # unpinned warns under the default policy


UNPINNED_NEG = [
    "requests==2.32.3", "requests===2.32.3", "requests==2.32.3 ; python_version >= '3.8'",
    f"git+https://github.com/psf/requests@{C40}#egg=requests",
    f"requests @ git+ssh://git@github.com/psf/requests.git@{C40.upper()}",
    "git+https://h/r.git@" + "f" * 64 + "#egg=r",
    "svn+https://svn.example.com/MyProject/trunk@2019#egg=MyProject",
    f"https://example.com/requests-2.32.3.tar.gz#sha256={'a' * 64}",
    f"requests @ https://example.com/requests-2.32.3.tar.gz --hash={H}",
    "./vendor/requests-2.32.3.tar.gz", "-e .", "file:///srv/pkgs/requests", "-e ./libs/own[extra]",
]


@pytest.mark.parametrize("line", UNPINNED_NEG)
def test_unpinned_negative(tmp_path, line):
    _, found = check(tmp_path, line + "\n")
    assert rules_at(found, "unpinned") == []


def test_unpinned_constraint_pins_count_and_constraints_are_not_judged(tmp_path):
    _, found = check(tmp_path, "-c constraints.txt\nrequests\nflask>=3\n",
                     files={"constraints.txt": "requests==2.32.3\nurllib3<3\n"})
    assert rules_at(found, "unpinned") == [3]  # flask; requests pinned by the constraint; urllib3 is a constraint


def test_unpinned_lock_entries_are_pinned():
    items = list(guard_make_source(str(LOCKS / "pypi" / "uv.lock"), None).collect())
    d = Engine(load_policy("strict")).decide(items)
    assert d.decision == "allow", [f.message for f in d.findings]


# ---------------------------------------------------------------- unhashed


STRICT = 'extends = ["strict"]\n'


def test_unhashed_only_when_required(tmp_path):
    _, found = check(tmp_path, "requests==2.32.3\n")
    assert rules_at(found, "unhashed") == []
    decision, found = check(tmp_path, "requests==2.32.3\n", STRICT)
    assert rules_at(found, "unhashed") == [1] and decision.decision == "deny"


@pytest.mark.parametrize("line", [
    f"requests==2.32.3 --hash={H}",
    f"requests==2.32.3 \\\n    --hash={H}",
    f"https://example.com/requests-2.32.3.tar.gz#sha256={'a' * 64}",
    f"requests @ git+https://github.com/psf/requests@{C40}",
])
def test_unhashed_negative(tmp_path, line):
    _, found = check(tmp_path, line + "\n", STRICT)
    assert rules_at(found, "unhashed") == []


def test_unhashed_hashed_constraint_covers_requirement(tmp_path):
    _, found = check(tmp_path, "-c c.txt\nrequests\nsix==1.16.0\n", STRICT,
                     files={"c.txt": f"requests==2.32.3 --hash={H}\n"})
    assert rules_at(found, "unhashed") == [3]
    assert rules_at(found, "unpinned") == []


def test_unhashed_lock_without_hashes(tmp_path):
    items = list(guard_make_source(str(LOCKS / "local" / "uv.lock"), None).collect())
    d = Engine(load_policy("strict")).decide(items)
    names = sorted(f.subject for f in d.findings if f.rule == "unhashed")
    assert names == ["alpha==1.0", "beta==2.0", "gamma==0.1"]  # find-links wheels carry no hash in uv.lock


# ---------------------------------------------------------------- source: indexes


@pytest.mark.parametrize("text,policy,lines", [
    ("--trusted-host pypi.org\n", "", [1]),
    ("--trusted-host pypi.org\n", "[sources]\nallow_trusted_host = true\n", []),
    ("-i http://pypi.org/simple\n", "", [1, 1]),  # plain http, and not the allowed https URL
    ("-i https://pypi.org/simple/\n", "", []),
    ("-i https://pypi.python.org/simple\n", "", []),
    ("--index-url https://mirror.example/simple\n", "", [1]),
    ("--index-url https://mirror.example/simple\n", "[sources]\nindexes = [\"https://mirror.example/simple\"]\n", []),
    ("--index-url https://mirror.example/simple/team\n", "[sources]\nindexes = [\"https://mirror.example/simple\"]\n", []),
    ("--extra-index-url https://extra.example/simple\n", "", [1]),
    ("--find-links file:///opt/wheels\n", "", []),
    ("--find-links ./wheels\n", "", []),
    ("--find-links C:\\wheels\n", "", []),
    ("--find-links ./wheels\n", "[sources]\nallow_local = false\n", [1]),
    ("--find-links https://download.pytorch.org/whl/torch_stable.html\n", "", [1]),
    ("--find-links http://internal/wheels\n", "[sources]\nallow_http = true\nindexes = [\"http://internal/wheels\"]\n", []),
])
def test_source_index_options(tmp_path, text, policy, lines):
    decision, found = check(tmp_path, text, policy)
    got = sorted(line for f in decision.findings if f.rule == "source" for line in [f.location.line])
    assert got == lines


# ---------------------------------------------------------------- source: dependency confusion


PROTECTED = '[sources]\nprotected = ["acme-*"]\nindexes = ["https://pypi.org/simple", "https://pkgs.acme.example/simple"]\n'


@pytest.mark.parametrize("text,lines", [
    ("--extra-index-url https://pkgs.acme.example/simple\nacme-core==1.0\n", [2]),  # PyPI + private: confusion
    ("acme-core==1.0\n--extra-index-url https://pkgs.acme.example/simple\n", [1]),  # options are global
    ("-i https://pkgs.acme.example/simple\n--extra-index-url https://pypi.org/simple\nacme-core==1.0\n", [3]),
    ("--find-links https://pkgs.acme.example/links\nacme_Core==1.0\n", [2]),  # remote find-links + PyPI
    ("acme-core==1.0\n", [1]),  # only the public index: an internal name resolved from PyPI
    ("-i https://pkgs.acme.example/simple\nacme-core==1.0\n", []),  # private index only
    ("--no-index\n--find-links ./wheels\nacme-core==1.0\n", []),  # local only
    ("--extra-index-url https://pkgs.acme.example/simple\nrequests==2.32.3\n", []),  # not protected
])
def test_source_dependency_confusion(tmp_path, text, lines):
    decision, _ = check(tmp_path, text, PROTECTED)
    got = sorted(f.location.line for f in decision.findings if f.rule == "source" and "internal" in f.message)
    assert got == lines


def test_source_confusion_in_lock_files(tmp_path):
    lock = (LOCKS / "pypi" / "uv.lock").read_text()
    policy = '[sources]\nprotected = ["idna"]\n'
    decision, found = check(tmp_path, lock, policy, name="uv.lock")
    assert [f.subject.split("==")[0] for f in decision.findings if f.rule == "source"] == ["idna"]
    private = lock.replace('registry = "https://pypi.org/simple"', 'registry = "https://pkgs.acme.example/simple"')
    decision, _ = check(tmp_path, private, policy + 'indexes = ["https://pkgs.acme.example/simple"]\n', name="uv.lock")
    assert not [f for f in decision.findings if f.rule == "source"]


def test_source_lock_registry_not_allowed(tmp_path):
    lock = (LOCKS / "pypi" / "uv.lock").read_text().replace("https://pypi.org/simple", "https://mirror.example/simple")
    decision, found = check(tmp_path, lock, "", name="uv.lock")
    assert rules_at(found, "source") == [5] and decision.decision == "deny"  # reported once, where first used


def test_source_pip_report_download_host_matches_index_origin(tmp_path):
    report = {"version": "1", "install": [{
        "download_info": {"url": "https://pkgs.acme.example/packages/acme_core-1.0-py3-none-any.whl",
                          "archive_info": {"hashes": {"sha256": "a" * 64}}},
        "is_direct": False, "requested": True, "metadata": {"name": "acme-core", "version": "1.0"}}]}
    text = json.dumps(report, indent=1)
    decision, _ = check(tmp_path, text, '[sources]\nindexes = ["https://pkgs.acme.example/simple"]\n', name="report.json")
    assert decision.decision == "allow", [f.message for f in decision.findings]
    decision, _ = check(tmp_path, text, "", name="report.json")
    assert [f.rule for f in decision.findings] == ["source"]


# ---------------------------------------------------------------- source: direct URLs


@pytest.mark.parametrize("line,hit", [
    (f"pkg @ http://example.com/pkg-1.0.tar.gz#sha256={'a' * 64}", True),
    (f"git+git://git.example.com/pkg.git@{C40}#egg=pkg", True),
    (f"-e git://git.example.com/pkg.git@{C40}#egg=pkg", True),
    (f"hg+http://hg.example.com/pkg@{C40}#egg=pkg", True),
    ("svn+svn://svn.example.com/pkg@12#egg=pkg", True),
    (f"git+https://github.com/o/pkg@{C40}#egg=pkg", False),
    (f"git+ssh://git@github.com/o/pkg@{C40}#egg=pkg", False),
    ("git+file:///srv/repo#egg=pkg", False),
    ("./vendor/pkg", False),
])
def test_source_direct_url_transport(tmp_path, line, hit):
    _, found = check(tmp_path, line + "\n")
    assert bool(rules_at(found, "source")) is hit


def test_source_direct_urls_can_be_restricted(tmp_path):
    line = f"pkg @ git+https://github.com/o/pkg@{C40}\n"
    _, found = check(tmp_path, line, "[rules.source]\nallow_direct_urls = false\n")
    assert rules_at(found, "source") == [1]
    _, found = check(tmp_path, line, '[rules.source]\nallow_direct_urls = false\n[sources]\nindexes = ["https://pypi.org/simple", "https://github.com/o"]\n')
    assert rules_at(found, "source") == []


# ---------------------------------------------------------------- denylist


DENY = 'deny = ["urllib3<1.26.5", "evilpkg"]\n'


@pytest.mark.parametrize("line,hit", [
    ("urllib3==1.26.4", True),
    ("urllib3===1.26.4", True),
    ("urllib3>=1.26,<1.27", True),  # may resolve to 1.26.4
    ("urllib3", True),
    ("urllib3==1.26.5", False),
    ("urllib3>=1.26.5", False),
    ("urllib3>=2", False),
    ("EVILPKG==0.1", True),
    ("evil-pkg==0.1", False),  # another project: PEP 503 keeps the dash
    ("evilpkg @ git+https://h/evilpkg@" + C40, True),
    ("-e git+https://h/evilpkg@" + C40 + "#egg=EvilPkg", True),
    ("goodpkg==1.0", False),
])
def test_denylist_on_requirements(tmp_path, line, hit):
    decision, found = check(tmp_path, line + "\n", DENY)
    assert bool(rules_at(found, "denylist")) is hit
    if hit:
        assert decision.decision == "deny"


def test_denylist_on_lock_versions(tmp_path):
    lock = (LOCKS / "pypi" / "uv.lock").read_text()
    decision, _ = check(tmp_path, lock, 'deny = ["urllib3<2.9"]\n', name="uv.lock")
    assert [f.rule for f in decision.findings] == ["denylist"]
    decision, _ = check(tmp_path, lock, 'deny = ["urllib3<2"]\n', name="uv.lock")
    assert not decision.findings


def test_denylist_constraint_entries_are_judged(tmp_path):
    _, found = check(tmp_path, "-c c.txt\n", DENY, files={"c.txt": "urllib3==1.26.4\n"})
    assert found == {("denylist", 1)}


# ---------------------------------------------------------------- invalid


def test_invalid_denies_by_default_and_rest_is_checked(tmp_path):
    decision, found = check(tmp_path, "requests>=>2\n-r missing.txt\nsix\n")
    assert rules_at(found, "invalid") == [1, 2] and rules_at(found, "unpinned") == [3]
    assert decision.decision == "deny"


def test_invalid_action_is_policy_driven(tmp_path):
    decision, found = check(tmp_path, "requests>=>2\n", '[rules.invalid]\naction = "warn"\n')
    assert rules_at(found, "invalid") == [1] and decision.decision == "warn"


def test_invalid_can_be_waived_by_subject(tmp_path):
    policy = '[[waivers]]\nrule = "invalid"\nsubject = "requests>=>2"\nreason = "legacy file, SEC-9"\n'
    decision, found = check(tmp_path, "requests>=>2\n", policy)
    assert not found and decision.waived


# ---------------------------------------------------------------- CLI


def test_cli_text_report_groups_by_file_with_hints(tmp_path, guard):
    (tmp_path / "base.txt").write_text("--trusted-host pypi.org\n")
    req = tmp_path / "requirements.txt"
    req.write_text("-r base.txt\nrequests>=2\n")
    r = guard("check", req)
    assert r.returncode == 1
    assert str(tmp_path / "base.txt") in r.stdout and str(req) in r.stdout
    assert "line 1:" in r.stdout and "line 2:" in r.stdout and "fix:" in r.stdout


def test_cli_pypi_targets_batch(guard):
    names = [f"pypi:pkg{i}=={i}.0" for i in range(300)] + ["pypi:bad>>1"]
    r = guard("check", "--format", "json", *names)
    assert r.returncode == 1 and "Traceback" not in r.stderr
    out = json.loads(r.stdout)
    assert [f["rule"] for f in out["findings"]] == ["invalid"]


def test_strict_judges_sdist_urls_by_their_file_name_and_source(tmp_path):
    """A direct sdist URL is named from its file name (typosquat/malicious apply), and strict refuses
    direct URLs from outside the allowed sources, while PyPI's own file host counts as PyPI."""
    import json

    from conftest import run_guard

    req = tmp_path / "requirements.txt"
    req.write_text("https://evil.example/crypt-1.0.zip#sha256=" + "a" * 64 + "\n"
                   "https://files.pythonhosted.org/packages/x/requests-2.32.3.tar.gz#sha256=" + "b" * 64 + "\n")
    r = run_guard("check", "--policy", "strict", "--format", "json", req)
    assert r.returncode == 1, r.stderr
    got = {(f["rule"], f["location"]["line"]) for f in json.loads(r.stdout)["findings"]}
    assert {("malicious", 1), ("source", 1)} <= got
    assert not any(line == 2 for _, line in got), got
