"""A record's outputs signed (C2PA, runs_app.signing) and any file's provenance checked.

Signing runs on a worker after the record is written (runs_app.services.sign_record, enqueued on
commit), never inside the record's write: a signing failure leaves the record whole and "signing
pending", and the sweep signs it later. Each signed copy is its own content-addressed artifact
(kind `signed`), linked from the record by a SignedOutput row; the original output is never touched."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import Exists, OuterRef

from core.errors import Problem, ValidationFailed
from core.roles import Role, role_of
from runs_app import signing
from runs_app.models import Artifact, PendingSignature, RunStatus, SignedOutput, VersionRecord
from runs_app.persistence import read_bytes
from runs_app.storage import MAX_UPLOAD_BYTES, MAX_UPLOAD_PIXELS, store_file


def record_claim(record: VersionRecord, output: str) -> dict[str, Any]:
    """The `com.floniks.record` assertion of one output of `record`."""
    return {
        "id": str(record.pk),
        "number": record.number,
        "label": record.label,
        "workflow": record.workflow.slug,
        "version": record.version.version,
        "manifest_hash": record.manifest_hash,
        "spec_hash": record.spec_hash,
        "seeds": record.seeds,
        "models": record.step_models,
        "output": output,
    }


def unsigned_records() -> Any:
    """Finalised records none of whose outputs has a signed copy yet ("signing pending"), newest
    first, so that a record that can never be signed does not hold back the ones after it.

    A record's copies are linked all at once (sign_outputs): it has all of them or none."""
    pending = PendingSignature.objects.filter(record=OuterRef("pk"))
    return VersionRecord.objects.filter(Exists(pending), run__status=RunStatus.FINALIZED).order_by("-created_at")


def settle_pending(record: VersionRecord, *, copies: int | None = None) -> None:
    """The record no longer waits to be signed once every output has its copy (linked here, or
    brought along by a bundle); `copies` when the caller knows how many it has."""
    if copies is None:
        copies = SignedOutput.objects.filter(record=record).count()
    if copies >= len(record.outputs):
        PendingSignature.objects.filter(record=record).delete()


def records_to_sign() -> Any:
    """Records with what signing reads of them, and no more (not the version's definition)."""
    return VersionRecord.objects.select_related("workflow", "version").only(
        "pk",
        "number",
        "label",
        "manifest_hash",
        "spec_hash",
        "seeds",
        "step_models",
        "outputs",
        "reference_images",
        "workflow__slug",
        "version__version",
    )


def sign_outputs(record: VersionRecord) -> int:
    """Sign every output of `record` that has no signed copy yet; how many were signed.

    Raises signing.SigningUnavailable when the certificate or key cannot be used (nothing is
    written then; the record stays pending)."""
    done = set(SignedOutput.objects.filter(record=record).values_list("name", flat=True))
    wanted = {name: out for name, out in record.outputs.items() if name not in done}
    if not wanted:
        settle_pending(record)
        return 0
    signer, who = signing.signer(), signing.signer_subject()
    references = [r["sha256"] for r in record.reference_images]
    # The outputs and the reference images in one query.
    read = {
        a.sha256: a for a in Artifact.objects.filter(sha256__in=[o["sha256"] for o in wanted.values()] + references)
    }
    originals = {o["sha256"]: read[o["sha256"]] for o in wanted.values()}
    ingredients = [
        signing.Ingredient(read_bytes(read[sha]), read[sha].media_type, f"reference {sha[:12]}") for sha in references
    ]
    rows = []
    try:
        for name, out in wanted.items():
            original = originals[out["sha256"]]
            extension = original.storage_key.rsplit(".", 1)[-1]
            definition = signing.manifest(
                title=f"{record.file_stem(name)}.{extension}",
                media_type=original.media_type,
                record=record_claim(record, name),
            )
            data = signing.sign(read_bytes(original), original.media_type, definition, ingredients, signer)
            copy = store_file(
                data,
                media_type=original.media_type,
                extension=extension,
                width=original.width,
                height=original.height,
                frames=original.frames,
                kind=Artifact.Kind.SIGNED,
                thumbnail=False,  # pages show the original's preview; the copy is for downloading
            )
            rows.append(SignedOutput(record=record, name=name, original=original, artifact_id=copy.sha256, signer=who))
    finally:
        signer.close()
    # All of a record's copies are linked in one statement: a record has every copy or none, so the
    # sweep (which looks for records with none) never leaves one half signed. A concurrent signer
    # of the same record that got there first keeps its copies.
    with transaction.atomic():
        SignedOutput.objects.bulk_create(rows, ignore_conflicts=True)
        settle_pending(record)
    return len(rows)


EXPLAINED = {
    "trusted": "Signed by a trusted signer, and unchanged since it was signed.",
    "valid": "Unchanged since it was signed, but the signer is not one this Floniks trusts.",
    "invalid": "It carries a signature that no longer matches: the file was changed after it was signed.",
    "none": "No C2PA provenance was found in this file.",
}


@dataclass(frozen=True)
class Verified:
    state: str
    signer: str | None
    record: VersionRecord | None
    manifest_hash: str | None
    spec_hash: str | None
    detail: str

    # What the page says of each state (templates ask these, never compare state strings).
    @property
    def explanation(self) -> str:
        return EXPLAINED[self.state]

    @property
    def is_trusted(self) -> bool:
        return self.state == "trusted"

    @property
    def is_intact(self) -> bool:
        return self.state in ("trusted", "valid")

    @property
    def is_tampered(self) -> bool:
        return self.state == "invalid"


def verify_file(data: bytes, *, user: Any) -> Verified:
    """What a file's provenance says, and its record when `user` may see it.

    Raises signing.UnreadableFile for a file that is not a picture verification reads. The record
    is named only for a `trusted` file: a manifest by an unknown signer may claim any record id."""
    media_type = signing.sniff(data, MAX_UPLOAD_PIXELS)
    found = signing.verify(data, media_type, signing.trust_anchors())
    record = None
    record_id = _uuid_or_none(found.record.get("id"))
    if found.state == "trusted" and record_id and role_of(user) >= Role.OPERATOR:
        record = (
            VersionRecord.objects.visible_to(user)
            .select_related("workflow", "version")
            .only("pk", "label", "number", "workflow__slug", "version__version")
            .filter(pk=record_id)
            .first()
        )
    intact = found.state in ("trusted", "valid")
    return Verified(
        state=found.state,
        signer=found.signer,
        record=record,
        manifest_hash=_text(found.record.get("manifest_hash")) if intact else None,
        spec_hash=_text(found.record.get("spec_hash")) if intact else None,
        detail=found.detail,
    )


def _uuid_or_none(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    try:
        return str(uuid.UUID(value))
    except ValueError:
        return None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def verify_upload(data: bytes, user: Any) -> Verified:
    """verify_file for uploaded bytes: too large, or not a picture verification reads, is a 400."""
    if len(data) > MAX_UPLOAD_BYTES:
        raise ValidationFailed(
            [Problem("file_too_large", "file", f"The file is over the limit of {MAX_UPLOAD_BYTES} bytes.")]
        )
    try:
        return verify_file(data, user=user)
    except signing.UnreadableFile as exc:
        raise ValidationFailed([Problem(exc.code, "file", exc.message)]) from None
