"""Pages of evidence (DESIGN §14): an evaluation (candidate and canonical side by side with their
difference images, the definition diff and the bump class, live while it runs) and a contact sheet
(the base and its directions in one grid, live while it renders, and its PNG)."""

from __future__ import annotations

import json
import uuid
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from core.errors import DomainError, Problem, ValidationFailed
from core.ui import page, refuse, succeed, team_only
from runs_app import services
from runs_app.compare import NEAR_THRESHOLD
from runs_app.models import ContactSheet, Evaluation, VersionRecord
from runs_app.storage import read_artifact
from templates_app import services as templates
from templates_app.models import Workflow, WorkflowVersion


def _evaluation(request: HttpRequest, pk: uuid.UUID) -> Evaluation:
    return get_object_or_404(Evaluation.objects.visible_to(request.user).with_detail(), pk=pk)


class OutputPair:
    """One output of an evaluation as its page shows it."""

    def __init__(self, name: str, compared: dict[str, Any]) -> None:
        self.name = name
        difference = compared.get("difference") or {}
        self.baseline_url = f"/artifacts/{compared['baseline']}" if compared.get("baseline") else None
        self.candidate_url = f"/artifacts/{compared['candidate']}" if compared.get("candidate") else None
        self.difference_url = f"/artifacts/{difference['image']}" if difference.get("image") else None
        self.score = compared.get("score")
        self.identical = bool(difference.get("identical"))
        self.changed = difference.get("changed")
        self.largest = difference.get("largest")

    @property
    def score_shown(self) -> str:
        return "—" if self.score is None else f"{self.score:.4g}"

    @property
    def changed_shown(self) -> str:
        if self.changed is None:
            return "—"
        share = float(self.changed)
        return "none" if share == 0 else ("under 0.1 %" if share < 0.001 else f"{share * 100:.1f} %")


@require_GET
@team_only
def evaluation_page(request: HttpRequest, pk: uuid.UUID) -> HttpResponse:
    evaluation = _evaluation(request, pk)
    workflow = evaluation.workflow
    return page(
        request,
        "floniks/evaluation.html",
        {
            "evaluation": evaluation,
            "workflow": workflow,
            "outputs": [OutputPair(name, o) for name, o in evaluation.outputs.items()],
            # Promotable with it: finished, and still against today's canonical version.
            "current": evaluation.baseline_id == workflow.canonical_version_id,
            "near_threshold": NEAR_THRESHOLD,
        },
        fragment="floniks/_evaluation_live.html",
    )


@require_POST
@team_only
def evaluation_start(request: HttpRequest, slug: str, version: str) -> HttpResponse:
    workflow = get_object_or_404(Workflow.objects.visible_to(request.user), slug=slug)
    candidate = get_object_or_404(WorkflowVersion.objects.visible_to(request.user), workflow=workflow, version=version)
    back = reverse("workflow", args=[slug]) + "#versions"
    try:
        record = None
        if wanted := request.POST.get("record", "").strip():
            record = VersionRecord.objects.visible_to(request.user).filter(pk=_uuid(wanted, "record")).first()
            if record is None:
                raise ValidationFailed([Problem("invalid_record", "record", "No such record.")])
        evaluation = services.evaluate_version(actor=request.user, version=candidate, record=record)
    except DomainError as exc:
        return refuse(request, exc, back)
    return succeed(request, f"Evaluating {candidate.version} against the canonical version.", evaluation.url)


@require_POST
@team_only
def evaluation_promote(request: HttpRequest, pk: uuid.UUID) -> HttpResponse:
    evaluation = _evaluation(request, pk)
    try:
        templates.promote_version(
            actor=request.user,
            version=evaluation.candidate,
            evidence=evaluation,
            reason=request.POST.get("reason", "").strip(),
        )
    except DomainError as exc:
        return refuse(request, exc, evaluation.url)
    return succeed(
        request,
        f"{evaluation.candidate.version} is canonical now.",
        reverse("workflow", args=[evaluation.workflow.slug]) + "#versions",
    )


def _uuid(text: str, path: str) -> uuid.UUID:
    try:
        return uuid.UUID(text)
    except ValueError:
        raise ValidationFailed([Problem("invalid", path, "Not a valid id.")]) from None


# --- contact sheets ----------------------------------------------------------------------------------


@require_POST
@team_only
def sheet_start(request: HttpRequest, slug: str) -> HttpResponse:
    base = get_object_or_404(Workflow.objects.visible_to(request.user), slug=slug)
    back = reverse("workflow", args=[slug]) + "#directions"
    try:
        inputs = _json_object(request.POST.get("inputs", "") or "{}")
        seed_text = request.POST.get("seed", "").strip()
        seed = int(seed_text) if seed_text.lstrip("-").isdigit() else None
        if seed_text and seed is None:
            raise ValidationFailed([Problem("invalid_seed", "seed", "The seed must be a whole number.")])
        sheet = services.make_contact_sheet(
            actor=request.user,
            base=base,
            inputs=inputs,
            seed=seed,
            include_archived=request.POST.get("include_archived") == "on",
        )
    except DomainError as exc:
        return refuse(request, exc, back)
    return succeed(request, "Rendering the contact sheet.", sheet.url)


def _json_object(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError as exc:
        raise ValidationFailed([Problem("invalid_json", "inputs", f"The inputs are not JSON: {exc}")]) from None


def _sheet(request: HttpRequest, pk: uuid.UUID) -> ContactSheet:
    return get_object_or_404(ContactSheet.objects.visible_to(request.user).with_detail(), pk=pk)


@require_GET
@team_only
def sheet_page(request: HttpRequest, pk: uuid.UUID) -> HttpResponse:
    sheet = _sheet(request, pk)
    return page(
        request,
        "floniks/contact_sheet.html",
        {"sheet": sheet, "cells": list(sheet.cells.all())},
        fragment="floniks/_contact_sheet_live.html",
    )


@require_GET
@team_only
def sheet_image(request: HttpRequest, pk: uuid.UUID) -> HttpResponse:
    sheet = get_object_or_404(ContactSheet.objects.visible_to(request.user).select_related("image", "base"), pk=pk)
    if sheet.image is None:
        raise Http404("The sheet is still rendering.")
    response = HttpResponse(read_artifact(sheet.image), content_type="image/png")
    response["Content-Disposition"] = f'attachment; filename="contact-sheet-{sheet.base.slug}.png"'
    return response
