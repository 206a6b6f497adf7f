"""How long loading the effective policy takes (the runtime gate pays this once per process).

Prints median wall times for: the shipped default, strict, the ACME example (4 layers with
locks and a waiver), and a remote bundle served from 127.0.0.1 and then answered from the
cache (no request) or revalidated (304). Run: python benchmarks/policy_load.py
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from guardpolicy.plugins import rule_infos  # noqa: E402
from guardpolicy.policy import load_policy  # noqa: E402
from guardpolicy.policy.loader import shipped_dir  # noqa: E402

BUNDLE = b'revision = 1\nextends = ["strict"]\nlocked = ["sources"]\n[sources]\nindexes = ["https://pypi.org/simple"]\n'


def median_ms(fn, n=50) -> float:
    fn()
    times = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1000


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802
        etag = '"v1"'
        if self.headers.get("If-None-Match") == etag:
            self.send_response(304)
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("ETag", etag)
        self.send_header("Content-Length", str(len(BUNDLE)))
        self.end_headers()
        self.wfile.write(BUNDLE)

    def log_message(self, *args):
        pass


def main() -> None:
    rules = rule_infos()
    with tempfile.TemporaryDirectory() as tmp:
        # an empty user config dir (a guard.toml there would be the floor under every row)
        (Path(tmp) / "conf").mkdir()
        env = {"GUARD_CONFIG_DIR": str(Path(tmp) / "conf"), "GUARD_CACHE_DIR": tmp}
        rows = [
            ("default", lambda: load_policy("default", env=env, rules=rules)),
            ("strict", lambda: load_policy("strict", env=env, rules=rules)),
            ("acme project (4 layers, locks)", lambda: load_policy(
                str(shipped_dir() / "examples/acme/project/guard.toml"), env=env, rules=rules)),
        ]
        httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        try:
            proj = Path(tmp) / "guard.toml"
            proj.write_text(f'extends = ["http://127.0.0.1:{httpd.server_address[1]}/b.toml"]\n')
            rows.append(("bundle, from cache (no request)", lambda: load_policy(str(proj), env=env, rules=rules)))
            rows.append(("bundle, revalidated (304)", lambda: load_policy(str(proj), env=env, rules=rules, refresh="force")))
            base = None
            for name, fn in rows:
                ms = median_ms(fn)
                base = base or ms
                print(f"{name:36s} {ms:8.2f} ms   {ms / base:5.1f}x default")
        finally:
            httpd.shutdown()
            httpd.server_close()


if __name__ == "__main__":
    main()
