"""Timing for the benchmarks: calls timed after untimed warm-up ones, and the spread of the times.

The clock is time.perf_counter around host calls (ONNX Runtime sessions, numpy, a training step
on the CPU); work queued on a GPU is timed with CUDA events instead (bench.runners).
"""
from __future__ import annotations

import time
from typing import Callable, Iterable, TypeVar

import numpy as np

T = TypeVar("T")


def seconds_each(fn: Callable[[T], object], items: Iterable[T]) -> np.ndarray:
    """The seconds of fn(item) for each item, in order."""
    seconds = []
    for item in items:
        t0 = time.perf_counter()
        fn(item)
        seconds.append(time.perf_counter() - t0)
    return np.asarray(seconds)


def timed_calls(fn: Callable[[], object], repeats: int, warmup: int = 0) -> np.ndarray:
    """The seconds of each of `repeats` calls of fn(), after `warmup` untimed ones."""
    for _ in range(warmup):
        fn()
    return seconds_each(lambda _: fn(), range(repeats))


def median_seconds(fn: Callable[[], object], repeats: int, warmup: int = 0) -> float:
    """The median seconds of `repeats` calls of fn(), after `warmup` untimed ones."""
    return float(np.median(timed_calls(fn, repeats, warmup)))


def summary(times, percentiles: Iterable[float] = (25, 75)) -> dict:
    """Median, the given percentiles (keys p25, p75, ...), min, max and count of a sample of
    times, in the sample's own unit."""
    t = np.asarray(times, np.float64)
    if t.size == 0:
        raise ValueError("no times to summarise")
    return {"median": float(np.median(t)), **{f"p{q:g}": float(np.percentile(t, q)) for q in percentiles},
            "min": float(t.min()), "max": float(t.max()), "n": int(t.size)}
