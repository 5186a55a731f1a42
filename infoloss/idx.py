"""Reading and writing IDX files, the plain binary format MNIST is distributed in.

The course's C LeNet-5 (chapter 9) reads its data from IDX files, so the digits data is
written in that format; real MNIST files a reader already has work the same way.

Layout: two zero bytes, one byte for the element type, one byte for the number of
dimensions, then each dimension as a big-endian unsigned 32-bit integer, then the data
in C order, big-endian.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np

# IDX type code -> big-endian NumPy dtype
IDX_TYPES: dict[int, np.dtype] = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_CODES = {dt.newbyteorder("="): code for code, dt in IDX_TYPES.items()}


def _open(path: Path, mode: str):
    return gzip.open(path, mode) if path.suffix == ".gz" else open(path, mode)


def write_idx(path: str | Path, array: np.ndarray) -> Path:
    """Write ``array`` (uint8, int8, int16, int32, float32 or float64) as an IDX file.

    A name ending in ``.gz`` is gzip-compressed. Returns the path written.
    """
    path = Path(path)
    arr = np.asarray(array)
    native = arr.dtype.newbyteorder("=")
    if native not in _CODES:
        raise ValueError(
            f"IDX cannot store dtype {arr.dtype}; convert to one of uint8, int8, int16, "
            "int32, float32, float64 first")
    if arr.ndim == 0 or arr.ndim > 255:
        raise ValueError(f"IDX needs an array with 1 to 255 dimensions, got {arr.ndim}")
    code = _CODES[native]
    header = bytes([0, 0, code, arr.ndim]) + np.asarray(arr.shape, dtype=">u4").tobytes()
    with _open(path, "wb") as f:
        f.write(header)
        f.write(np.ascontiguousarray(arr, dtype=IDX_TYPES[code]).tobytes())
    return path


def read_idx(path: str | Path) -> np.ndarray:
    """Read an IDX file (optionally ``.gz``) into an array in native byte order."""
    path = Path(path)
    with _open(path, "rb") as f:
        data = f.read()
    if len(data) < 4 or data[0] != 0 or data[1] != 0:
        raise ValueError(f"{path} is not an IDX file (it must start with two zero bytes)")
    code, ndim = data[2], data[3]
    if code not in IDX_TYPES:
        raise ValueError(f"{path}: unknown IDX element type 0x{code:02x}")
    end = 4 + 4 * ndim
    if len(data) < end:
        raise ValueError(f"{path}: truncated IDX header")
    shape = tuple(int(d) for d in np.frombuffer(data[4:end], dtype=">u4"))
    dtype = IDX_TYPES[code]
    count = int(np.prod(shape, dtype=np.int64))
    if len(data) - end != count * dtype.itemsize:
        raise ValueError(
            f"{path}: header promises {count} values of {dtype.itemsize} byte(s) for shape "
            f"{shape}, but the file holds {len(data) - end} data bytes")
    arr = np.frombuffer(data, dtype=dtype, count=count, offset=end).reshape(shape)
    return arr.astype(dtype.newbyteorder("="))
