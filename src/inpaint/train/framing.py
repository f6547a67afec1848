"""The framing network: from a view of a face, where the model's training square lies (PyTorch).

The model's training images are a fixed square of aligned photos (CelebA: the center 108x108 of
the 178x218 img_align_celeba files). The network looks at a square *view* of a photo, somewhat
smaller than that square and roughly on it, with the hole blanked out and marked in a fourth
channel, and says where the training square lies relative to the view: its center's offset from
the view's center and its side, both in units of the view's side. The runtime starts from a face
detector's box and applies the network a few times, each view cut from its last answer.

Every training example is cut from a training crop itself (the crop *is* the training square),
with views of 0.5-0.95 of its side at offsets up to a quarter of it, the part of a view past the
crop's edge reflected in, and holes of the kinds users draw: so it learns only from the training
data's own framing, and never sees the photos it is evaluated on.
"""
from __future__ import annotations

import dataclasses
import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F
from tqdm import tqdm

VIEW = 32                    # side of the network's input
VIEW_RANGE = (0.45, 0.95)     # a view's side, as a fraction of the training square's
SHIFT = 0.25                 # a view's center is up to this fraction of the square's side off
NEGATIVE = 0.25              # share of views that show no framed face
LANDMARK_HOLES = 0.4         # share of crops whose hole hides the eyes (strokes) or most of the face (a block)
HIDING_BLOCK = (0.45, 0.72)  # such a block's side each way, as a fraction of the square's
LOW_RESOLUTION = 0.3         # share of crops seen at a lower resolution, scaled back up
BLUR_SIDES = (14, 48)        # the side, in pixels of a 64-pixel crop, they are reduced to
CHECKPOINT_EVERY = 500


class FramingNet(nn.Module):
    """(B, 4, 32, 32) view (RGB in [-1, 1], zero in the hole; then 1 = known) -> (B, 4): the
    training square's center offset (dx, dy) and log side, in units of the view's side, and a
    logit that the view is a face roughly framed (so that the other three mean something)."""

    def __init__(self, width: int = 64):
        super().__init__()
        w = width
        self.features = nn.Sequential(
            nn.Conv2d(4, w // 2, 4, 2, 1), nn.ReLU(),            # (B, w/2, 16, 16)
            nn.Conv2d(w // 2, w, 4, 2, 1), nn.ReLU(),            # (B, w, 8, 8)
            nn.Conv2d(w, w, 3, 1, 1), nn.ReLU(),                 # (B, w, 8, 8)
            nn.Conv2d(w, 2 * w, 4, 2, 1), nn.ReLU(),             # (B, 2w, 4, 4)
        )
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(16 * 2 * w, 128), nn.ReLU(), nn.Linear(128, 4))

    def forward(self, view: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(view))


def random_holes(n: int, r: int, rng: np.random.Generator, landmark_holes: float = LANDMARK_HOLES,
                 hiding_block: tuple[float, float] = HIDING_BLOCK) -> np.ndarray:
    """(n, r, r) bool holes on aligned crops. Most crops get none, or one or two blocks (mostly
    on the face) and free-form strokes; a `landmark_holes` share gets a hole that hides the
    landmarks the framing is read from: one or two brush strokes across both eyes and brows, or a
    block over the eyes, nose and mouth of `hiding_block` (low, high) of the square's side each way."""
    holes = np.zeros((n, r, r), bool)
    yy, xx = np.mgrid[0:r, 0:r]
    for i in range(n):
        if rng.random() < landmark_holes:
            if rng.random() < 0.5:      # a block over the middle of the face
                h, w = (rng.uniform(*hiding_block, 2) * r).astype(int) + 1
                cy, cx = rng.normal([0.58, 0.5], [0.06, 0.04]) * r
                holes[i, max(0, int(cy - h / 2)):int(cy + h / 2), max(0, int(cx - w / 2)):int(cx + w / 2)] = True
            else:                       # strokes across the eyes and brows, as a person brushes them
                y = rng.uniform(0.36, 0.5) * r
                for _ in range(rng.integers(1, 3)):
                    x0, x1 = rng.uniform(0.05, 0.25) * r, rng.uniform(0.75, 0.95) * r
                    y0, y1 = y + rng.normal(0, 0.02, 2) * r
                    _stroke(holes[i], [(y0, x0), (y1, x1)], rng.uniform(0.05, 0.09) * r, yy, xx)
                    y += rng.uniform(0.08, 0.14) * r
            continue
        for _ in range(rng.integers(0, 3)):
            if rng.random() < 0.7:      # a block, mostly on the face
                h, w = (rng.uniform(0.08, 0.6, 2) * r).astype(int) + 1
                cy, cx = rng.normal([0.55, 0.5], [0.18, 0.15]) * r
                holes[i, max(0, int(cy - h / 2)):int(cy + h / 2), max(0, int(cx - w / 2)):int(cx + w / 2)] = True
            else:                       # a stroke: a thick polyline
                pts = rng.uniform(0.15, 0.85, (rng.integers(2, 5), 2)) * r
                _stroke(holes[i], pts, rng.uniform(0.03, 0.1) * r, yy, xx)
    return holes


def _stroke(hole: np.ndarray, points, width: float, yy: np.ndarray, xx: np.ndarray) -> None:
    """Marks in hole (r, r) the pixels within `width` of the polyline through points (y, x)."""
    for (y0, x0), (y1, x1) in zip(points[:-1], points[1:]):
        t = np.clip(((yy - y0) * (y1 - y0) + (xx - x0) * (x1 - x0)) /
                    max((y1 - y0) ** 2 + (x1 - x0) ** 2, 1e-6), 0, 1)
        hole |= (yy - y0 - t * (y1 - y0)) ** 2 + (xx - x0 - t * (x1 - x0)) ** 2 <= width ** 2


def blurred(x: torch.Tensor, rng: np.random.Generator, share: float = LOW_RESOLUTION) -> torch.Tensor:
    """x (B, C, R, R) with a `share` of its images reduced to BLUR_SIDES pixels
    (area average) and scaled back (bilinear): a face from a small photo, upscaled, as the
    runtime sees it."""
    r = x.shape[-1]
    x = x.clone()
    for i in np.flatnonzero(rng.random(len(x)) < share):
        side = int(rng.integers(BLUR_SIDES[0], BLUR_SIDES[1] + 1))
        small = F.interpolate(x[i:i + 1], size=(side, side), mode="area")
        x[i:i + 1] = F.interpolate(small, size=(r, r), mode="bilinear", align_corners=False)
    return x


def training_batch(crops: torch.Tensor, rng: np.random.Generator,
                   negatives: torch.Tensor | None = None, landmark_holes: float = LANDMARK_HOLES,
                   low_resolution: float = LOW_RESOLUTION, hiding_block: tuple[float, float] = HIDING_BLOCK
                   ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """crops: uint8 (B, R, R, 3) training squares -> views (B, 4, 32, 32), targets (B, 3) and
    labels (B,): 1 for a view of the face as the runtime cuts them; 0 (a NEGATIVE share) for a
    view of a small part of a crop (skin, hair, background), or of `negatives` (uint8
    (N, R, R, 3) images without faces) at the usual size."""
    b, r = crops.shape[0], crops.shape[1]
    size = rng.uniform(*VIEW_RANGE, b)                         # view side / square side
    center = rng.uniform(-SHIFT, SHIFT, (b, 2))                # view center - square center, / square side
    label = rng.random(b) >= NEGATIVE
    part = ~label & (rng.random(b) < 0.5 if negatives is not None else ~label)
    size[part] = rng.uniform(0.12, 0.3, part.sum())            # a small part of the crop, anywhere in it
    center[part] = rng.uniform(-0.5, 0.5, (part.sum(), 2)) * (1 - size[part, None])
    if negatives is not None:
        other = ~label & ~part
        crops = crops.clone()
        crops[torch.from_numpy(other)] = negatives[torch.from_numpy(rng.integers(0, len(negatives), other.sum()))]
    flip = rng.random(b) < 0.5
    x = blurred(crops.permute(0, 3, 1, 2).float() / 127.5 - 1, rng, low_resolution)   # (B, 3, R, R)
    hole = torch.from_numpy(random_holes(b, r, rng, landmark_holes, hiding_block)).float()[:, None]
    x = torch.cat([x * (1 - hole), 1 - hole], 1)               # (B, 4, R, R)
    x = torch.where(torch.from_numpy(flip)[:, None, None, None], x.flip(3), x)
    theta = torch.zeros(b, 2, 3)                               # view coords [-1, 1] -> square coords [-1, 1]
    theta[:, 0, 0] = theta[:, 1, 1] = torch.from_numpy(size).float()
    theta[:, :, 2] = torch.from_numpy(2 * center).float()
    grid = F.affine_grid(theta, (b, 4, VIEW, VIEW), align_corners=False)
    views = F.grid_sample(x, grid, mode="bilinear", padding_mode="reflection", align_corners=False)
    target = np.stack([-center[:, 0] / size, -center[:, 1] / size, -np.log(size)], 1)
    return views, torch.from_numpy(target).float(), torch.from_numpy(label).float()


@dataclass(frozen=True)
class FramingSettings:
    data: str                      # training crops (a zip or folder at the model resolution)
    out: str                       # run directory: framing.pt, framing.onnx, log.jsonl
    exclude: str | None = None     # a zip or folder of raw photos whose identities are left out
    manifest: str | None = None    # file -> identity table for `exclude` (celeba64/manifest.csv)
    negatives: str | None = None   # images without faces (SVHN .npz/.mat, or a zip/folder of any images)
    drawn: int = 6000              # pictures without faces drawn from scratch (framing_negatives.py)
    steps: int = 20000
    batch_size: int = 256
    lr: float = 1e-3
    width: int = 64
    init: str | None = None        # start from these weights (framing.pt or framing.onnx; a fresh schedule over `steps`)
    size_weight: float = 2.0       # the log side's share of the loss, against 1 for each offset
    landmark_holes: float = LANDMARK_HOLES   # share of crops whose hole hides the landmarks
    low_resolution: float = LOW_RESOLUTION   # share of crops seen at a lower resolution
    hiding_block: tuple[float, float] = HIDING_BLOCK   # a hiding block's side each way, of the square's
    seed: int = 0


def excluded_files(manifest: str, exclude: str) -> set[str]:
    """Names (as in the training zip) of every crop whose identity appears among `exclude`'s photos."""
    import csv
    from inpaint.train.datasets import image_sources
    names = {Path(n).name for n, _ in image_sources(Path(exclude))}
    with open(manifest, newline="") as f:
        rows = list(csv.DictReader(f))
    identities = {r["celeba_identity"] for r in rows if r["celeba_image"] in names}
    return {r["file"] for r in rows if r["celeba_identity"] in identities}


def train_framing(s: FramingSettings, progress: bool = True) -> Path:
    """Train the framing network on s.data and export it; returns the ONNX file."""
    from inpaint.train.datasets import image_sources, load_dataset
    run_dir = Path(s.out)
    run_dir.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(s.seed)
    rng = np.random.default_rng(s.seed)
    images = load_dataset("images", s.data, 64, progress=progress)
    if s.exclude:
        drop = excluded_files(s.manifest, s.exclude)
        keep = np.array([n not in drop for n, _ in image_sources(Path(s.data))])
        images = images[keep]
    crops = torch.from_numpy(images)
    from inpaint.train.framing_negatives import drawn_negatives
    negatives = [drawn_negatives(s.drawn, 64, rng)] if s.drawn else []
    if s.negatives:
        kind = "svhn" if Path(s.negatives).suffix.lower() in (".npz", ".mat") else "images"
        negatives.append(load_dataset(kind, s.negatives, 64, progress=progress))
    negatives = torch.from_numpy(np.concatenate(negatives)) if negatives else None
    net = FramingNet(s.width)
    if s.init:
        net.load_state_dict(initial_weights(Path(s.init)))
    opt = torch.optim.Adam(net.parameters(), s.lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, s.steps)
    t0 = time.perf_counter()
    with open(run_dir / "log.jsonl", "w") as log, tqdm(range(s.steps), disable=not progress, unit="step") as bar:
        for step in bar:
            idx = torch.from_numpy(rng.integers(0, len(crops), s.batch_size))
            views, target, label = training_batch(crops[idx], rng, negatives, s.landmark_holes, s.low_resolution,
                                                   tuple(s.hiding_block))
            answer = net(views)
            err = (answer[:, :3] - target)[label > 0]
            weight = torch.tensor([1.0, 1.0, s.size_weight]) * 3 / (2 + s.size_weight)
            loss = ((F.smooth_l1_loss(err, torch.zeros_like(err), beta=0.05, reduction="none") * weight).mean()
                    + 0.1 * F.binary_cross_entropy_with_logits(answer[:, 3], label))
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            if step % 100 == 0 or step == s.steps - 1:
                mae = err.abs().mean(0).tolist()
                accuracy = ((answer[:, 3] > 0).float() == label).float().mean().item()
                log.write(json.dumps({"step": step, "loss": loss.item(), "mae": mae, "face_accuracy": accuracy,
                                      "seconds": round(time.perf_counter() - t0, 1)}) + "\n")
                log.flush()
                bar.set_postfix(loss=f"{loss.item():.4f}")
            if (step + 1) % CHECKPOINT_EVERY == 0 or step == s.steps - 1:
                save_checkpoint(run_dir / "framing.pt", net, s, step + 1, len(crops))
    return export_framing(net, run_dir / "framing.onnx")


def initial_weights(path: Path) -> dict[str, torch.Tensor]:
    """The state dict of a checkpoint (framing.pt) or of an exported network (framing.onnx, such
    as the shipped one: its initializers carry the module's parameter names)."""
    if path.suffix.lower() != ".onnx":
        return torch.load(path, map_location="cpu", weights_only=True)["state_dict"]
    import onnx
    from onnx import numpy_helper
    names = set(FramingNet().state_dict())
    return {t.name: torch.from_numpy(numpy_helper.to_array(t).copy())
            for t in onnx.load(str(path)).graph.initializer if t.name in names}


def save_checkpoint(path: Path, net: FramingNet, s: FramingSettings, step: int, images: int) -> None:
    from inpaint.atomic import write_atomic
    payload = {"state_dict": net.state_dict(), "settings": dataclasses.asdict(s), "step": step, "images": images}
    write_atomic(path, lambda tmp: torch.save(payload, tmp))


def export_framing(net: FramingNet, path: Path) -> Path:
    """The network as one ONNX graph with a dynamic batch axis, weights inside."""
    net.eval()
    batch = torch.export.Dim("batch", min=1, max=1024)
    torch.onnx.export(net, (torch.zeros(2, 4, VIEW, VIEW),), str(path), dynamo=True, input_names=["view"],
                      output_names=["frame"], dynamic_shapes={"view": {0: batch}}, external_data=False)
    return path


def export_checkpoint(checkpoint: Path, path: Path) -> Path:
    """A saved checkpoint (framing.pt, written every CHECKPOINT_EVERY steps) as ONNX."""
    payload = torch.load(checkpoint, map_location="cpu", weights_only=True)
    net = FramingNet(payload["settings"]["width"])
    net.load_state_dict(payload["state_dict"])
    return export_framing(net, path)


def main() -> None:
    import argparse
    p = argparse.ArgumentParser(description="Train the framing network on aligned training crops.")
    p.add_argument("--data", help="training crops (a zip or folder); needed unless --export")
    p.add_argument("--out", required=True)
    p.add_argument("--exclude", help="raw photos whose identities are left out of training")
    p.add_argument("--manifest", help="file -> identity table (celeba64/manifest.csv)")
    p.add_argument("--negatives", help="images without faces (e.g. svhn/svhn_train_first1083.npz)")
    p.add_argument("--drawn", type=int, default=FramingSettings.drawn,
                   help="pictures without faces drawn from scratch (dead leaves, smooth fields)")
    p.add_argument("--steps", type=int, default=FramingSettings.steps)
    p.add_argument("--width", type=int, default=FramingSettings.width)
    p.add_argument("--lr", type=float, default=FramingSettings.lr, help="Adam's first rate, decayed to 0 (cosine)")
    p.add_argument("--landmark-holes", type=float, default=FramingSettings.landmark_holes,
                   help="share of crops whose hole hides the eyes and brows (strokes) or most of the face (a block)")
    p.add_argument("--low-resolution", type=float, default=FramingSettings.low_resolution,
                   help="share of crops reduced to 14-48 pixels and scaled back up (faces from small photos)")
    p.add_argument("--hiding-block", default=",".join(map(str, HIDING_BLOCK)), metavar="LOW,HIGH",
                   help="the side of a block hiding most of the face, each way, as fractions of the square's")
    p.add_argument("--init", metavar="WEIGHTS",
                   help="start from these weights: a checkpoint (framing.pt) or a network (framing.onnx, "
                        "e.g. the shipped src/inpaint/weights/framing.onnx)")
    p.add_argument("--export", metavar="CHECKPOINT",
                   help="only export this checkpoint (framing.pt) to OUT/framing.onnx; no training")
    args = p.parse_args()
    if args.export:
        Path(args.out).mkdir(parents=True, exist_ok=True)
        print(export_checkpoint(Path(args.export), Path(args.out) / "framing.onnx"))
        return
    if not args.data:
        p.error("--data is needed to train")
    try:
        low, high = (float(v) for v in args.hiding_block.split(","))
    except ValueError:
        p.error(f"--hiding-block {args.hiding_block!r}: give two fractions LOW,HIGH, e.g. 0.45,0.72")
    if not 0 < low <= high <= 1:
        p.error(f"--hiding-block {args.hiding_block!r}: need 0 < LOW <= HIGH <= 1")
    train_framing(FramingSettings(args.data, args.out, args.exclude, args.manifest, args.negatives,
                                  args.drawn, args.steps, lr=args.lr, width=args.width, init=args.init,
                                  landmark_holes=args.landmark_holes, low_resolution=args.low_resolution,
                                  hiding_block=(low, high)))


if __name__ == "__main__":
    main()
