"""Reading TOML/JSON inputs with positions: clear errors naming file and line, and line numbers
for values (``tomllib`` and ``json`` do not report where a value came from).

The line finder is a small scanner over the raw text: it lists every TOML/JSON string literal
with its line, and callers match the values they got from the real parser against that list in
order. It never decides what the document means, so a scanner miss costs a line number
(``None``), never a wrong answer.
"""

from __future__ import annotations

import json
import re
from typing import Any, Iterable, List, Optional, Tuple

from .interface import SourceError

_ESCAPES = {'"': '"', "\\": "\\", "n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", "/": "/"}


def read_text(path: str) -> str:
    """The file's text (UTF-8); ``SourceError`` naming the file when it cannot be read."""
    from ..fileio import read_bytes_limited

    try:
        data = read_bytes_limited(path)
    except OSError as exc:
        raise SourceError(f"cannot read: {exc.strerror or exc}", file=str(path)) from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SourceError(f"not UTF-8 (byte {exc.start})", file=str(path),
                          line=data[: exc.start].count(b"\n") + 1) from None


def load_toml(path: str) -> Tuple[dict, str]:
    """Parse a TOML file: ``(data, text)``; ``SourceError`` with the line for invalid TOML."""
    import tomllib

    text = read_text(path)
    try:
        return tomllib.loads(text), text
    except tomllib.TOMLDecodeError as exc:
        from ..fileio import toml_error_line

        raise SourceError(f"invalid TOML: {exc}", file=str(path), line=toml_error_line(str(exc), text)) from None


def load_json(path: str) -> Tuple[Any, str]:
    """Parse a JSON file: ``(data, text)``; ``SourceError`` with the line for invalid JSON."""
    text = read_text(path)
    try:
        return json.loads(text), text
    except json.JSONDecodeError as exc:
        raise SourceError(f"invalid JSON: {exc.msg} (column {exc.colno})", file=str(path), line=exc.lineno) from None


def _unescape(raw: str) -> str:
    """Undo the common TOML/JSON escapes of a basic string (enough to compare values)."""
    return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), m.group(0)), raw)


def string_literals(text: str) -> List[Tuple[int, str]]:
    """Every single-line string literal in TOML or JSON text as ``(line, value)``, in order.

    Handles ``"basic"`` (with escapes), ``'literal'`` and skips ``#`` comments; multi-line
    strings are stepped over (their lines still count).
    """
    out: List[Tuple[int, str]] = []
    i, line, n = 0, 1, len(text)
    while i < n:
        c = text[i]
        if c == "\n":
            line += 1
            i += 1
        elif c == "#":
            j = text.find("\n", i)
            i = n if j < 0 else j
        elif text.startswith('"""', i) or text.startswith("'''", i):
            quote = text[i:i + 3]
            j = text.find(quote, i + 3)
            j = n if j < 0 else j + 3
            line += text.count("\n", i, j)
            i = j
        elif c in "\"'":
            j = i + 1
            while j < n and text[j] != c and text[j] != "\n":
                j += 2 if (c == '"' and text[j] == "\\") else 1
            raw = text[i + 1:j]
            out.append((line, _unescape(raw) if c == '"' else raw))
            i = j + 1
        else:
            i += 1
    return out


def first_line_matching(text: str, pattern: str, start: int = 1) -> Optional[int]:
    """The 1-based number of the first line at or after ``start`` matching regex ``pattern``."""
    rx = re.compile(pattern)
    for number, line in enumerate(text.splitlines(), 1):
        if number >= start and rx.search(line):
            return number
    return None


class LineFinder:
    """Assigns lines to string values in document order: each literal is used once."""

    def __init__(self, text: str):
        """Index every string literal of ``text`` by line."""
        self.literals = string_literals(text)
        self.used: set = set()

    def find(self, value: str, after: int = 1) -> Optional[int]:
        """The line of the first unused literal equal to ``value`` at or after line ``after``."""
        for index, (line, literal) in enumerate(self.literals):
            if line >= after and literal == value and index not in self.used:
                self.used.add(index)
                return line
        return None

    def find_all(self, values: Iterable[str], after: int = 1) -> List[Optional[int]]:
        """Lines for ``values`` found one after the other from ``after``."""
        lines: List[Optional[int]] = []
        cursor = after
        for value in values:
            line = self.find(value, cursor)
            lines.append(line)
            if line:
                cursor = line
        return lines
