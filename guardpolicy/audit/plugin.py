"""Built-in plugin ``audit-log``: append every decision to the policy's audit log.

Implements ``guard_decision_made``; the CLI (``guard check``) and the runtime gate call
that hook after deciding. A log that cannot be written never changes the decision: the
error is reported on stderr when the policy named the path itself, and dropped silently for
the default path (a read-only home must not break installs).
"""

from __future__ import annotations

import sys

from ..hookspecs import hookimpl


@hookimpl
def guard_decision_made(decision, subjects, policy):
    """Append the decision's records to the ``[log]`` path (when enabled); write errors never change the decision."""
    from .log import LogSettings, append_bytes, encode_decision

    settings = LogSettings.from_policy(policy)
    if not settings.enabled:
        return None
    try:
        append_bytes(settings.path, encode_decision(decision, subjects, policy), settings.max_size)
    except OSError as exc:
        # once per path and process: pip makes several decisions per install, each would repeat it
        if settings.explicit and settings.path not in _warned:
            _warned.add(settings.path)
            print(f"guard: warning: cannot write audit log {settings.path}: {exc.strerror or exc}; "
                  f"decisions of this process are not logged", file=sys.stderr)
    return None


#: log paths this process already warned about
_warned: set = set()
