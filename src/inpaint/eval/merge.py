"""One evaluation from several: the parts of one draw (one per mask, say) side by side, or the
disjoint shards of a draw joined image by image."""
from __future__ import annotations

import numpy as np

from inpaint.eval.harness import entry


def merge_results(results: list[dict]) -> dict:
    """One evaluation from several of the same images (one per mask, say): their tables and
    curves side by side, wall times summed, each part's settings under "parts"."""
    first = results[0]
    out = {**first, "table": {}, "curve": {}, "wall_seconds": 0.0, "parts": []}
    for r in results:
        if r["images"] != first["images"]:
            raise ValueError("these evaluations scored different images; merge only runs of one draw")
        for key in ("table", "curve"):
            for kind, methods in r.get(key, {}).items():
                clash = set(methods) & set(out[key].get(kind, {}))
                if clash:
                    raise ValueError(f"{kind}/{', '.join(sorted(clash))} is in more than one file")
                out[key].setdefault(kind, {}).update(methods)
        out["wall_seconds"] += r["wall_seconds"]
        out["parts"].append(r["settings"])
        for k, v in r.get("faces", {}).items():      # the same truths: a part with KID adds its floor
            out.setdefault("faces", {}).setdefault(k, v)
    out["settings"] = {**first["settings"], "masks": list(out["table"])}
    if not out["curve"]:
        del out["curve"]
    return out


def join_shards(results: list[dict]) -> dict:
    """One evaluation from several of disjoint images with the same (mask, method) pairs (the
    shards of a draw, by --skip): per-image values joined in image order, means and spreads
    recomputed from them, times and iteration counts summed and joined, each shard's settings
    under "shards"."""
    first = results[0]
    images = [i for r in results for i in r["images"]]
    if len(set(images)) != len(images):
        raise ValueError("these evaluations share images; join only disjoint shards of a draw")
    for r in results:
        for key in ("table", "curve"):
            if _pairs(r.get(key, {}), key == "curve") != _pairs(first.get(key, {}), key == "curve"):
                raise ValueError(f"the shards' {key}s differ in their (mask, method) pairs; "
                                 "join only runs of the same masks and methods")
    order = np.argsort(images, kind="stable")

    def joined(entries: list[dict]) -> dict:
        # KID is not kept: the shards' estimates do not add up to the whole set's, and their
        # descriptors are not in the files
        keys = list(entries[0]["per_image"])
        per_image = {m: [v for e in entries for v in e["per_image"][m]] for m in keys}
        out = entry({m: [per_image[m][i] for i in order] for m in keys})
        for timing in ("seconds", "face_seconds"):
            if timing in entries[0]:
                out[timing] = round(sum(e[timing] for e in entries), 2)
        if "iterations" in entries[0]:
            out["iterations"] = [k for e in entries for k in e["iterations"]]
        return out

    out = {**first, "images": [images[i] for i in order], "table": {},
           "wall_seconds": round(sum(r["wall_seconds"] for r in results), 1),
           "shards": [r.get("parts", [r["settings"]]) for r in results]}
    out.pop("parts", None)
    for kind, methods in first["table"].items():
        out["table"][kind] = {m: joined([r["table"][kind][m] for r in results]) for m in methods}
    if "curve" in first:
        out["curve"] = {kind: {m: {k: joined([r["curve"][kind][m][k] for r in results]) for k in ks}
                               for m, ks in methods.items()} for kind, methods in first["curve"].items()}
    out["settings"] = {**first["settings"], "n": len(images), "skip": min(r["settings"]["skip"] for r in results)}
    out.pop("faces", None)
    if all("faces" in r for r in results):    # KID's reference and floor do not join (see joined)
        weights = [len(r["images"]) for r in results]
        out["faces"] = {"work_side": first["faces"]["work_side"],
                        "found": float(np.average([r["faces"]["found"] for r in results], weights=weights)),
                        "truth_seconds": round(sum(r["faces"]["truth_seconds"] for r in results), 2)}
    return out


def _pairs(section: dict, curve: bool) -> set:
    """The (mask, method) pairs of a table, or of a curve with its iteration counts."""
    return {(kind, m, tuple(sorted(v)) if curve else ()) for kind, methods in section.items() for m, v in methods.items()}
