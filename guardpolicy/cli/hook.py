"""``guard hook install|uninstall|status``: turn automatic enforcement on or off for an environment.

``install`` writes ``guardpolicy.pth`` (one ``import`` line that calls
``_guardpolicy_startup.install()``) into the target interpreter's purelib, plus the PEP 829
``guardpolicy.start`` entry point on Python 3.15+, or, with ``--sitecustomize``, a
``sitecustomize.py`` that chains the next one on ``sys.path`` (never overwriting an existing
one). It byte-compiles the startup modules so start-up stays fast under
``PYTHONDONTWRITEBYTECODE``, and records what it wrote in a manifest so ``uninstall`` removes
exactly that. ``status`` runs the target interpreter to see whether the hook is live, and names
the policy, the mode, where both came from, and the ways around the hook it can see.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Optional

MANIFEST = "guardpolicy-hook.json"
PTH, START, SITECUSTOMIZE = "guardpolicy.pth", "guardpolicy.start", "sitecustomize.py"
#: the guardpolicy modules the first gated import loads; compiled at install time with the start-up module
STARTUP_MODULES = ("__init__.py", "errors.py", "_startup.py")

#: run inside the target interpreter: where things are and whether the hook is live there
_PROBE = r"""
import json, os, site, sys, sysconfig
# what the .pth line sees: the start-up path, without the '' that `-c` adds for the working directory
sys.path[:] = [p for p in sys.path if p not in ("", os.getcwd())]
out = {"executable": sys.executable, "version": list(sys.version_info[:3]), "prefix": sys.prefix,
       "base_prefix": getattr(sys, "base_prefix", sys.prefix), "purelib": sysconfig.get_paths()["purelib"],
       "user_site": site.getusersitepackages() if site.ENABLE_USER_SITE else None,
       "no_site": bool(sys.flags.no_site), "isolated": bool(sys.flags.isolated),
       "active": any(getattr(f, "_guardpolicy_finder", False) for f in sys.meta_path)}
try:
    import importlib.metadata as _md, re as _re
    out["dists"] = sorted({_re.sub(r"[-_.]+", "-", d.metadata["Name"]).lower() + "==" + d.version
                           for d in _md.distributions() if d.metadata["Name"]})
except Exception:
    out["dists"] = None
try:
    import _guardpolicy_startup, guardpolicy, guardpolicy._startup
    out["startup"] = _guardpolicy_startup.__file__
    out["guardpolicy"] = os.path.dirname(guardpolicy.__file__)
    out["guardpolicy_version"] = getattr(guardpolicy, "__version__", None)
    out["failed"] = dict(guardpolicy._startup.FAILED)
except Exception as exc:
    out["guardpolicy"] = None
    out["import_error"] = "%s: %s" % (type(exc).__name__, exc)
try:
    import pluggy, packaging
    out["deps_ok"] = True
except Exception as exc:
    out["deps_ok"] = False
    out["deps_error"] = "%s: %s" % (type(exc).__name__, exc)
sc = sys.modules.get("sitecustomize")
out["sitecustomize"] = getattr(sc, "__file__", None)
if out.get("guardpolicy"):
    # the policy as this interpreter's hook will load it (its plugins, its guardpolicy version)
    try:
        from guardpolicy.policy import discover_policy_ref, load_policy
        ref, origin = discover_policy_ref()
        p = load_policy()
        out["policy"] = {"name": p.name, "origin": origin, "digest": p.digest, "mode": p.mode,
                         "mode_source": p.mode_source,
                         "layers": [l.where + ("  [" + (l.bundle or {}).get("status", "") + "]" if l.bundle else "")
                                    for l in p.layers]}
    except Exception as exc:
        out["policy_error"] = str(exc) or type(exc).__name__
print(json.dumps(out))
"""


class _LayerStub:
    """Just enough of a ``Layer`` for ``layer_facts`` on a file the target interpreter named."""

    def __init__(self, path: str):
        self.path, self.bundle = path, None
        try:
            self.text = Path(path).read_text(encoding="utf-8", errors="replace")
        except OSError:
            self.text = ""


def add_parser(sub) -> None:
    """Register ``hook`` with ``install``, ``uninstall`` and ``status``."""
    p = sub.add_parser("hook", help="install, remove or inspect the startup hook that gates pip, Hub downloads and torch.load",
                       description="Automatic enforcement for one Python environment. Exit 0 ok; status exits 1 when the hook is not active; 2 on errors.")
    hsub = p.add_subparsers(dest="hook_command", metavar="ACTION", required=True)
    for name, helptext in (("install", "put the startup hook into the interpreter's site-packages"),
                           ("uninstall", "remove exactly what 'guard hook install' wrote"),
                           ("status", "is the hook active, which policy and mode apply, and what bypasses it"),
                           ("verify", "exit 1 when the hook's files changed, vanished or another .pth tampers with it")):
        q = hsub.add_parser(name, help=helptext, description=helptext)
        q.add_argument("--python", metavar="PATH", default=None,
                       help="the target interpreter (default: the activated venv's python, else the one running guard)")
        if name == "install":
            q.add_argument("--sitecustomize", action="store_true",
                           help="write a chaining sitecustomize.py instead of the .pth (never overwrites an existing one)")
            q.add_argument("--policy", metavar="NAME|PATH", default=None, dest="pin_policy",
                           help="pin this policy (a shipped name or a file) into the environment's floor: recorded "
                                "with its sha256; project policies and GUARD_POLICY may only tighten it, and a changed "
                                "file makes gated operations fail closed until installed again")


# ------------------------------------------------------------------ helpers (pure where possible)


def probe(python: str, env=None) -> dict:
    """Run ``_PROBE`` in ``python``; ``UsageError`` when it cannot run."""
    import json
    import subprocess

    from ..errors import UsageError

    try:
        proc = subprocess.run([python, "-c", _PROBE], capture_output=True, text=True, timeout=60, env=env)
    except (OSError, subprocess.SubprocessError) as exc:
        raise UsageError(f"cannot run {python}: {exc}") from None
    if proc.returncode != 0:
        raise UsageError(f"{python} failed to report its paths: {proc.stderr.strip().splitlines()[-1:] or proc.returncode}")
    try:
        return json.loads(proc.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        raise UsageError(f"{python} printed no usable path report") from None


def templates_dir():
    """The folder with the hook templates: packaged ``guardpolicy/_sitecustomize``, or ``sitecustomize/`` in a checkout."""
    from pathlib import Path

    pkg = Path(__file__).resolve().parent.parent
    packaged = pkg / "_sitecustomize"
    return packaged if packaged.is_dir() else pkg.parent / "sitecustomize"


def supports_start_files(version) -> bool:
    """True for Python versions that read PEP 829 ``.start`` files (3.15+)."""
    return tuple(version[:2]) >= (3, 15)


def file_digest(data: bytes) -> str:
    """sha256 hex of ``data`` (the manifest records what was written)."""
    import hashlib

    return hashlib.sha256(data).hexdigest()


def read_manifest(purelib):
    """The install manifest in ``purelib`` as a dict, or ``None``."""
    import json
    from pathlib import Path

    path = Path(purelib) / MANIFEST
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def bypasses(info: dict, env, manifest) -> list:
    """The ways around the hook visible from ``info`` (a probe result) and ``env``."""
    out = []
    in_user_site = bool(info.get("user_site")) and info["purelib"] == info.get("user_site")
    out.append("`python -S` skips site-packages processing: the hook does not load (nothing can prevent this)")
    if in_user_site:
        out.append("the hook lives in the user site: `python -s`, `python -I` and PYTHONNOUSERSITE=1 skip it")
    else:
        out.append("`python -I` / `-s` do not skip it (hook is in the environment's site-packages)")
    flag = env.get("GUARDPOLICY_DISABLE")
    if flag and flag != "0":
        out.append(f"GUARDPOLICY_DISABLE={flag} is set in this shell: asks to run unguarded "
                   "(honoured only if the policy allows mode overrides, like GUARD_MODE=off)")
    if env.get("PYTHONNOUSERSITE") and in_user_site:
        out.append("PYTHONNOUSERSITE is set in this shell: the user-site hook is skipped")
    if env.get("GUARD_MODE"):
        out.append(f"GUARD_MODE={env['GUARD_MODE']} is set in this shell (applies only if the policy allows mode overrides)")
    if manifest and manifest.get("kind") == "sitecustomize" and info.get("sitecustomize") and \
            info["sitecustomize"] != manifest.get("files", [{}])[0].get("path"):
        out.append(f"another sitecustomize.py wins the import ({info['sitecustomize']}): ours never runs; use the .pth hook")
    out.append("installers that run no Python of this environment (uv, pip of another interpreter) are not hooked: "
               "use `guard install -- uv pip install ...`")
    return out


def other_interpreters(info: dict, env, limit: int = 6) -> list:
    """Python executables on PATH that belong to a different environment (they run without this hook)."""
    import shutil

    seen, out = set(), []
    here = os.path.realpath(info.get("prefix") or "")
    for name in ("python3", "python", f"python{info['version'][0]}.{info['version'][1]}"):
        found = shutil.which(name, path=env.get("PATH"))
        if not found:
            continue
        real = os.path.realpath(found)
        if real in seen:
            continue
        seen.add(real)
        # an interpreter inside this prefix is this environment
        if os.path.realpath(os.path.dirname(os.path.dirname(found))) == here:
            continue
        out.append(found)
        if len(out) >= limit:
            break
    return out


# ------------------------------------------------------------------ actions


def pinned_policy_record(ref: str) -> dict:
    """What ``guard hook install --policy REF`` records: the policy file's absolute path and sha256.

    A shipped name is pinned as the shipped file of this guardpolicy. The file is read and
    validated now (a pin that cannot load would lock the environment out).
    """
    import hashlib

    from ..errors import UsageError
    from ..policy import load_policy
    from ..policy.loader import _is_shipped_name, shipped_dir
    from ..policy.trust import untrusted_reason

    path = shipped_dir() / f"{ref}.toml" if _is_shipped_name(ref) else Path(ref).expanduser().resolve()
    if not path.is_file():
        raise UsageError(f"--policy {ref}: no such policy file (a shipped name or a path)")
    why = untrusted_reason(path)
    if why is not None:
        raise UsageError(f"--policy {path}: {why}: a floor must be yours or root's")
    load_policy(str(path), floor=False)  # raises PolicyError naming file and line
    return {"path": str(path), "sha256": hashlib.sha256(path.read_bytes()).hexdigest()}


def do_install(python: str, use_sitecustomize: bool, out=sys.stdout, pin: Optional[str] = None) -> int:
    """Write the hook files into ``python``'s purelib, compile the startup modules, verify."""
    import datetime as _dt
    import json
    import subprocess
    from pathlib import Path

    from .. import __version__
    from ..errors import UsageError

    info = probe(python)
    if not info.get("guardpolicy"):
        raise UsageError(f"guardpolicy is not importable by {python} ({info.get('import_error')}): install it there first "
                         f"(`{python} -m pip install guardpolicy`), then run this again")
    if not info.get("deps_ok"):
        raise UsageError(f"guardpolicy's dependencies are missing in {python} ({info.get('deps_error')})")
    purelib = Path(info["purelib"])
    if not purelib.is_dir():
        raise UsageError(f"{purelib}: site-packages folder of {python} does not exist")
    tdir = templates_dir()
    previous = read_manifest(purelib)
    planned = []  # (path, bytes)
    if use_sitecustomize:
        target = purelib / SITECUSTOMIZE
        if target.exists() and not (previous and any(f["path"] == str(target) for f in previous.get("files", ()))):
            raise UsageError(f"{target} already exists and is not ours: not overwriting it (only one sitecustomize "
                             f"can win); run `guard hook install` without --sitecustomize to use the .pth hook")
        planned.append((target, (tdir / "sitecustomize.py.tmpl").read_bytes()))
    else:
        planned.append((purelib / PTH, (tdir / PTH).read_bytes()))
        if supports_start_files(info["version"]):
            planned.append((purelib / START, (tdir / START).read_bytes()))
    # a re-install switching kind removes the old kind's files first (only ones we wrote)
    if previous:
        _remove_recorded(previous, keep={str(p) for p, _ in planned}, out=out)
    written = []
    for path, data in planned:
        tmp = path.with_name(path.name + ".guard-tmp")
        tmp.write_bytes(data)
        tmp.replace(path)
        written.append({"path": str(path), "sha256": file_digest(data)})
    manifest = {"kind": "sitecustomize" if use_sitecustomize else "pth", "files": written, "guard_version": __version__,
                "installed_at": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"), "python": python}
    if info.get("dists") is not None:
        # what was there before the hook: the baseline `hook status` compares later installs with
        manifest["baseline"] = info["dists"]
    if pin is not None:
        manifest["policy"] = pinned_policy_record(pin)
        print(f"pinned policy: {manifest['policy']['path']} (sha256 {manifest['policy']['sha256'][:16]}): the floor "
              "of this environment", file=out)
    (purelib / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    # byte-compile the start-up chain with the target interpreter: no .pyc costs ~3 ms per start
    pkg = Path(info["guardpolicy"])
    mods = [str(pkg / m) for m in STARTUP_MODULES if (pkg / m).is_file()] + [info["startup"]]
    comp = subprocess.run([python, "-m", "compileall", "-q", *mods, *(w["path"] for w in written if w["path"].endswith(".py"))],
                          capture_output=True, text=True, timeout=120)
    if comp.returncode != 0:
        print(f"guard: warning: could not byte-compile the startup modules ({comp.stdout.strip() or comp.stderr.strip()}); "
              f"start-up will be ~3 ms slower", file=sys.stderr)
    after = probe(python)
    for w in written:
        print(f"wrote {w['path']}", file=out)
    if after.get("active"):
        print(f"guard hook active for {python}", file=out)
        return 0
    why = ""
    if use_sitecustomize and after.get("sitecustomize") and after["sitecustomize"] != str(purelib / SITECUSTOMIZE):
        why = f" (another sitecustomize wins the import: {after['sitecustomize']}; use the default .pth hook)"
    print(f"guard: hook files written but the hook is NOT active in {python}{why}; "
          f"see `guard hook status --python {python}`", file=sys.stderr)
    return 1


def _remove_recorded(manifest: dict, keep=frozenset(), out=sys.stdout) -> list:
    """Delete the files ``manifest`` lists (unless in ``keep``) whose content is still what guard wrote."""
    from pathlib import Path

    removed = []
    for entry in manifest.get("files", ()):
        path = Path(entry["path"])
        if str(path) in keep or not path.exists():
            continue
        try:
            if file_digest(path.read_bytes()) != entry.get("sha256"):
                print(f"guard: warning: {path} was changed since guard wrote it: left in place", file=sys.stderr)
                continue
            path.unlink()
            removed.append(str(path))
            print(f"removed {path}", file=out)
        except OSError as exc:
            print(f"guard: warning: could not remove {path}: {exc}", file=sys.stderr)
    return removed


def do_uninstall(python: str, out=sys.stdout) -> int:
    """Remove what the manifest says was installed, then the manifest."""
    from pathlib import Path

    info = probe(python)
    purelib = Path(info["purelib"])
    manifest = read_manifest(purelib)
    if manifest is None:
        print(f"no guard hook recorded in {purelib}: nothing to remove", file=out)
        return 0
    _remove_recorded(manifest, out=out)
    (purelib / MANIFEST).unlink(missing_ok=True)
    (purelib / JUDGED).unlink(missing_ok=True)
    return 0


#: what a ``.pth`` line that tampers with the hook mentions
_TAMPER_WORDS = ("guardpolicy", "meta_path", "GUARDPOLICY_", "addaudithook", "_startup")


def hook_integrity(purelib, manifest) -> list:
    """Problems with the installed hook: files changed or missing since ``guard hook install``, and
    ``.pth`` files that run before ours (site processes them in name order) and touch the hook."""
    problems = []
    if not manifest:
        return ["no hook installed (run `guard hook install`)"]
    for f in manifest.get("files", ()):
        path = Path(f.get("path", ""))
        try:
            data = path.read_bytes()
        except OSError:
            problems.append(f"{path} is missing (renamed or deleted since guard hook install)")
            continue
        if file_digest(data) != f.get("sha256"):
            problems.append(f"{path} changed since guard hook install (sha256 {file_digest(data)[:16]}, "
                            f"recorded {str(f.get('sha256'))[:16]})")
    ours = [Path(f["path"]).name for f in manifest.get("files", ()) if str(f.get("path", "")).endswith(".pth")]
    first = min(ours) if ours else None
    try:
        pths = sorted(p for p in Path(purelib).iterdir() if p.suffix == ".pth" and p.name not in ours)
    except OSError:
        pths = []
    for pth in pths:
        try:
            text = pth.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        runs = [line for line in text.splitlines() if line.startswith(("import ", "import\t"))]
        touches = [line for line in runs if any(word in line for word in _TAMPER_WORDS)]
        if touches:
            when = "before" if first is not None and pth.name < first else "after"
            problems.append(f"{pth} runs {when} the hook and touches it: {touches[0][:120]}")
    return problems


#: what the hooked pip judged and installed, one ``name==version`` per line (``runtime/pip.py``)
JUDGED = "guardpolicy-judged.txt"


def never_judged(info, manifest) -> list:
    """Distributions installed after the hook that no hooked pip judged (uv, pipx, another pip...)."""
    dists = info.get("dists")
    if not manifest or dists is None or manifest.get("baseline") is None:
        return []
    try:
        judged = set(Path(info["purelib"], JUDGED).read_text(encoding="utf-8").split())
    except OSError:
        judged = set()
    return sorted(set(dists) - set(manifest["baseline"]) - judged)


def do_verify(python: str, out=sys.stdout) -> int:
    """``guard hook verify``: exit 1 when the hook's files changed or another ``.pth`` tampers with it."""
    info = probe(python)
    manifest = read_manifest(info["purelib"])
    problems = hook_integrity(info["purelib"], manifest)
    unjudged = never_judged(info, manifest)
    if unjudged:
        problems.append(f"installed after the hook but never judged: {', '.join(unjudged[:10])}"
                        f"{' ...' if len(unjudged) > 10 else ''} (run `guard check --environment {python}`)")
    if not info.get("active"):
        problems.append("the hook is not active in this interpreter")
    for problem in problems:
        print(f"guard: {problem}", file=out)
    print(f"{'BROKEN' if problems else 'ok'}: hook of {info['executable']}"
          + ("" if problems else " (files match what guard hook install wrote; no .pth touches it)"), file=out)
    return 1 if problems else 0


def do_status(python: str, out=sys.stdout) -> int:
    """Print whether the hook is active, the policy/mode and their origin, and visible bypasses."""
    from pathlib import Path

    env = os.environ
    info = probe(python)
    manifest = read_manifest(info["purelib"])
    ver = ".".join(map(str, info["version"]))
    print(f"interpreter:   {info['executable']} (Python {ver})", file=out)
    print(f"site-packages: {info['purelib']}", file=out)
    if manifest:
        files = ", ".join(Path(f["path"]).name for f in manifest.get("files", ()))
        print(f"hook files:    {files} (guard {manifest.get('guard_version')}, {manifest.get('installed_at')})", file=out)
    else:
        print("hook files:    none (run `guard hook install`)", file=out)
    active = bool(info.get("active"))
    if active:
        print("active:        yes", file=out)
    else:
        why = "guardpolicy not importable there" if not info.get("guardpolicy") else \
            "no hook installed" if not manifest else "hook files present but not loaded"
        print(f"active:        no ({why})", file=out)
    for name, error in (info.get("failed") or {}).items():
        print(f"patch failed:  {name}: {error} (gated operations of that library are refused)", file=out)
    # the interpreter's own reading of the policy (its plugins may differ from this guard's); this
    # guard's reading only when the interpreter cannot import guardpolicy
    loaded, error = info.get("policy"), info.get("policy_error")
    if loaded is None and error is None:
        try:
            from ..policy import discover_policy_ref, load_policy

            ref, origin = discover_policy_ref()
            policy = load_policy()
            loaded = {"name": policy.name, "origin": origin, "digest": policy.digest, "mode": policy.mode,
                      "mode_source": policy.mode_source, "layers": [layer.where for layer in policy.layers]}
        except Exception as exc:  # a broken policy is a status to show, not a crash
            error = str(exc)
    if error is not None:
        print(f"policy:        ERROR {error}", file=out)
        print("mode:          gated operations are refused until the policy loads (fail closed)", file=out)
    else:
        print(f"policy:        {loaded['name']} ({loaded['origin']}; digest {str(loaded['digest'])[:12]})", file=out)
        print(f"mode:          {loaded['mode']} (from {loaded['mode_source']})", file=out)
        from .policy import layer_facts

        print("layers:        (lowest first; the floor, then what may only tighten it)", file=out)
        for where in loaded.get("layers") or ():
            name = where.split("  [", 1)[0]
            facts = layer_facts(_LayerStub(name)) if os.path.isfile(name) else {"owner": None, "digest": None}
            extra = ", ".join(x for x in (f"owner {facts['owner']}" if facts["owner"] else "",
                                          f"sha256 {facts['digest'][:16]}" if facts["digest"] else "") if x)
            print(f"  - {where}" + (f" ({extra})" if extra else ""), file=out)
    print("bypasses:", file=out)
    for problem in hook_integrity(info["purelib"], manifest) if manifest else ():
        print(f"  - TAMPERED: {problem}", file=out)
    unjudged = never_judged(info, manifest)
    if unjudged:
        print(f"  - installed after the hook but never judged (another installer): {', '.join(unjudged[:10])}"
              f"{' ...' if len(unjudged) > 10 else ''}; `guard check --environment {python}` judges them", file=out)
    for line in bypasses(info, env, manifest):
        print(f"  - {line}", file=out)
    others = other_interpreters(info, env)
    if others:
        print(f"  - interpreters on PATH outside this environment run without this hook: {', '.join(others)}", file=out)
    return 0 if active else 1


def default_python(env=None) -> str:
    """The current venv's interpreter: ``$VIRTUAL_ENV``'s python when a venv is active, else the one running guard.

    (guard may itself be installed elsewhere, e.g. with pipx; the activated venv is what a user means.)
    """

    env = os.environ if env is None else env
    venv = env.get("VIRTUAL_ENV")
    if venv:
        for name in ("bin/python", "Scripts/python.exe"):
            candidate = os.path.join(venv, name)
            if os.path.exists(candidate):
                return candidate
    return sys.executable


def run(args: argparse.Namespace) -> int:
    """Dispatch the hook action."""
    python = args.python or default_python()
    if args.hook_command == "install":
        return do_install(python, args.sitecustomize, pin=getattr(args, "pin_policy", None))
    if args.hook_command == "uninstall":
        return do_uninstall(python)
    if args.hook_command == "verify":
        return do_verify(python)
    return do_status(python)
