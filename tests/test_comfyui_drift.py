"""Environment fingerprints and drift (DESIGN §8, issue 13 item 2), against the ComfyUI test server
over real HTTP: an admin captures a `comfyui/<pool>` snapshot holding what the server reports; when
the server later reports something else (its version, a model file), the workflow page, the run form
and the reproduce form say what changed, and production runs and reproductions answer 409
`model_drift` until the drift is accepted. The pinned record is a real ComfyUI step run on the test
server (imported from a graph, published through the gate, run in this process)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import transaction
from django.test import Client
from django.utils import timezone

from runs_app import services as runs
from runs_app.generators import comfyui_env
from runs_app.models import ReproductionCheck, Run, RunStatus
from templates_app import comfyui as comfyui_pools
from templates_app import services as templates
from templates_app.catalogue import Catalogue
from templates_app.models import ModelFamily, ModelSnapshot
from testing.comfyui_server import ComfyUITestServer
from tests.helpers import png_bytes, run_now

SDXL = "sd_xl_base_1.0.safetensors"
# The pinned record's step runs over HTTP in this process: the step watch must see the test's rows.
ON_SERVER = pytest.mark.django_db(transaction=True)


# Weight-free nodes the test server really executes: an uploaded image over a coloured ground, seeded noise.
GRAPH: dict[str, Any] = {
    "1": {"class_type": "LoadImage", "inputs": {"image": "example.png"}},
    "2": {"class_type": "EmptyImage", "inputs": {"width": 64, "height": 48, "batch_size": 1, "color": 0x3366AA}},
    "3": {"class_type": "ImageBlend", "inputs": {"image1": ["2", 0], "image2": ["1", 0], "blend_factor": 0.6, "blend_mode": "normal"}},
    "4": {"class_type": "ImageAddNoise", "inputs": {"image": ["3", 0], "seed": 0, "strength": 0.35}},
    "5": {"class_type": "SaveImage", "inputs": {"images": ["4", 0], "filename_prefix": "ComfyUI"}},
}  # fmt: skip


@pytest.fixture
def studio(settings, comfyui: ComfyUITestServer) -> Iterator[ComfyUITestServer]:
    """The pool `studio` is the test server."""
    settings.FLONIKS_COMFYUI_POOLS = {"studio": [comfyui.url]}
    comfyui_env.forget()
    comfyui_pools.forget()
    yield comfyui
    comfyui_env.forget()
    comfyui_pools.forget()


def reference(operator: Any) -> str:
    return runs.upload_artifact(actor=operator, data=png_bytes((40, 30), (220, 90, 30)).getvalue()).sha256


def today() -> str:
    return timezone.now().astimezone(dt.UTC).date().isoformat()


def capture(api: Any, admin_user: Any) -> Any:
    return api(admin_user).post("/api/models/comfyui/studio/capture/", {}, format="json")


def change_server(server: ComfyUITestServer) -> None:
    server.version = "0.3.66"
    del server.models["checkpoints"][SDXL]
    comfyui_env.forget()  # what a page would see once the short memory (FLONIKS_COMFYUI_FINGERPRINT_TTL) lapsed
    Catalogue.forget()


@pytest.fixture
def pinned(studio, api, admin_user, operator, manager, make_workflow) -> dict[str, Any]:
    """A captured snapshot, a workflow running on it in production, pinned from an approved record."""
    assert capture(api, admin_user).status_code == 201
    workflow = make_workflow("comfy-poster", "Poster")
    imported = api(operator).post(f"/api/workflows/{workflow.slug}/drafts/import-comfyui/", {"graph": GRAPH})
    assert imported.status_code == 201, imported.content
    published = api(operator).post(f"/api/drafts/{imported.json()['id']}/publish/", {"visibility": "internal"})
    assert published.status_code == 201, published.content
    ref = reference(operator)
    run = run_now(runs.start_run(actor=operator, workflow=workflow, inputs={"reference": ref}))
    assert run.status == RunStatus.AWAITING_ANNOTATION, run.error
    assert run.steps.get().model == f"comfyui/studio@{today()}"
    runs.finalize_run(actor=operator, run=run, label="first look", annotation="the pinned look")
    record = runs.write_record(run_id=run.pk)
    assert record is not None
    runs.approve_record(actor=manager, record=record)
    runs.set_workflow_mode(actor=operator, workflow=workflow, mode="production", pin_record=record)
    Catalogue.forget()
    return {"workflow": workflow, "record": record, "reference": ref}


def test_capture_mints_a_dated_snapshot_holding_what_the_server_reports(studio, api, admin_user):
    answer = capture(api, admin_user)
    assert answer.status_code == 201, answer.content
    body = answer.json()
    assert body["family"] == "comfyui/studio" and body["snapshot"] == today() and body["is_default"] is True
    snapshot = ModelSnapshot.objects.get(family__name="comfyui/studio", snapshot=today())
    fingerprint = snapshot.fingerprint
    assert fingerprint == body["fingerprint"]
    assert (fingerprint["comfyui_version"], fingerprint["python_version"], fingerprint["pytorch_version"]) == (
        "0.3.64",
        "3.12.7",
        "2.5.1+cu124",
    )
    assert fingerprint["devices"] == [{"name": "cuda:0 NVIDIA GeForce RTX 4090 : cudaMallocAsync", "type": "cuda"}]
    assert {"SaveImage", "LoadImage", "ImageAddNoise"} <= set(fingerprint["node_classes"])  # from /object_info
    assert set(fingerprint["models"]) == set(studio.models)
    # The hash the file's header carries (modelspec.hash_sha256), where it has one; listed without otherwise.
    header = studio.models["checkpoints"][SDXL]
    assert header is not None and fingerprint["models"]["checkpoints"][SDXL] == header["modelspec.hash_sha256"]
    assert fingerprint["models"]["checkpoints"]["v1-5-pruned-emaonly.ckpt"] is None
    assert ModelFamily.objects.get(name="comfyui/studio").provider == "comfyui"
    # One snapshot a day: a second capture today is refused, not silently merged.
    again = capture(api, admin_user)
    assert again.status_code == 409 and again.json()["code"] == "snapshot_exists"


def test_the_pools_first_snapshot_receives_its_fingerprint_at_the_first_capture(studio, api, admin_user):
    """Settings naming a pool mint its family with a snapshot dated that day and no fingerprint, so its
    steps can be published at once; the first capture fills it, and from then on it never changes."""
    templates.sync_comfyui_families()
    first = ModelSnapshot.objects.get(family__name="comfyui/studio")
    assert first.snapshot == today() and first.fingerprint == {}
    answer = capture(api, admin_user)
    assert answer.status_code == 201 and answer.json()["snapshot"] == today()
    first.refresh_from_db()
    assert first.fingerprint["comfyui_version"] == "0.3.64"
    assert capture(api, admin_user).status_code == 409
    with pytest.raises(Exception, match="snapshot_fingerprint_once"), transaction.atomic():
        ModelSnapshot.objects.filter(pk=first.pk).update(fingerprint={"comfyui_version": "forged"})


def test_a_custom_node_installed_shows_as_a_change(studio, api, admin_user):
    before = comfyui_env.fetch_fingerprint(studio.url)
    studio.extra_node_classes["IPAdapterAdvanced"] = {"input": {"required": {}}, "output": []}
    studio.models["loras"]["detail.safetensors"] = {"sshs_model_hash": "ABC123"}
    studio.models["checkpoints"][SDXL] = {"modelspec.hash_sha256": "0xdeadbeef"}
    changes = comfyui_env.describe_changes(before, comfyui_env.fetch_fingerprint(studio.url))
    assert changes == [
        "node classes: IPAdapterAdvanced added",
        f"checkpoints: {SDXL} changed (another hash)",
        "loras: detail.safetensors added",
    ]


def test_capture_is_for_admins_and_for_servers_that_answer(studio, api, admin_user, manager):
    assert capture(api, manager).status_code == 403
    studio.stop()
    answer = capture(api, admin_user)
    assert answer.status_code == 502
    assert answer.json()["code"] == "provider_unreachable" and studio.url in answer.json()["message"]
    assert not ModelSnapshot.objects.filter(family__name="comfyui/studio").exists()
    plain = api(admin_user).post("/api/models/local/plasma/capture/", {}, format="json")
    assert plain.status_code == 400 and plain.json()["code"] == "not_external"


def test_the_admin_action_captures_too(studio, admin_user, client: Client):
    ModelFamily.objects.create(name="comfyui/studio", tier="standard", provider="comfyui")
    client.force_login(admin_user)
    family = ModelFamily.objects.get(name="comfyui/studio")
    answer = client.post(
        "/admin/templates_app/modelfamily/",
        {"action": "capture", "_selected_action": [family.pk]},
        follow=True,
    )
    assert answer.status_code == 200
    snapshot = ModelSnapshot.objects.get(family=family)
    assert snapshot.snapshot == today() and snapshot.fingerprint["comfyui_version"] == "0.3.64"


@ON_SERVER
def test_no_drift_while_the_server_reports_what_was_captured(pinned, client: Client, operator):
    client.force_login(operator)
    record = pinned["record"]
    for url in ("/workflows/comfy-poster/", "/workflows/comfy-poster/run/", f"/records/{record.pk}/"):
        assert b"has changed since" not in client.get(url).content, url
    run = runs.start_run(actor=operator, workflow=pinned["workflow"], inputs={"reference": pinned["reference"]})
    assert run.mode == "production"


@ON_SERVER
def test_a_changed_server_is_named_on_every_page_and_refused_until_accepted(pinned, studio, client, api, operator):
    workflow, record = pinned["workflow"], pinned["record"]
    change_server(studio)
    client.force_login(operator)
    said = f"ComfyUI 0.3.64 → 0.3.66; checkpoints: {SDXL} removed"
    for url in ("/workflows/comfy-poster/", "/workflows/comfy-poster/run/", f"/records/{record.pk}/"):
        page = client.get(url)
        assert page.status_code == 200
        assert said in page.content.decode(), url
    # The reproduce form offers to go on despite it; the run form asks for the same consent.
    assert "Reproduce on today's environment" in client.get(f"/records/{record.pk}/").content.decode()
    assert b'name="accept_model_drift"' in client.get("/workflows/comfy-poster/run/").content

    refused = api(operator).post(f"/api/records/{record.pk}/reproduce/", {}, format="json")
    assert refused.status_code == 409 and refused.json()["code"] == "model_drift"
    assert said in refused.json()["errors"][0]["message"]
    inputs = {"reference": pinned["reference"]}
    refused = api(operator).post("/api/runs/", {"workflow": workflow.slug, "inputs": inputs})
    assert refused.status_code == 409 and refused.json()["code"] == "model_drift"
    form = client.post("/workflows/comfy-poster/run/", {"input_reference": png_bytes()})
    assert form.status_code == 409 and said in form.content.decode()
    assert not Run.objects.filter(reproduces=record).exists()
    assert Run.objects.filter(workflow=workflow).count() == 1  # the pinned record's own run only

    accepted = api(operator).post(f"/api/records/{record.pk}/reproduce/", {"accept_model_drift": True}, format="json")
    assert accepted.status_code == 202, accepted.content
    check = ReproductionCheck.objects.get(record=record)
    assert check.drift_accepted and check.note == "model differs; outputs may differ"
    assert said in check.drift_warnings[0]["message"]
    started = api(operator).post(
        "/api/runs/", {"workflow": workflow.slug, "inputs": inputs, "accept_model_drift": True}
    )
    assert started.status_code == 201 and started.json()["mode"] == "production"
    form = client.post("/workflows/comfy-poster/run/", {"input_reference": png_bytes(), "accept_model_drift": "1"})
    assert form.status_code == 302


@ON_SERVER
def test_an_unreachable_server_is_said_not_a_500(pinned, studio, client, api, operator):
    studio.stop()
    comfyui_env.forget()
    client.force_login(operator)
    record = pinned["record"]
    for url in ("/workflows/comfy-poster/run/", f"/records/{record.pk}/"):
        page = client.get(url)
        assert page.status_code == 200
        assert "could not be compared today" in page.content.decode() and studio.url in page.content.decode(), url
    # Not knowing is no drift: nothing is refused for it (the step itself retries a server that is down).
    answer = api(operator).post(f"/api/records/{record.pk}/reproduce/", {}, format="json")
    assert answer.status_code == 202


@ON_SERVER
def test_pages_remember_the_fingerprint_briefly(pinned, studio, client, operator, settings):
    """One fetch per server per FLONIKS_COMFYUI_FINGERPRINT_TTL, whatever the number of page views."""
    settings.FLONIKS_COMFYUI_FINGERPRINT_TTL = 60
    comfyui_env.forget()
    client.force_login(operator)
    before = len([r for r in studio.requests if r[1] == "/system_stats"])
    for _ in range(3):
        client.get("/workflows/comfy-poster/")
        client.get(f"/records/{pinned['record'].pk}/")
    assert len([r for r in studio.requests if r[1] == "/system_stats"]) - before == 1


def test_without_a_pin_the_workflow_page_says_the_snapshot_no_longer_matches(studio, api, admin_user, operator, client):
    """Discovery runs are not refused, but what they would record as their snapshot is no longer what
    runs: the workflow page says so, and that an admin can capture a new snapshot."""
    assert capture(api, admin_user).status_code == 201
    workflow = templates.create_workflow(actor=operator, slug="comfy-sketch", name="Sketch")
    imported = api(operator).post(f"/api/workflows/{workflow.slug}/drafts/import-comfyui/", {"graph": GRAPH})
    published = api(operator).post(f"/api/drafts/{imported.json()['id']}/publish/", {"visibility": "internal"})
    assert published.status_code == 201, published.content
    client.force_login(operator)
    assert b"has changed since" not in client.get("/workflows/comfy-sketch/").content
    studio.extra_node_classes["IPAdapterAdvanced"] = {"input": {"required": {}}, "output": []}
    change_server(studio)
    page = client.get("/workflows/comfy-sketch/").content.decode()
    assert "ComfyUI 0.3.64 → 0.3.66; node classes: IPAdapterAdvanced added; checkpoints: " in page
    assert "An admin can capture a new snapshot." in page
    assert (
        "ComfyUI 0.3.64 → 0.3.66"
        in api(operator).get("/api/workflows/comfy-sketch/").json()["drift_warnings"][0]["message"]
    )
