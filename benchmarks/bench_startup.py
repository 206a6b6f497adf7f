"""Added start-up cost of the guard hook: `python -c pass` with the hook vs. without, side by side.

Builds two throw-away venvs (no pip; same interpreter; both can import guardpolicy through an
identical .pth path line), installs the hook into one with `guard hook install`, then times
alternating runs (hyperfine-style: warm-up, many runs, median). Prints medians, the added
milliseconds and the ratio. Target (issue 14): within 0.3 ms of the unhooked interpreter.

    python benchmarks/bench_startup.py [--runs 300]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
# the tests' venv builder: no pip, and a .pth to a folder of symlinks to this checkout's guardpolicy and deps
from pipindex import make_venv  # noqa: E402


def time_once(python: Path, env) -> float:
    """Wall time of one `python -c pass` (posix_spawn + waitpid: little harness overhead)."""
    t0 = time.perf_counter()
    pid = os.posix_spawn(str(python), [str(python), "-c", "pass"], env)
    os.waitpid(pid, 0)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=300)
    ap.add_argument("--warmup", type=int, default=30)
    args = ap.parse_args()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GUARD", "PYTHON"))}
    with tempfile.TemporaryDirectory() as tmp:
        base = make_venv(Path(tmp) / "base", without_pip=True)
        hooked = make_venv(Path(tmp) / "hooked", without_pip=True)
        # the floor: what any .pth that imports a module costs (an empty module beside ours, compiled)
        floor = make_venv(Path(tmp) / "floor", without_pip=True)
        empty = Path(tmp) / "floor" / "guard-deps" / "_guard_empty.py"
        empty.write_text("")
        subprocess.run([str(floor), "-m", "compileall", "-q", str(empty)], check=True)
        purelib = next((Path(tmp) / "floor" / "lib").glob("python*/site-packages"))
        (purelib / "guardpolicy.pth").write_text("import _guard_empty\n")
        r = subprocess.run([sys.executable, "-m", "guardpolicy", "hook", "install", "--python", str(hooked)],
                           capture_output=True, text=True)
        if r.returncode != 0:
            sys.exit(f"hook install failed: {r.stderr}")
        check = subprocess.run([str(hooked), "-c", "import sys; print(sorted(m for m in sys.modules if 'guardpolicy' in m and 'editable' not in m))"],
                               capture_output=True, text=True, env=env).stdout.strip()
        for _ in range(args.warmup):
            time_once(base, env)
            time_once(hooked, env)
            time_once(floor, env)
        a, b, c = [], [], []
        for _ in range(args.runs):  # alternate, so drift and noise hit all sides alike
            a.append(time_once(base, env))
            b.append(time_once(hooked, env))
            c.append(time_once(floor, env))
        ma, mb, mc = statistics.median(a), statistics.median(b), statistics.median(c)
        print(f"python -c pass, {args.runs} runs each (alternating), interpreter {sys.version.split()[0]}")
        print(f"  without hook: median {ma * 1e3:7.3f} ms   (p10 {sorted(a)[len(a) // 10] * 1e3:.3f}, p90 {sorted(a)[len(a) * 9 // 10] * 1e3:.3f})")
        print(f"  with hook:    median {mb * 1e3:7.3f} ms   (p10 {sorted(b)[len(b) // 10] * 1e3:.3f}, p90 {sorted(b)[len(b) * 9 // 10] * 1e3:.3f})")
        print(f"  added:        {(mb - ma) * 1e3:+.3f} ms median   ratio {mb / ma:.3f}x   (target: <= 0.3 ms added)")
        print(f"  floor:        {(mc - ma) * 1e3:+.3f} ms median   (a .pth importing an empty module: what any import-based hook costs)")
        print(f"  guardpolicy modules loaded at start-up: {check}")


if __name__ == "__main__":
    main()
