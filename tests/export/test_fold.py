"""Constant folding of the exported graphs: what TensorRT's parser needs as initializers is one."""
import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from inpaint.export.fold import fold_graph, unfolded_operands
from inpaint.weights import shipped_bundle


def _graphs(root):
    paths = sorted(root.glob("*.onnx"))
    assert paths
    return [(p.name, onnx.load(p, load_external_data=False)) for p in paths]


@pytest.mark.parametrize("which", ["shipped", "fresh", "fresh_fp16"])
def test_every_reduce_axes_and_conv_bias_is_an_initializer(which, tiny_bundle, fp16_tiny_bundle):
    """onnx-tensorrt imports a Reduce's axes and a convolution's bias only from initializers."""
    root = {"shipped": shipped_bundle(), "fresh": tiny_bundle, "fresh_fp16": fp16_tiny_bundle}[which]
    graphs = _graphs(root)
    assert {"critic_joint_consistency.onnx", "generator_vjp.onnx"} <= {name for name, _ in graphs}
    reduces = [n for _, m in graphs for n in m.graph.node if n.op_type == "ReduceMean"]
    assert len(reduces) == 2          # the consistency loss's two means: the case that failed
    for name, model in graphs:
        assert unfolded_operands(model) == [], name


@pytest.fixture(scope="module")
def fp16_tiny_bundle(tiny_weights, tmp_path_factory):
    from inpaint.export.bundle import write_bundle
    out = tmp_path_factory.mktemp("bundle") / "tiny_fp16"
    write_bundle(tiny_weights, out, fp16=True, log=lambda m: None)
    return out


def _toy(bias_values):
    """x -> Conv(x, W, Expand(bias)) -> ReduceMean(axes = Reshape(constant)) (W an initializer)."""
    weight = helper.make_tensor("W", TensorProto.FLOAT, [2, 1, 1, 1], [1.0, 2.0])
    nodes = [
        helper.make_node("Constant", [], ["b0"], value=helper.make_tensor("b0v", TensorProto.FLOAT, [1], [bias_values])),
        helper.make_node("Constant", [], ["shape"], value=helper.make_tensor("s", TensorProto.INT64, [1], [2])),
        helper.make_node("Expand", ["b0", "shape"], ["bias"]),
        helper.make_node("Conv", ["x", "W", "bias"], ["y"], name="conv"),
        helper.make_node("Constant", [], ["a0"], value=helper.make_tensor("a", TensorProto.INT64, [2], [2, 3])),
        helper.make_node("Constant", [], ["a_shape"], value=helper.make_tensor("as", TensorProto.INT64, [1], [2])),
        helper.make_node("Reshape", ["a0", "a_shape"], ["axes"]),
        helper.make_node("ReduceMean", ["y", "axes"], ["out"], name="mean"),
        helper.make_node("Mul", ["W", "W"], ["w2"]),           # reads a weight: must stay a node
        helper.make_node("Add", ["out", "one"], ["out2"]),
    ]
    one = helper.make_tensor("one", TensorProto.FLOAT, [1], [1.0])
    graph = helper.make_graph(
        nodes, "toy", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 1, 3, 3])],
        [helper.make_tensor_value_info("out2", TensorProto.FLOAT, None),
         helper.make_tensor_value_info("w2", TensorProto.FLOAT, None)], [weight, one])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 20)])


@pytest.mark.parametrize("bias", [0.0, 0.5])
def test_folding_keeps_the_results_and_the_weights(bias):
    import onnxruntime as ort
    model = _toy(bias)
    assert unfolded_operands(model) == ["conv Conv bias bias", "mean ReduceMean axes axes"]
    folded = fold_graph(model)
    assert unfolded_operands(folded) == []
    conv = next(n for n in folded.graph.node if n.op_type == "Conv")
    assert len(conv.input) == (2 if bias == 0 else 3)          # a zero bias is dropped, not stored
    assert [n.op_type for n in folded.graph.node if n.op_type == "Mul"] == ["Mul"]   # no folded weight
    assert sorted(i.name for i in folded.graph.initializer if i.name in ("W", "one")) == ["W", "one"]
    x = np.random.default_rng(0).normal(size=(2, 1, 3, 3)).astype(np.float32)
    runs = [ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, {"x": x})
            for m in (model, folded)]
    for a, b in zip(*runs):
        np.testing.assert_array_equal(a, b)
