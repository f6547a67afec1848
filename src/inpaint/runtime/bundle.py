"""Load and verify a bundle (no torch): the manifest, the graphs' hashes, the shared weights."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from inpaint.errors import InpaintError
from inpaint.runtime.digests import file_digests
from inpaint.spec import ModelSpec

BUNDLE_FORMAT = 2
READABLE_FORMATS = (1, BUNDLE_FORMAT)   # format 1: no torch weights, weights.bin always fp32 on disk
MANIFEST = "manifest.json"
WEIGHTS_FILE = "weights.bin"            # what the graphs' external data refers to
FP16_WEIGHTS_FILE = "weights.fp16.bin"  # WEIGHTS_FILE narrowed to fp16, where every value is exact in fp16


class BundleError(InpaintError):
    """A bundle is missing, incomplete, corrupt or of another format version."""


@dataclass(frozen=True)
class Bundle:
    root: Path
    manifest: dict
    spec: ModelSpec

    def graph_path(self, name: str) -> Path:
        if name not in self.manifest["graphs"]:
            raise BundleError(f"bundle {self.root} has no graph {name!r}; re-export it with this inpaint")
        return self.root / self.manifest["graphs"][name]["file"]

    def graph_io(self, name: str) -> dict:
        return self.manifest["graphs"][name]

    def flops(self, *names: str) -> int | None:
        """Floating-point operations per sample of these graphs together (convolutions and
        matrix products, counted at export), or None for a bundle exported without the count."""
        counts = [self.manifest["graphs"][n].get("flops_per_sample") for n in names]
        return None if any(c is None for c in counts) else sum(sum(c.values()) for c in counts)

    @property
    def weights_in_fp16(self) -> bool:
        """Whether the fp32 weights file ships as fp16 (FP16_WEIGHTS_FILE) and is widened at load:
        the graphs then need it from memory (weights()), as it is not on disk."""
        return "stored" in self.manifest["weights"]

    def weights(self) -> np.ndarray:
        """The bytes of the weights file the graphs refer to (uint8), widened from fp16 where it
        ships so. Widening is exact: the bundle stores fp16 only where every value round-trips."""
        w = self.manifest["weights"]
        if "stored" not in w:
            return np.fromfile(self.root / w["file"], np.uint8)
        return np.fromfile(self.root / w["stored"]["file"], np.float16).astype(np.float32).view(np.uint8)

    def model_tensors(self) -> dict[str, dict[str, np.ndarray]]:
        """The state_dicts the graphs were exported from ({"G": {...}, "D": {...}, "E": {...}}),
        each tensor in the dtype of the source checkpoint, read from the weights file."""
        if "model" not in self.manifest:
            raise BundleError(f"bundle {self.root} holds no torch weights (format {self.manifest['format']}); "
                              "use the checkpoint it was exported from, or re-export it with this inpaint")
        data, parts = self.weights(), {}
        for part, tensors in self.manifest["model"]["tensors"].items():
            parts[part] = {}
            for key, t in tensors.items():
                if "value" in t:
                    a = np.array(t["value"], t["dtype"]).reshape(t["shape"])
                else:
                    a = np.frombuffer(data, t["file_dtype"], int(np.prod(t["shape"])), t["offset"])
                    a = a.reshape(t["shape"]).astype(t["dtype"])     # a copy: writable, not a view of data
                parts[part][key] = a
        return parts


def load_bundle(root: str | Path, verify: bool = True) -> Bundle:
    """Read a bundle's manifest and check that every file is there and unchanged (sha256; a file
    already hashed and unchanged since, by size, modification time and inode, is not read again:
    runtime.digests)."""
    root = Path(root)
    path = root / MANIFEST
    if not path.is_file():
        raise BundleError(f"{root} is not a bundle (no {MANIFEST}); make one with inpaint-export")
    try:
        manifest = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError, OSError) as e:
        raise BundleError(f"{path} is not valid JSON ({e}); re-export the bundle") from None
    if manifest.get("format") not in READABLE_FORMATS:
        raise BundleError(f"bundle {root} has format {manifest.get('format')!r}, this inpaint reads formats "
                          f"{', '.join(map(str, READABLE_FORMATS))}; re-export it with this version of inpaint-export")
    try:
        spec = ModelSpec.from_dict(manifest["spec"])
        files = {name: (g["file"], g["sha256"]) for name, g in manifest["graphs"].items()}
        weights = manifest["weights"]
        stored = weights.get("stored", weights)        # the file on disk: fp16 or the fp32 one itself
        files["weights"] = (stored["file"], stored["sha256"])
    except (KeyError, TypeError, ValueError) as e:
        raise BundleError(f"{path} lacks required fields ({e}); re-export the bundle") from None
    for name, (file, _) in files.items():
        if not (root / file).is_file():
            raise BundleError(f"bundle {root} is missing {file} ({name}); re-export the bundle")
    if verify:
        found = file_digests([root / file for file, _ in files.values()])
        for (file, digest), actual in zip(files.values(), found):
            if actual != digest:
                raise BundleError(f"{root / file} does not match its sha256 in the manifest (corrupt or "
                                  "modified); re-export the bundle")
    return Bundle(root, manifest, spec)
