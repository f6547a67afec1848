"""cuda-python helpers the GPU engines rely on: buffers, device arrays, graph capture and replay."""
import numpy as np
import pytest

pytest.importorskip("cuda", reason="cuda-python is not installed (pip install 'inpaint[gpu]')")
pytestmark = pytest.mark.gpu


def test_round_trip_and_device_array():
    from inpaint.runtime import cuda
    stream = cuda.Stream()
    a = np.arange(12, dtype=np.float32).reshape(3, 4)
    buf = cuda.DeviceBuffer(a.nbytes)
    buf.upload(a, stream)
    np.testing.assert_array_equal(cuda.DeviceArray(buf, a.shape, a.dtype).to_host(stream), a)
    with pytest.raises(ValueError, match="do not fit"):
        buf.upload(np.zeros(13, np.float32), stream)
    buf.free()


def test_a_captured_graph_replays_on_the_buffers_current_contents():
    from inpaint.runtime import cuda
    stream = cuda.Stream()
    src, dst = cuda.DeviceBuffer(64), cuda.DeviceBuffer(64)
    graph = cuda.CudaGraph(stream, lambda: dst.copy_from(src, 64, stream))
    for value in (1.0, 7.0):          # capture only recorded the copy; each launch runs it
        src.upload(np.full(16, value, np.float32), stream)
        graph.launch(stream)
        np.testing.assert_array_equal(cuda.DeviceArray(dst, (16,), np.dtype(np.float32)).to_host(stream), value)
    graph.destroy()
    src.free()
    dst.free()
