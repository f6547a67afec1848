"""FLOP counts read from the exported graphs against torch's own count of the same modules."""
import pytest

from inpaint.export.flops import graph_flops
from inpaint.runtime.bundle import load_bundle


def test_every_graph_counts_what_torch_counts_for_one_sample(tiny_bundle, tiny_weights):
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from inpaint.export.onnx_graphs import example_inputs, graph_defs, n_saved
    from inpaint.train.checkpoint import load_models

    spec, g, d = load_models(tiny_weights)
    bundle = load_bundle(tiny_bundle)
    for name, gdef in graph_defs(spec, n_saved(g)).items():
        module, inputs = gdef.build(g, d).eval(), example_inputs(name, spec, g, d, batch=1)
        with FlopCounterMode(display=False) as counter, torch.no_grad():
            module(*inputs)
        counted = graph_flops(bundle.graph_path(name))
        assert sum(counted.values()) == counter.get_total_flops() > 0, name
        assert bundle.manifest["graphs"][name]["flops_per_sample"] == counted
    assert bundle.flops("generator", "generator_vjp") == 2 * sum(graph_flops(bundle.graph_path("generator")).values())


def test_a_graph_with_unknown_shapes_is_refused(tmp_path):
    import onnx
    from onnx import TensorProto, helper
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 3])
    w = helper.make_tensor_value_info("w", TensorProto.FLOAT, [3, 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    path = tmp_path / "m.onnx"
    onnx.save(helper.make_model(helper.make_graph([helper.make_node("MatMul", ["x", "w"], ["y"], name="mm")],
                                                  "g", [x, w], [y])), path)
    with pytest.raises(ValueError, match="MatMul node mm"):
        graph_flops(path)
