"""Patches that make every pip resolution pass the policy (applied by ``guardpolicy._startup``).

Patch points (same names and signatures in pip 23.2 through 26.3; see docs/hooks.md):

* ``Resolver.resolve`` of the resolvelib and the legacy resolver: the user's root requirements
  are checked before resolution, every resolved requirement (transitive ones included, with
  version, source index and hashes) after it, before anything is installed or downloaded;
* ``RequirementPreparer.prepare_linked_requirement``: the pre-fetch gate, called for every
  candidate before its metadata or distribution is fetched (and before an sdist is built);
* the build-environment installer: build dependencies are installed by a ``pip`` subprocess;
  its environment gets ``GUARDPOLICY_PIP_BUILD_DEPS=1`` so that run applies the ``[build]``
  policy section (typosquat and source checks always, pins and hashes only when asked);
* ``PackageFinder.find_all_candidates``: versions uploaded less than the ``release-age``
  minimum ago are held back, so pip resolves to an older version;
* ``Link.from_json``: remembers the PEP 700 ``upload-time`` of each file pip sees on a JSON
  (PEP 691) index page, for the ``release-age`` rule (pip < 26 drops it).

A denial raises a ``DiagnosticPipError`` subclass (reference ``guard-policy-violation``): pip
prints ``ERROR:`` lines naming each finding and exits 1 with nothing installed. It never
subclasses ``MetadataInconsistent``, which pip's resolver swallows.
"""

from __future__ import annotations

import functools
import logging
import os
import sys
import threading
from typing import Any, Iterable, Optional

from ..filenames import version_from_filename  # noqa: F401  (small, stdlib-only; tests import it from here)

BUILD_ENV_VAR = "GUARDPOLICY_PIP_BUILD_DEPS"
_logger = logging.getLogger("pip._internal.guardpolicy")
_local = threading.local()
#: link URL (without fragment) -> PEP 700 upload-time string, filled by the ``Link.from_json`` wrapper
UPLOAD_TIMES: dict = {}
_MAX_UPLOAD_TIMES = 200_000


# ------------------------------------------------------------------ conversion (pure helpers)


def url_of(value: Any) -> Optional[str]:
    """The URL behind a pip ``comes_from`` (a str in pip 24+, an ``IndexContent`` in 23.x)."""
    if value is None:
        return None
    url = getattr(value, "url", value)
    return url if isinstance(url, str) else None


def index_base(page_url: str, name: Optional[str]) -> str:
    """``http://h/simple/foo/`` -> ``http://h/simple`` (the index a project page belongs to)."""
    from ..names import canonicalize_name

    stripped = page_url.split("#", 1)[0].split("?", 1)[0].rstrip("/")
    head, _, last = stripped.rpartition("/")
    if name and head and canonicalize_name(last) == canonicalize_name(name):
        return head
    return stripped


def link_origin(link) -> Optional[tuple]:
    """``(url, kind)`` of the place a pip ``Link`` was found: an index page, a find-links location, or a direct URL."""
    if link is None:
        return None
    page = url_of(getattr(link, "comes_from", None))
    url = link.url
    if page and page.startswith(("http://", "https://")):
        return page, "index-url"
    if page and page.startswith("file:"):
        return page, "find-links"
    if url.startswith("file:"):
        return url.rsplit("/", 1)[0], "find-links"
    return None


def hashes_of(ireq) -> tuple:
    """``algo:hex`` strings from ``--hash`` options and the link's ``#sha256=`` fragment."""
    out = []
    for algo, digests in (getattr(ireq, "hash_options", None) or {}).items():
        out.extend(f"{algo}:{d}" for d in digests)
    link = getattr(ireq, "link", None)
    if link is not None and getattr(link, "hash", None) and getattr(link, "hash_name", None):
        h = f"{link.hash_name}:{link.hash}"
        if h not in out:
            out.append(h)
    return tuple(out)


def upload_time_of(link) -> Optional[str]:
    """The PEP 700 upload time pip saw for ``link`` (pip 26 keeps it on the link), ISO 8601, or ``None``."""
    if link is None:
        return None
    value = getattr(link, "upload_time", None)
    if value is not None:
        return value.isoformat() if hasattr(value, "isoformat") else str(value)
    return UPLOAD_TIMES.get(link.url.split("#", 1)[0])


def configured_indexes(finder) -> tuple:
    """``IndexRef`` for every index, extra index, find-links location and trusted host pip uses."""
    from ..model import IndexRef

    if finder is None:
        return ()
    out = []
    urls = list(getattr(finder, "index_urls", ()) or ())
    for i, url in enumerate(urls):
        out.append(IndexRef(url, "index-url" if i == 0 else "extra-index-url"))
    for url in getattr(finder, "find_links", ()) or ():
        out.append(IndexRef(url, "find-links"))
    try:
        hosts = list(getattr(finder, "trusted_hosts", ()) or ())
    except Exception:
        hosts = []
    for host in hosts:
        out.append(IndexRef(str(host), "trusted-host"))
    return tuple(out)


def package_from_ireq(ireq, *, version: Optional[str] = None, indexes: tuple = (), build: bool = False,
                      root: bool = False):
    """A ``PackageRef`` for a pip ``InstallRequirement``.

    ``version`` is the resolved version when known; the link's origin index and upload time go
    into ``extra`` (``index``, ``link``, ``upload_time``); ``url`` is set only for a direct
    (user-written) URL or path, so index-found files are not mistaken for URL requirements.
    """
    from ..model import PackageRef

    req = getattr(ireq, "req", None)
    name = getattr(ireq, "name", None) or (req.name if req is not None else None)
    specifier = str(req.specifier) if req is not None else ""
    link = getattr(ireq, "link", None)
    named_from = None
    if name is None and link is not None:
        # a path or URL to an sdist: judge it by the name it carries before anything builds it
        name, sdist_version = sdist_identity(link)
        if name is not None:
            version, named_from = version or sdist_version, "sdist file name or PKG-INFO"
    original = getattr(ireq, "original_link", None)
    direct = original is not None and (getattr(ireq, "user_supplied", False) or req is None or getattr(req, "url", None))
    if version is None and link is not None and not direct:
        version = version_from_filename(link.filename, name)
    extra = {"installer": "pip"}
    if named_from:
        extra["name_from"] = named_from
    if root:
        extra["root"] = True
    if build:
        extra["build_requirement"] = True
    if link is not None:
        extra["link"] = link.url.split("#", 1)[0]
        origin = link_origin(link)
        if origin:
            extra["index"] = index_base(origin[0], name) if origin[1] == "index-url" else origin[0]
        ut = upload_time_of(link)
        if ut:
            extra["upload_time"] = ut
    comes_from = getattr(ireq, "comes_from", None)
    if comes_from is not None:
        extra["required_by"] = getattr(comes_from, "name", None) or str(comes_from)
    markers = getattr(ireq, "markers", None)
    return PackageRef(
        name=name,
        specifier=specifier,
        version=version,
        extras=tuple(sorted(getattr(ireq, "extras", ()) or ())),
        marker=str(markers) if markers else None,
        url=original.url if direct and original is not None else None,
        editable=bool(getattr(ireq, "editable", False)),
        hashes=hashes_of(ireq),
        indexes=indexes,
        constraint=bool(getattr(ireq, "constraint", False)),
        extra=extra,
    )


#: the most of an sdist read to find its PKG-INFO (metadata sits at the front of real sdists)
_PKG_INFO_SCAN = 64 * 1024 * 1024


def sdist_identity(link) -> tuple:
    """``(name, version)`` of an sdist link without running anything, or ``(None, None)``.

    The file name first (PEP 625 ``{name}-{version}.tar.gz``, and the older forms pip accepts);
    for a local archive whose file name says nothing, its ``PKG-INFO`` read with ``tarfile`` /
    ``zipfile`` (no extraction, no build).
    """
    from ..filenames import sdist_name_version

    filename = getattr(link, "filename", "") or ""
    name, version = sdist_name_version(filename)
    if name is not None:
        return name, version
    path = getattr(link, "file_path", None) if getattr(link, "is_file", False) else None
    if path and os.path.isfile(path):
        meta = _pkg_info(path)
        if meta is not None:
            return meta
    return None, None


def _pkg_info(path: str) -> Optional[tuple]:
    """``(Name, Version)`` from the top-level ``*/PKG-INFO`` of a local tar or zip sdist, or ``None``."""
    import tarfile
    import zipfile
    from email.parser import HeaderParser

    text = None
    try:
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as zf:
                for info in zf.infolist():
                    if info.filename.count("/") == 1 and info.filename.endswith("/PKG-INFO") and info.file_size < 1 << 20:
                        text = zf.read(info).decode("utf-8", "replace")
                        break
        elif os.path.getsize(path) < _PKG_INFO_SCAN and tarfile.is_tarfile(path):
            with tarfile.open(path) as tf:
                for member in tf:
                    if member.isfile() and member.name.count("/") == 1 and member.name.endswith("/PKG-INFO") \
                            and member.size < 1 << 20:
                        fh = tf.extractfile(member)
                        text = fh.read().decode("utf-8", "replace") if fh else None
                        break
    except (OSError, tarfile.TarError, zipfile.BadZipFile, EOFError, ValueError):
        return None
    if not text:
        return None
    headers = HeaderParser().parsestr(text)
    name = (headers.get("Name") or "").strip()
    return (name, (headers.get("Version") or "").strip() or None) if name else None


def is_archive_link(link) -> bool:
    """True for a link to an sdist or archive file (not a wheel, a VCS checkout or a local folder)."""
    if link is None or getattr(link, "is_wheel", False) or getattr(link, "is_vcs", False):
        return False
    if getattr(link, "is_existing_dir", lambda: False)():
        return False  # the user's own project folder (`pip install .`)
    from ..filenames import SDIST_SUFFIXES

    return (getattr(link, "filename", "") or "").lower().endswith(tuple(SDIST_SUFFIXES) + (".zip",))


def link_index_ref(link, name: Optional[str]):
    """An ``IndexRef`` for the place ``link`` was found (``None`` for a direct URL)."""
    from ..model import IndexRef

    origin = link_origin(link)
    if not origin:
        return None
    url, kind = origin
    return IndexRef(index_base(url, name) if kind == "index-url" else url, kind)


# ------------------------------------------------------------------ the gate


def in_build_env() -> bool:
    """True inside pip's build-dependency install (subprocess env var, or the in-process installer)."""
    return os.environ.get(BUILD_ENV_VAR) == "1" or getattr(_local, "build", False)


def policy_for_build(policy):
    """The policy as applied to build dependencies: ``[build]`` decides pins and hashes.

    Typosquat, deny-list, source and release-age checks stay as they are; ``unpinned`` and
    ``unhashed`` are off unless ``[build] require_pins`` / ``require_hashes`` say otherwise
    (an unpinned ``setuptools>=40.8`` build requirement must not block every sdist).
    """
    import dataclasses
    import hashlib

    build = policy.section("build")
    rules = {k: dict(v) if isinstance(v, dict) else v for k, v in policy.section("rules").items()}
    if not build.get("require_pins", False):
        rules.setdefault("unpinned", {})["action"] = "off"
    if not build.get("require_hashes", False):
        rules.setdefault("unhashed", {})["action"] = "off"
    if build.get("min_release_age"):
        rules.setdefault("release-age", {})["min_release_age"] = build["min_release_age"]
    data = dict(policy.data)
    data["rules"] = rules
    digest = hashlib.sha256(f"{policy.digest}|build|{sorted(build.items())}".encode()).hexdigest()
    return dataclasses.replace(policy, data=data, digest=digest)


_build_policies: dict = {}


def _policy():
    """The process policy; the ``[build]`` view of it inside pip's build-dependency install."""
    from . import gate

    policy = gate.get_policy()
    if in_build_env():
        cached = _build_policies.get(id(policy))
        if cached is None or cached[0] is not policy:
            cached = _build_policies[id(policy)] = (policy, policy_for_build(policy))
        return cached[1]
    return policy


def _error_class():
    """The ``DiagnosticPipError`` subclass pip renders cleanly (exit 1); built lazily, pip is importable now."""
    cls = getattr(_error_class, "cls", None)
    if cls is None:
        from pip._internal.exceptions import DiagnosticPipError

        class GuardPolicyViolation(DiagnosticPipError):
            """pip refuses the operation because guardpolicy's policy denied it."""

            reference = "guard-policy-violation"

        cls = _error_class.cls = GuardPolicyViolation
    return cls


def finding_line(f) -> str:
    """``[rule] subject: message`` without repeating a subject the message already names."""
    if f.message.startswith(f.subject):
        return f"[{f.rule}] {f.message}"
    return f"[{f.rule}] {f.subject}: {f.message}"


def _markup_escape():
    """pip renders diagnostic text as rich markup: ``[denylist]`` must not vanish as a tag."""
    try:
        from pip._vendor.rich.markup import escape

        return escape
    except Exception:
        return lambda text: text


def pip_error(violation, operation: str):
    """Turn a ``PolicyViolation`` into pip's error (``ERROR:`` line per finding, then the diagnostic)."""
    decision = getattr(violation, "decision", None)
    findings = [f for f in (decision.findings if decision else ()) if f.action == "deny"]
    for f in findings:
        _logger.error("guard: %s", finding_line(f))
    if findings:
        message = f"guard: {operation} blocked by policy ({len(findings)} finding{'s' if len(findings) != 1 else ''})"
        context = "\n".join(finding_line(f) + (f" (fix: {f.suggestion})" if f.suggestion else "") for f in findings)
        from .gate import waiver_hints

        hint = ("fix the requirement, or waive it in the policy: " + "; ".join(waiver_hints(findings))
                + "; `guard hook status` shows which policy applies")
    else:  # fail closed: policy could not load, or a patch failed (nothing to waive: a waiver cannot help)
        _logger.error("%s", str(violation).splitlines()[0])
        message, context = str(violation).splitlines()[0], None
        if "policy error" in message:
            hint = "fix the policy (`guard policy validate PATH` names file and line); `guard hook status` shows which policy applies"
        else:
            hint = "`guard hook status` shows the hook's state; reinstall it with `guard hook install`"
    try:
        esc = _markup_escape()
        return _error_class()(message=esc(message), context=esc(context) if context else None, hint_stmt=esc(hint))
    except Exception:  # pip changed the constructor: still exit 1 with a readable message
        from pip._internal.exceptions import InstallationError

        return InstallationError(str(violation))


def check(subjects: Iterable, operation: str):
    """Enforce the policy on ``subjects`` inside pip; raise pip's error on deny (or on fail-closed).

    Returns the ``Decision`` (``None`` when there was nothing to judge)."""
    from ..errors import PolicyViolation
    from . import gate

    subjects = list(subjects)
    if not subjects:
        return None
    if in_build_env():
        operation = f"{operation} (build dependencies)"
    try:
        gate.ensure_patched("pip", operation)
        return gate.enforce(subjects, operation, policy=_policy(), options=_options())
    except PolicyViolation as exc:
        raise pip_error(exc, operation) from None


#: written next to the hook: what the hooked pip judged for this environment (``guard hook status``
#: reports distributions installed later that are not in it nor in the install-time baseline)
JUDGED_FILE = "guardpolicy-judged.txt"
_ELSEWHERE = ("--target", "-t", "--prefix", "--root", "--dry-run", "--user")


def record_judged(subjects, operation: str) -> None:
    """Append the resolved ``name==version`` of a judged ``pip install`` into this environment (best effort)."""
    from ..model import PackageRef

    argv = sys.argv[1:] if sys.argv else []
    if operation != "pip install" or in_build_env() or any(a.split("=", 1)[0] in _ELSEWHERE for a in argv):
        return
    import re
    import sysconfig

    lines = [f"{re.sub(r'[-_.]+', '-', s.name).lower()}=={s.version}\n" for s in subjects
             if isinstance(s, PackageRef) and s.name and s.version]
    if not lines:
        return
    try:
        path = os.path.join(sysconfig.get_paths()["purelib"], JUDGED_FILE)
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o644)
        try:
            os.write(fd, "".join(lines).encode())
        finally:
            os.close(fd)
    except OSError:
        pass  # a read-only environment: status then reports these as never judged (the safe side)


def _options():
    """Check options inside pip: network look-ups allowed (pip is online anyway) unless ``GUARD_OFFLINE``."""
    from ..engine import CheckOptions

    # pip is fetching from its indexes anyway; rules may ask the same index (release-age look-up)
    return CheckOptions(offline=os.environ.get("GUARD_OFFLINE", "") not in ("", "0"), origin="runtime-pip")


def _command() -> str:
    """``pip install`` / ``pip download`` / ... from ``sys.argv``, for messages."""
    argv = sys.argv[1:] if sys.argv else []
    for word in argv:
        if word in ("install", "download", "wheel", "lock"):
            return f"pip {word}"
    return "pip"


# ------------------------------------------------------------------ resolver / preparer wrappers


def _wrap_once(owner, attr: str, make_wrapper, required: bool = True):
    """Replace ``owner.attr`` by ``make_wrapper(original)`` unless it is already ours.

    The wrapper gets the original's name and docstring (``functools.wraps``) and the
    ``_guard_patched`` mark, so a second patch run (pip re-imports, a second hook) is a no-op.
    A missing attribute raises ``AttributeError`` (the startup hook then fails closed) unless
    ``required`` is false. Returns the installed wrapper, or ``None`` when nothing was done.
    """
    orig = getattr(owner, attr) if required else getattr(owner, attr, None)
    if orig is None or getattr(orig, "_guard_patched", False):
        return None
    wrapper = functools.wraps(orig)(make_wrapper(orig))
    wrapper._guard_patched = True
    setattr(owner, attr, wrapper)
    return wrapper


def _finder_of(resolver):
    """The ``PackageFinder`` of a resolvelib (``factory._finder``) or legacy (``finder``) resolver."""
    return getattr(resolver, "finder", None) or getattr(getattr(resolver, "factory", None), "_finder", None)


def _resolved_versions(resolver) -> dict:
    """canonical name -> version from the resolvelib result (``{}`` for the legacy resolver)."""
    from ..names import canonicalize_name

    result = getattr(resolver, "_result", None)
    mapping = getattr(result, "mapping", None) or {}
    out = {}
    for cand in mapping.values():
        name = getattr(cand, "project_name", None) or getattr(cand, "name", None)
        version = getattr(cand, "version", None)
        if name and version is not None:
            out[canonicalize_name(str(name))] = str(version)
    return out


def _prepared_version(ireq) -> Optional[str]:
    """The version from a prepared requirement's metadata, or ``None`` before preparation."""
    try:
        return str(ireq.metadata["Version"])
    except Exception:
        return None


def wrap_resolve(resolver_cls, label: str) -> None:
    """Wrap ``resolver_cls.resolve``: roots before, the full ``RequirementSet`` after."""
    wrapper = _wrap_once(resolver_cls, "resolve", _checked_resolve)
    if wrapper is not None:
        wrapper._guard_resolver = label


def _checked_resolve(orig):
    """The ``Resolver.resolve`` wrapper around ``orig``."""
    def resolve(self, root_reqs, check_supported_wheels, *args, **kwargs):
        if builds_only():
            return orig(self, root_reqs, check_supported_wheels, *args, **kwargs)
        op = _command()
        indexes = configured_indexes(_finder_of(self))
        build = in_build_env()
        roots = [package_from_ireq(r, indexes=indexes, build=build, root=True) for r in root_reqs
                 if getattr(r, "user_supplied", True) and not getattr(r, "constraint", False)]
        check([*indexes, *roots], op)
        req_set = orig(self, root_reqs, check_supported_wheels, *args, **kwargs)
        versions = _resolved_versions(self)
        from ..names import canonicalize_name

        resolved = []
        for ireq in req_set.all_requirements:
            name = getattr(ireq, "name", None)
            version = versions.get(canonicalize_name(name)) if name else None
            resolved.append(package_from_ireq(ireq, version=version or _prepared_version(ireq), indexes=indexes,
                                              build=build))
            ref = link_index_ref(getattr(ireq, "link", None), name)
            if ref is not None:
                resolved.append(ref)
        decision = check(resolved, op)
        if getattr(decision, "mode", "off") != "off":  # under mode off nothing was judged
            record_judged(resolved, op)  # once, for the whole resolved set
        return req_set

    return resolve


def patch_resolvelib_resolver(module) -> None:
    """Patch ``pip._internal.resolution.resolvelib.resolver``."""
    wrap_resolve(module.Resolver, "resolvelib")


def patch_legacy_resolver(module) -> None:
    """Patch ``pip._internal.resolution.legacy.resolver``."""
    wrap_resolve(module.Resolver, "legacy")


def patch_prepare(module) -> None:
    """Patch ``RequirementPreparer.prepare_linked_requirement``: the gate before any fetch or build."""
    _wrap_once(module.RequirementPreparer, "prepare_linked_requirement", _checked_prepare)


#: set by ``guard install`` for its resolve step: the hook then judges only what pip would build
ONLY_BUILDS_VAR = "GUARDPOLICY_ONLY_BUILDS"


def builds_only() -> bool:
    """True in ``guard install``'s resolve step: a ``--dry-run`` (nothing is installed) that guard
    judges as a whole afterwards, so the hook only has to stop builds (sdists run code to resolve).

    Without ``--dry-run`` the variable changes nothing: it can never make a real install lighter.
    """
    return os.environ.get(ONLY_BUILDS_VAR) == "1" and "--dry-run" in sys.argv[1:]


def _checked_prepare(orig):
    """The ``prepare_linked_requirement`` wrapper around ``orig``: check the candidate (and its index) first."""
    def prepare_linked_requirement(self, req, *args, **kwargs):
        link = getattr(req, "link", None)
        if builds_only() and not is_archive_link(link):
            return orig(self, req, *args, **kwargs)  # a wheel in guard install's dry run: judged with the whole set
        pkg = package_from_ireq(req, indexes=configured_indexes(getattr(self, "finder", None)), build=in_build_env())
        subjects = [pkg]
        if pkg.name is None and is_archive_link(link):
            from ..model import Finding

            # building it is the only way to learn its name: that would run its code before any judgment
            subjects.append(Finding(rule="invalid", subject=getattr(link, "filename", "") or str(link),
                                    message="cannot tell this archive's project name without building it (no "
                                            "name-version file name, no PKG-INFO): its build code would run unjudged",
                                    suggestion="install a wheel, or name it: `NAME @ URL` / a name-version file name"))
        ref = link_index_ref(link, pkg.name)
        if ref is not None:
            subjects.append(ref)
        check(subjects, _command())
        return orig(self, req, *args, **kwargs)

    return prepare_linked_requirement


def _wrap_call_subprocess(module) -> bool:
    """Make ``module.call_subprocess`` add ``GUARDPOLICY_PIP_BUILD_DEPS=1``; False when the module has none."""
    def make(orig):
        def call_subprocess(*args, **kwargs):
            env = dict(kwargs.get("extra_environ") or {})
            env[BUILD_ENV_VAR] = "1"
            kwargs["extra_environ"] = env
            return orig(*args, **kwargs)

        return call_subprocess

    _wrap_once(module, "call_subprocess", make, required=False)
    return getattr(module, "call_subprocess", None) is not None


def patch_build_env(module) -> None:
    """Mark pip's build-dependency installs so they apply the ``[build]`` policy section.

    pip <= 25 runs them from ``pip._internal.build_env`` (a module), pip 26 from
    ``pip._internal.build_env.installer``; both call ``call_subprocess`` as a module global,
    which gets ``GUARDPOLICY_PIP_BUILD_DEPS=1`` added to its environment. pip 26's in-process
    installer sets a thread-local flag instead.
    """
    _wrap_call_subprocess(module)
    inproc = getattr(module, "InprocessBuildEnvironmentInstaller", None)
    if inproc is not None:
        _wrap_once(inproc, "install", _flagged_install)


def _flagged_install(orig):
    """The in-process build installer's ``install`` around ``orig``: the build flag is set while it runs."""
    def install(self, *args, **kwargs):
        before = getattr(_local, "build", False)
        _local.build = True
        try:
            return orig(self, *args, **kwargs)
        finally:
            _local.build = before

    return install


def patch_link(module) -> None:
    """Remember PEP 700 ``upload-time`` from JSON index pages (``Link.from_json``) for the release-age rule."""
    cls = module.Link
    orig = cls.__dict__.get("from_json")
    if orig is None:
        return
    func = orig.__func__ if isinstance(orig, classmethod) else orig
    if getattr(func, "_guard_patched", False):
        return

    @functools.wraps(func)
    def from_json(klass, file, page_url, *args, **kwargs):
        link = func(klass, file, page_url, *args, **kwargs)
        try:
            ut = file.get("upload-time") if link is not None else None
            if ut and len(UPLOAD_TIMES) < _MAX_UPLOAD_TIMES:
                UPLOAD_TIMES[link.url.split("#", 1)[0]] = str(ut)
        except Exception:
            pass
        return link

    from_json._guard_patched = True
    cls.from_json = classmethod(from_json)


_held_reported: set = set()


def _min_release_age() -> Optional[float]:
    """Seconds of the enforced ``release-age`` minimum, or ``None`` (rule off, warn-only, or no policy)."""
    from ..durations import parse_duration

    try:
        policy = _policy()
    except Exception:  # no usable policy: the gate refuses later with the policy error
        return None
    settings = policy.rule("release-age")
    if policy.mode != "enforce" or settings.action != "deny" or not settings.get("min_release_age"):
        return None
    try:
        return parse_duration(settings.get("min_release_age")) or None
    except ValueError:
        return None  # the rule itself reports the bad value as a deny


def hold_back(candidates: list, project_name: str, now=None) -> list:
    """Drop candidates uploaded less than ``min_release_age`` ago, so pip picks an older version.

    Keeps the list unchanged when the rule is not enforced, when no upload time is known, or when
    every candidate is too new (then the gate denies with the release-age finding instead of pip
    saying "no matching distribution").
    """
    min_age = _min_release_age()
    if not min_age or not candidates:
        return candidates
    import datetime as _dt

    from ..durations import human_age, parse_time  # lazy: only when the policy holds versions back

    now = now or _dt.datetime.now(_dt.timezone.utc)
    kept, held = [], []
    for cand in candidates:
        uploaded = parse_time(upload_time_of(getattr(cand, "link", None)))
        if uploaded is not None and (now - uploaded).total_seconds() < min_age:
            held.append((cand, uploaded))
        else:
            kept.append(cand)
    if not held or not kept:
        return candidates
    for cand, uploaded in held:
        key = (project_name, str(cand.version))
        if key not in _held_reported:
            _held_reported.add(key)
            print(f"guard: holding back {project_name} {cand.version}: uploaded {human_age((now - uploaded).total_seconds())} "
                  f"ago, the policy's release-age minimum is {human_age(min_age)}", file=sys.stderr)
    return kept


def patch_package_finder(module) -> None:
    """Wrap ``PackageFinder.find_all_candidates`` so too-new versions are held back (rule ``release-age``)."""
    def make(orig):
        def find_all_candidates(self, project_name, *args, **kwargs):
            candidates = orig(self, project_name, *args, **kwargs)
            try:
                return hold_back(candidates, project_name)
            except Exception:  # never break pip here: every candidate still passes the pre-fetch gate
                return candidates

        return find_all_candidates

    _wrap_once(module.PackageFinder, "find_all_candidates", make)


def fail_closed(module, error: str) -> None:
    """A patch failed: make the pip entry points in ``module`` refuse instead of running unchecked."""
    def refuse(*args, **kwargs):
        from ..errors import PolicyViolation

        raise pip_error(PolicyViolation(f"guard: the pip patch failed ({error}); refusing to resolve unchecked"), "pip")

    for cls_name, meth in (("Resolver", "resolve"), ("RequirementPreparer", "prepare_linked_requirement")):
        cls = getattr(module, cls_name, None)
        if cls is not None and hasattr(cls, meth):
            setattr(cls, meth, refuse)
