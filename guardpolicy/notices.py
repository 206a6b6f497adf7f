"""One ``guard: ...`` line on stderr per message and process (bottom layer: stdlib only).

The policy loader, the trust checks, the caches and the pip hook all warn through ``say``, so a
message printed once is not repeated by a second load in the same process; the compiled policy
cache records the lines a full load printed (``said_since``) and prints them again when it is used.
"""

from __future__ import annotations

import sys

#: every line ``say`` printed in this process, in order (the compiled policy cache replays a load's lines)
_said: dict = {}


def say(message: str) -> None:
    """One ``guard: ...`` line on stderr, once per process (the CLI and the pip hook both load policies)."""
    if message not in _said:
        _said[message] = None
        print(f"guard: {message}", file=sys.stderr)


def said_since(mark: int) -> tuple:
    """The lines ``say`` printed after the first ``mark`` of them (``mark = len(_said)`` taken earlier)."""
    return tuple(_said)[mark:]
