"""``guard cache clear|stats``: the cached allowlist of the runtime hooks."""

from __future__ import annotations

import argparse
import sys


def add_parser(sub) -> None:
    """Register ``cache`` with ``clear`` and ``stats``."""
    p = sub.add_parser("cache", help="show or clear the decision cache the runtime hooks use",
                       description="The cached allowlist (SQLite, WAL) under the user cache dir; GUARD_CACHE_DIR overrides.")
    csub = p.add_subparsers(dest="cache_command", metavar="ACTION", required=True)
    csub.add_parser("stats", help="entries, size, location, integrity")
    clear = csub.add_parser("clear", help="delete every cached decision and the compiled policies")
    clear.add_argument("--bundles", action="store_true",
                       help="also drop the cached policy bundles (the next load fetches them anew)")


def _cache():
    """The cache for the effective policy's settings (location does not depend on a loadable policy)."""
    from ..runtime.cache import DB_NAME, DecisionCache, default_dir

    policy = None
    try:
        from ..policy import load_policy

        policy = load_policy()
    except Exception:  # a broken policy must not stop clearing the cache
        policy = None
    return DecisionCache(default_dir(policy) / DB_NAME)


def run(args: argparse.Namespace) -> int:
    """Print stats or clear."""
    import sqlite3

    from ..errors import UsageError

    if args.cache_command == "clear" and getattr(args, "bundles", False):
        import shutil

        from ..policy.bundles import cache_root

        root = cache_root()
        shutil.rmtree(root, ignore_errors=True)
        print(f"dropped the cached policy bundles in {root}")
    cache = _cache()
    try:
        if args.cache_command == "clear":
            import os

            from ..runtime import policy_cache

            if policy_cache.clear(os.environ):
                print("dropped the compiled policy cache (the next gated process loads the policy in full)")
            try:
                n = cache.clear()
            except sqlite3.DatabaseError as exc:
                # a cache that is not a database (disk fault, a stray file) holds nothing worth keeping:
                # clearing it is what the user asked for, so remove it instead of telling them to
                if isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc).lower():
                    raise
                cache.remove_files()
                print(f"removed the unusable cache database {cache.path} ({exc}); it is recreated on the next decision")
                return 0
            print(f"cleared {n} cached decision{'s' if n != 1 else ''} from {cache.path}")
            return 0
        st = cache.stats()
    except sqlite3.DatabaseError as exc:
        raise UsageError(f"{cache.path}: cache database unusable ({exc}); `guard cache clear` removes it") from None
    except OSError as exc:  # not the user's own (another uid, a symlink): the runtime treats it as empty
        raise UsageError(f"cache not usable: {exc}; remove it or point GUARD_CACHE_DIR at a folder of your own") from None
    finally:
        cache.close()
    kinds = ", ".join(f"{k}: {v}" for k, v in sorted(st["by_kind"].items())) or "none"
    print(f"path:            {st['path']}", file=sys.stdout)
    print(f"entries:         {st['entries']} ({kinds})")
    print(f"policy digests:  {st['policy_digests']}")
    print(f"size:            {st['bytes']} bytes")
    print(f"integrity:       {st['integrity']}")
    return 0
