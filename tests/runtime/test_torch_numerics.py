"""TorchDeviceEngine's numerics switch, on the CPU build of torch (the flags exist without a GPU)."""
import warnings

import pytest

from inpaint.torch_engines.device import numerics

torch = pytest.importorskip("torch")


def _flags():
    cudnn, matmul = torch.backends.cudnn, torch.backends.cuda.matmul
    return (cudnn.conv.fp32_precision, cudnn.rnn.fp32_precision, matmul.fp32_precision,
            cudnn.deterministic, cudnn.benchmark)


@pytest.fixture
def flags():
    """The process-wide flags, put back after the test whatever it did."""
    saved = _flags()
    yield
    cudnn, matmul = torch.backends.cudnn, torch.backends.cuda.matmul
    (cudnn.conv.fp32_precision, cudnn.rnn.fp32_precision, matmul.fp32_precision,
     cudnn.deterministic, cudnn.benchmark) = saved


@pytest.mark.parametrize("tf32", [False, True])
def test_numerics_use_the_fp32_precision_api_and_put_every_flag_back(flags, tf32):
    """With cuDNN's conv and RNN precisions set apart through the new API, torch raises where the
    legacy cudnn.allow_tf32 is read; the switch must neither read it nor warn."""
    if not hasattr(torch.backends.cuda.matmul, "fp32_precision"):
        pytest.skip(f"torch {torch.__version__} has no fp32_precision API")
    torch.backends.cudnn.conv.fp32_precision, torch.backends.cudnn.rnn.fp32_precision = "tf32", "ieee"
    torch.backends.cuda.matmul.fp32_precision = "tf32"
    torch.backends.cudnn.benchmark = True
    before = _flags()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with numerics(torch, tf32):
            expected = "tf32" if tf32 else "ieee"
            assert _flags() == (expected, "ieee", expected, True, False)
    assert _flags() == before


def test_numerics_put_the_flags_back_after_an_error(flags):
    before = _flags()
    with pytest.raises(ZeroDivisionError):
        with numerics(torch, False):
            1 / 0
    assert _flags() == before
