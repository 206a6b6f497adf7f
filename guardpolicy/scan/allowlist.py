"""Which pickle globals are safe: a precise allowlist, and a denylist used only for naming.

Allowlist first: a global is fine only if its exact ``(module, name)`` pair is below. The
list is modelled on torch's ``weights_only`` unpickler (``torch/_weights_only_unpickler.py``)
and checked against files written by ``torch.save``, ``numpy`` and ``joblib`` (see
tests/test_scan_benign.py). Everything else is a finding; the known-dangerous ones are
labelled as such so a person reading the report sees "os.system" is not a false alarm.

A policy can extend the allowlist (``[rules.pickle] allowed_globals``), e.g. with the classes
of a scikit-learn model it trusts.
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
    + [("argparse", "Namespace"), ("collections", "defaultdict"), ("copyreg", "_reconstructor")]
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
])
DANGEROUS_PREFIXES = ("torch.hub", "torch._C", "torch.jit", "torch.package", "torch.utils.cpp_extension",
                      "numpy.f2py", "numpy.distutils", "numpy.testing", "tensorflow.python.ops.script_ops",
                      "keras.src.saving", "copyreg._extension_registry")

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


def is_safe(module: str, name: str, extra: Iterable[str] = ()) -> bool:
    """True when ``module.name`` is on the allowlist (or matches one of the policy's ``extra`` patterns)."""
    if (module == "__torch__" or module.startswith("__torch__.")) and "." not in name:
        # TorchScript class names: resolved by torch's C++ loader, never importable from Python
        return True
    mapped = py3_name(module, name)
    # protocols < 3 import the mapped name, later ones the raw name: both must be harmless. A raw
    # Python 2 name that maps elsewhere does not exist in Python 3, so only the mapped one counts.
    if mapped in SAFE_GLOBALS and ((module, name) in SAFE_GLOBALS or mapped != (module, name)):
        return True
    if not extra:
        return False
    full = f"{mapped[0]}.{mapped[1]}"
    if "." in name:
        # an attribute walk is only allowed when spelled out exactly, never through a glob
        return full in extra or f"{module}.{name}" in extra
    return any(fnmatch.fnmatchcase(full, pat) for pat in extra)


def danger(module: str, name: str) -> Optional[str]:
    """Why a global is known to be dangerous, or ``None`` when it is safe or merely unknown."""
    if is_safe(module, name):
        return None
    module, name = py3_name(module, name)
    top = module.split(".", 1)[0]
    if "." in name:
        first = name.split(".", 1)[0]
        return f"attribute walk from {module} through {first!r} (reaches {module}.{name})"
    if (module, name) in DANGEROUS_GLOBALS:
        return "loads or runs code"
    if module.startswith(DANGEROUS_PREFIXES):
        return "loads or runs code"
    if top in DANGEROUS_MODULES:
        return f"module {top} gives code execution, file or network access"
    if name in ("eval", "exec", "compile", "getattr", "__import__", "system", "popen", "open", "apply", "execfile",
                "__getattribute__", "__reduce__", "__reduce_ex__", "__setstate__", "__globals__", "__builtins__",
                "__subclasses__", "__class__", "__dict__", "__code__", "spawnv", "spawnve", "spawnl", "run", "call",
                "check_output", "Popen", "load", "loads", "import_module"):
        return f"{name} runs code or reaches other globals"
    if name.startswith("__") and name.endswith("__"):
        return f"dunder attribute {name} reaches interpreter internals"
    return None
