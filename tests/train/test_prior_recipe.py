"""The recipe for a better prior: DiffAugment, the EMA of G, bf16 autocast, the KID monitor hook."""
import json

import pytest
import torch
from click.testing import CliRunner

from inpaint.cli.train import main
from inpaint.spec import ModelSpec
from inpaint.train import checkpoint
from inpaint.train.augment import POLICIES, augment, parse_policy
from inpaint.train.ema import EMA, standing_statistics
from inpaint.train.loop import TrainSettings, train
from inpaint.train.models import Generator


def smooth_batch(n=6, size=16):
    torch.manual_seed(0)
    return torch.nn.functional.interpolate(torch.rand(n, 3, 4, 4) * 2 - 1, size=size, mode="bilinear")


def test_translation_shifts_each_image_and_fills_with_zeros():
    x = smooth_batch()
    torch.manual_seed(1)
    y = augment(x, ("translation",))
    for a, b in zip(x, y):
        # some shift of at most 2 pixels (1/8 of 16) each way maps a onto b, zeros coming in
        found = False
        for dy in range(-2, 3):
            for dx in range(-2, 3):
                shifted = torch.zeros_like(a)
                src = a[:, max(0, dy):16 + min(0, dy), max(0, dx):16 + min(0, dx)]
                shifted[:, max(0, -dy):16 + min(0, -dy), max(0, -dx):16 + min(0, -dx)] = src
                found |= torch.equal(shifted, b)
        assert found


def test_cutout_zeroes_one_square_of_half_the_side_and_keeps_the_rest():
    x = smooth_batch() + 3.0                  # no zero anywhere before the cutout
    torch.manual_seed(2)
    y = augment(x, ("cutout",))
    for a, b in zip(x, y):
        zero = (b == 0).all(dim=0)
        rows, cols = zero.any(dim=1).nonzero().flatten(), zero.any(dim=0).nonzero().flatten()
        assert 1 <= len(rows) <= 8 and 1 <= len(cols) <= 8          # clipped at the border
        assert zero.sum() == len(rows) * len(cols)                   # one rectangle
        assert torch.equal(b[:, ~zero], a[:, ~zero])


def test_color_moves_each_image_and_lets_gradients_through():
    x = smooth_batch().requires_grad_(True)
    torch.manual_seed(3)
    y = augment(x, ("color",))
    assert not torch.allclose(y, x)
    y.sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0


def test_a_process_draws_its_rows_as_one_process_would():
    x = smooth_batch(8)
    torch.manual_seed(4)
    whole = augment(x, POLICIES)
    torch.manual_seed(4)
    part = augment(x[4:], POLICIES, batch=8, rows=slice(4, 8))
    torch.testing.assert_close(part, whole[4:])


def test_policy_parsing():
    assert parse_policy("color, cutout") == ("color", "cutout") and parse_policy("none") == ()
    with pytest.raises(ValueError, match="unknown augmentation zoom"):
        parse_policy("color,zoom")


def test_ema_moves_each_weight_part_of_the_way_and_measures_its_statistics():
    spec = ModelSpec(resolution=32, ngf=8)
    torch.manual_seed(0)
    g = Generator(spec)
    ema = EMA(g, 0.9)
    before = [p.clone() for p in ema.model.parameters()]
    with torch.no_grad():
        for p in g.parameters():
            p.add_(1.0)
    ema.update(g)
    for old, new, live in zip(before, ema.model.parameters(), g.parameters()):
        torch.testing.assert_close(new, 0.9 * old + 0.1 * live)
    rng = torch.get_rng_state()
    standing_statistics(ema.model, spec.z_dim, seed=0)
    first = [m.running_mean.clone() for m in ema.model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    standing_statistics(ema.model, spec.z_dim, seed=0)
    again = [m.running_mean for m in ema.model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert all(torch.equal(a, b) for a, b in zip(first, again)) and any(a.abs().sum() > 0 for a in first)
    assert not ema.model.training and torch.equal(rng, torch.get_rng_state())   # global draws untouched


class CountingMonitor:
    every = 2

    def __call__(self, step, generators):
        assert set(generators) == {"g", "ema"} and not any(g.training for g in generators.values())
        return {"kid": float(step)}


def test_the_recipe_resumes_exactly_and_ships_the_average(tmp_path):
    spec = ModelSpec(resolution=32, ngf=8, ndf=8, fuse_units=32)
    recipe = dict(dataset="celeba", data=None, batch_size=16, epochs=100, checkpoint_every=3, dry_run=True,
                  ema_decay=0.9, augment=POLICIES, precision="bf16", lr_d=4e-4, channels_last=True)
    straight = TrainSettings(out=str(tmp_path / "straight"), max_steps=6, **recipe)
    train(straight, spec, progress=False, log=lambda m: None, monitor=CountingMonitor())
    stopped = TrainSettings(out=str(tmp_path / "resumed"), max_steps=3, **recipe)
    train(stopped, spec, progress=False, log=lambda m: None)
    train(stopped, spec, resume=True, progress=False, log=lambda m: None, overrides={"max_steps": 6})
    a, b = checkpoint.load(tmp_path / "straight" / "last.pt"), checkpoint.load(tmp_path / "resumed" / "last.pt")
    for part in ("G", "G_ema", "D"):
        for k in a[part]:
            torch.testing.assert_close(a[part][k], b[part][k], rtol=1e-4, atol=1e-5)
    assert any(not torch.equal(a["G"][k], a["G_ema"][k]) for k in a["G"])
    shipped = checkpoint.to_weights(a, torch.float32)
    assert all(torch.equal(shipped["G"][k], a["G_ema"][k]) for k in a["G_ema"])
    _, g, _ = checkpoint.load_models(tmp_path / "straight" / "last.pt")
    assert all(torch.equal(v, a["G_ema"][k]) for k, v in g.state_dict().items())
    rows = [json.loads(line) for line in (tmp_path / "straight" / "monitor.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [2, 4, 6] and [r["kid"] for r in rows] == [2.0, 4.0, 6.0]
    kept = sorted(p.name for p in (tmp_path / "straight" / "monitored").iterdir())
    assert kept == ["step_000002.pt", "step_000004.pt", "step_000006.pt"]
    _, g6, _ = checkpoint.load_models(tmp_path / "straight" / "monitored" / "step_000006.pt")
    assert all(torch.equal(v, a["G_ema"][k]) for k, v in g6.state_dict().items())
    _, g2, _ = checkpoint.load_models(tmp_path / "straight" / "monitored" / "step_000002.pt")
    assert not all(torch.equal(v, a["G_ema"][k]) for k, v in g2.state_dict().items())


def test_cli_refuses_recipe_options_where_they_do_not_belong(tmp_path):
    for args, message in ((["--gl", "--ema-decay", "0.99"], "--ema-decay belongs to the GAN"),
                          (["--augment", "zoom"], "unknown augmentation zoom"),
                          (["--resume", "--precision", "bf16"], "--precision cannot change on --resume")):
        r = CliRunner().invoke(main, ["--dry-run", "--out", str(tmp_path / "run"), *args])
        assert r.exit_code == 2, r.output
        assert message in r.output


def test_a_run_from_init_starts_at_the_given_model_and_counts_its_images(tmp_path):
    spec = ModelSpec(resolution=32, ngf=8, ndf=8, fuse_units=32)
    recipe = dict(dataset="celeba", data=None, batch_size=16, epochs=100, checkpoint_every=3, dry_run=True,
                  ema_decay=0.9)
    first = TrainSettings(out=str(tmp_path / "first"), max_steps=3, **recipe)
    train(first, spec, progress=False, log=lambda m: None)
    before = checkpoint.load(tmp_path / "first" / "last.pt")
    weights = tmp_path / "model.pt"
    checkpoint.save(weights, checkpoint.to_weights(before, torch.float16, {"images_seen": 48}))
    lines = []
    more = TrainSettings(out=str(tmp_path / "more"), max_steps=1, init=str(weights), init_images=48, **recipe)
    train(more, spec, progress=False, log=lines.append)
    after = checkpoint.load(tmp_path / "more" / "last.pt")
    assert after["images_seen"] == 48 + 16 and "48 images seen" in lines[0] + lines[1]
    # one step from the shipped G (fp16 of the first run's average), not from a random start
    shipped = {k: v.float() for k, v in checkpoint.load(weights)["G"].items() if v.is_floating_point()}
    for k, v in shipped.items():
        if "running" not in k:
            assert (after["G"][k] - v).abs().max() < 0.01, k
            # the average moved one tenth of the way from its start towards G
            torch.testing.assert_close(after["G_ema"][k], v + 0.1 * (after["G"][k] - v), rtol=0, atol=1e-3)
    wrong = ModelSpec(resolution=32, ngf=16, ndf=8, fuse_units=32)
    with pytest.raises(Exception, match="another shape"):
        train(TrainSettings(out=str(tmp_path / "wrong"), max_steps=1, init=str(weights), **recipe), wrong,
              progress=False, log=lambda m: None)


def test_cli_init_reads_the_model_it_starts_from(tmp_path):
    r = CliRunner().invoke(main, ["--dry-run", "--out", str(tmp_path / "run"), "--init", str(tmp_path / "none.pt")])
    assert r.exit_code == 2 and "checkpoint not found" in r.output, r.output
    r = CliRunner().invoke(main, ["--out", str(tmp_path / "run"), "--resume", "--init", str(tmp_path / "x.pt")])
    assert r.exit_code == 2 and "--init cannot change on --resume" in r.output, r.output
