"""The patching half of the startup hook: patches gated libraries right after they are imported.

The start-up half is the top-level module ``_guardpolicy_startup`` (what ``guardpolicy.pth``
imports in every process; kept out of this package so a start does not pay for importing it). Its
finder hands every import whose name could be a target over to ``find_spec`` here, so this module
loads only in processes that import pip, huggingface_hub or torch.

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
"""

import sys

import _guardpolicy_startup

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


def find_spec(name, path=None, target=None):
    """The spec of target ``name`` from the other finders, its loader made to patch it after executing.

    ``_guardpolicy_startup``'s finder calls this for names that may be targets; everything else
    returns ``None`` (the next finder decides). Nothing is loaded here (the pattern virtualenv's
    ``_virtualenv.py`` uses).
    """
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


def install():
    """Install the start-up hook (``_guardpolicy_startup.install``) and patch targets already imported.

    For interpreters that were started without the ``.pth`` (``guard install``'s pip, the
    ``sitecustomize`` variant, tests); idempotent.
    """
    _guardpolicy_startup.install()
    for name in TARGETS:
        module = sys.modules.get(name)
        if module is not None and not getattr(module, "__guard_patched__", False):
            if apply(name, module):
                try:
                    module.__guard_patched__ = True
                except Exception:
                    pass


def installed() -> bool:
    """True when guard's finder is on ``sys.meta_path``."""
    return _guardpolicy_startup.installed()


def uninstall():
    """Remove the finder (tests; patched modules stay patched)."""
    _guardpolicy_startup.uninstall()
