"""Rule ``denylist``: the package matches the policy's ``deny`` list.

Entries are requirement strings: ``evilpkg`` denies every version, ``urllib3<1.26.5``
denies the versions the specifier admits (and an unpinned requirement that could resolve
to one of them).
"""

from __future__ import annotations

from functools import lru_cache

from packaging.requirements import InvalidRequirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

from ..hookspecs import hookimpl
from ..model import Finding
from ..names import canonicalize_name
from ..pep508 import parse_requirement
from . import RuleInfo

RULE = RuleInfo(
    id="denylist",
    summary="The package is on the policy's deny list.",
    help="Policies list requirement strings under `deny`: a bare name denies every version, a "
         "specifier (`urllib3<1.26.5`) denies the versions it admits.",
    default_action="deny",
    example="denylist: urllib3==1.26.4 matches deny entry 'urllib3<1.26.5'",
)


@lru_cache(maxsize=64)
def _parse(entries: tuple) -> dict:
    """The policy's ``deny`` entries by canonical name: ``[(entry, specifier)]`` (cached per deny list)."""
    out: dict = {}
    for entry in entries:
        try:
            req = parse_requirement(entry)
        except InvalidRequirement:
            continue  # validated by the loader's tests of shipped policies; stay permissive here
        out.setdefault(canonicalize_name(req.name), []).append((entry, req.specifier))
    return out


def _candidates(*specs: SpecifierSet) -> list:
    """Versions that probe where two specifier sets could meet: each bound, just above and below it."""
    out = [Version("0"), Version("99999")]
    for spec in specs:
        for item in spec:
            try:
                v = Version(item.version.replace(".*", ""))
            except InvalidVersion:
                continue
            release = list(v.release)
            out += [v, Version(".".join(map(str, release + [1]))),
                    Version(".".join(map(str, release[:-1] + [release[-1] + 1]))),
                    Version(".".join(map(str, release[:-1] + [max(release[-1] - 1, 0)]) ) + ".9999")]
            if v.is_prerelease or v.is_devrelease:
                out.append(Version(v.base_version))
    return out


def ranges_overlap(a: SpecifierSet, b: SpecifierSet) -> bool:
    """True when some version probed at the bounds of ``a`` and ``b`` satisfies both (conservative)."""
    return any(a.contains(v, prereleases=True) and b.contains(v, prereleases=True) for v in _candidates(a, b))


def _may_match(deny: SpecifierSet, version: str | None, specifier: str) -> bool:
    """True when a package with this version (or range) may be one the deny entry names."""
    if not str(deny):
        return True
    if version:
        try:
            return deny.contains(Version(version), prereleases=True)
        except InvalidVersion:
            return True
    try:
        spec = SpecifierSet(specifier)
    except InvalidSpecifier:
        return True
    pins = [s.version for s in spec if s.operator in ("==", "===") and "*" not in s.version]
    if pins:
        try:
            return deny.contains(Version(pins[0]), prereleases=True)
        except InvalidVersion:
            return True
    return ranges_overlap(spec, deny)  # a range may resolve into the denied versions


@hookimpl
def guard_check_package(package, policy, context):
    """Flag a package whose name (and, when given, version range) is on the policy's ``deny`` list."""
    if not package.name or not policy.deny:
        return None
    table = _parse(tuple(policy.deny))
    for entry, spec in table.get(canonicalize_name(package.name), ()):
        if _may_match(spec, package.version, package.specifier):
            return [Finding(rule="denylist", subject=package.subject, location=package.location,
                            message=f"{package.subject} matches the policy's deny entry {entry!r}",
                            suggestion="remove it, or pick a version outside the denied range")]
    return None


@hookimpl
def guard_rules():
    """Describe the rule."""
    return [RULE]
