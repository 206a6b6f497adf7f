"""``guard scan`` and ``guard check`` on model files and folders: exit codes, JSON shape, policy knobs."""

from __future__ import annotations

import json
import os
import pickle

import pickle_payloads as P
import pytest
from conftest import run_guard

EVIL = P.call_global("os", "system")
BENIGN = pickle.dumps({"w": [1.0, 2.0], "name": "x"}, protocol=4)


@pytest.fixture
def files(tmp_path):
    (tmp_path / "evil.safetensors").write_bytes(EVIL)
    (tmp_path / "ok.pkl").write_bytes(BENIGN)
    st_header = json.dumps({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}).encode()
    (tmp_path / "good.safetensors").write_bytes(len(st_header).to_bytes(8, "little") + st_header + b"\0" * 8)
    return tmp_path


def test_scan_exit_codes(files):
    ok = run_guard("scan", files / "ok.pkl", files / "good.safetensors", cwd=files)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    bad = run_guard("scan", files / "evil.safetensors", cwd=files)
    assert bad.returncode == 1
    assert "os.system" in bad.stdout and "[pickle]" in bad.stdout
    missing = run_guard("scan", files / "nope.bin", cwd=files)
    assert missing.returncode == 2 and "no such file" in missing.stderr and "Traceback" not in missing.stderr


def test_scan_json_shape(files):
    res = run_guard("scan", "--format", "json", files / "evil.safetensors", cwd=files)
    assert res.returncode == 1
    out = json.loads(res.stdout)
    assert out["decision"] == "deny"
    (finding,) = out["findings"]
    assert finding["rule"] == "pickle" and finding["action"] == "deny"
    assert finding["subject"] == str(files / "evil.safetensors")
    assert finding["details"]["globals"][0] == {"module": "os", "name": "system", "member": "", "offset": 2,
                                                "opcode": "GLOBAL", "dangerous": True,
                                                "why": "module os gives code execution, file or network access"}


def test_scan_folder(files):
    res = run_guard("scan", "-f", "json", files, cwd=files)
    assert res.returncode == 1
    subjects = {f["subject"] for f in json.loads(res.stdout)["findings"]}
    assert subjects == {str(files / "evil.safetensors")}


def test_strict_policy_refuses_pickle_formats_even_when_clean(files):
    res = run_guard("scan", "--policy", "strict", "-f", "json", files / "ok.pkl", files / "good.safetensors", cwd=files)
    assert res.returncode == 1
    findings = json.loads(res.stdout)["findings"]
    assert [(f["rule"], f["subject"]) for f in findings] == [("format", str(files / "ok.pkl"))]


def test_policy_allowed_globals_and_mode(files):
    custom = P.stack_global("mylib.models", "Net")
    (files / "custom.pkl").write_bytes(custom)
    assert run_guard("scan", files / "custom.pkl", cwd=files).returncode == 1
    (files / "guard.toml").write_text('[rules.pickle]\nallowed_globals = ["mylib.models.*"]\n')
    assert run_guard("scan", files / "custom.pkl", cwd=files).returncode == 0
    # a glob never allows an attribute walk
    (files / "walk.pkl").write_bytes(P.stack_global("mylib.models", "os.system"))
    assert run_guard("scan", files / "walk.pkl", cwd=files).returncode == 1
    res = run_guard("scan", "--mode", "warn", files / "evil.safetensors", cwd=files)
    assert res.returncode == 0 and "warn" in res.stdout


def test_waiver_applies_to_a_file_subject(files):
    (files / "guard.toml").write_text(
        '[[waivers]]\nrule = "pickle"\nsubject = "*evil.safetensors"\nreason = "test fixture"\nexpires = 2099-01-01\n')
    res = run_guard("scan", files / "evil.safetensors", cwd=files)
    assert res.returncode == 0 and "waived" in res.stdout


def test_bad_policy_is_exit_2(files):
    (files / "guard.toml").write_text("[rules.pickle]\nallowed_globals = 3\n")
    res = run_guard("scan", files / "ok.pkl", cwd=files)
    assert res.returncode == 2 and "allowed_globals" in res.stderr and "Traceback" not in res.stderr


def test_guard_check_takes_model_files_and_folders(files):
    res = run_guard("check", "-f", "json", files, cwd=files)
    assert res.returncode == 1, res.stderr
    out = json.loads(res.stdout)
    assert {f["subject"] for f in out["findings"]} == {str(files / "evil.safetensors")}
    res = run_guard("check", "-f", "json", files / "evil.safetensors", cwd=files)
    assert res.returncode == 1 and json.loads(res.stdout)["findings"][0]["rule"] == "pickle"
    # a pickle named .txt is a pickle, not a requirements file
    (files / "requirements-model.txt").write_bytes(EVIL)
    res = run_guard("check", "-f", "json", files / "requirements-model.txt", cwd=files)
    assert json.loads(res.stdout)["findings"][0]["rule"] == "pickle"


def test_guard_check_leaves_requirements_alone(tmp_path):
    from guardpolicy.scan.source import is_model_file

    for name, text in {"requirements.txt": "certifi==2024.2.2\nidna==3.7\nlxml\n", "pyproject.toml": "[project]\nname='x'\n",
                       "uv.lock": "version = 1\n", "report.json": '{"install": []}', "constraints.in": "cat\ndog\n"}.items():
        (tmp_path / name).write_text(text)
        assert not is_model_file(str(tmp_path / name)), name


def test_scan_path_api_accepts_a_policy(files):
    from guardpolicy import load_policy, scan_path

    policy = load_policy("strict", cwd=files, env={})
    rules = sorted(f.rule for f in scan_path(files / "ok.pkl", policy))
    assert rules == ["format"]
    assert scan_path(files / "ok.pkl") == []


def test_folder_walk_skips_special_files(tmp_path):
    import os

    from guardpolicy.scan.api import iter_files

    (tmp_path / "a.pkl").write_bytes(BENIGN)
    os.mkfifo(tmp_path / "pipe")
    os.symlink(tmp_path / "missing", tmp_path / "dangling")
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "x.pkl").write_bytes(EVIL)
    assert list(iter_files(str(tmp_path))) == [str(tmp_path / "a.pkl")]


def test_strict_policy_allows_code_free_formats(tmp_path):
    (tmp_path / "m.gguf").write_bytes(b"GGUF\x03\x00\x00\x00" + b"\0" * 64)
    (tmp_path / "m.onnx").write_bytes(b"\x08\x07\x12\x07pytorch" + b"\0" * 16)
    np = pytest.importorskip("numpy")
    np.save(tmp_path / "a.npy", np.arange(4))
    res = run_guard("scan", "--policy", "strict", tmp_path, cwd=tmp_path)
    assert res.returncode == 0, res.stdout


def test_format_allowlist_refuses_unrecognised_binary_but_not_text(tmp_path):
    """Under a format allowlist (strict), content nobody recognises is not an allowed format;
    text files (configs, READMEs) and empty files carry nothing a loader runs and pass."""
    import json
    import os

    from conftest import run_guard

    (tmp_path / "model.bin").write_bytes(os.urandom(4096).replace(b"\x80", b"\x81"))
    (tmp_path / "config.json").write_text('{"model_type": "bert"}')
    (tmp_path / "README.md").write_text("# a model card \u2713\n")
    (tmp_path / "empty.bin").write_bytes(b"")
    r = run_guard("scan", "--policy", "strict", "--format", "json", tmp_path)
    assert r.returncode == 1, r.stdout + r.stderr
    flagged = {os.path.basename(f["subject"]) for f in json.loads(r.stdout)["findings"]}
    assert flagged == {"model.bin"}
    r = run_guard("scan", "--format", "json", tmp_path)  # default: no format allowlist
    assert r.returncode == 0, r.stdout + r.stderr


def test_guard_check_folder_reads_model_files_and_dependency_files(tmp_path):
    # a project folder: its requirements and pyproject are checked as well as its checkpoints
    (tmp_path / "model.bin").write_bytes(EVIL)
    (tmp_path / "requirements.txt").write_text("reqeusts==2.31.0\n")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "requirements-dev.txt").write_text("certifi==2024.2.2\nnumpy\n")
    (tmp_path / "sub" / "pyproject.toml").write_text("[tool.black]\nline-length = 100\n")
    (tmp_path / "notes.txt").write_text("not a requirements file: just prose\n")
    res = run_guard("check", "-f", "json", tmp_path, cwd=tmp_path)
    assert res.returncode == 1, res.stderr
    findings = json.loads(res.stdout)["findings"]
    got = {(f["rule"], f["subject"]) for f in findings}
    assert ("pickle", str(tmp_path / "model.bin")) in got
    assert ("typosquat", "reqeusts") in {(f["rule"], f["subject"].split("==")[0]) for f in findings}
    assert any(f["rule"] == "unpinned" and f["subject"].startswith("numpy")
               and f["location"]["file"].endswith("requirements-dev.txt") for f in findings), findings
    # prose and a tool-only pyproject are not dependency files: no invalid findings from them
    assert not [f for f in findings if f["rule"] == "invalid"], findings
    # guard scan stays a model-file scan
    res = run_guard("scan", "-f", "json", tmp_path, cwd=tmp_path)
    assert {f["rule"] for f in json.loads(res.stdout)["findings"]} == {"pickle"}


def test_guard_check_folder_with_a_broken_dependency_file_reports_it_and_goes_on(tmp_path):
    (tmp_path / "pyproject.toml").write_text("[project\nname = 1\n")
    (tmp_path / "model.bin").write_bytes(EVIL)
    res = run_guard("check", "-f", "json", tmp_path, cwd=tmp_path)
    assert res.returncode == 1 and "Traceback" not in res.stderr, res.stderr
    findings = json.loads(res.stdout)["findings"]
    assert {f["rule"] for f in findings} == {"invalid", "pickle"}
    (bad,) = [f for f in findings if f["rule"] == "invalid"]
    assert bad["location"] == {"file": str(tmp_path / "pyproject.toml"), "line": 1}
    assert bad["message"].startswith("invalid TOML"), bad["message"]


@pytest.mark.parametrize("fmt", ["json", "sarif", "markdown", "cyclonedx", "text"])
def test_a_file_name_that_is_not_utf8_is_reported_in_every_format(tmp_path, fmt):
    import os

    folder = os.fsencode(tmp_path / "m")
    os.mkdir(folder)
    with open(os.path.join(folder, b"w\xff\xfe.pkl"), "wb") as fh:
        fh.write(EVIL)
    env = dict(os.environ, XDG_DATA_HOME=str(tmp_path / "xdg"), XDG_STATE_HOME=str(tmp_path / "xdg"))
    import subprocess
    import sys

    res = subprocess.run([sys.executable, "-m", "guardpolicy", "check", "-f", fmt, str(tmp_path / "m")],
                         cwd=tmp_path, env=env, capture_output=True, timeout=120)
    out, err = res.stdout.decode("utf-8"), res.stderr.decode("utf-8")  # valid UTF-8, whatever the names
    assert res.returncode == 1, out + err
    assert "Traceback" not in err and "observer failed" not in err, err
    # the undecodable bytes are shown escaped, the rest of the name as is
    assert "w\\xff\\xfe.pkl" in out.replace("\\\\", "\\"), out


def test_guard_check_folder_that_is_a_local_hub_repo_gets_adapter_and_remote_code_checks(tmp_path):
    ada = tmp_path / "my-lora"
    ada.mkdir()
    (ada / "adapter_config.json").write_text('{"base_model_name_or_path": "meta-Ilama/Llama-3.1-8B", "peft_type": "LORA"}')
    (ada / "adapter_model.safetensors").write_bytes(b"")
    code = tmp_path / "custom"
    code.mkdir()
    (code / "config.json").write_text('{"model_type": "x", "auto_map": {"AutoModel": "modeling_x.XModel"}}')
    (code / "modeling_x.py").write_text("import os\n")
    plain = tmp_path / "plain"
    plain.mkdir()
    (plain / "config.json").write_text('{"model_type": "bert"}')
    (plain / "train.py").write_text("print(1)\n")
    res = run_guard("check", "-f", "json", tmp_path, cwd=tmp_path)
    assert res.returncode == 1, res.stdout + res.stderr
    findings = json.loads(res.stdout)["findings"]
    got = {(f["rule"], f["subject"]) for f in findings}
    assert ("adapter", str(ada)) in got, findings
    (adapter,) = [f for f in findings if f["rule"] == "adapter" and f["details"]["base_rule"] == "typosquat"]
    assert "meta-llama" in adapter["message"]
    assert ("remote-code", str(code)) in got, findings
    # the folders are not Hub refs: no unpinned/source/typosquat about them; a plain model folder is no repo
    assert not [f for f in findings if f["rule"] in ("unpinned", "source", "typosquat")], findings
    assert not [f for f in findings if str(plain) in f["subject"]], findings
    # a folder target that is itself an adapter
    res = run_guard("check", "-f", "json", ada, cwd=tmp_path)
    assert {f["rule"] for f in json.loads(res.stdout)["findings"]} == {"adapter"}, res.stdout


def test_a_local_repo_folder_has_no_hub_purl_in_cyclonedx(tmp_path):
    (tmp_path / "adapter_config.json").write_text('{"base_model_name_or_path": "acme/base", "revision": "%s"}' % ("a" * 40))
    res = run_guard("check", "-f", "cyclonedx", tmp_path, cwd=tmp_path)
    bom = json.loads(res.stdout)
    (folder,) = [c for c in bom["components"] if c["type"] == "machine-learning-model"]
    assert folder["name"] == str(tmp_path) and "purl" not in folder, folder


def test_a_target_that_is_not_a_regular_file_is_an_error_not_a_clean_scan(tmp_path):
    import os

    from guardpolicy import scan_path

    os.mkfifo(tmp_path / "pipe")
    res = run_guard("scan", tmp_path / "pipe", cwd=tmp_path)
    assert res.returncode == 2 and "not a regular file" in res.stderr, res.stdout + res.stderr
    res = run_guard("scan", "/dev/zero", cwd=tmp_path)
    assert res.returncode == 2 and "not a regular file" in res.stderr, res.stdout + res.stderr
    # the API fails closed on it: a finding, never an empty (clean) list, and it never blocks on the pipe
    (finding,) = scan_path(tmp_path / "pipe")
    assert finding.rule == "pickle" and "not a regular file" in finding.message


def test_guard_check_folder_rechecks_its_guard_lock(tmp_path):
    (tmp_path / "guard.lock").write_text(
        'version = 1\n\n[[repo]]\nid = "meta-Ilama/Llama-3.1-8B"\nkind = "model"\n'
        f'commit = "{"a" * 40}"\n\n[[repo.files]]\npath = "config.json"\nsize = 2\nsha256 = "{"b" * 64}"\n')
    res = run_guard("check", "-f", "json", tmp_path, cwd=tmp_path)
    findings = json.loads(res.stdout)["findings"]
    assert [(f["rule"], f["location"]["file"]) for f in findings] == [("typosquat", str(tmp_path / "guard.lock"))], findings


def test_scan_path_api_accepts_bytes_and_pathlike_paths(tmp_path):
    import os

    from guardpolicy import scan_path

    name = os.path.join(os.fsencode(tmp_path), b"e\xff.pkl")
    with open(name, "wb") as fh:
        fh.write(EVIL)
    for p in (name, os.fsencode(tmp_path), tmp_path):
        (finding,) = scan_path(p)
        assert finding.rule == "pickle" and finding.subject == str(tmp_path) + "/e\\xff.pkl", finding


def test_folder_walk_follows_symlinked_folders_once(tmp_path):
    import os

    from guardpolicy.scan.api import iter_files

    (tmp_path / "real").mkdir()
    (tmp_path / "real" / "model.bin").write_bytes(EVIL)
    top = tmp_path / "top"
    top.mkdir()
    os.symlink("../real", top / "latest")  # ckpt/latest -> step-1000: a loader reads through it
    os.symlink(".", top / "self")  # loops end
    os.symlink("latest", top / "again")  # the same folder under a second name is walked once
    assert list(iter_files(str(top))) == [str(top / "again" / "model.bin")]
    res = run_guard("scan", "-f", "json", top, cwd=tmp_path)
    assert res.returncode == 1, res.stdout + res.stderr
    assert [f["subject"] for f in json.loads(res.stdout)["findings"]] == [str(top / "again" / "model.bin")]


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files and folders whatever their mode")
def test_unreadable_files_and_folders_are_findings_not_skipped(tmp_path):
    import os

    from guardpolicy import scan_path

    (tmp_path / "locked.bin").write_bytes(EVIL)
    (tmp_path / "closed").mkdir()
    (tmp_path / "closed" / "model.bin").write_bytes(EVIL)
    os.chmod(tmp_path / "locked.bin", 0)
    os.chmod(tmp_path / "closed", 0)
    try:
        found = {(f.subject, f.message.split(":")[0]) for f in scan_path(tmp_path)}
    finally:
        os.chmod(tmp_path / "closed", 0o755)
        os.chmod(tmp_path / "locked.bin", 0o644)
    assert found == {(str(tmp_path / "locked.bin"), "cannot read"), (str(tmp_path / "closed"), "cannot read")}, found
