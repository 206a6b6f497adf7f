"""``guard policy show|validate|explain|pull``: look at, check, explain and refresh the policy."""

from __future__ import annotations

import argparse


def add_parser(sub) -> None:
    """Register ``policy`` and its four subcommands."""
    from . import add_policy_args

    p = sub.add_parser("policy", help="show, validate, explain or refresh the policy",
                       description="Inspect the effective policy. Exit 0 ok; 2 policy or usage error.")
    psub = p.add_subparsers(dest="policy_command", metavar="SUBCOMMAND", required=True)

    show = psub.add_parser("show", help="the effective policy, each value with the layer that set it")
    add_policy_args(show)
    show.add_argument("-f", "--format", choices=("text", "json"), default="text")

    val = psub.add_parser("validate", help="check a policy file (and everything it extends); exit 2 on error")
    val.add_argument("file", metavar="FILE")

    exp = psub.add_parser("explain", help="what a rule checks, its options, and an example finding")
    exp.add_argument("rule", metavar="RULE")

    pull = psub.add_parser("pull", help="refresh the remote bundles the policy extends, now")
    add_policy_args(pull)
    pull.add_argument("--refresh", action="store_true",
                      help="drop the cached copies first and take the server's current bundles as on first use "
                           "(a corrected bundle the cache would refuse, e.g. new content under the same revision)")


def run(args: argparse.Namespace) -> int:
    """Dispatch to the subcommand."""
    return {"show": _show, "validate": _validate, "explain": _explain, "pull": _pull}[args.policy_command](args)


# ---------------------------------------------------------------- show


def flatten(data, prefix: tuple = ()):
    """``(dotted key path, value)`` for every leaf of the merged policy (lists are leaves)."""
    for key, value in data.items():
        here = prefix + (key,)
        if isinstance(value, dict) and value:
            yield from flatten(value, here)
        else:
            yield here, value


def effective_values(policy, rules) -> list[tuple[tuple, object, str]]:
    """Every effective value with the layer that set it; rule settings include built-in defaults."""
    mode_src = policy.mode_source if policy.mode_override else policy.provenance.get("mode", "built-in default")
    rows = [(("mode",), policy.mode, mode_src)]
    for path, value in flatten({k: v for k, v in policy.data.items() if k not in ("waivers", "rules", "mode")}):
        rows.append((path, value, policy.provenance.get(".".join(path), "?")))
    for rule_id in sorted(rules):
        settings = policy.rule(rule_id)
        rows.append((("rules", rule_id, "action"), settings.action,
                     policy.provenance.get(f"rules.{rule_id}.action", "built-in (rule default)")))
        for opt, value in sorted(settings.options.items()):
            rows.append((("rules", rule_id, opt), value,
                         policy.provenance.get(f"rules.{rule_id}.{opt}", "built-in (rule default)")))
    return rows


def _toml_value(value) -> str:
    """One TOML value on one line (arrays inline), for ``show``'s annotated listing."""
    import json

    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(k)} = {_toml_value(v)}" for k, v in value.items()) + "}"
    return json.dumps(str(value))


def layer_facts(layer) -> dict:
    """Who owns a layer's file and the sha256 of its text (``owner`` is ``None`` for a bundle or a lock-only layer)."""
    import hashlib
    import os

    owner = None
    if layer.path and not layer.bundle:
        try:
            uid = os.stat(layer.path).st_uid
            try:
                import pwd

                owner = pwd.getpwuid(uid).pw_name
            except (ImportError, KeyError):
                owner = f"uid {uid}"
        except OSError:
            owner = None
    text = layer.text if layer.text is not None else ""
    digest = (layer.bundle or {}).get("sha256") or (hashlib.sha256(text.encode("utf-8")).hexdigest() if layer.path else None)
    return {"owner": owner, "digest": digest}


def _layer_line(layer) -> str:
    """How ``guard policy show`` names a layer: its name and path, or its bundle's revision, status and signer;
    then the file's owner and the sha256 of its text."""
    facts = layer_facts(layer)
    tail = "".join([f", owner {facts['owner']}" if facts["owner"] else "",
                    f", sha256 {facts['digest'][:16]}" if facts["digest"] else ""])
    if layer.bundle:
        b = layer.bundle
        return (f"{layer.name}  [bundle revision {b.get('revision', 0)}, {b.get('status')}, "
                f"signed by {b.get('signed_by') or 'nobody'}, cached at {b.get('path')}{tail}]")
    if layer.path in (None, layer.name):
        return layer.name + (f"  [{tail[2:]}]" if tail else "")
    return f"{layer.name}  ({layer.path}{tail})"


def _show(args) -> int:
    """``guard policy show``: the effective policy, its layers and rule settings (text or JSON)."""
    import json

    from ..plugins import rule_infos
    from . import load_policy_from_args

    policy = load_policy_from_args(args)
    rules = rule_infos()
    rows = effective_values(policy, rules)
    if args.format == "json":
        out = {
            "layers": [{"name": l.name, "path": l.path, "bundle": dict(l.bundle) if l.bundle else None, **layer_facts(l)}
                       for l in policy.layers],
            "mode": policy.mode, "mode_source": policy.mode_source, "digest": policy.digest,
            "values": [{"key": ".".join(p), "value": v, "layer": src} for p, v, src in rows],
            "waivers": [{"rule": w.rule, "subject": w.subject, "reason": w.reason,
                         "expires": w.expires.isoformat() if w.expires else None, "expired": w.expired(),
                         "layer": w.origin, "line": w.line} for w in policy.waivers],
        }
        print(json.dumps(out, indent=2, default=str))
        return 0
    lines = ["# layers, lowest first (later layers override earlier ones):"]
    lines += [f"#   {i}. {_layer_line(l)}" for i, l in enumerate(policy.layers, 1)]
    lines.append(f"# mode source: {policy.mode_source}")
    current = None
    body = []
    rows.sort(key=lambda r: (len(r[0]) > 1, r[0][:-1]))  # top-level keys before any [section]
    for path, value, src in rows:
        section = path[:-1]
        if section != current:
            body.append("")
            if section:
                body.append("[" + ".".join(section) + "]")
            current = section
        body.append(f"{path[-1]} = {_toml_value(value)}  # {src}")
    for w in policy.waivers:
        body += ["", "[[waivers]]  # " + f"{w.origin}:{w.line}" + (" (EXPIRED)" if w.expired() else ""),
                 f"rule = {_toml_value(w.rule)}", f"subject = {_toml_value(w.subject)}", f"reason = {_toml_value(w.reason)}"]
        if w.expires:
            body.append(f"expires = {w.expires.isoformat()}")
    print("\n".join(lines + body))
    return 0


# ---------------------------------------------------------------- validate


def _validate(args) -> int:
    """``guard policy validate FILE``: load the file as a policy and name its layers (errors exit 2 via ``main``)."""
    from pathlib import Path

    from ..errors import UsageError
    from ..policy import load_policy

    path = Path(args.file)
    if path.is_dir():
        raise UsageError(f"{args.file}: is a directory, not a policy file")
    if not path.exists():
        raise UsageError(f"{args.file}: no such file")
    policy = load_policy(str(path.resolve()), env={k: v for k, v in __import__("os").environ.items() if k != "GUARD_MODE"},
                         floor=False)
    names = " <- ".join(l.name for l in policy.layers)
    print(f"{args.file}: ok ({len(policy.layers)} layers: {names})")
    return 0


# ---------------------------------------------------------------- explain


def explain_text(info) -> str:
    """The ``guard policy explain`` text of one ``RuleInfo``."""
    from ..policy import schema

    lines = [f"{info.id}: {info.summary}", ""]
    if info.help:
        lines += [info.help, ""]
    lines.append(f"judges: {', '.join(info.subjects)}")
    lines.append(f"default action: {info.default_action}   (set with [rules.{info.id}] action = \"deny\"|\"warn\"|\"off\")")
    lines.append(f"code: guardpolicy/rules/{info.id.replace('-', '_')}.py" if _is_builtin(info.id) else "code: a plugin")
    if info.options:
        lines += ["", "options:"]
        for name, opt in sorted(info.options.items()):
            lines.append(f"  {name} ({schema.type_name(opt.type)}, default {_toml_value(opt.default)}): {opt.help}")
    if info.example:
        lines += ["", "example finding:", f"  {info.example}"]
    lines += ["", "waive one subject:",
              f"  [[waivers]]\n  rule = \"{info.id}\"\n  subject = \"<name or glob>\"\n  reason = \"<why>\"\n  expires = <date>"]
    return "\n".join(lines)


def _is_builtin(rule_id: str) -> bool:
    """True when ``rule_id`` is one of guardpolicy's own rules (``guardpolicy/rules/<id>.py`` exists)."""
    from importlib.util import find_spec

    return find_spec(f"guardpolicy.rules.{rule_id.replace('-', '_')}") is not None


def _explain(args) -> int:
    """``guard policy explain RULE``: what the rule flags, its options and defaults, and where its code lives."""
    from ..errors import UsageError
    from ..plugins import rule_infos

    rules = rule_infos()
    info = rules.get(args.rule)
    if info is None:
        raise UsageError(f"unknown rule {args.rule!r} (known: {', '.join(sorted(rules))})")
    print(explain_text(info))
    return 0


# ---------------------------------------------------------------- pull


def _pull(args) -> int:
    """``guard policy pull``: refresh every remote bundle layer now (online, whatever ``GUARD_OFFLINE`` says)."""
    import os

    from ..policy import load_policy

    env = dict(os.environ)
    env.pop("GUARD_OFFLINE", None)
    policy = load_policy(args.policy, env=env, refresh="drop" if getattr(args, "refresh", False) else "force")
    bundles = [l for l in policy.layers if l.bundle]
    if not bundles:
        print(f"no remote bundles in the policy ({policy.name})")
        return 0
    for layer in bundles:
        b = layer.bundle
        print(f"{b['url']}: {b.get('status')} (revision {b.get('revision', 0)}"
              + (f", expires {b['expires']}" if b.get("expires") else "")
              + (f", signed by {b['signed_by']}" if b.get("signed_by") else "") + ")")
    from . import EXIT_ERROR, EXIT_OK

    return EXIT_OK if all(l.bundle.get("status") in ("updated", "revalidated") for l in bundles) else EXIT_ERROR
