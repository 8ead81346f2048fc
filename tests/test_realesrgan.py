"""Real-ESRGAN on the CPU (runs_app/generators/realesrgan.py): a real neural upscaler in the default
install, deterministic on one machine, cancellable between bands."""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import pytest
from PIL import Image

from runs_app import services
from runs_app.generators import StepCancelled, StepHandle, StepRequest
from runs_app.generators.realesrgan import BAND_ROWS, RealEsrganProvider
from runs_app.models import Artifact, RunStatus, Verdict
from runs_app.storage import read_artifact
from templates_app.models import ModelFamily
from tests.helpers import finished_record, run_now

# Committed rows: a Real-ESRGAN step lasts long enough for its watch thread (its own connection) to
# renew the lease, and that thread must see the step.
pytestmark = pytest.mark.django_db(transaction=True)

UPSCALE: dict[str, Any] = {
    "inputs": {"subject": {"type": "string", "required": True}},
    "steps": [
        {
            "id": "frame",
            "kind": "generate_image",
            "model": "local/aurora",
            "params": {"prompt": "{{inputs.subject}}", "width": 80, "height": 64, "steps": 6},
        },
        {
            "id": "sharp",
            "kind": "upscale",
            "model": "realesrgan/x4plus",
            "params": {"image": "{{steps.frame.output}}", "factor": 4},
        },
    ],
    "outputs": {"frame": "{{steps.frame.output}}", "upscaled": "{{steps.sharp.output}}"},
}


def _png(width: int, height: int, seed: int = 1) -> bytes:
    pixels = (np.random.default_rng(seed).random((height, width, 3)) * 255).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(pixels, "RGB").save(buf, "PNG")
    return buf.getvalue()


def _size(data: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(data)) as img:
        return img.size


def test_the_catalogue_lists_both_networks_on_their_provider():
    families = {f.name: f for f in ModelFamily.objects.filter(provider="realesrgan").select_related("default_snapshot")}
    assert set(families) == {"realesrgan/x4plus", "realesrgan/x4plus-anime"}
    assert all(f.default_snapshot is not None for f in families.values())


def test_a_run_upscales_four_times_and_the_same_input_gives_the_same_bytes(make_workflow, publish, operator):
    workflow = make_workflow("real-upscale", "Real upscale")
    publish(workflow, UPSCALE)
    record = finished_record(operator, workflow, inputs={"subject": "a greenhouse"})
    upscaled = record.outputs["upscaled"]
    frame, big = (Artifact.objects.get(sha256=record.outputs[name]["sha256"]) for name in ("frame", "upscaled"))
    assert (big.width, big.height) == (4 * frame.width, 4 * frame.height) == (320, 256)
    assert _size(read_artifact(big)) == (320, 256)
    step = record.run.steps.get(step_id="sharp")
    assert step.fingerprint["weights"] == "realesrgan-x4plus" and len(step.fingerprint["weights_sha256"]) == 64
    # Reproduced from the record alone: the network gives byte-identical pixels again.
    check_run = run_now(services.reproduce_record(actor=operator, record=record))
    assert check_run.status == RunStatus.FINALIZED
    check = check_run.reproduction_check
    assert check.verdict == Verdict.EXACT
    assert check_run.outputs_by_name()["upscaled"].sha256 == upscaled["sha256"]


def test_a_smaller_factor_is_the_network_output_shrunk_and_the_anime_network_differs():
    provider, source = RealEsrganProvider(), _png(36, 20)

    def upscale(family: str, factor: int) -> Any:
        request = StepRequest("upscale", family, "2026-12-07", None, {"factor": factor}, {"image": source})
        return provider.generate(request, lambda fraction, message: None)

    twice, photo, anime = (
        upscale("realesrgan/x4plus", 2),
        upscale("realesrgan/x4plus", 4),
        upscale("realesrgan/x4plus-anime", 4),
    )
    assert _size(twice.data) == (72, 40) and _size(photo.data) == (144, 80) == _size(anime.data)
    assert photo.data != anime.data


def test_a_cancel_is_noticed_between_bands_and_progress_rises():
    provider, source = RealEsrganProvider(), _png(24, BAND_ROWS * 3)
    handle, seen = StepHandle("test"), []

    def progress(fraction: float, message: str) -> None:
        seen.append(fraction)
        if len(seen) == 2:
            handle.mark_cancelled("cancelled")

    request = StepRequest(
        "upscale", "realesrgan/x4plus", "2026-12-07", None, {"factor": 4}, {"image": source}, handle=handle
    )
    with pytest.raises(StepCancelled):
        provider.generate(request, progress)
    assert seen == sorted(seen) and len(seen) == 2 and 0 < seen[0] < seen[1] < 1
