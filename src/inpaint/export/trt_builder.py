"""Build TensorRT plans from a bundle's ONNX graphs: strongly typed, one profile per batch size.

TensorRT 10.12+ builds strongly typed networks only (the layer precisions are the graph's own:
fp32 bundles give fp32 plans, `--fp16` bundles fp16 ones). Plans go to engines/<gpu>-trt<version>/
with plans.json; a timing cache there makes rebuilds fast.
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

from inpaint.runtime.bundle import WEIGHTS_FILE, Bundle, load_bundle
from inpaint.runtime.engines.trt_plans import (PLANS_META, input_shapes, plans_dir, plans_meta,
                                               profile_ranges)
from inpaint.runtime.engines.trt import import_tensorrt

TIMING_CACHE = "timing.cache"


def build_plans(bundle_root: str | Path, batch_sizes: list[int], device: int = 0, log=print) -> Path:
    """Build a plan for every graph of the bundle for CUDA device `device`; returns the plans directory.

    The plans are built in a temporary directory beside it and replace the old ones (plans.json
    included) only once all of them are built: a build that fails midway leaves what was there.
    """
    trt = import_tensorrt()
    from inpaint.runtime import cuda

    bundle = load_bundle(bundle_root)
    cuda.set_device(device)                  # the builder and its timing run on the current device
    gpu_name, capability = cuda.gpu(device)
    out = plans_dir(bundle.root, gpu_name, trt.__version__)
    ranges = profile_ranges(batch_sizes)
    logger = trt.Logger(trt.Logger.WARNING)
    builder = trt.Builder(logger)
    old_cache = out / TIMING_CACHE
    cache = builder.create_builder_config().create_timing_cache(
        old_cache.read_bytes() if old_cache.is_file() else b"")
    out.parent.mkdir(parents=True, exist_ok=True)
    with _graphs_on_disk(bundle) as graphs, tempfile.TemporaryDirectory(prefix=f".tmp-{out.name}.",
                                                                        dir=out.parent) as tmp:
        new = Path(tmp) / "plans"
        new.mkdir()
        for name in bundle.manifest["graphs"]:
            t0 = time.perf_counter()
            config = builder.create_builder_config()     # one per graph: profiles accumulate in a config
            config.set_timing_cache(cache, False)        # shared: tactics timed once serve every graph
            network = builder.create_network(1 << int(trt.NetworkDefinitionCreationFlag.STRONGLY_TYPED))
            parser = trt.OnnxParser(network, logger)
            if not parser.parse_from_file(str(graphs / bundle.graph_path(name).name)):
                errors = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
                raise RuntimeError(f"TensorRT cannot parse {bundle.graph_path(name)}: {errors}")
            for lo, opt, hi in ranges:
                profile = builder.create_optimization_profile()
                low, best, high = (input_shapes(bundle.graph_io(name), b) for b in (lo, opt, hi))
                for tensor in low:
                    profile.set_shape(tensor, low[tensor], best[tensor], high[tensor])
                config.add_optimization_profile(profile)
            plan = builder.build_serialized_network(network, config)
            if plan is None:
                raise RuntimeError(f"TensorRT could not build {name} (see its log above)")
            path = new / f"{name}.plan"
            path.write_bytes(bytes(plan))
            log(f"built {name:26s} {time.perf_counter() - t0:6.1f} s  {path.stat().st_size / 2**20:6.1f} MB")
        (new / TIMING_CACHE).write_bytes(bytes(cache.serialize()))
        meta = plans_meta(bundle, gpu_name, capability, trt.__version__, batch_sizes)
        (new / PLANS_META).write_text(json.dumps(meta, indent=2))
        _replace_dir(new, out, Path(tmp) / "old")
    return out


def _replace_dir(new: Path, target: Path, trash: Path) -> None:
    """Put directory `new` where `target` is: the old one is moved aside first (a directory cannot
    be renamed over a full one), so a reader sees the old plans, none, or the new ones complete."""
    if target.exists():
        os.replace(target, trash)
    os.replace(new, target)


@contextmanager
def _graphs_on_disk(bundle: Bundle):
    """A directory with the bundle's graphs beside the fp32 weights file they refer to, as
    TensorRT's parser reads them: the bundle itself, or a temporary copy with the weights widened
    where the bundle ships them in fp16."""
    if not bundle.weights_in_fp16:
        yield bundle.root
        return
    with tempfile.TemporaryDirectory(prefix="inpaint-trt-") as tmp:
        for name in bundle.manifest["graphs"]:
            shutil.copy(bundle.graph_path(name), tmp)
        bundle.weights().tofile(Path(tmp) / WEIGHTS_FILE)
        yield Path(tmp)
