"""A Replicate stand-in for tests that run real Celery worker processes.

A worker started with `FLONIKS_HOSTED_TRANSPORT=testing.hosted_stub.transport` answers every hosted
request in its own process with Replicate's documented shapes: `POST /predictions` → 201 `starting`,
each `GET urls.get` one state on (`processing`, then `succeeded` naming one output URL), `POST
urls.cancel` → `canceled`, the output URL → a PNG. Each request is appended to the file
`FLONIKS_TEST_HOSTED_LOG` names as one JSON line {method, url, authorized, body}, so the test process
sees what the worker sent (the Authorization header as a yes/no, never its value)."""

from __future__ import annotations

import io
import json
import os
import threading
from typing import Any

import httpx
from PIL import Image

API = "https://api.replicate.test/v1"
OUTPUT = "https://replicate.delivery.test/xezq/worker-out.png"
STATES = ("starting", "processing", "processing", "succeeded")

_lock = threading.Lock()
_created: dict[str, dict[str, Any]] = {}
_position: dict[str, int] = {}
_cancelled: set[str] = set()


def _png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (40, 30), (10, 160, 90)).save(buf, "PNG")
    return buf.getvalue()


def _log(request: httpx.Request) -> None:
    path = os.environ.get("FLONIKS_TEST_HOSTED_LOG")
    if not path:
        return
    body = request.content.decode("utf-8", "replace") if request.content else ""
    line = {
        "method": request.method,
        "url": str(request.url),
        "authorized": request.headers.get("Authorization", "").startswith("Bearer "),
        "body": body,
    }
    with _lock, open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps(line) + "\n")


def _prediction(pid: str) -> dict[str, Any]:
    status = "canceled" if pid in _cancelled else STATES[min(_position[pid], len(STATES) - 1)]
    return {
        "id": pid,
        "version": _created[pid]["version"],
        "input": _created[pid]["input"],
        "logs": "",
        "output": [OUTPUT] if status == "succeeded" else None,
        "error": None,
        "status": status,
        "urls": {"get": f"{API}/predictions/{pid}", "cancel": f"{API}/predictions/{pid}/cancel"},
    }


def _answer(request: httpx.Request) -> httpx.Response:
    _log(request)
    url = str(request.url)
    with _lock:
        if request.method == "POST" and url == f"{API}/predictions":
            pid = f"w{len(_created) + 1}"
            _created[pid], _position[pid] = json.loads(request.content), 0
            return httpx.Response(201, json=_prediction(pid))
        if request.method == "POST" and url.endswith("/cancel"):
            pid = url.rsplit("/", 2)[-2]
            _cancelled.add(pid)
            return httpx.Response(200, json=_prediction(pid))
        if request.method == "GET" and url.startswith(f"{API}/predictions/"):
            pid = url.rsplit("/", 1)[-1]
            _position[pid] += 1
            return httpx.Response(200, json=_prediction(pid))
    if request.method == "GET" and url == OUTPUT:
        return httpx.Response(200, content=_png(), headers={"content-type": "image/png"})
    return httpx.Response(404, json={"detail": "not found", "status": 404})


def transport() -> httpx.BaseTransport:
    return httpx.MockTransport(_answer)
