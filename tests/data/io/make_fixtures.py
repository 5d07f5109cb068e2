#!/usr/bin/python3
"""Generates the binary and reference fixtures of tests/io (run with Debian's
/usr/bin/python3, which has numpy and scipy):

    /usr/bin/python3 tests/data/io/make_fixtures.py

Every file is written by numpy / scipy / the Python standard library, i.e.
by an implementation independent of lowrank's readers. The outputs are
committed; rerunning reproduces them byte for byte (fixed seeds).
"""
import csv
import io
import json
import os
import struct
import zipfile

import numpy as np
import scipy.io
import scipy.sparse

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
rng = np.random.default_rng(20240601)


def path(name):
    return os.path.join(HERE, name)


# ---- .npy ------------------------------------------------------------------
a34 = np.arange(12, dtype=np.float64).reshape(3, 4) * 0.5 - 1.25  # distinct, exact values
np.save(path("c_f8.npy"), a34)                                   # C order, v1
np.save(path("fortran_f4.npy"), np.asfortranarray(a34.astype(np.float32)))
np.save(path("vec_i4.npy"), np.array([3, -1, 7, 2147483647], dtype="<i4"))
np.save(path("mat_i8.npy"), np.array([[1, -2], [3, 2**53]], dtype="<i8"))
with open(path("v2_f8.npy"), "wb") as f:
    np.lib.format.write_array(f, a34, version=(2, 0))
with open(path("v3_f8.npy"), "wb") as f:
    np.lib.format.write_array(f, np.asfortranarray(a34), version=(3, 0))
np.save(path("bad_dtype_u1.npy"), np.arange(6, dtype=np.uint8).reshape(2, 3))
np.save(path("bad_dtype_be.npy"), np.arange(6, dtype=">f8"))
np.save(path("bad_3d.npy"), np.zeros((2, 2, 2)))
full = io.BytesIO()
np.save(full, a34)
with open(path("truncated.npy"), "wb") as f:
    f.write(full.getvalue()[:-20])  # cut inside the data

# ---- .npz ------------------------------------------------------------------
b = rng.standard_normal(5)
np.savez(path("stored.npz"), a=a34, b=b)
np.savez_compressed(path("deflated.npz"), a=a34, b=b)
np.save(path("npz_b_ref.npy"), b)
with zipfile.ZipFile(path("bad_member.npz"), "w") as z:
    z.writestr("notes.txt", "not an array")
# A deflated member whose zip headers claim 4 GiB uncompressed (issue 31:
# the reader allocated the claimed size up front).
small = io.BytesIO()
np.save(small, np.arange(6, dtype="<f8").reshape(2, 3))
claim = io.BytesIO()
with zipfile.ZipFile(claim, "w", zipfile.ZIP_DEFLATED) as z:
    z.writestr(zipfile.ZipInfo("a.npy", date_time=(1980, 1, 1, 0, 0, 0)), small.getvalue(), zipfile.ZIP_DEFLATED)
claim = bytearray(claim.getvalue())
for signature, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):  # local and central "uncompressed size"
    at = claim.index(signature) + offset
    claim[at:at + 4] = struct.pack("<I", 0xFFFFFFF0)
with open(path("bad_size_claim.npz"), "wb") as f:
    f.write(claim)

# ---- safetensors (hand-written per the spec: header length, JSON, data) -----
def safetensors(name, tensors, metadata=None, header_len=None, raw_header=None, tail=b""):
    header, data = {}, b""
    if metadata is not None:
        header["__metadata__"] = metadata
    for tname, dtype, shape, payload, offsets in tensors:
        begin = len(data)
        data += payload
        header[tname] = {"dtype": dtype, "shape": shape,
                         "data_offsets": offsets if offsets is not None else [begin, len(data)]}
    h = raw_header if raw_header is not None else json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    n = len(h) if header_len is None else header_len
    with open(path(name), "wb") as f:
        f.write(struct.pack("<Q", n) + h + data + tail)


def bf16_bytes(values):
    # values chosen exactly representable in bfloat16: the top half of float32
    bits = np.asarray(values, dtype="<f4").view("<u4")
    assert np.all((bits & 0xFFFF) == 0)
    return (bits >> 16).astype("<u2").tobytes()


m23 = np.array([[1.5, -2.0, 3.25], [4.0, 0.0, -6.5]])
f32 = np.array([0.1, -1e-30, 3.0e38], dtype="<f4")
f16 = np.array([0.0, -0.0, 1.0, -2.5, 65504.0, 2.0**-24, 3 * 2.0**-24, 2.0**-14, np.inf, -np.inf], dtype="<f2")
bf16 = np.array([1.0, -3.5, 2.0**-130, 3.3895313892515355e38, np.inf], dtype="<f4")  # 2^-130: subnormal
safetensors("good.safetensors", [
    ("m23", "F64", [2, 3], m23.astype("<f8").tobytes(), None),
    ("f32", "F32", [3], f32.tobytes(), None),
    ("f16", "F16", [2, 5], f16.tobytes(), None),
    ("bf16", "BF16", [5], bf16_bytes(bf16), None),
    ("scalar", "F64", [], np.array([42.0]).tobytes(), None),
], metadata={"format": "pt", "note": "lowrank fixture"})
np.save(path("good_f16_ref.npy"), f16.astype(np.float32).reshape(2, 5))
np.save(path("good_bf16_ref.npy"), bf16)
np.save(path("good_f32_ref.npy"), f32)
x4 = np.arange(4, dtype="<f8").tobytes()
safetensors("bad_header_len.safetensors", [("x", "F64", [4], x4, None)], header_len=10**6)
safetensors("bad_offsets.safetensors", [("x", "F64", [4], x4, [0, 64])])
safetensors("bad_overlap.safetensors", [("x", "F64", [2], x4[:16], [0, 16]), ("y", "F64", [2], x4[16:], [8, 24])])
safetensors("bad_shape.safetensors", [("x", "F64", [3], x4, [0, 32])])
safetensors("bad_dtype.safetensors", [("x", "I32", [8], x4, None)])
safetensors("bad_json.safetensors", [], raw_header=b'{"x": {"dtype": "F64",')
with open(path("bad_short.safetensors"), "wb") as f:
    f.write(b"\x10\x00\x00")

# ---- Matrix Market (written by scipy; dense references from scipy's reader) --
coo = scipy.sparse.coo_matrix(([1.5, -2.0, 3.0, 4.25], ([0, 2, 3, 1], [1, 0, 3, 2])), shape=(4, 5))
scipy.io.mmwrite(path("mm_general.mtx"), coo, comment="general real coordinate")
sym = scipy.sparse.coo_matrix(([2.0, -1.0, 3.0, 5.0], ([0, 1, 2, 2], [0, 0, 1, 2])), shape=(3, 3))
sym = sym + sym.T - scipy.sparse.diags(sym.diagonal())
scipy.io.mmwrite(path("mm_symmetric.mtx"), sym, symmetry="symmetric")
scipy.io.mmwrite(path("mm_integer.mtx"), scipy.sparse.coo_matrix(np.array([[0, 7, 0], [-3, 0, 1]])), field="integer")
scipy.io.mmwrite(path("mm_pattern.mtx"), scipy.sparse.coo_matrix(np.array([[0, 1, 0], [1, 0, 1]])), field="pattern")
scipy.io.mmwrite(path("mm_array.mtx"), a34)
scipy.io.mmwrite(path("mm_array_sym.mtx"), np.array([[1.0, 2.0, 3.0], [2.0, 4.0, 5.0], [3.0, 5.0, 6.0]]), symmetry="symmetric")
for name in ["mm_general", "mm_symmetric", "mm_integer", "mm_pattern", "mm_array", "mm_array_sym"]:
    m = scipy.io.mmread(path(name + ".mtx"))
    m = m.toarray() if scipy.sparse.issparse(m) else np.asarray(m)
    np.save(path(name + "_ref.npy"), m.astype(np.float64))

# ---- text with a UTF-8 BOM and CRLF line endings ------------------------------
with open(path("ratings_crlf_bom.tsv"), "wb") as f:
    f.write(b"\xef\xbb\xbfuser\titem\trating\r\nu1\ti1\t4\r\nu2\ti1\t3.5\r\nu1\ti2\t1\r\n")
with open(path("dense_crlf_bom.csv"), "wb") as f:
    f.write(b'\xef\xbb\xbf"",a,b\r\nr1,1,2\r\nr2,,4\r\n')

# ---- vegan dune table read by Python's csv module (reference for read_dense_csv)
with open(os.path.join(ROOT, "data", "ecology", "dune.csv"), newline="") as f:
    rows = list(csv.reader(f))
np.save(path("dune_ref.npy"), np.array([[float(x) for x in r[1:]] for r in rows[1:]]))
