"""Detection coverage side by side: every hostile technique of the test-suite, raw and inside a
torch zip, scanned by guard and by picklescan (when installed). Prints a table and the misses.

    python benchmarks/coverage_scan.py
"""

from __future__ import annotations

import os
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests"))

import pickle_payloads as P  # noqa: E402

from guardpolicy import scan_path  # noqa: E402


def picklescan_flags(path: str):
    """True when picklescan reports anything (an error counts as a detection), None if not installed."""
    try:
        from picklescan.scanner import SafetyLevel, scan_file_path
    except ImportError:
        return None
    try:
        res = scan_file_path(path)
    except Exception:  # noqa: BLE001 - a crash is a detection of sorts
        return True
    return bool(res.scan_err or res.issues_count or any(g.safety != SafetyLevel.Innocuous for g in res.globals))


def modelscan_flags(path: str):
    """True when ModelScan reports an issue or an error, None if not installed."""
    try:
        from modelscan.modelscan import ModelScan
    except ImportError:
        return None
    try:
        res = ModelScan().scan(path)
    except Exception:  # noqa: BLE001
        return True
    return bool(res.get("summary", {}).get("total_issues") or res.get("errors"))


def benign_files(tmp: str) -> dict:
    """Ordinary files written by torch/numpy/joblib/safetensors (those installed)."""
    out = {}
    try:
        import numpy as np
        import torch

        model = torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.BatchNorm1d(4))
        opt = torch.optim.Adam(model.parameters())
        model(torch.randn(2, 4)).sum().backward()
        opt.step()
        for name, obj in {"state_dict": model.state_dict(), "optimizer": opt.state_dict(),
                          "bf16 tensors": {"w": torch.ones(3, dtype=torch.bfloat16)},
                          "checkpoint with numpy": {"model": model.state_dict(), "np": np.arange(3), "epoch": 1}}.items():
            for legacy in (False, True):
                path = os.path.join(tmp, f"{name.replace(' ', '_')}{'_legacy' if legacy else ''}.pt")
                torch.save(obj, path, _use_new_zipfile_serialization=not legacy)
                out[f"torch.save {name}{' (legacy)' if legacy else ''}"] = path
        np.save(os.path.join(tmp, "a.npy"), np.arange(10))
        out["numpy .npy"] = os.path.join(tmp, "a.npy")
        np.savez(os.path.join(tmp, "z.npz"), a=np.arange(3))
        out["numpy .npz"] = os.path.join(tmp, "z.npz")
    except ImportError:
        pass
    try:
        import joblib
        import numpy as np

        joblib.dump({"w": np.arange(100)}, os.path.join(tmp, "m.joblib"))
        out["joblib dump"] = os.path.join(tmp, "m.joblib")
    except ImportError:
        pass
    return out


def main() -> None:
    cases = {}
    for name, data in P.techniques().items():
        cases[f"{name} [raw .pkl]"] = ("model.pkl", data)
        cases[f"{name} [torch zip .bin]"] = ("pytorch_model.bin", P.torch_zip({"archive/data.pkl": data}))
    evil = P.call_global("os", "system")
    zipped = P.torch_zip({"archive/data.pkl": evil, "archive/version": b"3\n"})
    cases["bad CRC"] = ("m.pt", P.patch_member(zipped, "archive/data.pkl", crc=0xDEADBEEF))
    cases["encrypted flag bit"] = ("m.pt", P.patch_member(zipped, "archive/data.pkl", flags=1))
    cases["name mismatch local/central"] = ("m.pt", P.patch_member(zipped, "archive/data.pkl", local_name=b"archive/data.txt"))
    cases["broken central directory"] = ("m.pt", P.break_central_directory(zipped))
    cases["odd member name"] = ("m.pt", P.torch_zip({"archive/data.pkl": b"\x80\x02}.",
                                                     "archive/extra.config": evil}))
    cases["legacy torch"] = ("m.bin", P.legacy_torch(evil))
    cases["pickle after junk"] = ("m.dat", b"JUNK" * 64 + P.stack_global("os", "system"))
    cases["pickle named .safetensors"] = ("m.safetensors", evil)
    tools = {"guard": lambda p: any(f.rule == "pickle" for f in scan_path(p)), "picklescan": picklescan_flags,
             "modelscan": modelscan_flags}
    misses = {t: [] for t in tools}
    false_pos = {t: [] for t in tools}
    with tempfile.TemporaryDirectory() as tmp:
        for label, (fname, data) in cases.items():
            path = os.path.join(tmp, fname)
            with open(path, "wb") as fh:
                fh.write(data)
            for tool, flags in tools.items():
                verdict = flags(path) if misses[tool] is not None else None
                if verdict is None:
                    misses[tool] = None
                elif not verdict:
                    misses[tool].append(label)
        benign = benign_files(tmp)
        for label, path in benign.items():
            for tool, flags in tools.items():
                if false_pos[tool] is not None and misses[tool] is not None and flags(path):
                    false_pos[tool].append(label)
    n = len(cases)
    for tool, missed in misses.items():
        if missed is None:
            print(f"{tool:<11} not installed")
            continue
        print(f"{tool:<11} detected {n - len(missed)}/{n} hostile files ({100 * (n - len(missed)) / n:.0f}%), "
              f"flagged {len(false_pos[tool])}/{len(benign)} benign files")
        for label in missed:
            print(f"    missed: {label}")
        for label in false_pos[tool]:
            print(f"    false positive: {label}")


if __name__ == "__main__":
    main()
