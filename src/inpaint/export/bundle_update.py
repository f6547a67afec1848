"""Add to an existing bundle the graphs this inpaint exports that it lacks, in place.

A bundle exported before search z+bn existed has no generator_bn and generator_bn_vjp; their
weights are G's, already in its weights file. `add_missing_graphs` exports the missing graphs from
the bundle's own weights, points their weights at the bytes already in the weights file (which
is left as it is: byte for byte, whether it ships in fp32 or fp16) and adds them to the manifest,
which is rewritten last, atomically: an interrupted update leaves the bundle as it was (perhaps
with an unlisted graph file beside it). Every other file stays untouched, so the hashes of the
old graphs, and what was built or measured from them, still hold; TensorRT plans are rebuilt
with inpaint-export --engine, as they cover every graph of the manifest.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

from inpaint import __version__
from inpaint.atomic import write_atomic
from inpaint.errors import InpaintError
from inpaint.runtime.bundle import MANIFEST, WEIGHTS_FILE, load_bundle


def stored_tensors(manifest: dict) -> list[dict]:
    """Every tensor the manifest places in the weights file: each graph's external weights and
    the state_dicts' floating tensors (dtype, shape and offset of each)."""
    tensors = [t for g in manifest["graphs"].values() for t in g.get("external", [])]
    for part in manifest.get("model", {}).get("tensors", {}).values():
        tensors += [{"dtype": t["file_dtype"], "shape": t["shape"], "offset": t["offset"]}
                    for t in part.values() if "offset" in t]
    return tensors


def add_missing_graphs(bundle_dir: str | Path, log=print) -> list[str]:
    """Export into the bundle at bundle_dir the graphs of export.onnx_graphs.graph_defs that its
    manifest lacks, in its precision; returns their names (empty where none was missing)."""
    import onnx
    import torch

    from inpaint.export.bundle import graph_entry
    from inpaint.export.onnx_graphs import example_inputs, export_graph, graph_defs, n_saved
    from inpaint.export.precision import fp16_errors
    from inpaint.export.weights_file import WeightsNotStored, reuse_weights
    from inpaint.train.checkpoint import load_encoder, load_models

    bundle_dir = Path(bundle_dir)
    bundle = load_bundle(bundle_dir)
    if "model" not in bundle.manifest:
        raise InpaintError(f"bundle {bundle_dir} holds no torch weights (format {bundle.manifest['format']}) to "
                           "export graphs from; re-export it from its checkpoint with inpaint-export --out")
    spec, g, d = load_models(bundle_dir)
    e = load_encoder(bundle_dir)
    defs = graph_defs(spec, n_saved(g), encoder=e is not None)
    missing = {name: gdef for name, gdef in defs.items() if name not in bundle.manifest["graphs"]}
    if not missing:
        log(f"bundle {bundle_dir} has every graph already")
        return []
    fp16 = bundle.manifest.get("precision", "fp32") == "fp16"
    paths = {name: bundle_dir / f".tmp-{name}.onnx" for name in missing}
    try:
        for name, gdef in missing.items():
            t0 = time.perf_counter()
            export_graph(name, gdef, spec, g, d, paths[name], fp16=fp16, e=e)
            log(f"exported {name:26s} {time.perf_counter() - t0:5.1f} s")
        try:
            external = reuse_weights(paths, WEIGHTS_FILE, bundle.weights(), stored_tensors(bundle.manifest))
        except WeightsNotStored as err:
            raise InpaintError(f"cannot add graphs to {bundle_dir} without changing its weights file ({err}); "
                               "re-export the bundle with inpaint-export --out") from None
        errors = {name: fp16_errors(missing[name].build(g, d, e).eval(), example_inputs(name, spec, g, d),
                                    paths[name], missing[name].inputs, missing[name].outputs)
                  for name in missing if fp16}
        entries = {}
        for name, tmp in paths.items():
            tmp.replace(bundle_dir / f"{name}.onnx")
            entries[name] = graph_entry(bundle_dir / f"{name}.onnx", external[name])
    finally:
        for tmp in paths.values():
            tmp.unlink(missing_ok=True)
    manifest = dict(bundle.manifest)
    manifest["graphs"] = {**manifest["graphs"], **entries}
    if errors:
        manifest["fp16_error"] = {**manifest.get("fp16_error", {}), **errors}
    manifest["updates"] = [*manifest.get("updates", []), {
        "added": list(entries), "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "tools": {"inpaint": __version__, "torch": torch.__version__, "onnx": onnx.__version__}}]
    write_atomic(bundle_dir / MANIFEST, lambda t: t.write_text(json.dumps(manifest, indent=2)))
    log(f"added {', '.join(entries)} to {bundle_dir}; its weights file and other graphs are unchanged")
    return list(entries)
