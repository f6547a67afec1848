"""Completion jobs of the web page: a request's previews and its result, watched by event streams
(a watcher that comes late still gets every preview kept). Jobs are kept in memory; finished ones
are dropped after `ttl_s` or when too many pile up.
"""
from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass, field

MAX_PREVIEWS = 50     # a job keeps its last progress events for watchers that come late


@dataclass
class Job:
    id: str
    version: int = 0                       # bumped on every change; watchers wait for it to move
    previews: list = field(default_factory=list)   # the progress events, in order (the last MAX_PREVIEWS)
    dropped: int = 0                       # progress events dropped from the front of `previews`
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
        self.previews.append(event)
        if len(self.previews) > MAX_PREVIEWS:
            del self.previews[0]
            self.dropped += 1
        self._bump()

    def previews_after(self, count: int) -> tuple[list, int]:
        """The progress events past the first `count` ever made (those still kept), and the new count."""
        kept = self.previews[max(0, count - self.dropped):]
        return kept, self.dropped + len(self.previews)

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
