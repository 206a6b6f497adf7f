"""``--format cyclonedx``: CycloneDX 1.6 BOMs validated with cyclonedx-python-lib's strict JSON validator."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from conftest import run_guard
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator

from guardpolicy.model import Decision, FileRef, Finding, IndexRef, Location, ModelRef, PackageRef
from guardpolicy.report.cyclonedx import CycloneDxFormat, cdx_hash, hf_purl, pypi_purl

OSV = Path(__file__).parent / "data" / "osv"
SHA_A = "03e47ad063331dd6a3f04a43eddca8a966a26ba0c5b7207a9a9e4e08f1b29419"
COMMIT = "0123456789abcdef0123456789abcdef01234567"
BASE_COMMIT = "fedcba9876543210fedcba9876543210fedcba98"


def validate(text: str) -> None:
    error = JsonStrictValidator(SchemaVersion.V1_6).validate_str(text)
    assert error is None, str(error)[:2000]


def props(component: dict, name: str) -> list[str]:
    return [p["value"] for p in component.get("properties", ()) if p["name"] == name]


def has_plugin() -> bool:
    """The first-party plugin is installed by README's test command: missing, the test fails."""
    import guardpolicy_pip_audit  # noqa: F401

    return True


def env_for(tmp_path: Path) -> dict:
    env = dict(os.environ)
    env.pop("GUARD_POLICY", None)
    env.update(XDG_STATE_HOME=str(tmp_path / "state"), XDG_CONFIG_HOME=str(tmp_path / "config"))
    return env


def test_real_cli_bom_of_a_requirements_file(tmp_path):
    (tmp_path / "requirements.txt").write_text(
        f"jinja2==2.11.3 --hash=sha256:{SHA_A}\nrequests==2.32.3\nflask>=2\n--index-url https://pypi.org/simple\n")
    if has_plugin():
        (tmp_path / "guard.toml").write_text(f'[rules.vulnerability]\ndatabase = "{OSV}"\n')
    proc = run_guard("check", "requirements.txt", "-f", "cyclonedx", cwd=tmp_path, env=env_for(tmp_path))
    assert proc.returncode in (0, 1), proc.stderr
    validate(proc.stdout)
    bom = json.loads(proc.stdout)
    assert bom["specVersion"] == "1.6" and bom["bomFormat"] == "CycloneDX"
    by_name = {c["name"]: c for c in bom["components"]}
    assert set(by_name) == {"jinja2", "requests", "flask"}
    jinja = by_name["jinja2"]
    assert jinja["type"] == "library" and jinja["purl"] == "pkg:pypi/jinja2@2.11.3" and jinja["version"] == "2.11.3"
    assert jinja["hashes"] == [{"alg": "SHA-256", "content": SHA_A}]
    assert by_name["flask"]["purl"] == "pkg:pypi/flask" and "version" not in by_name["flask"]
    assert props(by_name["flask"], "guard:decision") == ["warn"]
    assert props(by_name["flask"], "guard:specifier") == [">=2"]
    assert props(by_name["requests"], "guard:decision") == ["allow"]
    assert props(by_name["requests"], "guard:location") == ["requirements.txt:2"]
    meta = {p["name"]: p["value"] for p in bom["metadata"]["properties"]}
    assert meta["guard:mode"] == "enforce" and meta["guard:target"] == "requirements.txt"
    assert "index-url https://pypi.org/simple" in props(bom["metadata"], "guard:index")
    assert {d["ref"] for d in bom["dependencies"]} == {c["bom-ref"] for c in bom["components"]}
    if has_plugin():
        assert proc.returncode == 1 and props(jinja, "guard:decision") == ["deny"]
        vulns = {v["id"]: v for v in bom["vulnerabilities"]}
        h5c8 = vulns["GHSA-h5c8-rqwp-cp95"]
        assert h5c8["affects"] == [{"ref": jinja["bom-ref"]}]
        assert h5c8["ratings"][0] == {"severity": "medium", "score": 5.4, "method": "CVSSv31",
                                      "vector": "CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:U/C:L/I:L/A:N"}
        assert h5c8["recommendation"] == "upgrade to jinja2==3.1.3"


def ml_decision() -> Decision:
    model = ModelRef("acme/base-7b", revision="main",
                     extra={"sha": COMMIT, "pipeline_tag": "text-generation", "library_name": "transformers",
                            "datasets": ["acme/corpus"],
                            "files": {"model.safetensors": "sha256:" + SHA_A, "config.json": None}},
                     location=Location("models.lock", 3))
    adapter = ModelRef("acme/base-7b-lora", revision=BASE_COMMIT, extra={"base_model": "acme/base-7b"})
    orphan = ModelRef("bob/tiny-lora", revision=COMMIT, extra={"base_model": ["meta/llama@" + BASE_COMMIT]})
    dataset = ModelRef("acme/corpus", repo_type="dataset", revision=COMMIT)
    space = ModelRef("acme/demo", repo_type="space")
    weights = FileRef("pytorch_model.bin", model=adapter, extra={"sha256": SHA_A})
    loose = FileRef("/tmp/x/evil.pkl", extra={"sha256": "not-hex!"})
    pkg = PackageRef("torch", specifier="==2.13.0", hashes=("sha512:" + "ab" * 64, "md9:zz"))
    index = IndexRef("https://pypi.org/simple")
    findings = (Finding("unsafe-format", "pytorch_model.bin", "pickle checkpoint", action="deny"),
                Finding("unpinned", adapter.subject, "revision ok", action="warn"))
    waived = (Finding("unpinned", space.subject, "no revision", action="warn", waived_by="W-1"),)
    return Decision("deny", findings, waived, (model, adapter, orphan, dataset, space, weights, loose, pkg, index))


def test_ml_bom_models_datasets_adapters_files_validate():
    fmt = CycloneDxFormat(targets=("hf:acme/base-7b",))
    text = fmt.format(ml_decision())
    validate(text)
    bom = json.loads(text)
    comps = {c["name"]: c for c in bom["components"]}
    base = comps["acme/base-7b"]
    assert base["type"] == "machine-learning-model" and base["version"] == COMMIT and base["group"] == "acme"
    assert base["purl"] == f"pkg:huggingface/acme/base-7b@{COMMIT}"
    card = base["modelCard"]
    assert card["modelParameters"]["task"] == "text-generation"
    assert card["modelParameters"]["datasets"] == [{"type": "dataset", "name": "acme/corpus"}]
    assert {"name": "guard:revision", "value": COMMIT} in card["properties"]
    files = {f["name"]: f for f in base["components"]}
    assert files["model.safetensors"]["hashes"] == [{"alg": "SHA-256", "content": SHA_A}]
    assert "hashes" not in files["config.json"]
    assert props(base, "guard:requested-revision") == ["main"]

    adapter = comps["acme/base-7b-lora"]
    assert {f["name"] for f in adapter["components"]} == {"pytorch_model.bin"}
    deps = {d["ref"]: d.get("dependsOn", []) for d in bom["dependencies"]}
    assert deps[adapter["bom-ref"]] == [base["bom-ref"]]
    assert props(adapter, "guard:decision") == ["warn"]

    orphan = comps["bob/tiny-lora"]
    llama = comps["meta/llama"]
    assert deps[orphan["bom-ref"]] == [llama["bom-ref"]]
    assert llama["version"] == BASE_COMMIT and props(llama, "guard:decision") == ["not-checked"]

    data = comps["acme/corpus"]
    assert data["type"] == "data" and data["data"] == [{"type": "dataset", "name": "acme/corpus"}]
    space = comps["acme/demo"]
    assert space["type"] == "application" and props(space, "guard:decision") == ["allow"]
    assert props(space, "guard:waived") and "W-1" in props(space, "guard:waived")[0]

    weights = [c for c in bom["components"] if c["name"] == "pytorch_model.bin"][0]
    assert weights["type"] == "file" and props(weights, "guard:decision") == ["deny"]
    assert "hashes" not in comps["/tmp/x/evil.pkl"]
    torch = comps["torch"]
    assert torch["purl"] == "pkg:pypi/torch@2.13.0"
    assert torch["hashes"] == [{"alg": "SHA-512", "content": "ab" * 64}]
    refs = [c["bom-ref"] for c in bom["components"]]
    assert len(refs) == len(set(refs))


def test_locked_models_and_adapter_rule_findings():
    locked = ModelRef("acme/chat", revision=COMMIT, files=("model.safetensors", "tokenizer.json"),
                      extra={"locked": True, "requested_revision": "v1.0",
                             "sha256": {"model.safetensors": SHA_A, "tokenizer.json": None}})
    lora = ModelRef("acme/chat-lora", revision=BASE_COMMIT)
    finding = Finding("adapter", lora.subject, f"base model hf:acme/chat@{COMMIT}: unpinned: ...", action="deny",
                      details={"base_model": f"hf:acme/chat@{COMMIT}", "base_rule": "unpinned"})
    text = CycloneDxFormat().format(Decision("deny", (finding,), checked=(locked, lora)))
    validate(text)
    bom = json.loads(text)
    comps = {c["name"]: c for c in bom["components"]}
    chat = comps["acme/chat"]
    assert props(chat, "guard:requested-revision") == ["v1.0"]
    files = {f["name"]: f for f in chat["components"]}
    assert files["model.safetensors"]["hashes"] == [{"alg": "SHA-256", "content": SHA_A}] and "hashes" not in files["tokenizer.json"]
    deps = {d["ref"]: d.get("dependsOn", []) for d in bom["dependencies"]}
    assert deps[comps["acme/chat-lora"]["bom-ref"]] == [chat["bom-ref"]]
    assert len(bom["components"]) == 2, "the base was checked: no extra component"


def test_validator_is_not_a_no_op():
    bom = json.loads(CycloneDxFormat().format(ml_decision()))
    bom["components"][0]["type"] = "model"
    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(json.dumps(bom)) is not None


def test_empty_decision_is_a_valid_bom():
    validate(CycloneDxFormat().format(Decision("allow")))


@pytest.mark.parametrize("name, version, purl", [
    ("Jinja2", "2.11.3", "pkg:pypi/jinja2@2.11.3"),
    ("typing_extensions", None, "pkg:pypi/typing-extensions"),
    ("zope.interface", "6.0", "pkg:pypi/zope.interface@6.0"),
    ("torch", "2.13.0+cpu", "pkg:pypi/torch@2.13.0%2Bcpu"),
])
def test_pypi_purl(name, version, purl):
    assert pypi_purl(name, version) == purl


def test_hf_purl():
    assert hf_purl("acme/Model", "ABC") == "pkg:huggingface/acme/Model@abc"
    assert hf_purl("gpt2", None) == "pkg:huggingface/gpt2"


@pytest.mark.parametrize("text, expected", [
    ("sha256:" + SHA_A, {"alg": "SHA-256", "content": SHA_A}),
    (SHA_A.upper(), {"alg": "SHA-256", "content": SHA_A}),
    ("md5=" + "0" * 32, {"alg": "MD5", "content": "0" * 32}),
    ("sha999:abcd", None),
    ("sha256:xyz", None),
    ("sha256:", None),
    ("sha256:deadbeef", None),          # a typo'd URL fragment: not a SHA-256 (and the schema rejects it)
    ("sha1:" + SHA_A, None),
])
def test_cdx_hash(text, expected):
    assert cdx_hash(text) == expected


def test_real_cli_bom_of_every_requirement_form_validates(tmp_path):
    """Direct URLs (with a typo'd hash fragment), VCS, local paths, editables, extras, markers, local versions."""
    (tmp_path / "requirements.txt").write_text(
        f"jinja2==2.11.3 --hash=sha256:{SHA_A}\n"
        'requests[security,socks]==2.32.3 ; python_version >= "3.8"\n'
        "mypkg @ https://example.com/mypkg-1.0-py3-none-any.whl#sha256=deadbeef\n"
        "git+https://github.com/org/repo@v1.0#egg=repo\n"
        "./local/path\n-e ./editable\nWeird.Name_pkg===1.0+local\ntorch==2.1.0+cu121\n")
    proc = run_guard("check", "requirements.txt", "-f", "cyclonedx", cwd=tmp_path, env=env_for(tmp_path))
    assert proc.returncode in (0, 1), proc.stderr
    validate(proc.stdout)
    by_name = {c["name"]: c for c in json.loads(proc.stdout)["components"]}
    assert "hashes" not in by_name["mypkg"]
    assert by_name["torch"]["purl"] == "pkg:pypi/torch@2.1.0%2Bcu121"
