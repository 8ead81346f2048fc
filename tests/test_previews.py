"""Web-sized previews: made when an output is stored (never on a GET), at most 1024 px on the long
side (an animation stays animated, its frames at most 512 px), served at /artifacts/<sha>/preview
under the thumbnail's access rules; the run and record pages show previews linking the originals,
and the dashboard shows thumbnails."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.storage import FileSystemStorage
from django.core.management import call_command
from PIL import Image
from rest_framework.test import APIClient

from runs_app import services
from runs_app.storage import (
    ANIMATED_PREVIEW_SIDE,
    PREVIEW_SIDE,
    artifact_storage,
    preview_key,
    store_file,
    thumb_key,
)
from tests.helpers import finished_record, small_definition
from tests.test_artifact_access import body_of, files_under, png, token_client

pytestmark = pytest.mark.django_db


def animated_gif(size: tuple[int, int], frames: int = 4, fmt: str = "GIF") -> bytes:
    pictures = [Image.new("RGB", size, (40 * i, 200 - 40 * i, 90)) for i in range(frames)]
    buf = io.BytesIO()
    pictures[0].save(buf, fmt, save_all=True, append_images=pictures[1:], duration=80, loop=0)
    return buf.getvalue()


def stored_preview(sha: str) -> Image.Image:
    with artifact_storage().open(preview_key(sha), "rb") as f:
        picture = Image.open(io.BytesIO(f.read()))
    picture.load()
    return picture


def test_storing_a_large_picture_makes_its_preview_at_most_1024_px():
    artifact = store_file(png(size=(4096, 2048)), media_type="image/png", extension="png", width=4096, height=2048)
    preview = stored_preview(artifact.sha256)
    assert preview.format == "WEBP" and preview.size == (PREVIEW_SIDE, PREVIEW_SIDE // 2)


@pytest.mark.parametrize("fmt", ["GIF", "WEBP"])
def test_an_animation_s_preview_stays_animated_and_bounded(fmt):
    data = animated_gif((1600, 1200), fmt=fmt)
    media_type, extension = f"image/{fmt.lower()}", fmt.lower()
    artifact = store_file(data, media_type=media_type, extension=extension, width=1600, height=1200, frames=4)
    preview = stored_preview(artifact.sha256)
    assert preview.format == "WEBP" and getattr(preview, "is_animated", False)
    assert preview.n_frames == 4, "every frame plays"
    assert max(preview.size) <= ANIMATED_PREVIEW_SIDE


def test_a_long_animation_s_frames_shrink_further_so_the_preview_stays_bounded(monkeypatch):
    from runs_app import storage

    monkeypatch.setattr(storage, "ANIMATED_PREVIEW_PIXELS", 4 * 200 * 200)  # as if 4 frames were a long animation
    artifact = store_file(
        animated_gif((800, 600)), media_type="image/gif", extension="gif", width=800, height=600, frames=4
    )
    preview = stored_preview(artifact.sha256)
    assert preview.n_frames == 4 and max(preview.size) == 200


def test_the_preview_url_writes_nothing_and_stands_in_without_the_large_original(operator, monkeypatch):
    storage = artifact_storage()
    assert isinstance(storage, FileSystemStorage)
    large = store_file(png((9, 9, 9), (3000, 2000)), media_type="image/png", extension="png", width=3000, height=2000)
    small = store_file(png((1, 2, 3), (640, 480)), media_type="image/png", extension="png", width=640, height=480)
    assert not storage.exists(preview_key(small.sha256)), "a small picture is its own preview"
    root = Path(settings.MEDIA_ROOT)
    client = token_client(operator)

    def no_writes(*args, **kwargs):
        raise AssertionError("a GET wrote to storage")

    monkeypatch.setattr(FileSystemStorage, "save", no_writes)
    before = files_under(root)
    answer = client.get(f"{large.url}/preview")
    assert answer.status_code == 200 and answer["Content-Type"] == "image/webp"
    assert answer["X-Content-Type-Options"] == "nosniff" and "immutable" in answer["Cache-Control"]
    with Image.open(io.BytesIO(body_of(answer))) as shown:
        assert max(shown.size) <= PREVIEW_SIDE
    own = client.get(f"{small.url}/preview")
    assert own.status_code == 200 and body_of(own) == storage.open(small.storage_key).read()

    # A large picture stored before previews were made: its thumbnail stands in, never the original.
    (root / preview_key(large.sha256)).unlink()
    before = files_under(root)
    stand_in = client.get(f"{large.url}/preview")
    assert stand_in.status_code == 200 and body_of(stand_in) == storage.open(thumb_key(large.sha256)).read()
    assert stand_in["Cache-Control"] == "private, no-cache"
    assert files_under(root) == before

    monkeypatch.undo()
    call_command("make_thumbnails", stdout=io.StringIO())
    assert storage.exists(preview_key(large.sha256)), "the backfill command makes missing previews too"


def test_outsiders_get_404_for_a_preview(make_workflow, publish, operator, outsider):
    workflow = make_workflow()
    publish(workflow, small_definition(), visibility="public")
    record = finished_record(operator, workflow)
    url = record.outputs["hero"]["url"] + "/preview"
    assert token_client(operator).get(url).status_code == 200
    session_outsider = APIClient()
    session_outsider.force_login(outsider)
    for who, client in {
        "anonymous": APIClient(),
        "role-less token": token_client(outsider),
        "role-less session": session_outsider,
    }.items():
        answer = client.get(url)
        assert answer.status_code == 404, (who, answer.status_code)
        assert answer["X-Content-Type-Options"] == "nosniff"
    html = store_file(b"<html></html>", media_type="text/html", extension="html", width=0, height=0)
    assert token_client(operator).get(f"{html.url}/preview").status_code == 404, "not a picture: no preview"


def img_sources(html: str) -> list[str]:
    return re.findall(r"<img[^>]*\ssrc=\"([^\"]+)\"", html)


def test_the_run_and_record_pages_show_previews_linking_the_originals(client, make_workflow, publish, operator):
    workflow = make_workflow()
    publish(workflow, small_definition())
    record = finished_record(operator, workflow)
    hero = record.outputs["hero"]
    client.force_login(operator)
    for url in (f"/records/{record.pk}/", f"/runs/{record.run_id}/"):
        html = client.get(url).content.decode()
        sources = img_sources(html)
        assert f"/artifacts/{hero['sha256']}/preview" in sources, url
        assert not any(re.fullmatch(r"/artifacts/[0-9a-f]{64}", s) for s in sources), (url, sources)
        assert f'href="{hero["url"]}"' in html, f"{url} links the original"
    record_page = client.get(f"/records/{record.pk}/").content.decode()
    shown = re.sub(r"<[^>]+>", "", record_page)  # the text a reader sees, without attributes
    assert hero["sha256"] not in shown, "the full hash is in a tooltip and a copy button, not a line of text"
    assert f"{hero['sha256'][:12]}…" in shown and f'data-copy="{hero["sha256"]}"' in record_page


def test_the_dashboard_shows_thumbnails_of_runs_and_approved_records(client, make_workflow, publish, operator, manager):
    workflow = make_workflow()
    publish(workflow, small_definition())
    record = finished_record(operator, workflow)
    services.approve_record(actor=manager, record=record)
    client.force_login(operator)
    sources = img_sources(client.get("/").content.decode())
    thumb = f"/artifacts/{record.outputs['hero']['sha256']}/thumb"
    assert sources.count(thumb) == 2, sources  # among my recent runs, and recently approved
