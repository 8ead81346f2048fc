"""What C2PA signing adds to a run (DESIGN §13, issue 14).

A run of a built-in workflow at 1024×1024, end to end in this process as a worker runs it: start,
every step executed, finalised, its record written — with and without signing the record's outputs
afterwards (runs_app.services.sign_record, what the worker's signing task does). Runs with and
without signing alternate, so drift in the machine's speed falls on both. Two workflows, from the
starting templates: text to image (one generate step), and image to image (a 1024×1024 reference
image, which the signed manifest carries as an ingredient).

    .venv/bin/python bench/signing.py [--runs 6]
Target: signing adds at most 10 % to a run.
"""

from __future__ import annotations

import argparse
import io
import statistics
import time
from pathlib import Path
from typing import Any

from _env import start_services, user


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=6, help="runs timed with signing, and as many without")
    args = parser.parse_args()
    start_services()

    import numpy as np
    from django.conf import settings
    from PIL import Image

    from runs_app import services
    from runs_app.execution import run_inline
    from runs_app.models import Run
    from runs_app.signing import make_development_credentials
    from templates_app import services as templates
    from templates_app.builder import starter_definition
    from templates_app.catalogue import Catalogue

    make_development_credentials(Path(settings.C2PA_DIR))
    operator, manager = user("operator"), user("manager")
    catalogue = Catalogue.load()

    def workflow(slug: str, starter: str, **params: Any) -> Any:
        wf = templates.create_workflow(actor=operator, slug=slug, name=slug, description="bench")
        definition = starter_definition(starter, catalogue)
        definition["steps"][0]["params"].update(params)
        draft = templates.save_draft(actor=operator, workflow=wf, definition=definition)
        templates.publish_draft(actor=manager, draft=draft)
        return wf

    text = workflow("bench-text", "text_to_image", width=1024, height=1024)
    image = workflow("bench-image", "image_to_image")
    noise = np.random.default_rng(7).integers(0, 256, (1024, 1024, 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(noise, "RGB").save(buf, "PNG")
    reference = services.upload_artifact(actor=operator, data=buf.getvalue())

    def one_run(wf: Any, inputs: dict[str, Any], sign: bool) -> tuple[float, float]:
        """(the whole run in seconds, of which signing)."""
        began = time.perf_counter()
        run = services.start_run(actor=operator, workflow=wf, inputs=inputs)
        run_inline(run.pk, worker="bench")
        services.finalize_run(actor=operator, run=Run(pk=run.pk), label="bench", annotation="signing cost")
        record = services.write_record(run_id=run.pk)
        assert record is not None
        signed_at = time.perf_counter()
        if sign:
            assert services.sign_record(record_id=record.pk) == len(record.outputs)
        ended = time.perf_counter()
        return ended - began, ended - signed_at

    cases = [
        ("text to image 1024×1024", text, {"subject": "a fox in autumn light"}),
        ("image to image 1024×1024 (a reference ingredient)", image, {"reference": reference.sha256, "style": "warm"}),
    ]
    print(f"{args.runs} runs each with and without signing, alternating; medians")
    for title, wf, inputs in cases:
        one_run(wf, inputs, sign=True)  # warm-up: imports, the generator's caches, the first signer
        plain: list[float] = []
        signed: list[float] = []
        signing_alone: list[float] = []
        for _ in range(args.runs):
            plain.append(one_run(wf, inputs, sign=False)[0])
            total, part = one_run(wf, inputs, sign=True)
            signed.append(total)
            signing_alone.append(part)
        base, with_signing = statistics.median(plain), statistics.median(signed)
        alone = statistics.median(signing_alone)
        print(f"\n{title}")
        print(f"  run without signing  {base * 1000:8.0f} ms")
        print(f"  run with signing     {with_signing * 1000:8.0f} ms   (ratio {with_signing / base:.3f})")
        print(f"  signing alone        {alone * 1000:8.0f} ms   = {alone / base:.1%} of a run (target ≤ 10 %)")


if __name__ == "__main__":
    main()
