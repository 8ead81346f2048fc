"""Portable record bundles (DESIGN §16, docs/bundles.md): a record exported as a zip on one
instance, imported on another with the same manifest hash and outputs, and reproduced there
`exact`; a bundle with anything wrong — one changed byte, a member escaping the bundle, a
duplicate, a member declaring 10 GB — refused with the member named and nothing written."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from typing import Any

import pytest
from django.contrib.auth.models import Group, User
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client

from runs_app import provenance, services
from runs_app.models import Artifact, ReproductionCheck, Run, RunStatus, SignedOutput, VersionRecord
from runs_app.storage import artifact_storage, read_artifact
from templates_app.models import PointerMove, Workflow, WorkflowVersion
from tests.conftest import client_for
from tests.helpers import (
    bundle_of,
    definition_with_overlay,
    finished_record,
    foreign_bundle,
    overlay_definition,
    png_bytes,
    rebundle,
    run_now,
    small_definition,
    wait_for,
    worker_env,
    zip_members,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def record(make_workflow, publish, operator):
    """A record whose run was given a reference image (kept in the bundle like the outputs)."""
    workflow = make_workflow()
    publish(workflow, small_definition())
    reference = services.upload_artifact(actor=operator, data=png_bytes().getvalue())
    return finished_record(operator, workflow, inputs={"subject": "a fox", "reference": reference.sha256})


def post_bundle(user: User | None, data: bytes) -> Any:
    upload = io.BytesIO(data)
    upload.name = "record.floniks.zip"
    return client_for(user).post("/api/bundles/", {"file": upload}, format="multipart")


def everything() -> dict[str, int]:
    """How many rows of each kind an import could write: a refusal leaves every count as it was."""
    return {
        model.__name__: model.objects.count()
        for model in (Workflow, WorkflowVersion, PointerMove, Run, VersionRecord, Artifact, ReproductionCheck)
    }


def stored_files() -> set[str]:
    storage = artifact_storage()
    found: set[str] = set()
    folders = ["artifacts"]
    while folders:
        folder = folders.pop()
        if not storage.exists(folder):
            continue
        subfolders, files = storage.listdir(folder)
        folders += [f"{folder}/{d}" for d in subfolders]
        found |= {f"{folder}/{f}" for f in files}
    return found


# --- export ------------------------------------------------------------------------------------


def test_a_bundle_holds_the_record_its_manifest_specification_and_every_image_with_their_sums(record, operator):
    response = client_for(operator).get(f"/api/records/{record.pk}/bundle/")
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    assert response["Content-Disposition"] == f'attachment; filename="campaign-a-{record.label}.floniks.zip"'
    data = b"".join(response.streaming_content)
    members = dict(zip_members(data))
    assert list(members)[-1] == "SHA256SUMS"
    lines = [line.split("  ", 1) for line in members["SHA256SUMS"].decode().splitlines()]
    sums = {name: sha for sha, name in lines}
    assert set(sums) == set(members) - {"SHA256SUMS"}
    assert all(hashlib.sha256(members[name]).hexdigest() == sha for name, sha in sums.items()), "sha256sum -c passes"

    version = record.version
    assert members["manifest.json"] == version.manifest.encode(), "the manifest bytes exactly as hashed"
    assert "sha256:" + hashlib.sha256(members["manifest.json"]).hexdigest() == record.manifest_hash
    assert "sha256:" + hashlib.sha256(members["specification.json"]).hexdigest() == record.spec_hash
    assert json.loads(members["specification.json"]) == record.run.specification

    images = {name.split("/")[1].split(".")[0] for name in members if name.startswith("artifacts/")}
    hero, reference = record.outputs["hero"]["sha256"], record.reference_images[0]["sha256"]
    background = record.run.steps.get(step_id="background").output.sha256
    assert images == {hero, reference, background}, "outputs, the intermediate step output and the reference"
    assert members[f"artifacts/{hero}.png"] == read_artifact(Artifact.objects.get(sha256=hero))

    document = json.loads(members["record.json"])
    assert document["format"] == "floniks-bundle/1"
    assert document["record"]["id"] == str(record.pk) and document["record"]["label"] == record.label
    assert document["record"]["seeds"] == record.seeds and document["record"]["annotated_by"] == "olivia-operator"
    assert document["record"]["signed_outputs"] == {}, "no signed copies on this instance yet"


def test_the_bundle_streams_in_chunks_of_bounded_size(record, monkeypatch):
    """Artifacts go out a storage chunk at a time: no piece of the answer holds a whole image."""
    from runs_app import bundles

    monkeypatch.setattr(bundles, "CHUNK", 1024)
    hero = Artifact.objects.get(sha256=record.outputs["hero"]["sha256"])
    assert hero.size > 4 * 1024, "an output larger than a few chunks"
    pieces = list(bundles.stream_bundle(bundles.export_plan(record)))
    assert max(len(p) for p in pieces) < 4 * 1024
    members = dict(zip_members(b"".join(pieces)))
    assert members[f"artifacts/{hero.sha256}.png"] == read_artifact(hero)


def test_the_record_page_downloads_the_bundle_and_all_outputs_as_one_zip(record, operator):
    browser = Client()
    browser.force_login(operator)
    page = browser.get(f"/records/{record.pk}/").content.decode()
    assert f'href="/api/records/{record.pk}/bundle/"' in page
    assert f'href="/records/{record.pk}/outputs.zip"' in page
    response = browser.get(f"/records/{record.pk}/outputs.zip")
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    members = dict(zip_members(b"".join(response.streaming_content)))
    assert hashlib.sha256(members["hero.png"]).hexdigest() == record.outputs["hero"]["sha256"]
    assert set(members) == {"hero.png", "SHA256SUMS"}
    # The page's link works with the session: the API answers the browser too.
    assert browser.get(f"/api/records/{record.pk}/bundle/").status_code == 200


def test_only_the_team_downloads_bundles(record, outsider):
    assert client_for(None).get(f"/api/records/{record.pk}/bundle/").status_code == 401
    assert client_for(outsider).get(f"/api/records/{record.pk}/bundle/").status_code == 403
    assert client_for(None).get(f"/records/{record.pk}/outputs.zip").status_code == 302


# --- import: what is written ----------------------------------------------------------------------


def test_a_bundle_from_another_instance_imports_with_its_hashes_and_outputs(record, admin_user, operator):
    data = foreign_bundle(bundle_of(record))
    original = json.loads(dict(zip_members(data))["record.json"])["record"]
    response = post_bundle(admin_user, data)
    assert response.status_code == 201, response.content
    answer = response.json()
    imported = VersionRecord.objects.get(pk=answer["id"])
    assert answer["workflow"] == "campaign-elsewhere" and answer["number"] == 1
    assert answer["manifest_hash"] == record.manifest_hash and answer["spec_hash"] == record.spec_hash
    assert answer["outputs"]["hero"]["sha256"] == record.outputs["hero"]["sha256"]
    assert answer["seeds"] == record.seeds and answer["annotation"] == record.annotation
    assert answer["imported_from"]["instance"] == "studio-b.example"
    assert answer["imported_from"]["record_id"] == original["id"] and answer["imported_from"]["label"] == record.label
    assert answer["imported_from"]["annotated_by"] == "olivia-operator"
    assert client_for(admin_user).get(f"/api/records/{record.pk}/").json()["imported_from"] is None
    assert imported.is_imported and imported.origin_instance == "studio-b.example"
    assert str(imported.origin_record_id) == original["id"] and imported.origin["label"] == record.label
    assert imported.label == f"v1-{record.label.split('-', 1)[1]}", "numbered here, the original's words kept"
    assert imported.run.status == RunStatus.FINALIZED and imported.run.spec_hash == record.spec_hash
    workflow = Workflow.objects.get(slug="campaign-elsewhere")
    assert workflow.canonical_version.manifest_hash == record.manifest_hash
    assert workflow.canonical_version.version == record.version.version
    browser = Client()
    browser.force_login(operator)
    page = browser.get(f"/records/{imported.pk}/").content.decode()
    assert 'data-testid="imported-from"' in page and "studio-b.example" in page
    assert "olivia-operator on studio-b.example" in page, "the annotation keeps its author"


def test_a_bundle_imported_twice_or_on_its_own_instance_is_a_conflict(record, admin_user):
    data = bundle_of(record)
    here = post_bundle(admin_user, data)
    assert here.status_code == 409 and here.json()["code"] == "record_exists"
    foreign = foreign_bundle(data)
    assert post_bundle(admin_user, foreign).status_code == 201
    before = everything()
    again = post_bundle(admin_user, foreign)
    assert again.status_code == 409 and again.json()["code"] == "already_imported"
    assert everything() == before


def test_a_version_string_taken_by_another_manifest_is_a_conflict(record, admin_user, make_workflow, publish):
    other = make_workflow("campaign-elsewhere", "Elsewhere")
    taken = publish(other, small_definition(steps=20))
    assert taken.version == record.version.version and taken.manifest_hash != record.manifest_hash
    before = everything()
    response = post_bundle(admin_user, foreign_bundle(bundle_of(record)))
    assert response.status_code == 409 and response.json()["code"] == "version_conflict"
    assert everything() == before


@pytest.mark.parametrize("persona", ["anonymous", "outsider", "operator", "manager"])
def test_only_admins_import_bundles(record, personas, persona):
    data = foreign_bundle(bundle_of(record))
    response = post_bundle(personas[persona], data)
    assert response.status_code == (401 if persona == "anonymous" else 403)
    assert not Workflow.objects.filter(slug="campaign-elsewhere").exists()


def test_the_import_command_imports_a_file_and_names_what_is_wrong(record, admin_user, tmp_path):
    good = tmp_path / "good.zip"
    good.write_bytes(foreign_bundle(bundle_of(record)))
    out = io.StringIO()
    call_command("import_bundle", str(good), "--as", admin_user.username, stdout=out)
    assert "Imported" in out.getvalue() and Workflow.objects.filter(slug="campaign-elsewhere").exists()
    bad = tmp_path / "bad.zip"
    data = foreign_bundle(bundle_of(record), slug="campaign-third")
    bad.write_bytes(rebundle(data, replace={"manifest.json": b"{}"}, resum=False))
    with pytest.raises(CommandError, match=r"hash_mismatch: manifest\.json"):
        call_command("import_bundle", str(bad), "--as", admin_user.username)
    assert not Workflow.objects.filter(slug="campaign-third").exists()


# --- import: what is refused, writing nothing ---------------------------------------------------


def changed_byte(data: bytes, member: str) -> bytes:
    """One byte of a member changed, SHA256SUMS left as it was."""
    body = dict(zip_members(data))[member]
    at = len(body) // 2
    return rebundle(data, replace={member: body[:at] + bytes([body[at] ^ 0x01]) + body[at + 1 :]}, resum=False)


def assert_refused(admin_user: User, data: bytes, code: str, member: str) -> None:
    before, files = everything(), stored_files()
    response = post_bundle(admin_user, data)
    assert response.status_code == 400, response.content
    problem = response.json()["errors"][0]
    assert (problem["code"], problem["path"]) == (code, member), problem
    assert member in problem["message"]
    assert everything() == before and stored_files() == files, "nothing written"
    assert not Workflow.objects.filter(slug="campaign-elsewhere").exists()


@pytest.mark.parametrize("which", ["output", "reference", "manifest.json", "specification.json", "record.json"])
def test_one_changed_byte_refuses_the_bundle_naming_the_member(record, admin_user, which):
    data = foreign_bundle(bundle_of(record))
    member = {
        "output": f"artifacts/{record.outputs['hero']['sha256']}.png",
        "reference": f"artifacts/{record.reference_images[0]['sha256']}.png",
    }.get(which, which)
    assert_refused(admin_user, changed_byte(data, member), "hash_mismatch", member)


def test_one_changed_byte_in_the_zip_itself_names_the_member(record, admin_user):
    """A byte flipped in the compressed data of a member: its CRC fails as it is read."""
    data = foreign_bundle(bundle_of(record))
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        info = z.getinfo("specification.json")
    start = info.header_offset + 30 + len(info.orig_filename.encode()) + len(info.extra)
    flipped = bytearray(data)
    flipped[start + info.compress_size // 2] ^= 0xFF
    assert_refused(admin_user, bytes(flipped), "corrupt_member", "specification.json")


def test_a_record_that_names_other_hashes_than_its_members_is_refused_even_with_good_sums(record, admin_user):
    """SHA256SUMS recomputed over a changed manifest: the sums agree, the record's manifest hash does not."""
    data = foreign_bundle(bundle_of(record))
    forged = rebundle(data, replace={"manifest.json": b'{"steps":[]}'})
    assert_refused(admin_user, forged, "hash_mismatch", "manifest.json")
    hero = f"artifacts/{record.outputs['hero']['sha256']}.png"
    swapped = rebundle(data, replace={hero: png_bytes(colour=(1, 2, 3)).getvalue()})
    assert_refused(admin_user, swapped, "hash_mismatch", hero)


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("../x", "unsafe_member_name"),
        ("artifacts/../../x", "unsafe_member_name"),
        ("/etc/x", "unsafe_member_name"),
        ("C:/x", "unsafe_member_name"),
        ("manifest.json", "duplicate_member"),
    ],
)
def test_members_escaping_the_bundle_or_named_twice_are_refused(record, admin_user, name, code):
    data = foreign_bundle(bundle_of(record))
    assert_refused(admin_user, rebundle(data, add=[(name, b"x")]), code, name)


def test_a_member_declaring_10_gb_is_refused_before_anything_is_read(record, admin_user):
    members = zip_members(foreign_bundle(bundle_of(record)))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        for name, body in members:
            z.writestr(name, body)
        z.writestr("artifacts/huge.bin", b"0" * 100)
        z.filelist[-1].file_size = 10 * 1024**3  # the central directory now declares 10 GB (zip64)
    with zipfile.ZipFile(io.BytesIO(out.getvalue())) as check:
        assert check.getinfo("artifacts/huge.bin").file_size == 10 * 1024**3
    assert_refused(admin_user, out.getvalue(), "member_too_large", "artifacts/huge.bin")


def test_a_zip_bomb_is_refused_whatever_its_header_declares(record, admin_user, settings):
    settings.FLONIKS_BUNDLE_MAX_MEMBER_BYTES = 1024 * 1024
    data = foreign_bundle(bundle_of(record))
    bomb = b"\0" * (8 * 1024 * 1024)  # 8 MiB of zeros deflate to ~8 KiB
    honest = rebundle(data, add=[("artifacts/bomb.bin", bomb)])
    assert_refused(admin_user, honest, "member_too_large", "artifacts/bomb.bin")
    # The same member whose header lies, declaring 100 bytes: reading stops there and fails its check.
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name, body in zip_members(honest):
            z.writestr(name, body)
        next(i for i in z.filelist if i.filename == "artifacts/bomb.bin").file_size = 100
    assert_refused(admin_user, out.getvalue(), "corrupt_member", "artifacts/bomb.bin")


def test_anything_but_a_bundle_is_refused(admin_user, record):
    assert_refused(admin_user, png_bytes().getvalue(), "not_a_bundle", "file")
    unlisted = rebundle(foreign_bundle(bundle_of(record)), add=[("notes.txt", b"hi")], resum=False)
    assert_refused(admin_user, unlisted, "unlisted_member", "notes.txt")
    response = client_for(admin_user).post("/api/bundles/", {}, format="multipart")
    assert response.status_code == 400 and response.json()["code"] == "file_required"


# --- between two databases, reproduced on a real worker ------------------------------------------


def fresh_instance() -> None:
    """What a second instance has: the database emptied (as `manage.py flush` does) and reseeded by
    its migrations, and no stored files."""
    import importlib

    from django.apps import apps

    storage = artifact_storage()
    for name in stored_files():
        storage.delete(name)
    call_command("flush", interactive=False, verbosity=0)
    for seeding in ("0002_seed_catalogue_and_roles", "0007_realesrgan_families"):
        importlib.import_module(f"templates_app.migrations.{seeding}").seed(apps, None)


@pytest.mark.django_db(transaction=True)
@pytest.mark.worker
def test_a_round_trip_between_two_databases_reproduces_exact(make_workflow, publish, operator, start_worker):
    workflow = make_workflow()
    publish(workflow, small_definition())
    reference = services.upload_artifact(actor=operator, data=png_bytes().getvalue())
    record = finished_record(operator, workflow, inputs={"subject": "a fox", "reference": reference.sha256})
    data = bundle_of(record)
    exported = {
        "id": str(record.pk),
        "manifest_hash": record.manifest_hash,
        "spec_hash": record.spec_hash,
        "outputs": record.outputs,
        "references": record.reference_images,
    }

    fresh_instance()
    assert not VersionRecord.objects.exists() and not Workflow.objects.exists() and not stored_files()
    admin = User.objects.create_user(username="ines-importer", password="pw-ines")
    admin.groups.add(Group.objects.get(name="admin"))
    response = post_bundle(admin, data)
    assert response.status_code == 201, response.content
    imported = VersionRecord.objects.get(pk=response.json()["id"])
    assert imported.manifest_hash == exported["manifest_hash"] and imported.spec_hash == exported["spec_hash"]
    assert imported.version.manifest_hash == exported["manifest_hash"], "the same version, byte for byte"
    assert {n: o["sha256"] for n, o in imported.outputs.items()} == {
        n: o["sha256"] for n, o in exported["outputs"].items()
    }
    for sha in [o["sha256"] for o in imported.outputs.values()] + [r["sha256"] for r in imported.reference_images]:
        assert hashlib.sha256(read_artifact(Artifact.objects.get(sha256=sha))).hexdigest() == sha
    assert imported.number == 1 and str(imported.origin_record_id) == exported["id"]

    start_worker(env=worker_env())
    started = client_for(admin).post(f"/api/records/{imported.pk}/reproduce/", {}, format="json")
    assert started.status_code == 202, started.content
    check = wait_for(
        lambda: ReproductionCheck.objects.filter(record=imported).exclude(verdict="pending").first(),
        120,
        what="the reproduction's verdict",
    )
    assert check.verdict == "exact", (check.verdict, check.scores, check.note)
    assert set(check.scores) == set(exported["outputs"])
    assert all(score["identical"] and score["ssim"] == 1.0 for score in check.scores.values())


def test_a_malformed_record_in_good_sums_is_refused(record, admin_user):
    """record.json is checked like every member: a record id that is no id is a 400, not a crash."""

    def broken(document: dict[str, Any]) -> None:
        document["record"]["id"] = "not-a-record"

    data = rebundle(foreign_bundle(bundle_of(record)), edit=broken)
    assert_refused(admin_user, data, "invalid_member", "record.json")


@pytest.mark.django_db(transaction=True)
def test_a_record_that_ran_a_sub_workflow_brings_its_version_along(make_workflow, publish, operator):
    overlay = make_workflow("brand-overlay", "Brand overlay")
    overlay_version = publish(overlay, overlay_definition())
    campaign = make_workflow()
    publish(campaign, definition_with_overlay())
    record = finished_record(operator, campaign)
    data = bundle_of(record)
    assert f"manifests/{overlay_version.manifest_hash.removeprefix('sha256:')}.json" in dict(zip_members(data))
    outputs = {n: o["sha256"] for n, o in record.outputs.items()}

    fresh_instance()
    admin = User.objects.create_user(username="ines-importer", password="pw-ines")
    admin.groups.add(Group.objects.get(name="admin"))
    response = post_bundle(admin, data)
    assert response.status_code == 201, response.content
    imported = VersionRecord.objects.get(pk=response.json()["id"])
    brought = WorkflowVersion.objects.get(workflow__slug="brand-overlay")
    assert (brought.version, brought.manifest_hash) == (overlay_version.version, overlay_version.manifest_hash)
    assert {n: o["sha256"] for n, o in imported.outputs.items()} == outputs
    run = run_now(services.reproduce_record(actor=admin, record=imported))
    assert ReproductionCheck.objects.get(run=run).verdict == "exact"


@pytest.mark.django_db(transaction=True)
def test_a_signed_record_imports_with_its_signed_copies_and_is_not_signed_again(make_workflow, publish, operator):
    workflow = make_workflow()
    publish(workflow, small_definition())
    record = finished_record(operator, workflow, inputs={"subject": "a fox"})
    assert services.sign_record(record_id=record.pk) == len(record.outputs)
    exported = client_for(operator).get(f"/api/records/{record.pk}/").json()["signed_outputs"]
    signers = dict(SignedOutput.objects.filter(record=record).values_list("name", "signer"))
    assert exported and set(exported) == set(record.outputs) and all(signers.values())
    data = bundle_of(record)

    fresh_instance()
    admin = User.objects.create_user(username="ines-importer", password="pw-ines")
    admin.groups.add(Group.objects.get(name="admin"))
    response = post_bundle(admin, data)
    assert response.status_code == 201, response.content
    answer = client_for(admin).get(f"/api/records/{response.json()['id']}/").json()
    assert {n: c["sha256"] for n, c in answer["signed_outputs"].items()} == {
        n: c["sha256"] for n, c in exported.items()
    }
    imported = VersionRecord.objects.get(pk=answer["id"])
    browser = Client()
    browser.force_login(admin)
    page = browser.get(f"/records/{imported.pk}/").content.decode()
    assert 'data-testid="signed-hero"' in page and 'data-testid="signing-pending"' not in page
    assert dict(SignedOutput.objects.filter(record=imported).values_list("name", "signer")) == signers
    for copy in answer["signed_outputs"].values():
        artifact = Artifact.objects.get(sha256=copy["sha256"])
        assert artifact.kind == Artifact.Kind.SIGNED
        assert hashlib.sha256(read_artifact(artifact)).hexdigest() == copy["sha256"]
    assert not provenance.unsigned_records().filter(pk=imported.pk).exists(), "the sweep leaves it as it came"
    assert services.sign_record(record_id=imported.pk) == 0


def test_a_record_imported_without_signed_copies_is_signed_here(record, admin_user):
    response = post_bundle(admin_user, foreign_bundle(bundle_of(record)))
    assert response.status_code == 201, response.content
    imported = VersionRecord.objects.get(pk=response.json()["id"])
    assert imported.signing_pending and provenance.unsigned_records().filter(pk=imported.pk).exists()
    assert services.sign_record(record_id=imported.pk) == len(imported.outputs)
    answer = client_for(admin_user).get(f"/api/records/{imported.pk}/").json()
    assert set(answer["signed_outputs"]) == set(imported.outputs)
