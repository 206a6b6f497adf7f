"""``guard check TARGET...``: check dependency files, lock files, ``pypi:`` and ``hf:`` targets."""

from __future__ import annotations

import argparse
import sys


def add_parser(sub) -> None:
    """Register ``check``."""
    from . import add_policy_args

    p = sub.add_parser("check", help="check requirements, pyproject, lock files, pypi:/hf: targets and model files",
                       description="Check every TARGET against the policy. Exit 0: nothing denied; 1: denied; 2: error.")
    p.add_argument("targets", nargs="+", metavar="TARGET",
                   help="requirements.txt, pyproject.toml, pylock.toml, uv.lock, pip report JSON, pypi:NAME[==VER], hf:ORG/NAME[@REV], a model file or folder")
    add_policy_args(p)
    p.add_argument("-f", "--format", default="text", help="report format: text (default), json, ...")
    p.add_argument("--online", action="store_true", help="allow network look-ups (Hub scan status, vulnerability services)")


def collect_subjects(targets, options):
    """Turn targets into one list of subjects and source findings (``UsageError`` for an unknown target)."""
    from ..errors import GuardError, UsageError
    from ..model import Finding, Location
    from ..plugins import get_plugin_manager
    from ..sources.interface import SourceError

    pm = get_plugin_manager()
    items = []
    for target in targets:
        source = pm.hook.guard_make_source(target=target, options=options)
        if source is None:
            raise UsageError(f"{target}: not a file guard can read, nor a pypi:/hf: target")
        try:
            items.extend(source.collect())  # extend keeps what was collected before an error
        except (SourceError, GuardError):
            raise
        except Exception as exc:  # noqa: BLE001 - a reader bug must not become a traceback or an allow
            items.append(Finding(rule="invalid", subject=target, action="deny", location=Location(target),
                                 message=f"{target} could not be read to the end ({type(exc).__name__}: {exc}); "
                                         "what follows the error was not checked",
                                 suggestion="check the file for malformed values; if it looks fine, report this guard bug"))
    return items


def run(args: argparse.Namespace) -> int:
    """Check, print the report, return the exit code."""
    from ..engine import CheckOptions, Engine
    from ..errors import UsageError
    from ..plugins import formats
    from ..sources.interface import SourceError
    from . import EXIT_DENIED, EXIT_OK, load_policy_from_args

    policy = load_policy_from_args(args)
    available = formats()
    if args.format not in available:
        raise UsageError(f"unknown format {args.format!r} (available: {', '.join(sorted(available))})")
    options = CheckOptions(offline=not args.online)
    try:
        items = collect_subjects(args.targets, options)
    except SourceError as exc:
        raise UsageError(str(exc)) from None
    decision = Engine(policy, options).decide(items)
    fmt = available[args.format](color=sys.stdout.isatty(), policy=policy, targets=args.targets)
    sys.stdout.write(fmt.format(decision))
    return EXIT_DENIED if decision.denied else EXIT_OK
