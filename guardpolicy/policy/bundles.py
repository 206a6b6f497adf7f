"""Remote policy bundles: ``extends = ["https://policies.acme.example/python.toml"]``.

An organization publishes one policy file (the *bundle*) on any static HTTPS host; every
laptop and CI runner extends it. This module fetches it, proves it is the right one, and
keeps a last-known-good copy so work continues offline for a while:

- **Transport**: ``requests``; ``https://`` only (plain ``http://`` is accepted for loopback
  hosts, for tests). Revalidation sends ``If-None-Match`` with the stored ``ETag``; a ``304``
  costs one round trip and no parsing. A cached copy younger than the bundle's
  ``[bundle] refresh`` (default 1h) is used without any request.
- **Cache**: ``GUARD_CACHE_DIR`` or the user cache dir (platformdirs), one folder per URL
  holding ``bundle-<sha256>.toml``, its detached signature, and ``meta.json`` (ETag,
  revision, sha256, when the server last vouched for it). ``meta.json`` is replaced
  atomically last, so a reader never sees a half-written bundle.
- **Integrity**: ``URL#sha256=<hex>`` pins the exact bytes. When trusted keys are configured
  (``[bundle] trusted_keys`` in the layer that names the URL, ``<user config>/trusted_keys``,
  ``<system config>/trusted_keys``), the bundle must carry a detached Ed25519 signature at
  ``URL.sig`` (base64 or raw 64 bytes, over the exact file bytes) made by one of them.
- **Freshness**: the bundle's ``revision`` must never go down (rollback) nor repeat with
  different content, and its ``expires`` date must not have passed (freeze). Offline, the
  cached bundle applies until ``max_age`` (set by the bundle, default 7d) after the server
  last confirmed it; after that the policy fails closed.

A new bundle that fails any check is rejected *loudly* (a ``guard: WARNING`` line on stderr)
and the last good copy stays in force; with no good copy the load fails with a
``PolicyError``, so gated operations fail closed.
"""

from __future__ import annotations

import base64
import binascii
import datetime as _dt
import hashlib
import json
import os
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping, Optional, Tuple
from urllib.parse import urlsplit

import tomllib

from ..durations import human_age, parse_duration
from ..errors import PolicyError

#: a policy is a few KiB; anything far larger is an attack or a mistake, not a policy
MAX_BUNDLE_BYTES = 4 * 1024 * 1024
DEFAULT_REFRESH = "1h"
DEFAULT_MAX_AGE = "7d"
_PIN = re.compile(r"^sha256=([0-9a-fA-F]{64})$")
_LOOPBACK = {"127.0.0.1", "localhost", "::1"}


# ---------------------------------------------------------------- references


@dataclass(frozen=True)
class BundleRef:
    """A parsed bundle reference: the URL to fetch and an optional sha256 pin (lower-case hex)."""

    url: str
    sha256: Optional[str] = None

    @property
    def sig_url(self) -> str:
        """Where the detached signature lives: beside the bundle, ``.sig`` appended."""
        return self.url + ".sig"


def parse_ref(ref: str) -> BundleRef:
    """Split ``URL#sha256=HEX``; refuse non-https URLs except on loopback hosts."""
    url, _, fragment = ref.partition("#")
    pin = None
    if fragment:
        m = _PIN.match(fragment)
        if not m:
            raise PolicyError(f"bundle reference {ref!r}: the only fragment understood is #sha256=<64 hex digits>")
        pin = m.group(1).lower()
    parts = urlsplit(url)
    if parts.scheme == "http" and (parts.hostname or "") not in _LOOPBACK:
        raise PolicyError(f"bundle {url}: plain http is refused (anyone on the path could rewrite the policy); use https")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise PolicyError(f"bundle reference {ref!r} is not an https URL")
    return BundleRef(url=url, sha256=pin)


# ---------------------------------------------------------------- trusted keys


def parse_public_key(text: str) -> bytes:
    """The 32 raw bytes of an ``ed25519:<base64>`` public key (``ValueError`` when malformed)."""
    text = text.strip()
    if not text.startswith("ed25519:"):
        raise ValueError("expected 'ed25519:<base64 of the 32-byte public key>'")
    try:
        raw = base64.b64decode(text[len("ed25519:"):], validate=True)
    except binascii.Error:
        raise ValueError("bad base64 in key") from None
    if len(raw) != 32:
        raise ValueError("an Ed25519 public key is 32 bytes")
    return raw


def format_public_key(raw: bytes) -> str:
    """``ed25519:<base64>``: how keys are written in policies and key files."""
    return "ed25519:" + base64.b64encode(raw).decode()


def system_config_dir(env: Mapping[str, str]) -> Path:
    """``GUARD_SYSTEM_CONFIG_DIR`` or ``/etc/guard`` (administrators' machine-wide config)."""
    return Path(env.get("GUARD_SYSTEM_CONFIG_DIR") or "/etc/guard")


def key_files(env: Mapping[str, str]) -> list[Path]:
    """The trusted-key files consulted, system first: every floor folder (``policy.trust.floor_dirs``).

    ``/etc/guard`` and the real home's config folder are always among them: an environment
    variable can add a key folder, never remove the administrator's keys.
    """
    from .trust import floor_dirs

    return [folder / "trusted_keys" for folder, _label in floor_dirs(env)]


def read_key_file(path: Path) -> list[bytes]:
    """Keys in a ``trusted_keys`` file: one ``ed25519:<base64>`` per line, ``#`` comments."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    except (OSError, UnicodeDecodeError) as exc:
        raise PolicyError(f"cannot read trusted keys: {exc}", file=str(path)) from None
    keys = []
    for no, line in enumerate(text.splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        try:
            keys.append(parse_public_key(line))
        except ValueError as exc:
            raise PolicyError(str(exc), file=str(path), line=no) from None
    return keys


def trusted_keys(extra: Iterable[str] = (), env: Optional[Mapping[str, str]] = None) -> Tuple[bytes, ...]:
    """Every trusted public key: ``extra`` (from the referring layer) plus the key files."""
    env = os.environ if env is None else env
    keys = [parse_public_key(k) for k in extra]
    for path in key_files(env):
        keys.extend(read_key_file(path))
    return tuple(dict.fromkeys(keys))


def verify_signature(data: bytes, signature: bytes, keys: Iterable[bytes]) -> Optional[str]:
    """The ``ed25519:...`` id of the key that signed ``data``, or ``None`` when none did."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    sig = decode_signature(signature)
    if sig is None:
        return None
    for raw in keys:
        try:
            Ed25519PublicKey.from_public_bytes(raw).verify(sig, data)
            return format_public_key(raw)
        except InvalidSignature:
            continue
    return None


def decode_signature(blob: bytes) -> Optional[bytes]:
    """A 64-byte Ed25519 signature from raw bytes or base64 text, else ``None``."""
    if len(blob) == 64:
        return blob
    try:
        sig = base64.b64decode(blob.strip(), validate=True)
    except (binascii.Error, ValueError):
        return None
    return sig if len(sig) == 64 else None


# ---------------------------------------------------------------- cache


def cache_root(env: Optional[Mapping[str, str]] = None) -> Path:
    """``$GUARD_CACHE_DIR/bundles`` or the platform user cache dir's ``bundles``."""
    env = os.environ if env is None else env
    if env.get("GUARD_CACHE_DIR"):
        return Path(env["GUARD_CACHE_DIR"]) / "bundles"
    from ..dirs import user_cache_dir

    return Path(user_cache_dir("guard")) / "bundles"


#: meta.json fields and the types a cached copy's metadata must have (anything else: not cached)
_META_TYPES = {"revision": (int,), "confirmed_at": (int, float), "attempted_at": (int, float), "max_age": (int, float),
               "refresh": (int, float), "sha256": (str,), "etag": (str, type(None)), "expires": (str, type(None))}


def _bad_meta(meta: Mapping[str, Any]) -> Optional[str]:
    """Why cached bundle metadata cannot be trusted to mean what it says (``None`` when it can)."""
    for key, types in _META_TYPES.items():
        if key in meta and (not isinstance(meta[key], types) or isinstance(meta[key], bool)):
            return f"has {key} = {meta[key]!r} ({type(meta[key]).__name__})"
    if meta.get("expires"):
        try:
            _dt.date.fromisoformat(meta["expires"])
        except ValueError:
            return f"has expires = {meta['expires']!r} (not a date)"
    return None


class BundleCache:
    """The last-known-good copy of one bundle URL (``meta.json`` + content-addressed files)."""

    def __init__(self, root: Path, url: str):
        """The cache folder of bundle ``url`` under ``root`` (named by a hash of the URL)."""
        self.dir = root / hashlib.sha256(url.encode()).hexdigest()[:24]
        self.url = url

    def meta(self) -> Optional[dict]:
        """The stored metadata, or ``None`` when nothing (readable) is cached."""
        try:
            meta = json.loads((self.dir / "meta.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if not isinstance(meta, dict) or meta.get("url") != self.url or not isinstance(meta.get("file"), str) \
                or "/" in meta["file"] or not (self.dir / meta["file"]).is_file():
            return None
        why = _bad_meta(meta)
        if why is not None:
            warn(f"policy bundle {self.url}: ignoring the cached copy: its meta.json {why}")
            return None
        return meta

    def drop(self) -> None:
        """Remove this bundle's cached copies and metadata."""
        import shutil

        shutil.rmtree(self.dir, ignore_errors=True)

    def content(self, meta: Mapping[str, Any]) -> Tuple[bytes, Optional[bytes]]:
        """The cached bundle bytes and signature bytes (``None`` when unsigned)."""
        data = (self.dir / meta["file"]).read_bytes()
        sig_path = self.dir / (meta["file"] + ".sig")
        return data, (sig_path.read_bytes() if sig_path.is_file() else None)

    def path(self, meta: Mapping[str, Any]) -> Path:
        """Where the cached bundle file is."""
        return self.dir / meta["file"]

    def store(self, data: bytes, signature: Optional[bytes], meta: dict) -> dict:
        """Write a verified bundle, then point ``meta.json`` at it; drop older copies."""
        self.dir.mkdir(parents=True, exist_ok=True)
        name = f"bundle-{meta['sha256'][:16]}.toml"
        _atomic_write(self.dir / name, data)
        if signature is not None:
            _atomic_write(self.dir / (name + ".sig"), signature)
        else:
            (self.dir / (name + ".sig")).unlink(missing_ok=True)
        meta = dict(meta, file=name, url=self.url)
        _atomic_write(self.dir / "meta.json", json.dumps(meta, indent=1, sort_keys=True).encode())
        for old in self.dir.glob("bundle-*.toml*"):
            if not old.name.startswith(name):
                old.unlink(missing_ok=True)
        return meta

    def touch(self, meta: dict, **changes: Any) -> dict:
        """Update ``meta.json`` only (after a ``304``)."""
        meta = dict(meta, **changes)
        _atomic_write(self.dir / "meta.json", json.dumps(meta, indent=1, sort_keys=True).encode())
        return meta


def _atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to a temporary sibling, then rename: readers see the old file or the new one, never half."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


# ---------------------------------------------------------------- checks


@dataclass(frozen=True)
class BundleInfo:
    """What a bundle says about itself: ``revision``, ``expires``, ``max_age``, ``[bundle] refresh``."""

    revision: int
    expires: Optional[_dt.date]
    max_age: int
    refresh: int


class Rejected(Exception):
    """A fetched bundle failed a check; ``str()`` says which."""


def bundle_info(data: bytes, url: str) -> BundleInfo:
    """Parse a bundle's self-description; ``Rejected`` when it is not valid TOML or malformed."""
    try:
        doc = tomllib.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise Rejected(f"not a valid TOML policy ({exc})") from None
    revision = doc.get("revision", 0)
    if not isinstance(revision, int) or isinstance(revision, bool):
        raise Rejected("revision must be an integer")
    expires = doc.get("expires")
    if isinstance(expires, str):
        try:
            expires = _dt.date.fromisoformat(expires)
        except ValueError:
            raise Rejected(f"expires is not a date: {expires!r}") from None
    if isinstance(expires, _dt.datetime):
        expires = expires.date()
    if expires is not None and not isinstance(expires, _dt.date):
        raise Rejected("expires must be a date")
    bundle = doc.get("bundle", {}) if isinstance(doc.get("bundle", {}), dict) else {}
    try:
        max_age = parse_duration(doc.get("max_age", DEFAULT_MAX_AGE))
        refresh = parse_duration(bundle.get("refresh", DEFAULT_REFRESH))
    except ValueError as exc:
        raise Rejected(str(exc)) from None
    return BundleInfo(revision, expires, int(max_age), int(refresh))


def check_candidate(ref: BundleRef, data: bytes, signature: Optional[bytes], keys: Tuple[bytes, ...],
                    cached: Optional[Mapping[str, Any]], today: _dt.date) -> Tuple[BundleInfo, Optional[str]]:
    """Every check a newly fetched bundle must pass; returns (info, signing key id) or raises ``Rejected``."""
    digest = hashlib.sha256(data).hexdigest()
    if ref.sha256 and digest != ref.sha256:
        raise Rejected(f"sha256 {digest} does not match the pinned {ref.sha256}")
    signer = None
    if keys:
        if signature is None:
            raise Rejected(f"no signature at {ref.sig_url}, and trusted keys are configured")
        signer = verify_signature(data, signature, keys)
        if signer is None:
            raise Rejected("bad signature: not made by any trusted key over these bytes")
    info = bundle_info(data, ref.url)
    if cached:
        old = cached.get("revision", 0)
        if info.revision < old:
            raise Rejected(f"rollback: revision {info.revision} is older than the cached revision {old}")
        if info.revision == old and digest != cached.get("sha256"):
            raise Rejected(f"revision {old} changed content without a new revision number")
    if info.expires is not None and info.expires < today:
        raise Rejected(f"expired on {info.expires} (a frozen bundle is refused)")
    return info, signer


def usable_cached(ref: BundleRef, cache: BundleCache, meta: Mapping[str, Any], keys: Tuple[bytes, ...],
                  now: float, today: _dt.date, check_age: bool = True) -> Optional[str]:
    """Why the cached copy may *not* be used (``None`` when it may)."""
    try:
        data, sig = cache.content(meta)
    except OSError as exc:
        return f"cached copy unreadable ({exc})"
    digest = hashlib.sha256(data).hexdigest()
    if digest != meta.get("sha256"):
        return "cached copy was modified on disk"
    if ref.sha256 and digest != ref.sha256:
        return f"cached copy (sha256 {digest}) does not match the pinned {ref.sha256}"
    if keys and (sig is None or verify_signature(data, sig, keys) is None):
        return "cached copy is not signed by a trusted key"
    expires = meta.get("expires")
    if expires and _dt.date.fromisoformat(expires) < today:
        return f"revision {meta.get('revision', 0)} expired on {expires}"
    if check_age:
        age = now - float(meta.get("confirmed_at", 0))
        if age > meta.get("max_age", 0):
            return (f"the server last confirmed it {human_age(age, weeks=False)} ago, beyond the bundle's max_age of "
                    f"{human_age(meta.get('max_age', 0), weeks=False)}")
    return None


def warn(message: str) -> None:
    """Say it loudly: one ``guard: WARNING`` line on stderr (never swallowed, never fatal)."""
    print(f"guard: WARNING: {message}", file=sys.stderr)


# ---------------------------------------------------------------- fetching


class _Response:
    """What guard keeps of an HTTP answer: status, ETag, body (bounded), final URL."""

    def __init__(self, status_code: int, etag: Optional[str], content: bytes, url: str):
        """The parts of an HTTP response the bundle fetcher reads."""
        self.status_code, self.etag, self.content, self.url = status_code, etag, content, url


#: the most one bundle (or signature) download may take, whatever the server does (a server that
#: trickles one byte every few seconds never trips a per-read timeout); GUARD_BUNDLE_DEADLINE overrides
FETCH_DEADLINE = 60.0


def _get(url: str, headers: Mapping[str, str], env: Mapping[str, str]) -> _Response:
    """``_get_once`` under a total deadline: abandoned (a ``requests.Timeout``) when it takes longer.

    The download runs in a daemon thread so a stuck connection cannot hold the command or the
    interpreter's exit.
    """
    import threading

    import requests

    try:
        deadline = float(env.get("GUARD_BUNDLE_DEADLINE") or FETCH_DEADLINE)
    except ValueError:
        deadline = FETCH_DEADLINE
    box: dict = {}

    def work() -> None:
        try:
            box["ok"] = _get_once(url, headers, env)
        except BaseException as exc:  # handed to the caller's thread
            box["err"] = exc

    worker = threading.Thread(target=work, name="guard-bundle-fetch", daemon=True)
    worker.start()
    worker.join(deadline)
    if worker.is_alive():
        raise requests.Timeout(f"gave up after {deadline:g}s (the server is too slow or stalled)")
    if "err" in box:
        raise box["err"]
    return box["ok"]


def _get_once(url: str, headers: Mapping[str, str], env: Mapping[str, str]) -> _Response:
    """GET with a bounded body; refuses a redirect to plain http off loopback.

    ``Rejected`` for an oversized body or a downgrade; ``requests`` errors pass through.
    """
    import requests

    from .. import __version__

    verify: Any = env.get("REQUESTS_CA_BUNDLE") or env.get("CURL_CA_BUNDLE") or True
    with requests.get(url, headers={"User-Agent": f"guardpolicy/{__version__}", **headers},
                      timeout=(5, 30), verify=verify, allow_redirects=True, stream=True) as resp:
        final = urlsplit(resp.url)
        if final.scheme != "https" and (final.hostname or "") not in _LOOPBACK:
            raise Rejected(f"redirected to {resp.url}: only https is accepted")
        body = bytearray()
        if resp.status_code == 200:
            for chunk in resp.iter_content(65536):
                body += chunk
                if len(body) > MAX_BUNDLE_BYTES:
                    raise Rejected(f"larger than {MAX_BUNDLE_BYTES // (1024 * 1024)} MiB: not a policy")
        return _Response(resp.status_code, resp.headers.get("ETag"), bytes(body), resp.url)


def fetch_bundle(url: str, *, trusted_keys: Iterable[str] = (), refresh: str = "auto",
                 env: Optional[Mapping[str, str]] = None, with_meta: bool = False, now: Optional[float] = None):
    """The local path of the bundle ``url`` names (``URL[#sha256=HEX]``), fetched or cached.

    :param trusted_keys: ``ed25519:...`` keys the referring layer trusts (added to the key files).
    :param refresh: ``auto`` (revalidate when older than the bundle's ``[bundle] refresh``),
        ``force`` (always revalidate: ``guard policy pull``), ``drop`` (forget the cached copy,
        then fetch: ``guard policy pull --refresh``) or ``never`` (cache only).
    :param with_meta: return ``(path, meta)``; ``meta`` has ``url``, ``revision``, ``status``...
    :raises PolicyError: no bundle may be used (nothing good cached and the fetch failed or was
        rejected, the cached one expired, or it is older than ``max_age``): fail closed.
    """
    env = os.environ if env is None else env
    ref = parse_ref(url)
    keys = _keys(trusted_keys, env)
    cache = BundleCache(cache_root(env), ref.url)
    now = time.time() if now is None else now
    today = _dt.datetime.fromtimestamp(now).date()
    if refresh == "drop":
        # `guard policy pull --refresh`: forget the last good copy (and what it pinned: revision,
        # content) and take the server's current bundle as on first use, after all checks
        cache.drop()
        refresh = "force"
    meta = cache.meta()
    if meta is not None:
        why = usable_cached(ref, cache, meta, keys, now, today, check_age=False)
        if why is not None and "expired" not in why:
            # a changed pin, local tampering, or a key now required: that copy proves nothing
            if "modified" in why:
                warn(f"policy bundle {ref.url}: ignoring the cached copy: {why}")
            meta = None

    last_try = max(float(meta.get("confirmed_at", 0)), float(meta.get("attempted_at", 0))) if meta else 0.0
    want_network = refresh == "force" or meta is None or (
        refresh == "auto" and now - last_try >= _refresh_seconds(meta, env))
    if refresh == "never":
        want_network = False

    status = "cached"
    if want_network:
        meta, status = _revalidate(ref, cache, meta, keys, now, today, env)

    if meta is None:
        raise PolicyError(f"policy bundle {ref.url} is not cached and cannot be fetched"
                          + (" (offline: cache only, e.g. GUARD_OFFLINE=1)" if refresh == "never" else ""))
    why = usable_cached(ref, cache, meta, keys, now, today)
    if why is not None:
        raise PolicyError(f"policy bundle {ref.url} cannot be used, refusing to fall back to nothing: {why}; "
                          f"run `guard policy pull` once the server is reachable")
    out = dict(meta, status=status, path=str(cache.path(meta)))
    return (cache.path(meta), out) if with_meta else cache.path(meta)


def _keys(extra: Iterable[str], env: Mapping[str, str]) -> Tuple[bytes, ...]:
    """The trusted signing keys (``trusted_keys``); a malformed key is a ``PolicyError``."""
    try:
        return trusted_keys(extra, env)
    except ValueError as exc:
        raise PolicyError(f"bad trusted key: {exc}") from None


def _refresh_seconds(meta: Mapping[str, Any], env: Mapping[str, str]) -> float:
    """How long a confirmed copy is used without asking the server (``GUARD_BUNDLE_REFRESH`` overrides)."""
    if env.get("GUARD_BUNDLE_REFRESH"):
        try:
            return parse_duration(env["GUARD_BUNDLE_REFRESH"])
        except ValueError as exc:
            raise PolicyError(f"GUARD_BUNDLE_REFRESH: {exc}") from None
    return float(meta.get("refresh", 3600))


def _revalidate(ref: BundleRef, cache: BundleCache, meta: Optional[dict], keys, now: float, today: _dt.date,
                env: Mapping[str, str]) -> Tuple[Optional[dict], str]:
    """Ask the server; return the metadata now in force and a status word."""
    import requests

    headers = {"If-None-Match": meta["etag"]} if meta and meta.get("etag") else {}
    try:
        resp = _get(ref.url, headers, env)
    except Rejected as exc:
        return _fallback(ref, meta, f"REJECTED the new bundle: {exc}", rejected=True), "rejected"
    except requests.RequestException as exc:
        meta = _fallback(ref, meta, f"cannot reach the server ({type(exc).__name__}: {exc})", quiet=True)
        # do not retry on every load while offline: once per refresh interval is enough
        return (cache.touch(meta, attempted_at=now) if meta is not None else None), "offline"
    if resp.status_code == 304 and meta is not None:
        return cache.touch(meta, confirmed_at=now), "revalidated"
    if resp.status_code != 200:
        return _fallback(ref, meta, f"the server answered HTTP {resp.status_code}"), "offline"
    data = resp.content
    signature = None
    if keys:
        try:
            sresp = _get(ref.sig_url, {}, env)
        except Rejected as exc:
            return _fallback(ref, meta, f"REJECTED the signature: {exc}", rejected=True), "rejected"
        except requests.RequestException as exc:
            return _fallback(ref, meta, f"cannot fetch the signature ({type(exc).__name__})", quiet=True), "offline"
        signature = sresp.content if sresp.status_code == 200 else None
    if meta is not None and hashlib.sha256(data).hexdigest() == meta.get("sha256"):
        # same bytes again (server without ETag support): just confirmed
        return cache.touch(meta, confirmed_at=now, etag=resp.etag or meta.get("etag")), "revalidated"
    try:
        info, signer = check_candidate(ref, data, signature, keys, meta, today)
    except Rejected as exc:
        return _fallback(ref, meta, f"REJECTED the new bundle: {exc}", rejected=True), "rejected"
    new = cache.store(data, signature, {
        "sha256": hashlib.sha256(data).hexdigest(),
        "etag": resp.etag,
        "revision": info.revision,
        "expires": info.expires.isoformat() if info.expires else None,
        "max_age": info.max_age,
        "refresh": info.refresh,
        "signed_by": signer,
        "fetched_at": now,
        "confirmed_at": now,
    })
    return new, "updated"


def _fallback(ref: BundleRef, meta: Optional[dict], reason: str, quiet: bool = False,
              rejected: bool = False) -> Optional[dict]:
    """Keep the last good copy after a failed or rejected fetch; say so (loudly when rejected)."""
    if meta is None:
        raise PolicyError(f"policy bundle {ref.url}: {reason}; no last-known-good copy is cached")
    kept = f"keeping the last good revision {meta.get('revision', 0)}"
    if rejected or not quiet:
        warn(f"policy bundle {ref.url}: {reason}; {kept}")
    return meta
