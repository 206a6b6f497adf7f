"""Keras configs: code that runs on load is reported in ``.keras`` zips and Keras 2 ``.h5`` files; real layers pass.

keras/tensorflow are not installed here: ``.keras`` archives are built by hand (``config.json``
in the Keras v3 format) and ``.h5`` files as an HDF5 signature followed by the ``model_config``
JSON text, where Keras 2 keeps it.
"""

from __future__ import annotations

import json
import zipfile

import pytest

from guardpolicy import scan_path
from guardpolicy.scan import scan_report
from guardpolicy.scan.keras_config import hdf5_keras_code, keras_code

HDF5 = b"\x89HDF\r\n\x1a\n"


def layer(class_name, config=None, module="keras.layers", **extra):
    return {"module": module, "class_name": class_name, "config": config or {"name": class_name.lower()},
            "registered_name": None, **extra}


def model(*layers, compile_config=None):
    return {"module": "keras", "class_name": "Sequential", "config": {
        "name": "sequential", "trainable": True,
        "dtype": {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"}, "registered_name": None},
        "layers": list(layers)}, "registered_name": None, "build_config": {"input_shape": [None, 28, 28, 1]},
        "compile_config": compile_config}


DENSE = layer("Dense", {"name": "dense", "units": 10, "activation": "softmax", "use_bias": True,
                        "kernel_initializer": {"module": "keras.initializers", "class_name": "GlorotUniform",
                                               "config": {"seed": None}, "registered_name": None},
                        "kernel_regularizer": {"module": "keras.regularizers", "class_name": "L2",
                                               "config": {"l2": 0.01}, "registered_name": None}})
BENIGN_MODEL = model(
    layer("InputLayer", {"batch_shape": [None, 28, 28, 1], "dtype": "float32", "name": "input_layer"}),
    layer("Conv2D", {"name": "conv2d", "filters": 32, "kernel_size": [3, 3], "activation": "relu"}),
    layer("MaxPooling2D", {"name": "max_pooling2d", "pool_size": [2, 2]}),
    layer("Flatten"), layer("Dropout", {"name": "dropout", "rate": 0.5}), DENSE,
    compile_config={
        "optimizer": {"module": "keras.optimizers", "class_name": "Adam", "config": {"learning_rate": 0.001},
                      "registered_name": None},
        # how Keras writes a loss or metric given as a plain function
        "loss": {"module": "builtins", "class_name": "function", "config": "mean_squared_error",
                 "registered_name": "function"},
        "metrics": [{"module": "builtins", "class_name": "function", "config": "my_custom_metric",
                     "registered_name": "function"}, "accuracy"],
        "loss_weights": None, "run_eagerly": False, "steps_per_execution": 1, "jit_compile": False})


def keras_zip(path, config, extra=None):
    members = {"config.json": json.dumps(config), "metadata.json": json.dumps({"keras_version": "3.6.0"}),
               "model.weights.h5": HDF5 + b"\0" * 64}
    members.update(extra or {})
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, value in members.items():
            if value is not None:
                z.writestr(name, value)
    return path


def code_messages(path):
    return [f.message for f in scan_path(path) if f.details.get("kind") == "code"]


LAMBDA = layer("Lambda", {"name": "lambda", "function": {"class_name": "__lambda__", "config": {
    "code": "4wEAAAAAAAAAAAAAAAEAAAADAAAA8wgAAACXAHwAUwApAU6pAKkB2gF4cwEAAAAg", "defaults": None, "closure": None}}})


def test_benign_keras_v3_model_passes(tmp_path):
    assert scan_path(keras_zip(tmp_path / "model.keras", BENIGN_MODEL)) == []


def test_keras_zip_lambda_is_reported(tmp_path):
    msgs = code_messages(keras_zip(tmp_path / "model.keras", model(DENSE, LAMBDA)))
    assert any("Lambda" in m for m in msgs) and any("marshalled" in m for m in msgs)


def test_config_json_alone_is_enough_for_keras(tmp_path):
    # keras builds the model from config.json before it looks for weights or metadata
    path = keras_zip(tmp_path / "model.keras", model(LAMBDA), {"metadata.json": None, "model.weights.h5": None})
    assert any("Lambda" in m for m in code_messages(path))
    assert "keras" in scan_report(str(path)).formats


def test_other_config_json_in_a_zip_is_left_alone(tmp_path):
    path = tmp_path / "bundle.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("config.json", json.dumps({"architectures": ["LlamaForCausalLM"], "model_type": "llama",
                                              "torch_dtype": "bfloat16"}))
        z.writestr("notes/config.json", "not json at all")
    assert scan_path(path) == []
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("config.json", "{ not json")
    assert scan_path(path) == []


@pytest.mark.parametrize("name", ["exec", "eval", "__import__", "open", "getattr", "compile", "breakpoint"])
def test_builtins_function_naming_a_python_builtin(tmp_path, name):
    act = {"module": "builtins", "class_name": "function", "config": name, "registered_name": "function"}
    cfg = model(layer("Dense", {"name": "d", "units": 2, "activation": act}))
    msgs = code_messages(keras_zip(tmp_path / "m.keras", cfg))
    assert any("builtins.function" in m and repr(name) in m for m in msgs), msgs


@pytest.mark.parametrize("function", ["io.write_file", "io.read_file", "io.gfile.rmtree", "compat.v1.io.write_file",
                                      "numpy_function", "py_function", "raw_ops.WriteFile", "load_op_library"])
def test_tf_op_lambda_touching_files_or_python(tmp_path, function):
    op = layer("TFOpLambda", {"name": "tf.op", "trainable": True, "dtype": "float32", "function": function})
    msgs = code_messages(keras_zip(tmp_path / "m.keras", model(DENSE, op)))
    assert any("TFOpLambda" in m and function in m for m in msgs), msgs


@pytest.mark.parametrize("function", ["math.add", "__operators__.add", "compat.v1.transpose", "nn.relu", "reshape",
                                      "math.reduce_mean", "concat", "image.resize"])
def test_tf_op_lambda_with_ordinary_ops_passes(tmp_path, function):
    op = layer("TFOpLambda", {"name": "tf.op", "trainable": True, "dtype": "float32", "function": function})
    assert scan_path(keras_zip(tmp_path / "m.keras", model(DENSE, op))) == []


@pytest.mark.parametrize("obj, needle", [
    ({"module": "keras.utils", "class_name": "function", "config": "get_file", "registered_name": "get_file"},
     "get_file"),
    ({"module": "keras.config", "class_name": "function", "config": "enable_unsafe_deserialization",
      "registered_name": None}, "enable_unsafe_deserialization"),
    ({"module": "keras.src.saving.saving_api", "class_name": "load_model", "config": {"filepath": "http://x/m.keras"}},
     "load_model"),
    ({"module": "tensorflow.io", "class_name": "write_file", "config": {}}, "tensorflow.io"),
    ({"module": "subprocess", "class_name": "Popen", "config": {"args": ["id"]}}, "subprocess.Popen"),
    ({"module": "kerasx.layers", "class_name": "Evil", "config": {}}, "kerasx.layers.Evil"),
    ({"module": None, "class_name": "Custom", "config": {}, "registered_name": "os>system"}, "os>system"),
])
def test_gadgets_and_modules_outside_keras(obj, needle):
    msgs = keras_code(model(layer("Dense", {"name": "d", "units": 2, "activation": obj})))
    assert any(needle in m for m in msgs), msgs


@pytest.mark.parametrize("obj", [
    {"module": "keras_hub.src.models.gemma.gemma_backbone", "class_name": "GemmaBackbone", "config": {},
     "registered_name": "keras_hub>GemmaBackbone"},
    {"module": "keras_core.layers", "class_name": "Dense", "config": {}},
    {"module": "tensorflow_text", "class_name": "BertTokenizer", "config": {}},
    {"module": "keras.activations", "class_name": "function", "config": "relu", "registered_name": "relu"},
    {"module": "keras.src.ops.numpy", "class_name": "Add", "config": {}},
    {"class_name": "__tuple__", "config": {"value": [1, 2]}},
    {"module": "keras.layers", "class_name": "Dense", "config": {}, "registered_name": "MyProject>Head"},
])
def test_keras_ecosystem_objects_pass(obj):
    assert keras_code(model(obj)) == []


def keras2_h5(config):
    """An HDF5 file as Keras 2 writes it: the model config as JSON text in a root attribute."""
    text = json.dumps(config).encode()
    return HDF5 + b"\0" * 200 + b"model_config\0\0\0\0" + text + b"\0" * 7 + b"\x01\x02training_config\0" + \
        json.dumps({"loss": "mse", "optimizer_config": {"class_name": "Adam", "config": {"lr": 0.001}}}).encode() + \
        b"\0" * 64


KERAS2_SEQUENTIAL = {"class_name": "Sequential", "config": {"name": "sequential", "layers": [
    {"class_name": "InputLayer", "config": {"batch_input_shape": [None, 4], "dtype": "float32"}},
    {"class_name": "Dense", "config": {"name": "dense", "units": 8, "activation": "relu",
                                       "kernel_initializer": {"class_name": "GlorotUniform", "config": {"seed": None}}}},
]}, "keras_version": "2.15.0", "backend": "tensorflow"}


def test_keras2_h5_benign_passes(tmp_path):
    path = tmp_path / "model.h5"
    path.write_bytes(keras2_h5(KERAS2_SEQUENTIAL))
    assert scan_path(path) == []


def with_layer(cfg, extra):
    cfg = json.loads(json.dumps(cfg))
    cfg["config"]["layers"].append(extra)
    return cfg


@pytest.mark.parametrize("extra, needle", [
    ({"class_name": "Lambda", "config": {"name": "lambda", "function": ["4wEAAAAAAAAA", None, None],
                                         "function_type": "lambda", "module": "__main__"}}, "Lambda"),
    ({"class_name": "TFOpLambda", "config": {"name": "tf.io.write_file", "function": "io.write_file"}},
     "io.write_file"),
    ({"class_name": "Dense", "config": {"units": 2, "activation": {"module": "os", "class_name": "system",
                                                                   "config": "id"}}}, "os.system"),
])
def test_keras2_h5_code_is_reported(tmp_path, extra, needle):
    path = tmp_path / "model.h5"
    path.write_bytes(keras2_h5(with_layer(KERAS2_SEQUENTIAL, extra)))
    msgs = code_messages(path)
    assert len(msgs) == 1 and needle in msgs[0], msgs


def test_h5_lambda_mention_that_does_not_decode_is_still_reported():
    window = HDF5 + b'{"class_name": "Sequential", "config": {"layers": [{"class_name": "Lambda", "conf'
    assert any("Lambda" in m for m in hdf5_keras_code(window))


def test_h5_config_with_json_escapes_is_decoded_before_judging(tmp_path):
    text = json.dumps(with_layer(KERAS2_SEQUENTIAL, {"class_name": "Lambda", "config": {"function": ["4wEA"]}}))
    text = text.replace('"class_name"', '"\\u0063lass_name"').replace('"Lambda"', '"\\u004cambda"')
    path = tmp_path / "model.h5"
    path.write_bytes(HDF5 + b"\0" * 100 + b'{"' * 40 + b"\0" + text.encode() + b"\0" * 8)
    assert any("Lambda" in m for m in code_messages(path))


def test_binary_noise_with_braces_is_bounded():
    import random
    import time

    rng = random.Random(7)
    noise = bytes(rng.getrandbits(8) for _ in range(1 << 20)) + b'{"' * 200_000
    t0 = time.monotonic()
    hdf5_keras_code(HDF5 + noise)
    assert time.monotonic() - t0 < 10
