"""Read IDX files (the MNIST / Fashion-MNIST format), gzipped or not.

Layout, all big-endian: two zero bytes, a type byte (0x08 = unsigned byte), a byte
with the number of dimensions D, then D 4-byte sizes, then the data in C order.
"""

import gzip
import math
import zlib
from pathlib import Path

import numpy as np

from .errors import DatasetError

UNSIGNED_BYTE = 0x08  # the only element type Fashion-MNIST uses


def read_idx(path) -> np.ndarray:
    """The array stored in ``path`` (``.gz`` files are decompressed), fully validated."""
    path = Path(path)
    raw = _read_bytes(path)
    if len(raw) < 4:
        raise DatasetError(f"{path} is {len(raw)} bytes long, too short for the 4-byte IDX magic number")
    zero0, zero1, element_type, ndim = raw[:4]
    if zero0 != 0 or zero1 != 0:
        raise DatasetError(f"{path} is not an IDX file: its magic number starts with bytes "
                           f"{raw[:2].hex()}, expected 0000")
    if element_type != UNSIGNED_BYTE:
        raise DatasetError(f"{path} stores element type 0x{element_type:02x}; only unsigned bytes "
                           f"(0x08) are supported")
    header = 4 + 4 * ndim
    if ndim == 0:
        raise DatasetError(f"{path}: its header announces 0 dimensions; an IDX array has at least one")
    if len(raw) < header:
        raise DatasetError(f"{path}: header announces {ndim} dimensions but the file cannot hold "
                           f"their {4 * ndim} size bytes")
    # ">u4" = big-endian unsigned 32-bit: the sizes are stored most significant byte first.
    dims = tuple(int(d) for d in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    expected = math.prod(dims)          # (Python's integers: np.prod wraps at 2**63, and 65536**4 is 0)
    if len(raw) - header != expected:
        raise DatasetError(f"{path}: header says shape {dims} = {expected:,} bytes of data, but the "
                           f"file holds {len(raw) - header:,}; it is truncated or corrupt")
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(dims)


def write_idx(path, array: np.ndarray) -> None:
    """Write a uint8 array as IDX (gzipped if the name ends in .gz). Used by the tests."""
    array = np.asarray(array)
    if array.dtype != np.uint8 or not 1 <= array.ndim <= 255:
        raise ValueError(f"write_idx needs a uint8 array with 1..255 dimensions, "
                         f"got {array.dtype} {array.shape}")
    header = bytes([0, 0, UNSIGNED_BYTE, array.ndim]) + np.array(array.shape, dtype=">u4").tobytes()
    data = header + np.ascontiguousarray(array).tobytes()
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "wb") as f:
        f.write(data)


def _read_bytes(path: Path) -> bytes:
    if not path.is_file():
        raise DatasetError(f"missing IDX file {path}")
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rb") as f:
                return f.read()
        return path.read_bytes()
    except (gzip.BadGzipFile, EOFError, zlib.error) as err:
        raise DatasetError(f"{path} is not a valid gzip file ({err}): it is truncated or corrupt") from err
