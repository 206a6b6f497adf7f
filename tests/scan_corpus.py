"""Seed files for fuzzing the scanner: real checkpoints (when torch/numpy/joblib are present) and payloads."""

from __future__ import annotations

import io
import pickle
import zipfile

import pickle_payloads as P


def seeds() -> list:
    """A list of ``bytes`` seeds: real files of every format plus hostile ones."""
    out = [pickle.dumps({"a": [1, 2.5, "x", b"y", None, True], "b": (1, 2)}, protocol=p) for p in range(6)]
    out += list(P.techniques().values())[:20]
    out.append(P.torch_zip({"archive/data.pkl": P.call_global("os", "system"), "archive/version": b"3\n"}))
    out.append(P.torch_zip({"archive/data.pkl": pickle.dumps({"w": 1}), "archive/data/0": b"\0" * 64},
                           zipfile.ZIP_DEFLATED))
    out.append(P.legacy_torch(pickle.dumps([1, 2], protocol=2)))
    try:
        import numpy as np
        import torch

        buf = io.BytesIO()
        torch.save({"w": torch.randn(4, 4), "b": torch.zeros(2, dtype=torch.bfloat16), "n": 3}, buf)
        out.append(buf.getvalue())
        buf = io.BytesIO()
        torch.save({"w": torch.randn(3)}, buf, _use_new_zipfile_serialization=False)
        out.append(buf.getvalue())
        buf = io.BytesIO()
        np.savez(buf, a=np.arange(5), o=np.array([1, None], dtype=object))
        out.append(buf.getvalue())
        buf = io.BytesIO()
        np.save(buf, np.array(["a", 1], dtype=object), allow_pickle=True)
        out.append(buf.getvalue())
        out.append(pickle.dumps({"t": torch.ones(2), "a": np.eye(2)}, protocol=2))
    except ImportError:
        pass
    try:
        import joblib
        import numpy as np

        buf = io.BytesIO()
        joblib.dump({"a": np.arange(10), "o": np.array([1, "x"], dtype=object)}, buf)
        out.append(buf.getvalue())
    except ImportError:
        pass
    return out
