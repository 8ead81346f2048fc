"""ComfyUI servers as a provider (DESIGN §8): a `comfyui` step's graph runs on a pool's server.

For one step: pick the least busy server of the step's pool (`/queue`), read its environment
fingerprint, upload the step's images (`/upload/image`), slot the bindings and the seed into the
graph, open the websocket (`/ws?clientId=`) before submitting so that no message is missed, submit
(`/prompt`) with a prompt id derived from the step, its attempt and its try, follow the messages
(`progress`, `executing`, `executed`, `execution_success`, `execution_error`,
`execution_interrupted`) and download the output node's first image through `/view`. The image's
name comes from the output node's `executed` message: `execution_success` ends the step at once
(ComfyUI sends it before it writes the history and then its final `executing`, so no round trip
waits for either); only when that was missed is `/history/<prompt id>` read once the prompt ends.

A verification reproduction first asks the server to drop its cache (`/free`), because ComfyUI
answers a graph it has run before from its cache without running it. A cancel interrupts the server
(`/interrupt`, and the prompt is taken off its queue). A node's error — `/prompt` answering 400 with
`node_errors`, or `execution_error` — fails the step with the node's own message and is not
retried; a refused connection, a timeout, a 5xx or the server going away mid-step is transient.

Safety: only the pool's configured base URLs are ever contacted (a definition names no URL, and an
output is fetched by name through `/view` of the server that made it); every call has a timeout;
a download is capped in bytes and decoded by Pillow under the step pixel limit before it is kept."""

from __future__ import annotations

import copy
import hashlib
import io
import json
import logging
import threading
import time
import uuid
import weakref
from dataclasses import dataclass
from typing import Any

import httpx
import websocket
from django.conf import settings
from PIL import Image

from runs_app.generators.base import (
    GeneratedFile,
    GeneratorError,
    Progress,
    StepCancelled,
    StepHandle,
    StepRequest,
    TransientGeneratorError,
)
from templates_app import comfyui as pools
from templates_app.definition import SEED_BINDING

log = logging.getLogger(__name__)

PROMPT_NAMESPACE = uuid.UUID("6f0c4b1e-4c1b-5d0e-9a53-2f7c0b8f1d11")  # prompt ids: uuid5 of step, attempt, try
POLL_SECONDS = 0.25  # a websocket read waits at most this before the cancel flag is looked at again
HISTORY_POLL_SECONDS = 5.0  # with no message for this long, /history is asked directly (a missed message)
QUEUE_TIMEOUT_SECONDS = 3.0  # the least-busy probe; a server slower than this is skipped
FORMATS = {"PNG": ("image/png", "png"), "WEBP": ("image/webp", "webp"), "JPEG": ("image/jpeg", "jpg")}


def _fingerprint(server: str) -> dict[str, Any]:
    """The server's environment as captures and drift pages see it (one bounded fetch, kept
    FLONIKS_COMFYUI_FINGERPRINT_TTL seconds); a server that cannot describe itself is a transient
    failure, as one that cannot be reached."""
    found = pools.live(server)
    if found.fingerprint is None:
        raise TransientGeneratorError(f"The ComfyUI server could not describe its environment: {found.error}")
    return found.fingerprint


@dataclass
class _Job:
    server: str
    prompt_id: str


class ComfyUIProvider:
    """Provider for the `comfyui/<pool>` families: `comfyui` steps only."""

    takes_seed = True  # the seed goes where the graph binds "$seed"; same seed, same graph → same pixels
    runs_ahead = False  # a remote server: nothing may be sent before the step is claimed

    def __init__(self) -> None:
        self._jobs: dict[str, _Job] = {}  # handle key → the prompt in flight, for cancel()
        self._tries: weakref.WeakKeyDictionary[StepHandle, int] = weakref.WeakKeyDictionary()
        self._lock = threading.Lock()
        self._local = threading.local()  # family → (server, fingerprint) of this thread's last step

    # -- the Provider interface ---------------------------------------------------------------

    def generate(self, request: StepRequest, progress: Progress) -> GeneratedFile:
        if request.kind != "comfyui":
            raise GeneratorError(f"A ComfyUI pool runs comfyui steps only, not '{request.kind}'.")
        pool = pools.pool_of(request.family)
        servers = pools.pools().get(pool or "", [])
        if not servers:
            raise GeneratorError(f"No ComfyUI pool '{pool}' is configured (FLONIKS_COMFYUI_POOLS).")
        graph, output_node = self._graph(request)
        handle = request.handle
        with self._lock:
            tries = self._tries.get(handle, 0) + 1
            self._tries[handle] = tries
        prompt_id = str(uuid.uuid5(PROMPT_NAMESPACE, f"{handle.key}:{tries}"))
        timeout = float(settings.FLONIKS_COMFYUI_HTTP_TIMEOUT_SECONDS)
        try:
            with httpx.Client(timeout=timeout, follow_redirects=False) as http:
                server = self._least_busy(pool or "", servers, http)
                handle.raise_if_cancelled()
                fingerprint = _fingerprint(server)
                self._last()[request.family] = (server, fingerprint)
                uploads = self._upload(server, http, request, graph)
                if request.verifying:
                    self._post(http, f"{server}/free", {"unload_models": True, "free_memory": True})
                client_id = uuid.uuid4().hex
                with self._lock:
                    self._jobs[handle.key] = _Job(server, prompt_id)
                try:
                    outputs = self._run(server, http, graph, output_node, prompt_id, client_id, handle, progress)
                finally:
                    with self._lock:
                        self._jobs.pop(handle.key, None)
                image = self._first_image(outputs, output_node, prompt_id)
                data = self._download(server, http, image)
        except httpx.TimeoutException as exc:
            raise TransientGeneratorError(
                f"The ComfyUI server did not answer in time ({exc.__class__.__name__})."
            ) from None
        except httpx.TransportError as exc:  # refused, reset, dropped: the server may be restarting
            raise TransientGeneratorError(
                f"The ComfyUI server could not be reached ({exc.__class__.__name__})."
            ) from None
        generated = _decoded(data)
        progress(1.0, "done")
        submitted = {
            "server": server,
            "prompt_id": prompt_id,
            "client_id": client_id,
            "graph": graph,
            "output_node": output_node,
            "uploads": uploads,
            "output": image,
            "freed_cache": request.verifying,
        }
        return GeneratedFile(
            generated.data,
            generated.media_type,
            generated.extension,
            generated.width,
            generated.height,
            submitted=submitted,
            picture=generated.picture,
        )

    def cancel(self, handle: StepHandle) -> None:
        """Interrupt the prompt where it runs, and take it off the queue if it waits there."""
        with self._lock:
            job = self._jobs.get(handle.key)
        if job is None:
            return
        with httpx.Client(timeout=QUEUE_TIMEOUT_SECONDS, follow_redirects=False) as http:
            self._interrupt(http, job.server, job.prompt_id)

    def fingerprint(self, family: str, snapshot: str) -> dict[str, Any]:
        """The environment of the server that ran this thread's last step of `family`; else the pool's
        first answering server's."""
        found = self._last().get(family)
        if found is not None:
            server, fingerprint = found
            return {"provider": "comfyui", "family": family, "snapshot": snapshot, "server": server, **fingerprint}
        for server in pools.pools().get(pools.pool_of(family) or "", []):
            reported = pools.live(server).fingerprint
            if reported is None:
                continue
            return {"provider": "comfyui", "family": family, "snapshot": snapshot, "server": server, **reported}
        return {"provider": "comfyui", "family": family, "snapshot": snapshot, "server": None}

    # -- pieces ---------------------------------------------------------------------------------

    def _last(self) -> dict[str, tuple[str, dict[str, Any]]]:
        last: dict[str, tuple[str, dict[str, Any]]] | None = getattr(self._local, "last", None)
        if last is None:
            last = self._local.last = {}
        return last

    @staticmethod
    def _graph(request: StepRequest) -> tuple[dict[str, Any], str]:
        """The graph with the text and number bindings slotted in and the seed where "$seed" is bound."""
        graph = request.params.get("graph")
        output_node = request.params.get("output_node")
        if not isinstance(graph, dict) or not isinstance(output_node, str) or output_node not in graph:
            raise GeneratorError("This comfyui step has no graph or output node.")
        graph = copy.deepcopy(graph)
        for target, value in (request.params.get("bindings") or {}).items():
            node_id, _, name = target.partition(".")
            if value == SEED_BINDING:
                if request.seed is None:
                    raise GeneratorError(f"'{target}' is bound to the seed, but this step has none.")
                value = request.seed
            graph[node_id].setdefault("inputs", {})[name] = value
        return graph, output_node

    @staticmethod
    def _least_busy(pool: str, servers: list[str], http: httpx.Client) -> str:
        """The server of the pool with the fewest prompts running and waiting; the first on a tie."""
        best: tuple[int, int, str] | None = None
        failures = []
        for order, server in enumerate(servers):
            try:
                answer = http.get(f"{server}/queue", timeout=QUEUE_TIMEOUT_SECONDS)
                answer.raise_for_status()
                queue = answer.json()
                load = len(queue.get("queue_running") or []) + len(queue.get("queue_pending") or [])
            except (httpx.HTTPError, ValueError, AttributeError) as exc:
                failures.append(f"{server}: {exc.__class__.__name__}")
                continue
            if best is None or (load, order) < best[:2]:
                best = (load, order, server)
        if best is None:
            raise TransientGeneratorError(f"No server of ComfyUI pool '{pool}' answers ({'; '.join(failures)}).")
        return best[2]

    def _upload(self, server: str, http: httpx.Client, request: StepRequest, graph: dict[str, Any]) -> dict[str, str]:
        """Each image the step reads, uploaded under a name derived from its content, into the input
        its binding names."""
        uploads = {}
        for target, data in sorted(request.images.items()):
            node_id, _, name = target.partition(".")
            if node_id not in graph or not name:
                continue
            filename = f"floniks-{hashlib.sha256(data).hexdigest()[:32]}.png"
            answer = http.post(
                f"{server}/upload/image",
                files={"image": (filename, data, "image/png")},
                data={"overwrite": "true", "type": "input"},
            )
            _raise_for_server(answer, "upload an image")
            if answer.status_code != 200:
                raise GeneratorError(f"The ComfyUI server refused the image for {target} ({answer.status_code}).")
            stored = answer.json()
            path = stored["name"] if not stored.get("subfolder") else f"{stored['subfolder']}/{stored['name']}"
            graph[node_id].setdefault("inputs", {})[name] = path
            uploads[target] = path
        return uploads

    @staticmethod
    def _post(http: httpx.Client, url: str, body: dict[str, Any]) -> httpx.Response:
        answer = http.post(url, json=body)
        _raise_for_server(answer, url.rsplit("/", 1)[-1])
        return answer

    def _run(
        self,
        server: str,
        http: httpx.Client,
        graph: dict[str, Any],
        output_node: str,
        prompt_id: str,
        client_id: str,
        handle: StepHandle,
        progress: Progress,
    ) -> dict[str, Any]:
        """Submit and follow the prompt to its end; its outputs (from the websocket, else its history)."""
        ws_url = "ws" + server.removeprefix("http") + f"/ws?clientId={client_id}"
        try:
            ws = websocket.create_connection(ws_url, timeout=float(settings.FLONIKS_COMFYUI_HTTP_TIMEOUT_SECONDS))
        except (OSError, websocket.WebSocketException) as exc:
            raise TransientGeneratorError(
                f"The ComfyUI websocket could not be opened ({exc.__class__.__name__})."
            ) from None
        try:
            answer = http.post(
                f"{server}/prompt", json={"prompt": graph, "client_id": client_id, "prompt_id": prompt_id}
            )
            _raise_for_server(answer, "take the graph")
            if answer.status_code == 400:
                raise GeneratorError(_refusal(answer, graph))
            if answer.status_code != 200:
                raise GeneratorError(f"The ComfyUI server answered {answer.status_code} to the graph.")
            ws.settimeout(POLL_SECONDS)
            outputs = self._follow(ws, server, http, graph, output_node, prompt_id, handle, progress)
        finally:
            ws.close()
        if outputs is not None:
            return outputs
        history = self._history(server, http, prompt_id)
        if history is None:
            raise TransientGeneratorError(f"The ComfyUI server has no history of prompt {prompt_id}.")
        status = history.get("status") or {}
        if status.get("status_str") == "error":
            raise _failure_from(status.get("messages") or [], graph, handle)
        return history.get("outputs") or {}

    def _follow(
        self,
        ws: websocket.WebSocket,
        server: str,
        http: httpx.Client,
        graph: dict[str, Any],
        output_node: str,
        prompt_id: str,
        handle: StepHandle,
        progress: Progress,
    ) -> dict[str, Any] | None:
        """Follow the prompt's messages to its end: its outputs when `execution_success` came after the
        output node's `executed`; None when its history must say how it went (a message was missed)."""
        tracker = _Progress(graph, progress)
        quiet_since = time.monotonic()
        succeeded = False
        outputs: dict[str, Any] = {}  # node → its `executed` output (the images it saved)
        while True:
            if handle.cancelled:
                # cancel() may have come before the prompt was sent: interrupt it here too (harmless twice).
                self._interrupt(http, server, prompt_id)
                raise StepCancelled(handle.reason)
            try:
                raw = ws.recv()
            except websocket.WebSocketTimeoutException:
                if succeeded or time.monotonic() - quiet_since > HISTORY_POLL_SECONDS:
                    quiet_since = time.monotonic()
                    if self._history(server, http, prompt_id) is not None:
                        return None  # ended while a message was missed
                    if not succeeded and not self._queued(server, http, prompt_id):
                        if self._history(server, http, prompt_id) is not None:
                            return None
                        # Neither queued nor done: the server lost it (restarted without closing our socket).
                        raise TransientGeneratorError(f"The ComfyUI server lost prompt {prompt_id}.") from None
                continue
            except (OSError, websocket.WebSocketException) as exc:
                # The server went away mid-step (a restart, a crash): the prompt is lost with it.
                raise TransientGeneratorError(
                    f"The ComfyUI server closed the connection during the step ({exc.__class__.__name__})."
                ) from None
            quiet_since = time.monotonic()
            if not isinstance(raw, str):
                continue  # a binary preview frame
            try:
                message = json.loads(raw)
            except ValueError:
                continue
            data = message.get("data") or {}
            if not isinstance(data, dict) or data.get("prompt_id") != prompt_id:
                continue
            kind = message.get("type")
            if kind == "execution_cached":
                tracker.cached(data.get("nodes") or [])
            elif kind == "executing":
                if data.get("node") is None:
                    return None
                tracker.executing(str(data["node"]))
            elif kind == "progress":
                tracker.progress(str(data.get("node")), data.get("value"), data.get("max"))
            elif kind == "executed":
                if isinstance(data.get("output"), dict):
                    outputs[str(data.get("node"))] = data["output"]
            elif kind == "execution_success":
                if output_node in outputs:
                    return outputs  # nothing else to wait for: the history would say the same
                succeeded = True  # its history is written just before the `executing` None that follows
            elif kind in ("execution_error", "execution_interrupted"):
                raise _failure_from([[kind, data]], graph, handle)

    @staticmethod
    def _interrupt(http: httpx.Client, server: str, prompt_id: str) -> None:
        try:
            http.post(f"{server}/interrupt", json={"prompt_id": prompt_id}, timeout=QUEUE_TIMEOUT_SECONDS)
            http.post(f"{server}/queue", json={"delete": [prompt_id]}, timeout=QUEUE_TIMEOUT_SECONDS)
        except httpx.HTTPError:
            log.warning("Could not interrupt prompt %s on %s", prompt_id, server, exc_info=True)

    @staticmethod
    def _queued(server: str, http: httpx.Client, prompt_id: str) -> bool:
        """Whether the prompt is running or waiting on the server."""
        answer = http.get(f"{server}/queue")
        _raise_for_server(answer, "show its queue")
        queue = answer.json() if answer.status_code == 200 else {}
        items = (queue.get("queue_running") or []) + (queue.get("queue_pending") or [])
        return any(isinstance(item, list) and len(item) > 1 and item[1] == prompt_id for item in items)

    @staticmethod
    def _history(server: str, http: httpx.Client, prompt_id: str) -> dict[str, Any] | None:
        answer = http.get(f"{server}/history/{prompt_id}")
        _raise_for_server(answer, "say how the prompt went")
        entry = answer.json().get(prompt_id) if answer.status_code == 200 else None
        return entry if isinstance(entry, dict) else None

    @staticmethod
    def _first_image(outputs: dict[str, Any], output_node: str, prompt_id: str) -> dict[str, str]:
        images = (outputs.get(output_node) or {}).get("images") or []
        if not images or not isinstance(images[0], dict) or not images[0].get("filename"):
            raise GeneratorError(f"Node {output_node} made no image (prompt {prompt_id}); is it a SaveImage node?")
        first = images[0]
        return {
            "filename": str(first["filename"]),
            "subfolder": str(first.get("subfolder", "")),
            "type": str(first.get("type", "output")),
        }

    @staticmethod
    def _download(server: str, http: httpx.Client, image: dict[str, str]) -> bytes:
        """The image through `/view` of the server that made it, at most the download cap."""
        cap = int(settings.FLONIKS_COMFYUI_MAX_DOWNLOAD_BYTES)
        with http.stream("GET", f"{server}/view", params=image) as answer:
            _raise_for_server(answer, "give the image")
            if answer.status_code != 200:
                raise GeneratorError(f"The ComfyUI server answered {answer.status_code} for {image['filename']}.")
            declared = answer.headers.get("content-length")
            if declared and declared.isdigit() and int(declared) > cap:
                raise GeneratorError(f"The output is larger than {cap} bytes.")
            chunks, size = [], 0
            for chunk in answer.iter_bytes():
                size += len(chunk)
                if size > cap:
                    raise GeneratorError(f"The output is larger than {cap} bytes.")
                chunks.append(chunk)
        return b"".join(chunks)


class _Progress:
    """ComfyUI reports per node (`executing`, then `progress` value/max): the step's fraction is the
    nodes done plus the running node's share, over the nodes that really run; it only grows."""

    def __init__(self, graph: dict[str, Any], report: Progress) -> None:
        self.graph, self.report = graph, report
        self.total = max(len(graph), 1)
        self.done = 0
        self.current: str | None = None
        self.last = 0.0

    def cached(self, nodes: list[Any]) -> None:
        self.total = max(len(self.graph) - len(nodes), 1)

    def executing(self, node: str) -> None:
        if self.current is not None:
            self.done += 1
        self.current = node
        self._say(self.done / self.total, f"{self._name(node)}")

    def progress(self, node: str, value: Any, maximum: Any) -> None:
        if not isinstance(value, (int, float)) or not isinstance(maximum, (int, float)) or maximum <= 0:
            return
        share = min(max(value / maximum, 0.0), 1.0)
        self._say((self.done + share) / self.total, f"{self._name(node)} {value:g}/{maximum:g}")

    def _name(self, node: str) -> str:
        entry = self.graph.get(node)
        return f"node {node} ({entry.get('class_type')})" if isinstance(entry, dict) else f"node {node}"

    def _say(self, fraction: float, message: str) -> None:
        fraction = min(fraction, 0.99)  # 1.0 only once the output is here
        if fraction > self.last:
            self.last = fraction
            self.report(fraction, message)


def _raise_for_server(answer: httpx.Response, doing: str) -> None:
    if answer.status_code >= 500:
        raise TransientGeneratorError(f"The ComfyUI server failed to {doing} ({answer.status_code}).")


def _refusal(answer: httpx.Response, graph: dict[str, Any]) -> str:
    """ComfyUI's 400 to a graph, in its own words: the first node error, else the error."""
    try:
        body = answer.json()
    except ValueError:
        return f"ComfyUI refused the graph: {answer.text[:500]}"
    node_errors = body.get("node_errors") if isinstance(body, dict) else None
    if isinstance(node_errors, dict):
        for node_id, entry in node_errors.items():
            for error in (entry or {}).get("errors") or []:
                words = ": ".join(str(p) for p in (error.get("message"), error.get("details")) if p)
                class_type = entry.get("class_type") or (graph.get(node_id) or {}).get("class_type", "?")
                return f"ComfyUI refused node {node_id} ({class_type}): {words}"
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        words = ": ".join(str(p) for p in (error.get("message"), error.get("details")) if p)
        return f"ComfyUI refused the graph: {words}"
    return f"ComfyUI refused the graph: {str(error)[:500]}"


def _failure_from(messages: list[Any], graph: dict[str, Any], handle: StepHandle) -> Exception:
    """The error a prompt that ended badly raises: the node's own message for `execution_error`."""
    for item in messages:
        if not isinstance(item, list) or len(item) != 2 or not isinstance(item[1], dict):
            continue
        kind, data = item
        if kind == "execution_error":
            return GeneratorError(
                f"ComfyUI node {data.get('node_id')} ({data.get('node_type')}) failed: {data.get('exception_message', '').strip()}"
            )
        if kind == "execution_interrupted":
            if handle.cancelled:
                return StepCancelled(handle.reason)
            return TransientGeneratorError(f"The prompt was interrupted on the server at node {data.get('node_id')}.")
    return GeneratorError("The ComfyUI prompt ended in an error.")


def _decoded(data: bytes) -> GeneratedFile:
    """An output checked by decoding it under the step pixel limit; kept as the server wrote it."""
    limit = int(settings.FLONIKS_MAX_STEP_PIXELS)
    try:
        image = Image.open(io.BytesIO(data))
        if image.width * image.height > limit:
            raise GeneratorError(f"The output is {image.width}×{image.height}, more than {limit} pixels.")
        if image.format not in FORMATS:
            raise GeneratorError(f"The output is a {image.format} file; PNG, WebP or JPEG expected.")
        image.load()
    except GeneratorError:
        raise
    except Exception as exc:  # Pillow raises many kinds for a bad file
        raise GeneratorError(f"The output is not a readable image ({exc}).") from None
    media_type, extension = FORMATS[str(image.format)]
    picture = image if image.mode in ("RGB", "RGBA") else image.convert("RGB")
    return GeneratedFile(data, media_type, extension, image.width, image.height, picture=picture)
