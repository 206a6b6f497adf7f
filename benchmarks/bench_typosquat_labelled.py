"""Typosquat precision, recall and latency on a labelled set built from public lists; prints figures.

    python benchmarks/bench_typosquat_labelled.py [--quick]

The labelled set is generated here, deterministically (fixed seeds), and kept apart from the data
the matcher was tuned on (the tests' names, the known-malicious list, the leave-out of ranks
10,001-15,000 against the top 10,000):

PyPI
- positives: attacker operations (the ones SpellBound/TypoGard and guarddog enumerate: omission,
  repetition, adjacent swap, keyboard substitution, look-alike characters, separators, python/py
  words and affixes, version suffixes, word reordering, bait words) applied to targets drawn from
  the top 5,000 of the shipped list, excluding any result that is itself a listed name;
- long-tail benign: real projects ranked 12,001-15,000 judged against an index of the top 12,000
  only (so they are unseen names), reported as the share denied and the share warned, and the
  subset of them one edit or one affix away from a top-12,000 name (the hard case).
Hub
- positives: look-alike orgs (homoglyphs, one edit, impersonation affixes) of the shipped well-known
  orgs with a real repo name, and one-edit typos of popular repo names under an unknown org;
- negatives: 20% of the shipped popular repo ids held out of the index, judged against the rest.

Latency: every name of the PyPI set through the shipped index in one process, and the first 300
names in a fresh process (the tables are built at load, reported separately): median, p99, max.
"""

from __future__ import annotations

import json
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from guardpolicy.similarity import data  # noqa: E402
from guardpolicy.similarity.hub import HubIndex  # noqa: E402
from guardpolicy.similarity.pypi import PypiIndex  # noqa: E402

LETTERS = "abcdefghijklmnopqrstuvwxyz"
KEYBOARD = ["qwertyuiop", "asdfghjkl", "zxcvbnm"]
HOMOGLYPHS = {"l": "1", "o": "0", "i": "l", "m": "rn", "w": "vv", "d": "cl"}
AFFIXES = [("python-", ""), ("py-", ""), ("", "-py"), ("", "-python"), ("python3-", ""), ("", "-lib"), ("", "-sdk")]
BAIT = ["install", "setup", "update", "pip"]


def _neighbour(ch: str, rnd: random.Random) -> str:
    for row in KEYBOARD:
        i = row.find(ch)
        if i >= 0:
            return row[max(0, i - 1)] if rnd.random() < 0.5 and i > 0 else row[min(len(row) - 1, i + 1)]
    return rnd.choice(LETTERS)


def squat(target: str, op: str, rnd: random.Random) -> str:
    """One attacker operation on ``target`` (a canonical name)."""
    n = len(target)
    i = rnd.randrange(1, n - 1) if n > 3 else 1
    if op == "omission":
        return target[:i] + target[i + 1:]
    if op == "repetition":
        return target[:i] + target[i] + target[i:]
    if op == "swap":
        return target[:i - 1] + target[i] + target[i - 1] + target[i + 1:]
    if op == "keyboard":
        return target[:i] + _neighbour(target[i], rnd) + target[i + 1:]
    if op == "homoglyph":
        spots = [k for k, ch in enumerate(target) if ch in HOMOGLYPHS]
        if not spots:
            return ""
        k = rnd.choice(spots)
        return target[:k] + HOMOGLYPHS[target[k]] + target[k + 1:]
    if op == "affix":
        pre, suf = rnd.choice(AFFIXES)
        return pre + target + suf
    if op == "version":
        return target + rnd.choice(["2", "3", "-v2", "-2"])
    if op == "words":
        words = target.split("-")
        if len(words) < 2:
            return ""
        rnd.shuffle(words)
        return "-".join(words)
    if op == "bait":
        return rnd.choice([f"{target}-{rnd.choice(BAIT)}", f"{rnd.choice(BAIT)}-{target}"])
    if op == "two-edits":
        if n < 10:
            return ""
        once = squat(target, rnd.choice(["omission", "keyboard", "repetition"]), rnd)
        return squat(once, rnd.choice(["omission", "keyboard", "repetition"]), rnd)
    raise ValueError(op)


OPS = ["omission", "repetition", "swap", "keyboard", "homoglyph", "affix", "version", "words", "bait", "two-edits"]


def pypi_positives(top, n: int, seed: int = 20261206):
    rnd = random.Random(seed)
    listed = set(top)
    out = []
    while len(out) < n:
        # popular targets are the ones attacked: half from the top 500, half from 500-5,000
        target = rnd.choice(top[:500]) if rnd.random() < 0.5 else rnd.choice(top[500:5000])
        op = rnd.choice(OPS)
        name = squat(target, op, rnd)
        if name and name not in listed and name.strip("-") == name and "--" not in name:
            out.append((name, target, op))
    return out


def shapes_near(name: str, idx: PypiIndex) -> bool:
    """A long-tail name one edit or one affix away from a listed name (the hard benign case)."""
    from rapidfuzz import process
    from rapidfuzz.distance import OSA

    plain = name.replace("-", "")
    near = process.extractOne(plain, [n.replace("-", "") for n in idx.names], scorer=OSA.distance, score_cutoff=1)
    if near is not None:
        return True
    from guardpolicy.similarity.text import affix_cores

    return any(core in idx.rank for core in affix_cores(name))


def judge(idx: PypiIndex, name: str):
    m = idx.match(name)
    if m is None:
        return "allow", None
    return ("deny" if m.strong else "warn"), m


def pypi_section(quick: bool):
    top = list(data.pypi_top())
    idx = data.pypi_index()
    positives = pypi_positives(top, 600 if quick else 3000)
    verdicts = [(name, target, op, *judge(idx, name)) for name, target, op in positives]
    caught = [v for v in verdicts if v[3] != "allow"]
    denied = [v for v in verdicts if v[3] == "deny"]
    right_target = sum(1 for v in caught if v[4].target == v[1])
    print(f"[PyPI positives] {len(positives)} generated squats of top-5,000 names")
    print(f"  recall (deny or warn) {len(caught) / len(positives):.3f}   denied {len(denied) / len(positives):.3f}   "
          f"imitated name right {right_target}/{len(caught)}")
    by_op = {}
    for v in verdicts:
        by_op.setdefault(v[2], []).append(v[3] != "allow")
    print("  recall by operation: " + ", ".join(f"{op} {sum(h) / len(h):.2f}" for op, h in sorted(by_op.items())))
    missed = [v[0] for v in verdicts if v[3] == "allow"][:15]
    print(f"  missed (first 15): {', '.join(missed)}")

    # long tail: unseen real names, judged against the top 12,000 only
    leave = PypiIndex(top[:12000], canonical=True).warm()
    tail = top[12000:] if not quick else top[12000:12600]
    tail_v = [judge(leave, n)[0] for n in tail]
    near = [(n, v) for n, v in zip(tail, tail_v) if shapes_near(n, leave)]
    d = sum(v == "deny" for v in tail_v)
    w = sum(v == "warn" for v in tail_v)
    nd = sum(v == "deny" for _, v in near)
    nw = sum(v == "warn" for _, v in near)
    print(f"\n[PyPI long tail] {len(tail)} real projects ranked 12,001-15,000, unseen by the index")
    print(f"  denied {d / len(tail):.3f}   warned {w / len(tail):.3f}")
    print(f"  of them one edit or one affix from a listed name: {len(near)}; denied {nd / max(1, len(near)):.3f}, "
          f"warned {nw / max(1, len(near)):.3f} (targets: deny <= 0.05, warn <= 0.35)")
    # precision: the positives against an equal number of benign long-tail names, same index
    fp_any = sum(v != "allow" for v in tail_v) * len(positives) / len(tail)
    fp_deny = d * len(positives) / len(tail)
    prec_any = len(caught) / (len(caught) + fp_any)
    prec_deny = len(denied) / (len(denied) + fp_deny) if denied else 0.0
    print("\n[PyPI precision, balanced (as many benign long-tail names as squats)]")
    print(f"  flagged (deny or warn): precision {prec_any:.3f}, recall {len(caught) / len(positives):.3f}")
    print(f"  denied only:            precision {prec_deny:.3f}, recall {len(denied) / len(positives):.3f}")
    print("  (targets: precision >= 0.99, recall >= 0.95)")
    return [v[0] for v in verdicts]


def hub_section(quick: bool):
    rnd = random.Random(11)
    models = list(data.hf_models())
    orgs = data.hf_orgs()
    held = set(rnd.sample(models, len(models) // 5))
    index = HubIndex(models=[m for m in models if m not in held], datasets=data.hf_datasets(), orgs=orgs)
    negatives = sorted(held)
    fp = [m for m in negatives if index.match(m) is not None]
    wellknown = [o for o, curated in orgs.items() if curated]
    known_lower = {o.lower() for o in orgs}
    names = [m.split("/", 1)[1] for m in models if "/" in m]
    popular_names = {m.split("/", 1)[-1].lower() for m in models}
    positives = []
    while len(positives) < (150 if quick else 600):
        kind = rnd.random()
        org = rnd.choice(wellknown)
        if kind < 0.5:
            op = rnd.choice(["omission", "keyboard", "swap", "homoglyph", "repetition"])
            fake = squat(org.lower(), op, rnd) if len(org) >= 5 else ""
            if kind < 0.15:
                fake = org.lower() + rnd.choice(["-official", "-research", "-hf", "-ai", "2"])
            repo = f"{fake}/{rnd.choice(names)}"
        else:
            base = rnd.choice([m for m in models if "/" in m])
            repo_name = base.split("/", 1)[1].lower()
            if len(repo_name) < 6:
                continue
            typo = squat(repo_name, rnd.choice(["omission", "keyboard", "swap", "repetition"]), rnd)
            repo = f"{rnd.choice(['ai-hub', 'freemodels', 'xyzlab', 'opnsource'])}/{typo}"
            fake = repo.split("/")[0]
        # a typo that lands on another popular repo's exact name is a mirror of that repo, not a look-alike
        if fake and fake not in known_lower and repo.split("/", 1)[1].lower() not in popular_names:
            positives.append(repo)
    full = data.hf_index()
    caught = [p for p in positives if full.match(p) is not None]
    tp, fpn = len(caught), len(fp) * len(positives) / max(1, len(negatives))
    print(f"\n[Hub] {len(positives)} generated look-alike ids; {len(negatives)} real ids held out of the index")
    print(f"  recall {tp / len(positives):.3f}   false positives on held-out real ids {len(fp)}/{len(negatives)}   "
          f"precision (balanced) {tp / (tp + fpn):.3f}   (targets: >= 0.98 / >= 0.95)")
    missed = [p for p in positives if p not in caught][:10]
    print(f"  missed (first 10): {', '.join(missed)}")
    if fp:
        print(f"  false positives (first 10): {', '.join(fp[:10])}")


FRESH = r"""
import json, sys, time
t = time.perf_counter()
from guardpolicy.similarity import data
idx = data.pypi_index()
load = time.perf_counter() - t
out = []
for name in json.loads(sys.stdin.read()):
    t = time.perf_counter_ns(); idx.match(name); out.append((time.perf_counter_ns() - t) / 1000)
print(json.dumps({"load_ms": load * 1000, "us": out}))
"""


def pct(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * q))]


def latency_section(names):
    idx = data.pypi_index()
    for n in names[:50]:
        idx.match(n)
    us = []
    for n in names:
        t = time.perf_counter_ns()
        idx.match(n)
        us.append((time.perf_counter_ns() - t) / 1000)
    print(f"\n[latency per name, in process, {len(names)} names] median {statistics.median(us):.1f} us, "
          f"p99 {pct(us, 0.99):.1f} us, max {max(us):.1f} us")
    runs = []
    for _ in range(5):
        proc = subprocess.run([sys.executable, "-c", FRESH], input=json.dumps(names[:300]), capture_output=True,
                              text=True, cwd=ROOT, check=True)
        runs.append(json.loads(proc.stdout))
    first = [u for r in runs for u in r["us"]]
    print(f"[latency, first 300 names of 5 fresh processes] median {statistics.median(first):.1f} us, "
          f"p99 {pct(first, 0.99):.1f} us, max {max(first):.1f} us; very first name "
          f"{statistics.median(r['us'][0] for r in runs):.1f} us; index load {statistics.median(r['load_ms'] for r in runs):.1f} ms "
          f"(target: median and p99 <= 100 us)")


def main(argv):
    quick = "--quick" in argv
    print(f"python {sys.version.split()[0]}\n")
    names = pypi_section(quick)
    hub_section(quick)
    benign = list(data.pypi_top())[::7]
    mixed = [x for pair in zip(names, benign) for x in pair]
    latency_section(mixed)


if __name__ == "__main__":
    main(sys.argv[1:])
