"""The ``RuleInfo`` of rules ``format`` and ``pickle`` (their hooks live in ``guardpolicy/rules/``).

Kept apart from the rule modules so ``guard scan`` can validate a policy without importing the
plugin machinery (pluggy) on its start-up path; ``guardpolicy.rules.format.RULE`` and
``guardpolicy.rules.pickle.RULE`` are these objects.
"""

from __future__ import annotations

from ..policy.schema import STR, STRLIST
from ..ruleinfo import Option, RuleInfo
from .profiles import DEFAULT as _DEFAULT_PROFILES
from .profiles import KNOWN as _PROFILES

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
    summary="A model file runs code on load: dangerous pickle globals, globals outside the allowlist and the "
            "enabled profiles, or a scan that must fail closed.",
    help="Pickle-based files (torch .pt/.bin, joblib, .pkl, .npy object arrays, legacy torch) run whatever their "
         "globals name when loaded. guard scans them statically (never unpickling). A global is allowed when it is "
         "on the base allowlist (what torch's weights_only loader accepts, plus plain value types) or in an enabled "
         "profile of data-only globals: `profiles = [\"numpy\", \"pandas\", \"sklearn\", \"scipy\", "
         "\"collections\", \"stdlib-data\"]` (the default; strict enables numpy, collections, stdlib-data). "
         "Dangerous globals (os.system, eval, attribute walks, subprocess, loaders, classes whose __setstate__ runs "
         "code) are always denied, whatever a profile or glob says. Any other global is a class or function guard "
         "does not know: denied by default, because an unknown class's constructor or __setstate__ runs with data "
         "from the file and no denylist names every one that does harm (scipy.stats distributions exec() a "
         "pickled string); `unknown_globals = \"warn\"` (the research policy) only warns. Allow a class you trust "
         "with `allowed_globals = [\"mylib.models.Net\"]`.",
    default_action="deny",
    options={
        "allowed_globals": Option(STRLIST, [], "extra allowed globals, `module.name`: an exact entry allows that "
                                               "global whatever it is; a glob never allows a dangerous one"),
        "profiles": Option(STRLIST, list(_DEFAULT_PROFILES), "named profiles of data-only globals to allow: "
                                                              + ", ".join(_PROFILES), tighten="subset",
                           choices=_PROFILES),
        "unknown_globals": Option(STR, "deny", "a global that is neither allowed nor known to be dangerous: "
                                               "deny or warn", choices=("deny", "warn")),
    },
    example="model.bin: pickle: dangerous: posix.system: module posix gives code execution, file or network access "
            "(GLOBAL in archive/data.pkl at byte 2)",
    subjects=("file",),
)
