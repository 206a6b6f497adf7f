"""Rule ``source``: packages (and models) must come from places the policy allows.

Flags index / extra-index / find-links URLs not in ``[sources] indexes``, plain ``http``,
``--trusted-host``, direct URLs from unknown hosts, and dependency confusion: a
``protected`` (internal) name while an extra index is configured, so the public index may
win. Hub endpoints and orgs are judged by the model rules.
"""

from __future__ import annotations

import fnmatch
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


@hookimpl
def guard_check_model(model, policy, context):
    """The Hub endpoint must be in ``hub_endpoints``; the org in ``hub_orgs`` when the policy lists orgs."""
    src = policy.sources
    findings = []
    if model.endpoint and not is_allowed_url(model.endpoint, src.get("hub_endpoints", ("https://huggingface.co",))):
        allowed = ", ".join(src.get("hub_endpoints", ())) or "none"
        findings.append(Finding(rule="source", subject=model.subject, location=model.location,
                                message=f"Hub endpoint {model.endpoint} is not an allowed source (allowed: {allowed})",
                                suggestion="unset HF_ENDPOINT / endpoint=, or add the mirror to [sources] hub_endpoints"))
    orgs = src.get("hub_orgs") or ()
    if orgs:
        org = (model.org or "").lower()
        if not any(fnmatch.fnmatchcase(org, o.lower()) for o in orgs):
            findings.append(Finding(rule="source", subject=model.subject, location=model.location,
                                    message=f"org {model.org or '(none)'!s} is not in the allowed Hub orgs ({', '.join(orgs)})",
                                    suggestion="use a model from an allowed org, or add the org to [sources] hub_orgs"))
    return findings


@hookimpl
def guard_rules():
    return [RULE]
