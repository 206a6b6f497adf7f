"""Long-running fuzzer for the scanner: mutate seed files and random opcode streams for N seconds.

    python benchmarks/fuzz_scan.py --seconds 600 [--seed 1]

Any exception escaping the scanner is a bug: the input is saved to ``fuzz-crash-<n>.bin`` and the
traceback printed. Also checks that plain-data pickles never produce a hit (false positive).
"""

from __future__ import annotations

import argparse
import os
import pickle
import random
import sys
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests"))

from scan_corpus import seeds  # noqa: E402
from test_scan_fuzz import SNIPPETS  # noqa: E402

from guardpolicy.scan.containers import Scanner  # noqa: E402
from guardpolicy.scan.limits import ScanLimits  # noqa: E402

LIMITS = ScanLimits(max_decompressed=64 << 20, max_opcodes=500_000)


def mutate(rng: random.Random, data: bytes) -> bytes:
    """Flip, insert, delete, splice or truncate."""
    buf = bytearray(data or b"\0")
    for _ in range(rng.randint(1, 8)):
        kind = rng.random()
        pos = rng.randrange(len(buf) or 1)
        if kind < 0.4:
            buf[pos % len(buf)] = rng.randrange(256)
        elif kind < 0.55:
            buf[pos:pos] = rng.choice(SNIPPETS)
        elif kind < 0.7:
            del buf[pos:pos + rng.randint(1, 16)]
        elif kind < 0.85:
            struct_pos = pos % max(1, len(buf) - 4)
            buf[struct_pos:struct_pos + 4] = rng.choice([b"\xff\xff\xff\xff", b"\0\0\0\0", b"\x7f\xff\xff\xff"])
        else:
            del buf[pos:]
        if not buf:
            buf = bytearray(b"\0")
    return bytes(buf)


def random_value(rng: random.Random, depth: int = 0):
    kind = rng.randrange(9 if depth < 4 else 5)
    if kind == 0:
        return None
    if kind == 1:
        return rng.randint(-(2 ** 70), 2 ** 70)
    if kind == 2:
        return rng.random()
    if kind == 3:
        return "".join(chr(rng.randrange(32, 0x3000)) for _ in range(rng.randrange(10)))
    if kind == 4:
        return bytes(rng.randrange(256) for _ in range(rng.randrange(20)))
    if kind == 5:
        return [random_value(rng, depth + 1) for _ in range(rng.randrange(5))]
    if kind == 6:
        return tuple(random_value(rng, depth + 1) for _ in range(rng.randrange(5)))
    if kind == 7:
        return {str(rng.random()): random_value(rng, depth + 1) for _ in range(rng.randrange(5))}
    return {rng.randrange(100) for _ in range(rng.randrange(5))}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=300)
    ap.add_argument("--seed", type=int, default=None)
    args = ap.parse_args()
    seed = args.seed if args.seed is not None else int(time.time())
    rng = random.Random(seed)
    corpus = seeds()
    deadline = time.monotonic() + args.seconds
    runs = crashes = false_positives = 0
    while time.monotonic() < deadline:
        runs += 1
        r = rng.random()
        if r < 0.6:
            data = mutate(rng, rng.choice(corpus))
        elif r < 0.85:
            data = b"".join(rng.choice(SNIPPETS) for _ in range(rng.randrange(80)))
        else:
            data = pickle.dumps(random_value(rng), protocol=rng.randrange(6))
        try:
            report = Scanner(LIMITS).scan_bytes(data)
        except BaseException:  # noqa: BLE001 - reporting is the point
            crashes += 1
            name = f"fuzz-crash-{crashes}.bin"
            with open(name, "wb") as fh:
                fh.write(data)
            print(f"CRASH saved to {name}:\n{traceback.format_exc()}", file=sys.stderr)
            continue
        internal = [p for p in report.problems if p.kind == "internal"]
        if internal:
            crashes += 1
            name = f"fuzz-crash-{crashes}.bin"
            with open(name, "wb") as fh:
                fh.write(data)
            print(f"INTERNAL ERROR saved to {name}: {internal}", file=sys.stderr)
        if r >= 0.85 and not report.clean:
            false_positives += 1
            print(f"FALSE POSITIVE on plain data: {report.hits} {report.problems}", file=sys.stderr)
    print(f"seed {seed}: {runs} inputs in {args.seconds:g} s, {crashes} crashes, {false_positives} false positives")
    return 1 if crashes or false_positives else 0


if __name__ == "__main__":
    sys.exit(main())
