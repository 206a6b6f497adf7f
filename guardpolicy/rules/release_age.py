"""Rule ``release-age``: hold back versions uploaded less than ``min_release_age`` ago.

Most malicious uploads are found and removed within days, so a policy can require a version
to have been public for a while (``[rules.release-age] min_release_age = "3d"``). The upload
time comes from ``PackageRef.extra["upload_time"]`` (PEP 700 ``upload-time`` that pip saw on a
JSON index page, recorded by the pip hook), or, when the check may use the network, from the
package's index JSON API (PEP 691). An unknown upload time follows ``unknown_age`` (warn by
default). With no ``min_release_age`` the rule does nothing.
"""

from __future__ import annotations

import datetime as _dt
from typing import Optional

from ..durations import human_age, parse_duration, parse_time  # noqa: F401  (tests and callers use them from here)
from ..hookspecs import hookimpl
from ..indexmeta import DEFAULT_INDEX, NotFound, file_versions, index_for, simple_json  # noqa: F401  (tests and callers use some from here)
from ..model import Finding
from . import Option, RuleInfo

RULE = RuleInfo(
    id="release-age",
    summary="The version was uploaded more recently than the policy's minimum release age.",
    help="Set `[rules.release-age] min_release_age = \"3d\"` (units s, m, h, d, w). The upload time is the "
         "PEP 700 `upload-time` the index reports; when it is unknown, `unknown_age` (deny, warn or off) decides.",
    default_action="deny",
    options={
        "min_release_age": Option(str, "", "minimum time since upload, e.g. '3d'; empty disables the rule"),
        "unknown_age": Option(str, "warn", "what to do when the upload time is unknown: deny, warn or off"),
        "lookup": Option(bool, True, "ask the index JSON API (PEP 691) for the upload time when the check may use the network"),
    },
    example="release-age: newpkg==1.0 was uploaded 2h ago (2026-11-21T22:00:00Z); the policy requires 3d",
    subjects=("package",),
)


def lookup_upload_time(index: str, name: str, version: str, timeout: float = 5.0) -> Optional[str]:
    """Earliest PEP 700 ``upload-time`` of ``name==version``'s files on ``index`` (PEP 691 JSON), or ``None``."""
    try:
        data = simple_json(index, name, timeout=timeout)
    except (NotFound, OSError, ValueError):
        return None
    times = [t for v, t in file_versions(data, name) if v == version and t is not None]
    return min(times).isoformat() if times else None


@hookimpl
def guard_check_package(package, policy, context):
    """Flag a resolved version uploaded less than ``min_release_age`` ago (or of unknown age)."""
    settings = policy.rule("release-age")
    wanted = settings.get("min_release_age") or ""
    if not wanted or settings.action == "off" or package.constraint:
        return None
    try:
        min_age = parse_duration(wanted)
    except ValueError as exc:
        return [Finding(rule="release-age", subject=package.subject, action="deny", message=f"policy error: {exc}",
                        suggestion="fix [rules.release-age] min_release_age in the policy")]
    if not package.name or not package.version or package.url or min_age <= 0:
        return None  # unresolved, or a direct URL / local path: no index upload to date
    raw = package.extra.get("upload_time")
    if raw is None and not context.options.offline and settings.get("lookup", True):
        key = ("release-age", package.name, package.version, index_for(package))
        if key not in context.cache:
            context.cache[key] = lookup_upload_time(key[3], package.name, package.version)
        raw = context.cache[key]
    uploaded = parse_time(raw)
    if uploaded is None:
        unknown = settings.get("unknown_age", "warn")
        if unknown == "off":
            return None
        if unknown not in ("deny", "warn"):  # a typo must not silently switch the check off
            return [Finding(rule="release-age", subject=package.subject, action="deny",
                            message=f"policy error: unknown_age must be deny, warn or off, got {unknown!r}",
                            suggestion="fix [rules.release-age] unknown_age in the policy")]
        return [Finding(rule="release-age", subject=package.subject, action=unknown, location=package.location,
                        message=f"upload time of {package.subject} is unknown: cannot confirm it is older than {wanted}",
                        suggestion="use an index that reports PEP 700 upload-time, or allow network look-ups")]
    now = context.cache.get("now") or _dt.datetime.now(_dt.timezone.utc)
    age = (now - uploaded).total_seconds()
    if age >= min_age:
        return None
    ready = uploaded + _dt.timedelta(seconds=min_age)
    return [Finding(rule="release-age", subject=package.subject, location=package.location,
                    message=f"{package.subject} was uploaded {human_age(age)} ago ({uploaded.isoformat()}); "
                            f"the policy requires {wanted}",
                    suggestion=f"pin an older version, or wait until {ready.strftime('%Y-%m-%d %H:%M UTC')}",
                    details={"upload_time": uploaded.isoformat(), "min_release_age": wanted})]


@hookimpl
def guard_rules():
    """Describe the rule."""
    return [RULE]
