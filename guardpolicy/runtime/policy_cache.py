"""The compiled policy cache: a process whose policy has not changed skips TOML, merging and plugins.

Loading the policy the full way costs a gated process ~80 ms (importing every rule plugin to know
its defaults, parsing and validating each layer). Most processes load the same policy as the one
before, so after a full load the gate stores the result here, and the next process takes it back
in well under a millisecond when nothing it was built from changed:

* what discovery finds: ``GUARD_POLICY`` or the project files upward from the working directory,
  the floor files (pinned, system, user), every ``GUARD*``/``XDG_*`` variable and ``HOME``;
* the bytes, owner and mode of every layer file the policy was built from (each re-read and
  hashed: a file edited within the same second is still noticed);
* where plugins come from: guardpolicy's version and location, the interpreter, the ``sys.path``
  folders that hold distributions, each distribution that provides plugins (still there, and no
  new one), each plugin module's and shipped data file's mtime and size;
* time: an entry from a remote bundle is used only until the loader would ask the server again
  or the bundle expires.

Anything different, unreadable or unverifiable is a miss and the policy loads the full way; a
miss is never an error. The file (``policies.marshal``) sits beside the decision cache, under the
same rules: the user's own folder and file, and an HMAC-SHA256 under the same per-user key over
the whole content, checked before anything in it is decoded. Entries hold ``policy.plain`` data
(``marshal``: no code runs on load). At most ``MAX_ENTRIES`` entries (one per distinct set of
inputs, e.g. per project), the oldest dropped first.
"""

from __future__ import annotations

import hashlib
import hmac
import marshal
import os
import stat
import sys
import time
from pathlib import Path
from typing import Any, Callable, Mapping, Optional, Tuple

from ..distributions import dist_folders, distributions, same_plugins

FILE_NAME = "policies.marshal"
FORMAT = 1
MAX_ENTRIES = 16
#: environment variables that decide which policy loads (beyond the GUARD*/XDG_* families)
_ENV_NAMES = ("HOME",)


def inputs(env: Mapping[str, str], cwd: Optional[Path] = None, variant: tuple = ()) -> tuple:
    """Everything besides the layer files that decides which policy loads (``PolicyError`` propagates).

    ``variant`` tells apart loads of another kind: ``("scan", ref)`` is ``guard scan``'s lean load
    of ``--policy ref`` (only the scanner's rules known), never handed to a gate.
    """
    from .. import __version__
    from ..policy.discovery import discover_project_refs
    from ..policy.trust import floor_files

    cwd = Path(cwd or os.getcwd())
    named = env.get("GUARD_POLICY")
    project = (named, str(cwd)) if named else tuple(discover_project_refs(cwd, env))
    variables = tuple(sorted((k, v) for k, v in env.items() if k.startswith(("GUARD", "XDG_")) or k in _ENV_NAMES))
    floor = tuple((str(path), label) for path, label in floor_files(env))
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    if variant and any(variant[1:]):
        variant = (*variant, str(cwd))  # a --policy path is relative to the working directory
    return (FORMAT, __version__, here, sys.version, variables, project, floor, dist_folders(), variant)


def _key(values: tuple) -> str:
    return hashlib.sha256(repr(values).encode("utf-8", "surrogatepass")).hexdigest()


def _read_file(path: str) -> Optional[tuple]:
    """``(bytes, (sha256, uid, mode))`` of a regular file read without following a final symlink, or ``None``."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            return None
        chunks = []
        while True:
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                break
            chunks.append(chunk)
    except OSError:
        return None
    finally:
        os.close(fd)
    data = b"".join(chunks)
    return data, (hashlib.sha256(data).hexdigest(), st.st_uid, st.st_mode)


def _file_state(path: str) -> Optional[tuple]:
    """``(sha256, uid, mode)`` of a layer file, or ``None`` when it cannot be read."""
    got = _read_file(path)
    return None if got is None else got[1]


def _stat_state(path: str) -> Optional[tuple]:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_mtime_ns, st.st_size


def _folder(env: Mapping[str, str]) -> Path:
    from ..userfiles import default_dir

    return default_dir(None, env)


def _read(folder: Path) -> dict:
    """The verified entries (``{}`` when missing, not the user's own, tampered with or unreadable)."""
    from ..userfiles import private_key

    path = folder / FILE_NAME
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return {}
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or (hasattr(os, "getuid") and st.st_uid != os.getuid()) \
                or st.st_mode & (stat.S_IWGRP | stat.S_IWOTH) or st.st_size > 16 << 20:
            return {}
        blob = b""
        while len(blob) < st.st_size:
            chunk = os.read(fd, st.st_size - len(blob))
            if not chunk:
                break
            blob += chunk
    except OSError:
        return {}
    finally:
        os.close(fd)
    try:
        key = private_key(folder)
    except OSError:
        return {}
    mac, body = blob[:32], blob[32:]
    if len(mac) < 32 or not hmac.compare_digest(mac, hmac.new(key, body, hashlib.sha256).digest()):
        return {}
    try:
        entries = marshal.loads(body)
    except (EOFError, ValueError, TypeError):
        return {}
    return entries if isinstance(entries, dict) else {}


def _write(folder: Path, entries: dict) -> None:
    """Replace the file atomically with ``entries`` (HMAC first); errors propagate (the caller ignores them)."""
    from ..userfiles import own_dir, private_key

    own_dir(folder)
    key = private_key(folder)
    body = marshal.dumps(entries)
    tmp = folder / f".{FILE_NAME}.{os.getpid()}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0), 0o600)
    try:
        os.write(fd, hmac.new(key, body, hashlib.sha256).digest() + body)
    finally:
        os.close(fd)
    os.replace(tmp, folder / FILE_NAME)


class Hit:
    """A policy taken from the cache, with what the gate needs besides it."""

    def __init__(self, policy, fingerprint: str, fingerprint_files: tuple, observers: tuple):
        self.policy, self.fingerprint, self.observers = policy, fingerprint, observers
        self.fingerprint_files = fingerprint_files


def lookup(env: Mapping[str, str], cwd: Optional[Path] = None, variant: tuple = ()) -> Optional[Hit]:
    """The cached policy for this process's inputs, or ``None`` (any difference or doubt is a miss)."""
    try:
        key = _key(inputs(env, cwd, variant))
    except Exception:  # e.g. a changed pinned policy: a miss, and the full load says what is wrong
        return None
    return _lookup(env, key)


def _lookup(env: Mapping[str, str], key: str) -> Optional[Hit]:
    """``lookup`` for inputs already digested into ``key``."""
    from ..policy.plain import from_plain

    try:
        entry = _read(_folder(env)).get(key)
        if not isinstance(entry, dict):
            return None
        until = entry.get("valid_until")
        if until is not None and time.time() >= until:
            return None
        if any(_file_state(path) != state for path, state in entry["files"]):
            return None
        if any(_stat_state(path) != tuple(state) for path, *state in entry["plugins"]):
            return None
        if not same_plugins(entry["dists"]):
            return None
        policy = from_plain(entry["policy"])
    except Exception:  # a cache must never decide: every failure is a miss and the full load runs
        return None
    from ..notices import say

    for message in entry.get("said", ()):
        say(message)
    return Hit(policy, entry["fingerprint"], tuple(path for path, *_ in entry["plugins"]),
               tuple(entry.get("observers", ())))


def through(env: Mapping[str, str], load: Callable[[], Any], variant: tuple = (),
            describe: Optional[Callable[[Any], tuple]] = None) -> Tuple[Any, Optional[Hit]]:
    """``(policy, hit)``: the cached policy when its inputs are unchanged, else ``(load(), None)``
    stored for the next process. ``describe(policy)`` gives the entry's ``(rules fingerprint,
    plugin files, decision observers)`` (none by default). ``GUARD_CACHE=0`` only loads.

    The inputs are taken once, before the load: a change while it runs leaves the entry unstored
    (``store`` compares them again).
    """
    if env.get("GUARD_CACHE", "1") == "0":
        return load(), None
    try:
        before = inputs(env, None, variant)
    except Exception:  # e.g. a changed pinned policy: the full load below says what is wrong
        return load(), None
    hit = _lookup(env, _key(before))
    if hit is not None:
        return hit.policy, hit
    from ..notices import _said, said_since

    dists, mark = distributions(), len(_said)
    policy = load()
    if policy.section("cache").get("enabled", True) is not False:
        fingerprint, plugin_files, observers = describe(policy) if describe else ("", (), ())
        store(policy, before, env, None, fingerprint, plugin_files, observers, said_since(mark), dists,
              variant=variant)
    return policy, None


def valid_until(policy, env: Mapping[str, str]) -> Optional[float]:
    """When the loader would next ask a bundle's server, refuse the copy as too old, or see it expire
    (``None``: no bundle)."""
    import datetime as _dt

    limits = []
    for layer in policy.layers:
        meta = layer.bundle
        if not meta:
            continue
        last = max(float(meta.get("confirmed_at") or 0), float(meta.get("attempted_at") or 0))
        refresh = float(meta.get("refresh") or 3600)
        if env.get("GUARD_BUNDLE_REFRESH"):
            from ..durations import parse_duration

            refresh = min(refresh, parse_duration(env["GUARD_BUNDLE_REFRESH"]))
        limits.append(last + refresh)
        if meta.get("max_age") is not None:  # offline, the cached copy is refused past max_age
            limits.append(float(meta.get("confirmed_at") or 0) + float(meta["max_age"]))
        if meta.get("expires"):
            day = _dt.date.fromisoformat(str(meta["expires"])) + _dt.timedelta(days=1)
            limits.append(_dt.datetime.combine(day, _dt.time()).timestamp())
    return min(limits) if limits else None


def _bundle_files(policy, env: Mapping[str, str]) -> list:
    """For a policy with remote bundles: what else the loader read to trust them (``None`` state: absent).

    Each bundle's ``meta.json`` (when the server last vouched for it, the pinned revision) and
    detached signature, and every trusted-key file: a key removed from ``trusted_keys`` must
    stop the bundle it signed at the next process, not when the entry expires.
    """
    bundles = [layer for layer in policy.layers if layer.bundle and layer.path]
    if not bundles:
        return []
    from ..policy.bundles import key_files

    out = []
    for layer in bundles:
        out.append(str(Path(layer.path).parent / "meta.json"))
        out.append(layer.path + ".sig")
    out.extend(str(path) for path in key_files(env))
    return out


def store(policy, before: tuple, env: Mapping[str, str], cwd: Optional[Path], fingerprint: str,
          plugin_files: tuple, observers: tuple, said: tuple, dists: Optional[dict] = None,
          variant: tuple = ()) -> bool:
    """Remember ``policy`` under the inputs ``before`` the full load; ``False`` when it is not cached.

    ``dists`` is ``distributions()`` taken before the load as well (taken now when not given).

    Not cached: inputs that changed while it loaded, a layer file whose bytes are no longer the
    text it was built from, data ``policy.plain`` cannot hold, or storage errors.
    """
    from ..fileio import decode_utf8
    from ..policy.plain import to_plain

    try:
        if inputs(env, cwd, variant) != before:
            return False
        files = []
        for layer in policy.layers:
            if not layer.path:
                continue
            got = _read_file(layer.path)
            if got is None or (layer.text is not None and decode_utf8(got[0]) != layer.text):
                return False
            files.append((layer.path, got[1]))
        files.extend((path, _file_state(path)) for path in _bundle_files(policy, env))
        plugins = []
        for path in plugin_files:
            state = _stat_state(path)
            if state is None:
                return False
            plugins.append((path, *state))
        entry = {"created": time.time(), "valid_until": valid_until(policy, env), "files": tuple(files),
                 "plugins": tuple(plugins), "dists": distributions() if dists is None else dists, "policy": to_plain(policy), "fingerprint": fingerprint,
                 "observers": tuple(observers), "said": tuple(said)}
        marshal.dumps(entry)  # TypeError here, not half-way through the file
        folder = _folder(env)
        entries = _read(folder)
        entries[_key(before)] = entry
        if len(entries) > MAX_ENTRIES:
            for old in sorted(entries, key=lambda k: entries[k].get("created", 0))[:len(entries) - MAX_ENTRIES]:
                del entries[old]
        _write(folder, entries)
        return True
    except Exception:  # never fatal: the next process loads the full way
        return False


def clear(env: Mapping[str, str]) -> bool:
    """Remove the cache file (``guard cache clear``); ``True`` when there was one."""
    try:
        (_folder(env) / FILE_NAME).unlink()
        return True
    except OSError:
        return False
