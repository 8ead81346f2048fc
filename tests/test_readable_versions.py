"""Readable versioning: the publish message (API and the draft page), what the page says after
publishing (canonical or not, and who promotes it), the help on channels and bump classes, and
the bump badge and message in the versions list and the pointer history."""

from __future__ import annotations

import re

import pytest
from django.core.exceptions import ValidationError
from django.test import Client

from templates_app import services
from templates_app.models import Draft, WorkflowVersion
from tests.helpers import valid_definition

pytestmark = pytest.mark.django_db

MESSAGE = "warmer palette, same composition"


def variant(i: int) -> dict:
    d = valid_definition()
    d["steps"][0]["params"]["prompt"] = f"{{{{inputs.subject}}}}, variant {i}"
    return d


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def text_of(html: bytes) -> str:
    """The page as a reader sees it: tags dropped, blanks collapsed."""
    return " ".join(re.sub(r"<[^>]+>", " ", html.decode()).split())


# --- API -------------------------------------------------------------------------------------


def test_api_publish_with_a_message_answers_it_and_lists_it(make_workflow, operator, api):
    workflow = make_workflow()
    client = api(operator)
    draft = client.post(f"/api/workflows/{workflow.slug}/drafts/", {"definition": valid_definition()}, format="json")
    published = client.post(
        f"/api/drafts/{draft.json()['id']}/publish/", {"visibility": "internal", "message": MESSAGE}, format="json"
    )
    assert published.status_code == 201 and published.json()["message"] == MESSAGE
    listed = client.get(f"/api/workflows/{workflow.slug}/versions/").json()["results"]
    assert [v["message"] for v in listed] == [MESSAGE]
    one = client.get(f"/api/workflows/{workflow.slug}/versions/{published.json()['version']}/").json()
    assert one["message"] == MESSAGE


def test_api_publish_without_a_message_answers_an_empty_one(make_workflow, operator, api):
    workflow = make_workflow()
    client = api(operator)
    draft = client.post(f"/api/workflows/{workflow.slug}/drafts/", {"definition": valid_definition()}, format="json")
    published = client.post(f"/api/drafts/{draft.json()['id']}/publish/", {"visibility": "internal"}, format="json")
    assert published.status_code == 201 and published.json()["message"] == ""


def test_api_refuses_a_201_character_message_naming_the_field_and_publishes_nothing(make_workflow, operator, api):
    workflow = make_workflow()
    client = api(operator)
    draft = client.post(f"/api/workflows/{workflow.slug}/drafts/", {"definition": valid_definition()}, format="json")
    refused = client.post(
        f"/api/drafts/{draft.json()['id']}/publish/", {"visibility": "internal", "message": "x" * 201}, format="json"
    )
    assert refused.status_code == 400
    body = refused.json()
    assert [e["path"] for e in body["errors"]] == ["message"] and "message" in body["message"]
    assert not WorkflowVersion.objects.filter(workflow=workflow).exists()
    assert Draft.objects.get(pk=draft.json()["id"]).is_open


def test_a_200_character_message_is_accepted(make_workflow, operator):
    workflow = make_workflow()
    draft = services.save_draft(actor=operator, workflow=workflow, definition=valid_definition())
    version = services.publish_draft(actor=operator, draft=draft, message="y" * 200)
    assert WorkflowVersion.objects.get(pk=version.pk).message == "y" * 200


def test_the_message_is_frozen_with_the_version(make_workflow, publish):
    version = publish(make_workflow())
    version.message = "rewritten afterwards"
    with pytest.raises(ValidationError):
        version.save()


# --- the draft page's publish form -----------------------------------------------------------


def test_the_publish_form_stores_the_message_and_says_a_manager_promotes_it(make_workflow, publish, operator):
    workflow = make_workflow()
    first = publish(workflow)
    draft = services.save_draft(actor=operator, workflow=workflow, definition=variant(2))
    client = signed_in(operator)
    form = client.get(f"/drafts/{draft.pk}/")
    assert b'name="message"' in form.content
    assert "Publishing does not make it canonical" in text_of(form.content)

    answer = client.post(
        f"/drafts/{draft.pk}/publish/",
        {"visibility": "internal", "channel": "standard", "message": MESSAGE},
        follow=True,
    )
    version = WorkflowVersion.objects.get(workflow=workflow, sequence=2)
    assert version.message == MESSAGE
    page = text_of(answer.content)
    assert f"{version.version} is not canonical" in page
    assert f"Runs keep using {first.version}" in page
    assert "A manager makes it canonical from the versions list" in page
    assert f'href="/workflows/{workflow.slug}/#versions"' in answer.content.decode()
    assert 'id="versions"' in answer.content.decode()


def test_the_first_version_published_from_the_page_is_said_to_be_canonical(make_workflow, operator):
    workflow = make_workflow()
    draft = services.save_draft(actor=operator, workflow=workflow, definition=valid_definition())
    form = signed_in(operator).get(f"/drafts/{draft.pk}/")
    assert "Nothing is canonical yet: this version becomes canonical unless it is a shadow" in text_of(form.content)
    answer = signed_in(operator).post(f"/drafts/{draft.pk}/publish/", {"visibility": "internal"}, follow=True)
    version = WorkflowVersion.objects.get(workflow=workflow)
    assert f"{version.version} is canonical" in text_of(answer.content)
    assert "not canonical" not in text_of(answer.content)


def test_the_publish_form_refuses_a_long_message_and_names_it(make_workflow, operator):
    workflow = make_workflow()
    draft = services.save_draft(actor=operator, workflow=workflow, definition=valid_definition())
    answer = signed_in(operator).post(
        f"/drafts/{draft.pk}/publish/", {"visibility": "internal", "message": "x" * 201}, follow=True
    )
    assert "message: The message is 201 characters long" in text_of(answer.content)
    assert not WorkflowVersion.objects.filter(workflow=workflow).exists()


def test_the_notice_is_only_for_the_one_who_published(make_workflow, publish, operator, manager):
    workflow = make_workflow()
    publish(workflow)
    second = publish(workflow, variant(2))  # published by the operator
    url = f"/workflows/{workflow.slug}/?published={second.version}"
    assert b'data-testid="published-notice"' in signed_in(operator).get(url).content
    assert b'data-testid="published-notice"' not in signed_in(manager).get(url).content


def test_the_publish_form_explains_channels_and_bump_classes(make_workflow, operator):
    workflow = make_workflow()
    draft = services.save_draft(actor=operator, workflow=workflow, definition=valid_definition())
    page = signed_in(operator).get(f"/drafts/{draft.pk}/").content.decode()
    assert 'data-testid="help-channels"' in page and 'data-testid="help-bump"' in page
    for word in ("alternate", "shadow", "major", "minor", "patch"):
        assert f"<dt>{word}</dt>" in page


# --- the versions list and the pointer history ----------------------------------------------


def test_the_versions_list_shows_the_message_the_bump_badge_and_the_help(make_workflow, publish, operator):
    workflow = make_workflow()
    publish(workflow)
    draft = services.save_draft(actor=operator, workflow=workflow, definition=variant(2))
    version = services.publish_draft(actor=operator, draft=draft, message=MESSAGE)
    page = signed_in(operator).get(f"/workflows/{workflow.slug}/").content.decode()
    row = page.split(f'data-testid="version-{version.version}"')[1].split("</tr>")[0]
    assert f'<div class="fine" data-testid="publish-message">{MESSAGE}</div>' in row
    assert re.search(rf'class="badge b-{version.bump}" data-testid="bump" title="{version.bump}: [^"]+">', row)
    versions_card = page.split('id="versions"')[1].split("</section>")[0]
    assert 'data-testid="help-channels"' in versions_card and 'data-testid="help-bump"' in versions_card


def test_the_pointer_history_shows_the_message_of_the_version_it_names(make_workflow, operator):
    workflow = make_workflow()
    draft = services.save_draft(actor=operator, workflow=workflow, definition=valid_definition())
    services.publish_draft(actor=operator, draft=draft, message=MESSAGE)
    page = signed_in(operator).get(f"/workflows/{workflow.slug}/").content.decode()
    history = page.split('data-testid="pointer-history"')[1].split("</table>")[0]
    assert history.count(f"“{MESSAGE}”") == 2  # the visibility move and the canonical move both name it
