"""Build tiny real wheels for tests (no setuptools run): METADATA, WHEEL and RECORD in a zip."""

from __future__ import annotations

import base64
import hashlib
import zipfile
from pathlib import Path
from typing import Iterable


def _record_hash(data: bytes) -> str:
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def build_wheel(dest: Path, name: str, version: str, requires: Iterable[str] = ()) -> Path:
    """Write ``<name>-<version>-py3-none-any.whl`` into ``dest`` and return its path."""
    dest.mkdir(parents=True, exist_ok=True)
    mod = name.replace("-", "_")
    dist_info = f"{mod}-{version}.dist-info"
    meta = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
    meta += "".join(f"Requires-Dist: {r}\n" for r in requires)
    files = {
        f"{mod}/__init__.py": f"__version__ = {version!r}\n".encode(),
        f"{dist_info}/METADATA": meta.encode(),
        f"{dist_info}/WHEEL": b"Wheel-Version: 1.0\nGenerator: guardpolicy-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = "".join(f"{p},{_record_hash(d)},{len(d)}\n" for p, d in files.items()) + f"{dist_info}/RECORD,,\n"
    files[f"{dist_info}/RECORD"] = record.encode()
    path = dest / f"{mod}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as zf:
        for p, d in files.items():
            info = zipfile.ZipInfo(p, date_time=(2024, 1, 1, 0, 0, 0))
            zf.writestr(info, d)
    return path


def build_wheelhouse(dest: Path) -> Path:
    """The standard test wheelhouse: alpha 1.0 (needs beta), beta 2.0, gamma 0.1."""
    build_wheel(dest, "alpha", "1.0", ["beta>=2"])
    build_wheel(dest, "beta", "2.0")
    build_wheel(dest, "gamma", "0.1")
    return dest
