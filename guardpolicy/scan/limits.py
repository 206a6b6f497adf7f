"""The bounds every scan works within (zip bombs, deep nesting, huge memos, endless opcode streams).

Each limit that is hit becomes a ``limit exceeded: ...`` finding: the scanner fails closed and
never hangs, never runs out of memory, never raises.
"""

from __future__ import annotations

from dataclasses import dataclass

MiB = 1024 * 1024
GiB = 1024 * MiB


@dataclass(frozen=True)
class ScanLimits:
    """Bounds for one ``scan_path`` call (all sizes in bytes)."""

    #: largest file scanned at all (container formats read only their pickles, so this is generous)
    max_file_size: int = 64 * GiB
    #: largest single pickle stream analysed (a member, a raw file, a decompressed payload)
    max_pickle_size: int = 1 * GiB
    #: opcodes executed per pickle stream
    max_opcodes: int = 20_000_000
    #: memo entries per pickle stream
    max_memo: int = 4_000_000
    #: zip/tar members looked at per archive
    max_members: int = 100_000
    #: archives within archives, pickles within pickles, compressed within compressed
    max_depth: int = 4
    #: bytes produced by decompressing one member or payload
    max_decompressed: int = 2 * GiB
    #: decompressed/compressed ratio above which a payload of more than ``ratio_floor`` bytes is a bomb
    max_ratio: int = 200
    ratio_floor: int = 64 * MiB
    #: nested pickle payloads (bytes constants) followed per stream
    max_nested: int = 256
    #: files visited when a directory is scanned
    max_files: int = 1_000_000
    #: largest JSON header of a safetensors file
    max_safetensors_header: int = 100 * MiB
    #: bytes of an unknown binary file searched for embedded pickles
    max_probe_unknown: int = 256 * MiB


DEFAULT_LIMITS = ScanLimits()


class LimitExceeded(Exception):
    """Raised inside the scanner when a bound is hit; turned into a ``limit exceeded`` finding."""
