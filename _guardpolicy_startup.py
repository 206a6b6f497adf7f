# guardpolicy's startup hook: what every process of a hooked environment runs at start.
#
# guardpolicy.pth runs `import _guardpolicy_startup; _guardpolicy_startup.install()` (on Python
# 3.15+ the PEP 829 entry point guardpolicy.start names the same function). Everything here is paid
# by every `python` start, measured side by side in benchmarks/bench_startup.py, so this is a
# top-level module (importing the guardpolicy package first cost ~0.15 ms), it imports only sys (os
# is already loaded by site), parses no policy, defines no class and keeps its documentation in
# comments (docstrings are unmarshalled at every start).
#
# It installs two things:
# * this module itself as the first sys.meta_path finder (a module with a find_spec function is a
#   finder; no class to build at start-up). For the few names that can be gated libraries it hands
#   over to guardpolicy._startup, which patches them right after they execute; every other import
#   costs one str.startswith.
# * one audit hook for the pickle.find_class event: every in-process unpickling (pickle, joblib,
#   numpy, pandas, torch's pickle module) is checked by guardpolicy.runtime.unpickle. An audit hook
#   cannot be removed, so this gate also outlives a finder taken off sys.meta_path.
#
# Kill switch: GUARDPOLICY_DISABLE=1 asks to run unguarded. It is a request, not a bypass: the hook
# is installed all the same and the gate (guardpolicy.runtime.gate, which reads the variable when it
# judges) treats it as GUARD_MODE=off, which the policy may refuse (allow_mode_override = false or a
# locked mode); `guard hook status` names it.

import sys

# every module name guardpolicy._startup patches (its TARGETS) starts with one of these
# (tests/test_startup.py checks); anything else is not ours to look at
PREFIXES = ("huggingface_hub.", "pip._internal.", "torch")

# marks guard's finders on sys.meta_path (other finders are asked for the real spec)
_guardpolicy_finder = True

_AUDIT_ADDED = False


def find_spec(name, path=None, target=None):
    if not name.startswith(PREFIXES):
        return None
    # lazy: the patching machinery loads only in processes that import a gated library
    from guardpolicy._startup import find_spec as patching_find_spec

    return patching_find_spec(name, path, target)


def _audit(event, args):
    # every audited event passes here: one string comparison unless something is unpickled
    if event == "pickle.find_class":
        from guardpolicy.runtime.unpickle import check_global  # lazy: only processes that unpickle

        check_global(args[0], args[1])


def installed():
    return any(getattr(f, "_guardpolicy_finder", False) for f in sys.meta_path)


def install():
    # idempotent: one audit hook per process, this finder once and first on sys.meta_path
    global _AUDIT_ADDED
    if not _AUDIT_ADDED:
        sys.addaudithook(_audit)
        _AUDIT_ADDED = True
    finder = sys.modules[__name__]
    if finder not in sys.meta_path:
        sys.meta_path.insert(0, finder)


def uninstall():
    # take guard's finders off sys.meta_path (tests; patched modules stay patched, the audit hook stays)
    sys.meta_path[:] = [f for f in sys.meta_path if not getattr(f, "_guardpolicy_finder", False)]
