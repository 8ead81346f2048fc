"""Evidence before the canonical pointer moves, contact sheets and version diffs (DESIGN §14, issue 14):
promote refuses without a finished evaluation of the candidate against today's canonical version
(409 evidence_required) except for the first canonical version and an admin's override with a reason;
an evaluation runs both versions on the same inputs and seeds and compares their outputs; a contact
sheet renders a base and its directions with one seed into one PNG; a diff names each changed path."""

from __future__ import annotations

import io

import numpy as np
import pytest
from django.test import Client
from PIL import Image

from core.errors import Conflict
from runs_app import evidence, services
from runs_app.models import ContactSheet, Evaluation, Run, RunStatus, VersionRecord
from runs_app.storage import read_artifact
from templates_app import services as templates
from templates_app.models import Draft, Pointer, PointerMove
from tests.helpers import finished_record, run_now, small_definition, wait_for

pytestmark = pytest.mark.django_db

COOL = "{{inputs.subject}}, cool minimal palette"


@pytest.fixture
def two_versions(make_workflow, publish):
    workflow = make_workflow()
    first = publish(workflow, small_definition())
    second = publish(workflow, small_definition(prompt=COOL))
    return workflow, first, second


def evaluated(actor, version, **how):
    """An evaluation whose two runs have run, as workers run them."""
    evaluation = services.evaluate_version(actor=actor, version=version, **how)
    run_now(evaluation.baseline_run)
    run_now(evaluation.candidate_run)
    evaluation.refresh_from_db()
    return evaluation


def canonical_moves(workflow):
    return list(PointerMove.objects.filter(workflow=workflow, pointer=Pointer.CANONICAL).order_by("at", "id"))


def test_promote_without_evidence_is_refused_and_the_pointer_stays(two_versions, api, manager):
    workflow, first, second = two_versions
    answer = api(manager).post(f"/api/workflows/{workflow.slug}/versions/{second.version}/promote/", {}, format="json")
    assert answer.status_code == 409
    assert answer.json()["code"] == "evidence_required"
    workflow.refresh_from_db()
    assert workflow.canonical_version_id == first.pk
    # A manager's reason is no evidence: only an admin may promote without it.
    answer = api(manager).post(
        f"/api/workflows/{workflow.slug}/versions/{second.version}/promote/", {"reason": "trust me"}, format="json"
    )
    assert answer.status_code == 409 and answer.json()["code"] == "evidence_required"


def test_an_evaluation_finishes_with_both_outputs_a_difference_image_and_scores(two_versions, api, manager, operator):
    workflow, first, second = two_versions
    record = finished_record(operator, workflow)
    created = api(manager).post(
        f"/api/workflows/{workflow.slug}/versions/{second.version}/evaluate/", {"record": str(record.pk)}, format="json"
    )
    assert created.status_code == 201, created.content
    assert created.json()["status"] == "running"
    assert created.json()["bump"] == second.bump == "minor"
    evaluation = Evaluation.objects.get(pk=created.json()["id"])
    run_now(evaluation.baseline_run)
    run_now(evaluation.candidate_run)

    answer = api(manager).get(f"/api/evaluations/{evaluation.pk}/").json()
    assert answer["status"] == "done"
    assert (answer["candidate"], answer["baseline"]) == (second.version, first.version)
    assert answer["seeds"] == record.seeds  # the record's seeds, for both runs
    hero = answer["outputs"]["hero"]
    assert hero["candidate"]["sha256"] != hero["baseline"]["sha256"]  # the prompt changed the picture
    assert hero["baseline"]["sha256"] == record.outputs["hero"]["sha256"]  # same inputs and seeds as the record
    assert 0 <= hero["scores"]["similarity"] < 1 and hero["scores"]["changed"] > 0
    difference = api(manager).get(hero["difference_url"])
    assert difference.status_code == 200
    assert Image.open(io.BytesIO(b"".join(difference.streaming_content))).size == (96, 64)
    assert {c["path"] for c in answer["definition_diff"]} == {"/steps/0/params/prompt"}
    # The runs need no annotation and leave no record.
    runs = Run.objects.filter(pk__in=[evaluation.baseline_run_id, evaluation.candidate_run_id])
    assert {r.status for r in runs} == {RunStatus.FINALIZED}
    assert not VersionRecord.objects.filter(run__in=runs).exists()
    baseline, candidate = (Run.objects.get(pk=answer["runs"][k]) for k in ("baseline", "candidate"))
    assert [s.seed for s in baseline.steps.order_by("index")] == [s.seed for s in candidate.steps.order_by("index")]

    page = Client()
    page.force_login(manager)
    shown = page.get(f"/evaluations/{evaluation.pk}/").content.decode()
    assert hero["difference_url"] in shown and hero["candidate"]["url"] in shown and hero["baseline"]["url"] in shown
    assert "/steps/0/params/prompt" in shown and 'data-testid="promote-with-evidence"' in shown


def test_promote_with_the_evaluation_moves_the_pointer_and_its_history_links_it(two_versions, api, manager, operator):
    workflow, first, second = two_versions
    evaluation = evaluated(manager, second, record=finished_record(operator, workflow))
    answer = api(manager).post(
        f"/api/workflows/{workflow.slug}/versions/{second.version}/promote/",
        {"evidence": str(evaluation.pk)},
        format="json",
    )
    assert answer.status_code == 200, answer.content
    assert answer.json()["is_canonical"] is True
    move = canonical_moves(workflow)[-1]
    assert (move.from_value, move.to_value, move.evidence) == (first.version, second.version, evaluation.pk)
    history = api(manager).get(f"/api/workflows/{workflow.slug}/history/").json()["results"]
    page = Client()
    page.force_login(manager)
    assert f"/evaluations/{evaluation.pk}/" in page.get(f"/workflows/{workflow.slug}/").content.decode()
    assert (history[0]["to"], history[0]["evidence"]) == (second.version, str(evaluation.pk))


def test_evidence_must_be_finished_and_against_todays_canonical(two_versions, publish, manager, operator):
    workflow, _first, second = two_versions
    running = services.evaluate_version(actor=manager, version=second, inputs={"subject": "a fox"})
    with pytest.raises(Conflict) as refused:
        templates.promote_version(actor=manager, version=second, evidence=running)
    assert refused.value.code == "evidence_required"
    third = publish(workflow, small_definition(prompt="{{inputs.subject}}, vibrant urban"))
    stale = evaluated(manager, third, inputs={"subject": "a fox"})
    templates.promote_version(
        actor=manager, version=second, evidence=evaluated(manager, second, inputs={"subject": "a fox"})
    )
    with pytest.raises(Conflict) as refused:  # evaluated against `first`, which is no longer canonical
        templates.promote_version(actor=manager, version=third, evidence=stale)
    assert refused.value.code == "evidence_required"
    with pytest.raises(Conflict):  # evidence for another version
        templates.promote_version(actor=manager, version=third, evidence=running)


def test_inputs_given_get_seeds_drawn_once_for_both_runs(two_versions, manager):
    _workflow, _first, second = two_versions
    evaluation = evaluated(manager, second, inputs={"subject": "a heron"})
    assert evaluation.is_done and evaluation.source_record is None
    seeds = {s.step_id: s.seed for s in evaluation.baseline_run.steps.all()}
    assert seeds == evaluation.seeds == {s.step_id: s.seed for s in evaluation.candidate_run.steps.all()}


def test_an_evaluation_from_a_swept_record_runs_its_swept_value(two_versions, manager, operator):
    """A record of a sweep was made with its swept value, not the version's default: the canonical run
    of its evaluation must look like the record it names."""
    _workflow, first, second = two_versions
    batch = services.start_batch(
        actor=operator,
        workflow=first.workflow,
        version=first,
        inputs={"subject": "a heron"},
        sweep={"styled.strength": [0.9]},
    )
    run = run_now(batch.runs.get())
    services.finalize_run(actor=operator, run=run, label="strong", annotation="the sweep's pick")
    record = services.write_record(run_id=run.pk)
    evaluation = evaluated(manager, second, record=record)
    for evaluated_run in (evaluation.baseline_run, evaluation.candidate_run):
        styled = evaluated_run.steps.get(step_id="styled")
        assert styled.params["strength"] == 0.9
    assert evaluation.baseline_run.steps.get(step_id="styled").output_id == record.outputs["hero"]["sha256"]


def test_an_evaluation_run_does_not_say_finalized_since_it_leaves_no_record(two_versions, manager):
    """A run that says "Finalized" promises a record: the run page and the team queue say what the run was for."""
    _workflow, _first, second = two_versions
    evaluation = evaluated(manager, second, inputs={"subject": "a heron"})
    page = Client()
    page.force_login(manager)
    run_page = page.get(f"/runs/{evaluation.candidate_run_id}/").content.decode()
    assert "Done · evaluation, no record" in run_page and ">Finalized<" not in run_page
    assert "Done · evaluation, no record" in page.get("/runs/").content.decode()


def test_without_record_inputs_or_production_pin_there_is_nothing_to_evaluate_with(two_versions, api, manager):
    workflow, _first, second = two_versions
    answer = api(manager).post(f"/api/workflows/{workflow.slug}/versions/{second.version}/evaluate/", {}, format="json")
    assert answer.status_code == 400
    assert answer.json()["errors"][0]["code"] == "inputs_required"


def test_an_evaluation_takes_the_production_pins_record_by_default(two_versions, manager, operator):
    workflow, _first, second = two_versions
    record = finished_record(operator, workflow)
    services.approve_record(actor=manager, record=record)
    services.set_workflow_mode(actor=manager, workflow=workflow, mode="production", pin_record=record)
    evaluation = evaluated(manager, second)
    assert evaluation.source_record_id == record.pk and evaluation.seeds == record.seeds


def test_an_operator_may_not_evaluate(two_versions, api, operator):
    workflow, _first, second = two_versions
    answer = api(operator).post(
        f"/api/workflows/{workflow.slug}/versions/{second.version}/evaluate/",
        {"inputs": {"subject": "x"}},
        format="json",
    )
    assert answer.status_code == 403


def test_an_admin_override_needs_a_reason_and_records_it(two_versions, api, admin_user):
    workflow, _first, second = two_versions
    url = f"/api/workflows/{workflow.slug}/versions/{second.version}/promote/"
    refused = api(admin_user).post(url, {}, format="json")
    assert refused.status_code == 409 and refused.json()["code"] == "evidence_required"
    assert api(admin_user).post(url, {"reason": "   "}, format="json").status_code == 409
    done = api(admin_user).post(url, {"reason": "client signed off on the cool palette"}, format="json")
    assert done.status_code == 200
    move = canonical_moves(workflow)[-1]
    assert move.evidence_waived and move.evidence is None
    assert move.reason == "client signed off on the cool palette"
    page = Client()
    page.force_login(admin_user)
    assert 'data-testid="history-waived"' in page.get(f"/workflows/{workflow.slug}/").content.decode()


def test_the_first_canonical_version_needs_no_evidence(make_workflow, publish, api, manager):
    workflow = make_workflow()
    shadow = publish(workflow, small_definition(), channel="shadow")  # published, but not canonical
    templates.set_channel(actor=manager, version=shadow, channel="standard")
    answer = api(manager).post(f"/api/workflows/{workflow.slug}/versions/{shadow.version}/promote/", {}, format="json")
    assert answer.status_code == 200 and answer.json()["is_canonical"] is True
    (move,) = canonical_moves(workflow)
    assert move.evidence is None and not move.evidence_waived


# --- contact sheets ------------------------------------------------------------------------------


@pytest.fixture
def base_with_three_directions(make_workflow, publish, operator):
    base = make_workflow("campaign", "Campaign")
    publish(base, small_definition())
    for label, prompt in (("WarmEarthy", "warm"), ("CoolMinimal", "cool"), ("VibrantUrban", "vibrant")):
        direction = templates.derive_direction(
            actor=operator, base=base, slug=f"campaign-{label.lower()}", name=label, direction_label=label
        )
        draft = Draft.objects.get(workflow=direction)
        templates.update_draft(
            actor=operator, draft=draft, definition=small_definition(prompt=f"{{{{inputs.subject}}}}, {prompt}")
        )
        templates.publish_draft(actor=operator, draft=draft)
    return base


def test_a_contact_sheet_renders_the_base_and_three_directions_with_one_seed_into_one_png(
    base_with_three_directions, api, operator
):
    base = base_with_three_directions
    created = api(operator).post(
        f"/api/workflows/{base.slug}/contact-sheet/", {"inputs": {"subject": "a fox"}, "seed": 4242}, format="json"
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["status"] == "running" and body["seed"] == 4242
    assert [c["label"] for c in body["cells"]] == ["Campaign (base)", "WarmEarthy", "CoolMinimal", "VibrantUrban"]
    sheet = ContactSheet.objects.get(pk=body["id"])
    assert api(operator).get(f"/api/contact-sheets/{sheet.pk}/image.png").status_code == 404  # not yet
    runs = [Run.objects.get(pk=c["run"]) for c in body["cells"]]
    for run in runs:
        assert {s.seed for s in run.steps.all()} == {4242}
        run_now(run)
    sheet.refresh_from_db()
    assert sheet.is_done
    answer = api(operator).get(f"/api/contact-sheets/{sheet.pk}/").json()
    assert {c["status"] for c in answer["cells"]} == {"finalized"}
    assert not VersionRecord.objects.filter(run__in=runs).exists()

    png = api(operator).get(f"/api/contact-sheets/{sheet.pk}/image.png")
    assert png.status_code == 200 and png["Content-Type"] == "image/png"
    grid = np.asarray(Image.open(io.BytesIO(png.content)).convert("RGB"))
    outputs = [next(iter(r.outputs_by_name().values())) for r in (Run.objects.with_detail().get(pk=r.pk) for r in runs)]
    assert len({o.sha256 for o in outputs}) == 4  # four different pictures…
    layout = evidence.sheet_layout([(o.width, o.height) for o in outputs])
    for output, (left, top, right, bottom) in zip(outputs, layout.boxes, strict=True):
        made = np.asarray(Image.open(io.BytesIO(read_artifact(output))).convert("RGB"))
        assert np.array_equal(grid[top:bottom, left:right], made)  # …each in its own cell, pixel for pixel

    page = Client()
    page.force_login(operator)
    shown = page.get(f"/contact-sheets/{sheet.pk}/").content.decode()
    assert shown.count('data-testid="sheet-cell"') == 4 and "VibrantUrban" in shown and "exploring" in shown
    # Its inputs read as the batch page's do ("subject a fox"), not as a Python dict ("{'subject': 'a fox'}").
    assert "<strong>subject</strong> a fox" in shown and "{&#x27;subject&#x27;" not in shown
    assert page.get(f"/contact-sheets/{sheet.pk}/image.png").status_code == 200


def test_a_contact_sheet_leaves_out_archived_directions_unless_asked(base_with_three_directions, operator, admin_user):
    base = base_with_three_directions
    archived = base.directions.get(direction_label="CoolMinimal")
    templates.archive_workflow(actor=admin_user, workflow=archived, reason="dropped")
    sheet = services.make_contact_sheet(actor=operator, base=base, inputs={"subject": "a fox"})
    assert [c.label for c in sheet.cells.order_by("position")] == ["Campaign (base)", "WarmEarthy", "VibrantUrban"]
    everything = services.make_contact_sheet(
        actor=operator, base=base, inputs={"subject": "a fox"}, include_archived=True
    )
    assert everything.cells.filter(lifecycle="archived").count() == 1


def test_a_contact_sheet_is_made_from_a_base_not_a_direction(base_with_three_directions, api, operator):
    answer = api(operator).post(
        "/api/workflows/campaign-warmearthy/contact-sheet/", {"inputs": {"subject": "a fox"}}, format="json"
    )
    assert answer.status_code == 409 and answer.json()["code"] == "not_a_base"


# --- version diff --------------------------------------------------------------------------------


def test_the_diff_of_two_versions_lists_the_changed_prompt_and_the_bump_publish_computed(two_versions, api, operator):
    workflow, first, second = two_versions
    answer = api(operator).get(f"/api/workflows/{workflow.slug}/versions/{first.version}/diff/?to={second.version}")
    assert answer.status_code == 200
    body = answer.json()
    assert (body["from"], body["to"]) == (first.version, second.version)
    assert body["changes"] == [
        {
            "op": "replace",
            "path": "/steps/0/params/prompt",
            "from": "{{inputs.subject}}, warm earthy palette",
            "to": COOL,
        }
    ]
    assert body["bump"] == second.bump == "minor"
    assert api(operator).get(f"/api/workflows/{workflow.slug}/versions/{first.version}/diff/").status_code == 400

    page = Client()
    page.force_login(operator)
    listed = page.get(f"/workflows/{workflow.slug}/").content.decode()
    link = f"/workflows/{workflow.slug}/versions/{first.version}/diff/?to={second.version}"
    assert link in listed  # "compare with canonical" on the version list
    shown = page.get(link).content.decode()
    assert "/steps/0/params/prompt" in shown and "cool minimal palette" in shown and 'data-testid="diff-bump"' in shown


def test_a_diff_names_added_and_removed_paths_with_json_pointer_escapes():
    from templates_app.diff import changes

    found = changes(
        {"a/b": 1, "gone": 2, "steps": [{"id": "x", "p": 1}]},
        {"a/b": 1, "new~": 3, "steps": [{"id": "y"}, {"id": "x", "p": 2}]},
    )
    assert [c.as_json() for c in found] == [
        {"op": "remove", "path": "/gone", "from": 2, "to": None},
        {"op": "add", "path": "/steps/0", "from": None, "to": {"id": "y"}},
        {"op": "replace", "path": "/steps/1/p", "from": 1, "to": 2},
        {"op": "add", "path": "/new~0", "from": None, "to": 3},
    ]


def test_a_cancelled_run_fails_its_evaluation_and_a_sheet_still_shows_the_cells_that_rendered(
    base_with_three_directions, publish, operator, manager
):
    base = base_with_three_directions
    newer = publish(base, small_definition(prompt=COOL))
    evaluation = services.evaluate_version(actor=manager, version=newer, inputs={"subject": "a fox"})
    services.cancel_run(actor=manager, run=evaluation.candidate_run)
    run_now(evaluation.baseline_run)
    evaluation.refresh_from_db()
    assert evaluation.is_failed and evaluation.note == "cancelled"
    with pytest.raises(Conflict):
        templates.promote_version(actor=manager, version=newer, evidence=evaluation)

    sheet = services.make_contact_sheet(actor=operator, base=base, inputs={"subject": "a fox"})
    cells = list(sheet.cells.select_related("run").order_by("position"))
    services.cancel_run(actor=operator, run=cells[1].run)
    for cell in cells[:1] + cells[2:]:
        run_now(cell.run)
    sheet.refresh_from_db()
    assert sheet.is_failed and sheet.image is not None and "WarmEarthy" in sheet.note
    assert Image.open(io.BytesIO(read_artifact(sheet.image))).size == (
        evidence.sheet_layout([(96, 64)] * 4).width,
        evidence.sheet_layout([(96, 64)] * 4).height,
    )


@pytest.mark.django_db(transaction=True)
@pytest.mark.worker
def test_real_workers_settle_an_evaluation_and_a_contact_sheet(worker, make_workflow, publish, operator, manager):
    base = make_workflow("campaign", "Campaign")
    publish(base, small_definition())
    newer = publish(base, small_definition(prompt=COOL))
    direction = templates.derive_direction(
        actor=operator, base=base, slug="campaign-cool", name="Cool", direction_label="Cool"
    )
    templates.publish_draft(actor=operator, draft=Draft.objects.get(workflow=direction))
    evaluation = services.evaluate_version(actor=manager, version=newer, inputs={"subject": "a fox"})
    sheet = services.make_contact_sheet(actor=operator, base=base, inputs={"subject": "a fox"}, seed=5)
    settled = wait_for(
        lambda: Evaluation.objects.filter(pk=evaluation.pk).exclude(status="running").first(), 60, what="evaluation"
    )
    assert settled.is_done and settled.outputs["hero"]["difference"]["image"]
    drawn = wait_for(
        lambda: ContactSheet.objects.filter(pk=sheet.pk).exclude(status="running").first(), 60, what="sheet"
    )
    assert drawn.is_done and drawn.image_id


def test_evaluate_on_the_workflow_page_asks_for_a_record_when_there_is_no_pin_to_take_one_from(two_versions, manager):
    """Without a production pin the Evaluate button needs a record: the browser asks for one before
    sending, rather than the page answering 'inputs: Give inputs or a record…' the form cannot give."""
    workflow, _first, second = two_versions
    page = Client()
    page.force_login(manager)
    shown = page.get(f"/workflows/{workflow.slug}/").content.decode()
    form = shown.split(f'data-testid="evaluate-{second.version}"', 1)[1].split("</form>", 1)[0]
    assert '<select name="record"' in form and " required" in form.split("<select", 1)[1].split(">", 1)[0]
