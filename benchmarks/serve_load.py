"""Load test of `inpaint-rt serve` on loopback: many clients at once against one at a time.

    python benchmarks/serve_load.py [--clients 16] [--requests 200] [--max-batch 16] [--max-wait-ms 20]

Starts `inpaint-rt serve` (the shipped model, ONNX Runtime on the CPU) as its own process, then
sends the same mix of requests twice: first from one client, one request at a time, then from
--clients threads at once. The mix: 64x64 val crops, 178x218 photos and 120x150 crops of photos
(from ../shared/data), with box and brush-stroke holes, some with 2 restarts and their own seeds,
and one bad request in ten (not an image, a truncated PNG, a mask of another size, a mask with
nothing to fill, an empty form). Every answer is checked: a good request must come back as a PNG
of its input's size, its known pixels unchanged and byte-identical to the one-at-a-time answer
for the same request (its solo result); a bad one must be a 4xx with a JSON error; none may be
lost, and the server must answer /healthz afterwards. Any failure ends the run with exit code 1.
Writes benchmarks/results/serve_load_cpu.json and prints a markdown table of throughput and
latency for both phases.
"""
from __future__ import annotations

import argparse
import io
import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import numpy as np
from PIL import Image, ImageDraw

from inpaint.bench.timing import summary

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "benchmarks" / "results" / "serve_load_cpu.json"
DATA = Path(os.environ.get("INPAINT_SHARED_DATA", REPO.parent / "shared" / "data"))


def png(array: np.ndarray) -> bytes:
    out = io.BytesIO()
    Image.fromarray(array).save(out, format="PNG")
    return out.getvalue()


def stroke(h: int, w: int, rng) -> np.ndarray:
    """A brush stroke across the middle of the picture, as a painted mask (white = hole)."""
    im = Image.new("L", (w, h))
    points = [(int(w * (0.2 + 0.6 * t)), int(h * (0.45 + 0.12 * np.sin(6 * t + rng.uniform(0, 6)))))
              for t in np.linspace(0, 1, 12)]
    ImageDraw.Draw(im).line(points, fill=255, width=max(4, w // 10))
    return np.asarray(im)


def box(h: int, w: int, top: float, left: float, bh: float, bw: float) -> np.ndarray:
    m = np.zeros((h, w), np.uint8)
    m[int(h * top): int(h * (top + bh)), int(w * left): int(w * (left + bw))] = 255
    return m


def good_requests(rng) -> list[dict]:
    """24 distinct good requests: 8 of each size, box and stroke holes, some with 2 restarts."""
    crops = zipfile.ZipFile(DATA / "celeba64" / "val.zip")
    photos = zipfile.ZipFile(DATA / "celeba_aligned_sample" / "img_align_celeba_sample.zip")
    crop_names = sorted(n for n in crops.namelist() if n.endswith(".jpg"))[:8]
    photo_names = sorted(n for n in photos.namelist() if n.endswith(".jpg"))[:16]
    pictures = [np.asarray(Image.open(io.BytesIO(crops.read(n))).convert("RGB")) for n in crop_names]
    pictures += [np.asarray(Image.open(io.BytesIO(photos.read(n))).convert("RGB")) for n in photo_names[:8]]
    pictures += [np.asarray(Image.open(io.BytesIO(photos.read(n))).convert("RGB"))[40:190, 29:149]
                 for n in photo_names[8:]]
    out = []
    for i, img in enumerate(pictures):
        h, w = img.shape[:2]
        hole = stroke(h, w, rng) if i % 2 else box(h, w, 0.35, 0.3, 0.3, 0.4)
        fields = {"restarts": "2", "seed": str(i)} if i % 4 == 3 else {}
        out.append({"name": f"good{i:02d}_{w}x{h}", "image": png(img), "mask": png(hole), "fields": fields,
                    "input": img, "hole": hole > 127})
    return out


def bad_requests() -> list[dict]:
    img = np.full((80, 72, 3), 120, np.uint8)
    whole = png(img)
    return [{"name": "bad_not_image", "image": b"not an image", "mask": png(box(80, 72, .3, .3, .3, .3))},
            {"name": "bad_truncated", "image": whole[: len(whole) // 2], "mask": png(box(80, 72, .3, .3, .3, .3))},
            {"name": "bad_mask_size", "image": whole, "mask": png(box(40, 40, .3, .3, .3, .3))},
            {"name": "bad_empty_mask", "image": whole, "mask": png(np.zeros((80, 72), np.uint8))},
            {"name": "bad_no_image", "image": None, "mask": png(box(80, 72, .3, .3, .3, .3))}]


def send(url: str, request: dict) -> dict:
    files = {}
    if request.get("image") is not None:
        files["image"] = ("in.png", request["image"])
    if request.get("mask") is not None:
        files["mask"] = ("mask.png", request["mask"])
    t0 = time.perf_counter()
    try:
        r = httpx.post(f"{url}/v1/complete", files=files, data=request.get("fields", {}), timeout=300)
        status, body, kind = r.status_code, r.content, r.headers.get("content-type", "")
    except httpx.HTTPError as e:
        status, body, kind = None, str(e).encode(), ""
    return {"name": request["name"], "status": status, "body": body, "type": kind,
            "seconds": time.perf_counter() - t0}


def check(request: dict, answer: dict, solo: bytes | None) -> str | None:
    """What is wrong with an answer, or None."""
    if request["name"].startswith("bad"):
        if answer["status"] is None or not 400 <= answer["status"] < 500:
            return f"status {answer['status']}, not a 4xx"
        try:
            json.loads(answer["body"])["error"]
        except (ValueError, KeyError):
            return "no JSON error"
        return None
    if answer["status"] != 200 or answer["type"] != "image/png":
        return f"status {answer['status']} {answer['body'][:200]!r}"
    out = np.asarray(Image.open(io.BytesIO(answer["body"])))
    if out.shape != request["input"].shape:
        return f"shape {out.shape}, not {request['input'].shape}"
    if not np.array_equal(out[~request["hole"]], request["input"][~request["hole"]]):
        return "known pixels changed"
    if solo is not None and answer["body"] != solo:
        return "differs from its solo result"
    return None


def start_server(port: int, max_batch: int, max_wait_ms: float, max_queue: int, log) -> subprocess.Popen:
    server = subprocess.Popen([sys.executable, "-m", "inpaint.cli.rt", "serve", "--port", str(port), "--quiet",
                               "--max-batch", str(max_batch), "--max-wait-ms", str(max_wait_ms),
                               "--max-queue", str(max_queue)], stderr=log, text=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return server
        except httpx.HTTPError:
            time.sleep(0.2)
    server.kill()
    raise SystemExit(f"the server did not start; its log: {log.name}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--requests", type=int, default=200)
    ap.add_argument("--max-batch", type=int, default=16)
    ap.add_argument("--max-wait-ms", type=float, default=20)
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    goods, bads = good_requests(rng), bad_requests()
    n_bad = args.requests // 10
    mix = [bads[i % len(bads)] for i in range(n_bad)] + [goods[i % len(goods)] for i in range(args.requests - n_bad)]
    mix = [mix[i] for i in rng.permutation(len(mix))]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    log = tempfile.NamedTemporaryFile("w", prefix="serve_load_", suffix=".log", delete=False)   # kept for a look
    server = start_server(port, args.max_batch, args.max_wait_ms, 4 * args.clients, log)
    try:
        for request in goods[:2]:             # warm-up: sessions, the face finder
            send(url, request)
        phases, solo, failures = {}, {}, []
        for phase, clients in (("one client", 1), (f"{args.clients} clients", args.clients)):
            t0 = time.perf_counter()
            with ThreadPoolExecutor(clients) as pool:
                answers = list(pool.map(lambda r: send(url, r), mix))
            wall = time.perf_counter() - t0
            for request, answer in zip(mix, answers):
                if clients == 1 and not request["name"].startswith("bad"):
                    solo.setdefault(request["name"], answer["body"])
                problem = check(request, answer, solo.get(request["name"]))
                if problem:
                    failures.append(f"{phase}: {request['name']}: {problem}")
            good_times = [a["seconds"] for r, a in zip(mix, answers) if not r["name"].startswith("bad")]
            latency = summary(np.array(good_times) * 1e3, (50, 99))
            phases[phase] = {"clients": clients, "requests": len(mix), "good": len(good_times),
                             "bad": len(mix) - len(good_times), "wall_s": wall,
                             "images_per_s": len(good_times) / wall,
                             "p50_ms": latency["p50"], "p99_ms": latency["p99"],
                             "answered": sum(a["status"] is not None for a in answers)}
        alive = httpx.get(f"{url}/healthz", timeout=5).json()["ok"]
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()
    result = {"benchmark": "serve_load_cpu", "date": time.strftime("%Y-%m-%d"),
              "machine": {"cpu": platform.processor() or platform.machine(), "cores": os.cpu_count(),
                          "platform": platform.platform()},
              "max_batch": args.max_batch, "max_wait_ms": args.max_wait_ms, "phases": phases,
              "distinct_good_requests": len(goods), "failures": failures, "alive_after": alive}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))
    print("| clients | requests (good + bad) | good images/s | latency p50 (ms) | latency p99 (ms) | wall (s) |")
    print("|---|---|---|---|---|---|")
    for p in phases.values():
        print(f"| {p['clients']} | {p['good']} + {p['bad']} | {p['images_per_s']:.2f} | {p['p50_ms']:.0f} | "
              f"{p['p99_ms']:.0f} | {p['wall_s']:.1f} |")
    print(f"every answer checked: {len(failures)} failures; server alive after: {alive}")
    for f in failures[:20]:
        print("FAIL", f, file=sys.stderr)
    if failures or not alive:
        raise SystemExit(f"the server's log: {log.name}")


if __name__ == "__main__":
    main()
