"""What the benchmarks on the aligned CelebA sample photos (framing_latency.py, megapixel_cost.py)
share: where the photos are, and the arguments --photos, --repeats and --out."""
from __future__ import annotations

import argparse
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PHOTOS = REPO.parent / "shared" / "data" / "celeba_aligned_sample" / "img_align_celeba_sample.zip"


def photo_arguments(doc: str, out_name: str, repeats: int = 3) -> argparse.ArgumentParser:
    """A parser described by the first line of doc, with --photos (default the sample's zip),
    --repeats and --out (default benchmarks/results/OUT_NAME); the benchmark adds its own."""
    p = argparse.ArgumentParser(description=doc.splitlines()[0])
    p.add_argument("--photos", type=Path, default=PHOTOS, help="zip or folder of aligned 178x218 photos")
    p.add_argument("--repeats", type=int, default=repeats, help="timed runs of each case")
    p.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / out_name,
                   help="JSON file for the results")
    return p
