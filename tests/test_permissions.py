"""Every API endpoint of the templates API × every persona, with the expected status.

anonymous and a role-less account (outsider) see public versions and manifests
only; operators work with drafts and internal versions; managers move
pointers and publish publicly; admins also archive, resurrect and keep the
model catalogue."""

from __future__ import annotations

from typing import Any

import pytest

from templates_app import services
from tests.conftest import valid_definition

pytestmark = pytest.mark.django_db

ROLES = ["anonymous", "outsider", "operator", "manager", "admin"]


def statuses(anon, outsider, operator, manager, admin):
    return dict(zip(ROLES, (anon, outsider, operator, manager, admin), strict=True))


TEAM_READ = statuses(401, 403, 200, 200, 200)
TEAM_CREATE = statuses(401, 403, 201, 201, 201)
MANAGER_UP = statuses(401, 403, 403, 200, 200)
ADMIN_ONLY = statuses(401, 403, 403, 403, 200)
PUBLIC_READ = statuses(200, 200, 200, 200, 200)
INTERNAL_READ = statuses(404, 404, 200, 200, 200)

MATRIX: list[tuple[str, str, Any, dict[str, int]]] = [
    ("GET", "/api/models/", None, TEAM_READ),
    ("POST", "/api/models/", {"family": "local/plasma", "snapshot": "2026-10-01"}, statuses(401, 403, 403, 403, 201)),
    ("POST", "/api/models/local/plasma@2026-04-21/retire/", {}, ADMIN_ONLY),
    ("GET", "/api/workflows/", None, TEAM_READ),
    ("POST", "/api/workflows/", {"slug": "new-job", "name": "New job"}, TEAM_CREATE),
    ("GET", "/api/workflows/{slug}/", None, TEAM_READ),
    ("PATCH", "/api/workflows/{slug}/", {"name": "Renamed"}, TEAM_READ),
    (
        "POST",
        "/api/workflows/{slug}/derive/",
        {"slug": "camp-b", "name": "B", "direction_label": "CoolMinimal"},
        TEAM_CREATE,
    ),
    ("POST", "/api/workflows/{direction}/approve/", {}, MANAGER_UP),
    ("POST", "/api/workflows/{slug}/archive/", {"reason": "off brief"}, ADMIN_ONLY),
    ("POST", "/api/workflows/{archived}/resurrect/", {"reason": "back on brief"}, ADMIN_ONLY),
    ("GET", "/api/workflows/{slug}/tree/", None, TEAM_READ),
    ("GET", "/api/workflows/{slug}/history/", None, TEAM_READ),
    ("GET", "/api/workflows/{slug}/drafts/", None, TEAM_READ),
    ("POST", "/api/workflows/{slug}/drafts/", {"definition": {"steps": []}}, TEAM_CREATE),
    ("GET", "/api/drafts/{draft}/", None, TEAM_READ),
    ("PATCH", "/api/drafts/{draft}/", {"definition": {"steps": []}}, TEAM_READ),
    ("DELETE", "/api/drafts/{draft}/", None, statuses(401, 403, 204, 204, 204)),
    ("GET", "/api/drafts/{draft}/validate/", None, TEAM_READ),
    ("POST", "/api/drafts/{draft}/publish/", {"visibility": "internal"}, TEAM_CREATE),
    ("POST", "/api/drafts/{draft}/publish/", {"visibility": "public"}, statuses(401, 403, 403, 201, 201)),
    ("POST", "/api/drafts/{draft}/spawn-sibling/", {"slug": "sibling", "name": "Sibling"}, TEAM_CREATE),
    ("GET", "/api/workflows/{slug}/versions/", None, PUBLIC_READ),
    ("GET", "/api/workflows/{slug}/versions/{internal}/", None, INTERNAL_READ),
    ("GET", "/api/workflows/{slug}/versions/{public}/", None, PUBLIC_READ),
    ("PUT", "/api/workflows/{slug}/versions/{internal}/", {}, statuses(405, 405, 405, 405, 405)),
    ("PATCH", "/api/workflows/{slug}/versions/{public}/", {}, statuses(405, 405, 405, 405, 405)),
    ("DELETE", "/api/workflows/{slug}/versions/{public}/", None, statuses(405, 405, 405, 405, 405)),
    ("POST", "/api/workflows/{slug}/versions/{public}/promote/", {}, MANAGER_UP),
    ("POST", "/api/workflows/{slug}/versions/{internal}/visibility/", {"visibility": "public"}, MANAGER_UP),
    ("POST", "/api/workflows/{slug}/versions/{public}/channel/", {"channel": "alternate"}, MANAGER_UP),
    ("GET", "/api/manifests/{internal_manifest}/", None, INTERNAL_READ),
    ("GET", "/api/manifests/{public_manifest}/", None, PUBLIC_READ),
]


@pytest.fixture
def world(make_workflow, publish, operator, manager, admin_user):
    base = make_workflow("campaign", "Campaign")
    internal = publish(base)
    changed = valid_definition()
    changed["steps"][0]["params"]["prompt"] = "{{inputs.subject}}, public look"
    public = publish(base, changed, visibility="public")
    direction = services.derive_direction(
        actor=operator, base=base, slug="camp-warm", name="Warm", direction_label="Warm"
    )
    publish(direction)  # approving a direction needs a published version
    archived = services.derive_direction(
        actor=operator, base=base, slug="camp-cold", name="Cold", direction_label="Cold"
    )
    services.archive_workflow(actor=admin_user, workflow=archived, reason="test: archived")
    draft_def = valid_definition()
    draft_def["steps"][0]["params"]["guidance_scale"] = 9
    draft = services.save_draft(actor=operator, workflow=base, definition=draft_def)
    return {
        "slug": base.slug,
        "internal": internal.version,
        "public": public.version,
        "direction": direction.slug,
        "archived": archived.slug,
        "draft": draft.pk,
        "internal_manifest": internal.manifest_hash,
        "public_manifest": public.manifest_hash,
    }


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(
    ("method", "url", "body", "expected"), MATRIX, ids=[f"{m} {u} {b or ''}"[:80] for m, u, b, _ in MATRIX]
)
def test_permission_matrix(world, personas, api, role, method, url, body, expected):
    client = api(personas[role])
    response = client.generic(
        method,
        url.format(**world),
        data=None if body is None else __import__("json").dumps(body),
        content_type="application/json",
    )
    assert response.status_code == expected[role], (role, response.content[:300])
    if response.status_code >= 400 and response.status_code != 405:
        assert response.json()["errors"][0]["code"], response.content


def test_anonymous_version_list_shows_public_versions_only(world, api):
    listed = api(None).get(f"/api/workflows/{world['slug']}/versions/").json()["results"]
    assert [v["version"] for v in listed] == [world["public"]]


def test_shadow_versions_are_hidden_from_the_public(make_workflow, publish, api, operator):
    workflow = make_workflow()
    publish(workflow)
    d = valid_definition()
    d["steps"][0]["params"]["steps"] = 12
    shadow = publish(workflow, d, channel="shadow")
    assert api(None).get(f"/api/workflows/{workflow.slug}/versions/{shadow.version}/").status_code == 404
    team = api(operator).get(f"/api/workflows/{workflow.slug}/versions/{shadow.version}/")
    assert team.status_code == 200 and team.json()["channel"] == "shadow"
