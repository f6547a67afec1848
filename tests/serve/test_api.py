"""inpaint-rt serve's HTTP API on a live server: results, progress events, batching and bad input."""
from __future__ import annotations

import io
import json
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from PIL import Image

httpx = pytest.importorskip("httpx", reason="the API tests need httpx (the [dev] extra)")

from live_server import LiveServer  # noqa: E402


def png(array: np.ndarray) -> bytes:
    out = io.BytesIO()
    Image.fromarray(array).save(out, format="PNG")
    return out.getvalue()


def face(h: int = 80, w: int = 72, seed: int = 0) -> np.ndarray:
    """A smooth RGB test picture with some structure."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w]
    base = np.stack([128 + 60 * np.sin(x / 9 + c) * np.cos(y / 11 - c) for c in range(3)], -1)
    return np.clip(base + rng.normal(0, 4, base.shape), 0, 255).astype(np.uint8)


def box_mask(h: int, w: int) -> np.ndarray:
    m = np.zeros((h, w), np.uint8)
    m[h // 4: h // 2 + 4, w // 3: 2 * w // 3] = 255
    return m


def complete(url: str, image: bytes, mask: bytes | None = None, **fields) -> httpx.Response:
    files = {"image": ("in.png", image)}
    if mask is not None:
        files["mask"] = ("mask.png", mask)
    return httpx.post(f"{url}/v1/complete", files=files, data={k: str(v) for k, v in fields.items()}, timeout=120)


def test_complete_returns_the_filled_png_with_known_pixels_unchanged(live_server):
    img, hole = face(), box_mask(80, 72)
    r = complete(live_server.url, png(img), png(hole))
    assert r.status_code == 200 and r.headers["content-type"] == "image/png"
    out = np.asarray(Image.open(io.BytesIO(r.content)))
    assert out.shape == img.shape
    known = hole == 0
    assert np.array_equal(out[known], img[known])
    assert not np.array_equal(out[~known], img[~known])          # the hole was filled
    report = json.loads(r.headers["x-inpaint-report"])
    assert report["iterations"] == httpx.get(f"{live_server.url}/v1/model").json()["defaults"]["iterations"]
    as_json = httpx.post(f"{live_server.url}/v1/complete?format=json", files={
        "image": ("in.png", png(img)), "mask": ("m.png", png(hole))}, timeout=120).json()
    assert as_json["image"].startswith("data:image/png;base64,") and as_json["report"]["loss"] == report["loss"]


def test_an_rgba_image_without_mask_fills_its_transparent_pixels(live_server):
    img, hole = face(), box_mask(80, 72) > 0
    rgba = np.dstack([img, np.where(hole, 0, 255).astype(np.uint8)])
    r = complete(live_server.url, png(rgba))
    assert r.status_code == 200
    out = np.asarray(Image.open(io.BytesIO(r.content)))
    assert out.shape == (80, 72, 4) and (out[..., 3] == 255).all()
    assert np.array_equal(out[~hole][:, :3], img[~hole])


def test_a_request_gets_the_same_pixels_in_a_batch_as_alone(live_server):
    """Six different requests sent at once are searched together (the batcher says so) and each
    answer is byte-identical to the same request sent alone, at its own seed and restarts."""
    cases = [(face(80, 72, s), box_mask(80, 72), s) for s in range(6)]
    alone = [complete(live_server.url, png(i), png(m), seed=s, restarts=2).content for i, m, s in cases]
    before = len(live_server.batcher.batches)
    with ThreadPoolExecutor(6) as pool:
        together = list(pool.map(lambda c: complete(live_server.url, png(c[0]), png(c[1]), seed=c[2], restarts=2),
                                 cases))
    assert all(r.status_code == 200 for r in together)
    assert max(live_server.batcher.batches[before:]) > 1, "the concurrent requests were never batched"
    for a, r in zip(alone, together):
        assert r.content == a
    assert alone[0] != alone[1]


def test_job_streams_progress_then_the_result(live_server):
    img, hole = face(), box_mask(80, 72)
    r = httpx.post(f"{live_server.url}/v1/jobs", files={"image": ("in.png", png(img)), "mask": ("m.png", png(hole))},
                   timeout=60)
    assert r.status_code == 202
    job = r.json()
    events = []
    with httpx.stream("GET", live_server.url + job["events"], timeout=120) as stream:
        kind = None
        for line in stream.iter_lines():
            if line.startswith("event: "):
                kind = line[7:]
            elif line.startswith("data: "):
                events.append((kind, json.loads(line[6:])))
    kinds = [k for k, _ in events]
    assert kinds[-1] == "done" and kinds.count("progress") >= 1
    steps = [d["step"] for k, d in events if k == "progress"]
    assert steps == sorted(steps) and all(0 < s < d["of"] for (k, d), s in zip(events, steps))
    preview = Image.open(io.BytesIO(__import__("base64").b64decode(events[0][1]["image"].split(",", 1)[1])))
    assert preview.size == (72, 80)
    done = events[-1][1]
    assert (done["width"], done["height"]) == (72, 80)
    result = httpx.get(live_server.url + done["result"])
    assert result.status_code == 200
    assert result.content == complete(live_server.url, png(img), png(hole)).content
    assert httpx.get(f"{live_server.url}/v1/jobs/nosuchjob/events").status_code == 404


def truncated_png() -> bytes:
    data = png(face())
    return data[: len(data) // 2]


def bomb_png() -> bytes:
    """A valid 1-bit PNG that declares 20000 x 20000 pixels (400 megapixels), 50 kB on the wire."""
    im = Image.new("1", (20000, 20000))
    out = io.BytesIO()
    im.save(out, format="PNG")
    return out.getvalue()


BAD_REQUESTS = {
    "not an image": (lambda: {"image": ("x.png", b"this is text")}, 422, "not an image file"),
    "truncated": (lambda: {"image": ("x.png", truncated_png()), "mask": ("m.png", png(box_mask(80, 72)))}, 422,
                  "truncated"),
    "decompression bomb": (lambda: {"image": ("x.png", bomb_png())}, 422, "more than the limit"),
    "mask of another size": (lambda: {"image": ("x.png", png(face())), "mask": ("m.png", png(box_mask(40, 40)))},
                             422, "same size"),
    "nothing to fill": (lambda: {"image": ("x.png", png(face())), "mask": ("m.png", png(np.zeros((80, 72), np.uint8)))},
                        422, "no pixel to fill"),
    "nothing known": (lambda: {"image": ("x.png", png(face())),
                               "mask": ("m.png", png(np.full((80, 72), 255, np.uint8)))}, 422, "nothing is known"),
    "no mask, no alpha": (lambda: {"image": ("x.png", png(face()))}, 422, "no mask given"),
    "no image": (lambda: {"mask": ("m.png", png(box_mask(80, 72)))}, 422, "image"),
}


@pytest.mark.parametrize("case", list(BAD_REQUESTS))
def test_bad_input_is_a_4xx_json_error_and_the_server_goes_on(live_server, case):
    files, status, words = BAD_REQUESTS[case]
    r = httpx.post(f"{live_server.url}/v1/complete", files=files(), timeout=60)
    assert r.status_code == status, r.text
    assert words in r.json()["error"]
    assert httpx.get(f"{live_server.url}/healthz").json()["ok"]


@pytest.mark.parametrize("fields, words", [({"iterations": "many"}, "iterations"), ({"iterations": "0"}, "iterations"),
                                           ({"framing": "1,2"}, "framing"), ({"restarts": "-1"}, "restarts")])
def test_bad_options_are_422_naming_the_option(live_server, fields, words):
    r = complete(live_server.url, png(face()), png(box_mask(80, 72)), **fields)
    assert r.status_code == 422 and words in r.json()["error"]


def test_uploads_over_the_limit_are_refused_before_they_are_read(live_server):
    limit = httpx.get(f"{live_server.url}/v1/model").json()["max_upload_mb"] * 2**20
    declared = httpx.post(f"{live_server.url}/v1/complete", files={"image": ("x.png", b"\0" * int(limit + 1))}, timeout=60)
    assert declared.status_code == 413 and "--max-upload-mb" in declared.json()["error"]

    def body():                     # no Content-Length: counted as it streams, refused past the limit
        yield b'--b\r\nContent-Disposition: form-data; name="image"; filename="x.png"\r\n\r\n'
        for _ in range(int(limit // 2**20) + 2):
            yield b"\0" * 2**20
        yield b"\r\n--b--\r\n"
    streamed = httpx.post(f"{live_server.url}/v1/complete", content=body(), timeout=60,
                          headers={"content-type": "multipart/form-data; boundary=b"})
    assert streamed.status_code == 413 and "--max-upload-mb" in streamed.json()["error"]
    assert httpx.get(f"{live_server.url}/healthz").json()["ok"]


def test_a_full_queue_answers_503_with_retry_after():
    server = LiveServer(max_batch=1, max_wait_ms=0, max_queue=1)
    try:
        img, hole = png(face()), png(box_mask(80, 72))
        with ThreadPoolExecutor(4) as pool:
            answers = list(pool.map(lambda s: complete(server.url, img, hole, seed=s, iterations=400), range(4)))
        busy = [r for r in answers if r.status_code == 503]
        assert busy and all(int(r.headers["retry-after"]) >= 1 and "busy" in r.json()["error"] for r in busy)
        assert all(r.status_code in (200, 503) for r in answers) and any(r.status_code == 200 for r in answers)
    finally:
        server.close()


def test_model_health_docs_and_page(live_server):
    model = httpx.get(f"{live_server.url}/v1/model").json()
    assert model["resolution"] == 64 and model["defaults"]["init"] == "encoder"
    assert httpx.get(f"{live_server.url}/healthz").json() == {"ok": True, "queued": 0}
    assert "/v1/complete" in httpx.get(f"{live_server.url}/openapi.json").json()["paths"]
    page = httpx.get(f"{live_server.url}/")
    assert page.status_code == 200 and "inpaint" in page.text


def test_a_late_watcher_gets_every_preview_then_done(live_server):
    """Events asked for after the job has finished still carry each progress event in order."""
    import time
    img, hole = face(), box_mask(80, 72)
    job = httpx.post(f"{live_server.url}/v1/jobs", files={"image": ("in.png", png(img)), "mask": ("m.png", png(hole))},
                     data={"iterations": "12"}, timeout=60).json()
    deadline = time.monotonic() + 60
    while httpx.get(live_server.url + job["result"]).status_code == 409:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    kinds, steps = [], []
    with httpx.stream("GET", live_server.url + job["events"], timeout=60) as stream:
        for line in stream.iter_lines():
            if line.startswith("event: "):
                kinds.append(line[7:])
            elif line.startswith("data: ") and kinds[-1] == "progress":
                steps.append(json.loads(line[6:])["step"])
    assert kinds == ["progress", "progress", "done"] and steps == [5, 10]


def test_a_bad_request_in_a_batch_gets_its_error_and_the_others_their_images():
    """Five requests searched as one batch: one whose framing square lies outside its image
    (refused while framing), one whose mask leaves nothing known at the model's resolution
    (refused by the batch's search: each then alone). Each bad one gets a 422 naming its problem;
    the three good ones get the pixels they get alone."""
    server = LiveServer(max_batch=5, max_wait_ms=5000)
    try:
        sparse = np.full((128, 128), 255, np.uint8)
        sparse[::2, ::2] = 0
        cases = [(face(80, 72, 0), box_mask(80, 72), {"seed": 0}),
                 (face(80, 72, 1), box_mask(80, 72), {"framing": "500,0,30"}),
                 (face(80, 72, 2), box_mask(80, 72), {"seed": 2}),
                 (face(128, 128, 3), sparse, {"framing": "whole"}),
                 (face(80, 72, 4), box_mask(80, 72), {"seed": 4})]
        with ThreadPoolExecutor(len(cases)) as pool:
            answers = list(pool.map(lambda c: complete(server.url, png(c[0]), png(c[1]), iterations=6, **c[2]), cases))
        assert server.batcher.batches == [5], "the requests were not searched as one batch"
        assert [r.status_code for r in answers] == [200, 422, 200, 422, 200], [r.text[:200] for r in answers]
        assert "outside" in answers[1].json()["error"] and "no known pixel" in answers[3].json()["error"]
        for (img, hole, fields), r in zip(cases, answers):
            if r.status_code == 200:
                out = np.asarray(Image.open(io.BytesIO(r.content)))
                assert np.array_equal(out[hole == 0], img[hole == 0])
                assert r.content == complete(server.url, png(img), png(hole), iterations=6, **fields).content
        assert httpx.get(f"{server.url}/healthz").json()["ok"]
    finally:
        server.close()
