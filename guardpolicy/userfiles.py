"""The user's own cache folder: where it is, the ownership checks, and the per-user secret.

Shared by the decision cache (``runtime.cache``), the compiled policy cache
(``runtime.policy_cache``) and the index metadata cache (``indexmeta``): a bottom-layer module
(stdlib only), apart from the decision cache so that taking a compiled policy does not import sqlite3. A folder or file that another user owns, that others may write, or that is a
symlink turns the caches off (one warning line), never on.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

KEY_NAME = "cache.key"


def default_dir(policy=None, env=None) -> Path:
    """Where the cache lives: ``GUARD_CACHE_DIR``, the policy's ``[cache] path``, or the user cache dir."""
    env = os.environ if env is None else env
    if env.get("GUARD_CACHE_DIR"):
        return Path(env["GUARD_CACHE_DIR"]).expanduser()
    if policy is not None and policy.section("cache").get("path"):
        return Path(policy.section("cache")["path"]).expanduser()
    from .dirs import user_cache_dir

    return Path(user_cache_dir("guard"))


def _refuse(path: Path, why: str) -> None:
    """Say once that the cache is off because of ``path``, and raise ``OSError``."""
    from .notices import say

    say(f"decision cache off: {path} {why}")
    raise OSError(f"{path} {why}")


def own_dir(folder: Path) -> None:
    """Create ``folder`` 0700 (parents as usual), or check an existing one is the user's and private enough.

    Refused: another user's folder, a symlink, or one others may write (they could swap files in it).
    """
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    st = os.lstat(folder)
    if stat.S_ISLNK(st.st_mode):
        _refuse(folder, "is a symlink")
    if hasattr(os, "getuid") and st.st_uid != os.getuid():
        _refuse(folder, f"is owned by uid {st.st_uid}, not you")
    if st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        _refuse(folder, f"is writable by others (mode {stat.S_IMODE(st.st_mode):04o})")


def own_file(path: Path, create: bool = True) -> None:
    """Create ``path`` 0600 if missing; refuse a symlink or another user's file; make the user's own private."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600) if create else None
    except FileExistsError:
        fd = None
    if fd is not None:
        os.close(fd)
    st = os.lstat(path)
    if stat.S_ISLNK(st.st_mode) or not stat.S_ISREG(st.st_mode):
        _refuse(path, "is not a regular file")
    if hasattr(os, "getuid") and st.st_uid != os.getuid():
        _refuse(path, f"is owned by uid {st.st_uid}, not you")
    if st.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        os.chmod(path, 0o600)  # the user's own file (an older guard made it 0644): make it private


def private_key(folder: Path) -> bytes:
    """The user's secret for cache rows in ``folder`` (created once: 32 random bytes, 0600)."""
    own_dir(folder)
    path = folder / KEY_NAME
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
    except FileExistsError:
        pass
    else:
        try:
            os.write(fd, os.urandom(32))
        finally:
            os.close(fd)
    own_file(path, create=False)
    key = path.read_bytes()
    if len(key) < 32:
        _refuse(path, "is not a key (too short)")
    return key
