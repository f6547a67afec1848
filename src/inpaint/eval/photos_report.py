"""Tables and grids of the photo evaluation: quality per (set, hole kind, method), how well the
framer finds the true square, paired differences of the framings, and comparison pictures."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from inpaint.eval.photo_problems import FACE_HOLES, OFF_FACE_HOLES

METRICS = ("psnr_hole", "ssim_hole", "identity", "landmarks")   # those the records hold
FACE_NAMES = {"identity": "identity distance", "landmarks": "landmark error"}
GOOD_IOU = 0.8
# what the framer must reach on face holes: found over all sets, and IoU ≥ GOOD_IOU for each hole
# kind in each set (the acceptance check)
ACCEPT_FOUND, ACCEPT_GOOD_IOU = 0.97, 0.90
CELL = (150, 180)                # a grid tile's (W, H); a photo is scaled to fit and centred
HOLE_GREY = 128
TRUE_COLOUR, FOUND_COLOUR = (0, 200, 0), (255, 140, 0)


def groups(holes: tuple[str, ...]) -> list[tuple[str, list[str]]]:
    """Each hole kind alone, then the face and off-face kinds pooled where two or more ran."""
    out = [(kind, [kind]) for kind in holes]
    for label, kinds in (("face holes", FACE_HOLES), ("off-face holes", OFF_FACE_HOLES)):
        present = [k for k in kinds if k in holes]
        if len(present) >= 2:
            out.append((label, present))
    return out


def quality_entry(records: list[dict], method: str) -> dict:
    """Mean and std of each metric over the records, and the per-image values (in record order,
    the same for every method, so two methods' lists pair up)."""
    per_image = {m: [r["scores"][method][m] for r in records] for m in METRICS if m in records[0]["scores"][method]}
    return {**{m: {"mean": float(np.mean(v)), "std": float(np.std(v))} for m, v in per_image.items()},
            "per_image": per_image}


def framing_stats(records: list[dict]) -> dict:
    """Found rate, the IoU with the true square (0 where the framer fell back), and its time."""
    how = [r["framing"]["how"] for r in records]
    iou = np.array([r["framing"]["iou"] for r in records])
    seconds = [r["framing"]["seconds"] for r in records]
    return {"n": len(records), "found": float(np.mean([h == "found" for h in how])),
            "iou_median": float(np.median(iou)), "iou_good": float(np.mean(iou >= GOOD_IOU)),
            "seconds_median": float(np.median(seconds))}


def summarise(records: list[dict], s) -> dict:
    """{"table": {set: {hole or pool: {method: entry}}}, "framing": {set: {...: stats},
    "all sets": {pool: stats}}}, each part present only where its records have it. Where the
    problems ran at several sizes (s.scales), each set and "all sets" is named with its scale
    ("aligned 25x")."""
    table: dict = {}
    framing: dict = {}
    scales = tuple(getattr(s, "scales", (1.0,)))
    named = (lambda label, scale: label) if scales == (1.0,) else (lambda label, scale: f"{label} {scale:g}x")
    for scale in scales:
        at = [r for r in records if r.get("scale", 1.0) == scale]
        for set_name in s.sets:
            for label, kinds in groups(s.holes):
                chosen = [r for kind in kinds for r in at if r["set"] == set_name and r["hole"] == kind]
                if chosen and "scores" in chosen[0]:
                    table.setdefault(named(set_name, scale), {})[label] = {m: quality_entry(chosen, m)
                                                                           for m in chosen[0]["scores"]}
                if chosen and "framing" in chosen[0]:
                    framing.setdefault(named(set_name, scale), {})[label] = framing_stats(chosen)
    for scale in scales:
        for label, kinds in (("face holes", FACE_HOLES), ("off-face holes", OFF_FACE_HOLES)):
            chosen = [r for r in records if r["hole"] in kinds and "framing" in r and r.get("scale", 1.0) == scale]
            if chosen:
                framing.setdefault(named("all sets", scale), {})[label] = framing_stats(chosen)
    out = {"table": table}
    if framing:
        out["framing"] = framing
    return out


def markdown_quality(results: dict) -> str:
    """Per set: one row per hole kind (and pool), a column per method of PSNR / SSIM over the hole."""
    blocks = []
    for set_name, rows in results["table"].items():
        methods = list(next(iter(rows.values())))
        lines = [f"{set_name}: PSNR (dB) / SSIM over the hole, mean over the photos", "",
                 "| hole | " + " | ".join(methods) + " |", "|---|" + "---|" * len(methods)]
        for label, entry in rows.items():
            cells = [f"{entry[m]['psnr_hole']['mean']:.2f} / {entry[m]['ssim_hole']['mean']:.3f}" for m in methods]
            lines.append(f"| {label} | " + " | ".join(cells) + " |")
        blocks.append("\n".join(lines))
        faces = [k for k in ("identity", "landmarks") if k in next(iter(rows.values()))[methods[0]]]
        if faces:
            lines = [f"{set_name}: {' / '.join(FACE_NAMES[k] for k in faces)} (lower is better), mean over "
                     "the photos", "", "| hole | " + " | ".join(methods) + " |", "|---|" + "---|" * len(methods)]
            for label, entry in rows.items():
                cells = [" / ".join(f"{entry[m][k]['mean']:.3f}" for k in faces) for m in methods]
                lines.append(f"| {label} | " + " | ".join(cells) + " |")
            blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def markdown_framing(results: dict) -> str:
    lines = ["| set | hole | photos | found | median IoU | IoU ≥ 0.8 | median time (ms) |",
             "|---|---|---|---|---|---|---|"]
    for set_name, rows in results["framing"].items():
        for label, f in rows.items():
            lines.append(f"| {set_name} | {label} | {f['n']} | {f['found']:.1%} | {f['iou_median']:.3f} | "
                         f"{f['iou_good']:.1%} | {1000 * f['seconds_median']:.0f} |")
    return "\n".join(lines)


def markdown_framing_by_size(results: dict) -> str:
    """One row per hole kind (and pool), one column per set at each size: the share within IoU
    GOOD_IOU of the true square, and in brackets the share framed at all."""
    columns = [name for name in results["framing"] if not name.startswith("all sets")]
    labels = list(dict.fromkeys(label for name in columns for label in results["framing"][name]))
    lines = ["| hole | " + " | ".join(columns) + " |", "|---|" + "---|" * len(columns)]
    for label in labels:
        cells = [results["framing"][name].get(label) for name in columns]
        lines.append(f"| {label} | " + " | ".join("" if f is None else f"{f['iou_good']:.1%} ({f['found']:.0%})"
                                                  for f in cells) + " |")
    return "\n".join(lines)


def acceptance(results: dict) -> str | None:
    """One line: the framer against the acceptance thresholds: every face hole kind, in every set
    and at every scale, within IoU GOOD_IOU of the true square for ACCEPT_GOOD_IOU of the photos,
    and a square found for ACCEPT_FOUND of the face holes over all sets; the weakest named."""
    framing = results.get("framing", {})
    cells = [(f"{name} {kind}", stats) for name, rows in framing.items() if not name.startswith("all sets")
             for kind, stats in rows.items() if kind in FACE_HOLES]
    pooled = [stats["face holes"] for name, stats in framing.items()
              if name.startswith("all sets") and "face holes" in stats]
    if not cells or not pooled:
        return None
    weakest, w = min(cells, key=lambda c: c[1]["iou_good"])
    found = min(p["found"] for p in pooled)
    ok = w["iou_good"] >= ACCEPT_GOOD_IOU and found >= ACCEPT_FOUND
    return (f"face holes: IoU ≥ {GOOD_IOU} for at least {w['iou_good']:.1%} of each kind, set and scale "
            f"(needs ≥ {ACCEPT_GOOD_IOU:.0%}; weakest: {weakest}), found for at least {found:.1%} "
            f"(needs ≥ {ACCEPT_FOUND:.0%}): {'pass' if ok else 'FAIL'}")


def markdown_paired(results: dict, pairs=(("found", "whole"), ("found", "true"))) -> str | None:
    """found − whole and found − true in PSNR over the hole (and in identity distance where it was
    measured), paired over the same photos."""
    from inpaint.eval.harness import paired
    pairs = [(a, b) for a, b in pairs
             if any(a in e and b in e for rows in results["table"].values() for e in rows.values())]
    if not pairs:
        return None
    first = next(iter(next(iter(results["table"].values())).values()))[pairs[0][0]]["per_image"]
    measures = [m for m in ("psnr_hole", "identity") if m in first]
    names = {"psnr_hole": "PSNR {a} − {b} (dB)", "identity": "identity {a} − {b}"}
    lines = ["| set | hole | " + " | ".join(f"{names[m].format(a=a, b=b)} | {a} better" for m in measures
                                         for a, b in pairs) + " |",
             "|---|---|" + "---|---|" * len(pairs) * len(measures)]
    for set_name, rows in results["table"].items():
        for label, entry in rows.items():
            if len(entry[pairs[0][0]]["per_image"]["psnr_hole"]) < 2:
                continue
            cells = []
            for m in measures:
                for a, b in pairs:
                    d = paired(entry[a], entry[b], m)
                    digits = 2 if m == "psnr_hole" else 3
                    cells.append(f"{d['mean']:+.{digits}f} ± {d['ci95']:.{digits}f} | {d['wins']:.0%}")
            lines.append(f"| {set_name} | {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines) if len(lines) > 2 else None


def markdown_outside(results: dict, other: str = "whole") -> str | None:
    """The fill of hole pixels past the found square (Telea) against `other`'s pixels there:
    PSNR over those pixels only, paired over the problems that have any."""
    from inpaint.eval.harness import paired
    lines = [f"| set | hole | problems | outside pixels (median) | Telea (dB) | {other} (dB) | "
             f"Telea − {other} (dB) | Telea better |", "|---|---|---|---|---|---|---|---|"]
    for set_name in dict.fromkeys(r["set"] for r in results["records"]):
        for label, kinds in groups(tuple(dict.fromkeys(r["hole"] for r in results["records"]))):
            chosen = [r for r in results["records"] if r["set"] == set_name and r["hole"] in kinds
                      and "outside" in r and other in r["outside"]["psnr"]
                      and np.isfinite([r["outside"]["psnr"]["found"], r["outside"]["psnr"][other]]).all()]
            if len(chosen) < 2:
                continue
            a = {"per_image": {"psnr": [r["outside"]["psnr"]["found"] for r in chosen]}}
            b = {"per_image": {"psnr": [r["outside"]["psnr"][other] for r in chosen]}}
            d = paired(a, b, "psnr")
            lines.append(f"| {set_name} | {label} | {len(chosen)} | "
                         f"{np.median([r['outside']['pixels'] for r in chosen]):.0f} | "
                         f"{np.mean(a['per_image']['psnr']):.2f} | {np.mean(b['per_image']['psnr']):.2f} | "
                         f"{d['mean']:+.2f} ± {d['ci95']:.2f} | {d['wins']:.0%} |")
    return "\n".join(lines) if len(lines) > 2 else None


def photo_grid(path: Path, problems: list, fills: dict[str, list[np.ndarray]], records: list[dict]) -> None:
    """One row per problem: input with the hole grey, each method's fill, truth; the true square
    (green) on the input and true columns, the found one (orange) on the input and found columns."""
    from PIL import Image, ImageDraw
    from inpaint.atomic import write_atomic
    names = ["input", *fills, "truth"]
    header = 16
    sheet = Image.new("RGB", (CELL[0] * len(names), header + CELL[1] * len(problems)), "white")
    draw = ImageDraw.Draw(sheet)
    for c, name in enumerate(names):
        draw.text((c * CELL[0] + 4, 2), name, fill="black")
    for r, (p, record) in enumerate(zip(problems, records)):
        found = record.get("framing", {}).get("box")
        columns = [np.where(p.hole[..., None], np.uint8(HOLE_GREY), p.rgb), *(f[r] for f in fills.values()), p.rgb]
        for c, (name, pixels) in enumerate(zip(names, columns)):
            h, w = pixels.shape[:2]
            f = min(CELL[0] / w, CELL[1] / h)
            tile = Image.fromarray(pixels).resize((max(1, round(w * f)), max(1, round(h * f))), Image.BICUBIC)
            x0 = c * CELL[0] + (CELL[0] - tile.width) // 2
            y0 = header + r * CELL[1] + (CELL[1] - tile.height) // 2
            sheet.paste(tile, (x0, y0))
            boxes = [(p.box.to_list(), TRUE_COLOUR)] if name in ("input", "true") else []
            boxes += [(found, FOUND_COLOUR)] if found and name in ("input", "found") else []
            for (bx, by, side), colour in boxes:   # clipped to the tile: a square may reach past the photo
                left, top = max(x0, x0 + bx * f), max(y0, y0 + by * f)
                right = min(x0 + tile.width - 1, x0 + (bx + side) * f)
                bottom = min(y0 + tile.height - 1, y0 + (by + side) * f)
                if left < right and top < bottom:
                    draw.rectangle([left, top, right, bottom], outline=colour, width=2)
    write_atomic(path, lambda tmp: sheet.save(tmp, format="PNG"))
