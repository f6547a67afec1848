"""Export the graph modules to ONNX with a dynamic batch axis."""
from __future__ import annotations

import copy
import inspect
import logging
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import onnx
import torch

from inpaint.export.fold import fold_graph
from inpaint.export.graphs import (CriticGraph, FeaturesGraph, GeneratorBNGraph, GeneratorBNVJPGraph, GeneratorGraph,
                                   GeneratorVJPGraph)
from inpaint.export.precision import HalfPrecision
from inpaint.spec import ModelSpec, generator_norms, modulation_size


@dataclass(frozen=True)
class GraphDef:
    build: Callable                 # (G, D, E=None) -> nn.Module
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    batch_inputs: tuple[str, ...]   # inputs whose axis 0 is the batch


def graph_defs(spec: ModelSpec, n_saved: int, encoder: bool = False) -> dict[str, GraphDef]:
    """The graphs of a bundle; "encoder" (masked image and mask -> starting z) only with encoder.
    generator_bn and generator_bn_vjp are search z+bn's: v = [z, u] in, the batch norms' outputs
    (norm0...) kept for the VJP, g_v out."""
    saved = tuple(f"saved{i}" for i in range(n_saved))
    norms = tuple(f"norm{k}" for k in range(len(generator_norms(spec))))
    critic_in = ("x", "known", "box", "target_global", "target_patch", "weights")
    critic_out = ("prior", "consistency", "g_x")
    batch = critic_in[:-1]
    defs = {
        "generator": GraphDef(lambda g, d, e=None: GeneratorGraph(g), ("z",), ("x", *saved), ("z",)),
        "generator_vjp": GraphDef(lambda g, d, e=None: GeneratorVJPGraph(g), (*saved, "x", "g_x"), ("g_z",),
                                  (*saved, "x", "g_x")),
        "generator_bn": GraphDef(lambda g, d, e=None: GeneratorBNGraph(g), ("v",), ("x", *saved, *norms), ("v",)),
        "generator_bn_vjp": GraphDef(lambda g, d, e=None: GeneratorBNVJPGraph(g), (*saved, *norms, "v", "x", "g_x"),
                                     ("g_v",), (*saved, *norms, "v", "x", "g_x")),
        "critic_joint": GraphDef(lambda g, d, e=None: CriticGraph(d, "joint", False), critic_in, critic_out, batch),
        "critic_joint_consistency": GraphDef(lambda g, d, e=None: CriticGraph(d, "joint", True), critic_in,
                                             critic_out, batch),
        "critic_global": GraphDef(lambda g, d, e=None: CriticGraph(d, "global", False), critic_in, critic_out, batch),
        "features": GraphDef(lambda g, d, e=None: FeaturesGraph(d), ("masked_y", "box"),
                             ("target_global", "target_patch"), ("masked_y", "box")),
    }
    if encoder:
        defs["encoder"] = GraphDef(lambda g, d, e=None: e, ("masked_y", "known"), ("z",), ("masked_y", "known"))
    return defs


def example_inputs(name: str, spec: ModelSpec, g, d, batch: int = 2, e=None) -> tuple[torch.Tensor, ...]:
    """Valid inputs of each graph, made by running the earlier graphs."""
    torch.manual_seed(0)
    z = torch.rand(batch, spec.z_dim) * 2 - 1
    x, *saved = GeneratorGraph(g)(z)
    known = (torch.rand(batch, 1, spec.resolution, spec.resolution) > 0.3).float()
    box = torch.zeros(batch, 2, dtype=torch.int64)
    targets = FeaturesGraph(d)(x.roll(1, 0) * known, box)   # another image's: a non-zero consistency
    if name == "generator":
        return (z,)
    if name == "generator_vjp":
        return (*saved, x, torch.randn_like(x))
    if name.startswith("generator_bn"):   # a modulation of every channel, not the zero it starts at
        v = torch.cat([z, torch.rand(batch, modulation_size(spec)) * 2 - 1], 1)
        if name == "generator_bn":
            return (v,)
        x, *kept = GeneratorBNGraph(g)(v)
        return (*kept, v, x, torch.randn_like(x))
    if name == "features":
        return (x * known, box)
    if name == "encoder":
        return (x * known, known)
    return (x, known, box, *targets, torch.tensor([0.003, 0.1]))


def n_saved(g) -> int:
    return len(GeneratorGraph(g)(torch.zeros(1, g.spec.z_dim))) - 1


@torch.no_grad()
def export_graph(name: str, gdef: GraphDef, spec: ModelSpec, g, d, path: Path, fp16: bool = False,
                 e=None) -> None:
    """Export one graph; with fp16 its weights and activations are half precision (fp32 I/O)."""
    module = gdef.build(g, d, e).eval()
    if fp16:   # on a copy: the graph modules share their layers with g and d
        if isinstance(module, CriticGraph):
            module.stacked = False     # see CriticGraph
        module = HalfPrecision(copy.deepcopy(module))
    args = example_inputs(name, spec, g, d)
    batch = torch.export.Dim("batch", min=1, max=65536)
    dynamic = tuple({0: batch} if n in gdef.batch_inputs else None for n in gdef.inputs)
    params = inspect.signature(module.forward).parameters.values()
    if any(p.kind is inspect.Parameter.VAR_POSITIONAL for p in params):
        dynamic = (dynamic,)      # forward(*args): one entry holding the specs of all of them
    # the exporter logs a warning per torchvision operator it cannot register: none are used here
    logging.getLogger("torch.onnx._internal.exporter._registration").setLevel(logging.ERROR)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(module, args, str(path), dynamo=True, dynamic_shapes=dynamic,
                          external_data=False, input_names=list(gdef.inputs),
                          output_names=list(gdef.outputs), verbose=False,
                          # no optimisation at export: folded copies (conv + batch norm) would
                          # defeat storing each weight once; the runtimes fold at load time instead
                          optimize=False)
    # the constants that involve no weight are folded, though: TensorRT needs some as initializers
    onnx.save(fold_graph(onnx.load(path)), path)
