import pytest


@pytest.fixture
def host_cuda(monkeypatch):
    """inpaint.runtime.cuda on host memory (host_cuda.HostRuntime): the runtime, for inspection."""
    import inpaint.runtime.cuda as cuda
    from host_cuda import HostRuntime
    runtime = HostRuntime()
    monkeypatch.setattr(cuda, "_cudart", lambda: runtime)
    return runtime
