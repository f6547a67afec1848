"""CUDA paths of the torch code, checked against the CPU (run by scripts/gpu_check.sh)."""
import numpy as np
import pytest
import torch

from inpaint.masks import make_mask
from inpaint.runtime.optimise import initial_z
from inpaint.runtime.problem import make_problem
from inpaint.torch_engines.eager import TorchEngine
from inpaint.train.checkpoint import load_models

pytestmark = [pytest.mark.gpu, pytest.mark.torch_cuda]


def test_torch_engine_on_cuda_matches_cpu(tiny_weights):
    cpu = TorchEngine.from_weights(tiny_weights, "cpu")
    gpu = TorchEngine.from_weights(tiny_weights, "cuda")
    z = initial_z(8, cpu.spec.z_dim, 0)
    y = cpu.generator(initial_z(8, cpu.spec.z_dim, 1))
    p = make_problem(y, np.stack([make_mask("pattern", 64, i) for i in range(8)]), cpu.spec.patch)
    for e in (cpu, gpu):
        e.out = (e.generator(z), *e.critic(e.generator(z), p.known, p.box,
                                           e.target_features(p.y * p.known, p.box), "joint", 0.003, 0.1))
        e.gz = e.generator_vjp(e.out[3])
    for a, b in zip(cpu.out, gpu.out):
        np.testing.assert_allclose(b, a, rtol=1e-3, atol=1e-4 * np.abs(a).max())
    np.testing.assert_allclose(gpu.gz, cpu.gz, rtol=1e-3, atol=1e-3 * np.abs(cpu.gz).max())


def test_training_runs_on_cuda(tmp_path):
    from inpaint.spec import ModelSpec
    from inpaint.train.loop import TrainSettings, train
    settings = TrainSettings(dataset="celeba", data=None, out=str(tmp_path / "run"), epochs=1,
                             batch_size=16, device="cuda", dry_run=True)
    summary = train(settings, ModelSpec(ngf=8, ndf=8), progress=False, log=lambda m: None)
    assert summary["step"] == 4
    spec, g, _ = load_models(tmp_path / "run" / "last.pt")
    assert torch.isfinite(g(torch.zeros(1, 100))).all()
