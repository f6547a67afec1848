"""The framer's results on the photos its thresholds were chosen on, and on the others.

    python experiments/framing_split.py runs/framing/framing300_scales.json [--chosen-on 100]

The framer's terms for squares guessed around the hole (min_face_around, max_moved in
runtime/framing/settings.py) were chosen on the photos that `inpaint-eval --photos ... -n 100` draws (seed
0). This prints the found rate and the share within IoU 0.8 of the true square on those photos and
on the rest, from a --framing-only JSON of all the photos, so the two can be compared.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from inpaint.eval.photo_problems import FACE_HOLES, OFF_FACE_HOLES, read_photos
from inpaint.eval.photos_report import GOOD_IOU


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("results", type=Path, help="a JSON written by inpaint-eval --photos ... --framing-only --json")
    p.add_argument("--chosen-on", type=int, default=100, help="the -n the terms were chosen with")
    args = p.parse_args()
    results = json.loads(args.results.read_text())
    chosen = {ph.name for ph in read_photos(results["settings"]["photos"], args.chosen_on, results["settings"]["seed"])}
    print("| photos | hole | problems | found | IoU ≥ 0.8 |\n|---|---|---|---|---|")
    for label, keep in ((f"the {len(chosen)} the terms were chosen on", lambda r: r["photo"] in chosen),
                        ("the others", lambda r: r["photo"] not in chosen)):
        for group, kinds in (("face holes", FACE_HOLES), ("off-face holes", OFF_FACE_HOLES)):
            records = [r for r in results["records"] if keep(r) and r["hole"] in kinds]
            if not records:
                continue
            found = np.mean([r["framing"]["how"] == "found" for r in records])
            good = np.mean([r["framing"]["iou"] >= GOOD_IOU for r in records])
            print(f"| {label} | {group} | {len(records)} | {found:.1%} | {good:.1%} |")


if __name__ == "__main__":
    main()
