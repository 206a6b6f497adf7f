"""Built-in rules. One module per rule id: ``guardpolicy.rules.<id>`` (dashes become underscores).

Each module is an ordinary pluggy plugin (see ``guardpolicy.hookspecs``), registered
through the ``guardpolicy`` entry-point group like any third-party plugin.
"""

from __future__ import annotations

# defined in the bottom layer (guardpolicy.ruleinfo); re-exported here for rule modules and plugins
from ..ruleinfo import Option, RuleInfo  # noqa: F401
