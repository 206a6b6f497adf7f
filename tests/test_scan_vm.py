"""The static pickle machine, the allowlist and format detection: exhaustive small cases."""

from __future__ import annotations

import json
import pickle
import pickletools
import struct

import pickle_payloads as P
import pytest

from guardpolicy.scan.allowlist import danger, is_safe, py3_name
from guardpolicy.scan.containers import keras_code, safetensors_error
from guardpolicy.scan.detect import family, sniff
from guardpolicy.scan.pickle_vm import scan_stream


def names(data):
    return [(g.module, g.name) for g in scan_stream(data).globals]


# -- the machine agrees with pickle itself on ordinary data --------------------------------------

VALUES = [None, True, False, 0, 1, -1, 255, 256, 65535, 65536, -(2 ** 31), 2 ** 31, 2 ** 70, -(2 ** 70), 1.5, -0.0,
          "", "x", "é" * 300, b"", b"\x00" * 300, bytearray(b"ab"), (), (1,), (1, 2), (1, 2, 3), (1, 2, 3, 4), [],
          [1, [2, [3]]], {}, {"a": 1, 2: "b"}, {1, 2}, frozenset([3]), {"nested": [{"deep": (1, "x")}]}]


@pytest.mark.parametrize("proto", range(6))
def test_every_protocol_parses_to_stop_without_globals(proto):
    data = pickle.dumps(VALUES, protocol=proto)
    res = scan_stream(data)
    assert res.stopped and res.error is None and res.end == len(data)
    assert [g for g in res.globals if (g.module, g.name) not in {("builtins", "set"), ("builtins", "frozenset"),
                                                                 ("__builtin__", "set"), ("__builtin__", "frozenset"),
                                                                 ("builtins", "bytearray"), ("__builtin__", "bytearray"),
                                                                 ("builtins", "bytes"), ("__builtin__", "bytes"),
                                                                 ("_codecs", "encode"), ("copy_reg", "_reconstructor"),
                                                                 ("copyreg", "_reconstructor"), ("builtins", "object"),
                                                                 ("__builtin__", "object")}] == []


@pytest.mark.parametrize("proto", range(6))
def test_shared_references_use_the_memo(proto):
    shared = ["s"]
    data = pickle.dumps([shared, shared, {"k": shared}], protocol=proto)
    ops = {op.name for op, _, _ in pickletools.genops(data)}
    assert ops & {"GET", "BINGET", "LONG_BINGET"}
    assert scan_stream(data).error is None


def test_stop_value_and_end_offset():
    data = pickle.dumps(7, protocol=2) + b"trailing"
    res = scan_stream(data)
    assert res.value == 7 and res.end == len(data) - len(b"trailing")


# -- globals: every way to import one -----------------------------------------------------------

def test_global_inst_stack_global_ext():
    assert names(b"cos\nsystem\n.") == [("os", "system")]
    assert names(b"(ios\nsystem\n.") == [("os", "system")]
    assert names(b"\x80\x04" + P.s("os") + P.s("system") + b"\x93.") == [("os", "system")]
    res = scan_stream(b"\x80\x02\x82\x07.")
    assert res.globals[0].opcode == "EXT" and res.globals[0].name == "code 7"


def test_stack_global_operands_from_memo_and_mixed_put_memoize():
    data = P.techniques()["memo BINPUT/BINGET module and name"]
    assert ("os", "system") in names(data)
    data = P.techniques()["memo overwrite: safe name first, dangerous later at the same index"]
    assert names(data) == [("os", "system")]


def test_stack_global_on_non_strings_fails_closed():
    res = scan_stream(b"\x80\x04K\x01K\x02\x93.")
    assert res.globals[0].opcode == "STACK_GLOBAL?"
    res = scan_stream(b"\x80\x04cos\nsystem\n" + P.s("x") + b"\x93.")
    assert res.globals[-1].module == "<os.system>"


def test_build_on_a_global_is_recorded():
    res = scan_stream(b"\x80\x02cnumpy\nprod\n}b.")
    assert res.build_on_global == [15]


def test_loader_argument_is_a_forced_nested_payload():
    res = scan_stream(P.techniques()["nested pickle passed to pickle.loads"])
    assert [n.forced for n in res.nested] == [True]


# -- errors: the machine never raises and keeps what it found -----------------------------------

@pytest.mark.parametrize("data,message", [
    (b"", "exhausted"), (b"\x80\x02", "exhausted"), (b"\x80\x09N.", "unsupported pickle protocol"),
    (b"\xff", "invalid opcode"), (b"0", "POP on an empty stack"), (b"h\x05.", "memo key 5 not found"),
    (b"t.", "MARK expected"), (b"(K\x01d.", "odd number"), (b"\x80\x02R.", "stack underflow"),
    (b"S'unquoted\n.", "must be quoted"), (b"Ix\n.", "bad integer"), (b"cos\n", "unterminated"),
    (b"B\xff\xff\xff\x7f", "truncated"), (b"\x95\xff\x00\x00\x00\x00\x00\x00\x00N.", "FRAME larger"),
    (b"\x8b\xff\xff\xff\xff", "LONG4"), (b"\x94", "MEMOIZE on an empty stack"), (b".", "STOP on an empty stack"),
])
def test_parse_errors(data, message):
    res = scan_stream(data)
    assert res.error and message in res.error[1], res.error


def test_globals_before_an_error_are_kept():
    res = scan_stream(b"cos\nsystem\n\xff")
    assert res.error and [(g.module, g.name) for g in res.globals] == [("os", "system")]


def test_mark_then_pop_pops_the_mark():
    assert scan_stream(b"(0N.").error is None


def test_deeply_nested_tuples_do_not_crash():
    data = b"\x80\x02N" + b"\x85" * 200000 + b"}" + b"N" + b"\x85" * 1000 + b"Ns."
    res = scan_stream(data)
    assert res.error is not None or res.stopped


def test_joblib_inline_array_is_skipped():
    joblib = pytest.importorskip("joblib")
    np = pytest.importorskip("numpy")
    import io

    buf = io.BytesIO()
    joblib.dump({"a": np.arange(1000)}, buf)
    res = scan_stream(buf.getvalue())
    assert res.stopped and res.error is None


# -- allowlist ----------------------------------------------------------------------------------

@pytest.mark.parametrize("module,name", [
    ("torch._utils", "_rebuild_tensor_v2"), ("torch", "FloatStorage"), ("torch", "BFloat16Storage"),
    ("torch.storage", "UntypedStorage"), ("torch", "Size"), ("torch", "float8_e4m3fn"), ("torch", "device"),
    ("collections", "OrderedDict"), ("__builtin__", "set"), ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "scalar"), ("numpy", "dtype"), ("_codecs", "encode"),
    ("joblib.numpy_pickle", "NumpyArrayWrapper"), ("torch._tensor", "_rebuild_from_type_v2"),
])
def test_safe(module, name):
    assert is_safe(module, name) and danger(module, name) is None


@pytest.mark.parametrize("module,name", [
    ("os", "system"), ("posix", "system"), ("nt", "system"), ("subprocess", "Popen"), ("builtins", "eval"),
    ("__builtin__", "eval"), ("builtins", "getattr"), ("runpy", "_run_code"), ("importlib", "import_module"),
    ("pip", "main"), ("webbrowser", "open"), ("operator", "attrgetter"), ("functools", "partial"),
    ("torch.hub", "load"), ("torch._C", "_load_for_lite_interpreter"), ("torch", "load"), ("numpy", "load"),
    ("pathlib", "os.system"), ("torch", "_utils._rebuild_tensor_v2.__globals__"), ("numpy", "__builtins__"),
    ("asyncio.unix_events", "_UnixSubprocessTransport"), ("copyreg._extension_registry", "code 1"),
])
def test_dangerous(module, name):
    assert not is_safe(module, name)
    assert danger(module, name)


def test_torchscript_class_names_are_safe_but_not_attribute_walks():
    assert is_safe("__torch__.torch.nn.modules.linear", "Linear")
    assert not is_safe("__torch__", "os.system")
    assert not is_safe("__torch_evil__", "x")


def test_unknown_is_not_safe_but_not_named_dangerous():
    assert not is_safe("sklearn.linear_model._base", "LinearRegression")
    assert danger("sklearn.linear_model._base", "LinearRegression") is None


def test_allowlist_exact_pairs_only():
    assert not is_safe("torch", "_utils")  # a module object, not a function
    assert not is_safe("collections", "OrderedDict.fromkeys")
    assert not is_safe("torch._utils", "_rebuild_tensor_v2.__globals__")


def test_policy_extension_globs_never_allow_attribute_walks():
    extra = ("sklearn.*", "mylib.Exact")
    assert is_safe("sklearn.tree._classes", "DecisionTreeClassifier", extra)
    assert is_safe("mylib", "Exact", extra)
    assert not is_safe("sklearn", "os.system", extra)
    assert is_safe("mylib", "a.b", ("mylib.a.b",))


def test_python2_names_are_mapped():
    assert py3_name("__builtin__", "set") == ("builtins", "set")
    assert py3_name("copy_reg", "_reconstructor") == ("copyreg", "_reconstructor")


# -- format detection ---------------------------------------------------------------------------

@pytest.mark.parametrize("data,fmt", [
    (pickle.dumps(1, protocol=0), "pickle"), (pickle.dumps(1, protocol=2), "pickle"), (b"cos\nsystem\n(S'x'\ntR.", "pickle"),
    (b"PK\x03\x04rest", "zip"), (b"\x93NUMPY\x01\x00", "numpy"), (b"\x89HDF\r\n\x1a\n", "hdf5"), (b"GGUF\x03\x00", "gguf"),
    (b"\x1f\x8b\x08\x00", "gzip"), (b"BZh91AY", "bz2"), (b"\xfd7zXZ\x00\x00", "xz"), (b"\x78\x9c\x03\x00", "zlib"),
    (b"\x08\x07\x12\x07pytorch", "onnx"), (b"# readme\n", "unknown"), (b"certifi==2024.2.2\n", "unknown"),
    (b"cat\ndog\nfish\n", "unknown"), (b"[PAD]\n", "unknown"), (b'{"a": 1}', "unknown"), (b"little", "unknown"),
])
def test_sniff(data, fmt):
    assert sniff(data) == fmt


def test_sniff_safetensors_and_tar():
    header = b'{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}'
    assert sniff(struct.pack("<Q", len(header)) + header + b"\0" * 4) == "safetensors"
    assert sniff(b"x" * 257 + b"ustar" + b"\0" * 300) == "tar"


def test_families():
    assert family("torch") == family("joblib") == family("numpy-object") == "pickle"
    assert family("safetensors") == "safetensors" and family("numpy") == "numpy"


# -- safetensors and Keras validators ------------------------------------------------------------

def _st(header: dict, body: int) -> bytes:
    raw = json.dumps(header).encode()
    return struct.pack("<Q", len(raw)) + raw + b"\0" * body


@pytest.mark.parametrize("header,body,problem", [
    ({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}, 8, None),
    ({"__metadata__": {"format": "pt"}, "a": {"dtype": "BF16", "shape": [2, 2], "data_offsets": [0, 8]}}, 8, None),
    ({"a": {"dtype": "F33", "shape": [2], "data_offsets": [0, 8]}}, 8, "unknown dtype"),
    ({"a": {"dtype": "F32", "shape": [-2], "data_offsets": [0, 8]}}, 8, "bad shape"),
    ({"a": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}}, 8, "needs 12 bytes"),
    ({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 80]}}, 8, "outside the data"),
    ({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}, "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}},
     12, "overlaps"),
    ({"a": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}, 8, "gap before"),
    ({"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}, 8, "after the last tensor"),
    ({"__metadata__": {"x": 1}}, 0, "__metadata__"),
])
def test_safetensors_validation(header, body, problem):
    data = _st(header, body)
    err = safetensors_error(data, 0, len(data), 1 << 20)
    assert (err is None) if problem is None else (problem in err), err


def test_safetensors_bad_lengths_and_json():
    assert "exceeds the limit" in safetensors_error(struct.pack("<Q", 10 ** 12) + b"{}", 0, 10, 1 << 20)
    assert "runs past" in safetensors_error(struct.pack("<Q", 100) + b"{}", 0, 10, 1 << 20)
    assert "not valid JSON" in safetensors_error(struct.pack("<Q", 3) + b"{x}", 0, 11, 1 << 20)
    assert "not a JSON object" in safetensors_error(struct.pack("<Q", 2) + b"[]", 0, 10, 1 << 20)


def test_keras_code_detection():
    assert keras_code({"class_name": "Sequential", "module": "keras", "config": {"layers": [
        {"class_name": "Dense", "module": "keras.layers", "config": {}}]}}) == []
    assert any("Lambda" in m for m in keras_code({"config": {"layers": [{"class_name": "Lambda"}]}}))
    assert any("os.system" in m for m in keras_code({"module": "os", "class_name": "system"}))
