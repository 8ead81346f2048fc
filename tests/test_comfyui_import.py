"""Import from ComfyUI (DESIGN §8 "Import", issue 13 item 3): a pasted API-format graph, or a PNG that
ComfyUI saved, becomes a draft with one `comfyui` step, its inputs and bindings proposed; a file that
holds no API-format graph is a 400 that says why, and nothing is written."""

from __future__ import annotations

import copy
import io
import json
import zlib
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from PIL import Image, ImageChops
from PIL.PngImagePlugin import PngInfo

from runs_app import services as runs
from runs_app.models import Run, RunStatus
from runs_app.storage import read_artifact
from templates_app import comfyui as comfyui_pools
from templates_app import comfyui_import
from templates_app import services as templates
from templates_app.models import Draft
from tests.helpers import png_bytes, run_now

# What ComfyUI's "Export (API)" writes for its default text-to-image graph, plus an image loader
# (an img2img branch) so every kind of proposal shows.
GRAPH: dict[str, Any] = {
    "3": {
        "class_type": "KSampler",
        "inputs": {
            "seed": 156680208700286,
            "steps": 20,
            "cfg": 8,
            "sampler_name": "euler",
            "scheduler": "normal",
            "denoise": 0.87,
            "model": ["4", 0],
            "positive": ["6", 0],
            "negative": ["7", 0],
            "latent_image": ["12", 0],
        },
        "_meta": {"title": "KSampler"},
    },
    "4": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "sdxl_base.safetensors"}},
    "6": {
        "class_type": "CLIPTextEncode",
        "inputs": {"text": "beautiful scenery nature glass bottle landscape", "clip": ["4", 1]},
        "_meta": {"title": "CLIP Text Encode (Prompt)"},
    },
    "7": {"class_type": "CLIPTextEncode", "inputs": {"text": "text, watermark", "clip": ["4", 1]}},
    "8": {"class_type": "VAEDecode", "inputs": {"samples": ["3", 0], "vae": ["4", 2]}},
    "9": {"class_type": "SaveImage", "inputs": {"filename_prefix": "ComfyUI", "images": ["8", 0]}},
    "10": {"class_type": "LoadImage", "inputs": {"image": "example.png", "upload": "image"}},
    "12": {"class_type": "VAEEncode", "inputs": {"pixels": ["10", 0], "vae": ["4", 2]}},
}

# The editor's UI format, which ComfyUI also embeds (as `workflow`): boxes and links on a canvas.
UI_WORKFLOW = {
    "last_node_id": 9,
    "last_link_id": 9,
    "nodes": [{"id": 3, "type": "KSampler", "pos": [863, 186], "widgets_values": [1, "fixed", 20]}],
    "links": [[1, 4, 0, 3, 0, "MODEL"]],
    "version": 0.4,
}


def comfy_png(**chunks: str) -> bytes:
    """A PNG as ComfyUI's SaveImage writes it: Pillow's PngInfo with real tEXt chunks."""
    info = PngInfo()
    for key, value in chunks.items():
        info.add_text(key, value)
    buf = io.BytesIO()
    Image.new("RGB", (64, 48), (30, 90, 160)).save(buf, "PNG", pnginfo=info)
    return buf.getvalue()


def upload(data: bytes, name: str, content_type: str) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type=content_type)


def url(slug: str) -> str:
    return f"/api/workflows/{slug}/drafts/import-comfyui/"


def assert_proposed(definition: dict[str, Any]) -> None:
    """The draft a user gets from GRAPH: one comfyui step, its inputs and bindings."""
    (step,) = definition["steps"]
    assert step["kind"] == "comfyui"
    assert step["graph"]["3"]["class_type"] == "KSampler"
    assert step["graph"]["3"]["inputs"]["positive"] == ["6", 0]  # links kept as ComfyUI wrote them
    assert step["output_node"] == "9"
    assert step["bindings"] == {
        "3.seed": "$seed",
        "6.text": "{{inputs.prompt}}",
        "7.text": "{{inputs.negative_prompt}}",
        "10.image": "{{inputs.reference}}",
    }
    inputs = definition["inputs"]
    assert inputs["prompt"]["type"] == "string"
    assert inputs["prompt"]["default"] == "beautiful scenery nature glass bottle landscape"
    assert inputs["negative_prompt"] == {
        "type": "string",
        "required": False,
        "default": "text, watermark",
        "description": "CLIPTextEncode (node 7) text",
    }
    assert inputs["reference"]["type"] == "image" and inputs["reference"]["required"] is True
    assert set(inputs) == {"prompt", "negative_prompt", "reference"}
    assert definition["outputs"] == {"image": "{{steps.comfyui.output}}"}


def test_import_from_pasted_json(api, operator, make_workflow):
    wf = make_workflow("comfy-scenery", "Scenery")
    answer = api(operator).post(url(wf.slug), {"graph": GRAPH}, format="json")
    assert answer.status_code == 201, answer.content
    draft = Draft.objects.get(pk=answer.json()["id"])
    assert draft.workflow == wf and draft.author == operator
    assert_proposed(draft.definition)
    assert answer.json()["definition"] == draft.definition


def test_import_from_exported_json_file(api, operator, make_workflow):
    wf = make_workflow("comfy-file", "File")
    body = json.dumps(GRAPH, indent=2).encode()
    answer = api(operator).post(
        url(wf.slug), {"file": upload(body, "workflow_api.json", "application/json")}, format="multipart"
    )
    assert answer.status_code == 201, answer.content
    assert_proposed(Draft.objects.get(pk=answer.json()["id"]).definition)


def test_import_from_png_that_comfyui_saved(api, operator, make_workflow):
    wf = make_workflow("comfy-png", "PNG")
    png = comfy_png(prompt=json.dumps(GRAPH), workflow=json.dumps(UI_WORKFLOW))
    assert b"tEXtprompt\x00" in png  # a real tEXt chunk, as ComfyUI writes it
    answer = api(operator).post(
        url(wf.slug), {"file": upload(png, "ComfyUI_00001_.png", "image/png")}, format="multipart"
    )
    assert answer.status_code == 201, answer.content
    assert_proposed(Draft.objects.get(pk=answer.json()["id"]).definition)


def test_compressed_text_chunks_are_read_too():
    """iTXt (non-Latin text makes Pillow write one) and zTXt both carry the graph."""
    graph = copy.deepcopy(GRAPH)
    graph["6"]["inputs"]["text"] = "風景, glass bottle"
    info = PngInfo()
    info.add_itxt("prompt", json.dumps(graph, ensure_ascii=False), zip=True)
    buf = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buf, "PNG", pnginfo=info)
    assert comfyui_import.graph_from_upload(buf.getvalue())["6"]["inputs"]["text"] == "風景, glass bottle"
    ztxt = (
        comfyui_import.PNG_SIGNATURE
        + _chunk(b"IHDR", b"\0" * 13)
        + _chunk(b"zTXt", b"prompt\x00\x00" + zlib.compress(json.dumps(GRAPH).encode()))
    )
    assert comfyui_import.graph_from_upload(ztxt) == comfyui_import.api_graph(GRAPH)


def _chunk(kind: bytes, body: bytes) -> bytes:
    return len(body).to_bytes(4, "big") + kind + body + zlib.crc32(kind + body).to_bytes(4, "big")


def test_sdxl_and_flux_encoders_and_noise_seeds_are_proposed():
    graph = {
        "1": {"class_type": "CLIPTextEncodeSDXL", "inputs": {"text_g": "a fox", "text_l": "a fox", "width": 1024}},
        "2": {"class_type": "RandomNoise", "inputs": {"noise_seed": 42}},
        "3": {"class_type": "KSamplerAdvanced", "inputs": {"noise_seed": 7, "positive": ["1", 0]}},
        "4": {"class_type": "PreviewImage", "inputs": {"images": ["3", 0]}},
    }
    proposal = comfyui_import.propose_definition(comfyui_import.api_graph(graph), model="comfyui/studio")
    (step,) = proposal.definition["steps"]
    assert step["bindings"] == {
        "1.text_g": "{{inputs.prompt_text_g}}",
        "1.text_l": "{{inputs.prompt_text_l}}",
        "2.noise_seed": "$seed",
        "3.noise_seed": "$seed",
    }
    assert step["output_node"] == "4" and step["model"] == "comfyui/studio"
    assert "1.width" not in step["bindings"]  # a number of a text encoder is no prompt


def test_the_import_action_on_the_workflow_page(client: Client, operator, make_workflow):
    wf = make_workflow("comfy-page", "Page")
    client.force_login(operator)
    page = client.get(f"/workflows/{wf.slug}/")
    assert b"Import from ComfyUI" in page.content
    png = comfy_png(prompt=json.dumps(GRAPH))
    answer = client.post(
        f"/workflows/{wf.slug}/drafts/import-comfyui/", {"file": upload(png, "ComfyUI_00001_.png", "image/png")}
    )
    draft = Draft.objects.get(workflow=wf)
    assert answer.status_code == 302 and answer["Location"] == f"/drafts/{draft.pk}/"
    assert_proposed(draft.definition)
    editor = client.get(answer["Location"])
    assert b"Imported the ComfyUI graph" in editor.content and b"text input &#x27;prompt&#x27;" in editor.content
    # Pasted into the text box instead of a file:
    answer = client.post(f"/workflows/{wf.slug}/drafts/import-comfyui/", {"graph": json.dumps(GRAPH)})
    assert answer.status_code == 302 and Draft.objects.filter(workflow=wf).count() == 2


def test_a_refusal_on_the_page_is_said_and_creates_nothing(client: Client, operator, make_workflow):
    wf = make_workflow("comfy-page-bad", "Bad")
    client.force_login(operator)
    answer = client.post(
        f"/workflows/{wf.slug}/drafts/import-comfyui/",
        {"file": upload(comfy_png(workflow=json.dumps(UI_WORKFLOW)), "ui.png", "image/png")},
        follow=True,
    )
    assert b"UI workflow" in answer.content and b"Export (API)" in answer.content
    assert not Draft.objects.filter(workflow=wf).exists()


PLAIN_PNG = comfy_png()
JPEG = io.BytesIO()
Image.new("RGB", (8, 8)).save(JPEG, "JPEG")


@pytest.mark.parametrize(
    ("body", "code", "words"),
    [
        ({"file": ("plain.png", PLAIN_PNG, "image/png")}, "no_graph", "holds no ComfyUI graph"),
        (
            {"file": ("ui.png", comfy_png(workflow=json.dumps(UI_WORKFLOW)), "image/png")},
            "ui_format",
            "only ComfyUI's UI workflow",
        ),
        ({"file": ("ui.json", json.dumps(UI_WORKFLOW).encode(), "application/json")}, "ui_format", "Export (API)"),
        ({"file": ("photo.jpg", JPEG.getvalue(), "image/jpeg")}, "no_graph", "JPEG image"),
        ({"file": ("bad.json", b'{"3": {"class_type": "KSampler",', "application/json")}, "invalid_json", "not valid"),
        ({"file": ("notes.txt", b"\xff\xfe\x00binary", "text/plain")}, "not_a_graph", "neither a PNG"),
        ({"file": ("empty.json", b"", "application/json")}, "empty_file", "empty"),
        ({"file": ("list.json", b"[1, 2]", "application/json")}, "no_graph", "No ComfyUI graph"),
        ({"file": ("nodes.json", b'{"1": {"inputs": {}}}', "application/json")}, "no_graph", "no class_type"),
        ({"graph": {"1": {"class_type": "KSampler", "inputs": {}}}}, "no_output_node", "saves an image"),
        ({}, "file_required", "Send a ComfyUI graph"),
    ],
)
def test_what_holds_no_graph_is_a_400_and_nothing_is_written(api, operator, make_workflow, body, code, words):
    wf = make_workflow("comfy-bad", "Bad")
    if "file" in body:
        name, data, content_type = body["file"]
        answer = api(operator).post(url(wf.slug), {"file": upload(data, name, content_type)}, format="multipart")
    else:
        answer = api(operator).post(url(wf.slug), body, format="json")
    assert answer.status_code == 400, answer.content
    error = answer.json()["errors"][0]
    assert error["code"] == code and words in error["message"], error
    assert not Draft.objects.filter(workflow=wf).exists()


def test_an_oversize_file_is_refused_before_it_is_read(api, operator, make_workflow):
    wf = make_workflow("comfy-big", "Big")
    big = PLAIN_PNG + b"\0" * (comfyui_import.MAX_FILE_BYTES + 1)
    answer = api(operator).post(url(wf.slug), {"file": upload(big, "big.png", "image/png")}, format="multipart")
    assert answer.status_code == 400
    assert answer.json()["errors"][0]["code"] == "file_too_large"
    assert not Draft.objects.filter(workflow=wf).exists()


def test_a_huge_compressed_chunk_is_not_inflated_past_the_bound():
    bomb = zlib.compress(b"{" + b" " * (comfyui_import.MAX_GRAPH_BYTES * 4))
    data = comfyui_import.PNG_SIGNATURE + _chunk(b"zTXt", b"prompt\x00\x00" + bomb) + _chunk(b"IEND", b"")
    with pytest.raises(comfyui_import.ValidationFailed) as refused:
        comfyui_import.graph_from_upload(data)
    assert refused.value.problems[0].code == "no_graph"


def test_only_the_team_imports(api, outsider, make_workflow):
    wf = make_workflow("comfy-roles", "Roles")
    assert api(None).post(url(wf.slug), {"graph": GRAPH}, format="json").status_code == 401
    assert api(outsider).post(url(wf.slug), {"graph": GRAPH}, format="json").status_code == 403
    assert not Draft.objects.filter(workflow=wf).exists()


# --- imported graphs run: against the ComfyUI test server over real HTTP and websocket ---------------

RUNNABLE: dict[str, Any] = {
    "1": {"class_type": "LoadImage", "inputs": {"image": "example.png", "upload": "image"}},
    "2": {"class_type": "EmptyImage", "inputs": {"width": 64, "height": 48, "batch_size": 1, "color": 0x3366AA}},
    "3": {"class_type": "ImageBlend", "inputs": {"image1": ["2", 0], "image2": ["1", 0], "blend_factor": 0.6, "blend_mode": "normal"}},
    "4": {"class_type": "ImageAddNoise", "inputs": {"image": ["3", 0], "seed": 5, "strength": 0.35}},
    "5": {"class_type": "SaveImage", "inputs": {"images": ["4", 0], "filename_prefix": "ComfyUI"}},
}  # fmt: skip


def pixels_of(run: Run) -> Image.Image:
    step = run.steps.get()
    assert step.output is not None, step.error
    return Image.open(io.BytesIO(read_artifact(step.output))).convert("RGB")


def same_pixels(a: Image.Image, b: Image.Image) -> bool:
    return a.size == b.size and ImageChops.difference(a, b).getbbox() is None


@pytest.mark.django_db(transaction=True)  # steps over HTTP: the step watch must see the rows
def test_graphs_imported_from_json_and_from_a_png_publish_and_run(api, operator, make_workflow, settings, comfyui):
    """JSON → draft → publish → runs with an uploaded reference and `$seed` on the test server: other seeds
    give other pixels, the same seed the same pixels; then the PNG the server saved → draft → publish → run."""
    settings.FLONIKS_COMFYUI_POOLS = {"studio": [comfyui.url]}
    comfyui_pools.forget()
    templates.sync_comfyui_families()
    workflow = make_workflow("comfy-e2e", "Imported")
    imported = api(operator).post(url(workflow.slug), {"graph": RUNNABLE}, format="json")
    assert imported.status_code == 201, imported.content
    step = imported.json()["definition"]["steps"][0]
    assert step["model"] == "comfyui/studio" and step["output_node"] == "5"
    assert step["bindings"] == {"1.image": "{{inputs.reference}}", "4.seed": "$seed"}
    published = api(operator).post(f"/api/drafts/{imported.json()['id']}/publish/", {"visibility": "internal"})
    assert published.status_code == 201, published.content

    ref = runs.upload_artifact(actor=operator, data=png_bytes((40, 30), (220, 90, 30)).getvalue()).sha256
    first = run_now(runs.start_run(actor=operator, workflow=workflow, inputs={"reference": ref}))
    second = run_now(runs.start_run(actor=operator, workflow=workflow, inputs={"reference": ref}))
    assert first.status == second.status == RunStatus.AWAITING_ANNOTATION, [
        (s.status, s.error, s.attempts) for r in (first, second) for s in r.steps.all()
    ]
    a, b = first.steps.get(), second.steps.get()
    assert a.seed != b.seed and not same_pixels(pixels_of(first), pixels_of(second))
    assert a.submitted is not None and a.submitted["graph"]["4"]["inputs"]["seed"] == a.seed
    runs.finalize_run(actor=operator, run=first, label="imported", annotation="from a ComfyUI export")
    record = runs.write_record(run_id=first.pk)
    assert record is not None
    again = run_now(runs.reproduce_record(actor=operator, record=record))
    assert again.steps.get().seed == a.seed and same_pixels(pixels_of(again), pixels_of(first))

    # What ComfyUI saved carries the graph it ran: import that PNG into another workflow and run it.
    saved = comfyui.output_files()[0].read_bytes()
    assert b"tEXtprompt" in saved
    other = make_workflow("comfy-e2e-png", "From a PNG")
    answer = api(operator).post(
        url(other.slug), {"file": upload(saved, "ComfyUI_00001_.png", "image/png")}, format="multipart"
    )
    assert answer.status_code == 201, answer.content
    assert answer.json()["definition"]["steps"][0]["bindings"] == {"1.image": "{{inputs.reference}}", "4.seed": "$seed"}
    published = api(operator).post(f"/api/drafts/{answer.json()['id']}/publish/", {"visibility": "internal"})
    assert published.status_code == 201, published.content
    third = run_now(runs.start_run(actor=operator, workflow=other, inputs={"reference": ref}))
    assert third.status == RunStatus.AWAITING_ANNOTATION, third.error
    assert pixels_of(third).size == (64, 48)
