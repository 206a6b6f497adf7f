"""``--format cyclonedx``: a CycloneDX 1.6 JSON BOM of everything ``guard check`` judged.

Python packages are ``library`` components with purls (``pkg:pypi/name@version``) and hashes;
Hugging Face models are ``machine-learning-model`` components with a ``modelCard``, their
revision as version (``pkg:huggingface/org/name@sha``) and their files as nested ``file``
components with hashes; datasets are ``data`` components; a LoRA adapter (a model whose
``ModelRef.extra["base_model"]`` names its base) depends on its base model. Every component
carries its guard verdict as ``guard:*`` properties; vulnerability findings also appear in
``vulnerabilities[]``. cyclonedx-python-lib cannot write ``modelCard`` yet, so the JSON is
built here and the tests validate it against the 1.6 schema that library ships.

``ModelRef.extra`` keys read: ``sha`` (resolved commit), ``requested_revision`` (guard.lock),
``base_model`` (repo id or list, ``org/name[@rev]``; the ``adapter`` rule's findings name base
models too, in ``details["base_model"]``), ``pipeline_tag``/``task``, ``library_name``,
``datasets`` (repo ids), ``sha256`` (guard.lock: ``{path: sha256}``), ``files`` (``{path:
sha256}`` or a list of ``{"path"|"rfilename", "sha256"}``).
``FileRef.extra``: ``sha256`` (or ``digest``). Documented in docs/output.md.
"""

from __future__ import annotations

import datetime as _dt
import json
import uuid
from typing import Any, Iterable, Optional
from urllib.parse import quote

from ..model import Decision, FileRef, Finding, IndexRef, ModelRef, PackageRef
from .facts import findings_for, split_hash, subject_revision, subject_version, unmatched_findings, verdict_of
from .interface import Format

SPEC_VERSION = "1.6"
_ALG = {"md5": "MD5", "sha1": "SHA-1", "sha256": "SHA-256", "sha384": "SHA-384", "sha512": "SHA-512",
        "sha3_256": "SHA3-256", "sha3-256": "SHA3-256", "sha3_384": "SHA3-384", "sha3_512": "SHA3-512",
        "blake2b_256": "BLAKE2b-256", "blake2b_512": "BLAKE2b-512"}
#: hex digits of each algorithm's digest: a hash of another length (a typo'd ``#sha256=`` fragment)
#: is not a hash of that algorithm, and CycloneDX's schema rejects it
_HEX_LEN = {"MD5": 32, "SHA-1": 40, "SHA-256": 64, "SHA-384": 96, "SHA-512": 128, "SHA3-256": 64, "SHA3-384": 96,
            "SHA3-512": 128, "BLAKE2b-256": 64, "BLAKE2b-512": 128}
_SEVERITIES = ("critical", "high", "medium", "low", "info", "none", "unknown")


def _q(text: str) -> str:
    """Percent-encode one purl segment."""
    return quote(text, safe=".-_~")


def pypi_purl(name: str, version: Optional[str]) -> str:
    """``pkg:pypi/<lowercased name, _ as ->@<version>`` (the purl spec's PyPI rules)."""
    purl = "pkg:pypi/" + _q(name.lower().replace("_", "-"))
    return purl + (f"@{_q(version)}" if version else "")


def hf_purl(repo_id: str, revision: Optional[str]) -> str:
    """``pkg:huggingface/<org>/<name>@<revision>`` (the purl spec's Hugging Face type)."""
    parts = [_q(p) for p in repo_id.split("/", 1)]
    purl = "pkg:huggingface/" + "/".join(parts)
    return purl + (f"@{_q(revision.lower())}" if revision else "")


def cdx_hash(text: str) -> Optional[dict]:
    """``"sha256:ab.."`` -> ``{"alg": "SHA-256", "content": "ab.."}``; ``None`` for an unknown algorithm or a malformed digest."""
    algo, hexdigest = split_hash(text)
    alg = _ALG.get(algo.replace("-", "_")) or _ALG.get(algo)
    if not alg or not hexdigest or any(c not in "0123456789abcdef" for c in hexdigest):
        return None
    if len(hexdigest) != _HEX_LEN.get(alg, len(hexdigest)):
        return None
    return {"alg": alg, "content": hexdigest}


def _prop(name: str, value: Any) -> dict:
    """A CycloneDX property ``{name, value}`` (values are strings)."""
    return {"name": name, "value": str(value)}


def _finding_text(f: Finding) -> str:
    """A finding as one property value: ``rule: action: message``."""
    return f"{f.rule}: {f.action}: {f.message}"


def guard_properties(findings: Iterable[Finding], waived: Iterable[Finding], location=None) -> list[dict]:
    """``guard:decision`` plus one ``guard:finding`` / ``guard:waived`` per finding, ``guard:location``."""
    findings, waived = list(findings), list(waived)
    props = [_prop("guard:decision", verdict_of(findings))]
    props += [_prop("guard:finding", _finding_text(f)) for f in findings]
    props += [_prop("guard:waived", f"{f.rule}: {f.message} (waiver {f.waived_by})") for f in waived]
    if location is not None:
        props.append(_prop("guard:location", str(location)))
    return props


def _model_files(model: ModelRef, file_refs: list[FileRef]) -> list[dict]:
    """Nested ``file`` components: the model's ``extra['files']`` and any checked files of that repo."""
    seen: dict[str, dict] = {}
    files = model.extra.get("files")
    entries: list[tuple[str, Optional[str]]] = []
    locked = model.extra.get("sha256")  # guard.lock entries: {path: sha256}
    if isinstance(locked, dict):
        entries += [(str(k), v if isinstance(v, str) else None) for k, v in locked.items()]
    if isinstance(files, dict):
        entries = [(str(k), v if isinstance(v, str) else None) for k, v in files.items()]
    elif isinstance(files, (list, tuple)):
        for item in files:
            if isinstance(item, str):
                entries.append((item, None))
            elif isinstance(item, dict):
                path = item.get("path") or item.get("rfilename")
                lfs = item.get("lfs") if isinstance(item.get("lfs"), dict) else {}
                sha = item.get("sha256") or lfs.get("sha256")
                if path:
                    entries.append((str(path), sha))
    entries += [(p, None) for p in model.files]
    for f in file_refs:
        entries.append((f.path, f.extra.get("sha256") or f.extra.get("digest")))
    for path, sha in entries:
        comp = seen.setdefault(path, {"type": "file", "name": path})
        h = cdx_hash(sha) if isinstance(sha, str) and sha else None
        if h and "hashes" not in comp:
            comp["hashes"] = [h]
    return list(seen.values())


def _hub_id(text: str) -> str:
    """``hf:org/name@rev`` (a finding's subject form) -> ``org/name@rev``; other text unchanged."""
    text = text.strip()
    if text.startswith("hf:"):
        text = text[3:]
        if text.startswith("models/"):
            text = text[len("models/"):]
    return text


def _base_models(model: ModelRef, findings: Iterable[Finding] = ()) -> list[str]:
    """Base models of an adapter: ``extra["base_model"]`` (id or list), and those the ``adapter`` rule named."""
    base = model.extra.get("base_model")
    out: list[str] = []
    if isinstance(base, str) and base.strip():
        out.append(_hub_id(base))
    elif isinstance(base, (list, tuple)):
        out += [_hub_id(str(b)) for b in base if str(b).strip()]
    for f in findings:
        named = f.details.get("base_model") if f.rule == "adapter" and f.details else None
        if isinstance(named, str) and named.strip() and "/" in named:
            out.append(_hub_id(named))
    return list(dict.fromkeys(out))


class CycloneDxFormat(Format):
    """A CycloneDX 1.6 JSON BOM."""

    def __init__(self, *, now: Optional[_dt.datetime] = None, serial: Optional[str] = None, **kwargs):
        """``now`` and ``serial`` fix the timestamp and serial number (reproducible BOMs in tests)."""
        super().__init__(**kwargs)
        self.now, self.serial = now, serial

    def document(self, decision: Decision) -> dict:
        """The BOM as a dict."""
        from .. import __version__

        components: list[dict] = []
        dependencies: dict[str, list[str]] = {}
        vulnerabilities: list[dict] = []
        refs: set[str] = set()
        model_refs: dict[str, str] = {}  # repo id (lower) -> bom-ref

        def unique(ref: str) -> str:
            out, n = ref, 1
            while out in refs:
                n += 1
                out = f"{ref}#{n}"
            refs.add(out)
            return out

        files_by_repo: dict[str, list[FileRef]] = {}
        for s in decision.checked:
            if isinstance(s, FileRef) and s.model is not None:
                files_by_repo.setdefault(s.model.repo_id.lower(), []).append(s)

        indexes: list[IndexRef] = []
        judged: list[tuple[dict, Any]] = []
        for s in decision.checked:
            counted, waived = findings_for(s, decision.findings), findings_for(s, decision.waived)
            props = guard_properties(counted, waived, s.location)
            if isinstance(s, IndexRef):
                indexes.append(s)
                continue
            if isinstance(s, PackageRef):
                version = subject_version(s)
                name = s.name or s.url or "unnamed"
                comp: dict[str, Any] = {"type": "library", "name": name}
                if version:
                    comp["version"] = version
                elif s.specifier:
                    props.append(_prop("guard:specifier", s.specifier))
                if s.name:
                    comp["purl"] = pypi_purl(s.name, version)
                hashes = [h for h in (cdx_hash(x) for x in s.hashes) if h]
                if hashes:
                    comp["hashes"] = hashes
                if s.url:
                    props.append(_prop("guard:url", s.url))
                comp["bom-ref"] = unique(comp.get("purl") or f"pypi:{name}")
            elif isinstance(s, ModelRef):
                rev = subject_revision(s)
                if s.repo_type == "dataset":
                    comp = {"type": "data", "name": s.repo_id, "data": [{"type": "dataset", "name": s.repo_id}]}
                    if rev:
                        comp["version"] = rev
                    comp["bom-ref"] = unique(f"hf:datasets/{s.repo_id}@{rev or ''}".rstrip("@"))
                else:
                    comp = {"type": "machine-learning-model" if s.repo_type == "model" else "application",
                            "name": s.repo_id}
                    if s.org:
                        comp["group"] = s.org
                    if rev:
                        comp["version"] = rev
                    if s.repo_type == "model" and not s.extra.get("local_only"):
                        comp["purl"] = hf_purl(s.repo_id, rev)
                    elif s.extra.get("local_only"):  # a folder on disk, not a Hub package: no purl
                        comp["name"] = s.subject
                    comp["bom-ref"] = unique(comp.get("purl") or (f"dir:{s.subject}" if s.extra.get("local_only")
                                                                  else f"hf:{s.repo_type}s/{s.repo_id}"))
                    if s.repo_type == "model":
                        comp["modelCard"] = self._model_card(s, comp["bom-ref"])
                    files = _model_files(s, files_by_repo.get(s.repo_id.lower(), []))
                    if files:
                        for f in files:
                            f["bom-ref"] = unique(f"{comp['bom-ref']}/{f['name']}")
                        comp["components"] = files
                    model_refs.setdefault(s.repo_id.lower(), comp["bom-ref"])
                requested = s.extra.get("requested_revision") or (s.revision if s.revision != rev else None)
                if requested and requested != rev:
                    props.append(_prop("guard:requested-revision", str(requested)))
                if s.endpoint:
                    props.append(_prop("guard:endpoint", s.endpoint))
            else:  # FileRef
                comp = {"type": "file", "name": s.subject}
                sha = s.extra.get("sha256") or s.extra.get("digest")
                h = cdx_hash(sha) if isinstance(sha, str) and sha else None
                if h:
                    comp["hashes"] = [h]
                if s.model is not None:
                    props.append(_prop("guard:model", s.model.subject))
                comp["bom-ref"] = unique(f"file:{s.subject}")
            comp["properties"] = [_prop("guard:subject", s.subject), *props]
            components.append(comp)
            judged.append((comp, s, counted + waived))
            self._vulnerabilities(counted + waived, comp["bom-ref"], vulnerabilities)

        # LoRA adapters depend on their base model; add the base when it was not itself checked
        for comp, s, found in judged:
            if not isinstance(s, ModelRef):
                continue
            for base in _base_models(s, found):
                repo, _, rev = base.partition("@")
                ref = model_refs.get(repo.lower())
                if ref is None:
                    ref = unique(hf_purl(repo, rev or None))
                    base_comp = {"type": "machine-learning-model", "name": repo, "bom-ref": ref, "purl": hf_purl(repo, rev or None),
                                 "modelCard": {"bom-ref": unique(f"{ref}#model-card")},
                                 "properties": [_prop("guard:decision", "not-checked"),
                                                _prop("guard:role", "base-model")]}
                    if rev:
                        base_comp["version"] = rev
                    if "/" in repo:
                        base_comp["group"] = repo.split("/", 1)[0]
                    components.append(base_comp)
                    model_refs[repo.lower()] = ref
                dependencies.setdefault(comp["bom-ref"], []).append(ref)
                comp["properties"].append(_prop("guard:base-model", base))

        meta_props = [_prop("guard:decision", decision.decision), _prop("guard:mode", decision.mode)]
        if decision.policy_digest:
            meta_props.append(_prop("guard:policy-digest", decision.policy_digest))
        if self.policy is not None:
            meta_props.append(_prop("guard:policy", self.policy.name))
        meta_props += [_prop("guard:target", t) for t in self.targets]
        for ix in indexes:
            meta_props.append(_prop("guard:index", f"{ix.kind} {ix.url}"))
        index_findings = [f for ix in indexes for f in findings_for(ix, decision.findings)]
        meta_props += [_prop("guard:finding", _finding_text(f)) for f in (*index_findings, *unmatched_findings(decision)) if not f.waived_by]

        now = self.now or _dt.datetime.now(_dt.timezone.utc)
        bom: dict[str, Any] = {
            "$schema": "http://cyclonedx.org/schema/bom-1.6.schema.json",
            "bomFormat": "CycloneDX",
            "specVersion": SPEC_VERSION,
            "serialNumber": self.serial or f"urn:uuid:{uuid.uuid4()}",
            "version": 1,
            "metadata": {
                "timestamp": now.astimezone(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "tools": {"components": [{"type": "application", "name": "guardpolicy", "version": __version__}]},
                "properties": meta_props,
            },
            "components": components,
        }
        all_refs = [c["bom-ref"] for c in components]
        bom["dependencies"] = [{"ref": r, **({"dependsOn": dependencies[r]} if r in dependencies else {})} for r in all_refs]
        if vulnerabilities:
            bom["vulnerabilities"] = vulnerabilities
        return bom

    @staticmethod
    def _model_card(model: ModelRef, ref: str) -> dict:
        """A ``modelCard`` from what the reference knows (task, library, datasets, revision)."""
        params: dict[str, Any] = {}
        task = model.extra.get("pipeline_tag") or model.extra.get("task")
        if isinstance(task, str) and task:
            params["task"] = task
        library = model.extra.get("library_name")
        if isinstance(library, str) and library:
            params["architectureFamily"] = library
        datasets = model.extra.get("datasets")
        if isinstance(datasets, (list, tuple)) and datasets:
            params["datasets"] = [{"type": "dataset", "name": str(d)} for d in datasets]
        card: dict[str, Any] = {"bom-ref": f"{ref}#model-card"}
        if params:
            card["modelParameters"] = params
        props = [_prop("guard:repo", model.repo_id)]
        rev = subject_revision(model)
        if rev:
            props.append(_prop("guard:revision", rev))
        if _base_models(model):
            props.append(_prop("guard:adapter-of", ", ".join(_base_models(model))))
        card["properties"] = props
        return card

    @staticmethod
    def _vulnerabilities(findings: Iterable[Finding], ref: str, out: list[dict]) -> None:
        """``vulnerabilities[]`` entries for ``vulnerability`` findings that carry an advisory id."""
        for f in findings:
            if f.rule != "vulnerability" or not f.details or not f.details.get("id"):
                continue
            d = f.details
            vuln: dict[str, Any] = {"bom-ref": f"{ref}#{d['id']}", "id": str(d["id"])}
            if d.get("source"):
                vuln["source"] = {"name": str(d["source"])}
            severity = str(d.get("severity") or "unknown").lower()
            rating: dict[str, Any] = {"severity": severity if severity in _SEVERITIES else "unknown"}
            if isinstance(d.get("score"), (int, float)):
                rating["score"] = float(d["score"])
            if d.get("vector"):
                rating["vector"] = str(d["vector"])
                rating["method"] = "CVSSv4" if str(d["vector"]).startswith("CVSS:4") else \
                    "CVSSv31" if str(d["vector"]).startswith("CVSS:3.1") else "CVSSv3" if str(d["vector"]).startswith("CVSS:3") else "other"
            vuln["ratings"] = [rating]
            aliases = [a for a in d.get("aliases") or () if a != d["id"]]
            if aliases:
                vuln["references"] = [{"id": str(a), "source": {"name": "alias"}} for a in aliases]
            if d.get("summary"):
                vuln["description"] = str(d["summary"])
            if f.suggestion:
                vuln["recommendation"] = f.suggestion
            vuln["affects"] = [{"ref": ref}]
            vuln["properties"] = [_prop("guard:action", f.action)] + ([_prop("guard:waived-by", f.waived_by)] if f.waived_by else [])
            out.append(vuln)

    def format(self, decision: Decision) -> str:
        """Return indented CycloneDX JSON."""
        return json.dumps(self.document(decision), indent=2, ensure_ascii=False) + "\n"
