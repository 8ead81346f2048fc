"""Replicate: hosted models run as predictions (DESIGN §8, docs/providers.md).

The family is `replicate/<owner>/<model>`; its snapshot is the model's 64-hex version id, so a record
names exactly the weights and code that ran. The seed is an input of the prediction.

One step is one prediction: `POST /predictions {version, input}`, then its `urls.get` is polled with
back-off through starting → processing → succeeded | failed | canceled, progress read from the
percentage the model's logs print (tqdm's "45%|…") or else coarse. A cancel posts to the prediction's
`urls.cancel`. The output is the first URL the answer names, downloaded under the size cap and
decoded under the pixel bound (runs_app.generators.hosted)."""

from __future__ import annotations

import base64
import hashlib
import logging
import re
import threading
from typing import Any

import httpx
from django.conf import settings

from runs_app.generators.base import (
    GeneratedFile,
    GeneratorError,
    Progress,
    StepCancelled,
    StepHandle,
    StepRequest,
    TransientGeneratorError,
)
from runs_app.generators.hosted import check_answer, decode_output, download, http_client, redact, transient_from

log = logging.getLogger(__name__)

WHO = "Replicate"
VERSION_ID = re.compile(r"^[0-9a-f]{64}$")
PERCENT = re.compile(r"(\d{1,3})%\|")  # tqdm's bar, as diffusion models print it to their logs
POLL_ERRORS_TOLERATED = 5  # transient errors in a row while following a prediction before giving up on it
KINDS = ("generate_image", "img2img", "upscale")


def _token() -> str:
    token: str = settings.REPLICATE_API_TOKEN
    return token


class ReplicateProvider:
    """Provider for the `replicate/<owner>/<model>` families."""

    takes_seed = True  # the seed is a prediction input; models that honour it repeat their output

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._cancel_urls: dict[str, str] = {}  # handle key → the cancel URL of its prediction in flight

    @staticmethod
    def unavailable() -> str:
        if _token():
            return ""
        return "Replicate has no API token on this server: set REPLICATE_API_TOKEN (or REPLICATE_API_TOKEN_FILE)."

    def generate(self, request: StepRequest, progress: Progress) -> GeneratedFile:
        token = _token()
        if not token:
            raise GeneratorError(self.unavailable())
        if request.kind not in KINDS:
            raise GeneratorError(f"Replicate steps make one image; a '{request.kind}' step needs another model.")
        if not VERSION_ID.match(request.snapshot):
            raise GeneratorError(
                f"{request.family}@{request.snapshot}: a Replicate snapshot is the model's 64-hex version id."
            )
        model_input, recorded_input = self._input(request)
        submitted = {"provider": "replicate", "version": request.snapshot, "input": recorded_input}
        progress(0.02, "creating the prediction")
        with http_client(
            base_url=settings.FLONIKS_REPLICATE_API_BASE, headers={"Authorization": f"Bearer {token}"}
        ) as client:
            prediction = self._create(client, request.snapshot, model_input, token)
            submitted["prediction"] = str(prediction.get("id", ""))
            urls = prediction.get("urls") or {}
            self._remember(request.handle, str(urls.get("cancel") or ""))
            try:
                final = self._follow(client, prediction, request.handle, progress, token)
            finally:
                self._forget(request.handle)
        output = _first_url(final.get("output"))
        if output is None:
            raise GeneratorError("Replicate's prediction succeeded but named no output file.")
        progress(0.9, "downloading the output")
        data = download(output, who=WHO, handle=request.handle, secret=token)
        return decode_output(data, who=WHO, provenance=request.provenance, submitted=submitted)

    def _input(self, request: StepRequest) -> tuple[dict[str, Any], dict[str, Any]]:
        """The prediction's input, and what the step records of it (an image by its hash, not its bytes).

        A reference image goes as a data URI: Replicate is given the bytes, never a URL to fetch."""
        p = request.params
        sent: dict[str, Any] = {}
        if request.kind in ("generate_image", "img2img") and p.get("prompt"):
            sent["prompt"] = p["prompt"]
        if p.get("negative_prompt"):
            sent["negative_prompt"] = p["negative_prompt"]
        if request.kind == "generate_image":
            sent.update(width=p.get("width"), height=p.get("height"))
        if request.kind in ("generate_image", "img2img"):
            sent.update(num_inference_steps=p.get("steps"), guidance_scale=p.get("guidance_scale"))
        if request.kind == "img2img":
            sent["prompt_strength"] = p.get("strength")
        if request.kind == "upscale":
            sent["scale"] = p.get("factor")
        if request.seed is not None:
            sent["seed"] = request.seed
        sent = {k: v for k, v in sent.items() if v is not None}
        recorded = dict(sent)
        if "image" in request.images:
            data = request.images["image"]
            sent["image"] = "data:application/octet-stream;base64," + base64.b64encode(data).decode("ascii")
            recorded["image"] = "sha256:" + hashlib.sha256(data).hexdigest()
        return sent, recorded

    def _create(self, client: httpx.Client, version: str, model_input: dict[str, Any], token: str) -> dict[str, Any]:
        try:
            response = client.post("/predictions", json={"version": version, "input": model_input})
        except httpx.HTTPError as error:
            raise transient_from(error, who=WHO, secret=token) from None
        check_answer(response, who=WHO, secret=token)
        return _json(response)

    def _follow(
        self, client: httpx.Client, prediction: dict[str, Any], handle: StepHandle, progress: Progress, token: str
    ) -> dict[str, Any]:
        """Poll the prediction until it ends; a cancel noticed here is sent on (once) and stops the step."""
        get_url = str((prediction.get("urls") or {}).get("get") or "")
        if not get_url:
            raise GeneratorError("Replicate's answer named no URL to follow the prediction by.")
        pause = float(settings.FLONIKS_HOSTED_POLL_SECONDS)
        errors = 0
        while True:
            status = prediction.get("status")
            if status == "succeeded":
                return prediction
            if status == "failed":
                message = redact(str(prediction.get("error") or "no message"), token)
                raise GeneratorError(f"Replicate's prediction failed: {message}")
            if status in ("canceled", "aborted"):
                handle.raise_if_cancelled()
                raise GeneratorError(f"Replicate's prediction was {status} outside Floniks.")
            _report(prediction, progress)
            if handle.wait_cancelled(pause):
                self.cancel(handle)
                raise StepCancelled(handle.reason)
            pause = min(pause * 1.5, float(settings.FLONIKS_HOSTED_POLL_MAX_SECONDS))
            try:
                response = client.get(get_url)
                check_answer(response, who=WHO, secret=token)
                prediction = _json(response)
                errors = 0
            except (httpx.HTTPError, TransientGeneratorError) as error:
                # The prediction runs on whatever happens to one poll: ask again rather than start a new one.
                errors += 1
                if errors > POLL_ERRORS_TOLERATED:
                    self.cancel(handle)  # do not leave a paid prediction running that nobody follows
                    if isinstance(error, httpx.HTTPError):
                        raise transient_from(error, who=WHO, secret=token) from None
                    raise
                log.info("Replicate: a poll failed (%s); asking again", redact(str(error), token))
            except GeneratorError:
                self.cancel(handle)  # a refusal while following it (a 4xx): stop the prediction, then fail
                raise

    def _remember(self, handle: StepHandle, cancel_url: str) -> None:
        with self._lock:
            self._cancel_urls[handle.key] = cancel_url
        if handle.cancelled:  # stopped while the prediction was being created
            self.cancel(handle)

    def _forget(self, handle: StepHandle) -> None:
        with self._lock:
            self._cancel_urls.pop(handle.key, None)

    def cancel(self, handle: StepHandle) -> None:
        """Tell Replicate to stop the prediction (once; from the watch thread or the poll loop)."""
        with self._lock:
            url = self._cancel_urls.pop(handle.key, "")
        if not url:
            return
        token = _token()
        try:
            with http_client(
                base_url=settings.FLONIKS_REPLICATE_API_BASE, headers={"Authorization": f"Bearer {token}"}
            ) as client:
                response = client.post(url)
            if not response.is_success:
                log.warning("Replicate did not cancel a prediction (%s)", response.status_code)
        except httpx.HTTPError as error:
            log.warning("Replicate could not be told to cancel: %s", redact(str(error), token))

    def fingerprint(self, family: str, snapshot: str) -> dict[str, Any]:
        return {
            "provider": "replicate",
            "model": family.removeprefix("replicate/"),
            "version": snapshot,
            "api_base": settings.FLONIKS_REPLICATE_API_BASE,
        }


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        raise TransientGeneratorError("Replicate answered with something that is not JSON.") from None
    if not isinstance(body, dict):
        raise GeneratorError("Replicate answered with JSON that is not a prediction.")
    return body


def _first_url(output: Any) -> str | None:
    """A model's output is one URL or a list of them; the step keeps the first."""
    if isinstance(output, str):
        return output
    if isinstance(output, list):
        return next((item for item in output if isinstance(item, str)), None)
    return None


def _report(prediction: dict[str, Any], progress: Progress) -> None:
    if prediction.get("status") == "starting":
        progress(0.05, "waiting for Replicate to start the model")
        return
    found = PERCENT.findall(str(prediction.get("logs") or ""))
    if found:
        percent = min(int(found[-1]), 100)
        progress(0.1 + 0.75 * percent / 100, f"{percent}% (from the model's logs)")
    else:
        progress(0.1, "processing")
