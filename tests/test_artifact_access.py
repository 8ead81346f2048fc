"""/artifacts/<sha256> and its thumbnail for every authenticated client: a script with
only an API token downloads what the API pointed it at; outsiders get a 404 as if the
artifact did not exist; answers never let a browser sniff a type; a GET never writes."""

from __future__ import annotations

import hashlib
import html
import io
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.storage import FileSystemStorage
from django.core.management import call_command
from django.test import Client
from PIL import Image
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from runs_app import execution, services
from runs_app.storage import THUMB_SIDE, artifact_storage, store_file, thumb_key
from tests.helpers import finished_record, small_definition

pytestmark = pytest.mark.django_db

IMAGE_TYPES = {"image/png", "image/jpeg", "image/webp", "image/gif"}


def token_client(user) -> APIClient:
    """Only the token: no session, no forced authentication."""
    client = APIClient()
    if user is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=user)[0].key}")
    return client


def body_of(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def png(colour: tuple[int, int, int] = (200, 120, 40), size: tuple[int, int] = (640, 480)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, colour).save(buf, "PNG")
    return buf.getvalue()


def files_under(root: Path) -> dict[str, int]:
    return {str(p.relative_to(root)): p.stat().st_size for p in root.rglob("*") if p.is_file()}


def reference_definition() -> dict:
    d = small_definition()
    d["steps"][1]["params"]["image"] = "{{inputs.reference}}"
    d["steps"][1]["params"]["prompt"] = "{{inputs.subject}}"
    d["outputs"] = {"hero": "{{steps.styled.output}}", "plate": "{{steps.background.output}}"}
    return d


def urls_in(run: dict, record: dict) -> set[str]:
    urls = {o["url"] for step in run["steps"] for o in step["outputs"]}
    urls |= {o["url"] for o in run["outputs"].values()}
    urls |= {o["url"] for o in record["outputs"].values()}
    urls |= {r["url"] for r in record["reference_images"]}
    return urls


def test_a_token_client_downloads_every_output_and_reference_the_api_gave_it(make_workflow, publish, operator):
    client = token_client(operator)
    workflow = make_workflow()
    publish(workflow, reference_definition())
    upload = io.BytesIO(png())
    upload.name = "client-photo.png"
    reference = client.post("/api/artifacts/", {"file": upload}, format="multipart")
    assert reference.status_code == 201, reference.content
    started = client.post(
        "/api/runs/",
        {"workflow": workflow.slug, "inputs": {"subject": "a fox", "reference": reference.json()["sha256"]}},
        format="json",
    )
    assert started.status_code == 201, started.content
    run_id = started.json()["id"]
    execution.run_inline(run_id, worker="test-process")  # what the worker would do
    finalized = client.post(f"/api/runs/{run_id}/finalize/", {"label": "fox", "annotation": "for the client"})
    assert finalized.status_code == 202, finalized.content
    services.write_record(run_id=run_id)

    run = client.get(f"/api/runs/{run_id}/").json()
    record = client.get(f"/api/records/{run['record_id']}/").json()
    urls = urls_in(run, record)
    assert reference.json()["url"] in urls and len(urls) == 3  # the reference, the plate and the hero

    for url in sorted(urls):
        answer = client.get(url)
        assert answer.status_code == 200, (url, answer.status_code)
        assert hashlib.sha256(body_of(answer)).hexdigest() == url.rsplit("/", 1)[-1]
        assert answer["Content-Type"] in IMAGE_TYPES and answer["X-Content-Type-Options"] == "nosniff"
        thumb = client.get(url + "/thumb")
        assert thumb.status_code == 200 and thumb["Content-Type"] == "image/webp"
        assert thumb["X-Content-Type-Options"] == "nosniff"
        with Image.open(io.BytesIO(body_of(thumb))) as small:
            assert max(small.size) <= THUMB_SIDE


def test_outsiders_get_404_for_an_internal_records_artifacts(make_workflow, publish, operator, outsider):
    workflow = make_workflow()
    publish(workflow, small_definition(), visibility="public")  # even a public workflow's outputs stay internal
    record = finished_record(operator, workflow)
    url = record.outputs["hero"]["url"]
    assert token_client(operator).get(url).status_code == 200

    session_outsider = APIClient()
    session_outsider.force_login(outsider)
    for who, client in {
        "anonymous": APIClient(),
        "role-less token": token_client(outsider),
        "role-less session": session_outsider,
    }.items():
        for address in (url, url + "/thumb", "/artifacts/" + "0" * 64):
            answer = client.get(address)
            assert answer.status_code == 404, (who, address, answer.status_code)
            assert answer.json()["code"] == "not_found" and answer["X-Content-Type-Options"] == "nosniff"
    bad_token = APIClient()
    bad_token.credentials(HTTP_AUTHORIZATION="Token not-a-token")
    refused = bad_token.get(url)
    assert refused.status_code == 401 and refused["X-Content-Type-Options"] == "nosniff"
    assert token_client(operator).options(url).status_code == 405, "only GET and HEAD"


def test_the_thumbnail_is_made_when_stored_and_a_get_writes_nothing(operator, monkeypatch):
    storage = artifact_storage()
    assert isinstance(storage, FileSystemStorage)
    artifact = store_file(png((10, 90, 200)), media_type="image/png", extension="png", width=640, height=480)
    assert storage.exists(thumb_key(artifact.sha256)), "made when the bytes were stored"
    client = token_client(operator)
    root = Path(settings.MEDIA_ROOT)

    def no_writes(*args, **kwargs):
        raise AssertionError("a GET wrote to storage")

    monkeypatch.setattr(FileSystemStorage, "save", no_writes)
    before = files_under(root)
    thumb = client.get(f"{artifact.url}/thumb")
    assert thumb.status_code == 200 and thumb["Content-Type"] == "image/webp"
    assert "immutable" in thumb["Cache-Control"]

    # A thumbnail that does not exist (an artifact stored before thumbnails were made at store
    # time): the original stands in, uncached, and still nothing is written.
    (root / thumb_key(artifact.sha256)).unlink()
    before = files_under(root)
    fallback = client.get(f"{artifact.url}/thumb")
    assert fallback.status_code == 200 and fallback["Content-Type"] == "image/png"
    assert body_of(fallback) == storage.open(artifact.storage_key).read()
    assert fallback["Cache-Control"] == "private, no-cache" and fallback["X-Content-Type-Options"] == "nosniff"
    assert files_under(root) == before

    monkeypatch.undo()
    call_command("make_thumbnails", stdout=io.StringIO())
    assert storage.exists(thumb_key(artifact.sha256)), "the backfill command makes what is missing"


def test_anything_but_a_stored_image_type_is_a_download(operator):
    page = b"<html><script>alert(1)</script></html>"
    artifact = store_file(page, media_type="text/html", extension="html", width=0, height=0)
    assert not artifact_storage().exists(thumb_key(artifact.sha256)), "no thumbnail for what is not an image"
    client = token_client(operator)
    answer = client.get(artifact.url)
    assert answer.status_code == 200 and body_of(answer) == page
    assert answer["Content-Type"] == "application/octet-stream"
    assert answer["Content-Disposition"].startswith("attachment;")
    assert answer["X-Content-Type-Options"] == "nosniff"
    assert client.get(f"{artifact.url}/thumb").status_code == 404


def test_a_download_name_is_a_safe_attachment_name_with_the_stored_extension(operator):
    artifact = store_file(b"\x89PNG not really", media_type="image/png", extension="png", width=1, height=1)
    client = token_client(operator)
    for asked, saved in (
        ("campaign-a-v3-fox-hero", "campaign-a-v3-fox-hero.png"),
        ("campaign-a-v3-fox-hero.png", "campaign-a-v3-fox-hero.png"),
        ('../../etc/passwd"\r\nSet-Cookie: x=1', "etc-passwd-Set-Cookie-x-1.png"),  # no path, no header
        ("évasion.html", "vasion.html.png"),  # the stored type's extension, whatever was asked
    ):
        answer = client.get(artifact.url, {"download": asked})
        assert answer.status_code == 200 and answer["Content-Type"] == "image/png"
        assert answer["Content-Disposition"] == f'attachment; filename="{saved}"', asked
    assert client.get(artifact.url, {"download": "///"})["Content-Disposition"].startswith("inline;")
    assert client.get(artifact.url)["Content-Disposition"].startswith("inline;")


def test_a_runs_output_downloads_under_its_workflow_run_and_name(make_workflow, publish, operator):
    workflow = make_workflow()
    publish(workflow, small_definition())
    record = finished_record(operator, workflow)
    browser = Client()
    browser.force_login(operator)
    page = browser.get(f"/runs/{record.run_id}/").content.decode()
    expected = f"{workflow.slug}-run-{str(record.run_id)[:8]}-hero"
    link = re.search(r'href="([^"]+)" download data-testid="download-output-hero"', page)
    assert link and link.group(1) == f"{record.outputs['hero']['url']}?download={expected}"
    answer = browser.get(html.unescape(link.group(1)))
    assert answer["Content-Disposition"] == f'attachment; filename="{expected}.png"'
    assert hashlib.sha256(body_of(answer)).hexdigest() == record.outputs["hero"]["sha256"]
