"""Model rules against the fake Hub with the real huggingface_hub client: unpinned, source,
hub-scan, remote-code, adapter (in-process engine and the real ``guard check`` CLI)."""

from __future__ import annotations

import json
import os

import huggingface_hub  # noqa: E402,F401  (a runtime dependency: a failed import fails)
import pytest

from guardpolicy.engine import CheckOptions, Engine
from guardpolicy.model import ModelRef
from guardpolicy.policy import load_policy

SHA = "0123456789abcdef0123456789abcdef01234567"
ONLINE, OFFLINE = CheckOptions(offline=False), CheckOptions(offline=True)


def policy_for(tmp_path, hub, extra=""):
    """A policy allowing the fake Hub's endpoint (plain http on loopback), plus ``extra`` TOML."""
    p = tmp_path / "guard.toml"
    p.write_text(f'extends = ["default"]\n[sources]\nhub_endpoints = ["{hub.url}/"]\nallow_http = true\n{extra}')
    return load_policy(str(p), env={})


def findings(policy, *refs, options=ONLINE):
    return Engine(policy, options).decide(refs).findings


def rules_of(found):
    return sorted(f.rule for f in found)


@pytest.fixture
def hub(fakehub):
    fakehub.add_repo("acme/tiny", {"config.json": b'{"model_type": "bert"}', "model.safetensors": b"w" * 64},
                     tags=("v1",), security={"scansDone": True, "filesWithIssues": []})
    return fakehub


# -- unpinned ------------------------------------------------------------------------------

@pytest.mark.parametrize("rev, pinned", [(None, False), ("main", False), ("v1", False), ("refs/pr/1", False),
                                         (SHA[:7], False), (SHA.upper(), False), (SHA, True)])
def test_unpinned_offline(rev, pinned, tmp_path, hub):
    policy = policy_for(tmp_path, hub)
    found = findings(policy, ModelRef("acme/tiny", revision=rev, endpoint=hub.url), options=OFFLINE)
    assert rules_of(found) == ([] if pinned else ["unpinned"])
    assert hub.requests == []  # offline: no request at all


def test_unpinned_online_suggests_current_commit(tmp_path, hub):
    sha = hub._repos[("model", "acme/tiny")].branches["main"]
    (f,) = [f for f in findings(policy_for(tmp_path, hub), ModelRef("acme/tiny", revision="v1", endpoint=hub.url))
            if f.rule == "unpinned"]
    assert f.suggestion == f"pin the commit: hf:acme/tiny@{sha}" and f.details["commit"] == sha


# -- source ----------------------------------------------------------------------------------

def test_source_endpoint_allowed_and_not(tmp_path, hub):
    policy = policy_for(tmp_path, hub)
    assert findings(policy, ModelRef("acme/tiny", revision=SHA, endpoint=hub.url + "/"), options=OFFLINE) == ()
    (f,) = findings(policy, ModelRef("acme/tiny", revision=SHA, endpoint="https://mirror.example"), options=OFFLINE)
    assert f.rule == "source" and "https://mirror.example" in f.message and f.action == "deny"


def test_source_default_policy_public_hub_aliases():
    policy = load_policy("default", env={})
    for ep in (None, "https://huggingface.co/", "https://hf.co", "HTTPS://HUGGINGFACE.CO:443"):
        assert findings(policy, ModelRef("acme/tiny", revision=SHA, endpoint=ep), options=OFFLINE) == (), ep
    (f,) = findings(policy, ModelRef("acme/tiny", revision=SHA, endpoint="http://huggingface.co"), options=OFFLINE)
    assert f.rule == "source" and "not an allowed source" in f.message


def test_source_plain_http_endpoint_needs_allow_http(tmp_path):
    p = tmp_path / "p.toml"
    p.write_text('extends = ["default"]\n[sources]\nhub_endpoints = ["http://hub.internal"]\n')
    (f,) = findings(load_policy(str(p), env={}), ModelRef("a/b", revision=SHA, endpoint="http://hub.internal/"),
                    options=OFFLINE)
    assert "plain http" in f.message


def test_source_uses_hf_endpoint_env(monkeypatch):
    policy = load_policy("default", env={})
    monkeypatch.setenv("HF_ENDPOINT", "https://evil.example/")
    (f,) = findings(policy, ModelRef("acme/tiny", revision=SHA), options=OFFLINE)
    assert f.rule == "source" and "https://evil.example (from HF_ENDPOINT)" in f.message
    monkeypatch.setenv("HF_ENDPOINT", "https://huggingface.co/")
    assert findings(policy, ModelRef("acme/tiny", revision=SHA), options=OFFLINE) == ()


@pytest.mark.parametrize("repo_id, ok", [("acme/tiny", True), ("ACME/tiny", True), ("acme-labs/x", True),
                                         ("other/tiny", False), ("gpt2", False), ("friend/special", True),
                                         ("friend/other", False)])
def test_source_orgs(repo_id, ok, tmp_path, hub):
    policy = policy_for(tmp_path, hub, '\nhub_orgs = ["acme", "acme-*", "friend/special"]\n')
    found = findings(policy, ModelRef(repo_id, revision=SHA, endpoint=hub.url), options=OFFLINE)
    assert rules_of(found) == ([] if ok else ["source"])


# -- hub-scan --------------------------------------------------------------------------------

def test_hub_scan_offline_makes_no_request(tmp_path, hub):
    hub.set_security("acme/tiny", {"scansDone": True, "filesWithIssues": [{"path": "model.safetensors", "level": "unsafe"}]})
    assert findings(policy_for(tmp_path, hub), ModelRef("acme/tiny", revision=SHA, endpoint=hub.url), options=OFFLINE) == ()
    assert hub.requests == []


def test_hub_scan_reports_files_with_issues(tmp_path, hub):
    hub.set_security("acme/tiny", {"scansDone": True, "filesWithIssues": [
        {"path": "model.safetensors", "level": "unsafe"}, {"path": "config.json", "level": "suspicious"}]})
    found = [f for f in findings(policy_for(tmp_path, hub), ModelRef("acme/tiny", revision="v1", endpoint=hub.url))
             if f.rule == "hub-scan"]
    assert sorted((f.details["path"], f.details["level"], f.action) for f in found) == [
        ("config.json", "suspicious", "deny"), ("model.safetensors", "unsafe", "deny")]
    assert any("securitystatus=true" in p.lower() for _, p in hub.requests)


def test_hub_scan_clean_is_silent_and_pending_is_warned(tmp_path, hub):
    policy = policy_for(tmp_path, hub)
    ref = ModelRef("acme/tiny", revision="v1", endpoint=hub.url)
    hub.set_security("acme/tiny", {"scansDone": True, "filesWithIssues": []})
    assert [f for f in findings(policy, ref) if f.rule == "hub-scan"] == []
    hub.set_security("acme/tiny", {"scansDone": False, "filesWithIssues": []})
    (f,) = [f for f in findings(policy, ref) if f.rule == "hub-scan"]
    assert f.action == "warn" and "not done" in f.message
    hub.set_security("acme/tiny", None)
    (f,) = [f for f in findings(policy, ref) if f.rule == "hub-scan"]
    assert f.action == "warn" and "no scan status" in f.message
    strict = policy_for(tmp_path, hub, '\n[rules.hub-scan]\npending = "deny"\n')
    assert [f.action for f in findings(strict, ref) if f.rule == "hub-scan"] == ["deny"]
    off = policy_for(tmp_path, hub, '\n[rules.hub-scan]\naction = "off"\n')
    hub.requests.clear()
    assert [f for f in findings(off, ModelRef("acme/tiny", revision=SHA, endpoint=hub.url)) if f.rule == "hub-scan"] == []


def test_hub_scan_unknown_repo_is_reported_not_crashing(tmp_path, hub):
    found = findings(policy_for(tmp_path, hub), ModelRef("acme/missing", revision=SHA, endpoint=hub.url))
    (f,) = [f for f in found if f.rule == "hub-scan"]
    assert "could not read" in f.message and "acme/missing" in f.message


# -- remote-code -----------------------------------------------------------------------------

def test_remote_code_py_files_and_auto_map(tmp_path, hub):
    cfg = {"auto_map": {"AutoModel": "modeling_x.XModel", "AutoConfig": ["cfg_x.XConfig", None],
                        "AutoTokenizer": "evil/repo--tok.T"}}
    hub.add_repo("acme/custom", {"config.json": json.dumps(cfg), "modeling_x.py": "import os\n",
                                 "sub/helper.py": "", "model.safetensors": b"w"})
    policy = policy_for(tmp_path, hub)
    ref = ModelRef("acme/custom", revision="main", endpoint=hub.url)
    (f,) = [f for f in findings(policy, ref) if f.rule == "remote-code"]
    assert f.details["python_files"] == ["modeling_x.py", "sub/helper.py"]
    assert f.details["auto_map"]["AutoModel"] == "modeling_x.XModel" and f.details["foreign_repos"] == ["evil/repo"]
    assert [f for f in findings(policy, ModelRef("acme/tiny", revision="v1", endpoint=hub.url))
            if f.rule == "remote-code"] == []
    # offline, the ref's own file list (e.g. from guard.lock) is enough for *.py files
    off = findings(policy, ModelRef("acme/custom", revision=SHA, endpoint=hub.url, files=("a.py", "b.json")), options=OFFLINE)
    assert [f.details["python_files"] for f in off if f.rule == "remote-code"] == [["a.py"]]


def test_remote_code_auto_map_only_and_local_dir(tmp_path, hub):
    d = tmp_path / "snap"
    d.mkdir()
    (d / "config.json").write_text(json.dumps({"auto_map": {"AutoModel": "other/code--m.M"}}))
    ref = ModelRef("acme/local", revision=SHA, endpoint=hub.url, extra={"local_dir": str(d)})
    (f,) = [f for f in findings(policy_for(tmp_path, hub), ref, options=OFFLINE) if f.rule == "remote-code"]
    assert f.details["python_files"] == [] and f.details["foreign_repos"] == ["other/code"]


def test_remote_code_ignores_spaces_and_bad_config(tmp_path, hub):
    hub.add_repo("acme/app", {"app.py": ""}, repo_type="space")
    hub.add_repo("acme/broken", {"config.json": b"{not json"})
    policy = policy_for(tmp_path, hub)
    found = findings(policy, ModelRef("acme/app", "space", SHA, hub.url), ModelRef("acme/broken", "model", "main", hub.url))
    assert [f for f in found if f.rule == "remote-code"] == []


# -- adapter ---------------------------------------------------------------------------------

def adapter_files(base, revision=None):
    cfg = {"peft_type": "LORA", "base_model_name_or_path": base, "r": 8}
    if revision:
        cfg["revision"] = revision
    return {"adapter_config.json": json.dumps(cfg), "adapter_model.safetensors": b"a" * 16}


def test_adapter_with_unpinned_base(tmp_path, hub):
    hub.add_repo("acme/lora", adapter_files("acme/tiny"))
    (f,) = [f for f in findings(policy_for(tmp_path, hub), ModelRef("acme/lora", revision="main", endpoint=hub.url))
            if f.rule == "adapter"]
    assert f.details["base_rule"] == "unpinned" and f.details["base_model"] == "hf:acme/tiny"
    assert f.action == "warn"  # unpinned is a warning in the default policy, so it stays one
    strict = policy_for(tmp_path, hub, '\n[rules.unpinned]\naction = "deny"\n')
    (f,) = [f for f in findings(strict, ModelRef("acme/lora", revision="main", endpoint=hub.url)) if f.rule == "adapter"]
    assert f.action == "deny"


def test_adapter_with_base_from_disallowed_org(tmp_path, hub):
    hub.add_repo("acme/lora2", adapter_files("stranger/base", revision=SHA))
    policy = policy_for(tmp_path, hub, '\nhub_orgs = ["acme"]\n')
    found = findings(policy, ModelRef("acme/lora2", revision="main", endpoint=hub.url))
    (f,) = [f for f in found if f.rule == "adapter" and f.details["base_rule"] == "source"]
    assert f.action == "deny" and "stranger" in f.message
    # the base repo does not exist on the Hub: the online checks of it could not be done (fail closed)
    assert {f.details["base_rule"] for f in found if f.rule == "adapter"} == {"source", "hub-scan", "remote-code"}
    assert f.subject == "hf:acme/lora2@main"


def test_adapter_with_good_base_and_local_base(tmp_path, hub):
    sha = hub._repos[("model", "acme/tiny")].branches["main"]
    hub.add_repo("acme/lora3", adapter_files("acme/tiny", revision=sha))
    hub.add_repo("acme/lora4", adapter_files("./local/base"))
    policy = policy_for(tmp_path, hub)
    found = findings(policy, ModelRef("acme/lora3", revision="main", endpoint=hub.url),
                     ModelRef("acme/lora4", revision="main", endpoint=hub.url))
    assert [f for f in found if f.rule == "adapter"] == []


def test_adapter_self_reference_is_bounded(tmp_path, hub):
    hub.add_repo("acme/loop", adapter_files("acme/loop", revision="main"))
    found = findings(policy_for(tmp_path, hub), ModelRef("acme/loop", revision="main", endpoint=hub.url))
    assert 0 < len([f for f in found if f.rule == "adapter"]) < 20


def test_adapter_waived_base_finding(tmp_path, hub):
    hub.add_repo("acme/lora5", adapter_files("acme/tiny"))
    policy = policy_for(tmp_path, hub, '\n[[waivers]]\nrule = "unpinned"\nsubject = "hf:acme/tiny"\nreason = "ok"\n')
    found = findings(policy, ModelRef("acme/lora5", revision="main", endpoint=hub.url))
    assert [f for f in found if f.rule == "adapter"] == []


# -- the real CLI ------------------------------------------------------------------------------

def cli_env(hub, tmp_path):
    env = dict(os.environ, HF_ENDPOINT=hub.url, HF_HOME=str(tmp_path / "hfhome"), HF_HUB_DISABLE_TELEMETRY="1")
    env.pop("GUARD_POLICY", None)
    return env


def test_cli_check_online_json(guard, tmp_path, hub):
    hub.set_security("acme/tiny", {"scansDone": True, "filesWithIssues": [{"path": "model.safetensors", "level": "unsafe"}]})
    policy = tmp_path / "p.toml"
    policy.write_text(f'extends = ["default"]\n[sources]\nhub_endpoints = ["{hub.url}"]\nallow_http = true\n')
    r = guard("check", "hf:acme/tiny@v1", "--online", "--policy", policy, "-f", "json", env=cli_env(hub, tmp_path))
    assert r.returncode == 1, r.stderr
    out = json.loads(r.stdout)
    assert {(f["rule"], f["action"]) for f in out["findings"]} == {("unpinned", "warn"), ("hub-scan", "deny")}
    # offline (no --online): no request, only the offline rule
    hub.requests.clear()
    r = guard("check", "hf:acme/tiny@v1", "--policy", policy, "-f", "json", env=cli_env(hub, tmp_path))
    assert r.returncode == 0 and hub.requests == []
    assert [f["rule"] for f in json.loads(r.stdout)["findings"]] == ["unpinned"]


def test_cli_check_ref_list_with_hub_url_and_default_policy(guard, tmp_path, hub):
    refs = tmp_path / "models.txt"
    refs.write_text(f"hf:acme/tiny@{SHA}\n{hub.url}/acme/tiny/tree/v1\n")
    r = guard("check", refs, "--policy", "default", env=cli_env(hub, tmp_path))
    assert r.returncode == 1  # the fake endpoint (from HF_ENDPOINT and the URL) is not allowed by default
    assert "line 1" in r.stdout and "line 2" in r.stdout and "[source]" in r.stdout


def test_online_rules_never_contact_a_disallowed_endpoint(tmp_path, hub):
    """A hostile URL / lock entry must not make guard send requests (or the HF token) to its host."""
    hub.add_repo("acme/lora9", adapter_files("acme/tiny"))
    policy = load_policy("default", env={})  # allows only https://huggingface.co
    found = findings(policy, ModelRef("acme/lora9", revision="main", endpoint=hub.url),
                     ModelRef("acme/tiny", revision="main", endpoint=hub.url))
    assert hub.requests == []
    assert {f.rule for f in found} == {"source", "unpinned"}


def test_online_fails_closed_when_the_hub_cannot_answer(guard, tmp_path, hub):
    """Issue 13: --online asked for the Hub's answers; unreachable (or a locked commit that is gone) is a denial."""
    policy = tmp_path / "p.toml"
    policy.write_text(f'extends = ["default"]\n[sources]\nhub_endpoints = ["{hub.url}"]\nallow_http = true\n')
    gone = "f" * 40
    r = guard("check", f"hf:acme/tiny@{gone}", "--online", "--policy", policy, "-f", "json", env=cli_env(hub, tmp_path))
    assert r.returncode == 1, r.stdout + r.stderr
    rules = {(f["rule"], f["action"]) for f in json.loads(r.stdout)["findings"]}
    assert ("hub-scan", "deny") in rules and ("remote-code", "deny") in rules
    # the whole Hub unreachable: the same
    dead = tmp_path / "dead.toml"
    dead.write_text('extends = ["default"]\n[sources]\nhub_endpoints = ["http://127.0.0.1:9"]\nallow_http = true\n')
    env = {**cli_env(hub, tmp_path), "HF_ENDPOINT": "http://127.0.0.1:9"}
    r = guard("check", f"hf:acme/tiny@{gone}", "--online", "--policy", dead, "-f", "json", env=env)
    assert r.returncode == 1 and "Traceback" not in r.stderr, r.stdout + r.stderr
    assert {f["rule"] for f in json.loads(r.stdout)["findings"] if f["action"] == "deny"} >= {"hub-scan", "remote-code"}
