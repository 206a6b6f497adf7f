"""The effective policy: a frozen view over the merged layers."""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from typing import Any, Mapping, Optional, Tuple


@dataclass(frozen=True)
class Waiver:
    """An accepted risk: findings of ``rule`` on subjects matching ``subject`` (a glob) are waived.

    ``reason`` is required; after ``expires`` the waiver no longer applies and findings say so.
    ``origin`` names the layer (file) that declared it.
    """

    rule: str
    subject: str
    reason: str
    expires: Optional[_dt.date] = None
    id: Optional[str] = None
    owner: Optional[str] = None
    allowed_by: Optional[str] = None
    origin: Optional[str] = None
    line: Optional[int] = None

    def expired(self, today: Optional[_dt.date] = None) -> bool:
        """True when ``expires`` is set and lies before ``today``."""
        today = today or _dt.date.today()
        return self.expires is not None and self.expires < today

    @property
    def label(self) -> str:
        """How findings name this waiver."""
        where = f" ({self.origin}:{self.line})" if self.origin and self.line else ""
        return (self.id or f"{self.rule}:{self.subject}") + where


@dataclass(frozen=True)
class RuleSettings:
    """A rule's effective ``action`` and options (defaults filled in from its ``RuleInfo``)."""

    action: str
    options: Mapping[str, Any] = field(default_factory=dict)

    def __getitem__(self, key: str) -> Any:
        """An option's value (``KeyError`` when the rule has no such option)."""
        return self.options[key]

    def get(self, key: str, default: Any = None) -> Any:
        """An option's value, or ``default``."""
        return self.options.get(key, default)


@dataclass(frozen=True)
class Layer:
    """One policy file in the stack, lowest first: its name (shipped name or path) and raw data."""

    name: str
    path: Optional[str]
    data: Mapping[str, Any]
    text: Optional[str] = None
    #: for a remote bundle: what ``fetch_bundle`` knows (url, revision, fetched_at, status)
    bundle: Optional[Mapping[str, Any]] = None
    #: identities of the layers this one extends directly (set by the loader; ``None`` when
    #: unknown): a lock trusts exactly the locking layer and what it extends itself
    parents: Optional[Tuple[str, ...]] = None

    @property
    def keybase(self) -> Tuple[str, ...]:
        """The key path prefix of this layer's data in its file (``tool.guard`` in a pyproject)."""
        return ("tool", "guard") if self.path and self.path.endswith("pyproject.toml") else ()

    @property
    def where(self) -> str:
        """The file (or URL) errors should name."""
        if self.bundle and self.bundle.get("url"):
            return self.bundle["url"]
        return self.path or self.name


@dataclass(frozen=True)
class Policy:
    """The effective policy every rule reads.

    ``data`` is the merged TOML of all layers; ``provenance`` maps a dotted key to the layer
    that set it (for ``guard policy show``); ``digest`` changes whenever the effective policy
    changes (cache keys use it); ``mode_source`` says where ``mode`` came from.
    """

    data: Mapping[str, Any]
    layers: Tuple[Layer, ...] = ()
    provenance: Mapping[str, str] = field(default_factory=dict)
    digest: str = ""
    rule_defaults: Mapping[str, RuleSettings] = field(default_factory=dict)
    waivers: Tuple[Waiver, ...] = ()
    mode_override: Optional[str] = None
    mode_source: str = "policy"

    @property
    def mode(self) -> str:
        """``enforce`` | ``warn`` | ``off`` after any permitted ``GUARD_MODE`` override."""
        return self.mode_override or self.data.get("mode", "enforce")

    @property
    def name(self) -> str:
        """The top file layer's name (what the user pointed at; the floor's lock-only layers are skipped)."""
        for layer in reversed(self.layers):
            if layer.path or layer.bundle:
                return layer.name
        return self.layers[-1].name if self.layers else "<built-in>"

    def section(self, name: str) -> Mapping[str, Any]:
        """A top-level table such as ``sources`` or ``hub`` (empty when absent)."""
        value = self.data.get(name)
        return value if isinstance(value, dict) else {}

    @property
    def sources(self) -> Mapping[str, Any]:
        """The ``[sources]`` table."""
        return self.section("sources")

    @property
    def allow(self) -> Tuple[str, ...]:
        """Names (globs) that are never flagged by name-based rules."""
        return tuple(self.data.get("allow", ()))

    @property
    def deny(self) -> Tuple[str, ...]:
        """Requirement strings (``evilpkg``, ``urllib3<1.26.5``) that are always denied."""
        return tuple(self.data.get("deny", ()))

    def rule(self, rule_id: str) -> RuleSettings:
        """The effective settings of one rule: its defaults overlaid with ``[rules.<id>]``."""
        base = self.rule_defaults.get(rule_id, RuleSettings(action="deny"))
        table = self.section("rules").get(rule_id, {})
        options = dict(base.options)
        options.update({k: v for k, v in table.items() if k != "action"})
        return RuleSettings(action=table.get("action", base.action), options=options)
