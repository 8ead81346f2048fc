"""A reproduction check by eye (/records/<id>/checks/<check id>/): per output the stored and the
reproduced image side by side with their difference image, made with the verdict on the worker
(black where the pixels are equal), the scores in a table with their meaning, and the model drift
that was accepted. A GET writes nothing: a check settled before difference images were kept says
it has none until `manage.py make_difference_images` makes them."""

from __future__ import annotations

import io
import re

import numpy as np
import pytest
from django.core.management import call_command
from django.test import Client
from PIL import Image

from runs_app import services
from runs_app.compare import difference
from runs_app.models import Artifact, ReproductionCheck, Verdict
from runs_app.storage import read_artifact
from templates_app import services as templates
from templates_app.models import ModelSnapshot
from tests.helpers import finished_record, run_now, small_definition

pytestmark = pytest.mark.django_db


@pytest.fixture
def record(make_workflow, publish, operator):
    workflow = make_workflow()
    publish(workflow, small_definition())
    return finished_record(operator, workflow)


@pytest.fixture
def browser(operator) -> Client:
    client = Client()
    client.force_login(operator)
    return client


def reproduced(record, operator, **options) -> ReproductionCheck:
    run = run_now(services.reproduce_record(actor=operator, record=record, **options))
    return ReproductionCheck.objects.get(run=run)


def drifted(record, operator, admin_user) -> ReproductionCheck:
    """Reproduced with today's snapshot: the recorded one of the background step is retired."""
    templates.add_model_snapshot(actor=admin_user, family="local/plasma", snapshot="2026-11-01", make_default=True)
    templates.retire_model_snapshot(
        actor=admin_user, snapshot=ModelSnapshot.objects.get(family__name="local/plasma", snapshot="2026-06-15")
    )
    return reproduced(record, operator, accept_model_drift=True)


def check_url(check: ReproductionCheck) -> str:
    return f"/records/{check.record_id}/checks/{check.pk}/"


def pixels(sha256: str) -> np.ndarray:
    data = read_artifact(Artifact.objects.get(sha256=sha256))
    with Image.open(io.BytesIO(data)) as img:
        return np.asarray(img.convert("L"))


def images_of(html: str, output: str) -> dict[str, str]:
    """The images of one output's section: data-testid → src."""
    section = re.search(rf'data-testid="check-output-{output}">(.*?)</section>', html, re.S)
    assert section, f"no section for {output}"
    found = re.findall(r'<img[^>]*src="([^"]+)"[^>]*data-testid="([^"]+)"', section.group(1))
    return {testid: src for src, testid in found}


def score_rows(html: str) -> list[list[str]]:
    table = re.search(r'data-testid="scores">(.*?)</table>', html, re.S)
    assert table
    rows = re.findall(r'<tr data-testid="score-row">(.*?)</tr>', table.group(1), re.S)
    return [
        [re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<td[^>]*>(.*?)</td>", r, re.S)] for r in rows
    ]


def test_an_exact_reproduction_shows_both_outputs_and_an_all_black_difference(record, operator, browser):
    check = reproduced(record, operator)
    assert check.verdict == Verdict.EXACT and set(check.differences) == set(record.outputs)
    html = browser.get(check_url(check)).content.decode()
    for name, stored in record.outputs.items():
        images = images_of(html, name)
        assert set(images) == {"stored-image", "reproduced-image", "difference-image"}
        # The page shows web-sized previews; the viewer and the link open the original.
        assert images["stored-image"] == f"/artifacts/{stored['sha256']}/preview"
        assert f'href="{stored["url"]}"' in html and f'data-full="{stored["url"]}"' in html
        assert images["difference-image"] == f"/artifacts/{check.differences[name]['image']}"
        black = pixels(check.differences[name]["image"])
        assert black.shape == (64, 96) and not black.any(), "identical outputs differ nowhere"
    rows = score_rows(html)
    assert [r[0] for r in rows] == list(record.outputs)
    assert rows[0][1:] == ["identical pixels", "1.0000", "0 of 64", "1", "none", "0 of 255"]
    assert "every frame has SSIM of at least 0.9 and a pHash distance of at most 12" in html


def test_a_drifted_reproduction_shows_where_it_differs_and_the_drift_it_accepted(record, operator, admin_user, browser):
    check = drifted(record, operator, admin_user)
    assert check.verdict == Verdict.DIFFERENT
    html = browser.get(check_url(check)).content.decode()
    images = images_of(html, "hero")
    assert set(images) == {"stored-image", "reproduced-image", "difference-image"}
    assert images["stored-image"] != images["reproduced-image"]
    diff = pixels(check.differences["hero"]["image"])
    assert diff.any() and diff[diff > 0].min() >= 64, "where it differs, it shows"
    (row,) = score_rows(html)
    assert row[0] == "hero" and row[1] == "different"
    assert float(row[2]) == pytest.approx(check.scores["hero"]["ssim"], abs=1e-4)
    assert row[3] == f"{check.scores['hero']['phash_distance']} of 64" and row[4] == "1"
    assert check.scores["hero"]["ssim"] < 0.9 or check.scores["hero"]["phash_distance"] > 12  # why it is different
    assert row[5].endswith("%") and row[6].endswith("of 255")
    drift = re.search(r'data-testid="accepted-drift">(.*?)</section>', html, re.S)
    assert drift, "the accepted drift is shown"
    cells = [re.sub(r"<[^>]+>", "", c) for c in re.findall(r"<td[^>]*>(.*?)</td>", drift.group(1))]
    assert cells == [
        "background",
        "local/plasma@2026-06-15",
        "local/plasma@2026-11-01",
        "the recorded snapshot is retired",
    ]
    assert "model differs; outputs may differ" in html


def test_the_record_page_and_the_run_page_link_to_the_check(record, operator, browser):
    check = reproduced(record, operator)
    for page in (f"/records/{record.pk}/", f"/runs/{check.run_id}/"):
        html = browser.get(page).content.decode()
        assert f'href="{check_url(check)}"' in html, page


def test_scores_of_several_outputs_are_set_apart_on_the_record_and_run_pages(make_workflow, publish, operator, browser):
    workflow = make_workflow("two", "Two outputs")
    d = small_definition()
    d["outputs"] = {"hero": "{{steps.styled.output}}", "plate": "{{steps.background.output}}"}
    publish(workflow, d)
    check = reproduced(finished_record(operator, workflow), operator)
    for page in (f"/records/{check.record_id}/", f"/runs/{check.run_id}/"):
        text = re.sub(r"<[^>]+>", "", browser.get(page).content.decode())
        assert "hero identical pixels · plate identical pixels" in text, page
    assert len(score_rows(browser.get(check_url(check)).content.decode())) == 2


def test_a_get_writes_nothing_and_an_old_check_says_it_has_no_difference_image(record, operator, browser):
    check = reproduced(record, operator)
    ReproductionCheck.objects.filter(pk=check.pk).update(differences={})  # settled before they were kept
    before = Artifact.objects.count()
    html = browser.get(check_url(check)).content.decode()
    assert Artifact.objects.count() == before
    assert ReproductionCheck.objects.get(pk=check.pk).differences == {}
    assert 'data-testid="no-differences"' in html and "difference-image" not in html
    assert set(images_of(html, "hero")) == {"stored-image", "reproduced-image"}

    call_command("make_difference_images", stdout=io.StringIO())
    made = ReproductionCheck.objects.get(pk=check.pk).differences
    assert set(made) == {"hero"} and made["hero"]["identical"] is True
    assert not pixels(made["hero"]["image"]).any()
    after = browser.get(check_url(check)).content.decode()
    assert "difference-image" in after and 'data-testid="no-differences"' not in after
    count = Artifact.objects.count()
    browser.get(check_url(check))
    assert Artifact.objects.count() == count


def test_the_api_check_answer_names_each_difference_image(record, operator, api):
    check = reproduced(record, operator)
    client = api(operator)
    (answer,) = client.get(f"/api/records/{record.pk}/checks/").json()["results"]
    assert answer["difference_images"] == {"hero": f"/artifacts/{check.differences['hero']['image']}"}
    assert answer["scores"] == {"hero": {"phash_distance": 0, "ssim": 1.0, "identical": True, "frames": 1}}
    served = client.get(answer["difference_images"]["hero"])
    assert served.status_code == 200 and served["Content-Type"] == "image/png"
    detail = client.get(f"/api/records/{record.pk}/").json()
    assert detail["checks"][0]["difference_images"] == answer["difference_images"]


def test_a_check_of_another_record_or_an_unknown_one_is_not_found(make_workflow, publish, record, operator, browser):
    check = reproduced(record, operator)
    other = finished_record(operator, record.workflow, inputs={"subject": "a hare"})
    assert browser.get(check_url(check)).status_code == 200
    assert browser.get(f"/records/{other.pk}/checks/{check.pk}/").status_code == 404
    assert browser.get(f"/records/{record.pk}/checks/{check.pk + 1000}/").status_code == 404


def test_a_pending_check_and_a_flagged_one_say_what_they_are(record, operator, browser):
    run = services.reproduce_record(actor=operator, record=record)
    pending = ReproductionCheck.objects.get(run=run)
    assert (
        "compared with the stored ones when the reproduction run ends"
        in browser.get(check_url(pending)).content.decode()
    )
    flagged = services.flag_legacy(actor=operator, record=record, reason="needs April")
    assert "This check ran nothing" in browser.get(check_url(flagged)).content.decode()


def test_a_difference_of_one_step_in_255_is_visible():
    base = np.full((8, 8, 3), 100, np.uint8)
    nudged = base.copy()
    nudged[2, 3, 1] = 101

    def png(a: np.ndarray) -> bytes:
        buf = io.BytesIO()
        Image.fromarray(a, "RGB").save(buf, "PNG")
        return buf.getvalue()

    diff = difference(png(base), png(nudged))
    shown = np.asarray(Image.open(io.BytesIO(diff.png)))
    assert shown[2, 3] >= 64 and np.count_nonzero(shown) == 1
    assert diff.changed == pytest.approx(1 / 64) and diff.largest == 1


def test_a_check_settled_before_phash_and_ssim_shows_its_older_similarity_score(record, operator, browser):
    """Checks stored one similarity float per output before issue 14; their pages still read."""
    check = reproduced(record, operator)
    ReproductionCheck.objects.filter(pk=check.pk).update(scores={"hero": 0.9}, differences={}, verdict="near")
    html = browser.get(check_url(check)).content.decode()
    (row,) = score_rows(html)
    assert row[1] == "nearly identical" and "similarity 0.9" in row[2] and row[3] == "—"
    assert "hero 0.9" in re.sub(r"<[^>]+>", "", browser.get(f"/records/{record.pk}/").content.decode())
