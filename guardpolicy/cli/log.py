"""``guard log``: show and filter the audit log (see docs/audit-log.md)."""

from __future__ import annotations

import argparse
import sys


def add_parser(sub) -> None:
    """Register ``log``."""
    from . import add_policy_args

    p = sub.add_parser("log", help="show and filter the audit log of decisions",
                       description="Show the audit log the policy's [log] section points at (one line per "
                                   "judged subject per decision), newest last.")
    add_policy_args(p)
    p.add_argument("--path", metavar="FILE", help="read this log file instead of the policy's [log] path")
    p.add_argument("--decision", choices=("allow", "warn", "deny"), help="only subjects with this verdict")
    p.add_argument("--rule", metavar="ID", help="only records with a finding of this rule")
    p.add_argument("--subject", metavar="NAME|GLOB", help="only this package / repo (name, name==version, or a glob)")
    p.add_argument("--since", metavar="WHEN", help="only records since WHEN: 30m, 2h, 7d, 1w or an ISO date/time (UTC)")
    p.add_argument("--origin", choices=("cli", "runtime"), help="only decisions by the guard CLI (cli: check, install, scan, verify) or the runtime hooks")
    p.add_argument("-n", "--limit", type=int, metavar="N", help="only the last N matching records")
    p.add_argument("--json", action="store_true", help="print the matching records as JSON Lines")
    p.add_argument("--verify", action="store_true",
                   help="check the hash chain (seq, prev) through .1 and the log: exit 1 when a line was edited, "
                        "inserted or deleted")


def _row(record: dict) -> str:
    """One record as a fixed-width text row: time, verdict, origin, subject, rules, waivers, operation.

    Records are data from a file anyone with the user's rights could have edited: fields of the
    wrong type are shown as they are, and control characters are escaped as ``guard check`` does
    (a record must not drive the terminal).
    """
    from ..report.text import printable

    findings = record.get("findings")
    findings = findings if isinstance(findings, list) else []
    rules = ",".join(sorted({str(f.get("rule", "?")) for f in findings if isinstance(f, dict)})) or "-"
    waived = record.get("waivers_applied")
    count = len(waived) if isinstance(waived, (list, tuple)) else (1 if waived else 0)
    extra = f" waived:{count}" if count else ""
    where = record.get("operation") or record.get("location") or ""
    row = (f"{str(record.get('time', '?'))[:19]:19}  {str(record.get('decision', '?')):5}  "
           f"{str(record.get('origin', '?')):7}  {str(record.get('subject')):40}  {rules}{extra}  {where}").rstrip()
    return printable(row.replace("\n", "\\n"), indent="")


def run(args: argparse.Namespace) -> int:
    """Print the matching records; exit 0 (also when none match), 2 when the log cannot be read."""
    import json
    from collections import deque
    from pathlib import Path

    from ..audit.log import LogSettings
    from ..audit.query import BadLine, LogFilter, parse_since, read_records
    from ..errors import UsageError
    from . import EXIT_OK, load_policy_from_args

    if args.path:
        path = Path(args.path)
    else:
        settings = LogSettings.from_policy(load_policy_from_args(args))
        path = settings.path
        if not settings.enabled:
            print(f"guard: note: the policy disables the audit log ([log] enabled = false); reading {path}", file=sys.stderr)
    try:
        since = parse_since(args.since) if args.since else None
    except ValueError as exc:
        raise UsageError(f"--since: {exc}") from None
    if args.limit is not None and args.limit < 0:
        raise UsageError("--limit must be 0 or more")
    keep = LogFilter(decision=args.decision, rule=args.rule, subject=args.subject, since=since, origin=args.origin)
    from ..audit.log import rotated_path

    # the rotated generation first: it holds the older records ([log] max_size)
    files = [p for p in (rotated_path(path),) if p.is_file()] + ([path] if path.exists() else [])
    if not files:
        print(f"guard: no audit log at {path} yet", file=sys.stderr)
        return EXIT_OK
    if getattr(args, "verify", False):
        from ..audit.log import verify_chain
        from ..report.text import printable

        try:
            count, problems = verify_chain(files)
        except OSError as exc:
            raise UsageError(f"cannot read the audit log: {exc.strerror or exc}") from None
        for problem in problems:
            print(f"guard: {printable(problem, indent='')}", file=sys.stderr)
        print(f"{'BROKEN' if problems else 'ok'}: {count} lines checked in {', '.join(map(str, files))}"
              + (f", {len(problems)} problems" if problems else ", the chain is intact"))
        return 1 if problems else EXIT_OK
    out = deque(maxlen=args.limit) if args.limit is not None else []
    for file in files:
        try:
            for no, record in read_records(file):
                if isinstance(record, BadLine):
                    print(f"guard: warning: {file}:{no}: {record.reason}; skipped", file=sys.stderr)
                    continue
                if keep.matches(record):
                    out.append(record)
        except OSError as exc:
            raise UsageError(f"{file}: cannot read the audit log: {exc.strerror or exc}") from None
    for record in out:
        sys.stdout.write(json.dumps(record, separators=(",", ":"), ensure_ascii=False) + "\n" if args.json else _row(record) + "\n")
    return EXIT_OK
