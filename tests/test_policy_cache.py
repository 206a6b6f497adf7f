"""The compiled policy cache (guardpolicy.runtime.policy_cache): fast when nothing changed, never stale.

Each gated process runs in a fresh interpreter, as hooked processes do: the first loads the policy
the full way and stores it, the next takes it from the cache. The attacks and accidents: an edited
policy (even with the same size and mtime), a new project policy, a floor file that became
writable by others, a tampered or foreign cache file, an expired bundle. Each must make the next
process load the full way and judge by the policy as it is now.
"""

from __future__ import annotations

import datetime as dt
import json
import marshal
import os
import subprocess
import sys
import textwrap

import pytest

from guardpolicy.policy import load_policy
from guardpolicy.policy.model import Layer, Policy, Waiver
from guardpolicy.policy.plain import from_plain, to_plain
from guardpolicy.runtime import policy_cache

# most cases run two or three fresh interpreters each (a hooked process per step)
pytestmark = pytest.mark.slow

GATE = textwrap.dedent("""
    import json, sys
    from guardpolicy.errors import PolicyViolation
    from guardpolicy.model import PackageRef
    from guardpolicy.policy import loader
    from guardpolicy.runtime import gate

    full = []
    original = loader.load_policy
    def spy(*args, **kwargs):
        full.append(1)
        return original(*args, **kwargs)
    loader.load_policy = spy
    try:
        gate.enforce([PackageRef(sys.argv[1], "==1.0", version="1.0")], "test install")
        verdict = "allow"
    except PolicyViolation:
        verdict = "deny"
    print(json.dumps({"full": bool(full), "verdict": verdict}))
""")


@pytest.fixture
def world(tmp_path):
    """A user floor policy, a repository to work in, and a private cache folder."""
    conf = tmp_path / "conf"
    conf.mkdir()
    (conf / "guard.toml").write_text('extends = ["default"]\ndeny = ["evilpkg"]\n', encoding="utf-8")
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("GUARD")}
    env.update({"GUARD_CONFIG_DIR": str(conf), "GUARD_CACHE_DIR": str(tmp_path / "cache"),
                "GUARD_SYSTEM_CONFIG_DIR": str(tmp_path / "system")})
    return {"conf": conf, "repo": repo, "env": env, "cache": tmp_path / "cache"}


def gated(world, package="somepkg"):
    proc = subprocess.run([sys.executable, "-c", GATE, package], cwd=world["repo"], env=world["env"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    out["stderr"] = proc.stderr
    return out


def test_the_next_process_skips_the_full_load(world):
    assert gated(world)["full"] is True
    assert (world["cache"] / policy_cache.FILE_NAME).is_file()
    second = gated(world)
    assert second == {"full": False, "verdict": "allow", "stderr": ""}
    # a package the floor denies is still denied on the fast path (the rules run for uncached subjects)
    assert gated(world, "evilpkg")["verdict"] == "deny"


def test_an_edited_policy_is_used_at_once_even_with_the_same_size_and_mtime(world):
    floor = world["conf"] / "guard.toml"
    floor.write_text('extends = ["default"]\ndeny = ["evilpkg"]\n# aaaaaaa\n', encoding="utf-8")
    assert gated(world) == {"full": True, "verdict": "allow", "stderr": ""}
    assert gated(world)["full"] is False
    st = floor.stat()
    floor.write_text('extends = ["default"]\ndeny = ["somepkg"]\n# aaaaaaa\n', encoding="utf-8")
    os.utime(floor, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert floor.stat().st_size == st.st_size
    out = gated(world)
    assert out["full"] is True and out["verdict"] == "deny"


def test_a_new_project_policy_is_noticed(world):
    gated(world)
    assert gated(world)["full"] is False
    (world["repo"] / "guard.toml").write_text('extends = ["default"]\ndeny = ["somepkg"]\n', encoding="utf-8")
    out = gated(world)
    assert out["full"] is True and out["verdict"] == "deny"
    # the layering line the full load printed is printed again by the cached process
    again = gated(world)
    assert again["full"] is False and again["verdict"] == "deny"
    assert "layered on" in out["stderr"] and again["stderr"] == out["stderr"]


def test_a_floor_file_others_may_write_is_noticed(world):
    gated(world, "evilpkg")
    assert gated(world, "evilpkg")["full"] is False
    os.chmod(world["conf"] / "guard.toml", 0o666)
    out = gated(world, "evilpkg")
    assert out["full"] is True and "ignoring user policy" in out["stderr"], out["stderr"]


def test_a_tampered_cache_file_is_a_miss_and_is_rewritten(world):
    gated(world)
    path = world["cache"] / policy_cache.FILE_NAME
    blob = bytearray(path.read_bytes())
    blob[-5] ^= 0x01
    path.write_bytes(bytes(blob))
    assert gated(world)["full"] is True
    assert gated(world)["full"] is False


def test_a_cache_file_in_a_foreign_format_is_a_miss(world):
    gated(world)
    path = world["cache"] / policy_cache.FILE_NAME
    path.write_bytes(b"\0" * 32 + marshal.dumps({"x": 1}))  # a wrong MAC: never decoded
    assert gated(world)["full"] is True


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="needs root to hand the file to another uid")
def test_a_cache_file_owned_by_another_user_is_ignored(world):
    gated(world)
    os.chown(world["cache"] / policy_cache.FILE_NAME, 4242, 4242)
    assert gated(world)["full"] is True


def test_guard_cache_0_loads_the_full_way(world):
    gated(world)
    world["env"]["GUARD_CACHE"] = "0"
    assert gated(world)["full"] is True


def test_a_changed_environment_is_another_entry(world):
    gated(world)
    world["env"]["GUARD_MODE"] = "warn"
    assert gated(world)["full"] is True
    assert gated(world)["full"] is False


def test_entries_expire_when_a_bundle_would_be_asked_again(world, monkeypatch):
    env = world["env"]
    monkeypatch.chdir(world["repo"])
    policy = load_policy(env=env)
    before = policy_cache.inputs(env)
    monkeypatch.setattr(policy_cache, "valid_until", lambda policy, env: 1000.0)
    assert policy_cache.store(policy, before, env, None, "fp", (), ("audit-log",), ())
    monkeypatch.setattr(policy_cache.time, "time", lambda: 999.0)
    assert policy_cache.lookup(env).policy == policy
    monkeypatch.setattr(policy_cache.time, "time", lambda: 1000.0)
    assert policy_cache.lookup(env) is None


def test_valid_until_follows_the_bundle_refresh_and_expiry():
    day = dt.date(2026, 12, 24)
    layer = Layer(name="https://org/b", path=None, data={},
                  bundle={"confirmed_at": 100.0, "attempted_at": 50.0, "refresh": 600, "expires": day.isoformat()})
    assert policy_cache.valid_until(Policy(data={}, layers=(layer,)), {}) == 700.0
    late = Layer(name="x", path=None, data={}, bundle={"confirmed_at": 2e9, "refresh": 600, "expires": day.isoformat()})
    midnight = dt.datetime.combine(day + dt.timedelta(days=1), dt.time()).timestamp()
    assert policy_cache.valid_until(Policy(data={}, layers=(late,)), {}) == midnight
    assert policy_cache.valid_until(Policy(data={}, layers=(late,)), {"GUARD_BUNDLE_REFRESH": "1m"}) == midnight
    assert policy_cache.valid_until(Policy(data={}), {}) is None


@pytest.mark.parametrize("name", ["default", "strict", "research"])
def test_shipped_policies_survive_the_plain_form(name):
    policy = load_policy(name, floor=False)
    assert from_plain(marshal.loads(marshal.dumps(to_plain(policy)))) == policy


def test_dates_tuples_and_sets_survive_the_plain_form():
    waiver = Waiver(rule="typosquat", subject="x", reason="r", expires=dt.date(2027, 1, 2), line=3)
    data = {"when": dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.timezone(dt.timedelta(hours=2))),
            "at": dt.time(4, 5), "pair": (1, "a"), "list": [1, [2]], "set": frozenset({"a"})}
    policy = Policy(data=data, waivers=(waiver,), digest="d")
    back = from_plain(marshal.loads(marshal.dumps(to_plain(policy))))
    assert back == policy and type(back.data["pair"]) is tuple and type(back.data["list"]) is list


def test_data_the_plain_form_cannot_hold_is_not_cached():
    with pytest.raises(TypeError):
        to_plain(Policy(data={"x": object()}))
    with pytest.raises(TypeError):
        to_plain(Policy(data={"x": float("nan")}))


def test_a_policy_that_turns_the_cache_off_is_not_cached(world):
    (world["conf"] / "guard.toml").write_text('extends = ["default"]\n[cache]\nenabled = false\n', encoding="utf-8")
    gated(world)
    assert not (world["cache"] / policy_cache.FILE_NAME).exists()
    assert gated(world)["full"] is True


def test_a_miss_never_raises(tmp_path):
    env = {"GUARD_CACHE_DIR": str(tmp_path / "nowhere" / "x"), "GUARD_POLICY": str(tmp_path / "missing.toml")}
    assert policy_cache.lookup(env) is None


def test_a_bundle_policy_also_depends_on_its_meta_signature_and_key_files(tmp_path):
    """A removed trusted key or a meta.json the server no longer vouches for must reach the next process."""
    content = tmp_path / "bundles" / "abc" / "bundle-1.toml"
    layer = Layer(name="https://org/b.toml", path=str(content), data={}, bundle={"url": "https://org/b.toml"})
    env = {"GUARD_CONFIG_DIR": str(tmp_path / "conf"), "GUARD_SYSTEM_CONFIG_DIR": str(tmp_path / "sys")}
    files = policy_cache._bundle_files(Policy(data={}, layers=(layer,)), env)
    assert str(content.parent / "meta.json") in files and str(content) + ".sig" in files
    assert str(tmp_path / "conf" / "trusted_keys") in files and str(tmp_path / "sys" / "trusted_keys") in files
    assert policy_cache._bundle_files(Policy(data={}), env) == []


def test_installing_a_package_keeps_the_entry_but_a_new_plugin_does_not(world, tmp_path):
    """Every pip install changes site-packages; only a distribution that brings plugins changes the rules."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "plain_pkg-1.0.dist-info").mkdir()
    world["env"]["PYTHONPATH"] = str(site)
    gated(world)
    (site / "other_pkg-2.0.dist-info").mkdir()                      # an ordinary install
    assert gated(world)["full"] is False
    plugin = site / "evil_plugin-1.0.dist-info"                      # a new guardpolicy plugin
    plugin.mkdir()
    (plugin / "entry_points.txt").write_text("[guardpolicy]\nevil = evil_plugin\n", encoding="utf-8")
    (site / "evil_plugin.py").write_text("", encoding="utf-8")
    (plugin / "METADATA").write_text("Metadata-Version: 2.1\nName: evil-plugin\nVersion: 1.0\n", encoding="utf-8")
    assert gated(world)["full"] is True
    assert gated(world)["full"] is False
    import shutil

    shutil.rmtree(plugin)                                             # a plugin removed
    assert gated(world)["full"] is True


def test_guard_cache_clear_drops_the_compiled_policies(world):
    gated(world)
    assert (world["cache"] / policy_cache.FILE_NAME).is_file()
    r = subprocess.run([sys.executable, "-m", "guardpolicy", "cache", "clear"], cwd=world["repo"], env=world["env"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and "compiled policy cache" in r.stdout, r.stderr
    assert not (world["cache"] / policy_cache.FILE_NAME).exists()
    assert gated(world)["full"] is True
