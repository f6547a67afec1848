"""Gathers concurrent completion requests into search batches, run one at a time on one Inpainter.

Requests wait in a bounded queue. A worker thread takes the oldest one and, for up to
`max_wait_ms`, the requests behind it with the same search settings (iterations, restarts, start),
until the batch holds `max_batch` rows (images x restarts); then it completes them together. Every
row of a search is independent and every request draws its starts from its own seed, and early
stopping is off (it looks at the whole batch's loss), so a request gets the same pixels in any
batch as alone (a test holds this). A request that fails (its framing, its completion) is answered
with its error and the others of its batch are completed: runtime.jobs.complete_jobs's failure
rule, with every exception a request's own. A full queue refuses new requests (QueueFull) instead
of growing without bound.

A request's progress and result reach its caller through callbacks, called on the worker thread.
"""
from __future__ import annotations

import collections
import threading
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from inpaint.imageio import Picture

PATIENCE_OFF = 10**9     # early stopping compares the whole batch's mean loss: off when serving


class QueueFull(Exception):
    """The batcher's queue holds as many requests as it may; retry after `retry_after` seconds."""

    def __init__(self, retry_after: int):
        super().__init__(f"the server is busy; retry in {retry_after} s")
        self.retry_after = retry_after


@dataclass(frozen=True)
class SearchKey:
    """What requests must share to be searched in one batch."""
    iterations: int | None
    restarts: int | None


@dataclass(eq=False)         # requests are told apart by identity (their arrays do not compare)
class Request:
    picture: Picture
    hole: np.ndarray
    key: SearchKey
    seed: int = 0
    framing: object = "auto"
    on_done: Callable = lambda completion: None           # the Completion
    on_error: Callable = lambda error: None               # the exception
    on_preview: Callable | None = None                    # (step, of, Picture)
    queued_at: float = field(default_factory=time.monotonic)


class Batcher:
    """make_inpainter(key) -> the Inpainter for a SearchKey's settings (sharing one engine)."""

    def __init__(self, make_inpainter: Callable, max_batch: int = 16, max_wait_ms: float = 20,
                 max_queue: int = 64, preview_every: int = 5):
        if max_batch < 1 or max_queue < 1:
            raise ValueError("max_batch and max_queue must be at least 1")
        self.make_inpainter, self.max_batch, self.max_wait = make_inpainter, max_batch, max_wait_ms / 1e3
        self.max_queue, self.preview_every = max_queue, preview_every
        self._queue: collections.deque[Request] = collections.deque()
        self._cond = threading.Condition()
        self._inpainters: dict[SearchKey, object] = {}
        self._stop = False
        self.batches: list[int] = []          # images per batch run, for the record
        self.seconds_per_image = 0.5          # running estimate, for Retry-After
        self._worker = threading.Thread(target=self._run, name="inpaint-batcher", daemon=True)
        self._worker.start()

    def submit(self, request: Request) -> None:
        with self._cond:
            if len(self._queue) >= self.max_queue:
                raise QueueFull(max(1, round(len(self._queue) * self.seconds_per_image)))
            self._queue.append(request)
            self._cond.notify()

    @property
    def queued(self) -> int:
        return len(self._queue)

    def close(self) -> None:
        with self._cond:
            self._stop = True
            self._cond.notify()
        self._worker.join(timeout=30)

    def inpainter(self, key: SearchKey):
        if key not in self._inpainters:
            self._inpainters[key] = self.make_inpainter(key)
        return self._inpainters[key]

    def _rows(self, request: Request) -> int:
        return self.inpainter(request.key).settings.restarts

    def _next_batch(self) -> list[Request] | None:
        """Wait for a request, then gather those that can join it; None once closed."""
        with self._cond:
            while not self._queue and not self._stop:
                self._cond.wait()
            if self._stop:
                return None
            first = self._queue.popleft()
            batch, rows = [first], self._rows(first)
            deadline = time.monotonic() + self.max_wait
            while rows < self.max_batch:
                joining = next((r for r in self._queue if r.key == first.key
                                and rows + self._rows(r) <= self.max_batch), None)
                if joining is not None:
                    self._queue.remove(joining)
                    batch.append(joining)
                    rows += self._rows(joining)
                    continue
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._cond.wait(left)
                if self._stop:
                    break
            return batch

    def _run(self) -> None:
        while (batch := self._next_batch()) is not None:
            t0 = time.perf_counter()
            self.batches.append(len(batch))             # before any of them is answered
            self._complete(batch)
            self.seconds_per_image = 0.8 * self.seconds_per_image + 0.2 * (time.perf_counter() - t0) / len(batch)

    def _complete(self, batch: list[Request]) -> None:
        """The requests completed together by complete_jobs, each answered as it is done or fails;
        any exception is a request's own (a bad one among good ones: the others are completed)."""
        from inpaint.runtime.jobs import ImageJob, complete_jobs
        answered = set()
        try:
            inpainter = self.inpainter(batch[0].key)
            limit = inpainter.settings.iteration_limit

            def preview(i, step, picture):
                if batch[i].on_preview is not None:
                    batch[i].on_preview(step, limit, picture)
            watching = any(r.on_preview is not None for r in batch)
            jobs = [ImageJob("request", picture=r.picture, hole=r.hole, framing=r.framing, seed=r.seed) for r in batch]
            for result in complete_jobs(inpainter, jobs, batch=len(jobs), catch=(Exception,),
                                        on_preview=preview if watching else None, preview_every=self.preview_every):
                answered.add(result.index)
                if result.ok:
                    batch[result.index].on_done(result.completion)
                else:
                    batch[result.index].on_error(result.error)
        except Exception as e:              # beyond any one request (the inpainter for their settings)
            for i, request in enumerate(batch):
                if i not in answered:
                    request.on_error(e)
