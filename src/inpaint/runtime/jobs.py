"""One driver for a batch of completions, the same for inpaint-rt complete --batch, Ray's actors
and the server's batcher: complete_jobs(inpainter, jobs) yields a JobResult per ImageJob.

The failure rule: a job whose reading, checking, framing, completion or writing raises one of
`catch` (InpaintError, by default: what a user can fix) gets a JobResult with that error, and every
other job is completed. Each job is first prepared alone (read and checked, framed), so that a
bad input drops out before any search; the prepared jobs are then completed `batch` at a time,
and where a batch's completion raises, each of its jobs is completed again alone, so that the
error lands on the job that caused it and the others are completed all the same. Only a job
completed in full is written, atomically: nothing partial is written for a failed one. Other
exceptions propagate. Each job draws its starts from its own seed, so its pixels do not depend
on the jobs it shares a batch with.
"""
from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, ContextManager, Iterable, Iterator

import numpy as np

from inpaint.errors import InpaintError
from inpaint.imageio import Picture
from inpaint.runtime.complete import Completion, Inpainter
from inpaint.runtime.framing import Box, Framing

BATCH = 16       # images completed together


@dataclass(eq=False)            # jobs are told apart by identity (their arrays do not compare)
class ImageJob:
    """One image to complete: its files (image, mask: read and checked by the driver), or its
    picture and hole read already; `out`, where the filled image is written (None: not written)."""
    name: str                              # how reports name it: the image's path, an upload's name
    image: Path | None = None
    mask: Path | None = None               # None: the image's transparent pixels are the hole
    invert: bool = False                   # the mask's black pixels are the hole
    picture: Picture | None = None
    hole: np.ndarray | None = None
    out: Path | None = None
    framing: str | Box | Framing = "auto"
    seed: int | None = None                # draws its starts [default: the inpainter's settings.seed]


@dataclass
class JobResult:
    index: int                             # the job's place in the list given
    job: ImageJob
    completion: Completion | None = None
    error: Exception | None = None         # one of `catch`, where the job failed

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass
class _Ready:
    index: int
    job: ImageJob
    picture: Picture
    hole: np.ndarray
    framing: Framing


def complete_jobs(inpainter: Inpainter, jobs: Iterable[ImageJob], *, batch: int = BATCH, gl: bool = False,
                  catch: tuple[type[Exception], ...] = (InpaintError,),
                  on_note: Callable[[str], None] | None = None,
                  on_framed: Callable[[int, Picture, np.ndarray, Framing], None] | None = None,
                  progress: Callable[[list[int]], ContextManager] | None = None,
                  on_preview: Callable[[int, int, Picture], None] | None = None,
                  preview_every: int = 5) -> Iterator[JobResult]:
    """Complete `jobs` with `inpainter`, `batch` at a time (gl: one forward pass of GL's network
    instead of the search), yielding a JobResult per job as it is done or fails: a job refused
    while it is prepared at once, the others as their batch is done (JobResult.index says which
    job it is).

    on_note(text): how an unusual mask was read. on_framed(index, picture, hole, framing): each
    job once framed, before its search. progress(indices): a context manager around the search of
    those jobs, giving the search's on_step(iteration, loss) or None. on_preview(index, step,
    picture): the completion of the best iterates so far, every `preview_every` steps. Where
    the inpainter cannot run GL's network at all, gl raises that InpaintError before any job.
    """
    if gl:
        inpainter.check_gl()
    ready: list[_Ready] = []
    for index, job in enumerate(jobs):
        try:
            ready.append(_prepare(inpainter, index, job, on_note, on_framed))
        except catch as e:
            yield JobResult(index, job, error=e)
            continue
        if len(ready) == batch:
            yield from _complete_batch(inpainter, ready, gl, catch, progress, on_preview, preview_every)
            ready = []
    if ready:
        yield from _complete_batch(inpainter, ready, gl, catch, progress, on_preview, preview_every)


def _prepare(inpainter: Inpainter, index: int, job: ImageJob, on_note, on_framed) -> _Ready:
    """The job read and checked (where given as files) and framed."""
    picture, hole = job.picture, job.hole
    if picture is None:
        from inpaint.batch_files import load_job
        picture, hole = load_job(job.image, job.mask, job.invert, on_note)
    framing = inpainter.frame(picture, hole, job.framing)
    if on_framed is not None:
        on_framed(index, picture, hole, framing)
    return _Ready(index, job, picture, hole, framing)


def _complete_batch(inpainter, ready: list[_Ready], gl, catch, progress, on_preview,
                    preview_every) -> Iterator[JobResult]:
    """The jobs completed together, else (where that raises) each alone; each result written."""
    try:
        done = _complete(inpainter, ready, gl, progress, on_preview, preview_every)
    except catch as e:
        if len(ready) == 1:
            yield JobResult(ready[0].index, ready[0].job, error=e)
        else:
            for r in ready:
                yield from _complete_batch(inpainter, [r], gl, catch, progress, on_preview, preview_every)
        return
    for r, completion in zip(ready, done):
        try:
            if r.job.out is not None:
                from inpaint.imageio import write_image
                write_image(r.job.out, completion.picture)
        except catch as e:
            yield JobResult(r.index, r.job, error=e)
            continue
        yield JobResult(r.index, r.job, completion)


def _complete(inpainter: Inpainter, ready: list[_Ready], gl, progress, on_preview, preview_every) -> list[Completion]:
    pictures, holes, framings = [r.picture for r in ready], [r.hole for r in ready], [r.framing for r in ready]
    if gl:
        return inpainter.complete_gl(pictures, holes, framing=framings)
    seeds = [inpainter.settings.seed if r.job.seed is None else r.job.seed for r in ready]
    previews = None
    if on_preview is not None:
        def previews(step, completed):
            for r, picture in zip(ready, completed):
                on_preview(r.index, step, picture)
    with progress([r.index for r in ready]) if progress is not None else nullcontext() as on_step:
        return inpainter.complete_many(pictures, holes, on_step, framing=framings, seeds=seeds,
                                       on_preview=previews, preview_every=preview_every)
