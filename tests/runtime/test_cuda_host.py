"""inpaint.runtime.cuda's handles and captures against a host stand-in of the CUDA runtime: what is
made, what is released, and what a failed capture reports (the GPU side: test_cuda_helpers.py)."""
import gc

import numpy as np
import pytest

from inpaint.errors import InpaintError
from inpaint.runtime import cuda


def test_streams_are_non_blocking_and_released(host_cuda):
    """A blocking stream orders itself after the legacy default stream: any library's work there
    would invalidate a capture on ours."""
    stream = cuda.Stream()
    assert host_cuda.streams == {stream.handle: host_cuda.cudaStreamNonBlocking}
    assert "cudaStreamCreate" not in host_cuda.calls
    stream.destroy()
    stream.destroy()                                  # once only
    assert host_cuda.streams == {} and host_cuda.calls.count("cudaStreamDestroy") == 1
    cuda.Stream()                                     # dropped: the finalizer releases it
    gc.collect()
    assert host_cuda.streams == {}


def test_buffers_events_and_graphs_are_released_when_dropped(host_cuda):
    stream = cuda.Stream()
    kept = cuda.DeviceBuffer(16)
    dropped = cuda.DeviceBuffer(32)
    event = cuda.Event()
    graph = cuda.CudaGraph(stream, lambda: kept.copy_from(dropped, 16, stream))
    assert len(host_cuda.live) == 2 and len(host_cuda.execs) == 1 and host_cuda.events
    del dropped, event, graph
    gc.collect()
    assert list(host_cuda.live) == [kept.ptr] and not host_cuda.execs and not host_cuda.events
    kept.free()
    kept.free()
    assert not host_cuda.live and host_cuda.calls.count("cudaFree") == 2     # the dropped one, then kept


def test_a_capture_replays_what_it_recorded(host_cuda):
    stream = cuda.Stream()
    src, dst = cuda.DeviceBuffer(16), cuda.DeviceBuffer(16)
    graph = cuda.CudaGraph(stream, lambda: dst.copy_from(src, 16, stream))
    src.upload(np.arange(4, dtype=np.float32), stream)
    graph.launch(stream)
    np.testing.assert_array_equal(cuda.DeviceArray(dst, (4,), np.dtype(np.float32)).to_host(stream), np.arange(4))
    assert not host_cuda.graphs            # the graph itself is released once instantiated
    graph.destroy()
    assert not host_cuda.execs


@pytest.mark.parametrize("invalidated", [False, True])
def test_an_error_inside_a_capture_is_the_one_raised_and_nothing_leaks(host_cuda, invalidated):
    """Ending the capture is needed either way; where it fails too (the capture was invalidated
    by what went wrong), its error must not replace the one that explains it."""
    stream = cuda.Stream()

    def enqueue():
        host_cuda.invalidate_capture = invalidated
        raise ValueError("the enqueue failed")
    with pytest.raises(ValueError, match="the enqueue failed"):
        cuda.CudaGraph(stream, enqueue)
    assert host_cuda.capturing is None                        # the stream left capture mode
    assert "cudaStreamEndCapture" in host_cuda.calls
    assert not host_cuda.graphs and not host_cuda.execs       # what was recorded is destroyed


def test_an_invalidated_capture_is_an_inpaint_error(host_cuda):
    stream = cuda.Stream()
    host_cuda.invalidate_capture = True
    with pytest.raises(InpaintError, match="cudaStreamEndCapture failed: cudaErrorStreamCaptureInvalidated"):
        cuda.CudaGraph(stream, lambda: None)
    assert not host_cuda.graphs and not host_cuda.execs


def test_set_device_selects_the_device(host_cuda):
    cuda.set_device(1)
    assert host_cuda.device == 1 and host_cuda.calls == ["cudaSetDevice"]
