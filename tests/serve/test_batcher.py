"""The batcher on its own: who joins whom, and that a queue of mixed requests never stalls."""
from __future__ import annotations

import threading

import numpy as np

from inpaint.imageio import Picture
from inpaint.runtime.complete import Inpainter
from inpaint.serve.batcher import Request, SearchKey
from inpaint.serve.service import batcher_for


def request(key: SearchKey, seed: int, results: dict, done: threading.Event, expected: int) -> Request:
    rng = np.random.default_rng(seed)
    picture = Picture(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8), None, "RGB")
    hole = np.zeros((64, 64), bool)
    hole[20:44, 20:44] = True

    def finish(value):
        results[seed] = value
        if len(results) == expected:
            done.set()
    return Request(picture, hole, key, seed, "whole", on_done=finish, on_error=finish)


def test_mixed_settings_in_the_queue_are_batched_by_key_and_all_answered():
    """Requests of two kinds queued in alternation: each kind is searched together, the other
    kind waits its turn, and every request gets its completion."""
    batcher = batcher_for(Inpainter.from_bundle(), max_batch=8, max_wait_ms=50, max_queue=32)
    try:
        results, done = {}, threading.Event()
        keys = [SearchKey(6, None), SearchKey(6, 2)]
        with batcher._cond:               # queue them all before the worker looks
            for i in range(8):
                batcher._queue.append(request(keys[i % 2], i, results, done, 8))
            batcher._cond.notify()
        assert done.wait(120), f"only {len(results)} of 8 answered"
        assert all(not isinstance(v, Exception) for v in results.values()), results
        assert sorted(batcher.batches) == [4, 4]          # rows: 4 x 1 restart; 4 x 2 restarts = 8
        assert batcher._worker.is_alive()
    finally:
        batcher.close()


def test_every_key_searches_what_the_server_was_started_with():
    """inpaint-rt serve --search z+bn: each request's search is z+bn, and /v1/model says so."""
    from inpaint.serve.service import model_info
    from inpaint.spec import InpaintSettings
    base = Inpainter.from_bundle(settings=InpaintSettings(search="z+bn"))
    batcher = batcher_for(base)
    try:
        assert batcher.inpainter(SearchKey(6, 2)).settings.search == "z+bn"
        assert model_info(base, "ort")["defaults"]["search"] == "z+bn"
    finally:
        batcher.close()
