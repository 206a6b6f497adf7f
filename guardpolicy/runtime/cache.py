"""The cached allowlist: subjects the policy already allowed, so the hot path skips the rules.

One SQLite database in WAL mode under the user cache dir (``GUARD_CACHE_DIR`` overrides,
then the policy's ``[cache] path``, then platformdirs' ``user_cache_dir("guard")``). A row is
keyed by subject kind, name, version or revision, content digest (hashes / file sha256), a
digest of the whole subject, and the policy digest, so any policy change invalidates every
entry. Only *clean* allows are cached (no finding at all, not even a waived one), never a deny
or warn. Many processes (pip spawns several, CI runs jobs in parallel) read and write at once:
WAL lets readers run beside one writer, ``busy_timeout`` plus bounded retries absorb lock
contention, and any storage error degrades to "not cached", never to "allowed".

The cache is the user's alone. Its folder is created 0700 and the database 0600; a folder,
database or key file that another user owns, that others may write, or that is a symlink, turns
the cache off (one warning line), never on. Every row carries an HMAC-SHA256 over its key and
time under a per-user secret (``cache.key``, 0600, 32 random bytes): a row another user inserted,
or one copied from another machine, does not verify and is a miss.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import sqlite3
import threading
import time
from pathlib import Path
from typing import Iterable, Optional

from ..userfiles import KEY_NAME, default_dir, own_dir, own_file, private_key  # noqa: F401  (re-exported)

DB_NAME = "decisions.sqlite3"
SCHEMA_VERSION = 1
#: extra keys that describe how a subject was reached, not what it is (kept out of the key)
VOLATILE_EXTRA = frozenset({"required_by", "root"})

_SCHEMA = """
CREATE TABLE IF NOT EXISTS decisions (
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    version TEXT NOT NULL,
    content_digest TEXT NOT NULL,
    subject_digest TEXT NOT NULL,
    policy_digest TEXT NOT NULL,
    verdict TEXT NOT NULL,
    created REAL NOT NULL,
    PRIMARY KEY (kind, name, version, content_digest, subject_digest, policy_digest)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


def subject_key(subject) -> tuple:
    """``(kind, name, version, content_digest, subject_digest)`` for a subject.

    ``content_digest`` is what the bytes are known by (sorted hashes for packages, the
    ``sha256`` extra for files and models); ``subject_digest`` hashes every field rules may
    read, so two subjects differing in any of them never share an entry.
    """
    kind = type(subject).__name__
    name = getattr(subject, "name", None) or getattr(subject, "repo_id", None) or getattr(subject, "url", None) \
        or getattr(subject, "path", None) or ""
    version = getattr(subject, "version", None) or getattr(subject, "revision", None) or ""
    extra = getattr(subject, "extra", None) or {}
    hashes = getattr(subject, "hashes", None) or ()
    content = ",".join(sorted(hashes)) or str(extra.get("sha256", ""))
    fields = [f"{k}={getattr(subject, k)!r}" for k in getattr(subject, "__dataclass_fields__", ()) if k != "extra"]
    fields.extend(f"{k}={v!r}" for k, v in sorted(extra.items()) if k not in VOLATILE_EXTRA)
    digest = hashlib.sha256("|".join([kind, *fields]).encode("utf-8", "surrogatepass")).hexdigest()
    return kind, str(name), str(version), content, digest


class DecisionCache:
    """An allow-only decision cache in one SQLite file, safe across threads and processes.

    ``ttl`` (seconds, ``None`` = forever) bounds how long an entry counts. Reads that hit are
    remembered in-process, so a repeated subject costs a dict lookup.
    """

    def __init__(self, path: Path, ttl: Optional[float] = None, retries: int = 8):
        """Open lazily: nothing touches the disk until the first lookup or write."""
        self.path = Path(path)
        self.ttl = ttl
        self.retries = retries
        self._lock = threading.Lock()
        self._conn: Optional[sqlite3.Connection] = None
        self._pid = None
        self._memo: set = set()
        self._key = b""
        self.hits = self.misses = self.writes = self.errors = 0

    # -- connection

    def _connect(self) -> sqlite3.Connection:
        """The process's connection (re-opened after ``fork``), with WAL and a busy timeout.

        ``OSError`` when the folder, database or key is not the user's own (the caller treats the
        cache as empty).
        """
        if self._conn is not None and self._pid == os.getpid():
            return self._conn
        self._key = private_key(self.path.parent)
        own_file(self.path)
        conn = sqlite3.connect(str(self.path), timeout=30.0, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA busy_timeout = 30000")
        self._retry(lambda: conn.execute("PRAGMA journal_mode = WAL").fetchone())
        conn.execute("PRAGMA synchronous = NORMAL")
        self._retry(lambda: conn.executescript(_SCHEMA))
        self._conn, self._pid, self._memo = conn, os.getpid(), set()
        return conn

    def _retry(self, fn):
        """Run ``fn``; on 'database is locked/busy' back off and retry a bounded number of times."""
        delay = 0.005
        for attempt in range(self.retries + 1):
            try:
                return fn()
            except sqlite3.OperationalError as exc:
                text = str(exc).lower()
                if attempt == self.retries or not ("locked" in text or "busy" in text):
                    raise
                time.sleep(delay)
                delay = min(delay * 2, 0.5)

    def close(self) -> None:
        """Close the connection (tests, ``guard cache clear``)."""
        with self._lock:
            if self._conn is not None and self._pid == os.getpid():
                self._conn.close()
            self._conn = None

    # -- queries

    def is_allowed(self, subject, policy_digest: str, now: Optional[float] = None) -> bool:
        """True when ``subject`` was cleanly allowed under ``policy_digest`` (and the entry is fresh)."""
        key = (*subject_key(subject), policy_digest)
        if key in self._memo:
            self.hits += 1
            return True
        try:
            with self._lock:
                conn = self._connect()
                row = self._retry(lambda: conn.execute(
                    "SELECT created, verdict FROM decisions WHERE kind=? AND name=? AND version=? AND content_digest=? "
                    "AND subject_digest=? AND policy_digest=?", key).fetchone())
        except (sqlite3.Error, OSError):
            self.errors += 1
            return False
        now = time.time() if now is None else now
        if row is None or (self.ttl is not None and now - row[0] > self.ttl) or \
                not hmac.compare_digest(str(row[1]), self._verdict(key, row[0])):
            self.misses += 1
            return False
        self._memo.add(key)
        self.hits += 1
        return True

    def store_allowed(self, subjects: Iterable, policy_digest: str, now: Optional[float] = None) -> int:
        """Record clean allows; returns how many rows were written (0 when storage failed)."""
        now = time.time() if now is None else now
        keys = [(*subject_key(s), policy_digest) for s in subjects]
        if not keys:
            return 0

        def write():
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.executemany("INSERT OR REPLACE INTO decisions VALUES (?,?,?,?,?,?,?,?)", rows)
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise

        try:
            with self._lock:
                conn = self._connect()
                rows = [(*k, self._verdict(k, now), now) for k in keys]
                self._retry(write)
        except (sqlite3.Error, OSError):
            self.errors += 1
            return 0
        self.writes += len(rows)
        return len(rows)

    def _verdict(self, key: tuple, created: float) -> str:
        """``allow:<HMAC-SHA256 of the row's key and time under the user's secret>``."""
        msg = "\x1f".join([*map(str, key), repr(float(created))]).encode("utf-8", "surrogatepass")
        return "allow:" + hmac.new(self._key, msg, hashlib.sha256).hexdigest()

    def clear(self) -> int:
        """Delete every entry; returns how many there were."""
        with self._lock:
            conn = self._connect()
            n = conn.execute("SELECT COUNT(*) FROM decisions").fetchone()[0]
            self._retry(lambda: conn.execute("DELETE FROM decisions"))
            self._memo.clear()
        return n

    def remove_files(self) -> list:
        """Delete the database and its WAL/shared-memory files (a cache that is not a database); returns the removed paths."""
        self.close()
        removed = []
        for path in (self.path, Path(str(self.path) + "-wal"), Path(str(self.path) + "-shm")):
            try:
                path.unlink()
                removed.append(path)
            except FileNotFoundError:
                pass
        with self._lock:
            self._memo.clear()
        return removed

    def stats(self) -> dict:
        """Entries by kind, distinct policy digests, file size, and this process's counters."""
        with self._lock:
            conn = self._connect()
            by_kind = dict(conn.execute("SELECT kind, COUNT(*) FROM decisions GROUP BY kind").fetchall())
            policies = conn.execute("SELECT COUNT(DISTINCT policy_digest) FROM decisions").fetchone()[0]
            integrity = conn.execute("PRAGMA quick_check").fetchone()[0]
        size = sum(p.stat().st_size for p in self.path.parent.glob(self.path.name + "*") if p.is_file())
        return {"path": str(self.path), "entries": sum(by_kind.values()), "by_kind": by_kind,
                "policy_digests": policies, "bytes": size, "integrity": integrity}


_caches: dict = {}
_caches_lock = threading.Lock()
#: the environment variables ``for_policy`` depends on (switch, override, platformdirs' inputs)
_CACHE_ENV = ("GUARD_CACHE", "GUARD_CACHE_DIR", "XDG_CACHE_HOME", "HOME")
#: (id(policy), *env values) -> (policy, cache): the gate asks on every decision
_resolved: dict = {}
_MAX_RESOLVED = 64


def for_policy(policy, env=None) -> Optional[DecisionCache]:
    """The process-wide cache for ``policy`` (``None`` when ``[cache] enabled = false`` or ``GUARD_CACHE=0``).

    With the process environment (``env=None``) the answer is remembered per policy object and
    value of the variables it depends on: resolving the cache path (platformdirs) on every
    runtime decision cost more than the cached decision itself.
    """
    if env is not None or policy is None:
        return _for_policy(policy, os.environ if env is None else env)
    key = (id(policy), *(os.environ.get(name) for name in _CACHE_ENV))
    hit = _resolved.get(key)
    if hit is not None and hit[0] is policy:
        return hit[1]
    cache = _for_policy(policy, os.environ)
    if len(_resolved) >= _MAX_RESOLVED:
        _resolved.clear()
    _resolved[key] = (policy, cache)
    return cache


def _for_policy(policy, env) -> Optional[DecisionCache]:
    """``for_policy`` without the memo."""
    section = policy.section("cache") if policy is not None else {}
    if env.get("GUARD_CACHE", "1") == "0" or section.get("enabled", True) is False:
        return None
    ttl = None
    if section.get("ttl"):
        from ..durations import parse_duration

        try:
            ttl = parse_duration(section["ttl"])
        except ValueError:
            return None  # a bad ttl must not make stale entries count; the loader reports it
    path = default_dir(policy, env) / DB_NAME
    with _caches_lock:
        cache = _caches.get((path, ttl))
        if cache is None:
            cache = _caches[(path, ttl)] = DecisionCache(path, ttl=ttl)
        return cache
