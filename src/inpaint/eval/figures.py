"""Figures of an evaluation: comparison grids (one row per image; columns input with the hole
shown grey, each method, truth) and quality-against-iterations curves."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from inpaint.grid import make_grid
from inpaint.atomic import write_atomic

HOLE_GREY = 128


def comparison_grid(path: Path, truth: np.ndarray, known: np.ndarray, filled: dict[str, np.ndarray],
                    scale: int = 2) -> None:
    """truth uint8 (N, R, R, 3), known (N, R, R) 1 = known, filled {method: uint8 (N, R, R, 3)}."""
    masked = np.where(known[..., None] > 0.5, truth, np.uint8(HOLE_GREY))
    columns = [masked, *filled.values(), truth]
    tiles = np.stack([col[i] for i in range(len(truth)) for col in columns])
    grid = Image.fromarray(make_grid(tiles, ncol=len(columns)))
    grid = grid.resize((grid.width * scale, grid.height * scale), Image.NEAREST)
    # a header row naming the columns
    names = ["input", *filled.keys(), "truth"]
    header = Image.new("RGB", (grid.width, 16), "white")
    draw = ImageDraw.Draw(header)
    tile = grid.width / len(columns)
    for c, name in enumerate(names):
        draw.text((c * tile + 4, 2), name, fill="black")
    sheet = Image.new("RGB", (grid.width, grid.height + 16), "white")
    sheet.paste(header, (0, 0))
    sheet.paste(grid, (0, 16))
    write_atomic(path, lambda tmp: sheet.save(tmp, format="PNG"))


def _spaced_labels(ticks: list[int], ratio: float = 1.5) -> list[str]:
    """Tick labels on a log axis, from the largest tick down, blank where a tick lies within
    `ratio` of the last labelled one (750 next to 1000), so that no two labels run together."""
    labels, last = [], None
    for k in sorted(ticks, reverse=True):
        keep = last is None or k * ratio <= last
        labels.append(str(k) if keep else "")
        last = k if keep else last
    return labels[::-1]


def quality_curve(path: Path, results: dict) -> None:
    """PSNR and SSIM of ours/se against Adam iterations, one column per mask; the classical
    baselines of the same run as dashed horizontal lines. Needs an evaluation run with a curve."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    curve = results.get("curve")
    if not curve:
        raise ValueError("these results have no curve: evaluate with curve iterations set")
    kinds = list(curve)
    fig, axes = plt.subplots(2, len(kinds), figsize=(4.2 * len(kinds), 6.4), squeeze=False)
    for c, kind in enumerate(kinds):
        table = results["table"][kind]
        for r, (metric, label) in enumerate((("psnr", "PSNR (dB)"), ("ssim", "SSIM"))):
            ax = axes[r, c]
            ticks = sorted({int(k) for points in curve[kind].values() for k in points})
            for method, points in curve[kind].items():
                its = sorted(int(k) for k in points)
                ax.plot(its, [points[k if k in points else str(k)][metric]["mean"] for k in its],
                        marker="o", label=method)
            for i, (method, row) in enumerate(t for t in table.items() if t[0] not in curve[kind]):
                ax.axhline(row[metric]["mean"], ls="--", lw=1, color=f"C{i + len(curve[kind])}", label=method)
            ax.set_xscale("log")
            ax.set_xticks(ticks, _spaced_labels(ticks), minor=False)
            ax.minorticks_off()
            ax.set_xlabel("Adam iterations on z")
            ax.set_ylabel(label)
            ax.set_title(f"{kind} mask, {len(results['images'])} images")
            ax.grid(alpha=0.3)
    axes[0, 0].legend(fontsize=8)
    fig.tight_layout()
    write_atomic(path, lambda tmp: fig.savefig(tmp, format="png", dpi=110))
    plt.close(fig)
