"""The startup hook: a lazy import hook that patches gated libraries when they are imported.

Loaded at interpreter start by ``guardpolicy.pth`` (``import guardpolicy._startup; ...install()``)
or, on Python 3.15+, by the PEP 829 entry point ``guardpolicy.start`` (``guardpolicy._startup:install``).
It must cost well under a millisecond: it imports only ``sys`` (``os`` is already loaded by
``site``), parses no policy and loads no other guardpolicy module. All real work happens in
``guardpolicy.runtime.<mod>`` the first time a target module is imported.

Contract for patch functions (``TARGETS`` values, ``"module:function"``):

* called as ``function(module)`` right after ``module`` has executed and before the import that
  triggered it returns (so ``from huggingface_hub import hf_hub_download`` in a later import
  already gets the wrapper);
* must be idempotent (mark what they patched, e.g. ``cls._guard_patched = True``);
* any exception they raise is caught here: one ``guard:`` line goes to stderr, the import still
  succeeds, the failure is recorded in ``FAILED`` and the gate refuses every later gated operation
  of that library (``guardpolicy.runtime.gate.enforce(..., library=...)`` consults ``failure()``);
  if the patch module defines ``fail_closed(module, error)``, it is called as well so that the
  library's entry points refuse even where no wrapper got installed.

Kill switch: ``GUARDPOLICY_DISABLE=1`` asks to run unguarded. It is a request, not a bypass: the
finder is still installed and the gate treats it as ``GUARD_MODE=off``, which the policy may refuse
(``allow_mode_override = false`` or a locked ``mode``); ``guard hook status`` names it.
"""

import sys

#: imported module name -> "guardpolicy.runtime.<mod>:<patch function>"; one dict lookup per import
TARGETS = {
    "huggingface_hub.file_download": "guardpolicy.runtime.hf:patch_file_download",
    "huggingface_hub._snapshot_download": "guardpolicy.runtime.hf:patch_snapshot_download",
    "huggingface_hub.hf_api": "guardpolicy.runtime.hf:patch_hf_api",
    "huggingface_hub.hf_file_system": "guardpolicy.runtime.hf:patch_hf_file_system",
    "torch": "guardpolicy.runtime.torch_load:patch_torch",
    "pip._internal.resolution.resolvelib.resolver": "guardpolicy.runtime.pip:patch_resolvelib_resolver",
    "pip._internal.resolution.legacy.resolver": "guardpolicy.runtime.pip:patch_legacy_resolver",
    "pip._internal.operations.prepare": "guardpolicy.runtime.pip:patch_prepare",
    "pip._internal.models.link": "guardpolicy.runtime.pip:patch_link",
    "pip._internal.index.package_finder": "guardpolicy.runtime.pip:patch_package_finder",
    # pip <= 25.x: a module; pip 26: a package whose installer lives in build_env.installer
    "pip._internal.build_env": "guardpolicy.runtime.pip:patch_build_env",
    "pip._internal.build_env.installer": "guardpolicy.runtime.pip:patch_build_env",
}

#: target module name -> "ExcType: message" for every patch that failed in this process
FAILED = {}

#: set by ``install()`` from ``GUARDPOLICY_DISABLE``; the gate decides whether the policy allows it
DISABLE_REQUESTED = False


def failure(prefix):
    """The recorded patch failure of any target module starting with ``prefix`` (``"pip"``), or ``None``."""
    for name, error in FAILED.items():
        if name == prefix or name.startswith(prefix + "."):
            return f"{name}: {error}"
    return None


def apply(name, module):
    """Run the patch function for target ``name`` on ``module``; never raises (records failures)."""
    target = TARGETS[name]
    modname, _, funcname = target.partition(":")
    try:
        __import__(modname)
        getattr(sys.modules[modname], funcname)(module)
    except Exception as exc:  # a failed patch must never break the user's import
        FAILED[name] = f"{type(exc).__name__}: {exc}"
        try:
            sys.stderr.write(
                f"guard: could not patch {name} ({target}: {type(exc).__name__}: {exc}); "
                f"gated operations of this library will be refused\n"
            )
            fail_closed = getattr(sys.modules.get(modname), "fail_closed", None)
            if fail_closed is not None:
                fail_closed(module, FAILED[name])
        except Exception:  # stderr closed, or fail_closed itself broken: FAILED still blocks the gate
            pass
        return False
    return True


class _GuardFinder:
    """A ``sys.meta_path`` finder that only reacts to the module names in ``TARGETS``.

    For a target it asks the other finders for the spec and wraps the loader's
    ``exec_module`` so the module is patched right after it runs (the pattern virtualenv's
    ``_virtualenv.py`` uses). It never loads anything itself.
    """

    _guardpolicy_finder = True

    def find_spec(self, name, path=None, target=None):
        """Return a spec whose loader patches ``name`` after executing it, or ``None`` for non-targets."""
        if name not in TARGETS:
            return None
        for finder in sys.meta_path:
            if getattr(finder, "_guardpolicy_finder", False):
                continue
            find = getattr(finder, "find_spec", None)
            if find is None:
                continue
            spec = find(name, path, target)
            if spec is not None:
                break
        else:
            return None
        loader = spec.loader
        orig = getattr(loader, "exec_module", None)
        if orig is None or isinstance(loader, type):
            # a class-level loader (builtin/frozen) is shared: never rebind it; no target is one
            return spec

        def exec_module(module, _orig=orig, _name=name):
            """Execute the module, then patch it before the import returns."""
            _orig(module)
            if apply(_name, module):
                module.__guard_patched__ = True

        try:
            loader.exec_module = exec_module  # per-spec loader instance (SourceFileLoader et al.)
        except (AttributeError, TypeError):
            pass
        return spec


_AUDIT_ADDED = False


def _audit(event, args):
    """Every audited event passes here: one string comparison unless something is unpickled."""
    if event == "pickle.find_class":
        from guardpolicy.runtime.unpickle import check_global  # lazy: only processes that unpickle

        check_global(args[0], args[1])


def installed():
    """True when the guard finder is on ``sys.meta_path``."""
    return any(getattr(f, "_guardpolicy_finder", False) for f in sys.meta_path)


def install():
    """Put the finder first on ``sys.meta_path`` (idempotent) and patch targets already imported.

    ``GUARDPOLICY_DISABLE`` set to a non-empty value other than ``0`` is recorded in
    ``DISABLE_REQUESTED``; whether it takes effect is the policy's call (see the module docstring).
    """
    import os  # already in sys.modules at this point of start-up: a dict lookup

    global DISABLE_REQUESTED
    flag = os.environ.get("GUARDPOLICY_DISABLE")
    DISABLE_REQUESTED = bool(flag and flag != "0")
    if installed():
        return
    global _AUDIT_ADDED
    if not _AUDIT_ADDED:
        # one gate for every in-process unpickling (pickle, joblib, numpy, pandas, torch's pickle):
        # an audit hook cannot be removed, so it also outlives a finder taken off sys.meta_path
        sys.addaudithook(_audit)
        _AUDIT_ADDED = True
    sys.meta_path.insert(0, _GuardFinder())
    for name in TARGETS:
        module = sys.modules.get(name)
        if module is not None and not getattr(module, "__guard_patched__", False):
            if apply(name, module):
                try:
                    module.__guard_patched__ = True
                except Exception:
                    pass


def uninstall():
    """Remove the finder (tests; patched modules stay patched)."""
    sys.meta_path[:] = [f for f in sys.meta_path if not getattr(f, "_guardpolicy_finder", False)]
