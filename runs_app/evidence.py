"""Settling evidence on a worker (DESIGN §14): an evaluation once both its runs finished (each output
compared, with its difference image and score, as reproduction checks compare theirs), and a contact
sheet once its last cell ended (one labelled PNG of every cell). Each settles once: a conditional
update from `running` is the claim, and a second worker's work is simply not kept."""

from __future__ import annotations

import io
import logging
import math
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Exists, OuterRef, Prefetch, Q, prefetch_related_objects
from django.utils import timezone
from PIL import Image, ImageDraw, ImageFont, ImageSequence

from runs_app.compare import pixels_identical, similarity
from runs_app.models import (
    Artifact,
    ContactSheet,
    ContactSheetCell,
    Evaluation,
    EvidenceStatus,
    Run,
    RunPurpose,
    RunStatus,
    RunStep,
    steps_in_order,
)
from runs_app.persistence import read_bytes
from runs_app.storage import store_file
from runs_app.verification import stored_difference

log = logging.getLogger(__name__)

ENDED = (RunStatus.FINALIZED, RunStatus.FAILED, RunStatus.CANCELLED)
BATCH = 20


def settle_for(run: Run) -> None:
    """What a run that just finished feeds: its evaluation or its contact sheet."""
    if run.purpose == RunPurpose.EVALUATION:
        found = Evaluation.objects.filter(Q(candidate_run=run) | Q(baseline_run=run)).values_list("pk", flat=True)
        for pk in found:
            settle_evaluation(pk)
    elif run.purpose == RunPurpose.CONTACT_SHEET:
        for pk in ContactSheetCell.objects.filter(run=run).values_list("sheet_id", flat=True):
            settle_sheet(pk)


# --- evaluations -------------------------------------------------------------------------------


def settle_evaluation(evaluation_id: Any) -> bool:
    """Compare the outputs once both runs are finalised; False while one still runs, or when settled."""
    evaluation = (
        Evaluation.objects.select_related("candidate_run", "baseline_run")
        .filter(pk=evaluation_id, status=EvidenceStatus.RUNNING)
        .first()
    )
    if evaluation is None:
        return False
    runs = (evaluation.candidate_run, evaluation.baseline_run)
    if any(r.status != RunStatus.FINALIZED for r in runs):
        if any(r.status in (RunStatus.FAILED, RunStatus.CANCELLED) for r in runs):
            _finish(evaluation, EvidenceStatus.FAILED, note="a run did not finish")
        return False
    outputs = compare_runs(evaluation.baseline_run, evaluation.candidate_run)
    return _finish(evaluation, EvidenceStatus.DONE, outputs=outputs)


def _finish(evaluation: Evaluation, status: str, *, note: str = "", outputs: dict[str, Any] | None = None) -> bool:
    changes: dict[str, Any] = {"status": status, "completed_at": timezone.now(), "note": note}
    if outputs is not None:
        changes["outputs"] = outputs
    return bool(Evaluation.objects.filter(pk=evaluation.pk, status=EvidenceStatus.RUNNING).update(**changes))


def compare_runs(baseline: Run, candidate: Run) -> dict[str, dict[str, Any]]:
    """Each named output of either run: both files, the similarity score (1 for identical pixels) and
    the difference image, made and stored as a reproduction check's are."""
    prefetch_related_objects([baseline, candidate], steps_in_order())
    before, after = baseline.outputs_by_name(), candidate.outputs_by_name()
    compared: dict[str, dict[str, Any]] = {}
    for name in [*before, *(n for n in after if n not in before)]:
        old, new = before.get(name), after.get(name)
        entry: dict[str, Any] = {
            "baseline": old.sha256 if old else None,
            "candidate": new.sha256 if new else None,
            "score": None,
            "difference": None,
        }
        if old is not None and new is not None:
            old_bytes, new_bytes = read_bytes(old), read_bytes(new)
            identical = old.sha256 == new.sha256 or pixels_identical(old_bytes, new_bytes)
            entry["score"] = 1.0 if identical else similarity(old_bytes, new_bytes)
            entry["difference"] = stored_difference(name, old_bytes, new_bytes, identical)
        compared[name] = entry
    return compared


# --- contact sheets ------------------------------------------------------------------------------

PAD = 16
LABEL_BAND = 50
MAX_CELL = 512
BACKGROUND = (245, 245, 242)
INK = (20, 20, 20)
MUTED = (110, 110, 110)
MISSING = (205, 205, 205)


@dataclass(frozen=True)
class Layout:
    """Where each cell's image goes on the sheet: columns, the cell size and each image's box."""

    width: int
    height: int
    boxes: list[tuple[int, int, int, int]]  # (left, top, right, bottom) of each image, pasted unscaled if it fits
    labels: list[tuple[int, int]]  # where each label is written
    cell_width: int  # a label longer than this is cut short


def fitted(size: tuple[int, int]) -> tuple[int, int]:
    """An output's size on the sheet: as it is, or shrunk to fit MAX_CELL keeping its proportions."""
    w, h = size
    scale = min(1.0, MAX_CELL / max(w, h, 1))
    return max(1, round(w * scale)), max(1, round(h * scale))


def sheet_layout(sizes: list[tuple[int, int] | None]) -> Layout:
    """A grid of at most four columns; every cell as large as the largest fitted image (a cell with no
    output gets that size too), its label in a band below it."""
    shown = [fitted(s) for s in sizes if s is not None] or [(256, 256)]
    cell_w, cell_h = max(w for w, _ in shown), max(h for _, h in shown)
    cols = max(1, min(4, len(sizes)))
    rows = max(1, math.ceil(len(sizes) / cols))
    boxes, labels = [], []
    for i, size in enumerate(sizes):
        col, row = i % cols, i // cols
        left = PAD + col * (cell_w + PAD)
        top = PAD + row * (cell_h + LABEL_BAND + PAD)
        w, h = fitted(size) if size is not None else (cell_w, cell_h)
        boxes.append((left, top, left + w, top + h))
        labels.append((left, top + cell_h + 6))
    width = PAD + cols * (cell_w + PAD)
    height = PAD + rows * (cell_h + LABEL_BAND + PAD)
    return Layout(width, height, boxes, labels, cell_w)


def _first_frame(data: bytes) -> Image.Image:
    with Image.open(io.BytesIO(data)) as img:
        return next(iter(ImageSequence.Iterator(img))).convert("RGB").copy()


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """Pillow's own font at a readable size (FreeType), else its small bitmap font."""
    try:
        return ImageFont.load_default(size=size)
    except (OSError, ImportError):  # Pillow built without FreeType
        return ImageFont.load_default()


def _fitted_text(draw: ImageDraw.ImageDraw, text: str, font: Any, width: int) -> str:
    """The text, cut short with an ellipsis so it stays within its cell."""
    if draw.textlength(text, font=font) <= width:
        return text
    while text and draw.textlength(text + "…", font=font) > width:
        text = text[:-1]
    return text + "…"


def compose_sheet(cells: list[tuple[str, str, bytes | None]]) -> tuple[bytes, Layout]:
    """One PNG: each (label, lifecycle, image bytes or None) in the grid, labels drawn under the images."""
    images = [_first_frame(data) if data is not None else None for _l, _c, data in cells]
    layout = sheet_layout([img.size if img is not None else None for img in images])
    sheet = Image.new("RGB", (layout.width, layout.height), BACKGROUND)
    draw = ImageDraw.Draw(sheet)
    font, small = _font(18), _font(14)
    for (label, lifecycle, _data), img, box, at in zip(cells, images, layout.boxes, layout.labels, strict=True):
        if img is None:
            draw.rectangle(box, fill=MISSING)
            draw.text((box[0] + 8, box[1] + 8), "no output", fill=INK, font=small)
        else:
            size = (box[2] - box[0], box[3] - box[1])
            sheet.paste(img if img.size == size else img.resize(size, Image.Resampling.LANCZOS), box[:2])
        draw.text(at, _fitted_text(draw, label, font, layout.cell_width), fill=INK, font=font)
        draw.text((at[0], at[1] + 22), lifecycle, fill=MUTED, font=small)
    buf = io.BytesIO()
    sheet.save(buf, "PNG", optimize=False)
    return buf.getvalue(), layout


def settle_sheet(sheet_id: Any) -> bool:
    """Compose the sheet once every cell's run has ended: `done` when each made its output, else
    `failed` with what there is. False while a cell still runs, or when settled already."""
    sheet = ContactSheet.objects.filter(pk=sheet_id, status=EvidenceStatus.RUNNING).first()
    if sheet is None:
        return False
    cells = list(
        ContactSheetCell.objects.filter(sheet=sheet)
        .select_related("run")
        .prefetch_related(Prefetch("run__steps", queryset=RunStep.objects.select_related("output").order_by("index")))
        .order_by("position")
    )
    if any(c.run.status not in ENDED for c in cells):
        return False
    parts: list[tuple[str, str, bytes | None]] = []
    failed = []
    for cell in cells:
        output = cell.output() if cell.run.status == RunStatus.FINALIZED else None
        if output is None:
            failed.append(cell.label)
        parts.append((cell.label, cell.lifecycle, read_bytes(output) if output is not None else None))
    png, layout = compose_sheet(parts)
    image = store_file(
        png,
        media_type="image/png",
        extension="png",
        width=layout.width,
        height=layout.height,
        kind=Artifact.Kind.SHEET,
    )
    status = EvidenceStatus.FAILED if failed else EvidenceStatus.DONE
    note = f"no output from {', '.join(failed)}" if failed else ""
    return bool(
        ContactSheet.objects.filter(pk=sheet.pk, status=EvidenceStatus.RUNNING).update(
            status=status, image=image, note=note, completed_at=timezone.now()
        )
    )


# --- the sweep ------------------------------------------------------------------------------------


def settle_lost() -> int:
    """Evidence whose runs all ended but that is still `running` (a worker died between ending the
    last run and settling): settle it now."""
    settled = 0
    live = Run.objects.exclude(status__in=ENDED)
    evaluations = (
        Evaluation.objects.filter(status=EvidenceStatus.RUNNING)
        .exclude(Exists(live.filter(pk=OuterRef("candidate_run"))))
        .exclude(Exists(live.filter(pk=OuterRef("baseline_run"))))
        .values_list("pk", flat=True)[:BATCH]
    )
    for pk in evaluations:
        settled += settle_evaluation(pk)
    sheets = (
        ContactSheet.objects.filter(status=EvidenceStatus.RUNNING)
        .annotate(live=Count("cells", filter=~Q(cells__run__status__in=ENDED)))
        .filter(live=0)
        .values_list("pk", flat=True)[:BATCH]
    )
    for pk in sheets:
        settled += settle_sheet(pk)
    return settled
