"""Built-in plugin: local model files and folders as ``guard check`` targets.

Claims (before the requirements-file source gets a chance) a directory, or a file whose
*content* is a model format (pickle, torch zip, numpy, safetensors, GGUF, ONNX, HDF5,
archives...), or whose name is a model file's. Text inputs the core understands
(requirements, pyproject, lock files, pip reports) are left alone because their bytes are
not a model format.
"""

from __future__ import annotations

import os
from typing import Iterator

from ..hookspecs import hookimpl
from ..model import FileRef
from ..sources.interface import Source

#: names that are model files even when their content is not recognised (a pickle after junk)
MODEL_SUFFIXES = (".bin", ".pt", ".pth", ".ckpt", ".pkl", ".pickle", ".joblib", ".npy", ".npz", ".h5", ".hdf5",
                  ".keras", ".safetensors", ".gguf", ".onnx", ".msgpack", ".model", ".pb", ".tflite", ".mar",
                  ".dill", ".sav", ".nemo", ".tar", ".gz", ".zip")


def is_model_file(path: str) -> bool:
    """True when the file's bytes are a model format (or its name is a model file's)."""
    from .detect import sniff

    if path.lower().endswith(MODEL_SUFFIXES):
        return True
    try:
        with open(path, "rb") as fh:
            head = fh.read(65536)
    except OSError:
        return False
    return sniff(head) not in ("unknown",) or _maybe_safetensors(path, head)


def _maybe_safetensors(path: str, head: bytes) -> bool:
    # sniff() on a prefix cannot see that the header fits the whole file
    """A safetensors header whose length fits the whole file (the prefix alone cannot tell)."""
    try:
        size = os.path.getsize(path)
    except OSError:
        return False
    return len(head) >= 10 and head[8:9] == b"{" and 2 <= int.from_bytes(head[:8], "little") <= size - 8


class ModelFileSource(Source):
    """A model file, or every file under a folder (skipping .git and caches), as ``FileRef`` subjects."""

    def __init__(self, path: str):
        self.path = self.name = path

    def collect(self) -> Iterator[FileRef]:
        """One ``FileRef`` per file."""
        from .api import iter_files

        for file in iter_files(self.path):
            yield FileRef(path=file)


@hookimpl(tryfirst=True)
def guard_make_source(target, options):
    if ":" in target.split("/", 1)[0] and not os.path.exists(target):
        return None  # pypi:, hf:, URLs
    if os.path.isdir(target):
        return ModelFileSource(target)
    if os.path.isfile(target) and is_model_file(target):
        return ModelFileSource(target)
    return None
