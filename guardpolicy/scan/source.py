"""Built-in plugin: local model files and folders as ``guard check`` targets.

Claims (before the requirements-file source gets a chance) a directory, or a file whose
*content* is a model format (pickle, torch zip, numpy, safetensors, GGUF, ONNX, HDF5,
archives...), or whose name is a model file's. Text inputs the core understands
(requirements, pyproject, lock files, pip reports) are left alone because their bytes are
not a model format.

A directory is a project as much as a checkpoint folder: besides a ``FileRef`` for every
file, its dependency files (``requirements*.txt``/``.in``, ``constraints*.txt``,
``pyproject.toml``, ``pylock*.toml``, ``uv.lock``, and ``guard.lock`` for Hub repos; chosen by
name, since prose ``.txt`` files are common in model folders) are read by the core's own
sources. A folder that is a downloaded repo carrying more than weights — an
``adapter_config.json`` (LoRA/PEFT: its base model is a dependency), or a ``config.json`` /
``tokenizer_config.json`` with an ``auto_map`` (code ``trust_remote_code`` runs) — is also a
``ModelRef`` marked ``local_only``, so rules ``adapter`` and ``remote-code`` read it from disk.
"""

from __future__ import annotations

import os
import re
from typing import Iterator, Union

from ..hookspecs import hookimpl
from ..model import FileRef, Finding, Location, ModelRef, Subject, printable_path
from ..sources.interface import Source

#: names that are model files even when their content is not recognised (a pickle after junk)
MODEL_SUFFIXES = (".bin", ".pt", ".pth", ".ckpt", ".pkl", ".pickle", ".joblib", ".npy", ".npz", ".h5", ".hdf5",
                  ".keras", ".safetensors", ".gguf", ".onnx", ".msgpack", ".model", ".pb", ".tflite", ".mar",
                  ".dill", ".sav", ".nemo", ".tar", ".gz", ".zip")


#: file names inside a folder that are read as Python dependency files (not only scanned)
DEPENDENCY_FILE = re.compile(r"(?i)^(?:(?:requirements|constraints)[\w.-]*\.(?:txt|in)|pyproject\.toml"
                             r"|pylock(?:\.[\w-]+)?\.toml|uv\.lock|(?:[\w.-]+\.)?guard\.lock)\Z")


#: files that make a folder a repo whose loading does more than read weights
ADAPTER_CONFIG = "adapter_config.json"
AUTO_MAP_CONFIGS = ("config.json", "tokenizer_config.json")
_MAX_CONFIG = 1 << 20


def is_repo_folder(folder: str) -> bool:
    """True when ``folder`` holds an ``adapter_config.json``, or a config whose JSON has an ``auto_map``."""
    if os.path.isfile(os.path.join(folder, ADAPTER_CONFIG)):
        return True
    from ..hubinfo import json_object

    for name in AUTO_MAP_CONFIGS:
        path = os.path.join(folder, name)
        try:
            if os.path.isfile(path) and os.path.getsize(path) <= _MAX_CONFIG:
                with open(path, "rb") as fh:
                    if "auto_map" in json_object(fh.read()):
                        return True
        except OSError:
            continue
    return False


def local_repo_ref(folder: str) -> ModelRef:
    """A repo-like folder as a ``local_only`` ``ModelRef`` (its subject is the folder's path)."""
    return ModelRef(repo_id=os.path.basename(os.path.normpath(folder)) or folder, location=Location(folder),
                    extra={"local_dir": folder, "local_only": True})


def is_dependency_file(name: str) -> bool:
    """True for a base name a folder walk reads as a dependency file (``requirements-dev.txt``, ``uv.lock``)."""
    return bool(DEPENDENCY_FILE.match(name))


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
    """A model file, or every file under a folder (skipping .git and caches), as ``FileRef`` subjects;
    a folder's repo-like folders yield ``local_only`` ``ModelRef`` subjects and its dependency files
    what the core's dependency sources read from them."""

    def __init__(self, path: str, options=None):
        self.path = self.name = path
        self.options = options

    def collect(self) -> Iterator[Union[Subject, Finding]]:
        """One ``FileRef`` per file, then the repo-like folders, then the dependency files' subjects."""
        from .api import iter_files

        deps, folders = [], []
        for file in iter_files(self.path):
            yield FileRef(path=file)
            if os.path.basename(file) in (ADAPTER_CONFIG, *AUTO_MAP_CONFIGS):
                folder = os.path.dirname(file)
                if folder not in folders and is_repo_folder(folder):
                    folders.append(folder)
            # a pickle named requirements.txt is a model file (judged by content), not a requirements file
            if file != self.path and is_dependency_file(os.path.basename(file)) and not is_model_file(file):
                deps.append(file)
        for folder in folders:
            yield local_repo_ref(folder)
        for file in deps:
            yield from dependency_items(file, self.options)


def dependency_items(path: str, options) -> Iterator[Union[Subject, Finding]]:
    """What the core's source for a dependency file yields; a file it cannot read is an ``invalid`` finding
    (one broken file in a folder must not hide the rest of the folder)."""
    from ..sources import hub_plugin
    from ..sources import plugin as core_sources
    from ..sources.interface import SourceError

    source = hub_plugin.guard_make_source(target=path, options=options) or \
        core_sources.guard_make_source(target=path, options=options)
    if source is None:
        return
    try:
        yield from source.collect()
    except SourceError as exc:
        # the location goes in ``location``, not again in the message
        where = f"{exc.file}:{exc.line}: " if exc.file and exc.line else (f"{exc.file}: " if exc.file else "")
        message = str(exc)[len(where):] if str(exc).startswith(where) else str(exc)
        yield Finding(rule="invalid", subject=printable_path(path), location=Location(exc.file or path, exc.line),
                      message=message, suggestion="fix the file, or check the folder's other files one by one")


@hookimpl(tryfirst=True)
def guard_make_source(target, options):
    if ":" in target.split("/", 1)[0] and not os.path.exists(target):
        return None  # pypi:, hf:, URLs
    if os.path.isdir(target):
        return ModelFileSource(target, options)
    if os.path.isfile(target) and is_model_file(target):
        return ModelFileSource(target, options)
    return None
