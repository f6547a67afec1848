"""Completion jobs of the web page: a request's latest preview and its result, watched by event
streams. Jobs are kept in memory; finished ones are dropped after `ttl_s` or when too many pile up.
"""
from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass, field


@dataclass
class Job:
    id: str
    version: int = 0                       # bumped on every change; watchers wait for it to move
    preview: dict | None = None            # the latest progress event
    result: bytes | None = None            # the PNG, once done
    report: dict | None = None
    size: tuple[int, int] | None = None    # (width, height) of the result
    error: dict | None = None              # {"error": message, "status": code}
    finished_at: float | None = None
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def finished(self) -> bool:
        return self.finished_at is not None

    def _bump(self) -> None:
        self.version += 1
        self.changed.set()
        self.changed = asyncio.Event()

    def progress(self, event: dict) -> None:
        self.preview = event
        self._bump()

    def done(self, png: bytes, report: dict, size: tuple[int, int]) -> None:
        self.result, self.report, self.size, self.finished_at = png, report, size, time.monotonic()
        self._bump()

    def fail(self, message: str, status: int) -> None:
        self.error, self.finished_at = {"error": message, "status": status}, time.monotonic()
        self._bump()

    async def wait_change(self, seen: int, timeout: float) -> None:
        """Return once version is past `seen`, or after `timeout` seconds."""
        if self.version != seen:
            return
        try:
            await asyncio.wait_for(self.changed.wait(), timeout)
        except asyncio.TimeoutError:
            pass


class Jobs:
    """Every job by id, on the event loop's thread only."""

    def __init__(self, ttl_s: float = 600, max_finished: int = 256):
        self.ttl_s, self.max_finished = ttl_s, max_finished
        self._jobs: dict[str, Job] = {}

    def new(self) -> Job:
        self._prune()
        job = Job(uuid.uuid4().hex)
        self._jobs[job.id] = job
        return job

    def get(self, job_id: str) -> Job | None:
        self._prune()
        return self._jobs.get(job_id)

    def _prune(self) -> None:
        now = time.monotonic()
        finished = sorted((j for j in self._jobs.values() if j.finished), key=lambda j: j.finished_at)
        excess = len(finished) - self.max_finished
        for i, job in enumerate(finished):
            if i < excess or now - job.finished_at > self.ttl_s:
                del self._jobs[job.id]
