"""Errors guardpolicy raises on purpose. Stdlib-only: the runtime hooks import this."""

from __future__ import annotations


class GuardError(Exception):
    """Base class: an error the CLI reports as one line (exit 2), never as a traceback."""


class PolicyError(GuardError):
    """A policy cannot be used: unreadable, invalid TOML, unknown key, wrong type, bad layering.

    ``file`` and ``line`` locate it; ``key`` is the dotted key path when one is to blame.
    """

    def __init__(self, message: str, file: str | None = None, line: int | None = None, key: str | None = None):
        """Keep the parts; the message reads ``file:line: key: message``."""
        self.message, self.file, self.line, self.key = message, file, line, key
        where = ""
        if file:
            where = f"{file}:{line}: " if line else f"{file}: "
        what = f"{key}: " if key else ""
        super().__init__(f"{where}{what}{message}")


class PluginError(GuardError):
    """An installed guardpolicy plugin cannot be loaded (gated operations then fail closed)."""


class UsageError(GuardError):
    """The command line asks for something that cannot be done (bad target, unknown format)."""


class PolicyViolation(Exception):
    """A gated operation (download, install, load) was denied by the policy.

    A plain ``Exception`` subclass on purpose: libraries that rewrap ``OSError`` or
    ``ValueError`` (transformers does) must not turn it into "file not found".
    ``decision`` is the ``guardpolicy.model.Decision`` behind it.
    """

    def __init__(self, message: str, decision=None):
        """Keep the ``decision`` behind the denial for callers that want the findings."""
        self.decision = decision
        super().__init__(message)
