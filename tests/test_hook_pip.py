"""Real pip in a real venv with the hook installed by `guard hook install`, against a local index.

The index (tests/pipindex.py) serves hand-built wheels and sdists on 127.0.0.1. Machine pip
config is isolated (PIP_CONFIG_FILE=/dev/null, no PIP_* variables). The venv uses ensurepip's
pip; set GUARD_TEST_PIP_WHEELS=DIR (pip-*.whl files) to run the same tests on more pip versions.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

# real pip in real venvs against a local index on 127.0.0.1
pytestmark = [pytest.mark.slow, pytest.mark.network]

from pipindex import BACKEND, Index, build_sdist, build_wheel, make_venv, now_iso, pip_env, write_tar_gz

PIP_WHEELS = sorted(Path(os.environ["GUARD_TEST_PIP_WHEELS"]).glob("pip-*.whl")) if os.environ.get("GUARD_TEST_PIP_WHEELS") else []


@pytest.fixture(scope="module", params=[None, *PIP_WHEELS], ids=lambda p: "bundled-pip" if p is None else p.name)
def env(request, tmp_path_factory):
    """Index + venv with the hook + policies; yields a small namespace."""
    base = tmp_path_factory.mktemp("pipenv")
    files = base / "files"
    build_wheel(files, "goodpkg", "1.0")
    build_wheel(files, "goodpkg", "1.1")
    build_wheel(files, "evilpkg", "1.0")
    build_wheel(files, "badparent", "1.0", requires=["evilpkg"])
    build_wheel(files, "goodparent", "1.0", requires=["goodpkg==1.0"])
    build_wheel(files, "reqeusts", "1.0")                    # typosquat of a popular name
    build_wheel(files, "requests", "99.0")
    build_wheel(files, "freshpkg", "0.9")
    build_wheel(files, "freshpkg", "1.0")
    build_wheel(files, "freshonly", "1.0")
    build_wheel(files, "guardtest-backend", "1.0", files={"guardtest_backend.py": BACKEND})
    # huggingface_hub 2.4 requires httpx2 and httpcore2, names one version away from httpx/httpcore
    build_wheel(files, "huggingface-hub", "2.4.0", requires=["httpx2==1.0", "httpcore2==1.0"])
    build_wheel(files, "httpx2", "1.0")
    build_wheel(files, "httpcore2", "1.0")
    build_wheel(files, "obscurepkg", "1.0", requires=["reqeusts==1.0"])   # no popular package vouches for it
    build_wheel(files, "sideload", "1.0")   # installed around the hook (test of `guard hook status`)
    build_sdist(files, "sdistpkg", "1.0", build_requires=("guardtest-backend",))          # unpinned build req
    build_sdist(files, "badbuild", "1.0", build_requires=("guardtest-backend", "evilpkg"))  # denied build req
    index = Index(files).start()
    index.upload_times["freshpkg-1.0-py3-none-any.whl"] = now_iso()
    index.upload_times["freshonly-1.0-py3-none-any.whl"] = now_iso()
    python = make_venv(base / "venv", pip_wheel=request.param)
    cache = base / "cache"
    r = subprocess.run([sys.executable, "-m", "guardpolicy", "hook", "install", "--python", str(python)],
                       capture_output=True, text=True, env=pip_env({"GUARD_CACHE_DIR": str(cache)}), timeout=300)
    assert r.returncode == 0, r.stderr + r.stdout

    def policy(name, extra=""):
        path = base / f"{name}.toml"
        path.write_text(f'extends = ["default"]\ndeny = ["evilpkg"]\n\n[sources]\nindexes = ["{index.url}"]\n'
                        f'allow_http = true\n{extra}\n')
        return path

    class Env:
        pass

    e = Env()
    e.base, e.index, e.python, e.cache = base, index, python, cache
    e.policy = policy("policy")
    e.policy_strict = policy("strict", '\n[rules.unpinned]\naction = "deny"\n')
    e.policy_age = policy("age", '\n[rules.release-age]\nmin_release_age = "3d"\n')
    e.policy_typo = policy("typo", "")

    def pip(*args, policy=None, extra_env=None, cwd=None):
        environ = pip_env({"GUARD_POLICY": str(policy or e.policy), "GUARD_CACHE_DIR": str(cache), **(extra_env or {})})
        return subprocess.run([str(python), "-m", "pip", *args, "--no-cache-dir", "-i", index.url] if args[0] in (
            "install", "download", "wheel") else [str(python), "-m", "pip", *args], capture_output=True, text=True,
            env=environ, timeout=300, cwd=cwd or base)

    def installed(name):
        r = subprocess.run([str(python), "-m", "pip", "show", "-q", name], capture_output=True, text=True,
                           env=pip_env(), timeout=120)
        return r.returncode == 0

    e.pip, e.installed = pip, installed
    yield e
    index.stop()


def test_hook_status_reports_active_policy_and_mode(env):
    r = subprocess.run([sys.executable, "-m", "guardpolicy", "hook", "status", "--python", str(env.python)],
                       capture_output=True, text=True, env=pip_env({"GUARD_POLICY": str(env.policy)}), timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "active:        yes" in r.stdout
    assert f"policy:        {env.policy}" in r.stdout and "GUARD_POLICY environment variable" in r.stdout
    assert "mode:          enforce (from policy" in r.stdout
    assert "python -S" in r.stdout


def test_good_install_succeeds(env):
    r = env.pip("install", "goodparent==1.0")
    assert r.returncode == 0, r.stderr
    assert env.installed("goodparent") and env.installed("goodpkg")


def test_bad_transitive_dependency_refused_before_download(env):
    before = len(env.index.requests)
    r = env.pip("install", "badparent==1.0")
    assert r.returncode == 1, r.stdout + r.stderr
    out = r.stdout + r.stderr
    assert "guard-policy-violation" in out
    assert "ERROR: guard: [denylist] evilpkg==1.0" in out
    assert "Traceback" not in out
    assert not env.installed("badparent") and not env.installed("evilpkg")
    # the pre-fetch gate stopped pip before it fetched the denied wheel
    assert not any(p.startswith("/files/evilpkg") for p in env.index.requests[before:])


def test_denied_root_refused(env):
    r = env.pip("install", "evilpkg==1.0")
    assert r.returncode == 1
    assert "[denylist]" in r.stderr and not env.installed("evilpkg")


def test_dry_run_is_gated(env):
    bad = env.pip("install", "--dry-run", "badparent==1.0")
    assert bad.returncode == 1 and "guard-policy-violation" in bad.stdout + bad.stderr
    good = env.pip("install", "--dry-run", "--ignore-installed", "--report", "-", "--quiet", "goodpkg==1.1")
    assert good.returncode == 0, good.stderr
    assert [i["metadata"]["version"] for i in json.loads(good.stdout)["install"]] == ["1.1"]


def test_download_is_gated(env, tmp_path):
    r = env.pip("download", "-d", str(tmp_path / "bad"), "badparent==1.0")
    assert r.returncode == 1
    assert not list((tmp_path / "bad").glob("evilpkg*"))
    r = env.pip("download", "-d", str(tmp_path / "good"), "goodpkg==1.0")
    assert r.returncode == 0, r.stderr
    assert [p.name for p in (tmp_path / "good").iterdir()] == ["goodpkg-1.0-py3-none-any.whl"]


def test_wheel_is_gated(env, tmp_path):
    r = env.pip("wheel", "-w", str(tmp_path), "badparent==1.0")
    assert r.returncode == 1 and "evilpkg" in r.stderr


def test_legacy_resolver_is_gated(env):
    r = env.pip("install", "--use-deprecated=legacy-resolver", "badparent==1.0")
    assert r.returncode == 1, r.stdout + r.stderr
    assert "evilpkg" in r.stderr and not env.installed("evilpkg") and not env.installed("badparent")


def test_unpinned_root_warns_by_default_and_denies_under_strict(env):
    warn = env.pip("install", "--dry-run", "goodpkg")
    assert warn.returncode == 0
    assert "guard: WARNING [unpinned] goodpkg" in warn.stderr
    deny = env.pip("install", "--dry-run", "goodpkg", policy=env.policy_strict)
    assert deny.returncode == 1 and "[unpinned]" in deny.stderr


def test_mode_override_and_kill_switch(env):
    warned = env.pip("install", "--dry-run", "badparent==1.0", extra_env={"GUARD_MODE": "warn"})
    assert warned.returncode == 0 and "guard: WARNING [denylist] evilpkg" in warned.stderr
    # checked as resolved and again before fetching: still one line per finding
    lines = [l for l in warned.stderr.splitlines() if l.startswith("guard: WARNING")]
    assert len(lines) == len(set(lines)), warned.stderr
    assert "guard: WARNING [denylist] evilpkg==1.0 matches" in warned.stderr  # subject not repeated
    off = env.pip("install", "--dry-run", "badparent==1.0", extra_env={"GUARDPOLICY_DISABLE": "1"})
    assert off.returncode == 0 and "guard" not in off.stderr
    # the kill switch is the policy's call, like GUARD_MODE=off: a policy that forbids overrides wins
    locked = env.base / "no-override.toml"
    locked.write_text(env.policy.read_text().replace('deny = ["evilpkg"]', 'deny = ["evilpkg"]\nallow_mode_override = false'))
    refused = env.pip("install", "--dry-run", "badparent==1.0", policy=locked, extra_env={"GUARDPOLICY_DISABLE": "1"})
    assert refused.returncode == 1, refused.stderr
    assert "GUARDPOLICY_DISABLE ignored" in refused.stderr and "[denylist] evilpkg" in refused.stderr


def test_broken_policy_fails_closed_but_python_runs(env, tmp_path):
    broken = tmp_path / "broken.toml"
    broken.write_text("mode = [unclosed\n")
    environ = pip_env({"GUARD_POLICY": str(broken)})
    r = subprocess.run([str(env.python), "-c", "print(1)"], capture_output=True, text=True, env=environ, timeout=60)
    assert (r.returncode, r.stdout, r.stderr) == (0, "1\n", "")
    r = env.pip("install", "--dry-run", "goodpkg==1.0", policy=broken)
    assert r.returncode == 1
    assert "policy error" in r.stderr and str(broken) in r.stderr and "Traceback" not in r.stderr


def test_release_age_denies_fresh_upload(env):
    r = env.pip("install", "--dry-run", "freshonly==1.0", policy=env.policy_age)
    assert r.returncode == 1, r.stdout + r.stderr
    assert "[release-age] freshonly==1.0 was uploaded" in r.stderr and "requires 3d" in r.stderr
    old = env.pip("install", "--dry-run", "goodpkg==1.0", policy=env.policy_age)
    assert old.returncode == 0, old.stderr


def test_release_age_holds_back_to_older_version(env):
    r = env.pip("install", "--dry-run", "--ignore-installed", "--quiet", "--report", "-", "freshpkg",
                policy=env.policy_age)
    assert r.returncode == 0, r.stderr
    assert [i["metadata"]["version"] for i in json.loads(r.stdout)["install"]] == ["0.9"]
    assert "guard: holding back freshpkg 1.0" in r.stderr
    # without the rule, the newest version wins
    r = env.pip("install", "--dry-run", "--ignore-installed", "--quiet", "--report", "-", "freshpkg")
    assert [i["metadata"]["version"] for i in json.loads(r.stdout)["install"]] == ["1.0"]


def test_build_dependencies_use_build_section(env):
    # unpinned build requirement: allowed even where the policy denies unpinned runtime requirements
    r = env.pip("install", "sdistpkg==1.0", policy=env.policy_strict)
    assert r.returncode == 0, r.stdout + r.stderr
    assert env.installed("sdistpkg")
    # a denied build requirement stops the build in pip's build-deps subprocess
    r = env.pip("install", "badbuild==1.0")
    assert r.returncode != 0
    assert "evilpkg" in r.stdout + r.stderr and "build dependencies" in r.stdout + r.stderr
    assert not env.installed("badbuild")


def test_what_a_popular_package_requires_is_not_a_typosquat(env):
    """huggingface_hub 2.4 requires httpx2: the resolver's word clears it (the issue's blocked install)."""
    r = env.pip("install", "huggingface-hub==2.4.0", policy=env.policy_typo)
    assert r.returncode == 0, r.stdout + r.stderr
    assert env.installed("httpx2") and env.installed("httpcore2")
    assert "typosquat" not in r.stderr, r.stderr  # cleared, not merely warned
    # alone, httpx2 is a version stuck on a top name: weak evidence, a warning, never a refusal
    alone = env.pip("install", "--dry-run", "httpx2==1.0", policy=env.policy_typo, extra_env={"GUARD_OFFLINE": "1"})
    assert alone.returncode == 0 and "typosquat" in alone.stderr, alone.stderr
    # a package nobody popular vouches for passes no trust on: its squat dependency is refused
    bad = env.pip("install", "obscurepkg==1.0", policy=env.policy_typo)
    assert bad.returncode == 1 and "[typosquat]" in bad.stderr and "reqeusts" in bad.stderr
    assert not env.installed("obscurepkg")


def test_typosquat_of_popular_name_refused(env):
    r = env.pip("install", "reqeusts==1.0", policy=env.policy_typo)
    assert r.returncode == 1 and "[typosquat]" in r.stderr
    # the waiver hint names the real rule and subject (issue 14), ready to paste
    assert 'rule = "typosquat" subject = "reqeusts"' in r.stderr and "<rule>" not in r.stderr
    assert not env.installed("reqeusts")


def test_guard_install_wrapper(env):
    """`guard install -- python -m pip install ...` resolves, checks the full set, installs only when it passes."""
    environ = pip_env({"GUARD_POLICY": str(env.policy), "GUARD_CACHE_DIR": str(env.cache)})
    cmd = [sys.executable, "-m", "guardpolicy", "install", "--", str(env.python), "-m", "pip", "install",
           "--no-cache-dir", "-i", env.index.url]
    bad = subprocess.run([*cmd, "badparent==1.0"], capture_output=True, text=True, env=environ, timeout=300)
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert "evilpkg" in bad.stdout and "nothing installed" in bad.stderr
    assert not env.installed("badparent")
    good = subprocess.run([*cmd, "goodpkg==1.1"], capture_output=True, text=True, env=environ, timeout=300)
    assert good.returncode == 0, good.stdout + good.stderr
    r = subprocess.run([str(env.python), "-c", "import goodpkg; print(goodpkg.VERSION)"], capture_output=True, text=True,
                       env=pip_env(), timeout=60)
    assert r.stdout.strip() == "1.1"


def test_guard_install_decisions_reach_the_audit_log(env, tmp_path):
    """The installer runs with the hook off (GUARDPOLICY_DISABLE=1), so guard install must log its own decision."""
    environ = pip_env({"GUARD_POLICY": str(env.policy), "GUARD_CACHE_DIR": str(env.cache),
                       "XDG_STATE_HOME": str(tmp_path / "state")})
    cmd = [sys.executable, "-m", "guardpolicy", "install", "--", str(env.python), "-m", "pip", "install",
           "--no-cache-dir", "-i", env.index.url, "badparent==1.0"]
    bad = subprocess.run(cmd, capture_output=True, text=True, env=environ, timeout=300)
    assert bad.returncode == 1, bad.stdout + bad.stderr
    log = tmp_path / "state" / "guardpolicy" / "log" / "decisions.jsonl"
    records = [json.loads(line) for line in log.read_text().splitlines()]
    # the installer's own hook asked for mode off (GUARDPOLICY_DISABLE) and logs that too; guard install's decision:
    records = [r for r in records if r["operation"].startswith("guard install")]
    assert {r["run_decision"] for r in records} == {"deny"} and len({r["decision_id"] for r in records}) == 1
    assert records[0]["operation"].startswith("guard install -- ") and "badparent==1.0" in records[0]["operation"]
    assert any(r["name"] == "evilpkg" and r["decision"] == "deny" for r in records)


def test_find_links_without_index(env, tmp_path):
    r = env.pip("download", "--no-index", "-f", str(env.base / "files"), "-d", str(tmp_path), "goodpkg==1.0")
    assert r.returncode == 0, r.stderr
    r = env.pip("download", "--no-index", "-f", str(env.base / "files"), "-d", str(tmp_path / "x"), "badparent==1.0")
    assert r.returncode == 1 and "evilpkg" in r.stderr


def test_failed_pip_patch_fails_closed(env):
    """A patch that cannot be applied must not let pip run unchecked: the import works, the install is refused."""
    code = ("import sys, runpy, guardpolicy._startup as s; "
            "s.TARGETS['pip._internal.operations.prepare'] = 'guardpolicy.runtime.pip:no_such_patch'; "
            "sys.argv = ['pip', 'install', '--dry-run', '--no-cache-dir', '-i', sys.argv[1], 'goodpkg==1.0']; "
            "runpy.run_module('pip', run_name='__main__')")
    environ = pip_env({"GUARD_POLICY": str(env.policy), "GUARD_CACHE_DIR": str(env.cache)})
    r = subprocess.run([str(env.python), "-c", code, env.index.url], capture_output=True, text=True, env=environ,
                       timeout=300)
    assert r.returncode == 1, r.stdout + r.stderr
    assert "guard: could not patch pip._internal.operations.prepare" in r.stderr
    assert "patch failed" in r.stderr and "Traceback" not in r.stderr


def _uv():
    import shutil

    found = shutil.which("uv") or (Path(sys.executable).parent / "uv")
    return str(found) if found and Path(found).exists() else None


def test_guard_install_wrapper_with_uv(env):
    """`guard install -- uv pip install ...`: uv runs no Python of ours, so guard resolves and checks first."""
    uv = _uv()
    if uv is None:
        pytest.skip("uv is not installed (it is in the 'test' extra)")
    environ = pip_env({"GUARD_POLICY": str(env.policy), "GUARD_CACHE_DIR": str(env.cache), "UV_NO_CONFIG": "1",
                       "UV_CACHE_DIR": str(env.base / "uv-cache"), "UV_PYTHON_DOWNLOADS": "never"})
    cmd = [sys.executable, "-m", "guardpolicy", "install", "--", uv, "pip", "install", "--python", str(env.python),
           "--index-url", env.index.url]
    bad = subprocess.run([*cmd, "badparent==1.0"], capture_output=True, text=True, env=environ, timeout=300)
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert "evilpkg" in bad.stdout and "nothing installed" in bad.stderr
    assert not env.installed("badparent") and not env.installed("evilpkg")
    good = subprocess.run([*cmd, "goodparent==1.0"], capture_output=True, text=True, env=environ, timeout=300)
    assert good.returncode == 0, good.stdout + good.stderr
    assert env.installed("goodparent")
    # uv's "# via huggingface-hub" is the resolver's word: httpx2 is cleared, not warned about
    hub = subprocess.run([*cmd, "huggingface-hub==2.4.0"], capture_output=True, text=True, env=environ, timeout=300)
    assert hub.returncode == 0 and "typosquat" not in hub.stdout + hub.stderr, hub.stdout + hub.stderr


def test_a_cloned_repositorys_policy_cannot_switch_off_the_users_floor_under_the_hook(env, tmp_path):
    """Issue 13: the user policy denies evilpkg; a cloned repo's guard.toml says mode off. pip still refuses."""
    floor = tmp_path / "userconf"
    floor.mkdir()
    floor.joinpath("guard.toml").write_text(env.policy.read_text(), encoding="utf-8")  # deny evilpkg, local index
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    (repo / "guard.toml").write_text('extends = []\nmode = "off"\n', encoding="utf-8")
    environ = pip_env({"GUARD_CONFIG_DIR": str(floor), "GUARD_CACHE_DIR": str(env.cache)})
    r = subprocess.run([str(env.python), "-m", "pip", "install", "--no-cache-dir", "-i", env.index.url, "evilpkg==1.0"],
                       capture_output=True, text=True, env=environ, timeout=300, cwd=repo)
    assert r.returncode == 1, r.stdout + r.stderr
    assert f"ignoring policy {repo / 'guard.toml'}" in r.stderr and "mode lowers" in r.stderr and "evilpkg" in r.stderr
    assert not env.installed("evilpkg")
    # the rest of the work goes on under the floor
    ok = subprocess.run([str(env.python), "-m", "pip", "install", "--no-cache-dir", "-i", env.index.url, "goodpkg==1.0"],
                        capture_output=True, text=True, env=environ, timeout=300, cwd=repo)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    # GUARD_POLICY pointing at a lax file is layered on the floor too
    lax = tmp_path / "lax.toml"
    lax.write_text('extends = []\nmode = "off"\n', encoding="utf-8")
    r = subprocess.run([str(env.python), "-m", "pip", "install", "--no-cache-dir", "-i", env.index.url, "evilpkg==1.0"],
                       capture_output=True, text=True, env={**environ, "GUARD_POLICY": str(lax)}, timeout=300, cwd=tmp_path)
    assert r.returncode == 1 and str(lax) in r.stderr, r.stdout + r.stderr
    assert not env.installed("evilpkg")


def test_a_policy_pinned_at_hook_install_is_the_environments_floor(env, tmp_path):
    """Issue 13: `guard hook install --policy REF` records the policy and its sha256; GUARD_POLICY only
    layers on it, and an edited pinned file makes gated operations fail closed."""
    pinned = tmp_path / "pinned.toml"
    pinned.write_text(env.policy.read_text(), encoding="utf-8")            # denies evilpkg
    lax = tmp_path / "lax.toml"
    lax.write_text('extends = []\nmode = "off"\n', encoding="utf-8")
    install = [sys.executable, "-m", "guardpolicy", "hook", "install", "--python", str(env.python)]
    r = subprocess.run([*install, "--policy", str(pinned)], capture_output=True, text=True, env=pip_env(), timeout=300)
    assert r.returncode == 0 and "pinned policy" in r.stdout, r.stdout + r.stderr
    try:
        environ = pip_env({"GUARD_POLICY": str(lax), "GUARD_CACHE_DIR": str(env.cache)})
        pip = [str(env.python), "-m", "pip", "install", "--no-cache-dir", "-i", env.index.url]
        r = subprocess.run([*pip, "evilpkg==1.0"], capture_output=True, text=True, env=environ, timeout=300, cwd=tmp_path)
        assert r.returncode == 1 and str(lax) in r.stderr, r.stdout + r.stderr
        pinned.write_text(pinned.read_text() + '\nmode = "off"\n', encoding="utf-8")     # edit the floor
        environ = pip_env({"GUARD_CACHE_DIR": str(env.cache)})
        r = subprocess.run([*pip, "goodpkg==1.0"], capture_output=True, text=True, env=environ, timeout=300, cwd=tmp_path)
        assert r.returncode == 1 and "changed since it was pinned" in r.stderr, r.stdout + r.stderr
        assert not env.installed("evilpkg")
    finally:
        subprocess.run(install, capture_output=True, text=True, env=pip_env(), timeout=300)  # unpin for the other tests


def _sdist_with_payload(dest, filename, top, marker, name="reqeusts", version="1.0", pkg_info=True):
    """A legacy sdist whose setup.py would create ``marker`` the moment pip builds it."""
    files = {f"{top}/setup.py": f"open({str(marker)!r}, 'w').write('ran')\n"
                                f"from setuptools import setup\nsetup(name={name!r}, version={version!r})\n"}
    if pkg_info:
        files[f"{top}/PKG-INFO"] = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
    return write_tar_gz(dest / filename, files)


def test_a_refused_sdist_never_runs_its_build(env, tmp_path):
    """Issue 14: `pip install ./reqeusts-1.0.tar.gz` used to run setup.py, then refuse. Judged by the
    name it carries (file name, else PKG-INFO) before anything is built; unknowable names are refused."""
    marker = tmp_path / "setup-py-ran"
    by_name = _sdist_with_payload(tmp_path, "reqeusts-1.0.tar.gz", "reqeusts-1.0", marker)
    r = env.pip("install", "--no-build-isolation", str(by_name), policy=env.policy_typo)
    assert r.returncode == 1 and "[typosquat]" in r.stderr, r.stdout + r.stderr
    assert not marker.exists() and not env.installed("reqeusts")
    # the file name says nothing: PKG-INFO, read without running anything, names it
    by_pkg_info = _sdist_with_payload(tmp_path, "archive.tar.gz", "archive", marker)
    r = env.pip("install", "--no-build-isolation", str(by_pkg_info), policy=env.policy_typo)
    assert r.returncode == 1 and "reqeusts" in r.stderr and not marker.exists(), r.stdout + r.stderr
    # nothing names it: refused, unbuilt
    anonymous = _sdist_with_payload(tmp_path, "blob.tar.gz", "blob", marker, pkg_info=False)
    r = env.pip("install", "--no-build-isolation", str(anonymous), policy=env.policy_typo)
    assert r.returncode == 1 and "cannot tell this archive's project name" in r.stderr and not marker.exists()


def test_guard_install_never_builds_a_refused_sdist_while_resolving(env, tmp_path):
    """Issue 14: `guard install -- python -m pip install ./reqeusts-1.0.tar.gz` resolved (and built) first;
    the resolve step now runs pip with guard's hook, so the sdist is refused before its build runs."""
    marker = tmp_path / "setup-py-ran"
    sdist = _sdist_with_payload(tmp_path, "reqeusts-1.0.tar.gz", "reqeusts-1.0", marker)
    environ = pip_env({"GUARD_POLICY": str(env.policy_typo), "GUARD_CACHE_DIR": str(env.cache)})
    r = subprocess.run([sys.executable, "-m", "guardpolicy", "install", "--", str(env.python), "-m", "pip", "install",
                        "--no-cache-dir", "--no-build-isolation", "-i", env.index.url, str(sdist)],
                       capture_output=True, text=True, env=environ, timeout=300)
    assert r.returncode != 0 and "typosquat" in (r.stdout + r.stderr), r.stdout + r.stderr
    assert not marker.exists() and not env.installed("reqeusts")


def test_the_builds_only_switch_cannot_lighten_a_real_install(env):
    """GUARDPOLICY_ONLY_BUILDS (guard install's dry-run resolve) changes nothing without --dry-run."""
    r = env.pip("install", "evilpkg==1.0", extra_env={"GUARDPOLICY_ONLY_BUILDS": "1"})
    assert r.returncode == 1 and "evilpkg" in r.stderr and not env.installed("evilpkg"), r.stdout + r.stderr


def test_guard_check_environment_judges_what_other_installers_put_there(env, tmp_path):
    """Issue 14: packages installed by anything but the hooked pip (uv, pipx, --prefix) are judged
    by `guard check --environment PYTHON` (and `guard check` with no target)."""
    python = make_venv(tmp_path / "plain")                           # no hook in this one
    r = subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-index", "--find-links", str(env.base / "files"),
                        "reqeusts==1.0", "goodpkg==1.0"], capture_output=True, text=True, env=pip_env(), timeout=300)
    assert r.returncode == 0, r.stderr
    proc = subprocess.run([sys.executable, "-m", "guardpolicy", "check", "--environment", str(python), "--format", "json"],
                          capture_output=True, text=True, env=pip_env(), timeout=300, cwd=tmp_path)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    report = json.loads(proc.stdout)
    assert [(f["rule"], f["subject"]) for f in report["findings"] if f["action"] == "deny"] == [("typosquat", "reqeusts==1.0")]
    assert f"{python} (installed)" in json.dumps(report)
    # with no target, the activated environment
    proc = subprocess.run([sys.executable, "-m", "guardpolicy", "check"], capture_output=True, text=True, timeout=300,
                          env=pip_env({"VIRTUAL_ENV": str(tmp_path / "plain")}), cwd=tmp_path)
    assert proc.returncode == 1 and "reqeusts" in proc.stdout, proc.stdout + proc.stderr


def test_hook_status_reports_what_was_installed_without_being_judged(env):
    """Issue 14: packages put into the environment by another installer (here the same pip with the
    hook switched off) are reported by `guard hook status` and make `guard hook verify` exit 1."""
    status = [sys.executable, "-m", "guardpolicy", "hook", "status", "--python", str(env.python)]
    verify = [sys.executable, "-m", "guardpolicy", "hook", "verify", "--python", str(env.python)]
    r = env.pip("install", "goodpkg==1.0")                                   # judged by the hook
    assert r.returncode == 0, r.stderr
    before = subprocess.run(status, capture_output=True, text=True, env=pip_env(), timeout=120).stdout
    assert "never judged" not in before, before
    r = env.pip("install", "sideload==1.0", extra_env={"GUARDPOLICY_DISABLE": "1"})   # mode off: not judged
    assert r.returncode == 0 and env.installed("sideload"), r.stderr
    after = subprocess.run(status, capture_output=True, text=True, env=pip_env(), timeout=120).stdout
    assert "never judged" in after and "sideload==1.0" in after and "goodpkg" not in after.split("never judged")[1]
    v = subprocess.run(verify, capture_output=True, text=True, env=pip_env(), timeout=120)
    assert v.returncode == 1 and "sideload==1.0" in v.stdout
    subprocess.run([str(env.python), "-m", "pip", "uninstall", "-y", "-q", "sideload"], env=pip_env(), timeout=120)
