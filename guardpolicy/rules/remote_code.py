"""Rule ``remote-code``: the repo ships Python that ``trust_remote_code=True`` would run.

Signals: ``*.py`` files in the repo (model code, dataset loading scripts), and an ``auto_map``
in ``config.json`` / ``tokenizer_config.json`` (which names the modules transformers imports;
an entry ``other/repo--module.Class`` pulls code from another repo). The file list comes from
the ref (lock files list every file), a local folder, or — online — the Hub listing. Spaces
are applications, so they are not judged here.
"""

from __future__ import annotations

from ..hookspecs import hookimpl
from ..hubinfo import json_object, known_files, lookup_failure, read_small_file
from ..model import Finding
from . import RuleInfo

RULE = RuleInfo(
    id="remote-code",
    summary="The repo ships Python code that trust_remote_code would execute.",
    help="A model or dataset repo with `*.py` files or an `auto_map` in its config runs its own code when "
         "loaded with `trust_remote_code=True`. Review the code and pin the commit, or waive the repo.",
    default_action="deny",
    example="hf:acme/custom@0123...: remote-code: ships modeling_custom.py (auto_map AutoModel -> modeling_custom.MyModel)",
    subjects=("model",),
)

CONFIG_FILES = ("config.json", "tokenizer_config.json")


def python_files(paths) -> list:
    """The ``*.py`` paths among ``paths``, sorted."""
    return sorted(p for p in paths if p.lower().endswith(".py"))


def auto_map_of(data: bytes) -> dict:
    """``{auto class: reference}`` from a config's ``auto_map`` (lists flattened; ``{}`` if none/invalid)."""
    amap = json_object(data).get("auto_map")
    if not isinstance(amap, dict):
        return {}
    out = {}
    for k, v in amap.items():
        refs = [x for x in (v if isinstance(v, list) else [v]) if isinstance(x, str) and x]
        if refs:
            out[str(k)] = ", ".join(refs)
    return out


def foreign_repos(auto_map: dict) -> list:
    """Repos other than this one that ``auto_map`` pulls code from (``org/repo--module.Class``)."""
    out = set()
    for refs in auto_map.values():
        for r in refs.split(", "):
            if "--" in r:
                out.add(r.split("--", 1)[0])
    return sorted(out)


@hookimpl
def guard_check_model(model, policy, context):
    """Flag a model or dataset repo that ships Python files or an ``auto_map``."""
    if model.repo_type == "space":
        return None
    files, origin = known_files(model, context, policy)
    failed = lookup_failure(model, context, policy) if origin != "local" else None
    if failed:
        return [Finding(rule="remote-code", subject=model.subject, location=model.location,
                        message=f"cannot check the repo's code online: {failed}",
                        suggestion="fix the reference (a locked commit that is gone must be re-locked) or the "
                                   "network, or check offline without --online",
                        details={"online_check": "failed"})]
    py = python_files(files)
    auto_map = {}
    for name in CONFIG_FILES:
        if origin in ("none",) or name in files:
            data = read_small_file(model, name, context, policy)
            if data:
                for k, v in auto_map_of(data).items():
                    auto_map.setdefault(f"{name}:{k}" if name != "config.json" else k, v)
    if not py and not auto_map:
        return None
    parts = []
    if py:
        parts.append(f"ships {', '.join(py[:5])}{' ...' if len(py) > 5 else ''}")
    if auto_map:
        parts.append("auto_map " + "; ".join(f"{k} -> {v}" for k, v in sorted(auto_map.items())))
    foreign = foreign_repos(auto_map)
    if foreign:
        parts.append(f"code from other repos: {', '.join(foreign)}")
    return [Finding(rule="remote-code", subject=model.subject, location=model.location,
                    message=f"{'; '.join(parts)} (run by trust_remote_code=True)",
                    suggestion="load without trust_remote_code, or review the code at a pinned commit and waive this repo",
                    details={"python_files": py, "auto_map": auto_map, "foreign_repos": foreign, "files_from": origin})]


@hookimpl
def guard_rules():
    """Describe the rule."""
    return [RULE]
