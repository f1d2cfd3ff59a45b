"""Read and check a safetensors header without loading tensors.

A safetensors file is ``u64 little-endian N`` + ``N`` bytes of JSON header + the data buffer. The
header maps each tensor name to ``{"dtype", "shape", "data_offsets": [begin, end]}`` (offsets into
the data buffer) plus an optional ``"__metadata__"`` object of strings. Checking it here gives
errors that name the file and the tensor, and catches truncation without reading the data — the
native runtime memory-maps the same layout.
"""

from __future__ import annotations

import math
import os
import struct
from pathlib import Path
from typing import NamedTuple, NoReturn

import numpy as np

from emomix import _schema
from emomix.errors import VoiceBundleError

__all__ = ["TensorSpec", "SAFETENSORS_DTYPES", "read_safetensors_header"]

_ST = _schema.SCHEMA["safetensors"]
_NUMPY_KIND = {"float": "f", "int": "i", "uint": "u"}
# safetensors dtype code -> numpy dtype (little-endian). Only what a voice bundle may hold
# (schema.json's safetensors.dtypes): float32/float16 weights, and integer/bool buffers. (BF16
# has no numpy dtype; F64 is never needed.)
SAFETENSORS_DTYPES: dict[str, np.dtype] = {
    code: np.dtype("?" if d["kind"] == "bool" else f"<{_NUMPY_KIND[d['kind']]}{d['bytes']}")
    for code, d in _ST["dtypes"].items()
}
FLOAT_DTYPES = tuple(code for code, d in _ST["dtypes"].items() if d["kind"] == "float")
_REFUSED_FLOATS = tuple(_ST["refused_float_dtypes"])
_MAX_HEADER_BYTES = _ST["max_header_bytes"]  # the limit safetensors itself enforces
_HINT = "the weights file is corrupted or truncated; re-export or re-download the voice"


def _index(v: object) -> bool:
    """A size or offset: a non-negative integer within the schema's ``json.max_integer`` (what
    every reader holds exactly; the native reader too)."""
    return isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= _schema.MAX_INTEGER


class TensorSpec(NamedTuple):
    """One tensor of a safetensors file: dtype code (``"F16"``…), shape, byte range in the
    data buffer (``begin``, ``end``; the buffer starts at ``data_start`` in the file)."""

    dtype: str
    shape: tuple[int, ...]
    begin: int
    end: int

    @property
    def numpy_dtype(self) -> np.dtype:
        return SAFETENSORS_DTYPES[self.dtype]


class SafetensorsHeader(NamedTuple):
    tensors: dict[str, TensorSpec]
    metadata: dict[str, str]
    data_start: int


def read_safetensors_header(
    path: str | os.PathLike[str], *, label: str | None = None
) -> SafetensorsHeader:
    """Parse and check the header of the safetensors file at ``path``.

    ``label`` is the file name used in error fields (default: the file's name), so errors read
    ``"weights.safetensors:denoiser.in_conv.weight"``. Raises :class:`VoiceBundleError` when the
    file is short, the header is not a JSON object, a tensor's dtype/shape/offsets are invalid,
    the tensors do not tile the data buffer exactly, or the file is shorter or longer than the
    header says.
    """
    path = Path(path)
    label = label or path.name

    def fail(problem: str, tensor: str | None = None, hint: str = _HINT) -> NoReturn:
        field = f"{label}:{tensor}" if tensor is not None else label
        raise VoiceBundleError(problem, path=path, field=field, hint=hint)

    try:
        size = path.stat().st_size
        with open(path, "rb") as f:
            prefix = f.read(8)
            if len(prefix) < 8:
                fail(f"file is {size} bytes, too short for a safetensors header")
            (n,) = struct.unpack("<Q", prefix)
            if n > _MAX_HEADER_BYTES or 8 + n > size:
                fail(
                    f"header length field says {n} bytes but the file has only {size} bytes "
                    "(truncated, or not a safetensors file)"
                )
            raw = f.read(n)
    except OSError as e:
        fail(f"cannot be read: {e.strerror or e}", hint="check the file exists and is readable")

    try:
        header = _schema.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:  # JSONDecodeError and JSONRuleError too
        fail(f"header is not valid JSON ({e})")
    if not isinstance(header, dict):
        fail("header is not a JSON object")

    metadata = header.pop("__metadata__", {})
    if not isinstance(metadata, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()
    ):
        fail("__metadata__ must map strings to strings", "__metadata__")

    tensors: dict[str, TensorSpec] = {}
    for name, info in header.items():
        if not name:
            fail("has a tensor with an empty name")
        if not isinstance(info, dict):
            fail("header entry is not an object", name)
        dtype = info.get("dtype")
        if not isinstance(dtype, str) or dtype not in SAFETENSORS_DTYPES:
            hint = (
                "store weights as float32 or float16 (save_bundle(dtype=...))"
                if dtype in _REFUSED_FLOATS
                else _HINT
            )
            fail(
                f"dtype {dtype!r} is not supported by emomix voice bundles "
                f"(supported: {', '.join(SAFETENSORS_DTYPES)})",
                name,
                hint,
            )
        shape = info.get("shape")
        if not isinstance(shape, list) or not all(_index(d) for d in shape):
            fail(f"shape {shape!r} is not a list of non-negative integers", name)
        offsets = info.get("data_offsets")
        if (
            not isinstance(offsets, list)
            or len(offsets) != 2
            or not all(_index(o) for o in offsets)
            or not 0 <= offsets[0] <= offsets[1]
        ):
            fail(f"data_offsets {offsets!r} is not [begin, end] with 0 <= begin <= end", name)
        nbytes = math.prod(shape) * SAFETENSORS_DTYPES[dtype].itemsize
        if offsets[1] - offsets[0] != nbytes:
            fail(
                f"data_offsets {offsets} span {offsets[1] - offsets[0]} bytes but shape "
                f"{shape} of {dtype} needs {nbytes}",
                name,
            )
        tensors[name] = TensorSpec(dtype, tuple(shape), offsets[0], offsets[1])

    data_start = 8 + n
    cursor = 0
    for name, spec in sorted(tensors.items(), key=lambda kv: (kv[1].begin, kv[1].end)):
        if spec.begin != cursor:
            what = "overlaps another tensor" if spec.begin < cursor else "leaves a gap before it"
            fail(f"data_offsets {[spec.begin, spec.end]} {what}", name)
        cursor = spec.end
    expected = data_start + cursor
    if size != expected:
        state = "truncated" if size < expected else "has trailing bytes"
        fail(f"file is {size} bytes but its header describes {expected} bytes ({state})")
    return SafetensorsHeader(tensors, dict(metadata), data_start)
