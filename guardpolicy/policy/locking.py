"""``locked``: a layer may lock rules and sections so the layers above it can only tighten them.

An organization bundle says ``locked = ["sources", "typosquat", "mode"]``; a project that
extends it may then make those stricter but never looser. Layers are ordered lowest first
(``default``, the org bundle, the project file): every layer *after* a locking layer is
checked against the effective policy just below it.

What a lock entry protects:

- a section name (``sources``, ``hub``, ``build``, ``cache``, ``log``, ``bundle``): each key
  may move only in its ``schema.TIGHTEN`` direction (no new index, endpoint or org, no
  ``allow_http = true``, ...); keys without a direction may not change at all;
- a rule id: its ``action`` may only go up (``off`` < ``warn`` < ``deny``); its options
  move only in their ``Option.tighten`` direction (else not at all); waivers against it
  from higher layers need an ``allowed_waivers`` entry of the locking layer;
- ``rules``: every rule, as above; ``mode``: the mode may only go up (``off`` < ``warn`` <
  ``enforce``), ``allow_mode_override`` may not turn true, and ``GUARD_MODE`` may not
  loosen it; ``allow``: no new allow-list entries; ``deny``: (lists only grow anyway);
  ``waivers``: no waiver at all from higher layers unless ``allowed_waivers`` permits it.

A violation is a ``PolicyError`` naming the offending layer (file, line, key) and the
locking layer.
"""

from __future__ import annotations

import fnmatch
from typing import Any, Mapping, Optional, Sequence

from ..errors import PolicyError
from . import schema
from .merge import identity as _identity
from .merge import merge_layers
from .model import Layer
from .positions import key_line

_MISSING = object()
_ACTION_RANK = {"off": 0, "warn": 1, "deny": 2}
_MODE_RANK = {"off": 0, "warn": 1, "enforce": 2}


def locked_by(layers: Sequence[Layer], entry: str) -> Optional[Layer]:
    """The lowest layer that locks ``entry``, or ``None``.

    ``mode`` is also locked by any lock on a rule (a rule id, ``rules``, or a section or list a
    rule enforces): ``mode = "off"`` would silence the locked rule as surely as ``action = "off"``.
    """
    for layer in layers:
        entries = layer.data.get("locked", ())
        if entry in entries or (entry == "mode" and layer.data.get("allow_mode_override") is not True
                                and any(implies_mode(e) for e in entries)):
            return layer
    return None


def implies_mode(entry: str) -> bool:
    """True when locking ``entry`` puts a floor under the mode (it locks at least one rule)."""
    return entry == "rules" or entry in schema.SECTION_RULES or entry not in (
        *schema.SECTIONS, *schema.LOCKABLE_KEYS)


def tightens(direction: Optional[str], old: Any, new: Any) -> bool:
    """True when moving a locked value from ``old`` to ``new`` keeps it at least as strict.

    ``direction`` is one of ``schema.TIGHTEN``'s words or ``None`` (no change allowed).
    ``old`` may be ``_MISSING`` (nothing set below): then only the strict value or, for
    lists, what the direction permits from an empty start is accepted.
    """
    if new == old:
        return True
    if direction == "true":
        return new is True
    if direction == "false":
        return new is False
    if direction in ("subset", "superset", "empty-is-any"):
        before = set() if old is _MISSING or old is None else set(old)
        after = set(new)
        if direction == "subset":
            return after <= before
        if direction == "superset":
            return after >= before
        return not before or (bool(after) and after <= before)
    if direction == "min":
        return old is not _MISSING and new <= old
    if direction == "max":
        return old is not _MISSING and new >= old
    return False


def _describe(direction: Optional[str], old: Any, new: Any) -> str:
    """Why a change loosens, in words."""
    shown = "unset" if old is _MISSING else repr(old)
    if direction in ("subset", "empty-is-any") and isinstance(new, list):
        before = set() if old is _MISSING else set(old or ())
        added = sorted(set(new) - before)
        if added:
            return f"adds {', '.join(map(repr, added))} (was {shown})"
        return f"widens {shown} to {new!r} (empty means any)"
    if direction is None:
        return f"changes {shown} to {new!r} (a locked value may not change)"
    return f"loosens {shown} to {new!r}"


def _fail(layer: Layer, locker: Layer, entry: str, keypath: tuple, what: str) -> None:
    """Raise the ``PolicyError`` for a lower layer changing what ``locker`` locked, at the offending key."""
    raise PolicyError(f"{what}, but {locker.where} locks {entry!r}",
                      file=layer.where, line=key_line(layer.text, layer.keybase + keypath),
                      key=".".join(str(k) for k in keypath if not isinstance(k, int)))


def _get(data: Mapping, path: tuple) -> Any:
    """The value at ``path`` in nested mappings, or ``_MISSING``."""
    for key in path:
        if not isinstance(data, Mapping) or key not in data:
            return _MISSING
        data = data[key]
    return data


def waiver_allowed(waiver: Mapping[str, Any], layers_upto_locker: Sequence[Layer]) -> bool:
    """True when an ``allowed_waivers`` entry (``RULE:SUBJECT-GLOB``) of the locking layer or
    below covers ``waiver``: same rule (or ``*``) and the waiver's subject matches the glob."""
    for layer in layers_upto_locker:
        for entry in layer.data.get("allowed_waivers", ()):
            rule, _, glob = entry.partition(":")
            if rule not in ("*", waiver.get("rule")):
                continue
            if fnmatch.fnmatchcase(str(waiver.get("subject", "")).lower(), glob.lower()):
                return True
    return False


def trusted_by(layers: Sequence[Layer], i: int) -> list[int]:
    """Indices of the layers the locking layer ``layers[i]`` vouches for: itself and what it
    extends, transitively. A project can list its own files *before* an org bundle in
    ``extends``; those land below the bundle but are not the bundle's, so its locks cover them.
    Layers whose parents are unknown (built by hand, not by the loader) trust everything below.
    """
    if layers[i].parents is None:
        return list(range(i + 1))
    index = {_identity(layer): k for k, layer in enumerate(layers[: i + 1])}
    todo, seen = [i], {i}
    while todo:
        k = todo.pop()
        for pid in layers[k].parents or ():
            if pid in index and index[pid] not in seen:
                seen.add(index[pid])
                todo.append(index[pid])
    return sorted(seen)


def check_locks(layers: Sequence[Layer], rules: Optional[Mapping[str, Any]] = None) -> None:
    """Raise ``PolicyError`` when a layer loosens something a lower layer locked.

    Layers above a locking layer are checked one by one against everything below them. Layers
    *below* it that it does not extend itself (``trusted_by``) are checked too: each against the
    locking layer's own stack, in file order, so a value the locking layer overrides anyway is
    not held against them.
    """
    rules = rules or {}
    trusted = {i: trusted_by(layers, i) for i, layer in enumerate(layers) if layer.data.get("locked")}
    for i, keep in trusted.items():
        upto_locker = [layers[k] for k in keep]
        checked = set(keep)
        for u in range(i):
            if u in checked:
                continue
            before, _ = merge_layers(layers[k] for k in range(i + 1) if k in checked)
            after, _ = merge_layers(layers[k] for k in range(i + 1) if k in checked or k == u)
            for entry in layers[i].data.get("locked", ()):
                _check_entry(layers[u], layers[i], upto_locker, entry, before, after, rules)
            checked.add(u)
    for j in range(1, len(layers)):
        lockers = [(entry, i) for i in trusted if i < j for entry in layers[i].data.get("locked", ())]
        if not lockers:
            continue
        layer = layers[j]
        before, _ = merge_layers(layers[:j])
        after, _ = merge_layers(layers[: j + 1])
        for entry, i in lockers:
            _check_entry(layer, layers[i], [layers[k] for k in trusted[i]], entry, before, after, rules)


def _check_entry(layer: Layer, locker: Layer, upto_locker: Sequence[Layer], entry: str,
                 before: Mapping, after: Mapping, rules: Mapping[str, Any]) -> None:
    """Refuse ``layer`` loosening locked ``entry`` (section, mode, allow, waivers, rules, rule id); tightening is ok."""
    data = layer.data
    if entry == "rules" or entry in rules:
        _check_allow(layer, locker, upto_locker, entry, [entry] if entry != "rules" else list(rules), before, rules)
    if entry in schema.SECTIONS:
        for key in data.get(entry, {}):
            path = (entry, key)
            old, new = _get(before, path), _get(after, path)
            direction = schema.TIGHTEN.get(path)
            if not tightens(direction, old, new):
                _fail(layer, locker, entry, path, f"[{entry}] {key} {_describe(direction, old, new)}")
    if entry == "mode" or implies_mode(entry):
        if "mode" in data:
            old, new = before.get("mode", "enforce"), after.get("mode", "enforce")
            if _MODE_RANK[new] < _MODE_RANK[old]:
                _fail(layer, locker, entry, ("mode",), f"mode lowers {old!r} to {new!r}")
        if after.get("allow_mode_override") is True and before.get("allow_mode_override", True) is False:
            _fail(layer, locker, entry, ("allow_mode_override",), "allow_mode_override turns the override back on")
    if entry == "mode" or entry in schema.SECTIONS:
        pass
    elif entry == "allow":
        # an allow entry is a waiver of the name rules: the locking layer's allowed_waivers may permit it
        name_rules = [r for r in rules if getattr(rules.get(r), "allowlist", False)] or ["typosquat"]
        added = [a for a in data.get("allow", ()) if a not in before.get("allow", ())
                 and not all(waiver_allowed({"rule": r, "subject": a}, upto_locker) for r in name_rules)]
        if added:
            idx = list(data["allow"]).index(added[0])
            _fail(layer, locker, entry, ("allow", idx), f"allow adds {', '.join(map(repr, added))}")
    elif entry == "waivers":
        _check_waivers(layer, locker, upto_locker, entry, lambda w: True)
    elif entry == "rules":
        for rule_id in data.get("rules", {}):
            _check_rule(layer, locker, upto_locker, entry, rule_id, before, after, rules)
        _check_waivers(layer, locker, upto_locker, entry, lambda w: True)
    else:
        _check_locked_rule(layer, locker, upto_locker, entry, entry, before, after, rules)
    for rule_id in schema.SECTION_RULES.get(entry, ()):
        # the rule that enforces a locked section is locked with it: switching it off or
        # waiving it would undo the section's lock
        if rule_id in rules:
            _check_locked_rule(layer, locker, upto_locker, entry, rule_id, before, after, rules)
            _check_allow(layer, locker, upto_locker, entry, [rule_id], before, rules)


def _check_locked_rule(layer: Layer, locker: Layer, upto_locker: Sequence[Layer], entry: str, rule_id: str,
                       before: Mapping, after: Mapping, rules: Mapping[str, Any]) -> None:
    """``rule_id`` is locked (by ``entry``): its action and options only tighten; waivers need ``allowed_waivers``."""
    data = layer.data
    if rule_id in data.get("rules", {}):
        _check_rule(layer, locker, upto_locker, entry, rule_id, before, after, rules)
    _check_waivers(layer, locker, upto_locker, entry, lambda w: w.get("rule") in (rule_id, "*"))


def _check_rule(layer: Layer, locker: Layer, upto_locker: Sequence[Layer], entry: str, rule_id: str,
                before: Mapping, after: Mapping, rules: Mapping[str, Any]) -> None:
    """Refuse changes by ``layer`` to locked rule ``rule_id``: a weaker action or a loosened option."""
    table = layer.data["rules"][rule_id]
    info = rules.get(rule_id)
    for key in table:
        path = ("rules", rule_id, key)
        old, new = _get(before, path), _get(after, path)
        if new == old:
            continue  # unchanged, or overridden by a layer the lock trusts
        if key == "action":
            old_action = old if old is not _MISSING else (info.default_action if info else "deny")
            if _ACTION_RANK[new] < _ACTION_RANK[old_action]:
                _fail(layer, locker, entry, path, f"rule {rule_id} action lowers {old_action!r} to {new!r}")
            continue
        opt = info.options.get(key) if info else None
        if old is _MISSING and opt is not None:
            old = opt.default
        direction = getattr(opt, "tighten", None) or schema.RULE_OPTION_TIGHTEN.get((rule_id, key))
        if not tightens(direction, old, new):
            _fail(layer, locker, entry, path, f"rule {rule_id} option {key} {_describe(direction, old, new)}")


def _check_allow(layer: Layer, locker: Layer, upto_locker: Sequence[Layer], entry: str, rule_ids: Sequence[str],
                 before: Mapping, rules: Mapping[str, Any]) -> None:
    """An ``allow`` entry silences every rule that honours the allow list (``RuleInfo.allowlist``:
    typosquat, malicious): against a locked one it is a waiver and needs ``allowed_waivers``."""
    name_rules = [r for r in rule_ids if getattr(rules.get(r), "allowlist", False)]
    if not name_rules:
        return
    for idx, name in enumerate(layer.data.get("allow", ())):
        if name in before.get("allow", ()):
            continue
        for rule_id in name_rules:
            if not waiver_allowed({"rule": rule_id, "subject": name}, upto_locker):
                _fail(layer, locker, entry, ("allow", idx),
                      f"allow adds {name!r}, which silences locked rule {rule_id!r} (the locking layer's "
                      f"allowed_waivers would need '{rule_id}:{name}')")


def _check_waivers(layer: Layer, locker: Layer, upto_locker: Sequence[Layer], entry: str, applies) -> None:
    """Refuse ``layer``'s waivers picked by ``applies`` unless ``allowed_waivers`` up to the locker covers them."""
    for idx, waiver in enumerate(layer.data.get("waivers", ())):
        if applies(waiver) and not waiver_allowed(waiver, upto_locker):
            _fail(layer, locker, entry, ("waivers", idx),
                  f"waiver for rule {waiver.get('rule')!r} on {waiver.get('subject')!r} is not in the locking "
                  f"layer's allowed_waivers")
