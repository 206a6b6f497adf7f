"""The policy language: load, layer, validate and query TOML policies.

``load_policy()`` finds and loads the effective policy; ``Policy`` is the frozen result
every rule reads. See docs/policy.md for every key.

The names below load on first use (PEP 562): the runtime imports ``policy.trust`` and
``policy.discovery`` on its hot path and must not pay for the TOML loader there.
"""

__all__ = ["Policy", "RuleSettings", "Waiver", "load_policy", "discover_policy_ref", "shipped_policy_names"]


def __getattr__(name):
    """``load_policy`` and friends from ``loader``, ``Policy`` and friends from ``model``."""
    if name in ("discover_policy_ref", "load_policy", "shipped_policy_names"):
        from . import loader

        return getattr(loader, name)
    if name in ("Policy", "RuleSettings", "Waiver"):
        from . import model

        return getattr(model, name)
    raise AttributeError(f"module 'guardpolicy.policy' has no attribute {name!r}")
