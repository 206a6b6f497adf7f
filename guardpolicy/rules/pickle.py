"""Rule ``pickle``: a model file whose pickles import something outside the allowlist.

The scanner (``guardpolicy.scan``) runs every pickle in the file on a static pickle machine and
checks each global against a precise allowlist modelled on torch's ``weights_only`` loader.
This rule reports the offending globals (``module.name``, archive member, byte offset; also in
``details["globals"]``) and every reason the scan had to fail closed: parse errors, limits
(zip bombs, nesting, memo size), pickles hidden in constants, Keras Lambda layers.
"""

from __future__ import annotations

from ..hookspecs import hookimpl
from ..policy.schema import STRLIST
from . import Option, RuleInfo

RULE = RuleInfo(
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


@hookimpl
def guard_rules():
    return [RULE]


@hookimpl
def guard_check_file(file, policy, context):
    if policy.section("hub").get("scan_pickles") is False:
        return None
    from ..scan.api import cached_report, pickle_findings

    return pickle_findings(cached_report(file.path, policy, context))
