"""Rule ``format``: a model file whose format the policy does not allow, or whose header is malformed.

The format is decided by content (``guardpolicy.scan.detect``), never by the file name: a pickle
renamed ``.safetensors`` is a pickle. ``[hub] allowed_formats`` lists format names or families
(``pickle``, ``torch``, ``joblib``, ``numpy``, ``safetensors``, ``gguf``, ``onnx``, ``keras``,
``hdf5``); when it is absent every format is allowed and pickles are still scanned (rule
``pickle``). Invalid safetensors headers and unreadable ``.npy`` headers are reported here too.
"""

from __future__ import annotations

from ..hookspecs import hookimpl
from ..scan.ruleinfo import FORMAT

RULE = FORMAT  # defined in guardpolicy/scan/ruleinfo.py (no pluggy on guard scan's start-up path)


@hookimpl
def guard_rules():
    return [RULE]


@hookimpl
def guard_check_file(file, policy, context):
    from ..scan.api import allowed_formats, cached_report, format_findings, unreadable_action

    return format_findings(cached_report(file.path, policy, context), allowed_formats(policy), unreadable_action(policy))
