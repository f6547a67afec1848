"""Floating-point operations of an exported graph, per sample, read from its ONNX shapes.

Counts the multiply-adds of Conv, ConvTranspose, MatMul and Gemm (two operations each); the
elementwise operators are left out, as they are a rounding error next to these and run at
memory speed anyway. The batch axis ("batch" in the exported graphs) counts as 1, and an axis the
exporter names as a multiple of it ("2*batch", where a graph stacks two batches) as that multiple.
"""
from __future__ import annotations

import math
import re
from collections import Counter
from pathlib import Path

COUNTED = ("Conv", "ConvTranspose", "MatMul", "Gemm")


def _dims(value) -> list[int] | None:
    """The shape with the batch axis as 1, or None where another dimension is unknown."""
    dims = []
    for d in value.type.tensor_type.shape.dim:
        if not d.dim_param:
            dims.append(d.dim_value)
            continue
        multiple = re.fullmatch(r"(?:(\d+)\s*\*\s*)?batch", d.dim_param)
        if multiple is None:
            return None
        dims.append(int(multiple.group(1) or 1))
    return dims


def graph_flops(path: str | Path) -> dict[str, int]:
    """Operations per sample of one ONNX graph, by operator type (only those in COUNTED)."""
    import onnx

    model = onnx.shape_inference.infer_shapes(onnx.load(str(path), load_external_data=False))
    graph = model.graph
    shapes = {v.name: _dims(v) for v in (*graph.input, *graph.value_info, *graph.output)}
    shapes.update({t.name: list(t.dims) for t in graph.initializer})
    flops: Counter = Counter()
    for node in graph.node:
        if node.op_type not in COUNTED:
            continue
        a, b, out = (shapes.get(name) for name in (node.input[0], node.input[1], node.output[0]))
        if a is None or b is None or out is None:
            raise ValueError(f"{path}: the shapes around {node.op_type} node {node.name} are not known")
        if node.op_type == "Conv":
            macs = math.prod(out) * math.prod(b[1:])          # weight (Cout, Cin/groups, kh, kw)
        elif node.op_type == "ConvTranspose":
            macs = math.prod(a) * math.prod(b[1:])            # weight (Cin, Cout/groups, kh, kw)
        elif node.op_type == "MatMul":
            macs = math.prod(out) * a[-1]
        else:                                                  # Gemm
            trans_a = any(att.name == "transA" and att.i for att in node.attribute)
            macs = math.prod(out) * (a[0] if trans_a else a[-1])
        flops[node.op_type] += 2 * macs
    return dict(flops)
