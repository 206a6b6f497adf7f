"""The policy language: load, layer, validate and query TOML policies.

``load_policy()`` finds and loads the effective policy; ``Policy`` is the frozen result
every rule reads. See docs/policy.md for every key.
"""

from .loader import discover_policy_ref, load_policy, shipped_policy_names
from .model import Policy, RuleSettings, Waiver

__all__ = ["Policy", "RuleSettings", "Waiver", "load_policy", "discover_policy_ref", "shipped_policy_names"]
