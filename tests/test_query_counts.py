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
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from runs_app import services as runs
from runs_app import transitions
from runs_app.models import Artifact, VersionRecord
from runs_app.pages import _cursor
from runs_app.queue_pages import _cursor as _queue_cursor
from runs_app.storage import read_artifact
from templates_app import services as templates
from templates_app.catalogue import Catalogue
from tests.helpers import (
    bundle_of,
    every_url,
    evidence_for,
    finished_record,
    foreign_bundle,
    png_bytes,
    run_now,
    small_definition,
)

pytestmark = pytest.mark.django_db

# The smallest graph ComfyUI would run (an empty image, saved), for the import rows.
COMFY_GRAPH = {
    "1": {"class_type": "EmptyImage", "inputs": {"width": 64, "height": 64, "batch_size": 1, "color": 0}},
    "2": {"class_type": "SaveImage", "inputs": {"images": ["1", 0], "filename_prefix": "floniks"}},
}

# The table. One row per page or endpoint × method (× variant × persona where it matters).
QUERY_COUNTS: dict[str, int] = {
    # --- pages ---------------------------------------------------------------------------
    "GET dashboard": 11,  # with my recent batches (one query with their counts)
    # A manager's (or admin's) dashboard adds the inbox: one query per section, whatever it lists
    # (records awaiting approval, directions awaiting a decision, versions ahead of canonical,
    # production pins), the catalogue read once for both kinds of drift. 13 = the operator's 10 + 4,
    # less the pins of one's own workflows, not asked for by someone who ran nothing (as here).
    "GET dashboard as manager": 15,
    "GET dashboard as admin": 14,
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
    "GET workflow": 11,  # with its recent batches (one query with their counts)
    "GET workflow production": 13,
    "GET workflow just published": 11,  # the notice reads the version from the list already fetched
    "POST workflow-action promote as admin": 13,  # an admin's override without evidence, with a reason
    "POST workflow-action visibility as manager": 12,
    "POST workflow-action channel as manager": 14,
    "POST workflow-action approve as manager": 11,
    "POST workflow-action archive as admin": 9,
    "POST workflow-action resurrect as admin": 9,
    "POST workflow-action mode": 19,
    "POST workflow-action edit": 12,
    "POST workflow-derive": 29,
    "POST draft-new": 5,
    "POST draft-import-comfyui": 8,  # the workflow, the catalogue (2) for the pool, the canonical version, the draft
    "GET run-form": 7,  # +2: the catalogue (cold), for the notes on unseeded and unavailable models
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
    "GET record": 8,  # (+1: its signed copies)
    "GET record-check": 7,  # session, user, role, the record, the check, its run, the run's steps
    "GET record-outputs": 5,  # session, user, role, the record, its outputs' artifacts (one query)
    "POST record-action approve as manager": 10,
    "POST record-action flag-legacy": 13,
    "POST record-action reproduce": 17,  # +1: the run's specification says which parameters each step declares
    # The model catalogue: families, snapshots and their recent moves, whatever it holds.
    "GET catalogue": 6,  # session, user, role, families, snapshots, recent moves
    # What a snapshot touches (runs_app.impact): a fixed number of queries whatever it counts.
    "GET model-snapshot as manager": 9,  # session, user, role, the snapshot, its impact (5)
    "GET model-snapshot default as admin": 9,  # the confirmation of a default change: today's default's impact
    "POST model-snapshot-action as admin": 10,
    # Issue 15: batches, the team's run queue, run again, retry, discard.
    "GET queue": 8,  # session, user, role, the runs (stale and queues in the same query), queue counts, heartbeats, workflows, operators
    "GET queue filtered": 8,
    "GET queue older": 8,  # its keyset page
    "GET batch": 6,  # session, user, role, the batch, its runs with their records, their steps
    "GET batch live": 6,  # the live cells only, swapped in out of band
    "POST batch-finalize": 8,  # the batch as shown (3) + one conditional UPDATE per cell kept (2 here)
    "POST batch-finalize discard": 8,  # + one conditional UPDATE per cell discarded (2 here)
    "POST run-form explore": 22,  # a sweep of two runs
    "POST run-again": 14,
    "POST run-retry": 14,
    "POST run-discard": 5,
    "POST record-action run-again": 17,
    "GET artifact": 4,
    # Anyone may check a file's provenance: reading and verifying it needs no query at all (the session
    # is not even read); only a trusted file's record, for the team, is looked up (one query).
    "GET verify as anonymous": 0,
    "POST verify as anonymous": 0,
    "POST verify": 4,  # session, user, role, the record the file names
    "GET thumbnail": 4,
    "GET preview": 4,
    # --- API -----------------------------------------------------------------------------
    "POST api-token as anonymous": 5,
    "GET api-models": 3,
    "POST api-models as admin": 16,
    "POST api-model-retire as admin": 16,  # the impact (5) it answers with, computed in the same transaction
    "GET api-model-impact as manager": 8,  # token, role, the snapshot, its impact (5)
    "POST api-model-default as admin": 19,
    "POST api-model-restore as admin": 15,
    # A family that runs on a built-in provider has no server to capture: refused before any fetch
    # (a capture from a live ComfyUI server is measured nowhere here: its cost is the server's answer).
    "POST api-model-capture as admin": 3,
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
    "POST api-draft-import-comfyui": 8,  # as the page's: token, workflow, catalogue (2), canonical, draft, answer
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
    "POST api-version-promote as manager": 13,  # with an evaluation as evidence (one query reads it)
    "POST api-version-evaluate as manager": 27,  # +1: a swept record's run (its swept values)
    "GET api-evaluation": 5,
    "GET api-version-diff": 8,
    "POST api-contact-sheet-start": 27,
    "GET api-contact-sheet": 5,
    "GET api-contact-sheet-image": 3,
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
    "GET api-record": 7,  # (+1: its signed copies)
    "POST api-record-approve as manager": 14,  # (+1: the answer's signed copies)
    "POST api-record-reproduce": 18,  # +1: as above
    "POST api-record-flag-legacy": 17,  # (+1: the answer's signed copies)
    "GET api-record-checks": 4,
    # Token, role, the record, its run's specification, its steps with their outputs, its version (the
    # references' artifacts when it has any: one more); the zip streams from storage afterwards.
    "GET api-record-bundle": 7,  # with the signed copies (and their signers)
    # Two duplicate checks, the workflow and version (each validated as the publish path does: its
    # constraints are checked one query each), the artifacts (one insert each), the run, its steps,
    # the numbered record in one statement, then the record as the detail answers it.
    "POST api-bundles as admin": 62,  # + attaching the bundle's signed copies, and so no longer waiting to be signed
    "POST api-artifacts": 3,
    "POST api-provenance-verify as anonymous": 0,
    "POST api-provenance-verify": 3,  # token with its user, role, the record the file names
    "GET api-batches": 3,  # token, role, the batches with their counts
    "GET api-batches mine": 3,
    "POST api-batches": 31,  # four runs: each resolves, creates its run and steps (about 4 a run)
    "POST api-batches sweep": 27,  # three runs
    "GET api-batch": 5,
    "POST api-run-discard": 7,
    "POST api-run-again": 16,
    "POST api-run-retry": 16,
    "GET schema as anonymous": 0,
    "GET api-docs as anonymous": 0,
    # Evidence pages (DESIGN §14).
    "GET version-diff": 9,
    "GET evaluation": 6,
    "GET evaluation live": 6,
    "POST evaluation-start as manager": 25,  # +1: as above
    "POST evaluation-promote as manager": 14,
    "POST contact-sheet-start": 25,
    "GET contact-sheet": 6,
    "GET contact-sheet live": 6,
    "GET contact-sheet-image": 4,
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
STOPPED = (286,)  # htmx: the answer still swaps, and the poller stops
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
    "POST draft-import-comfyui": lambda w: Req(
        "/workflows/campaign/drafts/import-comfyui/", {"graph": json.dumps(COMFY_GRAPH)}, expect=REDIRECT
    ),
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
    "GET queue": lambda w: Req("/runs/"),
    "GET queue filtered": lambda w: Req(
        "/runs/?status=awaiting_annotation&workflow=campaign&operator=operator&queue=floniks"
    ),
    "GET queue older": lambda w: Req(f"/runs/?cursor={_queue_cursor(w['awaiting'])}", htmx=True),
    "GET batch": lambda w: Req(f"/batches/{w['batch'].pk}/"),
    "GET batch live": lambda w: Req(
        f"/batches/{w['batch'].pk}/?" + "&".join(f"live={r.pk}" for r in w["batch_runs"]), htmx=True, expect=STOPPED
    ),
    "POST batch-finalize": lambda w: Req(
        f"/batches/{w['batch'].pk}/finalize/",
        {
            "action": "finalize",
            "keep": [str(r.pk) for r in w["batch_runs"][:2]],
            **{f"label_{r.pk}": f"keep {i}" for i, r in enumerate(w["batch_runs"][:2])},
            **{f"annotation_{r.pk}": "the client liked it" for r in w["batch_runs"][:2]},
        },
        expect=REDIRECT,
    ),
    "POST batch-finalize discard": lambda w: Req(
        f"/batches/{w['batch'].pk}/finalize/", {"action": "discard", "keep": [str(w["batch_runs"][0].pk)]}, REDIRECT
    ),
    "POST run-form explore": lambda w: Req(
        "/workflows/campaign/run/",
        {
            "input_subject": "an owl",
            "explore": "1",
            "sweep_key_1": "background.guidance_scale",
            "sweep_values_1": "3, 7.5",
        },
        expect=REDIRECT,
    ),
    "POST run-again": lambda w: Req(f"/runs/{w['awaiting'].pk}/again/", {}, expect=REDIRECT),
    "POST run-retry": lambda w: Req(f"/runs/{w['failed'].pk}/retry/", {}, expect=REDIRECT),
    "POST run-discard": lambda w: Req(f"/runs/{w['awaiting'].pk}/discard/", {}, expect=REDIRECT),
    "POST record-action run-again": lambda w: Req(f"/records/{w['records'][1].pk}/run-again/", {}, expect=REDIRECT),
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
    "GET verify": lambda w: Req("/verify/"),
    "POST verify": lambda w: Req("/verify/", {"file": SimpleUploadedFile("fox.png", w["signed"])}, htmx=True),
    "POST api-provenance-verify": lambda w: Req(
        "/api/provenance/verify/", {"file": SimpleUploadedFile("fox.png", w["signed"])}, multipart=True
    ),
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
    "GET catalogue": lambda w: Req("/models/"),
    "GET model-snapshot": lambda w: Req("/models/local/plasma@2026-11-01/"),
    "GET model-snapshot default": lambda w: Req("/models/local/plasma@2026-06-15/?action=default"),
    "POST model-snapshot-action": lambda w: Req(
        "/models/local/plasma@2026-04-21/retire/", {"reason": "bad hands"}, expect=REDIRECT
    ),
    # API
    "POST api-token": lambda w: Req(
        "/api/auth/token/", {"username": "olivia-operator", "password": "pw-olivia-operator"}
    ),
    "GET api-models": lambda w: Req("/api/models/"),
    "POST api-models": lambda w: Req("/api/models/", {"family": "local/plasma", "snapshot": "2026-10-01"}, CREATED),
    "POST api-model-retire": lambda w: Req("/api/models/local/plasma@2026-04-21/retire/", {}),
    "GET api-model-impact": lambda w: Req("/api/models/local/plasma@2026-11-01/impact/"),
    "POST api-model-default": lambda w: Req("/api/models/local/plasma@2026-06-15/default/", {"reason": "back"}),
    "POST api-model-restore": lambda w: Req("/api/models/local/aurora@2026-01-05/restore/", {}),
    "POST api-model-capture": lambda w: Req("/api/models/local/plasma/capture/", {}, expect=(400,)),
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
    "POST api-draft-import-comfyui": lambda w: Req(
        "/api/workflows/campaign/drafts/import-comfyui/", {"graph": COMFY_GRAPH}, CREATED
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
    "POST api-version-promote": lambda w: Req(
        f"/api/workflows/campaign/versions/{w['public'].version}/promote/", {"evidence": str(w["evaluation"].pk)}
    ),
    "POST api-version-evaluate": lambda w: Req(
        f"/api/workflows/campaign/versions/{w['public'].version}/evaluate/",
        {"record": str(w["records"][0].pk)},
        expect=CREATED,
    ),
    "GET api-evaluation": lambda w: Req(f"/api/evaluations/{w['evaluation'].pk}/"),
    "GET api-version-diff": lambda w: Req(
        f"/api/workflows/campaign/versions/{w['internal'].version}/diff/?to={w['public'].version}"
    ),
    "POST api-contact-sheet-start": lambda w: Req(
        "/api/workflows/campaign/contact-sheet/", {"inputs": {"subject": "fox"}, "seed": 7}, expect=CREATED
    ),
    "GET api-contact-sheet": lambda w: Req(f"/api/contact-sheets/{w['sheet'].pk}/"),
    "GET api-contact-sheet-image": lambda w: Req(f"/api/contact-sheets/{w['sheet'].pk}/image.png"),
    "GET version-diff": lambda w: Req(
        f"/workflows/campaign/versions/{w['internal'].version}/diff/?to={w['public'].version}"
    ),
    "GET evaluation": lambda w: Req(f"/evaluations/{w['evaluation'].pk}/"),
    "GET evaluation live": lambda w: Req(f"/evaluations/{w['evaluation'].pk}/", htmx=True),
    "POST evaluation-start": lambda w: Req(
        f"/workflows/campaign/versions/{w['public'].version}/evaluate/",
        {"record": str(w["records"][0].pk)},
        expect=REDIRECT,
    ),
    "POST evaluation-promote": lambda w: Req(f"/evaluations/{w['evaluation'].pk}/promote/", {}, expect=REDIRECT),
    "POST contact-sheet-start": lambda w: Req(
        "/workflows/campaign/contact-sheet/", {"inputs": '{"subject": "fox"}', "seed": "7"}, expect=REDIRECT
    ),
    "GET contact-sheet": lambda w: Req(f"/contact-sheets/{w['sheet'].pk}/"),
    "GET contact-sheet live": lambda w: Req(f"/contact-sheets/{w['sheet'].pk}/", htmx=True),
    "GET contact-sheet-image": lambda w: Req(f"/contact-sheets/{w['sheet'].pk}/image.png"),
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
    "GET api-batches": lambda w: Req("/api/batches/"),
    "GET api-batches mine": lambda w: Req("/api/batches/?mine=true&workflow=campaign"),
    "POST api-batches": lambda w: Req(
        "/api/batches/", {"workflow": "campaign", "inputs": {"subject": "owl"}, "count": 4}, CREATED
    ),
    "POST api-batches sweep": lambda w: Req(
        "/api/batches/",
        {"workflow": "campaign", "inputs": {"subject": "owl"}, "sweep": {"background.guidance_scale": [3, 7.5, 12]}},
        CREATED,
    ),
    "GET api-batch": lambda w: Req(f"/api/batches/{w['batch'].pk}/"),
    "POST api-run-discard": lambda w: Req(f"/api/runs/{w['awaiting'].pk}/discard/", {}),
    "POST api-run-again": lambda w: Req(f"/api/runs/{w['awaiting'].pk}/run-again/", {}, CREATED),
    "POST api-run-retry": lambda w: Req(f"/api/runs/{w['failed'].pk}/retry/", {}, CREATED),
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
    templates.retire_model_snapshot(
        actor=admin_user,
        snapshot=templates.add_model_snapshot(actor=admin_user, family="local/aurora", snapshot="2026-01-05"),
    )
    awaiting = run_now(runs.start_run(actor=operator, workflow=base, inputs={"subject": "lynx"}))
    queued = runs.start_run(actor=operator, workflow=base, inputs={"subject": "stoat"})
    gated_workflow = make_workflow("storyboard", "Storyboard")
    publish(gated_workflow, {**small_definition(), "policy": {"gates": [{"after": "background"}]}})
    gated = run_now(runs.start_run(actor=operator, workflow=gated_workflow, inputs={"subject": "ibis"}))
    assert gated.awaits_gate
    draft = templates.save_draft(actor=operator, workflow=base, definition=small_definition(steps=16))
    runs.sign_record(record_id=records[0].pk)
    signed = VersionRecord.objects.for_detail().get(pk=records[0].pk).signed_outputs["hero"]["sha256"]
    batch = runs.start_batch(actor=manager, workflow=base, inputs={"subject": "wren"}, count=3)
    batch_runs = [run_now(r) for r in batch.runs.order_by("created_at", "id")]
    failed = runs.start_run(actor=manager, workflow=base, inputs={"subject": "vole"})
    transitions.fail_run(failed, "the model refused the prompt", "provider_error")
    evaluation = evidence_for(manager, public)
    sheet = runs.make_contact_sheet(actor=operator, base=base, inputs={"subject": "fox"}, seed=7)
    for cell in sheet.cells.select_related("run"):
        run_now(cell.run)
    sheet.refresh_from_db()
    assert sheet.is_done
    return {
        "signed": read_artifact(Artifact.objects.get(sha256=signed)),
        "batch": batch,
        "batch_runs": batch_runs,
        "failed": failed,
        "evaluation": evaluation,
        "sheet": sheet,
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
