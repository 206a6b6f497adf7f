"""Every rule is found from its id in one step: ``guardpolicy/rules/<id>.py`` holds it (issue 16)."""

from __future__ import annotations

import importlib
from pathlib import Path

from guardpolicy.plugins import BUILTIN_PLUGINS, rule_infos

RULES = Path(__file__).resolve().parent.parent / "guardpolicy" / "rules"


def test_every_built_in_rule_id_is_a_module_of_that_name_defining_it():
    builtin = {name for name, module in BUILTIN_PLUGINS.items() if module.startswith("guardpolicy.")}
    ids = [rid for rid, info in rule_infos().items() if getattr(info, "id", None) == rid]
    assert ids
    for rid in ids:
        path = RULES / f"{rid.replace('-', '_')}.py"
        if not path.is_file():
            assert rid not in builtin, f"built-in rule {rid!r} has no guardpolicy/rules/{path.name}"
            continue  # a third-party plugin's rule (e.g. vulnerability from guardpolicy-pip-audit)
        module = importlib.import_module(f"guardpolicy.rules.{path.stem}")
        assert getattr(module, "RULE", None) is not None and module.RULE.id == rid, path


def test_every_rule_module_is_registered():
    registered = set(BUILTIN_PLUGINS.values())
    for path in RULES.glob("*.py"):
        if path.name.startswith("_"):
            continue
        assert f"guardpolicy.rules.{path.stem}" in registered, f"{path} is not a registered built-in plugin"
