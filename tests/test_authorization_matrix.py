"""Every URL the resolver knows × method × persona. The policy below must name
every URL: a new endpoint without an entry fails this test, so nothing escapes.

A persona below the required role never gets a 2xx (it gets 401/403, a sign-in
redirect, or a 404 for what it may not see); a persona at or above it never
gets 401/403; nobody ever gets a 5xx."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from rest_framework.test import APIClient

from core.roles import Role
from templates_app import services as templates
from tests.runs_helpers import finished_record, run_now, small_definition

pytestmark = pytest.mark.django_db

PUBLIC, TEAM, MANAGER, ADMIN, SIGNED_IN = "public", "team", "manager", "admin", "signed-in"
LEVEL = {PUBLIC: Role.NONE, SIGNED_IN: Role.NONE, TEAM: Role.OPERATOR, MANAGER: Role.MANAGER, ADMIN: Role.ADMIN}
PERSONA_ROLE = {
    "anonymous": Role.NONE,
    "outsider": Role.NONE,
    "operator": Role.OPERATOR,
    "manager": Role.MANAGER,
    "admin": Role.ADMIN,
}

# url name → {method: who may}. Methods not listed must never answer 2xx to anyone.
POLICY: dict[str, dict[str, str]] = {
    # API
    "api-token": {"POST": PUBLIC},
    "api-models": {"GET": TEAM, "POST": ADMIN},
    "api-model-retire": {"POST": ADMIN},
    "api-workflows": {"GET": TEAM, "POST": TEAM},
    "api-workflow": {"GET": TEAM, "PATCH": TEAM},
    "api-workflow-derive": {"POST": TEAM},
    "api-workflow-approve": {"GET": TEAM, "POST": MANAGER},  # GET: what approving would archive
    "api-workflow-archive": {"POST": ADMIN},
    "api-workflow-resurrect": {"POST": ADMIN},
    "api-workflow-tree": {"GET": TEAM},
    "api-workflow-history": {"GET": TEAM},
    "api-workflow-drafts": {"GET": TEAM, "POST": TEAM},
    "api-draft": {"GET": TEAM, "PATCH": TEAM, "DELETE": TEAM},
    "api-draft-validate": {"GET": TEAM},
    "api-draft-publish": {"POST": TEAM},
    "api-draft-spawn": {"POST": TEAM},
    "api-versions": {"GET": PUBLIC},
    "api-version": {"GET": PUBLIC},
    "api-version-promote": {"POST": MANAGER},
    "api-version-visibility": {"POST": MANAGER},
    "api-version-channel": {"POST": MANAGER},
    "api-manifest": {"GET": PUBLIC},
    "api-runs": {"GET": TEAM, "POST": TEAM},
    "api-run": {"GET": TEAM},
    "api-run-finalize": {"POST": TEAM},
    "api-run-cancel": {"POST": TEAM},
    "api-records": {"GET": TEAM},
    "api-records-compare": {"GET": TEAM},
    "api-record": {"GET": TEAM},
    "api-record-approve": {"POST": MANAGER},
    "api-record-reproduce": {"POST": TEAM},
    "api-record-flag-legacy": {"POST": TEAM},
    "api-record-checks": {"GET": TEAM},
    "api-artifacts": {"POST": TEAM},
    "schema": {"GET": PUBLIC},
    "api-docs": {"GET": PUBLIC},
    # pages
    "dashboard": {"GET": TEAM},
    "login": {"GET": PUBLIC, "POST": PUBLIC},
    "logout": {"POST": PUBLIC},
    "password_change": {"GET": SIGNED_IN, "POST": SIGNED_IN},
    "password_change_done": {"GET": SIGNED_IN},
    "public": {"GET": PUBLIC},
    "manifest": {"GET": PUBLIC},
    "library": {"GET": TEAM},
    "workflow-new": {"GET": TEAM, "POST": TEAM},
    "workflow": {"GET": TEAM},
    "workflow-action": {"POST": MANAGER},  # exercised with "promote"
    "workflow-derive": {"POST": TEAM},
    "draft-new": {"POST": TEAM},
    "run-form": {"GET": TEAM, "POST": TEAM},
    "draft": {"GET": TEAM, "POST": TEAM},
    "draft-validate": {"POST": TEAM},
    "draft-publish": {"POST": TEAM},
    "draft-discard": {"POST": TEAM},
    "draft-spawn": {"POST": TEAM},
    "run": {"GET": TEAM},
    "run-finalize": {"POST": TEAM},
    "run-cancel": {"POST": TEAM},
    "history": {"GET": TEAM},
    "compare": {"GET": TEAM},
    "compare-image": {"GET": TEAM},
    "record": {"GET": TEAM},
    "record-action": {"POST": MANAGER},  # exercised with "approve"
    "artifact": {"GET": TEAM},
    "thumbnail": {"GET": TEAM},
}
METHODS = ["GET", "POST", "PATCH", "PUT", "DELETE"]


def every_url() -> list[tuple[str | None, str, list[str]]]:
    """(namespace, name, parameter names) of every pattern the resolver knows."""
    found = []

    def walk(patterns: list[Any], namespace: str | None) -> None:
        for p in patterns:
            if isinstance(p, URLResolver):
                walk(p.url_patterns, p.namespace or namespace)
            elif isinstance(p, URLPattern):
                found.append((namespace, p.name or "", list(p.pattern.regex.groupindex)))

    walk(get_resolver().url_patterns, None)
    return found


@pytest.fixture
def world(make_workflow, publish, operator, manager):
    base = make_workflow("campaign", "Campaign")
    publish(base, small_definition())
    public = publish(base, small_definition(prompt="{{inputs.subject}}, cool"), visibility="public")
    templates.derive_direction(actor=operator, base=base, slug="campaign-cool", name="Cool", direction_label="Cool")
    record = finished_record(operator, base)
    other = finished_record(operator, base, inputs={"subject": "hare"}, label="second")
    run = run_now(
        __import__("runs_app.services", fromlist=["x"]).start_run(
            actor=operator, workflow=base, inputs={"subject": "o"}
        )
    )
    draft = base.drafts.create(definition=small_definition(), author=operator)
    return {
        "slug": "campaign",
        "direction": "campaign-cool",
        "version": public.version,
        "hash": public.manifest_hash,
        "record": record,
        "other": other,
        "run": run,
        "draft": draft,
        "sha": record.outputs["hero"]["sha256"],
    }


def url_for(namespace: str | None, name: str, params: list[str], w: dict[str, Any]) -> str:
    if namespace == "admin":
        values = {"app_label": "templates_app", "object_id": "1", "content_type_id": "1", "model_name": "workflow"}
        return reverse(f"admin:{name}", kwargs={k: values.get(k, "1") for k in params}) if name else "/admin/"
    by_name = {"draft": w["draft"].pk, "run": w["run"].pk, "record": w["record"].pk}
    kinds = {
        "api-draft": "draft",
        "draft": "draft",
        "api-run": "run",
        "run": "run",
        "api-record": "record",
        "record": "record",
    }
    kind = next((v for k, v in kinds.items() if name == k or name.startswith(k + "-")), None)
    values = {
        "slug": w["direction"] if name == "api-workflow-approve" else w["slug"],
        "version": w["version"],
        "manifest_hash": w["hash"],
        "sha256": w["sha"],
        "family": "local/plasma",
        "snapshot": "2026-04-21",
        "action": "approve" if name == "record-action" else "promote",
        "pk": by_name.get(kind or "", 1),
    }
    url = reverse(name, kwargs={k: values[k] for k in params})
    if name in ("compare", "compare-image", "api-records-compare"):
        url += f"?a={w['record'].pk}&b={w['other'].pk}&output=hero"
    return url


def test_the_policy_names_every_url():
    names = {name for namespace, name, _ in every_url() if namespace != "admin"}
    assert names - set(POLICY) == set(), "new URLs need an entry in POLICY"
    assert set(POLICY) - names == set(), "POLICY names URLs that no longer exist"


@pytest.mark.parametrize("persona", list(PERSONA_ROLE))
def test_every_url_every_method(world, personas, persona):
    user = personas[persona]
    page_client, api_client = Client(), APIClient()
    if user is not None:
        page_client.force_login(user)
        api_client.force_authenticate(user)
    failures = []
    for namespace, name, params in every_url():
        url = url_for(namespace, name, params, world)
        if namespace == "admin":
            policy = {"GET": PUBLIC} if name in ("login", "logout") else {"GET": ADMIN}
        else:
            policy = POLICY[name]
        methods = ["GET"] if namespace == "admin" else METHODS
        for method in methods:
            client = api_client if url.startswith("/api/") else page_client
            response = client.generic(method, url, data=json.dumps({}), content_type="application/json")
            status = response.status_code
            needed = policy.get(method)
            allowed = (
                needed is not None
                and PERSONA_ROLE[persona] >= LEVEL[needed]
                and (needed != SIGNED_IN or user is not None)
            )
            if status >= 500:
                failures.append(f"{persona} {method} {url}: {status}")
            elif not allowed and 200 <= status < 300:
                failures.append(f"{persona} {method} {url}: {status} but {needed or 'nobody'} only")
            elif allowed and status in (401, 403):
                failures.append(f"{persona} {method} {url}: {status} though {needed} may")
            elif (
                not allowed
                and needed
                and status == 302
                and "login" not in response.get("Location", "")
                and namespace != "admin"
            ):
                failures.append(f"{persona} {method} {url}: redirected to {response['Location']} instead of sign-in")
    assert not failures, "\n".join(failures)
