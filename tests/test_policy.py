"""The policy language: discovery, layering, modes, actions, waivers, lists, errors, key lines."""

from __future__ import annotations

import datetime as dt
import json
import textwrap
from pathlib import Path

import pluggy
import pytest
from conftest import ROOT, run_guard

from guardpolicy.engine import CheckOptions, Engine
from guardpolicy.errors import PolicyError
from guardpolicy.hookspecs import hookimpl
from guardpolicy.model import Finding, PackageRef
from guardpolicy.policy import discover_policy_ref, load_policy, shipped_policy_names
from guardpolicy.policy.loader import shipped_dir
from guardpolicy.policy.positions import key_line
from guardpolicy.rules import Option, RuleInfo

TODAY = dt.date(2026, 6, 1)


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def clean_env(tmp_path: Path, **extra) -> dict:
    """An environment with no policy configured anywhere (config dir isolated)."""
    env = {"GUARD_CONFIG_DIR": str(tmp_path / "userconf"), "GUARD_CACHE_DIR": str(tmp_path / "cache")}
    env.update(extra)
    return env


def load(path, tmp_path, **env):
    return load_policy(str(path), cwd=tmp_path, env=clean_env(tmp_path, **env))


def decide(policy, *subjects, today=TODAY):
    return Engine(policy, CheckOptions()).decide(list(subjects), today=today)


def cli_env(tmp_path, **extra):
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith("GUARD_")}
    env.update(clean_env(tmp_path, **extra))
    return env


# ---------------------------------------------------------------- shipped policies

SHIPPED = sorted(p.relative_to(shipped_dir()) for p in shipped_dir().rglob("*.toml"))


def test_shipped_names():
    assert {"default", "strict", "research"} <= set(shipped_policy_names())
    assert "bundle" not in shipped_policy_names()  # examples are not names


@pytest.mark.parametrize("rel", SHIPPED, ids=str)
def test_every_shipped_policy_loads(rel, tmp_path):
    policy = load(shipped_dir() / rel, tmp_path)
    assert policy.mode == "enforce"
    assert Path(policy.layers[0].path).name == "default.toml"


def test_strict_is_production_grade(tmp_path):
    p = load_policy("strict", env=clean_env(tmp_path))
    assert p.rule("unpinned").action == "deny"
    assert p.rule("unhashed").get("require_hashes") is True
    assert p.sources["allow_local"] is False
    assert set(p.section("hub")["allowed_formats"]) == {"safetensors", "gguf", "onnx", "numpy"}
    assert p.data["allow_mode_override"] is False


def test_research_warns_but_still_denies_attacks(tmp_path):
    p = load_policy("research", env=clean_env(tmp_path))
    assert p.rule("source").action == "warn" and p.rule("unpinned").action == "warn"
    assert p.rule("typosquat").action == "deny" and p.rule("denylist").action == "deny"


def test_acme_project_override_example(tmp_path):
    p = load(shipped_dir() / "examples/acme/project/guard.toml", tmp_path)
    assert [l.name.rsplit("/", 1)[-1] for l in p.layers] == ["default", "strict", "bundle.toml", "guard.toml"]
    assert p.sources["indexes"] == ["https://pypi.acme.example/simple"]
    assert "acme-*" in p.sources["protected"]
    assert len(p.waivers) == 1 and p.waivers[0].rule == "typosquat"


def test_example_bundle_locks_malicious_with_typosquat(tmp_path):
    # known-malicious names are their own rule: a project under the bundle may not turn it off
    bundle = shipped_dir() / "examples/acme/bundle.toml"
    write(tmp_path, "guard.toml", f'extends = ["{bundle.as_posix()}"]\n[rules.malicious]\naction = "warn"\n')
    with pytest.raises(PolicyError, match="locks 'malicious'"):
        load(tmp_path / "guard.toml", tmp_path)


# ---------------------------------------------------------------- discovery


def test_discovery_env_var_wins(tmp_path):
    write(tmp_path, "guard.toml", 'mode = "warn"\n')
    ref, how = discover_policy_ref(tmp_path, clean_env(tmp_path, GUARD_POLICY="strict"))
    assert (ref, how) == ("strict", "GUARD_POLICY environment variable")


def test_discovery_guard_toml_upward(tmp_path):
    write(tmp_path, "guard.toml", 'mode = "warn"\n')
    deep = tmp_path / "a" / "b"
    deep.mkdir(parents=True)
    ref, how = discover_policy_ref(deep, clean_env(tmp_path))
    assert ref == str(tmp_path / "guard.toml") and "upward" in how
    assert load_policy(cwd=deep, env=clean_env(tmp_path)).mode == "warn"


def test_discovery_pyproject_tool_guard_and_nearest_wins(tmp_path):
    write(tmp_path, "guard.toml", 'mode = "off"\n')
    write(tmp_path, "proj/pyproject.toml", '[project]\nname = "x"\n\n[tool.guard]\nmode = "warn"\n')
    write(tmp_path, "proj/sub/pyproject.toml", '[project]\nname = "y"\n')  # no [tool.guard]: skipped
    ref, _ = discover_policy_ref(tmp_path / "proj" / "sub", clean_env(tmp_path))
    assert ref == str(tmp_path / "proj" / "pyproject.toml")
    assert load_policy(cwd=tmp_path / "proj" / "sub", env=clean_env(tmp_path)).mode == "warn"


def test_discovery_dotted_tool_guard_in_pyproject(tmp_path):
    write(tmp_path, "pyproject.toml", '[tool]\nguard.mode = "warn"\n')
    assert discover_policy_ref(tmp_path, clean_env(tmp_path))[0] == str(tmp_path / "pyproject.toml")


def test_discovery_guard_toml_beats_pyproject_in_same_folder(tmp_path):
    write(tmp_path, "guard.toml", 'mode = "off"\n')
    write(tmp_path, "pyproject.toml", '[tool.guard]\nmode = "warn"\n')
    assert discover_policy_ref(tmp_path, clean_env(tmp_path))[0] == str(tmp_path / "guard.toml")


def test_discovery_user_config_dir_then_default(tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    assert discover_policy_ref(work, clean_env(tmp_path)) == ("default", "shipped default (no policy configured)")
    write(tmp_path, "userconf/guard.toml", 'mode = "warn"\n')
    ref, how = discover_policy_ref(work, clean_env(tmp_path))
    assert ref == str(tmp_path / "userconf" / "guard.toml") and how == "user config directory"


def test_cli_policy_strict_and_path(tmp_path):
    env = cli_env(tmp_path)
    assert run_guard("check", "pypi:requests==2.0", cwd=tmp_path, env=env).returncode == 0
    r = run_guard("check", "--policy", "strict", "pypi:requests==2.0", cwd=tmp_path, env=env)
    assert r.returncode == 1 and "unhashed" in r.stdout
    write(tmp_path, "p/mine.toml", 'extends = ["strict"]\n[rules.unhashed]\naction = "warn"\n')
    r = run_guard("check", "--policy", "p/mine.toml", "pypi:requests==2.0", cwd=tmp_path, env=env)
    assert r.returncode == 0 and "unhashed" in r.stdout


def test_cli_discovers_guard_toml_in_cwd(tmp_path):
    write(tmp_path, "guard.toml", 'extends = ["strict"]\n')
    r = run_guard("check", "pypi:requests==2.0", cwd=tmp_path, env=cli_env(tmp_path))
    assert r.returncode == 1


# ---------------------------------------------------------------- layering


def test_extends_key_by_key_and_accumulating_lists(tmp_path):
    write(tmp_path, "org/base.toml", """
        extends = ["strict"]
        deny = ["evilpkg"]
        allow = ["acme-core"]
        [sources]
        indexes = ["https://pypi.acme.example/simple"]
        protected = ["acme-*"]
        [rules.unpinned]
        action = "warn"
    """)
    top = write(tmp_path, "proj/guard.toml", """
        extends = ["../org/base.toml"]
        deny = ["urllib3<1.26.5", "evilpkg"]
        [sources]
        protected = ["internal-*"]
        indexes = ["https://mirror.acme.example/simple"]
        [rules.unhashed]
        action = "warn"
    """)
    p = load(top, tmp_path)
    assert [Path(l.name).name for l in p.layers] == ["default", "strict", "base.toml", "guard.toml"]
    assert p.deny == ("evilpkg", "urllib3<1.26.5")                # union, no duplicates
    assert p.sources["protected"] == ["acme-*", "internal-*"]     # accumulates
    assert p.sources["indexes"] == ["https://mirror.acme.example/simple"]  # replaced
    assert p.sources["hub_endpoints"] == ["https://huggingface.co"]        # untouched keys stay
    assert p.rule("unhashed").action == "warn"                     # overridden action...
    assert p.rule("unhashed").get("require_hashes") is True        # ...sibling option kept from strict
    assert p.rule("unpinned").action == "warn"
    assert p.provenance["rules.unhashed.require_hashes"] == "strict"
    assert p.provenance["sources.protected"].endswith("base.toml + " + str(top))
    assert p.provenance["deny"] == f"{tmp_path}/org/base.toml + {top}"


def test_no_extends_means_default_but_empty_extends_means_none(tmp_path):
    a = write(tmp_path, "a.toml", 'mode = "warn"\n')
    b = write(tmp_path, "b.toml", 'extends = []\nmode = "warn"\n')
    assert [l.name for l in load(a, tmp_path).layers] == ["default", str(a)]
    pb = load(b, tmp_path)
    assert [l.name for l in pb.layers] == [str(b)]
    from guardpolicy.plugins import rule_infos

    for rid, info in rule_infos().items():  # each rule's own default action applies
        assert pb.rule(rid).action == info.default_action
    assert pb.sources == {}


def test_diamond_extends_loads_each_file_once(tmp_path):
    write(tmp_path, "b.toml", 'extends = ["strict"]\n')
    write(tmp_path, "c.toml", 'extends = ["default"]\n[rules.source]\naction = "warn"\n')
    a = write(tmp_path, "a.toml", 'extends = ["b.toml", "c.toml"]\n')
    names = [Path(l.name).name for l in load(a, tmp_path).layers]
    assert names == ["default", "strict", "b.toml", "c.toml", "a.toml"]


def test_extends_cycle(tmp_path):
    write(tmp_path, "a.toml", 'extends = ["b.toml"]\n')
    write(tmp_path, "b.toml", '# b\nmode = "warn"\nextends = ["strict", "a.toml"]\n')
    with pytest.raises(PolicyError) as exc:
        load(tmp_path / "a.toml", tmp_path)
    e = exc.value
    assert "extends cycle" in e.message and e.file == str(tmp_path / "b.toml") and e.line == 3
    assert str(tmp_path / "a.toml") in e.message


def test_self_extends_is_a_cycle(tmp_path):
    a = write(tmp_path, "a.toml", 'extends = ["a.toml"]\n')
    with pytest.raises(PolicyError, match="extends cycle"):
        load(a, tmp_path)


def test_unknown_shipped_name(tmp_path):
    a = write(tmp_path, "a.toml", '# typo\nextends = ["strcit"]\n')
    with pytest.raises(PolicyError) as exc:
        load(a, tmp_path)
    assert "no shipped policy named 'strcit'" in exc.value.message and exc.value.line == 2


def test_missing_relative_extends(tmp_path):
    a = write(tmp_path, "a.toml", 'extends = ["default", "../nope/base.toml"]\n')
    with pytest.raises(PolicyError) as exc:
        load(a, tmp_path)
    assert "not found" in exc.value.message and exc.value.file == str(a) and exc.value.line == 1


# ---------------------------------------------------------------- mode and actions


def test_modes(tmp_path):
    base = 'extends = ["default"]\n[rules.unpinned]\naction = "deny"\n'
    numpy = PackageRef("numpy")
    for mode, verdict, n in (("enforce", "deny", 1), ("warn", "warn", 1), ("off", "allow", 0)):
        p = load(write(tmp_path, f"{mode}.toml", f'mode = "{mode}"\n' + base), tmp_path)
        d = decide(p, numpy)
        assert (d.decision, len(d.findings), d.mode) == (verdict, n, mode)


def test_guard_mode_override(tmp_path):
    f = write(tmp_path, "p.toml", '[rules.unpinned]\naction = "deny"\n')
    p = load(f, tmp_path, GUARD_MODE="warn")
    assert p.mode == "warn" and p.mode_source == "GUARD_MODE environment variable"
    assert decide(p, PackageRef("numpy")).decision == "warn"
    with pytest.raises(PolicyError, match="GUARD_MODE must be one of"):
        load(f, tmp_path, GUARD_MODE="audit")


def test_allow_mode_override_false_blocks_loosening_only(tmp_path):
    f = write(tmp_path, "p.toml", 'mode = "warn"\nallow_mode_override = false\n')
    p = load(f, tmp_path, GUARD_MODE="off")
    assert p.mode == "warn" and "ignored" in p.mode_source
    assert load(f, tmp_path, GUARD_MODE="enforce").mode == "enforce"  # tightening is fine
    assert load_policy("strict", env=clean_env(tmp_path, GUARD_MODE="off")).mode == "enforce"


def test_cli_mode_flag_respects_allow_mode_override(tmp_path):
    env = cli_env(tmp_path)
    r = run_guard("check", "--policy", "strict", "--mode", "warn", "pypi:requests==2.0", cwd=tmp_path, env=env)
    assert r.returncode == 1
    f = write(tmp_path, "p.toml", '[rules.unpinned]\naction = "deny"\n')
    assert run_guard("check", "--policy", f, "pypi:requests", cwd=tmp_path, env=env).returncode == 1
    r = run_guard("check", "--policy", f, "--mode", "off", "pypi:requests", cwd=tmp_path, env=env)
    assert r.returncode == 0


@pytest.mark.parametrize("action,verdict,counted", [("deny", "deny", 1), ("warn", "warn", 1), ("off", "allow", 0)])
def test_rule_actions(tmp_path, action, verdict, counted):
    p = load(write(tmp_path, "p.toml", f'[rules.unpinned]\naction = "{action}"\n'), tmp_path)
    d = decide(p, PackageRef("numpy"))
    assert d.decision == verdict and len(d.findings) == counted
    if counted:
        assert d.findings[0].action == action


def test_rule_may_grade_down_but_never_up(tmp_path):
    p = load(write(tmp_path, "p.toml", '[rules.unpinned]\naction = "warn"\n'), tmp_path)
    up = Finding(rule="unpinned", subject="x", message="m", action="deny")
    down = Finding(rule="invalid", subject="y", message="m", action="warn")
    d = decide(p, up, down)
    assert [f.action for f in d.findings] == ["warn", "warn"]


# ---------------------------------------------------------------- waivers

WAIVED = """
[rules.unpinned]
action = "deny"
"""


def test_waiver_applies_by_rule_and_glob(tmp_path):
    p = load(write(tmp_path, "p.toml", WAIVED + """
        [[waivers]]
        rule = "unpinned"
        subject = "num*"
        reason = "tracked in SEC-12"
        expires = 2027-01-31
    """), tmp_path)
    d = decide(p, PackageRef("numpy"), PackageRef("pandas"))
    assert d.decision == "deny"
    assert [f.subject for f in d.findings] == ["pandas"]
    assert [f.subject for f in d.waived] == ["numpy"]
    assert "p.toml:4" in d.waived[0].waived_by


def test_waiver_for_other_rule_does_not_apply(tmp_path):
    p = load(write(tmp_path, "p.toml", WAIVED + '[[waivers]]\nrule = "typosquat"\nsubject = "numpy"\nreason = "r"\n'), tmp_path)
    assert decide(p, PackageRef("numpy")).decision == "deny"


def test_waiver_matches_canonical_name(tmp_path):
    p = load(write(tmp_path, "p.toml", WAIVED + '[[waivers]]\nrule = "*"\nsubject = "Ruamel_YAML"\nreason = "r"\n'), tmp_path)
    assert decide(p, PackageRef("ruamel.yaml")).decision == "allow"


def test_expired_waiver_no_longer_applies_and_says_so(tmp_path):
    p = load(write(tmp_path, "p.toml", WAIVED + """
        [[waivers]]
        rule = "unpinned"
        subject = "numpy"
        reason = "tracked in SEC-12"
        expires = 2026-01-31
    """), tmp_path)
    d = decide(p, PackageRef("numpy"), today=dt.date(2026, 2, 1))
    assert d.decision == "deny" and not d.waived
    assert "expired on 2026-01-31" in d.findings[0].message and "SEC-12" in d.findings[0].message
    # the last day is still covered
    assert decide(p, PackageRef("numpy"), today=dt.date(2026, 1, 31)).decision == "allow"


def test_live_waiver_beats_an_earlier_expired_one(tmp_path):
    p = load(write(tmp_path, "p.toml", WAIVED + """
        [[waivers]]
        rule = "unpinned"
        subject = "numpy"
        reason = "old"
        expires = 2020-01-01
        [[waivers]]
        rule = "unpinned"
        subject = "numpy"
        reason = "renewed"
        expires = 2099-01-01
    """), tmp_path)
    assert decide(p, PackageRef("numpy")).decision == "allow"


def test_expired_waiver_through_cli(tmp_path):
    f = write(tmp_path, "p.toml", WAIVED + '[[waivers]]\nrule = "unpinned"\nsubject = "numpy"\nreason = "SEC-1"\nexpires = 2001-01-01\n')
    r = run_guard("check", "--policy", f, "pypi:numpy", "--format", "json", cwd=tmp_path, env=cli_env(tmp_path))
    assert r.returncode == 1
    out = json.loads(r.stdout)
    assert "expired on 2001-01-01" in out["findings"][0]["message"]


# ---------------------------------------------------------------- allow and deny lists


class _NameRule:
    """A real plugin whose rule judges names (like typosquat) and flags every package."""

    RULE = RuleInfo(id="name-test", summary="flags every name", allowlist=True,
                    options={"level": Option(int, 1, "how strict", tighten="max")})

    @hookimpl
    def guard_rules(self):
        return [self.RULE]

    @hookimpl
    def guard_check_package(self, package, policy, context):
        return [Finding(rule="name-test", subject=package.subject, message="suspicious name")]


def _pm_with_name_rule():
    import importlib

    from guardpolicy import hookspecs
    from guardpolicy.plugins import BUILTIN_PLUGINS

    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    for name, module in BUILTIN_PLUGINS.items():
        pm.register(importlib.import_module(module), name=name)
    pm.register(_NameRule(), name="name-test")
    return pm


def test_allow_list_silences_name_rules_only(tmp_path):
    pm = _pm_with_name_rule()
    rules = {i.id: i for infos in pm.hook.guard_rules() for i in infos}
    f = write(tmp_path, "p.toml", 'allow = ["acme-*", "Flask"]\n[rules.unpinned]\naction = "deny"\n')
    p = load_policy(str(f), env=clean_env(tmp_path), rules=rules)
    d = Engine(p, CheckOptions(), pm=pm).decide([PackageRef("acme-core"), PackageRef("flask", "==3.0", version="3.0"), PackageRef("other")])
    flagged = {(x.rule, x.subject) for x in d.findings}
    assert ("name-test", "other") in flagged
    assert not any(r == "name-test" and s != "other" for r, s in flagged)
    assert ("unpinned", "acme-core") in flagged  # allow is not a waiver for pinning


def test_deny_list(tmp_path):
    p = load(write(tmp_path, "p.toml", 'deny = ["evilpkg", "urllib3<1.26.5"]\n'), tmp_path)
    d = decide(p, PackageRef("EvilPkg", "==1.0", version="1.0"), PackageRef("urllib3", "==1.26.4", version="1.26.4"),
               PackageRef("urllib3", "==2.2.0", version="2.2.0"))
    denied = sorted(f.subject for f in d.findings if f.rule == "denylist")
    assert denied == ["EvilPkg==1.0", "urllib3==1.26.4"]


# ---------------------------------------------------------------- errors through the CLI

ERRORS = [
    ("bad-toml", 'mode = "enforce"\n[rules\naction = 1\n', 2, None, "invalid TOML"),
    ("unknown-top", 'mode = "enforce"\n\nmodes = "warn"\n', 3, "modes", "unknown key"),
    ("unknown-section-key", '[sources]\nindexes = []\nindex = "x"\n', 3, "sources.index", "unknown key in [sources]"),
    ("wrong-type", '[sources]\n\nindexes = "https://pypi.org/simple"\n', 3, "sources.indexes", "expected array of strings, got string"),
    ("wrong-type-bool", 'allow_mode_override = "no"\n', 1, "allow_mode_override", "expected boolean"),
    ("bad-mode", '# x\nmode = "audit"\n', 2, "mode", "must be one of enforce, warn, off"),
    ("bad-action", '[rules.typosquat]\n\naction = "block"\n', 3, "rules.typosquat.action", "must be one of deny, warn, off"),
    ("bad-action-dotted", 'mode = "warn"\nrules.unpinned.action = "nope"\n', 2, "rules.unpinned.action", "must be one of"),
    ("bad-action-inline", 'rules = { unpinned = { action = "nope" } }\n', 1, "rules.unpinned.action", "must be one of"),
    ("unknown-rule", '\n[rules.typosqat]\naction = "deny"\n', 2, "rules.typosqat", "unknown rule"),
    ("unknown-rule-quoted", '[rules]\n"typo-squat" = { action = "deny" }\n', 2, "rules.typo-squat", "unknown rule"),
    ("unknown-option", '[rules.unhashed]\naction = "deny"\nrequire_hash = true\n', 3, "rules.unhashed.require_hash", "unknown option"),
    ("option-type", '[rules.unhashed]\nrequire_hashes = "yes"\n', 2, "rules.unhashed.require_hashes", "expected boolean"),
    ("waiver-no-reason", '[[waivers]]\nrule = "unpinned"\nsubject = "a"\nreason = "x"\n\n[[waivers]]\nrule = "unpinned"\nsubject = "numpy"\n',
     6, "waivers", "non-empty 'reason'"),
    ("waiver-empty-reason", '[[waivers]]\nrule = "unpinned"\nsubject = "numpy"\nreason = "  "\n', 4, "waivers.reason", "non-empty 'reason'"),
    ("waiver-unknown-rule", 'waivers = [\n  {rule = "unpinned", subject = "a", reason = "r"},\n  {rule = "nope", subject = "a", reason = "r"},\n]\n',
     3, "waivers.rule", "unknown rule 'nope'"),
    ("waiver-bad-date", '[[waivers]]\nrule = "unpinned"\nsubject = "a"\nreason = "r"\nexpires = "soon"\n', 5, "waivers.expires", "expected date"),
    ("waiver-unknown-key", '[[waivers]]\nrule = "unpinned"\nsubject = "a"\nreason = "r"\nticket = 3\n', 5, "waivers.ticket", "unknown waiver key"),
    ("deny-bad", 'deny = [\n  "ok",\n  "bad name!!",\n]\n', 3, "deny", "not a requirement string"),
    ("max-age", 'max_age = "a week"\n', 1, "max_age", "expected a duration"),
    ("locked-unknown", 'locked = ["sourcez"]\n', 1, "locked", "cannot lock 'sourcez'"),
    ("extends-type", 'extends = "strict"\n', 1, "extends", "expected array of strings"),
    ("trusted-key", '[bundle]\ntrusted_keys = ["rsa:abc"]\n', 2, "bundle.trusted_keys", "ed25519"),
]


@pytest.mark.parametrize("name,text,line,key,msg", ERRORS, ids=[e[0] for e in ERRORS])
def test_policy_errors_one_line_with_file_line_key(tmp_path, name, text, line, key, msg):
    bad = tmp_path / "bad.toml"
    bad.write_text(text, encoding="utf-8")
    r = run_guard("check", "--policy", "bad.toml", "pypi:x", cwd=tmp_path, env=cli_env(tmp_path))
    assert r.returncode == 2, r.stderr
    assert "Traceback" not in r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    err = lines[0]
    assert err.startswith(f"guard: error: {bad}:{line}: "), err
    if key:
        assert f":{line}: {key}: " in err, err
    assert msg in err, err


def test_pyproject_errors_name_the_pyproject_line(tmp_path):
    write(tmp_path, "pyproject.toml", """
        [project]
        name = "x"

        [tool.guard]
        mode = "warn"

        [tool.guard.rules.unpinned]
        action = "warn"
        level = 3
    """)
    r = run_guard("check", "pypi:x", cwd=tmp_path, env=cli_env(tmp_path))
    assert r.returncode == 2
    assert f"{tmp_path / 'pyproject.toml'}:9: rules.unpinned.level: unknown option" in r.stderr


def test_pyproject_inline_tool_guard_waiver_line(tmp_path):
    f = write(tmp_path, "pyproject.toml", """
        [tool.guard]
        waivers = [
            {rule = "unpinned", subject = "a", reason = "r"},
            {rule = "unpinned", subject = "b"},
        ]
    """)
    with pytest.raises(PolicyError) as exc:
        load(f, tmp_path)
    assert exc.value.line == 4 and "reason" in exc.value.message


def test_missing_policy_file_is_exit_2(tmp_path):
    r = run_guard("check", "--policy", "nope/p.toml", "pypi:x", cwd=tmp_path, env=cli_env(tmp_path))
    assert r.returncode == 2 and "not found" in r.stderr and "Traceback" not in r.stderr


# ---------------------------------------------------------------- key_line


KEY_LINE_DOC = '''# comment with mode = "x"
mode = "enforce"
extends = ["a",
  "b"]
s = """ multi
rules.typosquat.action = "not a key" """
rules.typosquat.action = "deny"
rules."my-rule".opt = 1
rules.x = { deep = { y = 2 } }
[sources]
# indexes = []
indexes = ["https://a", 'b']
protected = [
  "p1",
  "p2",
]
[[waivers]]
rule = "x"
[[ waivers ]]
rule = "y"
reason = "z"
[tool . "guard" . rules]
a = 1
"b".c = 2
'''


@pytest.mark.parametrize("path,line", [
    (("mode",), 2),
    (("extends", 1), 4),
    (("rules", "typosquat", "action"), 7),
    (("rules", "my-rule", "opt"), 8),
    (("rules", "x", "deep", "y"), 9),
    (("sources", "indexes"), 12),
    (("sources", "protected", 1), 15),
    (("waivers", 0), 17),
    (("waivers", 1, "reason"), 21),
    (("waivers", 1, "nothere"), 19),
    (("tool", "guard", "rules", "a"), 23),
    (("tool", "guard", "rules", "b", "c"), 24),
    (("nothing",), None),
])
def test_key_line(path, line):
    import tomllib

    tomllib.loads(KEY_LINE_DOC)  # the fixture is valid TOML
    assert key_line(KEY_LINE_DOC, path) == line


# ---------------------------------------------------------------- guard policy CLI


def test_policy_show_names_the_layer_of_every_value(tmp_path):
    f = write(tmp_path, "p.toml", 'extends = ["strict"]\n[rules.unpinned]\naction = "warn"\n')
    r = run_guard("policy", "show", "--policy", f, cwd=tmp_path, env=cli_env(tmp_path))
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert f'action = "warn"  # {f}' in out
    assert "require_hashes = true  # strict" in out
    assert 'indexes = ["https://pypi.org/simple"]  # default' in out
    bare = write(tmp_path, "bare.toml", "extends = []\n")
    r2 = run_guard("policy", "show", "--policy", bare, cwd=tmp_path, env=cli_env(tmp_path))
    assert 'action = "deny"  # built-in (rule default)' in r2.stdout
    r = run_guard("policy", "show", "--policy", f, "--format", "json", cwd=tmp_path, env=cli_env(tmp_path))
    data = json.loads(r.stdout)
    values = {v["key"]: (v["value"], v["layer"]) for v in data["values"]}
    assert values["rules.unpinned.action"] == ("warn", str(f))
    assert values["rules.unhashed.require_hashes"] == (True, "strict")
    assert [l["name"] for l in data["layers"]] == ["default", "strict", str(f)]


def test_policy_show_mode_from_env(tmp_path):
    r = run_guard("policy", "show", "--policy", "default", cwd=tmp_path, env=cli_env(tmp_path, GUARD_MODE="warn"))
    assert 'mode = "warn"  # GUARD_MODE environment variable' in r.stdout


def test_policy_validate(tmp_path):
    good = write(tmp_path, "good.toml", 'extends = ["research"]\n')
    r = run_guard("policy", "validate", good, cwd=tmp_path, env=cli_env(tmp_path))
    assert r.returncode == 0 and "ok" in r.stdout and "research" in r.stdout
    bad = write(tmp_path, "bad.toml", '[rules.unpinned]\naction = "maybe"\n')
    r = run_guard("policy", "validate", bad, cwd=tmp_path, env=cli_env(tmp_path))
    assert r.returncode == 2 and f"{bad}:2: rules.unpinned.action" in r.stderr
    r = run_guard("policy", "validate", tmp_path / "missing.toml", cwd=tmp_path, env=cli_env(tmp_path))
    assert r.returncode == 2 and "no such file" in r.stderr


def test_policy_explain(tmp_path):
    r = run_guard("policy", "explain", "unhashed", cwd=tmp_path, env=cli_env(tmp_path))
    assert r.returncode == 0
    assert "require_hashes (boolean, default false)" in r.stdout
    assert "default action: deny" in r.stdout
    assert "example finding:" in r.stdout and "has no --hash" in r.stdout
    assert "guardpolicy/rules/unhashed.py" in r.stdout
    r = run_guard("policy", "explain", "typosqat", cwd=tmp_path, env=cli_env(tmp_path))
    assert r.returncode == 2 and "unknown rule 'typosqat'" in r.stderr and "typosquat" in r.stderr


@pytest.mark.parametrize("rule_id", ["typosquat", "unpinned", "unhashed", "source", "denylist", "invalid"])
def test_every_builtin_rule_explains(rule_id):
    from guardpolicy.cli.policy import explain_text
    from guardpolicy.plugins import rule_infos

    text = explain_text(rule_infos()[rule_id])
    assert text.startswith(f"{rule_id}: ") and "example finding:" in text


def test_policy_pull_without_bundles(tmp_path):
    r = run_guard("policy", "pull", "--policy", "strict", cwd=tmp_path, env=cli_env(tmp_path))
    assert r.returncode == 0 and "no remote bundles" in r.stdout


def test_docs_mention_every_schema_key():
    from guardpolicy.policy import schema

    doc = (ROOT / "docs" / "policy.md").read_text(encoding="utf-8")
    for key in schema.TOP_LEVEL:
        assert f"`{key}`" in doc, key
    for section, keys in schema.SECTIONS.items():
        assert f"[{section}]" in doc, section
        for key in keys:
            assert f"`{key}`" in doc, f"{section}.{key}"
    for key in schema.WAIVER_KEYS:
        assert f"`{key}`" in doc, f"waivers.{key}"


@pytest.mark.slow  # builds a wheel with pip
def test_wheel_ships_the_policies(tmp_path):
    """An installed (non-editable) guard must carry its shipped policies as guardpolicy._policies."""
    import subprocess
    import sys
    import zipfile

    r = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(tmp_path), str(ROOT)],
                       capture_output=True, text=True, timeout=300, env={**__import__("os").environ, "PIP_CONFIG_FILE": "/dev/null"})
    assert r.returncode == 0, r.stderr[-2000:]
    wheel = next(tmp_path.glob("guardpolicy-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    for rel in SHIPPED:
        assert f"guardpolicy/_policies/{rel.as_posix()}" in names


def test_cli_says_when_mode_flag_is_ignored(tmp_path):
    r = run_guard("check", "--policy", "strict", "--mode", "off", "pypi:requests==2.0", cwd=tmp_path, env=cli_env(tmp_path))
    assert r.returncode == 1
    assert "guard: note: --mode off ignored: the policy sets allow_mode_override = false" in r.stderr


# ---------------------------------------------------------------- key_line properties

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st

_keys = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=0x24F, blacklist_characters="\x7f"),
                min_size=1, max_size=8)
_scalars = st.one_of(st.integers(), st.booleans(), st.text(max_size=20), st.lists(st.text(max_size=5), max_size=3),
                     st.dates())


@settings(max_examples=60, deadline=None)
@given(st.dictionaries(_keys, st.one_of(_scalars, st.dictionaries(_keys, _scalars, max_size=4)), max_size=6))
def test_key_line_agrees_with_tomli_w_output(doc):
    """For any document tomli-w writes, every key path maps to the line that defines it."""
    import tomli_w
    import tomllib

    text = tomli_w.dumps(doc)
    assert tomllib.loads(text) == doc
    lines = text.split("\n")  # TOML lines end at \n only (str.splitlines would also split at \x85)

    def written(key):  # how tomli-w spells a key
        return tomli_w.dumps({key: 0}).split(" = ")[0]

    for key, value in doc.items():
        if isinstance(value, dict):
            assert lines[key_line(text, (key,)) - 1] == f"[{written(key)}]"
            for sub in value:
                assert lines[key_line(text, (key, sub)) - 1].startswith(written(sub) + " = ")
        else:
            assert lines[key_line(text, (key,)) - 1].startswith(written(key) + " = ")


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=200))
def test_key_line_never_raises(text):
    key_line(text, ("a", 0, "b"))
    key_line(text + "\n[x]\ny = 1\n", ("x", "y"))


def test_allow_cannot_silence_a_locked_name_rule(tmp_path):
    """``allow = ["*"]`` above a layer that locks typosquat/malicious would switch them off."""
    write(tmp_path, "org.toml", 'locked = ["typosquat", "malicious"]\nallowed_waivers = ["typosquat:acme-*"]\n')
    project = write(tmp_path, "proj/guard.toml", 'extends = ["../org.toml"]\nallow = ["*"]\n')
    with pytest.raises(PolicyError) as exc:
        load(project, tmp_path)
    assert exc.value.line == 2 and exc.value.key == "allow" and "typosquat" in str(exc.value)
    project = write(tmp_path, "proj/guard.toml", 'extends = ["../org.toml"]\nallow = ["crypt"]\n')
    with pytest.raises(PolicyError):  # a known-malicious name under a locked malicious rule
        load(project, tmp_path)
    # what allowed_waivers covers stays possible for typosquat, but malicious is locked too
    project = write(tmp_path, "proj/guard.toml", 'extends = ["../org.toml"]\nallow = ["acme-reqeusts"]\n')
    with pytest.raises(PolicyError) as exc:
        load(project, tmp_path)
    assert "'malicious'" in str(exc.value)
    write(tmp_path, "org.toml", 'locked = ["typosquat"]\nallowed_waivers = ["typosquat:acme-*"]\n')
    policy = load(project, tmp_path)
    assert "acme-reqeusts" in policy.allow
    # an allow entry the org itself set is not the project's loosening
    write(tmp_path, "org.toml", 'locked = ["rules"]\nallow = ["internal-*"]\n')
    project = write(tmp_path, "proj/guard.toml", 'extends = ["../org.toml"]\nallow = ["internal-*"]\n')
    load(project, tmp_path)


@pytest.mark.parametrize("loose,key", [
    ('extends = []\n[[waivers]]\nrule = "*"\nsubject = "*"\nreason = "bypass"\n', "waivers"),
    ('extends = []\n[rules.typosquat]\naction = "off"\n', "rules.typosquat.action"),
    ('extends = []\nmode = "off"\n', "mode"),
    ('extends = []\nallow = ["*"]\n', "allow"),
    ('extends = []\nallowed_waivers = ["*:*"]\n[[waivers]]\nrule = "typosquat"\nsubject = "*"\nreason = "self-granted"\n',
     "waivers"),
])
def test_a_layer_listed_below_the_locking_bundle_cannot_loosen_it(tmp_path, loose, key):
    """A project may put its own file *before* the org bundle in extends: it lands below the
    bundle in the stack, but the bundle's locks still cover it."""
    # extends = []: nothing of the org's own stack overrides the lower layer's values
    write(tmp_path, "org.toml", 'extends = []\nlocked = ["typosquat", "mode", "waivers"]\n')
    write(tmp_path, "proj/loose.toml", loose)
    project = write(tmp_path, "proj/guard.toml", 'extends = ["loose.toml", "../org.toml"]\n')
    with pytest.raises(PolicyError) as exc:
        load(project, tmp_path)
    assert exc.value.file.endswith("loose.toml") and exc.value.key == key, str(exc.value)
    assert "org.toml locks" in str(exc.value)


def test_layers_the_bundle_overrides_or_extends_itself_are_fine_below_it(tmp_path):
    # the org extends strict itself (trusted); the project's own lower layer sets what the org
    # overrides anyway (no effect) and tightens the rest
    write(tmp_path, "org.toml", 'extends = ["strict"]\nlocked = ["rules", "mode", "sources"]\nmode = "enforce"\n'
                                '[rules.unpinned]\naction = "deny"\n')
    write(tmp_path, "proj/base.toml", 'extends = []\nmode = "warn"\n[rules.unpinned]\naction = "warn"\n'
                                      '[rules.typosquat]\naction = "deny"\n')
    project = write(tmp_path, "proj/guard.toml", 'extends = ["base.toml", "../org.toml"]\n')
    policy = load(project, tmp_path)
    assert policy.mode == "enforce" and policy.rule("unpinned").action == "deny"


@pytest.mark.parametrize("project,key", [
    ('[rules.source]\naction = "off"\n', "rules.source.action"),
    ('[rules.source]\naction = "warn"\n', "rules.source.action"),
    ('[rules.source]\nallow_direct_urls = true\n', None),  # unchanged from the org: fine
    ('[[waivers]]\nrule = "source"\nsubject = "*"\nreason = "x"\n', "waivers"),
    ('[[waivers]]\nrule = "*"\nsubject = "https://evil.example/*"\nreason = "x"\n', "waivers"),
])
def test_locking_sources_locks_the_source_rule(tmp_path, project, key):
    """Without this a project kept the org's index list but switched off the rule that enforces it."""
    write(tmp_path, "org.toml", 'locked = ["sources"]\nallowed_waivers = ["source:https://mirror.acme.example/*"]\n'
                                '[sources]\nindexes = ["https://pypi.org/simple"]\n')
    path = write(tmp_path, "proj/guard.toml", 'extends = ["../org.toml"]\n' + project)
    if key is None:
        load(path, tmp_path)
        return
    with pytest.raises(PolicyError) as exc:
        load(path, tmp_path)
    assert exc.value.key == key and "locks 'sources'" in str(exc.value)
    # a waiver the org allows is still fine
    write(tmp_path, "proj/guard.toml", 'extends = ["../org.toml"]\n[[waivers]]\nrule = "source"\n'
                                       'subject = "https://mirror.acme.example/simple"\nreason = "x"\n')
    load(path, tmp_path)


@pytest.mark.parametrize("body,key,msg", [
    ('[rules.hub-scan]\npending = "deyn"\n', "rules.hub-scan.pending", "must be one of deny, warn, off"),
    ("[rules.typosquat]\none_edit_rank = -5\n", "rules.typosquat.one_edit_rank", "must be 0 or more"),
    ("[rules.typosquat]\ntwo_edit_rank = -1\n", "rules.typosquat.two_edit_rank", "must be 0 or more"),
])
def test_rule_option_values_outside_their_range_are_errors(tmp_path, body, key, msg):
    """A misspelt action used to fall back to 'warn' silently; a negative rank disabled typo checks."""
    path = write(tmp_path, "guard.toml", body)
    with pytest.raises(PolicyError) as exc:
        load(path, tmp_path)
    assert exc.value.line == 2 and exc.value.key == key and msg in str(exc.value)
    assert Option(int, 1, minimum=0).minimum == 0 and Option(str, "a", choices=("a", "b")).choices == ("a", "b")
