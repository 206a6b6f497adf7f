"""Rule ``malicious``: the package name is on the shipped list of known-malicious PyPI names.

An exact hit (PEP 503 name) is denied outright by default. Rows marked ``compromised_lib``
are legitimate projects whose specific versions were hijacked: the name itself is not
malicious, so they are not findings here. The list and its sources: ``guardpolicy/data/README.md``.
"""

from __future__ import annotations

from ..hookspecs import hookimpl
from ..model import Finding
from ..names import canonicalize_name
from . import RuleInfo

RULE = RuleInfo(
    id="malicious",
    summary="The package name is a known malicious package.",
    help="Exact hits on the shipped list of known-malicious PyPI names (DataDog's malicious-software-"
         "packages dataset and historical typosquats). Such names were removed from PyPI for shipping "
         "malware; anything published under them again is presumed hostile.",
    default_action="deny",
    allowlist=True,
    example="requirements.txt:4: malicious: 'crypt' is a known malicious package name (malicious_intent, imitating 'bcrypt')",
)


def check_name(name: str):
    """The finding for one PyPI name, or ``None`` when it is not a known malicious name."""
    from ..similarity import data

    canonical = canonicalize_name(name)
    hit = data.pypi_malicious().get(canonical)
    if hit is None or hit[0] == "compromised_lib":
        return None
    category, target = hit
    if not target:  # name the imitated project when the list does not
        m = data.pypi_index().match(canonical)
        target = m.target if m is not None else ""
    extra = f", imitating {target!r}" if target else ""
    return Finding(rule="malicious", subject=name,
                   message=f"{name!r} is a known malicious package name ({category}{extra})",
                   suggestion=f"remove it; did you mean {target!r}?" if target else "remove it",
                   details={"known_malicious": True, "category": category, "target": target or None})


@hookimpl
def guard_check_package(package, policy, context):
    """Flag a requirement whose name is on the known-malicious list."""
    if not package.name:
        return None
    found = check_name(package.name)
    if found is None:
        return None
    from dataclasses import replace

    return [replace(found, subject=package.subject, location=package.location)]


@hookimpl
def guard_rules():
    """Describe the rule."""
    return [RULE]
