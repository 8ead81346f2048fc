"""Directions: derive, approve (siblings archived atomically), resurrect, and
the pointer history that records it all."""

from __future__ import annotations

from unittest import mock

import pytest

from core.errors import Conflict
from templates_app import services
from templates_app.models import Draft, Lifecycle, PointerMove, Workflow

pytestmark = pytest.mark.django_db


@pytest.fixture
def family(make_workflow, publish, operator):
    base = make_workflow("campaign", "Campaign")
    publish(base)
    directions = [
        services.derive_direction(
            actor=operator, base=base, slug=f"campaign-{label.lower()}", name=f"Campaign {label}", direction_label=label
        )
        for label in ("WarmEarthy", "CoolMinimal", "VibrantUrban")
    ]
    return base, directions


@pytest.fixture
def published(family, operator):
    """The family with a version published in each direction: approving a direction needs one."""
    for direction in family[1]:
        services.publish_draft(actor=operator, draft=Draft.objects.get(workflow=direction))
    return family


def test_derive_copies_the_version_into_a_draft(family):
    base, (warm, *_rest) = family
    draft = Draft.objects.get(workflow=warm)
    assert draft.definition == base.canonical_version.definition
    assert draft.based_on == base.canonical_version
    assert warm.derived_from == base and warm.direction_label == "WarmEarthy"


def test_approve_archives_every_sibling_and_logs_it(published, manager, api):
    base, (warm, cool, vibrant) = published
    response = api(manager).post(f"/api/workflows/{warm.slug}/approve/", {}, format="json")
    assert response.status_code == 200, response.content
    assert sorted(response.json()["archived"]) == sorted([cool.slug, vibrant.slug])
    assert response.json()["workflow"]["lifecycle"] == "production"
    lifecycles = dict(Workflow.objects.filter(derived_from=base).values_list("slug", "lifecycle"))
    assert lifecycles == {warm.slug: "production", cool.slug: "archived", vibrant.slug: "archived"}
    moves = PointerMove.objects.filter(pointer="lifecycle", workflow__derived_from=base)
    assert moves.count() == 3 and {m.actor for m in moves} == {manager}
    warm.refresh_from_db()
    assert warm.approved_by == manager and warm.approved_at is not None


def test_approval_is_atomic(published, manager):
    _base, (warm, cool, vibrant) = published
    real = services._set_lifecycle
    calls = []

    def fail_on_second_sibling(workflow, lifecycle, **kw):
        calls.append(workflow.slug)
        if len(calls) == 3:
            raise RuntimeError("database went away")
        return real(workflow, lifecycle, **kw)

    with mock.patch.object(services, "_set_lifecycle", side_effect=fail_on_second_sibling), pytest.raises(RuntimeError):
        services.approve_direction(actor=manager, workflow=warm)
    assert set(Workflow.objects.filter(pk__in=[warm.pk, cool.pk, vibrant.pk]).values_list("lifecycle", flat=True)) == {
        "exploring"
    }
    assert not PointerMove.objects.filter(pointer="lifecycle").exists()


def test_resurrect_brings_an_archived_direction_back(published, manager, admin_user, api):
    _base, (warm, cool, _vibrant) = published
    services.approve_direction(actor=manager, workflow=warm)
    assert api(manager).post(f"/api/workflows/{cool.slug}/resurrect/").status_code == 403
    response = api(admin_user).post(f"/api/workflows/{cool.slug}/resurrect/", {"reason": "client changed mind"})
    assert response.status_code == 200 and response.json()["lifecycle"] == "exploring"
    history = api(admin_user).get(f"/api/workflows/{cool.slug}/history/?pointer=lifecycle").json()["results"]
    assert [(h["from_value"], h["to"]) for h in history] == [("archived", "exploring"), ("exploring", "archived")]
    assert history[0]["actor"] == admin_user.username and history[0]["reason"] == "client changed mind"


def test_archived_direction_cannot_be_approved_and_base_is_not_a_direction(family, manager, admin_user):
    base, (warm, *_rest) = family
    services.archive_workflow(actor=admin_user, workflow=warm, reason="off brief")
    with pytest.raises(Conflict) as archived:
        services.approve_direction(actor=manager, workflow=warm)
    assert archived.value.code == "workflow_archived"
    with pytest.raises(Conflict) as not_direction:
        services.approve_direction(actor=manager, workflow=base)
    assert not_direction.value.code == "not_a_direction"


def test_tree_draws_base_and_directions(family, operator, api):
    base, directions = family
    tree = api(operator).get(f"/api/workflows/{directions[1].slug}/tree/").json()
    assert tree["slug"] == base.slug
    assert [c["slug"] for c in tree["children"]] == sorted(d.slug for d in directions)
    assert all(c["derived_from_version"] == base.canonical_version.version for c in tree["children"])
    assert tree["children"][0]["lifecycle"] == Lifecycle.EXPLORING


def test_cannot_derive_from_a_workflow_without_versions(family, operator):
    _base, (warm, *_rest) = family
    with pytest.raises(Conflict) as refused:
        services.derive_direction(actor=operator, base=warm, slug="warm-dusk", name="Dusk", direction_label="Dusk")
    assert refused.value.code == "no_published_version"
    assert not Workflow.objects.filter(slug="warm-dusk").exists()
