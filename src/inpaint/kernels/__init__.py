"""CUDA kernels of the GPU ops, one concern per .cu file, built at run time with NVRTC (see build.py).

Each kernel mirrors a numpy reference: importance_weights.cu -> inpaint.masks.importance_weights,
contextual.cu and adam.cu -> inpaint.runtime.ops.cpu.CpuOps, poisson.cu ->
inpaint.runtime.blend.poisson_blend, track.cu -> the bookkeeping of inpaint.runtime.optimise
(best iterate, history, early stop). inpaint.runtime.ops.cuda_ops.CudaOps launches them.
"""
