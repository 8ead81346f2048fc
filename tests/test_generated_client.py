"""The generated Python client (clients/python/floniks_client) is current, and every operation of the
API's schema works through it.

The client talks to the application in this process (an httpx transport over Django's test client),
so the test's database transaction is the one the API sees. Each call is recorded; the last test
fails on any schema operation that no scenario called, so a new endpoint needs a client call here.
"""

from __future__ import annotations

import importlib.util
import io
import json
import re
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import pytest
from django.contrib.auth.models import User
from django.test import Client as DjangoClient
from drf_spectacular.generators import SchemaGenerator
from floniks_client import AuthenticatedClient, Client
from floniks_client.api.artifacts import (
    artifacts_create,
    artifacts_preview_retrieve,
    artifacts_retrieve,
    artifacts_thumb_retrieve,
)
from floniks_client.api.auth import auth_token_create, auth_token_destroy
from floniks_client.api.batches import batches_create, batches_list, batches_retrieve
from floniks_client.api.bundles import bundles_create
from floniks_client.api.contact_sheets import contact_sheets_image_png_retrieve, contact_sheets_retrieve
from floniks_client.api.drafts import (
    drafts_destroy,
    drafts_partial_update,
    drafts_publish_create,
    drafts_retrieve,
    drafts_spawn_sibling_create,
    drafts_validate_retrieve,
)
from floniks_client.api.evaluations import evaluations_retrieve
from floniks_client.api.manifests import manifests_retrieve
from floniks_client.api.models import (
    models_capture_create,
    models_create,
    models_default_create,
    models_impact_retrieve,
    models_list,
    models_restore_create,
    models_retire_create,
)
from floniks_client.api.provenance import provenance_verify_create
from floniks_client.api.records import (
    records_approve_create,
    records_bundle_retrieve,
    records_checks_list,
    records_compare_retrieve,
    records_flag_legacy_create,
    records_list,
    records_reproduce_create,
    records_retrieve,
)
from floniks_client.api.runs import (
    runs_cancel_create,
    runs_continue_create,
    runs_create,
    runs_discard_create,
    runs_finalize_create,
    runs_list,
    runs_retrieve,
    runs_retry_create,
    runs_run_again_create,
)
from floniks_client.api.workflows import (
    workflows_approve_create,
    workflows_approve_retrieve,
    workflows_archive_create,
    workflows_contact_sheet_create,
    workflows_create,
    workflows_derive_create,
    workflows_drafts_create,
    workflows_drafts_import_comfyui_create,
    workflows_drafts_list,
    workflows_history_list,
    workflows_list,
    workflows_partial_update,
    workflows_resurrect_create,
    workflows_retrieve,
    workflows_tree_retrieve,
    workflows_versions_channel_create,
    workflows_versions_diff_retrieve,
    workflows_versions_evaluate_create,
    workflows_versions_list,
    workflows_versions_promote_create,
    workflows_versions_retrieve,
    workflows_versions_visibility_create,
)
from floniks_client.models import (
    ArtifactUploadRequest,
    AuthTokenRequest,
    BatchStartRequest,
    BundleUploadRequest,
    ChannelEnum,
    ChannelRequest,
    ComfyImportUploadRequest,
    ContactSheetStartRequest,
    DeriveRequest,
    DraftWriteRequest,
    Error,
    EvaluateRequest,
    FinalizeRequest,
    ModelSnapshotCreateRequest,
    PatchedDraftUpdateRequest,
    PatchedWorkflowUpdateRequest,
    PromoteRequest,
    PublishRequest,
    ReasonRequest,
    ReproduceRequest,
    RunStartRequest,
    SpawnSiblingRequest,
    VerifyUploadRequest,
    VisibilityEnum,
    VisibilityRequest,
    WorkflowCreateRequest,
)
from floniks_client.types import File, Response

from runs_app import services as run_services
from runs_app import transitions as run_transitions
from runs_app.models import Run
from tests.helpers import png_bytes, run_now, small_definition

ROOT = Path(__file__).resolve().parent.parent
CALLED: set[tuple[str, str]] = set()  # (method, path) of every request any scenario sent


class DjangoTransport(httpx.BaseTransport):
    """httpx → Django's test client: the generated code runs unchanged, in this test's transaction."""

    def __init__(self) -> None:
        self.django = DjangoClient()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.read()
        CALLED.add((request.method, request.url.path))
        skip = {"host", "content-length", "content-type"}
        answer = self.django.generic(
            request.method,
            request.url.raw_path.decode(),
            data=request.content,
            content_type=request.headers.get("content-type", "application/octet-stream"),
            headers={k: v for k, v in request.headers.items() if k.lower() not in skip},
        )
        return httpx.Response(answer.status_code, headers=list(answer.items()), content=answer.getvalue())


def token_client(user: User) -> AuthenticatedClient:
    anonymous = Client(base_url="http://testserver", httpx_args={"transport": DjangoTransport()})
    answer = auth_token_create.sync_detailed(
        client=anonymous,  # type: ignore[arg-type]  # the one operation that needs no token
        body=AuthTokenRequest(username=user.username, password="pw-" + user.username),
    )
    assert answer.status_code == 200, answer.content
    return AuthenticatedClient(
        base_url="http://testserver",
        token=answer.parsed.token,
        prefix="Token",
        httpx_args={"transport": DjangoTransport()},
    )


def ok(response: Response[Any], status: int = 200) -> Any:
    assert int(response.status_code) == status, response.content[:500]
    assert not isinstance(response.parsed, Error)
    return response.parsed


def refused(response: Response[Any], status: int, code: str) -> Error:
    """An error answer arrives typed: the generated client knows the one error shape."""
    assert int(response.status_code) == status, response.content[:500]
    assert isinstance(response.parsed, Error), response.parsed
    assert response.parsed.code == code
    return response.parsed


@pytest.fixture
def clients(operator: User, manager: User, admin_user: User) -> dict[str, AuthenticatedClient]:
    CALLED.clear()
    return {"operator": token_client(operator), "manager": token_client(manager), "admin": token_client(admin_user)}


def _finished_run(client: AuthenticatedClient, slug: str, subject: str = "a fox") -> UUID:
    run = ok(
        runs_create.sync_detailed(client=client, body=RunStartRequest(workflow=slug, inputs={"subject": subject})), 201
    )
    run_now(Run.objects.get(pk=run.id))
    return UUID(str(run.id))


def _record(client: AuthenticatedClient, slug: str, label: str) -> UUID:
    run_id = _finished_run(client, slug, subject=label)
    body = FinalizeRequest(label=label, annotation="kept for the client review")
    ok(runs_finalize_create.sync_detailed(run_id, client=client, body=body), 202)
    record = run_services.write_record(run_id=run_id)  # a worker's job after commit; no commit in this test
    assert record is not None
    return UUID(str(record.pk))


def authoring(clients: dict[str, AuthenticatedClient]) -> None:
    op, mgr, adm = clients["operator"], clients["manager"], clients["admin"]
    ok(workflows_create.sync_detailed(client=op, body=WorkflowCreateRequest(slug="poster", name="Poster")), 201)
    draft = ok(
        workflows_drafts_create.sync_detailed("poster", client=op, body=DraftWriteRequest(definition={"steps": []})),
        201,
    )
    changed = PatchedDraftUpdateRequest(definition=small_definition())
    ok(drafts_partial_update.sync_detailed(draft.id, client=op, body=changed))
    assert ok(drafts_retrieve.sync_detailed(draft.id, client=op)).definition == small_definition()
    assert ok(drafts_validate_retrieve.sync_detailed(draft.id, client=op)).valid is True
    assert [d.id for d in ok(workflows_drafts_list.sync_detailed("poster", client=op)).results] == [draft.id]
    version = ok(
        drafts_publish_create.sync_detailed(
            draft.id, client=op, body=PublishRequest(visibility=VisibilityEnum.INTERNAL)
        ),
        201,
    )
    assert ok(workflows_retrieve.sync_detailed("poster", client=op)).canonical_version == version.version
    assert [v.version for v in ok(workflows_versions_list.sync_detailed("poster", client=op)).results] == [
        version.version
    ]
    got = ok(workflows_versions_retrieve.sync_detailed("poster", version.version, client=op))
    manifest = manifests_retrieve.sync_detailed(got.manifest_hash, client=op)
    assert manifest.status_code == 200 and got.manifest_hash in manifest.headers.get("ETag", "")
    ok(
        workflows_versions_channel_create.sync_detailed(
            "poster", version.version, client=mgr, body=ChannelRequest(channel=ChannelEnum.ALTERNATE)
        )
    )
    ok(
        workflows_versions_visibility_create.sync_detailed(
            "poster", version.version, client=mgr, body=VisibilityRequest(visibility=VisibilityEnum.PUBLIC)
        )
    )
    # A second version, promoted by a manager: the pointer history shows both moves.
    second = ok(
        workflows_drafts_create.sync_detailed(
            "poster", client=op, body=DraftWriteRequest(definition=small_definition(width=128))
        ),
        201,
    )
    newer = ok(
        drafts_publish_create.sync_detailed(
            second.id, client=op, body=PublishRequest(visibility=VisibilityEnum.INTERNAL)
        ),
        201,
    )
    ok(
        workflows_versions_promote_create.sync_detailed(
            "poster", newer.version, client=adm, body=PromoteRequest(reason="an admin overrides: sharper")
        )
    )
    history = ok(workflows_history_list.sync_detailed("poster", client=op)).results
    assert len(history) >= 2
    # A throwaway draft is deleted; a sibling spawned from another.
    scratch = ok(workflows_drafts_create.sync_detailed("poster", client=op, body=DraftWriteRequest(definition={})), 201)
    assert int(drafts_destroy.sync_detailed(scratch.id, client=op).status_code) == 204
    sibling_draft = ok(
        workflows_drafts_create.sync_detailed(
            "poster", client=op, body=DraftWriteRequest(definition=small_definition())
        ),
        201,
    )
    ok(
        drafts_spawn_sibling_create.sync_detailed(
            sibling_draft.id, client=op, body=SpawnSiblingRequest(slug="poster-b", name="Poster B")
        ),
        201,
    )
    ok(
        workflows_partial_update.sync_detailed(
            "poster", client=op, body=PatchedWorkflowUpdateRequest(description="Spring campaign")
        )
    )
    assert "poster" in [w.slug for w in ok(workflows_list.sync_detailed(client=op, q="poster")).results]
    # Directions: derive two, approve one; the other is archived, then brought back by an admin.
    for slug in ("poster-warm", "poster-cold"):
        body = DeriveRequest(slug=slug, name=slug, direction_label=slug.split("-")[1])
        direction = ok(workflows_derive_create.sync_detailed("poster", client=op, body=body), 201)
        draft_id = ok(workflows_drafts_list.sync_detailed(direction.slug, client=op)).results[0].id
        ok(
            drafts_publish_create.sync_detailed(
                draft_id, client=op, body=PublishRequest(visibility=VisibilityEnum.INTERNAL)
            ),
            201,
        )
    tree = ok(workflows_tree_retrieve.sync_detailed("poster", client=op))
    assert {c["slug"] for c in tree.to_dict()["children"]} >= {"poster-warm", "poster-cold"}
    preview = ok(workflows_approve_retrieve.sync_detailed("poster-warm", client=mgr))
    assert "poster-cold" in str(preview.to_dict())
    ok(workflows_approve_create.sync_detailed("poster-warm", client=mgr, body=ReasonRequest(reason="client pick")))
    refused(
        workflows_archive_create.sync_detailed("poster-warm", client=op, body=ReasonRequest(reason="x")),
        403,
        "forbidden",
    )
    ok(workflows_archive_create.sync_detailed("poster-b", client=adm, body=ReasonRequest(reason="duplicate")))
    ok(workflows_resurrect_create.sync_detailed("poster-b", client=adm, body=ReasonRequest(reason="needed after all")))


def runs_records_and_artifacts(clients: dict[str, AuthenticatedClient], make_workflow: Any, publish: Any) -> None:
    op, mgr, adm = clients["operator"], clients["manager"], clients["admin"]
    publish(make_workflow("teaser"), small_definition())
    upload = ArtifactUploadRequest(file=File(payload=png_bytes(), file_name="ref.png", mime_type="image/png"))
    artifact = ok(artifacts_create.sync_detailed(client=op, body=upload), 201)
    sha = str(artifact.sha256)
    for fetch in (artifacts_retrieve, artifacts_preview_retrieve, artifacts_thumb_retrieve):
        answer = fetch.sync_detailed(sha, client=op)
        assert int(answer.status_code) == 200 and answer.content[:4] in (b"\x89PNG", b"RIFF")
    first = _record(op, "teaser", "first cut")
    second = _record(op, "teaser", "second cut")
    assert ok(records_retrieve.sync_detailed(first, client=op)).label.endswith("first-cut")
    listed = {r.id for r in ok(records_list.sync_detailed(client=op, workflow="teaser")).results}
    assert listed == {first, second}
    compared = ok(records_compare_retrieve.sync_detailed(client=op, a=first, b=second))
    assert compared.to_dict()
    ok(records_approve_create.sync_detailed(first, client=mgr))
    reproduction = ok(records_reproduce_create.sync_detailed(first, client=op, body=ReproduceRequest()), 202)
    run_now(Run.objects.get(pk=reproduction.id))
    checks = ok(records_checks_list.sync_detailed(first, client=op)).results
    assert [str(c.verdict) for c in checks] == ["exact"]
    ok(records_flag_legacy_create.sync_detailed(second, client=op, body=ReasonRequest(reason="old look")))
    assert ok(records_retrieve.sync_detailed(second, client=op)).legacy_required is True
    # Runs: listed, read, cancelled; continuing a run that is not at a gate is refused with its code.
    queued = ok(
        runs_create.sync_detailed(client=op, body=RunStartRequest(workflow="teaser", inputs={"subject": "owl"})), 201
    )
    assert ok(runs_retrieve.sync_detailed(queued.id, client=op)).status == "queued"
    assert queued.id in [r.id for r in ok(runs_list.sync_detailed(client=op, workflow="teaser")).results]
    refused(runs_continue_create.sync_detailed(queued.id, client=op), 409, "not_at_gate")
    ok(runs_cancel_create.sync_detailed(queued.id, client=op))
    assert ok(runs_retrieve.sync_detailed(queued.id, client=op)).status == "cancelled"
    # The catalogue: an admin adds a snapshot and retires it.
    snapshots = ok(models_list.sync_detailed(client=op)).results
    assert any(s.family == "local/plasma" for s in snapshots)
    body = ModelSnapshotCreateRequest(family="local/plasma", snapshot="2026-12-01")
    ok(models_create.sync_detailed(client=adm, body=body), 201)
    ok(
        models_retire_create.sync_detailed(
            "local/plasma", "2026-12-01", client=adm, body=ReasonRequest(reason="bad batch")
        )
    )


def evidence_batches_bundles_and_provenance(
    clients: dict[str, AuthenticatedClient], make_workflow: Any, publish: Any
) -> None:
    op, mgr, adm = clients["operator"], clients["manager"], clients["admin"]
    workflow = make_workflow("sheet-base", "Sheet base")
    first = publish(workflow, small_definition())
    second = publish(workflow, small_definition(width=112))
    # Evidence before the pointer moves: an evaluation of the candidate, then promote with it.
    body = EvaluateRequest(inputs={"subject": "a lynx"})
    evaluation = ok(
        workflows_versions_evaluate_create.sync_detailed("sheet-base", second.version, client=mgr, body=body), 201
    )
    for run_id in evaluation.runs.to_dict().values():
        run_now(Run.objects.get(pk=run_id))
    assert ok(evaluations_retrieve.sync_detailed(evaluation.id, client=mgr)).status == "done"
    promote = PromoteRequest(evidence=evaluation.id)
    assert ok(
        workflows_versions_promote_create.sync_detailed("sheet-base", second.version, client=mgr, body=promote)
    ).is_canonical
    diff = ok(workflows_versions_diff_retrieve.sync_detailed("sheet-base", second.version, client=op, to=first.version))
    assert [c.path for c in diff.changes] == ["/steps/0/params/width"]
    # A contact sheet of the base (no directions yet: one cell), and its PNG.
    sheet = ok(
        workflows_contact_sheet_create.sync_detailed(
            "sheet-base", client=op, body=ContactSheetStartRequest(inputs={"subject": "owl"}, seed=7)
        ),
        201,
    )
    for cell in sheet.cells:
        run_now(Run.objects.get(pk=cell.run))
    assert ok(contact_sheets_retrieve.sync_detailed(sheet.id, client=op)).status == "done"
    png = contact_sheets_image_png_retrieve.sync_detailed(sheet.id, client=op)
    assert int(png.status_code) == 200 and png.content.startswith(b"\x89PNG")
    # A batch of two seeds: listed, read; one discarded and run again; a failed run retried.
    batch = ok(
        batches_create.sync_detailed(
            client=op, body=BatchStartRequest(workflow="sheet-base", inputs={"subject": "elk"}, count=2)
        ),
        201,
    )
    assert [b.id for b in ok(batches_list.sync_detailed(client=op, workflow="sheet-base")).results] == [batch.id]
    runs = ok(batches_retrieve.sync_detailed(batch.id, client=op)).runs
    for run in runs:
        run_now(Run.objects.get(pk=run.id))
    assert ok(runs_discard_create.sync_detailed(runs[0].id, client=op)).status == "discarded"
    again = ok(runs_run_again_create.sync_detailed(runs[0].id, client=op), 201)
    assert again.id != runs[0].id
    failed = ok(
        runs_create.sync_detailed(client=op, body=RunStartRequest(workflow="sheet-base", inputs={"subject": "yak"})),
        201,
    )
    run_transitions.fail_run(Run.objects.get(pk=failed.id), "the model refused the prompt", "provider_error")
    assert ok(runs_retry_create.sync_detailed(failed.id, client=op), 201).status == "queued"
    # The catalogue: what a snapshot touches, the default moved and moved back, a retired one restored.
    impact = ok(models_impact_retrieve.sync_detailed("local/plasma", "2026-06-15", client=mgr))
    assert "sheet-base" in impact.floating_workflows
    ok(models_default_create.sync_detailed("local/plasma", "2026-04-21", client=adm, body=ReasonRequest(reason="try")))
    ok(models_default_create.sync_detailed("local/plasma", "2026-06-15", client=adm, body=ReasonRequest(reason="back")))
    ok(
        models_restore_create.sync_detailed(
            "local/plasma", "2026-12-01", client=adm, body=ReasonRequest(reason="fixed")
        )
    )
    refused(models_capture_create.sync_detailed("local/plasma", client=adm), 400, "not_external")  # no server to read
    # Provenance: an unsigned picture carries no manifest.
    unsigned = VerifyUploadRequest(file=File(payload=png_bytes(), file_name="plain.png", mime_type="image/png"))
    assert ok(provenance_verify_create.sync_detailed(client=op, body=unsigned)).state == "none"
    # A record's bundle; importing it where the record already is, is refused with its code.
    record = _record(op, "sheet-base", "bundled")
    bundle = records_bundle_retrieve.sync_detailed(record, client=op)
    assert int(bundle.status_code) == 200 and bundle.content.startswith(b"PK")
    upload = BundleUploadRequest(
        file=File(payload=io.BytesIO(bundle.content), file_name="r.zip", mime_type="application/zip")
    )
    refused(bundles_create.sync_detailed(client=adm, body=upload), 409, "record_exists")
    # A ComfyUI graph (an API-format JSON file) imported into a draft.
    graph = {
        "1": {"class_type": "EmptyImage", "inputs": {"width": 64, "height": 64, "batch_size": 1, "color": 0}},
        "2": {"class_type": "SaveImage", "inputs": {"images": ["1", 0], "filename_prefix": "x"}},
    }
    imported = workflows_drafts_import_comfyui_create.sync_detailed(
        "sheet-base",
        client=op,
        body=ComfyImportUploadRequest(
            file=File(
                payload=io.BytesIO(json.dumps(graph).encode()), file_name="graph.json", mime_type="application/json"
            )
        ),
    )
    step = ok(imported, 201).definition["steps"][0]
    assert step["kind"] == "comfyui" and step["output_node"] == "2"
    # Signing out revokes the token: the same client is refused afterwards.
    assert int(auth_token_destroy.sync_detailed(client=op).status_code) == 204
    refused(runs_list.sync_detailed(client=op), 401, "authentication_failed")


def _schema_operations() -> dict[tuple[str, re.Pattern[str]], str]:
    schema = SchemaGenerator().get_schema(request=None, public=True)
    found = {}
    for path, item in schema["paths"].items():
        pattern = re.compile(
            "^" + re.sub(r"\{[^}]+\}", ".+", re.escape(path).replace(r"\{", "{").replace(r"\}", "}")) + "$"
        )
        for method, operation in item.items():
            if method in ("get", "post", "put", "patch", "delete"):
                found[(method.upper(), pattern)] = operation["operationId"]
    return found


@pytest.mark.django_db
def test_every_schema_operation_works_through_the_generated_client(
    clients: dict[str, AuthenticatedClient], make_workflow: Any, publish: Any
) -> None:
    """One test, so the scenarios and the tally share a process (pytest-xdist spreads tests)."""
    authoring(clients)
    runs_records_and_artifacts(clients, make_workflow, publish)
    evidence_batches_bundles_and_provenance(clients, make_workflow, publish)
    operations = _schema_operations()
    driven = {
        operation_id
        for (method, pattern), operation_id in operations.items()
        for called_method, path in CALLED
        if called_method == method and pattern.match(path)
    }
    missing = sorted(set(operations.values()) - driven)
    print(f"\n{len(driven)} of {len(operations)} schema operations driven through the generated client")
    assert not missing, f"no test calls these operations through the generated client: {missing}"


def test_the_committed_client_is_what_the_schema_generates(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("make_client", ROOT / "scripts" / "make_client.py")
    assert spec and spec.loader
    make_client = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make_client)
    fresh = make_client.generate(tmp_path)
    assert make_client.differences(make_client.PACKAGE, fresh) == [], "run `make client` and commit the result"
