"""Test helpers for real pip runs: hand-built wheels/sdists, a PEP 503/691 index on 127.0.0.1, a venv.

The index serves HTML (PEP 503) or JSON with PEP 700 ``upload-time`` (PEP 691), whichever pip
asks for, from a daemon thread bound to 127.0.0.1 that the fixture shuts down.
"""

from __future__ import annotations

import base64
import datetime as _dt
import hashlib
import html
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import threading
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OLD = "2020-01-01T00:00:00Z"


def _record_hash(data: bytes) -> str:
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def build_wheel(dest: Path, name: str, version: str, requires=(), files=None) -> Path:
    """A minimal valid wheel ``name-version-py3-none-any.whl`` with METADATA, WHEEL and RECORD."""
    dist = name.replace("-", "_")
    info = f"{dist}-{version}.dist-info"
    meta = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n" + "".join(f"Requires-Dist: {r}\n" for r in requires)
    content = {} if files else {f"{dist}/__init__.py": f"VERSION = {version!r}\n".encode()}
    content.update({f"{info}/METADATA": meta.encode(),
                    f"{info}/WHEEL": b"Wheel-Version: 1.0\nGenerator: guard-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n"})
    for path, data in (files or {}).items():
        content[path] = data.encode() if isinstance(data, str) else data
    record = "".join(f"{p},{_record_hash(d)},{len(d)}\n" for p, d in content.items()) + f"{info}/RECORD,,\n"
    content[f"{info}/RECORD"] = record.encode()
    dest.mkdir(parents=True, exist_ok=True)
    path = dest / f"{dist}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for p, d in content.items():
            zf.writestr(p, d)
    return path


#: a tiny PEP 517 backend (shipped in the wheel ``guardtest-backend``) so sdist builds need no setuptools
BACKEND = '''
import base64, hashlib, os, zipfile
def _meta():
    name, version = open("NAME").read().split()
    return name, version
def get_requires_for_build_wheel(config_settings=None):
    return []
def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    name, version = _meta()
    dist = name.replace("-", "_")
    info = "%s-%s.dist-info" % (dist, version)
    files = {dist + "/__init__.py": b"", info + "/METADATA": ("Metadata-Version: 2.1\\nName: %s\\nVersion: %s\\n" % (name, version)).encode(),
             info + "/WHEEL": b"Wheel-Version: 1.0\\nGenerator: t\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n"}
    rec = "".join("%s,sha256=%s,%d\\n" % (p, base64.urlsafe_b64encode(hashlib.sha256(d).digest()).rstrip(b"=").decode(), len(d)) for p, d in files.items())
    files[info + "/RECORD"] = (rec + info + "/RECORD,,\\n").encode()
    fn = "%s-%s-py3-none-any.whl" % (dist, version)
    with zipfile.ZipFile(os.path.join(wheel_directory, fn), "w") as zf:
        for p, d in files.items():
            zf.writestr(p, d)
    return fn
'''


def build_sdist(dest: Path, name: str, version: str, build_requires=("guardtest-backend",)) -> Path:
    """An sdist whose ``pyproject.toml`` needs ``build_requires`` and the ``guardtest_backend`` backend."""
    dist = name.replace("-", "_")
    base = f"{dist}-{version}"
    reqs = ", ".join(json.dumps(r) for r in build_requires)
    files = {f"{base}/pyproject.toml": f'[build-system]\nrequires = [{reqs}]\nbuild-backend = "guardtest_backend"\n',
             f"{base}/NAME": f"{name} {version}\n",
             f"{base}/PKG-INFO": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"}
    dest.mkdir(parents=True, exist_ok=True)
    return write_tar_gz(dest / f"{base}.tar.gz", files)


def write_tar_gz(path: Path, files: dict) -> Path:
    """A ``.tar.gz`` at ``path`` holding ``files`` (archive path -> text)."""
    with tarfile.open(path, "w:gz") as tf:
        for p, text in files.items():
            data = text.encode()
            ti = tarfile.TarInfo(p)
            ti.size = len(data)
            tf.addfile(ti, io.BytesIO(data))
    return path


class Index:
    """A PEP 503 / PEP 691 simple index over a folder of files, served on 127.0.0.1."""

    def __init__(self, files_dir: Path):
        self.files_dir = Path(files_dir)
        self.upload_times: dict = {}  # filename -> ISO time (default OLD)
        self.requests: list = []
        index = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):  # quiet
                pass

            def do_HEAD(self):
                self._head_only = True
                try:
                    self.do_GET()
                finally:
                    self._head_only = False

            def do_GET(self):
                index.requests.append(self.path)
                parts = [p for p in self.path.split("?")[0].split("/") if p]
                if parts[:1] == ["files"] and len(parts) == 2 and (index.files_dir / parts[1]).is_file():
                    data = (index.files_dir / parts[1]).read_bytes()
                    return self._send(200, data, "application/octet-stream")
                if parts[:1] == ["simple"] and len(parts) == 2:
                    files = index.project_files(parts[1])
                    if not files:
                        return self._send(404, b"not found", "text/plain")
                    if "application/vnd.pypi.simple.v1+json" in self.headers.get("Accept", ""):
                        body = {"meta": {"api-version": "1.1"}, "name": parts[1], "versions": [],
                                "files": [{"filename": f.name, "url": f"/files/{f.name}",
                                           "hashes": {"sha256": hashlib.sha256(f.read_bytes()).hexdigest()},
                                           "upload-time": index.upload_times.get(f.name, OLD)} for f in files]}
                        return self._send(200, json.dumps(body).encode(), "application/vnd.pypi.simple.v1+json")
                    links = "".join(
                        f'<a href="/files/{html.escape(f.name)}#sha256={hashlib.sha256(f.read_bytes()).hexdigest()}">{html.escape(f.name)}</a>\n'
                        for f in files)
                    return self._send(200, f"<html><body>{links}</body></html>".encode(), "text/html")
                if parts == ["simple"]:
                    names = sorted({index.project_of(f.name) for f in index.files_dir.iterdir()})
                    return self._send(200, "".join(f'<a href="/simple/{n}/">{n}</a>\n' for n in names).encode(), "text/html")
                self._send(404, b"not found", "text/plain")

            def _send(self, code, body, ctype):
                self.send_response(code)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if not getattr(self, "_head_only", False):
                    self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)

    @staticmethod
    def project_of(filename: str) -> str:
        """PEP 503 name of a wheel or sdist file."""
        import re

        stem = filename.split("-")[0] if filename.endswith(".whl") else filename.rsplit("-", 1)[0]
        return re.sub(r"[-_.]+", "-", stem).lower()

    def project_files(self, project: str):
        """Files of ``project`` in the folder."""
        import re

        want = re.sub(r"[-_.]+", "-", project).lower()
        return sorted(f for f in self.files_dir.iterdir() if self.project_of(f.name) == want)

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT/simple``."""
        return f"http://127.0.0.1:{self.server.server_address[1]}/simple"

    def start(self):
        """Serve in a daemon thread."""
        self.thread.start()
        return self

    def stop(self):
        """Stop serving and close the socket."""
        self.server.shutdown()
        self.server.server_close()


def pip_env(extra=None) -> dict:
    """The environment for a real pip run: machine pip config and PIP_* settings removed."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "GUARD", "VIRTUAL_ENV"))}
    env.update({"PIP_CONFIG_FILE": os.devnull, "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PIP_NO_INPUT": "1",
                "PYTHONNOUSERSITE": "1"})
    env.update(extra or {})
    return env


#: top-level packages guardpolicy needs at run time inside the test venv
RUNTIME_DEPS = ("pluggy", "packaging", "platformdirs", "rapidfuzz", "tomli_w", "tomli")


def make_venv(path: Path, pip_wheel: Path | None = None, without_pip: bool = False) -> Path:
    """A real venv (ensurepip's pip, or ``pip_wheel``) that can import guardpolicy and its deps.

    guardpolicy is made importable with a ``.pth`` pointing at a folder of symlinks to this
    checkout's package and its dependencies (what ``pip install guardpolicy`` would provide,
    without a networked install per test run).
    """
    import importlib

    args = [sys.executable, "-m", "venv", str(path)]
    if pip_wheel or without_pip:
        args.append("--without-pip")
    subprocess.run(args, check=True, capture_output=True, timeout=300)
    python = path / "bin" / "python"
    if pip_wheel:
        subprocess.run([str(python), f"{pip_wheel}/pip", "install", "-q", "--no-index", str(pip_wheel)],
                       check=True, capture_output=True, timeout=300, env=pip_env())
    purelib = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                                  capture_output=True, text=True, check=True).stdout.strip())
    deps = path / "guard-deps"
    deps.mkdir()
    (deps / "guardpolicy").symlink_to(ROOT / "guardpolicy")
    (deps / "_guardpolicy_startup.py").symlink_to(ROOT / "_guardpolicy_startup.py")
    for name in RUNTIME_DEPS:
        try:
            mod = importlib.import_module(name)
        except ImportError:
            continue
        src = Path(mod.__file__)
        src = src.parent if src.name == "__init__.py" else src
        (deps / src.name).symlink_to(src)
    (purelib / "_guard_test_deps.pth").write_text(str(deps) + "\n")
    return python


def copy_tree(src: Path, dst: Path) -> None:
    """Copy a folder (used to snapshot a venv)."""
    shutil.copytree(src, dst, symlinks=True)


def now_iso() -> str:
    """The current UTC time in PEP 700 form."""
    return _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
