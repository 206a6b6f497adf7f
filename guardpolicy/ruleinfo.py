"""What a rule is (``RuleInfo``) and the options it takes (``Option``). Stdlib-only (bottom layer):
``guard scan`` validates a policy against these without importing the rule modules."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Optional, Tuple


@dataclass(frozen=True)
class Option:
    """One option a rule accepts under ``[rules.<id>]``: its TOML type(s), default and help.

    ``tighten`` says which way is stricter when a layer ``locked`` the rule: ``"true"`` /
    ``"false"`` (that boolean is the strict value), ``"subset"`` / ``"superset"`` (a list may
    only shrink / grow), ``"min"`` / ``"max"`` (a number may only go down / up). ``None``:
    a locked rule's option may not change at all. ``choices``: the only values allowed (a
    typo such as ``"deyn"`` is a policy error, not a silent fallback); ``minimum``: the
    smallest number allowed.
    """

    type: Any
    default: Any
    help: str = ""
    tighten: Optional[str] = None
    choices: Tuple[Any, ...] = ()
    minimum: Optional[int] = None


@dataclass(frozen=True)
class RuleInfo:
    """What a rule is: stable id, summary, help text, default action, options, example.

    ``subjects`` names the kinds it judges (``package``, ``index``, ``model``, ``file``).
    ``allowlist``: the rule judges *names*, so the engine drops its findings on subjects
    matching the policy's ``allow`` list (typosquat does; ``unpinned`` does not).
    """

    id: str
    summary: str
    help: str = ""
    default_action: str = "deny"
    options: Mapping[str, Option] = field(default_factory=dict)
    example: str = ""
    subjects: Tuple[str, ...] = ("package",)
    allowlist: bool = False
