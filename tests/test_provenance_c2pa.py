"""C2PA provenance (DESIGN §13, issue 14): every record output gets a signed copy that c2pa-python
reads as Trusted against the development anchor, carrying the record; tampering shows; anyone can
verify a file (the record named only to who may see it); signing down never loses a record and the
sweep signs it once fixed; WebP and GIF outputs carry provenance in their own metadata."""

from __future__ import annotations

import copy
import hashlib
import io
import json
import zlib
from dataclasses import replace
from pathlib import Path
from typing import Any

import c2pa
import pytest
from django.conf import settings
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from PIL import Image

from core.throttling import ClientScopedRateThrottle
from runs_app import provenance, services, signing, sweep
from runs_app.generators.base import StepRequest
from runs_app.generators.builtin import BuiltinProvider, embedded_provenance
from runs_app.models import Artifact, PendingSignature, Run, RunStatus, SignedOutput, VersionRecord
from runs_app.storage import read_artifact
from tests.helpers import SMALL, finished_record, png_bytes, run_now, small_definition, wait_for

pytestmark = pytest.mark.django_db

ANIMATION = {"prompt": "{{inputs.subject}} at dusk", "frames": 3, "width": 64, "height": 64, "fps": 6}


def three_formats() -> dict[str, Any]:
    """A still PNG, a WebP animation and a GIF animation: every format Floniks writes."""
    d = copy.deepcopy(SMALL)
    d["steps"] += [
        {"id": "loop", "kind": "animate", "model": "local/aurora", "params": {**ANIMATION, "format": "webp"}},
        {"id": "gif", "kind": "animate", "model": "local/aurora", "params": {**ANIMATION, "format": "gif"}},
    ]
    d["outputs"] = {"hero": "{{steps.styled.output}}", "loop": "{{steps.loop.output}}", "gif": "{{steps.gif.output}}"}
    return d


@pytest.fixture
def record(make_workflow, publish, operator) -> VersionRecord:
    """A finalised record of three outputs (PNG, WebP, GIF) made with a reference image, not yet signed."""
    wf = make_workflow()
    publish(wf, three_formats())
    reference = services.upload_artifact(actor=operator, data=png_bytes((24, 24)).getvalue())
    run = run_now(
        services.start_run(actor=operator, workflow=wf, inputs={"subject": "a fox", "reference": reference.sha256})
    )
    services.finalize_run(actor=operator, run=run, label="warm fox", annotation="for the client")
    made = services.write_record(run_id=run.pk)
    assert made is not None
    return made


def detail(record: VersionRecord) -> VersionRecord:
    return VersionRecord.objects.for_detail().get(pk=record.pk)


def signed_bytes(record: VersionRecord, name: str) -> bytes:
    return read_artifact(Artifact.objects.get(sha256=detail(record).signed_outputs[name]["sha256"]))


def trusted_context() -> c2pa.Context:
    anchors = Path(settings.FLONIKS_C2PA_TRUST_ANCHORS_FILE).read_text()
    return c2pa.Context.from_dict({"trust": {"trust_anchors": anchors}, "verify": {"verify_trust": True}})


def read_manifest(data: bytes, media_type: str) -> tuple[str | None, dict[str, Any]]:
    with c2pa.Reader(media_type, io.BytesIO(data), None, trusted_context()) as reader:
        return reader.get_validation_state(), reader.get_active_manifest() or {}


def one_pixel_byte_changed(data: bytes) -> bytes:
    """The signed PNG with one byte of one pixel changed: its image data (IDAT) inflated, one byte
    of the first row's pixels flipped, deflated again. A valid PNG whose picture differs by one
    byte, which only the manifest's hash can tell."""
    chunks, at = [], 8
    while at < len(data):
        length = int.from_bytes(data[at : at + 4], "big")
        chunks.append((data[at + 4 : at + 8], data[at + 8 : at + 8 + length]))
        at += 12 + length
    pixels = bytearray(zlib.decompress(b"".join(body for kind, body in chunks if kind == b"IDAT")))
    pixels[1] ^= 0x01  # [0] is the row's filter type; [1] its first pixel's red
    out, written = [data[:8]], False
    for kind, body in chunks:
        if kind == b"IDAT":
            if written:
                continue
            kind, body, written = b"IDAT", zlib.compress(bytes(pixels), 6), True
        out.append(len(body).to_bytes(4, "big") + kind + body + zlib.crc32(kind + body).to_bytes(4, "big"))
    return b"".join(out)


# --- signing ------------------------------------------------------------------------------------


def test_writing_a_record_enqueues_its_signing_on_commit(
    make_workflow, publish, operator, django_capture_on_commit_callbacks, monkeypatch
):
    wf = make_workflow()
    publish(wf, copy.deepcopy(SMALL))
    run = run_now(services.start_run(actor=operator, workflow=wf, inputs={"subject": "a fox"}))
    services.finalize_run(actor=operator, run=run, label="fox", annotation="why")
    sent: list[tuple[str, list[Any]]] = []
    monkeypatch.setattr("runs_app.dispatch._send", lambda name, args, options: sent.append((name, args)))
    with django_capture_on_commit_callbacks(execute=True):
        made = services.write_record(run_id=run.pk)
    assert made is not None
    assert ("runs_app.tasks.sign_version_record", [str(made.pk)]) in sent


@pytest.mark.django_db(transaction=True)
@pytest.mark.worker
def test_a_real_worker_signs_each_output_once_the_record_is_written(worker, make_workflow, publish, operator, api):
    wf = make_workflow()
    publish(wf, three_formats())
    client = api(operator)
    run = client.post("/api/runs/", {"workflow": wf.slug, "inputs": {"subject": "a fox"}}, format="json").json()
    wait_for(lambda: Run.objects.get(pk=run["id"]).status == RunStatus.AWAITING_ANNOTATION, 120, what="the run's steps")
    finalized = client.post(f"/api/runs/{run['id']}/finalize/", {"label": "fox", "annotation": "why"}, format="json")
    assert finalized.status_code == 202
    record = wait_for(lambda: VersionRecord.objects.filter(run_id=run["id"]).first(), 60, what="the record")
    signed = wait_for(
        lambda: client.get(f"/api/records/{record.pk}/").json()["signed_outputs"] or None, 60, what="the signing"
    )
    assert set(signed) == set(record.outputs) == {"hero", "loop", "gif"}
    for name, copy_ in signed.items():
        found = signing.verify(
            client.get(copy_["url"]).getvalue(), record.outputs[name]["media_type"], signing.trust_anchors()
        )
        assert found.state == "trusted" and found.record["id"] == str(record.pk), name


def test_every_output_gets_a_signed_copy_trusted_against_the_development_anchor(record):
    assert detail(record).signing_pending
    assert list(provenance.unsigned_records()) == [record], "written, it waits for the sweep if need be"
    assert services.sign_record(record_id=record.pk) == 3
    assert not provenance.unsigned_records().exists() and not PendingSignature.objects.exists()
    shown = detail(record)
    assert set(shown.signed_outputs) == {"hero", "loop", "gif"} and not shown.signing_pending
    for name, out in record.outputs.items():
        data = signed_bytes(record, name)
        state, manifest = read_manifest(data, out["media_type"])
        assert state == "Trusted", name
        assertions = {a["label"]: a["data"] for a in manifest["assertions"]}
        assert assertions["com.floniks.record"] == {
            "id": str(record.pk),
            "number": record.number,
            "label": record.label,
            "workflow": record.workflow.slug,
            "version": record.version.version,
            "manifest_hash": record.manifest_hash,
            "spec_hash": record.spec_hash,
            "seeds": record.seeds,
            "models": record.step_models,
            "output": name,
        }
        created = assertions["c2pa.actions.v2"]["actions"][0]
        assert created["action"] == "c2pa.created"
        assert created["digitalSourceType"].endswith("/trainedAlgorithmicMedia")
        assert manifest["claim_generator_info"][0]["name"] == "Floniks"
        assert manifest["claim_generator_info"][0]["version"] == settings.FLONIKS_VERSION
        # The reference image the run was given is the manifest's ingredient.
        assert [i["relationship"] for i in manifest["ingredients"]] == ["inputTo"]
        # The original is untouched: its bytes still hash to the record's sha256, and the copy is another artifact.
        original = read_artifact(Artifact.objects.get(sha256=out["sha256"]))
        assert hashlib.sha256(original).hexdigest() == out["sha256"]
        assert hashlib.sha256(data).hexdigest() == shown.signed_outputs[name]["sha256"] != out["sha256"]
        assert Artifact.objects.get(sha256=shown.signed_outputs[name]["sha256"]).kind == Artifact.Kind.SIGNED


def test_signing_twice_makes_no_second_copy(record):
    services.sign_record(record_id=record.pk)
    first = detail(record).signed_outputs
    assert services.sign_record(record_id=record.pk) == 0
    assert detail(record).signed_outputs == first and SignedOutput.objects.filter(record=record).count() == 3


def test_one_changed_pixel_byte_makes_the_signed_copy_invalid(record):
    services.sign_record(record_id=record.pk)
    tampered = one_pixel_byte_changed(signed_bytes(record, "hero"))
    with Image.open(io.BytesIO(tampered)) as changed, Image.open(io.BytesIO(signed_bytes(record, "hero"))) as before:
        assert changed.getpixel((0, 0)) != before.getpixel((0, 0))  # still a valid PNG: its pixels changed
    assert read_manifest(tampered, "image/png")[0] == "Invalid"
    assert signing.verify(tampered, "image/png", signing.trust_anchors()).state == "invalid"


def test_an_unsigned_output_has_no_manifest(record):
    original = read_artifact(Artifact.objects.get(sha256=record.outputs["hero"]["sha256"]))
    assert c2pa.Reader.try_create("image/png", io.BytesIO(original)) is None
    assert signing.verify(original, "image/png", signing.trust_anchors()).state == "none"


def test_a_signer_outside_the_anchors_is_valid_not_trusted(record, tmp_path):
    services.sign_record(record_id=record.pk)
    other = signing.make_development_credentials(tmp_path / "elsewhere")
    found = signing.verify(signed_bytes(record, "hero"), "image/png", other.ca.read_text())
    assert found.state == "valid" and found.record["id"] == str(record.pk)


# --- signing down, then the sweep ---------------------------------------------------------------


def test_signing_down_keeps_the_record_pending_and_the_sweep_signs_it_once_fixed(record, operator, settings):
    key = settings.FLONIKS_C2PA_KEY_FILE
    settings.FLONIKS_C2PA_KEY_FILE = "/nonexistent/signer.key"
    with pytest.raises(signing.SigningUnavailable):
        services.sign_record(record_id=record.pk)
    assert sweep.sweep()["signed"] == 0
    client = Client()
    client.force_login(operator)
    page = client.get(f"/records/{record.pk}/").content.decode()
    assert "signing pending" in page and record.label in page
    assert client.get(f"/api/records/{record.pk}/").json()["signed_outputs"] == {}

    settings.FLONIKS_C2PA_KEY_FILE = key
    assert sweep.sweep()["signed"] == 1
    page = client.get(f"/records/{record.pk}/").content.decode()
    assert "signing pending" not in page
    signed = client.get(f"/api/records/{record.pk}/").json()["signed_outputs"]
    assert set(signed) == {"hero", "loop", "gif"}
    assert signed["hero"]["url"] in page
    assert client.get(signed["hero"]["url"]).status_code == 200


def test_a_record_whose_signing_key_does_not_match_its_certificate_stays_pending(record, settings, tmp_path):
    other = signing.make_development_credentials(tmp_path / "other")
    settings.FLONIKS_C2PA_KEY_FILE = str(other.key)  # a key, but not the certificate's
    with pytest.raises(signing.SigningUnavailable):
        services.sign_record(record_id=record.pk)
    assert detail(record).signing_pending and not SignedOutput.objects.filter(record=record).exists()
    assert list(provenance.unsigned_records()) == [record], "the sweep tries it again"


def test_records_signed_before_the_signing_queue_are_not_queued_and_the_rest_are(
    record, operator, make_workflow, publish
):
    """The migration that made the queue of records waiting to be signed filled it from what was
    there: each record without its copies, none with them."""
    import importlib

    from django.apps import apps

    services.sign_record(record_id=record.pk)
    second = make_workflow("second", "Second")
    publish(second, small_definition())
    waiting = finished_record(operator, second)
    PendingSignature.objects.all().delete()  # as before the migration
    importlib.import_module("runs_app.migrations.0017_pending_signature").pending_now(apps, None)
    assert list(PendingSignature.objects.values_list("record_id", flat=True)) == [waiting.pk]
    assert list(provenance.unsigned_records()) == [waiting]


# --- verify: the API -----------------------------------------------------------------------------


def verify(client: Any, data: bytes, name: str = "file.png") -> Any:
    return client.post("/api/provenance/verify/", {"file": SimpleUploadedFile(name, data)}, format="multipart")


def test_verify_answers_each_state_and_the_record_to_an_operator_only(record, api, operator):
    services.sign_record(record_id=record.pk)
    signed = signed_bytes(record, "hero")
    original = read_artifact(Artifact.objects.get(sha256=record.outputs["hero"]["sha256"]))

    answer = verify(api(operator), signed).json()
    assert answer["state"] == "trusted" and "Floniks development signer" in answer["signer"]
    assert answer["record"] == {
        "id": str(record.pk),
        "label": record.label,
        "workflow": record.workflow.slug,
        "version": record.version.version,
    }
    assert (answer["manifest_hash"], answer["spec_hash"]) == (record.manifest_hash, record.spec_hash)

    anonymous = verify(api(None), signed)
    assert anonymous.status_code == 200
    assert anonymous.json()["state"] == "trusted" and anonymous.json()["record"] is None

    assert verify(api(None), one_pixel_byte_changed(signed)).json()["state"] == "invalid"
    assert verify(api(operator), one_pixel_byte_changed(signed)).json()["record"] is None
    nothing = verify(api(operator), original).json()
    assert nothing == {"state": "none", "signer": None, "record": None, "manifest_hash": None, "spec_hash": None}
    for name in ("loop", "gif"):
        assert verify(api(None), signed_bytes(record, name), f"x.{name}").json()["state"] == "trusted"


def test_verify_refuses_hostile_files_with_a_400_or_says_none(record, api):
    services.sign_record(record_id=record.pk)
    signed = signed_bytes(record, "hero")
    client = api(None)
    refused = {
        "text": b"hello, this is not a picture",
        "empty": b"",
        "html": b"<html><script>alert(1)</script></html>",
        "bomb": _png_header(100_000, 100_000),
    }
    for what, data in refused.items():
        answer = verify(client, data)
        assert answer.status_code == 400, what
        assert answer.json()["errors"][0]["path"] == "file", what
    assert client.post("/api/provenance/verify/", {}, format="multipart").status_code == 400

    at = signed.index(b"caBX")
    corrupted = bytearray(signed)
    corrupted[at + 40 : at + 240] = b"\xff" * 200  # the manifest store's bytes garbled
    hostile = {
        "truncated": signed[: len(signed) // 2],
        "corrupted manifest": bytes(corrupted),
        "polyglot": signed + b"PK\x03\x04" + b"\x00" * 64,
        "zip inside": _zip_after_png(),
    }
    for what, data in hostile.items():
        answer = verify(client, data)
        assert answer.status_code in (200, 400), what
        if answer.status_code == 200:
            assert answer.json()["state"] in ("none", "invalid"), what
            assert answer.json()["record"] is None, what


def test_verify_refuses_a_file_over_the_limit(api, monkeypatch):
    monkeypatch.setattr("runs_app.provenance.MAX_UPLOAD_BYTES", 1000)
    answer = verify(api(None), png_bytes((200, 200)).getvalue() + b"\x00" * 2000)
    assert answer.status_code == 400 and answer.json()["errors"][0]["code"] == "file_too_large"


def test_verify_is_throttled(api, monkeypatch):
    cache.clear()
    monkeypatch.setattr(ClientScopedRateThrottle, "THROTTLE_RATES", {"verify": "2/min"})
    client = api(None)
    data = png_bytes().getvalue()
    assert [verify(client, data).status_code for _ in range(3)] == [200, 200, 429]
    cache.clear()


def _png_header(width: int, height: int) -> bytes:
    ihdr = width.to_bytes(4, "big") + height.to_bytes(4, "big") + bytes([8, 2, 0, 0, 0])
    chunk = b"IHDR" + ihdr
    return b"\x89PNG\r\n\x1a\n" + len(ihdr).to_bytes(4, "big") + chunk + zlib.crc32(chunk).to_bytes(4, "big")


def _zip_after_png() -> bytes:
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("evil.txt", "x" * 1000)
    return png_bytes().getvalue() + buf.getvalue()


# --- verify: the page ----------------------------------------------------------------------------


def test_the_verify_page_names_the_record_to_the_team_and_not_to_anyone(record, operator):
    services.sign_record(record_id=record.pk)
    signed = signed_bytes(record, "hero")
    anyone = Client()
    assert anyone.get("/verify/").status_code == 200
    shown = anyone.post("/verify/", {"file": SimpleUploadedFile("fox.png", signed)}).content.decode()
    assert "trusted" in shown and record.label not in shown
    team = Client()
    team.force_login(operator)
    answer = team.post("/verify/", {"file": SimpleUploadedFile("fox.png", signed)}, HTTP_HX_REQUEST="true")
    assert answer.status_code == 200 and record.label in answer.content.decode()
    assert "<html" not in answer.content.decode()  # the result panel alone, for htmx
    refused = anyone.post("/verify/", {"file": SimpleUploadedFile("x.txt", b"not a picture")})
    assert refused.status_code == 400 and "not a picture" in refused.content.decode()


# --- provenance in every format --------------------------------------------------------------------


PROVENANCE = {
    "manifest_hash": "sha256:" + "a" * 64,
    "spec_hash": "sha256:" + "b" * 64,
    "step": "m",
    "model": "local/aurora@2026-06-15",
    "seed": 7,
}


@pytest.mark.parametrize("fmt", ["webp", "gif"])
def test_webp_and_gif_outputs_carry_provenance_and_stay_byte_deterministic(fmt):
    request = StepRequest(
        "animate",
        "local/aurora",
        "2026-06-15",
        7,
        {"prompt": "dusk", "frames": 3, "width": 40, "height": 32, "format": fmt},
        provenance=PROVENANCE,
    )
    first, second = BuiltinProvider().generate(request), BuiltinProvider().generate(replace(request))
    assert first.data == second.data
    assert first.media_type == f"image/{fmt}"
    assert embedded_provenance(first.data) == PROVENANCE
    other = BuiltinProvider().generate(replace(request, provenance={**PROVENANCE, "seed": 8}))
    assert embedded_provenance(other.data)["seed"] == 8


def test_a_record_output_carries_the_provenance_of_its_step(record):
    for name, out in record.outputs.items():
        data = read_artifact(Artifact.objects.get(sha256=out["sha256"]))
        found = embedded_provenance(data)
        assert found["manifest_hash"] == record.manifest_hash and found["spec_hash"] == record.spec_hash, name
        assert json.dumps(found["seed"]) == json.dumps(record.seeds[found["step"]]), name
