"""inpaint-rt: the completion runtime's commands."""
from __future__ import annotations

import json
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import click

from inpaint.backends import loaders
from inpaint.cli.backend_option import TableHelpOption, backend_option
from inpaint.cli.common import search_option, user_errors
from inpaint.errors import InpaintError, OutputError
from inpaint.spec import DEFAULT_ITERATIONS, METHODS

SETTINGS = {"help_option_names": ["-h", "--help"], "show_default": True}
AUTO_HELP = "TensorRT, else ONNX Runtime on CUDA, else on the CPU (torch with --weights)"


@click.group(name="inpaint-rt", context_settings=SETTINGS)
def main():
    """Semantic inpainting with a DCGAN prior: fill the holes of an image."""


@main.command(context_settings=SETTINGS)
@click.argument("image", required=False, type=click.Path(path_type=Path))
@click.argument("mask", required=False, type=click.Path(path_type=Path))
@click.option("-o", "--out", "out", required=True, type=click.Path(path_type=Path),
              help="Output file (.png or .jpg), or a directory with --batch.")
@click.option("--batch", "batch_dir", type=click.Path(path_type=Path),
              help="Complete every image in this directory (masks from --masks, else from alpha).")
@click.option("--masks", "masks_dir", type=click.Path(path_type=Path),
              help="With --batch: directory of masks with the same file names (any image suffix).")
@click.option("--invert-mask", is_flag=True, help="The mask's black pixels are the hole instead of its white.")
@backend_option(AUTO_HELP)
@click.option("--bundle", type=click.Path(path_type=Path), cls=TableHelpOption,
              help_from=lambda: f"Bundle for {loaders('bundle')} [default: the shipped celeba64].")
@click.option("--weights", type=click.Path(path_type=Path), cls=TableHelpOption,
              help_from=lambda: f"Weights for --backend {loaders('weights')} [default: the shipped celeba64].")
@click.option("--method", type=click.Choice([*METHODS, "gl"]), default="ours",
              help="ours: search z under the joint D + PD prior with the consistency loss; se: Yeh et "
                   "al.'s search (D's own prior alone); gl: Iizuka et al.'s completion network, one "
                   "forward pass of the bundle's GL graph (fast; no search, so --init, --iterations, "
                   "--restarts do not apply).")
@click.option("--init", type=click.Choice(["auto", "encoder", "random"]), default="auto",
              help="Where the search on z starts: encoder, the model's latent encoder (restarts "
                   "perturbed around its z); random, z drawn from U[-1, 1]; auto: encoder where the "
                   "model has one.")
@search_option()
@click.option("--iterations", type=click.IntRange(min=1), default=None,
              help=f"Adam steps on z at most [default: {DEFAULT_ITERATIONS['encoder']} from the encoder, "
                   f"{DEFAULT_ITERATIONS['random']} from random z].")
@click.option("--restarts", type=click.IntRange(min=1), default=None,
              help="Starts per image, searched together; the lowest final loss wins [default: 1 from "
                   "the encoder, 4 from random z].")
@click.option("--seed", type=int, default=0)
@click.option("--device", default=None,
              help="cpu, cuda or cuda:N [default: a GPU where the backend uses one, else cpu].")
@click.option("--framing", default="auto",
              help="Where the model looks: auto, the square framed as its training faces were, found "
                   "around the face the hole is on (the whole image where no face holds the hole); "
                   "whole, the whole image squeezed to the model's square; X,Y,SIZE, a square you "
                   "choose (top-left corner and side in pixels; it may reach past the edges).")
@click.option("--debug-framing", type=click.Path(path_type=Path),
              help="Write a PNG of the input with the hole and the framing square drawn on it "
                   "(with --batch: a directory, one PNG per image).")
@click.option("--report", type=click.Path(path_type=Path),
              help="Write the framing, losses and timings as JSON here.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@click.option("--ray", "ray_address", is_flag=False, flag_value="local", default=None, metavar="[ADDRESS]",
              help="With --batch: complete on Ray Data, a pool of actors on a local Ray (--ray) or a "
                   "cluster (--ray ADDRESS, or auto); outputs that exist are skipped, and an image that "
                   "fails is reported without stopping the others. Needs inpaint[ray].")
@click.option("--ray-actors", type=click.IntRange(min=1), default=None,
              help="With --ray: actors [default: one per CPU of the cluster, or per GPU with --ray-gpus].")
@click.option("--ray-gpus", type=click.FloatRange(min=0), default=0,
              help="With --ray: GPUs per actor (each then picks its backend as --backend says).")
@user_errors
def complete(image, mask, out, batch_dir, masks_dir, invert_mask, backend, bundle, weights, method, init, search,
             iterations, restarts, seed, device, framing, debug_framing, report, quiet, ray_address, ray_actors,
             ray_gpus):
    """Fill the hole of IMAGE marked by MASK (white = hole; soft masks are thresholded at 50%).

    Without MASK, the transparent pixels (alpha = 0) of an RGBA IMAGE are the hole. Any size:
    the model sees the square of the photo framed as its training faces were (--framing), at its
    own resolution; the completion is blended into the hole at full resolution; known pixels
    come back unchanged.

    \b
    Examples:
      inpaint-rt complete face.png mask.png -o filled.png
      inpaint-rt complete cutout.png -o filled.png          # RGBA: alpha 0 = hole
      inpaint-rt complete --batch faces/ --masks masks/ -o filled/
      inpaint-rt complete photo.jpg mask.png -o filled.png --debug-framing framing.png
      inpaint-rt complete photo.jpg mask.png -o filled.png --framing 35,55,108
      inpaint-rt complete face.png mask.png -o filled.png --method gl   # one forward pass
    """
    from inpaint.spec import method_settings

    t_start = time.perf_counter()
    framing = _framing(framing)
    if batch_dir is None and image is None:
        raise click.UsageError("give IMAGE [MASK], or --batch DIR")
    if batch_dir is not None and (image is not None or mask is not None):
        raise click.UsageError("give either IMAGE [MASK] or --batch DIR, not both")
    ctx = click.get_current_context()
    from click.core import ParameterSource
    if method == "gl":
        given = [f"--{n}" for n in ("init", "search", "iterations", "restarts")
                 if ctx.get_parameter_source(n) == ParameterSource.COMMANDLINE]
        if given:
            raise click.UsageError(f"{given[0]} is for the searches (ours, se); --method gl makes one forward pass")
        if ray_address is not None:
            raise click.UsageError("--ray runs the searches (ours, se); complete --batch without --ray for gl")
    objective = "se" if method == "se" else "ours"     # gl searches nothing: its settings go unused
    settings = method_settings(objective, iterations=iterations, restarts=restarts, seed=seed, init=init,
                               search=search)
    if ray_address is not None:
        if batch_dir is None:
            raise click.UsageError("--ray completes a folder: give --batch DIR")
        return _complete_on_ray(batch_dir, masks_dir, out, ray_address, ray_actors, ray_gpus, backend, bundle,
                                invert_mask, framing, settings)
    note = None if quiet else (lambda text: click.echo(f"note: {text}", err=True))
    jobs = _jobs(image, mask, out, batch_dir, masks_dir, invert_mask, framing, note)
    if report is not None and report.is_dir():
        raise OutputError(f"--report {report} is a directory; give a file name such as {report / 'report.json'}")
    debug_paths = _debug_paths(debug_framing, [Path(j.name) for j in jobs], batch_dir is not None)

    inpainter = _inpainter(backend, bundle, weights, device, settings, quiet)
    settings = inpainter.settings     # as they apply to this model: init and iterations explicit
    t_loaded = time.perf_counter()

    results = _completed(inpainter, jobs, method == "gl", note, debug_paths, quiet, batch_dir is None)
    _tell(results, method, None if method == "gl" else settings.__dict__, inpainter.engine.name,
          _where(inpainter.engine, device), report, batch_dir is not None, (t_start, t_loaded, time.perf_counter()))


@main.command(context_settings=SETTINGS)
@click.option("--host", default="127.0.0.1", help="Address to listen on (0.0.0.0: every interface).")
@click.option("--port", type=click.IntRange(0, 65535), default=8080, help="Port to listen on (0: any free one).")
@backend_option(AUTO_HELP)
@click.option("--bundle", type=click.Path(path_type=Path), help="As for complete.")
@click.option("--weights", type=click.Path(path_type=Path), help="As for complete.")
@click.option("--device", default=None, help="As for complete.")
@click.option("--max-batch", type=click.IntRange(min=1), default=16,
              help="Rows (images x restarts) searched together at most.")
@click.option("--max-wait-ms", type=click.FloatRange(min=0), default=20,
              help="How long the first request of a batch waits for others to join it.")
@click.option("--max-queue", type=click.IntRange(min=1), default=64,
              help="Requests waiting at most; past that the server answers 503 with Retry-After.")
@click.option("--max-upload-mb", type=click.FloatRange(min=0.01), default=20,
              help="Largest request body; larger uploads get 413 before they are read whole.")
@search_option()
@click.option("--quiet", is_flag=True, help="No access log.")
@user_errors
def serve(host, port, backend, bundle, weights, device, max_batch, max_wait_ms, max_queue, max_upload_mb, search,
          quiet):
    """Serve completions over HTTP, with a page at / to paint a hole and watch it fill.

    Concurrent requests are searched together in one batch (up to --max-batch rows, waiting at
    most --max-wait-ms for company); each gets the same pixels as alone with its seed. The API is
    described at /docs (OpenAPI at /openapi.json).

    \b
    Examples:
      inpaint-rt serve                      # then open http://127.0.0.1:8080/
      curl -F image=@face.png -F mask=@mask.png http://127.0.0.1:8080/v1/complete -o filled.png
    """
    try:
        import uvicorn
        from inpaint.serve.app import create_app
    except ImportError:
        raise InpaintError("inpaint-rt serve needs FastAPI and uvicorn: pip install 'inpaint[serve]'") from None
    from inpaint.serve.service import batcher_for, model_info
    from inpaint.spec import InpaintSettings

    port = _check_listen(host, port)
    base = _inpainter(backend, bundle, weights, device, InpaintSettings(search=search), quiet)
    batcher = batcher_for(base, max_batch, max_wait_ms, max_queue)
    app = create_app(batcher, model_info(base, backend), max_upload_mb)
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    click.echo(f"inpaint: serving {base.engine.name} on http://{shown}:{port}/ (API docs at /docs); "
               "Ctrl-C stops", err=True)
    try:
        uvicorn.run(app, host=host, port=port, log_level="warning" if quiet else "info", access_log=not quiet)
    finally:
        batcher.close()


def _check_listen(host: str, port: int) -> int:
    """The port to listen on (a free one for 0); refuses an address the server could not listen
    on before anything is loaded."""
    import socket
    try:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        with socket.socket(family) as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind((host, port))
            return s.getsockname()[1]
    except OSError as e:
        raise InpaintError(f"cannot listen on {host}:{port} ({e.strerror or e}); give another --port "
                           "or --host") from None


def _complete_on_ray(batch_dir, masks_dir, out, address, actors, gpus, backend, bundle, invert, framing,
                     settings) -> None:
    from inpaint.distributed import complete_dataset
    summary = complete_dataset(batch_dir, out, masks_dir, address=None if address == "local" else address,
                               concurrency=actors, num_gpus=gpus, backend=backend, bundle=bundle,
                               settings=settings, invert_mask=invert,
                               framing=framing if isinstance(framing, str) else ",".join(map(str, framing.to_list())))
    for f in summary["failed"]:
        click.echo(f"failed: {f['image']}: {f['error']}", err=True)
    click.echo(f"{summary['done']} completed, {summary['skipped']} skipped (their output exists), "
               f"{len(summary['failed'])} failed, in {summary['seconds']:.1f} s", err=True)
    if summary["failed"]:
        raise _some_failed(len(summary["failed"]))


def _jobs(image, mask, out, batch_dir, masks_dir, invert, framing, note) -> list:
    """The ImageJobs: a folder's (read as they are completed), or the one image, read and checked
    before the model is loaded."""
    from inpaint.batch_files import folder_jobs, load_job
    from inpaint.runtime.jobs import ImageJob
    if batch_dir is not None:
        return [ImageJob(str(img), img, msk, invert, out=o, framing=framing)
                for img, msk, o in folder_jobs(batch_dir, masks_dir, out)]
    out = _single_out(out)
    picture, hole = load_job(image, mask, invert, note)
    return [ImageJob(str(image), picture=picture, hole=hole, out=out, framing=framing)]


def _completed(inpainter, jobs, gl: bool, note, debug_paths, quiet: bool, single: bool) -> list[dict]:
    """Each job's record ({image, out, the completion's report}) or failure ({image, error}), in
    the jobs' order; the one image's failure is raised."""
    from inpaint.runtime.jobs import complete_jobs
    show = not quiet and sys.stderr.isatty()

    def framed(i, picture, hole, f):
        if f.reason and not quiet:
            click.echo(f"note: {jobs[i].name}: {f.reason}; completing the whole image "
                       "(give --framing X,Y,SIZE to choose the square)", err=True)
        if debug_paths:
            from inpaint.runtime.framing_picture import framing_picture
            framing_picture(picture, hole, f, debug_paths[i])

    @contextmanager
    def progress(indices):
        from tqdm import tqdm
        with tqdm(total=inpainter.settings.iteration_limit, desc=f"images {indices[0] + 1}-{indices[-1] + 1} of "
                  f"{len(jobs)}", unit="it", disable=not show, leave=False) as bar:
            def step(it, loss):
                bar.update(1)
                bar.set_postfix(loss=f"{loss:.4g}", refresh=False)
            yield step
    results = {}
    for r in complete_jobs(inpainter, jobs, gl=gl, on_note=note, on_framed=framed, progress=progress):
        if not r.ok and single:
            raise r.error
        results[r.index] = ({"image": r.job.name, "out": str(r.job.out), **r.completion.report} if r.ok
                            else {"image": r.job.name, "error": str(r.error)})
    return [results[i] for i in sorted(results)]


def _tell(results: list[dict], method: str, settings: dict | None, engine: str, where: str, report: Path | None,
          batch: bool, times: tuple[float, float, float]) -> None:
    """The report written, a line per image and (with --batch) the rate said; the failures raised."""
    t_start, t_loaded, t_done = times
    records, failed = [r for r in results if "error" not in r], [r for r in results if "error" in r]
    summary = {"method": method, "settings": settings, "engine": engine, "device": where,
               "images": records, "load_seconds": round(t_loaded - t_start, 4),
               "total_seconds": round(t_done - t_start, 4),
               "images_per_second": round(len(records) / (t_done - t_loaded), 4), **({"failed": failed} if failed else {})}
    if report:
        from inpaint.atomic import write_atomic
        write_atomic(report, lambda tmp: tmp.write_text(json.dumps(summary, indent=2)))
    for r in results:
        click.echo(f"failed: {r['image']}: {r['error']}" if "error" in r else f"{r['out']}  " + (
            "(GL, one forward pass)" if method == "gl" else f"({r['iterations']} iterations, loss {r['loss']:.4g})"),
            err=True)
    if batch:
        click.echo(f"{len(records)} images in {t_done - t_loaded:.1f} s after {t_loaded - t_start:.1f} s of "
                   f"loading: {summary['images_per_second']:.2f} images/s", err=True)
    if failed:
        raise _some_failed(len(failed))


def _some_failed(count: int) -> InpaintError:
    return InpaintError(f"{count} image(s) could not be completed (listed above); the others are written")


def _framing(value: str):
    """--framing as parse_framing reads it; its error names the option."""
    from inpaint.runtime.framing import parse_framing
    try:
        return parse_framing(value)
    except InpaintError as e:
        raise InpaintError(f"--{e}") from None


def _debug_paths(debug: Path | None, images: list[Path], batch: bool) -> list[Path] | None:
    """Where each job's framing picture goes: the file itself, or DIR/<stem>.png with --batch."""
    if debug is None:
        return None
    if not batch:
        if debug.is_dir():
            raise OutputError(f"--debug-framing {debug} is a directory; give a file name such as "
                              f"{debug / 'framing.png'}")
        if debug.suffix.lower() != ".png":
            raise OutputError(f"--debug-framing {debug}: give a .png file name")
        return [debug]
    if debug.exists() and not debug.is_dir():
        raise OutputError(f"--debug-framing {debug} is a file; with --batch give a directory")
    return [debug / f"{img.stem}.png" for img in images]


def _single_out(out: Path) -> Path:
    from inpaint.imageio import check_output_path
    return check_output_path(out)


def _where(engine, device) -> str:
    """Where the engine runs, for the report."""
    if getattr(engine, "gpu", None):
        return engine.gpu
    if "CUDAExecutionProvider" in getattr(engine, "providers", ()):
        return "cuda"
    return device or "cpu"


def _inpainter(backend, bundle, weights, device, settings, quiet=False):
    from inpaint.inpainters import inpainter_for
    return inpainter_for(backend, bundle, weights, device, settings,
                         on_note=None if quiet else lambda note: click.echo(f"note: {note}", err=True))


if __name__ == "__main__":
    main()
