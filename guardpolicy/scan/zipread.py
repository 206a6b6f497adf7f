"""A zip reader that trusts nothing: local headers and the central directory, both, read by hand.

Python's ``zipfile`` stops at a bad CRC, an "encrypted" flag bit, a data descriptor it
cannot match or a broken central directory; torch's reader (miniz) shrugs at several of
those. Scanners that used ``zipfile`` missed members torch loads (picklescan CVE-2025-1944,
-1945, -10156). This reader lists every member it can find by either route, ignores CRCs
and flag bits, and never raises: problems come back as strings.
"""

from __future__ import annotations

import zlib
from struct import unpack_from
from typing import Dict, List, Optional, Tuple

LOCAL_SIG = b"PK\x03\x04"
CENTRAL_SIG = b"PK\x01\x02"
EOCD_SIG = b"PK\x05\x06"
EOCD64_SIG = b"PK\x06\x06"
EOCD64_LOC_SIG = b"PK\x06\x07"
DESCRIPTOR_SIG = b"PK\x07\x08"


class Member:
    """One member: name (as in the local header when there is one), method, flags, sizes, data offset."""

    __slots__ = ("name", "method", "flags", "comp_size", "size", "data_offset", "header_offset", "cd_name")

    def __init__(self, name: str, method: int, flags: int, comp_size: int, size: int, data_offset: int,
                 header_offset: int, cd_name: Optional[str] = None):
        self.name, self.method, self.flags, self.comp_size, self.size = name, method, flags, comp_size, size
        self.data_offset, self.header_offset, self.cd_name = data_offset, header_offset, cd_name


def _zip64_extra(extra: bytes, size: int, comp: int, offset: int) -> Tuple[int, int, int]:
    """Apply a ZIP64 extended-information field to the 0xFFFFFFFF placeholders."""
    i = 0
    while i + 4 <= len(extra):
        tag, ln = unpack_from("<HH", extra, i)
        body = extra[i + 4:i + 4 + ln]
        if tag == 0x0001:
            j = 0
            vals = []
            while j + 8 <= len(body):
                vals.append(unpack_from("<Q", body, j)[0])
                j += 8
            k = 0
            if size == 0xFFFFFFFF and k < len(vals):
                size = vals[k]
                k += 1
            if comp == 0xFFFFFFFF and k < len(vals):
                comp = vals[k]
                k += 1
            if offset == 0xFFFFFFFF and k < len(vals):
                offset = vals[k]
            break
        i += 4 + ln
    return size, comp, offset


def read_central(data, size: int, problems: List[str]) -> Dict[int, Tuple[str, int, int, int, int]]:
    """Central directory entries by local-header offset: ``{offset: (name, method, flags, comp, size)}``."""
    out: Dict[int, Tuple[str, int, int, int, int]] = {}
    tail_start = max(0, size - 65557)
    tail = bytes(data[tail_start:size])
    pos = tail.rfind(EOCD_SIG)
    seen_any = False
    while pos >= 0:
        eocd = tail_start + pos
        pos = tail.rfind(EOCD_SIG, 0, pos)
        if eocd + 22 > size:
            continue
        (_, _, _, _, count, cd_size, cd_offset, _) = unpack_from("<4sHHHHIIH", data, eocd)
        # ZIP64: the locator sits just before the EOCD
        if eocd >= 20 and bytes(data[eocd - 20:eocd - 16]) == EOCD64_LOC_SIG:
            rec = unpack_from("<Q", data, eocd - 12)[0]
            if rec + 56 <= size and bytes(data[rec:rec + 4]) == EOCD64_SIG:
                count, cd_size, cd_offset = unpack_from("<QQQ", data, rec + 32)
                cd_end = rec
            else:
                cd_end = eocd
        else:
            cd_end = eocd
        # data prepended to the archive shifts every offset (zipfile and miniz both allow it)
        concat = cd_end - cd_size - cd_offset
        if concat < 0 or cd_offset + concat >= size:
            concat = 0
        entries = _walk_central(data, cd_offset + concat, min(cd_end, size), concat, out)
        seen_any = seen_any or entries > 0
        if entries != count and count != 0xFFFF:
            problems.append(f"central directory lists {count} entries but holds {entries}")
    return out


def _walk_central(data, pos: int, end: int, concat: int, out: dict) -> int:
    """Read central directory records from ``pos``; return how many were read."""
    n = 0
    while 0 <= pos and pos + 46 <= end and bytes(data[pos:pos + 4]) == CENTRAL_SIG:
        (flags, method) = unpack_from("<HH", data, pos + 8)
        comp, size = unpack_from("<II", data, pos + 20)
        nlen, elen, clen = unpack_from("<HHH", data, pos + 28)
        offset = unpack_from("<I", data, pos + 42)[0]
        name_raw = bytes(data[pos + 46:pos + 46 + nlen])
        extra = bytes(data[pos + 46 + nlen:pos + 46 + nlen + elen])
        size, comp, offset = _zip64_extra(extra, size, comp, offset)
        name = name_raw.decode("utf-8" if flags & 0x800 else "cp437", "replace")
        out.setdefault(offset + concat, (name, method, flags, comp, size))
        pos += 46 + nlen + elen + clen
        n += 1
    return n


def list_members(data, size: int, max_members: int) -> Tuple[List[Member], List[str], bool]:
    """Every member found through the central directory or by walking local headers.

    Returns ``(members, problems, truncated)``; ``truncated`` is True when ``max_members`` was hit.
    """
    problems: List[str] = []
    central = read_central(data, size, problems)
    members: Dict[int, Member] = {}
    truncated = False

    def local_at(off: int, hint=None) -> Optional[Member]:
        """The member whose local header sits at ``off`` (``hint``: its central directory entry)."""
        if off < 0 or off + 30 > size or bytes(data[off:off + 4]) != LOCAL_SIG:
            return None
        flags, method = unpack_from("<HH", data, off + 6)
        comp, usize = unpack_from("<II", data, off + 18)
        nlen, elen = unpack_from("<HH", data, off + 26)
        name_raw = bytes(data[off + 30:off + 30 + nlen])
        extra = bytes(data[off + 30 + nlen:off + 30 + nlen + elen])
        usize, comp, _ = _zip64_extra(extra, usize, comp, 0)
        name = name_raw.decode("utf-8" if flags & 0x800 else "cp437", "replace")
        data_off = off + 30 + nlen + elen
        if hint is not None:
            cd_name, cd_method, _cd_flags, cd_comp, cd_size = hint
            # readers go by the central directory; when the headers disagree, read the larger
            # span so the scanner sees at least what any reader would
            if comp == 0xFFFFFFFF:
                comp = 0
            if cd_comp != 0xFFFFFFFF:
                comp = max(comp, cd_comp)
                usize = max(usize, cd_size) if usize != 0xFFFFFFFF else cd_size
            if cd_name != name:
                problems.append(f"member name differs: local header {name!r}, central directory {cd_name!r}")
            if cd_method != method:
                problems.append(f"member {name!r}: compression method {method} in its local header, "
                                f"{cd_method} in the central directory")
                method = cd_method
        elif flags & 0x08 and comp == 0:
            comp = _measure(data, data_off, size, method)
        comp = max(0, min(comp, size - data_off))
        return Member(name, method, flags, comp, usize, data_off, off, hint[0] if hint else None)

    for off, hint in central.items():
        if len(members) >= max_members:
            truncated = True
            break
        m = local_at(off, hint)
        if m is None:
            problems.append(f"central directory entry {hint[0]!r} points at no local header (offset {off})")
        else:
            members[off] = m

    # walk local headers in order from the first one; catches members a broken or
    # doctored central directory leaves out
    start = min(central) if central else 0
    if bytes(data[start:start + 4]) != LOCAL_SIG:
        start = 0 if bytes(data[0:4]) == LOCAL_SIG else -1
    off = start
    while off >= 0 and not truncated:
        if len(members) >= max_members:
            truncated = True
            break
        m = members.get(off) or local_at(off, central.get(off))
        if m is None:
            break
        if off not in members:
            if central:
                problems.append(f"member {m.name!r} (offset {off}) is missing from the central directory")
            members[off] = m
        nxt = m.data_offset + m.comp_size
        if m.flags & 0x08:
            if bytes(data[nxt:nxt + 4]) == DESCRIPTOR_SIG:
                nxt += 4
            # crc + sizes: 4+4+4, or 4+8+8 with ZIP64; pick the one that lands on a signature
            for step in (12, 20):
                if bytes(data[nxt + step:nxt + step + 2]) == b"PK":
                    nxt += step
                    break
            else:
                nxt += 12
        if bytes(data[nxt:nxt + 4]) != LOCAL_SIG:
            # tolerate a little junk between members
            found = data.find(LOCAL_SIG, nxt, min(size, nxt + 4096)) if nxt < size else -1
            nxt = found
        if nxt <= off:
            break
        off = nxt
    return sorted(members.values(), key=lambda m: m.header_offset), problems, truncated


def _measure(data, start: int, size: int, method: int) -> int:
    """Length of member data written with a data descriptor and no central directory."""
    if method == 8:
        d = zlib.decompressobj(-15)
        pos = start
        while pos < size and not d.eof:
            chunk = bytes(data[pos:min(size, pos + (1 << 20))])
            try:
                d.decompress(chunk, 1 << 16)
                while d.unconsumed_tail and not d.eof:
                    d.decompress(d.unconsumed_tail, 1 << 16)
            except zlib.error:
                return 0
            pos += len(chunk) - len(d.unused_data) if d.eof else len(chunk)
        return pos - start
    found = [f for f in (data.find(sig, start) for sig in (DESCRIPTOR_SIG, LOCAL_SIG, CENTRAL_SIG)) if f >= 0]
    return (min(found) if found else size) - start
