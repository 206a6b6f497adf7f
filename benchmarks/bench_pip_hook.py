"""``pip install`` of 19 wheels with the guard hook vs without, side by side (issue 14: <= 1.10x cold, <= 1.05x warm).

    python benchmarks/bench_pip_hook.py [--runs 7]

Two venvs with the same pip (the interpreter's ensurepip), one with ``guard hook install``. A local
PEP 503 index on 127.0.0.1 serves 19 small wheels named after popular PyPI projects (one root
requirement pulls the rest in, as a real install does). Each run installs all 19 into the venv
(``--no-cache-dir``, so pip itself starts cold every time) and uninstalls them afterwards (not
timed). Alternating runs:

* unhooked pip;
* hooked pip, warm: guard's decision cache and compiled policy cache kept from earlier runs;
* hooked pip, cold: guard's cache folder emptied first (full policy load, every package judged).

Prints the medians and the ratios to the unhooked run.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

#: requests' tree plus common leaves: real names, so no rule has anything to say about them
NAMES = ("requests", "urllib3", "idna", "certifi", "charset-normalizer", "six", "attrs", "packaging",
         "pyparsing", "python-dateutil", "pytz", "pyyaml", "click", "jinja2", "markupsafe", "itsdangerous",
         "werkzeug", "blinker", "flask")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=7)
    args = ap.parse_args()
    from pipindex import Index, build_wheel, make_venv, pip_env

    tmp = Path(tempfile.mkdtemp(prefix="guard-bench-pip-"))
    files = tmp / "files"
    for name in NAMES[1:]:
        build_wheel(files, name, "1.0")
    build_wheel(files, NAMES[0], "1.0", requires=[f"{n}==1.0" for n in NAMES[1:]])
    index = Index(files).start()
    try:
        plain = make_venv(tmp / "plain")
        hooked = make_venv(tmp / "hooked")
        cache = tmp / "guard-cache"
        policy = tmp / "policy.toml"
        policy.write_text(f'extends = ["default"]\n[sources]\nindexes = ["{index.url}"]\nallow_http = true\n')
        env = pip_env({"GUARD_POLICY": str(policy), "GUARD_CACHE_DIR": str(cache)})
        r = subprocess.run([sys.executable, "-m", "guardpolicy", "hook", "install", "--python", str(hooked)],
                           capture_output=True, text=True, env=env, timeout=300)
        if r.returncode != 0:
            sys.exit(f"hook install failed: {r.stderr}")

        def install(python: Path) -> float:
            t = time.perf_counter()
            r = subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-cache-dir", "-i", index.url,
                                f"{NAMES[0]}==1.0"], capture_output=True, text=True, env=env, timeout=600)
            elapsed = time.perf_counter() - t
            if r.returncode != 0:
                sys.exit(f"pip install failed:\n{r.stderr}")
            subprocess.run([str(python), "-m", "pip", "uninstall", "-y", "-q", *NAMES], capture_output=True,
                           env=env, timeout=600, check=True)
            return elapsed

        install(plain)
        install(hooked)  # warm every cache once (and write .pyc files)
        base, warm, cold = [], [], []
        for _ in range(args.runs):
            base.append(install(plain))
            warm.append(install(hooked))
            shutil.rmtree(cache, ignore_errors=True)
            cold.append(install(hooked))
        mb, mw, mc = statistics.median(base), statistics.median(warm), statistics.median(cold)
        print(f"pip install of {len(NAMES)} wheels from a local index, {args.runs} runs each (alternating), median:")
        print(f"  unhooked:     {mb * 1e3:7.0f} ms")
        print(f"  hooked warm:  {mw * 1e3:7.0f} ms   {mw / mb:.3f}x   (target: <= 1.05x)")
        print(f"  hooked cold:  {mc * 1e3:7.0f} ms   {mc / mb:.3f}x   (target: <= 1.10x)")
    finally:
        index.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
