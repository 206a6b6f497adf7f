"""Hot-path cost of a gate decision: cached allow vs. uncached pip decision, side by side.

Uses the shipped `default` policy and its shipped lists, a throw-away cache dir, and the same
subjects the pip hook builds (a resolved package with version, hash and index, plus the index).
Prints medians in microseconds. Targets: cached decision < 50 µs; uncached pip decision < 2 ms.

    python benchmarks/bench_gate.py [--runs 2000]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time


def median_us(fn, runs: int) -> tuple:
    """(median, p90) wall time of ``fn()`` in microseconds."""
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1e6)
    times.sort()
    return statistics.median(times), times[len(times) * 9 // 10]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=2000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["GUARD_CACHE_DIR"] = tmp
        os.environ["XDG_STATE_HOME"] = tmp  # the audit log (on by default) writes here, not to the user's log
        os.environ.pop("GUARD_POLICY", None)
        os.environ.pop("GUARD_MODE", None)
        from guardpolicy.model import IndexRef, PackageRef
        from guardpolicy.policy import load_policy
        from guardpolicy.runtime import cache as cache_mod
        from guardpolicy.runtime import gate

        t0 = time.perf_counter()
        policy = load_policy("default")
        load_ms = (time.perf_counter() - t0) * 1e3
        index = IndexRef("https://pypi.org/simple", "index-url")

        def pkg(i):
            return PackageRef(f"package-{i}", "==1.0", version="1.0", hashes=(f"sha256:{i:064x}",), indexes=(index,),
                              extra={"index": "https://pypi.org/simple", "link": f"https://files/package-{i}-1.0-py3-none-any.whl"})

        gate.enforce([pkg(0), index], "warm-up", policy=policy)  # plugin manager, rules, connection
        warm = pkg(1)
        gate.enforce([warm, index], "fill", policy=policy)
        cached = median_us(lambda: gate.enforce([warm, index], "bench", policy=policy), args.runs)
        cache = cache_mod.for_policy(policy)
        lookup = median_us(lambda: cache.is_allowed(warm, policy.digest), args.runs)
        counter = iter(range(10, 10 ** 9))
        uncached = median_us(lambda: gate.enforce([pkg(next(counter)), index], "bench", policy=policy, use_cache=False),
                             max(200, args.runs // 5))
        cold_cache = DecisionCacheProbe(tmp, policy, pkg)
        sqlite_read = median_us(cold_cache.read, max(200, args.runs // 5))
        print(f"gate decisions, policy 'default' (shipped lists), {args.runs} runs, Python {sys.version.split()[0]}")
        print(f"  cached decision (gate.enforce, allow from cache): median {cached[0]:8.1f} µs  p90 {cached[1]:8.1f} µs  (target < 50 µs)")
        print(f"    of which cache lookup (in-process memo):         median {lookup[0]:8.1f} µs")
        print(f"    cache lookup from SQLite (another process' entry): median {sqlite_read[0]:8.1f} µs  p90 {sqlite_read[1]:8.1f} µs")
        print(f"  uncached pip decision (all rules run):             median {uncached[0]:8.1f} µs  p90 {uncached[1]:8.1f} µs  (target < 2000 µs)")
        print(f"  ratio uncached/cached: {uncached[0] / cached[0]:.1f}x   policy load (once per process): {load_ms:.1f} ms")
        import guardpolicy.rules.typosquat as t

        if not hasattr(t, "guard_check_package"):
            print("  note: the typosquat rule on this branch is a stub; re-run after merging feat-typosquat")


class DecisionCacheProbe:
    """Reads entries another process wrote: a fresh connection-level lookup with an empty in-process memo."""

    def __init__(self, tmp, policy, pkg):
        from guardpolicy.runtime.cache import DB_NAME, DecisionCache

        self.cache = DecisionCache(os.path.join(tmp, DB_NAME))
        self.policy = policy
        self.subjects = [pkg(5_000_000 + i) for i in range(400)]
        DecisionCache(os.path.join(tmp, DB_NAME)).store_allowed(self.subjects, policy.digest)
        self.i = 0

    def read(self):
        """One lookup that misses the memo (clears it) and hits SQLite."""
        self.cache._memo.clear()
        self.cache.is_allowed(self.subjects[self.i % len(self.subjects)], self.policy.digest)
        self.i += 1


if __name__ == "__main__":
    main()
