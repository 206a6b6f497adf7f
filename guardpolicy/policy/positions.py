"""Line numbers of keys in TOML source.

``tomllib`` keeps no positions, yet every policy error must name the line. This module
scans the (already valid) TOML text once and records the 1-based line of every key path:
table headers (``[rules.typosquat]``), arrays of tables (``[[waivers]]`` -> index),
dotted and quoted keys (``rules."my-rule".action``), inline tables and array elements.
It only follows structure; values are skipped, never interpreted.
"""

from __future__ import annotations

import bisect
import re
from functools import lru_cache
from typing import Any, Dict, Iterable, Optional, Tuple

KeyPath = Tuple[Any, ...]

_BARE = re.compile(r"[A-Za-z0-9_-]+")
_WS = " \t"


class _Scanner:
    """A small cursor over TOML text that records where each key path starts."""

    def __init__(self, text: str):
        """Scan ``text`` from the start; ``starts`` holds each line's offset for offset-to-line look-ups."""
        self.text = text
        self.pos = 0
        self.starts = [0] + [m.end() for m in re.finditer(r"\n", text)]
        self.lines: Dict[KeyPath, int] = {}
        self.aot_counts: Dict[KeyPath, int] = {}

    # -- helpers
    def line(self, pos: Optional[int] = None) -> int:
        """1-based line of ``pos`` (default: the cursor)."""
        return bisect.bisect_right(self.starts, self.pos if pos is None else pos)

    def record(self, path: KeyPath, pos: int) -> None:
        """Remember the first line a path (and each of its prefixes) appears on."""
        line = self.line(pos)
        for i in range(1, len(path) + 1):
            self.lines.setdefault(path[:i], line)

    def peek(self, n: int = 1) -> str:
        """The next ``n`` characters, without consuming them."""
        return self.text[self.pos:self.pos + n]

    def skip_ws(self, newlines: bool = False) -> None:
        """Skip blanks (and newlines and comments when ``newlines``)."""
        text = self.text
        while self.pos < len(text):
            ch = text[self.pos]
            if ch in _WS or (newlines and ch in "\r\n"):
                self.pos += 1
            elif newlines and ch == "#":
                end = text.find("\n", self.pos)
                self.pos = len(text) if end < 0 else end
            else:
                break

    def skip_line(self) -> None:
        """Move past the end of the current line."""
        end = self.text.find("\n", self.pos)
        self.pos = len(self.text) if end < 0 else end + 1

    # -- keys
    def key(self) -> KeyPath:
        """A dotted key made of bare and quoted parts."""
        parts = []
        while True:
            self.skip_ws()
            ch = self.peek()
            if ch == '"':
                parts.append(self.basic_string())
            elif ch == "'":
                parts.append(self.literal_string())
            else:
                m = _BARE.match(self.text, self.pos)
                if not m:
                    raise ValueError("key expected")
                parts.append(m.group(0))
                self.pos = m.end()
            self.skip_ws()
            if self.peek() != ".":
                return tuple(parts)
            self.pos += 1

    # -- strings
    def basic_string(self) -> str:
        """Consume a basic (double-quoted, or multi-line triple-quoted) string; return its raw content, escapes kept."""
        if self.peek(3) == '"""':
            end = self.text.find('"""', self.pos + 3)
            while end >= 0 and self.text[end - 1] == "\\" and self.text[end - 2] != "\\":
                end = self.text.find('"""', end + 1)
            if end < 0:
                raise ValueError("unterminated string")
            while self.text[end + 3:end + 4] == '"':  # up to two quotes may close the content
                end += 1
            value = self.text[self.pos + 3:end]
            self.pos = end + 3
            return value
        i = self.pos + 1
        out = []
        while i < len(self.text):
            ch = self.text[i]
            if ch == "\\":
                out.append(self.text[i + 1:i + 2])
                i += 2
                continue
            if ch == '"':
                self.pos = i + 1
                return "".join(out)
            if ch == "\n":
                break
            out.append(ch)
            i += 1
        raise ValueError("unterminated string")

    def literal_string(self) -> str:
        """Consume a literal (single-quoted, or multi-line triple-quoted) string; return its content."""
        if self.peek(3) == "'''":
            end = self.text.find("'''", self.pos + 3)
            if end < 0:
                raise ValueError("unterminated string")
            while self.text[end + 3:end + 4] == "'":
                end += 1
            value = self.text[self.pos + 3:end]
            self.pos = end + 3
            return value
        end = self.text.find("'", self.pos + 1)
        if end < 0:
            raise ValueError("unterminated string")
        value = self.text[self.pos + 1:end]
        self.pos = end + 1
        return value

    # -- values
    def value(self, path: KeyPath) -> None:
        """Skip one value, recording keys inside inline tables and array elements."""
        self.skip_ws()
        ch = self.peek()
        if ch == '"':
            self.basic_string()
        elif ch == "'":
            self.literal_string()
        elif ch == "[":
            self.pos += 1
            index = 0
            while True:
                self.skip_ws(newlines=True)
                if self.peek() == "]":
                    self.pos += 1
                    return
                self.record(path + (index,), self.pos)
                self.value(path + (index,))
                index += 1
                self.skip_ws(newlines=True)
                if self.peek() == ",":
                    self.pos += 1
                elif self.peek() == "]":
                    self.pos += 1
                    return
                else:
                    raise ValueError("bad array")
        elif ch == "{":
            self.pos += 1
            while True:
                self.skip_ws(newlines=True)
                if self.peek() == "}":
                    self.pos += 1
                    return
                start = self.pos
                key = self.key()
                self.record(path + key, start)
                self.skip_ws()
                if self.peek() != "=":
                    raise ValueError("= expected")
                self.pos += 1
                self.value(path + key)
                self.skip_ws(newlines=True)
                if self.peek() == ",":
                    self.pos += 1
                elif self.peek() == "}":
                    self.pos += 1
                    return
                else:
                    raise ValueError("bad inline table")
        else:
            m = re.compile(r"[^,\]}\s#]+").match(self.text, self.pos)
            if not m:
                raise ValueError("value expected")
            self.pos = m.end()
            # dates with a time part contain one space: "1979-05-27 07:32:00"
            m2 = re.compile(r" \d\d:\d\d[^,\]}\s#]*").match(self.text, self.pos)
            if m2:
                self.pos = m2.end()

    # -- document
    def document(self) -> None:
        """Scan the whole document; stop quietly at anything unexpected."""
        current: KeyPath = ()
        text = self.text
        try:
            while True:
                self.skip_ws(newlines=True)
                if self.pos >= len(text):
                    return
                start = self.pos
                if self.peek(2) == "[[":
                    self.pos += 2
                    path = self.key()
                    count = self.aot_counts.get(path, -1) + 1
                    self.aot_counts[path] = count
                    current = path + (count,)
                    self.record(current, start)
                    self.skip_line()
                elif self.peek() == "[":
                    self.pos += 1
                    current = self.key()
                    self.record(current, start)
                    self.skip_line()
                else:
                    key = self.key()
                    self.record(current + key, start)
                    self.skip_ws()
                    if self.peek() != "=":
                        return
                    self.pos += 1
                    self.value(current + key)
        except (ValueError, IndexError):
            return


@lru_cache(maxsize=64)
def key_lines(text: str) -> Dict[KeyPath, int]:
    """Every key path in ``text`` mapped to the 1-based line where it first appears."""
    scanner = _Scanner(text)
    scanner.document()
    return scanner.lines


def key_line(text: Optional[str], keypath: Iterable[Any]) -> Optional[int]:
    """The line of ``keypath`` in ``text``, else of its longest recorded prefix, else ``None``.

    ``keypath`` items are keys, or integers indexing an array (``("waivers", 1, "reason")``).
    """
    if not text:
        return None
    lines = key_lines(text)
    path = tuple(keypath)
    for n in range(len(path), 0, -1):
        if path[:n] in lines:
            return lines[path[:n]]
    return None
