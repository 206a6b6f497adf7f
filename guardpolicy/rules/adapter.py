"""Rule ``adapter``: a LoRA/PEFT adapter whose base model itself fails the policy.

An adapter repo (one with ``adapter_config.json``) is loaded on top of the model named by
``base_model_name_or_path`` (at ``revision`` when given). That base model is a dependency:
guard checks it as a ``ModelRef`` with every model rule of the same policy, and reports its
deny/warn findings under ``adapter`` on the adapter (each names the base rule). A base model
given as a local path is not a Hub dependency and is skipped. Nesting is bounded.

``adapter_config.json`` is read from the adapter's local folder, or from the Hub when online.
"""

from __future__ import annotations

import re

from ..hookspecs import hookimpl
from ..hubids import valid_repo_id
from ..hubinfo import json_object, known_files, read_small_file
from ..model import Finding, ModelRef
from . import RuleInfo

RULE = RuleInfo(
    id="adapter",
    summary="A LoRA/PEFT adapter's base model fails the policy.",
    help="The base model named in `adapter_config.json` (`base_model_name_or_path`, `revision`) is checked "
         "like any Hub reference (unpinned, source, typosquat, ...). Its failures are reported on the adapter.",
    default_action="deny",
    example="hf:acme/lora@0123...: adapter: base model hf:meta-Ilama/Llama-3-8B: typosquat: ...",
    subjects=("model",),
)

ADAPTER_CONFIG = "adapter_config.json"
MAX_DEPTH = 3
_LOCAL = re.compile(r"^(\.{0,2}/|~|[A-Za-z]:[\\/])")


def base_model_of(data: bytes):
    """``(base id, revision)`` from adapter_config.json bytes; ``(None, None)`` when absent or a local path."""
    cfg = json_object(data)
    base, rev = cfg.get("base_model_name_or_path"), cfg.get("revision")
    if not isinstance(base, str) or not base.strip() or _LOCAL.match(base.strip()):
        return None, None
    return base.strip(), rev if isinstance(rev, str) and rev.strip() else None


def base_ref(adapter: ModelRef, base: str, revision) -> ModelRef:
    """The base model as a ``ModelRef`` on the adapter's endpoint, located where the adapter is."""
    depth = int((adapter.extra or {}).get("adapter_depth", 0)) + 1
    return ModelRef(repo_id=base, repo_type="model", revision=revision, endpoint=adapter.endpoint,
                    location=adapter.location, extra={"adapter_of": adapter.subject, "adapter_depth": depth})


@hookimpl
def guard_check_model(model, policy, context):
    """Check an adapter's base model with every model rule; report its failures on the adapter."""
    if model.repo_type != "model" or int((model.extra or {}).get("adapter_depth", 0)) >= MAX_DEPTH:
        return None
    if policy.rule("adapter").action == "off":  # findings below may carry their own action
        return None
    files, origin = known_files(model, context, policy)
    if origin != "none" and ADAPTER_CONFIG not in files:
        return None
    data = read_small_file(model, ADAPTER_CONFIG, context, policy)
    if not data:
        return None
    base, revision = base_model_of(data)
    if base is None:
        return None
    if not valid_repo_id(base):
        return [Finding(rule="adapter", subject=model.subject, location=model.location,
                        message=f"base model {base!r} in {ADAPTER_CONFIG} is not a valid Hub repo id",
                        suggestion="fix base_model_name_or_path", details={"base_model": base})]
    ref = base_ref(model, base, revision)
    from ..engine import apply_policy
    from ..plugins import get_plugin_manager

    raw = []
    for result in get_plugin_manager().hook.guard_check_model(model=ref, policy=policy, context=context):
        raw.extend(result or ())
    counted, _waived = apply_policy(raw, policy)
    out = []
    for f in counted:
        if f.action not in ("deny", "warn"):
            continue
        out.append(Finding(rule="adapter", subject=model.subject, location=model.location,
                           # a base-model warning stays a warning on the adapter
                           action="warn" if f.action == "warn" else None,
                           message=f"base model {ref.subject}: {f.rule}: {f.message}",
                           suggestion=f.suggestion,
                           details={"base_model": ref.subject, "base_rule": f.rule, "base_action": f.action,
                                    **({"base_details": dict(f.details)} if f.details else {})}))
    return out


@hookimpl
def guard_rules():
    """Describe the rule."""
    return [RULE]
