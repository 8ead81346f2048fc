"""Hosted providers (issue 13 items 5, 7, 8): Replicate and OpenAI Images driven through the real
engine (`run_now` executes a run in this process exactly as a worker does), their HTTP answered by
stubs built on httpx.MockTransport with the answer shapes of the providers' documentation. The stubs
are plugged in the way a deployment would plug a proxy: settings.FLONIKS_HOSTED_TRANSPORT."""

from __future__ import annotations

import base64
import http.server
import io
import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from django.core import serializers as django_serializers
from django.db import connection
from django.test import Client
from PIL import Image

from core.errors import ValidationFailed
from runs_app import services
from runs_app.generators import StepHandle, StepRequest
from runs_app.generators.replicate import ReplicateProvider
from runs_app.models import Run, RunStatus, RunStep, VersionRecord
from templates_app import services as templates
from tests.helpers import run_now, wait_for

pytestmark = pytest.mark.django_db

TOKEN = "r8_Zq3secretTOKENthatMustNeverLeak9f2"
OPENAI_KEY = "sk-proj-secretKEYthatMustNeverLeak77"
VERSION = "39ed52f2a78e934b3ba6e2a89f5b1c712de7dfea535525255b1aa35c5565e08b"
DATED = "gpt-image-1.5-2025-12-16"
REPLICATE_API = "https://api.replicate.test/v1"
OPENAI_API = "https://api.openai.test/v1"
DELIVERY = "https://replicate.delivery.test/xezq/out-0.png"

# The transport every hosted client gets while a test runs (settings.FLONIKS_HOSTED_TRANSPORT names it).
_handler: list[Callable[[httpx.Request], httpx.Response]] = []


def stub_transport() -> httpx.BaseTransport:
    return httpx.MockTransport(lambda request: _handler[-1](request))


def png(width: int = 64, height: int = 48, colour: tuple[int, int, int] = (200, 40, 90)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(buf, "PNG")
    return buf.getvalue()


def definition(model: str, kind: str = "generate_image", **params: Any) -> dict[str, Any]:
    step_params: dict[str, Any] = {"prompt": "{{inputs.subject}}", "width": 512, "height": 512, **params}
    inputs: dict[str, Any] = {"subject": {"type": "string", "required": True}}
    if kind == "img2img":
        step_params = {"prompt": "{{inputs.subject}}", "image": "{{inputs.reference}}"}
        inputs["reference"] = {"type": "image", "required": True}
    return {
        "inputs": inputs,
        "steps": [{"id": "hero", "kind": kind, "model": model, "params": step_params}],
        "outputs": {"hero": "{{steps.hero.output}}"},
    }


class FakeReplicate:
    """Replicate's predictions API as documented: `POST /predictions` answers 201 with the prediction
    (`status: starting`, `urls.get`, `urls.cancel`); each `GET urls.get` moves it one state on;
    `POST urls.cancel` cancels it; the output URL serves the image."""

    def __init__(
        self,
        states: tuple[str, ...] = ("starting", "processing", "processing", "succeeded"),
        *,
        create_answers: list[tuple[int, dict[str, Any]]] | None = None,
        error: str | None = None,
        output: Any = None,
        image: bytes | None = None,
        on_poll: Callable[[int], None] | None = None,
        passthrough: httpx.BaseTransport | None = None,
        poll_failures: int = 0,
    ) -> None:
        self.poll_failures = poll_failures
        self.states, self.error, self.on_poll = states, error, on_poll
        self.create_answers = list(create_answers or [])
        self.output = [DELIVERY] if output is None else output
        self.image = png() if image is None else image
        self.requests: list[httpx.Request] = []
        self.created: list[dict[str, Any]] = []
        self.cancelled: list[str] = []
        self.position: dict[str, int] = {}
        self.polls = 0
        self.passthrough = passthrough

    def prediction(self, pid: str) -> dict[str, Any]:
        status = "canceled" if pid in self.cancelled else self.states[min(self.position[pid], len(self.states) - 1)]
        logs = {0: "", 1: "Using seed: 1234\n  0%|          | 0/30", 2: " 50%|█████     | 15/30"}.get(
            self.position[pid], "100%|██████████| 30/30"
        )
        return {
            "id": pid,
            "model": "stability-ai/sdxl",
            "version": VERSION,
            "input": self.created[int(pid[1:]) - 1]["input"],
            "logs": logs,
            "output": self.output if status == "succeeded" else None,
            "error": self.error if status == "failed" else None,
            "status": status,
            "created_at": "2026-12-07T03:00:00.000Z",
            "urls": {
                "web": f"https://replicate.com/p/{pid}",
                "get": f"{REPLICATE_API}/predictions/{pid}",
                "cancel": f"{REPLICATE_API}/predictions/{pid}/cancel",
                "stream": f"https://stream.replicate.test/v1/files/{pid}",
            },
        }

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        url = str(request.url)
        if request.url.host == "127.0.0.1" and self.passthrough is not None:
            return self.passthrough.handle_request(request)  # a real request: a loopback server counts it
        if request.method == "POST" and url == f"{REPLICATE_API}/predictions":
            if self.create_answers:
                code, body = self.create_answers.pop(0)
                return httpx.Response(code, json=body)
            self.created.append(json.loads(request.content))
            pid = f"p{len(self.created)}"
            self.position[pid] = 0
            return httpx.Response(201, json=self.prediction(pid))
        if request.method == "POST" and url.endswith("/cancel"):
            pid = url.rsplit("/", 2)[-2]
            self.cancelled.append(pid)
            return httpx.Response(200, json=self.prediction(pid))
        if request.method == "GET" and url.startswith(f"{REPLICATE_API}/predictions/"):
            pid = url.rsplit("/", 1)[-1]
            if self.poll_failures > 0:
                self.poll_failures -= 1
                return httpx.Response(502, text="Bad Gateway")
            self.polls += 1
            if self.on_poll:
                self.on_poll(self.polls)
            self.position[pid] += 1
            return httpx.Response(200, json=self.prediction(pid))
        if request.method == "GET" and url == DELIVERY:
            return httpx.Response(200, content=self.image, headers={"content-type": "image/png"})
        return httpx.Response(404, json={"detail": "not found", "status": 404})

    def posts_to_create(self) -> int:
        return sum(1 for r in self.requests if r.method == "POST" and str(r.url) == f"{REPLICATE_API}/predictions")


@pytest.fixture
def stub(settings: Any) -> Iterator[Callable[[Callable[[httpx.Request], httpx.Response]], None]]:
    settings.FLONIKS_HOSTED_TRANSPORT = f"{__name__}.stub_transport"
    settings.FLONIKS_REPLICATE_API_BASE, settings.FLONIKS_OPENAI_API_BASE = REPLICATE_API, OPENAI_API
    settings.REPLICATE_API_TOKEN, settings.OPENAI_API_KEY = TOKEN, OPENAI_KEY
    settings.FLONIKS_HOSTED_POLL_SECONDS, settings.FLONIKS_HOSTED_POLL_MAX_SECONDS = 0.01, 0.05
    settings.FLONIKS_RETRY_BACKOFF_MAX_SECONDS = 0  # back-off is counted, not waited for

    def use(handler: Callable[[httpx.Request], httpx.Response]) -> None:
        _handler.append(handler)

    yield use
    _handler.clear()


@pytest.fixture
def replicate_workflow(stub: Any, make_workflow: Any, publish: Any) -> Any:
    """On the family the migration catalogues: SDXL at a pinned version."""
    workflow = make_workflow("replicate-hero", "Replicate hero")
    publish(workflow, definition("replicate/stability-ai/sdxl"))
    return workflow


@pytest.fixture
def openai_family(stub: Any) -> None:
    """The migration catalogues openai/gpt-image-1.5 at its dated name; the stub fixture gives the key."""


@pytest.fixture
def openai_workflow(openai_family: None, make_workflow: Any, publish: Any) -> Any:
    workflow = make_workflow("openai-hero", "OpenAI hero")
    publish(workflow, definition("openai/gpt-image-1.5"))
    return workflow


def start(workflow: Any, actor: Any, **inputs: Any) -> Run:
    return services.start_run(actor=actor, workflow=workflow, inputs={"subject": "a red fox at dawn", **inputs})


# --- Replicate ---------------------------------------------------------------------------------


def test_a_replicate_prediction_is_followed_from_starting_through_processing_to_succeeded(
    replicate_workflow, stub, operator
):
    fake = FakeReplicate()
    stub(fake)
    run = run_now(start(replicate_workflow, operator))
    step = run.steps.get()
    assert run.status == RunStatus.AWAITING_ANNOTATION, run.error
    # The prediction was created once, on the exact version, with the step's seed as an input.
    assert fake.posts_to_create() == 1
    sent = fake.created[0]
    assert sent["version"] == VERSION
    assert sent["input"]["seed"] == step.seed and sent["input"]["prompt"] == "a red fox at dawn"
    assert fake.requests[0].headers["Authorization"] == f"Bearer {TOKEN}"
    # starting → processing → processing → succeeded: three polls of urls.get, then the output URL once.
    gets = [str(r.url) for r in fake.requests if r.method == "GET"]
    assert gets == [f"{REPLICATE_API}/predictions/p1"] * 3 + [DELIVERY]
    # The snapshot recorded is the version id; the fingerprint names provider, model, version and API base.
    assert step.model == f"replicate/stability-ai/sdxl@{VERSION}"
    assert step.fingerprint == {
        "provider": "replicate",
        "model": "stability-ai/sdxl",
        "version": VERSION,
        "api_base": REPLICATE_API,
    }
    assert (step.submitted or {})["version"] == VERSION and (step.submitted or {})["prediction"] == "p1"
    assert (step.submitted or {})["input"]["seed"] == step.seed
    assert (step.output.width, step.output.height, step.output.media_type) == (64, 48, "image/png")


def test_replicate_progress_is_read_from_the_models_logs(stub):
    fake = FakeReplicate(("starting", "processing", "processing", "processing", "succeeded"))
    stub(fake)
    seen: list[tuple[float, str]] = []
    request = StepRequest(
        "generate_image",
        "replicate/stability-ai/sdxl",
        VERSION,
        7,
        {"prompt": "a fox", "width": 512, "height": 512, "steps": 30},
        handle=StepHandle("progress-test"),
    )
    made = ReplicateProvider().generate(request, lambda fraction, message: seen.append((fraction, message)))
    assert made.width == 64
    messages = [m for _, m in seen]
    assert "waiting for Replicate to start the model" in messages
    assert {"0% (from the model's logs)", "50% (from the model's logs)", "100% (from the model's logs)"} <= set(
        messages
    )
    fractions = [f for f, _ in seen]
    assert len(set(fractions)) >= 4 and fractions == sorted(fractions)


def test_a_failed_prediction_fails_the_step_with_replicates_message_and_is_not_retried(
    replicate_workflow, stub, operator
):
    fake = FakeReplicate(
        ("starting", "processing", "failed"),
        error="NSFW content detected. Try running it again, or try a different prompt.",
    )
    stub(fake)
    run = run_now(start(replicate_workflow, operator))
    step = run.steps.get()
    assert run.status == RunStatus.FAILED and step.error_code == "provider_error"
    assert "NSFW content detected" in step.error and "NSFW content detected" in run.error
    assert fake.posts_to_create() == 1  # not retried


@pytest.mark.parametrize(
    ("code", "body"),
    [
        (
            429,
            {
                "title": "Request was throttled",
                "detail": "Request was throttled. Expected available in 1 second.",
                "status": 429,
            },
        ),
        (503, {"detail": "Service Unavailable", "status": 503}),
    ],
    ids=["429", "503"],
)
def test_429_and_5xx_are_transient_and_retried(replicate_workflow, stub, operator, code, body):
    fake = FakeReplicate(create_answers=[(code, body), (code, body)])
    stub(fake)
    run = run_now(start(replicate_workflow, operator))
    assert run.status == RunStatus.AWAITING_ANNOTATION, run.error
    assert fake.posts_to_create() == 3  # two refusals, then the prediction (the default policy retries twice)


def test_a_5xx_while_following_a_prediction_asks_again_instead_of_paying_for_a_new_one(
    replicate_workflow, stub, operator
):
    fake = FakeReplicate(poll_failures=2)
    stub(fake)
    run = run_now(start(replicate_workflow, operator))
    assert run.status == RunStatus.AWAITING_ANNOTATION, run.error
    assert fake.posts_to_create() == 1 and fake.cancelled == []


def test_a_4xx_with_a_message_is_permanent_and_carries_the_providers_message(replicate_workflow, stub, operator):
    detail = "- input.width: Must be less than or equal to 1024"
    fake = FakeReplicate(create_answers=[(422, {"title": "Input validation failed", "detail": detail, "status": 422})])
    stub(fake)
    run = run_now(start(replicate_workflow, operator))
    step = run.steps.get()
    assert run.status == RunStatus.FAILED and detail in step.error and "422" in step.error
    assert fake.posts_to_create() == 1


@pytest.mark.django_db(transaction=True)
def test_cancelling_the_run_cancels_the_prediction_on_replicate(replicate_workflow, stub, operator):
    """The watch thread sees the run cancelled and the provider posts to the prediction's urls.cancel."""
    holder: dict[str, Run] = {}

    def cancel_on_second_poll(polls: int) -> None:
        if polls == 2:
            services.cancel_run(actor=operator, run=holder["run"])

    fake = FakeReplicate(("starting",) + ("processing",) * 10_000, on_poll=cancel_on_second_poll)
    stub(fake)
    holder["run"] = start(replicate_workflow, operator)
    run = run_now(holder["run"])
    assert run.status == RunStatus.CANCELLED
    assert fake.cancelled == ["p1"]
    cancel_posts = [r for r in fake.requests if r.method == "POST" and str(r.url).endswith("/cancel")]
    assert [str(r.url) for r in cancel_posts] == [f"{REPLICATE_API}/predictions/p1/cancel"]
    assert DELIVERY not in [str(r.url) for r in fake.requests]  # nothing downloaded for a cancelled step


# --- OpenAI Images ----------------------------------------------------------------------------------


class FakeOpenAI:
    """OpenAI's Images API as documented: `{created, data: [{b64_json}], usage}`; errors as `{error: {message,
    type, code}}`."""

    def __init__(self, answers: list[tuple[int, dict[str, Any]]] | None = None) -> None:
        self.answers = list(answers or [])
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.answers:
            code, body = self.answers.pop(0)
            return httpx.Response(code, json=body)
        return httpx.Response(
            200,
            json={
                "created": 1765076400,
                "data": [{"b64_json": base64.b64encode(png(96, 64, (20, 120, 200))).decode()}],
                "usage": {"total_tokens": 100, "input_tokens": 50, "output_tokens": 50},
            },
        )


def test_openai_generates_with_the_dated_model_and_no_seed(openai_workflow, stub, operator):
    fake = FakeOpenAI()
    stub(fake)
    run = run_now(start(openai_workflow, operator))
    step = run.steps.get()
    assert run.status == RunStatus.AWAITING_ANNOTATION, run.error
    (sent,) = fake.requests
    assert str(sent.url) == f"{OPENAI_API}/images/generations"
    assert sent.headers["Authorization"] == f"Bearer {OPENAI_KEY}"
    body = json.loads(sent.content)
    assert body["model"] == DATED and body["prompt"] == "a red fox at dawn" and "seed" not in body
    assert body["size"] == "1024x1024" and body["n"] == 1
    assert step.model == f"openai/gpt-image-1.5@{DATED}"
    assert step.fingerprint == {"provider": "openai", "model": DATED, "api_base": OPENAI_API}
    assert (step.submitted or {})["endpoint"] == "/images/generations"
    assert (step.output.width, step.output.height) == (96, 64)


def test_openai_edits_when_the_step_has_a_reference_image(openai_family, stub, operator, make_workflow, publish):
    workflow = make_workflow("openai-edit", "OpenAI edit")
    publish(workflow, definition("openai/gpt-image-1.5", kind="img2img"))
    reference = services.upload_artifact(actor=operator, data=png(32, 32, (1, 2, 3)))
    fake = FakeOpenAI()
    stub(fake)
    run = run_now(start(workflow, operator, reference=reference.sha256))
    assert run.status == RunStatus.AWAITING_ANNOTATION, run.error
    (sent,) = fake.requests
    assert str(sent.url) == f"{OPENAI_API}/images/edits"
    assert sent.headers["content-type"].startswith("multipart/form-data")
    assert b'name="model"' in sent.content and DATED.encode() in sent.content and b'name="image"' in sent.content
    assert (run.steps.get().submitted or {})["request"]["image"] == f"sha256:{reference.sha256}"


@pytest.mark.parametrize(
    ("answers", "status", "calls", "text"),
    [
        (
            [
                (
                    429,
                    {
                        "error": {
                            "message": "Rate limit reached for gpt-image-1",
                            "type": "requests",
                            "code": "rate_limit_exceeded",
                        }
                    },
                )
            ]
            * 2,
            RunStatus.AWAITING_ANNOTATION,
            3,
            "",
        ),
        (
            [(500, {"error": {"message": "The server had an error", "type": "server_error"}})] * 2,
            RunStatus.AWAITING_ANNOTATION,
            3,
            "",
        ),
        (
            [
                (
                    400,
                    {
                        "error": {
                            "message": "Your request was rejected by the safety system.",
                            "type": "image_generation_user_error",
                            "code": "moderation_blocked",
                        }
                    },
                )
            ],
            RunStatus.FAILED,
            1,
            "rejected by the safety system",
        ),
        (
            [
                (
                    429,
                    {
                        "error": {
                            "message": "You exceeded your current quota.",
                            "type": "insufficient_quota",
                            "code": "insufficient_quota",
                        }
                    },
                )
            ],
            RunStatus.FAILED,
            1,
            "exceeded your current quota",
        ),
    ],
    ids=["429-retried", "500-retried", "400-permanent", "429-out-of-quota-permanent"],
)
def test_openai_errors_transient_or_permanent(openai_workflow, stub, operator, answers, status, calls, text):
    fake = FakeOpenAI(answers)
    stub(fake)
    run = run_now(start(openai_workflow, operator))
    assert run.status == status and len(fake.requests) == calls
    if text:
        assert text in run.steps.get().error


@pytest.mark.django_db(transaction=True)
def test_cancelling_a_run_stops_an_openai_request_in_flight(openai_workflow, stub, operator):
    release = threading.Event()
    holder: dict[str, Run] = {}

    def slow(request: httpx.Request) -> httpx.Response:
        # This runs on the provider's request thread: the cancel is the only database work there.
        services.cancel_run(actor=operator, run=holder["run"])
        connection.close()
        release.wait(30)  # an image taking its time; the step must not wait for it
        return FakeOpenAI()(request)

    stub(slow)
    holder["run"] = start(openai_workflow, operator)
    began = time.monotonic()
    try:
        run = run_now(holder["run"])
    finally:
        release.set()
    assert run.status == RunStatus.CANCELLED
    assert time.monotonic() - began < 15, "the step waited for the request instead of stopping"


# --- Catalogue, gate and run form -------------------------------------------------------------------


def test_the_catalogue_says_provider_queue_and_seed_and_the_gate_and_run_form_warn_about_unseeded(
    openai_workflow, replicate_workflow, api, operator, client: Client
):
    rows = {r["family"]: r for r in api(operator).get("/api/models/?limit=100").json()["results"]}
    assert (
        rows["openai/gpt-image-1.5"].items()
        >= {
            "provider": "openai",
            "seeded": False,
            "queue": "floniks",
            "available": True,
        }.items()
    )
    assert (
        rows["replicate/stability-ai/sdxl"]["seeded"] is True
        and rows["replicate/stability-ai/sdxl"]["snapshot"] == VERSION
    )
    assert rows["local/plasma"]["seeded"] is True and rows["local/plasma"]["provider"] == "builtin"
    draft = templates.save_draft(
        actor=operator, workflow=openai_workflow, definition=definition("openai/gpt-image-1.5", steps=20)
    )
    answer = api(operator).get(f"/api/drafts/{draft.pk}/validate/").json()
    assert answer["valid"] is True
    assert [(w["code"], w["path"]) for w in answer["warnings"]] == [("unseeded_model", "steps[0].model")]
    assert "at best be near" in answer["warnings"][0]["message"]
    client.force_login(operator)
    page = client.get(f"/workflows/{openai_workflow.slug}/run/").content.decode()
    assert 'data-testid="model-notes"' in page and "at best be near" in page
    draft_page = client.get(f"/drafts/{draft.pk}/").content.decode()
    assert 'data-testid="gate-warnings"' in draft_page
    seeded_page = client.get(f"/workflows/{replicate_workflow.slug}/run/").content.decode()
    assert 'data-testid="model-notes"' not in seeded_page


def test_a_family_whose_provider_has_no_key_is_unavailable_and_refuses_runs(
    replicate_workflow, settings, api, operator, admin_user, client: Client
):
    settings.REPLICATE_API_TOKEN = ""
    row = next(r for r in api(operator).get("/api/models/?limit=100").json()["results"] if r["provider"] == "replicate")
    assert row["available"] is False and "REPLICATE_API_TOKEN" in row["unavailable_reason"]
    local = next(
        r for r in api(operator).get("/api/models/?limit=100").json()["results"] if r["family"] == "local/plasma"
    )
    assert local["available"] is True and local["unavailable_reason"] == ""
    with pytest.raises(ValidationFailed) as refused:
        start(replicate_workflow, operator)
    assert [(p.code, p.path) for p in refused.value.problems] == [("model_unavailable", "hero")]
    answer = api(operator).post(
        "/api/runs/", {"workflow": replicate_workflow.slug, "inputs": {"subject": "a fox"}}, format="json"
    )
    assert answer.status_code == 400 and "REPLICATE_API_TOKEN" in json.dumps(answer.json())
    client.force_login(admin_user)
    admin_page = client.get("/admin/templates_app/modelfamily/").content.decode()
    assert "unavailable: Replicate has no API token" in admin_page
    assert not Run.objects.filter(workflow=replicate_workflow).exists()


# --- Secrets -----------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_no_api_answer_record_or_log_line_of_a_run_holds_the_key(
    replicate_workflow, stub, operator, api, caplog, client
):
    caplog.set_level(logging.DEBUG)
    # One run that succeeds, one whose prediction fails with a message echoing the token back.
    stub(FakeReplicate())
    good = run_now(start(replicate_workflow, operator))
    services.finalize_run(actor=operator, run=good, label="first", annotation="warm light")
    record = services.write_record(run_id=good.pk)
    assert record is not None
    _handler.append(FakeReplicate(("starting", "failed"), error=f"Invalid authentication token {TOKEN} for this model"))
    bad = run_now(start(replicate_workflow, operator))
    assert bad.status == RunStatus.FAILED and "[redacted]" in bad.error and "Invalid authentication token" in bad.error
    client.force_login(operator)
    seen = [
        api(operator).get(f"/api/runs/{good.pk}/").content,
        api(operator).get(f"/api/runs/{bad.pk}/").content,
        api(operator).get("/api/runs/").content,
        api(operator).get(f"/api/records/{record.pk}/").content,
        api(operator).get("/api/records/").content,
        api(operator).get("/api/models/?limit=100").content,
        client.get(f"/runs/{good.pk}/").content,
        client.get(f"/runs/{bad.pk}/").content,
        client.get(f"/records/{record.pk}/").content,
        django_serializers.serialize(
            "json", [*Run.objects.all(), *RunStep.objects.all(), *VersionRecord.objects.all()]
        ).encode(),
    ]
    for body in seen:
        assert TOKEN.encode() not in body
    assert any(b"Invalid authentication token [redacted]" in body for body in seen)
    logged = "\n".join(r.getMessage() + (r.exc_text or "") for r in caplog.records)
    assert logged and TOKEN not in logged


# --- Safety ------------------------------------------------------------------------------------------


class _Counter(http.server.BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_GET(self) -> None:
        type(self).hits.append(self.path)
        body = png()
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        """Quiet."""


@pytest.fixture
def loopback() -> Iterator[str]:
    """A loopback server that counts every request it gets."""
    _Counter.hits = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Counter)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_a_url_in_a_definition_or_an_input_is_never_fetched(
    stub, admin_user, make_workflow, publish, operator, loopback
):
    """Every HTTP request a hosted step makes goes through the stub transport, which hands anything for
    127.0.0.1 to a real transport: a fetch of the URL the definition and the input name would reach the
    counting server."""
    workflow = make_workflow("url-params", "URL params")
    publish(
        workflow,
        definition("replicate/stability-ai/sdxl", negative_prompt=f"{loopback}/from-the-definition.png"),
    )
    fake = FakeReplicate(passthrough=httpx.HTTPTransport())
    stub(fake)
    run = run_now(start(workflow, operator, subject=f"{loopback}/from-the-input.png"))
    assert run.status == RunStatus.AWAITING_ANNOTATION, run.error
    assert fake.created[0]["input"]["negative_prompt"] == f"{loopback}/from-the-definition.png"  # sent as text
    assert {r.url.host for r in fake.requests} == {"api.replicate.test", "replicate.delivery.test"}
    # An image input naming a URL is refused before anything runs.
    image_workflow = make_workflow("url-image", "URL image")
    publish(image_workflow, definition("replicate/stability-ai/sdxl", kind="img2img"))
    with pytest.raises(ValidationFailed):
        start(image_workflow, operator, reference=f"{loopback}/as-an-image-input.png")
    assert _Counter.hits == []


def test_an_output_url_that_is_not_https_is_not_fetched(replicate_workflow, stub, operator, loopback):
    fake = FakeReplicate(output=[f"{loopback}/output.png"], passthrough=httpx.HTTPTransport())
    stub(fake)
    run = run_now(start(replicate_workflow, operator))
    assert run.status == RunStatus.FAILED and "not an https URL" in run.error
    assert _Counter.hits == []


def test_downloads_are_size_capped_and_decoded_under_the_pixel_bound(replicate_workflow, stub, operator, settings):
    settings.FLONIKS_HOSTED_MAX_DOWNLOAD_BYTES = 2048
    stub(FakeReplicate(image=png(64, 48) + b"\0" * 4096))
    too_big = run_now(start(replicate_workflow, operator))
    assert too_big.status == RunStatus.FAILED and "2048-byte limit" in too_big.error
    settings.FLONIKS_HOSTED_MAX_DOWNLOAD_BYTES = 50 * 1024 * 1024
    settings.FLONIKS_HOSTED_MAX_PIXELS = 1000
    _handler.append(FakeReplicate(image=png(64, 48)))
    too_many = run_now(start(replicate_workflow, operator))
    assert too_many.status == RunStatus.FAILED and "over the 1000-pixel limit" in too_many.error
    settings.FLONIKS_HOSTED_MAX_PIXELS = 64 * 1024 * 1024
    _handler.append(FakeReplicate(image=b"<html>not an image</html>"))
    not_an_image = run_now(start(replicate_workflow, operator))
    assert not_an_image.status == RunStatus.FAILED and "not an image Floniks can read" in not_an_image.error
    assert not RunStep.objects.filter(run__in=[too_big, too_many, not_an_image], output__isnull=False).exists()


def test_the_migration_catalogues_hosted_families_unavailable_until_their_keys_are_set(settings, api, operator):
    settings.REPLICATE_API_TOKEN, settings.OPENAI_API_KEY = "", ""
    rows = {r["family"]: r for r in api(operator).get("/api/models/?limit=100").json()["results"]}
    hosted = {name: row for name, row in rows.items() if row["provider"] in ("replicate", "openai")}
    assert {name: (row["snapshot"], row["seeded"], row["available"]) for name, row in hosted.items()} == {
        "replicate/stability-ai/sdxl": (VERSION, True, False),
        "openai/gpt-image-1-mini": ("gpt-image-1-mini-2025-10-06", False, False),
        "openai/gpt-image-1.5": (DATED, False, False),
    }
    settings.OPENAI_API_KEY = OPENAI_KEY
    rows = {r["family"]: r for r in api(operator).get("/api/models/?limit=100").json()["results"]}
    assert (
        rows["openai/gpt-image-1.5"]["available"] is True and rows["replicate/stability-ai/sdxl"]["available"] is False
    )


# --- On a real worker process ----------------------------------------------------------------------


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_replicate_step_runs_on_a_celery_worker(stub, replicate_workflow, start_worker, operator, tmp_path):
    """The worker process gets its transport, key and API base from its environment, as a deployment
    would (testing/hosted_stub.py answers there and logs what it was sent)."""
    from testing import hosted_stub

    log = tmp_path / "hosted-requests.jsonl"
    start_worker(
        env={
            "FLONIKS_HOSTED_TRANSPORT": "testing.hosted_stub.transport",
            "FLONIKS_TEST_HOSTED_LOG": str(log),
            "REPLICATE_API_TOKEN": TOKEN,
            "FLONIKS_REPLICATE_API_BASE": hosted_stub.API,
            "FLONIKS_HOSTED_POLL_SECONDS": "0.01",
            "FLONIKS_HOSTED_POLL_MAX_SECONDS": "0.05",
        }
    )
    run = start(replicate_workflow, operator)
    wait_for(
        lambda: Run.objects.filter(pk=run.pk, status__in=[RunStatus.AWAITING_ANNOTATION, RunStatus.FAILED]).exists(),
        90,
        what="the run on the worker",
    )
    run.refresh_from_db()
    step = run.steps.get()
    assert run.status == RunStatus.AWAITING_ANNOTATION, run.error
    assert step.model == f"replicate/stability-ai/sdxl@{VERSION}" and (step.submitted or {})["prediction"] == "w1"
    assert (step.output.width, step.output.height) == (40, 30)
    sent = [json.loads(line) for line in log.read_text().splitlines()]
    assert [(r["method"], r["url"]) for r in sent] == [
        ("POST", f"{hosted_stub.API}/predictions"),
        *[("GET", f"{hosted_stub.API}/predictions/w1")] * 3,
        ("GET", hosted_stub.OUTPUT),
    ]
    assert json.loads(sent[0]["body"])["input"]["seed"] == step.seed
    assert all(r["authorized"] for r in sent[:4]) and not sent[4]["authorized"]  # the key goes to the API only
    assert TOKEN not in log.read_text()


def test_an_admin_retires_a_replicate_version_by_its_id(api, admin_user):
    answer = api(admin_user).post(
        f"/api/models/replicate/stability-ai/sdxl@{VERSION}/retire/", {"reason": "superseded"}
    )
    assert answer.status_code == 200 and answer.json()["status"] == "retired" and answer.json()["snapshot"] == VERSION
    added = api(admin_user).post(
        "/api/models/",
        {
            "family": "replicate/black-forest-labs/flux-dev",
            "snapshot": "f" * 64,
            "tier": "premium",
            "provider": "replicate",
        },
        format="json",
    )
    assert added.status_code == 201 and added.json()["seeded"] is True
    refused = api(admin_user).post(
        "/api/models/", {"family": "openai/gpt-image-1.5", "snapshot": "gpt-image-1.5-2025-13-45"}, format="json"
    )
    assert refused.status_code == 400


def test_a_provider_that_cannot_be_loaded_makes_its_families_unavailable_not_the_catalogue_fail(
    settings, api, operator, admin_user
):
    settings.FLONIKS_PROVIDERS = {**settings.FLONIKS_PROVIDERS, "acme": "acme_images.providers.Missing"}
    templates.add_model_snapshot(
        actor=admin_user, family="acme/painter", snapshot="2026-10-01", tier="premium", provider="acme"
    )
    answer = api(operator).get("/api/models/?limit=100")
    assert answer.status_code == 200
    row = next(r for r in answer.json()["results"] if r["family"] == "acme/painter")
    assert row["available"] is False and "cannot be loaded" in row["unavailable_reason"]
