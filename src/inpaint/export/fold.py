"""Fold the constant subgraphs of an exported graph, leaving the weights as they are.

torch.onnx.export (dynamo) computes some operands at run time from Constant nodes: the axes of
ReduceMean (a Reshape of constants), the zero bias of every bias-free convolution (an Expand),
the index grids of the patch crop. TensorRT's ONNX parser wants some of them as initializers
(a Reduce's axes, a convolution's bias), so every exported graph goes through `fold_graph`
before its weights are shared: onnxscript's constant folder evaluates every node whose inputs
are all constants, except the nodes that read a weight (an initializer of the export), so that
no folded copy of a weight (a batch norm's scale, a transposed matrix) is stored beside it, and
the weights file keeps exactly the tensors of the modules. What folds becomes an initializer;
convolutions whose bias folded to zeros lose it (the bias is optional, and the weights file then
gains nothing).
"""
from __future__ import annotations

import numpy as np

CONV_OPS = ("Conv", "ConvTranspose")


def fold_graph(model):
    """The onnx.ModelProto `model` with its constant subgraphs folded (a new ModelProto)."""
    import onnx_ir as ir
    import onnx_ir.passes.common as passes
    from onnxscript.optimizer import fold_constants

    graph = ir.serde.deserialize_model(model)
    weights = set(graph.graph.initializers.values())
    fold_constants(graph, should_fold=lambda node: False if weights.intersection(node.inputs) else None)
    _drop_zero_biases(graph.graph)
    _axes_as_initializers(graph.graph)
    passes.RemoveUnusedNodesPass()(graph)
    return ir.serde.serialize_model(graph)


def _axes_as_initializers(graph) -> None:
    """A Reduce whose axes a Constant node gives (tensor.sum((2, 3)) exports so: nothing to fold)
    reads them from an initializer of the same value instead."""
    import onnx_ir as ir
    lifted = {}          # a Constant's output -> its initializer
    for node in graph:
        axes = node.inputs[1] if node.op_type.startswith("Reduce") and len(node.inputs) > 1 else None
        producer = axes.producer() if axes is not None else None
        if producer is None or producer.op_type != "Constant" or "value" not in producer.attributes:
            continue
        if axes not in lifted:
            tensor = producer.attributes["value"].as_tensor()
            lifted[axes] = ir.Value(name=f"{axes.name}_axes", shape=tensor.shape, type=ir.TensorType(tensor.dtype),
                                    const_value=tensor)
            graph.register_initializer(lifted[axes])
        node.replace_input_with(1, lifted[axes])


def _drop_zero_biases(graph) -> None:
    for node in graph:
        if node.op_type in CONV_OPS and len(node.inputs) == 3 and node.inputs[2] is not None:
            bias = node.inputs[2].const_value
            if bias is not None and not np.any(bias.numpy()):
                node.resize_inputs(2)


def unfolded_operands(model) -> list[str]:
    """The operands TensorRT needs as initializers that are not: each Reduce node's axes and
    each convolution's bias, as 'node op input'; empty for a graph TensorRT can parse."""
    initializers = {i.name for i in model.graph.initializer}
    wanted = []
    for node in model.graph.node:
        if node.op_type.startswith("Reduce") and len(node.input) > 1 and node.input[1]:
            wanted.append((node, "axes", node.input[1]))
        if node.op_type in CONV_OPS and len(node.input) > 2 and node.input[2]:
            wanted.append((node, "bias", node.input[2]))
    return [f"{node.name or '?'} {node.op_type} {what} {name}"
            for node, what, name in wanted if name not in initializers]
