"""The ``RuleInfo`` of rules ``format`` and ``pickle`` (their hooks live in ``guardpolicy/rules/``).

Kept apart from the rule modules so ``guard scan`` can validate a policy without importing the
plugin machinery (pluggy) on its start-up path; ``guardpolicy.rules.format.RULE`` and
``guardpolicy.rules.pickle.RULE`` are these objects.
"""

from __future__ import annotations

from ..policy.schema import STRLIST
from ..rules import Option, RuleInfo

FORMAT = RuleInfo(
    id="format",
    summary="The file's format (by content) is not allowed by the policy, or its header is malformed.",
    help="Set `[hub] allowed_formats = [\"safetensors\", \"gguf\", \"onnx\"]` to refuse pickle-based formats "
         "outright (the strict policy does). Formats are told by content: pickle (protocol 0-5), torch zip, "
         "legacy torch, joblib, numpy (object arrays count as pickle), keras, hdf5, safetensors, gguf, onnx.",
    default_action="deny",
    options={"unreadable": Option(str, "warn",
                                  "what content that cannot be read or recognised gets (a broken pickle stream, an "
                                  "unrecognised binary, an archive member guard cannot decompress): `warn` (default "
                                  "policy) or `deny` (strict)", choices=("warn", "deny"))},
    example="model.safetensors: format: format not allowed by the policy: pickle (allowed: gguf, onnx, safetensors)",
    subjects=("file",),
)

PICKLE = RuleInfo(
    id="pickle",
    summary="A model file runs code on load: pickle globals outside the allowlist, or a scan that must fail closed.",
    help="Pickle-based files (torch .pt/.bin, joblib, .npy object arrays, legacy torch) run whatever their "
         "globals name when loaded. guard scans them statically (never unpickling) and allows only the "
         "globals real checkpoints use: tensor rebuild functions, storages, dtypes, OrderedDict, numpy "
         "arrays. Everything else is reported, dangerous ones (os.system, eval, getattr, ...) named as such. "
         "Trusted extra classes can be allowed with `allowed_globals = [\"sklearn.linear_model._base.LinearRegression\"]`.",
    default_action="deny",
    options={"allowed_globals": Option(STRLIST, [], "extra allowed globals, `module.name` (globs allowed for plain names)")},
    example="model.bin: pickle: 1 dangerous of 1 unsafe pickle global(s): posix.system [dangerous] (GLOBAL in archive/data.pkl at byte 2)",
    subjects=("file",),
)
