"""Which pickle globals are safe: a precise allowlist, and a denylist used only for naming.

Allowlist first: a global is fine only if its exact ``(module, name)`` pair is below. The
list is modelled on torch's ``weights_only`` unpickler (``torch/_weights_only_unpickler.py``)
and checked against files written by ``torch.save``, ``numpy`` and ``joblib`` (see
tests/test_scan_benign.py). Everything else is a finding; the known-dangerous ones are
labelled as such so a person reading the report sees "os.system" is not a false alarm.

Named profiles (``guardpolicy/scan/profiles.py``, ``[rules.pickle] profiles``) add the exact
pairs real numpy/pandas/scikit-learn/scipy/stdlib data pickles use. A profile never allows a
global ``named_danger`` knows (deny wins); neither does a glob in ``allowed_globals``. Only an
exact ``allowed_globals`` entry can let a dangerous global through: a deliberate waiver.
"""

from __future__ import annotations

import fnmatch
from typing import Iterable, Optional, Tuple

_TORCH_DTYPES = (
    "float32 float float64 double float16 half bfloat16 complex32 complex64 cfloat complex128 cdouble "
    "uint8 uint16 uint32 uint64 int8 int16 short int32 int int64 long bool "
    "float8_e4m3fn float8_e5m2 float8_e4m3fnuz float8_e5m2fnuz float8_e8m0fnu float4_e2m1fn_x2 "
    "qint8 quint8 qint32 quint4x2 quint2x4 bits1x8 bits2x4 bits4x2 bits8 bits16 "
    "int1 int2 int3 int4 int5 int6 int7 uint1 uint2 uint3 uint4 uint5 uint6 uint7"
).split()
_TORCH_LAYOUTS = "strided sparse_coo sparse_csr sparse_csc sparse_bsr sparse_bsc _mkldnn jagged".split()
_TORCH_MEMORY_FORMATS = "contiguous_format channels_last channels_last_3d preserve_format".split()
_TORCH_QSCHEMES = "per_tensor_affine per_channel_affine per_tensor_symmetric per_channel_symmetric per_channel_affine_float_qparams".split()
_TORCH_STORAGES = (
    "DoubleStorage FloatStorage HalfStorage LongStorage IntStorage ShortStorage CharStorage ByteStorage "
    "BoolStorage BFloat16Storage ComplexDoubleStorage ComplexFloatStorage QUInt8Storage QInt8Storage "
    "QInt32Storage QUInt4x2Storage QUInt2x4Storage UntypedStorage TypedStorage"
).split()
_TORCH_REBUILDS = (
    "_rebuild_tensor _rebuild_tensor_v2 _rebuild_tensor_v3 _rebuild_parameter _rebuild_parameter_with_state "
    "_rebuild_sparse_tensor _rebuild_sparse_csr_tensor _rebuild_meta_tensor_no_storage _rebuild_nested_tensor "
    "_rebuild_qtensor _rebuild_wrapper_subclass _rebuild_device_tensor_from_cpu_tensor "
    "_rebuild_device_tensor_from_numpy _rebuild_xla_tensor _rebuild_mtia_tensor"
).split()

SAFE_GLOBALS = frozenset(
    [("torch", n) for n in _TORCH_DTYPES + _TORCH_LAYOUTS + _TORCH_MEMORY_FORMATS + _TORCH_QSCHEMES + _TORCH_STORAGES]
    + [("torch", "Size"), ("torch", "device"), ("torch", "Tensor"), ("torch", "dtype")]
    + [("torch._utils", n) for n in _TORCH_REBUILDS]
    + [("torch.storage", "UntypedStorage"), ("torch.storage", "TypedStorage")]
    + [("torch._tensor", "_rebuild_from_type_v2"), ("torch._tensor", "_rebuild_from_type"),
       ("torch.nn.parameter", "Parameter"), ("torch.nn.parameter", "Buffer"), ("torch.serialization", "_get_layout"),
       ("torch.types", "Storage"), ("torch.cuda", "FloatStorage")]
    + [("collections", "OrderedDict"), ("collections", "Counter")]
    + [("builtins", n) for n in "set frozenset slice bytearray complex range bytes".split()]
    + [("__builtin__", n) for n in "set frozenset slice bytearray complex bytes".split()]
    + [("_codecs", "encode")]
    + [(m, n) for m in ("numpy.core.multiarray", "numpy._core.multiarray") for n in ("_reconstruct", "scalar")]
    + [(m, "_frombuffer") for m in ("numpy.core.numeric", "numpy._core.numeric")]
    + [("numpy", "ndarray"), ("numpy", "dtype"), ("numpy.ma.core", "_mareconstruct")]
    + [("numpy.dtypes", n) for n in (
        "BoolDType Int8DType UInt8DType Int16DType UInt16DType Int32DType UInt32DType Int64DType UInt64DType "
        "ByteDType UByteDType ShortDType UShortDType IntDType UIntDType LongDType ULongDType LongLongDType "
        "ULongLongDType Float16DType Float32DType Float64DType LongDoubleDType Complex64DType Complex128DType "
        "CLongDoubleDType StrDType BytesDType VoidDType DateTime64DType TimeDelta64DType").split()]
    # numpy random generators (their ctors only look names up or call classes that are globals
    # themselves, so every callable they can reach is also checked against this list)
    + [("numpy.random._pickle", n) for n in ("__generator_ctor", "__bit_generator_ctor", "__randomstate_ctor")]
    + [("numpy.random._mt19937", "MT19937"), ("numpy.random._pcg64", "PCG64"), ("numpy.random._pcg64", "PCG64DXSM"),
       ("numpy.random._philox", "Philox"), ("numpy.random._sfc64", "SFC64"), ("numpy.random.bit_generator", "SeedSequence"),
       ("numpy.random.bit_generator", "__pyx_unpickle_SeedSequence"), ("numpy.random._generator", "Generator"),
       ("numpy.random.mtrand", "RandomState")]
    # plain value types that training scripts put in checkpoints (args, timestamps, paths); none of
    # them calls anything it is given, and whatever class they wrap is a global checked on its own
    + [("argparse", "Namespace"), ("types", "SimpleNamespace"), ("collections", "defaultdict"),
       ("copyreg", "_reconstructor")]
    + [("datetime", n) for n in ("datetime", "date", "time", "timedelta", "timezone")]
    + [("pathlib", n) for n in ("Path", "PosixPath", "WindowsPath", "PurePath", "PurePosixPath", "PureWindowsPath")]
    + [("builtins", n) for n in "object int float str bool dict list tuple".split()]
    + [("decimal", "Decimal"), ("fractions", "Fraction"), ("uuid", "UUID")]
    # TorchScript archives: list builders of torch's C++ unpickler (plain Python equivalents)
    + [("torch.jit._pickle", n) for n in ("build_intlist", "build_doublelist", "build_boollist", "build_tensorlist",
                                           "build_tensor_from_id", "restore_type_tag")]
    + [("joblib.numpy_pickle", "NumpyArrayWrapper"), ("sklearn.externals.joblib.numpy_pickle", "NumpyArrayWrapper")]
)

#: whole modules (and their submodules) that give code execution, file or network access
DANGEROUS_MODULES = frozenset("""
os posix nt subprocess _posixsubprocess sys runpy importlib pkgutil pip _pip venv ensurepip webbrowser socket
socketserver shutil code codeop ctypes _ctypes pty marshal types pickle _pickle cPickle dill cloudpickle joblib
commands popen2 platform asyncio multiprocessing _multiprocessing threading _thread signal gc inspect shelve
tarfile zipfile zipimport distutils setuptools site sysconfig bdb pdb timeit cProfile profile trace doctest idlelib
lib2to3 linecache tempfile io _io pathlib glob fileinput builtins __builtin__ __builtins__ operator _operator
functools _functools copyreg copy_reg requests urllib urllib2 urllib3 http httplib ftplib telnetlib smtplib poplib
imaplib nntplib xmlrpc ssl aiohttp httpx mlflow dbm sqlite3 tkinter turtle uuid selectors select mmap
pydoc _osx_support _aix_support _pyrepl imp _imp _winapi test
""".split())

#: specific functions of otherwise-harmless modules that load code or call arbitrary things
DANGEROUS_GLOBALS = frozenset([
    ("torch", "load"), ("torch.serialization", "load"), ("torch", "hub"), ("torch.jit", "load"),
    ("torch.package", "PackageImporter"), ("torch.utils.collect_env", "run"), ("torch.utils.cpp_extension", "load"),
    ("torch.utils.cpp_extension", "load_inline"), ("torch.storage", "_load_from_bytes"), ("torch._C", "_load_for_lite_interpreter"),
    ("numpy", "load"), ("numpy", "loads"), ("numpy.lib.npyio", "load"), ("numpy.f2py.crackfortran", "getlincoef"),
    ("numpy.f2py.crackfortran", "_eval_length"), ("numpy.testing._private.utils", "runstring"),
    ("pandas", "read_pickle"), ("pandas", "read_csv"), ("pandas.io.parsers.readers", "read_csv"),
    ("keras.models", "load_model"), ("tensorflow", "load_op_library"),
    # importers: ``f("os", "system")`` returns os.system (numpy/core/__init__.py keeps it for pre-1.20 pickles)
    ("numpy.core", "_ufunc_reconstruct"), ("numpy._core", "_ufunc_reconstruct"),
    ("torch._utils", "_import_dotted_name"),
])
DANGEROUS_PREFIXES = ("torch.hub", "torch._C", "torch.jit", "torch.package", "torch.utils.cpp_extension",
                      "numpy.f2py", "numpy.distutils", "numpy.testing", "tensorflow.python.ops.script_ops",
                      "keras.src.saving", "copyreg._extension_registry")

#: modules whose globals load or run code, open, create or truncate files, or talk to the network
#: when called with constant arguments, or whose ``__setstate__`` runs code from the pickle, but
#: whose objects processes also pass to each other (torch.compile's workers, loky, log handlers):
#: the scanner names them, the unpickling gate lets them through.
_SCAN_ONLY = (
    # picklescan's list (github.com/mmaitre314/picklescan, src/picklescan/scanner.py, read 2026-12-06)
    ("torch._dynamo", "loads or runs code"), ("torch._inductor", "loads or runs code"),
    ("torch.fx.experimental.symbolic_shapes", "loads or runs code"),
    ("torch.utils._config_module", "loads or runs code"), ("torch.utils.bottleneck", "loads or runs code"),
    ("torch.utils.data.datapipes.utils.decoder", "loads or runs code"),
    ("logging.config", "loads or runs code (dictConfig and fileConfig import and call what they name)"),
    ("hydra.utils", "imports and calls what it names"), ("hydra._internal.utils", "imports and calls what it names"),
    ("sklearn.utils._joblib", "loads or runs code (joblib re-exports)"),
    ("sklearn.externals", "loads or runs code (vendored joblib)"),
    # rv_generic.__setstate__ exec()s the pickled _parse_arg_template (scipy/stats/_distn_infrastructure.py)
    ("scipy.stats._distn_infrastructure", "its distributions exec() a code string from the pickled state"),
    ("scipy.stats._continuous_distns", "its distributions exec() a code string from the pickled state"),
    ("scipy.stats._discrete_distns", "its distributions exec() a code string from the pickled state"),
    ("scipy.stats._levy_stable", "its distributions exec() a code string from the pickled state"),
    # ScoringMonitor.__setstate__ connects to the pickled listener address (sklearn/callback/_transport.py)
    ("sklearn.callback", "its callbacks connect to a network address from the pickled state"),
    ("pandas.io", "reads or writes files and URLs"),
    ("numpy.ctypeslib", "loads shared libraries"),
    ("numpy.lib._datasource", "opens files and URLs"),
    ("numpy.lib.format", "reads or writes files"),
    ("logging.handlers", "its handlers create, truncate or send to files, sockets and URLs"),
    ("bz2", "opens, creates or truncates files"), ("gzip", "opens, creates or truncates files"),
    ("lzma", "opens, creates or truncates files"),
)
#: single globals of that kind in modules otherwise allowed by a profile
_FILE_GLOBALS = frozenset([
    ("numpy", "memmap"), ("numpy._core.memmap", "memmap"), ("numpy.core.memmap", "memmap"), ("numpy", "fromfile"),
    ("numpy", "loadtxt"), ("numpy", "genfromtxt"), ("numpy", "fromregex"), ("numpy", "save"), ("numpy", "savez"),
    ("numpy", "savez_compressed"), ("numpy", "savetxt"), ("numpy", "DataSource"), ("numpy", "ctypeslib"),
    ("pandas", "HDFStore"), ("pandas", "ExcelWriter"), ("pandas", "ExcelFile"), ("pandas", "eval"),
    ("pandas.core.computation.eval", "eval"), ("logging", "FileHandler"), ("logging", "basicConfig"),
])

#: names that run code or reach other globals, wherever they live (each part of a dotted name counts)
_CODE_NAMES = frozenset([
    "eval", "exec", "compile", "getattr", "__import__", "system", "popen", "open", "apply", "execfile",
    "__getattribute__", "__reduce__", "__reduce_ex__", "__setstate__", "__globals__", "__builtins__",
    "__subclasses__", "__class__", "__dict__", "__code__", "spawnv", "spawnve", "spawnl", "run", "call",
    "check_output", "Popen", "load", "loads", "import_module", "runcode", "runsource", "pipepager",
])

#: Python 2 names ``pickle.load`` maps to Python 3 ones for protocols < 3 (``fix_imports``)
_COMPAT = None


def py3_name(module: str, name: str) -> Tuple[str, str]:
    """The (module, name) a Python 3 unpickler actually imports (``_compat_pickle`` mapping)."""
    global _COMPAT
    if _COMPAT is None:
        import _compat_pickle

        _COMPAT = (_compat_pickle.NAME_MAPPING, _compat_pickle.IMPORT_MAPPING)
    names, imports = _COMPAT
    if (module, name) in names:
        return names[(module, name)]
    return imports.get(module, module), name


def _listed(pairs, module: str, name: str, mapped: Tuple[str, str]) -> bool:
    """True when the pair an unpickler imports is in ``pairs``.

    Protocols < 3 import the mapped name, later ones the raw name: both must be listed. A raw
    Python 2 name that maps elsewhere does not exist in Python 3, so only the mapped one counts.
    """
    return mapped in pairs and ((module, name) in pairs or mapped != (module, name))


def is_safe(module: str, name: str, extra: Iterable[str] = (), profiles: Iterable[str] = ()) -> bool:
    """True when ``module.name`` is on the allowlist, in an enabled profile, or allowed by the policy.

    ``extra`` are ``[rules.pickle] allowed_globals`` entries: an exact ``module.name`` allows
    that global whatever it is (a waiver); a glob only allows plain names nobody knows to be
    dangerous. ``profiles`` are profile names (``guardpolicy/scan/profiles.py``); a profile
    member named dangerous is never allowed.
    """
    if (module == "__torch__" or module.startswith("__torch__.")) and "." not in name:
        # TorchScript class names: resolved by torch's C++ loader, never importable from Python
        return True
    mapped = py3_name(module, name)
    if _listed(SAFE_GLOBALS, module, name, mapped):
        return True
    if profiles:
        from .profiles import profile_pairs

        if _listed(profile_pairs(tuple(profiles)), module, name, mapped) and named_danger(module, name) is None:
            return True
    if not extra:
        return False
    full = f"{mapped[0]}.{mapped[1]}"
    if full in extra or f"{module}.{name}" in extra:
        return True
    if "." in name:
        # an attribute walk is only allowed when spelled out exactly, never through a glob
        return False
    return named_danger(module, name) is None and any(fnmatch.fnmatchcase(full, pat) for pat in extra)


def _under(module: str, prefix: str) -> bool:
    """``module`` is ``prefix`` or one of its submodules."""
    return module == prefix or module.startswith(prefix + ".")


def _code_danger(module: str, name: str) -> Optional[str]:
    """Why a (mapped) global runs code, commands or imports; ``None`` when its name says nothing."""
    top = module.split(".", 1)[0]
    if (module, name) in DANGEROUS_GLOBALS:
        return "loads or runs code"
    if module.startswith(DANGEROUS_PREFIXES):
        return "loads or runs code"
    if top in DANGEROUS_MODULES:
        return f"module {top} gives code execution, file or network access"
    for part in name.split("."):
        if part in _CODE_NAMES:
            return f"{part} runs code or reaches other globals"
        if part.startswith("__") and part.endswith("__"):
            return f"dunder attribute {part} reaches interpreter internals"
    return None


def scan_only_danger(module: str, name: str) -> Optional[str]:
    """Why a (mapped) global is dangerous in a file but may travel between live processes (``_SCAN_ONLY``)."""
    if (module, name) in _FILE_GLOBALS or (module == "pandas" and name.startswith("read_")):
        return "opens, creates or reads files (or evaluates expressions)"
    for prefix, why in _SCAN_ONLY:
        if _under(module, prefix):
            return why
    return None


def named_danger(module: str, name: str) -> Optional[str]:
    """Why ``module.name`` is dangerous by what it is, whatever allowlist or profile lists it.

    Profiles and policy globs are checked against this (deny wins); attribute walks are not
    judged here (a profile may list an exact one, such as ``zoneinfo.ZoneInfo._unpickle``).
    """
    module, name = py3_name(module, name)
    return _code_danger(module, name) or scan_only_danger(module, name)


def danger(module: str, name: str) -> Optional[str]:
    """Why a global is known to be dangerous, or ``None`` when it is safe or merely unknown."""
    if is_safe(module, name):
        return None
    mapped_module, mapped_name = py3_name(module, name)
    if "." in mapped_name:
        first = mapped_name.split(".", 1)[0]
        return f"attribute walk from {mapped_module} through {first!r} (reaches {mapped_module}.{mapped_name})"
    return named_danger(module, name)
