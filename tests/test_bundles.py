"""Remote policy bundles against a real HTTP(S) server on 127.0.0.1, and ``locked`` layers.

The server is a real ``http.server`` in a thread (TLS via a ``trustme`` test CA); it counts
requests and honours ``If-None-Match``. Signatures are real Ed25519 (``cryptography``).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import os
import ssl
import textwrap
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from conftest import run_guard
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from guardpolicy.errors import PolicyError
from guardpolicy.policy import load_policy
from guardpolicy.policy.bundles import fetch_bundle, parse_ref

# ---------------------------------------------------------------- the bundle server


class BundleServer:
    """Serves ``files`` (path -> bytes) with strong ETags; counts what it answered."""

    def __init__(self, tls_context: ssl.SSLContext | None = None):
        self.files: dict[str, bytes] = {}
        self.hits: list[tuple[str, int, str | None]] = []  # (path, status, If-None-Match)
        self.fail_with: int | None = None
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server API)
                inm = self.headers.get("If-None-Match")
                if server.fail_with:
                    status, body, etag = server.fail_with, b"boom", None
                elif self.path not in server.files:
                    status, body, etag = 404, b"not found", None
                else:
                    body = server.files[self.path]
                    etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
                    status = 304 if inm == etag else 200
                server.hits.append((self.path, status, inm))
                self.send_response(status)
                if etag:
                    self.send_header("ETag", etag)
                if status == 304:
                    self.end_headers()
                    return
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.timeout = 5
        scheme = "http"
        if tls_context is not None:
            self.httpd.socket = tls_context.wrap_socket(self.httpd.socket, server_side=True)
            scheme = "https"
        self.base = f"{scheme}://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()
        # a safety net: never outlive the test session by much
        self.timer = threading.Timer(300, self.stop)
        self.timer.daemon = True
        self.timer.start()

    def url(self, path: str) -> str:
        return self.base + path

    def count(self, path: str, status: int | None = None) -> int:
        return sum(1 for p, s, _ in self.hits if p == path and (status is None or s == status))

    def stop(self) -> None:
        self.timer.cancel()
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    s = BundleServer()
    yield s
    s.stop()


@pytest.fixture(scope="module")
def ca():
    import trustme  # test extra: a throw-away CA for real HTTPS on 127.0.0.1

    return trustme.CA()


@pytest.fixture
def tls_server(ca, tmp_path):
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(ctx)
    s = BundleServer(ctx)
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    s.ca_file = str(ca_file)
    yield s
    s.stop()


# ---------------------------------------------------------------- helpers


def bundle(revision: int, *, expires: str = "2099-12-31", max_age: str = "7d", extra: str = "") -> bytes:
    return textwrap.dedent(f"""\
        revision = {revision}
        expires = {expires}
        max_age = "{max_age}"
        extends = ["default"]
        locked = ["sources", "typosquat"]
        allowed_waivers = ["typosquat:acme-*"]

        [sources]
        indexes = ["https://pypi.acme.example/simple"]
        protected = ["acme-*"]

        [rules.unpinned]
        action = "deny"
        """).encode() + textwrap.dedent(extra).encode()


class Signer:
    """An Ed25519 key pair; ``pub`` is the ``ed25519:<base64>`` form policies use."""

    def __init__(self):
        self.key = Ed25519PrivateKey.generate()
        raw = self.key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        self.pub = "ed25519:" + base64.b64encode(raw).decode()

    def sign(self, data: bytes) -> bytes:
        return base64.b64encode(self.key.sign(data)) + b"\n"


def env_for(tmp_path: Path, **extra) -> dict:
    env = {"GUARD_CONFIG_DIR": str(tmp_path / "userconf"), "GUARD_CACHE_DIR": str(tmp_path / "cache"),
           "GUARD_SYSTEM_CONFIG_DIR": str(tmp_path / "etc")}
    env.update(extra)
    return env


def project(tmp_path: Path, url: str, extra: str = "") -> Path:
    path = tmp_path / "proj" / "guard.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f'extends = ["{url}"]\n' + textwrap.dedent(extra), encoding="utf-8")
    return path


def trust(tmp_path: Path, *signers: Signer) -> None:
    conf = tmp_path / "userconf"
    conf.mkdir(parents=True, exist_ok=True)
    (conf / "trusted_keys").write_text("# ACME security team\n" + "".join(s.pub + "\n" for s in signers))


def load(tmp_path, ref, refresh="auto", **env):
    return load_policy(str(ref), cwd=tmp_path, env=env_for(tmp_path, **env), refresh=refresh)


def bundle_layer(policy):
    return next(l for l in policy.layers if l.bundle)


def cli_env(tmp_path, **extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith("GUARD_")}
    env.update(env_for(tmp_path, **extra))
    return env


# ---------------------------------------------------------------- transport and cache


def test_fetch_cache_and_etag_revalidation(server, tmp_path):
    server.files["/b.toml"] = bundle(3)
    proj = project(tmp_path, server.url("/b.toml"))
    p = load(tmp_path, proj)
    assert p.sources["indexes"] == ["https://pypi.acme.example/simple"]
    assert p.provenance["sources.indexes"] == server.url("/b.toml")
    meta = bundle_layer(p).bundle
    assert (meta["status"], meta["revision"]) == ("updated", 3)
    assert server.count("/b.toml", 200) == 1

    # within [bundle] refresh (default 1h): the cache answers, no request at all
    assert bundle_layer(load(tmp_path, proj)).bundle["status"] == "cached"
    assert len(server.hits) == 1

    # forced (guard policy pull) or refresh interval elapsed: If-None-Match -> 304
    assert bundle_layer(load(tmp_path, proj, refresh="force")).bundle["status"] == "revalidated"
    assert bundle_layer(load(tmp_path, proj, GUARD_BUNDLE_REFRESH="0s")).bundle["status"] == "revalidated"
    assert server.count("/b.toml", 304) == 2
    assert all(inm == server.hits[-1][2] and inm for _, s, inm in server.hits if s == 304)

    # a new revision on the server replaces the cached one
    server.files["/b.toml"] = bundle(4, extra='[rules.invalid]\naction = "warn"\n')
    p = load(tmp_path, proj, refresh="force")
    assert bundle_layer(p).bundle["revision"] == 4 and p.rule("invalid").action == "warn"
    assert server.count("/b.toml", 200) == 2


def test_https_with_test_ca(tls_server, tmp_path):
    tls_server.files["/org.toml"] = bundle(1)
    proj = project(tmp_path, tls_server.url("/org.toml"))
    p = load(tmp_path, proj, REQUESTS_CA_BUNDLE=tls_server.ca_file)
    assert bundle_layer(p).bundle["status"] == "updated"
    assert tls_server.url("/org.toml").startswith("https://")


def test_https_untrusted_certificate_fails_closed(tls_server, tmp_path):
    tls_server.files["/org.toml"] = bundle(1)
    proj = project(tmp_path, tls_server.url("/org.toml"))
    with pytest.raises(PolicyError) as exc:
        load(tmp_path, proj)  # the test CA is not trusted: TLS verification fails
    assert "cannot reach the server (SSLError" in str(exc.value) and "no last-known-good copy" in str(exc.value)
    assert exc.value.file == str(proj) and exc.value.line == 1


def test_https_through_the_cli(tls_server, tmp_path):
    tls_server.files["/org.toml"] = bundle(2)
    proj = project(tmp_path, tls_server.url("/org.toml"))
    env = cli_env(tmp_path, REQUESTS_CA_BUNDLE=tls_server.ca_file)
    r = run_guard("policy", "pull", "--policy", proj, cwd=tmp_path, env=env)
    assert r.returncode == 0, r.stderr
    assert f"{tls_server.url('/org.toml')}: updated (revision 2, expires 2099-12-31)" in r.stdout
    r = run_guard("check", "--policy", proj, "pypi:numpy", cwd=tmp_path, env=env)
    assert r.returncode == 1 and "unpinned" in r.stdout  # the bundle's deny applies
    r = run_guard("policy", "show", "--policy", proj, cwd=tmp_path, env=env)
    assert f'indexes = ["https://pypi.acme.example/simple"]  # {tls_server.url("/org.toml")}' in r.stdout
    assert "bundle revision 2" in r.stdout
    r = run_guard("policy", "pull", "--policy", proj, cwd=tmp_path, env=env)
    assert "revalidated (revision 2" in r.stdout and tls_server.count("/org.toml", 304) == 1


def test_offline_fallback_then_max_age_fails_closed(server, tmp_path):
    url = server.url("/b.toml")
    server.files["/b.toml"] = bundle(1, max_age="2d")
    proj = project(tmp_path, url)
    load(tmp_path, proj)
    server.stop()
    p = load(tmp_path, proj, refresh="force")  # server gone: last good copy applies
    assert bundle_layer(p).bundle["status"] == "offline" and p.sources["indexes"] == ["https://pypi.acme.example/simple"]
    assert load(tmp_path, proj, GUARD_OFFLINE="1").sources["protected"] == ["acme-*"]
    env = env_for(tmp_path)
    later = time.time() + 3 * 86400
    with pytest.raises(PolicyError) as exc:
        fetch_bundle(url, env=env, now=later)
    assert "max_age of 2d" in str(exc.value) and "guard policy pull" in str(exc.value)
    r = run_guard("check", "--policy", proj, "pypi:numpy", cwd=tmp_path, env=cli_env(tmp_path, GUARD_OFFLINE="1"))
    assert r.returncode == 1  # still within max_age: the cached bundle decides


def test_offline_without_cache_fails_closed(tmp_path):
    proj = project(tmp_path, "http://127.0.0.1:9/nothing.toml")  # discard port: nothing listens
    r = run_guard("check", "--policy", proj, "pypi:numpy", cwd=tmp_path, env=cli_env(tmp_path))
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert f"{proj}:1: extends: policy bundle http://127.0.0.1:9/nothing.toml" in r.stderr
    r = run_guard("check", "--policy", proj, "pypi:numpy", cwd=tmp_path, env=cli_env(tmp_path, GUARD_OFFLINE="1"))
    assert r.returncode == 2 and "not cached" in r.stderr


def test_server_error_keeps_last_good_loudly(server, tmp_path, capsys):
    server.files["/b.toml"] = bundle(1)
    proj = project(tmp_path, server.url("/b.toml"))
    load(tmp_path, proj)
    server.fail_with = 500
    p = load(tmp_path, proj, refresh="force")
    assert bundle_layer(p).bundle["revision"] == 1
    assert "HTTP 500; keeping the last good revision 1" in capsys.readouterr().err


def test_relative_extends_inside_a_bundle_follow_the_url(server, tmp_path):
    server.files["/org/base.toml"] = b'extends = ["strict"]\ndeny = ["evilpkg"]\n'
    server.files["/org/team.toml"] = b'extends = ["base.toml"]\n[rules.source]\naction = "warn"\n'
    p = load(tmp_path, project(tmp_path, server.url("/org/team.toml")))
    assert [l.name for l in p.layers][:4] == ["default", "strict", server.url("/org/base.toml"), server.url("/org/team.toml")]
    assert p.deny == ("evilpkg",) and p.rule("unhashed").get("require_hashes") is True


def test_invalid_bundle_reported_with_its_url_and_line(server, tmp_path):
    server.files["/b.toml"] = b'revision = 1\n\nmode = "lenient"\n'
    with pytest.raises(PolicyError) as exc:
        load(tmp_path, project(tmp_path, server.url("/b.toml")))
    assert exc.value.file == server.url("/b.toml") and exc.value.line == 3 and exc.value.key == "mode"


def test_broken_toml_from_server_is_rejected(server, tmp_path, capsys):
    server.files["/b.toml"] = bundle(1)
    proj = project(tmp_path, server.url("/b.toml"))
    load(tmp_path, proj)
    server.files["/b.toml"] = b"revision = 2\n[sources\n"
    assert bundle_layer(load(tmp_path, proj, refresh="force")).bundle["revision"] == 1
    assert "REJECTED the new bundle: not a valid TOML policy" in capsys.readouterr().err


@pytest.mark.parametrize("ref,msg", [
    ("http://policies.example.com/b.toml", "plain http is refused"),
    ("https://x.example/b.toml#md5=abc", "#sha256="),
    ("https://x.example/b.toml#sha256=1234", "#sha256="),
    ("https:///b.toml", "not an https URL"),
])
def test_bad_references(ref, msg):
    with pytest.raises(PolicyError, match=msg):
        parse_ref(ref)


def test_cached_copy_tampered_on_disk_is_not_used(server, tmp_path, capsys):
    server.files["/b.toml"] = bundle(1)
    proj = project(tmp_path, server.url("/b.toml"))
    path = Path(bundle_layer(load(tmp_path, proj)).bundle["path"])
    path.write_bytes(path.read_bytes().replace(b'action = "deny"', b'action = "off"'))
    server.stop()
    with pytest.raises(PolicyError, match="not cached and cannot be fetched|no last-known-good"):
        load(tmp_path, proj, GUARD_OFFLINE="1")
    assert "modified on disk" in capsys.readouterr().err


# ---------------------------------------------------------------- integrity


def test_sha256_pin(server, tmp_path):
    data = bundle(1)
    server.files["/b.toml"] = data
    good = hashlib.sha256(data).hexdigest()
    assert load(tmp_path, project(tmp_path, server.url(f"/b.toml#sha256={good}"))).sources["protected"] == ["acme-*"]
    wrong = hashlib.sha256(b"other").hexdigest()
    with pytest.raises(PolicyError) as exc:
        load(tmp_path, project(tmp_path, server.url(f"/b.toml#sha256={wrong}")))
    assert f"does not match the pinned {wrong}" in str(exc.value)


def test_sha256_pin_mismatch_after_update_keeps_pinned_copy(server, tmp_path, capsys):
    data = bundle(1)
    server.files["/b.toml"] = data
    proj = project(tmp_path, server.url(f"/b.toml#sha256={hashlib.sha256(data).hexdigest()}"))
    load(tmp_path, proj)
    server.files["/b.toml"] = bundle(2)
    assert bundle_layer(load(tmp_path, proj, refresh="force")).bundle["revision"] == 1
    assert "REJECTED the new bundle: sha256" in capsys.readouterr().err


def test_signed_bundle_accepted_tampered_and_stranger_rejected(server, tmp_path, capsys):
    org, stranger = Signer(), Signer()
    trust(tmp_path, org)
    data = bundle(1)
    server.files["/b.toml"], server.files["/b.toml.sig"] = data, org.sign(data)
    proj = project(tmp_path, server.url("/b.toml"))
    p = load(tmp_path, proj)
    assert bundle_layer(p).bundle["signed_by"] == org.pub

    # tampered: new content, old signature
    server.files["/b.toml"] = bundle(2, extra='[rules.unhashed]\naction = "off"\n')
    p = load(tmp_path, proj, refresh="force")
    err = capsys.readouterr().err
    assert "guard: WARNING: policy bundle" in err and "REJECTED the new bundle: bad signature" in err
    assert "keeping the last good revision 1" in err
    assert bundle_layer(p).bundle["revision"] == 1 and p.rule("unhashed").action == "deny"

    # re-signed by a key nobody trusts
    server.files["/b.toml.sig"] = stranger.sign(server.files["/b.toml"])
    assert bundle_layer(load(tmp_path, proj, refresh="force")).bundle["revision"] == 1
    assert "bad signature" in capsys.readouterr().err

    # signed properly: accepted
    server.files["/b.toml.sig"] = org.sign(server.files["/b.toml"])
    assert bundle_layer(load(tmp_path, proj, refresh="force")).bundle["revision"] == 2


def test_unsigned_bundle_refused_when_keys_are_configured(server, tmp_path):
    trust(tmp_path, Signer())
    server.files["/b.toml"] = bundle(1)
    with pytest.raises(PolicyError, match="no signature at .*b.toml.sig"):
        load(tmp_path, project(tmp_path, server.url("/b.toml")))


def test_stranger_signed_first_fetch_fails_closed(server, tmp_path):
    trust(tmp_path, Signer())
    data = bundle(1)
    server.files["/b.toml"], server.files["/b.toml.sig"] = data, Signer().sign(data)
    r = run_guard("check", "--policy", project(tmp_path, server.url("/b.toml")), "pypi:x", cwd=tmp_path,
                  env=cli_env(tmp_path))
    assert r.returncode == 2 and "bad signature" in r.stderr and "Traceback" not in r.stderr


def test_trusted_key_from_the_referring_layer_and_system_dir(server, tmp_path):
    org = Signer()
    data = bundle(1)
    server.files["/b.toml"], server.files["/b.toml.sig"] = data, org.sign(data)
    proj = project(tmp_path, server.url("/b.toml"), f'[bundle]\ntrusted_keys = ["{org.pub}"]\n')
    assert bundle_layer(load(tmp_path, proj)).bundle["signed_by"] == org.pub
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc" / "trusted_keys").write_text(org.pub + "\n")
    other = tmp_path / "cache2"
    p = load_policy(str(project(tmp_path, server.url("/b.toml"))), env=env_for(tmp_path, GUARD_CACHE_DIR=str(other)))
    assert bundle_layer(p).bundle["signed_by"] == org.pub


def test_bad_key_file_names_file_and_line(server, tmp_path):
    (tmp_path / "userconf").mkdir()
    (tmp_path / "userconf" / "trusted_keys").write_text("# keys\n\ned25519:short\n")
    server.files["/b.toml"] = bundle(1)
    with pytest.raises(PolicyError) as exc:
        load(tmp_path, project(tmp_path, server.url("/b.toml")))
    assert exc.value.file == str(tmp_path / "userconf" / "trusted_keys") and exc.value.line == 3


# ---------------------------------------------------------------- rollback and freeze


def test_rollback_refused(server, tmp_path, capsys):
    server.files["/b.toml"] = bundle(5)
    proj = project(tmp_path, server.url("/b.toml"))
    load(tmp_path, proj)
    server.files["/b.toml"] = bundle(4, extra='[rules.invalid]\naction = "off"\n')
    p = load(tmp_path, proj, refresh="force")
    assert bundle_layer(p).bundle["revision"] == 5 and p.rule("unhashed").action == "deny"
    assert "rollback: revision 4 is older than the cached revision 5" in capsys.readouterr().err


def test_same_revision_new_content_refused(server, tmp_path, capsys):
    server.files["/b.toml"] = bundle(5)
    proj = project(tmp_path, server.url("/b.toml"))
    load(tmp_path, proj)
    server.files["/b.toml"] = bundle(5, extra="# edited\n")
    assert bundle_layer(load(tmp_path, proj, refresh="force")).bundle["status"] == "rejected"
    assert "changed content without a new revision" in capsys.readouterr().err


def test_freeze_expired_bundle_refused(server, tmp_path, capsys):
    yesterday = (dt.date.today() - dt.timedelta(days=1)).isoformat()
    server.files["/b.toml"] = bundle(1, expires=yesterday)
    proj = project(tmp_path, server.url("/b.toml"))
    with pytest.raises(PolicyError, match=f"expired on {yesterday}"):
        load(tmp_path, proj)
    server.files["/b.toml"] = bundle(2)
    load(tmp_path, proj)
    server.files["/b.toml"] = bundle(3, expires=yesterday)
    assert bundle_layer(load(tmp_path, proj, refresh="force")).bundle["revision"] == 2
    assert "expired on" in capsys.readouterr().err


def test_cached_bundle_past_its_expiry_fails_closed(server, tmp_path):
    soon = (dt.date.today() + dt.timedelta(days=2)).isoformat()
    url = server.url("/b.toml")
    server.files["/b.toml"] = bundle(1, expires=soon, max_age="30d")
    load(tmp_path, project(tmp_path, url))
    with pytest.raises(PolicyError, match=f"expired on {soon}"):
        fetch_bundle(url, env=env_for(tmp_path), refresh="never", now=time.time() + 5 * 86400)


# ---------------------------------------------------------------- locks


def test_bundle_lock_violation_names_both_layers(server, tmp_path):
    url = server.url("/b.toml")
    server.files["/b.toml"] = bundle(1)
    proj = project(tmp_path, url, '\n[sources]\nindexes = ["https://pypi.acme.example/simple", "https://evil.example/simple"]\n')
    r = run_guard("check", "--policy", proj, "pypi:x", cwd=tmp_path, env=cli_env(tmp_path))
    assert r.returncode == 2 and "Traceback" not in r.stderr
    err = r.stderr.strip()
    assert err.startswith(f"guard: error: {proj}:4: sources.indexes: [sources] indexes adds 'https://evil.example/simple'")
    assert f"but {url} locks 'sources'" in err


def test_bundle_lock_allows_tightening_and_allowed_waivers(server, tmp_path):
    server.files["/b.toml"] = bundle(1)
    proj = project(tmp_path, server.url("/b.toml"), """
        [sources]
        indexes = []
        protected = ["acme-*", "internal-*"]
        [rules.typosquat]
        action = "deny"
        [[waivers]]
        rule = "typosquat"
        subject = "acme-reqeusts"
        reason = "internal shim"
    """)
    p = load(tmp_path, proj)
    assert p.sources["indexes"] == [] and len(p.waivers) == 1


LOCKED_BASE = """
locked = ["sources", "typosquat", "unhashed", "mode", "allow", "waivers"]
allowed_waivers = ["typosquat:acme-*"]
allow_mode_override = false
[sources]
indexes = ["https://pypi.org/simple"]
hub_orgs = ["acme"]
[rules.typosquat]
action = "deny"
[rules.unhashed]
require_hashes = true
"""


@pytest.mark.parametrize("top,line,what", [
    ('[rules.typosquat]\naction = "warn"\n', 3, "rule typosquat action lowers 'deny' to 'warn'"),
    ('[rules.typosquat]\naction = "off"\n', 3, "lowers 'deny' to 'off'"),
    ('[rules.unhashed]\nrequire_hashes = false\n', 3, "rule unhashed option require_hashes loosens True to False"),
    ('mode = "warn"\n', 2, "mode lowers 'enforce' to 'warn'"),
    ('allow_mode_override = true\n', 2, "allow_mode_override turns the override back on"),
    ('allow = ["reqeusts"]\n', 2, "allow adds 'reqeusts'"),
    ('[sources]\nhub_orgs = []\n', 3, "[sources] hub_orgs widens ['acme'] to [] (empty means any)"),
    ('[sources]\nhub_orgs = ["acme", "evil"]\n', 3, "[sources] hub_orgs adds 'evil'"),
    ('[sources]\nallow_http = true\n', 3, "[sources] allow_http loosens unset to True"),
    ('[sources]\nhub_endpoints = ["https://hf-mirror.example"]\n', 3, "hub_endpoints adds"),
    ('[[waivers]]\nrule = "typosquat"\nsubject = "reqeusts"\nreason = "r"\n', 2, "not in the locking layer's allowed_waivers"),
    ('[[waivers]]\nrule = "*"\nsubject = "acme-x"\nreason = "r"\n', 2, "waiver for rule '*'"),
    ('[[waivers]]\nrule = "unpinned"\nsubject = "numpy"\nreason = "r"\n', 2, "locks 'waivers'"),
])
def test_lock_violations(tmp_path, top, line, what):
    base = tmp_path / "org.toml"
    base.write_text(textwrap.dedent(LOCKED_BASE))
    proj = tmp_path / "proj.toml"
    proj.write_text('extends = ["org.toml"]\n' + top)
    with pytest.raises(PolicyError) as exc:
        load(tmp_path, proj)
    e = exc.value
    assert e.file == str(proj) and e.line == line, str(e)
    assert what in e.message and f"but {base} locks" in e.message, e.message


@pytest.mark.parametrize("top", [
    '[rules.typosquat]\naction = "deny"\n',
    '[rules.unhashed]\naction = "deny"\nrequire_hashes = true\n',
    'mode = "enforce"\n',
    'allow_mode_override = false\n',
    '[sources]\nhub_orgs = ["acme"]\nindexes = []\nprotected = ["x-*"]\nallow_http = false\n',
    'deny = ["evilpkg"]\n',
    '[[waivers]]\nrule = "typosquat"\nsubject = "acme-*"\nreason = "ours"\n',
    '[rules.unpinned]\naction = "off"\n',  # not locked
])
def test_lock_tightening_is_fine(tmp_path, top):
    (tmp_path / "org.toml").write_text(textwrap.dedent(LOCKED_BASE))
    proj = tmp_path / "proj.toml"
    proj.write_text('extends = ["org.toml"]\n' + top)
    load(tmp_path, proj)


def test_locked_mode_ignores_guard_mode_loosening(tmp_path):
    (tmp_path / "org.toml").write_text('locked = ["mode"]\nmode = "enforce"\n')
    proj = tmp_path / "proj.toml"
    proj.write_text('extends = ["org.toml"]\n')  # allow_mode_override left at its default (true)
    p = load(tmp_path, proj, GUARD_MODE="off")
    assert p.mode == "enforce" and "locks the mode" in p.mode_source


def test_a_later_extends_entry_cannot_loosen_a_lock(tmp_path):
    (tmp_path / "org.toml").write_text('locked = ["source"]\n[rules.source]\naction = "deny"\n')
    proj = tmp_path / "proj.toml"
    proj.write_text('extends = ["org.toml", "research"]\n')  # research turns source into warn
    with pytest.raises(PolicyError) as exc:
        load(tmp_path, proj)
    assert "research.toml" in exc.value.file and "lowers 'deny' to 'warn'" in exc.value.message


def test_oversized_bundle_is_rejected(server, tmp_path, capsys):
    server.files["/b.toml"] = bundle(1)
    proj = project(tmp_path, server.url("/b.toml"))
    load(tmp_path, proj)
    server.files["/b.toml"] = bundle(2) + b"#" * (5 * 1024 * 1024)
    assert bundle_layer(load(tmp_path, proj, refresh="force")).bundle["revision"] == 1
    assert "larger than 4 MiB" in capsys.readouterr().err


def test_pull_reports_rejection_with_exit_2(server, tmp_path):
    server.files["/b.toml"] = bundle(3)
    proj = project(tmp_path, server.url("/b.toml"))
    env = cli_env(tmp_path)
    assert run_guard("policy", "pull", "--policy", proj, cwd=tmp_path, env=env).returncode == 0
    server.files["/b.toml"] = bundle(2)
    r = run_guard("policy", "pull", "--policy", proj, cwd=tmp_path, env=env)
    assert r.returncode == 2 and "rejected (revision 3" in r.stdout
    assert "guard: WARNING" in r.stderr and "rollback" in r.stderr


def test_runtime_gate_fails_closed_past_max_age(server, tmp_path, monkeypatch):
    """Gated operations (the runtime hooks) refuse to run once the cached bundle is too old."""
    import json

    from guardpolicy.errors import PolicyViolation
    from guardpolicy.model import PackageRef
    from guardpolicy.runtime import gate

    url = server.url("/b.toml")
    server.files["/b.toml"] = bundle(1, max_age="1d")
    proj = project(tmp_path, url)
    load(tmp_path, proj)
    server.stop()
    for key, value in env_for(tmp_path, GUARD_POLICY=str(proj), GUARD_OFFLINE="1").items():
        monkeypatch.setenv(key, value)
    gate.reset()
    try:
        with pytest.raises(PolicyViolation, match="unpinned|blocked"):
            gate.enforce([PackageRef("numpy")], "install numpy")  # the bundle's deny applies
        meta_path = next((tmp_path / "cache" / "bundles").glob("*/meta.json"))
        meta = json.loads(meta_path.read_text())
        meta["confirmed_at"] -= 2 * 86400  # two days without the server confirming it
        meta_path.write_text(json.dumps(meta))
        gate.reset()
        with pytest.raises(PolicyViolation, match="policy error, refusing gated operations: .*max_age of 1d"):
            gate.enforce([PackageRef("numpy", "==1.0", version="1.0")], "install numpy")
    finally:
        gate.reset()


@pytest.mark.parametrize("direction,old,new,ok", [
    (None, 1, 1, True), (None, 1, 2, False), (None, ["a"], ["a", "b"], False),
    ("true", False, True, True), ("true", True, False, False),
    ("false", True, False, True), ("false", False, True, False),
    ("subset", ["a", "b"], ["a"], True), ("subset", ["a"], ["a", "b"], False), ("subset", ["a"], [], True),
    ("superset", ["a"], ["a", "b"], True), ("superset", ["a", "b"], ["b"], False),
    ("empty-is-any", [], ["x"], True), ("empty-is-any", ["a", "b"], ["a"], True),
    ("empty-is-any", ["a"], [], False), ("empty-is-any", ["a"], ["a", "z"], False),
    ("min", 5, 3, True), ("min", 3, 5, False), ("max", 3, 5, True), ("max", 5, 3, False),
])
def test_tightens(direction, old, new, ok):
    from guardpolicy.policy.locking import tightens

    assert tightens(direction, old, new) is ok


def test_tightens_from_unset():
    from guardpolicy.policy.locking import _MISSING, tightens

    assert tightens("subset", _MISSING, []) and not tightens("subset", _MISSING, ["x"])
    assert tightens("false", _MISSING, False) and not tightens("false", _MISSING, True)
    assert not tightens("min", _MISSING, 1) and not tightens(None, _MISSING, 1)


def test_a_corrected_bundle_the_cache_would_refuse_is_taken_after_pull_refresh(server, tmp_path, capsys):
    """Issue 13: a rejection must not stick forever: `guard policy pull --refresh` (or `guard cache
    clear --bundles`) drops the cached copy and takes the server's current bundle, after every check."""
    server.files["/b.toml"] = bundle(3)
    proj = project(tmp_path, server.url("/b.toml"))
    assert bundle_layer(load(tmp_path, proj)).bundle["revision"] == 3
    server.files["/b.toml"] = bundle(3, extra='\n[rules.release-age]\nmin_release_age = "3d"\n')  # same revision
    assert not load(tmp_path, proj, refresh="force").rule("release-age").get("min_release_age")
    assert "changed content without a new revision" in capsys.readouterr().err
    env = cli_env(tmp_path)
    r = run_guard("policy", "pull", "--refresh", "--policy", proj, cwd=tmp_path, env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    assert load(tmp_path, proj).rule("release-age").get("min_release_age") == "3d"
    # the other way out: drop every cached bundle
    server.files["/b.toml"] = bundle(3, extra='\n[rules.release-age]\nmin_release_age = "5d"\n')
    assert run_guard("cache", "clear", "--bundles", cwd=tmp_path, env=env).returncode == 0
    assert load(tmp_path, proj).rule("release-age").get("min_release_age") == "5d"
