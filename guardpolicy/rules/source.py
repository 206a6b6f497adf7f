"""Rule ``source``: packages (and models) must come from places the policy allows.

Flags index / extra-index / find-links URLs not in ``[sources] indexes``, plain ``http``,
``--trusted-host``, direct URLs from unknown hosts, and dependency confusion: a
``protected`` (internal) name while an extra index is configured, so the public index may
win. For Hub repos (``ModelRef``): the endpoint (the ref's own, else ``HF_ENDPOINT``, else
``https://huggingface.co``) must be in ``[sources] hub_endpoints`` (scheme + host + port,
trailing slash ignored, globs allowed), and when ``hub_orgs`` is set the repo's org must match
one of its globs (an entry with a ``/`` matches whole repo ids).
"""

from __future__ import annotations

import fnmatch
import os
from urllib.parse import urlsplit

from ..hookspecs import hookimpl
from ..model import Finding
from ..names import canonicalize_name
from . import RuleInfo

RULE = RuleInfo(
    id="source",
    summary="A package or model source the policy does not allow.",
    help="Allowed sources are listed in `[sources] indexes` (pip indexes and find-links) and "
         "`hub_endpoints` / `hub_orgs` (Hugging Face). Plain http, `--trusted-host`, and an internal "
         "(`protected`) name with an extra index configured (dependency confusion) are flagged.",
    default_action="deny",
    example="requirements.txt:1: source: index https://mirror.example/simple is not an allowed source",
    subjects=("index", "package", "model"),
)

PYPI_ALIASES = {"https://pypi.org/simple", "https://pypi.python.org/simple", "https://pypi.org/pypi"}


def normalize_url(url: str) -> str:
    """Compare URLs without trailing slashes, case of scheme/host, or default ports."""
    url = url.strip().rstrip("/")
    parts = urlsplit(url)
    if not parts.scheme:
        return url
    host = (parts.hostname or "").lower()
    port = f":{parts.port}" if parts.port and parts.port not in (80, 443) else ""
    return f"{parts.scheme.lower()}://{host}{port}{parts.path.rstrip('/')}"


def is_allowed_url(url: str, allowed) -> bool:
    """True when ``url`` equals or lies under one of the ``allowed`` URLs (globs allowed)."""
    u = normalize_url(url)
    for a in allowed:
        n = normalize_url(a)
        if u == n or u.startswith(n + "/") or fnmatch.fnmatchcase(u, n):
            return True
        if n in PYPI_ALIASES and u in PYPI_ALIASES:
            return True
    return False


def is_protected(name: str, policy) -> bool:
    """True when ``name`` matches the policy's ``protected`` (internal) name globs."""
    canon = canonicalize_name(name)
    return any(fnmatch.fnmatchcase(canon, canonicalize_name(p)) for p in policy.sources.get("protected", ()))


@hookimpl
def guard_check_index(index, policy, context):
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
    scheme = urlsplit(url).scheme.lower()
    local = scheme in ("", "file")
    if local:
        if not src.get("allow_local", True) and not is_allowed_url(url, src.get("indexes", ())):
            add(f"{index.kind} {url} is a local path and local sources are not allowed", "install from an allowed index")
        return findings
    if scheme == "http" and not src.get("allow_http", False):
        add(f"{index.kind} {url} uses plain http: anyone on the path can swap packages", "use https")
    if not is_allowed_url(url, src.get("indexes", ())):
        allowed = ", ".join(src.get("indexes", ())) or "none"
        add(f"{index.kind} {url} is not an allowed source (allowed: {allowed})",
            "use an allowed index, or add this one to [sources] indexes in the policy")
    return findings


@hookimpl
def guard_check_package(package, policy, context):
    findings = []
    if package.name and is_protected(package.name, policy):
        extra = [i for i in package.indexes if i.kind in ("extra-index-url", "find-links") and urlsplit(i.url).scheme in ("http", "https")]
        if extra:
            findings.append(Finding(
                rule="source", subject=package.subject, location=package.location,
                message=f"{package.name} is an internal (protected) name but an extra index is configured "
                        f"({', '.join(i.url for i in extra)}): the public copy may win (dependency confusion)",
                suggestion="install internal packages from one index only (--index-url), or pin with --hash"))
    url = package.url
    if url and "://" in url and not url.startswith("file:"):
        plain = url.split("+", 1)[1] if url.split("://", 1)[0].count("+") else url
        if urlsplit(plain).scheme == "http" and not policy.sources.get("allow_http", False):
            findings.append(Finding(rule="source", subject=package.subject, location=package.location,
                                    message=f"{package.subject} is fetched over plain http: {url}", suggestion="use https"))
    return findings


#: names of the public Hub that are the same endpoint
HUB_ALIASES = {"https://huggingface.co", "https://hf.co", "https://www.huggingface.co"}


def endpoint_allowed(endpoint: str, allowed) -> bool:
    """True when the normalised ``endpoint`` equals (or glob-matches) an allowed endpoint."""
    from ..sources.hub import normalize_endpoint

    e = normalize_endpoint(endpoint)
    for a in allowed:
        n = normalize_endpoint(a)
        if e == n or fnmatch.fnmatchcase(e, n) or (e in HUB_ALIASES and n in HUB_ALIASES):
            return True
    return False


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
    from ..sources.hub import effective_endpoint

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
    elif urlsplit(endpoint).scheme == "http" and not src.get("allow_http", False):
        add(f"Hub endpoint {endpoint} uses plain http", "use https", endpoint=endpoint)
    orgs = src.get("hub_orgs", ())
    if orgs and not org_allowed(model.repo_id, orgs):
        who = f"org {model.org!r}" if model.org else f"legacy un-namespaced id {model.repo_id!r}"
        add(f"{who} is not an allowed Hub org (allowed: {', '.join(orgs)})",
            "use a repo from an allowed org, or add the org to [sources] hub_orgs", org=model.org)
    return findings


@hookimpl
def guard_rules():
    return [RULE]
