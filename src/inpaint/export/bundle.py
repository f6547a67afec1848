"""Write a bundle: the exported graphs, their weights stored once, and a manifest describing them."""
from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from pathlib import Path

from inpaint import __version__
from inpaint.errors import OutputError
from inpaint.runtime.bundle import BUNDLE_FORMAT, FP16_WEIGHTS_FILE, MANIFEST, WEIGHTS_FILE
from inpaint.runtime.digests import sha256_file

PARTS = ("G", "D", "E")   # the state_dicts a bundle carries for torch, where the source has them


def write_bundle(checkpoint: str | Path, out: str | Path, force: bool = False, fp16: bool = False,
                 log=print) -> dict:
    """Export every graph of a checkpoint, weights file or bundle into the bundle directory `out`.

    fp16: half-precision graphs (fp32 inputs and outputs) for strongly typed TensorRT; each
    graph's relative error against the fp32 modules is measured, logged and kept in the manifest.

    The bundle is assembled in a temp directory beside `out` and moved into place at the end, so
    an interrupted export leaves no half bundle; an existing bundle is replaced only with force.

    The weights file holds the graphs' weights and the source's state_dicts (for torch, see
    inpaint.train.checkpoint.load) once. Where all of it is fp32 and every value is exact in fp16
    (a model shipped in fp16), it is written in fp16 and widened back, exactly, at load.
    """
    import numpy as np
    import onnx
    import torch

    from inpaint.export.onnx_graphs import example_inputs, export_graph, graph_defs, n_saved
    from inpaint.export.precision import fp16_errors
    from inpaint.export.weights_file import narrow_to_fp16, share_weights
    from inpaint.train.checkpoint import load, load_encoder, load_models

    checkpoint, out = Path(checkpoint), Path(out)
    if out.exists() and not force:
        raise OutputError(f"{out} already exists; pass --force to replace it or choose another --out")
    spec, g, d = load_models(checkpoint)
    e = load_encoder(checkpoint)
    payload = load(checkpoint)
    state = {part: {k: v.numpy() for k, v in payload[part].items()} for part in PARTS if part in payload}
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
        stored = share_weights(graphs, tmp / WEIGHTS_FILE, state, np.float16 if fp16 else np.float32)
        log(f"weights stored once        {time.perf_counter() - t0:5.1f} s  "
            f"{(tmp / WEIGHTS_FILE).stat().st_size / 2**20:6.1f} MB ({stored.shared} tensors shared)")
        errors = {}
        for name, gdef in defs.items() if fp16 else ():
            t0 = time.perf_counter()
            errors[name] = fp16_errors(gdef.build(g, d, e).eval(), example_inputs(name, spec, g, d),
                                       graphs[name], gdef.inputs, gdef.outputs)
            worst = max(errors[name], key=errors[name].get)
            log(f"fp16 error {name:24s} {time.perf_counter() - t0:5.1f} s  "
                f"max relative {errors[name][worst]:.1e} ({worst})")
        t0 = time.perf_counter()
        weights = {"file": WEIGHTS_FILE, "sha256": sha256_file(tmp / WEIGHTS_FILE)}
        if narrow_to_fp16(tmp / WEIGHTS_FILE, tmp / FP16_WEIGHTS_FILE, stored.dtypes):
            (tmp / WEIGHTS_FILE).unlink()
            weights["stored"] = {"file": FP16_WEIGHTS_FILE, "dtype": "float16",
                                 "sha256": sha256_file(tmp / FP16_WEIGHTS_FILE)}
            log(f"weights stored in fp16     {time.perf_counter() - t0:5.1f} s  "
                f"{(tmp / FP16_WEIGHTS_FILE).stat().st_size / 2**20:6.1f} MB (every value exact in fp16; "
                "widened to fp32 at load)")
        elif not fp16:
            log("weights stored in fp32 (not every value is exact in fp16)")
        manifest = {
            "format": BUNDLE_FORMAT,
            "spec": spec.to_dict(),
            "precision": "fp16" if fp16 else "fp32",
            **({"fp16_error": errors} if fp16 else {}),
            "graphs": {name: graph_entry(p, stored.external[name]) for name, p in graphs.items()},
            "weights": weights,
            "model": {"step": payload["step"], "meta": payload.get("meta", {}),
                      **({"encoder": payload["encoder"]} if "E" in payload else {}), "tensors": stored.tensors},
            "source": {"file": checkpoint.name,
                       "sha256": sha256_file(checkpoint / MANIFEST if checkpoint.is_dir() else checkpoint)},
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


def graph_entry(path: Path, external: list[dict]) -> dict:
    """What the manifest says of one graph file: its hash, its FLOPs, inputs and outputs, and
    where its weights are in the weights file."""
    import onnx

    from inpaint.export.flops import graph_flops
    return {"file": path.name, "sha256": sha256_file(path), "flops_per_sample": graph_flops(path),
            **graph_signature(onnx.load(path, load_external_data=False)), "external": external}


def graph_signature(model) -> dict:
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
