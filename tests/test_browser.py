"""The product in a real browser: Playwright drives Debian's Chromium against a
live server and a real Celery worker. Screenshots of the main pages land in
test-output/screenshots/."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from core.ui import NO_ROLE_YET
from runs_app import services
from runs_app.models import RunStatus, SignedOutput, VersionRecord
from templates_app import services as templates
from templates_app.models import Workflow
from tests.helpers import finished_record, run_now, small_definition, wait_for

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path(__file__).resolve().parent.parent / "test-output" / "screenshots"
CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="module", autouse=True)
def _sync_orm_beside_playwright() -> Iterator[None]:
    # Playwright's sync API keeps an event loop in this thread; the ORM calls in these tests
    # (fixtures and database teardown included) are ordinary synchronous code, so tell Django
    # not to object — for this module only.
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        yield


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail("Chromium is missing: `make test` installs it (Debian package chromium).")
    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield b
        b.close()


# Injected by Playwright before any page script (not an inline script, so the CSP does not apply):
# every violation of the Content-Security-Policy is reported on the console, where the fixture sees it.
REPORT_CSP_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (e) => {
  console.error(`CSP violation: ${e.violatedDirective} blocked ${e.blockedURI || "inline"} at ${e.sourceFile}:${e.lineNumber}`);
});
"""


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh browser tab; the test fails if any page broke the Content-Security-Policy, logged a
    Permissions-Policy error on the console, or threw an uncaught error (a TypeError in a handler
    of static/floniks/pages.js breaks a feature without a word on the page)."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(30_000)
    context.add_init_script(REPORT_CSP_VIOLATIONS)
    p = context.new_page()
    complaints: list[str] = []

    def listen(message: Any) -> None:
        text = message.text
        if "CSP violation" in text or "Content Security Policy" in text or "Permissions-Policy" in text:
            complaints.append(f"{p.url}: {text}")

    p.on("console", listen)
    p.on("pageerror", lambda error: complaints.append(f"{p.url}: uncaught {error.name}: {error.message}"))
    yield p
    context.close()
    assert complaints == [], "\n".join(complaints)


def shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def sign_in(page: Page, live_server: Any, user: Any) -> None:
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", "pw-" + user.username)
    page.click("button[type=submit]")
    expect(page.get_by_test_id("role")).to_be_visible()


@pytest.fixture
def campaign(make_workflow, publish, operator, manager) -> dict[str, Any]:
    base = make_workflow("campaign-a", "Campaign A")
    publish(base, small_definition(width=256, height=192))
    public = publish(
        base, small_definition(width=256, height=192, prompt="{{inputs.subject}}, vibrant"), visibility="public"
    )
    directions = {}
    for label, prompt in (
        ("WarmEarthy", "warm earthy"),
        ("CoolMinimal", "cool minimal"),
        ("VibrantUrban", "vibrant urban"),
    ):
        direction = templates.derive_direction(
            actor=operator,
            base=base,
            slug=f"campaign-a-{label.lower()}",
            name=f"Campaign A {label}",
            direction_label=label,
        )
        draft = direction.drafts.get()
        templates.update_draft(
            actor=operator,
            draft=draft,
            definition=small_definition(width=256, height=192, prompt="{{inputs.subject}}, " + prompt),
        )
        templates.publish_draft(actor=operator, draft=draft)
        directions[label] = direction
    first = finished_record(operator, directions["WarmEarthy"], label="warm first", annotation="first warm take")
    second = finished_record(
        operator,
        directions["WarmEarthy"],
        inputs={"subject": "a hare"},
        label="warm hare",
        annotation="client asked for a hare",
    )
    return {"base": base, "directions": directions, "records": (first, second), "public": public}


# `campaign` before `worker`: its records are made in this process (run_now), and a worker already
# running would take their steps from under it, leaving run_now with a run still generating.
def test_operator_runs_watches_and_annotates(page, live_server, operator, campaign, worker):
    sign_in(page, live_server, operator)
    shot(page, "01-dashboard")
    page.goto(f"{live_server.url}/workflows/")
    expect(page.get_by_test_id("tree-campaign-a")).to_be_visible()
    shot(page, "02-library")
    page.locator("table").get_by_text("Campaign A WarmEarthy", exact=True).click()
    expect(page.get_by_test_id("lifecycle")).to_have_text("exploring")
    shot(page, "03-workflow")

    # The draft editor validates as you type.
    page.click("text=New draft")
    editor = page.locator("#definition")
    editor.fill(editor.input_value().replace("{{steps.background.output}}", "{{steps.nowhere.output}}"))
    expect(page.get_by_test_id("problems")).to_contain_text("There is no step 'nowhere'.")
    expect(page.get_by_test_id("problems")).to_contain_text("steps[1].params.image")
    shot(page, "04-draft-editor")
    editor.fill(
        editor.input_value()
        .replace("{{steps.nowhere.output}}", "{{steps.background.output}}")
        .replace('"strength": 0.4', '"strength": 0.55')
    )
    expect(page.get_by_test_id("validation-state")).to_have_text("ready to publish")
    expect(page.get_by_test_id("bump")).to_have_text("minor")
    page.fill("#message", "a stronger img2img pass")
    page.click("#publish")
    expect(page.locator(".msg.success")).to_contain_text("(minor)")
    expect(page.locator("[data-testid^=version-]")).to_have_count(2)
    # Publishing does not move the canonical pointer: the page says so, and who does.
    expect(page.get_by_test_id("published-notice")).to_contain_text("is not canonical")
    expect(page.get_by_test_id("published-notice")).to_contain_text(
        "A manager makes it canonical from the versions list"
    )
    expect(page.get_by_test_id("publish-message")).to_have_text("a stronger img2img pass")
    shot(page, "04b-published")

    page.goto(f"{live_server.url}/workflows/campaign-a-warmearthy/run/")
    page.fill("#input_subject", "a red fox at dawn")
    shot(page, "05-run-form")
    page.click("text=Start run")
    expect(page).to_have_url(re.compile(r"/runs/[0-9a-f-]+/$"))
    expect(page.get_by_test_id("run-status")).to_have_text("Awaiting annotation", timeout=60_000)
    expect(page.get_by_test_id("output-hero")).to_be_visible()
    shot(page, "06-run-finished")

    page.fill("#label", "dawn fox")
    page.click("#finalize")
    expect(page.get_by_test_id("annotation-error")).to_contain_text("tick the box")
    expect(page.locator("#confirm_no_annotation")).to_be_visible()
    shot(page, "07-annotation-refused")

    page.fill("#annotation", "client asked for a dawn scene after the review call")
    page.click("#finalize")
    expect(page).to_have_url(re.compile(r"/records/[0-9a-f-]+/$"), timeout=60_000)
    expect(page.locator("h1")).to_have_text("v3-dawn-fox")
    expect(page.locator(".annotation")).to_contain_text("dawn scene")
    shot(page, "08-record")


def test_manager_compares_approves_and_picks_a_direction(page, live_server, manager, campaign):
    sign_in(page, live_server, manager)
    page.goto(f"{live_server.url}/records/")
    expect(page.get_by_test_id("history")).to_contain_text("v2-warm-hare")
    shot(page, "09-history")
    boxes = page.locator("input[name=r]")
    boxes.nth(0).check()
    boxes.nth(1).check()
    page.click("#compare-selected")
    expect(page.locator("h1")).to_contain_text("vs")
    expect(page.get_by_test_id("diff-image")).to_be_visible()
    expect(page.locator("td.changed").first).to_be_visible()
    shot(page, "10-compare")

    first, _second = campaign["records"]
    page.goto(f"{live_server.url}/records/{first.pk}/")
    page.click("#approve-record")
    expect(page.get_by_test_id("approval")).to_contain_text("approved by " + manager.username)

    page.goto(f"{live_server.url}/workflows/campaign-a-warmearthy/")
    page.click("text=Make WarmEarthy the production direction")
    expect(page.get_by_test_id("siblings")).to_contain_text("CoolMinimal")
    expect(page.get_by_test_id("siblings")).to_contain_text("VibrantUrban")
    shot(page, "11-approve-direction")
    page.click("text=Approve and archive 2 siblings")
    expect(page.get_by_test_id("lifecycle")).to_have_text("production")
    lifecycles = dict(
        Workflow.objects.filter(derived_from=campaign["base"]).values_list("direction_label", "lifecycle")
    )
    assert lifecycles == {"WarmEarthy": "production", "CoolMinimal": "archived", "VibrantUrban": "archived"}
    page.goto(f"{live_server.url}/workflows/")
    shot(page, "12-library-after-approval")


def test_admin_resurrects_an_archived_direction(page, live_server, manager, admin_user, campaign):
    templates.approve_direction(actor=manager, workflow=campaign["directions"]["WarmEarthy"])
    sign_in(page, live_server, admin_user)
    page.goto(f"{live_server.url}/workflows/campaign-a-coolminimal/")
    expect(page.get_by_test_id("lifecycle")).to_have_text("archived")
    page.fill("#res-reason", "client came back to the cool look")
    page.click("button:has-text('Resurrect')")
    expect(page.get_by_test_id("lifecycle")).to_have_text("exploring")
    expect(page.get_by_test_id("pointer-history")).to_contain_text("client came back to the cool look")
    shot(page, "13-resurrected")


def test_anonymous_visitor_sees_a_public_manifest_and_nothing_internal(page, live_server, campaign):
    public = campaign["public"]
    page.goto(f"{live_server.url}/manifests/{public.manifest_hash}/")
    expect(page.get_by_test_id("manifest-hash")).to_have_text(public.manifest_hash)
    expect(page.locator("pre")).to_contain_text("vibrant")
    expect(page.locator("nav")).not_to_contain_text("Library")
    expect(page.locator("nav")).not_to_contain_text("History")
    shot(page, "14-public-manifest")
    internal = campaign["base"].versions.get(visibility="internal")
    response = page.goto(f"{live_server.url}/manifests/{internal.manifest_hash}/")
    assert response is not None and response.status == 404
    response = page.goto(f"{live_server.url}/records/")
    assert "/accounts/login/" in page.url
    response = page.goto(f"{live_server.url}/artifacts/{campaign['records'][0].outputs['hero']['sha256']}")
    assert response is not None and response.status == 404
    assert services is not None


def _tiny_png(path: Path) -> Path:
    from PIL import Image

    Image.new("RGB", (40, 30), (200, 90, 40)).save(path, "PNG")
    return path


def test_interactive_parts_work_under_the_content_security_policy(
    page, live_server, operator, campaign, worker, tmp_path
):
    """Live validation, the image preview, the version switch, polling, hx-confirm (dismissed,
    then accepted), the compare picker and the API docs, all with no inline script or style."""
    sign_in(page, live_server, operator)
    dialogs: list[str] = []
    answer = {"accept": False}

    def on_dialog(dialog: Any) -> None:
        dialogs.append(dialog.message)
        dialog.accept() if answer["accept"] else dialog.dismiss()

    page.on("dialog", on_dialog)

    # Draft editor: validation follows typing; discarding asks first (hx-confirm), and No keeps it.
    page.goto(f"{live_server.url}/workflows/campaign-a-coolminimal/")
    page.click("text=New draft")
    editor = page.locator("#definition")
    editor.fill(editor.input_value().replace('"strength": 0.4', '"strength": 7'))
    expect(page.get_by_test_id("validation-state")).to_contain_text("problem")
    editor.fill(editor.input_value().replace('"strength": 7', '"strength": 0.6'))
    expect(page.get_by_test_id("validation-state")).to_have_text("ready to publish")
    draft_url = page.url
    page.click("text=Discard draft")
    expect(page.locator(".msg.success")).to_have_count(0)
    assert dialogs[-1].startswith("Discard this draft?") and page.url == draft_url
    answer["accept"] = True
    page.on("dialog", lambda d: None)  # the unsaved-edits warning must not block the boosted discard
    page.click("text=Discard draft")
    expect(page.locator(".msg.success")).to_be_visible()
    assert len(dialogs) == 2

    # Run form: switching the version reloads with ?version=, and a chosen image shows as a blob: preview.
    page.goto(f"{live_server.url}/workflows/campaign-a/run/")
    versions = page.locator("#version option")
    other = versions.nth(1).get_attribute("value")
    page.select_option("#version", other)
    expect(page).to_have_url(re.compile(rf"\?version={re.escape(other or '')}$"))
    page.set_input_files("#input_reference", str(_tiny_png(tmp_path / "ref.png")))
    preview = page.locator("#preview_reference")
    expect(preview).to_be_visible()
    assert (preview.get_attribute("src") or "").startswith("blob:")
    # (evaluate, not wait_for_function: that evaluates a string, which this very CSP refuses)
    wait_for(lambda: preview.evaluate("img => img.naturalWidth") == 40, timeout=10, what="the preview to load")
    page.fill("#input_subject", "a fox under the CSP")
    page.click("text=Start run")

    # The live block polls until the run waits for its annotation; then Discard (hx-confirm) ends it
    # and the button goes with the block.
    expect(page.get_by_test_id("run-status")).to_have_text("Awaiting annotation", timeout=60_000)
    expect(page.locator("#annotation")).to_be_visible()
    expect(page.locator("#run-live [data-testid=cancel-run]")).to_contain_text("Discard run")
    answer["accept"] = False
    page.click("text=Discard run")
    expect(page.get_by_test_id("run-status")).to_have_text("Awaiting annotation")
    answer["accept"] = True
    page.click("text=Discard run")
    expect(page.get_by_test_id("run-status")).to_have_text("Discarded")  # kept, and still finalisable
    expect(page.get_by_test_id("cancel-run")).to_have_count(0)
    assert dialogs[-1].startswith("Discard this finished run?") and len(dialogs) == 4
    shot(page, "15-run-discarded")

    # History: the compare button waits for two to four ticks (static/floniks/pages.js).
    page.goto(f"{live_server.url}/records/")
    button = page.locator("#compare-selected")
    expect(button).to_be_disabled()
    page.locator("input[name=r]").nth(0).check()
    expect(page.locator("#compare-hint")).to_have_text("Tick two to four records (1 ticked).")
    page.locator("input[name=r]").nth(1).check()
    expect(button).to_be_enabled()
    button.click()
    expect(page.get_by_test_id("diff-image")).to_be_visible()
    diff = page.get_by_test_id("diff-image")
    wait_for(lambda: diff.evaluate("img => img.naturalWidth") > 0, timeout=10, what="the difference image")

    # The API docs page runs Swagger UI under its own policy.
    page.goto(f"{live_server.url}/api/docs/")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Floniks API")
    expect(page.locator(".opblock").first).to_be_visible()
    shot(page, "16-api-docs")


def test_choosing_a_reference_image_shows_its_preview(page, live_server, operator, make_workflow, publish, tmp_path):
    """The run form's preview of the chosen image, drawn by static/floniks/pages.js: visible, from a
    blob: URL, actually decoded; and no error on the way (the page fixture fails on any)."""
    publish(make_workflow("poster", "Poster"), small_definition())
    sign_in(page, live_server, operator)
    page.goto(f"{live_server.url}/workflows/poster/run/")
    preview = page.get_by_role("img", name="Preview of reference")
    expect(preview).to_be_hidden()
    page.get_by_label("Reference").set_input_files(str(_tiny_png(tmp_path / "ref.png")))
    expect(preview).to_be_visible()
    assert (preview.get_attribute("src") or "").startswith("blob:")
    # (evaluate, not wait_for_function: that evaluates a string, which this very CSP refuses)
    wait_for(lambda: preview.evaluate("img => img.naturalWidth") > 0, timeout=10, what="the preview to load")
    page.get_by_label("Reference").set_input_files([])  # chosen, then unchosen: the preview goes
    expect(preview).to_be_hidden()


def test_a_run_finalised_in_another_tab_loses_its_discard_button_here(
    page, live_server, operator, make_workflow, publish, worker
):
    """The run page stays open while the run finishes and is finalised in a second tab: this tab
    follows, without a reload, to the record, and offers no Cancel or Discard button on the way."""
    workflow = make_workflow("poster", "Poster")
    publish(workflow, small_definition())
    sign_in(page, live_server, operator)
    run = services.start_run(actor=operator, workflow=workflow, inputs={"subject": "a heron"})
    page.goto(f"{live_server.url}/runs/{run.pk}/")
    page.evaluate("() => { document.body.dataset.sameDocument = 'yes'; }")  # gone if the page reloads
    expect(page.get_by_test_id("run-status")).to_have_text("Awaiting annotation", timeout=60_000)
    expect(page.get_by_test_id("cancel-run")).to_contain_text("Discard run")

    other = page.context.new_page()
    other.goto(f"{live_server.url}/runs/{run.pk}/")
    other.fill("#label", "heron")
    other.fill("#annotation", "finalised in the other tab")
    other.click("#finalize")
    expect(other).to_have_url(re.compile(r"/records/[0-9a-f-]+/$"), timeout=60_000)  # it follows to the record
    other.close()

    expect(page.get_by_test_id("run-status")).to_have_text(RunStatus.FINALIZED.label, timeout=30_000)
    expect(page.get_by_test_id("cancel-run")).to_have_count(0)
    expect(page.locator("#annotate")).to_have_count(0)
    expect(page.get_by_test_id("record-link")).to_be_visible()
    assert page.evaluate("() => document.body.dataset.sameDocument") == "yes"


def test_the_run_page_shows_a_long_step_s_progress_live(page, live_server, worker, operator, make_workflow, publish):
    workflow = make_workflow("long-motion", "Long motion")
    d = small_definition()
    d["steps"] = [
        {
            "id": "motion",
            "kind": "animate",
            "model": "local/plasma",
            "params": {"prompt": "{{inputs.subject}} at dusk", "frames": 60, "width": 320, "height": 320},
        }
    ]
    d["outputs"] = {"loop": "{{steps.motion.output}}"}
    publish(workflow, d)
    sign_in(page, live_server, operator)
    run = services.start_run(actor=operator, workflow=workflow, inputs={"subject": "a fox"})
    page.goto(f"{live_server.url}/runs/{run.pk}/")

    # What the page shows now, read in one go: the polled block is replaced every second.
    read = """() => [
        document.querySelector('[data-testid="run-status"]')?.textContent.trim(),
        document.querySelector('[data-testid="step-percent-motion"]')?.textContent ?? null,
    ]"""
    seen: list[int] = []
    for _ in range(600):  # two minutes at most
        status, shown = page.evaluate(read)
        if shown is not None and (percent := int(shown.strip(" %"))) and (not seen or percent != seen[-1]):
            seen.append(percent)
        if status not in ("Queued", "Running"):
            break
        page.wait_for_timeout(200)
    print(f"\nthe run page showed the step at {seen} %")
    assert len(set(seen)) >= 3, f"the page showed the step at {seen} %"
    assert seen == sorted(seen), f"the page showed the step at {seen} %"
    expect(page.get_by_test_id("run-status")).to_have_text("Awaiting annotation")
    expect(page.get_by_test_id("output-loop")).to_be_visible()
    shot(page, "17-run-progress-finished")


def test_an_operator_looks_at_the_draft_at_a_gate_then_continues(
    page, live_server, worker, operator, make_workflow, publish
):
    """A cheap draft first: the run stops after it with the draft on screen; Continue runs the rest,
    and the version record says who let it go on."""
    workflow = make_workflow("storyboard", "Storyboard")
    d = small_definition()
    d["policy"] = {"gates": [{"after": "background"}]}
    publish(workflow, d)
    sign_in(page, live_server, operator)
    run = services.start_run(actor=operator, workflow=workflow, inputs={"subject": "a lighthouse"})
    page.goto(f"{live_server.url}/runs/{run.pk}/")
    expect(page.get_by_test_id("run-status")).to_have_text("Paused at a gate", timeout=60_000)
    expect(page.get_by_test_id("gate")).to_contain_text("Paused after “background”")
    expect(page.get_by_role("img", name="background")).to_be_visible()  # the draft, to look at
    expect(page.get_by_test_id("step-styled")).to_contain_text("Pending")
    shot(page, "18-run-at-a-gate")
    page.get_by_test_id("continue-run").click()
    expect(page.get_by_test_id("run-status")).to_have_text("Awaiting annotation", timeout=60_000)
    expect(page.get_by_test_id("gate-background")).to_contain_text(f"continued by {operator.username}")
    page.fill("#label", "lighthouse draft ok")
    page.fill("#annotation", "the draft looked right, so we paid for the styled pass")
    page.click("#finalize")
    expect(page.get_by_test_id("record-gates")).to_contain_text(f"continued by {operator.username}", timeout=60_000)


def test_an_account_without_a_role_lands_on_the_public_pages(page: Page, live_server: Any, outsider: Any) -> None:
    """Told why, with nothing in the console; the sign-in page's own link does not grow."""
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type in ("error", "warning") else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.goto(f"{live_server.url}/records/")  # a team page: sign in first
    page.get_by_role("link", name="Sign in").click()
    page.get_by_role("link", name="Sign in").click()  # the sign-in page's own link, twice
    assert page.url == f"{live_server.url}/accounts/login/?next=%2Frecords%2F"
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", outsider.username)
    page.fill("#id_password", "pw-" + outsider.username)
    page.click("button[type=submit]")
    expect(page).to_have_url(f"{live_server.url}/public/")
    expect(page.get_by_role("status")).to_have_text(NO_ROLE_YET)
    page.wait_for_load_state("networkidle")
    assert problems == []


def test_long_unbroken_text_wraps_instead_of_widening_the_page(page, live_server, operator, make_workflow, publish):
    """A 3,000-character prompt with no space, a 60-character label and a long unbroken annotation:
    at desktop and phone widths the record, compare and run pages never scroll sideways."""
    workflow = make_workflow("long-words", "Long words")
    publish(workflow, small_definition())
    word = "x" * 3000
    records = [
        finished_record(operator, workflow, inputs={"subject": word + str(i)}, label="a" * 60, annotation="n" * 3000)
        for i in range(2)
    ]
    sign_in(page, live_server, operator)
    urls = [
        f"/records/{records[0].pk}/",
        f"/runs/{records[0].run_id}/",
        "/records/",
        f"/records/compare/?r={records[0].pk}&r={records[1].pk}",  # last: its screenshot is kept
    ]
    for width in (1280, 390):
        page.set_viewport_size({"width": width, "height": 900})
        for url in urls:
            page.goto(f"{live_server.url}{url}")
            expect(page.locator("h1")).to_be_visible()
            scroll_width = page.evaluate("document.documentElement.scrollWidth")
            assert scroll_width <= width + 1, f"{url} at {width} px is {scroll_width} px wide"
        shot(page, f"19-compare-long-text-{width}px")


def test_compare_wipe_and_overlay_follow_their_sliders(page, live_server, operator, make_workflow, publish):
    """An output two records both made: the wipe's divider follows its slider (dragged, typed or moved
    with the keys, or the image dragged) and the overlay's opacity its own; four records fit a phone."""
    workflow = make_workflow("wiped", "Wiped")
    publish(workflow, small_definition())
    records = [
        finished_record(operator, workflow, inputs={"subject": s}, label=f"{s} look")
        for s in ("a fox", "an owl", "a heron", "a hare")
    ]
    sign_in(page, live_server, operator)
    page.goto(f"{live_server.url}/records/compare/?r={records[0].pk}&r={records[1].pk}")
    wipe, top = page.get_by_test_id("wipe"), page.get_by_test_id("wipe-top")
    expect(wipe).to_be_hidden()
    expect(page.get_by_test_id("diff-image")).to_be_visible()

    def divider() -> str:
        return wipe.evaluate("el => getComputedStyle(el).getPropertyValue('--wipe').trim()")

    def clip() -> str:
        return top.evaluate("el => getComputedStyle(el).clipPath")

    page.get_by_test_id("view-wipe").check()
    expect(wipe).to_be_visible()
    expect(page.get_by_test_id("diff-image")).to_be_hidden()
    assert divider() == "50%" and clip().endswith(" 50%)"), clip()
    slider = page.get_by_test_id("wipe-slider")
    slider.fill("80")
    assert divider() == "80%" and clip().endswith(" 80%)"), clip()
    slider.focus()
    page.keyboard.press("ArrowLeft")
    assert divider() == "79%"
    box = top.bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + box["width"] * 0.25, box["y"] + box["height"] / 2)
    assert abs(int(slider.input_value()) - 25) <= 1 and divider() == f"{slider.input_value()}%"
    shot(page, "20-compare-wipe")

    overlay = page.get_by_test_id("overlay-top")

    def opacity() -> str:
        return overlay.evaluate("el => getComputedStyle(el).opacity")

    page.get_by_test_id("view-overlay").check()
    expect(overlay).to_be_visible()
    expect(wipe).to_be_hidden()
    assert opacity() == "0.5"
    page.get_by_test_id("overlay-slider").fill("20")
    assert opacity() == "0.2"
    shot(page, "21-compare-overlay")

    page.set_viewport_size({"width": 390, "height": 900})
    page.goto(f"{live_server.url}/records/compare/?" + "&".join(f"r={r.pk}" for r in records))
    expect(page.get_by_test_id("grid-cell")).to_have_count(4)
    page.get_by_test_id("pick-C").click()
    expect(page.get_by_test_id("pick-C")).to_have_attribute("aria-current", "true")
    page.get_by_test_id("view-wipe").check()
    expect(wipe).to_be_visible()
    page.get_by_test_id("wipe-slider").fill("30")
    assert divider() == "30%"
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= 391, f"four records at 390 px are {scroll_width} px wide"
    shot(page, "22-compare-four-390px")


def test_the_annotation_counter_follows_typing(page, live_server, operator, make_workflow, publish):
    """The finalisation form counts the annotation's characters against its limit as you type."""
    workflow = make_workflow("counted", "Counted")
    publish(workflow, small_definition())
    run = run_now(services.start_run(actor=operator, workflow=workflow, inputs={"subject": "a heron"}))
    sign_in(page, live_server, operator)
    page.goto(f"{live_server.url}/runs/{run.pk}/")
    counter = page.get_by_test_id("annotation-count")
    expect(counter).to_have_text("0 / 20,000")
    page.fill("#annotation", "client asked for mist")
    expect(counter).to_have_text("21 / 20,000")
    expect(counter).not_to_have_class(re.compile(r"\bover\b"))
    page.fill("#label", "misty heron")
    page.fill("#annotation", "y" * 20_001)
    expect(counter).to_have_text("20,001 / 20,000")
    expect(counter).to_have_class(re.compile(r"\bover\b"))
    page.click("#finalize")  # refused by the server, and the swapped-in form counts again
    expect(page.get_by_test_id("annotation-error")).to_contain_text("at most 20,000 characters")
    expect(page.get_by_test_id("annotation-count")).to_have_text("20,001 / 20,000")


def test_the_label_counter_follows_typing(page, live_server, operator, make_workflow, publish):
    """The label counts its characters against its limit as you type, like the annotation."""
    workflow = make_workflow("labelled", "Labelled")
    publish(workflow, small_definition())
    run = run_now(services.start_run(actor=operator, workflow=workflow, inputs={"subject": "a heron"}))
    sign_in(page, live_server, operator)
    page.goto(f"{live_server.url}/runs/{run.pk}/")
    counter = page.get_by_test_id("label-count")
    expect(counter).to_have_text("0 / 60")
    page.fill("#label", "misty heron")
    expect(counter).to_have_text("11 / 60")
    page.fill("#label", "z" * 80)  # maxlength keeps it at the limit, and the counter says so
    expect(counter).to_have_text("60 / 60")
    expect(counter).not_to_have_class(re.compile(r"\bover\b"))
    page.click("#finalize")  # refused for want of an annotation; the swapped-in form counts again
    expect(page.get_by_test_id("annotation-error")).to_contain_text("tick the box")
    expect(page.get_by_test_id("label-count")).to_have_text("60 / 60")


# The wrapper of a table: its nearest ancestor that scrolls sideways. At phone width it is scrolled to
# its end, so the answer says where the table's last header cell then is.
LAST_COLUMN_AFTER_SCROLLING = """
(selector) => {
  const table = document.querySelector(selector);
  let box = table.parentElement;
  while (box && box !== document.body && !["auto", "scroll"].includes(getComputedStyle(box).overflowX)) {
    box = box.parentElement;
  }
  if (!box || box === document.body) return {wrapper: null};
  box.scrollLeft = box.scrollWidth;
  const header = table.rows[0].cells;
  const last = header[header.length - 1].getBoundingClientRect();
  const frame = box.getBoundingClientRect();
  return {wrapper: box.className, scrolls: box.scrollWidth > box.clientWidth,
          left: last.left, right: last.right, frameLeft: frame.left, frameRight: frame.right};
}
"""


# Words of table cells broken inside themselves ("canonic / al", "2026.1 / 2.07"): each word of five
# characters or more, without a hyphen or slash to break at, must lie on one line.
WORDS_BROKEN_IN_CELLS = """
(selector) => {
  const broken = [];
  const walker = document.createTreeWalker(document.querySelector(selector), NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    if (!node.parentElement.closest("td") || node.parentElement.closest(".hash")) continue;
    for (const match of node.data.matchAll(/[^\\s\\-\\/]{5,}/g)) {
      const range = document.createRange();
      range.setStart(node, match.index);
      range.setEnd(node, match.index + match[0].length);
      const lines = new Set([...range.getClientRects()].map((r) => Math.round(r.top)));
      if (lines.size > 1) broken.push(match[0]);
    }
  }
  return broken;
}
"""


def test_tables_scroll_inside_their_card_on_a_phone(page, live_server, manager, campaign):
    """At 390 px the page itself never scrolls sideways; a table too wide for it scrolls inside its
    card, and scrolled to its end, its last column is on screen."""
    first, _second = campaign["records"]
    services.approve_record(actor=manager, record=first)
    services.set_workflow_mode(
        actor=manager, workflow=campaign["directions"]["WarmEarthy"], mode="production", pin_record=first
    )
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in(page, live_server, manager)
    # The top bar's every link is on screen, none scrolled out of view.
    hidden = page.evaluate(
        "[...document.querySelectorAll('.top nav a')]"
        ".filter((a) => a.getBoundingClientRect().right > innerWidth || a.getBoundingClientRect().left < 0)"
        ".map((a) => a.textContent)"
    )
    assert hidden == [] and page.locator(".top nav a").count() >= 8, hidden
    tables = {
        "/records/": ["[data-testid=history]"],
        "/workflows/campaign-a-warmearthy/": ["[data-testid=versions]", "[data-testid=pointer-history]"],
        "/workflows/": ["[data-testid=workflows]"],
    }
    for path, selectors in tables.items():
        page.goto(f"{live_server.url}{path}")
        page.wait_for_load_state("networkidle")
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 391, f"{path} scrolls sideways: {width} px wide at 390"
        for selector in selectors:
            found = page.evaluate(LAST_COLUMN_AFTER_SCROLLING, selector)
            # A table that wraps its cells to fit is as good as one that scrolls: either way its last
            # column is within reach, inside its card.
            assert found["wrapper"] is not None, f"{selector} on {path} has no wrapper that scrolls"
            assert found["frameLeft"] - 1 <= found["left"] and found["right"] <= found["frameRight"] + 1, (
                f"the last column of {selector} on {path} is out of reach: {found}"
            )
            # The table scrolls rather than break its words to fit.
            assert page.evaluate(WORDS_BROKEN_IN_CELLS, selector) == [], f"{selector} on {path}"
        if path == "/records/":  # a record's row: its thumbnail's height, not a word a line of its name
            rows = page.evaluate(
                "[...document.querySelectorAll('[data-testid=history] tr')].slice(1)"
                ".map((r) => r.getBoundingClientRect().height)"
            )
            assert rows and max(rows) <= 130, rows
        shot(page, f"phone{path.replace('/', '-').rstrip('-')}")


def test_the_run_queue_on_a_phone_keeps_workflow_names_whole(page, live_server, operator, campaign):
    """At 390 px the queue's table scrolls inside its card; its Run column must not be squeezed to a
    letter or two a line ("ca / mp / aig / n-a") to avoid scrolling."""
    run_now(services.start_run(actor=operator, workflow=campaign["base"], inputs={"subject": "a wren"}))
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in(page, live_server, operator)
    page.goto(f"{live_server.url}/runs/")
    slug = page.locator("[data-testid=queue] td a strong").first
    expect(slug).to_have_text("campaign-a")
    lines = slug.evaluate("el => el.getClientRects().length")
    assert lines <= 2, f"'campaign-a' is broken over {lines} lines in the queue at 390 px"
    assert page.evaluate("document.documentElement.scrollWidth") <= 391
    shot(page, "phone-queue")


def test_a_reproduction_check_opened_from_the_record_shows_three_images_per_output(
    page, live_server, operator, make_workflow, publish
):
    workflow = make_workflow("repro-check", "Repro check")
    d = small_definition()
    d["outputs"] = {"hero": "{{steps.styled.output}}", "plate": "{{steps.background.output}}"}
    publish(workflow, d)
    record = finished_record(operator, workflow)
    run_now(services.reproduce_record(actor=operator, record=record))
    sign_in(page, live_server, operator)
    page.goto(f"{live_server.url}/records/{record.pk}/")
    page.get_by_test_id("check-link").click()
    expect(page.get_by_role("heading", name=re.compile(r"^Reproduction check of .*first-look"))).to_be_visible()
    expect(page.get_by_test_id("score-row")).to_have_count(2)
    page.wait_for_load_state("networkidle")
    for name in ("hero", "plate"):
        images = page.get_by_test_id(f"check-output-{name}").locator("img")
        expect(images).to_have_count(3)
        # Stored, reproduced and difference: each one really loaded (an artifact URL that answered a picture).
        assert images.evaluate_all("imgs => imgs.map(i => i.complete && i.naturalWidth > 0)") == [True, True, True]
    shot(page, "reproduction-check")


# The theme (static/floniks/theme.js, the palettes of static/floniks/base.css).
THEME_AT_FIRST_BODY = """
window.themeAtFirstBody = "no body yet";
new MutationObserver((_, observer) => {
  if (!document.body) return;
  window.themeAtFirstBody = document.documentElement.dataset.theme || "system";
  observer.disconnect();
}).observe(document, { childList: true, subtree: true });
"""


def _body_is_dark(page: Page) -> bool:
    """Whether the page's background is dark: its relative luminance (WCAG) below a half."""
    rgb = page.evaluate("() => getComputedStyle(document.body).backgroundColor")
    r, g, b = (int(n) / 255 for n in re.findall(r"\d+", rgb)[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b < 0.5


def test_the_theme_follows_the_system_and_a_chosen_one_is_remembered(page, live_server, operator):
    """Dark by the system's preference; the toggle chooses light, which outlasts a reload and a new
    page, and is on <html> before the body exists (no flash of the dark page); then dark, which holds
    against a light system; then back to following the system."""
    page.add_init_script(THEME_AT_FIRST_BODY)
    page.emulate_media(color_scheme="dark")
    sign_in(page, live_server, operator)
    toggle = page.get_by_test_id("theme-toggle")
    expect(toggle).to_have_text("Theme: System", use_inner_text=True)
    assert _body_is_dark(page)

    toggle.click()
    expect(toggle).to_have_text("Theme: Light", use_inner_text=True)
    assert not _body_is_dark(page)
    page.reload()
    expect(toggle).to_have_text("Theme: Light", use_inner_text=True)
    assert not _body_is_dark(page)
    assert page.evaluate("() => window.themeAtFirstBody") == "light"
    page.goto(f"{live_server.url}/records/")
    expect(page.locator("h1")).to_have_text("Version history")
    assert not _body_is_dark(page)

    toggle.click()
    expect(toggle).to_have_text("Theme: Dark", use_inner_text=True)
    page.emulate_media(color_scheme="light")
    assert _body_is_dark(page)  # the choice, not the system
    page.reload()
    assert _body_is_dark(page) and page.evaluate("() => window.themeAtFirstBody") == "dark"

    toggle.click()
    expect(toggle).to_have_text("Theme: System", use_inner_text=True)
    assert not _body_is_dark(page)  # the system is light now
    page.emulate_media(color_scheme="dark")
    assert _body_is_dark(page)
    page.reload()
    expect(toggle).to_have_text("Theme: System", use_inner_text=True)
    assert page.evaluate("() => localStorage.getItem('floniks-theme')") is None


def test_screenshots_of_the_main_pages_in_both_themes(page, live_server, operator, campaign):
    """For review: the main pages, light and dark, at desktop and phone widths, in
    test-output/screenshots/theme-*.png. Each answers, shows its heading, has the theme's background
    and, on a phone, does not scroll sideways (the toggle in the top bar included)."""
    first, second = campaign["records"]
    warm = campaign["directions"]["WarmEarthy"]
    run = run_now(services.start_run(actor=operator, workflow=warm, inputs={"subject": "a heron at dusk"}))
    pages = {
        "dashboard": "/",
        "library": "/workflows/",
        "workflow": f"/workflows/{warm.slug}/",
        "run-form": f"/workflows/{warm.slug}/run/",
        "run": f"/runs/{run.pk}/",
        "record": f"/records/{first.pk}/",
        "history": "/records/",
        "history-grid": "/records/?view=grid",
        "compare": f"/records/compare/?r={first.pk}&r={second.pk}",
    }
    sign_in(page, live_server, operator)
    for theme in ("light", "dark"):
        page.emulate_media(color_scheme=theme)
        for width in (1280, 390):
            page.set_viewport_size({"width": width, "height": 900})
            for name, path in pages.items():
                response = page.goto(f"{live_server.url}{path}")
                assert response is not None and response.status == 200, path
                expect(page.locator("h1")).to_be_visible()
                assert _body_is_dark(page) == (theme == "dark"), f"{path} in the {theme} theme"
                scroll_width = page.evaluate("document.documentElement.scrollWidth")
                assert scroll_width <= width + 1, f"{path} at {width} px is {scroll_width} px wide"
                shot(page, f"theme-{theme}-{width}px-{name}")


def test_a_manager_approves_a_record_from_the_dashboard_inbox(
    page, live_server, manager, operator, make_workflow, publish
):
    """The inbox's Approve button approves the record and takes it out of the inbox in place: the
    page is not loaded again, the record that still waits stays, and "Recently approved" follows."""
    workflow = make_workflow("poster", "Poster")
    publish(workflow, small_definition())
    chosen = finished_record(operator, workflow, label="bold poster", annotation="client liked it bold")
    other = finished_record(operator, workflow, inputs={"subject": "a hare"}, label="quiet poster")
    sign_in(page, live_server, manager)
    records = page.get_by_test_id("inbox-records")
    expect(records.get_by_test_id("inbox-item")).to_have_count(2)
    expect(records.get_by_test_id("inbox-item").filter(has_text=chosen.label)).to_be_visible()
    shot(page, "14-inbox")

    loads: list[str] = []
    page.on("framenavigated", lambda frame: loads.append(frame.url) if frame == page.main_frame else None)
    page.get_by_role("button", name=f"Approve {chosen.label}").click()

    expect(page.get_by_test_id("inbox-notice")).to_have_text(f"{chosen.label} approved.")
    expect(records.get_by_test_id("inbox-item")).to_have_count(1)
    expect(records.get_by_test_id("inbox-item").filter(has_text=chosen.label)).to_have_count(0)
    expect(records.get_by_test_id("inbox-item").filter(has_text=other.label)).to_be_visible()
    expect(page.locator("#recently-approved")).to_contain_text(chosen.label)
    assert loads == [], f"the page was loaded again: {loads}"
    chosen.refresh_from_db()
    assert chosen.approved_by == manager
    shot(page, "15-inbox-after-approval")


def test_the_record_page_shows_web_sized_previews_in_a_grid(page, live_server, operator, make_workflow, publish):
    """A 1280 px output: the record page loads its preview (at most 1024 px wide as decoded by the
    browser), links the original, and keeps the hash to a short line under the picture."""
    workflow = make_workflow("wide-poster", "Wide poster")
    definition = small_definition(width=1280, height=720)
    definition["outputs"] = {"hero": "{{steps.styled.output}}", "plate": "{{steps.background.output}}"}
    publish(workflow, definition)
    record = finished_record(operator, workflow)
    sign_in(page, live_server, operator)
    page.goto(f"{live_server.url}/records/{record.pk}/")
    gallery = page.get_by_test_id("record-outputs")
    images = gallery.locator("img")
    expect(images).to_have_count(2)
    page.wait_for_load_state("networkidle")
    for i in range(2):
        image = images.nth(i)
        src = image.get_attribute("src") or ""
        assert re.fullmatch(r"/artifacts/[0-9a-f]{64}/preview", src), src
        assert image.evaluate("img => img.complete && img.naturalWidth > 0"), f"{src} did not load"
        natural = image.evaluate("img => img.naturalWidth")
        assert natural <= 1024, f"{src} is {natural} px wide: the original, not a preview"
        assert image.locator("xpath=..").get_attribute("href") == src.removesuffix("/preview")
    boxes = [images.nth(i).bounding_box() for i in range(2)]
    assert boxes[0] and boxes[1] and abs(boxes[0]["y"] - boxes[1]["y"]) < 1, "side by side, not stacked"
    hash_line = gallery.locator(".hash-line").first.bounding_box()
    assert hash_line and hash_line["height"] < boxes[0]["height"] / 3, "the hash takes less room than the picture"
    shot(page, "20-record-previews")


def test_a_new_user_builds_a_two_step_workflow_in_the_form_view(page, live_server, operator, worker):
    """No JSON typed: a blank workflow, an input, a generate step, an img2img step reading it (its image
    picked from a list that offers only earlier steps), an output; validated, published and run."""
    sign_in(page, live_server, operator)
    page.goto(f"{live_server.url}/workflows/new/")
    page.fill("#slug", "built-by-form")
    page.fill("#name", "Built by form")
    page.get_by_test_id("starter-blank").check()
    page.click("text=Create")
    expect(page).to_have_url(re.compile(r"/drafts/\d+/form/$"))

    page.fill("[name=input-0-name]", "subject")
    page.check("[name=input-0-required]")
    page.get_by_test_id("add-step").click()
    page.select_option("#step-0-model", "local/plasma")
    page.fill("#step-0-id", "background")
    page.fill("#step-0-param-prompt", "{{inputs.subject}}, warm light")
    page.fill("#step-0-param-width", "96")
    page.fill("#step-0-param-height", "64")
    page.fill("#step-0-param-steps", "8")
    page.get_by_test_id("add-step").click()
    expect(page.get_by_test_id("step-card-1")).to_be_visible()
    # The kind select re-renders the card's parameters in place (htmx): upscale has a factor, img2img a strength.
    page.select_option("#step-1-kind", "upscale")
    expect(page.locator("#step-1-param-factor")).to_be_visible()
    page.select_option("#step-1-kind", "img2img")
    expect(page.locator("#step-1-param-strength")).to_be_visible()
    page.fill("#step-1-id", "styled")
    page.select_option("#step-1-param-image", "{{steps.background.output}}")
    page.fill("#step-1-param-strength", "0.4")
    page.fill("#step-1-param-steps", "8")
    page.get_by_test_id("form-save").click()
    expect(page.locator(".msg.success")).to_contain_text("Draft saved.")
    # The first step cannot read the second: only inputs and earlier steps are offered.
    expect(page.locator("#step-0-param-prompt")).to_have_value("{{inputs.subject}}, warm light")
    expect(page.locator("#step-1-param-image option")).to_have_count(2)
    page.select_option("[name=output-0-source]", "{{steps.styled.output}}")
    page.fill("[name=output-0-name]", "hero")
    page.get_by_test_id("form-save").click()
    expect(page.get_by_test_id("validation-state")).to_have_text("ready to publish")
    shot(page, "30-form-view")

    page.fill("#message", "built in the form view")
    page.click("#publish")
    expect(page.locator(".msg.success")).to_contain_text("Published")
    page.goto(f"{live_server.url}/workflows/built-by-form/run/")
    page.fill("#input_subject", "a lighthouse")
    page.click("text=Start run")
    expect(page.get_by_test_id("run-status")).to_have_text("Awaiting annotation", timeout=60_000)
    expect(page.get_by_test_id("output-hero")).to_be_visible()


def test_the_form_view_checks_a_field_as_it_is_typed_and_draws_the_steps(page, live_server, operator, make_workflow):
    """Live validation of the form view (draft-form-validate): a problem appears by its field while typing,
    nothing is saved, focus stays, and fixing the value clears it; the step graph shows the two steps."""
    workflow = make_workflow("graph-live", "Graph live")
    definition = {
        "inputs": {"subject": {"type": "string", "required": True}},
        "steps": [
            {
                "id": "background",
                "kind": "generate_image",
                "model": "local/plasma",
                "params": {"prompt": "{{inputs.subject}}"},
            },
            {
                "id": "styled",
                "kind": "img2img",
                "model": "local/plasma",
                "params": {"image": "{{steps.background.output}}"},
            },
        ],
        "outputs": {"hero": "{{steps.styled.output}}"},
    }
    draft = templates.save_draft(actor=operator, workflow=workflow, definition=definition)
    sign_in(page, live_server, operator)
    page.goto(f"{live_server.url}/drafts/{draft.pk}/form/")
    graph = page.get_by_test_id("step-graph")
    expect(graph.get_by_test_id("graph-step")).to_have_count(2)
    expect(graph.locator('[data-testid=edge][data-from="step:background"][data-to="step:styled"]')).to_have_count(1)

    strength = page.locator("#step-1-param-strength")
    strength.click()
    strength.press_sequentially("3")
    problem = page.get_by_test_id("error-step-1-param-strength")
    expect(problem).to_contain_text("at most 1")
    expect(page.locator("#problems-step-1-param-strength")).to_contain_text("at most 1")  # by its own field
    expect(strength).to_be_focused()  # only the problem slots were swapped, not the field being typed in
    draft.refresh_from_db()
    assert "strength" not in draft.definition["steps"][1]["params"]  # nothing saved
    shot(page, "31-form-view-live-problem-and-graph")

    strength.fill("0.5")
    strength.press("Tab")
    expect(problem).to_have_count(0)
    draft.refresh_from_db()
    assert "strength" not in draft.definition["steps"][1]["params"]


# The history as a grid, and the full-screen viewer (static/floniks/viewer.js).
def _two_outputs(make_workflow: Any, publish: Any, slug: str, **params: Any) -> Workflow:
    workflow = make_workflow(slug, slug.title())
    d = small_definition(**params)
    d["outputs"] = {"hero": "{{steps.styled.output}}", "plate": "{{steps.background.output}}"}
    publish(workflow, d)
    return workflow


def _rendered_width(page: Page) -> float:
    box = page.get_by_test_id("viewer-image").bounding_box()
    assert box is not None
    return box["width"]


def test_the_history_grid_shows_the_records_and_opens_one_full_screen(page, live_server, manager, campaign):
    first, second = campaign["records"]
    services.approve_record(actor=manager, record=first)
    sign_in(page, live_server, manager)
    page.goto(f"{live_server.url}/records/?workflow=campaign-a-warmearthy")
    page.get_by_test_id("view-grid").click()
    expect(page).to_have_url(re.compile(r"view=grid"))
    cells = page.get_by_test_id("grid-cell")
    expect(cells).to_have_count(2)
    expect(cells.nth(0)).to_contain_text(second.label)
    expect(cells.nth(0)).to_contain_text("not approved")
    expect(cells.nth(1)).to_contain_text(first.label)
    expect(cells.nth(1).get_by_test_id("grid-approved")).to_be_visible()
    expect(cells.nth(1)).to_contain_text("campaign-a-warmearthy")
    page.wait_for_load_state("networkidle")
    assert cells.locator("img").evaluate_all("imgs => imgs.map(i => i.complete && i.naturalWidth > 0)") == [True, True]
    shot(page, "history-grid")
    cells.nth(1).locator("img").click()
    viewer = page.get_by_test_id("viewer")
    expect(viewer).to_be_visible()
    expect(page.get_by_test_id("viewer-original")).to_have_attribute(
        "href", f"/artifacts/{first.outputs['hero']['sha256']}"
    )
    expect(page.get_by_test_id("viewer-position")).to_have_text("2 / 2")
    page.keyboard.press("ArrowLeft")
    expect(page.get_by_test_id("viewer-original")).to_have_attribute(
        "href", f"/artifacts/{second.outputs['hero']['sha256']}"
    )
    page.keyboard.press("Escape")
    expect(viewer).to_be_hidden()
    # The filter form still knows the view: searching again stays in the grid.
    page.fill("#f-q", "hare")
    page.click("text=Search")
    expect(cells).to_have_count(1)
    expect(page.get_by_test_id("history-grid")).to_be_visible()


def test_the_viewer_on_the_record_page_zooms_moves_to_the_next_image_and_closes(
    page, live_server, operator, make_workflow, publish
):
    record = finished_record(operator, _two_outputs(make_workflow, publish, "two-outputs"))
    sign_in(page, live_server, operator)
    page.goto(f"{live_server.url}/records/{record.pk}/")
    page.wait_for_load_state("networkidle")
    page.get_by_test_id("record-output-hero").click()
    viewer = page.get_by_test_id("viewer")
    expect(viewer).to_be_visible()
    image = page.get_by_test_id("viewer-image")
    expect(image).to_have_attribute("src", record.outputs["hero"]["url"])
    expect(page.get_by_test_id("viewer-position")).to_have_text("1 / 2")
    expect(page.get_by_test_id("viewer-zoom")).to_have_text("100 %")  # a small image is not enlarged to fit
    fitted = _rendered_width(page)
    assert fitted == 96
    page.get_by_role("button", name="Zoom in (+)").click()
    assert _rendered_width(page) > fitted
    page.keyboard.press("+")
    expect(page.get_by_test_id("viewer-zoom")).to_have_text("156 %")
    assert _rendered_width(page) == pytest.approx(96 * 1.5625)
    page.keyboard.press("-")
    expect(page.get_by_test_id("viewer-zoom")).to_have_text("125 %")
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "viewer-zoomed.png"))  # the screen, as the viewer fills it

    page.keyboard.press("ArrowRight")
    expect(image).to_have_attribute("src", record.outputs["plate"]["url"])
    expect(page.get_by_test_id("viewer-position")).to_have_text("2 / 2")
    expect(page.get_by_test_id("viewer-zoom")).to_have_text("100 %")  # each image opens fitted
    expect(page.get_by_test_id("viewer-original")).to_have_attribute("href", record.outputs["plate"]["url"])
    page.keyboard.press("ArrowRight")  # round to the first
    expect(image).to_have_attribute("src", record.outputs["hero"]["url"])
    page.keyboard.press("Escape")
    expect(viewer).to_be_hidden()
    expect(page.get_by_test_id("record-output-hero")).to_be_focused()  # back where the viewer was opened


def test_a_large_image_fits_the_screen_and_a_double_click_shows_it_at_100_percent_to_pan(
    page, live_server, operator, make_workflow, publish
):
    record = finished_record(operator, _two_outputs(make_workflow, publish, "large", width=768, height=512))
    page.set_viewport_size({"width": 640, "height": 480})
    sign_in(page, live_server, operator)
    page.goto(f"{live_server.url}/records/{record.pk}/")
    page.get_by_test_id("record-output-plate").click()
    image = page.get_by_test_id("viewer-image")
    expect(image).to_have_attribute("src", record.outputs["plate"]["url"])
    expect(page.get_by_test_id("viewer-zoom")).not_to_have_text("100 %")
    # Fitted once the picture has loaded (under load, after the first frame): wait for it, bounded.
    page.wait_for_function(
        "() => document.querySelector('[data-testid=viewer-image]').getBoundingClientRect().width < 640",
        timeout=10_000,
    )
    fitted = _rendered_width(page)
    assert fitted < 640
    image.dblclick()
    expect(page.get_by_test_id("viewer-zoom")).to_have_text("100 %")
    assert _rendered_width(page) == 768
    before = image.bounding_box()
    assert before is not None
    # Drag to the right: the image follows (as far as its left edge allows).
    page.mouse.move(320, 300)
    page.mouse.down()
    page.mouse.move(380, 300, steps=4)
    page.mouse.up()
    after = image.bounding_box()
    assert after is not None and after["x"] == pytest.approx(before["x"] + 60)
    page.mouse.wheel(0, 300)  # the wheel zooms out, back to fit at most
    expect(page.get_by_test_id("viewer-zoom")).not_to_have_text("100 %")
    image.dblclick()  # zoomed in a little still: back to fit
    assert _rendered_width(page) == pytest.approx(fitted)
    page.keyboard.press("Escape")
    expect(page.get_by_test_id("viewer")).to_be_hidden()


def test_the_viewer_opens_on_the_run_and_compare_pages_too(page, live_server, operator, make_workflow, publish):
    workflow = _two_outputs(make_workflow, publish, "pages-with-outputs")
    a = finished_record(operator, workflow, label="one")
    b = finished_record(operator, workflow, inputs={"subject": "a hare"}, label="two")
    sign_in(page, live_server, operator)
    viewer, image = page.get_by_test_id("viewer"), page.get_by_test_id("viewer-image")

    page.goto(f"{live_server.url}/runs/{a.run_id}/")
    page.get_by_test_id("output-plate").click()
    expect(viewer).to_be_visible()
    expect(image).to_have_attribute("src", a.outputs["plate"]["url"])
    page.get_by_role("button", name="Close (Escape)").click()
    expect(viewer).to_be_hidden()

    # The compare page: per output, the two originals and their difference, in page order.
    page.goto(f"{live_server.url}/records/compare/?a={a.pk}&b={b.pk}")
    page.get_by_test_id("diff-image").first.click()
    expect(viewer).to_be_visible()
    expect(image).to_have_attribute("src", re.compile(r"/records/compare/diff\.png\?a=.*&output="))
    page.wait_for_function("() => document.querySelector('[data-testid=viewer-image]').naturalWidth > 0")
    page.keyboard.press("ArrowLeft")  # the image before the difference: record b's, of the same output
    expect(page.locator(".viewer-caption")).to_have_text(re.compile(rf"^{b.label} · "))
    expect(image).to_have_attribute("src", b.outputs[image_output(page)]["url"])
    page.keyboard.press("Escape")
    expect(viewer).to_be_hidden()


def image_output(page: Page) -> str:
    """The output named in the viewer's caption ("<label> · <output>")."""
    return page.locator(".viewer-caption").inner_text().rsplit(" · ", 1)[1]


# Links the crawl never follows: downloads, originals, the API, the admin, signing out, media.
CRAWL_SKIPS = ("/admin/", "/accounts/logout/", "/artifacts/", "/api/", "/media/")
ID_IN_PATH = re.compile(r"/(?:[0-9a-f]{8}-[0-9a-f-]{27}|\d+|sha256:[0-9a-f]{64})(?=/)")  # uuid, number, digest
# Every same-origin link on the page, minus downloads; the crawl filters the rest.
LINKS = """() => Array.from(document.querySelectorAll("a[href]"))
  .filter((a) => !a.hasAttribute("download") && a.origin === location.origin)
  .map((a) => a.pathname + a.search)"""


def test_no_page_a_crawl_reaches_logs_an_error_as_any_role(
    page, live_server, operator, manager, admin_user, outsider, capsys
):
    """The demo workspace, crawled as each role and signed out: every page a link leads to answers
    below 500, logs no console error (a broken image, a failed script, a CSP violation) and does not
    scroll sideways at 1280 px. Detail pages of one kind are sampled (three a URL pattern), and the
    history's "Older" pages are followed once."""
    from urllib.parse import parse_qsl, urlsplit

    from django.core.management import call_command

    call_command("load_demo")
    errors: list[str] = []

    def listen(message: Any) -> None:
        # A page a role may not see answers 403 (or 404), and Chromium logs its own document's status
        # as an error; the status is checked below, so only what the page then loads counts here.
        own_status = message.text.startswith("Failed to load resource") and message.location.get("url") == page.url
        if message.type == "error" and not own_status:
            errors.append(f"{page.url}: {message.text} ({message.location.get('url')})")

    page.on("console", listen)
    reached: dict[str, int] = {}
    for role, user in (
        ("operator", operator),
        ("manager", manager),
        ("admin", admin_user),
        ("no role", outsider),
        ("anonymous", None),
    ):
        page.context.clear_cookies()
        if user is not None:
            page.goto(f"{live_server.url}/accounts/login/")
            page.fill("#id_username", user.username)
            page.fill("#id_password", "pw-" + user.username)
            page.click("button[type=submit]")
            page.wait_for_load_state()
        queue = ["/", "/public/", "/workflows/", "/records/"]
        seen: set[str] = set()
        per_pattern: dict[str, int] = {}
        while queue and len(seen) < 150:
            url = queue.pop(0)
            parts = urlsplit(url)
            query = parse_qsl(parts.query)
            if url in seen or parts.path.startswith(CRAWL_SKIPS):
                continue
            # One kind of page is one path with its ids blanked and the same query keys; a cursor
            # (the history's "Older" link) is followed once.
            keys = sorted({k for k, _ in query})
            pattern = ID_IN_PATH.sub("/<id>", parts.path) + "?" + "&".join(keys)
            if per_pattern.get(pattern, 0) >= (1 if "cursor" in keys else 3):
                continue
            per_pattern[pattern] = per_pattern.get(pattern, 0) + 1
            seen.add(url)
            response = page.goto(f"{live_server.url}{url}")
            assert response is not None and response.status < 500, (
                f"{role}: {url} answered {response and response.status}"
            )
            page.wait_for_load_state("networkidle")
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= 1281, f"{role}: {url} is {width} px wide at 1280 px"
            assert errors == [], f"{role}: " + "\n".join(errors)
            queue.extend(link for link in page.evaluate(LINKS) if link not in seen)
        reached[role] = len(seen)
    with capsys.disabled():
        print("\npages reached:", ", ".join(f"{role} {n}" for role, n in reached.items()))
    assert all(n >= 3 for n in reached.values()), reached


def test_an_admin_retires_a_snapshot_after_seeing_what_it_touches(
    page, live_server, admin_user, operator, make_workflow, publish
):
    """The catalogue page: "retire…" opens the snapshot's impact (the floating workflow, its record),
    and only the confirmation retires it; the change is in the catalogue's history."""
    workflow = make_workflow("floats", "Floats")
    publish(workflow, small_definition())
    finished_record(operator, workflow)
    sign_in(page, live_server, admin_user)
    page.goto(f"{live_server.url}/models/")
    family = page.get_by_test_id("family-local/plasma")
    family.get_by_role("row").filter(has_text="2026-06-15").get_by_role("link", name="retire…").click()
    expect(page.get_by_test_id("impact-floating")).to_have_text("floats")
    expect(page.get_by_test_id("impact-records")).to_have_text("1")
    page.get_by_label("Why").fill("hands look wrong")
    page.get_by_test_id("confirm-button").click()
    expect(page.get_by_text("local/plasma@2026-06-15 retired.")).to_be_visible()
    expect(page.get_by_test_id("catalogue-move").filter(has_text="hands look wrong").first).to_be_visible()
    shot(page, "model-catalogue-after-retiring")


def test_a_signed_file_dropped_on_the_verify_page_names_its_record(page, live_server, operator, make_workflow, publish):
    import base64

    from runs_app.models import Artifact, VersionRecord
    from runs_app.storage import read_artifact

    workflow = make_workflow()
    publish(workflow, small_definition())
    record = finished_record(operator, workflow, label="dropped fox")
    services.sign_record(record_id=record.pk)
    signed = VersionRecord.objects.for_detail().get(pk=record.pk).signed_outputs["hero"]["sha256"]
    data = base64.b64encode(read_artifact(Artifact.objects.get(sha256=signed))).decode()
    sign_in(page, live_server, operator)
    page.goto(f"{live_server.url}/verify/")
    # What a drag from the desktop delivers: a drop event whose DataTransfer holds the file.
    page.evaluate(
        """([encoded, name]) => {
            const bytes = Uint8Array.from(atob(encoded), (c) => c.charCodeAt(0));
            const transfer = new DataTransfer();
            transfer.items.add(new File([bytes], name, { type: "image/png" }));
            const zone = document.querySelector("[data-drop-zone]");
            for (const type of ["dragenter", "dragover", "drop"]) {
                zone.dispatchEvent(new DragEvent(type, { dataTransfer: transfer, bubbles: true, cancelable: true }));
            }
        }""",
        [data, "fox-signed.png"],
    )
    expect(page.get_by_test_id("verify-state")).to_have_text("trusted")
    expect(page.get_by_test_id("verify-record")).to_contain_text(record.label)
    page.get_by_test_id("verify-record").get_by_role("link").click()
    expect(page).to_have_url(re.compile(rf"/records/{record.pk}/$"))
    expect(page.get_by_test_id("signed-outputs")).to_contain_text("hero, signed")


def test_an_operator_explores_eight_seeds_keeps_two_and_discards_the_rest(
    page, live_server, operator, make_workflow, publish, worker
):
    """Issue 15: Explore on the run form starts a batch of 8 fresh seeds; the batch page shows 8 cells
    that fill in live (one poller, out-of-band cells); two are kept with their own label and
    annotation, the rest discarded, and they stay on the page."""
    workflow = make_workflow("explore", "Explore")
    publish(workflow, small_definition(width=128, height=96))
    sign_in(page, live_server, operator)
    page.goto(f"{live_server.url}/workflows/explore/run/")
    page.fill("#input_subject", "a heron in fog")
    page.locator("[data-testid=explore] summary").click()
    page.fill("#count", "8")
    page.get_by_test_id("explore-start").click()
    expect(page).to_have_url(re.compile(r"/batches/[0-9a-f-]+/$"))
    cells = page.get_by_test_id("batch-cell")
    expect(cells).to_have_count(8)
    expect(page.get_by_test_id("batch-summary")).to_contain_text("8 fresh seeds")
    # Every cell finishes in place, without a reload: its keep box appears.
    expect(page.get_by_test_id("cell-keep")).to_have_count(8, timeout=120_000)
    expect(page.locator(".batch-cell img.gallery-thumb")).to_have_count(8)
    seeds = page.get_by_test_id("cell-seed").all_inner_texts()
    assert len(set(seeds)) == 8, seeds
    shot(page, "40-batch-grid")

    ids = [c.get_attribute("id").removeprefix("cell-") for c in cells.all()]
    for i, run_id in enumerate(ids[:2]):
        page.locator(f"#cell-{run_id} [data-testid=cell-keep]").check()
        page.fill(f"#label_{run_id}", f"heron {i}")
        page.fill(f"#annotation_{run_id}", f"fog reads best in number {i}")
    page.get_by_test_id("finalize-selected").click()
    expect(page.locator(".msg.success")).to_contain_text("Finalizing 2")
    expect(page.get_by_test_id("cell-record")).to_have_count(2, timeout=60_000)
    page.get_by_test_id("discard-rest").click()
    expect(page.locator(".msg.success")).to_contain_text("Discarded 6")
    expect(page.get_by_text("Discarded", exact=True)).to_have_count(6)
    expect(page.get_by_test_id("batch-cell")).to_have_count(8)  # nothing explored is lost
    numbers = sorted(VersionRecord.objects.filter(run_id__in=ids[:2]).values_list("number", flat=True))
    assert numbers[1] == numbers[0] + 1
    shot(page, "41-batch-kept-and-discarded")


def test_the_record_page_downloads_its_bundle_and_its_outputs(page, live_server, operator, make_workflow, publish):
    """The two download buttons of a record: the bundle (whose SHA256SUMS hold) and the outputs as one zip."""
    import hashlib
    import zipfile

    workflow = make_workflow()
    publish(workflow, small_definition())
    record = finished_record(operator, workflow)
    sign_in(page, live_server, operator)
    page.goto(f"{live_server.url}/records/{record.pk}/")
    with page.expect_download() as bundle:
        page.get_by_test_id("download-bundle").click()
    assert bundle.value.suggested_filename == f"campaign-a-{record.label}.floniks.zip"
    with zipfile.ZipFile(bundle.value.path()) as z:
        sums = [line.split("  ", 1) for line in z.read("SHA256SUMS").decode().splitlines()]
        assert {name for _sha, name in sums} >= {"record.json", "manifest.json", "specification.json"}
        assert all(hashlib.sha256(z.read(name)).hexdigest() == sha for sha, name in sums)
    with page.expect_download() as outputs:
        page.get_by_test_id("download-outputs").click()
    with zipfile.ZipFile(outputs.value.path()) as z:
        assert hashlib.sha256(z.read("hero.png")).hexdigest() == record.outputs["hero"]["sha256"]
    # One output, original and signed, saved under names people can file (not its hash).
    services.sign_record(record_id=record.pk)
    page.reload()
    with page.expect_download() as original:
        page.get_by_test_id("download-hero").click()
    assert original.value.suggested_filename == f"campaign-a-{record.label}-hero.png"
    assert hashlib.sha256(Path(original.value.path()).read_bytes()).hexdigest() == record.outputs["hero"]["sha256"]
    with page.expect_download() as signed:
        page.get_by_test_id("signed-hero").click()
    assert signed.value.suggested_filename == f"campaign-a-{record.label}-hero-signed.png"
    copy = SignedOutput.objects.get(record=record, name="hero").artifact_id
    assert hashlib.sha256(Path(signed.value.path()).read_bytes()).hexdigest() == copy


def test_a_finished_evaluation_says_done_on_a_coloured_badge(page, live_server, manager, make_workflow, publish):
    """The evaluation's status badge is a badge like every other status: 'Done' on no background read as
    loose text beside the heading, in both themes."""
    workflow = make_workflow("evaluated", "Evaluated")
    publish(workflow, small_definition())
    candidate = publish(workflow, small_definition(prompt="{{inputs.subject}}, cool minimal"))
    evaluation = services.evaluate_version(actor=manager, version=candidate, inputs={"subject": "a fox"})
    run_now(evaluation.baseline_run)
    run_now(evaluation.candidate_run)
    sign_in(page, live_server, manager)
    for scheme in ("light", "dark"):
        page.emulate_media(color_scheme=scheme)
        page.goto(f"{live_server.url}/evaluations/{evaluation.pk}/")
        badge = page.get_by_test_id("evaluation-status")
        expect(badge).to_have_text("Done")
        background = badge.evaluate("el => getComputedStyle(el).backgroundColor")
        assert background not in ("rgba(0, 0, 0, 0)", "transparent"), f"'Done' has no badge colour ({scheme})"
        shot(page, f"evaluation-done-{scheme}")
