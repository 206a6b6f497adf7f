"""GGUF chat-template injection (CVE-2024-34359) and ONNX external-data escapes (CVE-2024-27318).

Real files: GGUF written by the ``gguf`` package, ONNX by the ``onnx`` package. Scanning goes
through the public API (``scan_path``) and, once, the ``guard scan`` CLI. The hand-written
readers are also checked against the reference readers and fuzzed.
"""

from __future__ import annotations

import io
import random
import struct
import time
import zipfile

import chat_templates as T
import pytest
from conftest import run_guard
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from guardpolicy import scan_path
from guardpolicy.scan import chat_template as ct
from guardpolicy.scan.containers import Scanner
from guardpolicy.scan.detect import sniff
from guardpolicy.scan.gguf import gguf_problems, read_templates
from guardpolicy.scan.limits import ScanLimits
from guardpolicy.scan.onnx import external_locations, location_escape, looks_like_model, onnx_problems

np = pytest.importorskip("numpy")
gguf = pytest.importorskip("gguf")
onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper  # noqa: E402

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
LIMITS = ScanLimits(max_decompressed=64 << 20, max_opcodes=200_000)


def findings(path, kind=None):
    out = scan_path(path)
    return [f for f in out if kind is None or f.details.get("kind") == kind]


# -- GGUF -----------------------------------------------------------------------------------------
def write_gguf(path, template=None, strings=(), endian=None, vocab=300):
    """A small but complete GGUF model: vocabulary arrays, ids, a tensor, optional chat template."""
    kw = {} if endian is None else {"endianess": endian}
    w = gguf.GGUFWriter(str(path), "llama", **kw)
    w.add_name("tiny-test")
    w.add_context_length(128)
    w.add_tokenizer_model("gpt2")
    w.add_token_list([f"tok{i}" for i in range(vocab)])
    w.add_token_scores([0.0] * vocab)
    w.add_token_types([1] * vocab)
    w.add_token_merges(["t o", "o k"] * 5)
    w.add_bos_token_id(1)
    w.add_eos_token_id(2)
    if template is not None:
        w.add_chat_template(template)
    for key, value in strings:
        w.add_string(key, value)
    w.add_tensor("token_embd.weight", np.ones((4, 8), dtype=np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return path


def gguf_bytes(tmp_path, **kw):
    return write_gguf(tmp_path / "m.gguf", **kw).read_bytes()


def raw_gguf(kvs, version=3, order="<", tensors=0, kv_count=None):
    """A GGUF header by hand: ``kvs`` is ``[(key, type, payload bytes)]``."""
    n = "I" if version == 1 else "Q"
    head = b"GGUF" + struct.pack(order + "I", version)
    head += struct.pack(order + n + n, tensors, len(kvs) if kv_count is None else kv_count)
    for key, vtype, payload in kvs:
        head += struct.pack(order + n, len(key)) + key.encode() + struct.pack(order + "I", vtype) + payload
    return head


def gstr(text, version=3, order="<"):
    raw = text.encode()
    return struct.pack(order + ("I" if version == 1 else "Q"), len(raw)) + raw


@pytest.mark.parametrize("name", sorted(T.MALICIOUS))
def test_injected_chat_template_is_a_code_finding(tmp_path, name):
    path = write_gguf(tmp_path / "model.gguf", template=T.MALICIOUS[name])
    found = findings(path, "code")
    assert len(found) == 1, (name, scan_path(path))
    (f,) = found
    assert f.rule == "pickle" and f.details["format"] == "gguf"
    assert "CVE-2024-34359" in f.message and "tokenizer.chat_template" in f.message


@pytest.mark.parametrize("name", sorted(T.BENIGN))
def test_real_world_chat_templates_pass(tmp_path, name):
    path = write_gguf(tmp_path / "model.gguf", template=T.BENIGN[name])
    assert scan_path(path) == []


def test_message_names_the_construct(tmp_path):
    path = write_gguf(tmp_path / "m.gguf", template=T.MALICIOUS["lipsum globals"])
    (f,) = findings(path, "code")
    assert "__globals__ via lipsum" in f.message and "template injection runs code" in f.message


def test_named_templates_are_judged_too(tmp_path):
    path = write_gguf(tmp_path / "m.gguf", template=[
        {"name": "default", "template": T.BENIGN["llama-3"]},
        {"name": "tool_use", "template": T.MALICIOUS["cycler init globals"]},
        {"name": "rag", "template": T.BENIGN["chatml-qwen2.5-tools"]},
    ])
    (f,) = findings(path, "code")
    assert "tokenizer.chat_template.tool_use" in f.message


def test_every_chat_template_entry_counts(tmp_path):
    # a duplicate key or an odd spelling is not a hiding place
    path = write_gguf(tmp_path / "m.gguf", template=T.BENIGN["gemma"],
                      strings=[("Tokenizer.Chat_Template", T.MALICIOUS["joiner builtins import"])])
    assert len(findings(path, "code")) == 1


def test_template_array_of_strings(tmp_path):
    data = raw_gguf([("tokenizer.chat_template", 9, struct.pack("<IQ", 8, 2) + gstr(T.BENIGN["phi-3"])
                      + gstr(T.MALICIOUS["mro walk"]))])
    (p,) = gguf_problems(data, 0, len(data))
    assert p[0] == "code"


def test_big_endian_gguf(tmp_path):
    data = gguf_bytes(tmp_path, template=T.MALICIOUS["lipsum globals"], endian=gguf.GGUFEndian.BIG)
    assert data[4:8] == b"\0\0\0\x03"
    assert [p[0] for p in gguf_problems(data, 0, len(data))] == ["code"]


@pytest.mark.parametrize("version", [1, 2, 3])
def test_gguf_versions(version):
    kvs = [("general.name", 8, gstr("x", version)), ("general.alignment", 4, struct.pack("<I", 32)),
           ("tokenizer.ggml.tokens", 9, struct.pack("<I", 8) + struct.pack("<" + ("I" if version == 1 else "Q"), 2)
            + gstr("a", version) + gstr("b", version)),
           ("tokenizer.chat_template", 8, gstr(T.MALICIOUS["lipsum globals"], version))]
    data = raw_gguf(kvs, version=version)
    (templates, bad) = read_templates(data, 0, len(data))
    assert bad is None and templates[0][1] == T.MALICIOUS["lipsum globals"]


def test_gguf_reader_agrees_with_the_reference_reader(tmp_path):
    data = gguf_bytes(tmp_path, template=T.BENIGN["mistral-tools"], vocab=5000)
    ref = gguf.GGUFReader(tmp_path / "m.gguf")
    field = ref.fields["tokenizer.chat_template"]
    expected = bytes(field.parts[field.data[0]]).decode()
    (templates, bad) = read_templates(data, 0, len(data))
    assert bad is None and [(k, t) for k, t, _ in templates] == [("tokenizer.chat_template", expected)]
    offset = templates[0][2]
    assert data[offset:offset + len(expected.encode())] == expected.encode()


@pytest.mark.parametrize("data, needle", [
    (raw_gguf([], kv_count=1 << 60), "metadata entries"),
    (raw_gguf([], tensors=1 << 62), "tensors"),
    (raw_gguf([("k", 8, struct.pack("<Q", 1 << 62))]), "runs past the end"),
    (raw_gguf([("k", 9, struct.pack("<IQ", 8, 1 << 61))]), "more than the file can hold"),
    (raw_gguf([("k", 9, struct.pack("<IQ", 0, 1 << 62))]), "more than the file can hold"),
    (raw_gguf([("k", 77, b"")]), "unknown type 77"),
    (raw_gguf([("k", 9, struct.pack("<IQ", 99, 1))]), "unknown type 99"),
    (b"GGUF\x07\x00\x00\x00" + b"\0" * 16, "unsupported GGUF version 7"),
    (b"GGUF\x03\x00\x00", "runs past the end"),
])
def test_hostile_headers_are_refused_without_allocating(data, needle):
    t0 = time.monotonic()
    problems = gguf_problems(data, 0, len(data))
    assert time.monotonic() - t0 < 1
    assert [p[0] for p in problems] == ["header"] and needle in problems[0][1], problems


def test_malformed_gguf_is_a_format_finding(tmp_path):
    path = tmp_path / "m.gguf"
    path.write_bytes(gguf_bytes(tmp_path, template=T.BENIGN["llama-3"])[:5000])
    (f,) = scan_path(path)
    assert f.rule == "format" and "invalid GGUF file" in f.message


def test_nested_arrays_are_bounded():
    inner = struct.pack("<IQ", 4, 1) + struct.pack("<I", 7)
    for _ in range(20):
        inner = struct.pack("<IQ", 9, 1) + inner
    data = raw_gguf([("k", 9, inner)])
    assert "nested too deeply" in gguf_problems(data, 0, len(data))[0][1]


@pytest.mark.slow  # seconds of decompression or parsing on purpose
def test_many_tiny_strings_are_walked_in_bounded_time():
    count = 2_000_000
    data = raw_gguf([("tokenizer.ggml.tokens", 9, struct.pack("<IQ", 8, count) + b"\0" * (8 * count)),
                     ("tokenizer.chat_template", 8, gstr(T.MALICIOUS["mro walk"]))])
    t0 = time.monotonic()
    problems = gguf_problems(data, 0, len(data))
    assert time.monotonic() - t0 < 10
    assert [p[0] for p in problems] == ["code"]


def test_string_budget_is_a_limit_finding(monkeypatch):
    from guardpolicy.scan import gguf as G

    monkeypatch.setattr(G, "MAX_ITEMS", 1000)
    data = raw_gguf([("tokenizer.ggml.tokens", 9, struct.pack("<IQ", 8, 5000) + b"\0" * (8 * 5000))])
    assert gguf_problems(data, 0, len(data))[0][0] == "limit"


@pytest.mark.parametrize("method", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED])
def test_gguf_inside_a_zip(tmp_path, method):
    data = gguf_bytes(tmp_path, template=T.MALICIOUS["namespace init globals"])
    path = tmp_path / "bundle.zip"
    with zipfile.ZipFile(path, "w", method) as z:
        z.writestr("model/model.gguf", data)
        z.writestr("model/README.md", "a model")
    (f,) = findings(path, "code")
    assert "model/model.gguf" in f.message and "CVE-2024-34359" in f.message


def test_large_compressed_gguf_member_reads_only_its_metadata(tmp_path, monkeypatch):
    from guardpolicy.scan import containers

    data = gguf_bytes(tmp_path, template=T.MALICIOUS["lipsum globals"])
    monkeypatch.setattr(containers, "_GGUF_PREFIX", 64 * 1024)
    path = tmp_path / "bundle.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("model.gguf", data + b"\0" * (1 << 20))
    assert len(findings(path, "code")) == 1
    # metadata beyond the prefix: not checked, so a limit (not a clean pass, not a bad header)
    template_at = read_templates(data, 0, len(data))[0][0][2]
    monkeypatch.setattr(containers, "_GGUF_PREFIX", template_at - 100)
    found = scan_path(path)
    assert [f.details["kind"] for f in found] == ["limit"]


# -- the template judge on its own ---------------------------------------------------------------
def test_judge_without_jinja2_falls_back_to_text(monkeypatch):
    monkeypatch.setattr(ct, "_ENV", False)  # as if jinja2 were not installed
    for name, source in T.MALICIOUS.items():
        assert ct.template_constructs(source), name
    for name, source in T.BENIGN.items():
        assert ct.template_constructs(source) == [], name


def test_judge_never_renders(tmp_path):
    marker = tmp_path / "rendered"
    source = "{{ cycler.__init__.__globals__.os.popen('touch " + str(marker) + "').read() }}"
    assert ct.template_constructs(source)
    assert not marker.exists()


@pytest.mark.slow  # seconds of decompression or parsing on purpose
def test_unbalanced_and_huge_sources_are_bounded():
    for source in ["{{" * 200_000, "{%" + "(" * 100_000, "{{ " + "x." * 300_000 + "y }}",
                   "{{ " + "[" * 50_000 + " }}", ("{{ '_' ~ " * 20_000) + "'x' }}"]:
        t0 = time.monotonic()
        ct.template_constructs(source)
        assert time.monotonic() - t0 < 10


JINJA_BITS = ["{{", "}}", "{%", "%}", "{#", "#}", " ", "x", ".", "[", "]", "(", ")", "'", '"', "~", "|", "attr",
              "__class__", "_", "join", "lipsum", "for", "in", "set", "=", "endfor", "if", "endif", ",", "\\x5f",
              "dict", "format", "%c", "95", "messages", "loop", "-", "::", "namespace", "macro", "endmacro"]


@FUZZ
@given(st.lists(st.sampled_from(JINJA_BITS), max_size=80))
def test_judge_never_raises_on_template_soup(parts):
    assert isinstance(ct.template_constructs("".join(parts)), list)


# -- GGUF fuzzing ---------------------------------------------------------------------------------
_GGUF_SEEDS = []


def gguf_seeds():
    if not _GGUF_SEEDS:
        import tempfile
        from pathlib import Path

        with tempfile.TemporaryDirectory() as d:
            for tpl in (T.BENIGN["llama-3"], T.MALICIOUS["cve-2024-34359 poc"]):
                _GGUF_SEEDS.append(write_gguf(Path(d) / "m.gguf", template=tpl, vocab=40).read_bytes())
    return _GGUF_SEEDS


@FUZZ
@given(st.sampled_from([1, 2, 3, 0x03000000, 9]), st.binary(max_size=2048))
def test_gguf_random_bytes_never_raise(version, tail):
    data = b"GGUF" + struct.pack("<I", version) + tail
    problems = gguf_problems(data, 0, len(data))
    assert all(kind in ("header", "limit", "code") for kind, _, _ in problems)
    report = Scanner(LIMITS).scan_bytes(data)
    assert not [p for p in report.problems if p.kind == "internal"]


@FUZZ
@given(st.integers(0, 1), st.lists(st.tuples(st.integers(0, 1 << 30), st.integers(0, 255)), min_size=1, max_size=8),
       st.integers(0, 1 << 30), st.booleans())
def test_gguf_mutated_real_files_never_raise(index, flips, cut, truncate):
    data = bytearray(gguf_seeds()[index])
    for pos, value in flips:
        data[pos % len(data)] = value
    if truncate:
        data = data[:cut % (len(data) + 1)]
    t0 = time.monotonic()
    report = Scanner(LIMITS).scan_bytes(bytes(data))
    assert time.monotonic() - t0 < 10
    assert not [p for p in report.problems if p.kind == "internal"], report.problems


# -- ONNX -----------------------------------------------------------------------------------------
def external(tensor, location, extra=()):
    """Point ``tensor`` at external data in ``location`` (as onnx's external-data helpers do)."""
    tensor.ClearField("float_data")
    tensor.ClearField("raw_data")
    tensor.data_location = TensorProto.EXTERNAL
    for key, value in (("location", location), ("offset", "0"), ("length", "8"), *extra):
        entry = tensor.external_data.add()
        entry.key, entry.value = key, value
    return tensor


def weight(name="w", location=None):
    t = helper.make_tensor(name, TensorProto.FLOAT, [2], [0.5, 1.5])
    return external(t, location) if location is not None else t


def graph(initializers=(), nodes=None, sparse=(), name="g"):
    nodes = nodes if nodes is not None else [helper.make_node("Identity", ["x"], ["y"])]
    return helper.make_graph(nodes, name, [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2])],
                             [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2])],
                             initializer=list(initializers), sparse_initializer=list(sparse))


def model_with(location, place="initializer"):
    """A model whose tensor at ``place`` keeps its data in ``location``."""
    if place == "initializer":
        return helper.make_model(graph([weight("w", location)]), producer_name="test")
    if place == "constant node":
        node = helper.make_node("Constant", [], ["y"], value=weight("c", location))
        return helper.make_model(graph(nodes=[node]), producer_name="test")
    if place == "subgraph":
        then = graph([weight("w", location)], name="then")
        node = helper.make_node("If", ["x"], ["y"], then_branch=then, else_branch=graph(name="else"))
        return helper.make_model(graph(nodes=[node]), producer_name="test")
    if place == "sparse initializer":
        sp = helper.make_sparse_tensor(weight("v", location), helper.make_tensor("i", TensorProto.INT64, [2], [0, 1]),
                                       [4])
        return helper.make_model(graph(sparse=[sp]), producer_name="test")
    if place == "tensors attribute":
        node = helper.make_node("Custom", ["x"], ["y"], domain="x.test")
        node.attribute.append(helper.make_attribute("ts", [weight("a"), weight("b", location)]))
        return helper.make_model(graph(nodes=[node]), producer_name="test")
    if place == "function":
        const = helper.make_node("Constant", [], ["c"], value=weight("c", location))
        add = helper.make_node("Add", ["a", "c"], ["b"])
        fn = helper.make_function("local.test", "F", ["a"], ["b"], [const, add], [helper.make_opsetid("", 17)])
        call = helper.make_node("F", ["x"], ["y"], domain="local.test")
        return helper.make_model(graph(nodes=[call]), functions=[fn], producer_name="test",
                                 opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("local.test", 1)])
    if place == "training info":
        m = helper.make_model(graph(), producer_name="test")
        info = m.training_info.add()
        info.initialization.CopyFrom(graph([weight("w", location)], name="init"))
        return m
    raise ValueError(place)


PLACES = ["initializer", "constant node", "subgraph", "sparse initializer", "tensors attribute", "function",
          "training info"]
ESCAPES = ["../../etc/passwd", "/etc/passwd", "sub/../../x", "C:\\x", "..\\..\\windows\\win.ini", "\\\\server\\share\\x",
           "c:relative", "data/../../../x", "w.bin\x00.txt", "*/_ORT_MEM_ADDR_/*", "... /x", "//etc/passwd"]
INSIDE = ["weights.bin", "data/w.bin", "model.onnx.data", "sub/dir/w.bin", "w..bin", ".hidden/w", "data\\w.bin",
          "~/w.bin", "tensor_0", "a b/c.bin"]


@pytest.mark.parametrize("location", ESCAPES)
def test_external_data_escaping_the_model_folder_is_a_code_finding(tmp_path, location):
    path = tmp_path / "model.onnx"
    path.write_bytes(model_with(location).SerializeToString())
    (f,) = findings(path)
    assert f.details["kind"] == "code" and f.details["format"] == "onnx"
    assert "ONNX external data path escapes the model folder" in f.message and "CVE-2024-27318" in f.message
    assert "'w'" in f.message


@pytest.mark.parametrize("place", PLACES)
def test_every_tensor_is_found(tmp_path, place):
    path = tmp_path / "model.onnx"
    path.write_bytes(model_with("../../../home/u/.ssh/id_rsa", place).SerializeToString())
    assert len(findings(path, "code")) == 1, place
    path.write_bytes(model_with("weights.bin", place).SerializeToString())
    assert scan_path(path) == []


def test_benign_external_data_written_by_onnx(tmp_path):
    from onnx import numpy_helper

    m = helper.make_model(graph([numpy_helper.from_array(np.arange(64, dtype=np.float32), "big")]),
                          producer_name="test")
    onnx.save_model(m, tmp_path / "model.onnx", save_as_external_data=True, location="weights.bin",
                    size_threshold=0)
    (tmp_path / "data").mkdir()
    onnx.save_model(m, tmp_path / "data" / "m2.onnx", save_as_external_data=True, location="w.bin", size_threshold=0)
    onnx.load(tmp_path / "model.onnx")  # the loader is happy with it too
    data = (tmp_path / "model.onnx").read_bytes()
    assert [loc for _, loc, _ in external_locations(data, 0, len(data))[0]] == ["weights.bin"]
    assert sniff(data) == "onnx"
    assert scan_path(tmp_path) == []


@pytest.mark.parametrize("location", INSIDE)
def test_locations_inside_the_folder_pass(tmp_path, location):
    path = tmp_path / "model.onnx"
    path.write_bytes(model_with(location).SerializeToString())
    assert scan_path(path) == []


def test_location_judgement():
    for loc in ESCAPES:
        assert location_escape(loc), loc
    for loc in INSIDE:
        assert location_escape(loc) is None, loc


def test_a_decoy_location_entry_does_not_hide_the_real_one(tmp_path):
    m = model_with("weights.bin")
    entry = m.graph.initializer[0].external_data.add()
    entry.key, entry.value = "location", "../../etc/shadow"  # the loader keeps the last one
    path = tmp_path / "m.onnx"
    path.write_bytes(m.SerializeToString())
    assert "../../etc/shadow" in findings(path, "code")[0].message


def split_fields(data):
    """Top-level protobuf fields of ``data`` as raw byte strings (for re-ordering them)."""
    from guardpolicy.scan.onnx import _skip, _varint

    out, pos = [], 0
    while pos < len(data):
        start = pos
        tag, pos = _varint(data, pos, len(data))
        pos = _skip(data, pos, len(data), tag & 7, tag >> 3, [1 << 20])
        out.append(data[start:pos])
    return out


def test_reordered_and_padded_model_is_still_recognised(tmp_path):
    m = model_with("/etc/passwd")
    fields = split_fields(m.SerializeToString())
    # graph first, then an unknown varint field, an unknown group and the rest reversed
    unknown = b"\xb8\x3e\x05" + b"\xbb\x3e\x08\x01\xbc\x3e"  # field 1000 varint; field 1000 group holding a varint
    data = b"".join(f for f in fields if f[:1] == b"\x3a") + unknown + b"".join(
        reversed([f for f in fields if f[:1] != b"\x3a"]))
    parsed = onnx.load_from_string(data)  # any protobuf parser accepts it
    assert parsed.graph == m.graph and parsed.opset_import == m.opset_import
    assert sniff(data) == "onnx" and looks_like_model(data, 0, len(data))
    path = tmp_path / "m.onnx"
    path.write_bytes(data)
    assert len(findings(path, "code")) == 1


def test_onnx_inside_a_zip(tmp_path):
    path = tmp_path / "bundle.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("m/model.onnx", model_with("../../etc/passwd").SerializeToString())
    (f,) = findings(path, "code")
    assert "m/model.onnx" in f.message


def test_random_data_is_not_called_onnx():
    rng = random.Random(1234)
    hits = sum(sniff(bytes(rng.getrandbits(8) for _ in range(rng.randrange(8, 512)))) == "onnx" for _ in range(3000))
    assert hits <= 1
    # protobufs of other shapes: a sentencepiece model, a bare varint, a TensorFlow GraphDef
    protobufs = [b"\x0a\x07\x0a\x01a\x15\x00\x00\x80\x3f", b"\x08\x96\x01",
                 b"\x0a\x0c\x0a\x01x\x12\x05Const\x22\x00"]
    assert [sniff(p) for p in protobufs] == ["sentencepiece", "unknown", "unknown"]  # none is onnx


def test_deep_nesting_is_bounded(tmp_path):
    g = graph([weight("w", "/etc/passwd")], name="g0")
    for i in range(20):
        node = helper.make_node("If", ["x"], ["y"], then_branch=g, else_branch=graph(name="e"))
        g = graph(nodes=[node], name=f"g{i + 1}")
    data = helper.make_model(g, producer_name="t").SerializeToString()
    assert len(onnx_problems(data, 0, len(data))[0]) == 1
    # thousands of levels, built by hand: no recursion, a limit or a parse stop
    graph_body = b""
    for _ in range(3000):  # GraphProto.node -> NodeProto.attribute -> AttributeProto.g -> GraphProto ...
        attribute = b"\x32" + _len(graph_body) + graph_body
        node = b"\x2a" + _len(attribute) + attribute
        graph_body = b"\x0a" + _len(node) + node
    data = b"\x3a" + _len(graph_body) + graph_body
    t0 = time.monotonic()
    problems, parsed = onnx_problems(data, 0, len(data))
    assert time.monotonic() - t0 < 5
    assert not parsed and [kind for kind, _, _ in problems] == ["limit"]


def _len(body):
    n, out = len(body), b""
    while True:
        b = n & 0x7F
        n >>= 7
        out += bytes([b | (0x80 if n else 0)])
        if not n:
            return out


def test_field_budget_is_a_limit_finding(monkeypatch):
    from guardpolicy.scan import onnx as O

    monkeypatch.setattr(O, "MAX_FIELDS", 10)
    data = model_with("w.bin").SerializeToString()
    problems, parsed = onnx_problems(data, 0, len(data))
    assert not parsed and [p[0] for p in problems] == ["limit"]


# differential: the hand-written walk finds what the protobuf library finds
def reference_locations(m):
    """Every ``location`` value of every tensor, by walking the parsed proto."""
    out = []

    def tensors_of_graph(g):
        for t in g.initializer:
            yield t
        for sp in g.sparse_initializer:
            yield sp.values
            yield sp.indices
        for node in g.node:
            yield from tensors_of_node(node)

    def tensors_of_node(node):
        for a in node.attribute:
            if a.HasField("t"):
                yield a.t
            yield from a.tensors
            if a.HasField("g"):
                yield from tensors_of_graph(a.g)
            for sub in a.graphs:
                yield from tensors_of_graph(sub)
            if a.HasField("sparse_tensor"):
                yield a.sparse_tensor.values
                yield a.sparse_tensor.indices
            for sp in a.sparse_tensors:
                yield sp.values
                yield sp.indices

    def all_tensors():
        yield from tensors_of_graph(m.graph)
        for fn in m.functions:
            for node in fn.node:
                yield from tensors_of_node(node)
        for info in m.training_info:
            yield from tensors_of_graph(info.initialization)
            yield from tensors_of_graph(info.algorithm)

    for t in all_tensors():
        out.extend(e.value for e in t.external_data if e.key == "location")
    return sorted(out)


@FUZZ
@given(st.lists(st.tuples(st.sampled_from(PLACES), st.sampled_from(ESCAPES + INSIDE)), min_size=1, max_size=6))
def test_walk_matches_the_protobuf_library(items):
    m = model_with(items[0][1], items[0][0])
    for place, location in items[1:]:
        other = model_with(location, place)
        m.graph.initializer.extend(other.graph.initializer)
        m.graph.sparse_initializer.extend(other.graph.sparse_initializer)
        m.graph.node.extend(other.graph.node)
        m.functions.extend(other.functions)
        m.training_info.extend(other.training_info)
    data = m.SerializeToString()
    found, stopped = external_locations(data, 0, len(data))
    assert stopped is None
    assert sorted(loc for _, loc, _ in found) == reference_locations(onnx.load_from_string(data))
    escapes = [loc for _, loc in items if location_escape(loc)]
    assert len([p for p in onnx_problems(data, 0, len(data))[0] if p[0] == "code"]) == len(escapes)


_ONNX_SEEDS = []


def onnx_seeds():
    if not _ONNX_SEEDS:
        _ONNX_SEEDS.extend(model_with(loc, place).SerializeToString()
                           for loc, place in (("../x", "function"), ("w.bin", "subgraph"), ("/etc/p", "initializer")))
    return _ONNX_SEEDS


@FUZZ
@given(st.integers(0, 2), st.lists(st.tuples(st.integers(0, 1 << 30), st.integers(0, 255)), min_size=1, max_size=8),
       st.integers(0, 1 << 30), st.booleans())
def test_onnx_mutated_real_files_never_raise(index, flips, cut, truncate):
    data = bytearray(onnx_seeds()[index])
    for pos, value in flips:
        data[pos % len(data)] = value
    if truncate:
        data = data[:cut % (len(data) + 1)]
    data = bytes(data)
    onnx_problems(data, 0, len(data))
    looks_like_model(data, 0, len(data))
    report = Scanner(LIMITS).scan_bytes(data)
    assert not [p for p in report.problems if p.kind == "internal"], report.problems


@FUZZ
@given(st.binary(max_size=2048))
def test_onnx_random_bytes_never_raise(data):
    problems, _ = onnx_problems(data, 0, len(data))
    assert all(kind in ("code", "limit") for kind, _, _ in problems)
    looks_like_model(data, 0, len(data))


def test_malformed_onnx_still_gets_the_embedded_pickle_probe(tmp_path):
    import pickle_payloads as P

    path = tmp_path / "m.onnx"
    path.write_bytes(b"\x08\x07\x12\x07pytorch" + b"\xff\xff" + P.call_global("os", "system"))
    assert sniff(path.read_bytes()) == "onnx"
    assert any("os.system" in f.message for f in scan_path(path))


# -- the CLI --------------------------------------------------------------------------------------
@pytest.mark.slow  # seconds of decompression or parsing on purpose
def test_guard_scan_denies_injected_template_and_escaping_onnx(tmp_path):
    write_gguf(tmp_path / "evil.gguf", template=T.CVE_2024_34359_POC)
    (tmp_path / "evil.onnx").write_bytes(model_with("../../etc/passwd").SerializeToString())
    write_gguf(tmp_path / "good.gguf", template=T.BENIGN["llama-3"])
    bad = run_guard("scan", tmp_path / "evil.gguf", tmp_path / "evil.onnx", cwd=tmp_path)
    assert bad.returncode != 0, bad.stdout + bad.stderr
    assert "CVE-2024-34359" in bad.stdout and "CVE-2024-27318" in bad.stdout
    good = run_guard("scan", tmp_path / "good.gguf", cwd=tmp_path)
    assert good.returncode == 0, good.stdout + good.stderr


def test_strict_policy_still_allows_clean_gguf_and_onnx(tmp_path):
    write_gguf(tmp_path / "m.gguf", template=T.BENIGN["qwen3-thinking"])
    buf = io.BytesIO()
    onnx.save_model(helper.make_model(graph([weight()]), producer_name="t"), buf)
    (tmp_path / "m.onnx").write_bytes(buf.getvalue())
    res = run_guard("scan", "--policy", "strict", tmp_path, cwd=tmp_path)
    assert res.returncode == 0, res.stdout + res.stderr
