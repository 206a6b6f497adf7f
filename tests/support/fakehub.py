"""A small Hugging Face Hub compatible HTTP server for tests (stdlib only, 127.0.0.1).

The real ``huggingface_hub`` client (0.25 .. 2.x) talks to it through ``HF_ENDPOINT`` or
``endpoint=``. It serves just what the client uses for downloads and metadata::

    hub = FakeHub()
    sha = hub.add_repo("acme/tiny", {"config.json": b"{}", "model.safetensors": b"..."},
                       repo_type="model", tags=("v1",), branches=("dev",))
    url = hub.start()                 # http://127.0.0.1:PORT
    ...                               # HF_ENDPOINT=url, temp HF_HUB_CACHE
    hub.requests                      # [(method, path), ...] for assertions
    hub.stop()

Endpoints (``{prefix}`` is empty for models, ``datasets/`` or ``spaces/`` otherwise):

* ``HEAD|GET /{prefix}{repo}/resolve/{rev}/{path}``: ``X-Repo-Commit``, ``ETag``,
  ``Content-Length``; LFS files (see ``lfs=``) carry ``X-Linked-Etag`` (the sha256) and
  ``X-Linked-Size`` like the real Hub. With ``lfs_redirect=True`` (per repo) LFS files answer
  302 to ``http://localhost:PORT/_lfs/{sha256}`` (same server, another host name), as the
  real Hub redirects to its CDN.
* ``GET /api/{models|datasets|spaces}/{repo}[/revision/{rev}]``: ``id``, ``sha``,
  ``siblings`` (``rfilename``; ``size``/``blobId``/``lfs`` with ``?blobs=true``, which is
  ``files_metadata=True``), ``securityRepoStatus`` with ``?securityStatus=true`` when the
  repo has one (``security=`` / ``set_security``), plus ``extra_info`` fields.
* ``GET /api/{type}s/{repo}/tree/{rev}[/{path}]?recursive=``: file and directory entries.
* ``POST /api/{type}s/{repo}/paths-info/{rev}`` (form ``paths=``): the same entries.
* ``GET /api/{type}s/{repo}/refs``: branches and tags.
* Errors: 404 with ``X-Error-Code: RepoNotFound | RevisionNotFound | EntryNotFound``.

Each repo keeps every commit, so ``commit(...)`` moves a branch and old shas still resolve.
Path segments are URL-decoded (``refs%2Fpr%2F1``). Request handling is bounded: the server
runs in a daemon thread and ``stop()`` (or leaving the ``with`` block) shuts it down.

Copy this file as is; its public API (``FakeHub``, ``add_repo``, ``commit``,
``set_security``, ``start``, ``stop``, ``url``, ``requests``, ``git_blob_oid``) is stable.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Dict, Iterable, List, Mapping, Optional, Tuple, Union
from urllib.parse import parse_qs, unquote, urlsplit

REPO_TYPES = ("model", "dataset", "space")
#: files stored "in LFS" by default (what a real repo's .gitattributes usually says)
DEFAULT_LFS_PATTERNS = ("*.safetensors", "*.bin", "*.pt", "*.pth", "*.ckpt", "*.gguf", "*.onnx", "*.h5",
                        "*.msgpack", "*.pkl", "*.pickle", "*.joblib", "*.npy", "*.npz", "*.zip", "*.tar", "*.gz",
                        "*.parquet", "*.arrow", "*.model")

Files = Mapping[str, Union[bytes, str]]


def git_blob_oid(data: bytes) -> str:
    """The git object id of a blob (sha1 over ``blob <len>\\0`` + data), as the Hub reports it."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def _lfs_pointer(data: bytes) -> bytes:
    return (f"version https://git-lfs.github.com/spec/v1\noid sha256:{hashlib.sha256(data).hexdigest()}\n"
            f"size {len(data)}\n").encode()


@dataclass
class _Repo:
    """One fake repository: commits (sha -> files), branches, tags, scan status."""

    repo_id: str
    repo_type: str
    lfs_patterns: Tuple[str, ...]
    lfs_redirect: bool = False
    commits: Dict[str, Dict[str, bytes]] = field(default_factory=dict)
    branches: Dict[str, str] = field(default_factory=dict)
    tags: Dict[str, str] = field(default_factory=dict)
    security: Optional[dict] = None
    extra_info: dict = field(default_factory=dict)
    private: bool = False

    def is_lfs(self, path: str) -> bool:
        """True when ``path`` is stored with LFS in this repo."""
        name = path.rsplit("/", 1)[-1]
        return any(fnmatch.fnmatchcase(path, p) or fnmatch.fnmatchcase(name, p) for p in self.lfs_patterns)

    def resolve(self, rev: Optional[str]) -> Optional[str]:
        """A revision (branch, tag, full sha) to a commit sha, or ``None``."""
        rev = rev or "main"
        if rev in self.branches:
            return self.branches[rev]
        if rev in self.tags:
            return self.tags[rev]
        if rev in self.commits:
            return rev
        return None


class FakeHub:
    """An in-memory Hub: add repos, ``start()`` to serve them on 127.0.0.1, ``stop()`` to end."""

    def __init__(self) -> None:
        self._repos: Dict[Tuple[str, str], _Repo] = {}
        self._lock = threading.Lock()
        self._counter = 0
        self._server: Optional[ThreadingHTTPServer] = None
        self._thread: Optional[threading.Thread] = None
        #: every request as ``(method, path)``, path including the query string
        self.requests: List[Tuple[str, str]] = []
        self.url: Optional[str] = None

    # -- content --------------------------------------------------------------------------
    def add_repo(self, repo_id: str, files: Files, repo_type: str = "model", tags: Iterable[str] = (),
                 branches: Union[Iterable[str], Mapping[str, Files]] = (), security: Optional[dict] = None,
                 lfs: Optional[Iterable[str]] = None, lfs_redirect: bool = False,
                 extra_info: Optional[dict] = None, private: bool = False) -> str:
        """Create ``repo_id`` with one commit of ``files`` on ``main``; return its 40-hex sha.

        ``tags`` point at that commit. ``branches`` is either names (pointing at the same
        commit) or ``{name: files}`` (each its own commit). ``security`` is the
        ``securityRepoStatus`` JSON (``{"scansDone": bool, "filesWithIssues": [...]}``).
        ``lfs`` are glob patterns of LFS files (default: usual weight extensions).
        ``extra_info`` fields are merged into the ``/api`` JSON (e.g. ``cardData``).
        """
        if repo_type not in REPO_TYPES:
            raise ValueError(f"repo_type must be one of {REPO_TYPES}")
        repo = _Repo(repo_id, repo_type, tuple(DEFAULT_LFS_PATTERNS if lfs is None else lfs), lfs_redirect,
                     security=security, extra_info=dict(extra_info or {}), private=private)
        with self._lock:
            self._repos[(repo_type, repo_id)] = repo
        sha = self.commit(repo_id, files, repo_type=repo_type, branch="main", tags=tags)
        if isinstance(branches, Mapping):
            for name, bfiles in branches.items():
                self.commit(repo_id, bfiles, repo_type=repo_type, branch=name)
        else:
            for name in branches:
                repo.branches[name] = sha
        return sha

    def commit(self, repo_id: str, files: Files, repo_type: str = "model", branch: str = "main",
               tags: Iterable[str] = (), replace: bool = True) -> str:
        """Add a commit to ``branch`` (created if new) and return its sha; old commits stay reachable.

        ``replace=False`` starts from the branch's current files and overlays ``files``.
        """
        repo = self._repo(repo_type, repo_id)
        data = {k: v.encode() if isinstance(v, str) else bytes(v) for k, v in files.items()}
        with self._lock:
            if not replace and branch in repo.branches:
                data = {**repo.commits[repo.branches[branch]], **data}
            self._counter += 1
            h = hashlib.sha1(f"{repo_type}/{repo_id}/{branch}/{self._counter}".encode())
            for name in sorted(data):
                h.update(name.encode() + b"\0" + hashlib.sha1(data[name]).digest())
            sha = h.hexdigest()
            repo.commits[sha] = data
            repo.branches[branch] = sha
            for tag in tags:
                repo.tags[tag] = sha
        return sha

    def set_security(self, repo_id: str, status: Optional[dict], repo_type: str = "model") -> None:
        """Set (or clear with ``None``) the repo's ``securityRepoStatus``."""
        self._repo(repo_type, repo_id).security = status

    def _repo(self, repo_type: str, repo_id: str) -> _Repo:
        try:
            return self._repos[(repo_type, repo_id)]
        except KeyError:
            raise KeyError(f"no {repo_type} repo {repo_id!r} in the fake hub") from None

    # -- server ---------------------------------------------------------------------------
    def start(self) -> str:
        """Serve on ``127.0.0.1`` (a free port) in a daemon thread; return the base URL."""
        if self._server is not None:
            return self.url  # type: ignore[return-value]
        hub = self

        class Handler(_Handler):
            fake = hub

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="fakehub", daemon=True)
        self._thread.start()
        return self.url

    def stop(self) -> None:
        """Stop serving (idempotent)."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            if self._thread is not None:
                self._thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> "FakeHub":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- JSON shapes ----------------------------------------------------------------------
    def _entry(self, repo: _Repo, path: str, data: bytes) -> dict:
        """A tree / paths-info file entry."""
        out = {"type": "file", "oid": git_blob_oid(_lfs_pointer(data) if repo.is_lfs(path) else data),
               "size": len(data), "path": path}
        if repo.is_lfs(path):
            out["lfs"] = {"oid": hashlib.sha256(data).hexdigest(), "size": len(data),
                          "pointerSize": len(_lfs_pointer(data))}
        return out

    def _sibling(self, repo: _Repo, path: str, data: bytes, blobs: bool) -> dict:
        """A ``siblings`` item of ``/api/models/...``."""
        out: dict = {"rfilename": path}
        if blobs:
            out["size"] = len(data)
            out["blobId"] = git_blob_oid(_lfs_pointer(data) if repo.is_lfs(path) else data)
            if repo.is_lfs(path):
                out["lfs"] = {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data),
                              "pointerSize": len(_lfs_pointer(data))}
        return out

    def _info(self, repo: _Repo, sha: str, query: dict) -> dict:
        blobs = _truthy(query.get("blobs"))
        files = repo.commits[sha]
        info = {"_id": hashlib.md5(repo.repo_id.encode()).hexdigest()[:24], "id": repo.repo_id,
                "author": repo.repo_id.split("/", 1)[0] if "/" in repo.repo_id else None,
                "sha": sha, "private": repo.private, "disabled": False, "gated": False,
                "lastModified": "2024-01-01T00:00:00.000Z", "createdAt": "2024-01-01T00:00:00.000Z",
                "tags": [], "downloads": 0, "likes": 0,
                "siblings": [self._sibling(repo, p, files[p], blobs) for p in sorted(files)]}
        if repo.repo_type == "model":
            info["modelId"] = repo.repo_id
        if _truthy(query.get("securityStatus")) and repo.security is not None:
            info["securityRepoStatus"] = repo.security
        info.update(repo.extra_info)
        return info

    def _tree(self, repo: _Repo, sha: str, base: str, recursive: bool) -> Optional[list]:
        """Entries under ``base`` ('' = root); ``None`` when ``base`` does not exist."""
        files = repo.commits[sha]
        base = base.strip("/")
        prefix = base + "/" if base else ""
        if base and base in files:
            return [self._entry(repo, base, files[base])]
        out, dirs = [], set()
        for path in sorted(files):
            if not path.startswith(prefix):
                continue
            rest = path[len(prefix):]
            parts = rest.split("/")
            for i in range(1, len(parts)):
                d = prefix + "/".join(parts[:i])
                if (recursive or i == 1) and d not in dirs:
                    dirs.add(d)
                    out.append({"type": "directory", "oid": hashlib.sha1(d.encode()).hexdigest(), "size": 0, "path": d})
            if recursive or len(parts) == 1:
                out.append(self._entry(repo, path, files[path]))
        if base and not out:
            return None
        return out


def _truthy(values) -> bool:
    return bool(values) and str(values[-1]).lower() in ("1", "true", "yes")


class _Handler(BaseHTTPRequestHandler):
    """Routes one request against ``fake`` (a ``FakeHub``)."""

    fake: FakeHub
    protocol_version = "HTTP/1.1"

    def log_message(self, *args) -> None:  # keep test output quiet
        pass

    # -- plumbing -------------------------------------------------------------------------
    def _send(self, status: int, body: bytes = b"", headers: Optional[dict] = None, head: bool = False,
              content_type: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def _json(self, obj, status: int = 200, head: bool = False) -> None:
        self._send(status, json.dumps(obj).encode(), head=head)

    def _error(self, code: str, message: str, headers: Optional[dict] = None, head: bool = False) -> None:
        h = {"X-Error-Code": code, "X-Error-Message": message, **(headers or {})}
        self._send(404, json.dumps({"error": message}).encode(), h, head=head)

    def _record(self) -> None:
        with self.fake._lock:
            self.fake.requests.append((self.command, self.path))

    def do_HEAD(self) -> None:
        """HEAD: only ``resolve`` (file metadata)."""
        self._record()
        self._route(head=True)

    def do_GET(self) -> None:
        """GET: files, ``/api`` info, tree, refs."""
        self._record()
        self._route(head=False)

    def do_POST(self) -> None:
        """POST: ``paths-info``."""
        self._record()
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(min(length, 1 << 20)).decode("utf-8", "replace")
        ctype = self.headers.get("Content-Type", "")
        form = json.loads(body) if "json" in ctype and body else parse_qs(body)
        self._route(head=False, form=form)

    # -- routing --------------------------------------------------------------------------
    def _route(self, head: bool, form=None) -> None:
        parts = urlsplit(self.path)
        query = parse_qs(parts.query)
        segs = [unquote(s) for s in parts.path.split("/") if s != ""]
        try:
            if segs[:1] == ["_lfs"] and len(segs) == 2:
                return self._lfs_blob(segs[1], head)
            if segs[:1] == ["api"] and len(segs) >= 2 and segs[1] in ("models", "datasets", "spaces"):
                return self._api(segs[1][:-1], segs[2:], query, head, form)
            if "resolve" in segs:
                return self._resolve(segs, head)
            self._send(404, b'{"error":"not found"}', head=head)
        except BrokenPipeError:  # the client went away: nothing to answer
            pass

    def _find(self, repo_type: str, segs: List[str], head: bool):
        """Match the repo id at the start of ``segs``: (repo, rest) or answer 404 and return None."""
        for n in (2, 1):  # org/name first, then legacy un-namespaced ids
            repo = self.fake._repos.get((repo_type, "/".join(segs[:n])))
            if repo is not None and len(segs) >= n:
                return repo, segs[n:]
        self._error("RepoNotFound", "Repository not found", head=head)
        return None

    def _resolve(self, segs: List[str], head: bool) -> None:
        repo_type = "model"
        if segs[0] in ("datasets", "spaces"):
            repo_type, segs = segs[0][:-1], segs[1:]
        i = segs.index("resolve")
        found = self._find(repo_type, segs[:i], head)
        if found is None:
            return
        repo = found[0]
        if len(segs) < i + 3:
            return self._error("EntryNotFound", "Entry not found", head=head)
        rev, path = segs[i + 1], "/".join(segs[i + 2:])
        sha = repo.resolve(rev)
        if sha is None:
            return self._error("RevisionNotFound", f"Invalid rev id: {rev}", head=head)
        files = repo.commits[sha]
        if path not in files:
            return self._error("EntryNotFound", f"{path} does not exist on {rev}", {"X-Repo-Commit": sha}, head=head)
        data = files[path]
        headers = {"X-Repo-Commit": sha, "Accept-Ranges": "bytes"}
        if repo.is_lfs(path):
            digest = hashlib.sha256(data).hexdigest()
            headers.update({"ETag": f'"{digest}"', "X-Linked-Etag": f'"{digest}"', "X-Linked-Size": str(len(data))})
            if repo.lfs_redirect:
                # another host name for the same loopback server: the client follows same-host
                # redirects on HEAD but stops at a "CDN" host, exactly as with the real Hub
                headers["Location"] = f"{self.fake.url.replace('127.0.0.1', 'localhost')}/_lfs/{digest}"
                return self._send(302, b"", headers, head=head)
        else:
            headers["ETag"] = f'"{git_blob_oid(data)}"'
        self._send(200, data, headers, head=head, content_type="application/octet-stream")

    def _lfs_blob(self, digest: str, head: bool) -> None:
        for repo in list(self.fake._repos.values()):
            for files in repo.commits.values():
                for data in files.values():
                    if hashlib.sha256(data).hexdigest() == digest:
                        return self._send(200, data, {"ETag": f'"{digest}"'}, head=head,
                                          content_type="application/octet-stream")
        self._send(404, b"", head=head)

    def _api(self, repo_type: str, segs: List[str], query: dict, head: bool, form) -> None:
        found = self._find(repo_type, segs, head)
        if found is None:
            return
        repo, rest = found
        if not rest or rest[0] == "revision":
            rev = rest[1] if len(rest) >= 2 else None
            sha = repo.resolve(rev)
            if sha is None:
                return self._error("RevisionNotFound", f"Invalid rev id: {rev}", head=head)
            return self._json(self.fake._info(repo, sha, query), head=head)
        if rest[0] == "refs":
            return self._json({"branches": [{"name": b, "ref": f"refs/heads/{b}", "targetCommit": s}
                                            for b, s in sorted(repo.branches.items())],
                               "tags": [{"name": t, "ref": f"refs/tags/{t}", "targetCommit": s}
                                        for t, s in sorted(repo.tags.items())],
                               "converts": []}, head=head)
        if rest[0] in ("tree", "paths-info") and len(rest) >= 2:
            sha = repo.resolve(rest[1])
            if sha is None:
                return self._error("RevisionNotFound", f"Invalid rev id: {rest[1]}", head=head)
            if rest[0] == "tree":
                entries = self.fake._tree(repo, sha, "/".join(rest[2:]), _truthy(query.get("recursive")))
                if entries is None:
                    return self._error("EntryNotFound", "Entry not found", {"X-Repo-Commit": sha}, head=head)
                return self._json(entries, head=head)
            paths = (form or {}).get("paths", [])
            if isinstance(paths, str):
                paths = [paths]
            out = []
            for p in paths:
                p = p.strip("/")
                files = repo.commits[sha]
                if p in files:
                    out.append(self.fake._entry(repo, p, files[p]))
                elif any(f.startswith(p + "/") for f in files):
                    out.append({"type": "directory", "oid": hashlib.sha1(p.encode()).hexdigest(), "size": 0, "path": p})
            return self._json(out, head=head)
        self._send(404, b'{"error":"not found"}', head=head)


__all__ = ["FakeHub", "git_blob_oid", "DEFAULT_LFS_PATTERNS"]
