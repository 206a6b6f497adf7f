"""Scanner benchmarks, printed side by side (never asserted): guard vs picklescan vs ModelScan.

    pip install -r benchmarks/requirements.txt     # torch, picklescan, modelscan (benchmark env only)
    python benchmarks/bench_scan.py [--size-gib 1] [--files 1000] [--repeat 5]

1. A 1 GiB torch zip checkpoint (generated in a temp dir): in-process scan time (guard reads
   only the pickles), plus picklescan's in-process scan when installed.
2. ``guard scan FILE`` as a whole process vs ``picklescan -p FILE`` (and ``modelscan -p``).
3. A directory of 1,000 small pickles: ``guard scan DIR`` vs ``picklescan -p DIR`` vs ``modelscan -p DIR``.
4. Peak memory (max RSS) of ``guard scan DIR`` for 10, 1,000 and 5,000 files: flat means results
   are streamed, not kept per file.

guard runs from a throw-away venv that reaches this checkout through a plain ``.pth`` (as an
installed guardpolicy would), not through the development venv's editable-install finders.

Figures are medians of ``--repeat`` runs; the ratio column is other/guard (> 1: guard is faster).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time


def median_time(fn, repeat: int) -> float:
    """Median wall time of ``fn()`` in seconds."""
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def run_cmd(cmd) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t0


#: run by a fresh, small interpreter: the child's peak RSS is not inflated by this (torch-laden) process
_RSS_SHIM = ("import os, subprocess, sys\n"
             "pid = os.posix_spawn(sys.argv[1], sys.argv[1:], dict(os.environ), file_actions=["
             "(os.POSIX_SPAWN_OPEN, 1, os.devnull, os.O_WRONLY, 0), (os.POSIX_SPAWN_OPEN, 2, os.devnull, os.O_WRONLY, 0)])\n"
             "print(os.wait4(pid, 0)[2].ru_maxrss)\n")


def peak_rss_kib(cmd) -> int:
    """The peak resident set size of ``cmd`` (KiB), from the kernel's accounting of that child alone."""
    out = subprocess.run([sys.executable, "-S", "-c", _RSS_SHIM, *cmd], capture_output=True, text=True, check=True)
    return int(out.stdout.strip())


def cmd_time(cmd, repeat: int) -> float:
    run_cmd(cmd)  # warm the page cache and .pyc files
    return statistics.median(run_cmd(cmd) for _ in range(repeat))


def compare(cmds: dict, repeat: int) -> dict:
    """Median wall time of each command, runs interleaved so machine load hits all alike."""
    cmds = {k: v for k, v in cmds.items() if v}
    for cmd in cmds.values():
        run_cmd(cmd)  # warm-up
    times = {k: [] for k in cmds}
    for _ in range(repeat):
        for k, cmd in cmds.items():
            times[k].append(run_cmd(cmd))
    return {k: statistics.median(v) for k, v in times.items()}


def tool(name: str):
    """The console script ``name`` next to this interpreter, or on PATH."""
    here = os.path.join(os.path.dirname(sys.executable), name)
    return here if os.path.exists(here) else shutil.which(name)


def make_checkpoint(path: str, size_gib: float) -> None:
    """A state dict of 256 MiB-or-smaller float32 tensors adding up to ``size_gib``."""
    import torch

    total = int(size_gib * (1 << 30))
    n_tensors = 64
    per = total // n_tensors // 4
    state = {f"layer.{i}.weight": torch.empty(per, dtype=torch.float32).fill_(0.5) for i in range(n_tensors)}
    torch.save(state, path)


def make_pickle_dir(folder: str, n: int) -> None:
    import pickle

    os.makedirs(folder, exist_ok=True)
    for i in range(n):
        with open(os.path.join(folder, f"obj{i:04d}.pkl"), "wb") as fh:
            pickle.dump({"i": i, "w": [float(x) for x in range(50)], "name": f"layer{i}"}, fh, protocol=4)


def row(label: str, guard_s: float, others: dict) -> None:
    cells = [f"guard {guard_s * 1000:8.1f} ms"]
    for name, t in others.items():
        if t is None:
            cells.append(f"{name}: n/a")
        else:
            cells.append(f"{name} {t * 1000:8.1f} ms (x{t / guard_s:5.2f})")
    print(f"{label:<44} " + " | ".join(cells))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size-gib", type=float, default=1.0)
    ap.add_argument("--files", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()

    import compileall

    import guardpolicy
    from guardpolicy import scan_path

    # an installed package has its .pyc files (pip compiles them); a checkout may not
    # (PYTHONDONTWRITEBYTECODE), and compiling on every start would be measured instead
    compileall.compile_dir(os.path.dirname(guardpolicy.__file__), quiet=1, force=False)

    picklescan, modelscan = tool("picklescan"), tool("modelscan")
    with tempfile.TemporaryDirectory() as tmp:
        sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tests"))
        from pipindex import make_venv

        python = make_venv(__import__("pathlib").Path(tmp) / "venv", without_pip=True)
        # the console script pip writes for an installed guardpolicy (picklescan runs through its own)
        script = python.parent / "guard"
        script.write_text(f"#!{python}\nimport sys\nfrom guardpolicy.cli import main\nsys.exit(main())\n")
        script.chmod(0o755)
        guard = [str(script)]
        ckpt = os.path.join(tmp, "model.pt")
        t0 = time.perf_counter()
        make_checkpoint(ckpt, args.size_gib)
        print(f"generated {os.path.getsize(ckpt) / (1 << 30):.2f} GiB checkpoint in {time.perf_counter() - t0:.1f} s")
        assert scan_path(ckpt) == [], "benign checkpoint flagged"

        # 1. in-process scan of the big checkpoint
        g = median_time(lambda: scan_path(ckpt), args.repeat)
        others = {}
        try:
            from picklescan.scanner import scan_file_path

            others["picklescan"] = median_time(lambda: scan_file_path(ckpt), args.repeat)
        except ImportError:
            others["picklescan"] = None
        row(f"scan {args.size_gib:g} GiB torch zip (in process)", g, others)

        # 2. whole process on one file (interleaved runs; python -c pass is the floor)
        small = os.path.join(tmp, "small.pkl")
        make_pickle_dir(os.path.join(tmp, "one"), 1)
        shutil.copy(os.path.join(tmp, "one", "obj0000.pkl"), small)
        for label, target in ((f"`guard scan FILE` ({args.size_gib:g} GiB torch zip)", ckpt),
                              ("`guard scan FILE` (small pickle)", small)):
            t = compare({"guard": [*guard, "scan", target],
                         "picklescan -p": [picklescan, "-p", target] if picklescan else None,
                         "modelscan -p": [modelscan, "-p", target] if modelscan else None,
                         "python -c pass": [sys.executable, "-c", "pass"]}, args.repeat * 3)
            row(label, t.pop("guard"), {k: t.get(k) for k in ("picklescan -p", "modelscan -p", "python -c pass")})
        os.remove(ckpt)

        # 3. a directory of small pickles
        folder = os.path.join(tmp, "pickles")
        make_pickle_dir(folder, args.files)
        t = compare({"guard": [*guard, "scan", folder],
                     "picklescan -p": [picklescan, "-p", folder] if picklescan else None,
                     "modelscan -p": [modelscan, "-p", folder] if modelscan else None}, args.repeat)
        row(f"`guard scan DIR` ({args.files} small pickles)", t.pop("guard"),
            {k: t.get(k) for k in ("picklescan -p", "modelscan -p")})

        # 4. memory against the number of files
        cells = []
        for n in (10, 1000, 5000):
            sub = os.path.join(tmp, f"mem{n}")
            make_pickle_dir(sub, n)
            mem = {"guard": peak_rss_kib([*guard, "scan", sub])}
            if picklescan:
                mem["picklescan"] = peak_rss_kib([picklescan, "-p", sub])
            cells.append(f"{n} files: " + ", ".join(f"{k} {v / 1024:.1f} MiB" for k, v in mem.items()))
        print("peak memory of a folder scan             " + " | ".join(cells))


if __name__ == "__main__":
    main()
