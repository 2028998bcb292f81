"""Jane Austen's six novels from Debian's r-cran-janeaustenr package, read without R.

The package's `data/Rdata.rdb` is a sequence of records `[4-byte big-endian length][zlib
stream]`; each stream is an R serialization (XDR, format version 3) of one character vector,
one element per line of a novel. Books are told apart by their opening lines.
"""

from __future__ import annotations

import os
import struct
import subprocess
import tempfile
import zlib
from typing import Dict, List

RDB_IN_PACKAGE = "usr/lib/R/site-library/janeaustenr/data/Rdata.rdb"
INSTALLED_RDB = "/" + RDB_IN_PACKAGE

# Opening words of each novel's title line, as they appear in the package.
TITLES = {
    "sensesensibility": "SENSE AND SENSIBILITY",
    "prideprejudice": "PRIDE AND PREJUDICE",
    "mansfieldpark": "MANSFIELD PARK",
    "emma": "EMMA",
    "northangerabbey": "NORTHANGER ABBEY",
    "persuasion": "Persuasion",
}

STRSXP = 16
CHARSXP = 9
NA_LENGTH = -1


class RSerializationError(ValueError):
    pass


def _parse_character_vector(blob: bytes, where: str) -> List[str]:
    """Parse an XDR R serialization (v2 or v3) holding one character vector."""
    if blob[:2] != b"X\n":
        raise RSerializationError(f"{where}: not an XDR R serialization (starts {blob[:2]!r})")
    pos = 2

    def i32() -> int:
        nonlocal pos
        if pos + 4 > len(blob):
            raise RSerializationError(f"{where}: truncated at byte {pos}")
        (v,) = struct.unpack_from(">i", blob, pos)
        pos += 4
        return v

    version = i32()
    i32()  # writer's R version
    i32()  # minimal reader version
    if version == 3:
        enc_len = i32()
        pos += enc_len
    elif version != 2:
        raise RSerializationError(f"{where}: unsupported serialization version {version}")
    flags = i32()
    if flags & 0xFF != STRSXP:
        raise RSerializationError(f"{where}: expected a character vector, found SEXP type "
                                  f"{flags & 0xFF}")
    n = i32()
    out: List[str] = []
    for k in range(n):
        f = i32()
        if f & 0xFF != CHARSXP:
            raise RSerializationError(f"{where}: element {k} has SEXP type {f & 0xFF}")
        length = i32()
        if length == NA_LENGTH:
            out.append("")
            continue
        if pos + length > len(blob):
            raise RSerializationError(f"{where}: element {k} runs past the end")
        out.append(blob[pos:pos + length].decode("utf-8", errors="replace"))
        pos += length
    return out


def read_rdb(path: str) -> List[List[str]]:
    data = open(path, "rb").read()
    off = 0
    vectors = []
    while off < len(data):
        if off + 4 > len(data):
            raise RSerializationError(f"{path}: truncated record header at byte {off}")
        z = zlib.decompressobj()
        blob = z.decompress(data[off + 4:])
        consumed = len(data) - off - 4 - len(z.unused_data)
        vectors.append(_parse_character_vector(blob, f"{path}@{off}"))
        off += 4 + consumed
    return vectors


def locate_rdb() -> str:
    """The installed package's file, or the package unpacked into a temporary folder after
    `apt-get download` (no R, no root needed)."""
    if os.path.exists(INSTALLED_RDB):
        return INSTALLED_RDB
    cache = os.path.join(tempfile.gettempdir(), "mamba2-janeaustenr")
    rdb = os.path.join(cache, "x", RDB_IN_PACKAGE)
    if os.path.exists(rdb):
        return rdb
    os.makedirs(cache, exist_ok=True)
    subprocess.run(["apt-get", "download", "r-cran-janeaustenr"], cwd=cache, check=True,
                   stdout=subprocess.DEVNULL)
    debs = sorted(f for f in os.listdir(cache) if f.endswith(".deb"))
    if not debs:
        raise FileNotFoundError("apt-get download r-cran-janeaustenr produced no .deb")
    subprocess.run(["dpkg", "-x", os.path.join(cache, debs[-1]), os.path.join(cache, "x")],
                   check=True)
    return rdb


def load_books(path: str | None = None) -> Dict[str, str]:
    """Book name -> text (lines joined with '\\n')."""
    vectors = read_rdb(path or locate_rdb())
    books: Dict[str, str] = {}
    for lines in vectors:
        head = next((ln.strip() for ln in lines if ln.strip()), "")
        name = next((k for k, t in TITLES.items() if head.startswith(t)), None)
        if name is None:
            raise RSerializationError(f"unrecognised book starting {head[:40]!r}")
        books[name] = "\n".join(lines) + "\n"
    missing = set(TITLES) - set(books)
    if missing:
        raise RSerializationError(f"books not found: {sorted(missing)}")
    return books
