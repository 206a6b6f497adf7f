"""Cost of the unpickling gate (``sys.addaudithook`` on ``pickle.find_class``); prints figures.

    python benchmarks/bench_audit_hook.py [--quick | --runs N]

Side by side in one run, alternating, each in a fresh interpreter:
1. an import-heavy start (``import transformers``) with the startup hook (finder + audit hook)
   and without: every audited event (imports, opens, compiles) passes the hook;
2. ``pickle.loads`` of a pickle with 20,000 globals of 200 distinct user classes, in process,
   with and without the audit hook (each distinct global is judged once, then a dict hit).
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

HOOKED = "import _guardpolicy_startup as s; s.install(); "
#: the same hook without the audit hook (sys.addaudithook made a no-op first): the finder's own cost
FINDER_ONLY = "import sys; sys.addaudithook = lambda hook: None; import _guardpolicy_startup as s; s.install(); "
IMPORT = "import transformers"
LOADS = r"""
import pickle, time, types, sys
mod = types.ModuleType("benchmod"); sys.modules["benchmod"] = mod
classes = []
for i in range(200):
    c = type(f"C{i}", (), {}); c.__module__ = "benchmod"; setattr(mod, f"C{i}", c); classes.append(c)
data = pickle.dumps([classes[i % 200] for i in range(20000)], protocol=4)
%s
t = time.perf_counter()
for _ in range(20):
    pickle.loads(data)
print((time.perf_counter() - t) / 20 * 1000)
"""


def run(code: str) -> float:
    t = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, cwd=ROOT)
    return time.perf_counter() - t


def main(argv):
    n = 5 if "--quick" in argv else int(argv[argv.index("--runs") + 1]) if "--runs" in argv else 15
    plain, finder, hooked = [], [], []
    run(IMPORT)  # warm the page cache
    for _ in range(n):
        plain.append(run(IMPORT))
        finder.append(run(FINDER_ONLY + IMPORT))
        hooked.append(run(HOOKED + IMPORT))
    mp, mf, mh = statistics.median(plain), statistics.median(finder), statistics.median(hooked)
    print(f"[import transformers, {n} runs each, alternating]")
    print(f"  no hook:                median {mp * 1000:8.1f} ms")
    print(f"  finder only:            median {mf * 1000:8.1f} ms   {mf / mp:.3f}x (patching huggingface_hub on import)")
    print(f"  finder + audit hook:    median {mh * 1000:8.1f} ms   {mh / mp:.3f}x")
    print(f"  => the audit hook adds {mh / mf:.3f}x over the finder alone (target: <= 1.02x)")
    loads = {}
    for label, prefix in (("without", ""), ("with", "import _guardpolicy_startup as s; s.install()")):
        out = subprocess.run([sys.executable, "-c", LOADS.replace("%s", prefix)], check=True, capture_output=True,
                             text=True, cwd=ROOT)
        loads[label] = float(out.stdout.strip())
    print("[pickle.loads of 20,000 globals (200 distinct), per call]")
    print(f"  without hook: {loads['without']:7.2f} ms")
    print(f"  with hook:    {loads['with']:7.2f} ms   ratio {loads['with'] / loads['without']:.2f}x")


if __name__ == "__main__":
    main(sys.argv[1:])
