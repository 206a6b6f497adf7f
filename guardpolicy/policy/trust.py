"""The trust root: which policy files are the floor, and which files guard may read at all.

The floor is what root or the user installed: ``guard.toml`` in the system config dir
(``/etc/guard``, root-owned) and in the user config dir. A project's policy (found upward from
the working directory, named by ``GUARD_POLICY`` or ``--policy``) is layered on top of the floor
and may only tighten it (``loader.load_policy`` puts a lock on everything between the two).

Environment variables that move these folders (``GUARD_SYSTEM_CONFIG_DIR``, ``GUARD_CONFIG_DIR``,
``XDG_CONFIG_HOME``) can add a floor folder but never remove one: ``/etc/guard`` and the config
folder under the user's home directory from the password database are always read.

A policy file that another user owns (root excepted) or that others may write is not read: a
``guard.toml`` planted in a shared folder (``/tmp``, ``/srv/builds``) must not steer anyone else's
checks (the class of git's CVE-2022-24765). Such files are skipped with one warning line.
"""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path
from typing import List, Mapping, Optional, Tuple

from ..notices import _said, said_since, say  # noqa: F401  (re-exported: the loader and tests use them from here)

#: the machine-wide config folder every floor starts from
SYSTEM_DIR = Path("/etc/guard")
POLICY_FILE = "guard.toml"


def untrusted_reason(path: Path, st: Optional[os.stat_result] = None) -> Optional[str]:
    """Why ``path`` may not be read as a policy (``None`` when it may).

    Trusted: owned by the current user or by root, and not writable by group or others
    (a group-writable file in a folder the user owns alone is still someone else's to change).
    """
    if not hasattr(os, "getuid"):  # pragma: no cover - no POSIX ownership to check
        return None
    try:
        st = st or path.stat()
    except OSError:
        return None  # missing: the caller reports it
    me = os.getuid()
    if st.st_uid not in (me, 0):
        return f"owned by uid {st.st_uid}, not by you (uid {me}) or root"
    if st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        return f"writable by others (mode {stat.S_IMODE(st.st_mode):04o})"
    return None


def _home_config_dir() -> Optional[Path]:
    """``~/.config/guard`` for the real user (password database, not ``HOME``/``XDG_CONFIG_HOME``)."""
    try:
        import pwd

        return Path(pwd.getpwuid(os.getuid()).pw_dir) / ".config" / "guard"
    except (ImportError, KeyError):  # pragma: no cover - no password entry (some containers)
        return None


def floor_dirs(env: Mapping[str, str]) -> List[Tuple[Path, str]]:
    """Folders whose ``guard.toml`` is the floor, lowest first, each with its label.

    ``/etc/guard`` and the real home's config folder are always included; the environment can
    only add folders (tests point them at their own temporary folders).
    """
    from .paths import user_config_dir

    out: List[Tuple[Path, str]] = [(SYSTEM_DIR, "system policy")]
    if env.get("GUARD_SYSTEM_CONFIG_DIR"):
        out.append((Path(env["GUARD_SYSTEM_CONFIG_DIR"]), "system policy"))
    home = _home_config_dir()
    if home is not None:
        out.append((home, "user policy"))
    out.append((user_config_dir(env), "user policy"))
    seen, unique = set(), []
    for folder, label in out:
        key = os.path.normpath(str(folder))
        if key not in seen:
            seen.add(key)
            unique.append((folder, label))
    return unique


#: the record ``guard hook install`` leaves in the environment's site-packages
HOOK_MANIFEST = "guardpolicy-hook.json"


def _pin_in(folder: Path) -> Optional[dict]:
    """The ``policy`` record of the hook manifest in ``folder`` (``None``: no manifest, or nothing pinned)."""
    import json

    try:
        manifest = json.loads((folder / HOOK_MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    pin = manifest.get("policy") if isinstance(manifest, dict) else None
    return pin if isinstance(pin, dict) and isinstance(pin.get("path"), str) else None


def _pin_on_path() -> bool:
    """True when a ``sys.path`` folder holds a manifest with a pinned policy.

    ``site`` puts the interpreter's purelib on ``sys.path``, so where no folder there holds a pin,
    purelib holds none either and ``sysconfig`` (what names purelib exactly) need not load.
    """
    return any(_pin_in(Path(entry or os.curdir)) is not None for entry in sys.path)


def pinned_policy(purelib: Optional[Path] = None) -> Optional[Path]:
    """The policy ``guard hook install --policy`` pinned into this environment, checked against its sha256.

    ``None`` when nothing is pinned. A pinned file that changed or vanished is a ``PolicyError``:
    the environment's floor cannot be edited away (re-run ``guard hook install --policy``).
    """
    import hashlib

    from ..errors import PolicyError

    if purelib is None and not (sys.flags.no_site or _pin_on_path()):
        return None
    if purelib is None:
        import sysconfig  # lazy: ~2 ms, paid only where some site folder holds a pin

        purelib = Path(sysconfig.get_paths()["purelib"])
    pin = _pin_in(Path(purelib))
    if pin is None:
        return None
    path = Path(pin["path"])
    try:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError as exc:
        raise PolicyError(f"the policy pinned by `guard hook install --policy` cannot be read ({exc.strerror or exc}); "
                          "re-run guard hook install --policy", file=str(path)) from None
    if digest != pin.get("sha256"):
        raise PolicyError("the policy pinned by `guard hook install --policy` changed since it was pinned "
                          f"(sha256 {digest[:16]}, pinned {str(pin.get('sha256'))[:16]}); re-run guard hook install --policy",
                          file=str(path))
    return path


def floor_files(env: Mapping[str, str]) -> List[Tuple[Path, str]]:
    """The floor's policy files that exist and may be trusted, lowest first, with their labels.

    The policy pinned into the environment by ``guard hook install --policy`` first, then the
    system policy (root's), then the user policy (the user's or root's). Others are skipped with
    a warning (a floor someone else can edit is no floor).
    """
    out = []
    seen = set()
    pinned = pinned_policy()
    if pinned is not None:
        why = untrusted_reason(pinned)
        if why is not None:
            say(f"ignoring pinned policy {pinned}: {why}")
        else:
            st = pinned.stat()
            seen.add((st.st_dev, st.st_ino))
            out.append((pinned, "pinned policy"))
    for folder, label in floor_dirs(env):
        path = folder / POLICY_FILE
        try:
            st = path.stat()
        except OSError:
            continue
        if not stat.S_ISREG(st.st_mode):
            continue
        ident = (st.st_dev, st.st_ino)
        if ident in seen:
            continue
        seen.add(ident)
        why = untrusted_reason(path, st)
        if why is None and label == "system policy" and folder == SYSTEM_DIR and hasattr(os, "getuid") \
                and st.st_uid != 0:
            why = f"owned by uid {st.st_uid}, not root"
        if why is not None:
            say(f"ignoring {label} {path}: {why}")
            continue
        out.append((path, label))
    return out


def is_repository_root(folder: Path) -> bool:
    """True for a folder holding ``.git`` (a work tree's top, or a submodule's): the upward search stops there."""
    return (folder / ".git").exists() or (folder / ".hg").exists()
