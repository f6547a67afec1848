"""The HTTP API's OpenAPI document says what the server does. schemathesis generates requests from
the document that the live server serves and holds every answer to it with all of its checks: the
status listed, content types, headers and bodies as documented, schema-valid requests accepted and
schema-violating ones refused, no 5xx. The statuses that no generated request reaches (a full queue,
a failed search, a running job, an upload over the limit, a body that is not a form) are brought
about on purpose, on a server whose batcher runs no search, and held to the document the same way."""
from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

schemathesis = pytest.importorskip("schemathesis", reason="the contract test needs schemathesis (the [dev] extra)")

from hypothesis import HealthCheck, Phase, given, settings  # noqa: E402
from schemathesis.checks import CHECKS  # noqa: E402
from schemathesis.generation import GenerationMode  # noqa: E402
from schemathesis.transport.serialization import Binary  # noqa: E402  (a generated file part's bytes)

from inpaint.errors import InpaintError  # noqa: E402
from inpaint.serve.batcher import QueueFull  # noqa: E402

EXAMPLES = 8            # per operation and generation mode; each accepted completion runs a real search
OPERATIONS = ["POST /v1/complete", "POST /v1/jobs", "GET /v1/jobs/{job_id}/events",
              "GET /v1/jobs/{job_id}/result.png", "GET /v1/model", "GET /healthz"]
WITH_FIELDS = {"POST /v1/complete", "POST /v1/jobs"}    # what a negative case can break: a form, a query
CONFIG = {"checks": {"enabled": True}}                   # every check schemathesis has
FORM = {"media_type": "multipart/form-data"}


def picture() -> bytes:
    """A 24x24 RGBA PNG that serves as image and as mask alike: as an image its transparent square is
    the hole, as a mask its opaque white band is. Either way, inverted or not, it leaves pixels to
    fill and pixels known, so every upload the document allows is a completion the server runs."""
    pixels = np.full((24, 24, 4), (40, 40, 40, 255), np.uint8)
    pixels[0:5, :, :3] = 255
    pixels[8:16, 8:16, 3] = 0
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, format="PNG")
    return out.getvalue()


def steer(context, body):
    """schemathesis's map_body hook. A file part the document allows (any bytes) becomes the picture,
    which the server can fill, and a valid search option becomes the cheapest (one step, one start,
    the whole image), so that each generated completion is a real search, and a quick one. A field
    that a negative case broke is not of the document's type or range, and is left as it is."""
    if not isinstance(body, dict):
        return body
    body = dict(body)
    for part in ("image", "mask"):
        if isinstance(body.get(part), (Binary, bytes)):
            body[part] = picture()
    for option, most in (("iterations", 10000), ("restarts", 64)):
        value = body.get(option)
        if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= most:
            body[option] = 1
    if isinstance(body.get("framing"), str):
        body["framing"] = "whole"
    return body


@pytest.fixture(scope="module")
def api_schema(live_server):
    schema = schemathesis.openapi.from_url(f"{live_server.url}/openapi.json",
                                           config=schemathesis.Config.from_dict(CONFIG))
    schema.hook("map_body")(steer)
    return schema


def answer(schema, label: str, status: int, **parts):
    """Send the request `parts` to the operation `label`, check that it got `status`, and hold the answer
    to the document: its status listed, its content type, headers and body as documented. (The checks
    that judge the request, or call any 5xx a failure, do not apply to a request built for its status.)"""
    case = schema.find_operation_by_label(label).Case(**parts)
    response = case.call(timeout=60)
    assert response.status_code == status, response.text
    not_for_this = CHECKS.get_by_names(["positive_data_acceptance", "negative_data_rejection", "not_a_server_error"])
    case.validate_response(response, excluded_checks=not_for_this)
    return response


def test_the_document_lists_every_route(api_schema):
    assert sorted(result.ok().label for result in api_schema.get_all_operations()) == sorted(OPERATIONS)


@pytest.mark.parametrize("label", OPERATIONS)
def test_each_route_answers_as_its_document_says(api_schema, label):
    operation = api_schema.find_operation_by_label(label)
    started = []                # the jobs that generated requests started
    for mode in [GenerationMode.POSITIVE] + ([GenerationMode.NEGATIVE] if label in WITH_FIELDS else []):
        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
                  phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
        def answers_as_documented(case):
            response = case.call_and_validate(timeout=60)    # raises with each failed check and a curl line
            if label == "POST /v1/jobs" and response.status_code == 202:
                started.append(response.json()["id"])
        answers_as_documented()
    for job_id in started:      # followed to the end, each answer held to the document too
        answer(api_schema, "GET /v1/jobs/{job_id}/events", 200, path_parameters={"job_id": job_id})
        answer(api_schema, "GET /v1/jobs/{job_id}/result.png", 200, path_parameters={"job_id": job_id})


def test_a_mask_sent_as_the_document_says_is_taken(api_schema):
    """schemathesis sends each field as the document declares it; the mask as a file part, which the
    server reads (a nullable mask went as a text part, refused with 422 "Expected UploadFile")."""
    filled = answer(api_schema, "POST /v1/complete", 200, body={"image": picture(), "mask": picture(),
                    "iterations": 1, "framing": "whole"}, query={"format": "json"}, **FORM).json()
    assert filled["image"].startswith("data:image/png;base64,") and filled["report"]["iterations"] == 1


class StubBatcher:
    """A batcher that runs no search: it refuses every request (queue full), fails it (on a bug or on
    the user's input), or keeps it pending for ever."""

    max_batch, queued = 1, 0

    def __init__(self, outcome: str = "pending"):
        self.outcome, self.pending = outcome, []

    def submit(self, request) -> None:
        if self.outcome == "full":
            raise QueueFull(retry_after=3)
        if self.outcome == "bug":
            request.on_error(RuntimeError("a bug in the search"))
        elif self.outcome == "bad input":
            request.on_error(InpaintError("the framing square holds too little of the photo"))
        else:
            self.pending.append(request)


def stub_schema(outcome: str, max_upload_mb: float = 20):
    from inpaint.serve.app import create_app
    app = create_app(StubBatcher(outcome), {"version": "test"}, max_upload_mb)
    return schemathesis.openapi.from_asgi("/openapi.json", app, config=schemathesis.Config.from_dict(CONFIG))


def job_of(schema) -> dict:
    return answer(schema, "POST /v1/jobs", 202, body={"image": picture()}, **FORM).json()


def test_the_statuses_no_generated_request_reaches_are_as_documented():
    full = stub_schema("full")
    busy = answer(full, "POST /v1/complete", 503, body={"image": picture()}, **FORM)
    assert busy.headers["retry-after"] == ["3"] and "busy" in busy.json()["error"]
    answer(full, "POST /v1/jobs", 503, body={"image": picture()}, **FORM)

    for outcome, status in (("bug", 500), ("bad input", 422)):
        failing = stub_schema(outcome)
        answer(failing, "POST /v1/complete", status, body={"image": picture()}, **FORM)
        job = job_of(failing)
        answer(failing, "GET /v1/jobs/{job_id}/result.png", status, path_parameters={"job_id": job["id"]})

    pending = stub_schema("pending", max_upload_mb=0.001)
    job = job_of(pending)
    answer(pending, "GET /v1/jobs/{job_id}/result.png", 409, path_parameters={"job_id": job["id"]})
    for route in ("events", "result.png"):
        answer(pending, f"GET /v1/jobs/{{job_id}}/{route}", 404, path_parameters={"job_id": "nosuchjob"})
    for route in ("/v1/complete", "/v1/jobs"):
        over = answer(pending, f"POST {route}", 413, body={"image": bytes(2048)}, **FORM)
        assert "--max-upload-mb" in over.json()["error"]
        answer(pending, f"POST {route}", 400, body="not a form", **FORM)
        assert "image" in answer(pending, f"POST {route}", 422, body={"seed": 1}, **FORM).json()["error"]


def test_the_document_lists_each_routes_statuses_and_the_mask_as_an_optional_file():
    from inpaint.serve.app import create_app
    document = create_app(StubBatcher(), {"version": "test"}).app.openapi()
    operations = {f"{method.upper()} {path}": operation
                  for path, methods in document["paths"].items() for method, operation in methods.items()}
    assert {label: sorted(int(s) for s in operation["responses"]) for label, operation in operations.items()} == {
        "POST /v1/complete": [200, 400, 413, 422, 500, 503], "POST /v1/jobs": [202, 400, 413, 422, 503],
        "GET /v1/jobs/{job_id}/events": [200, 404], "GET /v1/jobs/{job_id}/result.png": [200, 404, 409, 422, 500],
        "GET /v1/model": [200], "GET /healthz": [200]}
    error_body = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}
    for label, operation in operations.items():
        for status, response in operation["responses"].items():
            assert int(status) < 400 or response["content"] == error_body, (label, status)
    assert document["components"]["schemas"]["ErrorBody"]["required"] == ["error"]
    for label in ("POST /v1/complete", "POST /v1/jobs"):
        assert operations[label]["responses"]["503"]["headers"]["Retry-After"]["required"]
    assert set(operations["POST /v1/complete"]["responses"]["200"]["content"]) == {"image/png", "application/json"}
    assert set(operations["GET /v1/jobs/{job_id}/events"]["responses"]["200"]["content"]) == {"text/event-stream"}
    for name in ("Body_complete_v1_complete_post", "Body_start_job_v1_jobs_post"):
        form = document["components"]["schemas"][name]
        for part in ("image", "mask"):
            assert form["properties"][part]["type"] == "string" and form["properties"][part]["format"] == "binary"
        assert form["required"] == ["image"]                 # the mask may be left out ...
        assert not [field for field, schema in form["properties"].items() if "anyOf" in schema]  # ... not sent as null
