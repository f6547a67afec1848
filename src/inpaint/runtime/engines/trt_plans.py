"""TensorRT plans in a bundle: where they live, the batch profiles they cover, whether they fit.

A plan (serialised engine) only runs on the GPU model and TensorRT version that built it, so
plans live in engines/<gpu>-trt<version>/ inside the bundle, beside plans.json, which records
what they were built for and from. Nothing here imports tensorrt: the builder and the TensorRT
engine both use it, and it is tested on machines without a GPU.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

from inpaint.runtime.bundle import Bundle, BundleError

PLANS_FORMAT = 1
PLANS_META = "plans.json"
ENGINES_DIR = "engines"


def device_tag(gpu_name: str, trt_version: str) -> str:
    """A directory name for one GPU model and TensorRT version, e.g. nvidia-h100-80gb-hbm3-trt10.13.0."""
    gpu = re.sub(r"[^a-z0-9]+", "-", gpu_name.lower()).strip("-")
    return f"{gpu}-trt{trt_version}"


def plans_dir(bundle_root: str | Path, gpu_name: str, trt_version: str) -> Path:
    return Path(bundle_root) / ENGINES_DIR / device_tag(gpu_name, trt_version)


def profile_ranges(batch_sizes: list[int] | tuple[int, ...]) -> list[tuple[int, int, int]]:
    """One optimisation profile per batch size: (min, opt, max) batch, each tuned for its own size
    and together covering every batch from 1 to the largest: 1,16,64 -> (1,1,1) (2,16,16) (17,64,64)."""
    sizes = sorted(set(int(b) for b in batch_sizes))
    if not sizes or sizes[0] < 1:
        raise ValueError(f"batch sizes must be positive integers, got {batch_sizes!r}")
    lows = [1] + [b + 1 for b in sizes[:-1]]
    return [(lo, b, b) for lo, b in zip(lows, sizes)]


def profile_for(batch: int, ranges: list[tuple[int, int, int]]) -> int:
    """The index of the profile whose batch range holds `batch`."""
    for i, (lo, _, hi) in enumerate(ranges):
        if lo <= batch <= hi:
            return i
    raise BundleError(f"batch {batch} is larger than the TensorRT plans allow ({ranges[-1][2]}); "
                      "rebuild them with inpaint-export --engine --batch-sizes covering it, "
                      "or use fewer images or restarts at once")


def input_shapes(graph_io: dict, batch: int) -> dict[str, tuple[int, ...]]:
    """Every input's shape at this batch size, from the manifest's signature ('batch' = dynamic)."""
    return {i["name"]: tuple(batch if d == "batch" else int(d) for d in i["shape"]) for i in graph_io["inputs"]}


def plans_meta(bundle: Bundle, gpu_name: str, compute_capability: tuple[int, int], trt_version: str,
               batch_sizes: list[int]) -> dict:
    """What plans.json records: the target, the profiles, and each source graph's sha256."""
    return {"format": PLANS_FORMAT, "gpu": gpu_name, "compute_capability": list(compute_capability),
            "tensorrt": trt_version, "batch_sizes": sorted(set(batch_sizes)),
            "profiles": [list(r) for r in profile_ranges(batch_sizes)],
            "graphs": {name: {"plan": f"{name}.plan", "source_sha256": g["sha256"]}
                       for name, g in bundle.manifest["graphs"].items()}}


def load_plans_meta(bundle: Bundle, gpu_name: str, trt_version: str) -> tuple[Path, dict]:
    """The plans for this GPU and TensorRT version, checked against the bundle: (dir, plans.json).

    Raises BundleError naming what is wrong and how to fix it: no plans at all, plans only for
    other GPUs or TensorRT versions, plans made from other graphs (a re-exported bundle), files
    missing, or a plans.json that contradicts its directory.
    """
    root = plans_dir(bundle.root, gpu_name, trt_version)
    rebuild = f"build them with: inpaint-export ... --engine (into {bundle.root})"
    if not (root / PLANS_META).is_file():
        others = sorted(p.name for p in (bundle.root / ENGINES_DIR).glob("*") if (p / PLANS_META).is_file())
        where = f"it has plans only for {', '.join(others)}" if others else "it has no TensorRT plans"
        raise BundleError(f"bundle {bundle.root} has no TensorRT plans for {gpu_name} with TensorRT "
                          f"{trt_version} ({where}); {rebuild}")
    try:
        meta = json.loads((root / PLANS_META).read_text())
        if meta.get("format") != PLANS_FORMAT:
            raise BundleError(f"{root / PLANS_META} has format {meta.get('format')!r}, this inpaint reads "
                              f"{PLANS_FORMAT}; {rebuild}")
        built_for = (meta["gpu"], meta["tensorrt"])
        graphs = meta["graphs"]
    except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError) as e:
        raise BundleError(f"{root / PLANS_META} is unreadable ({e}); {rebuild}") from None
    if built_for != (gpu_name, trt_version):
        raise BundleError(f"the plans in {root} were built for {built_for[0]} with TensorRT {built_for[1]}, "
                          f"not {gpu_name} with TensorRT {trt_version}; {rebuild}")
    for name, g in bundle.manifest["graphs"].items():
        if name not in graphs:
            raise BundleError(f"{root} has no plan for graph {name!r}; {rebuild}")
        if graphs[name].get("source_sha256") != g["sha256"]:
            raise BundleError(f"the plan {root / graphs[name]['plan']} was built from another {name} graph "
                              f"than the bundle's (re-exported since?); {rebuild}")
        if not (root / graphs[name]["plan"]).is_file():
            raise BundleError(f"{root / graphs[name]['plan']} is missing; {rebuild}")
    return root, meta


def check_profiles(engine, graph_io: dict, ranges: list[tuple[int, int, int]], path: Path) -> None:
    """Check a deserialised plan (a tensorrt.ICudaEngine, or anything with its
    num_optimization_profiles and get_tensor_profile_shape) against plans.json's profiles: a plan
    from another build than its record would run with batch ranges nobody checked."""
    rebuild = "rebuild the plans with inpaint-export --engine"
    if engine.num_optimization_profiles != len(ranges):
        raise BundleError(f"{path} has {engine.num_optimization_profiles} optimisation profiles, its "
                          f"{PLANS_META} says {len(ranges)}; {rebuild}")
    for profile, batches in enumerate(ranges):
        expected = [input_shapes(graph_io, b) for b in batches]         # min, opt, max
        for tensor in expected[0]:
            got = tuple(tuple(int(d) for d in dims) for dims in engine.get_tensor_profile_shape(tensor, profile))
            want = tuple(shapes[tensor] for shapes in expected)
            if got != want:
                raise BundleError(f"{path}: profile {profile} of input {tensor} is (min, opt, max) {got}, "
                                  f"its {PLANS_META} says {want}; {rebuild}")
