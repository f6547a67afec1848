"""Frozen configuration shared by every stage: training, export and the runtime."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from inpaint.errors import CheckpointError

# Bumped whenever the layout of a checkpoint or weights file changes incompatibly.
CHECKPOINT_FORMAT = 1

RESOLUTIONS = (32, 64)

INITS = ("auto", "encoder", "random")
# Adam steps at most, by where the search starts. From the latent encoder's z, quality stops rising
# within 25-50 steps and then slowly declines as the fit to the known pixels takes over; a random
# start is still rising at 1,000 (docs/RESULTS.md, on val images disjoint from the evaluation's).
DEFAULT_ITERATIONS = {"random": 1000, "encoder": 30}
# Starts per image and Adam's step size, by where the search starts. From the encoder, its own z
# alone scores higher than the best of it and three perturbations picked by the loss, and 30 steps
# of 0.02 match 100 of 0.01 (docs/RESULTS.md: chosen on tuning images, checked on the 500
# evaluation images against 4 x 100); a random start keeps the settings tuned for it.
DEFAULT_RESTARTS = {"random": 4, "encoder": 1}
DEFAULT_LR = {"random": 0.01, "encoder": 0.02}
# What the search changes: "z", the latent vector alone (Yeh et al.); "z+bn", z and, per image, a
# scale and shift of every batch-norm channel of G (modulation_size more numbers). On 200 tuning
# images z+bn filled the hole 0.34 dB (center) and 0.44 dB (pattern) better than z, with lower
# identity distance and landmark error, at 1.07x z's time (docs/RESULTS.md, "What the search
# changes"), so the default, "auto", is z+bn wherever the model can run it (a bundle exported
# before z+bn existed has no graphs for it: there it is z).
SEARCHES = ("z", "z+bn")
SEARCH_CHOICES = ("auto", *SEARCHES)
AUTO_SEARCH = "z+bn"


@dataclass(frozen=True)
class ModelSpec:
    """Everything needed to rebuild the networks: stored in every checkpoint and bundle."""

    resolution: int = 64   # H = W of generated images
    z_dim: int = 100       # latent size; z lives in [-1, 1]^z_dim
    channels: int = 3      # RGB
    ngf: int = 64          # generator width (channels of its last hidden layer)
    ndf: int = 64          # discriminator width (channels of its first layer)
    fuse_channels: int = 16  # each branch's 4x4 features are reduced to this many channels before fusion
    fuse_units: int = 2048   # hidden units of the fully connected fusion layer

    def __post_init__(self) -> None:
        if self.resolution not in RESOLUTIONS:
            raise ValueError(f"resolution must be one of {RESOLUTIONS}, got {self.resolution}")

    @property
    def patch(self) -> int:
        """Side of the square crop the patch discriminator sees (half the image side)."""
        return self.resolution // 2

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "ModelSpec":
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise CheckpointError(f"model spec has unknown fields {sorted(unknown)}; "
                                  "the file was written by a newer inpaint: upgrade inpaint")
        return cls(**d)


def generator_norms(spec: ModelSpec) -> tuple[int, ...]:
    """Channels of each batch norm of G (train.models.Generator), in order: (512, 256, 128, 64)
    at 64x64 with ngf 64."""
    stages = (spec.resolution // 4).bit_length() - 1     # stride-2 stages from 4x4: 4 at 64x64
    return tuple(spec.ngf * 2 ** (stages - 1 - i) for i in range(stages))


def modulation_size(spec: ModelSpec) -> int:
    """2C: the numbers search "z+bn" adds to z, a scale and a shift for each of G's C batch-norm
    channels (1,920 at 64x64 with ngf 64)."""
    return 2 * sum(generator_norms(spec))


def search_size(spec: ModelSpec, search: str) -> int:
    """Width of the search variable of `search` (one of SEARCHES): z_dim, or z_dim + 2C for z+bn."""
    if search not in SEARCHES:
        raise ValueError(f"search must be one of {', '.join(SEARCHES)}, got {search!r}")
    return spec.z_dim + (modulation_size(spec) if search == "z+bn" else 0)


def search_of_size(spec: ModelSpec, width: int) -> str:
    """The search whose variable is `width` numbers wide (ValueError for any other width)."""
    for search in SEARCHES:
        if search_size(spec, search) == width:
            return search
    raise ValueError(f"a search variable has {spec.z_dim} (z) or {search_size(spec, 'z+bn')} (z+bn) "
                     f"numbers for this model, got {width}")


@dataclass(frozen=True)
class InpaintSettings:
    """How one completion searches the latent space (defaults: the method's published settings)."""

    iterations: int | None = None  # Adam steps on z at most; None: DEFAULT_ITERATIONS of the start
    restarts: int | None = None  # starts per image, solved in one batch; the best final loss wins;
                               # None: DEFAULT_RESTARTS of the start
    init: str = "auto"         # the start: "random" z ~ U[-1, 1]; "encoder" the latent encoder's z
                               # (restarts after the first perturbed around it); "auto": encoder where
                               # the model has one
    perturbation: float = 0.1  # std of the Gaussian noise on the encoder's z for the other restarts
    lr: float | None = None    # Adam step size on z (public ports of Yeh et al. use 0.01-0.03); None:
                               # DEFAULT_LR of the start
    beta1: float = 0.9
    beta2: float = 0.999
    prior_weight: float = 0.003     # lambda on the prior loss log(1 - D(G(z)))
    consistency_weight: float = 30.0  # mu on the feature consistency loss between M*G(z) and M*y (tuned on val)
    prior: str = "joint"       # "joint": fused D + PD score (ours); "global": D's own head (SE)
    norm: str = "l1"           # contextual loss: "l1" (Yeh et al.) or "l2" (the paper)
    window: int = 7            # importance-weight window
    patience: int = 50         # early stop when the loss improved less than rel_tol over this many steps
    rel_tol: float = 1e-4
    seed: int = 0
    search: str = "auto"       # what the search changes (SEARCHES): "z", or "z+bn": z and a bounded
                               # per-image scale and shift of every batch-norm channel of G; "auto":
                               # AUTO_SEARCH where the engine runs it, else z

    def __post_init__(self) -> None:
        if self.search not in SEARCH_CHOICES:
            raise ValueError(f"search must be one of {', '.join(SEARCH_CHOICES)}, got {self.search!r}")
        if self.prior not in ("joint", "global"):
            raise ValueError(f"prior must be 'joint' or 'global', got {self.prior!r}")
        if self.norm not in ("l1", "l2"):
            raise ValueError(f"norm must be 'l1' or 'l2', got {self.norm!r}")
        if self.init not in INITS:
            raise ValueError(f"init must be one of {', '.join(INITS)}, got {self.init!r}")
        if (self.iterations is not None and self.iterations < 1) or (self.restarts is not None and self.restarts < 1):
            raise ValueError("iterations and restarts must be at least 1")
        if self.lr is not None and not self.lr > 0:
            raise ValueError(f"lr must be > 0, got {self.lr!r}")
        if self.perturbation < 0:
            raise ValueError(f"perturbation must be >= 0, got {self.perturbation!r}")

    @property
    def iteration_limit(self) -> int:
        """The most Adam steps this search takes: iterations, or the default for its start
        (a random start's while init is still "auto")."""
        if self.iterations is not None:
            return self.iterations
        return DEFAULT_ITERATIONS["encoder" if self.init == "encoder" else "random"]

    @property
    def step_size(self) -> float:
        """Adam's step size: lr, or the default for its start (a random start's while init is
        still "auto")."""
        if self.lr is not None:
            return self.lr
        return DEFAULT_LR["encoder" if self.init == "encoder" else "random"]

    @property
    def restart_count(self) -> int:
        """Starts per image: restarts, or the default for its start (a random start's while init
        is still "auto")."""
        if self.restarts is not None:
            return self.restarts
        return DEFAULT_RESTARTS["encoder" if self.init == "encoder" else "random"]

    def resolved(self, has_encoder: bool) -> "InpaintSettings":
        """These settings for a model with or without a latent encoder: init "auto" becomes the
        encoder where there is one, and the iteration limit, the restarts and the step size become
        explicit (search "auto" is made explicit by the engine: runtime.engines.searched)."""
        init = ("encoder" if has_encoder else "random") if self.init == "auto" else self.init
        if init == "encoder" and not has_encoder:
            from inpaint.errors import InpaintError
            raise InpaintError("init 'encoder' asked for, but this model has no latent encoder; use "
                               "init 'random' or a model trained with inpaint-train --encoder")
        done = dataclasses.replace(self, init=init)
        return dataclasses.replace(done, iterations=done.iteration_limit, restarts=done.restart_count,
                                   lr=done.step_size)


# What each search method fixes of InpaintSettings: ours, the joint D + PD prior with the
# consistency loss at their defaults; SE (Yeh et al.), the global discriminator's own prior alone.
METHODS = {"ours": {}, "se": {"prior": "global", "consistency_weight": 0.0}}


def method_settings(method: str, **fields) -> InpaintSettings:
    """The search settings of `method` ("ours" or "se"), with `fields` for the rest; the
    method's own fields win over `fields`."""
    if method not in METHODS:
        raise ValueError(f"method must be one of the search objectives {', '.join(METHODS)}, got {method!r}")
    return InpaintSettings(**{**fields, **METHODS[method]})
