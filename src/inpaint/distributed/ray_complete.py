"""Bulk completion on Ray Data: the images of a folder completed by a pool of actors, each holding
one Inpainter, on a local Ray or a cluster.

The jobs (image, mask, output) become a Ray Dataset; `map_batches` hands batches of them to
`Completer` actors (`concurrency` of them, each with `num_cpus` cores and `num_gpus` GPUs: with
GPUs each actor picks its backend as `inpaint-rt complete --backend auto` does, TensorRT or ONNX
Runtime on CUDA where they can run; without, ONNX Runtime on `num_cpus` CPU threads), which
complete each batch as `inpaint-rt complete --batch` does, with runtime.jobs.complete_jobs: one
seed per image (so each gets the pixels it would get alone, in any batch), each result written
atomically, and its failure rule: an image that cannot be read or completed is reported with its
error and the others are completed. Outputs that exist are skipped, so a rerun resumes. Writes go
to the output folder from the actors: on a cluster it must be a folder every node sees.
"""
from __future__ import annotations

import time
from dataclasses import asdict
from pathlib import Path

import numpy as np

from inpaint.errors import InpaintError
from inpaint.spec import InpaintSettings


class Completer:
    """A Ray Data actor: one Inpainter, loaded once, for every batch it is handed."""

    def __init__(self, bundle: str | None, settings: dict, threads: int, invert: bool, framing: str,
                 backend: str = "auto", gpu: bool = False):
        from inpaint.inpainters import inpainter_for
        from inpaint.runtime.framing import parse_framing
        # Ray shows an actor only the GPUs it was given: device None is the first of them
        self.inpainter = inpainter_for(backend, bundle, None, None if gpu else "cpu", InpaintSettings(**settings),
                                       threads=threads)
        self.invert, self.framing = invert, parse_framing(framing)

    def __call__(self, batch: dict) -> dict:
        from inpaint.runtime.jobs import ImageJob, complete_jobs
        jobs = [ImageJob(str(image), Path(image), Path(mask) if mask else None, self.invert, out=Path(out),
                         framing=self.framing) for image, mask, out in zip(batch["image"], batch["mask"], batch["out"])]
        errors = [""] * len(jobs)
        for r in complete_jobs(self.inpainter, jobs, batch=max(1, len(jobs))):
            errors[r.index] = "" if r.ok else str(r.error)
        return {"image": batch["image"], "out": batch["out"], "error": np.array(errors, dtype=object)}


def complete_dataset(images: str | Path, out: str | Path, masks: str | Path | None = None, *,
                     address: str | None = None, concurrency: int | None = None, batch_size: int = 16,
                     num_cpus: float = 1, num_gpus: float = 0, backend: str = "auto",
                     bundle: str | Path | None = None,
                     settings: InpaintSettings = InpaintSettings(), invert_mask: bool = False,
                     framing: str = "auto") -> dict:
    """Complete every image of the folder `images` (masks by file name from `masks`, else the
    transparent pixels) into `out`, on Ray: `address` of a cluster ("auto": the one this machine
    belongs to), or a local Ray (started here when none is running). concurrency: actors
    (default: as many as the cluster's CPUs over num_cpus, or its GPUs over num_gpus); backend:
    as inpaint-rt complete's --backend. Returns {"done", "skipped", "failed": [{"image", "error"}],
    "seconds"}."""
    try:
        import ray
    except ImportError:
        raise InpaintError("bulk completion on Ray needs Ray Data: pip install 'inpaint[ray]'") from None
    from inpaint.batch_files import folder_jobs
    t0 = time.perf_counter()
    images, out = Path(images), Path(out)
    jobs = folder_jobs(images, Path(masks) if masks is not None else None, out)
    todo = [(i, m, o) for i, m, o in jobs if not o.exists()]
    summary = {"done": 0, "skipped": len(jobs) - len(todo), "failed": []}
    if todo:
        out.mkdir(parents=True, exist_ok=True)
        if not ray.is_initialized():
            ray.init(address=address, ignore_reinit_error=True, log_to_driver=False)
        if concurrency is None:
            resources = ray.cluster_resources()
            concurrency = max(1, int(resources.get("GPU", 0) // num_gpus if num_gpus else
                                     resources.get("CPU", 1) // num_cpus))
        rows = [{"image": str(i.resolve()), "mask": str(m.resolve()) if m else "", "out": str(o.resolve())}
                for i, m, o in todo]
        dataset = ray.data.from_items(rows).map_batches(
            Completer, batch_size=batch_size, batch_format="numpy", concurrency=concurrency,
            num_cpus=num_cpus, num_gpus=num_gpus,
            fn_constructor_kwargs={"bundle": str(bundle) if bundle else None, "settings": asdict(settings),
                                   "threads": max(1, int(num_cpus)), "invert": invert_mask, "framing": framing,
                                   "backend": backend, "gpu": num_gpus > 0})
        for row in dataset.iter_rows():
            if row["error"]:
                summary["failed"].append({"image": row["image"], "error": row["error"]})
            else:
                summary["done"] += 1
    summary["seconds"] = round(time.perf_counter() - t0, 2)
    return summary
