"""The plugin manager: built-in and third-party plugins through one door.

Every plugin, ours included, is an entry point in the ``guardpolicy`` group. Built-ins are
listed in ``BUILTIN_PLUGINS`` too, under the same entry-point names, so a source checkout
that is not installed still works (pluggy skips an entry point whose name is registered).
"""

from __future__ import annotations

import importlib
from functools import lru_cache

import pluggy

from . import hookspecs

#: entry-point name -> module; must match ``[project.entry-points.guardpolicy]`` in pyproject.toml
BUILTIN_PLUGINS = {
    "typosquat": "guardpolicy.rules.typosquat",
    "malicious": "guardpolicy.rules.malicious",
    "unpinned": "guardpolicy.rules.unpinned",
    "unhashed": "guardpolicy.rules.unhashed",
    "source": "guardpolicy.rules.source",
    "denylist": "guardpolicy.rules.denylist",
    "invalid": "guardpolicy.rules.invalid",
    "hub-scan": "guardpolicy.rules.hub_scan",
    "remote-code": "guardpolicy.rules.remote_code",
    "adapter": "guardpolicy.rules.adapter",
    "digest": "guardpolicy.rules.digest",
    "hub-sources": "guardpolicy.sources.hub_plugin",
    "release-age": "guardpolicy.rules.release_age",
    "format": "guardpolicy.rules.format",
    "pickle": "guardpolicy.rules.pickle",
    "model-files": "guardpolicy.scan.source",
    "python-sources": "guardpolicy.sources.plugin",
    "formats": "guardpolicy.report.plugin",
    "audit-log": "guardpolicy.audit.plugin",
}


@lru_cache(maxsize=1)
def get_plugin_manager() -> pluggy.PluginManager:
    """The process-wide plugin manager with built-ins and installed plugins registered."""
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    for name, module in BUILTIN_PLUGINS.items():
        pm.register(importlib.import_module(module), name=name)
    from .distributions import third_party_providers

    # the built-ins are registered above; walking every distribution's metadata for entry points
    # (importlib.metadata, ~15 ms) only pays when another distribution declares some
    if third_party_providers():
        load_entry_point_plugins(pm)
    return pm


def load_entry_point_plugins(pm: pluggy.PluginManager) -> None:
    """Register every installed ``guardpolicy`` entry point not registered yet.

    Like pluggy's ``load_setuptools_entrypoints``, but a plugin that cannot be imported is a
    ``PluginError`` naming the plugin and its distribution. Ignoring it would silently drop
    the rules a policy relies on; a traceback would break the CLI's one-line errors.
    """
    from importlib.metadata import distributions

    for dist in distributions():
        for ep in dist.entry_points:
            if ep.group != hookspecs.PROJECT or pm.get_plugin(ep.name) or pm.is_blocked(ep.name):
                continue
            try:
                plugin = ep.load()
            except Exception as exc:  # any import-time failure of third-party code
                from .errors import PluginError

                where = f"{dist.metadata['name']} {dist.version}"
                raise PluginError(f"plugin {ep.name!r} ({ep.value}, from {where}) failed to load: "
                                  f"{type(exc).__name__}: {exc}") from None
            pm.register(plugin, name=ep.name)


@lru_cache(maxsize=1)
def rule_infos() -> dict:
    """Every known rule's ``RuleInfo``, by id."""
    out = {}
    for infos in get_plugin_manager().hook.guard_rules():
        for info in infos or ():
            out[info.id] = info
    return out


def formats() -> dict:
    """Every report format, by name."""
    out: dict = {}
    for found in get_plugin_manager().hook.guard_formats():
        out.update(found or {})
    return out
