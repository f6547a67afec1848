"""The crop evaluation's results as markdown: quality per (mask, method), the paper's averaged table,
face measures with KID, paired comparisons and quality against iterations."""
from __future__ import annotations

import numpy as np

from inpaint.eval.faces import SAME_PERSON
from inpaint.eval.fills import GAN_METHODS, label
from inpaint.eval.harness import METRICS, paired

PAIRED = {"psnr": ("PSNR {a} − {b} (dB)", "+.3f"), "ssim": ("SSIM {a} − {b}", "+.4f"),
          "identity": ("identity distance {a} − {b}", "+.4f"), "landmarks": ("landmark error {a} − {b}", "+.4f")}
KID_SCALE = 1000                        # KID is printed x 10^3


def comparisons(results: dict) -> list[tuple[str, str]]:
    """The pairs worth comparing in a run: each GAN method from the encoder against itself from
    random z, ours against se from the same start, and ours against gl."""
    names = {n for methods in results["table"].values() for n in methods}
    inits = results["settings"].get("inits", ["random"])
    pairs = [(label(m, i), m) for m in GAN_METHODS for i in inits if i != "random"]
    pairs += [(label("ours", i), label("se", i)) for i in inits]
    pairs += [(label("ours", i), "gl") for i in inits]
    return [(a, b) for a, b in pairs if a in names and b in names]


def markdown_paired(results: dict, a: str = "ours", b: str = "se") -> str:
    """One row per mask where both methods ran: a - b in each measure both have per image (mean ±
    95% CI, and the share of images where a is better: lower identity distance and landmark error)."""
    measures = [m for m in PAIRED if any(m in e.get("per_image", {}) for ms in results["table"].values()
                                         for e in ms.values())]
    lines = ["| mask | " + " | ".join(f"{PAIRED[m][0].format(a=a, b=b)} | {a} better" for m in measures) + " |",
             "|---|" + "---|---|" * len(measures)]
    for kind, methods in results["table"].items():
        if a in methods and b in methods:
            cells = []
            for m in measures:
                d = paired(methods[a], methods[b], m)
                cells.append(f"{d['mean']:{PAIRED[m][1]}} ± {d['ci95']:{PAIRED[m][1][1:]}} | {d['wins']:.0%}")
            lines.append(f"| {kind} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def markdown_table(results: dict) -> str | None:
    """One row per (mask, method): mean +- std of the pixel measures, whole image and hole, and the
    method's time; None where no pixel measure ran."""
    names = {"psnr": "PSNR (dB)", "ssim": "SSIM", "psnr_hole": "PSNR hole (dB)", "ssim_hole": "SSIM hole"}
    keys = [m for m in METRICS if any(m in e for ms in results["table"].values() for e in ms.values())]
    if not keys:
        return None
    lines = ["| mask | method | " + " | ".join(names[k] for k in keys) + " | time (s) |",
             "|---|---|" + "---|" * (len(keys) + 1)]
    for kind, methods in results["table"].items():
        for method, r in methods.items():
            cells = [f"{r[m]['mean']:.2f} ± {r[m]['std']:.2f}" if m.startswith("psnr")
                     else f"{r[m]['mean']:.3f} ± {r[m]['std']:.3f}" for m in keys]
            lines.append(f"| {kind} | {method} | " + " | ".join(cells) + f" | {r['seconds']:.0f} |")
    return "\n".join(lines)


def markdown_faces(results: dict) -> str | None:
    """One row per (mask, method) of the face measures: identity distance (mean ± std, and the share
    of images dlib would call the same person), landmark error (mean ± std, over the inter-ocular
    distance) and KID x 10^3 with its 95% interval, then the truth's own KID (the floor); None
    where no face measure ran."""
    rows = [(kind, method, r) for kind, methods in results["table"].items() for method, r in methods.items()
            if "identity" in r or "landmarks" in r or "kid" in r]
    if not rows:
        return None
    lines = [f"| mask | method | identity distance | same person (< {SAME_PERSON}) | landmark error | "
             f"KID x 10³ [95%] | measures' time (s) |", "|---|---|---|---|---|---|---|"]
    for kind, method, r in rows:
        identity = (f"{r['identity']['mean']:.3f} ± {r['identity']['std']:.3f} | "
                    f"{np.mean(np.asarray(r['per_image']['identity']) < SAME_PERSON):.1%}"
                    if "identity" in r else " | ")
        landmarks = f"{r['landmarks']['mean']:.4f} ± {r['landmarks']['std']:.4f}" if "landmarks" in r else ""
        lines.append(f"| {kind} | {method} | {identity} | {landmarks} | {_kid(r.get('kid'))} | "
                     f"{r['face_seconds']:.0f} |")
    faces = results.get("faces", {})
    notes = [f"Faces found by dlib's detector on {faces['found']:.1%} of the truths "
             f"(the typical box of the crop elsewhere); images scaled to {faces['work_side']} px."]
    if "truth_kid" in faces:
        ref = faces["kid_reference"]
        notes.append(f"KID's reference: {ref['n']} real faces of {ref['data']} that are not evaluated; "
                     f"the truths' own KID against them (the floor): {_kid(faces['truth_kid'])}.")
    return "\n".join(lines) + "\n\n" + " ".join(notes)


def _kid(k: dict | None) -> str:
    if k is None:
        return ""
    return f"{KID_SCALE * k['value']:.2f} [{KID_SCALE * k['low']:.2f}, {KID_SCALE * k['high']:.2f}]"


def markdown_averaged(results: dict, kinds: tuple[str, ...] = ("center", "pattern")) -> str | None:
    """The paper's table: per method, PSNR and SSIM (whole image) averaged over the center and
    pattern masks (the mean of the two masks' means); None unless both masks were run with both."""
    table = results["table"]
    if not all(k in table for k in kinds):
        return None
    methods = [m for m in table[kinds[0]] if all(m in table[k] and "psnr" in table[k][m] and "ssim" in table[k][m]
                                                 for k in kinds)]
    if not methods:
        return None
    lines = [f"| method | PSNR (dB), mean of {' and '.join(kinds)} | SSIM, mean of {' and '.join(kinds)} |",
             "|---|---|---|"]
    for m in methods:
        psnr_avg = np.mean([table[k][m]["psnr"]["mean"] for k in kinds])
        ssim_avg = np.mean([table[k][m]["ssim"]["mean"] for k in kinds])
        lines.append(f"| {m} | {psnr_avg:.2f} | {ssim_avg:.3f} |")
    return "\n".join(lines)


def markdown_curve(results: dict) -> str:
    """One row per (mask, method) of the curve: PSNR / SSIM of the whole image at each iteration
    count measured; blank where that method stopped earlier."""
    rows = [(kind, method, {int(k): v for k, v in ks.items()})          # JSON makes the counts strings
            for kind, methods in results["curve"].items() for method, ks in methods.items()]
    counts = sorted({k for *_, ks in rows for k in ks})
    lines = ["| mask | method | " + " | ".join(map(str, counts)) + " |", "|---|---|" + "---|" * len(counts)]
    for kind, method, ks in rows:
        cells = [f"{ks[k]['psnr']['mean']:.2f} / {ks[k]['ssim']['mean']:.3f}" if k in ks and "psnr" in ks[k]
                 else "" for k in counts]
        lines.append(f"| {kind} | {method} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def report(results: dict) -> str:
    """Every table a run has, as inpaint-eval prints them."""
    blocks = [t for t in (markdown_table(results),) if t]
    faces = markdown_faces(results)
    if faces:
        blocks.append("Face measures (dlib; identity distance, landmark error and KID: lower is better):\n\n" + faces)
    averaged = markdown_averaged(results)
    if averaged:
        blocks.append("Averaged over the center and pattern masks (the paper's table):\n\n" + averaged)
    n = len(results["images"])
    pairs = comparisons(results) if n > 1 else []
    if pairs:
        blocks.append("Paired over the same images (mean ± 95% confidence interval):\n\n"
                      + "\n\n".join(markdown_paired(results, a, b) for a, b in pairs))
    if "curve" in results:
        blocks.append("PSNR / SSIM (whole image) against iterations:\n\n" + markdown_curve(results))
    return "\n\n".join(blocks)
