"""Built-in plugin ``audit-log``: append every decision to the policy's audit log.

Implements ``guard_decision_made``; the CLI (``guard check``) and the runtime gate call
that hook after deciding. A log that cannot be written never changes the decision: the
error is reported on stderr when the policy named the path itself, and dropped silently for
the default path (a read-only home must not break installs).
"""

from __future__ import annotations

from ..hookspecs import hookimpl


@hookimpl
def guard_decision_made(decision, subjects, policy):
    """Append the decision's records to the ``[log]`` path (when enabled); write errors never change the decision."""
    from .log import write_decision

    write_decision(decision, subjects, policy)
