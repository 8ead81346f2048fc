"""A faithful ComfyUI test server: ComfyUI's HTTP and websocket protocol on a loopback socket.

It answers with the shapes of ComfyUI's `server.py` and `execution.py` (the routes, the `/prompt`
validation errors, the websocket messages and the history entries) and really executes a handful
of weight-free nodes with NumPy and Pillow, so outputs depend on seeds, inputs and links:

    EmptyImage, LoadImage (an uploaded file), ImageAddNoise (seeded; reports progress),
    ImageBlend, ImageScale, ImageInvert, SaveImage, PreviewImage

Like ComfyUI it runs one prompt at a time, keeps the history in memory, and caches every node's
output by its inputs: an identical graph is answered without executing anything (the nodes come
back in `execution_cached`) until `POST /free {"unload_models": true, "free_memory": true}`.

What a test can do with it (all thread-safe):

    with comfyui_server() as server:          # or ComfyUITestServer().start()
        server.url                             # http://127.0.0.1:<port>
        server.executions                      # prompts that really executed at least one node
        server.node_executions                 # nodes really executed (cached ones not counted)
        server.interrupts, server.frees        # bodies of POST /interrupt and POST /free received
        server.prompts                         # bodies of accepted POST /prompt, in order
        server.uploads                         # names stored by POST /upload/image
        server.finished                        # prompt id → time.time() its history was written
        server.fail_node("ImageAddNoise", "CUDA out of memory")  # execution_error from that class
        server.node_delay = 0.5                # seconds per progress tick (a slow node)
        server.wait_running(timeout=5)         # until a prompt is executing a node
        server.version = "0.3.66"              # what /system_stats reports
        server.models["checkpoints"]["x.safetensors"] = {"modelspec.hash_sha256": "0x…"}
        server.stop(); server.start()          # the same port again (a restart: history is lost)

The module path and the public API above are stable: other tests and the benchmark rely on them.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import queue
import shutil
import socket
import struct
import tempfile
import threading
import time
import traceback
import urllib.parse
import uuid
from collections.abc import Callable, Iterator
from email.parser import BytesParser
from email.policy import HTTP
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image
from PIL.PngImagePlugin import PngInfo

WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
NOISE_TICKS = 4  # progress values an ImageAddNoise reports: 1/4 … 4/4
MAX_SIDE = 16384  # ComfyUI's MAX_RESOLUTION

DEFAULT_MODELS: dict[str, dict[str, dict[str, str] | None]] = {
    "checkpoints": {
        "sd_xl_base_1.0.safetensors": {"modelspec.hash_sha256": "0x" + hashlib.sha256(b"sdxl-base").hexdigest()},
        "v1-5-pruned-emaonly.ckpt": None,
    },
    "loras": {"film_grain.safetensors": {"ss_output_name": "film_grain"}},
    "vae": {},
    "upscale_models": {"RealESRGAN_x4plus.pth": None},
    "embeddings": {},
}

_IMAGE = ["IMAGE", {}]
BLEND_MODES = ["normal", "multiply", "screen", "overlay", "soft_light", "difference"]
SCALE_METHODS = ["nearest-exact", "bilinear", "area", "bicubic", "lanczos"]


def _object_info(input_files: list[str]) -> dict[str, dict[str, Any]]:
    """The `/object_info` entry of every node class, in ComfyUI's shape."""

    def node(
        name: str,
        required: dict[str, Any],
        output: list[str],
        *,
        category: str = "image",
        output_node: bool = False,
        optional: dict[str, Any] | None = None,
        hidden: dict[str, Any] | None = None,
        module: str = "nodes",
    ) -> dict[str, Any]:
        inputs: dict[str, Any] = {"required": required}
        order: dict[str, list[str]] = {"required": list(required)}
        if optional:
            inputs["optional"] = optional
            order["optional"] = list(optional)
        if hidden:
            inputs["hidden"] = hidden
            order["hidden"] = list(hidden)
        return {
            "input": inputs,
            "input_order": order,
            "output": output,
            "output_is_list": [False] * len(output),
            "output_name": output,
            "name": name,
            "display_name": name,
            "description": "",
            "python_module": module,
            "category": category,
            "output_node": output_node,
            "deprecated": False,
            "experimental": False,
        }

    size = {"default": 512, "min": 1, "max": MAX_SIDE, "step": 1}
    return {
        "EmptyImage": node(
            "EmptyImage",
            {
                "width": ["INT", size],
                "height": ["INT", size],
                "batch_size": ["INT", {"default": 1, "min": 1, "max": 4096}],
                "color": ["INT", {"default": 0, "min": 0, "max": 0xFFFFFF, "step": 1, "display": "color"}],
            },
            ["IMAGE"],
        ),
        "LoadImage": node(
            "LoadImage",
            {"image": [sorted(input_files), {"image_upload": True}]},
            ["IMAGE", "MASK"],
        ),
        "ImageAddNoise": node(
            "ImageAddNoise",
            {
                "image": _IMAGE,
                "seed": ["INT", {"default": 0, "min": 0, "max": 0xFFFFFFFFFFFFFFFF, "control_after_generate": True}],
                "strength": ["FLOAT", {"default": 0.5, "min": 0.0, "max": 1.0, "step": 0.01}],
            },
            ["IMAGE"],
            module="comfy_extras.nodes_images",
        ),
        "ImageBlend": node(
            "ImageBlend",
            {
                "image1": _IMAGE,
                "image2": _IMAGE,
                "blend_factor": ["FLOAT", {"default": 0.5, "min": 0.0, "max": 1.0, "step": 0.01}],
                "blend_mode": [BLEND_MODES, {}],
            },
            ["IMAGE"],
            category="image/postprocessing",
            module="comfy_extras.nodes_post_processing",
        ),
        "ImageScale": node(
            "ImageScale",
            {
                "image": _IMAGE,
                "upscale_method": [SCALE_METHODS, {}],
                "width": ["INT", {"default": 512, "min": 0, "max": MAX_SIDE, "step": 1}],
                "height": ["INT", {"default": 512, "min": 0, "max": MAX_SIDE, "step": 1}],
                "crop": [["disabled", "center"], {}],
            },
            ["IMAGE"],
            category="image/upscaling",
        ),
        "ImageInvert": node("ImageInvert", {"image": _IMAGE}, ["IMAGE"]),
        "SaveImage": node(
            "SaveImage",
            {"images": _IMAGE, "filename_prefix": ["STRING", {"default": "ComfyUI"}]},
            [],
            output_node=True,
            hidden={"prompt": "PROMPT", "extra_pnginfo": "EXTRA_PNGINFO"},
        ),
        "PreviewImage": node(
            "PreviewImage",
            {"images": _IMAGE},
            [],
            output_node=True,
            hidden={"prompt": "PROMPT", "extra_pnginfo": "EXTRA_PNGINFO"},
        ),
    }


class NodeFailure(Exception):
    """An exception raised inside a node: ComfyUI reports it as `execution_error`."""


class Interrupted(Exception):
    """`POST /interrupt` reached a running node (ComfyUI's InterruptProcessingException)."""


class ServerStopped(Exception):
    """The server was stopped while executing: nothing more is sent or recorded (a crash)."""


def _error(kind: str, message: str, details: str = "", extra: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"type": kind, "message": message, "details": details, "extra_info": extra or {}}


def _is_link(value: Any) -> bool:
    return isinstance(value, list) and len(value) == 2 and isinstance(value[0], str) and isinstance(value[1], int)


class _Client:
    """One websocket connection: frames are written under a lock, from any thread."""

    def __init__(self, sock: socket.socket, sid: str) -> None:
        self.sock = sock
        self.sid = sid
        self.lock = threading.Lock()
        self.open = True

    def send_text(self, text: str) -> None:
        self._send(0x1, text.encode())

    def _send(self, opcode: int, payload: bytes) -> None:
        header = bytes([0x80 | opcode])
        n = len(payload)
        if n < 126:
            header += bytes([n])
        elif n < 1 << 16:
            header += bytes([126]) + struct.pack("!H", n)
        else:
            header += bytes([127]) + struct.pack("!Q", n)
        with self.lock:
            if not self.open:
                return
            try:
                self.sock.sendall(header + payload)
            except OSError:
                self.open = False

    def close(self) -> None:
        self._send(0x8, struct.pack("!H", 1001))
        self.open = False
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    owner: ComfyUITestServer


class ComfyUITestServer:
    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        version: str = "0.3.64",
        models: dict[str, dict[str, dict[str, str] | None]] | None = None,
        root: Path | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.version = version
        self.python_version = "3.12.7 (main, Oct  1 2024, 08:52:12) [GCC 11.4.0]"
        self.pytorch_version = "2.5.1+cu124"
        self.devices: list[dict[str, Any]] = [
            {
                "name": "cuda:0 NVIDIA GeForce RTX 4090 : cudaMallocAsync",
                "type": "cuda",
                "index": 0,
                "vram_total": 25_393_692_672,
                "vram_free": 24_000_000_000,
                "torch_vram_total": 0,
                "torch_vram_free": 0,
            }
        ]
        self.models: dict[str, dict[str, dict[str, str] | None]] = json.loads(json.dumps(models or DEFAULT_MODELS))
        self.extra_node_classes: dict[str, dict[str, Any]] = {}  # custom nodes shown in /object_info only
        self._own_root = root is None
        self.root = Path(tempfile.mkdtemp(prefix="comfyui-test-")) if root is None else root
        for sub in ("input", "output", "temp"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        # What tests look at.
        self.executions = 0
        self.node_executions = 0
        self.interrupts: list[dict[str, Any]] = []
        self.frees: list[dict[str, Any]] = []
        self.prompts: list[dict[str, Any]] = []
        self.uploads: list[str] = []
        self.finished: dict[str, float] = {}  # prompt id → time.time() its history was written (benchmarks)
        self.requests: list[tuple[str, str]] = []  # (method, path) of every request
        # What tests change.
        self.node_delay = 0.0
        self.failures: dict[str, str] = {}  # class_type or node id → exception message
        # Internal state.
        self._lock = threading.RLock()
        self._running_event = threading.Event()
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._worker: threading.Thread | None = None
        self._epoch = 0
        self._reset_state()

    # -- lifecycle ---------------------------------------------------------------------------

    def _reset_state(self) -> None:
        """What a ComfyUI process keeps in memory, lost on a restart."""
        self._queue: queue.Queue[tuple[int, str, dict[str, Any], dict[str, Any], list[str]] | None] = queue.Queue()
        self._pending: list[tuple[int, str, dict[str, Any], dict[str, Any], list[str]]] = []
        self._running: tuple[int, str, dict[str, Any], dict[str, Any], list[str]] | None = None
        self._history: dict[str, dict[str, Any]] = {}
        self._cache: dict[str, dict[str, Any]] = {}  # node signature → {"outputs": tuple, "ui": dict | None}
        self._clients: dict[str, _Client] = {}
        self._connections: set[socket.socket] = set()
        self._number = 0
        self._interrupt = threading.Event()
        self._free_pending = False
        self._running_event.clear()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def running(self) -> bool:
        return self._httpd is not None

    def start(self) -> ComfyUITestServer:
        if self._httpd is not None:
            return self
        httpd = _HTTPServer((self.host, self.port), _Handler)
        httpd.owner = self
        self.port = httpd.server_address[1]
        self._httpd = httpd
        self._epoch += 1
        self._thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        self._worker = threading.Thread(target=self._work, args=(self._epoch, self._queue), daemon=True)
        self._worker.start()
        return self

    def stop(self) -> None:
        """Stop as a killed process would: sockets closed, the running prompt and the history lost."""
        httpd = self._httpd
        if httpd is None:
            return
        with self._lock:
            self._httpd = None
            self._epoch += 1
            clients = list(self._clients.values())
            connections = list(self._connections)
            self._queue.put(None)
        for client in clients:
            client.close()
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        httpd.shutdown()
        httpd.server_close()
        if self._worker is not None:
            self._worker.join(10)
        with self._lock:
            self._reset_state()

    def restart(self) -> None:
        self.stop()
        self.start()

    def close(self) -> None:
        self.stop()
        if self._own_root:
            shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> ComfyUITestServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- test controls -----------------------------------------------------------------------

    def fail_node(self, target: str, message: str) -> None:
        """Make a node class (or a node id) raise `message` when it executes: an `execution_error`."""
        with self._lock:
            self.failures[target] = message

    def clear_failures(self) -> None:
        with self._lock:
            self.failures.clear()

    def wait_running(self, timeout: float = 10) -> bool:
        """Until a node of a prompt is really executing (for a stop or a cancel mid-step)."""
        return self._running_event.wait(timeout)

    def wait_until(self, predicate: Callable[[ComfyUITestServer], bool], timeout: float = 10) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate(self):
                return True
            time.sleep(0.02)
        return predicate(self)

    def output_files(self) -> list[Path]:
        return sorted(p for p in (self.root / "output").rglob("*") if p.is_file())

    # -- HTTP answers ------------------------------------------------------------------------

    def system_stats(self) -> dict[str, Any]:
        return {
            "system": {
                "os": "posix",
                "ram_total": 67_245_121_536,
                "ram_free": 60_000_000_000,
                "comfyui_version": self.version,
                "required_frontend_version": "1.28.7",
                "python_version": self.python_version,
                "pytorch_version": self.pytorch_version,
                "embedded_python": False,
                "argv": ["main.py", "--listen", self.host, "--port", str(self.port)],
            },
            "devices": self.devices,
        }

    def object_info(self) -> dict[str, Any]:
        info = _object_info(self._input_files())
        info.update(self.extra_node_classes)
        return info

    def _input_files(self) -> list[str]:
        base = self.root / "input"
        return [str(p.relative_to(base)) for p in base.rglob("*") if p.is_file()]

    def queue_state(self) -> dict[str, Any]:
        with self._lock:
            running = [list(self._running)] if self._running else []
            return {"queue_running": running, "queue_pending": [list(item) for item in self._pending]}

    def queue_remaining(self) -> int:
        with self._lock:
            return len(self._pending) + (1 if self._running else 0)

    def history(self, prompt_id: str | None = None) -> dict[str, Any]:
        with self._lock:
            if prompt_id is None:
                return dict(self._history)
            entry = self._history.get(prompt_id)
            return {prompt_id: entry} if entry is not None else {}

    def submit(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        prompt = body.get("prompt")
        if not isinstance(prompt, dict):
            return 400, {"error": _error("no_prompt", "No prompt provided", "No prompt provided"), "node_errors": {}}
        prompt_id = str(body.get("prompt_id") or uuid.uuid4())
        ok, error, outputs, node_errors = self._validate(prompt)
        if not ok:
            return 400, {"error": error, "node_errors": node_errors}
        extra_data = dict(body.get("extra_data") or {})
        if "client_id" in body:
            extra_data["client_id"] = body["client_id"]
        with self._lock:
            number = self._number
            self._number += 1
            item = (number, prompt_id, prompt, extra_data, outputs)
            self._pending.append(item)
            self.prompts.append(body)
            self._queue.put(item)
        self._broadcast_status()
        return 200, {"prompt_id": prompt_id, "number": number, "node_errors": node_errors}

    def _validate(self, prompt: dict[str, Any]) -> tuple[bool, dict[str, Any] | None, list[str], dict[str, Any]]:
        """ComfyUI's `validate_prompt`: the same error types and shapes."""
        info = self.object_info()
        outputs: list[str] = []
        for node_id, node in prompt.items():
            if not isinstance(node, dict) or "class_type" not in node:
                return (
                    False,
                    _error(
                        "invalid_prompt",
                        "Cannot execute because a node is missing the class_type property.",
                        f"Node ID '#{node_id}'",
                    ),
                    [],
                    {},
                )
            class_type = node["class_type"]
            if class_type not in info or class_type in self.extra_node_classes:
                return (
                    False,
                    _error(
                        "missing_node_type",
                        f"Node '{class_type}' not found. The custom node may not be installed.",
                        f"Node ID '#{node_id}'",
                        {"node_id": node_id, "class_type": class_type, "node_title": class_type},
                    ),
                    [],
                    {},
                )
            if info[class_type]["output_node"]:
                outputs.append(node_id)
        if not outputs:
            return False, _error("prompt_no_outputs", "Prompt has no outputs"), [], {}
        node_errors: dict[str, Any] = {}
        good: list[str] = []
        for output in outputs:
            errors: dict[str, list[dict[str, Any]]] = {}
            self._validate_node(prompt, output, info, errors, set())
            if not errors:
                good.append(output)
                continue
            for node_id, node_errs in errors.items():
                entry = node_errors.setdefault(
                    node_id, {"errors": node_errs, "dependent_outputs": [], "class_type": prompt[node_id]["class_type"]}
                )
                entry["dependent_outputs"].append(output)
        if not good:
            details = "\n".join(
                f"{prompt[nid]['class_type']} {nid}: {e['message']}: {e['details']}"
                for nid, entry in node_errors.items()
                for e in entry["errors"]
            )
            return (
                False,
                _error("prompt_outputs_failed_validation", "Prompt outputs failed validation", details),
                [],
                node_errors,
            )
        return True, None, good, node_errors

    def _validate_node(
        self,
        prompt: dict[str, Any],
        node_id: str,
        info: dict[str, Any],
        errors: dict[str, list[dict[str, Any]]],
        seen: set[str],
    ) -> None:
        if node_id in seen:
            return
        seen.add(node_id)
        node = prompt[node_id]
        spec = info[node["class_type"]]
        inputs = node.get("inputs") or {}
        mine: list[dict[str, Any]] = []
        for name, (kind, options) in spec["input"]["required"].items():
            if name not in inputs:
                mine.append(_error("required_input_missing", "Required input is missing", name, {"input_name": name}))
                continue
            value = inputs[name]
            extra = {"input_name": name, "input_config": [kind, options], "received_value": value}
            if _is_link(value):
                source = value[0]
                if source not in prompt:
                    mine.append(
                        _error(
                            "exception_during_inner_validation",
                            "Exception when validating inner node",
                            f"'{source}'",
                            extra,
                        )
                    )
                    continue
                source_spec = info.get(prompt[source].get("class_type"))
                produced = source_spec["output"] if source_spec else []
                if value[1] >= len(produced) or produced[value[1]] != kind:
                    received = produced[value[1]] if value[1] < len(produced) else "*"
                    mine.append(
                        _error(
                            "return_type_mismatch",
                            "Return type mismatch between linked nodes",
                            f"{name}, received_type({received}) mismatch input_type({kind})",
                            extra,
                        )
                    )
                    continue
                self._validate_node(prompt, source, info, errors, seen)
                if source in errors:
                    mine.append(
                        _error(
                            "exception_during_inner_validation", "Exception when validating inner node", source, extra
                        )
                    )
                continue
            if isinstance(kind, list):
                if value not in kind:
                    if node["class_type"] == "LoadImage":
                        mine.append(
                            _error(
                                "custom_validation_failed",
                                "Custom validation failed for node",
                                f"{name} - Invalid image file: {value}",
                                extra,
                            )
                        )
                    else:
                        mine.append(
                            _error("value_not_in_list", "Value not in list", f"{name}: '{value}' not in {kind}", extra)
                        )
                continue
            types: dict[str, type | tuple[type, ...]] = {"INT": int, "FLOAT": (int, float), "STRING": str}
            checked = types.get(kind)
            if checked is None:  # an IMAGE input given a literal
                mine.append(_error("invalid_input_type", f"Invalid input type for {name}", f"{name}, {value}", extra))
                continue
            if not isinstance(value, checked) or isinstance(value, bool):
                mine.append(
                    _error(
                        "invalid_input_type",
                        f"Failed to convert an input value to a {kind} value",
                        f"{name}, {value}",
                        extra,
                    )
                )
                continue
            if "min" in options and value < options["min"]:
                mine.append(
                    _error(
                        "value_smaller_than_min",
                        f"Value {value} smaller than min of {options['min']}",
                        f"{name}",
                        extra,
                    )
                )
            if "max" in options and value > options["max"]:
                mine.append(
                    _error(
                        "value_bigger_than_max", f"Value {value} bigger than max of {options['max']}", f"{name}", extra
                    )
                )
        if mine:
            errors[node_id] = mine

    def upload(self, data: bytes, filename: str, subfolder: str, kind: str, overwrite: bool) -> tuple[int, Any]:
        if kind not in {"input", "temp", "output"}:
            kind = "input"
        base = (self.root / kind).resolve()
        folder = (base / subfolder).resolve()
        name = os.path.basename(filename)
        if not name or os.path.commonpath([base, folder]) != str(base):
            return 400, None
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / name
        if target.exists() and not overwrite:
            # ComfyUI reuses an identical file's name, and numbers a different one "name (1).png".
            stem, suffix = os.path.splitext(name)
            i = 1
            while target.exists() and target.read_bytes() != data:
                target = folder / f"{stem} ({i}){suffix}"
                i += 1
        if not target.exists() or target.read_bytes() != data:
            target.write_bytes(data)
        with self._lock:
            self.uploads.append(target.name)
        return 200, {"name": target.name, "subfolder": subfolder, "type": kind}

    def interrupt(self, body: dict[str, Any]) -> None:
        with self._lock:
            self.interrupts.append(body)
            target = body.get("prompt_id")
            if not target or (self._running is not None and self._running[1] == target):
                self._interrupt.set()

    def free(self, body: dict[str, Any]) -> None:
        with self._lock:
            self.frees.append(body)
            # ComfyUI sets flags the prompt worker reads before its next prompt; free_memory resets the caches.
            if body.get("free_memory"):
                self._free_pending = True
        if body.get("free_memory"):
            self._queue.put(("free",))  # type: ignore[arg-type]  # wakes an idle worker, as ComfyUI's flag does

    def delete_from_queue(self, body: dict[str, Any]) -> None:
        with self._lock:
            if body.get("clear"):
                self._pending.clear()
            for prompt_id in body.get("delete") or []:
                self._pending = [item for item in self._pending if item[1] != prompt_id]

    # -- websocket ---------------------------------------------------------------------------

    def _add_client(self, client: _Client) -> None:
        with self._lock:
            self._clients[client.sid] = client
        client.send_text(
            json.dumps(
                {
                    "type": "status",
                    "data": {"status": {"exec_info": {"queue_remaining": self.queue_remaining()}}, "sid": client.sid},
                }
            )
        )

    def _remove_client(self, client: _Client) -> None:
        with self._lock:
            if self._clients.get(client.sid) is client:
                del self._clients[client.sid]

    def _send(self, event: str, data: dict[str, Any], sid: str | None, epoch: int | None = None) -> None:
        """ComfyUI's send_sync: to one client id, or to every client when `sid` is None."""
        with self._lock:
            if epoch is not None and epoch != self._epoch:
                raise ServerStopped
            if sid is None:
                targets = list(self._clients.values())
            else:
                targets = [self._clients[sid]] if sid in self._clients else []
        text = json.dumps({"type": event, "data": data})
        for client in targets:
            client.send_text(text)

    def _broadcast_status(self) -> None:
        self._send("status", {"status": {"exec_info": {"queue_remaining": self.queue_remaining()}}}, None)

    # -- execution ---------------------------------------------------------------------------

    def _work(self, epoch: int, work: queue.Queue[Any]) -> None:
        while True:
            item = work.get()
            if item is None or epoch != self._epoch:
                return
            with self._lock:
                if item[0] == "free":
                    if self._free_pending:
                        self._cache.clear()
                        self._free_pending = False
                    continue
                if item not in self._pending:  # deleted from the queue before it ran
                    continue
                self._pending.remove(item)
                self._running = item
                self._interrupt.clear()
                if self._free_pending:
                    self._cache.clear()
                    self._free_pending = False
            try:
                self._execute(epoch, item)
            except ServerStopped:
                return
            finally:
                self._running_event.clear()
            with self._lock:
                if epoch != self._epoch:
                    return
                self._running = None
            self._broadcast_status()

    def _execute(self, epoch: int, item: tuple[int, str, dict[str, Any], dict[str, Any], list[str]]) -> None:
        _number, prompt_id, prompt, extra_data, outputs = item
        sid = extra_data.get("client_id")
        messages: list[list[Any]] = []

        def message(event: str, data: dict[str, Any], *, broadcast: bool = False) -> None:
            data = {**data, "timestamp": int(time.time() * 1000)}
            messages.append([event, data])
            self._send(event, data, None if broadcast else sid, epoch)

        def send(event: str, data: dict[str, Any]) -> None:
            self._send(event, data, sid, epoch)

        signatures: dict[str, str] = {}

        def signature(node_id: str) -> str:
            if node_id not in signatures:
                node = prompt[node_id]
                parts: dict[str, Any] = {"class_type": node["class_type"]}
                for name, value in sorted((node.get("inputs") or {}).items()):
                    parts[name] = ["link", signature(value[0]), value[1]] if _is_link(value) else value
                if node["class_type"] == "LoadImage":  # IS_CHANGED: the file's content
                    path = self.root / "input" / str(parts.get("image"))
                    parts["file"] = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else ""
                if self.info_is_output(node["class_type"]):
                    parts["node_id"] = node_id  # output nodes are cached per node, as ComfyUI's UI cache is
                signatures[node_id] = hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()
            return signatures[node_id]

        message("execution_start", {"prompt_id": prompt_id})
        needed: list[str] = []

        def collect(node_id: str) -> None:
            if node_id in needed:
                return
            for value in (prompt[node_id].get("inputs") or {}).values():
                if _is_link(value):
                    collect(value[0])
            needed.append(node_id)

        for output in outputs:
            collect(output)
        with self._lock:
            cached = [node_id for node_id in prompt if node_id in needed and signature(node_id) in self._cache]
        message("execution_cached", {"nodes": cached, "prompt_id": prompt_id})
        results: dict[str, tuple[Any, ...]] = {}
        ui_outputs: dict[str, Any] = {}
        meta: dict[str, Any] = {}
        executed: list[str] = []
        ran_any = False
        current = ""
        try:
            for node_id in needed:
                current = node_id
                node = prompt[node_id]
                class_type = node["class_type"]
                key = signature(node_id)
                with self._lock:
                    hit = self._cache.get(key)
                if hit is not None:
                    results[node_id] = hit["outputs"]
                    if hit["ui"] is not None:
                        ui_outputs[node_id] = hit["ui"]
                        meta[node_id] = self._meta(node_id)
                        send(
                            "executed",
                            {"node": node_id, "display_node": node_id, "output": hit["ui"], "prompt_id": prompt_id},
                        )
                    executed.append(node_id)
                    continue
                send("executing", {"node": node_id, "display_node": node_id, "prompt_id": prompt_id})
                self._running_event.set()
                inputs = {
                    name: results[value[0]][value[1]] if _is_link(value) else value
                    for name, value in (node.get("inputs") or {}).items()
                }
                with self._lock:
                    failure = self.failures.get(node_id) or self.failures.get(class_type)
                if failure is not None:
                    raise RuntimeError(failure)  # as a node's own exception reaches ComfyUI

                def tick(value: int, total: int, node_id: str = node_id) -> None:
                    if self.node_delay:
                        deadline = time.monotonic() + self.node_delay
                        while time.monotonic() < deadline:
                            self._check(epoch)
                            time.sleep(min(0.02, self.node_delay))
                    self._check(epoch)
                    if total > 1:  # like ComfyUI, only nodes with a progress bar report progress
                        send("progress", {"value": value, "max": total, "prompt_id": prompt_id, "node": node_id})

                produced, ui = self._run_node(class_type, inputs, tick, prompt)
                self._check(epoch)
                ran_any = True
                with self._lock:
                    self.node_executions += 1
                    self._cache[key] = {"outputs": produced, "ui": ui}
                results[node_id] = produced
                executed.append(node_id)
                if ui is not None:
                    ui_outputs[node_id] = ui
                    meta[node_id] = self._meta(node_id)
                    send("executed", {"node": node_id, "display_node": node_id, "output": ui, "prompt_id": prompt_id})
        except Interrupted:
            node = prompt[current]
            message(
                "execution_interrupted",
                {"prompt_id": prompt_id, "node_id": current, "node_type": node["class_type"], "executed": executed},
                broadcast=True,
            )
            self._finish(epoch, item, ui_outputs, meta, messages, "error", ran_any)
            return
        except ServerStopped:
            raise
        except Exception as exc:
            node = prompt[current]
            message(
                "execution_error",
                {
                    "prompt_id": prompt_id,
                    "node_id": current,
                    "node_type": node["class_type"],
                    "executed": executed,
                    "exception_message": str(exc),
                    "exception_type": _type_name(exc),
                    "traceback": traceback.format_exception(exc),
                    "current_inputs": {
                        name: [repr(value)] for name, value in (node.get("inputs") or {}).items() if not _is_link(value)
                    },
                    "current_outputs": list(results),
                },
            )
            self._finish(epoch, item, ui_outputs, meta, messages, "error", ran_any)
            return
        message("execution_success", {"prompt_id": prompt_id})
        self._finish(epoch, item, ui_outputs, meta, messages, "success", ran_any)

    def info_is_output(self, class_type: str) -> bool:
        return class_type in {"SaveImage", "PreviewImage"}

    @staticmethod
    def _meta(node_id: str) -> dict[str, Any]:
        return {"node_id": node_id, "display_node": node_id, "parent_node": None, "real_node_id": node_id}

    def _check(self, epoch: int) -> None:
        if epoch != self._epoch:
            raise ServerStopped
        if self._interrupt.is_set():
            self._interrupt.clear()
            raise Interrupted

    def _finish(
        self,
        epoch: int,
        item: tuple[int, str, dict[str, Any], dict[str, Any], list[str]],
        ui_outputs: dict[str, Any],
        meta: dict[str, Any],
        messages: list[list[Any]],
        status: str,
        ran_any: bool,
    ) -> None:
        number, prompt_id, prompt, extra_data, outputs = item
        with self._lock:
            if epoch != self._epoch:
                raise ServerStopped
            if ran_any:
                self.executions += 1
            self._history[prompt_id] = {
                "prompt": [number, prompt_id, prompt, extra_data, outputs],
                "outputs": ui_outputs,
                "status": {"status_str": status, "completed": status == "success", "messages": messages},
                "meta": meta,
            }
            self.finished[prompt_id] = time.time()
        # ComfyUI's prompt worker says the queue is idle with a final `executing` whose node is None.
        self._send("executing", {"node": None, "prompt_id": prompt_id}, extra_data.get("client_id"), epoch)

    # -- the nodes ---------------------------------------------------------------------------

    def _run_node(
        self,
        class_type: str,
        inputs: dict[str, Any],
        tick: Callable[[int, int], None],
        prompt: dict[str, Any],
    ) -> tuple[tuple[Any, ...], dict[str, Any] | None]:
        if class_type == "EmptyImage":
            tick(1, 1)
            color = int(inputs.get("color", 0))
            rgb = np.array([(color >> 16) & 0xFF, (color >> 8) & 0xFF, color & 0xFF], dtype=np.float32) / 255.0
            image = np.broadcast_to(rgb, (int(inputs["batch_size"]), int(inputs["height"]), int(inputs["width"]), 3))
            return (image.copy(),), None
        if class_type == "LoadImage":
            tick(1, 1)
            path = self.root / "input" / str(inputs["image"])
            with Image.open(path) as img:
                rgb = np.asarray(img.convert("RGB"), dtype=np.float32) / 255.0
                alpha = np.asarray(img.convert("RGBA"), dtype=np.float32)[..., 3] / 255.0
            return (rgb[None], (1.0 - alpha)[None]), None
        if class_type == "ImageAddNoise":
            image = np.asarray(inputs["image"], dtype=np.float32)
            rng = np.random.default_rng(int(inputs["seed"]) & 0xFFFFFFFFFFFFFFFF)
            noise = rng.random(image.shape, dtype=np.float32)
            strength = float(inputs["strength"])
            out = image.copy()
            bands = np.array_split(np.arange(image.shape[1]), NOISE_TICKS)
            for i, rows in enumerate(bands, start=1):  # in bands, so progress is real
                out[:, rows] = np.clip(image[:, rows] * (1 - strength) + noise[:, rows] * strength, 0, 1)
                tick(i, NOISE_TICKS)
            return (out,), None
        if class_type == "ImageBlend":
            tick(1, 1)
            a = np.asarray(inputs["image1"], dtype=np.float32)
            b = np.asarray(inputs["image2"], dtype=np.float32)
            if b.shape != a.shape:
                b = _resize(b, a.shape[2], a.shape[1], "bicubic")
            mode = inputs["blend_mode"]
            blended = {
                "normal": b,
                "multiply": a * b,
                "screen": 1 - (1 - a) * (1 - b),
                "overlay": np.where(a <= 0.5, 2 * a * b, 1 - 2 * (1 - a) * (1 - b)),
                "soft_light": np.where(b <= 0.5, a - (1 - 2 * b) * a * (1 - a), a + (2 * b - 1) * (np.sqrt(a) - a)),
                "difference": a - b,
            }[mode]
            factor = float(inputs["blend_factor"])
            return (np.clip(a * (1 - factor) + blended * factor, 0, 1),), None
        if class_type == "ImageScale":
            tick(1, 1)
            image = np.asarray(inputs["image"], dtype=np.float32)
            width, height = int(inputs["width"]), int(inputs["height"])
            if width == 0 and height == 0:
                return (image,), None
            if width == 0:
                width = max(1, round(image.shape[2] * height / image.shape[1]))
            if height == 0:
                height = max(1, round(image.shape[1] * width / image.shape[2]))
            if inputs.get("crop") == "center":
                image = _center_crop(image, width / height)
            return (_resize(image, width, height, inputs["upscale_method"]),), None
        if class_type == "ImageInvert":
            tick(1, 1)
            return (1.0 - np.asarray(inputs["image"], dtype=np.float32),), None
        if class_type in {"SaveImage", "PreviewImage"}:
            tick(1, 1)
            kind = "output" if class_type == "SaveImage" else "temp"
            prefix = str(inputs.get("filename_prefix", "ComfyUI")) if kind == "output" else "ComfyUI_temp"
            return (), {"images": self._save(inputs["images"], prefix, kind, prompt)}
        raise NodeFailure(f"Node class {class_type} cannot be executed by the test server.")

    def _save(self, images: Any, prefix: str, kind: str, prompt: dict[str, Any]) -> list[dict[str, str]]:
        subfolder, _, stem = prefix.replace("\\", "/").rpartition("/")
        folder = (self.root / kind / subfolder).resolve()
        if os.path.commonpath([folder, (self.root / kind).resolve()]) != str((self.root / kind).resolve()):
            raise NodeFailure("Saving image outside the output folder is not allowed.")
        folder.mkdir(parents=True, exist_ok=True)
        saved = []
        with self._lock:
            counter = 1 + sum(1 for p in folder.glob(f"{stem}_*_.png"))
            for batch in np.asarray(images):
                pixels = np.clip(batch * 255.0, 0, 255).astype(np.uint8)
                info = PngInfo()
                info.add_text("prompt", json.dumps(prompt))  # ComfyUI embeds the graph it ran
                name = f"{stem}_{counter:05}_.png"
                Image.fromarray(pixels).save(folder / name, pnginfo=info, compress_level=4)
                saved.append({"filename": name, "subfolder": subfolder, "type": kind})
                counter += 1
        return saved

    def view(self, params: dict[str, str]) -> tuple[int, bytes, str]:
        name = params.get("filename", "")
        kind = params.get("type", "output") or "output"
        if not name or kind not in {"input", "output", "temp"}:
            return 400, b"", "text/plain"
        base = (self.root / kind).resolve()
        path = (base / params.get("subfolder", "") / name).resolve()
        if os.path.commonpath([base, path]) != str(base):
            return 403, b"", "text/plain"
        if not path.is_file():
            return 404, b"", "text/plain"
        media = {".png": "image/png", ".webp": "image/webp", ".jpg": "image/jpeg", ".jpeg": "image/jpeg"}
        return 200, path.read_bytes(), media.get(path.suffix.lower(), "application/octet-stream")


def _type_name(exc: BaseException) -> str:
    """ComfyUI's full_type_name: builtins bare, others with their module."""
    module = type(exc).__module__
    return type(exc).__qualname__ if module == "builtins" else f"{module}.{type(exc).__qualname__}"


def _resize(image: np.ndarray, width: int, height: int, method: str) -> np.ndarray:
    resample = {
        "nearest-exact": Image.Resampling.NEAREST,
        "bilinear": Image.Resampling.BILINEAR,
        "area": Image.Resampling.BOX,
        "bicubic": Image.Resampling.BICUBIC,
        "lanczos": Image.Resampling.LANCZOS,
    }[method]
    frames = []
    for frame in image:
        planes = [
            np.asarray(Image.fromarray(frame[..., c].astype(np.float32), mode="F").resize((width, height), resample))
            for c in range(frame.shape[-1])
        ]
        frames.append(np.stack(planes, axis=-1))
    return np.clip(np.stack(frames), 0, 1)


def _center_crop(image: np.ndarray, ratio: float) -> np.ndarray:
    h, w = image.shape[1], image.shape[2]
    if w / h > ratio:
        new_w = max(1, round(h * ratio))
        x = (w - new_w) // 2
        return image[:, :, x : x + new_w]
    new_h = max(1, round(w / ratio))
    y = (h - new_h) // 2
    return image[:, y : y + new_h]


class _Handler(BaseHTTPRequestHandler):
    server: _HTTPServer
    protocol_version = "HTTP/1.1"
    server_version = "Python/3.12 aiohttp/3.11.18"

    def log_message(self, format: str, *args: Any) -> None:  # quiet: tests read the counters instead
        pass

    def setup(self) -> None:
        super().setup()
        # As aiohttp does: no Nagle delay between a response's head and its body (40 ms otherwise).
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self.owner._lock:
            self.owner._connections.add(self.connection)

    def finish(self) -> None:
        with contextlib.suppress(OSError):
            super().finish()
        with self.owner._lock:
            self.owner._connections.discard(self.connection)

    @property
    def owner(self) -> ComfyUITestServer:
        return self.server.owner

    # ComfyUI serves every route at /<route> and /api/<route>.
    def _route(self) -> tuple[str, dict[str, str]]:
        parsed = urllib.parse.urlsplit(self.path)
        path = parsed.path
        if path.startswith("/api/"):
            path = path[4:]
        params = dict(urllib.parse.parse_qsl(parsed.query, keep_blank_values=True))
        with self.owner._lock:
            self.owner.requests.append((self.command, path))
        return path, params

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _json_body(self) -> dict[str, Any]:
        try:
            body = json.loads(self._body() or b"{}")
        except ValueError:
            return {}
        return body if isinstance(body, dict) else {}

    def _answer(self, status: int, body: bytes = b"", media: str = "application/json; charset=utf-8") -> None:
        self.send_response(status)
        self.send_header("Content-Type", media)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, status: int, value: Any) -> None:
        self._answer(status, json.dumps(value).encode())

    def _not_found(self) -> None:
        self._answer(404, b"404: Not Found", "text/plain; charset=utf-8")

    def do_GET(self) -> None:
        path, params = self._route()
        owner = self.owner
        if path == "/ws":
            self._websocket(params)
        elif path == "/object_info":
            self._json(200, owner.object_info())
        elif path.startswith("/object_info/"):
            name = urllib.parse.unquote(path.removeprefix("/object_info/"))
            info = owner.object_info()
            self._json(200, {name: info[name]} if name in info else {})
        elif path == "/system_stats":
            self._json(200, owner.system_stats())
        elif path == "/models":
            self._json(200, list(owner.models))
        elif path.startswith("/models/"):
            folder = urllib.parse.unquote(path.removeprefix("/models/"))
            if folder not in owner.models:
                self._not_found()
            else:
                self._json(200, sorted(owner.models[folder]))
        elif path.startswith("/view_metadata/"):
            folder = urllib.parse.unquote(path.removeprefix("/view_metadata/"))
            name = params.get("filename", "")
            files = owner.models.get(folder)
            if not name or not name.endswith(".safetensors") or files is None or name not in files:
                self._not_found()
            else:
                self._json(200, files[name] or {})
        elif path == "/view":
            status, data, media = owner.view(params)
            self._answer(status, data, media)
        elif path == "/queue":
            self._json(200, owner.queue_state())
        elif path == "/prompt":
            self._json(200, {"exec_info": {"queue_remaining": owner.queue_remaining()}})
        elif path == "/history":
            self._json(200, owner.history())
        elif path.startswith("/history/"):
            self._json(200, owner.history(urllib.parse.unquote(path.removeprefix("/history/"))))
        else:
            self._not_found()

    def do_POST(self) -> None:
        path, _ = self._route()
        owner = self.owner
        if path == "/prompt":
            status, answer = owner.submit(self._json_body())
            self._json(status, answer)
        elif path == "/interrupt":
            owner.interrupt(self._json_body())
            self._answer(200, b"", "application/octet-stream")
        elif path == "/free":
            owner.free(self._json_body())
            self._answer(200, b"", "application/octet-stream")
        elif path == "/queue":
            owner.delete_from_queue(self._json_body())
            self._answer(200, b"", "application/octet-stream")
        elif path == "/upload/image":
            fields = self._multipart()
            image = fields.get("image")
            if image is None or not image[0]:
                self._answer(400, b"", "text/plain")
                return
            status, answer = owner.upload(
                image[1],
                image[0],
                fields.get("subfolder", ("", b""))[1].decode(),
                fields.get("type", ("", b"input"))[1].decode() or "input",
                fields.get("overwrite", ("", b""))[1].decode().lower() in {"true", "1"},
            )
            if answer is None:
                self._answer(status, b"", "text/plain")
            else:
                self._json(status, answer)
        else:
            self._not_found()

    def _multipart(self) -> dict[str, tuple[str, bytes]]:
        """Field name → (file name, content) of a multipart/form-data body."""
        content_type = self.headers.get("Content-Type", "")
        body = self._body()
        message = BytesParser(policy=HTTP).parsebytes(
            f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode() + body
        )
        fields: dict[str, tuple[str, bytes]] = {}
        if not message.is_multipart():
            return fields
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            if not isinstance(name, str):
                continue
            payload = part.get_payload(decode=True)
            fields[name] = (part.get_filename() or "", payload if isinstance(payload, bytes) else b"")
        return fields

    def _websocket(self, params: dict[str, str]) -> None:
        key = self.headers.get("Sec-WebSocket-Key")
        if self.headers.get("Upgrade", "").lower() != "websocket" or not key:
            self._answer(400, b"Expected websocket upgrade", "text/plain")
            return
        accept = base64.b64encode(hashlib.sha1((key + WS_GUID).encode()).digest()).decode()
        self.send_response(HTTPStatus.SWITCHING_PROTOCOLS)
        self.send_header("Upgrade", "websocket")
        self.send_header("Connection", "Upgrade")
        self.send_header("Sec-WebSocket-Accept", accept)
        self.end_headers()
        self.wfile.flush()
        sid = params.get("clientId") or uuid.uuid4().hex
        client = _Client(self.connection, sid)
        self.owner._add_client(client)
        try:
            self._read_frames(client)
        finally:
            self.owner._remove_client(client)
            client.open = False
            self.close_connection = True

    def _read_frames(self, client: _Client) -> None:
        read = self.rfile.read
        while client.open:
            head = read(2)
            if len(head) < 2:
                return
            opcode = head[0] & 0x0F
            length = head[1] & 0x7F
            if length == 126:
                length = struct.unpack("!H", read(2))[0]
            elif length == 127:
                length = struct.unpack("!Q", read(8))[0]
            mask = read(4) if head[1] & 0x80 else b""
            payload = read(length)
            if mask:
                payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
            if opcode == 0x8:  # close: answer it, then end
                client._send(0x8, payload[:2])
                return
            if opcode == 0x9:  # ping → pong
                client._send(0xA, payload)


@contextlib.contextmanager
def comfyui_server(**options: Any) -> Iterator[ComfyUITestServer]:
    """A started test server, stopped and its files removed afterwards."""
    server = ComfyUITestServer(**options)
    server.start()
    try:
        yield server
    finally:
        server.close()
