"""The adapter over pip-audit's vulnerability services (``pip_audit._service``, a private API).

pip-audit is pinned to one minor release in pyproject.toml and every private name used is
imported here and nowhere else, so an upgrade touches one file (contract tests cover it).
Only ``ResolvedDependency(name, version)`` is queried: nothing is resolved, downloaded,
installed or built. pip-audit's results carry no severity, so for each advisory the OSV
record is fetched (``GET <osv>/v1/vulns/<id>``, through pip-audit's own cached session) and
scored like the offline database's records.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

from .interface import Advisory, VulnerabilitySource, VulnerabilitySourceError
from .osv import advisory_from_record

DEFAULT_OSV_QUERY_URL = "https://api.osv.dev/v1/query"


def vulns_url(osv_query_url: str, vuln_id: str) -> str:
    """``https://api.osv.dev/v1/query`` -> ``https://api.osv.dev/v1/vulns/<id>``."""
    base = osv_query_url.rstrip("/")
    if base.endswith("/query"):
        base = base[: -len("/query")]
    return f"{base}/vulns/{vuln_id}"


class PipAuditService(VulnerabilitySource):
    """pip-audit's ``OsvService`` (default) or ``PyPIService`` behind the ``VulnerabilitySource`` interface."""

    def __init__(self, service: str = "osv", osv_url: str = "", cache_dir: str = "", timeout: int = 15):
        from pip_audit._service import OsvService, PyPIService  # private API: pinned pip-audit

        cache = Path(cache_dir).expanduser() if cache_dir else None
        self.osv_url = osv_url or DEFAULT_OSV_QUERY_URL
        if service == "pypi":
            self.service = PyPIService(cache_dir=cache, timeout=timeout)
        else:
            self.service = OsvService(cache_dir=cache, timeout=timeout, osv_url=self.osv_url)
        self.kind, self.timeout = service, timeout
        self.name = f"pip-audit:{service}"

    def _record(self, vuln_id: str) -> Optional[dict]:
        """The full OSV record (for severity), or ``None`` when it cannot be fetched."""
        import requests

        try:
            resp = self.service.session.get(vulns_url(self.osv_url, vuln_id), timeout=self.timeout)
            if resp.status_code != 200:
                return None
            data = resp.json()
        except (requests.RequestException, ValueError):
            return None
        return data if isinstance(data, dict) else None

    def query(self, name: str, version: str) -> list[Advisory]:
        """Ask the service about exactly ``name==version``."""
        import requests
        from packaging.version import InvalidVersion, Version
        from pip_audit._service import ConnectionError as AuditConnectionError
        from pip_audit._service import ResolvedDependency, ServiceError

        try:
            dep = ResolvedDependency(name=name, version=Version(version))
        except InvalidVersion:
            return []
        try:
            _, results = self.service.query(dep)
        except (ServiceError, AuditConnectionError, requests.RequestException, OSError) as exc:
            raise VulnerabilitySourceError(f"{self.name}: {exc.__class__.__name__}: {exc or 'no answer'}") from None
        out = []
        for r in results:
            ids = [str(r.id), *sorted(str(a) for a in r.aliases)]
            # pip-audit puts PYSEC/CVE ids first; GHSA records carry the severity, so try those first
            record = None
            for vid in sorted(ids, key=lambda i: (not i.startswith("GHSA-"), ids.index(i))):
                record = self._record(vid)
                if record is not None:
                    break
            fixed = tuple(str(v) for v in sorted(r.fix_versions))
            if record is not None:
                adv = advisory_from_record(record, name, version, source=self.name)
                aliases = tuple(sorted((set(adv.aliases) | set(ids)) - {adv.id}))
                out.append(Advisory(id=adv.id, aliases=aliases, summary=adv.summary, fixed=fixed or adv.fixed,
                                    severity=adv.severity, score=adv.score, vector=adv.vector, source=self.name,
                                    published=adv.published))
            else:  # no record: pip-audit's view, severity unknown (the unknown_severity option decides)
                out.append(Advisory(id=ids[0], aliases=tuple(ids[1:]),
                                    summary=(r.description or "").strip().split("\n", 1)[0][:200], fixed=fixed,
                                    source=self.name, published=str(r.published) if r.published else None))
        return sorted(out, key=lambda a: a.id)
