"""Time to find the framing of one photo: `Framer.find` on whole aligned CelebA photos (178x218)
with a hole on the face, as `inpaint-rt complete --framing auto` runs it.

    python benchmarks/framing_latency.py [--photos ../shared/data/celeba_aligned_sample/img_align_celeba_sample.zip]
                                         [--holes face,eyes,mouth,strokes] [--repeats 3]

The framer is built and warmed up once (its ONNX session and the cascades load lazily, like in
the CLI; that one-off cost is reported apart). Then every photo with every hole is framed
`repeats` times, photos in order; the table gives the median, p90 and maximum of each photo's
median time, and the share found. One thread for ONNX Runtime and OpenCV, the framer's setting.
Writes benchmarks/results/framing_latency_cpu.json and prints a markdown table.
"""
from __future__ import annotations

import json
import os
import platform
import time
from datetime import date

import numpy as np

from inpaint.bench.timing import median_seconds, summary

from _sample_photos import photo_arguments      # benchmarks/, beside this script


def main() -> None:
    p = photo_arguments(__doc__, "framing_latency_cpu.json")
    p.add_argument("--holes", default="face,eyes,mouth,strokes")
    args = p.parse_args()

    import cv2
    from inpaint.eval.photo_problems import make_hole, read_photos
    from inpaint.runtime.framing.decide import Framer
    cv2.setNumThreads(1)
    photos = [p.rgb for p in read_photos(args.photos, None, 0)]
    framer = Framer()
    t0 = time.perf_counter()
    framer.find(photos[0], make_hole("face", photos[0].shape[:2], 0, 0))
    first = time.perf_counter() - t0
    rows = {}
    for kind in args.holes.split(","):
        times, found = [], 0
        for i, photo in enumerate(photos):
            hole = make_hole(kind, photo.shape[:2], 0, i)
            framings = []
            times.append(median_seconds(lambda: framings.append(framer.find(photo, hole)), args.repeats))
            found += framings[-1].box is not None
        t = np.asarray(times) * 1000
        s = summary(t, (90,))
        rows[kind] = {"photos": len(photos), "found": found, "median_ms": s["median"], "p90_ms": s["p90"],
                      "max_ms": s["max"], "per_photo_ms": t.round(2).tolist()}
    result = {"date": date.today().isoformat(), "machine": f"{platform.processor() or platform.machine()}, "
              f"{os.cpu_count()} cores", "photos": str(args.photos), "repeats": args.repeats,
              "first_call_seconds": round(first, 3), "holes": rows}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1))
    print(f"first call (loading the network and the cascades): {first:.2f} s\n")
    print("| hole | photos | found | median (ms) | p90 (ms) | max (ms) |\n|---|---|---|---|---|---|")
    for kind, r in rows.items():
        print(f"| {kind} | {r['photos']} | {r['found']} | {r['median_ms']:.0f} | {r['p90_ms']:.0f} | {r['max_ms']:.0f} |")


if __name__ == "__main__":
    main()
