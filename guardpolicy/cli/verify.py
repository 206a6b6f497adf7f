"""``guard verify PATH --lock guard.lock``: hash local files and compare them with the lock.

Reports ``digest`` findings for sha256 mismatches, missing locked files and unexpected files;
the other file rules (format, pickle) run over the same files. Works offline.
"""

from __future__ import annotations

import argparse
import sys


def add_parser(sub) -> None:
    """Register ``verify``."""
    from . import add_policy_args

    p = sub.add_parser("verify", help="check local model files against guard.lock (sha256, missing, unexpected)",
                       description="Hash every file under PATH (streamed, in parallel) and compare with the lock. "
                                   "Exit 0: all match; 1: a digest finding (or another rule) denies; 2: error.")
    p.add_argument("path", metavar="PATH", help="a downloaded repo folder (snapshot or local_dir), or one file")
    p.add_argument("--lock", default="guard.lock", metavar="FILE", help="the lock file (default: guard.lock)")
    p.add_argument("--repo", metavar="ORG/NAME", help="which locked repo PATH holds (needed when the lock has several "
                                                     "and PATH does not tell)")
    p.add_argument("--partial", action="store_true", help="do not report locked files that are absent (partial download)")
    p.add_argument("-j", "--jobs", type=int, default=None, help="files hashed in parallel (default: up to 4)")
    add_policy_args(p)
    p.add_argument("-f", "--format", default="text", help="report format: text (default), json, ...")


def run(args: argparse.Namespace) -> int:
    """Verify, print the report, return the exit code."""
    from ..engine import CheckOptions, Engine
    from ..errors import UsageError
    from ..lockfile import LockError, read_lock
    from ..plugins import formats
    from ..sources.interface import SourceError
    from ..sources.lockverify import LockVerifySource
    from . import EXIT_DENIED, EXIT_OK, load_policy_from_args

    policy = load_policy_from_args(args)
    available = formats()
    if args.format not in available:
        raise UsageError(f"unknown format {args.format!r} (available: {', '.join(sorted(available))})")
    try:
        lock = read_lock(args.lock)
        items = list(LockVerifySource(args.path, lock, args.repo, args.partial, args.jobs).collect())
    except (LockError, SourceError) as exc:
        raise UsageError(str(exc)) from None
    decision = Engine(policy, CheckOptions(offline=True)).decide(items)
    from dataclasses import replace

    from ..audit import notify_decision

    decision = replace(decision, origin="cli", operation=f"guard verify {args.path} --lock {args.lock}")
    notify_decision(decision, policy)  # the audit trail sees every CLI decision
    fmt = available[args.format](color=sys.stdout.isatty(), policy=policy, targets=[args.path])
    sys.stdout.write(fmt.format(decision))
    return EXIT_DENIED if decision.denied else EXIT_OK
