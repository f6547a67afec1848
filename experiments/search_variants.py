"""Search variants beyond z, in eager PyTorch, on tuning images (val draw 500..500+N, seed 0):
z alone, cutting G after a block and searching that layer's input (with and without a pull
towards where z puts it), and per-image scales and shifts of G's batch norms; hole PSNR and SSIM
of the composite (no blend), from the shipped encoder's start.

    python experiments/search_variants.py [--n 64] [--mask center|pattern] [--variants all|NAME,...] [--grid DIR]
"""
import argparse
import time

import numpy as np, torch, torch.nn.functional as F
from inpaint.eval.harness import pick_images
from inpaint.masks import center_mask, make_mask
from inpaint.runtime.problem import make_problem
from inpaint.train.checkpoint import load_models, load_encoder
from inpaint.train.models import crop_patches
from inpaint.train.search_objective import contextual_term, critic_terms
from inpaint.eval.metrics import psnr, ssim
from inpaint.weights import shipped_bundle

ap = argparse.ArgumentParser()
ap.add_argument("--n", type=int, default=64); ap.add_argument("--mask", default="center")
ap.add_argument("--model", default=None); ap.add_argument("--grid", default=None); ap.add_argument("--variants", default="all")
args = ap.parse_args()
torch.set_num_threads(1)
model = args.model or shipped_bundle()
spec, G, D = load_models(model); E = load_encoder(shipped_bundle())
for p in list(G.parameters()) + list(D.parameters()) + list(E.parameters()): p.requires_grad_(False)
_, imgs = pick_images("../shared/data/celeba64/val.zip", args.n, 64, 0, skip=500)
y = torch.from_numpy(imgs).permute(0, 3, 1, 2).float() / 127.5 - 1
if args.mask == "center":
    known = np.repeat(center_mask(64)[None], args.n, 0)
else:
    known = np.stack([make_mask(args.mask, 64, i) for i in range(args.n)])
P = make_problem(y.numpy(), known, spec.patch)
known_t, w_t, box = torch.from_numpy(P.known), torch.from_numpy(P.weights), torch.from_numpy(P.box)
LAM, MU = 0.003, 30.0

def features(img):
    return D(img, crop_patches(img, box[:, 0], box[:, 1], spec.patch))
with torch.no_grad():
    s = features(y * known_t); target = (s.global_features, s.patch_features)
    z0 = E(y * known_t, known_t)

def objective(x):
    c = contextual_term(x, y, w_t, "l1")
    pr, co = critic_terms(D, x, known_t, features, target, "joint", MU)
    return c + LAM * pr + MU * co

layers = G.net
# block boundaries: after each ReLU (indices 2, 5, 8, 11 at 64x64)
cuts = [i + 1 for i, m in enumerate(layers) if isinstance(m, torch.nn.ReLU)]
def head(z, cut): return layers[:cut](z[:, :, None, None])
def tail(h, cut): return layers[cut:](h)

def adam(params, lr): return torch.optim.Adam(params, lr=lr, betas=(0.9, 0.999))

def run_z(steps, lr=0.02):
    z = z0.clone().requires_grad_(True); opt = adam([z], lr)
    for _ in range(steps):
        opt.zero_grad(); objective(G(z)).sum().backward(); opt.step()
        with torch.no_grad(): z.clamp_(-1, 1)
    return G(z).detach(), z.detach()

def run_surgery(cut, steps, lr, reg=0.0, zsteps=0, zlr=0.02):
    z = z0
    if zsteps:
        _, z = run_z(zsteps, zlr)
    with torch.no_grad(): h0 = head(z, cut)
    h = h0.clone().requires_grad_(True); opt = adam([h], lr)
    for _ in range(steps):
        opt.zero_grad()
        loss = objective(tail(h, cut)).sum() + reg * ((h - h0) ** 2).flatten(1).mean(1).sum()
        loss.backward(); opt.step()
        with torch.no_grad(): h.clamp_(min=0)     # the cut sits after a ReLU
    return tail(h, cut).detach(), None

class Modulated(torch.nn.Module):
    """G with per-sample scale/shift after each BatchNorm."""
    def __init__(self, n):
        super().__init__()
        self.bns = [i for i, m in enumerate(layers) if isinstance(m, torch.nn.BatchNorm2d)]
        self.a = torch.nn.ParameterList([torch.nn.Parameter(torch.zeros(n, layers[i].num_features, 1, 1)) for i in self.bns])
        self.b = torch.nn.ParameterList([torch.nn.Parameter(torch.zeros(n, layers[i].num_features, 1, 1)) for i in self.bns])
    def forward(self, z):
        h = z[:, :, None, None]; k = 0
        for i, m in enumerate(layers):
            h = m(h)
            if i in self.bns:
                h = h * (1 + self.a[k]) + self.b[k]; k += 1
        return h

def run_bn(steps, lr, reg, zlr=0.02, only=None):
    z = z0.clone().requires_grad_(True); mod = Modulated(len(z0))
    params = [p for k, p in enumerate(mod.a)] + [p for k, p in enumerate(mod.b)]
    if only is not None:
        params = [mod.a[k] for k in only] + [mod.b[k] for k in only]
    opt = torch.optim.Adam([{"params": [z], "lr": zlr}, {"params": params, "lr": lr}])
    for _ in range(steps):
        opt.zero_grad()
        r = sum((p ** 2).flatten(1).mean(1) for p in mod.parameters())
        (objective(mod(z)) + reg * r).sum().backward(); opt.step()
        with torch.no_grad(): z.clamp_(-1, 1)
    return mod(z).detach(), None

def score(x):
    out = ((x.clamp(-1, 1) + 1) * 127.5).round().permute(0, 2, 3, 1).numpy().astype(np.uint8)
    comp = np.where(P.known[:, 0, :, :, None] > 0.5, imgs, out) / 255.0
    hole = P.known[:, 0] < 0.5
    return (float(np.mean([psnr(c, t / 255.0, h) for c, t, h in zip(comp, imgs, hole)])),
            float(np.mean([ssim(c, t / 255.0) for c, t in zip(comp, imgs)])))

variants = {
    "encoder start": lambda: (G(z0), None),
    "z 30": lambda: run_z(30),
    "z 100": lambda: run_z(100),
}
for ci, cut in enumerate(cuts[:3]):
    for lr in (0.01, 0.03):
        for reg in (0.0, 10.0):
            variants[f"surgery@{ci+1} lr{lr} reg{reg} 30"] = (lambda cut=cut, lr=lr, reg=reg: run_surgery(cut, 30, lr, reg))
    variants[f"z30 then surgery@{ci+1} lr0.01 30"] = (lambda cut=cut: run_surgery(cut, 30, 0.01, 0.0, zsteps=30))
for lr in (0.01, 0.03):
    for reg in (0.0, 1.0):
        variants[f"bn-mod lr{lr} reg{reg} 30"] = (lambda lr=lr, reg=reg: run_bn(30, lr, reg))
variants["bn-mod lr0.01 60"] = lambda: run_bn(60, 0.01, 0.0)
variants["bn-mod lr0.003 30"] = lambda: run_bn(30, 0.003, 0.0)
variants["bn-mod first2 lr0.01 30"] = lambda: run_bn(30, 0.01, 0.0, only=[0, 1])
variants["bn-mod last2 lr0.01 30"] = lambda: run_bn(30, 0.01, 0.0, only=[2, 3])
variants["surgery@1 lr0.03 reg10 60"] = lambda: run_surgery(cuts[0], 60, 0.03, 10.0)
variants["surgery@2 lr0.03 reg10 60"] = lambda: run_surgery(cuts[1], 60, 0.03, 10.0)
sel = variants if args.variants == "all" else {k: v for k, v in variants.items() if any(s in k for s in args.variants.split(","))}
res = {}
for name, fn in sel.items():
    t = time.perf_counter(); x, _ = fn(); dt = time.perf_counter() - t
    p, s = score(x.detach())
    res[name] = (p, s, dt)
    if args.grid:
        out = ((x.clamp(-1, 1) + 1) * 127.5).round().permute(0, 2, 3, 1).numpy().astype(np.uint8)
        np.save(f"{args.grid}/{name.replace(' ', '_')}.npy", out); print(f"{name:40s} psnr {p:6.2f} ssim {s:.4f}  {dt:5.1f}s", flush=True)
