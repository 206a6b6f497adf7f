"""The first gated operation of a process, with the hook vs without, side by side (issue 14: <= 5 ms warm).

    python benchmarks/bench_first_gate.py [--runs 15]

Starts the test FakeHub on 127.0.0.1 with a pinned repo, warms every cache once (the Hub cache,
the decision cache, the compiled policy cache), then alternates fresh interpreters, each timing
only its first call:

* ``hf_hub_download`` of a pinned, cached file: the hooked interpreter (``_guardpolicy_startup``
  installed as the ``.pth`` does) vs an unhooked one (the call itself, nothing else);
* ``gate.enforce`` of one package (what the hooked pip asks per requirement) in a hooked process,
  with warm caches and with an empty cache folder (the full policy load, for comparison).

"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

HOOK = "import _guardpolicy_startup as s; s.install()\n"
HUB = """
import time
from huggingface_hub import hf_hub_download
t = time.perf_counter()
hf_hub_download("acme/m0", "model.safetensors", revision="{sha}")
print((time.perf_counter() - t) * 1e3)
"""
PIP = """
import time
from guardpolicy.runtime import gate
from guardpolicy.model import PackageRef
t = time.perf_counter()
gate.enforce([PackageRef("requests", "==2.31.0", version="2.31.0")], "bench")
print((time.perf_counter() - t) * 1e3)
"""


def first_call_ms(code: str, env: dict) -> float:
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    if out.returncode != 0:
        sys.exit(f"benchmark process failed:\n{out.stderr}")
    return float(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=15)
    args = ap.parse_args()
    from runtime_support import safetensors_bytes
    from support.fakehub import FakeHub

    tmp = Path(tempfile.mkdtemp(prefix="guard-bench-first-"))
    hub = FakeHub()
    sha = hub.add_repo("acme/m0", {"config.json": b"{}", "model.safetensors": safetensors_bytes()})
    url = hub.start()
    try:
        policy = tmp / "guard.toml"
        policy.write_text(f'[sources]\nhub_endpoints = ["{url}"]\nallow_http = true\n')
        env = {k: v for k, v in os.environ.items() if not k.startswith(("GUARD", "PYTHONDONTWRITEBYTECODE"))}
        env.update({"HF_ENDPOINT": url, "HF_HUB_CACHE": str(tmp / "hf"), "GUARD_POLICY": str(policy),
                    "XDG_CACHE_HOME": str(tmp / "cache"), "XDG_CONFIG_HOME": str(tmp / "config"),
                    "XDG_STATE_HOME": str(tmp / "state"), "HF_HUB_DISABLE_PROGRESS_BARS": "1",
                    "HF_HUB_DISABLE_TELEMETRY": "1", "HF_HUB_DISABLE_XET": "1", "HF_HUB_OFFLINE": "0"})
        hub_code = HUB.format(sha=sha)
        for _ in range(2):  # warm: Hub cache, decision cache, compiled policy cache, .pyc files
            first_call_ms(HOOK + hub_code, env)
            first_call_ms(HOOK + PIP, env)
            first_call_ms(hub_code, env)
        hooked, plain, pip, cold = [], [], [], []
        for i in range(args.runs):
            hooked.append(first_call_ms(HOOK + hub_code, env))
            plain.append(first_call_ms(hub_code, env))
            pip.append(first_call_ms(HOOK + PIP, env))
            fresh = dict(env, XDG_CACHE_HOME=str(tmp / f"cold{i}"))  # no compiled policy, no decisions
            cold.append(first_call_ms(HOOK + PIP, fresh))
            shutil.rmtree(tmp / f"cold{i}", ignore_errors=True)
        mh, mp, mg, mc = (statistics.median(x) for x in (hooked, plain, pip, cold))
        print(f"first gated operation in a fresh process, {args.runs} runs each (alternating), median:")
        print(f"  hf_hub_download (pinned, cached): hooked {mh:7.2f} ms   unhooked {mp:7.2f} ms   "
              f"added {mh - mp:+6.2f} ms   (target: <= 5 ms added)")
        print(f"  gate.enforce of one package:      warm   {mg:7.2f} ms   cold caches {mc:7.2f} ms")
    finally:
        hub.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
