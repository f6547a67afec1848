"""What every command shares: turning InpaintError into one line on stderr and exit code 2."""
from __future__ import annotations

import functools
import sys

import click

from inpaint.errors import InpaintError

EXIT_USAGE = 2


def user_errors(fn):
    """Report InpaintError as 'error: ...' on stderr and exit 2, with no traceback."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except InpaintError as e:
            click.echo(f"error: {e}", err=True)
            sys.exit(EXIT_USAGE)
    return wrapper


def positive_ints(value: str, example: str, allow_empty: bool = False) -> tuple[int, ...]:
    """'50,100,200' -> (50, 100, 200): sorted, without repeats; click.BadParameter otherwise."""
    try:
        items = tuple(sorted({int(v) for v in value.split(",") if v.strip()}))
    except ValueError:
        raise click.BadParameter(f"{value!r}: give comma-separated whole numbers like {example}") from None
    if any(k < 1 for k in items) or not (items or allow_empty):
        raise click.BadParameter(f"{value!r}: give numbers of at least 1, like {example}")
    return items


def torch_device(value: str) -> str:
    """A --device for PyTorch: 'cpu', 'cuda' or 'cuda:N' where torch sees that GPU; click.BadParameter otherwise."""
    kind, _, index = value.partition(":")
    if kind not in ("cpu", "cuda") or (index and (kind == "cpu" or not index.isdigit())):
        raise click.BadParameter(f"{value!r}: use cpu, cuda or cuda:N")
    if kind == "cuda":
        import torch
        if int(index or 0) >= torch.cuda.device_count():
            raise click.BadParameter(f"{value!r}: torch sees {torch.cuda.device_count()} CUDA GPU(s) here; "
                                     "use --device cpu")
    return value


def search_option(default: str | None = "auto"):
    """--search: what the search changes (spec.SEARCH_CHOICES); one help text for every command."""
    from inpaint.spec import SEARCH_CHOICES
    return click.option("--search", type=click.Choice(SEARCH_CHOICES), default=default,
                        help="What the search changes: z, the latent vector alone (Yeh et al.); z+bn, z "
                             "and, per image, a scale and shift of every batch-norm channel of G (2C more "
                             "numbers, bounded; fills closer to the truth at 1.07x the time); auto, z+bn "
                             "where the model has its graphs, else z.")
