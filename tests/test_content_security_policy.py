"""Every page, for every persona, answers with the strict Content-Security-Policy and a
Permissions-Policy, and carries nothing the policy would block: no inline <script> or <style>,
no on*= handler, no style= attribute. The pages come from the URL resolver, so a new page is
checked without anyone remembering to add it."""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from templates_app import services as templates
from tests.helpers import evidence_for, finished_record, run_now, small_definition

pytestmark = pytest.mark.django_db

PERSONAS = ["anonymous", "outsider", "operator", "manager", "admin"]
# Not pages: the JSON API (except its docs page) and binary answers.
NOT_PAGES = {"artifact", "thumbnail", "preview", "compare-image", "schema", "contact-sheet-image"}


class InlineCode(HTMLParser):
    """Collects what a strict CSP (no 'unsafe-inline') blocks in a page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = {name.lower(): value for name, value in attrs}
        if tag == "script" and not names.get("src"):
            self.found.append("<script> without src")
        if tag == "style":
            self.found.append("<style> element")
        for name, value in names.items():
            if name.startswith("on"):
                self.found.append(f"<{tag} {name}=…>")
            elif name == "style":
                self.found.append(f"<{tag} style={value!r}>")
            elif name.startswith(("hx-on", "hx-vars")) or (value or "").lstrip().startswith(("js:", "javascript:")):
                self.found.append(f"<{tag} {name}={value!r}> (htmx would evaluate it)")
            elif name in ("href", "src", "action", "formaction") and (value or "").strip().lower().startswith(
                "javascript:"
            ):
                self.found.append(f"<{tag} {name}={value!r}>")

    handle_startendtag = handle_starttag


def inline_code(html: str) -> list[str]:
    parser = InlineCode()
    parser.feed(html)
    parser.close()
    return parser.found


def directives(header: str) -> dict[str, list[str]]:
    parsed: dict[str, list[str]] = {}
    for part in header.split(";"):
        words = part.split()
        if words:
            parsed[words[0]] = words[1:]
    return parsed


def assert_strict(header: str, what: str) -> None:
    policy = directives(header)
    assert policy.get("default-src") == ["'self'"], what
    assert policy.get("script-src") == ["'self'"], what
    assert policy.get("style-src") == ["'self'"], what
    assert policy.get("object-src") == ["'none'"], what
    assert policy.get("base-uri") == ["'self'"], what
    assert policy.get("frame-ancestors") == ["'none'"], what
    assert policy.get("form-action") == ["'self'"], what
    assert "'unsafe-inline'" not in header and "'unsafe-eval'" not in header, what


@pytest.fixture
def world(make_workflow, publish, operator, manager) -> dict[str, Any]:
    base = make_workflow("campaign", "Campaign")
    publish(base, small_definition())
    public = publish(base, small_definition(prompt="{{inputs.subject}}, cool"), visibility="public")
    direction = templates.derive_direction(
        actor=operator, base=base, slug="campaign-cool", name="Cool", direction_label="Cool"
    )
    record = finished_record(operator, base)
    other = finished_record(operator, base, inputs={"subject": "hare"}, label="second")
    from runs_app import services as runs

    waiting = run_now(runs.start_run(actor=operator, workflow=base, inputs={"subject": "owl"}))
    check = run_now(runs.reproduce_record(actor=operator, record=record)).reproduction_check
    batch = runs.start_batch(actor=operator, workflow=base, inputs={"subject": "wren"}, count=2)
    for run in batch.runs.all():
        run_now(run)
    evaluation = evidence_for(manager, public)
    sheet = runs.make_contact_sheet(actor=operator, base=base, inputs={"subject": "owl"}, seed=3)
    for cell in sheet.cells.select_related("run"):
        run_now(cell.run)
    return {
        "batch": batch.pk,
        "evaluation": evaluation.pk,
        "sheet": sheet.pk,
        "slug": base.slug,
        "direction": direction.slug,
        "version": public.version,
        "manifest_hash": public.manifest_hash,
        "draft": direction.drafts.get().pk,
        "run": waiting.pk,
        "record": record.pk,
        "other": other.pk,
        "check_pk": check.pk,
    }


def page_urls(w: dict[str, Any]) -> list[str]:
    """A GET URL for every page the resolver knows, the admin's included."""
    urls: list[str] = []

    def walk(patterns: list[Any], namespace: str | None, prefix: str) -> None:
        for p in patterns:
            if isinstance(p, URLResolver):
                walk(p.url_patterns, p.namespace or namespace, prefix + str(p.pattern))
            elif isinstance(p, URLPattern) and p.name:
                params = list(p.pattern.regex.groupindex)
                if namespace == "admin":
                    values = {"app_label": "templates_app", "model_name": "workflow", "object_id": "1"}
                    urls.append(reverse(f"admin:{p.name}", kwargs={k: values.get(k, "1") for k in params}))
                elif p.name not in NOT_PAGES and (
                    p.name == "api-docs" or not (prefix + str(p.pattern)).startswith("api/")
                ):
                    pk = {
                        "draft": w["draft"],
                        "run": w["run"],
                        "record": w["record"],
                        "batch": w["batch"],
                        "evaluation": w["evaluation"],
                        "contact-sheet": w["sheet"],
                    }
                    kind = next((k for k in pk if p.name == k or p.name.startswith(k + "-")), None)
                    values = {
                        **w,
                        "pk": pk.get(kind or "", 1),
                        "action": "approve",
                        "sha256": "0" * 64,
                        "family": "local/plasma",
                        "snapshot": "2026-06-15",
                    }
                    urls.append(reverse(p.name, kwargs={k: values[k] for k in params}))

    walk(get_resolver().url_patterns, None, "")
    urls.append(f"/records/compare/?a={w['record']}&b={w['other']}")
    return urls


# htmx fragments are HTML too; the run page's is the live block it polls, the dashboard's a manager's inbox.
FRAGMENTS = [
    "/workflows/?q=camp",
    "/records/?q=first",
    "/runs/{run}/",
    "/",
    "/runs/",
    "/batches/{batch}/",
    "/evaluations/{evaluation}/",
    "/contact-sheets/{sheet}/",
]


@pytest.mark.parametrize("persona", PERSONAS)
def test_every_page_answers_with_the_policy_and_no_inline_code(world, personas, persona):
    client = Client()
    if personas[persona] is not None:
        client.force_login(personas[persona])
    requests: list[tuple[str, dict[str, str]]] = [(url, {}) for url in page_urls(world)]
    requests += [(url.format(**world), {"HX-Request": "true"}) for url in FRAGMENTS]
    failures: list[str] = []
    html_pages = 0
    for url, headers in requests:
        response = client.get(url, headers=headers)
        what = f"{persona} GET {url}{' (htmx)' if headers else ''} → {response.status_code}"
        if "Content-Security-Policy" not in response:
            failures.append(f"{what}: no Content-Security-Policy")
            continue
        assert_strict(response["Content-Security-Policy"], what)
        if "camera=()" not in response.get("Permissions-Policy", ""):
            failures.append(f"{what}: no Permissions-Policy")
        if response.get("Content-Type", "").startswith("text/html") and response.content:
            html_pages += 1
            failures += [f"{what}: {found}" for found in inline_code(response.content.decode())]
    assert not failures, "\n".join(failures)
    # The walk reached real pages, not only redirects and refusals.
    assert html_pages >= (15 if persona in ("operator", "manager", "admin") else 3), html_pages


def test_the_checker_finds_what_the_policy_blocks():
    page = (
        '<p style="color:red">x</p><script>alert(1)</script><script src="/static/a.js"></script>'
        '<form onsubmit="return confirm(1)"></form><style>p{}</style><a href="javascript:void(0)">'
        '<div hx-on:click="x()"></div><div hx-vals="js:{a: 1}"></div>'
    )
    found = inline_code(page)
    assert len(found) == 7, found
    assert inline_code('<script src="/static/floniks/pages.js" defer></script><p class="mt">ok</p>') == []


def test_the_api_docs_page_has_its_own_policy_and_serves_its_script_from_itself(client):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    assert_strict(response["Content-Security-Policy"], "api docs")
    assert directives(response["Content-Security-Policy"])["img-src"] == ["'self'", "data:"]
    html = response.content.decode()
    assert inline_code(html) == []
    assert "/api/docs/?script=" in html
    script = client.get("/api/docs/?script=")
    assert script.status_code == 200 and script["Content-Type"].startswith("application/javascript")
    assert b"SwaggerUIBundle" in script.content and b"/api/schema/" in script.content
    assert b'"validatorUrl": null' in script.content  # no badge image from a third party


def test_the_site_policy_allows_previews_and_nothing_from_elsewhere(client):
    policy = directives(client.get("/accounts/login/")["Content-Security-Policy"])
    assert policy["img-src"] == ["'self'", "data:", "blob:"]  # blob: the run form's image preview
    assert policy["connect-src"] == ["'self'"]


def test_permissions_policy_on_every_answer_even_errors_and_json(client):
    for url in ("/accounts/login/", "/no-such-page/", "/api/workflows/", "/api/schema/"):
        header = client.get(url).get("Permissions-Policy", "")
        for feature in ("camera", "microphone", "geolocation", "payment", "usb"):
            assert f"{feature}=()" in header, (url, header)


def test_htmx_is_configured_to_need_no_inline_code(client):
    """htmx would otherwise inject an indicator <style>, evaluate hx-on/js: code, run swapped-in
    <script> tags, and copy style attributes across swaps — all refused by the policy."""
    import json
    import re

    html = client.get("/accounts/login/").content.decode()
    found = re.search(r"<meta name=\"htmx-config\" content='([^']*)'>", html)
    assert found is not None
    config = json.loads(found.group(1))
    assert config["includeIndicatorStyles"] is False
    assert config["allowEval"] is False and config["allowScriptTags"] is False
    assert "style" not in config["attributesToSettle"]


def test_images_may_follow_the_artifact_redirect_to_the_bucket(monkeypatch):
    """With S3 storage, /artifacts/<sha256> redirects to the bucket, and an <img> must be let through."""
    import runpy

    from django.conf import settings

    monkeypatch.setenv("DEBUG", "1")
    monkeypatch.setenv("S3_BUCKET", "floniks-artifacts")
    monkeypatch.setenv("S3_ENDPOINT_URL", "http://127.0.0.1:9000/some/path")
    monkeypatch.setenv("CSP_EXTRA_IMG_SRC", "https://cdn.example.com")
    path = str(settings.BASE_DIR / "floniks" / "settings.py")
    img_src = runpy.run_path(path)["CONTENT_SECURITY_POLICY"]["DIRECTIVES"]["img-src"]
    assert img_src == ["'self'", "data:", "blob:", "http://127.0.0.1:9000", "https://cdn.example.com"]
    monkeypatch.delenv("S3_ENDPOINT_URL")
    monkeypatch.setenv("S3_REGION", "eu-central-1")
    img_src = runpy.run_path(path)["CONTENT_SECURITY_POLICY"]["DIRECTIVES"]["img-src"]
    assert "https://floniks-artifacts.s3.amazonaws.com" in img_src
    assert "https://floniks-artifacts.s3.eu-central-1.amazonaws.com" in img_src
