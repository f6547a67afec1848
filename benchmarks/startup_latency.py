"""`inpaint-rt complete` from process start, and `Inpainter.complete` warm, for one or more
checkouts of inpaint side by side in one run.

    python benchmarks/startup_latency.py [--repeats 7] [--variant NAME=SRC ...] [--backend auto] [--search S ...]

A variant is a name and a source folder put first on PYTHONPATH (default: this checkout's src as
"now"; give the src of an older worktree as "before" to compare). Two cases:
- 64x64: examples/astronaut64.png with a centred 32x32 hole;
- photo: a 178x218 portrait (examples/astronaut_photo.jpg cut to CelebA's photo shape) with the
  example's hole, framed automatically.
Each repeat runs every (case, variant) once as a fresh process, the variants in alternating order,
so each time includes starting Python, importing, loading and checking the bundle, creating the
sessions, framing, the search, blending and writing the PNG. Each variant gets an empty runtime
cache of its own (INPAINT_CACHE_DIR); one run of each first, untimed, fills it as a user's first
run does (the checked digests, the optimised graphs; and the OS's file cache); its time is kept as
"first_run_s". --search (repeatable: z, z+bn) runs each variant with each search, as the variant
"NAME/SEARCH". Warm: one process per variant makes an Inpainter and
calls complete() on the 64x64 case `--repeats` times after two untimed calls.
Writes benchmarks/results/startup_latency_cpu.json and prints markdown tables.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "benchmarks" / "results" / "startup_latency_cpu.json"
PHOTO_SHAPE = (178, 218)     # width, height of img_align_celeba
CACHES = Path(tempfile.gettempdir())   # set per run: each variant's runtime cache lives below it

WARM = """
import json, sys, time
import numpy as np
from PIL import Image
from inpaint.imageio import Picture
from inpaint.runtime.complete import Inpainter
from inpaint.spec import InpaintSettings
image, hole, repeats = sys.argv[1], sys.argv[2], int(sys.argv[3])
extra = {"search": sys.argv[4]} if len(sys.argv) > 4 else {}
picture = Picture(np.asarray(Image.open(image).convert("RGB")), None, "RGB")
hole = np.asarray(Image.open(hole).convert("L")) > 127
inpainter = Inpainter.from_bundle(settings=InpaintSettings(**extra))
for _ in range(2):          # the first two calls pay one-time costs (0.5 s and up to 0.3 s)
    inpainter.complete(picture, hole)
times = []
for _ in range(repeats):
    t0 = time.perf_counter()
    c = inpainter.complete(picture, hole)
    times.append(time.perf_counter() - t0)
print(json.dumps({"times_s": times, "iterations": c.report["iterations"],
                  "settings": {k: v for k, v in vars(inpainter.settings).items()}}))
"""


def make_cases(tmp: Path) -> dict[str, tuple[Path, Path]]:
    """The two inputs: the 64x64 example with a centred hole, and the photo example cut to 178x218."""
    hole64 = np.zeros((64, 64), np.uint8)
    hole64[16:48, 16:48] = 255
    Image.fromarray(hole64).save(tmp / "center64.png")
    photo = Image.open(REPO / "examples" / "astronaut_photo.jpg").convert("RGB")
    mask = Image.open(REPO / "examples" / "astronaut_photo_mask.png").convert("L")
    w, h = PHOTO_SHAPE
    side_w = round(photo.height * w / h)               # the widest 178:218 box of the square photo
    box = ((photo.width - side_w) // 2, 0, (photo.width - side_w) // 2 + side_w, photo.height)
    photo.crop(box).resize(PHOTO_SHAPE, Image.BICUBIC).save(tmp / "photo.png")
    mask.crop(box).resize(PHOTO_SHAPE, Image.NEAREST).save(tmp / "photo_mask.png")
    return {"64x64": (REPO / "examples" / "astronaut64.png", tmp / "center64.png"),
            "photo 178x218": (tmp / "photo.png", tmp / "photo_mask.png")}


def env_for(src: Path) -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(src) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env["INPAINT_CACHE_DIR"] = str(CACHES / hashlib.sha256(str(src).encode()).hexdigest()[:12])
    return env


def complete_once(run: tuple[Path, str | None], image: Path, mask: Path, backend: str, tmp: Path) -> dict:
    """One `inpaint-rt complete` process of run = (source folder, search or None): wall seconds
    and what its report says."""
    src, search = run
    out, report = tmp / "out.png", tmp / "report.json"
    cmd = [sys.executable, "-m", "inpaint.cli.rt", "complete", str(image), str(mask), "-o", str(out),
           "--backend", backend, "--report", str(report), "--quiet", *(["--search", search] if search else [])]
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True, env=env_for(src), cwd=tmp)
    wall = time.perf_counter() - t0
    r = json.loads(report.read_text())
    im = r["images"][0]
    return {"wall_s": wall, "load_s": r["load_seconds"], "search_s": im["search_seconds"],
            "blend_s": im["blend_seconds"], "iterations": im["iterations"],
            "restarts": r["settings"]["restarts"], "engine": r["engine"]}


def warm(run: tuple[Path, str | None], image: Path, mask: Path, repeats: int) -> dict:
    src, search = run
    done = subprocess.run([sys.executable, "-c", WARM, str(image), str(mask), str(repeats), *([search] if search else [])],
                          check=True,
                          capture_output=True, text=True, env=env_for(src))
    r = json.loads(done.stdout.strip().splitlines()[-1])
    return {"median_s": statistics.median(r["times_s"]), **r}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--variant", action="append", default=[],
                    help="NAME=SRC: a source folder to run (default: now=<this checkout>/src)")
    ap.add_argument("--backend", default="auto")
    ap.add_argument("--search", action="append", default=[],
                    help="run each variant with this search (z, z+bn); repeatable [default: the CLI's]")
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args()
    sources = dict(v.split("=", 1) for v in args.variant) or {"now": str(REPO / "src")}
    variants = {(f"{k}/{s}" if s else k): (Path(v).resolve(), s) for k, v in sources.items()
                for s in (args.search or [None])}

    global CACHES
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        CACHES = tmp / "caches"
        cases = make_cases(tmp)
        first = {c: {v: complete_once(run, *cases[c], args.backend, tmp)["wall_s"] for v, run in variants.items()}
                 for c in cases}
        runs = {c: {v: [] for v in variants} for c in cases}
        for i in range(args.repeats):
            order = list(variants.items()) if i % 2 == 0 else list(variants.items())[::-1]
            for c in cases:
                for v, run in order:
                    runs[c][v].append(complete_once(run, *cases[c], args.backend, tmp))
                    print(f"repeat {i + 1}/{args.repeats} {c:14s} {v:8s} {runs[c][v][-1]['wall_s']:6.2f} s",
                          file=sys.stderr)
        warm_runs = {v: warm(run, *cases["64x64"], args.repeats) for v, run in variants.items()}

    def summary(rs: list[dict]) -> dict:
        med = {k: statistics.median(r[k] for r in rs) for k in ("wall_s", "load_s", "search_s", "blend_s")}
        return {**{f"{k}_median": v for k, v in med.items()}, "iterations": rs[0]["iterations"],
                "restarts": rs[0]["restarts"], "engine": rs[0]["engine"], "runs": rs}
    result = {"machine": platform.processor() or platform.machine(), "cores": os.cpu_count(),
              "python": platform.python_version(), "date": time.strftime("%Y-%m-%d"),
              "command": " ".join(sys.argv), "variants": {k: [str(src), search] for k, (src, search) in variants.items()},
              "from_process_start": {c: {v: {**summary(rs), "first_run_s": first[c][v]} for v, rs in by.items()}
                                     for c, by in runs.items()},
              "warm_64x64": warm_runs}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))

    print("| case | variant | search | end to end (s), median | first run (s) | of which: load (s) | search (s) | blend (s) |")
    print("|---|---|---|---|---|---|---|---|")
    for c, by in result["from_process_start"].items():
        for v, s in by.items():
            print(f"| {c} | {v} | {s['restarts']} x {s['iterations']} | {s['wall_s_median']:.2f} | "
                  f"{s['first_run_s']:.2f} | {s['load_s_median']:.2f} | {s['search_s_median']:.2f} | "
                  f"{s['blend_s_median']:.3f} |")
    print("\n| variant | `Inpainter.complete` warm, 64x64: median (s) | min-max (s) |")
    print("|---|---|---|")
    for v, w in warm_runs.items():
        print(f"| {v} | {w['median_s']:.3f} | {min(w['times_s']):.3f}-{max(w['times_s']):.3f} |")


if __name__ == "__main__":
    main()
