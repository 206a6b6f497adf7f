"""The cached allowlist: keys, invalidation, TTL, gate integration, many processes at once, CLI."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap

import pytest

from guardpolicy.model import FileRef, IndexRef, ModelRef, PackageRef
from guardpolicy.runtime import cache as cache_mod
from guardpolicy.runtime.cache import DecisionCache, subject_key


@pytest.fixture
def cache(tmp_path):
    c = DecisionCache(tmp_path / "c" / "decisions.sqlite3")
    yield c
    c.close()


def test_key_separates_every_field():
    base = PackageRef("requests", "==2.31.0", version="2.31.0")
    keys = {subject_key(s) for s in (
        base,
        PackageRef("requests", "==2.31.0", version="2.32.0"),
        PackageRef("requests", "==2.31.0", version="2.31.0", hashes=("sha256:aa",)),
        PackageRef("requests", "==2.31.0", version="2.31.0", indexes=(IndexRef("https://x/simple", "extra-index-url"),)),
        PackageRef("requests", "==2.31.0", version="2.31.0", extra={"upload_time": "2020-01-01T00:00:00Z"}),
        PackageRef("requests", "", version="2.31.0"),
        ModelRef("org/requests", revision="2.31.0"),
        IndexRef("requests"),
        FileRef("requests"),
    )}
    assert len(keys) == 9


def test_key_ignores_how_a_package_was_reached():
    a = PackageRef("six", "", version="1.16.0", extra={"required_by": "a"})
    b = PackageRef("six", "", version="1.16.0", extra={"required_by": "b"})
    assert subject_key(a) == subject_key(b)


def test_key_content_digest_is_sorted_hashes():
    p = PackageRef("x", version="1", hashes=("sha256:bb", "sha256:aa"))
    assert subject_key(p)[3] == "sha256:aa,sha256:bb"
    assert subject_key(FileRef("/m.bin", extra={"sha256": "ff"}))[3] == "ff"


def test_store_and_lookup_per_policy_digest(cache):
    p = PackageRef("requests", "==2.31.0", version="2.31.0")
    assert not cache.is_allowed(p, "pol1")
    assert cache.store_allowed([p], "pol1") == 1
    assert cache.is_allowed(p, "pol1")
    assert not cache.is_allowed(p, "pol2")  # a policy change invalidates
    fresh = DecisionCache(cache.path)  # another process's view: straight from SQLite
    assert fresh.is_allowed(p, "pol1")
    fresh.close()


def test_ttl_expires_entries(tmp_path):
    c = DecisionCache(tmp_path / "d.sqlite3", ttl=60)
    p = PackageRef("a", version="1")
    c.store_allowed([p], "pol", now=1000.0)
    other = DecisionCache(tmp_path / "d.sqlite3", ttl=60)
    assert other.is_allowed(p, "pol", now=1050.0)
    third = DecisionCache(tmp_path / "d.sqlite3", ttl=60)
    assert not third.is_allowed(p, "pol", now=1061.0)
    for x in (c, other, third):
        x.close()


def test_wal_mode_and_stats(cache):
    cache.store_allowed([PackageRef("a", version="1"), ModelRef("o/m", revision="a" * 40)], "pol")
    st = cache.stats()
    assert st["entries"] == 2 and st["by_kind"] == {"ModelRef": 1, "PackageRef": 1}
    assert st["integrity"] == "ok" and st["policy_digests"] == 1
    mode = sqlite3.connect(cache.path).execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"
    assert cache.clear() == 2 and cache.stats()["entries"] == 0


def test_unusable_location_degrades_to_not_cached(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    c = DecisionCache(blocker / "sub" / "d.sqlite3")
    p = PackageRef("a", version="1")
    assert c.store_allowed([p], "pol") == 0
    assert not c.is_allowed(p, "pol") and c.errors == 2


def test_corrupt_database_is_a_miss_not_an_allow(tmp_path):
    path = tmp_path / "d.sqlite3"
    path.write_bytes(b"this is not a database" * 100)
    c = DecisionCache(path)
    assert not c.is_allowed(PackageRef("a", version="1"), "pol")


def test_for_policy_honours_switches(tmp_path):
    from guardpolicy.policy.model import Policy

    env = {"GUARD_CACHE_DIR": str(tmp_path)}
    assert cache_mod.for_policy(Policy(data={}), env).path == tmp_path / cache_mod.DB_NAME
    assert cache_mod.for_policy(Policy(data={"cache": {"enabled": False}}), env) is None
    assert cache_mod.for_policy(Policy(data={}), {**env, "GUARD_CACHE": "0"}) is None
    assert cache_mod.for_policy(Policy(data={"cache": {"ttl": "2h"}}), env).ttl == 7200
    assert cache_mod.for_policy(Policy(data={"cache": {"ttl": "soon"}}), env) is None
    assert cache_mod.default_dir(Policy(data={"cache": {"path": str(tmp_path / "p")}}), {}) == tmp_path / "p"


def test_gate_caches_only_clean_allows(tmp_path, monkeypatch):
    from guardpolicy.errors import PolicyViolation
    from guardpolicy.policy import load_policy
    from guardpolicy.runtime import gate

    monkeypatch.setenv("GUARD_CACHE_DIR", str(tmp_path))
    policy_file = tmp_path / "p.toml"
    policy_file.write_text('extends = ["default"]\ndeny = ["evilpkg"]\n')
    policy = load_policy(str(policy_file))
    clean = PackageRef("goodpkg", "==1.0", version="1.0")
    warned = PackageRef("floaty", ">=1")
    bad = PackageRef("evilpkg", "==1.0", version="1.0")
    gate.enforce([clean, warned], "test", policy=policy)
    c = cache_mod.for_policy(policy)
    key = gate.cache_digest(policy)
    assert key != policy.digest and key == gate.cache_digest(policy)
    assert c.is_allowed(clean, key)
    assert not c.is_allowed(warned, key)  # a warning is never cached
    with pytest.raises(PolicyViolation):
        gate.enforce([clean, bad], "test", policy=policy)
    assert not c.is_allowed(bad, key)
    # a changed policy (new deny entry) must not reuse the old allow
    policy_file.write_text('extends = ["default"]\ndeny = ["evilpkg", "goodpkg"]\n')
    stricter = load_policy(str(policy_file))
    with pytest.raises(PolicyViolation):
        gate.enforce([clean], "test", policy=stricter)


HAMMER = textwrap.dedent("""
    import sys
    from guardpolicy.model import PackageRef
    from guardpolicy.runtime.cache import DecisionCache
    worker, n, path = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    c = DecisionCache(path)
    wrote = 0
    for i in range(n):
        mine = PackageRef(f"pkg-{worker}-{i}", version="1.0")
        shared = PackageRef(f"shared-{i % 10}", version="1.0")
        wrote += c.store_allowed([mine, shared], "pol")
        assert c.is_allowed(mine, "pol")
        c.is_allowed(PackageRef(f"pkg-{(worker + 1) % 6}-{i}", version="1.0"), "pol")
    print(wrote, c.errors)
""")


def test_many_processes_hammering_the_cache(tmp_path):
    path = tmp_path / "shared.sqlite3"
    script = tmp_path / "hammer.py"
    script.write_text(HAMMER)
    workers, n = 6, 60
    procs = [subprocess.Popen([sys.executable, str(script), str(w), str(n), str(path)], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for w in range(workers)]
    results = [p.communicate(timeout=240) for p in procs]
    for (out, err), p in zip(results, procs):
        assert p.returncode == 0, err
        wrote, errors = map(int, out.split())
        assert (wrote, errors) == (2 * n, 0)
    c = DecisionCache(path)
    st = c.stats()
    assert st["integrity"] == "ok"
    assert st["entries"] == workers * n + 10  # every private entry plus the 10 shared ones, none lost
    for w in range(workers):
        for i in range(n):
            assert c.is_allowed(PackageRef(f"pkg-{w}-{i}", version="1.0"), "pol")
    c.close()


def test_cache_cli(tmp_path):
    env = {"GUARD_CACHE_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
    c = DecisionCache(tmp_path / cache_mod.DB_NAME)
    c.store_allowed([PackageRef("a", version="1"), PackageRef("b", version="1")], "pol")
    c.close()
    run = lambda *a: subprocess.run([sys.executable, "-m", "guardpolicy", "cache", *a], capture_output=True, text=True,
                                    env=env, timeout=60)
    r = run("stats")
    assert r.returncode == 0 and "entries:         2 (PackageRef: 2)" in r.stdout and "integrity:       ok" in r.stdout
    r = run("clear")
    assert r.returncode == 0 and "cleared 2 cached decisions" in r.stdout
    assert "entries:         0" in run("stats").stdout


def test_cache_clear_removes_a_corrupt_database(tmp_path):
    """The runtime treats a corrupt cache as misses (never an allow); `guard cache clear` must be able to fix it."""
    env = {"GUARD_CACHE_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
    path = tmp_path / cache_mod.DB_NAME
    path.write_bytes(b"this is not a database" * 100)
    run = lambda *a: subprocess.run([sys.executable, "-m", "guardpolicy", "cache", *a], capture_output=True, text=True,
                                    env=env, timeout=60)
    r = run("stats")
    assert r.returncode == 2 and "guard cache clear" in r.stderr and "Traceback" not in r.stderr
    r = run("clear")
    assert r.returncode == 0, r.stderr
    assert "removed the unusable cache database" in r.stdout and not path.exists()
    c = DecisionCache(path)  # recreated on the next use
    c.store_allowed([PackageRef("a", version="1")], "pol")
    assert c.is_allowed(PackageRef("a", version="1"), "pol")
    c.close()
    r = run("stats")
    assert r.returncode == 0 and "entries:         1" in r.stdout and "integrity:       ok" in r.stdout
