"""Environment fingerprints and drift (DESIGN §8, issue 13 item 2), against the ComfyUI test server
over real HTTP: an admin captures a `comfyui/<pool>` snapshot holding what the server reports; when
the server later reports something else (its version, a model file), the workflow page, the run form
and the reproduce form say what changed, and production runs and reproductions answer 409
`model_drift` until the drift is accepted.

The steps here generate with a stand-in provider registered as `comfyui` (the built-in generator
behind it): what is under test is the environment the catalogue holds and the live server reports,
which does not depend on how the step's image is made."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from runs_app import services as runs
from runs_app.generators import comfyui_env
from runs_app.models import ReproductionCheck, Run
from templates_app.catalogue import Catalogue
from templates_app.models import ModelFamily, ModelSnapshot
from testing.comfyui_server import ComfyUITestServer
from tests.helpers import HostedStandIn, finished_record, small_definition

SDXL = "sd_xl_base_1.0.safetensors"


class ComfyStandIn(HostedStandIn):
    def generate(self, request: Any, progress: Any = None) -> Any:
        return self.answer(request, progress)


@pytest.fixture
def studio(settings, comfyui: ComfyUITestServer) -> ComfyUITestServer:
    """The pool `studio` is the test server; its steps generate through the stand-in."""
    settings.FLONIKS_COMFYUI_POOLS = {"studio": [comfyui.url]}
    settings.FLONIKS_PROVIDERS = {**settings.FLONIKS_PROVIDERS, "comfyui": f"{__name__}.ComfyStandIn"}
    comfyui_env.forget()
    yield comfyui
    comfyui_env.forget()


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
def pinned(studio, api, admin_user, operator, manager, make_workflow, publish) -> dict[str, Any]:
    """A captured snapshot, a workflow running on it in production, pinned from an approved record."""
    assert capture(api, admin_user).status_code == 201
    workflow = make_workflow("comfy-poster", "Poster")
    d = small_definition()
    d["steps"] = d["steps"][:1]
    d["steps"][0]["model"] = "comfyui/studio"
    d["outputs"] = {"hero": "{{steps.background.output}}"}
    publish(workflow, d)
    record = finished_record(operator, workflow)
    runs.approve_record(actor=manager, record=record)
    runs.set_workflow_mode(actor=operator, workflow=workflow, mode="production", pin_record=record)
    Catalogue.forget()
    return {"workflow": workflow, "record": record}


def test_capture_mints_a_dated_snapshot_holding_what_the_server_reports(studio, api, admin_user):
    answer = capture(api, admin_user)
    assert answer.status_code == 201, answer.content
    body = answer.json()
    assert body["family"] == "comfyui/studio" and body["snapshot"] == today() and body["is_default"] is True
    snapshot = ModelSnapshot.objects.get(family__name="comfyui/studio", snapshot=today())
    fingerprint = snapshot.fingerprint
    assert fingerprint == body["fingerprint"]
    assert (fingerprint["comfyui"], fingerprint["python"], fingerprint["torch"]) == ("0.3.64", "3.12.7", "2.5.1+cu124")
    assert fingerprint["devices"] == ["cuda:0 NVIDIA GeForce RTX 4090 : cudaMallocAsync (cuda)"]
    assert {"SaveImage", "LoadImage", "ImageAddNoise"} <= set(fingerprint["nodes"])  # the classes of /object_info
    assert set(fingerprint["models"]) == set(studio.models)
    # The hash the file's header carries (modelspec.hash_sha256), where it has one; listed without otherwise.
    expected = studio.models["checkpoints"][SDXL]["modelspec.hash_sha256"].removeprefix("0x")  # type: ignore[index]
    assert fingerprint["models"]["checkpoints"][SDXL] == expected
    assert fingerprint["models"]["checkpoints"]["v1-5-pruned-emaonly.ckpt"] == ""
    assert ModelFamily.objects.get(name="comfyui/studio").provider == "comfyui"
    # One snapshot a day: a second capture today is refused, not silently merged.
    again = capture(api, admin_user)
    assert again.status_code == 409 and again.json()["code"] == "snapshot_exists"


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
    assert snapshot.snapshot == today() and snapshot.fingerprint["comfyui"] == "0.3.64"


def test_no_drift_while_the_server_reports_what_was_captured(pinned, client: Client, operator):
    client.force_login(operator)
    record = pinned["record"]
    for url in ("/workflows/comfy-poster/", "/workflows/comfy-poster/run/", f"/records/{record.pk}/"):
        assert b"has changed since" not in client.get(url).content, url
    run = runs.start_run(actor=operator, workflow=pinned["workflow"], inputs={"subject": "a fox"})
    assert run.mode == "production"


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
    refused = api(operator).post("/api/runs/", {"workflow": workflow.slug, "inputs": {"subject": "a fox"}})
    assert refused.status_code == 409 and refused.json()["code"] == "model_drift"
    form = client.post("/workflows/comfy-poster/run/", {"input_subject": "a fox"})
    assert form.status_code == 409 and said in form.content.decode()
    assert not Run.objects.filter(reproduces=record).exists()
    assert Run.objects.filter(workflow=workflow).count() == 1  # the pinned record's own run only

    accepted = api(operator).post(f"/api/records/{record.pk}/reproduce/", {"accept_model_drift": True}, format="json")
    assert accepted.status_code == 202, accepted.content
    check = ReproductionCheck.objects.get(record=record)
    assert check.drift_accepted and check.note == "model differs; outputs may differ"
    assert said in check.drift_warnings[0]["message"]
    started = api(operator).post(
        "/api/runs/", {"workflow": workflow.slug, "inputs": {"subject": "a fox"}, "accept_model_drift": True}
    )
    assert started.status_code == 201 and started.json()["mode"] == "production"
    form = client.post("/workflows/comfy-poster/run/", {"input_subject": "a fox", "accept_model_drift": "1"})
    assert form.status_code == 302


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
