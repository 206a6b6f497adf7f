"""What the Hub and torch.load gates add per call, side by side with the unpatched functions.

Run: ``python benchmarks/bench_hub_runtime.py`` (prints figures; asserts nothing). It starts the
test FakeHub on 127.0.0.1, installs the startup hook, downloads a pinned file once, then times:

* ``hf_hub_download`` of a pinned, cached file (the hot path: transformers asks for many files):
  the wrapper vs ``__wrapped__`` (the original), median per call;
* the decision for a repo reference not seen in this process, with and without the decision cache;
* ``torch.load(weights_only=False)`` of a scanned-clean checkpoint vs the original (if torch is installed).
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]


def median_us(fn, n: int = 300) -> float:
    times = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1e6


def main() -> None:
    from runtime_support import safetensors_bytes
    from support.fakehub import FakeHub

    tmp = Path(tempfile.mkdtemp(prefix="guard-bench-"))
    hub = FakeHub()
    shas = [hub.add_repo(f"acme/m{i}", {"config.json": b"{}", "model.safetensors": safetensors_bytes()}) for i in range(50)]
    url = hub.start()
    policy = tmp / "guard.toml"
    policy.write_text(f'[sources]\nhub_endpoints = ["{url}"]\nallow_http = true\n[rules.unpinned]\naction = "deny"\n')
    os.environ.update({"HF_ENDPOINT": url, "HF_HUB_CACHE": str(tmp / "hf"), "GUARD_POLICY": str(policy),
                       "XDG_CACHE_HOME": str(tmp / "xdg"), "HF_HUB_DISABLE_PROGRESS_BARS": "1",
                       "HF_HUB_DISABLE_TELEMETRY": "1", "HF_HUB_DISABLE_XET": "1"})
    import guardpolicy._startup as startup

    startup.install()
    from huggingface_hub import hf_hub_download

    original = hf_hub_download.__wrapped__
    for f in ("config.json", "model.safetensors"):
        hf_hub_download("acme/m0", f, revision=shas[0])

    def guarded():
        hf_hub_download("acme/m0", "model.safetensors", revision=shas[0])

    def plain():
        original("acme/m0", "model.safetensors", revision=shas[0])

    g, p = median_us(guarded), median_us(plain)
    print(f"hf_hub_download, pinned cache hit: guarded {g:8.1f} us  original {p:8.1f} us  "
          f"added {g - p:7.1f} us  ratio {g / p:5.2f}x")

    for i in range(1, 50):
        hf_hub_download(f"acme/m{i}", "config.json", revision=shas[i])  # fill the HF cache
    from guardpolicy.runtime import hf as hfmod

    for label, cache_env, prefix in (("seen before, decision cache on", "1", "acme/m"),
                                     ("never seen, decision cache off", "0", "fresh-org/model-")):
        os.environ["GUARD_CACHE"] = cache_env
        firsts = []
        for i in range(1, 50):
            hfmod.reset()  # forget the in-process memo: every reference is judged again
            ref = hfmod._model_ref(f"{prefix}{i}", "model", shas[i], url, ("config.json",))
            t = time.perf_counter()
            hfmod.check_entry(ref, ["config.json"], "bench")
            firsts.append(time.perf_counter() - t)
        print(f"entry decision for a repo reference ({label}): median "
              f"{statistics.median(firsts) * 1e3:6.3f} ms")
    os.environ["GUARD_CACHE"] = "1"

    try:
        import torch
    except ImportError:
        print("torch not installed: torch.load figures skipped")
    else:
        ckpt = tmp / "clean.pt"
        torch.save({"w": torch.zeros(16)}, ckpt)
        torch.load(ckpt, weights_only=False)  # scanned once
        tg = median_us(lambda: torch.load(ckpt, weights_only=False), 200)
        tp = median_us(lambda: torch.load.__wrapped__(ckpt, weights_only=False), 200)
        print(f"torch.load(weights_only=False), scanned clean: guarded {tg:8.1f} us  original {tp:8.1f} us  "
              f"added {tg - tp:7.1f} us  ratio {tg / tp:5.2f}x")
    hub.stop()


if __name__ == "__main__":
    main()
