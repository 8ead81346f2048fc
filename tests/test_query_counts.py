"""Exact query counts for every page and every API endpoint: one table, QUERY_COUNTS.

A count that changes fails the test, so every change is a decision. To re-pin after a
deliberate change, run this module: the failure prints the changed rows ready to paste
into QUERY_COUNTS (set QUERY_COUNTS_SQL=1 to see the statements as well).

The table must name every URL the resolver knows (test_every_url_has_a_row), apart from
the few listed in EXEMPT with the reason. Each row is measured against a world with
several workflows, versions, runs, steps, records and checks, so an N+1 shows as a
changed count. Pages are requested with a session, API endpoints with a token, each
from cold caches (catalogue snapshot, content types, the cache); state changes are measured inside
a savepoint rolled back afterwards, so every row sees the same world.

Row keys: "METHOD url-name [variant] [as persona]"; the persona defaults to operator."""

from __future__ import annotations

import io
import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.contrib.contenttypes.models import ContentType
from django.contrib.messages import ERROR, get_messages
from django.core.cache import cache
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from runs_app import services as runs
from runs_app.pages import _cursor
from templates_app import services as templates
from templates_app.catalogue import Catalogue
from tests.helpers import bundle_of, every_url, finished_record, foreign_bundle, png_bytes, run_now, small_definition

pytestmark = pytest.mark.django_db

# The table. One row per page or endpoint × method (× variant × persona where it matters).
QUERY_COUNTS: dict[str, int] = {
    # --- pages ---------------------------------------------------------------------------
    "GET dashboard": 10,
    # A manager's (or admin's) dashboard adds the inbox: one query per section, whatever it lists
    # (records awaiting approval, directions awaiting a decision, versions ahead of canonical,
    # production pins), the catalogue read once for both kinds of drift. 13 = the operator's 10 + 4,
    # less the pins of one's own workflows, not asked for by someone who ran nothing (as here).
    "GET dashboard as manager": 13,
    "GET dashboard as admin": 13,
    "GET dashboard inbox as manager": 9,  # session, user, role, catalogue (2), the four sections
    # Session, user, role, the record, its approval (6, as on the record page), the inbox (catalogue 2,
    # sections 4) and, out of band, the approved records.
    "POST record-inbox-approve as manager": 17,
    "POST record-inbox-approve plain as manager": 10,  # without htmx: the approval, then back to the dashboard
    "GET healthz as anonymous": 0,  # its checks use connections of their own, not the request's
    "GET login as anonymous": 0,
    "POST login as anonymous": 9,
    "POST logout": 4,
    "GET password_change": 3,
    "POST password_change": 14,  # two of them revoke the API tokens made with the old password
    "GET password_change_done": 3,
    "GET public as anonymous": 1,
    "GET manifest public as anonymous": 1,
    "GET manifest internal": 4,
    "GET library": 4,  # session, user, role (read once), the workflows
    "GET workflow-new": 4,  # session, user, role, the workflows a direction may start from
    "POST workflow-new": 25,  # the workflow and its first draft from a starting template (the catalogue read for its model)
    "GET workflow": 10,
    "GET workflow production": 12,
    "GET workflow just published": 10,  # the notice reads the version from the list already fetched
    "POST workflow-action promote as manager": 13,
    "POST workflow-action visibility as manager": 12,
    "POST workflow-action channel as manager": 14,
    "POST workflow-action approve as manager": 11,
    "POST workflow-action archive as admin": 9,
    "POST workflow-action resurrect as admin": 9,
    "POST workflow-action mode": 19,
    "POST workflow-action edit": 12,
    "POST workflow-derive": 29,
    "POST draft-new": 5,
    "GET run-form": 5,
    "GET run-form production": 7,
    "POST run-form": 15,
    "GET draft": 6,
    "POST draft": 8,
    "POST draft-validate": 6,
    "POST draft-form-validate": 6,  # the form view's live validation: the draft, the catalogue (2), the gate; nothing saved
    "GET draft-form": 6,  # as the JSON page: the draft, the catalogue (2) once for the model selects and the gate
    "POST draft-form": 10,
    "POST draft-form kind": 6,  # a kind changed: the card re-rendered, nothing saved
    "POST draft-publish": 16,
    "POST draft-discard": 8,
    "POST draft-spawn": 27,
    "GET run": 5,
    "POST run-finalize": 6,
    "POST run-cancel": 10,
    "GET run gated": 6,
    "GET run unchanged": 4,  # session, user, role, then "still awaiting its annotation?" → 204, nothing else
    "POST run-continue": 14,
    "GET history": 6,
    "GET history filtered": 6,
    # The grid is the same rows as the table: the same queries, whatever the number of records
    # (test_the_history_grid_costs_the_same_with_1_and_30_records).
    "GET history grid": 6,
    "GET history grid filtered": 6,
    "GET history grid older": 6,  # its "load more" fragment, from a cursor
    # Session, user, role, the records (one query, however many), their outputs' artifacts (one
    # query): the same for two records as for four.
    "GET compare": 5,
    "GET compare four": 5,
    "GET compare-image": 7,
    "GET record": 7,
    "GET record-check": 7,  # session, user, role, the record, the check, its run, the run's steps
    "GET record-outputs": 5,  # session, user, role, the record, its outputs' artifacts (one query)
    "POST record-action approve as manager": 10,
    "POST record-action flag-legacy": 13,
    "POST record-action reproduce": 16,
    "GET artifact": 4,
    "GET thumbnail": 4,
    "GET preview": 4,
    # --- API -----------------------------------------------------------------------------
    "POST api-token as anonymous": 5,
    "GET api-models": 3,
    "POST api-models as admin": 16,
    "POST api-model-retire as admin": 10,
    "GET api-workflows": 3,  # token with its user, role (read once), the workflows
    "POST api-workflows": 20,  # full_clean asks PostgreSQL to check each constraint, the slug format too
    "GET api-workflow": 4,
    "GET api-workflow production": 6,
    "PATCH api-workflow": 14,
    "POST api-workflow-derive": 28,
    "GET api-workflow-approve": 4,  # the siblings, their pins, their approved records
    "POST api-workflow-approve as manager": 12,
    "POST api-workflow-archive as admin": 9,
    "POST api-workflow-resurrect as admin": 9,
    "GET api-workflow-tree": 5,
    "GET api-workflow-history": 4,
    "GET api-workflow-drafts": 4,
    "POST api-workflow-drafts": 6,
    "GET api-draft": 3,
    "PATCH api-draft": 8,
    "DELETE api-draft": 7,
    "GET api-draft-validate": 5,
    "POST api-draft-publish": 16,
    "POST api-draft-spawn": 26,
    "GET api-versions as anonymous": 2,
    "GET api-versions": 4,
    "GET api-version public as anonymous": 2,
    "GET api-version internal": 4,
    "POST api-version-promote as manager": 12,
    "POST api-version-visibility as manager": 12,
    "POST api-version-channel as manager": 13,
    "GET api-manifest public as anonymous": 1,
    "GET api-manifest internal": 3,
    "GET api-runs": 4,
    "POST api-runs": 15,  # two of them: the active-run quota locks the user row and counts
    "GET api-run": 4,
    "POST api-run-finalize": 7,
    "POST api-run-cancel": 11,
    "GET api-run gated": 5,
    "POST api-run-continue": 16,
    "GET api-records": 3,
    "GET api-records filtered": 3,
    "GET api-records-compare": 5,  # token, role, the two records, the differing outputs' artifacts (one query)
    "GET api-record": 6,
    "POST api-record-approve as manager": 13,
    "POST api-record-reproduce": 17,
    "POST api-record-flag-legacy": 16,
    "GET api-record-checks": 4,
    # Token, role, the record, its run's specification, its steps with their outputs, its version (the
    # references' artifacts when it has any: one more); the zip streams from storage afterwards.
    "GET api-record-bundle": 6,
    # Two duplicate checks, the workflow and version (each validated as the publish path does: its
    # constraints are checked one query each), the artifacts (one insert each), the run, its steps,
    # the numbered record in one statement, then the record as the detail answers it.
    "POST api-bundles as admin": 58,
    "POST api-artifacts": 3,
    "GET schema as anonymous": 0,
    "GET api-docs as anonymous": 0,
}

# URL names without a row, and why. Nothing else may be missing from the table.
EXEMPT: dict[str, str] = {
    "admin:*": "Django's admin internals: their queries are Django's, not ours; the admin's access rules are "
    "in tests/test_authorization_matrix.py and its history guards in tests/test_tamper.py.",
}


@dataclass(frozen=True)
class Req:
    path: str
    data: Any = None
    expect: tuple[int, ...] = (200,)
    multipart: bool = False
    htmx: bool = False  # sent as htmx sends it (HX-Request), e.g. a polled fragment


# How each row is requested: "METHOD name [variant]" → the request against the world `w`.
REDIRECT = (302,)
CREATED = (201,)
ACCEPTED = (202,)
NO_CONTENT = (204,)
REQUESTS: dict[str, Callable[[dict[str, Any]], Req]] = {
    # pages
    "GET dashboard": lambda w: Req("/"),
    "GET dashboard inbox": lambda w: Req("/", htmx=True),
    "POST record-inbox-approve": lambda w: Req(f"/inbox/records/{w['records'][1].pk}/approve/", {}, htmx=True),
    "POST record-inbox-approve plain": lambda w: Req(
        f"/inbox/records/{w['records'][1].pk}/approve/", {}, expect=REDIRECT
    ),
    "GET healthz": lambda w: Req("/healthz"),
    "GET login": lambda w: Req("/accounts/login/"),
    "POST login": lambda w: Req(
        "/accounts/login/", {"username": "olivia-operator", "password": "pw-olivia-operator"}, expect=REDIRECT
    ),
    "POST logout": lambda w: Req("/accounts/logout/", expect=REDIRECT),
    "GET password_change": lambda w: Req("/accounts/password_change/"),
    "POST password_change": lambda w: Req(
        "/accounts/password_change/",
        {
            "old_password": "pw-olivia-operator",
            "new_password1": "a-Much-longer-passphrase-42",
            "new_password2": "a-Much-longer-passphrase-42",
        },
        expect=REDIRECT,
    ),
    "GET password_change_done": lambda w: Req("/accounts/password_change/done/"),
    "GET public": lambda w: Req("/public/"),
    "GET manifest public": lambda w: Req(f"/manifests/{w['public'].manifest_hash}/"),
    "GET manifest internal": lambda w: Req(f"/manifests/{w['internal'].manifest_hash}/"),
    "GET library": lambda w: Req("/workflows/"),
    "GET workflow-new": lambda w: Req("/workflows/new/"),
    "POST workflow-new": lambda w: Req("/workflows/new/", {"slug": "new-job", "name": "New job"}, expect=REDIRECT),
    "GET workflow": lambda w: Req("/workflows/campaign/"),
    "GET workflow production": lambda w: Req("/workflows/poster/"),
    "GET workflow just published": lambda w: Req(f"/workflows/campaign/?published={w['internal'].version}"),
    "POST workflow-action promote": lambda w: Req(
        "/workflows/campaign/do/promote/", {"version": w["public"].version, "reason": "the cool look"}, expect=REDIRECT
    ),
    "POST workflow-action visibility": lambda w: Req(
        "/workflows/campaign/do/visibility/", {"version": w["internal"].version}, expect=REDIRECT
    ),
    "POST workflow-action channel": lambda w: Req(
        "/workflows/campaign/do/channel/", {"version": w["internal"].version, "channel": "alternate"}, expect=REDIRECT
    ),
    "POST workflow-action approve": lambda w: Req("/workflows/campaign-cool/do/approve/", {}, expect=REDIRECT),
    "POST workflow-action archive": lambda w: Req(
        "/workflows/campaign-cool/do/archive/", {"reason": "off brief"}, expect=REDIRECT
    ),
    "POST workflow-action resurrect": lambda w: Req(
        "/workflows/campaign-cold/do/resurrect/", {"reason": "back on brief"}, expect=REDIRECT
    ),
    "POST workflow-action mode": lambda w: Req(
        "/workflows/campaign/do/mode/", {"mode": "production", "pin_record": str(w["approved"].pk)}, expect=REDIRECT
    ),
    "POST workflow-action edit": lambda w: Req(
        "/workflows/campaign/do/edit/", {"name": "Campaign, renamed", "description": "Winter"}, expect=REDIRECT
    ),
    "POST workflow-derive": lambda w: Req(
        "/workflows/campaign/derive/", {"slug": "campaign-dark", "name": "Dark", "direction_label": "Dark"}, REDIRECT
    ),
    "POST draft-new": lambda w: Req("/workflows/campaign/drafts/new/", {}, expect=REDIRECT),
    "GET run-form": lambda w: Req("/workflows/campaign/run/"),
    "GET run-form production": lambda w: Req("/workflows/poster/run/"),
    "POST run-form": lambda w: Req("/workflows/campaign/run/", {"input_subject": "an owl"}, expect=REDIRECT),
    "GET draft": lambda w: Req(f"/drafts/{w['draft'].pk}/"),
    "POST draft": lambda w: Req(
        f"/drafts/{w['draft'].pk}/", {"definition": json.dumps(small_definition(steps=20))}, expect=REDIRECT
    ),
    "GET draft-form": lambda w: Req(f"/drafts/{w['draft'].pk}/form/"),
    "POST draft-form": lambda w: Req(
        f"/drafts/{w['draft'].pk}/form/",
        {
            "op": "save",
            "steps-count": "1",
            "step-0-id": "a",
            "step-0-kind": "generate_image",
            "step-0-model": "local/plasma",
        },
        expect=REDIRECT,
    ),
    "POST draft-form kind": lambda w: Req(
        f"/drafts/{w['draft'].pk}/form/",
        {"op": "kind", "steps-count": "1", "step-0-id": "a", "step-0-kind": "upscale", "step-0-model": "local/plasma"},
        htmx=True,
    ),
    "POST draft-validate": lambda w: Req(
        f"/drafts/{w['draft'].pk}/validate/", {"definition": json.dumps(small_definition(steps=20))}
    ),
    "POST draft-form-validate": lambda w: Req(
        f"/drafts/{w['draft'].pk}/form/validate/",
        {
            "steps-count": "20",
            **{
                f"step-{i}-{k}": v
                for i in range(20)
                for k, v in (("id", f"s{i}"), ("kind", "upscale"), ("model", "local/plasma"))
            },
        },
        htmx=True,
    ),
    "POST draft-publish": lambda w: Req(
        f"/drafts/{w['draft'].pk}/publish/", {"visibility": "internal", "message": "cooler light"}, REDIRECT
    ),
    "POST draft-discard": lambda w: Req(f"/drafts/{w['draft'].pk}/discard/", {}, expect=REDIRECT),
    "POST draft-spawn": lambda w: Req(
        f"/drafts/{w['draft'].pk}/spawn/", {"slug": "campaign-sibling", "name": "Sibling"}, expect=REDIRECT
    ),
    "GET run": lambda w: Req(f"/runs/{w['awaiting'].pk}/"),
    "GET run gated": lambda w: Req(f"/runs/{w['gated'].pk}/"),
    "GET run unchanged": lambda w: Req(
        f"/runs/{w['awaiting'].pk}/?seen=awaiting_annotation", htmx=True, expect=NO_CONTENT
    ),
    "POST run-continue": lambda w: Req(f"/runs/{w['gated'].pk}/continue/", {}, expect=REDIRECT),
    "POST run-finalize": lambda w: Req(
        f"/runs/{w['awaiting'].pk}/finalize/", {"label": "Owl", "annotation": "client loves owls"}, expect=REDIRECT
    ),
    "POST run-cancel": lambda w: Req(f"/runs/{w['queued'].pk}/cancel/", {}, expect=REDIRECT),
    "GET history": lambda w: Req("/records/"),
    "GET history filtered": lambda w: Req("/records/?q=look&model=local/plasma&approved=false"),
    "GET history grid": lambda w: Req("/records/?view=grid"),
    "GET history grid filtered": lambda w: Req("/records/?view=grid&q=look&model=local/plasma&approved=false"),
    "GET history grid older": lambda w: Req(f"/records/?view=grid&cursor={_cursor(w['records'][2])}", htmx=True),
    "GET compare": lambda w: Req(f"/records/compare/?a={w['records'][0].pk}&b={w['records'][1].pk}"),
    "GET compare four": lambda w: Req("/records/compare/?" + "&".join(f"r={r.pk}" for r in w["records"])),
    "GET compare-image": lambda w: Req(
        f"/records/compare/diff.png?a={w['records'][0].pk}&b={w['records'][1].pk}&output=hero"
    ),
    "GET record": lambda w: Req(f"/records/{w['records'][0].pk}/"),
    "GET record-check": lambda w: Req(f"/records/{w['check'].record_id}/checks/{w['check'].pk}/"),
    "GET record-outputs": lambda w: Req(f"/records/{w['records'][0].pk}/outputs.zip"),
    "POST record-action approve": lambda w: Req(f"/records/{w['records'][1].pk}/approve/", {}, expect=REDIRECT),
    "POST record-action flag-legacy": lambda w: Req(
        f"/records/{w['records'][1].pk}/flag-legacy/", {"reason": "needs the April model"}, expect=REDIRECT
    ),
    "POST record-action reproduce": lambda w: Req(
        f"/records/{w['records'][1].pk}/reproduce/", {"accept_model_drift": "1"}, expect=REDIRECT
    ),
    "GET artifact": lambda w: Req(f"/artifacts/{w['sha']}"),
    "GET thumbnail": lambda w: Req(f"/artifacts/{w['sha']}/thumb"),
    "GET preview": lambda w: Req(f"/artifacts/{w['sha']}/preview"),
    # API
    "POST api-token": lambda w: Req(
        "/api/auth/token/", {"username": "olivia-operator", "password": "pw-olivia-operator"}
    ),
    "GET api-models": lambda w: Req("/api/models/"),
    "POST api-models": lambda w: Req("/api/models/", {"family": "local/plasma", "snapshot": "2026-10-01"}, CREATED),
    "POST api-model-retire": lambda w: Req("/api/models/local/plasma@2026-04-21/retire/", {}),
    "GET api-workflows": lambda w: Req("/api/workflows/"),
    "POST api-workflows": lambda w: Req("/api/workflows/", {"slug": "new-job", "name": "New job"}, CREATED),
    "GET api-workflow": lambda w: Req("/api/workflows/campaign/"),
    "GET api-workflow production": lambda w: Req("/api/workflows/poster/"),
    "PATCH api-workflow": lambda w: Req("/api/workflows/campaign/", {"name": "Renamed"}),
    "POST api-workflow-derive": lambda w: Req(
        "/api/workflows/campaign/derive/", {"slug": "camp-b", "name": "B", "direction_label": "B"}, CREATED
    ),
    "GET api-workflow-approve": lambda w: Req("/api/workflows/campaign-cool/approve/"),
    "POST api-workflow-approve": lambda w: Req("/api/workflows/campaign-cool/approve/", {}),
    "POST api-workflow-archive": lambda w: Req("/api/workflows/campaign-cool/archive/", {"reason": "off brief"}),
    "POST api-workflow-resurrect": lambda w: Req("/api/workflows/campaign-cold/resurrect/", {"reason": "back"}),
    "GET api-workflow-tree": lambda w: Req("/api/workflows/campaign/tree/"),
    "GET api-workflow-history": lambda w: Req("/api/workflows/campaign/history/"),
    "GET api-workflow-drafts": lambda w: Req("/api/workflows/campaign/drafts/"),
    "POST api-workflow-drafts": lambda w: Req(
        "/api/workflows/campaign/drafts/", {"definition": small_definition(steps=30)}, CREATED
    ),
    "GET api-draft": lambda w: Req(f"/api/drafts/{w['draft'].pk}/"),
    "PATCH api-draft": lambda w: Req(f"/api/drafts/{w['draft'].pk}/", {"definition": small_definition(steps=25)}),
    "DELETE api-draft": lambda w: Req(f"/api/drafts/{w['draft'].pk}/", expect=NO_CONTENT),
    "GET api-draft-validate": lambda w: Req(f"/api/drafts/{w['draft'].pk}/validate/"),
    "POST api-draft-publish": lambda w: Req(
        f"/api/drafts/{w['draft'].pk}/publish/", {"visibility": "internal", "message": "cooler light"}, CREATED
    ),
    "POST api-draft-spawn": lambda w: Req(
        f"/api/drafts/{w['draft'].pk}/spawn-sibling/", {"slug": "sibling", "name": "Sibling"}, CREATED
    ),
    "GET api-versions": lambda w: Req("/api/workflows/campaign/versions/"),
    "GET api-version public": lambda w: Req(f"/api/workflows/campaign/versions/{w['public'].version}/"),
    "GET api-version internal": lambda w: Req(f"/api/workflows/campaign/versions/{w['internal'].version}/"),
    "POST api-version-promote": lambda w: Req(f"/api/workflows/campaign/versions/{w['public'].version}/promote/", {}),
    "POST api-version-visibility": lambda w: Req(
        f"/api/workflows/campaign/versions/{w['internal'].version}/visibility/", {"visibility": "public"}
    ),
    "POST api-version-channel": lambda w: Req(
        f"/api/workflows/campaign/versions/{w['internal'].version}/channel/", {"channel": "alternate"}
    ),
    "GET api-manifest public": lambda w: Req(f"/api/manifests/{w['public'].manifest_hash}/"),
    "GET api-manifest internal": lambda w: Req(f"/api/manifests/{w['internal'].manifest_hash}/"),
    "GET api-runs": lambda w: Req("/api/runs/"),
    "POST api-runs": lambda w: Req("/api/runs/", {"workflow": "campaign", "inputs": {"subject": "owl"}}, CREATED),
    "GET api-run": lambda w: Req(f"/api/runs/{w['records'][0].run_id}/"),
    "POST api-run-finalize": lambda w: Req(
        f"/api/runs/{w['awaiting'].pk}/finalize/", {"label": "x", "annotation": "y"}, ACCEPTED
    ),
    "POST api-run-cancel": lambda w: Req(f"/api/runs/{w['queued'].pk}/cancel/", {}),
    "GET api-run gated": lambda w: Req(f"/api/runs/{w['gated'].pk}/"),
    "POST api-run-continue": lambda w: Req(f"/api/runs/{w['gated'].pk}/continue/", {}),
    "GET api-records": lambda w: Req("/api/records/"),
    "GET api-records filtered": lambda w: Req("/api/records/?model=local/plasma&q=look&approved=false"),
    "GET api-records-compare": lambda w: Req(f"/api/records/compare/?a={w['records'][0].pk}&b={w['records'][1].pk}"),
    "GET api-record": lambda w: Req(f"/api/records/{w['records'][0].pk}/"),
    "POST api-record-approve": lambda w: Req(f"/api/records/{w['records'][1].pk}/approve/", {}),
    "POST api-record-reproduce": lambda w: Req(
        f"/api/records/{w['records'][1].pk}/reproduce/", {"accept_model_drift": True}, ACCEPTED
    ),
    "POST api-record-flag-legacy": lambda w: Req(
        f"/api/records/{w['records'][1].pk}/flag-legacy/", {"reason": "needs the April model"}
    ),
    "GET api-record-checks": lambda w: Req(f"/api/records/{w['records'][0].pk}/checks/"),
    "GET api-record-bundle": lambda w: Req(f"/api/records/{w['records'][0].pk}/bundle/"),
    # A bundle of the first record as if exported by another instance: a new workflow, version and record.
    "POST api-bundles": lambda w: Req(
        "/api/bundles/",
        {"file": io.BytesIO(foreign_bundle(bundle_of(w["records"][0])))},
        multipart=True,
        expect=CREATED,
    ),
    "POST api-artifacts": lambda w: Req("/api/artifacts/", {"file": png_bytes()}, multipart=True, expect=CREATED),
    "GET schema": lambda w: Req("/api/schema/"),
    "GET api-docs": lambda w: Req("/api/docs/"),
}


@dataclass(frozen=True)
class Row:
    key: str
    method: str
    name: str
    request: str  # the REQUESTS key
    persona: str


def parse(key: str) -> Row:
    head, _, persona = key.partition(" as ")
    method, name, *_variant = head.split(" ")
    return Row(key=key, method=method, name=name, request=head, persona=persona or "operator")


def resolver_names() -> set[str]:
    """Every URL name the resolver knows; namespaced names as 'ns:name'."""
    return {f"{ns}:{name}" if ns else name for ns, name, _params in every_url()}


def is_exempt(name: str) -> bool:
    return name in EXEMPT or any(k.endswith(":*") and name.startswith(k[:-1]) for k in EXEMPT)


def test_every_url_has_a_row():
    names = resolver_names()
    rows = {parse(key).name for key in QUERY_COUNTS}
    missing = sorted(n for n in names if n not in rows and not is_exempt(n))
    assert not missing, f"URLs without a row in QUERY_COUNTS (add one, with its request in REQUESTS): {missing}"
    assert rows - names == set(), "QUERY_COUNTS names URLs that no longer exist"
    assert {parse(k).request for k in QUERY_COUNTS} == set(REQUESTS), "every row needs a request, every request a row"
    assert all(is_exempt(n) for n in names - rows)
    assert any(n.startswith("admin:") for n in names), "the exemption must still name something"


@pytest.fixture
def world(make_workflow, publish, operator, manager, admin_user, outsider):
    """Several workflows, versions, runs with steps, records with checks, drafts and pointer moves."""
    base = make_workflow("campaign", "Campaign")
    internal = publish(base, small_definition())
    public = publish(base, small_definition(prompt="{{inputs.subject}}, cool"), visibility="public")
    direction = templates.derive_direction(
        actor=operator, base=base, slug="campaign-cool", name="Cool", direction_label="Cool"
    )
    publish(direction, small_definition(prompt="{{inputs.subject}}, cold blue"))
    archived = templates.derive_direction(
        actor=operator, base=base, slug="campaign-cold", name="Cold", direction_label="Cold"
    )
    templates.archive_workflow(actor=admin_user, workflow=archived, reason="off brief")
    records = [
        finished_record(operator, base, inputs={"subject": s}, label=f"{s} look", annotation=f"the {s}")
        for s in ("fox", "hare", "owl", "heron")
    ]
    for record in records[2:]:
        runs.approve_record(actor=manager, record=record)
    check = run_now(runs.reproduce_record(actor=operator, record=records[0])).reproduction_check
    for _ in range(3):
        runs.flag_legacy(actor=manager, record=records[0], reason="needs the old model")
    for slug in ("poster", "flyer"):  # two workflows in production, each with its pin
        produced = make_workflow(slug, slug.title())
        publish(produced, small_definition())
        approved = finished_record(operator, produced, label="keeper")
        runs.approve_record(actor=manager, record=approved)
        runs.set_workflow_mode(actor=operator, workflow=produced, mode="production", pin_record=approved, reason="go")
    templates.add_model_snapshot(actor=admin_user, family="local/plasma", snapshot="2026-11-01", make_default=True)
    awaiting = run_now(runs.start_run(actor=operator, workflow=base, inputs={"subject": "lynx"}))
    queued = runs.start_run(actor=operator, workflow=base, inputs={"subject": "stoat"})
    gated_workflow = make_workflow("storyboard", "Storyboard")
    publish(gated_workflow, {**small_definition(), "policy": {"gates": [{"after": "background"}]}})
    gated = run_now(runs.start_run(actor=operator, workflow=gated_workflow, inputs={"subject": "ibis"}))
    assert gated.awaits_gate
    draft = templates.save_draft(actor=operator, workflow=base, definition=small_definition(steps=16))
    return {
        "internal": internal,
        "public": public,
        "records": records,
        "approved": records[2],
        "awaiting": awaiting,
        "queued": queued,
        "gated": gated,
        "draft": draft,
        "sha": records[0].outputs["hero"]["sha256"],
        "check": check,
        "users": {"operator": operator, "manager": manager, "admin": admin_user, "outsider": outsider},
    }


def client_for(row: Row, w: dict[str, Any]) -> Client:
    user = w["users"].get(row.persona)
    if row.name.startswith("api-") or row.name in ("schema",):
        api = APIClient()
        if user is not None:
            api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=user)[0].key}")
        return api
    page = Client()
    if user is not None:
        page.force_login(user)
    return page


def send(client: Client, row: Row, req: Req) -> Any:
    if isinstance(client, APIClient):
        if req.multipart:
            return client.post(req.path, req.data, format="multipart")
        return client.generic(
            row.method,
            req.path,
            data=json.dumps(req.data) if req.data is not None else "",
            content_type="application/json",
        )
    if row.method == "GET":
        return client.get(req.path, headers={"HX-Request": "true"} if req.htmx else None)
    return client.post(req.path, req.data or {}, headers={"HX-Request": "true"} if req.htmx else None)


def measure(row: Row, w: dict[str, Any]) -> tuple[int, list[str], str]:
    """(queries, their SQL, a problem with the answer or '') for one row, leaving the world as it was."""
    req = REQUESTS[row.request](w)
    client = client_for(row, w)
    with transaction.atomic():
        Catalogue.forget()
        ContentType.objects.clear_cache()
        cache.clear()  # sign-in throttles count earlier tests' attempts; this row is not about them
        with CaptureQueriesContext(connection) as queries:
            response = send(client, row, req)
        transaction.set_rollback(True)
    problem = ""
    if response.status_code not in req.expect:
        problem = f"answered {response.status_code}, expected {req.expect}: {getattr(response, 'content', b'')[:200]!r}"
    elif response.status_code == 302 and hasattr(response, "wsgi_request"):
        errors = [m.message for m in get_messages(response.wsgi_request) if m.level == ERROR]
        if errors:
            problem = f"refused: {errors}"
    return len(queries), [q["sql"] for q in queries.captured_queries], problem


def test_query_counts(world):
    changed, broken = [], []
    for key, pinned in QUERY_COUNTS.items():
        row = parse(key)
        count, sql, problem = measure(row, world)
        if problem:
            broken.append(f"{key}: {problem}")
        elif count != pinned:
            changed.append((key, pinned, count, sql))
    assert not broken, "requests that did not succeed, so their counts mean nothing:\n" + "\n".join(broken)
    if changed:
        lines = [f'    "{key}": {count},  # was {pinned}' for key, pinned, count, _ in changed]
        if os.environ.get("QUERY_COUNTS_SQL"):
            for key, _, _, sql in changed:
                lines.append(f"\n{key}:\n  " + "\n  ".join(s[:200] for s in sql))
        pytest.fail(
            "Query counts changed. If the change is deliberate, re-pin these rows in QUERY_COUNTS "
            "(QUERY_COUNTS_SQL=1 shows the statements):\n" + "\n".join(lines),
            pytrace=False,
        )


def test_the_history_grid_costs_the_same_with_1_and_30_records(make_workflow, publish, operator, monkeypatch):
    """The grid reads no more per record than the table (no N+1 behind a thumbnail, a workflow or an
    approval), and its pages are a keyset (WHERE created_at < cursor) rather than an OFFSET that
    deepens with each page. The same rows at 10^4 records: tests/test_history_at_scale.py."""
    from runs_app import pages

    workflow = make_workflow("gallery", "Gallery")
    publish(workflow, small_definition())
    client = Client()
    client.force_login(operator)

    def grid(url: str, htmx: bool = False) -> tuple[str, list[str]]:
        Catalogue.forget()
        ContentType.objects.clear_cache()
        cache.clear()
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url, headers={"HX-Request": "true"} if htmx else None)
        assert response.status_code == 200
        return response.content.decode(), [q["sql"] for q in queries.captured_queries]

    def cells(html: str) -> int:
        return html.count('data-testid="grid-cell"')

    finished_record(operator, workflow, label="look 0")
    one_html, one_sql = grid("/records/?view=grid")
    for i in range(1, 30):
        finished_record(operator, workflow, label=f"look {i}")
    thirty_html, thirty_sql = grid("/records/?view=grid")
    assert (cells(one_html), cells(thirty_html)) == (1, 30)
    assert len(thirty_sql) == len(one_sql) == QUERY_COUNTS["GET history grid"]

    # Ten a page: each "load more" (an htmx fragment, still a grid) costs the same as the first page.
    monkeypatch.setattr(pages, "HISTORY_PAGE", 10)
    html, sql = grid("/records/?view=grid")
    seen, every_sql = cells(html), list(sql)
    for _ in range(2):
        older = re.search(r'hx-get="(\?[^"]*cursor=[^"]+)"', html)
        assert older is not None and "view=grid" in older.group(1)
        html, sql = grid("/records/" + older.group(1).replace("&amp;", "&"), htmx=True)
        assert 'data-testid="history-grid"' in html and "<html" not in html
        assert len(sql) == len(one_sql)
        seen += cells(html)
        every_sql += sql
    assert seen == 30 and "cursor=" not in html.split('data-testid="history-grid"')[1]
    assert not [s for s in one_sql + thirty_sql + every_sql if re.search(r"\bOFFSET\b", s, re.I)]
    assert any(re.search(r'"created_at" < ', s) for s in every_sql), "the older pages come from a keyset"
