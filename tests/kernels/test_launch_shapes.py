"""CudaOps' launch shapes within CUDA's limits, on any machine (the kernels: test_cuda_ops.py)."""
from inpaint.runtime.ops.cuda_ops import MAX_GRID_Y, POISSON_BLOCKS_PER_IMAGE, poisson_grid


def test_the_poisson_grid_folds_batches_past_the_grid_limit():
    assert poisson_grid(3, 3, 64, 64) == (48, 3)
    assert poisson_grid(MAX_GRID_Y, 1, 4, 4) == (1, MAX_GRID_Y)
    assert poisson_grid(MAX_GRID_Y + 1, 1, 4, 4) == (1, MAX_GRID_Y) == poisson_grid(10 ** 6, 1, 4, 4)
    assert poisson_grid(1, 3, 1024, 1024) == (POISSON_BLOCKS_PER_IMAGE, 1)
