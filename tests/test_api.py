"""The templates API as clients use it: auth, the version lifecycle, pointers and
their history and manifests. Query counts: tests/test_query_counts.py."""

from __future__ import annotations

import base64
import hashlib

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from runs_app.models import Run
from templates_app.manifest import canonical_bytes
from templates_app.models import PointerMove, Workflow
from tests.helpers import promote_with_evidence, run_now, valid_definition

pytestmark = pytest.mark.django_db


def variant(i: int):
    d = valid_definition()
    d["steps"][0]["params"]["prompt"] = f"{{{{inputs.subject}}}}, variant {i}"
    return d


def test_token_auth(operator):
    client = APIClient()
    bad = client.post("/api/auth/token/", {"username": operator.username, "password": "wrong"}, format="json")
    assert bad.status_code == 400 and bad.json()["errors"]
    token = client.post(
        "/api/auth/token/", {"username": operator.username, "password": "pw-" + operator.username}, format="json"
    ).json()["token"]
    assert client.get("/api/workflows/").status_code == 401
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert client.get("/api/workflows/").status_code == 200


# Its evaluation generates 768×512 images: long steps need the watch to see the test's transaction.
@pytest.mark.django_db(transaction=True)
def test_full_lifecycle_through_the_api(operator, manager, api):
    op, mgr = api(operator), api(manager)
    created = op.post("/api/workflows/", {"slug": "campaign-a-warm-earthy", "name": "Campaign A"}, format="json")
    assert created.status_code == 201 and created.json()["canonical_version"] is None
    draft = op.post(
        "/api/workflows/campaign-a-warm-earthy/drafts/", {"definition": valid_definition()}, format="json"
    ).json()
    v1 = op.post(f"/api/drafts/{draft['id']}/publish/", {"visibility": "internal"}, format="json").json()
    today = timezone.now().strftime("%Y.%m.%d")
    assert v1["version"] == today and v1["is_canonical"] and v1["bump"] == "initial"
    assert v1["manifest_hash"].startswith("sha256:") and v1["published_by"] == operator.username

    again = op.post(f"/api/drafts/{draft['id']}/publish/", {"visibility": "internal"}, format="json")
    assert again.status_code == 409 and again.json()["code"] == "draft_published"

    d2 = op.post("/api/workflows/campaign-a-warm-earthy/drafts/", {"definition": variant(2)}, format="json").json()
    v2 = op.post(f"/api/drafts/{d2['id']}/publish/", {"visibility": "internal"}, format="json").json()
    assert v2["version"] == f"{today}.2" and v2["is_canonical"] is False and v2["bump"] == "minor"

    unproven = mgr.post(
        f"/api/workflows/campaign-a-warm-earthy/versions/{v2['version']}/promote/",
        {"reason": "client prefers it"},
        format="json",
    )
    assert unproven.status_code == 409 and unproven.json()["code"] == "evidence_required"
    evaluation = mgr.post(
        f"/api/workflows/campaign-a-warm-earthy/versions/{v2['version']}/evaluate/",
        {"inputs": {"subject": "a fox"}},
        format="json",
    ).json()
    run_now(Run.objects.get(pk=evaluation["runs"]["baseline"]))
    run_now(Run.objects.get(pk=evaluation["runs"]["candidate"]))
    promoted = mgr.post(
        f"/api/workflows/campaign-a-warm-earthy/versions/{v2['version']}/promote/",
        {"reason": "client prefers it", "evidence": evaluation["id"]},
        format="json",
    )
    assert promoted.status_code == 200 and promoted.json()["is_canonical"] is True
    assert op.get("/api/workflows/campaign-a-warm-earthy/").json()["canonical_version"] == v2["version"]

    public = mgr.post(
        f"/api/workflows/campaign-a-warm-earthy/versions/{v2['version']}/visibility/",
        {"visibility": "public"},
        format="json",
    )
    assert public.json()["visibility"] == "public"
    lower = mgr.post(
        f"/api/workflows/campaign-a-warm-earthy/versions/{v2['version']}/visibility/",
        {"visibility": "internal"},
        format="json",
    )
    assert lower.status_code == 409 and lower.json()["code"] == "visibility_lowering"
    shadow = mgr.post(
        f"/api/workflows/campaign-a-warm-earthy/versions/{v2['version']}/channel/", {"channel": "shadow"}, format="json"
    )
    assert shadow.status_code == 409

    history = op.get("/api/workflows/campaign-a-warm-earthy/history/?pointer=canonical").json()["results"]
    assert [(h["from_value"], h["to"], h["actor"]) for h in history] == [
        (v1["version"], v2["version"], manager.username),
        ("", v1["version"], operator.username),
    ]
    assert history[0]["reason"] == "client prefers it"


# Its evaluation generates 768×512 images: long steps need the watch to see the test's transaction.
@pytest.mark.django_db(transaction=True)
def test_canonical_on_a_past_date_is_answerable(make_workflow, publish, manager):
    workflow = make_workflow()
    v1 = publish(workflow)
    between = timezone.now()
    v2 = publish(workflow, variant(2))
    promote_with_evidence(manager, v2)
    assert PointerMove.objects.canonical_at(workflow, between) == v1.version
    assert PointerMove.objects.canonical_at(workflow, timezone.now()) == v2.version


def test_manifest_endpoint_serves_canonical_bytes_with_digest(make_workflow, publish, api):
    workflow = make_workflow()
    version = publish(workflow, visibility="public")
    response = api(None).get(f"/api/manifests/{version.manifest_hash}/")
    assert response.status_code == 200
    digest = hashlib.sha256(response.content).digest()
    assert "sha256:" + digest.hex() == version.manifest_hash
    assert response["ETag"] == f'"{version.manifest_hash}"'
    assert response["Digest"] == "sha-256=" + base64.b64encode(digest).decode()
    assert response.content == canonical_bytes(valid_definition())


def test_production_mode_needs_a_pin(make_workflow, publish, operator, api):
    workflow = make_workflow()
    publish(workflow)
    refused = api(operator).patch(f"/api/workflows/{workflow.slug}/", {"mode": "production"}, format="json")
    assert refused.status_code == 400 and refused.json()["errors"][0]["code"] == "pin_required"
    assert Workflow.objects.get(pk=workflow.pk).mode == "discovery"


def test_contract_change_is_answered_by_spawning_a_sibling(make_workflow, publish, operator, api):
    workflow = make_workflow()
    publish(workflow)
    client = api(operator)
    changed = valid_definition()
    changed["outputs"] = {"poster": "{{steps.styled.output}}"}
    draft = client.post(f"/api/workflows/{workflow.slug}/drafts/", {"definition": changed}, format="json").json()
    refused = client.post(f"/api/drafts/{draft['id']}/publish/", {"visibility": "internal"}, format="json")
    assert refused.status_code == 400 and refused.json()["errors"][0]["code"] == "contract_changed"
    sibling = client.post(
        f"/api/drafts/{draft['id']}/spawn-sibling/", {"slug": "campaign-a-posters", "name": "Posters"}, format="json"
    )
    assert sibling.status_code == 201 and sibling.json()["spawned_from"] == workflow.slug
    sibling_draft = client.get("/api/workflows/campaign-a-posters/drafts/").json()["results"][0]
    published = client.post(f"/api/drafts/{sibling_draft['id']}/publish/", {"visibility": "internal"}, format="json")
    assert published.status_code == 201 and published.json()["bump"] == "initial"


def test_catalogue_admin_adds_and_retires_snapshots(admin_user, api):
    client = api(admin_user)
    added = client.post(
        "/api/models/", {"family": "local/plasma", "snapshot": "2026-11-01", "make_default": True}, format="json"
    )
    assert added.status_code == 201 and added.json()["is_default"] is True
    dup = client.post("/api/models/", {"family": "local/plasma", "snapshot": "2026-11-01"}, format="json")
    assert dup.status_code == 409 and dup.json()["code"] == "snapshot_exists"
    bad = client.post("/api/models/", {"family": "local/plasma", "snapshot": "2026-13-45"}, format="json")
    assert bad.status_code == 400
    retired = client.post("/api/models/local/plasma@2026-11-01/retire/", {}, format="json")
    assert retired.json()["status"] == "retired" and retired.json()["is_default"] is False
    listed = {(m["family"], m["snapshot"]): m for m in client.get("/api/models/").json()["results"]}
    assert listed[("local/plasma", "2026-06-15")]["is_default"] is True
    new_family = client.post("/api/models/", {"family": "local/ember", "snapshot": "2026-11-02"}, format="json")
    assert new_family.status_code == 400 and new_family.json()["errors"][0]["path"] == "tier"


def test_errors_share_one_shape(operator, api):
    missing = api(operator).get("/api/workflows/nope/")
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"
    invalid = api(operator).post("/api/workflows/", {"slug": "Not A Slug!", "name": ""}, format="json")
    assert invalid.status_code == 400
    assert {e["path"] for e in invalid.json()["errors"]} >= {"name"}


def test_workflow_patch_is_all_or_nothing(make_workflow, publish, operator, api):
    workflow = make_workflow()
    response = api(operator).patch(
        f"/api/workflows/{workflow.slug}/", {"name": "Renamed", "mode": "production"}, format="json"
    )
    assert response.status_code == 400
    workflow.refresh_from_db()
    assert workflow.name == "Campaign A"
