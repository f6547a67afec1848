"""Ops: the per-iteration work outside the networks (contextual loss, Adam on z, blending).

`cpu.CpuOps` (numpy) is both the CPU path and the reference every other implementation is
checked against.
"""
from inpaint.runtime.ops.cpu import AdamState, CpuOps

__all__ = ["AdamState", "CpuOps"]
