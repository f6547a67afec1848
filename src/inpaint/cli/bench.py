"""inpaint-bench: latency of the search on every backend, against eager PyTorch, in one run."""
from __future__ import annotations

import json
from pathlib import Path

import click

from inpaint.cli.backend_option import TableHelpOption
from inpaint.cli.common import positive_ints, user_errors


def _backends(ctx, param, value):
    from inpaint.bench.runners import names
    if value is None:
        return None
    items = tuple(dict.fromkeys(v.strip() for v in value.split(",") if v.strip()))
    bad = [v for v in items if v not in names()]
    if bad or not items:
        raise click.BadParameter(f"{', '.join(bad) or 'nothing given'}; choose from {', '.join(names())}")
    return items


def _backends_help() -> str:
    from inpaint.cli.backend_option import rows_help
    return ("Comma-separated: the yardsticks eager (the search as a PyTorch user writes it: autograd + "
            "torch.optim.Adam) and compile (the same under torch.compile), and the backends of inpaint-rt: "
            f"{rows_help()} [default: every one that can run here].")


@click.command(name="inpaint-bench", context_settings={"help_option_names": ["-h", "--help"],
                                                      "show_default": True})
@click.option("--backends", callback=_backends, default=None, cls=TableHelpOption, help_from=_backends_help)
@click.option("--batch", "batches", default=None,
              callback=lambda c, p, v: None if v is None else positive_ints(v, "1,16,64"),
              help="Comma-separated batch sizes (images x restarts) [default: 1,16,64 on the CPU, "
                   "1,4,16,64,256 on a GPU].")
@click.option("--iterations", type=click.IntRange(min=1), default=30, help="Timed steps per backend and batch.")
@click.option("--warmup", type=click.IntRange(min=0), default=5, help="Untimed steps before them.")
@click.option("--search-iterations", type=click.IntRange(min=1), default=100,
              help="Steps of the whole search timed end to end, per backend and batch.")
@click.option("--rounds", type=click.IntRange(min=1), default=3,
              help="Interleave the backends' timed steps in this many rounds (against drift).")
@click.option("--device", default="cpu", help="Where the backends and the yardsticks run: cpu or cuda[:N].")
@click.option("--threads", type=click.IntRange(min=1), default=None,
              help="CPU threads for torch and ONNX Runtime [default: all cores].")
@click.option("--bundle", type=click.Path(path_type=Path), help="Model bundle [default: the shipped model].")
@click.option("--weights", type=click.Path(path_type=Path),
              help="Weights of the same model for the yardsticks and the backends on PyTorch [default: the "
                   "shipped model].")
@click.option("--json", "json_path", type=click.Path(path_type=Path), help="Write every figure as JSON.")
@click.option("--markdown", "markdown_path", type=click.Path(path_type=Path), help="Write the table as markdown.")
@click.option("--plot", "plot_path", type=click.Path(path_type=Path),
              help="Write latency against batch size as a PNG (needs matplotlib).")
@user_errors
def main(backends, batches, iterations, warmup, search_iterations, rounds, device, threads, bundle, weights,
         json_path, markdown_path, plot_path):
    """Time one optimisation iteration and a whole search on every backend, side by side.

    Every backend solves the same problems (random images, center holes) with the default
    method settings; ratios are to eager PyTorch from the same run.

    \b
    Examples:
      inpaint-bench                                   # every backend that runs here, batch 1,16,64
      inpaint-bench --backends eager,ort --batch 1 --json bench.json --markdown bench.md --plot bench.png
      inpaint-bench --device cuda --batch 1,16,256    # on a GPU: eager, compile, ort, torch, gpu (and trt, gpu-trt)
    """
    from inpaint.bench.report import markdown, plot
    from inpaint.bench.run import BenchSettings, run
    from inpaint.bench.runners import names, unavailable
    from inpaint.weights import shipped_bundle

    bundle = bundle or shipped_bundle()
    weights = weights or shipped_bundle()
    if backends is None:
        reasons = {b: unavailable(b, device, bundle, weights) for b in names()}
        backends = tuple(b for b, reason in reasons.items() if not reason)
        skipped = [f"{b} ({reason})" for b, reason in reasons.items() if reason]
        if skipped:
            click.echo("not measured: " + "; ".join(skipped), err=True)
    if batches is None:
        batches = (1, 4, 16, 64, 256) if device.startswith("cuda") else (1, 16, 64)
    settings = BenchSettings(backends=backends, batches=batches, bundle=str(bundle), weights=str(weights),
                             iterations=iterations, warmup=warmup, search_iterations=search_iterations,
                             device=device, threads=threads, rounds=rounds)
    result = run(settings, log=lambda line: click.echo(line, err=True))
    table = markdown(result)
    click.echo(table)
    from inpaint.atomic import write_atomic
    if json_path:
        write_atomic(json_path, lambda tmp: tmp.write_text(json.dumps(result, indent=2)))
    if markdown_path:
        write_atomic(markdown_path, lambda tmp: tmp.write_text(table))
    if plot_path:
        plot(result, plot_path)


if __name__ == "__main__":
    main()
