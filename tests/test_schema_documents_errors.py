"""The OpenAPI schema documents every answer: each operation lists the error answers
it can give, all with the one error shape, derived from what the view does."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

ERROR_REF = "#/components/schemas/Error"
METHODS = {"get", "post", "put", "patch", "delete"}


@pytest.fixture(scope="module")
def schema(django_db_blocker: Any) -> dict[str, Any]:
    with django_db_blocker.unblock():
        return Client().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()


def operations(schema: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        f"{method.upper()} {path}": op
        for path, item in schema["paths"].items()
        for method, op in item.items()
        if method in METHODS
    }


def codes(op: dict[str, Any]) -> set[int]:
    return {int(code) for code in op["responses"]}


def test_every_error_answer_has_the_one_error_shape(schema):
    error = schema["components"]["schemas"]["Error"]
    assert set(error["required"]) == {"code", "message", "errors"}
    assert error["properties"]["errors"]["items"] == {"$ref": "#/components/schemas/ErrorItem"}
    assert set(schema["components"]["schemas"]["ErrorItem"]["required"]) == {"code", "path", "message"}
    for name, op in operations(schema).items():
        assert 401 in codes(op), f"{name}: every view authenticates, so a bad token answers 401"
        # 414 comes from the HTTP server itself, in HTML, before Floniks reads the request.
        assert op["responses"]["414"]["content"] == {"text/html": {}}, name
        for code, answer in op["responses"].items():
            if code.startswith("4") and code != "414":
                assert answer["content"] == {"application/json": {"schema": {"$ref": ERROR_REF}}}, (name, code)


@pytest.mark.parametrize(
    ("operation", "expected", "absent"),
    [
        # A team write: validation, auth, role, state.
        ("POST /api/workflows/", {201, 400, 401, 403, 409, 415}, {404, 429}),
        ("PATCH /api/workflows/{slug}/", {200, 400, 401, 403, 404, 409, 415}, {429}),
        # A team read of one object; a cursor page with filters.
        # 400 everywhere: any request with a NUL character in its address or query is refused first.
        ("GET /api/runs/{id}/", {200, 400, 401, 403, 404}, {409}),
        ("GET /api/records/", {200, 400, 401, 403, 404}, {409}),
        # A body that names another object; query parameters that do.
        ("POST /api/runs/", {201, 400, 404, 409}, set()),
        ("GET /api/records/compare/", {200, 400, 401, 403, 404}, {409}),
        # Public reads: no 403, credentials optional.
        ("GET /api/workflows/{slug}/versions/{version}/", {200, 400, 401, 404}, {403, 409}),
        ("GET /api/manifests/{manifest_hash}/", {200, 401, 404}, {403}),
        # The throttled sign-in.
        ("POST /api/auth/token/", {200, 400, 401, 429}, {404, 409}),
        # Uploading the same bytes twice is no conflict.
        ("POST /api/artifacts/", {201, 400, 401, 403, 415}, {404, 409}),
        # Artifacts: 404 for outsiders (never 403), bytes or a bucket redirect.
        ("GET /artifacts/{sha256}", {200, 302, 400, 401, 404}, {403}),
        ("GET /artifacts/{sha256}/thumb", {200, 302, 400, 401, 404}, {403}),
        ("GET /artifacts/{sha256}/preview", {200, 302, 400, 401, 404}, {403}),
    ],
)
def test_each_operation_lists_the_answers_it_can_give(schema, operation, expected, absent):
    op = operations(schema)[operation]
    assert expected <= codes(op), expected - codes(op)
    assert not (absent & codes(op)), absent & codes(op)


def test_public_reads_say_credentials_are_optional(schema):
    ops = operations(schema)
    assert {} in ops["GET /api/workflows/{slug}/versions/"]["security"]
    assert {} not in ops["GET /api/workflows/"]["security"]
    assert {} not in ops["POST /api/workflows/{slug}/versions/{version}/promote/"]["security"]


def test_throttled_and_unauthorised_answers_name_their_headers(schema):
    ops = operations(schema)
    assert "Retry-After" in ops["POST /api/auth/token/"]["responses"]["429"]["headers"]
    assert "WWW-Authenticate" in ops["GET /api/runs/"]["responses"]["401"]["headers"]


def test_cursor_pages_always_carry_next_previous_and_results(schema):
    page = schema["components"]["schemas"]["PaginatedRunSummaryList"]
    assert set(page["required"]) == {"next", "previous", "results"}
    assert page["properties"]["next"]["nullable"] and page["properties"]["previous"]["nullable"]
    params = {p["name"] for p in operations(schema)["GET /api/runs/"]["parameters"]}
    assert {"cursor", "page_size", "status", "workflow", "mine"} <= params


def test_artifact_bytes_are_documented_by_type(schema):
    ok = operations(schema)["GET /artifacts/{sha256}"]["responses"]["200"]["content"]
    assert set(ok) == {"image/png", "image/jpeg", "image/webp", "image/gif", "application/octet-stream"}


def test_enums_and_nullable_fields(schema):
    components = schema["components"]["schemas"]
    assert set(components["RunStatusEnum"]["enum"]) >= {"queued", "running", "finalized", "failed", "cancelled"}
    check = components["Check"]["properties"]
    assert check["run_id"]["nullable"] is True, "a check flagged by hand has no run"
    assert check["completed_at"]["nullable"] is True
    assert components["Run"]["properties"]["record_id"]["nullable"] is True


@pytest.mark.django_db
def test_an_api_address_nothing_answers_still_gets_the_error_shape():
    client = Client()
    for address in ("/api/no-such-thing/", "/api/drafts/-1/", "/artifacts/a/b/thumb"):
        answer = client.get(address)
        assert answer.status_code == 404 and answer["Content-Type"] == "application/json", address
        assert answer.json()["code"] == "not_found" and answer.json()["errors"][0]["code"] == "not_found"
    page = client.get("/no-such-page/")
    assert page.status_code == 404 and page["Content-Type"].startswith("text/html")
