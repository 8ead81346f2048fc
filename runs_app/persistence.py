"""A step's output stored, and the outputs later steps read.

Storage is content addressed, so re-storing a step's output after a crash stores nothing twice.
Outputs a worker process made recently are kept in memory by their sha256, bounded in bytes: the
next step of a run usually runs in the same process and reads its input without a storage round
trip. The cache can never be stale (a sha256 names one content), so nothing needs resetting.

An output's list thumbnail and page preview are made on a thread of its own (Pillow releases the GIL while it decodes,
shrinks and encodes), beside the step's success being written and, in a chain, beside the next step;
the executor waits for it before its task ends. A worker killed in between leaves an output without
a thumbnail or preview: their URLs serve a stand-in, and `manage.py make_thumbnails` makes them."""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict

from runs_app.generators import GeneratedFile, GeneratorError
from runs_app.models import Artifact, RunStep
from runs_app.storage import ensure_renditions, read_artifact, store_generated

log = logging.getLogger(__name__)

CACHE_BYTES = 128 * 1024 * 1024


class RecentOutputs:
    """sha256 → bytes of recently made outputs, least recently used dropped first."""

    def __init__(self, capacity: int = CACHE_BYTES) -> None:
        self.capacity = capacity
        self._items: OrderedDict[str, bytes] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    def put(self, sha256: str, data: bytes) -> None:
        if len(data) > self.capacity:
            return
        with self._lock:
            if sha256 in self._items:
                self._items.move_to_end(sha256)
                return
            self._items[sha256] = data
            self._size += len(data)
            while self._size > self.capacity:
                _, dropped = self._items.popitem(last=False)
                self._size -= len(dropped)

    def get(self, sha256: str) -> bytes | None:
        with self._lock:
            data = self._items.get(sha256)
            if data is not None:
                self._items.move_to_end(sha256)
            return data


RECENT = RecentOutputs()


class Thumbnail:
    """An output's thumbnail and preview being made on a thread; `wait` until they are."""

    def __init__(self, artifact: Artifact, generated: GeneratedFile) -> None:
        self.artifact, self.generated = artifact, generated
        self._thread = threading.Thread(target=self._make, daemon=True, name="floniks-thumbnail")
        self._thread.start()

    def _make(self) -> None:
        try:
            generated = self.generated
            ensure_renditions(self.artifact.sha256, generated.data, self.artifact.media_type, generated.picture)
        except Exception:  # storage failing here loses a thumbnail or preview only: pages still show something
            log.warning("No thumbnail for artifact %s", self.artifact.sha256, exc_info=True)

    def wait(self) -> None:
        self._thread.join()


def store_output(generated: GeneratedFile) -> tuple[Artifact, Thumbnail]:
    """Store a step's output (bytes and row); its thumbnail is under way when this returns."""
    artifact = store_generated(generated, thumbnail=False)
    RECENT.put(artifact.sha256, generated.data)
    return artifact, Thumbnail(artifact, generated)


def read_bytes(artifact: Artifact) -> bytes:
    data = RECENT.get(artifact.sha256)
    if data is None:
        data = read_artifact(artifact)
        RECENT.put(artifact.sha256, data)
    return data


def is_image_binding(value: object) -> bool:
    """A frozen parameter that names an image: `{"artifact": sha256}` or `{"step": id}` (a ComfyUI
    step's `graph` and `bindings` are objects too, never of this shape)."""
    return isinstance(value, dict) and len(value) == 1 and isinstance(value.get("artifact", value.get("step")), str)


def input_images(step: RunStep, made: dict[str, bytes] | None = None) -> dict[str, bytes]:
    """The images a step reads, by parameter: uploaded references and the outputs of earlier steps
    (`made`: those the caller generated itself, by step, perhaps not yet stored)."""
    wanted = {name: b for name, b in step.params.items() if is_image_binding(b)}
    if not wanted:
        return {}
    made = made or {}
    from_steps = {b["step"] for b in wanted.values() if "step" in b} - made.keys()
    earlier = RunStep.objects.filter(run_id=step.run_id, step_id__in=from_steps).select_related("output")
    stored = {s.step_id: s.output for s in earlier} if from_steps else {}
    shas = {b["artifact"] for b in wanted.values() if "artifact" in b}
    uploaded = {a.sha256: a for a in Artifact.objects.filter(sha256__in=shas)} if shas else {}
    images = {}
    for name, binding in wanted.items():
        if binding.get("step") in made:
            images[name] = made[binding["step"]]
            continue
        artifact = stored.get(binding["step"]) if "step" in binding else uploaded.get(binding.get("artifact", ""))
        if artifact is None:
            raise GeneratorError(f"The image for '{name}' is missing.")
        images[name] = read_bytes(artifact)
    return images
