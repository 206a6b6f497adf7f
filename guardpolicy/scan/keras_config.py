"""Keras model configs: the parts that run code when the model is loaded.

A Keras v3 ``.keras`` zip keeps the model as ``config.json``; a Keras 2 ``.h5`` keeps it as JSON
in the ``model_config`` attribute. Loading rebuilds every object the config names:

* ``Lambda`` layers carry marshalled Python bytecode (``__lambda__``), run on load or first call;
* ``module``/``class_name`` pairs outside Keras are imported (Keras 3.0-3.8 imported any module:
  CVE-2025-1550), so ``{"module": "os", "class_name": "system"}`` is a call into ``os``;
* ``{"module": "builtins", "class_name": "function", "config": NAME}`` is how Keras writes a
  plain function (a loss, an activation); older Keras 3 looked ``NAME`` up in Python's
  ``builtins`` module too, so ``exec``/``eval`` come back as callables;
* some functions inside the Keras and TensorFlow namespaces are gadgets themselves
  (``keras.utils.get_file`` downloads, ``keras.config.enable_unsafe_deserialization`` turns the
  safe mode off, ``tf.io.write_file`` writes files through a ``TFOpLambda`` layer).
"""

from __future__ import annotations

import builtins
import json
import re
from typing import List

#: module roots of Keras and the TensorFlow/Keras ecosystem (``keras_hub``, ``tensorflow_text``, ...)
_KERAS_ROOTS = ("keras", "tensorflow", "tf_keras")
#: module path parts that are file, process or import machinery wherever they sit
_DANGEROUS_PARTS = frozenset([
    "os", "posix", "nt", "subprocess", "builtins", "__builtin__", "sys", "importlib", "shutil", "pickle", "marshal",
    "runpy", "pty", "socket", "ctypes", "code", "codeop", "webbrowser", "io", "gfile", "file_io", "script_ops",
    "io_ops", "gen_io_ops",
])
#: names inside the Keras/TensorFlow namespaces that download, write, delete or load code
_GADGET_NAMES = frozenset([
    "get_file", "enable_unsafe_deserialization", "load_model", "load_weights", "save_model", "write_file",
    "read_file", "write_string_to_file", "read_file_to_string", "delete_file", "delete_recursively", "rename",
    "copy", "remove", "rmtree", "makedirs", "GFile", "FastGFile", "py_func", "py_function", "numpy_function",
    "load_library", "load_op_library", "system", "popen", "exec", "eval",
])
#: TensorFlow API names a TFOpLambda may call that touch files or run Python
_TF_OP_DANGER = re.compile(
    r"(?:\A|\.)(?:io|gfile|py_function|numpy_function|py_func|load_library|load_op_library|saved_model|"
    r"raw_ops\.(?:WriteFile|ReadFile|MatchingFiles|PyFunc\w*|EagerPyFunc|Save\w*|Restore\w*|DeleteFile\w*))(?:\.|\Z)")
_PYTHON_BUILTINS = frozenset(dir(builtins))
_MAX_NESTING = 200


def keras_family(module: str) -> bool:
    """A module of Keras or the TensorFlow/Keras ecosystem (``keras.layers``, ``keras_hub.models``)."""
    root = module.split(".", 1)[0]
    return root in _KERAS_ROOTS or root.startswith(tuple(r + "_" for r in _KERAS_ROOTS))


def _dangerous_module(module: str) -> bool:
    return any(part in _DANGEROUS_PARTS for part in module.split("."))


def _judge_object(node: dict) -> List[str]:
    """Messages for one serialized object (a dict with ``class_name``)."""
    cls = node.get("class_name")
    mod = node.get("module")
    conf = node.get("config")
    if cls == "Lambda":
        return ["Keras Lambda layer (runs Python code on load)"]
    if cls == "__lambda__":
        return ["Keras serialized lambda (marshalled Python bytecode)"]
    if cls in ("TFOpLambda", "SlicingOpLambda") and isinstance(conf, dict):
        fn = conf.get("function")
        if isinstance(fn, str) and _TF_OP_DANGER.search(fn):
            return [f"Keras {cls} layer calls tf.{fn[:80]} (file or Python access when the model runs)"]
    out = []
    registered = node.get("registered_name")
    if isinstance(registered, str) and ">" in registered:
        package = registered.split(">", 1)[0]
        if _dangerous_module(package):
            out.append(f"Keras config registers {registered[:80]!r} under a Python system module")
    if cls == "function" and isinstance(conf, str):
        if mod == "builtins":
            # how Keras writes any plain function; only a name Python's builtins module has is a way out
            if conf in _PYTHON_BUILTINS:
                out.append(f"Keras config calls builtins.function {conf!r} (the Python builtin runs on load)")
            return out
        if not isinstance(mod, str) or not keras_family(mod):
            out.append(f"Keras config calls function {conf[:80]!r} from {str(mod)[:80]} (outside keras)")
            return out
        if conf in _GADGET_NAMES or _dangerous_module(mod):
            out.append(f"Keras config calls {mod}.{conf} (file, network or code-loading function)")
        return out
    if isinstance(mod, str) and cls is not None:
        if not keras_family(mod):
            out.append(f"Keras config references {mod}.{cls} (outside keras: custom code runs on load)")
        elif cls in _GADGET_NAMES or _dangerous_module(mod):
            out.append(f"Keras config references {mod}.{cls} (file, network or code-loading function)")
    return out


def keras_code(config, _depth: int = 0) -> List[str]:
    """Messages for every piece of a Keras config that runs code on load (Lambda, functions)."""
    out: List[str] = []
    stack = [(config, 0)]
    while stack:
        node, depth = stack.pop()
        if depth > _MAX_NESTING:
            out.append("Keras config nested too deeply to check")
            break
        if isinstance(node, dict):
            if "class_name" in node:
                out.extend(_judge_object(node))
            stack.extend((v, depth + 1) for v in node.values())
        elif isinstance(node, list):
            stack.extend((v, depth + 1) for v in node)
    return out


#: where a JSON object may start inside an HDF5 attribute (any key: JSON escapes can spell "class_name")
_CONFIG_START = re.compile(rb'\{\s*"')
_LAMBDA = re.compile(rb'"class_name"\s*:\s*"(?:Lambda|__lambda__)"')
#: a Keras object key, plain or spelled with a JSON escape
_KERAS_KEY = re.compile(rb'"(?:class_name|\\u00[0-9a-fA-F]{2}[^"]{0,60})"\s*:')
_MAX_CANDIDATES = 4096
_MAX_JSON = 32 << 20
#: characters decoded over all candidates (binary junk stops at its first NUL, so stays cheap)
_MAX_DECODED = 128 << 20


def hdf5_keras_code(window: bytes) -> List[str]:
    """Messages for code in the Keras JSON configs found in the first bytes of an HDF5 file.

    Keras 2 writes ``model_config`` (and ``training_config``) as JSON text attributes; each is
    decoded where it starts and judged like a ``.keras`` config. A ``Lambda`` mention in text
    that does not decode (a config split across heap blocks) is still reported.
    """
    out: List[str] = []
    decoder = json.JSONDecoder()
    covered = -1
    tries = decoded = 0
    for m in _CONFIG_START.finditer(window):
        if m.start() < covered:
            continue  # inside a config already judged
        tries += 1
        if tries > _MAX_CANDIDATES or decoded > _MAX_DECODED:
            # out of budget: only a Keras config further on matters (a JSON data set does not)
            if _KERAS_KEY.search(window, m.start()):
                out.append("HDF5 file holds too many JSON fragments before its Keras config to check it")
            break
        # JSON text holds no NUL; HDF5 pads and follows an attribute's text with binary fields that do
        stop = window.find(b"\0", m.start(), m.start() + _MAX_JSON)
        chunk = window[m.start():stop if stop >= 0 else m.start() + _MAX_JSON]
        decoded += len(chunk)
        text = chunk.decode("utf-8", "replace")
        try:
            value, used = decoder.raw_decode(text)
        except (ValueError, RecursionError):
            continue
        covered = m.start() + len(text[:used].encode("utf-8", "replace"))
        out.extend(keras_code(value))
    if not any("Lambda" in msg or "lambda" in msg for msg in out) and _LAMBDA.search(window):
        out.append("Keras Lambda layer (marshalled Python code runs on load)")
    return out
