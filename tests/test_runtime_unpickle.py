"""Every in-process unpickling passes the policy (issue 14): the ``pickle.find_class`` audit hook.

Real hostile pickles through ``pickle.loads``, ``numpy.load(allow_pickle=True)``, ``joblib.load`` and
``pandas.read_pickle`` in a hooked interpreter; the payload would create a marker file. The user's
own objects (classes, paths, partials, process pools) still travel.
"""

from __future__ import annotations

import pytest
from runtime_support import evil_pickle, outcomes, run_hooked

pytestmark = pytest.mark.slow  # hooked interpreters in subprocesses


def _env(tmp_path, extra=""):
    policy = tmp_path / "guard.toml"
    policy.write_text('extends = ["default"]\n' + extra, encoding="utf-8")
    return {"GUARD_POLICY": str(policy), "GUARD_CACHE_DIR": str(tmp_path / "cache")}


def test_every_pickle_loader_refuses_a_hostile_global(tmp_path):
    markers = {k: tmp_path / k for k in ("pickle", "numpy", "joblib", "pandas")}
    payload = {k: tmp_path / f"{k}.bin" for k in markers}
    for k, p in payload.items():
        p.write_bytes(evil_pickle(markers[k]))
    r = run_hooked(f'''
        import io, pickle
        import numpy as np, joblib, pandas as pd
        attempt("pickle", pickle.loads, open({str(payload["pickle"])!r}, "rb").read())
        attempt("numpy", np.load, {str(payload["numpy"])!r}, allow_pickle=True)
        attempt("joblib", joblib.load, {str(payload["joblib"])!r})
        attempt("pandas", pd.read_pickle, {str(payload["pandas"])!r})
    ''', _env(tmp_path))
    o = outcomes(r)
    for k in markers:
        assert o[k].startswith("BLOCKED [pickle]") or "unpickling posix.system refused" in o[k], (k, r.stdout, r.stderr)
        assert not markers[k].exists(), k
    assert "guard: BLOCKED [pickle] unpickling posix.system refused" in r.stderr


def test_the_users_own_objects_still_unpickle(tmp_path):
    r = run_hooked('''
        import functools, pathlib, pickle, uuid, collections
        from concurrent.futures import ThreadPoolExecutor
        class Mine:
            pass
        def sq(x):
            return x * x
        attempt("class", lambda: type(pickle.loads(pickle.dumps(Mine()))).__name__)
        attempt("path", pickle.loads, pickle.dumps(pathlib.Path("/data/x")))
        attempt("partial", lambda: pickle.loads(pickle.dumps(functools.partial(sq, 3)))())
        attempt("uuid", pickle.loads, pickle.dumps(uuid.UUID(int=1)))
        attempt("odict", pickle.loads, pickle.dumps(collections.OrderedDict(a=1)))
    ''', _env(tmp_path))
    o = outcomes(r)
    assert all(v.startswith("OK") for v in o.values()) and len(o) == 5, r.stdout + r.stderr


def test_the_policy_can_waive_a_global_or_only_warn(tmp_path):
    marker = tmp_path / "m"
    data = tmp_path / "evil.bin"
    data.write_bytes(evil_pickle(marker))
    code = f'''
        import pickle
        attempt("load", pickle.loads, open({str(data)!r}, "rb").read())
    '''
    r = run_hooked(code, _env(tmp_path, '\n[rules.pickle]\nallowed_globals = ["posix.system"]\n'))
    assert outcomes(r)["load"].startswith("OK") and marker.exists(), r.stdout + r.stderr
    marker.unlink()
    r = run_hooked(code, _env(tmp_path, 'mode = "warn"\n'))
    assert outcomes(r)["load"].startswith("OK") and "guard: WARN [pickle]" in r.stderr
