"""Write a bundle: the exported graphs, their weights stored once, and a manifest describing them."""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

from inpaint import __version__
from inpaint.errors import OutputError
from inpaint.runtime.bundle import BUNDLE_FORMAT, MANIFEST, WEIGHTS_FILE, sha256_file

ALIGN = 64   # byte alignment of each tensor in the shared weights file


def write_bundle(checkpoint: str | Path, out: str | Path, force: bool = False, fp16: bool = False,
                 log=print) -> dict:
    """Export every graph of a checkpoint or weights file into the bundle directory `out`.

    fp16: half-precision graphs (fp32 inputs and outputs) for strongly typed TensorRT; each
    graph's relative error against the fp32 modules is measured, logged and kept in the manifest.

    The bundle is assembled in a temp directory beside `out` and moved into place at the end, so
    an interrupted export leaves no half bundle; an existing bundle is replaced only with force.
    """
    import onnx
    import torch

    from inpaint.export.flops import graph_flops
    from inpaint.export.onnx_graphs import example_inputs, export_graph, graph_defs, n_saved
    from inpaint.export.precision import fp16_errors
    from inpaint.train.checkpoint import load_encoder, load_models

    checkpoint, out = Path(checkpoint), Path(out)
    if out.exists() and not force:
        raise OutputError(f"{out} already exists; pass --force to replace it or choose another --out")
    spec, g, d = load_models(checkpoint)
    e = load_encoder(checkpoint)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{out.name}.", dir=out.parent))
    except OSError as e:
        raise OutputError(f"cannot write to {out.parent} ({e.strerror}); choose a writable --out") from None
    try:
        graphs = {}
        defs = graph_defs(spec, n_saved(g), encoder=e is not None)
        for name, gdef in defs.items():
            t0 = time.perf_counter()
            path = tmp / f"{name}.onnx"
            export_graph(name, gdef, spec, g, d, path, fp16=fp16, e=e)
            log(f"exported {name:26s} {time.perf_counter() - t0:5.1f} s  {path.stat().st_size / 2**20:6.1f} MB")
            graphs[name] = path
        t0 = time.perf_counter()
        shared = share_weights(graphs, tmp / WEIGHTS_FILE)
        log(f"weights stored once        {time.perf_counter() - t0:5.1f} s  "
            f"{(tmp / WEIGHTS_FILE).stat().st_size / 2**20:6.1f} MB ({shared} tensors shared)")
        errors = {}
        for name, gdef in defs.items() if fp16 else ():
            t0 = time.perf_counter()
            errors[name] = fp16_errors(gdef.build(g, d, e).eval(), example_inputs(name, spec, g, d),
                                       graphs[name], gdef.inputs, gdef.outputs)
            worst = max(errors[name], key=errors[name].get)
            log(f"fp16 error {name:24s} {time.perf_counter() - t0:5.1f} s  "
                f"max relative {errors[name][worst]:.1e} ({worst})")
        manifest = {
            "format": BUNDLE_FORMAT,
            "spec": spec.to_dict(),
            "precision": "fp16" if fp16 else "fp32",
            **({"fp16_error": errors} if fp16 else {}),
            "graphs": {name: {"file": p.name, "sha256": sha256_file(p), "flops_per_sample": graph_flops(p),
                              **_signature(onnx.load(p, load_external_data=False))}
                       for name, p in graphs.items()},
            "weights": {"file": WEIGHTS_FILE, "sha256": sha256_file(tmp / WEIGHTS_FILE)},
            "source": {"file": checkpoint.name, "sha256": sha256_file(checkpoint)},
            "tools": {"inpaint": __version__, "torch": torch.__version__, "onnx": onnx.__version__},
            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2))
        os.chmod(tmp, 0o755)     # mkdtemp makes it private; a bundle is read by everyone
        if out.exists():
            shutil.rmtree(out)
        os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return manifest


def share_weights(graphs: dict[str, Path], weights_path: Path, min_bytes: int = 1024) -> int:
    """Move every large initializer of every graph into one file, each distinct tensor once.

    The graphs then point at (offset, length) in that file through ONNX external data. Returns
    how many tensors were found in more than one graph.
    """
    import onnx
    from onnx import numpy_helper

    offsets: dict[str, tuple[int, int]] = {}
    shared = 0
    with open(weights_path, "wb") as blob:
        for path in graphs.values():
            model = onnx.load(path)
            for init in model.graph.initializer:
                data = numpy_helper.to_array(init).tobytes()
                if len(data) < min_bytes:
                    continue
                key = hashlib.sha256(f"{init.data_type}{list(init.dims)}".encode() + data).hexdigest()
                if key in offsets:
                    shared += 1
                else:
                    pad = -blob.tell() % ALIGN
                    blob.write(b"\0" * pad)
                    offsets[key] = (blob.tell(), len(data))
                    blob.write(data)
                offset, length = offsets[key]
                for field in ("raw_data", "float_data", "int32_data", "int64_data", "double_data"):
                    init.ClearField(field)
                init.data_location = onnx.TensorProto.EXTERNAL
                del init.external_data[:]
                for k, v in (("location", weights_path.name), ("offset", str(offset)), ("length", str(length))):
                    entry = init.external_data.add()
                    entry.key, entry.value = k, v
            onnx.save(model, path)
    return shared


def _signature(model) -> dict:
    """Inputs and outputs of a graph: name, dtype and shape ('batch' for the dynamic axis)."""
    import onnx

    def describe(values):
        out = []
        for v in values:
            t = v.type.tensor_type
            shape = [dim.dim_param or dim.dim_value for dim in t.shape.dim]
            out.append({"name": v.name, "dtype": onnx.helper.tensor_dtype_to_np_dtype(t.elem_type).name,
                        "shape": ["batch" if isinstance(s, str) else s for s in shape]})
        return out
    return {"inputs": describe(model.graph.input), "outputs": describe(model.graph.output)}
