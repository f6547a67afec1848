"""GL's training loop: the three phases train what they should, the run resumes exactly, holes
come with their local windows."""
from __future__ import annotations

import json

import pytest
import torch

from inpaint.errors import OutputError
from inpaint.train import checkpoint
from inpaint.train.gl import CompletionNet, ContextDiscriminator, hole_windows
from inpaint.train.gl_loop import GLSettings, hole_mse, load_gl, phase_of, train_gl


def _settings(out, **kw) -> GLSettings:
    base = dict(out=str(out), dry_run=True, batch_size=8, width=8, epochs=2, tc_steps=4, td_steps=3,
                checkpoint_every=2)
    return GLSettings(**{**base, **kw})


def _states(path):
    state = checkpoint.load(path, checkpoint.GL_CHECKPOINT_KIND)
    c, d = CompletionNet(state["gl"]["width"]), ContextDiscriminator(state["gl"]["width"])
    c.load_state_dict(state["GL"]), d.load_state_dict(state["D"])
    return state, c, d


def test_phases_train_c_then_d_then_both(tmp_path):
    """C alone moves C's weights only, D alone D's only, and the joint phase both (batch norm's
    running statistics move whenever a network runs in training mode, so they are left out)."""
    def params(module):
        return torch.cat([p.detach().flatten() for p in module.parameters()])

    def at(steps):
        out = tmp_path / f"run{steps}"
        train_gl(_settings(out, max_steps=steps), progress=False, log=lambda *a: None)
        _, c, d = _states(out / "last.pt")
        return params(c), params(d)
    c1, d1 = at(1)
    c4, d4 = at(4)          # end of phase 1
    c7, d7 = at(7)          # end of phase 2
    c10, d10 = at(10)       # joint
    same = torch.equal
    assert not same(c4, c1) and same(d4, d1)            # phase 1: D untouched
    assert same(c7, c4) and not same(d7, d4)            # phase 2: C untouched
    assert not same(c10, c7) and not same(d10, d7)      # phase 3: both
    phases = [json.loads(line)["phase"] for line in (tmp_path / "run10" / "log.jsonl").read_text().splitlines()]
    assert phases[-1] == "joint"
    assert [phase_of(_settings(tmp_path), s) for s in (0, 3, 4, 6, 7)] == \
        ["completion", "completion", "discriminator", "discriminator", "joint"]


def test_interrupted_run_resumes_to_the_same_weights(tmp_path):
    whole, parts = tmp_path / "whole", tmp_path / "parts"
    a = train_gl(_settings(whole, max_steps=10), progress=False, log=lambda *a: None)
    train_gl(_settings(parts, max_steps=5), progress=False, log=lambda *a: None)
    b = train_gl(_settings(parts), resume=True, progress=False, log=lambda *a: None,
                 overrides={"max_steps": 10})
    assert b["resumed_from"] == 5 and b["step"] == 10
    assert a["weights_sha256_by_rank"] == b["weights_sha256_by_rank"]
    assert (parts / "samples" / "step_000010.png").is_file()


def test_a_run_is_not_overwritten_without_resume(tmp_path):
    train_gl(_settings(tmp_path / "r", max_steps=2), progress=False, log=lambda *a: None)
    before = (tmp_path / "r" / "last.pt").read_bytes()
    with pytest.raises(OutputError, match="--resume"):
        train_gl(_settings(tmp_path / "r", max_steps=2), progress=False, log=lambda *a: None)
    assert (tmp_path / "r" / "last.pt").read_bytes() == before


def test_load_gl_refuses_a_checkpoint_without_gl(tiny_weights):
    from inpaint.errors import CheckpointError
    with pytest.raises(CheckpointError, match="inpaint-train --gl"):
        load_gl(tiny_weights)


def test_hole_windows_cover_the_hole_and_stay_inside():
    known = torch.ones(3, 1, 64, 64)
    known[0, :, 16:48, 16:48] = 0          # the center hole: its window is exactly it
    known[1, :, 0:10, 54:64] = 0           # a corner hole: the window is moved inside
    top, left = hole_windows(known, 32)    # image 2 has no hole: the centre
    assert top.tolist() == [16, 0, 16] and left.tolist() == [16, 32, 16]


def test_hole_mse_counts_only_the_hole():
    real = torch.zeros(1, 3, 4, 4)
    out = torch.ones(1, 3, 4, 4)
    known = torch.ones(1, 1, 4, 4)
    known[..., 0, 0] = 0
    assert hole_mse(out, real, known).item() == pytest.approx(1.0)
    out[..., 1:, :] = 5.0                  # errors on known pixels do not count
    assert hole_mse(out, real, known).item() == pytest.approx(1.0)
