"""The one gate every runtime patch calls: evaluate subjects, warn or raise.

Loads the policy once per process, lazily (the startup hook itself loads nothing). A policy
that cannot be loaded makes gated operations fail closed with a clear message; it never
breaks unrelated code because nothing here runs until a gated library is used.
"""

from __future__ import annotations

import os
import sys
import threading
from typing import Iterable, Mapping, Optional

from ..errors import GuardError, PolicyViolation

_lock = threading.Lock()
_policy = None
_policy_error: Optional[str] = None


def get_policy():
    """The process's effective policy; raises ``PolicyViolation`` when it cannot be loaded (fail closed)."""
    global _policy, _policy_error
    with _lock:
        if _policy is None and _policy_error is None:
            try:
                _policy = _load(_policy_env())
            except GuardError as exc:
                _policy_error = str(exc)
            if _policy is not None and _policy_env() is not None and _policy.mode != "off":
                print("guard: GUARDPOLICY_DISABLE ignored: the policy does not allow running unguarded "
                      f"(mode {_policy.mode} from {_policy.mode_source})", file=sys.stderr)
        if _policy_error is not None:
            raise PolicyViolation(f"guard: policy error, refusing gated operations: {_policy_error}")
        return _policy


def _load(env):
    """The policy from the compiled policy cache, else loaded the full way (and cached for the next process).

    ``GUARD_CACHE=0`` skips both. A hit also brings the rules fingerprint and the decision
    observers, so a process whose subjects are all cached allows never loads a plugin.
    """
    global _fingerprint, _observers
    from . import policy_cache

    def load():
        from ..policy import load_policy  # lazy: a cache hit needs no TOML loader

        return load_policy(env=env)

    def describe(policy) -> tuple:
        from ..plugins import get_plugin_manager

        pm = get_plugin_manager()
        observers = tuple(impl.plugin_name for impl in pm.hook.guard_decision_made.get_hookimpls())
        return rules_fingerprint(), tuple(_fingerprint_files), observers

    policy, hit = policy_cache.through(os.environ if env is None else env, load, describe=describe)
    if hit is not None:
        _fingerprint, _observers = hit.fingerprint, hit.observers
        _fingerprint_files[:] = hit.fingerprint_files
    return policy


def disable_requested() -> bool:
    """``GUARDPOLICY_DISABLE`` set to a non-empty value other than ``0``: a request the policy may refuse."""
    flag = os.environ.get("GUARDPOLICY_DISABLE")
    return bool(flag and flag != "0")


def _policy_env():
    """The environment the runtime loads the policy with: ``GUARDPOLICY_DISABLE`` asks for mode ``off``.

    The loader then applies the policy's own rules for mode overrides (``allow_mode_override``,
    a locked ``mode``), so the kill switch works only where ``GUARD_MODE=off`` would.
    """
    if not disable_requested():
        return None
    env = dict(os.environ)
    env["GUARD_MODE"] = "off"
    return env


def reset() -> None:
    """Forget the loaded policy (tests; ``guard`` after changing config)."""
    global _policy, _policy_error, _observers
    with _lock:
        _policy, _policy_error, _observers = None, None, None


def format_violation(decision, operation: str) -> str:
    """The exception message: each finding, its fix, and how to waive it."""
    lines = [f"guard: {operation} blocked by policy"]
    for f in decision.findings:
        if f.action != "deny":
            continue
        lines.append(f"  [{f.rule}] {f.subject}: {f.message}")
        if f.suggestion:
            lines.append(f"      fix: {f.suggestion}")
    hints = waiver_hints(f for f in decision.findings if f.action == "deny")
    if hints:
        lines.append("  to accept the risk, add a waiver to your policy:")
        lines.extend(f"    {h}" for h in hints)
    return "\n".join(lines)


def waiver_hints(findings, limit: int = 5) -> list:
    """A ready ``[[waivers]]`` entry per denied finding: its real rule and subject, an expiry 30 days out."""
    import datetime as _dt
    import json
    import re

    expires = (_dt.date.today() + _dt.timedelta(days=30)).isoformat()
    out = []
    for f in findings:
        subject = re.split(r"==|@", str(f.subject), maxsplit=1)[0].strip() or str(f.subject)
        entry = (f"[[waivers]] rule = {json.dumps(f.rule)} subject = {json.dumps(subject)} "
                 f"reason = \"...\" expires = {expires}")
        if entry not in out:
            out.append(entry)
        if len(out) >= limit:
            break
    return out


def ensure_patched(library: str, operation: str) -> None:
    """Fail closed when the startup hook could not patch (part of) ``library`` in this process.

    A half-patched library would let some entry points through unchecked, so every gated
    operation of that library is refused instead (see ``guardpolicy._startup``).
    """
    startup = sys.modules.get("guardpolicy._startup")
    error = startup.failure(library) if startup is not None else None
    if error:
        print(f"guard: BLOCKED {operation}: guard's {library} patch failed ({error})", file=sys.stderr)
        raise PolicyViolation(f"guard: {operation} refused: the {library} patch failed in this process "
                              f"({error}); fix or upgrade guardpolicy, or set GUARDPOLICY_DISABLE=1 if your "
                              f"policy allows running unguarded")


def enforce(subjects: Iterable, operation: str, policy=None, library: Optional[str] = None, options=None,
            use_cache: bool = True, rename: Optional[Mapping[str, str]] = None):
    """Evaluate ``subjects``; print warnings; raise ``PolicyViolation`` on deny. Returns the ``Decision``.

    Also prints one ``guard: BLOCKED ...`` line on stderr, because some callers swallow exceptions.
    ``library`` (``"pip"``, ``"huggingface_hub"``, ``"torch"``) makes the call fail closed when the
    startup hook could not patch that library. Subjects found in the cached allowlist
    (``guardpolicy.runtime.cache``) skip the rules; subjects that come out clean are added to it.
    ``rename`` maps a subject name the rules use to the one the caller asked about (a Hub cache
    path or a stream's temp copy -> ``hf:org/name@rev/file`` or ``<BytesIO>``); it is applied
    before actions and waivers, so waivers name what the user sees.
    """
    if library:
        ensure_patched(library, operation)
    policy = policy or get_policy()
    subjects = list(subjects)
    cache = _cache_for(policy) if use_cache and policy.mode != "off" else None
    cached, todo = [], subjects
    if cache is not None:
        from ..model import Finding

        key = cache_digest(policy)
        cached, todo = [], []
        for s in subjects:
            (cached if not isinstance(s, Finding) and cache.is_allowed(s, key) else todo).append(s)
        if cached and not todo:
            return _all_cached(cached, operation, policy)
    replace, notify_decision, runtime_options, Engine, decide, Finding = _enforce_deps()
    engine = Engine(policy, options or runtime_options)
    raw, checked, clean = [], list(cached), []
    for subject, found in engine.evaluate(todo):
        if subject is not None:
            checked.append(subject)
            if not found:
                clean.append(subject)
        raw.extend(renamed(found, rename) if rename else found)
    decision = decide(raw, policy, checked)
    if cache is not None and clean and policy.mode != "off":
        cache.store_allowed(clean, key)
    decision = replace(decision, origin="runtime", operation=operation)
    # audit trail first: a blocked operation is logged even when the caller swallows the exception
    notify_decision(decision, policy, pm=engine.pm)
    for f in decision.findings:
        if f.action == "warn":
            warn_once(f)
    if decision.denied:
        first = next(f for f in decision.findings if f.action == "deny")
        say_once(f"guard: BLOCKED {operation}: [{first.rule}] {first.subject}: {first.message}")
        raise PolicyViolation(format_violation(decision, operation), decision=decision)
    return decision


def _all_cached(subjects: list, operation: str, policy):
    """The decision when every subject is a cached clean allow: what ``decide`` makes of no findings,
    without the engine or its plugins (the first gated operation of a process stays cheap)."""
    from ..model import Decision

    decision = Decision("allow", checked=tuple(subjects), mode=policy.mode, policy_digest=policy.digest,
                        origin="runtime", operation=operation)
    from ..audit import notify_decision

    notify_decision(decision, policy, observers=_observers)  # a cached policy says who listens
    return decision


def renamed(findings: Iterable, names: Mapping[str, str]) -> list:
    """``findings`` with each subject (and location file) found in ``names`` replaced by its mapping."""
    from dataclasses import replace

    out = []
    for f in findings:
        new = names.get(f.subject)
        if new is not None:
            loc = f.location
            if loc is not None and loc.file in names:
                loc = replace(loc, file=names[loc.file])
            f = replace(f, subject=new, location=loc)
        out.append(f)
    return out


#: warning and refusal lines already printed by this process: pip checks a package as a root, after
#: resolving and before fetching it, and one warning per finding is enough
_warned: set = set()


def say_once(line: str) -> None:
    """Print ``line`` on stderr unless this process printed it already (libraries retry refused calls)."""
    if line in _warned:
        return
    if len(_warned) >= 4096:  # a long-lived process: bounded memory, at worst a line repeats
        _warned.clear()
    _warned.add(line)
    print(line, file=sys.stderr)


def warn_once(f) -> None:
    """Print ``guard: WARNING [rule] subject: message`` once per process (subject not repeated when the message starts with it)."""
    text = f.message if f.message.startswith(f.subject) else f"{f.subject}: {f.message}"
    say_once(f"guard: WARNING [{f.rule}] {text}")


_deps: Optional[tuple] = None


def _enforce_deps() -> tuple:
    """What ``enforce`` needs beyond the stdlib, imported on its first call and kept.

    Not imported with this module, so patching a library pulls in no engine; not imported
    inside ``enforce`` either, where four import statements per decision cost a few µs.
    The default runtime ``CheckOptions`` (frozen) is built once here for the same reason.
    """
    global _deps
    if _deps is None:
        from dataclasses import replace

        from ..audit import notify_decision
        from ..engine import CheckOptions, Engine, decide
        from ..model import Finding

        _deps = (replace, notify_decision, CheckOptions(origin="runtime"), Engine, decide, Finding)
    return _deps


_fingerprint: Optional[str] = None
#: the plugin modules and shipped data files ``_fingerprint`` was computed from
_fingerprint_files: list = []
#: plugin names implementing ``guard_decision_made``, when a cached policy brought them (``None``: ask the plugins)
_observers: Optional[tuple] = None
_digests: dict = {}


def rules_fingerprint() -> str:
    """What the rules are, beyond the policy: guardpolicy's version and each plugin's file and data.

    Part of every cache key, so upgrading guardpolicy, a plugin or its shipped lists (new
    typosquat names, new malicious names) invalidates cached allows just as a policy change does.
    """
    global _fingerprint
    if _fingerprint is None:
        import hashlib

        from .. import __version__
        from ..plugins import get_plugin_manager

        parts = [__version__]
        files = []
        for name, plugin in sorted(get_plugin_manager().list_name_plugin(), key=lambda item: str(item[0])):
            path = getattr(plugin, "__file__", None)
            try:
                st = os.stat(path) if path else None
            except OSError:
                st = None
            parts.append(f"{name}:{path}:{st.st_mtime_ns if st else ''}:{st.st_size if st else ''}")
            if path:
                files.append(path)
        data = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "data")
        if os.path.isdir(data):
            for entry in sorted(os.scandir(data), key=lambda e: e.name):
                st = entry.stat()
                parts.append(f"data/{entry.name}:{st.st_mtime_ns}:{st.st_size}")
                files.append(entry.path)
        _fingerprint_files[:] = files
        _fingerprint = hashlib.sha256("|".join(parts).encode()).hexdigest()
    return _fingerprint


def cache_digest(policy) -> str:
    """The cache key's policy part: the policy digest combined with ``rules_fingerprint()``."""
    key = _digests.get(policy.digest)
    if key is None:
        import hashlib

        key = _digests[policy.digest] = hashlib.sha256(f"{policy.digest}|{rules_fingerprint()}".encode()).hexdigest()
    return key


def _cache_for(policy):
    """The decision cache for ``policy``, or ``None`` (disabled, or unusable: never fatal)."""
    try:
        from .cache import for_policy

        return for_policy(policy)
    except Exception:
        return None
