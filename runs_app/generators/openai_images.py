"""OpenAI Images (DESIGN §8, docs/providers.md).

The family is `openai/<model>` (e.g. `openai/gpt-image-1`); its snapshot is the dated model name
OpenAI publishes, sent as `model`, so a record names the model that ran. The API takes no seed: the
family is unseeded, and reproducing a record of it can at best be `near`.

A `generate_image` step is one `POST /images/generations`; an `img2img` step, which has a reference
image, is one `POST /images/edits` with the image as a file. Both answer `{created, data: [{b64_json}]}`;
the image comes inside the answer, so nothing else is downloaded. The call is synchronous: progress is
coarse, and a cancel stops the step at once while the abandoned request ends on its own timeout."""

from __future__ import annotations

import base64
import binascii
import hashlib
import threading
from concurrent.futures import Future
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
from runs_app.generators.hosted import check_answer, decode_output, http_client, transient_from

WHO = "OpenAI"
TIMEOUT_SECONDS = 300.0  # an image can take a couple of minutes
WAIT_TICK = 0.1  # how often a cancel is looked for while the request is out


def _key() -> str:
    key: str = settings.OPENAI_API_KEY
    return key


def _size(width: Any, height: Any) -> str:
    """The API's nearest size to the step's shape: square, landscape or portrait."""
    w, h = int(width or 1024), int(height or 1024)
    if w > h * 1.15:
        return "1536x1024"
    if h > w * 1.15:
        return "1024x1536"
    return "1024x1024"


class OpenAIImagesProvider:
    """Provider for the `openai/<model>` families."""

    takes_seed = False  # the API has no seed: reproduction is at best near

    @staticmethod
    def unavailable() -> str:
        if _key():
            return ""
        return "OpenAI has no API key on this server: set OPENAI_API_KEY (or OPENAI_API_KEY_FILE)."

    def generate(self, request: StepRequest, progress: Progress) -> GeneratedFile:
        key = _key()
        if not key:
            raise GeneratorError(self.unavailable())
        if request.kind not in ("generate_image", "img2img"):
            raise GeneratorError(f"OpenAI Images makes and edits images; a '{request.kind}' step needs another model.")
        model = request.snapshot or request.family.removeprefix("openai/")
        p = request.params
        fields: dict[str, Any] = {"model": model, "prompt": p.get("prompt") or "", "n": 1}
        if model.startswith("dall-e"):
            fields["response_format"] = "b64_json"  # the GPT image models always answer b64_json
        if request.kind == "generate_image":
            fields["size"] = _size(p.get("width"), p.get("height"))
        submitted: dict[str, Any] = {"provider": "openai", "endpoint": "", "request": dict(fields)}
        progress(0.05, "sent to OpenAI")
        with http_client(base_url=settings.FLONIKS_OPENAI_API_BASE, headers={"Authorization": f"Bearer {key}"}) as c:
            if request.kind == "img2img":
                image = request.images.get("image")
                if image is None:
                    raise GeneratorError("An OpenAI edit needs its reference image.")
                submitted["endpoint"] = "/images/edits"
                submitted["request"]["image"] = "sha256:" + hashlib.sha256(image).hexdigest()
                form = {k: str(v) for k, v in fields.items()}
                answer = self._call(
                    lambda: c.post(
                        "/images/edits",
                        data=form,
                        files={"image": ("image.png", image, "image/png")},
                        timeout=TIMEOUT_SECONDS,
                    ),
                    request.handle,
                    key,
                )
            else:
                submitted["endpoint"] = "/images/generations"
                answer = self._call(
                    lambda: c.post("/images/generations", json=fields, timeout=TIMEOUT_SECONDS), request.handle, key
                )
        progress(0.85, "decoding the image")
        data = _image_of(answer)
        return decode_output(data, who=WHO, provenance=request.provenance, submitted=submitted)

    def _call(self, send: Any, handle: StepHandle, key: str) -> dict[str, Any]:
        """Send on a side thread and wait for it while watching the handle: a cancel is not held up by
        a request that may take minutes (its answer, if it comes, is dropped)."""
        done: Future[httpx.Response] = Future()

        def work() -> None:
            try:
                done.set_result(send())
            except BaseException as error:  # handed to the waiting thread, which decides
                done.set_exception(error)

        threading.Thread(target=work, daemon=True, name=f"floniks-openai-{handle.key}").start()
        while not done.done():
            if handle.wait_cancelled(WAIT_TICK):
                raise StepCancelled(handle.reason)
        try:
            response = done.result()
        except httpx.HTTPError as error:
            raise transient_from(error, who=WHO, secret=key) from None
        check_answer(response, who=WHO, secret=key)
        try:
            body = response.json()
        except ValueError:
            raise TransientGeneratorError("OpenAI answered with something that is not JSON.") from None
        if not isinstance(body, dict):
            raise GeneratorError("OpenAI answered with JSON that is not an images response.")
        return body

    def cancel(self, handle: StepHandle) -> None:
        """Nothing to tell: OpenAI has no cancel for an image request. The waiting loop sees the handle."""

    def fingerprint(self, family: str, snapshot: str) -> dict[str, Any]:
        return {
            "provider": "openai",
            "model": snapshot or family.removeprefix("openai/"),
            "api_base": settings.FLONIKS_OPENAI_API_BASE,
        }


def _image_of(answer: dict[str, Any]) -> bytes:
    data = answer.get("data")
    first = data[0] if isinstance(data, list) and data else None
    encoded = first.get("b64_json") if isinstance(first, dict) else None
    if not isinstance(encoded, str) or not encoded:
        raise GeneratorError("OpenAI's answer held no image (no data[0].b64_json).")
    limit: int = settings.FLONIKS_HOSTED_MAX_DOWNLOAD_BYTES
    if len(encoded) * 3 // 4 > limit:
        raise GeneratorError(f"OpenAI's image is over the {limit}-byte limit.")
    try:
        return base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise GeneratorError("OpenAI's answer held an image that is not valid base64.") from None
