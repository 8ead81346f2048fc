"""Request bounds (issue 11, items 8 and 9): a NUL character in a page's form or query answers 400
`invalid_character` and changes nothing; a body declared over FLONIKS_MAX_REQUEST_BYTES answers 400
`request_too_large` before a byte of it is read."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from runs_app.models import Artifact, Run
from templates_app.models import PointerMove, Workflow
from tests.helpers import png_bytes, small_definition

pytestmark = pytest.mark.django_db


class Untouchable(io.RawIOBase):
    """A request body that fails the test if anything reads it."""

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        raise AssertionError("the body of an oversize request was read")

    def readline(self, size: int | None = -1) -> bytes:
        raise AssertionError("the body of an oversize request was read")

    def readinto(self, buffer: Any) -> int:
        raise AssertionError("the body of an oversize request was read")


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def refused_page(response: Any, code_text: bytes = b"NUL") -> None:
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/html") and code_text in response.content


@pytest.fixture
def campaign(make_workflow, publish) -> Workflow:
    workflow = make_workflow()
    publish(workflow, small_definition())
    return workflow


def snapshot(workflow: Workflow) -> tuple[Any, ...]:
    workflow.refresh_from_db()
    return (
        workflow.name,
        workflow.lifecycle,
        PointerMove.objects.count(),
        Workflow.objects.count(),
        Run.objects.count(),
    )


def test_a_new_workflow_named_with_nul_is_refused_and_not_created(operator):
    before = Workflow.objects.count()
    response = signed_in(operator).post("/workflows/new/", {"slug": "nul", "name": "a\x00b", "description": ""})
    refused_page(response)
    assert b"&#x27;name&#x27;" in response.content  # the field is named
    assert Workflow.objects.count() == before


def test_an_archive_reason_with_nul_is_refused_and_changes_nothing(campaign, admin_user):
    before = snapshot(campaign)
    response = signed_in(admin_user).post(f"/workflows/{campaign.slug}/do/archive/", {"reason": "gone\x00now"})
    refused_page(response)
    assert snapshot(campaign) == before and campaign.lifecycle != "archived"


def test_the_admin_reason_page_with_nul_is_refused_and_changes_nothing(campaign, admin_user):
    before = snapshot(campaign)
    chosen = {"action": "archive", "_selected_action": [campaign.pk], "confirm": "yes", "reason": "x\x00y"}
    response = signed_in(admin_user).post("/admin/templates_app/workflow/", chosen)
    refused_page(response)
    assert snapshot(campaign) == before


def test_a_derived_direction_named_with_nul_is_refused_and_not_created(campaign, operator):
    before = Workflow.objects.count()
    form = {"slug": "campaign-cool", "name": "Cool\x00", "direction_label": "Cool"}
    refused_page(signed_in(operator).post(f"/workflows/{campaign.slug}/derive/", form))
    assert Workflow.objects.count() == before


def test_a_search_with_nul_is_refused(campaign, operator):
    response = signed_in(operator).get("/workflows/?q=a%00b")
    refused_page(response)
    assert b"&#x27;q&#x27;" in response.content


def test_a_path_with_nul_is_refused(operator):
    refused_page(signed_in(operator).get("/workflows/a%00b/"))


def test_nul_in_a_form_post_to_the_api_answers_the_error_shape(operator):
    data = png_bytes().getvalue()
    f = io.BytesIO(data)
    f.name = "file.png"
    response = signed_in(operator).post("/api/artifacts/", {"file": f, "note\x00": "x"})
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid_character"
    assert body["errors"] == [{"code": "invalid_character", "path": "note\\x00", "message": body["message"]}]
    assert not Artifact.objects.exists()


def test_json_bodies_are_left_to_the_api_parser(make_workflow, operator, api):
    workflow = make_workflow()
    response = api(operator).post(
        f"/api/workflows/{workflow.slug}/drafts/", {"definition": {"inputs": {}, "note": "a\x00b"}}, format="json"
    )
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid_character"
    assert body["errors"][0]["path"] == "definition.note"  # the API's parser found it, inside the document


def oversize(client: Client, path: str, limit: int) -> Any:
    environ: dict[str, Any] = {"wsgi.input": Untouchable(), "CONTENT_LENGTH": str(limit + 1)}
    return client.post(
        path,
        data=b"",
        content_type="multipart/form-data; boundary=xyz",
        **environ,
    )


def test_an_upload_declared_over_the_limit_is_refused_unread(operator, settings):
    before = Artifact.objects.count()
    response = oversize(signed_in(operator), "/api/artifacts/", settings.FLONIKS_MAX_REQUEST_BYTES)
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "request_too_large" and body["errors"][0]["code"] == "request_too_large"
    assert str(settings.FLONIKS_MAX_REQUEST_BYTES) in body["message"]
    assert Artifact.objects.count() == before


def test_the_run_form_declared_over_the_limit_is_refused_unread(campaign, operator, settings):
    before = snapshot(campaign)
    response = oversize(signed_in(operator), f"/workflows/{campaign.slug}/run/", settings.FLONIKS_MAX_REQUEST_BYTES)
    refused_page(response, b"limit")
    assert snapshot(campaign) == before


def test_a_real_body_over_a_lowered_limit_is_refused(operator, settings):
    settings.FLONIKS_MAX_REQUEST_BYTES = 1024 * 1024
    f = io.BytesIO(b"\x89PNG" + b"x" * (1024 * 1024))
    f.name = "big.png"
    response = signed_in(operator).post("/api/artifacts/", {"file": f})
    assert response.status_code == 400 and response.json()["code"] == "request_too_large"
    assert not Artifact.objects.exists()


def test_the_default_limit_leaves_room_for_the_largest_upload(settings):
    from runs_app import storage

    assert settings.FLONIKS_MAX_REQUEST_BYTES > storage.MAX_UPLOAD_BYTES == settings.FLONIKS_MAX_UPLOAD_BYTES


def test_a_normal_upload_still_works_through_pages_session_and_api(operator, api):
    f = io.BytesIO(png_bytes().getvalue())
    f.name = "file.png"
    response = signed_in(operator).post("/api/artifacts/", {"file": f})
    assert response.status_code == 201, response.content
    f = io.BytesIO(png_bytes(colour=(1, 2, 3)).getvalue())
    f.name = "other.png"
    assert api(operator).post("/api/artifacts/", {"file": f}, format="multipart").status_code == 201
    assert Artifact.objects.count() == 2


def test_a_clean_request_costs_no_query(rf, settings):
    from core.request_bounds import RequestBoundsMiddleware

    request = rf.post("/workflows/new/", {"name": "fine", "slug": "fine"}, QUERY_STRING="q=ok")
    with CaptureQueriesContext(connection) as queries:
        response = RequestBoundsMiddleware(lambda r: "passed")(request)  # type: ignore[arg-type,return-value]
    assert response == "passed" and len(queries) == 0


def test_a_body_without_a_declared_length_is_never_read(operator):
    """Chunked: no Content-Length. Django reads such a body as empty, so nothing unbounded is read."""
    environ: dict[str, Any] = {"wsgi.input": Untouchable()}
    response = signed_in(operator).post(
        "/api/artifacts/", data=b"", content_type="multipart/form-data; boundary=xyz", **environ
    )
    assert response.status_code == 400 and response.json()["errors"][0]["path"] == "file"
    assert not Artifact.objects.exists()
