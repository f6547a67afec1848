"""torch -> ONNX: hand-written adjoint modules, the bundle writer, the TensorRT builder (needs torch)."""
