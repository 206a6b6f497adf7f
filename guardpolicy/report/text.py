"""``--format text``: for people. Grouped by file, each finding with its fix hint."""

from __future__ import annotations

import re

from ..model import Decision, Finding
from .interface import Format

#: C0/C1 controls (but tab and newline), DEL, and bidi overrides: an input file must not be able
#: to drive the terminal (colours, cursor moves, a fake "ALLOW" line) or reorder what is shown
_UNSAFE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def printable(text: str, indent: str = "      ") -> str:
    """``text`` safe for a terminal: control characters escaped (``\\x1b``), continuation lines
    indented so no input can print a line of its own at column 0."""
    text = _UNSAFE.sub(lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 0x100 else f"\\u{ord(m.group()):04x}",
                       str(text))
    return text.replace("\n", "\n" + indent)


_COLORS = {"deny": "\x1b[31m", "warn": "\x1b[33m", "allow": "\x1b[32m", "dim": "\x1b[2m", "reset": "\x1b[0m"}


class TextFormat(Format):
    """Readable text; ANSI colors when writing to a terminal."""

    machine = False

    def _c(self, key: str, text: str) -> str:
        """``text`` in the colour for ``key`` when colour is on."""
        return f"{_COLORS[key]}{text}{_COLORS['reset']}" if self.color else text

    def _line(self, f: Finding) -> list[str]:
        """The lines for one finding: line, verdict, rule and message, then its fix."""
        where = f"line {f.location.line}: " if f.location and f.location.line else ""
        out = [f"  {where}{self._c(f.action or 'warn', f.action or 'warn')} [{printable(f.rule)}] {printable(f.message)}"]
        if f.suggestion:
            out.append(f"      {self._c('dim', 'fix:')} {printable(f.suggestion)}")
        return out

    def format(self, decision: Decision) -> str:
        """Findings grouped by file, then waived ones, then a one-line verdict."""
        groups: dict[str, list[Finding]] = {}
        for f in decision.findings:
            groups.setdefault(f.location.file if f.location else f.subject if f.subject.startswith(("pypi:", "hf:")) else "(command line)", []).append(f)
        lines: list[str] = []
        for file, items in groups.items():
            lines.append(printable(file))
            for f in sorted(items, key=lambda f: (f.location.line or 0) if f.location else 0):
                lines.extend(self._line(f))
        if decision.waived:
            lines.append(self._c("dim", f"waived ({len(decision.waived)}):"))
            for f in decision.waived:
                lines.append(self._c("dim", printable(f"  [{f.rule}] {f.subject}: {f.message} (waiver {f.waived_by})")))
        denied = sum(f.action == "deny" for f in decision.findings)
        warned = sum(f.action == "warn" for f in decision.findings)
        summary = f"{len(decision.checked)} checked, {denied} denied, {warned} warnings"
        if decision.waived:
            summary += f", {len(decision.waived)} waived"
        mode = "" if decision.mode == "enforce" else f" (mode: {decision.mode})"
        lines.append(f"{self._c(decision.decision, decision.decision.upper())}: {summary}{mode}")
        return "\n".join(lines) + "\n"
