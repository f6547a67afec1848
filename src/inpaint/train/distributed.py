"""Training in several processes under torchrun: which rank this is, and what the ranks share.

`torchrun --nproc-per-node N -m inpaint.cli.train ...` starts N copies of the training command
with RANK, LOCAL_RANK and WORLD_SIZE set (and the rendezvous for several nodes); start() joins them
into one process group (NCCL on GPUs, each rank on the GPU of its LOCAL_RANK; gloo on CPUs). A
command started without torchrun is rank 0 of 1, and every helper here is then a no-op.
"""
from __future__ import annotations

import datetime
import gc
import hashlib
import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class Ranks:
    rank: int = 0
    world: int = 1
    local: int = 0

    @property
    def main(self) -> bool:
        """Rank 0: the one that writes checkpoints, samples and the log."""
        return self.rank == 0

    @property
    def active(self) -> bool:
        return self.world > 1

    def rows(self, batch: int) -> slice:
        """This rank's rows of a global batch of `batch` (a multiple of world)."""
        per = batch // self.world
        return slice(self.rank * per, (self.rank + 1) * per)


def start(device: str) -> tuple[Ranks, str]:
    """Join torchrun's process group where there is one (WORLD_SIZE > 1); returns the ranks and
    the device this rank trains on."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return Ranks(), device
    rank, local = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    if device.startswith("cuda"):
        torch.cuda.set_device(local)
        device, backend = f"cuda:{local}", "nccl"
    else:
        backend = "gloo"
    if not dist.is_initialized():
        dist.init_process_group(backend, timeout=datetime.timedelta(minutes=10))
    return Ranks(rank, world, local), device


def stop(ranks: Ranks) -> None:
    """Leave the process group once every rank is done, after the DDP wrappers are gone (one
    collected after the group is destroyed takes the process down with it at exit)."""
    if ranks.active and dist.is_initialized():
        gc.collect()
        dist.barrier()
        dist.destroy_process_group()


def on_ranks(device: str, body):
    """body(ranks, device) in torchrun's process group where there is one (joined before, left
    after, whatever happens), else as rank 0 of 1."""
    ranks, dev = start(device)
    try:
        return body(ranks, dev)
    finally:
        stop(ranks)


def barrier(ranks: Ranks) -> None:
    if ranks.active:
        dist.barrier()


def mean(ranks: Ranks, values: list[float]) -> list[float]:
    """The mean of each value over the ranks."""
    if not ranks.active:
        return values
    t = torch.tensor(values, dtype=torch.float64)
    if dist.get_backend() == "nccl":
        t = t.cuda()
    dist.all_reduce(t)
    return (t / ranks.world).tolist()


def average_buffers(ranks: Ranks, *modules: torch.nn.Module) -> None:
    """Make the floating-point buffers (batch norm's running statistics) the mean over the ranks.

    Each rank's batch norm keeps running statistics of its own rows (DDP does not sync buffers in
    the forward pass here, which would make them rank 0's alone). They only matter in eval mode,
    so they are averaged before each checkpoint and at the end, which also makes every rank's
    weights the same."""
    if not ranks.active:
        return
    for module in modules:
        for b in module.buffers():
            if b.is_floating_point():
                dist.all_reduce(b)
                b /= ranks.world


def gather(ranks: Ranks, value) -> list:
    """Every rank's `value` (a picklable object), in rank order."""
    if not ranks.active:
        return [value]
    out = [None] * ranks.world
    dist.all_gather_object(out, value)
    return out


def weights_digest(*modules: torch.nn.Module) -> str:
    """sha256 of the modules' parameters and buffers: equal on every rank when they agree."""
    h = hashlib.sha256()
    for module in modules:
        for name, t in module.state_dict().items():
            h.update(name.encode())
            h.update(t.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()
