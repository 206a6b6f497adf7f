"""Real checkpoints written by torch, numpy, joblib and safetensors are never flagged."""

from __future__ import annotations

import collections
import pickle
import warnings
import zipfile

import pytest

# real torch checkpoints of every kind: torch's import alone is seconds, so the whole module runs with the
# slow set (and is not even imported for -m "not slow": see conftest.pytest_ignore_collect)
pytestmark = pytest.mark.slow

torch = pytest.importorskip("torch")
np = pytest.importorskip("numpy")

from guardpolicy import scan_path  # noqa: E402
from guardpolicy.scan.containers import Scanner  # noqa: E402

warnings.filterwarnings("ignore")

DTYPES = [torch.float32, torch.float64, torch.float16, torch.bfloat16, torch.int8, torch.uint8, torch.int16,
          torch.int32, torch.int64, torch.bool, torch.complex64, torch.complex128, torch.float8_e4m3fn,
          torch.float8_e5m2, torch.uint16, torch.uint32, torch.uint64]


def _model():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4), torch.nn.Flatten(),
                               torch.nn.Linear(4 * 6 * 6, 2))


def _optimizer_state():
    model = _model()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    model(torch.randn(2, 3, 8, 8)).sum().backward()
    opt.step()
    return opt.state_dict()


def benign_objects():
    yield "state_dict", _model().state_dict()
    yield "optimizer state", _optimizer_state()
    yield "training checkpoint", {"model": _model().state_dict(), "optimizer": _optimizer_state(), "epoch": 3,
                                  "loss": 0.25, "rng": torch.get_rng_state(), "args": {"lr": 1e-3, "tags": ["a"]}}
    for dt in DTYPES:
        yield f"tensor {dt}", torch.ones(3, 2).to(dt)
    yield "parameter", torch.nn.Parameter(torch.randn(3))
    yield "requires_grad tensor", torch.randn(4, requires_grad=True)
    yield "sparse coo", torch.randn(3, 3).to_sparse()
    yield "sparse csr", torch.randn(3, 3).to_sparse_csr()
    yield "quantized per tensor", torch.quantize_per_tensor(torch.randn(4), 0.1, 10, torch.quint8)
    yield "quantized per channel", torch.quantize_per_channel(torch.randn(2, 4), torch.tensor([0.1, 0.2]),
                                                              torch.tensor([1, 2]), 0, torch.qint8)
    yield "nested tensor", torch.nested.nested_tensor([torch.zeros(2), torch.zeros(3)])
    yield "channels_last", torch.zeros(1, 2, 3, 4).to(memory_format=torch.channels_last)
    yield "size and dtype", {"size": torch.Size([2, 3]), "dtype": torch.float16}
    yield "rng states", {"python": __import__("random").getstate(), "numpy": np.random.get_state(),
                         "cpu": torch.random.get_rng_state(), "generator": np.random.default_rng(1),
                         "random_state": np.random.RandomState(2)}
    yield "training metadata", {"args": __import__("argparse").Namespace(lr=0.1, layers=[1, 2]),
                                "saved": __import__("datetime").datetime(2024, 1, 2, 3, 4, 5),
                                "took": __import__("datetime").timedelta(seconds=5),
                                "path": __import__("pathlib").Path("/data/run1"),
                                "counts": __import__("collections").defaultdict(list, {"a": [1]}),
                                "uuid": __import__("uuid").UUID(int=5)}
    yield "view sharing storage", (lambda t: {"a": t, "b": t[1:]})(torch.arange(10))
    yield "numpy inside", {"np": np.arange(3), "scalar": np.float32(2.5), "set": {1, 2}, "frozen": frozenset([1]),
                           "slice": slice(1, 2), "complex": complex(1, 2), "bytes": bytearray(b"x"),
                           "od": collections.OrderedDict(a=1)}


OBJECTS = dict(benign_objects())


@pytest.mark.parametrize("name", sorted(OBJECTS))
@pytest.mark.parametrize("legacy", [False, True], ids=["zip", "legacy"])
def test_torch_save_is_clean(tmp_path, name, legacy):
    path = tmp_path / "ckpt.pt"
    torch.save(OBJECTS[name], path, _use_new_zipfile_serialization=not legacy)
    assert scan_path(path) == []
    fmt = Scanner().scan_file(str(path)).format
    assert fmt == ("torch-legacy" if legacy else "torch")


@pytest.mark.parametrize("proto", [2, 3, 4, 5])
def test_plain_pickles_of_tensors_and_arrays(tmp_path, proto):
    path = tmp_path / "obj.pkl"
    path.write_bytes(pickle.dumps({"a": np.arange(12, dtype=np.float32).reshape(3, 4), "b": np.int64(3),
                                   "c": np.array(["x", "yz"]), "d": np.zeros((2, 2), dtype=[("f", "<i4"), ("g", "<f8")]),
                                   "t": torch.ones(2)}, protocol=proto))
    assert scan_path(path) == []


def test_numpy_files(tmp_path):
    np.save(tmp_path / "a.npy", np.arange(100))
    np.save(tmp_path / "s.npy", np.array(["a", "bc"]))
    np.savez(tmp_path / "z.npz", a=np.arange(3), b=np.ones((2, 2)))
    np.savez_compressed(tmp_path / "zc.npz", a=np.zeros(100000))
    for name in ("a.npy", "s.npy", "z.npz", "zc.npz"):
        assert scan_path(tmp_path / name) == [], name
    assert Scanner().scan_file(str(tmp_path / "z.npz")).format == "numpy"


def test_numpy_object_array_of_plain_values_is_clean_but_pickle_family(tmp_path):
    np.save(tmp_path / "o.npy", np.array([1, "a", None], dtype=object), allow_pickle=True)
    assert scan_path(tmp_path / "o.npy") == []
    assert Scanner().scan_file(str(tmp_path / "o.npy")).format == "numpy-object"


@pytest.mark.parametrize("compress", [0, 3, ("gzip", 3), ("bz2", 3), ("xz", 3)])
def test_joblib_dumps(tmp_path, compress):
    joblib = pytest.importorskip("joblib")
    path = tmp_path / "model.joblib"
    joblib.dump({"w": np.arange(1000, dtype=np.float64), "m": np.eye(5, dtype=np.float32), "s": np.array(["a"]),
                 "o": np.array([1, "x", None], dtype=object), "n": 3}, path, compress=compress)
    assert scan_path(path) == []


def test_joblib_object_array_with_a_hostile_object_is_flagged(tmp_path):
    joblib = pytest.importorskip("joblib")
    import pickle_payloads as P

    path = tmp_path / "model.joblib"
    joblib.dump({"w": np.arange(10), "o": np.array([P._Reduce("os", "getcwd", None), 1], dtype=object)}, path)
    findings = scan_path(path)
    assert any("posix.getcwd" in f.message for f in findings)


def test_safetensors(tmp_path):
    st = pytest.importorskip("safetensors.torch")
    path = tmp_path / "model.safetensors"
    st.save_file({"w": torch.randn(3, 4), "b": torch.zeros(2, dtype=torch.bfloat16), "i": torch.arange(3)}, str(path),
                 metadata={"format": "pt"})
    assert scan_path(path) == []
    assert Scanner().scan_file(str(path)).format == "safetensors"


def test_full_module_pickle_is_a_finding_by_design(tmp_path):
    path = tmp_path / "full.pt"
    torch.save(torch.nn.Linear(2, 2), path)
    globals_ = [g for f in scan_path(path) for g in f.details.get("globals", ())]
    assert {"module": "torch.nn.modules.linear", "name": "Linear"} in [{"module": g["module"], "name": g["name"]}
                                                                       for g in globals_]
    assert not any(g["dangerous"] for g in globals_)


def test_only_pickles_are_read_from_a_torch_zip(tmp_path):
    path = tmp_path / "ckpt.pt"
    torch.save({"w": torch.zeros(1024, 1024)}, path)
    report = Scanner().scan_file(str(path))
    assert report.clean and report.format == "torch"
    with zipfile.ZipFile(path) as z:
        assert any(n.endswith("data/0") for n in z.namelist())


def test_deflated_torch_zip_is_clean(tmp_path):
    src = tmp_path / "a.pt"
    torch.save(_model().state_dict(), src)
    dst = tmp_path / "b.pt"
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            zout.writestr(info.filename, zin.read(info.filename))
    assert scan_path(dst) == []


def test_directory_of_mixed_files(tmp_path):
    torch.save(_model().state_dict(), tmp_path / "pytorch_model.bin")
    (tmp_path / "config.json").write_text('{"model_type": "bert"}')
    (tmp_path / "README.md").write_text("# model\ncat\ndog\n")
    (tmp_path / "vocab.txt").write_text("cat\ndog\nfish\n[PAD]\n")
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "evil.pkl").write_bytes(b"cos\nsystem\n(S'x'\ntR.")
    assert scan_path(tmp_path) == []


def test_tensor_bytes_that_look_like_a_pickle_header_are_not_a_finding(tmp_path):
    path = tmp_path / "ckpt.pt"
    t = torch.zeros(4096, dtype=torch.uint8)
    t[0], t[1], t[2] = 0x80, 0x02, 0x7D  # PROTO 2, EMPTY_DICT, then zeros (invalid opcodes)
    torch.save({"t": t, "z": torch.tensor([0x78, 0x9C, 1, 2], dtype=torch.uint8)}, path)
    assert scan_path(path) == []


@pytest.mark.parametrize("dtype", [[("a", "<i4"), ("b", "<f8"), ("c", "O")], [("a", "<i4"), ("b", "<f8")],
                                   [("x", [("y", "O")])], ("<i4", (2, 3)), "U3", "M8[ns]", "c16", "?", ">f4"])
def test_joblib_structured_and_odd_dtypes(tmp_path, dtype):
    joblib = pytest.importorskip("joblib")
    path = tmp_path / "m.joblib"
    joblib.dump({"x": np.zeros(3, dtype=dtype), "y": np.arange(3), "z": np.array([1, "a"], dtype=object)}, path)
    assert scan_path(path) == []


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_torchscript_archive(tmp_path):
    path = tmp_path / "ts.pt"
    torch.jit.save(torch.jit.script(torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.ReLU())), str(path))
    assert scan_path(path) == []
    assert Scanner().scan_file(str(path)).format == "torchscript"
