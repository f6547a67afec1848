"""How the terms for squares guessed around the hole were chosen: the framer with other terms.

    python scripts/framing_terms.py [--photos ZIP] [-n 100] [--out runs/framing_terms.json] [--reuse]

Where no detected face holds the hole, the framer (runtime/framing/decide.py) settles squares guessed
around the hole and keeps one only if the network's face probability is at least min_face_around;
every square kept, the detector's too, must have moved by at most max_moved in its last round
(the table varies that limit for all squares alike). This settles every guess (the detector's and
those around the hole) once on the first `-n` photos that inpaint-eval --photos draws (seed 0),
for every hole kind and both sets, keeps every settled square, and then replays the framer's
choice under each pair of terms, printing for face holes the share framed and the share within
IoU 0.8 of the true square, and for off-face holes the share framed (where falling back to the
whole image is right).
"""
from __future__ import annotations

import argparse
import itertools
import json
from pathlib import Path

import numpy as np
from tqdm import tqdm

from inpaint.eval.photo_problems import FACE_HOLES, HOLES, OFF_FACE_HOLES, SETS, problems, read_photos
from inpaint.eval.photos_report import GOOD_IOU
from inpaint.runtime.framing.decide import Framer, around_hole
from inpaint.runtime.framing.geometry import hole_inside, known_share
from inpaint.runtime.framing.settings import DEFAULT

REPO = Path(__file__).resolve().parents[1]
PHOTOS = REPO.parent / "shared" / "data" / "celeba_aligned_sample" / "img_align_celeba_sample.zip"
FACES = (0.5, 0.9, 0.99)
MOVES = (0.03, 0.05, 0.1, float("inf"))


def settle_all(photos, framer: Framer) -> list[dict]:
    """Every guess of every problem, settled: one row per square."""
    rows = []
    todo = [(s, kind) for s in SETS for kind in HOLES]
    with tqdm(total=len(todo) * len(photos), unit="photo") as bar:
        for set_name, kind in todo:
            for p in problems(photos, set_name, kind, 0):
                guesses = {"detector": [framer.detector.first_guess(d) for d in framer.detector.detect(p.rgb, p.hole)],
                           "around": around_hole(p.hole)}
                for source, boxes in guesses.items():
                    rounds = DEFAULT.rounds if source == "detector" else DEFAULT.rounds_around
                    for box, moved, face in framer.network.settle(p.rgb, p.hole, boxes, rounds):
                        if known_share(box, p.hole) >= DEFAULT.min_known:
                            rows.append({"set": set_name, "hole": kind, "photo": p.index, "source": source,
                                         "face": face, "moved": moved, "inside": hole_inside(box, p.hole),
                                         "iou": box.iou(p.box)})
                bar.update(1)
    return rows


def replay(rows: list[dict], min_face: float, max_moved: float, around: bool = True) -> dict[str, tuple]:
    """The framer's choice under these terms: (framed share, share within IoU 0.8) per hole group."""
    by_problem: dict[tuple, list[dict]] = {}
    for r in rows:
        by_problem.setdefault((r["set"], r["hole"], r["photo"]), []).append(r)
    outcome = {}
    for key, squares in by_problem.items():
        keep = [r for r in squares if r["source"] == "detector" and r["inside"] >= DEFAULT.min_hole_inside
                and r["face"] >= DEFAULT.min_face and r["moved"] <= max_moved]
        if not keep and around:
            keep = [r for r in squares if r["source"] == "around" and r["inside"] >= DEFAULT.min_hole_inside
                    and r["face"] >= min_face and r["moved"] <= max_moved]
        best = max(keep, key=lambda r: r["face"]) if keep else None
        outcome[key] = (best is not None, best["iou"] if best else 0.0)
    out = {}
    for group, kinds in (("face", FACE_HOLES), ("off", OFF_FACE_HOLES)):
        chosen = [v for k, v in outcome.items() if k[1] in kinds]
        out[group] = (np.mean([f for f, _ in chosen]), np.mean([i >= GOOD_IOU for _, i in chosen]))
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--photos", type=Path, default=PHOTOS)
    p.add_argument("-n", type=int, default=100)
    p.add_argument("--out", type=Path, default=REPO / "runs" / "framing_terms.json")
    p.add_argument("--reuse", action="store_true", help="replay the squares already settled in --out")
    args = p.parse_args()
    if args.reuse:
        rows = json.loads(args.out.read_text())
    else:
        rows = settle_all(read_photos(args.photos, args.n, 0), Framer())
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(rows))
    print("| guesses around the hole | min face (around the hole) | max moved (every square) | face holes framed | "
          "IoU ≥ 0.8 | off-face holes framed |")
    print("|---|---|---|---|---|---|")
    none = replay(rows, 1.0, DEFAULT.max_moved, around=False)
    print(f"| none | | | {none['face'][0]:.1%} | {none['face'][1]:.1%} | {none['off'][0]:.1%} |")
    for min_face, max_moved in itertools.product(FACES, MOVES):
        r = replay(rows, min_face, max_moved)
        mark = " (shipped)" if (min_face, max_moved) == (DEFAULT.min_face_around, DEFAULT.max_moved) else ""
        print(f"| kept{mark} | {min_face} | {max_moved} | {r['face'][0]:.1%} | {r['face'][1]:.1%} | {r['off'][0]:.1%} |")


if __name__ == "__main__":
    main()
