"""The critic's strided convolutions and their adjoints on ONNX Runtime's CPU provider, each written
three ways with the same result, to see whether another form runs faster at batch 1.

    OMP_NUM_THREADS=2 python benchmarks/strided_conv_forms.py [--threads 2] [--batch 2] [--runs 300]

The discriminator trunks are 4x4 convolutions of stride 2 and padding 1; the critic graph runs
them forward and, for its gradient, their adjoints (transposed convolutions), on a batch of two
(x and known * x). ONNX Runtime runs the forward ones in its blocked NCHWc layout and the
transposed ones in plain NCHW. Forms measured, per layer shape of the shipped discriminator:
- adjoint: ConvTranspose; four 2x2 convolutions, one per output phase, then DepthToSpace (the
  same multiply-adds, every one an NCHWc convolution); one 2x2 convolution holding all four
  phases, then slices and DepthToSpace (more multiply-adds at the border, one operator);
- forward: the strided Conv; Pad, SpaceToDepth and a 2x2 convolution of stride 1.
Each form is checked against torch's result. Median microseconds of --runs runs after 30 warm-up
runs; writes benchmarks/results/strided_conv_forms_cpu.json and prints a markdown table.
"""
from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import numpy as np

from inpaint.bench.timing import median_seconds

OUT = Path(__file__).resolve().parent / "results" / "strided_conv_forms_cpu.json"
WARMUP = 30         # untimed runs before each form's timed ones
# (input channels, output channels, input side) of the shipped discriminator's strided layers
LAYERS = ((3, 64, 64), (64, 128, 32), (128, 256, 16), (256, 512, 8))
# output phase r of a stride-2, padding-1, 4-tap transposed convolution reads the input at
# offsets (-1, 0) with taps (3, 1) when r = 0, and at (0, +1) with taps (2, 0) when r = 1
PHASE_TAPS = {0: [3, 1], 1: [2, 0]}


def session(nodes, inputs, initializers, threads):
    import onnxruntime as ort
    from onnx import TensorProto, helper, numpy_helper
    graph = helper.make_graph(nodes, "form", [helper.make_tensor_value_info(n, TensorProto.FLOAT, s)
                                              for n, s in inputs],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
                              [numpy_helper.from_array(v, k) for k, v in initializers.items()])
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.add_session_config_entry("session.force_spinning_stop", "1")
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    return ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])


def adjoint_forms(w: np.ndarray, shape, threads: int) -> dict:
    """ConvTranspose(stride 2, pad 1) of g (B, cout, h, h) with w (cout, cin, 4, 4), three ways."""
    from onnx import helper
    cout, cin = w.shape[:2]
    h = shape[-1]
    forms = {"ConvTranspose": session([helper.make_node("ConvTranspose", ["g", "w"], ["y"], strides=[2, 2],
                                                       pads=[1, 1, 1, 1], kernel_shape=[4, 4])],
                                      [("g", shape)], {"w": w}, threads)}
    phases = [(ry, rx) for ry in (0, 1) for rx in (0, 1)]
    phase_w = {p: w[:, :, PHASE_TAPS[p[0]]][:, :, :, PHASE_TAPS[p[1]]].transpose(1, 0, 2, 3).copy() for p in phases}
    nodes = [helper.make_node("Conv", ["g", f"w{ry}{rx}"], [f"p{ry}{rx}"], kernel_shape=[2, 2],
                              pads=[1 - ry, 1 - rx, ry, rx]) for ry, rx in phases]
    nodes += [helper.make_node("Concat", [f"p{ry}{rx}" for ry, rx in phases], ["c"], axis=1),
              helper.make_node("DepthToSpace", ["c"], ["y"], blocksize=2, mode="DCR")]
    forms["four 2x2 Conv + DepthToSpace"] = session(nodes, [("g", shape)],
                                                    {f"w{ry}{rx}": phase_w[(ry, rx)] for ry, rx in phases}, threads)
    inits = {"w": np.concatenate([phase_w[p] for p in phases]), "axes": np.array([1, 2, 3], np.int64)}
    nodes = [helper.make_node("Conv", ["g", "w"], ["all"], kernel_shape=[2, 2], pads=[1, 1, 1, 1])]
    for k, (ry, rx) in enumerate(phases):
        inits[f"s{k}"] = np.array([k * cin, ry, rx], np.int64)
        inits[f"e{k}"] = np.array([(k + 1) * cin, ry + h, rx + h], np.int64)
        nodes.append(helper.make_node("Slice", ["all", f"s{k}", f"e{k}", "axes"], [f"q{k}"]))
    nodes += [helper.make_node("Concat", [f"q{k}" for k in range(4)], ["c"], axis=1),
              helper.make_node("DepthToSpace", ["c"], ["y"], blocksize=2, mode="DCR")]
    forms["one 2x2 Conv + slices + DepthToSpace"] = session(nodes, [("g", shape)], inits, threads)
    return forms


def forward_forms(w: np.ndarray, shape, threads: int) -> dict:
    """Conv(stride 2, pad 1) of x (B, cin, h, h) with w (cout, cin, 4, 4), two ways."""
    from onnx import helper
    cout, cin = w.shape[:2]
    # SpaceToDepth puts input channel c of block offset (by, bx) at (by * 2 + bx) * cin + c
    w2 = w.reshape(cout, cin, 2, 2, 2, 2).transpose(0, 3, 5, 1, 2, 4).reshape(cout, 4 * cin, 2, 2).copy()
    return {"Conv": session([helper.make_node("Conv", ["x", "w"], ["y"], strides=[2, 2], pads=[1, 1, 1, 1],
                                              kernel_shape=[4, 4])], [("x", shape)], {"w": w}, threads),
            "Pad + SpaceToDepth + 2x2 Conv": session(
                [helper.make_node("Pad", ["x", "pads"], ["xp"]),
                 helper.make_node("SpaceToDepth", ["xp"], ["s"], blocksize=2),
                 helper.make_node("Conv", ["s", "w2"], ["y"], kernel_shape=[2, 2])],
                [("x", shape)], {"w2": w2, "pads": np.array([0, 0, 1, 1, 0, 0, 1, 1], np.int64)}, threads)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=2, help="the critic's stacked batch at one image")
    ap.add_argument("--runs", type=int, default=300)
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args()
    import onnxruntime
    import torch
    import torch.nn.functional as F
    rng = np.random.default_rng(0)
    rows = []
    for cin, cout, h in LAYERS:
        w = (rng.standard_normal((cout, cin, 4, 4)) * 0.05).astype(np.float32)
        x = rng.standard_normal((args.batch, cin, h, h)).astype(np.float32)
        g = rng.standard_normal((args.batch, cout, h // 2, h // 2)).astype(np.float32)
        cases = (("adjoint", adjoint_forms(w, list(g.shape), args.threads), {"g": g},
                  F.conv_transpose2d(torch.from_numpy(g), torch.from_numpy(w), stride=2, padding=1)),
                 ("forward", forward_forms(w, list(x.shape), args.threads), {"x": x},
                  F.conv2d(torch.from_numpy(x), torch.from_numpy(w), stride=2, padding=1)))
        for kind, forms, feeds, reference in cases:
            for form, s in forms.items():
                error = float(np.abs(s.run(None, feeds)[0] - reference.numpy()).max())
                if error > 1e-4:
                    raise AssertionError(f"{kind} {form} at {cin}x{cout}x{h}: max error {error:.1e}")
                us = 1e6 * median_seconds(lambda: s.run(None, feeds), args.runs, WARMUP)
                rows.append({"layer": f"{cin}->{cout} at {h}x{h}", "kind": kind, "form": form,
                             "median_us": us, "max_abs_error": error,
                             "gflop": 2 * cin * cout * 16 * (h // 2) ** 2 * args.batch / 1e9})
    result = {"benchmark": "strided_conv_forms_cpu", "date": time.strftime("%Y-%m-%d"),
              "machine": {"cpu": platform.processor() or platform.machine(), "platform": platform.platform()},
              "threads": args.threads, "batch": args.batch, "onnxruntime": onnxruntime.__version__, "rows": rows}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))
    print("| layer | kind | form | us, median | GFLOP/s |\n|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['layer']} | {r['kind']} | {r['form']} | {r['median_us']:.0f} | "
              f"{r['gflop'] / r['median_us'] * 1e6:.0f} |")


if __name__ == "__main__":
    main()
