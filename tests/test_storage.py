"""Artifacts: content-addressed keys, stored once, on the file system and on a
real S3 endpoint (moto's server on loopback); uploads refused when hostile."""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import subprocess
import sys
import time

import pytest
from django.core.files.storage import storages
from django.test import Client, override_settings
from PIL import Image

from runs_app.models import Artifact
from runs_app.storage import artifact_storage, key_for, store_file, thumb_key
from testing.services import free_port, wait_for_port
from tests.helpers import png_bytes

pytestmark = pytest.mark.django_db


def upload(client, data: bytes, name: str = "file.png"):
    f = io.BytesIO(data)
    f.name = name
    return client.post("/api/artifacts/", {"file": f}, format="multipart")


def test_same_bytes_are_stored_once_under_their_hash():
    data = png_bytes().getvalue()
    a = store_file(data, media_type="image/png", extension="png", width=40, height=30)
    b = store_file(data, media_type="image/png", extension="png", width=40, height=30)
    sha = hashlib.sha256(data).hexdigest()
    assert a.pk == b.pk == sha and Artifact.objects.count() == 1
    assert a.storage_key == f"artifacts/{sha[:2]}/{sha[2:4]}/{sha}.png"
    assert artifact_storage().open(a.storage_key).read() == data


def test_upload_is_reencoded_and_served_to_the_team_only(operator, outsider, api):
    jpeg = io.BytesIO()
    Image.new("RGB", (50, 20), (10, 200, 90)).save(jpeg, "JPEG", exif=b"Exif\x00\x00secret-gps")
    response = upload(api(operator), jpeg.getvalue(), "photo.jpg")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["media_type"] == "image/png" and (body["width"], body["height"]) == (50, 20)
    team = Client()
    team.force_login(operator)
    served = team.get(body["url"])
    assert (
        served.status_code == 200 and hashlib.sha256(b"".join(served.streaming_content)).hexdigest() == body["sha256"]
    )
    assert b"secret-gps" not in artifact_storage().open(key_for(body["sha256"], "png")).read()
    stranger = Client()
    stranger.force_login(outsider)
    assert stranger.get(body["url"]).status_code == 404
    assert Client().get(body["url"]).status_code == 404


def _bomb() -> bytes:
    buf = io.BytesIO()
    Image.new("1", (12000, 12000)).save(buf, "PNG")  # 144 MP of zeros: tiny file, huge image
    return buf.getvalue()


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"", "empty_file"),
        (b"%PDF-1.4 not an image at all", "not_an_image"),
        (png_bytes().getvalue()[:60], "corrupt_image"),
        (b"GIF89a" + b"\x00" * 10, "corrupt_image"),
        (_bomb(), "too_many_pixels"),
    ],
    ids=["empty", "pdf", "truncated", "broken-gif", "decompression-bomb"],
)
def test_hostile_uploads_are_refused_and_nothing_is_stored(operator, api, data, code):
    response = upload(api(operator), data)
    assert response.status_code == 400, response.content
    assert response.json()["errors"][0]["code"] in {code, "not_an_image", "corrupt_image", "empty_file"}
    assert response.json()["errors"][0]["path"] == "file"
    assert not Artifact.objects.exists()


def test_wrong_type_and_oversize(operator, api, settings):
    tiff = io.BytesIO()
    Image.new("RGB", (4, 4)).save(tiff, "TIFF")
    assert upload(api(operator), tiff.getvalue()).json()["errors"][0]["code"] == "unsupported_type"
    from runs_app import storage

    original = storage.MAX_UPLOAD_BYTES
    storage.MAX_UPLOAD_BYTES = 100
    try:
        assert upload(api(operator), png_bytes((300, 300)).getvalue()).json()["errors"][0]["code"] == "file_too_large"
    finally:
        storage.MAX_UPLOAD_BYTES = original
    assert not Artifact.objects.exists()


def test_polyglot_keeps_only_the_picture(operator, api):
    payload = png_bytes().getvalue() + b"<script>alert(1)</script>" + b"PK\x03\x04zipdata"
    body = upload(api(operator), payload).json()
    stored = artifact_storage().open(key_for(body["sha256"], "png")).read()
    assert b"<script>" not in stored and b"PK\x03\x04" not in stored


@pytest.fixture(scope="module")
def s3_endpoint():
    port = free_port()
    server = shutil.which("moto_server") or os.path.join(os.path.dirname(sys.executable), "moto_server")
    proc = subprocess.Popen(
        [server, "-H", "127.0.0.1", "-p", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        wait_for_port(port, 30)
        time.sleep(0.3)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(10)


def test_artifacts_on_an_s3_endpoint(s3_endpoint, operator):
    import boto3

    os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")
    s3 = boto3.client(
        "s3", endpoint_url=s3_endpoint, aws_access_key_id="test", aws_secret_access_key="test", region_name="us-east-1"
    )
    s3.create_bucket(Bucket="floniks-test")
    backend = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": "floniks-test",
            "endpoint_url": s3_endpoint,
            "access_key": "test",
            "secret_key": "test",
            "region_name": "us-east-1",
            "file_overwrite": False,
            "querystring_auth": True,
        },
    }
    with override_settings(STORAGES={**__import__("django.conf").conf.settings.STORAGES, "artifacts": backend}):
        storages._storages.pop("artifacts", None)
        data = png_bytes(colour=(1, 2, 3)).getvalue()
        first = store_file(data, media_type="image/png", extension="png", width=40, height=30)
        Artifact.objects.filter(pk=first.pk)  # the row exists once
        second = store_file(data, media_type="image/png", extension="png", width=40, height=30)
        keys = [o["Key"] for o in s3.list_objects_v2(Bucket="floniks-test").get("Contents", [])]
        assert sorted(keys) == sorted([first.storage_key, thumb_key(first.pk)]) and first.pk == second.pk
        assert s3.get_object(Bucket="floniks-test", Key=first.storage_key)["Body"].read() == data
        client = Client()
        client.force_login(operator)
        redirect = client.get(first.url)
        assert redirect.status_code == 302 and redirect["Location"].startswith(s3_endpoint)
        assert "Signature" in redirect["Location"] or "X-Amz-Signature" in redirect["Location"]
        # The bucket answers under the same safe type the server would give.
        assert "response-content-type=image%2Fpng" in redirect["Location"]
        assert redirect["X-Content-Type-Options"] == "nosniff" and "no-store" in redirect["Cache-Control"]
    storages._storages.pop("artifacts", None)
