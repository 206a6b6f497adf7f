"""``guard check TARGET...``: check dependency files, lock files, ``pypi:`` and ``hf:`` targets."""

from __future__ import annotations

import argparse
import sys


def add_parser(sub) -> None:
    """Register ``check``."""
    from . import add_policy_args

    p = sub.add_parser("check", help="check requirements, pyproject, lock files, pypi:/hf: targets and model files",
                       description="Check every TARGET against the policy. Exit 0: nothing denied; 1: denied; 2: error.")
    p.add_argument("targets", nargs="*", metavar="TARGET",
                   help="requirements.txt, pyproject.toml, pylock.toml, uv.lock, pip report JSON, pypi:NAME[==VER], "
                        "hf:ORG/NAME[@REV], env:PYTHON, a model file or folder; none: the active environment")
    p.add_argument("--environment", nargs="?", const="", default=None, metavar="PYTHON",
                   help="also check every distribution installed in PYTHON's environment (default: the activated "
                        "venv, else guard's own): whatever uv, pipx or conda put there")
    add_policy_args(p)
    p.add_argument("-f", "--format", default="text", help="report format on stdout: text (default), json, sarif, markdown, cyclonedx")
    p.add_argument("-o", "--output", action="append", default=[], metavar="FORMAT=PATH",
                   help="also write the report in FORMAT to PATH (repeatable: --output sarif=guard.sarif "
                        "--output cyclonedx=bom.cdx.json); the --format report still goes to stdout")
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


def parse_outputs(values, available) -> list[tuple[str, str]]:
    """``["sarif=out.sarif", ...]`` -> ``[("sarif", "out.sarif"), ...]``; ``UsageError`` on a bad item."""
    from ..errors import UsageError

    out = []
    for value in values:
        fmt, sep, path = value.partition("=")
        fmt, path = fmt.strip(), path.strip()
        if not sep or not fmt or not path:
            raise UsageError(f"--output {value!r}: expected FORMAT=PATH, e.g. sarif=guard.sarif")
        if fmt not in available:
            raise UsageError(f"--output {value!r}: unknown format {fmt!r} (available: {', '.join(sorted(available))})")
        out.append((fmt, path))
    return out


def write_report(path: str, text: str) -> None:
    """Write one ``--output`` file (parent folders created); ``UsageError`` naming the path on failure."""
    from pathlib import Path

    from ..errors import UsageError

    target = Path(path)
    try:
        if target.parent != Path("."):
            target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"--output {path}: cannot write: {exc.strerror or exc}") from None


def run(args: argparse.Namespace) -> int:
    """Check, print the report, return the exit code."""
    from dataclasses import replace

    from ..audit import notify_decision
    from ..engine import CheckOptions, Engine
    from ..errors import UsageError
    from ..plugins import formats
    from ..sources.interface import SourceError
    from . import EXIT_DENIED, EXIT_OK, load_policy_from_args

    policy = load_policy_from_args(args)
    available = formats()
    if args.format not in available:
        raise UsageError(f"unknown format {args.format!r} (available: {', '.join(sorted(available))})")
    outputs = parse_outputs(args.output, available)
    options = CheckOptions(offline=not args.online)
    targets = list(args.targets)
    if getattr(args, "environment", None) is not None or not targets:
        # like pip-audit: no target means the environment guard runs for
        targets.append(f"env:{getattr(args, 'environment', None) or ''}")
    args.targets = targets
    try:
        items = collect_subjects(targets, options)
    except SourceError as exc:
        raise UsageError(str(exc)) from None
    decision = replace(Engine(policy, options).decide(items), origin="cli")
    # the audit trail sees every decision, before any output can fail
    notify_decision(decision, policy)
    for name, path in outputs:
        write_report(path, available[name](color=False, policy=policy, targets=args.targets).format(decision))
    fmt = available[args.format](color=sys.stdout.isatty(), policy=policy, targets=args.targets)
    sys.stdout.write(fmt.format(decision))
    return EXIT_DENIED if decision.denied else EXIT_OK
