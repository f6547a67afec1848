"""GL's completion as one ONNX graph in a bundle, its weights stored once, in fp16.

`add_gl(checkpoint, bundle)` exports train.gl.GLInpainter ((image, known) -> the image with its
hole filled, known pixels unchanged; dynamic batch) with its weights rounded to fp16 and stored
in the graph as fp16 initializers, each widened to fp32 by a Cast the runtimes fold at load (the
convolution biases, which TensorRT takes only as initializers, stay fp32); the arithmetic is
fp32. The graph goes into the bundle as "gl" under a content-named file, and the
manifest is rewritten atomically after it, so an interrupted export leaves the bundle as it was.

The initializers keep the names of the module's state_dict, so `load_gl_module` rebuilds the
torch module from the graph itself: the one stored copy of the weights serves both, and the
relative error of the graph against torch is measured on the same weights (kept in the manifest).
"""
from __future__ import annotations

import json
import logging
import shutil
import tempfile
import time
import warnings
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from inpaint.atomic import write_atomic
from inpaint.errors import InpaintError
from inpaint.runtime.bundle import MANIFEST, load_bundle
from inpaint.runtime.digests import sha256_file

GL_GRAPH = "gl"
INPUTS, OUTPUTS = ("image", "known"), ("completed",)


def example_inputs(batch: int = 4, seed: int = 0):
    """Images in [-1, 1] with center and random-pixel holes."""
    import torch
    g = torch.Generator().manual_seed(seed)
    image = torch.rand(batch, 3, 64, 64, generator=g) * 2 - 1
    known = (torch.rand(batch, 1, 64, 64, generator=g) > 0.4).float()
    known[::2, :, 16:48, 16:48] = 0
    return image, known


def fp16_rounded(net):
    """A copy of the completion network with every floating-point tensor rounded to fp16 (kept fp32)."""
    import copy

    import torch
    net = copy.deepcopy(net).eval()
    with torch.no_grad():
        for t in (*net.parameters(), *net.buffers()):
            if t.is_floating_point():
                t.copy_(t.half().float())
    return net


def constants_to_initializers(model) -> None:
    """Turn the Constant nodes of `model` (onnx.ModelProto, in place) into initializers: TensorRT's
    parser takes a Reduce's axes only from an initializer."""
    graph = model.graph
    keep = []
    for node in graph.node:
        value = next((a.t for a in node.attribute if a.name == "value"), None)
        if node.op_type == "Constant" and value is not None:
            value.name = node.output[0]
            graph.initializer.append(value)
        else:
            keep.append(node)
    del graph.node[:]
    graph.node.extend(keep)


def narrow_initializers(model) -> int:
    """Store every fp32 initializer of `model` (onnx.ModelProto, in place) as fp16 under its own
    name, read through a Cast to fp32; returns the number narrowed. Values must be fp16-exact.
    Convolution biases stay fp32 initializers, as TensorRT's parser takes them only so."""
    import onnx
    from onnx import numpy_helper
    graph = model.graph
    biases = {n.input[2] for n in graph.node if n.op_type in ("Conv", "ConvTranspose") and len(n.input) > 2}
    casts, narrowed = [], {}
    for init in graph.initializer:
        if init.data_type != onnx.TensorProto.FLOAT or init.name in biases:
            continue
        a = numpy_helper.to_array(init)
        h = a.astype(np.float16)
        if not np.array_equal(h.astype(np.float32), a):
            raise ValueError(f"initializer {init.name} is not exact in fp16")
        init.CopyFrom(numpy_helper.from_array(h, init.name))
        narrowed[init.name] = f"{init.name}::fp32"
        casts.append(onnx.helper.make_node("Cast", [init.name], [narrowed[init.name]], to=onnx.TensorProto.FLOAT,
                                           name=f"widen/{init.name}"))
    for node in graph.node:
        for i, name in enumerate(node.input):
            if name in narrowed:
                node.input[i] = narrowed[name]
    for values in (graph.value_info, graph.input):     # the fp32 types recorded for them, if any
        keep = [v for v in values if v.name not in narrowed]
        del values[:]
        values.extend(keep)
    nodes = casts + list(graph.node)
    del graph.node[:]
    graph.node.extend(nodes)
    return len(casts)


def export_gl_graph(net, path: Path) -> None:
    """Write GLInpainter(net) (fp16-exact weights) as ONNX with a dynamic batch axis and fp16 storage."""
    import onnx
    import torch

    from inpaint.export.fold import fold_graph
    from inpaint.train.gl import GLInpainter
    module = GLInpainter(net).eval()
    batch = torch.export.Dim("batch", min=1, max=65536)
    logging.getLogger("torch.onnx._internal.exporter._registration").setLevel(logging.ERROR)
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(module, example_inputs(), str(path), dynamo=True,
                          dynamic_shapes=({0: batch}, {0: batch}), external_data=False,
                          input_names=list(INPUTS), output_names=list(OUTPUTS), verbose=False, optimize=False)
    model = fold_graph(onnx.load(str(path)))
    constants_to_initializers(model)
    narrow_initializers(model)
    onnx.save(model, str(path))


def load_gl_module(path: str | Path):
    """train.gl.GLInpainter in eval mode, fp32, from an exported GL graph's own initializers."""
    import onnx
    import torch
    from onnx import numpy_helper

    from inpaint.train.gl import CompletionNet, GLInpainter
    model = onnx.load(str(path))
    tensors = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
    meta = {p.key: p.value for p in model.metadata_props}
    if "gl_width" not in meta:
        raise InpaintError(f"{path} is not an exported GL graph (no gl_width); re-export it with inpaint-export --gl")
    module = GLInpainter(CompletionNet(int(meta["gl_width"])))
    state = module.state_dict()
    missing = [k for k in state if k not in tensors and not k.endswith("num_batches_tracked")]
    if missing:
        raise InpaintError(f"{path} lacks GL weights ({', '.join(missing[:3])}); re-export it with inpaint-export --gl")
    module.load_state_dict({k: torch.from_numpy(np.array(tensors[k], np.float32)) if k in tensors else v
                            for k, v in state.items()})
    return module.eval()


def relative_error(path: Path, module, batch: int = 8) -> float:
    """max |graph - torch| / max |torch| of the completion, on the CPU provider, fp32."""
    import onnxruntime as ort
    import torch
    image, known = example_inputs(batch, seed=1)
    with torch.no_grad():
        ref = module(image, known).numpy()
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got = session.run(None, {"image": image.numpy(), "known": known.numpy()})[0]
    return float(np.abs(got - ref).max() / np.abs(ref).max())


def add_gl(checkpoint: str | Path, bundle_dir: str | Path, log=print) -> dict:
    """Export the GL checkpoint into the bundle at bundle_dir; returns the manifest's "gl" entry."""
    import onnx
    import torch

    from inpaint.export.bundle import graph_signature
    from inpaint.export.flops import graph_flops
    from inpaint.train.checkpoint import load
    from inpaint.train.gl_loop import load_gl

    bundle_dir = Path(bundle_dir)
    bundle = load_bundle(bundle_dir)
    payload = load(checkpoint)
    net32 = load_gl(checkpoint)
    net = fp16_rounded(net32)
    t0 = time.perf_counter()
    tmp = bundle_dir / f".tmp-{GL_GRAPH}.onnx"
    try:
        export_gl_graph(net, tmp)
        model = onnx.load(str(tmp))
        width = str(payload["gl"]["width"])
        model.metadata_props.add(key="gl_width", value=width)
        onnx.save(model, str(tmp))
        error = relative_error(tmp, load_gl_module(tmp))
        with torch.no_grad():
            image, known = example_inputs(8, seed=2)
            from inpaint.train.gl import GLInpainter
            rounding = float((GLInpainter(net)(image, known) - GLInpainter(net32)(image, known)).abs().max())
        digest = sha256_file(tmp)
        entry = {"sha256": digest, "flops_per_sample": graph_flops(tmp), **graph_signature(onnx.load(str(tmp))),
                 "external": []}
        name = f"{GL_GRAPH}-{digest[:12]}.onnx"
        tmp.replace(bundle_dir / name)
    finally:
        tmp.unlink(missing_ok=True)
    path = bundle_dir / name
    log(f"exported {GL_GRAPH} (width {width}) {time.perf_counter() - t0:5.1f} s  "
        f"{path.stat().st_size / 2**20:.1f} MB; relative error against torch {error:.1e}; "
        f"fp16 weights move the output by at most {rounding:.1e} (of 2)")
    if error > 1e-5:
        path.unlink()
        raise InpaintError(f"the exported GL graph differs from torch by {error:.1e} (relative), over 1e-5")
    manifest = dict(bundle.manifest)
    old = manifest.get("graphs", {}).get(GL_GRAPH, {}).get("file")
    manifest["graphs"] = {**manifest["graphs"], GL_GRAPH: {"file": name, **entry}}
    settings = payload.get("settings", {})
    manifest[GL_GRAPH] = {"width": int(width), "step": int(payload["step"]),
                          "train_wall_seconds": round(float(payload.get("wall_time", 0.0)), 1),
                          "batch_size": settings.get("batch_size"), "tc_steps": settings.get("tc_steps"),
                          "td_steps": settings.get("td_steps"), "alpha": settings.get("alpha"),
                          "weights": "fp16", "relative_error_vs_torch": error,
                          "fp16_rounding_max_abs": rounding,
                          "source": {"file": Path(checkpoint).name, "sha256": sha256_file(checkpoint)}}
    write_atomic(bundle_dir / MANIFEST, lambda t: t.write_text(json.dumps(manifest, indent=2)))
    if old and old != name:
        (bundle_dir / old).unlink(missing_ok=True)
    return manifest[GL_GRAPH]


@contextmanager
def gl_kept(bundle_dir: str | Path):
    """Keep the GL graph of the bundle at bundle_dir across its re-export in the with-block (a new
    generator, discriminator or encoder): GL does not depend on them. Its file and manifest
    entries are copied aside before and put back after; nothing happens where it has none."""
    bundle_dir = Path(bundle_dir)
    path = bundle_dir / MANIFEST
    manifest = json.loads(path.read_text()) if path.is_file() else {}
    graph = manifest.get("graphs", {}).get(GL_GRAPH)
    if graph is None:
        yield
        return
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / graph["file"]
        shutil.copy2(bundle_dir / graph["file"], copy)
        yield
        shutil.copy2(copy, bundle_dir / copy.name)
        path = bundle_dir / MANIFEST
        manifest_new = json.loads(path.read_text())
        manifest_new["graphs"][GL_GRAPH] = graph
        manifest_new[GL_GRAPH] = manifest[GL_GRAPH]
        write_atomic(path, lambda t: t.write_text(json.dumps(manifest_new, indent=2)))
