from pathlib import Path

import numpy as np
import pytest
from PIL import Image

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture(scope="module")
def small_split(tmp_path_factory):
    """Eight 64x64 variants of the example face (shifts and flips)."""
    d = tmp_path_factory.mktemp("split")
    face = np.asarray(Image.open(EXAMPLES / "astronaut.png").convert("RGB"))
    for i in range(8):
        crop = face[i * 4:i * 4 + 96, i * 3:i * 3 + 96]
        crop = crop[:, ::-1] if i % 2 else crop
        Image.fromarray(np.ascontiguousarray(crop)).resize((64, 64), Image.LANCZOS).save(d / f"{i:03d}.png")
    return d
