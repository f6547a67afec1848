"""The latent encoder: its network, its masks, its training run (resume, refusals) and its file."""
import json

import numpy as np
import pytest
import torch

from inpaint.errors import CheckpointError, OutputError
from inpaint.masks import center_mask, half_mask
from inpaint.spec import ModelSpec
from inpaint.train import checkpoint
from inpaint.train.encoder import Encoder, build_encoder
from inpaint.train.encoder_loop import MASK_MIX, EncoderSettings, MaskSampler, encoder_losses, train_encoder


@pytest.mark.parametrize("resolution", [32, 64])
def test_encoder_maps_masked_images_into_the_latent_box(resolution):
    spec = ModelSpec(resolution=resolution)
    e = build_encoder(spec, width=8).eval()
    y = torch.rand(5, 3, resolution, resolution) * 2 - 1
    known = (torch.rand(5, 1, resolution, resolution) > 0.5).float()
    with torch.no_grad():
        z = e(y * known, known)
        # inputs far outside the image range saturate tanh: z still lies in the box
        z_big = e(1e4 * y * known, known)
    assert z.shape == (5, spec.z_dim)
    for v in (z, z_big):
        assert torch.all(v >= -1) and torch.all(v <= 1)
    assert z_big.abs().max() > 0.99


def test_encoder_sees_the_mask_not_only_the_masked_image():
    """A black known pixel and a missing one give known * y = 0 alike: the mask channel tells them apart."""
    e = build_encoder(ModelSpec(), width=8).eval()
    zeros = torch.zeros(1, 3, 64, 64)
    with torch.no_grad():
        assert not torch.allclose(e(zeros, torch.ones(1, 1, 64, 64)), e(zeros, torch.zeros(1, 1, 64, 64)))


def test_mask_sampler_draws_every_kind_with_a_hole_and_known_pixels():
    sampler = MaskSampler(64, seed=0)
    masks = sampler.batch(400).numpy()[:, 0]
    assert masks.shape == (400, 64, 64) and set(np.unique(masks)) <= {0.0, 1.0}
    hole = 1 - masks.mean(axis=(1, 2))
    assert np.all(hole > 0) and np.all(hole < 1)
    # each kind in about its share: the center hole is one fixed mask, the halves are four
    center = np.mean([np.array_equal(m, center_mask(64)) for m in masks])
    halves = np.mean([any(np.array_equal(m, np.rot90(half_mask(64), k)) for k in range(4)) for m in masks])
    assert abs(center - MASK_MIX["center"]) < 0.07, center
    assert abs(halves - MASK_MIX["half"]) < 0.05, halves
    # the same seed draws the same masks
    assert np.array_equal(MaskSampler(64, seed=0).batch(20), MaskSampler(64, seed=0).batch(20))


def _settings(out, weights, **kw):
    return EncoderSettings(out=str(out), weights=str(weights), dry_run=True, batch_size=8, epochs=1,
                           width=8, checkpoint_every=2, **kw)


def test_the_objective_trains_e_through_the_frozen_generator():
    """A few Adam steps on one batch, with the shipped G: the latent and image losses fall, the
    gradient reaches E through G, and G itself does not change."""
    from inpaint.train.checkpoint import load_models
    from inpaint.weights import shipped_bundle
    spec, g, _ = load_models(shipped_bundle())
    g.requires_grad_(False)
    g_before = {k: v.clone() for k, v in g.state_dict().items()}
    torch.manual_seed(0)
    e = build_encoder(spec, width=8)
    opt = torch.optim.Adam(e.parameters(), 1e-2)
    sampler = MaskSampler(64, seed=0)
    real = torch.rand(4, 3, 64, 64) * 2 - 1
    z = torch.rand(4, spec.z_dim) * 2 - 1
    m = sampler.batch(8)
    history = []
    for _ in range(60):
        loss, parts = encoder_losses(e, g, real, m[:4], z, m[4:], latent_weight=1.0)
        opt.zero_grad()
        loss.backward()
        opt.step()
        history.append(parts)
    assert history[-1]["latent"] < 0.7 * history[0]["latent"]
    assert history[-1]["image_fake"] < 0.8 * history[0]["image_fake"]
    assert history[-1]["image_real"] < history[0]["image_real"]
    for k, v in g.state_dict().items():
        assert torch.equal(v, g_before[k]), k


def test_a_run_writes_a_model_file_with_the_encoder(tiny_weights, tmp_path):
    """The run's file loads as a model with an encoder, its G and D those of the source; it logs
    every part of the loss."""
    settings = EncoderSettings(out=str(tmp_path / "run"), weights=str(tiny_weights), dry_run=True,
                               batch_size=8, epochs=2, width=8)
    summary = train_encoder(settings, progress=False, log=lambda m: None)
    assert summary["step"] == 2 * (64 // 8)
    log = [json.loads(line) for line in (tmp_path / "run" / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in log] == [10, 16]
    assert all(np.isfinite(r[k]) for r in log for k in ("loss", "image_real", "image_fake", "latent"))

    ck = tmp_path / "run" / "last.pt"
    payload = checkpoint.load(ck, checkpoint.ENCODER_CHECKPOINT_KIND)
    source = checkpoint.load(tiny_weights)
    for part in ("G", "D"):
        for k, v in source[part].items():
            assert torch.equal(payload[part][k], v), (part, k)
    e = checkpoint.load_encoder(ck)
    assert isinstance(e, Encoder) and not e.training
    assert checkpoint.load_encoder(tiny_weights) is None
    shipped = checkpoint.to_weights(payload, torch.float16)
    assert "E" in shipped and shipped["encoder"]["width"] == 8


def test_resumed_run_equals_the_uninterrupted_one(tiny_weights, tmp_path):
    straight = train_encoder(_settings(tmp_path / "a", tiny_weights, max_steps=6), progress=False, log=lambda m: None)
    train_encoder(_settings(tmp_path / "b", tiny_weights, max_steps=4), progress=False, log=lambda m: None)
    resumed = train_encoder(_settings(tmp_path / "b", tiny_weights), resume=True, progress=False,
                            log=lambda m: None, overrides={"max_steps": 6})
    assert resumed["resumed_from"] == 4 and straight["step"] == resumed["step"] == 6
    a, b = (checkpoint.load(tmp_path / r / "last.pt")["E"] for r in ("a", "b"))
    for k in a:
        assert torch.allclose(a[k].float(), b[k].float(), atol=1e-6), k


def test_refuses_to_overwrite_a_run_or_resume_nothing(tiny_weights, tmp_path):
    train_encoder(_settings(tmp_path / "run", tiny_weights, max_steps=2), progress=False, log=lambda m: None)
    before = (tmp_path / "run" / "last.pt").read_bytes()
    with pytest.raises(OutputError, match="--resume"):
        train_encoder(_settings(tmp_path / "run", tiny_weights, max_steps=2), progress=False, log=lambda m: None)
    assert (tmp_path / "run" / "last.pt").read_bytes() == before
    with pytest.raises(CheckpointError, match="nothing to resume"):
        train_encoder(_settings(tmp_path / "none", tiny_weights), resume=True, progress=False, log=lambda m: None)


@pytest.mark.parametrize("objective", ["ours", "se"])
def test_an_objective_run_starts_from_the_models_encoder_and_lowers_the_search_objective(
        tiny_encoder_weights, tmp_path, objective):
    """--objective ours/se: E starts as the model's own and its steps lower the objective it is
    trained against, through the frozen G and D."""
    run = tmp_path / "run"
    settings = EncoderSettings(out=str(run), weights=str(tiny_encoder_weights), dry_run=True, batch_size=8,
                               epochs=1, width=8, objective=objective, max_steps=1, lr=1e-3)
    train_encoder(settings, progress=False, log=lambda m: None)
    first = checkpoint.load(run / "last.pt", checkpoint.ENCODER_CHECKPOINT_KIND)
    own = checkpoint.load(tiny_encoder_weights)["E"]
    floats = [k for k in own if own[k].is_floating_point() and "running" not in k]   # weights, not BN statistics
    fresh = build_encoder(checkpoint.load(tiny_encoder_weights)["spec"], width=8).state_dict()
    step = max(float((first["E"][k].float() - own[k].float()).abs().max()) for k in floats)
    apart = max(float((fresh[k].float() - own[k].float()).abs().max()) for k in floats)
    assert 0 < step < 0.1 * apart                     # one small step away from the model's own E
    train_encoder(EncoderSettings(**{**settings.__dict__, "out": str(tmp_path / "long"), "max_steps": 30,
                                     "epochs": 5}), progress=False, log=lambda m: None)
    log = [json.loads(line) for line in (tmp_path / "long" / "log.jsonl").read_text().splitlines()]
    assert {"contextual", "prior", "consistency"} <= set(log[0])
    assert np.mean([r["loss"] for r in log[-2:]]) < log[0]["loss"]
    payload = checkpoint.load(tmp_path / "long" / "last.pt")
    for part in ("G", "D"):
        source = checkpoint.load(tiny_encoder_weights)[part]
        assert all(torch.equal(payload[part][k], v) for k, v in source.items()), part


def test_an_unknown_objective_is_refused(tiny_weights, tmp_path):
    from inpaint.errors import InpaintError
    with pytest.raises(InpaintError, match="objective"):
        train_encoder(EncoderSettings(out=str(tmp_path / "r"), weights=str(tiny_weights), dry_run=True,
                                      objective="psnr", width=8), progress=False, log=lambda m: None)


def test_init_starts_the_pixel_objective_from_another_models_encoder(tiny_weights, tiny_encoder_weights, tmp_path):
    """--encoder --init: E of a G trained further starts from the previous version's E."""
    run = tmp_path / "run"
    settings = EncoderSettings(out=str(run), weights=str(tiny_weights), init=str(tiny_encoder_weights),
                               dry_run=True, batch_size=8, epochs=1, width=8, max_steps=1, lr=1e-4)
    lines = []
    train_encoder(settings, progress=False, log=lines.append)
    assert any("starting from the encoder of" in m for m in lines)
    first = checkpoint.load(run / "last.pt", checkpoint.ENCODER_CHECKPOINT_KIND)
    own = checkpoint.load(tiny_encoder_weights)["E"]
    floats = [k for k in own if own[k].is_floating_point() and "running" not in k]
    assert max(float((first["E"][k].float() - own[k].float()).abs().max()) for k in floats) < 0.01
    with pytest.raises(CheckpointError, match="has no encoder of width 8"):
        train_encoder(EncoderSettings(**{**settings.__dict__, "out": str(tmp_path / "none"), "init": str(tiny_weights)}),
                      progress=False, log=lambda m: None)
