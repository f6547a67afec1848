"""The photo evaluation: the model on whole photos, framed three ways, against classical fills.

Each (set, hole kind) of photo_problems is one *part*: every method fills every photo's hole, and
PSNR and SSIM over the hole are kept per photo at the photo's full resolution. Methods:
whole (the photo squeezed to the model's square), found (the square the framer finds, whole where
it falls back), true (the training square itself: the upper bound), telea and biharmonic.
With a parts directory each part is written as soon as it is done and a rerun with the same
settings skips it, so a run of an hour can be stopped and resumed.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import time
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Callable

import numpy as np

from inpaint.errors import InpaintError
from inpaint.eval.photo_problems import HOLES, SETS, Problem, problems, read_photos, scaled
from inpaint.eval.photos_report import photo_grid, summarise

MODEL_METHODS = ("whole", "found", "true")
FACE_METRICS = ("identity", "landmarks")
PHOTO_METRICS = ("psnr", "ssim") + FACE_METRICS
METHODS = MODEL_METHODS + ("telea", "biharmonic")
PARTS_FORMAT = 1              # bump when the problems or records change: old parts are refused
GRID_ROWS = 6


def choose(option: str, items: tuple[str, ...], choices: tuple[str, ...]) -> tuple[str, ...]:
    """items, checked against choices; InpaintError naming the option otherwise."""
    bad = [v for v in items if v not in choices]
    if bad or not items:
        raise InpaintError(f"--{option}: {', '.join(bad) or 'nothing given'}; choose from {', '.join(choices)}")
    return tuple(items)


@dataclass(frozen=True)
class PhotoSettings:
    photos: str                                # a zip or folder of aligned photos (178x218 or scaled)
    n: int | None = None                       # photos drawn (seeded); None: all of them
    holes: tuple[str, ...] = HOLES
    sets: tuple[str, ...] = SETS
    methods: tuple[str, ...] = METHODS
    seed: int = 0                              # draws the photos, holes, reframings and restarts
    iterations: int | None = None              # None: the default of the model's start
    restarts: int | None = None                # None: InpaintSettings' default
    batch: int = 64                            # problems per complete_many call
    metrics: tuple[str, ...] = ("psnr", "ssim")  # PSNR and SSIM over the hole always; identity, landmarks
    scales: tuple[float, ...] = (1.0,)         # framing only: each problem also at these times its size

    def __post_init__(self) -> None:
        choose("holes", self.holes, HOLES)
        choose("sets", self.sets, SETS)
        choose("methods", self.methods, METHODS)
        choose("metrics", self.metrics, PHOTO_METRICS)
        if not self.scales or min(self.scales) <= 0:
            raise InpaintError(f"--scales {','.join(map(str, self.scales))}: give positive factors, e.g. 0.25,1,5,25")
        if self.seed < 0:
            raise InpaintError(f"--seed {self.seed}: the photo evaluation needs a seed of 0 or more")

    @property
    def face_metrics(self) -> tuple[str, ...]:
        return tuple(m for m in self.metrics if m in FACE_METRICS)

    def inpaint_settings(self):
        from inpaint.spec import InpaintSettings
        return InpaintSettings(iterations=self.iterations, restarts=self.restarts, seed=self.seed)


class Models:
    """The inpainter and the framer, built on first use (a resumed run may need neither)."""

    def __init__(self, s: PhotoSettings, inpainter=None, framer=None, faces=None):
        self.s = s
        if inpainter is not None:
            self.inpainter = inpainter
        if framer is not None:
            self.framer = framer
        if faces is not None:
            self.faces = faces

    @cached_property
    def inpainter(self):
        from inpaint.runtime.complete import Inpainter
        return Inpainter.from_bundle(settings=self.s.inpaint_settings())

    @cached_property
    def framer(self):
        from inpaint.runtime.framing.decide import Framer
        return Framer(framing_model())

    @cached_property
    def faces(self):
        from inpaint.eval.faces import FaceMeasures
        return FaceMeasures()


def framing_model() -> Path:
    """The shipped framing network; read at call time, so tests can point it elsewhere."""
    from inpaint.runtime.framing import network
    path = Path(network.FRAMING_MODEL)
    if not path.is_file():
        raise InpaintError(f"the framing network is not at {path}: train it (python -m inpaint.train.framing) "
                           "and put its framing.onnx there; without it, only the methods whole, true, telea "
                           "and biharmonic run")
    return path


def fingerprint(s: PhotoSettings, names: list[str], framing_only: bool = False) -> dict:
    """What a part's numbers depend on: a part with another fingerprint is not reused."""
    def sha(path: Path) -> str:
        return hashlib.sha256(path.read_bytes()).hexdigest()[:16]
    key = {"format": PARTS_FORMAT, "photos": names, "seed": s.seed}
    if "found" in s.methods or framing_only:
        key["framing_model"] = sha(framing_model())
    if not framing_only:
        key.update(methods=list(s.methods), iterations=s.iterations, restarts=s.restarts, batch=s.batch)
        if s.face_metrics:             # only then: parts computed before the face measures stay valid
            key["face_metrics"] = list(s.face_metrics)
        if set(s.methods) & set(MODEL_METHODS):
            from inpaint.weights import shipped_bundle
            key["bundle"] = sha(shipped_bundle() / "manifest.json")
    return key


def key_hash(key: dict) -> str:
    return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]


def framing_record(framing, truth) -> dict:
    """How the framer framed one photo, with the IoU of its square and the true one (0 where it
    fell back to the whole image)."""
    out = framing.report()
    out["iou"] = round(framing.box.iou(truth), 4) if framing.box is not None else 0.0
    return out


def run_part(problems_: list[Problem], s: PhotoSettings, models: Models, tick: Callable[[int], None]
             ) -> tuple[list[dict], dict[str, list[np.ndarray]]]:
    """Every method on every problem of one part: (one record per photo, the fills by method)."""
    from inpaint.eval.baselines import BASELINES
    from inpaint.eval.metrics import psnr, ssim
    from inpaint.imageio import Picture
    fills: dict[str, list[np.ndarray]] = {}
    framings = []
    for method in s.methods:
        if method not in MODEL_METHODS:
            fills[method] = []
            for p in problems_:
                filled = BASELINES[method](p.rgb / 255.0, ~p.hole)
                fills[method].append(np.clip(np.rint(filled * 255.0), 0, 255).astype(np.uint8))
                tick(1)
            continue
        if method == "found":
            # the framer's own answers, passed on as given: the same as complete_many(framing="auto")
            framings = [models.framer.find(p.rgb, p.hole) for p in problems_]
        how = {"whole": ["whole"] * len(problems_), "true": [p.box for p in problems_], "found": framings}[method]
        fills[method] = []
        for a in range(0, len(problems_), s.batch):
            chunk = problems_[a:a + s.batch]
            done = models.inpainter.complete_many([Picture(p.rgb, None, "RGB") for p in chunk],
                                                  [p.hole for p in chunk], framing=how[a:a + s.batch])
            fills[method] += [c.picture.pixels for c in done]
            tick(len(done))
    records = []
    for i, p in enumerate(problems_):
        truth = p.rgb / 255.0
        scores = {m: {"psnr_hole": round(psnr(f[i] / 255.0, truth, p.hole), 5),
                      "ssim_hole": round(ssim(f[i] / 255.0, truth, p.hole), 5)} for m, f in fills.items()}
        if s.face_metrics:
            add_face_scores(scores, fills, i, p, s.face_metrics, models.faces)
        record = problem_record(p)
        record["scores"] = scores
        if framings:
            record["framing"] = framing_record(framings[i], p.box)
            outside = outside_hole(framings[i], p.hole)
            if outside is not None:
                # hole pixels past the found square: the found method's own fill (Telea) against
                # what the other methods put there
                record["outside"] = {"pixels": int(outside.sum()),
                                     "psnr": {m: round(psnr(f[i] / 255.0, truth, outside), 5)
                                              for m, f in fills.items() if m != "true"}}
        records.append(record)
    return records, fills


def add_face_scores(scores: dict, fills: dict, i: int, p: Problem, metrics: tuple[str, ...], faces) -> None:
    """Each method's identity distance and landmark error for problem i, measured in the face box
    found once on the truth (the true square's typical box where none is found)."""
    anchor = faces.anchor(p.rgb, p.box.pixels())
    for m, f in fills.items():
        identity, landmarks, _ = faces.measure(f[i], anchor, describe="identity" in metrics)
        scores[m].update({k: round(v, 5) for k, v in (("identity", identity), ("landmarks", landmarks))
                          if k in metrics})


def outside_hole(framing, hole: np.ndarray) -> np.ndarray | None:
    """bool (H, W): the hole's pixels past a found square; None where there are none."""
    if framing.box is None:
        return None
    x, y, side = framing.box.pixels()
    outside = hole.copy()
    outside[max(0, y):max(0, y + side), max(0, x):max(0, x + side)] = False
    return outside if outside.any() else None


def problem_record(p: Problem) -> dict:
    return {"set": p.set, "hole": p.hole_kind, "photo": p.photo, "index": p.index,
            "size": [p.rgb.shape[1], p.rgb.shape[0]], "true_box": p.box.to_list(),
            "hole_pixels": int(p.hole.sum()), "scale": p.scale}


def load_part(path: Path, digest: str, key: dict) -> list[dict] | None:
    """A part's records where it was written with these settings; None where it is not there."""
    if not path.is_file():
        return None
    try:
        part = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise InpaintError(f"cannot read the part {path} ({e}); remove it to compute it again") from None
    if part.get("settings_hash") != digest:
        theirs = part.get("fingerprint", {})
        differ = sorted(k for k in set(key) | set(theirs) if key.get(k) != theirs.get(k))
        raise InpaintError(f"{path} was computed with other settings ({', '.join(differ) or 'unknown'} "
                           "differ); give another --parts directory or remove it")
    return part["records"]


class Parts:
    """A folder of the finished parts of one run (None: nothing kept), each read back only where it
    was written with the same settings."""

    def __init__(self, folder: Path | None, digest: str, key: dict):
        from inpaint.atomic import remove_stale_temps
        self.folder, self.digest, self.key = (None if folder is None else Path(folder)), digest, key
        if self.folder is not None:
            self.folder.mkdir(parents=True, exist_ok=True)
            remove_stale_temps(self.folder)

    def load(self, name: str) -> list[dict] | None:
        return None if self.folder is None else load_part(self.folder / f"{name}.json", self.digest, self.key)

    def save(self, name: str, records: list[dict], seconds: float, **labels) -> None:
        from inpaint.atomic import write_atomic
        if self.folder is None:
            return
        body = {"settings_hash": self.digest, "fingerprint": self.key, **labels, "seconds": round(seconds, 2),
                "records": records}
        write_atomic(self.folder / f"{name}.json", lambda tmp: tmp.write_text(json.dumps(body, separators=(",", ":"))))


def evaluate_photos(s: PhotoSettings, parts: Path | None = None, progress: bool = False,
                    grid_dir: Path | None = None, inpainter=None, framer=None) -> dict:
    """Every (set, hole kind) part, computed or read back from `parts`; the results with tables."""
    from tqdm import tqdm
    t0 = time.perf_counter()
    photos = read_photos(s.photos, s.n, s.seed)
    names = [p.name for p in photos]
    key = fingerprint(s, names)
    digest = key_hash(key)
    models = Models(s, inpainter, framer)
    if s.face_metrics:
        models.faces                  # refuses before any long work where the faces extra is missing
    store = Parts(parts, digest, key)
    pairs = [(set_name, kind) for set_name in s.sets for kind in s.holes]
    done = {pair: store.load(f"{pair[0]}_{pair[1]}") for pair in pairs}
    todo = [pair for pair in pairs if done[pair] is None]
    bar = tqdm(total=len(todo) * len(photos) * len(s.methods), unit="fill", disable=not progress,
               dynamic_ncols=True)
    records = []
    for pair in pairs:
        if done[pair] is None:
            bar.set_description("/".join(pair))
            tp = time.perf_counter()
            part = problems(photos, pair[0], pair[1], s.seed)
            done[pair], fills = run_part(part, s, models, bar.update)
            store.save(f"{pair[0]}_{pair[1]}", done[pair], time.perf_counter() - tp, set=pair[0], hole=pair[1])
            if grid_dir is not None:
                photo_grid(Path(grid_dir) / f"photos_{pair[0]}_{pair[1]}.png", part[:GRID_ROWS],
                           {m: f[:GRID_ROWS] for m, f in fills.items()}, done[pair][:GRID_ROWS])
        records += done[pair]
    bar.close()
    return {"settings": dataclasses.asdict(s), "fingerprint": key, "settings_hash": digest, "mode": "full",
            "photos": names, "records": records, **summarise(records, s),
            "computed_parts": ["_".join(p) for p in todo], "wall_seconds": round(time.perf_counter() - t0, 1)}


def frame_photos(s: PhotoSettings, progress: bool = False, framer=None, parts: Path | None = None) -> dict:
    """Only the framer, on every (scale, set, hole kind, photo): found rate and IoU with the true
    square. With a parts directory each (scale, set) is written when done (framing_<scale>x_<set>.json)
    and a rerun with the same settings reads it back instead."""
    from tqdm import tqdm
    t0 = time.perf_counter()
    photos = read_photos(s.photos, s.n, s.seed)
    models = Models(s, framer=framer)
    key = fingerprint(s, [p.name for p in photos], framing_only=True)
    key["holes"] = list(s.holes)
    digest = key_hash(key)
    store = Parts(parts, digest, key)
    pairs = [(scale, set_name) for scale in s.scales for set_name in s.sets]
    done = {pair: store.load(f"framing_{pair[0]:g}x_{pair[1]}") for pair in pairs}
    bar = tqdm(total=sum(done[p] is None for p in pairs) * len(s.holes) * len(photos), unit="photo",
               disable=not progress, dynamic_ncols=True)
    records = []
    for scale, set_name in pairs:
        if done[scale, set_name] is None:
            bar.set_description(f"{scale:g}x {set_name}")
            tp = time.perf_counter()
            done[scale, set_name] = frame_part(photos, s, scale, set_name, models.framer, bar.update)
            store.save(f"framing_{scale:g}x_{set_name}", done[scale, set_name], time.perf_counter() - tp,
                       scale=scale, set=set_name)
        records += done[scale, set_name]
    bar.close()
    return {"settings": dataclasses.asdict(s), "fingerprint": key, "settings_hash": digest,
            "mode": "framing-only", "photos": [p.name for p in photos], "records": records,
            **summarise(records, s), "wall_seconds": round(time.perf_counter() - t0, 1)}


def frame_part(photos, s: PhotoSettings, scale: float, set_name: str, framer, tick: Callable[[int], None]
               ) -> list[dict]:
    """The framer on every photo of one set at one scale, with each hole kind: one record each."""
    by_kind = {kind: problems(photos, set_name, kind, s.seed) for kind in s.holes}
    records = []
    for i in range(len(photos)):          # photo by photo: its scaled copy serves every hole kind
        photo = None
        for kind in s.holes:
            p = by_kind[kind][i]
            if photo is None or photo[0] is not p.rgb and not np.array_equal(photo[0], p.rgb):
                photo = (p.rgb, scaled(p, scale).rgb)
            p = scaled(p, scale, rgb=photo[1])
            framing = framer.find(p.rgb, p.hole)
            records.append({**problem_record(p), "framing": framing_record(framing, p.box)})
            tick(1)
    return records
