"""The bundle's weights file: every tensor of every graph and of the source state_dicts, each
distinct tensor once; shipped in fp16 where that holds every value exactly.

The graphs point at (offset, length) in the file through ONNX external data, and the manifest
lists those tensors for each graph (so that a runtime can hand them over from memory) and points
the state_dicts' entries at the same bytes: the ONNX runtimes and torch read one copy.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ALIGN = 64   # byte alignment of each tensor in the shared weights file


class _TensorFile:
    """Append-only file of tensors, 64-byte aligned, each distinct (dtype, shape, bytes) once."""

    def __init__(self, f):
        self.f, self.offsets, self.shared, self.dtypes = f, {}, 0, set()

    def add(self, dtype: np.dtype, dims, data: bytes) -> tuple[int, int]:
        key = _key(dtype, dims, data)
        if key in self.offsets:
            self.shared += 1
        else:
            self.f.write(b"\0" * (-self.f.tell() % ALIGN))
            self.offsets[key] = (self.f.tell(), len(data))
            self.f.write(data)
            self.dtypes.add(np.dtype(dtype))
        return self.offsets[key]


def _key(dtype: np.dtype, dims, data: bytes) -> str:
    return hashlib.sha256(f"{np.dtype(dtype).str}{list(dims)}".encode() + data).hexdigest()


def _point_at(init, location: str, offset: int, length: int) -> None:
    """Make the initializer `init` (onnx.TensorProto, in place) read its values from `location`."""
    import onnx
    for field in ("raw_data", "float_data", "int32_data", "int64_data", "double_data"):
        init.ClearField(field)
    init.data_location = onnx.TensorProto.EXTERNAL
    del init.external_data[:]
    for k, v in (("location", location), ("offset", str(offset)), ("length", str(length))):
        entry = init.external_data.add()
        entry.key, entry.value = k, v


@dataclass(frozen=True)
class SharedWeights:
    shared: int          # tensors found more than once
    external: dict       # graph name -> [{name, offset, shape, dtype}] of its initializers in the file
    tensors: dict        # "G"/"D"/"E" -> state_dict key -> where its values are (the manifest's "model")
    dtypes: frozenset    # the dtypes the file holds


def share_weights(graphs: dict[str, Path], weights_path: Path, tensors: dict | None = None,
                  float_dtype=np.float32, min_bytes: int = 1024) -> SharedWeights:
    """Move every large initializer of every graph into one file, then add the state_dicts in
    `tensors` ({"G": {name: array}, ...}) to it, each distinct tensor once.

    The state_dicts' floating tensors are stored as `float_dtype` (the graphs' own, so that they
    share the graphs' bytes) where that holds them exactly, else as float32; other tensors (batch
    counts) go into the index as values.
    """
    import onnx
    from onnx import numpy_helper

    external: dict = {}
    index: dict = {}
    with open(weights_path, "wb") as blob:
        store = _TensorFile(blob)
        for name, path in graphs.items():
            model = onnx.load(path)
            external[name] = []
            for init in model.graph.initializer:
                array = numpy_helper.to_array(init)
                data = array.tobytes()
                if len(data) < min_bytes:
                    continue
                offset, length = store.add(array.dtype, init.dims, data)
                external[name].append({"name": init.name, "offset": offset, "shape": list(array.shape),
                                       "dtype": array.dtype.name})
                _point_at(init, weights_path.name, offset, length)
            onnx.save(model, path)
        for part, state in (tensors or {}).items():
            index[part] = {}
            for key, value in state.items():
                value = np.asarray(value)
                entry = {"dtype": value.dtype.name, "shape": list(value.shape)}
                if value.dtype.kind != "f":
                    index[part][key] = {**entry, "value": value.tolist()}
                    continue
                stored = value.astype(float_dtype)
                if not np.array_equal(stored, value):
                    stored = value.astype(np.float32)
                offset, _ = store.add(stored.dtype, stored.shape, stored.tobytes())
                index[part][key] = {**entry, "offset": offset, "file_dtype": stored.dtype.name}
    return SharedWeights(store.shared, external, index, frozenset(store.dtypes))


class WeightsNotStored(ValueError):
    """A graph has a weight the bundle's weights file does not hold."""


def reuse_weights(graphs: dict[str, Path], location: str, data: np.ndarray, stored: list[dict],
                  min_bytes: int = 1024) -> dict:
    """Point every large initializer of each graph at the same tensor in an existing weights
    file, left as it is: `data` its bytes (uint8), `stored` the tensors known to be in it (dicts
    with dtype, shape, offset, as the manifest lists them), `location` its name for the graphs.
    Returns graph name -> its external tensors, as share_weights does; raises WeightsNotStored
    naming the first tensor the file lacks."""
    import onnx
    from onnx import numpy_helper

    offsets = {}
    for t in stored:
        dtype, shape = np.dtype(t["dtype"]), [int(d) for d in t["shape"]]
        length = int(np.prod(shape)) * dtype.itemsize
        offsets[_key(dtype, shape, data[t["offset"]:t["offset"] + length].tobytes())] = (t["offset"], length)
    external: dict = {}
    for name, path in graphs.items():
        model = onnx.load(path)
        external[name] = []
        for init in model.graph.initializer:
            array = numpy_helper.to_array(init)
            if array.nbytes < min_bytes:
                continue
            found = offsets.get(_key(array.dtype, init.dims, array.tobytes()))
            if found is None:
                raise WeightsNotStored(f"{name}: its weight {init.name} {list(array.shape)} is not in {location}")
            external[name].append({"name": init.name, "offset": found[0], "shape": list(array.shape),
                                   "dtype": array.dtype.name})
            _point_at(init, location, *found)
        onnx.save(model, path)
    return external


def narrow_to_fp16(weights_path: Path, out: Path, dtypes: frozenset) -> bool:
    """Write `weights_path` with every value narrowed to fp16 to `out`, where the file holds only
    fp32 values (`dtypes`, as share_weights returns them) and each is exact in fp16, so that
    widening `out` gives `weights_path` back byte for byte. Returns whether it did."""
    if dtypes != {np.dtype(np.float32)} or weights_path.stat().st_size % 4:
        return False
    full = np.fromfile(weights_path, np.float32)
    half = full.astype(np.float16)
    if not np.array_equal(half.astype(np.float32).view(np.uint32), full.view(np.uint32)):
        return False
    half.tofile(out)
    return True
