"""Load and verify a bundle (no torch): the manifest, the graphs' hashes, the shared weights."""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from inpaint.errors import InpaintError
from inpaint.spec import ModelSpec

BUNDLE_FORMAT = 1
MANIFEST = "manifest.json"
WEIGHTS_FILE = "weights.bin"


class BundleError(InpaintError):
    """A bundle is missing, incomplete, corrupt or of another format version."""


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


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


def load_bundle(root: str | Path, verify: bool = True) -> Bundle:
    """Read a bundle's manifest and check that every file is there and unchanged (sha256)."""
    root = Path(root)
    path = root / MANIFEST
    if not path.is_file():
        raise BundleError(f"{root} is not a bundle (no {MANIFEST}); make one with inpaint-export")
    try:
        manifest = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError, OSError) as e:
        raise BundleError(f"{path} is not valid JSON ({e}); re-export the bundle") from None
    if manifest.get("format") != BUNDLE_FORMAT:
        raise BundleError(f"bundle {root} has format {manifest.get('format')!r}, this inpaint reads format "
                          f"{BUNDLE_FORMAT}; re-export it with this version of inpaint-export")
    try:
        spec = ModelSpec.from_dict(manifest["spec"])
        files = {name: g["file"] for name, g in manifest["graphs"].items()}
        files[WEIGHTS_FILE] = manifest["weights"]["file"]
        hashes = {name: g["sha256"] for name, g in manifest["graphs"].items()}
        hashes[WEIGHTS_FILE] = manifest["weights"]["sha256"]
    except (KeyError, TypeError, ValueError) as e:
        raise BundleError(f"{path} lacks required fields ({e}); re-export the bundle") from None
    for name, file in files.items():
        if not (root / file).is_file():
            raise BundleError(f"bundle {root} is missing {file} ({name}); re-export the bundle")
        if verify and sha256_file(root / file) != hashes[name]:
            raise BundleError(f"{root / file} does not match its sha256 in the manifest (corrupt or "
                              "modified); re-export the bundle")
    return Bundle(root, manifest, spec)
