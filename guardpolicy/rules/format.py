"""Rule ``format``: a model file whose format the policy does not allow, or whose header is malformed.

The format is decided by content (``guardpolicy.scan.detect``), never by the file name: a pickle
renamed ``.safetensors`` is a pickle. ``[hub] allowed_formats`` lists format names or families
(``pickle``, ``torch``, ``joblib``, ``numpy``, ``safetensors``, ``gguf``, ``onnx``, ``keras``,
``hdf5``); when it is absent every format is allowed and pickles are still scanned (rule
``pickle``). Invalid safetensors headers and unreadable ``.npy`` headers are reported here too.
"""

from __future__ import annotations

from ..hookspecs import hookimpl
from . import RuleInfo

RULE = RuleInfo(
    id="format",
    summary="The file's format (by content) is not allowed by the policy, or its header is malformed.",
    help="Set `[hub] allowed_formats = [\"safetensors\", \"gguf\", \"onnx\"]` to refuse pickle-based formats "
         "outright (the strict policy does). Formats are told by content: pickle (protocol 0-5), torch zip, "
         "legacy torch, joblib, numpy (object arrays count as pickle), keras, hdf5, safetensors, gguf, onnx.",
    default_action="deny",
    example="model.safetensors: format: format not allowed by the policy: pickle (allowed: gguf, onnx, safetensors)",
    subjects=("file",),
)


@hookimpl
def guard_rules():
    return [RULE]


@hookimpl
def guard_check_file(file, policy, context):
    from ..scan.api import allowed_formats, cached_report, format_findings

    return format_findings(cached_report(file.path, policy, context), allowed_formats(policy))
