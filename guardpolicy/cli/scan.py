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
    p.add_argument("-f", "--format", default="text",
                   help="report format on stdout: text (default), json, sarif, markdown, cyclonedx (or a plugin's)")


#: the shipped report formats, imported by name so a scan does not load the plugin manager for them
SHIPPED_FORMATS = {"text": "text:TextFormat", "json": "json:JsonFormat", "sarif": "sarif:SarifFormat",
                   "markdown": "markdown:MarkdownFormat", "cyclonedx": "cyclonedx:CycloneDxFormat"}


def report_format(name: str):
    """The formatter class for ``--format name``: a shipped one directly, else the plugins' (``UsageError`` if none)."""
    import importlib

    from ..errors import UsageError

    if name in SHIPPED_FORMATS:
        module, _, cls = SHIPPED_FORMATS[name].partition(":")
        return getattr(importlib.import_module(f"guardpolicy.report.{module}"), cls)
    from ..plugins import formats

    available = formats()
    if name not in available:
        raise UsageError(f"unknown format {name!r} (available: {', '.join(sorted(available))})")
    return available[name]


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

    from ..ruleinfo import Option, RuleInfo
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
    """The effective policy, loaded lean (falls back to the full plugin-aware loader on rule errors).

    Kept in the compiled policy cache under its own variant (``runtime.policy_cache``): a scan
    that finds its inputs unchanged skips reading and validating TOML.
    """
    from ..runtime import policy_cache

    env = dict(os.environ)
    if getattr(args, "mode", None):
        env["GUARD_MODE"] = args.mode

    def load():
        from ..errors import PolicyError
        from ..policy import load_policy  # lazy: a cache hit needs no TOML loader

        try:
            return load_policy(args.policy, env=env, rules=lean_rules())
        except PolicyError as exc:
            if exc.key and exc.key.startswith(("rules", "waivers")):
                return load_policy(args.policy, env=env)
            raise

    return policy_cache.through(env, load, variant=("scan", args.policy))[0]


def notify(decision, policy) -> None:
    """Tell the decision observers: the built-in audit log directly when no other distribution
    provides plugins (loading the plugin manager would be most of a one-file scan), else every
    observer through the plugin manager."""
    from ..audit import notify_decision
    from ..distributions import third_party_providers

    notify_decision(decision, policy, observers=None if third_party_providers() else ("audit-log",))


#: below this many files one process scans them all (forking costs more than it saves)
PARALLEL_FROM = 128
#: at most this many processes scan at once
MAX_WORKERS = 4


def scan_one(scanner, file: str, scan_pickles: bool, formats_ok, unreadable: str, references=None,
             unknown: str = "deny") -> list:
    """The findings of rules ``pickle`` and ``format`` for one file (the files it reads go to ``references``)."""
    from ..scan.api import format_findings, pickle_findings

    report = scanner.scan_file(file)
    out = pickle_findings(report, unknown) if scan_pickles else []
    out.extend(format_findings(report, formats_ok, unreadable))
    if references is not None:
        references.update(report.references)
    return out


def _plain(f) -> tuple:
    """A finding as marshal-able values (a forked worker hands findings back through a pipe)."""
    loc = f.location
    return (f.rule, f.subject, f.message, f.action, None if loc is None else (loc.file, loc.line, loc.offset),
            f.suggestion, dict(f.details))


def _finding(t: tuple):
    from ..model import Finding, Location

    rule, subject, message, action, loc, suggestion, details = t
    return Finding(rule=rule, subject=subject, message=message, action=action,
                   location=None if loc is None else Location(*loc), suggestion=suggestion, details=details)


def scan_files(files: list, scanner, scan_pickles: bool, formats_ok, unreadable: str, workers: int = 0,
               unknown: str = "deny") -> list:
    """Every file's findings, in file order; many files are split over forked worker processes.

    A worker's findings come back as marshal data on a pipe (never pickle: this process may run
    guard's own unpickling gate). A worker that dies, or whose answer does not decode, costs
    nothing but time: its share is scanned again here, so no file goes unscanned.
    """
    import marshal

    from ..scan.api import without_referenced_data

    def scan(share: list, references: set) -> list:
        return [f for file in share for f in scan_one(scanner, file, scan_pickles, formats_ok, unreadable,
                                                      references, unknown)]

    refs: set = set()
    if workers <= 0:
        workers = min(os.cpu_count() or 1, MAX_WORKERS) if len(files) >= PARALLEL_FROM else 1
    if workers <= 1 or not hasattr(os, "fork"):
        return without_referenced_data(scan(files, refs), refs)
    size = -(-len(files) // workers)
    shares = [files[i:i + size] for i in range(0, len(files), size)]
    children = []
    sys.stdout.flush()
    sys.stderr.flush()
    for share in shares[1:]:
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:  # the worker: scan, hand the findings back, leave without running atexit handlers
            status = 1
            try:
                os.close(read_end)
                mine: set = set()
                found = [_plain(f) for f in scan(share, mine)]
                blob = memoryview(marshal.dumps((found, sorted(mine))))
                while blob:
                    blob = blob[os.write(write_end, blob):]
                status = 0
            finally:
                os._exit(status)
        os.close(write_end)
        children.append((pid, read_end, share))
    out = scan(shares[0], refs)
    for pid, read_end, share in children:
        with os.fdopen(read_end, "rb") as fh:
            answer = fh.read()  # to end of file: the worker closed its end when it left
        _, status = os.waitpid(pid, 0)
        try:
            if status != 0:
                raise ValueError(f"worker exited with status {status}")
            found, theirs = marshal.loads(answer)
            out.extend(_finding(t) for t in found)
            refs.update(theirs)
        except (ValueError, EOFError, TypeError):
            out.extend(scan(share, refs))
    return without_referenced_data(out, refs)


def run(args: argparse.Namespace) -> int:
    """Scan, print the report, return the exit code."""
    from ..engine import decide
    from ..errors import UsageError
    from ..model import FileRef
    from ..scan.api import allowed_formats, allowed_globals, iter_files, unreadable_action
    from ..scan.containers import Scanner
    from ..scan.profiles import enabled, unknown_action
    from . import EXIT_DENIED, EXIT_OK

    fmt_class = report_format(args.format)
    for path in args.paths:
        if not os.path.exists(path):
            raise UsageError(f"{path}: no such file or directory")
        if not (os.path.isdir(path) or os.path.isfile(path)):
            # a pipe or device has no fixed content to judge (and reading a pipe could block)
            raise UsageError(f"{path}: not a regular file or directory")
    policy = load_scan_policy(args)
    scanner = Scanner(extra_allowed=allowed_globals(policy), profiles=enabled(policy))
    files = [file for target in args.paths for file in iter_files(target)]
    findings = scan_files(files, scanner, policy.section("hub").get("scan_pickles") is not False,
                          allowed_formats(policy), unreadable_action(policy), unknown=unknown_action(policy))
    decision = decide(findings, policy, [FileRef(path=file) for file in files])
    from dataclasses import replace

    decision = replace(decision, origin="cli", operation="guard scan " + " ".join(args.paths))
    notify(decision, policy)  # the audit trail sees every CLI decision
    sys.stdout.write(fmt_class(color=sys.stdout.isatty(), policy=policy, targets=args.paths).format(decision))
    return EXIT_DENIED if decision.denied else EXIT_OK
