"""Every state change of templates, drafts, versions, directions and the model
catalogue. Views, serializers, admin actions and commands call these and
nothing else; each takes the acting user and checks the role itself."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from core.errors import Conflict, Problem, ValidationFailed
from core.roles import Role, require_role, role_of
from core.types import Actor
from templates_app import comfyui, comfyui_import, guards, limits
from templates_app.bump import classify_bump
from templates_app.catalogue import Catalogue
from templates_app.definition import contract_of
from templates_app.evidence import Evidence
from templates_app.gate import GateResult, check_definition, contract_problems, leads_to
from templates_app.manifest import canonical_bytes, manifest_of
from templates_app.models import (
    BUMP_ORDER,
    VERSION_MESSAGE_MAX,
    Bump,
    Channel,
    Draft,
    Lifecycle,
    ModelFamily,
    ModelSnapshot,
    Pointer,
    PointerMove,
    SnapshotStatus,
    Visibility,
    Workflow,
    WorkflowVersion,
)

if TYPE_CHECKING:
    from django.contrib.auth.models import User

MAX_DEFINITION_BYTES = 256 * 1024


# --- helpers ------------------------------------------------------------------


def _problems_from(exc: ValidationError) -> list[Problem]:
    if hasattr(exc, "error_dict"):
        return [
            Problem("invalid" if e.code is None else str(e.code), name if name != "__all__" else "", str(m))
            for name, errors in exc.error_dict.items()
            for e in errors
            for m in e.messages
        ]
    return [Problem("invalid", "", m) for m in exc.messages]


def _full_clean(obj: Any, **kwargs: Any) -> None:
    try:
        obj.full_clean(**kwargs)
    except ValidationError as exc:
        raise ValidationFailed(_problems_from(exc)) from None


def _locked(workflow: Workflow) -> Workflow:
    """Re-read a workflow under a row lock, so concurrent changes to it queue up."""
    return Workflow.objects.select_for_update().get(pk=workflow.pk)


def _check_definition_document(definition: Any) -> None:
    if not isinstance(definition, dict):
        raise ValidationFailed(
            [Problem("invalid_definition", "definition", "A draft definition must be a JSON object.")]
        )
    if shape := limits.shape_problems(definition, path="definition"):  # issue 11: depth cap, no NUL
        raise ValidationFailed(shape)
    size = len(canonical_bytes(definition))
    if size > MAX_DEFINITION_BYTES:
        raise ValidationFailed(
            [
                Problem(
                    "definition_too_large",
                    "definition",
                    f"The definition is {size} bytes; the limit is {MAX_DEFINITION_BYTES}.",
                )
            ]
        )


# --- workflows ------------------------------------------------------------------


def create_workflow(*, actor: Actor, slug: str, name: str, description: str = "") -> Workflow:
    actor = require_role(actor, Role.OPERATOR, action="create workflows")
    return _insert_workflow(Workflow(slug=slug, name=name, description=description, created_by=actor))


def create_workflow_with_draft(
    *, actor: Actor, slug: str, name: str, description: str = "", definition: dict[str, Any]
) -> tuple[Workflow, Draft]:
    """A new workflow and its first draft, seeded from a starting template, together or not at all."""
    actor = require_role(actor, Role.OPERATOR, action="create workflows")
    _check_definition_document(definition)
    with transaction.atomic():
        workflow = create_workflow(actor=actor, slug=slug, name=name, description=description)
        draft = Draft.objects.create(workflow=workflow, definition=definition, based_on=None, author=actor)
    return workflow, draft


def _insert_workflow(workflow: Workflow) -> Workflow:
    """Insert a workflow with its lineage in one row: lineage columns are frozen afterwards."""
    slug = workflow.slug
    _full_clean(workflow, exclude=["canonical_version"], validate_unique=False)
    if Workflow.objects.filter(slug=slug).exists():
        raise ValidationFailed([Problem("slug_taken", "slug", f"The slug '{slug}' is already taken.")])
    try:
        with transaction.atomic():
            workflow.save()
    except IntegrityError:
        raise ValidationFailed([Problem("slug_taken", "slug", f"The slug '{slug}' is already taken.")]) from None
    return workflow


def update_workflow(
    *, actor: Actor, workflow: Workflow, name: str | None = None, description: str | None = None
) -> Workflow:
    actor = require_role(actor, Role.OPERATOR, action="edit workflows")
    if name is not None:
        workflow.name = name
    if description is not None:
        workflow.description = description
    _full_clean(workflow, exclude=["slug", "canonical_version", "derived_from", "derived_from_version"])
    workflow.save(update_fields=["name", "description", "updated_at"])
    return workflow


# --- drafts -----------------------------------------------------------------------


def save_draft(*, actor: Actor, workflow: Workflow, definition: Any, based_on: WorkflowVersion | None = None) -> Draft:
    """A new draft; any JSON object is accepted, complete or not."""
    actor = require_role(actor, Role.OPERATOR, action="create drafts")
    _check_definition_document(definition)
    if based_on is None:
        based_on = Workflow.objects.select_related("canonical_version").get(pk=workflow.pk).canonical_version
    elif based_on.workflow_id != workflow.pk and based_on != workflow.derived_from_version:
        raise ValidationFailed([Problem("invalid_version", "based_on", "based_on must be a version of this workflow.")])
    return Draft.objects.create(workflow=workflow, definition=definition, based_on=based_on, author=actor)


@dataclass(frozen=True)
class ImportedDraft:
    draft: Draft
    notes: list[str]  # what the import proposed, a line each ("CLIPTextEncode (node 6) text → text input 'prompt'")


def import_comfyui_draft(
    *, actor: Actor, workflow: Workflow, data: bytes | None = None, graph: Any = None
) -> ImportedDraft:
    """A new draft with one `comfyui` step from a ComfyUI graph: an uploaded file (`data`: a PNG that
    ComfyUI saved, or an API-format JSON export) or a graph already parsed from a JSON body.

    Text prompts become string inputs, image loaders image inputs, sampler and noise seeds `$seed`;
    the model is the catalogue's first ComfyUI pool. Anything that holds no API-format graph is a 400
    and nothing is written."""
    actor = require_role(actor, Role.OPERATOR, action="create drafts")
    if data is not None:
        found = comfyui_import.graph_from_upload(data)
    elif graph is not None:
        found = (
            comfyui_import.graph_from_json_text(graph, path="graph")
            if isinstance(graph, str)
            else comfyui_import.api_graph(graph)
        )
    else:
        raise ValidationFailed(
            [Problem("file_required", "file", "Send a ComfyUI graph: a file (PNG or JSON) or a JSON body {graph}.")]
        )
    proposal = comfyui_import.propose_definition(found, model=_comfyui_model(Catalogue.load()))
    draft = save_draft(actor=actor, workflow=workflow, definition=proposal.definition)
    return ImportedDraft(draft, proposal.notes)


def _comfyui_model(catalogue: Catalogue) -> str:
    """The family an imported graph runs on: the first ComfyUI pool in the catalogue (the editor can
    change it). With none configured the draft names `comfyui/default`, which the gate reports."""
    pools = sorted(name for name, info in catalogue.families.items() if info.provider == "comfyui")
    return pools[0] if pools else "comfyui/default"


def update_draft(*, actor: Actor, draft: Draft, definition: Any) -> Draft:
    actor = require_role(actor, Role.OPERATOR, action="edit drafts")
    _check_definition_document(definition)
    with transaction.atomic():
        draft = Draft.objects.select_for_update().get(pk=draft.pk)
        _refuse_closed(draft)
        draft.definition = definition
        draft.save(update_fields=["definition", "updated_at"])
    return draft


def discard_draft(*, actor: Actor, draft: Draft) -> Draft:
    """Hide a draft. It stays in the database: nothing is ever lost."""
    actor = require_role(actor, Role.OPERATOR, action="discard drafts")
    with transaction.atomic():
        draft = Draft.objects.select_for_update().get(pk=draft.pk)
        _refuse_closed(draft)
        draft.discarded_at = timezone.now()
        draft.save(update_fields=["discarded_at", "updated_at"])
    return draft


def _refuse_closed(draft: Draft) -> None:
    if draft.published_version_id is not None:
        raise Conflict("This draft was already published; start a new draft from the version.", code="draft_published")
    if draft.discarded_at is not None:
        raise Conflict("This draft was discarded.", code="draft_discarded")


@dataclass
class Validation:
    problems: list[Problem]
    bump: Bump | None = None
    bump_reasons: list[str] = field(default_factory=list)
    manifest_hash: str | None = None
    warnings: list[Problem] = field(default_factory=list)  # e.g. an unseeded model: reproduction at best near

    @property
    def valid(self) -> bool:
        return not self.problems


def validate_draft(*, draft: Draft, catalogue: Catalogue | None = None) -> Validation:
    """The publish gate, without publishing: every problem, the bump class and the manifest hash."""
    return _gate(draft.workflow, draft.definition, catalogue or Catalogue.load())


def _gate(workflow: Workflow, definition: Any, catalogue: Catalogue) -> Validation:
    """The gate's verdict, with its warnings (which never refuse) whatever the verdict."""
    result = check_definition(definition, workflow=workflow, catalogue=catalogue)
    validation = _verdict(workflow, definition, catalogue, result)
    validation.warnings = result.warnings
    return validation


def _verdict(workflow: Workflow, definition: Any, catalogue: Catalogue, result: GateResult) -> Validation:
    if not result.valid:
        return Validation(result.problems, warnings=result.warnings)
    canonical = workflow.canonical_version
    _text, manifest_hash = manifest_of(definition)
    if canonical is not None:
        problems = contract_problems(contract_of(canonical.definition), contract_of(definition))
        if problems:
            return Validation(problems, manifest_hash=manifest_hash)
        if canonical.manifest_hash == manifest_hash:
            return Validation(
                [
                    Problem(
                        "nothing_changed",
                        "",
                        f"Nothing changed: this is identical to the canonical version {canonical.version}.",
                    )
                ],
                manifest_hash=manifest_hash,
            )
    bump = classify_bump(canonical.definition if canonical else None, definition, catalogue)
    return Validation([], bump.bump, bump.reasons, manifest_hash, result.warnings)


def _next_version_string(workflow: Workflow, today: dt.date) -> str:
    base = today.strftime("%Y.%m.%d")
    taken = set(
        WorkflowVersion.objects.filter(workflow=workflow, version__startswith=base).values_list("version", flat=True)
    )
    if base not in taken:
        return base
    n = 2
    while f"{base}.{n}" in taken:
        n += 1
    return f"{base}.{n}"


def publish_draft(
    *,
    actor: Actor,
    draft: Draft,
    visibility: str = Visibility.INTERNAL,
    channel: str = Channel.STANDARD,
    bump: str | None = None,
    message: str = "",
) -> WorkflowVersion:
    """Validate a draft and mint an immutable version from it, with the publisher's short message
    (why it was published), which is frozen with the version."""
    message = _publish_message(message)
    if visibility not in Visibility.values:
        raise ValidationFailed([Problem("invalid_choice", "visibility", "visibility must be internal or public.")])
    if channel not in Channel.values:
        raise ValidationFailed(
            [Problem("invalid_choice", "channel", f"channel must be one of {', '.join(Channel.values)}.")]
        )
    if bump is not None and bump not in (Bump.PATCH, Bump.MINOR, Bump.MAJOR):
        raise ValidationFailed([Problem("invalid_choice", "bump", "bump must be patch, minor or major.")])
    actor = require_role(
        actor,
        Role.MANAGER if visibility == Visibility.PUBLIC else Role.OPERATOR,
        action=f"publish {visibility} versions",
    )
    if channel == Channel.SHADOW and visibility == Visibility.PUBLIC:
        raise ValidationFailed([Problem("shadow_not_public", "visibility", "Shadow versions are never public.")])
    catalogue = Catalogue.load()
    with transaction.atomic():
        # The workflow row lock serialises publishes, so version strings never collide.
        workflow = _locked(draft.workflow)
        draft = Draft.objects.select_for_update().get(pk=draft.pk)
        _refuse_closed(draft)
        workflow.refuse_if_archived("publish")
        outcome = _gate(workflow, draft.definition, catalogue)
        if not outcome.valid:
            raise ValidationFailed(outcome.problems)
        if visibility == Visibility.PUBLIC:  # issue 11: public versions run only public sub-workflow versions
            guards.check_public_subworkflows(draft.definition)
        assert outcome.bump is not None
        final_bump = outcome.bump
        if bump is not None and outcome.bump != Bump.INITIAL:
            if BUMP_ORDER[Bump(bump)] < BUMP_ORDER[outcome.bump]:
                raise ValidationFailed(
                    [
                        Problem(
                            "bump_too_low",
                            "bump",
                            f"This change is at least {outcome.bump}: {'; '.join(outcome.bump_reasons)}.",
                        )
                    ]
                )
            final_bump = Bump(bump)
        manifest, manifest_hash = manifest_of(draft.definition)
        now = timezone.now()
        last = workflow.versions.order_by("-sequence").values_list("sequence", flat=True).first() or 0
        version = WorkflowVersion.objects.create(
            workflow=workflow,
            version=_next_version_string(workflow, now.astimezone(dt.UTC).date()),
            sequence=last + 1,
            definition=draft.definition,
            manifest=manifest,
            manifest_hash=manifest_hash,
            visibility=visibility,
            channel=channel,
            bump=final_bump,
            message=message,
            published_by=actor,
            published_at=now,
        )
        draft.published_version = version
        draft.save(update_fields=["published_version", "updated_at"])
        PointerMove.objects.log(
            Pointer.VISIBILITY,
            actor=actor,
            workflow=workflow,
            version=version,
            after=visibility,
            reason=f"published {version.version}",
        )
        if workflow.canonical_version_id is None and channel != Channel.SHADOW:
            _move_canonical(workflow, version, actor=actor, reason="first published version")
    return version


def _publish_message(message: str | None) -> str:
    """Surrounding blanks dropped; refused when longer than the column rather than silently cut."""
    text = (message or "").strip()
    if len(text) > VERSION_MESSAGE_MAX:
        raise ValidationFailed(
            [
                Problem(
                    "message_too_long",
                    "message",
                    f"The message is {len(text)} characters long; keep it to {VERSION_MESSAGE_MAX} or fewer.",
                )
            ]
        )
    return text


@dataclass(frozen=True)
class PortableVersion:
    """A published version as a bundle carries it (runs_app.bundles): its manifest bytes are the
    definition exactly as hashed, checked against `manifest_hash` before this is built."""

    workflow: str
    name: str
    description: str
    version: str
    manifest: str
    manifest_hash: str
    channel: str
    bump: str
    message: str
    published_at: dt.datetime


def import_version(*, actor: Actor, portable: PortableVersion, reason: str) -> WorkflowVersion:
    """The version a bundle names, on this instance: the one already here when its version string
    and manifest hash both match, else a new immutable version with that string and those manifest
    bytes (so its hash is the same), in its workflow — created first when missing.

    Imported versions are internal whatever they were (raising visibility is a manager's decision
    here), keep their channel, bump and message, and are not put through the publish gate again:
    they passed it where they were made, and the manifest hash is the proof. A version string
    that is taken here by another manifest is a conflict (409 `version_conflict`). A new workflow's
    first imported version becomes canonical, logged with `reason`. Call inside a transaction."""
    actor = require_role(actor, Role.ADMIN, action="import bundles")
    definition = _imported_definition(portable)
    workflow = Workflow.objects.filter(slug=portable.workflow).first()
    if workflow is None:
        workflow = _insert_workflow(
            Workflow(slug=portable.workflow, name=portable.name, description=portable.description, created_by=actor)
        )
    workflow = _locked(workflow)  # version strings and sequences of concurrent imports queue here
    existing = WorkflowVersion.objects.filter(workflow=workflow, version=portable.version).first()
    if existing is not None:
        if existing.manifest_hash != portable.manifest_hash:
            raise Conflict(
                f"'{workflow.slug}' already has a version {portable.version} with another manifest "
                f"({existing.manifest_hash}); the bundle's is {portable.manifest_hash}.",
                code="version_conflict",
            )
        return existing
    last = workflow.versions.order_by("-sequence").values_list("sequence", flat=True).first() or 0
    version = WorkflowVersion(
        workflow=workflow,
        version=portable.version,
        sequence=last + 1,
        definition=definition,
        manifest=portable.manifest,
        manifest_hash=portable.manifest_hash,
        visibility=Visibility.INTERNAL,
        channel=portable.channel,
        bump=portable.bump,
        message=portable.message[:VERSION_MESSAGE_MAX],
        published_by=actor,
        published_at=portable.published_at,
    )
    _full_clean(version, exclude=["workflow", "published_by"], validate_unique=False)
    version.save(force_insert=True)
    PointerMove.objects.log(
        Pointer.VISIBILITY, actor=actor, workflow=workflow, version=version, after=Visibility.INTERNAL, reason=reason
    )
    if workflow.canonical_version_id is None and version.channel != Channel.SHADOW:
        _move_canonical(workflow, version, actor=actor, reason=reason)
    return version


def _imported_definition(portable: PortableVersion) -> dict[str, Any]:
    """The definition of a portable version, refused unless its manifest is exactly its canonical form."""
    path = f"versions.{portable.workflow}@{portable.version}"
    try:
        definition = json.loads(portable.manifest)
    except ValueError:
        raise ValidationFailed([Problem("invalid_manifest", path, "The manifest is not JSON.")]) from None
    _check_definition_document(definition)
    if manifest_of(definition) != (portable.manifest, portable.manifest_hash):
        raise ValidationFailed(
            [Problem("invalid_manifest", path, "The manifest is not the canonical form of its definition.")]
        )
    return definition


# --- pointers on versions ------------------------------------------------------------


def _move_canonical(
    workflow: Workflow,
    version: WorkflowVersion,
    *,
    actor: User,
    reason: str,
    evidence: Any = None,
    evidence_waived: bool = False,
) -> None:
    before = workflow.canonical_version.version if workflow.canonical_version else ""
    workflow.canonical_version = version
    workflow.save(update_fields=["canonical_version", "updated_at"])
    PointerMove.objects.log(
        Pointer.CANONICAL,
        actor=actor,
        workflow=workflow,
        version=version,
        before=before,
        after=version.version,
        reason=reason,
        evidence=evidence,
        evidence_waived=evidence_waived,
    )


def promote_version(
    *, actor: Actor, version: WorkflowVersion, reason: str = "", evidence: Evidence | None = None
) -> WorkflowVersion:
    """Move the canonical pointer to this version. The version itself never changes.

    Evidence first (DESIGN §14): once a workflow has a canonical version, moving the pointer names a
    finished evaluation of this very version against today's canonical one (`evidence`, looked up by
    the caller: evaluations live in runs_app); an admin may instead give a reason, which is kept as
    the waiver. Otherwise 409 `evidence_required`."""
    actor = require_role(actor, Role.MANAGER, action="move the canonical pointer")
    reason = (reason or "").strip()
    with transaction.atomic():
        workflow = _locked(version.workflow)
        workflow.refuse_if_archived("move its canonical pointer")
        version = WorkflowVersion.objects.get(pk=version.pk)
        if workflow.canonical_version_id == version.pk:
            raise Conflict(f"{version.version} is already canonical.", code="already_canonical")
        if leads_to(version, {workflow.slug}):
            raise Conflict(
                f"{version.version} runs a sub-workflow whose canonical version leads back to '{workflow.slug}'.",
                code="subworkflow_cycle",
            )
        if version.channel == Channel.SHADOW:
            raise Conflict(
                "A shadow version is never offered by default; move it to another channel first.",
                code="shadow_not_promotable",
            )
        waived = _check_evidence(workflow, version, actor=actor, evidence=evidence, reason=reason)
        if version.channel == Channel.ALTERNATE:
            _move_version_pointer(
                version, Pointer.CHANNEL, Channel.STANDARD, actor=actor, reason="promoted to canonical"
            )
        _move_canonical(
            workflow,
            version,
            actor=actor,
            reason=reason or ("promoted with evidence" if evidence is not None else "first canonical version"),
            evidence=evidence.pk if evidence is not None and not waived else None,
            evidence_waived=waived,
        )
    return version


def _check_evidence(
    workflow: Workflow, version: WorkflowVersion, *, actor: User, evidence: Evidence | None, reason: str
) -> bool:
    """Pass, or raise 409 `evidence_required`; True when an admin waives the evidence with a reason."""
    canonical_id = workflow.canonical_version_id
    if canonical_id is None:
        return False  # the first canonical version: there is nothing to compare it with
    if evidence is not None:
        if evidence.candidate_id != version.pk:
            raise Conflict("That evaluation is of another version.", code="evidence_required")
        if evidence.baseline_id != canonical_id:
            raise Conflict(
                "That evaluation compared against an earlier canonical version; evaluate again against today's.",
                code="evidence_required",
            )
        if not evidence.is_done:
            raise Conflict("That evaluation has not finished.", code="evidence_required")
        return False
    if role_of(actor) >= Role.ADMIN and reason:
        return True
    raise Conflict(
        f"Evaluate {version.version} against the canonical version first, and promote with that evaluation"
        + (" (or, as an admin, give a reason to promote without evidence)." if role_of(actor) >= Role.ADMIN else "."),
        code="evidence_required",
    )


def raise_visibility(*, actor: Actor, version: WorkflowVersion, visibility: str, reason: str = "") -> WorkflowVersion:
    actor = require_role(actor, Role.MANAGER, action="change a version's visibility")
    if visibility not in Visibility.values:
        raise ValidationFailed([Problem("invalid_choice", "visibility", "visibility must be internal or public.")])
    with transaction.atomic():
        version = WorkflowVersion.objects.select_for_update().get(pk=version.pk)
        if version.visibility == visibility:
            raise Conflict(f"{version.version} is already {visibility}.", code=f"already_{visibility}")
        if visibility == Visibility.INTERNAL:
            raise Conflict("Visibility only rises: a public version stays public.", code="visibility_lowering")
        if version.channel == Channel.SHADOW:
            raise Conflict("Shadow versions are never public.", code="shadow_not_public")
        version.workflow.refuse_if_archived("make its versions public")
        guards.refuse_internal_subworkflows(version)  # issue 11: nothing internal behind a public version
        _move_version_pointer(version, Pointer.VISIBILITY, visibility, actor=actor, reason=reason)
    return version


def set_channel(*, actor: Actor, version: WorkflowVersion, channel: str, reason: str = "") -> WorkflowVersion:
    actor = require_role(actor, Role.MANAGER, action="change a version's channel")
    if channel not in Channel.values:
        raise ValidationFailed(
            [Problem("invalid_choice", "channel", f"channel must be one of {', '.join(Channel.values)}.")]
        )
    with transaction.atomic():
        workflow = _locked(version.workflow)
        workflow.refuse_if_archived("change its channels")
        version = WorkflowVersion.objects.select_for_update().get(pk=version.pk)
        if version.channel == channel:
            raise Conflict(f"{version.version} is already on the {channel} channel.", code="already_on_channel")
        if channel == Channel.SHADOW and workflow.canonical_version_id == version.pk:
            raise Conflict(
                "The canonical version cannot be a shadow; promote another version first.", code="canonical_not_shadow"
            )
        if channel == Channel.SHADOW and version.visibility == Visibility.PUBLIC:
            raise Conflict("A public version cannot become a shadow.", code="shadow_not_public")
        _move_version_pointer(version, Pointer.CHANNEL, channel, actor=actor, reason=reason)
    return version


def _move_version_pointer(version: WorkflowVersion, pointer: Pointer, value: str, *, actor: User, reason: str) -> None:
    """Move a version's visibility or channel (the column the pointer names) and log the move."""
    field = str(pointer.value)
    before = getattr(version, field)
    setattr(version, field, value)
    version.save(update_fields=[field])
    PointerMove.objects.log(
        pointer, actor=actor, workflow=version.workflow, version=version, before=before, after=value, reason=reason
    )


# --- directions -------------------------------------------------------------------------


def derive_direction(
    *, actor: Actor, base: Workflow, slug: str, name: str, direction_label: str, version: WorkflowVersion | None = None
) -> Workflow:
    """A new workflow branching from a version of `base`, starting with a draft copied from it."""
    actor = require_role(actor, Role.OPERATOR, action="derive directions")
    base = Workflow.objects.select_related("canonical_version").get(pk=base.pk)  # the canonical pointer as it is now
    version = version or base.canonical_version
    if version is None:
        raise Conflict(f"'{base.slug}' has no published version to derive from.", code="no_published_version")
    if version.workflow_id != base.pk:
        raise ValidationFailed([Problem("invalid_version", "version", "The version must belong to the base workflow.")])
    if not direction_label.strip():
        raise ValidationFailed([Problem("required", "direction_label", "Name the direction, e.g. WarmEarthy.")])
    if Workflow.objects.filter(derived_from=base, direction_label__iexact=direction_label.strip()).exists():
        raise ValidationFailed(
            [
                Problem(
                    "label_taken",
                    "direction_label",
                    f"'{base.slug}' already has a direction called {direction_label.strip()}.",
                )
            ]
        )
    with transaction.atomic():
        workflow = _insert_workflow(
            Workflow(
                slug=slug,
                name=name,
                description=base.description,
                created_by=actor,
                derived_from=base,
                derived_from_version=version,
                direction_label=direction_label.strip(),
            )
        )
        Draft.objects.create(workflow=workflow, definition=version.definition, based_on=version, author=actor)
    return workflow


def spawn_sibling(*, actor: Actor, draft: Draft, slug: str, name: str) -> Workflow:
    """A contract change is a new job: a new workflow starting from this draft's definition."""
    actor = require_role(actor, Role.OPERATOR, action="spawn sibling workflows")
    draft = Draft.objects.select_related("workflow").get(pk=draft.pk)
    source = draft.workflow
    with transaction.atomic():
        workflow = _insert_workflow(
            Workflow(slug=slug, name=name, description=source.description, created_by=actor, spawned_from=source)
        )
        Draft.objects.create(workflow=workflow, definition=draft.definition, author=actor)
    return workflow


def approve_direction(*, actor: Actor, workflow: Workflow, reason: str = "") -> list[Workflow]:
    """Make a direction the production one and archive its siblings in the same transaction."""
    actor = require_role(actor, Role.MANAGER, action="approve directions")
    if workflow.derived_from_id is None:
        raise Conflict(f"'{workflow.slug}' is not a direction of another workflow.", code="not_a_direction")
    with transaction.atomic():
        # Lock the whole family in id order so two approvals cannot interleave.
        family = list(
            Workflow.objects.select_for_update().filter(derived_from_id=workflow.derived_from_id).order_by("pk")
        )
        chosen = next(w for w in family if w.pk == workflow.pk)
        chosen.refuse_if_archived("approve it")
        guards.refuse_unpublished_direction(chosen)  # issue 11: 409 no_published_version
        if chosen.lifecycle == Lifecycle.PRODUCTION:
            raise Conflict(f"'{chosen.slug}' is already the approved direction.", code="already_approved")
        now = timezone.now()
        _set_lifecycle(chosen, Lifecycle.PRODUCTION, actor=actor, reason=reason or "direction approved")
        chosen.approved_by, chosen.approved_at = actor, now
        chosen.save(update_fields=["approved_by", "approved_at"])
        archived = []
        for sibling in family:
            if sibling.pk != chosen.pk and sibling.lifecycle != Lifecycle.ARCHIVED:
                _set_lifecycle(
                    sibling, Lifecycle.ARCHIVED, actor=actor, reason=f"sibling direction '{chosen.slug}' approved"
                )
                archived.append(sibling)
    workflow.refresh_from_db()
    return archived


def archive_workflow(*, actor: Actor, workflow: Workflow, reason: str = "") -> Workflow:
    actor = require_role(actor, Role.ADMIN, action="archive workflows")
    reason = guards.require_reason(reason, action="archive it")  # issue 11: 400 reason_required
    with transaction.atomic():
        workflow = _locked(workflow)
        if workflow.lifecycle == Lifecycle.ARCHIVED:
            raise Conflict(f"'{workflow.slug}' is already archived.", code="already_archived")
        _set_lifecycle(workflow, Lifecycle.ARCHIVED, actor=actor, reason=reason)
    return workflow


def resurrect_workflow(*, actor: Actor, workflow: Workflow, reason: str = "") -> Workflow:
    actor = require_role(actor, Role.ADMIN, action="resurrect workflows")
    reason = guards.require_reason(reason, action="resurrect it")  # issue 11: 400 reason_required
    with transaction.atomic():
        workflow = _locked(workflow)
        if workflow.lifecycle != Lifecycle.ARCHIVED:
            raise Conflict(f"'{workflow.slug}' is not archived.", code="not_archived")
        _set_lifecycle(workflow, Lifecycle.EXPLORING, actor=actor, reason=reason)
    return workflow


def _set_lifecycle(workflow: Workflow, lifecycle: str, *, actor: User, reason: str) -> None:
    before, workflow.lifecycle = workflow.lifecycle, lifecycle
    workflow.save(update_fields=["lifecycle", "updated_at"])
    PointerMove.objects.log(
        Pointer.LIFECYCLE, actor=actor, workflow=workflow, before=before, after=lifecycle, reason=reason
    )


# --- model catalogue -------------------------------------------------------------------


def add_model_snapshot(
    *,
    actor: Actor,
    family: str,
    snapshot: str,
    tier: str | None = None,
    provider: str | None = None,
    make_default: bool = False,
    fingerprint: dict[str, Any] | None = None,
) -> ModelSnapshot:
    """A dated snapshot of a family (the family too, when new). `fingerprint` is what an external
    environment reported for it (runs_app.services.capture_environment); it is frozen with the row."""
    actor = require_role(actor, Role.ADMIN, action="manage the model catalogue")
    with transaction.atomic():
        fam = ModelFamily.objects.select_for_update().filter(name=family).first()
        if fam is None:
            if not tier:
                raise ValidationFailed([Problem("required", "tier", f"'{family}' is a new family: give its tier.")])
            fam = ModelFamily(name=family, tier=tier, provider=provider or "builtin")
            _full_clean(fam, exclude=["default_snapshot"])
            fam.save()
        elif tier and tier != fam.tier:
            raise ValidationFailed(
                [Problem("tier_mismatch", "tier", f"'{family}' is in tier {fam.tier}; a snapshot cannot change it.")]
            )
        if ModelSnapshot.objects.filter(family=fam, snapshot=snapshot).exists():
            raise Conflict(f"{family}@{snapshot} is already in the catalogue.", code="snapshot_exists")
        snap = ModelSnapshot(family=fam, snapshot=snapshot, fingerprint=fingerprint or {})
        _full_clean(snap)
        snap.save()
        if make_default or fam.default_snapshot_id is None:
            _move_default(fam, snap, actor=actor, reason="new snapshot")
    return snap


def fill_snapshot_fingerprint(*, actor: Actor, snapshot: ModelSnapshot, fingerprint: dict[str, Any]) -> ModelSnapshot:
    """Give a snapshot minted without a fingerprint (a ComfyUI pool's first, made when settings first
    named the pool: sync_comfyui_families) the one its first capture read, and make it the default.
    A fingerprint once held never changes (409 snapshot_exists; PostgreSQL refuses it too)."""
    actor = require_role(actor, Role.ADMIN, action="manage the model catalogue")
    with transaction.atomic():
        fam = ModelFamily.objects.select_for_update().get(pk=snapshot.family_id)
        snapshot = ModelSnapshot.objects.select_for_update().get(pk=snapshot.pk)
        if snapshot.fingerprint:
            raise Conflict(f"{snapshot.ref} was captured already; capture again another day.", code="snapshot_exists")
        snapshot.fingerprint = fingerprint
        snapshot.save(update_fields=["fingerprint"])
        transaction.on_commit(Catalogue.forget)
        if fam.default_snapshot_id != snapshot.pk:
            _move_default(fam, snapshot, actor=actor, reason="environment captured")
    return snapshot


def retire_model_snapshot(*, actor: Actor, snapshot: ModelSnapshot, reason: str = "") -> ModelSnapshot:
    actor = require_role(actor, Role.ADMIN, action="manage the model catalogue")
    with transaction.atomic():
        fam = ModelFamily.objects.select_for_update().get(pk=snapshot.family_id)
        snapshot = ModelSnapshot.objects.select_for_update().get(pk=snapshot.pk)
        if snapshot.status == SnapshotStatus.RETIRED:
            raise Conflict(f"{snapshot.ref} is already retired.", code="already_retired")
        snapshot.status = SnapshotStatus.RETIRED
        snapshot.save(update_fields=["status"])
        transaction.on_commit(Catalogue.forget)
        PointerMove.objects.log(
            Pointer.SNAPSHOT_STATUS,
            actor=actor,
            family=fam,
            before=f"{snapshot.snapshot} available",
            after=f"{snapshot.snapshot} retired",
            reason=reason,
        )
        if fam.default_snapshot_id == snapshot.pk:
            successor = fam.snapshots.filter(status=SnapshotStatus.AVAILABLE).order_by("-snapshot").first()
            _move_default(fam, successor, actor=actor, reason=f"{snapshot.snapshot} retired")
    return snapshot


def _move_default(fam: ModelFamily, snap: ModelSnapshot | None, *, actor: User, reason: str) -> None:
    transaction.on_commit(Catalogue.forget)
    before = fam.default_snapshot.snapshot if fam.default_snapshot else ""
    fam.default_snapshot = snap
    fam.save(update_fields=["default_snapshot"])
    PointerMove.objects.log(
        Pointer.DEFAULT_SNAPSHOT,
        actor=actor,
        family=fam,
        before=before,
        after=snap.snapshot if snap else "",
        reason=reason,
    )


def set_default_snapshot(*, actor: Actor, snapshot: ModelSnapshot, reason: str = "") -> ModelSnapshot:
    """Make an available snapshot its family's default: what floating steps resolve to from now on.
    Moving the default back to an older snapshot is the same call; every move is in the pointer
    history. Records keep their recorded snapshots (DESIGN §7), so reproducing them is unaffected."""
    actor = require_role(actor, Role.ADMIN, action="manage the model catalogue")
    with transaction.atomic():
        fam = ModelFamily.objects.select_for_update().get(pk=snapshot.family_id)
        snapshot = ModelSnapshot.objects.select_for_update().get(pk=snapshot.pk)
        if snapshot.status == SnapshotStatus.RETIRED:
            raise Conflict(
                f"{fam.name}@{snapshot.snapshot} is retired; restore it before making it the default.",
                code="snapshot_retired",
            )
        if fam.default_snapshot_id == snapshot.pk:
            raise Conflict(f"{fam.name}@{snapshot.snapshot} is already the default.", code="already_default")
        _move_default(fam, snapshot, actor=actor, reason=reason or "default changed")
    return snapshot


def restore_model_snapshot(*, actor: Actor, snapshot: ModelSnapshot, reason: str = "") -> ModelSnapshot:
    """Un-retire a snapshot: it can be pinned, run and reproduced with again. The default does not
    move back by itself (an admin moves it with set_default_snapshot), except for a family left
    with no default at all, which gets this one."""
    actor = require_role(actor, Role.ADMIN, action="manage the model catalogue")
    with transaction.atomic():
        fam = ModelFamily.objects.select_for_update().get(pk=snapshot.family_id)
        snapshot = ModelSnapshot.objects.select_for_update().get(pk=snapshot.pk)
        if snapshot.status != SnapshotStatus.RETIRED:
            raise Conflict(f"{fam.name}@{snapshot.snapshot} is not retired.", code="not_retired")
        snapshot.status = SnapshotStatus.AVAILABLE
        snapshot.save(update_fields=["status"])
        transaction.on_commit(Catalogue.forget)
        PointerMove.objects.log(
            Pointer.SNAPSHOT_STATUS,
            actor=actor,
            family=fam,
            before=f"{snapshot.snapshot} retired",
            after=f"{snapshot.snapshot} available",
            reason=reason or "restored",
        )
        if fam.default_snapshot_id is None:
            _move_default(fam, snapshot, actor=actor, reason=f"{snapshot.snapshot} restored")
    return snapshot


def sync_comfyui_families() -> list[ModelFamily]:
    """Every ComfyUI pool of settings as the family comfyui/<pool> (DESIGN §8), with a first snapshot
    dated today when it has none, so its steps can be published and run; the system's own change
    (after migrate, or by a test), not a user's. Families of pools no longer configured are left as
    they are: records name them. A pool's later snapshots are captured from its servers."""
    made = []
    today = timezone.localdate().isoformat()
    for pool in comfyui.pools():
        with transaction.atomic():
            family, created = ModelFamily.objects.get_or_create(
                name=comfyui.family_of(pool),
                defaults={
                    "tier": comfyui.TIER,
                    "provider": comfyui.PROVIDER,
                    "description": f"ComfyUI pool '{pool}' (self-hosted servers from FLONIKS_COMFYUI_POOLS).",
                },
            )
            if family.default_snapshot_id is None and not family.snapshots.exists():
                snapshot = ModelSnapshot.objects.create(family=family, snapshot=today)
                family.default_snapshot = snapshot
                family.save(update_fields=["default_snapshot"])
        if created:
            made.append(family)
    if made:
        Catalogue.forget()
    return made
