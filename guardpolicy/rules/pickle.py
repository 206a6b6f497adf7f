"""Rule ``pickle``: a model file whose pickles import something dangerous or unknown.

The scanner (``guardpolicy.scan``) runs every pickle in the file on a static pickle machine and
checks each global against a precise allowlist modelled on torch's ``weights_only`` loader and
the profiles the policy enables (``[rules.pickle] profiles``). This rule reports dangerous
globals (always denied) apart from unknown ones (denied, or a warning under
``unknown_globals = "warn"``), each with ``module.name``, archive member and byte offset (also in
``details["globals"]``), and every reason the scan had to fail closed: parse errors, limits
(zip bombs, nesting, memo size), pickles hidden in constants, Keras Lambda layers.
"""

from __future__ import annotations

from ..hookspecs import hookimpl
from ..scan.ruleinfo import PICKLE

RULE = PICKLE  # defined in guardpolicy/scan/ruleinfo.py (no pluggy on guard scan's start-up path)


@hookimpl
def guard_rules():
    return [RULE]


@hookimpl
def guard_check_file(file, policy, context):
    if policy.section("hub").get("scan_pickles") is False:
        return None
    from ..scan.api import cached_report, pickle_findings
    from ..scan.profiles import unknown_action

    return pickle_findings(cached_report(file.path, policy, context), unknown_action(policy))
