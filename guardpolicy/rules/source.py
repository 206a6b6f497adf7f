"""Rule ``source``: packages (and models) must come from places the policy allows.

Flags index / extra-index / find-links URLs not in ``[sources] indexes``, plain ``http``,
``--trusted-host``, direct URLs from unknown hosts, and dependency confusion: a
``protected`` (internal) name while an extra index is configured, so the public index may
win. For Hub repos (``ModelRef``): the endpoint (the ref's own, else ``HF_ENDPOINT``, else
``https://huggingface.co``) must be in ``[sources] hub_endpoints`` (scheme + host + port,
trailing slash ignored, globs allowed), and when ``hub_orgs`` is set the repo's org must match
one of its globs (an entry with a ``/`` matches whole repo ids).
"""

# Python requirements (this module's package and index side):
# Index options (``--index-url``, ``--extra-index-url``, ``--find-links``) and lock-file
# registries must be in ``[sources] indexes``; plain ``http``/``ftp`` is flagged; so is
# ``--trusted-host`` (it turns TLS verification off). Local find-links directories are allowed
# unless ``allow_local = false``. For packages: a ``protected`` (internal) name is flagged when
# more than one remote source is in effect (dependency confusion: pip takes the highest version
# from any of them) or when its only source is a public index; direct URLs fetched over an
# unencrypted transport (``http``, ``git://``, ``svn://``, ``ftp``) are flagged, and with
# ``allow_direct_urls = false`` any remote direct URL outside the allowed sources is too.
# Hub endpoints and orgs are judged by the model rules.

from __future__ import annotations

import fnmatch
import os
from urllib.parse import urlsplit

from ..hookspecs import hookimpl

# Hub endpoint matching lives in guardpolicy.hubids; re-exported here for callers and tests
from ..hubids import HUB_ALIASES, effective_endpoint, endpoint_allowed, is_local_only, url_glob_matches  # noqa: F401
from ..model import Finding
from ..names import canonicalize_name
from . import Option, RuleInfo

RULE = RuleInfo(
    id="source",
    summary="A package or model source the policy does not allow.",
    help="Allowed sources are listed in `[sources] indexes` (pip indexes and find-links) and "
         "`hub_endpoints` / `hub_orgs` (Hugging Face). Plain http, `--trusted-host`, and an internal "
         "(`protected`) name with an extra index configured (dependency confusion) are flagged.",
    default_action="deny",
    options={"allow_direct_urls": Option(bool, True, "allow direct URL / VCS requirements from hosts outside "
                                                      "[sources] indexes (https only)")},
    example="requirements.txt:1: source: index https://mirror.example/simple is not an allowed source",
    subjects=("index", "package", "model"),
)

PYPI_ALIASES = {"https://pypi.org/simple", "https://pypi.python.org/simple", "https://pypi.org/pypi"}
#: indexes anyone can upload to: an internal name must never resolve from them
PUBLIC_INDEXES = PYPI_ALIASES | {"https://test.pypi.org/simple"}
#: schemes that carry packages without encryption
INSECURE_SCHEMES = {"http", "ftp", "git", "svn", "hg+http", "bzr+http", "bzr+ftp", "svn+http", "git+http",
                    "git+git", "svn+svn", "hg+static-http"}
#: index kinds that decide where a package is downloaded from
DOWNLOAD_KINDS = ("index-url", "extra-index-url", "find-links", "registry")


def split_url(url: str):
    """``urlsplit`` that never raises: unbalanced ``[``/``]`` (a broken IPv6 host) are escaped.

    Callers that must say *why* a URL is broken use ``url_problem`` first.
    """
    try:
        return urlsplit(url)
    except ValueError:
        return urlsplit(url.replace("[", "%5B").replace("]", "%5D"))


def url_port(parts) -> int | None:
    """The explicit port of split URL ``parts``; ``None`` when absent or not a number 0-65535."""
    try:
        return parts.port
    except ValueError:
        return None


def url_problem(url: str) -> str | None:
    """Why pip could not use ``url`` (a host ``[`` without ``]``, a port that is not a number), or ``None``."""
    try:
        urlsplit(url).port
    except ValueError as exc:
        return str(exc)
    return None


def normalize_url(url: str) -> str:
    """Compare URLs without trailing slashes, case of scheme/host, or default ports."""
    url = url.strip().rstrip("/")
    parts = split_url(url)
    if not parts.scheme:
        return url
    host = (parts.hostname or "").lower()
    port = url_port(parts)
    port = f":{port}" if port and port not in (80, 443) else ""
    return f"{parts.scheme.lower()}://{host}{port}{resolve_dot_segments(parts.path).rstrip('/')}"


def resolve_dot_segments(path: str) -> str:
    """``/simple/../../other`` -> ``/other`` (also when the dots are percent-encoded).

    Servers resolve them, so ``https://host/org/simple/../../other/simple`` is *not* under
    an allowed ``https://host/org/simple`` (on a shared host such as a forge's package
    registry it is someone else's index). Paths without dot segments are returned as they are.
    """
    import posixpath
    from urllib.parse import unquote

    decoded = unquote(path)
    if not any(seg in (".", "..") for seg in decoded.split("/")):
        return path
    resolved = posixpath.normpath(decoded)
    return "" if resolved == "." else "/" + resolved.lstrip("/")


def is_allowed_url(url: str, allowed) -> bool:
    """True when ``url`` equals or lies under one of the ``allowed`` URLs (globs allowed)."""
    u = normalize_url(url)
    for a in allowed:
        n = normalize_url(a)
        if u == n or u.startswith(n + "/") or url_glob_matches(u, n):
            return True
        if n in PYPI_ALIASES and u in PYPI_ALIASES:
            return True
    return False


def same_origin(url: str, allowed) -> bool:
    """True when ``url`` is a bare origin (``https://host``) of one of the ``allowed`` URLs.

    pip reports record download URLs, not index URLs: their registry is the download host.
    """
    u = normalize_url(url)
    if split_url(u).path:
        return False
    for a in allowed:
        parts = split_url(normalize_url(a))
        if parts.scheme and f"{parts.scheme}://{parts.netloc}" == u:
            return True
    return False


def is_local_source(url: str) -> bool:
    """True for a local directory or ``file:`` URL (a Windows drive letter is not a scheme)."""
    scheme = split_url(url).scheme.lower()
    return scheme in ("", "file") or len(scheme) == 1


def transport(url: str) -> str:
    """The scheme that moves the bytes: ``git+https://`` -> ``git+https``, ``bzr+lp:`` -> ``bzr+lp``."""
    return split_url(url).scheme.lower()


def is_insecure(url: str) -> bool:
    """True when the URL's transport is unencrypted (http, ftp, git://, svn://, ``vcs+http``)."""
    return transport(url) in INSECURE_SCHEMES


def is_public(url: str) -> bool:
    """True for a public index anyone can upload to (PyPI, TestPyPI)."""
    return normalize_url(url) in PUBLIC_INDEXES


def is_protected(name: str, policy) -> bool:
    """True when ``name`` matches the policy's ``protected`` (internal) name globs."""
    canon = canonicalize_name(name)
    return any(fnmatch.fnmatchcase(canon, canonicalize_name(p)) for p in policy.sources.get("protected", ()))


def remote_sources(package) -> list:
    """The distinct remote download sources in effect for ``package`` (index, extra, links, registry)."""
    urls = [i.url for i in package.indexes if i.kind in DOWNLOAD_KINDS and not is_local_source(i.url)]
    return list(dict.fromkeys(normalize_url(u) for u in urls))


def confusion_problem(package) -> str | None:
    """Why an internal name may be taken from someone else's upload, or ``None``."""
    sources = remote_sources(package)
    if len(sources) > 1:
        return (f"{package.name} is an internal (protected) name but {len(sources)} sources are in effect "
                f"({', '.join(sources)}): pip takes the highest version from any of them (dependency confusion)")
    if len(sources) == 1 and is_public(sources[0]):
        return f"{package.name} is an internal (protected) name but resolves from the public index {sources[0]}"
    return None


@hookimpl
def guard_check_index(index, policy, context):
    """Flag an index, find-links location or trusted host the ``[sources]`` table does not allow."""
    src = policy.sources
    findings = []
    loc, url = index.location, index.url

    def add(msg, hint):
        findings.append(Finding(rule="source", subject=url, message=msg, location=loc, suggestion=hint))

    if index.kind == "trusted-host":
        if not src.get("allow_trusted_host", False):
            add(f"--trusted-host {url} turns off TLS verification for that host",
                "remove --trusted-host and serve the index over https with a valid certificate")
        return findings
    if index.kind == "no-index":
        return findings
    problem = url_problem(url)
    if problem:
        add(f"{index.kind} {url} is not a usable URL ({problem})", "fix the URL")
        return findings
    allowed = src.get("indexes", ())
    if is_local_source(url):
        if not src.get("allow_local", True) and not is_allowed_url(url, allowed):
            add(f"{index.kind} {url} is a local path and local sources are not allowed", "install from an allowed index")
        return findings
    if is_insecure(url) and not src.get("allow_http", False):
        add(f"{index.kind} {url} uses plain {transport(url)}: anyone on the path can swap packages", "use https")
    if not is_allowed_url(url, allowed) and not (index.kind == "registry" and same_origin(url, allowed)):
        add(f"{index.kind} {url} is not an allowed source (allowed: {', '.join(allowed) or 'none'})",
            "use an allowed index, or add this one to [sources] indexes in the policy")
    return findings


@hookimpl
def guard_check_package(package, policy, context):
    """Flag dependency confusion for protected names and direct URLs from insecure or unknown places."""
    findings = []

    def add(msg, hint):
        findings.append(Finding(rule="source", subject=package.subject, location=package.location,
                                message=msg, suggestion=hint))

    if package.name and is_protected(package.name, policy):
        problem = confusion_problem(package)
        if problem:
            add(problem, "install internal packages from your private index only (--index-url, no "
                         "--extra-index-url), and pin them with --hash")
    url = package.url
    problem = url_problem(url) if url else None
    if problem:
        add(f"{package.subject}: {url} is not a usable URL ({problem})", "fix the URL")
        return findings
    if url and not is_local_source(url) and not url.startswith(("file:", "git+file:", "hg+file:", "svn+file:", "bzr+file:")):
        if is_insecure(url) and not policy.sources.get("allow_http", False):
            add(f"{package.subject} is fetched over unencrypted {transport(url)}: {url}",
                "use an https (or ssh) URL")
        elif not policy.rule("source").get("allow_direct_urls", True):
            plain = url.split("+", 1)[1] if "+" in transport(url) else url
            from ..sources.locks import PYPI_SIMPLE, download_origin

            allowed = policy.sources.get("indexes", ())
            # PyPI serves its files from files.pythonhosted.org: those come from an allowed PyPI
            from_pypi = download_origin(plain) == PYPI_SIMPLE and is_allowed_url(PYPI_SIMPLE, allowed)
            if not from_pypi and not is_allowed_url(plain, allowed):
                add(f"{package.subject} comes from a direct URL outside the allowed sources: {url}",
                    "publish it to an allowed index, or add its location to [sources] indexes")
    return findings


def org_allowed(repo_id: str, allowed) -> bool:
    """True when the repo's org (or, for entries with ``/``, the whole id) matches an allowed glob."""
    org = repo_id.split("/", 1)[0].lower() if "/" in repo_id else None
    for pattern in allowed:
        p = pattern.lower().strip()
        if "/" in p:
            if fnmatch.fnmatchcase(repo_id.lower(), p):
                return True
        elif org is not None and fnmatch.fnmatchcase(org, p):
            return True
    return False


@hookimpl
def guard_check_model(model, policy, context):
    """Flag a Hub endpoint or org outside ``hub_endpoints`` / ``hub_orgs``."""
    if is_local_only(model):
        return None

    src = policy.sources
    findings = []
    endpoint = effective_endpoint(model)
    where = "" if model.endpoint else (" (from HF_ENDPOINT)" if os.environ.get("HF_ENDPOINT") else "")

    def add(msg, hint, **details):
        findings.append(Finding(rule="source", subject=model.subject, message=msg, location=model.location,
                                suggestion=hint, details=details))

    allowed = src.get("hub_endpoints", ())
    if not endpoint_allowed(endpoint, allowed):
        add(f"Hub endpoint {endpoint}{where} is not an allowed source "
            f"(allowed: {', '.join(allowed) or 'none'})",
            "fetch from an allowed endpoint, or add it to [sources] hub_endpoints in the policy", endpoint=endpoint)
    elif split_url(endpoint).scheme == "http" and not src.get("allow_http", False):
        add(f"Hub endpoint {endpoint} uses plain http", "use https", endpoint=endpoint)
    orgs = src.get("hub_orgs", ())
    if orgs and not org_allowed(model.repo_id, orgs):
        who = f"org {model.org!r}" if model.org else f"legacy un-namespaced id {model.repo_id!r}"
        add(f"{who} is not an allowed Hub org (allowed: {', '.join(orgs)})",
            "use a repo from an allowed org, or add the org to [sources] hub_orgs", org=model.org)
    return findings


@hookimpl
def guard_rules():
    """Describe the rule."""
    return [RULE]
