"""The engine: run every rule over every subject and fold the findings into a ``Decision``.

Mirrors pip-audit's ``Auditor``: ``Engine(policy, options).evaluate(subjects)`` streams
``(subject, findings)`` pairs; ``decide()`` turns the findings into the verdict under the
policy's actions, waivers and mode.
"""

from __future__ import annotations

import datetime as _dt
import fnmatch
import re
from dataclasses import dataclass, field, replace
from typing import Any, Iterable, Iterator, Mapping, Optional, Sequence, Tuple, Union

from .model import Decision, FileRef, Finding, IndexRef, ModelRef, PackageRef, Subject, Verdict
from .names import canonicalize_name
from .policy import Policy


@dataclass(frozen=True)
class CheckOptions:
    """How a check runs: ``offline`` forbids network look-ups (the default; a command opts in)."""

    offline: bool = True
    #: set by sources/hooks: ``cli`` or ``runtime`` (audit log and rules may care)
    origin: str = "cli"


@dataclass
class CheckContext:
    """Shared state for one run: options, every subject in play, and a scratch cache for rules."""

    options: CheckOptions
    subjects: Sequence[Subject] = ()
    cache: dict = field(default_factory=dict)


_HOOK_BY_TYPE = {
    PackageRef: "guard_check_package",
    IndexRef: "guard_check_index",
    ModelRef: "guard_check_model",
    FileRef: "guard_check_file",
}
_ARG_BY_TYPE = {PackageRef: "package", IndexRef: "index", ModelRef: "model", FileRef: "file"}
_VERSION_SPLIT = re.compile(r"==|@|\[")


class Engine:
    """Runs the rules (pluggy hooks) of ``pm`` over subjects under ``policy``."""

    def __init__(self, policy: Policy, options: CheckOptions = CheckOptions(), pm=None):
        """Judge under ``policy`` with ``options``, using ``pm`` (default: the process's plugin manager)."""
        if pm is None:
            from .plugins import get_plugin_manager

            pm = get_plugin_manager()
        self.policy, self.options, self.pm = policy, options, pm

    def evaluate(self, subjects: Iterable[Union[Subject, Finding]]) -> Iterator[Tuple[Optional[Subject], list[Finding]]]:
        """Stream ``(subject, raw findings)``; ``Finding`` items from sources pass through as ``(None, [f])``."""
        items = list(subjects)
        ctx = CheckContext(options=self.options, subjects=[s for s in items if not isinstance(s, Finding)])
        if self.policy.mode == "off":
            for item in items:
                yield (None, []) if isinstance(item, Finding) else (item, [])
            return
        for item in items:
            if isinstance(item, Finding):
                yield None, [item]
                continue
            hook = getattr(self.pm.hook, _HOOK_BY_TYPE[type(item)])
            kwargs = {_ARG_BY_TYPE[type(item)]: item, "policy": self.policy, "context": ctx}
            try:
                results = hook(**kwargs)
            except Exception:  # noqa: BLE001 - one rule's bug must not hide the others' findings
                results = run_isolated(hook, kwargs, item)
            found: list[Finding] = []
            for result in results:
                found.extend(result or ())
            yield item, found

    def decide(self, subjects: Iterable[Union[Subject, Finding]], today: Optional[_dt.date] = None) -> Decision:
        """Evaluate and fold into one ``Decision``."""
        checked: list[Subject] = []
        raw: list[Finding] = []
        for subject, found in self.evaluate(subjects):
            if subject is not None:
                checked.append(subject)
            raw.extend(found)
        return decide(raw, self.policy, checked, today=today, rules=self.rule_infos())

    def rule_infos(self) -> dict:
        """Every rule this engine's plugin manager knows, by id."""
        out = {}
        for infos in self.pm.hook.guard_rules():
            for info in infos or ():
                out[info.id] = info
        return out


def run_isolated(hook, kwargs: Mapping[str, Any], subject: Subject) -> list:
    """Call each implementation of ``hook`` on its own, after the combined call raised.

    The rules that work keep their findings; a rule that raises becomes a ``deny`` finding of
    that rule (``invalid`` when the plugin declares no rule) naming the subject and the error:
    guard cannot judge the subject, so it fails closed instead of printing a traceback.
    """
    results = []
    for impl in reversed(hook.get_hookimpls()):  # pluggy's own call order
        if impl.hookwrapper or getattr(impl, "wrapper", False):
            continue
        try:
            results.append(impl.function(*(kwargs[name] for name in impl.argnames)))
        except Exception as exc:  # noqa: BLE001
            info = getattr(impl.plugin, "RULE", None)
            rule = getattr(info, "id", None) or "invalid"
            results.append([Finding(
                rule=rule, subject=subject.subject, action="deny", location=getattr(subject, "location", None),
                message=f"rule {rule!r} ({impl.plugin_name}) failed on {subject.subject}: "
                        f"{type(exc).__name__}: {exc}; it cannot be judged, so it is denied",
                suggestion="check the input for malformed values; if it looks fine, report this guard bug",
                details={"error": type(exc).__name__, "plugin": impl.plugin_name})])
    return results


def _names_for(subject: str) -> set[str]:
    """The names a finding's subject may be waived or allowed under: as written, bare, canonical, lower-case."""
    base = _VERSION_SPLIT.split(subject, 1)[0].strip()
    return {subject, base, canonicalize_name(base), subject.lower()}


def waiver_for(finding: Finding, policy: Policy, today: Optional[_dt.date] = None):
    """The waiver matching ``finding``: the first one still in force, else the first expired one, else ``None``.

    A waiver matches when its ``rule`` is the finding's rule (or ``*``) and its ``subject``
    glob matches the subject as written, its bare name, or its PEP 503 canonical name.
    """
    names = _names_for(finding.subject)
    expired = None
    for waiver in policy.waivers:
        if waiver.rule not in ("*", finding.rule):
            continue
        if not subject_matches(waiver.subject, names):
            continue
        if not waiver.expired(today):
            return waiver
        expired = expired or waiver
    return expired


def subject_matches(pattern: str, names: Iterable[str]) -> bool:
    """True when the glob ``pattern`` matches one of ``names`` (case-insensitive; canonical names too)."""
    lowered = pattern.lower()
    canonical = canonicalize_name(pattern) if not any(c in pattern for c in "/:@") else lowered
    return any(fnmatch.fnmatchcase(n.lower(), lowered) or fnmatch.fnmatchcase(n.lower(), canonical) for n in names)


def allowlisted(finding: Finding, policy: Policy, rules: Optional[Mapping[str, Any]] = None) -> bool:
    """True when the finding's rule judges names and its subject is on the policy's ``allow`` list.

    ``rules`` maps rule id to ``RuleInfo`` (default: every rule the plugin manager knows).
    """
    if not policy.allow:
        return False
    if rules is None:
        from .plugins import rule_infos

        rules = rule_infos()
    info = rules.get(finding.rule)
    if info is None or not getattr(info, "allowlist", False):
        return False
    return any(subject_matches(a, _names_for(finding.subject)) for a in policy.allow)


_RANK = {"off": 0, "info": 1, "warn": 2, "deny": 3}


def effective_action(finding: Finding, policy: Policy) -> str:
    """The policy's action for the finding's rule; a rule may grade a finding *down* (set
    ``action="warn"`` on a weak match, ``"info"`` when evidence cleared it) but never above
    what the policy says."""
    configured = policy.rule(finding.rule).action
    if finding.action in _RANK and _RANK[finding.action] < _RANK[configured]:
        return finding.action
    return configured


def apply_policy(findings: Iterable[Finding], policy: Policy, today: Optional[_dt.date] = None,
                 rules: Optional[Mapping[str, Any]] = None,
                 notes: Optional[list] = None) -> tuple[list[Finding], list[Finding]]:
    """Give each raw finding its policy action; split into (counted, waived).

    ``off`` findings and allow-listed names (for name-based rules) vanish; ``info`` findings go
    to ``notes`` when given; ``warn`` mode turns deny into warn; a waiver in force moves the
    finding to ``waived``; an expired waiver leaves it counted and says so in the message.
    """
    counted, waived = [], []
    for f in findings:
        action = effective_action(f, policy)
        if action == "off" or allowlisted(f, policy, rules):
            continue
        if action == "info":
            if notes is not None:
                notes.append(replace(f, action="info"))
            continue
        if policy.mode == "warn" and action == "deny":
            action = "warn"
        f = replace(f, action=action)  # type: ignore[arg-type]  # effective_action returns an Action
        waiver = waiver_for(f, policy, today)
        if waiver is not None and not waiver.expired(today):
            waived.append(replace(f, waived_by=waiver.label))
        elif waiver is not None:
            counted.append(replace(f, message=f"{f.message} (waiver {waiver.label} expired on {waiver.expires}: {waiver.reason})",
                                   details={**f.details, "expired_waiver": waiver.label}))
        else:
            counted.append(f)
    return counted, waived


def decide(findings: Iterable[Finding], policy: Policy, checked: Sequence[Subject] = (), today: Optional[_dt.date] = None,
           rules: Optional[Mapping[str, Any]] = None) -> Decision:
    """Fold raw findings into a ``Decision`` under the policy (actions, waivers, mode)."""
    if policy.mode == "off":
        return Decision("allow", checked=tuple(checked), mode="off", policy_digest=policy.digest)
    notes: list[Finding] = []
    counted, waived = apply_policy(findings, policy, today, rules, notes)
    verdict: Verdict
    if any(f.action == "deny" for f in counted):
        verdict = "deny"
    elif counted:
        verdict = "warn"
    else:
        verdict = "allow"
    return Decision(verdict, tuple(counted), tuple(waived), tuple(checked), policy.mode, policy.digest,
                    notes=tuple(notes))
