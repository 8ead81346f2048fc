"""What the hosted-API providers share (Replicate, OpenAI Images; docs/providers.md).

- One factory builds every HTTP client (`http_client`): timeouts always, no redirects from the API,
  and the transport settings.FLONIKS_HOSTED_TRANSPORT names (a test double, a proxy) when set.
- Safety (DESIGN §8): the only URLs fetched are the configured API base and the output URLs the
  provider's answers name, and those only over https. Nothing in a definition or an input is ever
  fetched: a reference image goes to the provider as bytes. Every download is size-capped while it
  streams and decoded by Pillow under a pixel bound before anything is stored; what is stored is
  Floniks's own PNG of the decoded pixels, not the bytes that came.
- Secrets: the key is sent in a header and nowhere else; every message a provider raises passes
  through `redact`, so a key a provider echoes back never reaches a step, a record or a log line.
- Errors: 429, 5xx and connection errors are transient (the engine retries them per the step's
  policy); any other 4xx is permanent and carries the provider's own message."""

from __future__ import annotations

import io
import logging
import warnings
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import httpx
from django.conf import settings
from django.utils.module_loading import import_string
from PIL import Image

from runs_app.generators.base import GeneratedFile, GeneratorError, StepHandle, TransientGeneratorError
from runs_app.generators.builtin import _encode_png

log = logging.getLogger(__name__)

TIMEOUT = httpx.Timeout(connect=10.0, read=120.0, write=60.0, pool=10.0)
MAX_MESSAGE = 500  # a provider's message, as much as a step's error shows
REDACTED = "[redacted]"


def redact(text: str, *secrets: str) -> str:
    """`text` with every secret replaced: a provider may echo a key back in an error message."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, REDACTED)
    return text


def _transport() -> httpx.BaseTransport | None:
    path: str = settings.FLONIKS_HOSTED_TRANSPORT
    if not path:
        return None
    factory: Callable[[], httpx.BaseTransport] = import_string(path)
    return factory()


def _https_only(request: httpx.Request) -> None:
    """Every hop of a download (redirects included) over https: an answer cannot send us to a local address
    over plain http. The API base is whatever settings say (a test double, a proxy on loopback)."""
    if request.url.scheme != "https":
        raise GeneratorError(f"refusing to download over {request.url.scheme}: only https output URLs are fetched")


def http_client(*, base_url: str = "", headers: dict[str, str] | None = None, download: bool = False) -> httpx.Client:
    """The one way a hosted provider gets an HTTP client (tests replace the transport through settings)."""
    kwargs: dict[str, Any] = {"timeout": TIMEOUT, "headers": headers or {}}
    if transport := _transport():
        kwargs["transport"] = transport
    if download:
        kwargs.update(follow_redirects=True, max_redirects=3, event_hooks={"request": [_https_only]})
    else:
        kwargs.update(base_url=base_url, follow_redirects=False)
    return httpx.Client(**kwargs)


def provider_message(response: httpx.Response) -> str:
    """The human part of an error answer: OpenAI's `error.message`, Replicate's `detail` / `title`."""
    try:
        body = response.json()
    except ValueError:
        return response.text[:MAX_MESSAGE].strip() or response.reason_phrase
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict) and error.get("message"):
            return str(error["message"])[:MAX_MESSAGE]
        for key in ("detail", "error", "title", "message"):
            if isinstance(body.get(key), str) and body[key]:
                return str(body[key])[:MAX_MESSAGE]
    return response.reason_phrase


def check_answer(response: httpx.Response, *, who: str, secret: str) -> None:
    """Raise for an answer that is not a success: transient for 429 and 5xx, permanent otherwise."""
    if response.is_success:
        return
    message = redact(provider_message(response), secret)
    status = response.status_code
    if status == 429 and not _out_of_quota(response):
        raise TransientGeneratorError(f"{who} is rate-limiting requests (429): {message}")
    if status >= 500:
        raise TransientGeneratorError(f"{who} answered {status}: {message}")
    raise GeneratorError(f"{who} refused the request ({status}): {message}")


def _out_of_quota(response: httpx.Response) -> bool:
    """OpenAI answers 429 `insufficient_quota` when the account has no credit: waiting will not cure it."""
    try:
        error = response.json().get("error")
    except (ValueError, AttributeError):
        return False
    return isinstance(error, dict) and error.get("code") == "insufficient_quota"


def transient_from(error: httpx.HTTPError, *, who: str, secret: str) -> TransientGeneratorError:
    """A connection refused, reset or timed out: worth a retry. Its text names the URL, never a header."""
    return TransientGeneratorError(redact(f"{who} could not be reached ({error.__class__.__name__}: {error})", secret))


def download(url: str, *, who: str, handle: StepHandle, secret: str = "") -> bytes:
    """An output URL the provider's answer named, read up to the size cap (never further)."""
    limit: int = settings.FLONIKS_HOSTED_MAX_DOWNLOAD_BYTES
    if urlsplit(url).scheme != "https":
        raise GeneratorError(f"{who} named an output that is not an https URL; it was not fetched.")
    chunks: list[bytes] = []
    size = 0
    try:
        with http_client(download=True) as client, client.stream("GET", url) as response:
            if not response.is_success:
                response.read()
                check_answer(response, who=f"{who} (output download)", secret=secret)
            declared = response.headers.get("content-length")
            if declared and declared.isdigit() and int(declared) > limit:
                raise GeneratorError(f"{who}'s output is {int(declared)} bytes, over the {limit}-byte limit.")
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > limit:
                    raise GeneratorError(f"{who}'s output is over the {limit}-byte limit; the download was stopped.")
                chunks.append(chunk)
                handle.raise_if_cancelled()
    except httpx.HTTPError as error:
        raise transient_from(error, who=f"{who} (output download)", secret=secret) from None
    return b"".join(chunks)


def decode_output(data: bytes, *, who: str, provenance: dict[str, Any], submitted: dict[str, Any]) -> GeneratedFile:
    """Pillow decodes what came under the pixel bound (header first, then the pixels); the step's
    output is Floniks's own PNG of those pixels, with the provenance embedded as for every output."""
    limit: int = settings.FLONIKS_HOSTED_MAX_PIXELS
    if len(data) > settings.FLONIKS_HOSTED_MAX_DOWNLOAD_BYTES:
        raise GeneratorError(f"{who}'s output is over the {settings.FLONIKS_HOSTED_MAX_DOWNLOAD_BYTES}-byte limit.")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image: Image.Image = Image.open(io.BytesIO(data))
            if image.width * image.height > limit:
                raise GeneratorError(
                    f"{who}'s output is {image.width}×{image.height}, over the {limit}-pixel limit; it was not stored."
                )
            image.load()
    except GeneratorError:
        raise
    except (OSError, ValueError, Image.DecompressionBombWarning, Image.DecompressionBombError) as error:
        raise GeneratorError(f"{who}'s output is not an image Floniks can read ({error.__class__.__name__}).") from None
    if image.mode not in ("RGB", "RGBA"):
        image = image.convert("RGBA" if "A" in image.getbands() or "transparency" in image.info else "RGB")
    encoded = _encode_png(image, provenance)
    return GeneratedFile(
        data=encoded.data,
        media_type=encoded.media_type,
        extension=encoded.extension,
        width=encoded.width,
        height=encoded.height,
        submitted=submitted,
        picture=encoded.picture,
    )
