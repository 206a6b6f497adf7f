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
import tomllib
from pathlib import Path
from typing import Any, Iterable, Mapping, Optional

from ..errors import PolicyError
from . import schema
from .model import Layer, Policy, RuleSettings, Waiver

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
        m = _TOML_ERR_LINE.search(str(exc))
        msg = _TOML_ERR_LINE.sub("", str(exc)).strip()
        raise PolicyError(f"invalid TOML: {msg}", file=file, line=int(m.group(1)) if m else None) from None


def read_layer(path: Path, name: Optional[str] = None) -> Layer:
    """Read one policy file (``*.toml`` or a ``pyproject.toml``'s ``[tool.guard]``)."""
    file = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PolicyError("policy file not found", file=file) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise PolicyError(f"cannot read policy: {exc}", file=file) from None
    data = parse_toml(text, file)
    if path.name == "pyproject.toml":
        data = data.get("tool", {}).get("guard", {})
        if not isinstance(data, dict):
            raise PolicyError("[tool.guard] must be a table", file=file, line=key_line(text, ("tool", "guard")))
    return Layer(name=name or file, path=file, data=data, text=text)


def key_line(text: Optional[str], keypath: Iterable[Any]) -> Optional[int]:
    """Best-effort 1-based line of a dotted key in TOML source (tomllib keeps no positions).

    ``keypath`` items are keys, or integers indexing an array of tables (``("waivers", 1, "reason")``).
    Falls back to the line of the closest enclosing table header.
    """
    if not text:
        return None
    path = list(keypath)
    if path[:2] == ["tool", "guard"]:
        pass
    lines = text.splitlines()
    header_re = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
    key_re = re.compile(r'^\s*("?)([A-Za-z0-9_.\-" ]+?)\1\s*=')
    current: list[Any] = []
    counts: dict[str, int] = {}
    best: Optional[int] = None
    for no, raw in enumerate(lines, 1):
        hm = header_re.match(raw)
        if hm:
            parts = [p.strip().strip('"') for p in hm.group(2).split(".")]
            if hm.group(1) == "[[":
                k = ".".join(parts)
                counts[k] = counts.get(k, -1) + 1
                current = parts + [counts[k]]
            else:
                current = parts
            if current == path[: len(current)] and (best is None or True):
                best = no
                if current == path:
                    return no
            continue
        km = key_re.match(raw)
        if km:
            keyparts = [p.strip().strip('"') for p in km.group(2).split(".")]
            full = current + keyparts
            if full == path:
                return no
            if full == path[: len(full)]:
                best = no
    return best


# ---------------------------------------------------------------- validation


def validate_layer(layer: Layer, rules: Mapping[str, Any]) -> None:
    """Check every key and type of one layer; raise ``PolicyError`` on the first problem.

    ``rules`` maps rule id to ``RuleInfo`` (for ``[rules.<id>]`` options).
    """

    def fail(msg: str, keypath: tuple) -> None:
        base = ("tool", "guard") if layer.path and layer.path.endswith("pyproject.toml") else ()
        raise PolicyError(msg, file=layer.path or layer.name, line=key_line(layer.text, base + keypath),
                          key=".".join(str(k) for k in keypath))

    data = layer.data
    for key, value in data.items():
        if key not in schema.TOP_LEVEL:
            fail(f"unknown key (known: {', '.join(sorted(schema.TOP_LEVEL))})", (key,))
        expected = schema.TOP_LEVEL[key]
        if not schema.type_ok(value, expected):
            fail(f"expected {schema.type_name(expected)}, got {type(value).__name__}", (key,))
    if "mode" in data and data["mode"] not in schema.MODES:
        fail(f"must be one of {', '.join(schema.MODES)}, got {data['mode']!r}", ("mode",))
    for section, keys in schema.SECTIONS.items():
        for key, value in data.get(section, {}).items():
            if key not in keys:
                fail(f"unknown key in [{section}] (known: {', '.join(sorted(keys))})", (section, key))
            if not schema.type_ok(value, keys[key]):
                fail(f"expected {schema.type_name(keys[key])}, got {type(value).__name__}", (section, key))
    for rule_id, table in data.get("rules", {}).items():
        if rule_id not in rules:
            fail(f"unknown rule (known: {', '.join(sorted(rules))})", ("rules", rule_id))
        if not isinstance(table, dict):
            fail("expected table", ("rules", rule_id))
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
                fail(f"expected {schema.type_name(opt.type)}, got {type(value).__name__}", ("rules", rule_id, key))
    for i, waiver in enumerate(data.get("waivers", [])):
        for key, value in waiver.items():
            if key not in schema.WAIVER_KEYS:
                fail(f"unknown waiver key (known: {', '.join(sorted(schema.WAIVER_KEYS))})", ("waivers", i, key))
            if not schema.type_ok(value, schema.WAIVER_KEYS[key]):
                fail(f"expected {schema.type_name(schema.WAIVER_KEYS[key])}", ("waivers", i, key))
        for required in ("rule", "subject", "reason"):
            if not str(waiver.get(required, "")).strip():
                fail(f"waiver needs a non-empty {required!r}", ("waivers", i))
        if waiver["rule"] != "*" and waiver["rule"] not in rules:
            fail(f"waiver names unknown rule {waiver['rule']!r}", ("waivers", i, "rule"))


# ---------------------------------------------------------------- layering


def _resolve_ref(ref: str, base_dir: Optional[Path], referrer: str) -> tuple[str, Optional[Path]]:
    """Map an ``extends`` entry or ``--policy`` value to (layer name, path)."""
    if ref.startswith(("https://", "http://")):
        from ..bundles import fetch_bundle  # issue 5: remote bundles

        return ref, fetch_bundle(ref)
    shipped = shipped_dir() / f"{ref}.toml"
    if "/" not in ref and "\\" not in ref and not ref.endswith(".toml") and shipped.is_file():
        return ref, shipped
    path = Path(ref).expanduser()
    if not path.is_absolute() and base_dir is not None:
        path = base_dir / path
    if not path.exists() and "/" not in ref and not ref.endswith(".toml"):
        raise PolicyError(f"no shipped policy named {ref!r} (shipped: {', '.join(shipped_policy_names())})", file=referrer)
    return str(path), path


def _stack(ref: str, base_dir: Optional[Path], referrer: str, seen: tuple, rules: Mapping[str, Any]) -> list[Layer]:
    name, path = _resolve_ref(ref, base_dir, referrer)
    key = str(path.resolve()) if path else name
    if key in seen:
        chain = " -> ".join([*seen, key])
        raise PolicyError(f"extends cycle: {chain}", file=referrer)
    layer = read_layer(path, name=name)
    validate_layer(layer, rules)
    if "extends" in layer.data:
        parents = layer.data["extends"]
    else:
        parents = [] if name == DEFAULT_POLICY else [DEFAULT_POLICY]
    out: list[Layer] = []
    for parent in parents:
        for sub in _stack(parent, path.parent if path else None, layer.path or name, seen + (key,), rules):
            if all(sub.path != o.path for o in out):
                out.append(sub)
    out.append(layer)
    return out


def merge_layers(layers: Iterable[Layer]) -> tuple[dict, dict]:
    """Merge layers lowest first; return (merged data, provenance of each dotted key)."""
    merged: dict = {}
    prov: dict[str, str] = {}

    def merge(dst: dict, src: Mapping, path: tuple, origin: str) -> None:
        for key, value in src.items():
            here = path + (key,)
            if here == ("extends",):
                continue
            if isinstance(value, dict) and isinstance(dst.get(key), dict):
                merge(dst[key], value, here, origin)
            elif isinstance(value, dict):
                dst[key] = {}
                merge(dst[key], value, here, origin)
            elif here in schema.ACCUMULATING and isinstance(dst.get(key), list):
                dst[key] = dst[key] + [v for v in value if v not in dst[key]]
                prov[".".join(here)] = f"{prov.get('.'.join(here), '')} + {origin}".lstrip(" +")
            else:
                dst[key] = value
                prov[".".join(here)] = origin

    for layer in layers:
        merge(merged, layer.data, (), layer.name)
    return merged, prov


def _waivers(layers: Iterable[Layer]) -> tuple[Waiver, ...]:
    out = []
    for layer in layers:
        base = ("tool", "guard") if layer.path and layer.path.endswith("pyproject.toml") else ()
        for i, w in enumerate(layer.data.get("waivers", [])):
            expires = w.get("expires")
            if isinstance(expires, str):
                expires = _dt.date.fromisoformat(expires)
            out.append(Waiver(rule=w["rule"], subject=w["subject"], reason=w["reason"], expires=expires,
                              id=w.get("id"), owner=w.get("owner"), allowed_by=w.get("allowed_by"),
                              origin=layer.path or layer.name, line=key_line(layer.text, base + ("waivers", i))))
    return tuple(out)


def _digest(data: Mapping) -> str:
    blob = json.dumps(data, sort_keys=True, default=str, separators=(",", ":")).encode()
    return hashlib.sha256(blob).hexdigest()


def build_policy(layers: list[Layer], rules: Mapping[str, Any], env: Mapping[str, str]) -> Policy:
    """Fold validated layers into the effective ``Policy`` (with the ``GUARD_MODE`` override)."""
    from .locking import check_locks

    check_locks(layers)
    merged, prov = merge_layers(layers)
    defaults = {rid: RuleSettings(action=info.default_action,
                                  options={k: o.default for k, o in info.options.items()})
                for rid, info in rules.items()}
    override, source = None, f"policy ({prov.get('mode', 'built-in default')})"
    wanted = env.get("GUARD_MODE", "").strip().lower()
    if wanted:
        if wanted not in schema.MODES:
            raise PolicyError(f"GUARD_MODE must be one of {', '.join(schema.MODES)}, got {wanted!r}")
        if merged.get("allow_mode_override", True) or schema.MODES.index(wanted) <= schema.MODES.index(merged.get("mode", "enforce")):
            override, source = wanted, "GUARD_MODE environment variable"
        else:
            source += "; GUARD_MODE ignored: the policy forbids overriding the mode"
    return Policy(data=merged, layers=tuple(layers), provenance=prov, digest=_digest(merged),
                  rule_defaults=defaults, waivers=_waivers(layers), mode_override=override, mode_source=source)


# ---------------------------------------------------------------- discovery


def discover_policy_ref(cwd: Optional[Path] = None, env: Optional[Mapping[str, str]] = None) -> tuple[str, str]:
    """Where the effective policy comes from when ``--policy`` is not given.

    Returns (reference, how it was found): ``GUARD_POLICY``, then ``guard.toml`` or a
    ``pyproject.toml`` with ``[tool.guard]`` upward from ``cwd``, then the user config
    dir's ``guard.toml``, then the shipped ``default``.
    """
    env = os.environ if env is None else env
    if env.get("GUARD_POLICY"):
        return env["GUARD_POLICY"], "GUARD_POLICY environment variable"
    here = (cwd or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / "guard.toml"
        if candidate.is_file():
            return str(candidate), "guard.toml found upward from the working directory"
        pyproject = folder / "pyproject.toml"
        if pyproject.is_file():
            try:
                text = pyproject.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError):
                text = ""
            if re.search(r"^\s*\[tool\.guard[\].]", text, re.M):
                return str(pyproject), "[tool.guard] in pyproject.toml found upward from the working directory"
    user = user_config_dir() / "guard.toml"
    if user.is_file():
        return str(user), "user config directory"
    return DEFAULT_POLICY, "shipped default (no policy configured)"


def user_config_dir() -> Path:
    """``GUARD_CONFIG_DIR`` or the platform's user config dir for ``guard``."""
    if os.environ.get("GUARD_CONFIG_DIR"):
        return Path(os.environ["GUARD_CONFIG_DIR"])
    try:
        from platformdirs import user_config_dir as _ucd
    except ImportError:  # platformdirs is a dependency; stay usable without it
        return Path.home() / ".config" / "guard"
    return Path(_ucd("guard", appauthor=False))


def load_policy(ref: Optional[str] = None, *, cwd: Optional[Path] = None, env: Optional[Mapping[str, str]] = None,
                rules: Optional[Mapping[str, Any]] = None) -> Policy:
    """Load the effective policy.

    :param ref: a shipped name, a path, or ``None`` to discover it.
    :param rules: rule id -> ``RuleInfo``; defaults to every rule the plugin manager knows.
    """
    env = os.environ if env is None else env
    origin = "--policy"
    if ref is None:
        ref, origin = discover_policy_ref(cwd, env)
    if rules is None:
        from ..plugins import rule_infos

        rules = rule_infos()
    layers = _stack(ref, cwd or Path.cwd(), origin, (), rules)
    return build_policy(layers, rules, env)
