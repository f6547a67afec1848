import os
from pathlib import Path

import pytest

# Tests use tiny models, for which one thread is fastest; more threads only fight over the cores.
os.environ.setdefault("OMP_NUM_THREADS", "1")

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("INPAINT_SHARED_DATA", REPO.parent / "shared" / "data"))


@pytest.fixture
def shared_data() -> Path:
    """The real datasets beside the repository; tests that need them skip where they are absent."""
    if not (SHARED_DATA / "README.md").is_file():
        pytest.skip(f"real data not found at {SHARED_DATA} (set INPAINT_SHARED_DATA to its path)")
    return SHARED_DATA
