"""The R-serialization reader behind the training data."""

import struct
import subprocess
import zlib

import pytest

from mamba2ref import austen


def _xdr_character_vector(lines, version=3):
    out = bytearray(b"X\n")
    out += struct.pack(">iii", version, 0x040201, 0x030500)
    if version == 3:
        out += struct.pack(">i", 5) + b"UTF-8"
    out += struct.pack(">ii", 16, len(lines))
    for ln in lines:
        if ln is None:
            out += struct.pack(">ii", 0x00000009, -1)
        else:
            b = ln.encode("utf-8")
            out += struct.pack(">ii", 0x00040009, len(b)) + b
    return bytes(out)


def _record(blob):
    return struct.pack(">I", len(blob)) + zlib.compress(blob)


def test_reads_records_and_na_strings(tmp_path):
    path = tmp_path / "Rdata.rdb"
    path.write_bytes(_record(_xdr_character_vector(["EMMA", "", "Chapter 1", None]))
                     + _record(_xdr_character_vector(["£ and é"], version=2)))
    vecs = austen.read_rdb(str(path))
    assert vecs == [["EMMA", "", "Chapter 1", ""], ["£ and é"]]


def test_rejects_non_character_vectors(tmp_path):
    blob = bytearray(_xdr_character_vector(["x"]))
    blob[blob.index(struct.pack(">ii", 16, 1))+3] = 13  # INTSXP
    path = tmp_path / "bad.rdb"
    path.write_bytes(_record(bytes(blob)))
    with pytest.raises(austen.RSerializationError, match="expected a character vector"):
        austen.read_rdb(str(path))


def test_rejects_truncated_element(tmp_path):
    blob = _xdr_character_vector(["a long line of text"])[:-5]
    path = tmp_path / "cut.rdb"
    path.write_bytes(_record(blob))
    with pytest.raises(austen.RSerializationError, match="runs past the end"):
        austen.read_rdb(str(path))


def test_the_six_novels_when_the_package_is_reachable():
    try:
        path = austen.locate_rdb()
    except (OSError, subprocess.CalledProcessError) as e:  # no apt-get or no archive
        pytest.skip(f"r-cran-janeaustenr cannot be obtained here: {e}")
    books = austen.load_books(path)
    assert sorted(books) == sorted(austen.TITLES)
    assert 400_000 < len(books["persuasion"]) < 500_000
    assert "Anne Elliot" in books["persuasion"]
    assert "It is a truth universally acknowledged" in books["prideprejudice"]
