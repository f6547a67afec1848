"""The HTTP service: the completion API, the page at /, and the batcher behind both.

    POST /v1/complete         multipart image [+ mask] and options -> the filled PNG (the report in
                              the X-Inpaint-Report header), or JSON with ?format=json
    POST /v1/jobs             the same form -> 202 {id, events, result}: a job for the page
    GET  /v1/jobs/{id}/events server-sent events: progress (a preview every few steps), then done
                              or error
    GET  /v1/jobs/{id}/result.png
    GET  /v1/model            the model, the backend and the defaults
    GET  /healthz             liveness and the queue's length
    GET  /                    the page: paint a hole, press Fill, watch the search converge

Every error is a JSON {"error": message} (ErrorBody) with a 4xx status (400 for a body that is not
a readable form, 404 for an unknown job, 409 for a job still running, 413 for an upload over the
limit, 422 for a bad image, mask or option, 503 with Retry-After when the queue is full); a failed
search is a 500 and the server goes on serving. Each route's OpenAPI document lists the statuses it
can answer, so that clients generated from it expect what the server sends (a schemathesis test
holds the two together).
"""
from __future__ import annotations

import asyncio
import base64
import io
import json
from importlib import resources
from typing import Literal

from fastapi import FastAPI, File, Form, Request as HttpRequest, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from inpaint.errors import InpaintError
from inpaint.serve.batcher import Batcher, QueueFull, Request, SearchKey
from inpaint.serve.jobs import Job, Jobs

PREVIEW_SIDE = 512          # previews are sent at most this large, as JPEG; the result is full size
EVENT_HEARTBEAT_S = 15.0


class ErrorBody(BaseModel):
    """The body of every error the server answers, whatever its status."""
    error: str


class JobStarted(BaseModel):
    """POST /v1/jobs's answer: where to watch the job and where its result will be."""
    id: str
    events: str
    result: str


class FilledAsJson(BaseModel):
    """POST /v1/complete?format=json's answer."""
    report: dict
    image: str          # the filled image as a PNG data URL


ERROR_MEANINGS = {
    400: "the body is not a readable multipart form",
    404: "no such job: it never was, or it finished over ten minutes ago",
    409: "the job is still running; wait for its done event",
    413: "the upload is over the server's limit (--max-upload-mb)",
    422: "a bad image, mask or option: the error says which and what to do",
    500: "the search failed: a bug; the server goes on serving",
    503: "the queue is full: retry after Retry-After seconds",
}
RETRY_AFTER = {"Retry-After": {"description": "seconds to wait before trying again", "required": True,
                               "schema": {"type": "integer", "minimum": 1}}}
PNG_FILE = {"type": "string", "format": "binary", "contentMediaType": "image/png"}
FILLED = {"model": FilledAsJson, "description": "the filled image: a PNG, or JSON with ?format=json",
          "content": {"image/png": {"schema": PNG_FILE}},
          "headers": {"X-Inpaint-Report": {"description": "the report as JSON (with the PNG only)",
                                           "schema": {"type": "string"}}}}
# One server-sent event of a job, as OpenAPI 3.2's itemSchema (FastAPI's own event streams use it too)
JOB_EVENT = {"type": "object", "required": ["event", "data"], "properties": {
    "event": {"enum": ["progress", "done", "error"]},
    "data": {"type": "string", "contentMediaType": "application/json",
             "description": "progress: {step, of, image: a JPEG data URL}; done: {result, report, width, "
                            "height}; error: {error, status}"}}}
# The form's file parts say "file" as OpenAPI 3.0 does (format: binary) beside FastAPI's 3.1 spelling
# (contentMediaType). Optional fields are typed UploadFile or int with a None default rather than
# `X | None`: FastAPI documents the latter as nullable, and a client's null is a text part that the
# server refuses (422 "Expected UploadFile"), where the server means "leave it out".
FILE_PART = {"format": "binary"}


def errors(*statuses: int) -> dict:
    """The `responses=` entries of a route's error statuses: each an ErrorBody, 503 with Retry-After."""
    return {status: {"model": ErrorBody, "description": ERROR_MEANINGS[status],
                     **({"headers": RETRY_AFTER} if status == 503 else {})} for status in statuses}


def without_fastapi_validation_errors(openapi):
    """app.openapi, less the 422 that FastAPI lists, with its own validation body, on every route with
    a parameter that does not list one itself: this server's 422 is an ErrorBody (see bad_form),
    listed by each route that can answer it; the events stream, which takes any job id, never does."""
    fastapis = {"$ref": "#/components/schemas/HTTPValidationError"}

    def document() -> dict:
        doc = openapi()          # FastAPI's, made once and kept: what is dropped stays dropped
        for operation in (op for path in doc["paths"].values() for op in path.values()):
            if operation["responses"].get("422", {}).get("content", {}).get("application/json", {}).get(
                    "schema") == fastapis:
                del operation["responses"]["422"]
        for name in ("HTTPValidationError", "ValidationError"):
            doc.get("components", {}).get("schemas", {}).pop(name, None)
        return doc
    return document


def _error(status: int, message: str, headers: dict | None = None):
    return JSONResponse({"error": message}, status_code=status, headers=headers)


def preview_data_url(picture) -> str:
    """A picture as a small JPEG data URL, for progress events."""
    from PIL import Image
    pixels = picture.pixels[..., 0] if picture.mode == "L" else picture.pixels
    im = Image.fromarray(pixels)
    im.thumbnail((PREVIEW_SIDE, PREVIEW_SIDE))
    out = io.BytesIO()
    im.save(out, format="JPEG", quality=85)
    return "data:image/jpeg;base64," + base64.b64encode(out.getvalue()).decode()


class RefuseDeclaredTooLarge:
    """ASGI wrapper: a request whose Content-Length passes the limit gets a JSON 413 at once, its
    body unread. (A body without a Content-Length is counted as it streams in, by Starlette's own
    limit, and refused as soon as it passes the limit.)"""

    def __init__(self, app, max_bytes: int, message: str):
        self.app, self.max_bytes = app, max_bytes
        self.body = json.dumps({"error": message}).encode()

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http":
            length = dict(scope.get("headers", ())).get(b"content-length", b"")
            if length.isdigit() and int(length) > self.max_bytes:
                await send({"type": "http.response.start", "status": 413,
                            "headers": [(b"content-type", b"application/json"),
                                        (b"content-length", str(len(self.body)).encode()), (b"connection", b"close")]})
                await send({"type": "http.response.body", "body": self.body})
                return
        await self.app(scope, receive, send)


def create_app(batcher: Batcher, model_info: dict, max_upload_mb: float = 20):
    """The service over `batcher` as an ASGI app (the FastAPI app inside the upload limit's
    wrapper, as `.app`); model_info is what GET /v1/model shows."""
    limit_mb = max_upload_mb
    app = FastAPI(title="inpaint", version=model_info.get("version", ""), max_body_size=int(limit_mb * 2**20),
                  description="Semantic inpainting with a DCGAN prior: fill the hole of an image.")
    jobs = Jobs()
    static = resources.files("inpaint.serve") / "static"

    too_large = (f"the upload is larger than this server's limit of {limit_mb:g} MB; send a smaller "
                 "image, or start the server with a larger --max-upload-mb")

    @app.exception_handler(HTTPException)
    async def http_error(request, exc: HTTPException):
        if exc.status_code == 413:
            return _error(413, too_large)
        return _error(exc.status_code, str(exc.detail), getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def bad_form(request, exc: RequestValidationError):
        problems = "; ".join(f"{e['loc'][-1]}: {e['msg']}" for e in exc.errors())
        return _error(422, f"bad request ({problems}); see /docs for the form's fields")

    async def parse(image: UploadFile, mask: UploadFile | None, invert: bool, framing: str) -> tuple:
        """Decode and check the uploads off the event loop; InpaintError for what the user can fix."""
        from inpaint.imageio import decode_image, decode_mask, hole_of
        from inpaint.runtime.framing import parse_framing
        image_bytes = await image.read()
        mask_bytes = await mask.read() if mask is not None and mask.filename else None
        framing_value = parse_framing(framing)

        def decode():
            name = image.filename or "the image"
            picture = decode_image(image_bytes, name)
            mask_hole = (decode_mask(mask_bytes, picture.size, invert, mask.filename or "upload")
                         if mask_bytes is not None else None)
            return picture, hole_of(picture, mask_hole, invert, name, "set invert=true")
        picture, hole = await run_in_threadpool(decode)
        return picture, hole, framing_value

    def submit(picture, hole, framing, iterations, restarts, seed, loop, on_done, on_error, on_preview=None):
        batcher.submit(Request(picture, hole, SearchKey(iterations, restarts), seed, framing,
                               on_done=lambda c: loop.call_soon_threadsafe(on_done, c),
                               on_error=lambda e: loop.call_soon_threadsafe(on_error, e),
                               on_preview=on_preview))

    def failure(e: Exception) -> tuple[int, str]:
        if isinstance(e, InpaintError):
            return 422, str(e)
        return 500, f"the completion failed ({type(e).__name__}: {e}); the server goes on serving"

    def busy(e: QueueFull):
        return _error(503, str(e), {"Retry-After": str(e.retry_after)})

    form_doc = {"iterations": "Adam steps on z at most [default: the model's own]",
                "restarts": "starts per image [default: the model's own]",
                "seed": "draws the starts", "framing": "auto, whole or X,Y,SIZE (as inpaint-rt complete)",
                "invert": "the mask's black pixels are the hole"}

    @app.post("/v1/complete", summary="Fill the hole of an image", response_class=Response,
              responses={200: FILLED, **errors(400, 413, 422, 500, 503)})
    async def complete(image: UploadFile = File(..., description="PNG or JPEG", json_schema_extra=FILE_PART),
                       mask: UploadFile = File(None, description="white = hole; without it, alpha 0 is the hole",
                                               json_schema_extra=FILE_PART),
                       iterations: int = Form(None, ge=1, le=10000, description=form_doc["iterations"]),
                       restarts: int = Form(None, ge=1, le=64, description=form_doc["restarts"]),
                       seed: int = Form(0, ge=0, description=form_doc["seed"]),
                       framing: str = Form("auto", description=form_doc["framing"]),
                       invert: bool = Form(False, description=form_doc["invert"]),
                       format: Literal["png", "json"] = "png"):
        """The filled image as PNG, its report (losses, framing, timings) in the X-Inpaint-Report
        header; `?format=json` answers {"report", "image": a PNG data URL} instead."""
        from inpaint.imageio import encode_image
        try:
            picture, hole, framing_value = await parse(image, mask, invert, framing)
        except InpaintError as e:
            return _error(422, str(e))
        loop = asyncio.get_running_loop()
        answer: asyncio.Future = loop.create_future()
        try:
            submit(picture, hole, framing_value, iterations, restarts, seed, loop,
                   lambda c: answer.done() or answer.set_result(c), lambda e: answer.done() or answer.set_exception(e))
        except QueueFull as e:
            return busy(e)
        try:
            completion = await answer
        except Exception as e:
            status, message = failure(e)
            return _error(status, message)
        png = await run_in_threadpool(encode_image, completion.picture)
        if format == "json":
            return JSONResponse({"report": completion.report,
                                 "image": "data:image/png;base64," + base64.b64encode(png).decode()})
        return Response(png, media_type="image/png", headers={"X-Inpaint-Report": json.dumps(completion.report)})

    @app.post("/v1/jobs", status_code=202, summary="Start a completion whose progress the page watches",
              response_model=JobStarted, responses=errors(400, 413, 422, 503))
    async def start_job(image: UploadFile = File(..., json_schema_extra=FILE_PART),
                        mask: UploadFile = File(None, json_schema_extra=FILE_PART),
                        iterations: int = Form(None, ge=1, le=10000), restarts: int = Form(None, ge=1, le=64),
                        seed: int = Form(0, ge=0), framing: str = Form("auto"), invert: bool = Form(False)):
        """202 {"id", "events", "result"}: GET events for server-sent progress, result for the PNG."""
        from inpaint.imageio import encode_image
        try:
            picture, hole, framing_value = await parse(image, mask, invert, framing)
        except InpaintError as e:
            return _error(422, str(e))
        loop = asyncio.get_running_loop()
        job = jobs.new()
        height, width = picture.size

        def on_preview(step, of, preview):      # on the batcher's thread
            event = {"step": step, "of": of, "image": preview_data_url(preview)}
            loop.call_soon_threadsafe(job.progress, event)

        def on_done(completion):
            async def finish():
                png = await run_in_threadpool(encode_image, completion.picture)
                job.done(png, completion.report, (width, height))
            loop.create_task(finish())

        def on_error(e):
            status, message = failure(e)
            job.fail(message, status)
        try:
            submit(picture, hole, framing_value, iterations, restarts, seed, loop, on_done, on_error, on_preview)
        except QueueFull as e:
            return busy(e)
        return {"id": job.id, "events": f"/v1/jobs/{job.id}/events", "result": f"/v1/jobs/{job.id}/result.png"}

    def find(job_id: str) -> Job:
        job = jobs.get(job_id)
        if job is None:
            raise HTTPException(404, f"no job {job_id}: it never was, or it finished over ten minutes ago")
        return job

    @app.get("/v1/jobs/{job_id}/events", summary="Server-sent events of a job: progress, then done or error",
             response_class=StreamingResponse,
             responses={200: {"description": "the job's events", "content": {"text/event-stream": {
                 "itemSchema": JOB_EVENT}}}, **errors(404)})
    async def job_events(job_id: str, request: HttpRequest):
        job = find(job_id)

        async def stream():
            seen, sent = -1, 0
            while True:
                if job.version == seen:
                    await job.wait_change(seen, EVENT_HEARTBEAT_S)
                    if job.version == seen:
                        yield ": still working\n\n"
                        if await request.is_disconnected():
                            return
                        continue
                seen = job.version
                previews, sent = job.previews_after(sent)
                for event in previews:
                    yield f"event: progress\ndata: {json.dumps(event)}\n\n"
                if job.error is not None:
                    yield f"event: error\ndata: {json.dumps(job.error)}\n\n"
                    return
                if job.result is not None:
                    done = {"result": f"/v1/jobs/{job.id}/result.png", "report": job.report,
                            "width": job.size[0], "height": job.size[1]}
                    yield f"event: done\ndata: {json.dumps(done)}\n\n"
                    return
        return StreamingResponse(stream(), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

    @app.get("/v1/jobs/{job_id}/result.png", summary="The filled image of a finished job",
             response_class=Response,
             responses={200: {"description": "the filled image", "content": {"image/png": {"schema": PNG_FILE}}},
                        # a failed job's result answers the job's own error: 422 or 500
                        **errors(404, 409, 422, 500)})
    async def job_result(job_id: str):
        job = find(job_id)
        if job.error is not None:
            return _error(job.error["status"], job.error["error"])
        if job.result is None:
            return _error(409, "the job is still running; wait for its done event")
        return Response(job.result, media_type="image/png",
                        headers={"Content-Disposition": 'attachment; filename="filled.png"'})

    @app.get("/v1/model", summary="The model, the backend and the defaults")
    async def model():
        return {**model_info, "max_batch": batcher.max_batch, "max_upload_mb": limit_mb}

    @app.get("/healthz", summary="Liveness")
    async def healthz():
        return {"ok": True, "queued": batcher.queued}

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def page():
        return HTMLResponse((static / "index.html").read_text())

    app.mount("/static", StaticFiles(directory=str(static)), name="static")
    app.openapi = without_fastapi_validation_errors(app.openapi)
    return RefuseDeclaredTooLarge(app, int(limit_mb * 2**20), too_large)
