"""Find, read, validate and layer policy files.

Layering: each file may ``extends = [...]`` shipped names (``default``, ``strict``) or
paths relative to itself. Layers apply lowest first; a later layer overrides an earlier
one key by key (tables merge, values replace), except the lists in
``schema.ACCUMULATING`` which union. A file that does not say ``extends`` extends
``default``.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import re
from dataclasses import replace
from pathlib import Path
from typing import Any, Iterable, Mapping, Optional

import tomllib

from ..errors import PolicyError
from . import schema
from .discovery import discover_project_refs
from .locking import check_locks, locked_by
from .merge import identity as _identity
from .merge import merge_layers
from .model import Layer, Policy, RuleSettings, Waiver
from .paths import user_config_dir
from .positions import key_line

DEFAULT_POLICY = "default"
_PKG_DIR = Path(__file__).resolve().parent.parent


def shipped_dir() -> Path:
    """The folder of shipped policies: packaged as ``guardpolicy/_policies``, or ``policies/`` in a checkout."""
    packaged = _PKG_DIR / "_policies"
    if packaged.is_dir():
        return packaged
    return _PKG_DIR.parent / "policies"


def shipped_policy_names() -> list[str]:
    """Names usable as ``--policy NAME`` or in ``extends``."""
    return sorted(p.stem for p in shipped_dir().glob("*.toml"))


# ---------------------------------------------------------------- reading one file

_TOML_ERR_LINE = re.compile(r"\(at line (\d+), column \d+\)")


def parse_toml(text: str, file: str) -> dict:
    """Parse TOML text; a syntax error becomes a ``PolicyError`` naming file and line."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        from ..fileio import toml_error_line

        msg = _TOML_ERR_LINE.sub("", str(exc)).strip()
        raise PolicyError(f"invalid TOML: {msg}", file=file, line=toml_error_line(str(exc), text)) from None


def read_layer(path: Path, name: Optional[str] = None, bundle: Optional[Mapping[str, Any]] = None) -> Layer:
    """Read one policy file (``*.toml`` or a ``pyproject.toml``'s ``[tool.guard]``)."""
    file = str(path)
    where = (bundle or {}).get("url") or file
    from ..fileio import decode_utf8, error_line, read_bytes_limited

    try:
        data = read_bytes_limited(path)
    except FileNotFoundError:
        raise PolicyError("policy file not found", file=where) from None
    except IsADirectoryError:
        raise PolicyError("is a directory, not a policy file", file=where) from None
    except (OSError, ValueError) as exc:
        raise PolicyError(f"cannot read policy: {getattr(exc, 'strerror', None) or exc}", file=where) from None
    try:
        text = decode_utf8(data)
    except UnicodeDecodeError as exc:
        raise PolicyError(f"not UTF-8 (byte 0x{data[exc.start]:02x}); TOML files are UTF-8", file=where,
                          line=error_line(data, exc)) from None
    table = parse_toml(text, where)
    if path.name == "pyproject.toml":
        tool = table.get("tool", {})
        table = tool.get("guard", {}) if isinstance(tool, dict) else {}
        if not isinstance(table, dict):
            raise PolicyError("[tool.guard] must be a table", file=where, line=key_line(text, ("tool", "guard")),
                              key="tool.guard")
    return Layer(name=name or file, path=file, data=table, text=text, bundle=bundle)


# ---------------------------------------------------------------- validation

def validate_layer(layer: Layer, rules: Mapping[str, Any]) -> None:
    """Check every key and type of one layer; raise ``PolicyError`` on the first problem.

    ``rules`` maps rule id to ``RuleInfo`` (for ``[rules.<id>]`` options).
    """

    def fail(msg: str, keypath: tuple) -> None:
        raise PolicyError(msg, file=layer.where, line=key_line(layer.text, layer.keybase + keypath),
                          key=".".join(str(k) for k in keypath if not isinstance(k, int)) or None)

    data = layer.data
    for key, value in data.items():
        if key not in schema.TOP_LEVEL:
            fail(f"unknown key (known: {', '.join(sorted(schema.TOP_LEVEL))})", (key,))
        expected = schema.TOP_LEVEL[key]
        if not schema.type_ok(value, expected):
            fail(f"expected {schema.type_name(expected)}, got {_tname(value)}", (key,))
    if "mode" in data and data["mode"] not in schema.MODES:
        fail(f"must be one of {', '.join(schema.MODES)}, got {data['mode']!r}", ("mode",))
    if "schema_version" in data and data["schema_version"] != 1:
        fail(f"unsupported schema_version {data['schema_version']} (this guard reads 1)", ("schema_version",))
    if "revision" in data and data["revision"] < 0:
        fail("must be 0 or more", ("revision",))
    if "max_age" in data:
        try:
            schema.parse_duration(data["max_age"])
        except ValueError as exc:
            fail(str(exc), ("max_age",))
    for i, ref in enumerate(data.get("extends", [])):
        if not ref.strip():
            fail("empty entry", ("extends", i))
    for i, entry in enumerate(data.get("deny", [])):
        try:
            from packaging.requirements import InvalidRequirement

            from ..pep508 import parse_requirement

            parse_requirement(entry)
        except InvalidRequirement as exc:
            why = str(exc).splitlines()[0].rstrip(": ")
            fail(f"not a requirement string ({why}): {entry!r}", ("deny", i))
    for i, entry in enumerate(data.get("allow", [])):
        if not entry.strip() or any(c in entry for c in "<>=!~;@ "):
            fail(f"expected a project name or name glob, got {entry!r}", ("allow", i))
    known_locks = set(schema.SECTIONS) | set(schema.LOCKABLE_KEYS) | set(rules)
    for i, entry in enumerate(data.get("locked", [])):
        if entry not in known_locks:
            fail(f"cannot lock {entry!r}: not a section, rule id or one of {', '.join(schema.LOCKABLE_KEYS)}",
                 ("locked", i))
    for i, entry in enumerate(data.get("allowed_waivers", [])):
        rule, sep, subject = entry.partition(":")
        if not sep or not subject.strip() or (rule != "*" and rule not in rules):
            fail(f"expected 'RULE:SUBJECT-GLOB' with a known rule, got {entry!r}", ("allowed_waivers", i))
    for section, keys in schema.SECTIONS.items():
        for key, value in data.get(section, {}).items():
            if key not in keys:
                fail(f"unknown key in [{section}] (known: {', '.join(sorted(keys))})", (section, key))
            if not schema.type_ok(value, keys[key]):
                fail(f"expected {schema.type_name(keys[key])}, got {_tname(value)}", (section, key))
    bundle = data.get("bundle", {})
    if "refresh" in bundle:
        try:
            schema.parse_duration(bundle["refresh"])
        except ValueError as exc:
            fail(str(exc), ("bundle", "refresh"))
    if "max_size" in data.get("log", {}):
        try:
            schema.parse_size(data["log"]["max_size"])
        except ValueError as exc:
            fail(str(exc), ("log", "max_size"))
    for i, k in enumerate(bundle.get("trusted_keys", [])):
        from .bundles import parse_public_key  # stdlib-only at import time

        try:
            parse_public_key(k)
        except ValueError as exc:
            fail(f"{exc}, got {k!r}", ("bundle", "trusted_keys", i))
    for rule_id, table in data.get("rules", {}).items():
        if rule_id not in rules:
            fail(f"unknown rule (known: {', '.join(sorted(rules))})", ("rules", rule_id))
        if not isinstance(table, dict):
            fail(f"expected table, got {_tname(table)}", ("rules", rule_id))
        info = rules[rule_id]
        for key, value in table.items():
            if key == "action":
                if value not in schema.ACTIONS:
                    fail(f"must be one of {', '.join(schema.ACTIONS)}, got {value!r}", ("rules", rule_id, key))
                continue
            opt = info.options.get(key)
            if opt is None:
                known = ", ".join(sorted(["action", *info.options]))
                fail(f"unknown option for rule {rule_id!r} (known: {known})", ("rules", rule_id, key))
            if not schema.type_ok(value, opt.type):
                fail(f"expected {schema.type_name(opt.type)}, got {_tname(value)}", ("rules", rule_id, key))
            choices = getattr(opt, "choices", ())
            if choices and isinstance(value, list):
                # a list option (``profiles``): each entry must be a known value
                for entry in value:
                    if entry not in choices:
                        fail(f"unknown value {entry!r} (known: {', '.join(map(str, choices))})", ("rules", rule_id, key))
            elif choices and value not in choices:
                fail(f"must be one of {', '.join(map(str, choices))}, got {value!r}", ("rules", rule_id, key))
            minimum = getattr(opt, "minimum", None)
            if minimum is not None and isinstance(value, (int, float)) and value < minimum:
                fail(f"must be {minimum} or more, got {value!r}", ("rules", rule_id, key))
    for i, waiver in enumerate(data.get("waivers", [])):
        for key, value in waiver.items():
            if key not in schema.WAIVER_KEYS:
                fail(f"unknown waiver key (known: {', '.join(sorted(schema.WAIVER_KEYS))})", ("waivers", i, key))
            if not schema.type_ok(value, schema.WAIVER_KEYS[key]):
                fail(f"expected {schema.type_name(schema.WAIVER_KEYS[key])}, got {_tname(value)}", ("waivers", i, key))
        for required in ("rule", "subject", "reason"):
            if not str(waiver.get(required, "")).strip():
                fail(f"waiver needs a non-empty {required!r}", ("waivers", i, required) if required in waiver else ("waivers", i))
        if waiver["rule"] != "*" and waiver["rule"] not in rules:
            fail(f"waiver names unknown rule {waiver['rule']!r} (known: {', '.join(sorted(rules))})", ("waivers", i, "rule"))


def _tname(value: Any) -> str:
    """The TOML name of a parsed value's type, for error messages."""
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, _dt.datetime):
        return "datetime"
    if isinstance(value, _dt.date):
        return "date"
    return {str: "string", int: "integer", float: "float", list: "array", dict: "table"}.get(type(value), type(value).__name__)


# ---------------------------------------------------------------- layering

_URL_SCHEMES = ("https://", "http://")


def is_url(ref: str) -> bool:
    """True for an ``extends`` entry naming a remote bundle."""
    return ref.startswith(_URL_SCHEMES)


#: bounds on one policy stack: deeper ``extends`` chains, more distinct files or more bytes are an
#: error naming the file that crossed the line (a 22-file diamond took 18 s before memoising)
MAX_EXTENDS_DEPTH = 32
MAX_LAYERS = 64
MAX_STACK_BYTES = 8 * 1024 * 1024


class _Ctx:
    """What every step of one ``load_policy`` call shares."""

    def __init__(self, rules: Mapping[str, Any], env: Mapping[str, str], refresh: str):
        """The rule registry, environment and bundle refresh mode of this load."""
        self.rules, self.env, self.refresh = rules, env, refresh
        #: identity -> the finished stack of that layer (each file is walked once per load)
        self.stacks: dict = {}
        #: distinct layers read and their bytes (for MAX_LAYERS and MAX_STACK_BYTES)
        self.read: set = set()
        self.bytes = 0


def _resolve_ref(ref: str, referrer: Optional[Layer], base_dir: Optional[Path], ctx: _Ctx) -> Layer:
    """Read the layer an ``extends`` entry (or ``--policy`` value) names."""
    where = referrer.where if referrer else None
    line = None
    if referrer is not None:
        idx = list(referrer.data.get("extends", [])).index(ref) if ref in referrer.data.get("extends", []) else None
        line = key_line(referrer.text, referrer.keybase + (("extends", idx) if idx is not None else ("extends",)))
    if referrer is not None and referrer.bundle and not is_url(ref) and not _is_shipped_name(ref):
        # a bundle's relative extends are relative to its URL, never to the cache folder
        from urllib.parse import urljoin

        ref = urljoin(referrer.bundle["url"], ref)
    if is_url(ref):
        from .bundles import fetch_bundle  # issue 5: remote bundles

        keys = tuple((referrer.data.get("bundle", {}) if referrer else {}).get("trusted_keys", ()))
        try:
            path, meta = fetch_bundle(ref, trusted_keys=keys, refresh=ctx.refresh, env=ctx.env, with_meta=True)
        except PolicyError as exc:
            if exc.file or where is None:
                raise
            raise PolicyError(exc.message, file=where, line=line, key="extends") from None
        return read_layer(path, name=meta["url"], bundle=meta)
    if _is_shipped_name(ref):
        return read_layer(shipped_dir() / f"{ref}.toml", name=ref)
    scheme = re.match(r"([A-Za-z][A-Za-z0-9+.-]+):(?=/)", ref)
    if scheme:  # not a path: a URL guard does not fetch (one letter is a Windows drive)
        raise PolicyError(f"{ref!r} is not a policy guard can load: only https:// (and http://) bundle URLs, shipped names and "
                          "paths are supported", file=where, line=line, key="extends" if referrer else None)
    path = Path(ref).expanduser()
    if not path.is_absolute() and base_dir is not None:
        path = Path(os.path.normpath(base_dir / path))
    try:
        exists = path.exists()
    except OSError as exc:  # ENAMETOOLONG, ELOOP, EACCES on a parent
        shown = ref if len(ref) <= 120 else ref[:100] + f"... ({len(ref)} characters)"
        raise PolicyError(f"cannot use policy path {shown!r}: {exc.strerror or exc}", file=where, line=line,
                          key="extends" if referrer else None) from None
    if not exists:
        if "/" not in ref and "\\" not in ref and not ref.endswith(".toml"):
            msg = f"no shipped policy named {ref!r} (shipped: {', '.join(shipped_policy_names())})"
        else:
            msg = f"policy file not found: {path}"
        raise PolicyError(msg, file=where, line=line, key="extends" if referrer else None)
    if path.is_dir():
        raise PolicyError(f"{path} is a directory, not a policy file", file=where, line=line,
                          key="extends" if referrer else None)
    return read_layer(path)


def _is_shipped_name(ref: str) -> bool:
    """True when ``ref`` names a policy shipped with guardpolicy (``default``, ``strict``, ...), not a path."""
    return "/" not in ref and "\\" not in ref and not ref.endswith(".toml") and (shipped_dir() / f"{ref}.toml").is_file()


def _stack(layer: Layer, seen: tuple, ctx: _Ctx) -> list[Layer]:
    """``layer`` preceded by everything it extends (depth first, lowest first, each file once).

    Memoised per file for one load, and bounded: ``MAX_EXTENDS_DEPTH`` levels, ``MAX_LAYERS``
    distinct files, ``MAX_STACK_BYTES`` of policy text.
    """
    ident = _identity(layer)
    done = ctx.stacks.get(ident)
    if done is not None:
        return done
    if len(seen) >= MAX_EXTENDS_DEPTH:
        raise PolicyError(f"extends nested more than {MAX_EXTENDS_DEPTH} levels deep", file=layer.where, key="extends")
    if ident not in ctx.read:
        ctx.read.add(ident)
        ctx.bytes += len(layer.text or "")
        if len(ctx.read) > MAX_LAYERS:
            raise PolicyError(f"the policy extends more than {MAX_LAYERS} files", file=layer.where, key="extends")
        if ctx.bytes > MAX_STACK_BYTES:
            raise PolicyError(f"the policy files add up to more than {MAX_STACK_BYTES // (1024 * 1024)} MiB",
                              file=layer.where)
    validate_layer(layer, ctx.rules)
    if "extends" in layer.data:
        parents = layer.data["extends"]
    else:
        parents = [] if layer.name == DEFAULT_POLICY else [DEFAULT_POLICY]
    base_dir = Path(layer.path).parent if layer.path and not layer.bundle else None
    out: list[Layer] = []
    in_out: set = set()
    pids: list[str] = []
    for ref in parents:
        parent = _resolve_ref(ref, layer, base_dir, ctx)
        pid = _identity(parent)
        pids.append(pid)
        if pid in seen + (ident,):
            chain = " -> ".join([*seen, ident, pid])
            idx = list(layer.data["extends"]).index(ref)
            raise PolicyError(f"extends cycle: {chain}", file=layer.where,
                              line=key_line(layer.text, layer.keybase + ("extends", idx)), key="extends")
        for sub in _stack(parent, seen + (ident,), ctx):
            sid = _identity(sub)
            if sid not in in_out:
                in_out.add(sid)
                out.append(sub)
    out.append(replace(layer, parents=tuple(pids)))
    ctx.stacks[ident] = out
    return out


def _waivers(layers: Iterable[Layer]) -> tuple[Waiver, ...]:
    """Every layer's ``[[waivers]]`` as ``Waiver`` objects, each with the file and line it came from."""
    out = []
    for layer in layers:
        for i, w in enumerate(layer.data.get("waivers", [])):
            expires = w.get("expires")
            if isinstance(expires, str):
                expires = _dt.date.fromisoformat(expires)
            out.append(Waiver(rule=w["rule"], subject=w["subject"], reason=w["reason"], expires=expires,
                              id=w.get("id"), owner=w.get("owner"), allowed_by=w.get("allowed_by"),
                              origin=layer.where, line=key_line(layer.text, layer.keybase + ("waivers", i))))
    return tuple(out)


def _digest(data: Mapping) -> str:
    """sha256 of the canonical JSON of ``data``: equal settings give equal digests, whatever the layering."""
    blob = json.dumps(data, sort_keys=True, default=str, separators=(",", ":")).encode()
    return hashlib.sha256(blob).hexdigest()


def build_policy(layers: list[Layer], rules: Mapping[str, Any], env: Mapping[str, str]) -> Policy:
    """Fold validated layers into the effective ``Policy`` (with the ``GUARD_MODE`` override).

    ``GUARD_MODE`` may always make the mode stricter; it may loosen it only when no layer set
    ``allow_mode_override = false`` and no layer locked ``mode``.
    """
    check_locks(layers, rules)
    merged, prov = merge_layers(layers)
    defaults = {rid: RuleSettings(action=info.default_action,
                                  options={k: o.default for k, o in info.options.items()})
                for rid, info in rules.items()}
    override, source = None, f"policy ({prov.get('mode', 'built-in default')})"
    wanted = env.get("GUARD_MODE", "").strip().lower()
    if wanted:
        if wanted not in schema.MODES:
            raise PolicyError(f"GUARD_MODE must be one of {', '.join(schema.MODES)}, got {wanted!r}")
        current = merged.get("mode", "enforce")
        loosening = schema.MODES.index(wanted) > schema.MODES.index(current)
        locker = locked_by(layers, "mode")
        if not loosening or (merged.get("allow_mode_override", True) and locker is None):
            override, source = wanted, "GUARD_MODE environment variable"
        else:
            why = f"{locker.name} locks the mode" if locker else "the policy sets allow_mode_override = false"
            source += f"; GUARD_MODE={wanted} ignored: {why}"
    return Policy(data=merged, layers=tuple(layers), provenance=prov, digest=_digest(merged),
                  rule_defaults=defaults, waivers=_waivers(layers), mode_override=override, mode_source=source)


# ---------------------------------------------------------------- discovery


def discover_policy_ref(cwd: Optional[Path] = None, env: Optional[Mapping[str, str]] = None) -> tuple[str, str]:
    """The policy a command uses on top of the floor when ``--policy`` is not given, and how it was found.

    ``GUARD_POLICY``, then the nearest ``guard.toml`` / ``[tool.guard]`` upward from ``cwd``
    (``discover_project_refs``), then the user config dir's ``guard.toml``, then the shipped
    ``default``. Whatever it is, the floor (``trust.floor_files``) stays beneath it.
    """
    env = os.environ if env is None else env
    if env.get("GUARD_POLICY"):
        return env["GUARD_POLICY"], "GUARD_POLICY environment variable"
    project = discover_project_refs(cwd, env)
    if project:
        where = "[tool.guard] in pyproject.toml" if project[-1].endswith("pyproject.toml") else "guard.toml"
        return project[-1], f"{where} found upward from the working directory"
    user = user_config_dir(env) / "guard.toml"
    if user.is_file():
        return str(user), "user config directory"
    return DEFAULT_POLICY, "shipped default (no policy configured)"


def load_policy(ref: Optional[str] = None, *, cwd: Optional[Path] = None, env: Optional[Mapping[str, str]] = None,
                rules: Optional[Mapping[str, Any]] = None, refresh: str = "auto", floor: bool = True) -> Policy:
    """Load the effective policy.

    :param ref: a shipped name, a path, a bundle URL, or ``None`` to discover it.
    :param rules: rule id -> ``RuleInfo``; defaults to every rule the plugin manager knows.
    :param refresh: for remote bundles: ``auto`` (revalidate when the cached copy is older
        than the bundle's ``[bundle] refresh``), ``force`` (``guard policy pull``) or
        ``never`` (cache only; also what ``GUARD_OFFLINE=1`` selects).
    :param floor: layer the policy on the trust root (``trust.floor_files``: the system and user
        policies), which it may tighten but not loosen. ``False`` reads ``ref`` alone
        (``guard policy validate FILE``).
    """
    env = os.environ if env is None else env
    if rules is None:
        from ..plugins import rule_infos

        rules = rule_infos()
    if env.get("GUARD_OFFLINE", "").strip().lower() in ("1", "true", "yes") and refresh == "auto":
        refresh = "never"
    ctx = _Ctx(rules, env, refresh)
    if ref is not None:
        project = [ref]
    elif env.get("GUARD_POLICY"):
        project = [env["GUARD_POLICY"]]
    else:
        project = discover_project_refs(cwd, env)
    layers = stack_on_floor(project if floor else project or [DEFAULT_POLICY], floor, cwd or Path.cwd(), ctx)
    return build_on_floor(layers, rules, env)


def build_on_floor(layers: list[Layer], rules: Mapping[str, Any], env: Mapping[str, str]) -> Policy:
    """``build_policy``, where a layer above the floor that loosens it is left out (one warning line).

    The floor stays whole: its settings apply, and the check goes on (the org's ``deny`` list still
    denies). A layer's tightenings are dropped with it: fix the file so it only tightens.
    """
    from .trust import say

    while True:
        try:
            return build_policy(layers, rules, env)
        except PolicyError as exc:
            marker = next((i for i, layer in enumerate(layers) if _is_floor_marker(layer)), None)
            culprit = next((i for i, layer in enumerate(layers) if marker is not None and i > marker
                            and layer.where == exc.file), None)
            if culprit is None:
                raise
            where = f"{exc.file}:{exc.line}" if exc.line else exc.file
            say(f"ignoring policy {where}: {exc.message} (a policy above the floor may tighten it, not loosen it)")
            layers = layers[:culprit] + layers[culprit + 1:]


#: what the floor locks for every layer above it: a project may tighten all of it, loosen none of
#: it (the floor's own ``allowed_waivers`` and ``allow_mode_override = true`` are the exceptions)
FLOOR_LOCKS = ("rules", "mode", "allow", "deny", "waivers", *sorted(schema.SECTIONS))
#: how the lock layer above a floor is named (errors read "... but the floor (FILE) locks 'mode'")
FLOOR_MARKER = "the floor ("


def _floor_marker(below: list, allow_mode_override: bool) -> Layer:
    """A layer holding only locks, placed between a floor (or an outer project policy) and what sits above it."""
    named = ", ".join(dict.fromkeys(layer.where for layer in below if not _is_shipped_layer(layer))) or "shipped"
    data: dict = {"locked": [e for e in FLOOR_LOCKS if not (allow_mode_override and e == "mode")]}
    if allow_mode_override:  # the floor said so itself: GUARD_MODE / --mode may loosen the mode
        data["allow_mode_override"] = True
    return Layer(name=f"{FLOOR_MARKER}{named})", path=None, data=data, parents=None)


def _is_floor_marker(layer: Layer) -> bool:
    """True for the lock-only layer ``_floor_marker`` puts above a floor."""
    return layer.path is None and not layer.bundle and layer.name.startswith(FLOOR_MARKER)


def _is_shipped_layer(layer: Layer) -> bool:
    """True for a policy shipped with guardpolicy (trusted like the code itself)."""
    return layer.path is not None and not layer.bundle and Path(layer.path).parent == shipped_dir()


def stack_on_floor(project: list, use_floor, base_dir: Path, ctx: "_Ctx") -> list[Layer]:
    """The layers of the floor, then of each project policy (outermost first), each above a lock.

    ``use_floor``: read the trust root (``True``), or a list of ``(path, label)`` floor files.
    Over a floor, shipped policies a project extends go to the bottom (they are part of guard, not
    of the project). With neither floor nor project, the shipped ``default`` is the policy.
    """
    from .trust import floor_files, say

    floor = floor_files(ctx.env) if use_floor is True else list(use_floor or ())
    shipped: list[Layer] = []
    floor_stack: list[Layer] = []
    ids: set = set()

    def add(target: list, layer: Layer) -> None:
        ident = _identity(layer)
        if ident not in ids:
            ids.add(ident)
            target.append(layer)

    for path, _label in floor:
        for sub in _stack(read_layer(path), (), ctx):
            add(floor_stack, sub)
    above: list[Layer] = []
    below_names = [f"{label} {path}" for path, label in floor]
    for ref in project:
        top = _resolve_ref(ref, None, base_dir, ctx)
        if _identity(top) in ids:
            continue  # the floor itself (e.g. GUARD_POLICY naming the user policy)
        if floor_stack or above:
            floor_allows = any(layer.data.get("allow_mode_override") is True for layer in floor_stack) and not above
            above.append(_floor_marker(floor_stack + above, floor_allows))
            what = "project policy" if not ref.startswith(_URL_SCHEMES) else "policy"
            say(f"{what} {top.where} layered on {', '.join(below_names) or 'the outer project policy'}: "
                "it may tighten, not loosen")
        for sub in _stack(top, (), ctx):
            # shipped policies a project extends are part of guard: below the floor. The named
            # policy itself stays above it (``--policy research`` over a strict floor is refused)
            add(shipped if floor_stack and _is_shipped_layer(sub) and _identity(sub) != _identity(top) else above, sub)
        below_names.append(f"project policy {top.where}")
    if floor_stack and not above:
        # nothing above the floor: the lock still keeps GUARD_MODE / --mode from loosening it
        # (unless the floor itself says allow_mode_override = true)
        floor_allows = any(layer.data.get("allow_mode_override") is True for layer in floor_stack)
        above.append(_floor_marker(floor_stack, floor_allows))
    layers = shipped + floor_stack + above
    if not layers:
        layers = _stack(_resolve_ref(DEFAULT_POLICY, None, base_dir, ctx), (), ctx)
    return layers
