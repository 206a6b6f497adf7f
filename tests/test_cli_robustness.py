"""Hostile and broken input through the real ``guard`` CLI.

Every case here was found by feeding guard what a careless or hostile repository contains.
The contract (TEAM.md, docs/output.md): a clear message naming file and line; exit 2 for a
policy or usage error, an ``invalid`` (or rule) finding for a bad line; never a traceback,
never a silent allow, never a lost finding.
"""

from __future__ import annotations

import json

import pytest
from conftest import run_guard


def check(tmp_path, text, *args, name="requirements.txt", policy=None):
    """Write ``text`` to ``name`` and run ``guard check --format json`` on it."""
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    extra = ["--policy", str(policy)] if policy else []
    return run_guard("check", path, "--format", "json", *extra, *args, cwd=tmp_path)


def no_traceback(proc):
    """Assert the run printed no Python traceback."""
    assert "Traceback" not in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stdout, proc.stdout


def findings(proc):
    """The counted findings of a JSON report."""
    return json.loads(proc.stdout)["findings"]


# ---------------------------------------------------------------- requirement lines


def test_deeply_nested_marker_is_an_invalid_finding_not_a_traceback(tmp_path):
    line = "foo==1; " + "(" * 3000 + 'python_version > "3"' + ")" * 3000
    proc = check(tmp_path, f"{line}\nreqeusts==1.0\n")
    no_traceback(proc)
    assert proc.returncode == 1
    got = findings(proc)
    assert any(f["rule"] == "invalid" and f["location"]["line"] == 1 and "nested" in f["message"] for f in got)
    # the rest of the file is still checked
    assert any(f["rule"] == "typosquat" and f["location"]["line"] == 2 for f in got)


def test_deeply_nested_marker_in_pyproject_and_pypi_target(tmp_path):
    deep = "(" * 3000 + 'python_version > "3"' + ")" * 3000
    proc = check(tmp_path, f'[project]\nname = "x"\ndependencies = [\'foo==1; {deep}\', "flask==3.0.0"]\n',
                 name="pyproject.toml")
    no_traceback(proc)
    assert proc.returncode == 1
    assert [f["rule"] for f in findings(proc)] == ["invalid"]
    proc = run_guard("check", f"pypi:foo==1; {deep}", "--format", "json", cwd=tmp_path)
    no_traceback(proc)
    assert proc.returncode == 1 and [f["rule"] for f in findings(proc)] == ["invalid"]


def test_specifier_packaging_rejects_oddly_is_an_invalid_finding(tmp_path):
    # packaging raises InvalidSpecifier (not InvalidRequirement) for this one
    proc = check(tmp_path, "x===@,\u00e9\nflask==3.0.0\n")
    no_traceback(proc)
    assert proc.returncode == 1
    got = findings(proc)
    assert [(f["rule"], f["location"]["line"]) for f in got] == [("invalid", 1)]


def test_deeply_nested_deny_entry_is_a_policy_error(tmp_path):
    deep = "(" * 3000 + 'python_version > "3"' + ")" * 3000
    policy = tmp_path / "guard.toml"
    policy.write_text(f"deny = ['foo; {deep}']\n", encoding="utf-8")
    proc = check(tmp_path, "flask==3.0.0\n", policy=policy)
    no_traceback(proc)
    assert proc.returncode == 2
    assert f"{policy}:1: deny:" in proc.stderr


def test_empty_arbitrary_equality_is_not_a_pin(tmp_path):
    # 'requests===' breaks PEP 508's grammar (packaging < 24 accepted it, >= 24 refuses it): one
    # 'invalid' finding naming what is missing, whatever packaging is installed
    proc = check(tmp_path, "requests===\n")
    no_traceback(proc)
    (finding,) = findings(proc)
    assert finding["rule"] == "invalid" and "'===' without a version" in finding["message"]


@pytest.mark.parametrize("line", [
    "--index-url https://pypi.org:abc/simple",
    "--extra-index-url https://[::1/simple",
    "-f https://[bad/wheels/",
])
def test_malformed_index_urls_are_findings_not_tracebacks(tmp_path, line):
    proc = check(tmp_path, f"{line}\nreqeusts==1.0\n")
    no_traceback(proc)
    assert proc.returncode == 1
    got = findings(proc)
    assert any(f["rule"] == "source" and f["location"]["line"] == 1 and f["action"] == "deny" for f in got), got
    assert any(f["rule"] == "typosquat" for f in got)


@pytest.mark.parametrize("line", [
    "https://[bad/x-1.0-py3-none-any.whl",
    "x @ https://host:port/x-1.0-py3-none-any.whl",
])
def test_malformed_direct_urls_are_findings_not_tracebacks(tmp_path, line):
    proc = check(tmp_path, f"{line}\nreqeusts==1.0\n")
    no_traceback(proc)
    assert proc.returncode == 1
    got = findings(proc)
    assert any(f["location"] and f["location"]["line"] == 1 and f["action"] == "deny" for f in got), got
    assert any(f["rule"] == "typosquat" for f in got)


def test_undecodable_bytes_finding_names_the_line(tmp_path):
    proc = check(tmp_path, b"requests==2.32.3\nna\xefve==1.0\n")
    no_traceback(proc)
    got = findings(proc)
    utf = [f for f in got if "utf-8" in f["message"]]
    assert utf and utf[0]["location"] == {"file": str(tmp_path / "requirements.txt"), "line": 2}


def test_include_of_an_endless_device_is_bounded(tmp_path):
    proc = check(tmp_path, "-r /dev/zero\nreqeusts==1.0\n")
    no_traceback(proc)
    assert proc.returncode == 1
    got = findings(proc)
    assert any(f["rule"] == "invalid" and f["location"]["line"] == 1 for f in got)
    assert any(f["rule"] == "typosquat" for f in got)


def test_endless_device_as_policy_is_a_policy_error(tmp_path):
    proc = check(tmp_path, "flask==3.0.0\n", policy="/dev/zero")
    no_traceback(proc)
    assert proc.returncode == 2
    assert "/dev/zero" in proc.stderr


# ---------------------------------------------------------------- lock files


@pytest.mark.parametrize("name,text", [
    ("pylock.toml", 'lock-version = "1.0"\n[[packages]]\nname = "reqeusts"\nversion = "1.0"\nwheels = 1\n'),
    ("uv.lock", 'version = 1\n[[package]]\nname = "reqeusts"\nversion = "1.0"\nsource = { registry = "https://pypi.org/simple" }\nwheels = 1\n'),
])
def test_lock_files_with_wrong_types_keep_checking(tmp_path, name, text):
    proc = check(tmp_path, text, name=name)
    no_traceback(proc)
    assert proc.returncode == 1
    assert any(f["rule"] == "typosquat" for f in findings(proc))


# ---------------------------------------------------------------- policies


def test_policy_with_utf8_bom_is_read(tmp_path):
    policy = tmp_path / "guard.toml"
    policy.write_bytes(b"\xef\xbb\xbf" + b'mode = "warn"\r\n')
    proc = check(tmp_path, "reqeusts==1.0\n", policy=policy)
    no_traceback(proc)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["mode"] == "warn"


def test_policy_not_utf8_names_the_line(tmp_path):
    policy = tmp_path / "guard.toml"
    policy.write_bytes(b'mode = "warn"\n[sources]\nprotected = ["caf\xe9"]\n')
    proc = check(tmp_path, "flask==3.0.0\n", policy=policy)
    no_traceback(proc)
    assert proc.returncode == 2
    assert f"{policy}:3:" in proc.stderr


def test_truncated_policy_toml_names_the_last_line(tmp_path):
    policy = tmp_path / "guard.toml"
    policy.write_text('mode = "enforce"\ndeny = [\n  "evilpkg",\n', encoding="utf-8")
    proc = check(tmp_path, "flask==3.0.0\n", policy=policy)
    assert proc.returncode == 2
    assert f"{policy}:3: invalid TOML" in proc.stderr or f"{policy}:4: invalid TOML" in proc.stderr, proc.stderr


def test_extends_a_directory_names_the_extending_line(tmp_path):
    (tmp_path / "base").mkdir()
    policy = tmp_path / "guard.toml"
    policy.write_text('mode = "enforce"\nextends = ["base"]\n', encoding="utf-8")
    proc = check(tmp_path, "flask==3.0.0\n", policy=policy)
    assert proc.returncode == 2
    assert f"{policy}:2: extends:" in proc.stderr and "directory" in proc.stderr, proc.stderr


@pytest.mark.parametrize("ref", ["file:///etc/guard.toml", "ftp://example.com/guard.toml"])
def test_extends_with_an_unsupported_url_scheme(tmp_path, ref):
    policy = tmp_path / "guard.toml"
    policy.write_text(f'extends = ["{ref}"]\n', encoding="utf-8")
    proc = check(tmp_path, "flask==3.0.0\n", policy=policy)
    assert proc.returncode == 2
    assert f"{policy}:1: extends:" in proc.stderr and "https://" in proc.stderr, proc.stderr


def test_validate_a_directory_says_so(tmp_path):
    proc = run_guard("policy", "validate", tmp_path, cwd=tmp_path)
    assert proc.returncode == 2
    assert "is a directory" in proc.stderr, proc.stderr


# ---------------------------------------------------------------- command-line targets


def test_invalid_pypi_target_has_no_file_location(tmp_path):
    # docs/output.md: location is null for command-line targets such as pypi:NAME
    proc = run_guard("check", "pypi:foo bar", "--format", "json", cwd=tmp_path)
    got = findings(proc)
    assert [(f["rule"], f["subject"], f["location"]) for f in got] == [("invalid", "pypi:foo bar", None)]
    text = run_guard("check", "pypi:foo bar", cwd=tmp_path)
    assert text.stdout.splitlines()[0] == "pypi:foo bar"


class _BrokenReader:
    """A source plugin whose reader fails half-way through its file."""

    from guardpolicy.hookspecs import hookimpl as _hookimpl

    @staticmethod
    @_hookimpl(tryfirst=True)
    def guard_make_source(target, options):
        if not target.endswith(".broken"):
            return None
        from guardpolicy.model import PackageRef
        from guardpolicy.sources.interface import Source

        class Reader(Source):
            def collect(self):
                yield PackageRef("reqeusts", "==1.0", version="1.0")
                raise TypeError("'int' object is not iterable")

        return Reader()


def test_a_reader_that_raises_keeps_what_it_read_and_denies():
    from guardpolicy.cli.check import collect_subjects
    from guardpolicy.engine import CheckOptions
    from guardpolicy.model import Finding, PackageRef
    from guardpolicy.plugins import get_plugin_manager

    pm = get_plugin_manager()
    pm.register(_BrokenReader, name="test-broken-reader")
    try:
        items = collect_subjects(["deps.broken"], CheckOptions())
    finally:
        pm.unregister(name="test-broken-reader")
    assert isinstance(items[0], PackageRef) and items[0].name == "reqeusts"
    assert isinstance(items[1], Finding) and items[1].rule == "invalid" and items[1].action == "deny"
    assert "TypeError" in items[1].message and items[1].location.file == "deps.broken"


def test_read_bytes_limited(tmp_path):
    from guardpolicy.fileio import decode_utf8, error_line, read_bytes_limited

    f = tmp_path / "f"
    f.write_bytes(b"12345")
    assert read_bytes_limited(f, limit=5) == b"12345"
    with pytest.raises(OSError) as exc:
        read_bytes_limited(f, limit=4)
    assert "larger than" in exc.value.strerror
    with pytest.raises(OSError):
        read_bytes_limited("/dev/zero", limit=1024)
    assert decode_utf8(b"\xef\xbb\xbfa = 1") == "a = 1"
    data = b"a\nb\n\xff"
    with pytest.raises(UnicodeDecodeError) as bad:
        decode_utf8(data)
    assert error_line(data, bad.value) == 3


@pytest.mark.parametrize("message,text,line", [
    ("Invalid value (at line 4, column 2)", "a\nb\nc\nd\n", 4),
    ("Invalid value (at end of document)", 'deny = [\n  "x",\n', 2),
    ("Invalid value (at end of document)", "", 1),
    ("something else", "a\n", None),
])
def test_toml_error_line(message, text, line):
    from guardpolicy.fileio import toml_error_line

    assert toml_error_line(message, text) == line


# ---------------------------------------------------------------- allow-list globs


def test_index_glob_does_not_let_other_hosts_through(tmp_path):
    policy = tmp_path / "org.toml"
    policy.write_text('[sources]\nindexes = ["https://*.acme.example/simple"]\n', encoding="utf-8")
    evil = ["https://evil.example/.acme.example/simple", "https://evil.example/x.acme.example/simple",
            "https://user@evil.example/a.acme.example/simple"]
    text = "".join(f"--extra-index-url {u}\n" for u in evil)
    text += "--extra-index-url https://pypi.acme.example/simple\n-f https://pypi.acme.example/simple/wheels/\nflask==3.0.0\n"
    proc = check(tmp_path, text, policy=policy)
    denied = sorted(f["location"]["line"] for f in findings(proc) if f["rule"] == "source")
    assert denied == [1, 2, 3], proc.stdout


def test_url_glob_matches():
    from guardpolicy.rules.source import endpoint_allowed, url_glob_matches

    assert url_glob_matches("https://pypi.acme.example/simple", "https://*.acme.example/simple")
    assert url_glob_matches("https://pypi.acme.example/simple/x", "https://*.acme.example/simple")
    assert not url_glob_matches("https://evil.example/.acme.example/simple", "https://*.acme.example/simple")
    assert not url_glob_matches("https://pypi.acme.example/simple-evil", "https://*.acme.example/simple")
    assert url_glob_matches("https://h1.example/simple", "https://h?.example/simple")
    assert not url_glob_matches("https://h/.example/simple", "https://h?.example/simple")
    assert endpoint_allowed("https://hub.acme.example", ["https://*.acme.example"])
    assert not endpoint_allowed("https://evil.example/x.acme.example", ["https://*.acme.example"])


def test_dot_segments_do_not_escape_an_allowed_index(tmp_path):
    from guardpolicy.rules.source import is_allowed_url, resolve_dot_segments

    allowed = ["https://forge.example/api/projects/12/pypi/simple"]
    assert is_allowed_url("https://forge.example/api/projects/12/pypi/simple/./", allowed)
    assert not is_allowed_url("https://forge.example/api/projects/12/pypi/simple/../../../13/pypi/simple", allowed)
    assert not is_allowed_url("https://forge.example/api/projects/12/pypi/simple/%2e%2e/%2e%2e/x", allowed)
    assert resolve_dot_segments("/a/b") == "/a/b"
    assert resolve_dot_segments("/a/../..") == "/"
    policy = tmp_path / "guard.toml"
    policy.write_text(f'[sources]\nindexes = ["{allowed[0]}"]\n', encoding="utf-8")
    proc = check(tmp_path, f"--index-url {allowed[0]}/../../../13/pypi/simple\nflask==3.0.0\n", policy=policy)
    assert [(f["rule"], f["location"]["line"]) for f in findings(proc)] == [("source", 1)]


def test_guard_lock_with_wrong_types_is_a_clear_error(tmp_path):
    lock = tmp_path / "guard.lock"
    lock.write_text(f'version = 1\n[[repo]]\nid = "org/m"\ncommit = "{"a" * 40}"\nfiles = 1\n', encoding="utf-8")
    proc = run_guard("check", lock, cwd=tmp_path)
    no_traceback(proc)
    assert proc.returncode == 2 and f"{lock}:2:" in proc.stderr and "files" in proc.stderr, proc.stderr
    lock.write_bytes(b"\xef\xbb\xbf" + f'version = 1\n[[repo]]\nid = "org/m"\ncommit = "{"a" * 40}"\n'.encode())
    proc = run_guard("check", lock, "--format", "json", cwd=tmp_path)
    assert proc.returncode in (0, 1), proc.stderr  # a BOM is not an error


def test_ref_list_with_bom_is_still_a_ref_list(tmp_path):
    refs = tmp_path / "models.txt"
    refs.write_bytes(b"\xef\xbb\xbfhf:openai-community/gpt2@" + b"a" * 40 + b"\r\nhf:org/x@main\r\n")
    proc = run_guard("check", refs, "--format", "json", cwd=tmp_path)
    no_traceback(proc)
    got = findings(proc)
    assert [(f["rule"], f["location"]["line"]) for f in got] == [("unpinned", 2)], got


def test_an_unexpected_error_is_one_line_and_exit_2(tmp_path):
    import subprocess
    import sys

    # a command whose run() raises something guard did not plan for
    code = ("import sys, guardpolicy.cli.check as c\n"
            "def boom(args): raise KeyError('surprise')\n"
            "c.run = boom\n"
            "from guardpolicy.cli import main\n"
            "sys.exit(main(['check', 'x.txt']))\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, timeout=120)
    no_traceback(proc)
    assert proc.returncode == 2
    assert proc.stderr.startswith("guard: internal error: KeyError") and len(proc.stderr.strip().splitlines()) == 1
    env = {**__import__("os").environ, "GUARD_DEBUG": "1"}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, env=env, timeout=120)
    assert "Traceback" in proc.stderr


def test_backslash_in_a_marker_string_is_an_invalid_finding(tmp_path):
    proc = check(tmp_path, 'foo==1; os_name == "\\x"\nreqeusts==1.0\n')
    no_traceback(proc)
    got = [(f["rule"], f["location"]["line"]) for f in findings(proc)]
    assert ("invalid", 1) in got and ("typosquat", 2) in got
    assert "could not be read to the end" not in proc.stdout  # the line parser handled it, not the safety net


# ---------------------------------------------------------------- terminal safety


def test_text_report_does_not_pass_terminal_escapes_through(tmp_path):
    (tmp_path / "r.txt").write_text('foo; os_name == \x1b[2K\x1b[1AALLOW\nreq\x1b]0;x\x07uests==1\n', encoding="utf-8")
    proc = run_guard("check", "r.txt", cwd=tmp_path)
    assert proc.returncode == 1
    assert "\x1b" not in proc.stdout and "\x07" not in proc.stdout
    assert "\\x1b[2K" in proc.stdout


def test_text_report_keeps_injected_lines_indented(tmp_path):
    report = {"version": "1", "install": [{"metadata": {"name": "reqeusts\nALLOW: 0 checked", "version": "1.0"},
                                           "download_info": {"url": "https://files.pythonhosted.org/x.whl"}}]}
    (tmp_path / "report.json").write_text(json.dumps(report), encoding="utf-8")
    proc = run_guard("check", "report.json", cwd=tmp_path)
    no_traceback(proc)
    assert not any(line.startswith("ALLOW") for line in proc.stdout.splitlines()), proc.stdout


def test_printable():
    from guardpolicy.report.text import printable

    assert printable("plain\ttext") == "plain\ttext"
    assert printable("a\x1b[31mb\x7f\x9b") == "a\\x1b[31mb\\x7f\\x9b"
    assert printable("evil\u202etxt.exe") == "evil\\u202etxt.exe"
    assert printable("one\ntwo", indent="  ") == "one\n  two"


@pytest.mark.parametrize("name", ["reqeusts\nALLOW: 0 checked", "requests ", "-requests", "req uests", "requests\u200b"])
def test_lock_and_report_names_that_are_not_project_names_are_invalid(tmp_path, name):
    report = {"version": "1", "install": [{"metadata": {"name": name, "version": "1.0"},
                                           "download_info": {"url": "https://files.pythonhosted.org/x.whl"}}]}
    proc = check(tmp_path, json.dumps(report), name="report.json")
    assert proc.returncode == 1
    assert [f["rule"] for f in findings(proc)][0] == "invalid"  # a look-alike may add typosquat


# ---------------------------------------------------------------- hashes


def test_weak_hashes_do_not_satisfy_required_hashes(tmp_path):
    md5 = "a" * 32
    report = {"version": "1", "install": [
        {"metadata": {"name": "requests", "version": "2.32.3"},
         "download_info": {"url": "https://files.pythonhosted.org/r.whl", "archive_info": {"hashes": {"md5": md5}}}},
        {"metadata": {"name": "flask", "version": "3.0.0"},
         "download_info": {"url": "https://files.pythonhosted.org/f.whl", "archive_info": {"hashes": {"sha256": "b" * 64}}}},
    ]}
    proc = check(tmp_path, json.dumps(report), name="report.json", policy="strict")
    got = [(f["rule"], f["subject"]) for f in findings(proc) if f["rule"] == "unhashed"]
    assert got == [("unhashed", "requests==2.32.3")], proc.stdout
    proc = check(tmp_path, f"https://files.pythonhosted.org/p/requests-2.32.3-py3-none-any.whl#md5={md5}\n",
                 policy="strict")
    assert [f["rule"] for f in findings(proc)] == ["unhashed"] and "weak" in findings(proc)[0]["message"]


def test_binary_file_is_one_finding_not_a_flood(tmp_path):
    import random

    rnd = random.Random(7)
    blob = bytes(rnd.randrange(256) for _ in range(200_000)) + b"\x00"
    proc = check(tmp_path, blob, name="requirements.txt")
    no_traceback(proc)
    assert proc.returncode == 1
    got = findings(proc)
    assert len(got) <= 2 and any("binary data" in f["message"] for f in got)


def test_text_junk_stops_after_many_unreadable_lines(tmp_path):
    from guardpolicy.sources.requirements import MAX_INVALID_PER_FILE

    junk = "".join(f"{i} {i}\n" for i in range(5 * MAX_INVALID_PER_FILE))
    proc = check(tmp_path, junk + "reqeusts==1.0\n")
    got = findings(proc)
    assert proc.returncode == 1 and len(got) == MAX_INVALID_PER_FILE + 1
    assert "not read" in got[-1]["message"] and got[-1]["location"]["line"] == MAX_INVALID_PER_FILE


def test_non_utf8_pyproject_with_tool_guard_is_an_error_not_a_fallback(tmp_path):
    (tmp_path / "pyproject.toml").write_bytes(b'[project]\nname = "caf\xe9"\n[tool.guard]\nextends = ["strict"]\n')
    (tmp_path / "r.txt").write_text("flask==3.0.0\n", encoding="utf-8")
    env = {k: v for k, v in __import__("os").environ.items() if not k.startswith("GUARD_")}
    env["GUARD_CONFIG_DIR"] = str(tmp_path / "conf")
    proc = run_guard("check", "r.txt", cwd=tmp_path, env=env)
    assert proc.returncode == 2 and "pyproject.toml:2:" in proc.stderr, proc.stderr


@pytest.mark.parametrize("name,text", [
    ("pyproject.toml", '[project]\nname = "x"\ndependencies = ["foo bar", 3]\noptional-dependencies = {a = "b"}\n'
                       '[dependency-groups]\ndev = [{include-group = "nope"}]\n'),
    ("pylock.toml", 'lock-version = "2.0"\n[[packages]]\nversion = "1"\n'),
    ("uv.lock", 'version = 1\n[[package]]\nversion = "1"\n'),
    ("report.json", '{"version": "1", "install": [{"metadata": {}}]}'),
])
def test_every_invalid_finding_has_a_fix_hint(tmp_path, name, text):
    """docs/output.md: every finding comes with a fix hint (the text report prints 'fix:')."""
    proc = check(tmp_path, text, name=name)
    got = findings(proc)
    assert got and all(f["suggestion"] for f in got), got
