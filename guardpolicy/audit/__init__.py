"""The audit trail: one JSON line per judged subject per decision, in a local append-only log.

``notify_decision`` is how deciders (``guard check``, ``guard scan``, the runtime gate) announce a
decision to every ``guard_decision_made`` observer, the built-in ``audit-log`` plugin among them.
"""

from __future__ import annotations


def notify_decision(decision, policy, pm=None, observers=None) -> None:
    """Call ``guard_decision_made`` for ``decision``; an observer that raises is reported, never fatal.

    ``observers``: the plugin names known to implement the hook without loading the plugin manager
    (a cached policy's, or "no other distribution provides plugins"). When they are the built-in
    ``audit-log`` alone (or none), its writer is called directly: loading every plugin would cost
    more than the decision.
    """
    import sys

    try:
        if pm is None and observers is not None and set(observers) <= {"audit-log"}:
            if observers:
                from .log import write_decision

                write_decision(decision, list(decision.checked), policy)
            return
        if pm is None:
            from ..plugins import get_plugin_manager

            pm = get_plugin_manager()
        pm.hook.guard_decision_made(decision=decision, subjects=list(decision.checked), policy=policy)
    except Exception as exc:  # a broken observer must not turn a decision into a crash
        print(f"guard: warning: a decision observer failed: {exc.__class__.__name__}: {exc}", file=sys.stderr)
