#!/usr/bin/env python3
"""Generates the data-pipeline test fixtures (run from the repository root):

    /usr/bin/python3 tools/gen_data_files.py

Writes, all small and checked in:
  tests/data/npy/*.npy        numpy.save / numpy.lib.format.write_array (versions 1, 2, 3)
  tests/data/npz/*            numpy.savez, numpy.savez_compressed, a hand-made zip64 archive
                              (checked with Python's zipfile), a torch.save file
  tests/data/idx/*            IDX files of every element type, plain and gzip (+ multi-member)
  tests/data/csv/*            small CSV files
  tests/golden/fashion_mnist_golden.inc
                              facts about Debian's Fashion-MNIST (/usr/share/datasets/fashion-mnist)
  tests/fuzz/corpus/<target>/ seed inputs (good and bad) for the fuzz targets

The values follow formulas that the C++ tests recompute (see each comment), so the tests
compare values without a golden table. Deterministic: re-running changes nothing.
"""
import gzip
import io
import os
import struct
import zipfile
import zlib

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(ROOT, "tests", "data")
CORPUS = os.path.join(ROOT, "tests", "fuzz", "corpus")
FASHION = "/usr/share/datasets/fashion-mnist"


def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def gz(data):
    # mtime=0: reproducible bytes.
    return gzip.compress(data, compresslevel=9, mtime=0)


# ---------------------------------------------------------------------------------------
# .npy
def npy_bytes(arr, version=None):
    buf = io.BytesIO()
    if version is None:
        np.save(buf, arr, allow_pickle=False)
    else:
        np.lib.format.write_array(buf, arr, version=version, allow_pickle=False)
    return buf.getvalue()


NPY = {
    # name: array (the C++ test recomputes each formula)
    "f4": (np.arange(6, dtype=np.float32).reshape(2, 3) - 2.5) * 0.25,
    "f8": np.arange(12, dtype=np.float64).reshape(3, 4) / 3.0,
    "f2": ((np.arange(5) - 2) * 0.5).astype(np.float16),
    "i1": np.arange(-3, 3, dtype=np.int8),
    "i2": ((np.arange(4) - 2) * 1000).astype(np.int16),
    "i4": (np.arange(-5, 5) * 100000).astype(np.int32),
    "i8": np.arange(4, dtype=np.int64) * 2**40 - 7,
    "u1": (np.arange(6) * 50).astype(np.uint8),
    "b1": np.array([True, False, True, True]),
    "fortran_f4": np.asfortranarray(np.arange(24, dtype=np.float32).reshape(2, 3, 4)),
    "fortran_i8": np.asfortranarray(np.arange(6, dtype=np.int64).reshape(2, 3)),
    "scalar_f8": np.array(3.5),
    "empty_f4": np.zeros((0, 3), dtype=np.float32),
}


def gen_npy():
    out = {}
    for name, arr in NPY.items():
        out[name + ".npy"] = npy_bytes(arr)
    out["v2_f4.npy"] = npy_bytes(NPY["f4"], version=(2, 0))
    out["v3_f4.npy"] = npy_bytes(NPY["f4"], version=(3, 0))
    # Rejected ones.
    out["bad_big_endian.npy"] = npy_bytes(NPY["f4"].astype(">f4"))
    out["bad_u2.npy"] = npy_bytes(np.arange(3, dtype=np.uint16))
    out["bad_complex.npy"] = npy_bytes(np.arange(3).astype(np.complex64))
    out["bad_structured.npy"] = npy_bytes(np.zeros(2, dtype=[("a", "<i4"), ("b", "<f4")]))
    buf = io.BytesIO()
    np.save(buf, np.array([1, "x", None], dtype=object), allow_pickle=True)
    out["bad_object.npy"] = buf.getvalue()
    for name, data in out.items():
        write(os.path.join(DATA, "npy", name), data)
    return out


# ---------------------------------------------------------------------------------------
# .npz and zip
def gen_npz():
    out = {}
    a = NPY["f4"]
    b = np.arange(5, dtype=np.int64)
    c = np.zeros(1000, dtype=np.float32)  # compressible
    buf = io.BytesIO()
    np.savez(buf, a=a, b=b)
    out["savez.npz"] = buf.getvalue()
    buf = io.BytesIO()
    np.savez_compressed(buf, a=a, b=b, zeros=c)
    out["savez_compressed.npz"] = buf.getvalue()
    buf = io.BytesIO()
    np.savez(buf, ok=b, a=a.astype(">f4"))  # a valid archive whose second member is rejected
    out["bad_member.npz"] = buf.getvalue()
    out["zip64.zip"] = zip64_archive()
    # Python's zipfile must agree with the hand-made zip64 archive.
    with zipfile.ZipFile(io.BytesIO(out["zip64.zip"])) as z:
        assert z.namelist() == ["hello.txt", "deflated.txt"], z.namelist()
        assert z.read("hello.txt") == HELLO
        assert z.read("deflated.txt") == DEFLATED
    out["torch_save.pt"] = torch_save()
    for name, data in out.items():
        write(os.path.join(DATA, "npz", name), data)
    return out


HELLO = b"hello zip64\n"
DEFLATED = b"fulgur " * 40


def zip64_archive():
    """Two entries (stored, deflated) whose central directory uses zip64 extras for every
    size and offset, with a zip64 end record and locator, and 0xFFFF counts in the EOCD."""
    entries = [("hello.txt", HELLO, 0), ("deflated.txt", DEFLATED, 8)]
    body = b""
    central = b""
    for name, data, method in entries:
        raw = data
        if method == 8:
            co = zlib.compressobj(9, zlib.DEFLATED, -15)
            raw = co.compress(data) + co.flush()
        crc = zlib.crc32(data) & 0xFFFFFFFF
        offset = len(body)
        name_b = name.encode()
        local_extra = struct.pack("<HHQQ", 1, 16, len(data), len(raw))
        body += struct.pack("<IHHHHHIIIHH", 0x04034B50, 45, 0, method, 0, 0x21, crc,
                            0xFFFFFFFF, 0xFFFFFFFF, len(name_b), len(local_extra))
        body += name_b + local_extra + raw
        cd_extra = struct.pack("<HHQQQ", 1, 24, len(data), len(raw), offset)
        central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 45, 45, 0, method, 0, 0x21, crc,
                               0xFFFFFFFF, 0xFFFFFFFF, len(name_b), len(cd_extra), 0, 0, 0, 0,
                               0xFFFFFFFF)
        central += name_b + cd_extra
    cd_offset = len(body)
    z64_offset = cd_offset + len(central)
    z64 = struct.pack("<IQHHIIQQQQ", 0x06064B50, 44, 45, 45, 0, 0, len(entries), len(entries),
                      len(central), cd_offset)
    locator = struct.pack("<IIQI", 0x07064B50, 0, z64_offset, 1)
    eocd = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0)
    return body + central + z64 + locator + eocd


def torch_save():
    import torch
    buf = io.BytesIO()
    torch.save({"w": torch.arange(6, dtype=torch.float32).reshape(2, 3)}, buf)
    data = buf.getvalue()
    # The reader test checks these names in this order and the tensor bytes.
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        names = z.namelist()
    write(os.path.join(DATA, "npz", "torch_save.names.txt"), ("\n".join(names) + "\n").encode())
    return data


# ---------------------------------------------------------------------------------------
# IDX
IDX_TYPES = {"ubyte": (0x08, ">u1"), "byte": (0x09, ">i1"), "short": (0x0B, ">i2"),
             "int": (0x0C, ">i4"), "float": (0x0D, ">f4"), "double": (0x0E, ">f8")}

IDX = {
    "ubyte": ("ubyte", np.arange(6).reshape(2, 3) * 40),
    "byte": ("byte", np.array([-128, -1, 0, 127])),
    "short": ("short", np.array([[-30000, -1], [2, 30000]])),
    "int": ("int", np.array([-2**31, 0, 2**31 - 1])),
    "float": ("float", np.array([1.5, -0.25])),
    "double": ("double", np.array([[1.0 / 3.0], [-1e300]])),
    "ubyte3d": ("ubyte", np.arange(8).reshape(2, 2, 2) + 200),
}


def idx_bytes(kind, arr):
    code, dt = IDX_TYPES[kind]
    head = struct.pack(">BBBB", 0, 0, code, arr.ndim) + b"".join(struct.pack(">I", s) for s in arr.shape)
    return head + arr.astype(dt).tobytes()


def gen_idx():
    out = {}
    for name, (kind, arr) in IDX.items():
        out[name + ".idx"] = idx_bytes(kind, arr)
    out["ubyte.idx.gz"] = gz(out["ubyte.idx"])
    out["double.idx.gz"] = gz(out["double.idx"])
    raw = out["ubyte3d.idx"]
    out["ubyte3d_multimember.idx.gz"] = gz(raw[:7]) + gz(raw[7:])
    for name, data in out.items():
        write(os.path.join(DATA, "idx", name), data)
    return out


# ---------------------------------------------------------------------------------------
# CSV
CSV = {
    "iris_like.csv": "sepal_length,sepal_width,petal_length,species\n"
                     "5.1,3.5,1.4,0\n4.9, 3.0 ,1.4,0\n\n6.3,3.3,6.0,2\r\n5.8,2.7,5.1,1\n",
    "no_header.tsv": "1\t2\t3\n4\t5\t6\n",
    "quoted.csv": '"a","b, with comma","y"\n"1.5","-2e3","7"\n',
    "bad_ragged.csv": "a,b,c\n1,2,3\n4,5\n",
    "bad_text.csv": "a,b,c\n1,2,3\n4,five,6\n",
}


def gen_csv():
    for name, text in CSV.items():
        write(os.path.join(DATA, "csv", name), text.encode())
    return {k: v.encode() for k, v in CSV.items()}


# ---------------------------------------------------------------------------------------
# Fashion-MNIST facts
def gen_fashion_golden():
    lines = ["// Generated by tools/gen_data_files.py from " + FASHION + ". Do not edit.",
             "// {n, total pixel sum, label histogram, samples {index, label, pixel sum,"
             " row 14 cols 10..14}}"]
    for split in ("train", "t10k"):
        with gzip.open(f"{FASHION}/{split}-images-idx3-ubyte.gz") as f:
            raw = f.read()
        images = np.frombuffer(raw, dtype=np.uint8, offset=16).reshape(-1, 28, 28)
        with gzip.open(f"{FASHION}/{split}-labels-idx1-ubyte.gz") as f:
            labels = np.frombuffer(f.read(), dtype=np.uint8, offset=8)
        n = len(labels)
        hist = np.bincount(labels, minlength=10)
        samples = []
        for i in (0, 1, 12345 % n, n - 1):
            row = ", ".join(str(int(v)) for v in images[i, 14, 10:15])
            samples.append(f"{{{i}, {int(labels[i])}, {int(images[i].astype(np.int64).sum())}, {{{row}}}}}")
        name = "kFashionTrain" if split == "train" else "kFashionTest"
        lines.append(f"const FashionGolden {name} = {{{n}, {int(images.astype(np.int64).sum())}LL, "
                     f"{{{', '.join(str(int(h)) for h in hist)}}},\n    {{{', '.join(samples)}}}}};")
        # ToTensor + Normalize((0.2860,), (0.3530,)) of image 0, as torchvision computes it in
        # float32: the sum of the normalized values (float64 accumulation).
        if split == "train":
            x = images[0].astype(np.float32) / np.float32(255)
            y = (x - np.float32(0.2860)) / np.float32(0.3530)
            lines.append(f"const double kFashionTrain0NormalizedSum = {float(y.astype(np.float64).sum())!r};")
    path = os.path.join(ROOT, "tests", "golden", "fashion_mnist_golden.inc")
    write(path, ("\n".join(lines) + "\n").encode())


# ---------------------------------------------------------------------------------------
# Fuzz seeds: good inputs and the classic bad ones.
def gen_corpus(npy, npz, idx, csv):
    def put(target, name, data):
        write(os.path.join(CORPUS, target, name), data)

    good_idx = idx["ubyte.idx"]
    for name, data in idx.items():
        put("idx", name, data)
    put("idx", "bad_empty", b"")
    put("idx", "bad_magic", b"\x01\x02\x08\x01\x00\x00\x00\x01\x05")
    put("idx", "bad_type", b"\x00\x00\x07\x01\x00\x00\x00\x01\x05")
    put("idx", "bad_truncated", good_idx[:-2])
    put("idx", "bad_trailing", good_idx + b"\x00")
    put("idx", "bad_header_short", good_idx[:6])
    put("idx", "bad_overflow", b"\x00\x00\x0e\x04" + b"\xff\xff\xff\xff" * 4)
    put("idx", "bad_huge", b"\x00\x00\x08\x02" + b"\x00\x01\x00\x00" * 2)
    put("idx", "bad_gz_truncated", idx["ubyte.idx.gz"][:-5])
    put("idx", "bad_gz_crc", idx["ubyte.idx.gz"][:-8] + b"\0\0\0\0" + idx["ubyte.idx.gz"][-4:])
    put("idx", "bad_gz_garbage", idx["ubyte.idx.gz"] + b"garbage")
    put("idx", "bad_gz_huge", gz(b"\x00\x00\x08\x02" + b"\x00\x01\x00\x00" * 2))
    # gzip_idx: first byte is the harness mode (see tests/fuzz/gzip_idx_fuzz.cc), the rest the
    # IDX content it compresses.
    for mode in range(4):
        put("gzip_idx", f"mode{mode}_ubyte", bytes([mode, 3]) + good_idx)
        put("gzip_idx", f"mode{mode}_double", bytes([mode, 9]) + idx["double.idx"])
    put("gzip_idx", "bad_overflow", b"\x00\x00" + b"\x00\x00\x0e\x04" + b"\xff\xff\xff\xff" * 4)
    for name, data in npy.items():
        put("npy", name, data)
    f4 = npy["f4.npy"]
    put("npy", "bad_empty", b"")
    put("npy", "bad_magic", b"\x93NUMPX" + f4[6:])
    put("npy", "bad_version", f4[:6] + b"\x04\x00" + f4[8:])
    put("npy", "bad_truncated", f4[:-3])
    put("npy", "bad_header_len", f4[:8] + b"\xff\xff" + f4[10:])
    put("npy", "bad_shape_overflow", npy_header("<f8", "(4294967296, 4294967296, 4294967296)") + b"\0" * 8)
    # Found by fuzzing (docs/FUZZING.md): a zero dim hides an overflowing stride product.
    put("npy", "bad_zero_dim_overflow", npy_header("<f4", "(0, 4294967296, 4294967296)"))
    put("npy", "bad_shape_mismatch", npy_header("<f4", "(1000,)") + b"\0" * 8)
    put("npy", "bad_header_syntax", npy_header("<f4", "(2, 3") + b"\0" * 24)
    for name, data in npz.items():
        put("npz", name, data)
    s = npz["savez.npz"]
    put("npz", "bad_truncated", s[: len(s) // 2])
    put("npz", "bad_no_eocd", s[:-22])
    crc_bad = bytearray(s)
    crc_bad[60] ^= 0xFF  # inside the first entry's data
    put("npz", "bad_data_crc", bytes(crc_bad))
    eocd = s.rfind(b"PK\x05\x06")
    many = bytearray(s)
    many[eocd + 10:eocd + 12] = b"\xff\xff"  # entry count far beyond the central directory
    put("npz", "bad_count", bytes(many))
    off = bytearray(s)
    off[eocd + 16:eocd + 20] = b"\xff\xff\xff\x7f"  # central directory offset past the end
    put("npz", "bad_cd_offset", bytes(off))
    for name, data in csv.items():
        put("csv", name, data)
    put("csv", "bad_quote", b'a,b\n"1,2\n')
    put("csv", "bad_empty_cell", b"a,b\n1,\n")
    put("csv", "bad_one_column", b"a\n1\n")
    put("csv", "bad_nul", b"a,b\n1,\x002\n")


def npy_header(descr, shape):
    header = "{'descr': '%s', 'fortran_order': False, 'shape': %s, }" % (descr, shape)
    header += " " * (63 - (10 + len(header)) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode()


def main():
    npy = gen_npy()
    npz = gen_npz()
    idx = gen_idx()
    csv = gen_csv()
    gen_corpus(npy, npz, idx, csv)
    if os.path.isdir(FASHION):
        gen_fashion_golden()
    else:
        print("skipping the Fashion-MNIST golden file: " + FASHION + " is missing "
              "(apt-get install dataset-fashion-mnist)")


if __name__ == "__main__":
    main()
