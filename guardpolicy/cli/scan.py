"""``guard scan PATH...``: statically scan model files and folders (formats, pickles).

Start-up is kept lean on purpose (it races ``picklescan -p FILE`` as a whole process): the
policy is loaded with only the two rules this command runs, without the plugin manager's
entry-point discovery or the other rules' dependencies. A policy that names rules guard does
not ship falls back to the full loader, so validation stays exact.
"""

from __future__ import annotations

import argparse
import os
import sys


def add_parser(sub) -> None:
    """Register ``scan``."""
    from . import add_policy_args

    p = sub.add_parser("scan", help="scan model files or folders for unsafe formats and hostile pickles",
                       description="Scan each PATH (file or folder) statically: format by content, every pickle "
                                   "on a static machine against an allowlist. Exit 0: nothing denied; 1: denied; "
                                   "2: error.")
    p.add_argument("paths", nargs="+", metavar="PATH", help="a model file or a folder")
    add_policy_args(p)
    p.add_argument("-f", "--format", default="text", choices=("text", "json"), help="report format (default: text)")


def _builtin_rule_ids() -> frozenset:
    """Rule ids shipped in ``guardpolicy/rules`` (read from the folder: no imports)."""
    folder = os.path.join(os.path.dirname(os.path.dirname(__file__)), "rules")
    try:
        names = os.listdir(folder)
    except OSError:
        return frozenset()
    return frozenset(n[:-3].replace("_", "-") for n in names if n.endswith(".py") and not n.startswith("_"))


def lean_rules():
    """A rule table with the real ``format``/``pickle`` infos that accepts the other built-in rules' tables."""
    from collections.abc import Mapping

    from ..rules import Option, RuleInfo
    from ..scan.ruleinfo import FORMAT, PICKLE

    real = {FORMAT.id: FORMAT, PICKLE.id: PICKLE}
    others = _builtin_rule_ids() - set(real)

    class _AnyOptions(dict):
        """Accepts any option of a rule ``guard scan`` does not run (``guard check`` validates them)."""
        def get(self, key, default=None):
            """Any option is accepted, with any value."""
            return Option(object, None)

    class _LeanRules(Mapping):
        """Rule table: the real ``format``/``pickle`` infos plus permissive stand-ins for other built-ins."""
        def __getitem__(self, key):
            if key in real:
                return real[key]
            if key in others:
                return RuleInfo(id=key, summary="", options=_AnyOptions())
            raise KeyError(key)

        def __contains__(self, key):
            return key in real or key in others

        def __iter__(self):
            return iter(real)

        def __len__(self):
            return len(real)

    return _LeanRules()


def load_scan_policy(args):
    """The effective policy, loaded lean (falls back to the full plugin-aware loader on rule errors)."""
    from ..errors import PolicyError
    from ..policy import load_policy

    env = dict(os.environ)
    if getattr(args, "mode", None):
        env["GUARD_MODE"] = args.mode
    try:
        return load_policy(args.policy, env=env, rules=lean_rules())
    except PolicyError as exc:
        if exc.key and exc.key.startswith(("rules", "waivers")):
            return load_policy(args.policy, env=env)
        raise


def run(args: argparse.Namespace) -> int:
    """Scan, print the report, return the exit code."""
    from ..engine import decide
    from ..errors import UsageError
    from ..model import FileRef
    from ..scan.api import format_findings, allowed_formats, iter_files, pickle_findings
    from ..scan.containers import Scanner
    from ..scan.api import allowed_globals
    from ..scan.profiles import enabled, unknown_action
    from . import EXIT_DENIED, EXIT_OK

    for path in args.paths:
        if not os.path.exists(path):
            raise UsageError(f"{path}: no such file or directory")
        if not (os.path.isdir(path) or os.path.isfile(path)):
            # a pipe or device has no fixed content to judge (and reading a pipe could block)
            raise UsageError(f"{path}: not a regular file or directory")
    policy = load_scan_policy(args)
    scanner = Scanner(extra_allowed=allowed_globals(policy), profiles=enabled(policy))
    unknown = unknown_action(policy)
    formats_ok = allowed_formats(policy)
    scan_pickles = policy.section("hub").get("scan_pickles") is not False
    findings, checked = [], []
    for target in args.paths:
        for file in iter_files(target):
            report = scanner.scan_file(file)
            checked.append(FileRef(path=file))
            if scan_pickles:
                findings.extend(pickle_findings(report, unknown))
            findings.extend(format_findings(report, formats_ok))
    decision = decide(findings, policy, checked)
    from dataclasses import replace

    from ..audit import notify_decision

    decision = replace(decision, origin="cli", operation="guard scan " + " ".join(args.paths))
    notify_decision(decision, policy)  # the audit trail sees every CLI decision
    if args.format == "json":
        from ..report.json import JsonFormat as Fmt
    else:
        from ..report.text import TextFormat as Fmt
    sys.stdout.write(Fmt(color=sys.stdout.isatty(), policy=policy, targets=args.paths).format(decision))
    return EXIT_DENIED if decision.denied else EXIT_OK
