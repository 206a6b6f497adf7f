"""``--format markdown``: GitHub-flavoured markdown for pull-request comments and CI step summaries.

``guard check -o markdown="$GITHUB_STEP_SUMMARY" requirements.txt`` puts it on the run's
summary page. A verdict heading, a table of findings (deny first), waived findings and the
checked subjects in collapsed ``<details>`` blocks so long reports stay readable.
"""

from __future__ import annotations

from ..model import Decision, Finding
from .facts import findings_for, subject_kind, verdict_of
from .interface import Format

_ICON = {"deny": ":x:", "warn": ":warning:", "allow": ":white_check_mark:"}


def cell(text) -> str:
    """Text safe inside a markdown table cell: pipes escaped, newlines flattened, HTML neutralised."""
    out = str("" if text is None else text)
    out = out.replace("\\", "\\\\").replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")
    return " ".join(out.split())


def code(text) -> str:
    """Inline code that survives backticks inside ``text``."""
    t = cell(text)
    return f"`` {t} ``" if "`" in t else f"`{t}`"


class MarkdownFormat(Format):
    """A markdown report."""

    machine = False

    def _row(self, f: Finding) -> str:
        """One finding as a table row: verdict, rule, subject, location, message, fix."""
        where = str(f.location) if f.location else ""
        return (f"| {_ICON.get(f.action or 'warn', '')} {f.action or 'warn'} | {code(f.rule)} | {code(f.subject)} | "
                f"{cell(where)} | {cell(f.message)} | {cell(f.suggestion)} |")

    def format(self, decision: Decision) -> str:
        """The whole report."""
        denied = sum(f.action == "deny" for f in decision.findings)
        warned = sum(f.action == "warn" for f in decision.findings)
        lines = [f"### {_ICON[decision.decision]} guard: {decision.decision.upper()}", ""]
        summary = f"{len(decision.checked)} checked, {denied} denied, {warned} warnings"
        if decision.waived:
            summary += f", {len(decision.waived)} waived"
        if decision.mode != "enforce":
            summary += f" (mode: **{decision.mode}**)"
        lines += [summary, ""]
        if decision.findings:
            lines += ["| action | rule | subject | where | finding | fix |", "|---|---|---|---|---|---|"]
            ordered = sorted(decision.findings, key=lambda f: (f.action != "deny", f.location.file if f.location else "",
                                                               (f.location.line or 0) if f.location else 0))
            lines += [self._row(f) for f in ordered]
            lines.append("")
        if decision.waived:
            lines += [f"<details><summary>Waived ({len(decision.waived)})</summary>", "",
                      "| rule | subject | finding | waiver |", "|---|---|---|---|"]
            lines += [f"| {code(f.rule)} | {code(f.subject)} | {cell(f.message)} | {cell(f.waived_by)} |" for f in decision.waived]
            lines += ["", "</details>", ""]
        if decision.checked:
            lines += [f"<details><summary>Checked ({len(decision.checked)})</summary>", "",
                      "| subject | kind | verdict |", "|---|---|---|"]
            for s in decision.checked:
                verdict = verdict_of(findings_for(s, decision.findings))
                lines.append(f"| {code(s.subject)} | {subject_kind(s)} | {_ICON[verdict]} {verdict} |")
            lines += ["", "</details>", ""]
        if decision.policy_digest:
            name = getattr(self.policy, "name", None)
            lines.append(f"<sub>policy {cell(name) + ' ' if name else ''}digest {decision.policy_digest[:12]}</sub>")
        return "\n".join(lines).rstrip() + "\n"
