"""Portable record bundles (DESIGN §16, docs/bundles.md): a version record as one zip file.

Members, all named by what they hold:

    record.json              the record, its workflow and versions, its run's steps, its artifacts
    manifest.json            the record's version's manifest: the bytes exactly as hashed
    manifests/<hex>.json     the manifest of every sub-workflow version the record ran
    specification.json       the run's frozen specification, RFC 8785 bytes (their hash is spec_hash)
    artifacts/<sha256>.<ext> every output, intermediate step output and reference image
    signed/<sha256>.<ext>    C2PA-signed copies of the outputs, when the record has any
    SHA256SUMS               `<hex>  <member>` for every other member (`sha256sum -c` reads it)

Export streams: the zip is written member by member into a small buffer that is handed to the
response as it fills, and artifacts are read from storage a chunk at a time, so memory stays
bounded whatever the record holds. All database reads happen before the first byte goes out.

Import trusts nothing before it is checked: `read_bundle` refuses unsafe member names, duplicates,
oversized members (declared sizes first, then real ones while reading, never past a cap), and any
member whose sha256 differs from SHA256SUMS, or whose content does not match the record (manifest
and specification hashes, content-addressed artifact names, readable images) — before anything
is written. `runs_app.services.import_bundle` writes what it returns."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import re
import stat
import uuid
import warnings
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO, Any

from django.conf import settings
from django.db.models import prefetch_related_objects
from django.utils import timezone
from PIL import Image, UnidentifiedImageError

from core.errors import Problem, ValidationFailed
from core.jsonsafe import loads
from runs_app.models import Artifact, Run, SignedOutput, VersionRecord, steps_in_order
from runs_app.storage import artifact_storage
from templates_app.manifest import canonical_bytes, content_hash
from templates_app.models import Mode, WorkflowVersion
from templates_app.services import PortableVersion

FORMAT = "floniks-bundle/1"
RECORD = "record.json"
MANIFEST = "manifest.json"
SPECIFICATION = "specification.json"
SUMS = "SHA256SUMS"
CHUNK = 1024 * 1024
# JSON members are parsed whole: none needs more (a definition is capped at 256 KiB).
MAX_JSON_BYTES = 16 * 1024 * 1024
MAX_SUMS_BYTES = 1024 * 1024
# Member names Floniks writes: lowercase paths of letters, digits, dots, dashes and underscores.
MEMBER_NAME = re.compile(r"^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$")
SUMS_LINE = re.compile(r"^([0-9a-f]{64}) [ *](.+)$")
SHA_MEMBER = re.compile(r"^(artifacts|signed)/([0-9a-f]{64})\.([a-z0-9]{1,8})$")
MEDIA_TYPES = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp", "GIF": "image/gif"}


def file_name(record: VersionRecord) -> str:
    return f"{record.workflow.slug}-{record.label}.floniks.zip"


def outputs_file_name(record: VersionRecord) -> str:
    return f"{record.workflow.slug}-{record.label}-outputs.zip"


# --- export --------------------------------------------------------------------------------


@dataclass
class ExportPlan:
    """Everything a bundle holds, read from the database before streaming starts."""

    document: dict[str, Any]
    manifest: bytes
    specification: bytes
    sub_manifests: dict[str, bytes]  # member name → bytes
    artifacts: dict[str, str]  # member name → storage key
    signed: dict[str, str] = field(default_factory=dict)  # member name → storage key


def _member(artifact: Artifact, folder: str = "artifacts") -> str:
    extension = artifact.storage_key.rsplit(".", 1)[-1] if "." in artifact.storage_key else "bin"
    return f"{folder}/{artifact.sha256}.{extension}"


def _portable_version(version: WorkflowVersion, member: str) -> dict[str, Any]:
    return {
        "workflow": version.workflow.slug,
        "name": version.workflow.name,
        "description": version.workflow.description,
        "version": version.version,
        "manifest_hash": version.manifest_hash,
        "manifest": member,
        "channel": version.channel,
        "bump": version.bump,
        "message": version.message,
        "published_at": version.published_at.isoformat(),
        "published_by": version.published_by.get_username(),
    }


def signed_copies(record: VersionRecord) -> dict[str, SignedOutput]:
    """Each output name → its C2PA-signed copy (DESIGN §13), with the copy's artifact: what goes in
    the bundle's `signed/` folder and `record.json` `signed_outputs` (sha256, media type, signer)."""
    copies = SignedOutput.objects.filter(record=record).select_related("artifact")
    return {c.name: c for c in sorted(copies, key=lambda c: c.name) if c.name in record.outputs}


def export_plan(record: VersionRecord) -> ExportPlan:
    """Read all a bundle of `record` needs: its version and sub-workflow versions, its run's
    specification and steps, and the artifacts (outputs, every step's output, references)."""
    run = Run.objects.only("id", "specification", "spec_hash", "created_at").get(pk=record.run_id)
    prefetch_related_objects([run], steps_in_order())
    steps = list(run.steps.all())
    version = WorkflowVersion.objects.select_related("workflow", "published_by").get(pk=record.version_id)
    subs = record.subworkflows or {}
    sub_versions = {
        (v.workflow.slug, v.version): v
        for v in WorkflowVersion.objects.select_related("workflow", "published_by").filter(
            manifest_hash__in=[s["manifest_hash"] for s in subs.values()],
            workflow__slug__in=[s["workflow"] for s in subs.values()],
        )
    }
    wanted = {o["sha256"] for o in record.outputs.values()} | {r["sha256"] for r in record.reference_images}
    made = {s.output.sha256: s.output for s in steps if s.output is not None}
    rest = {a.sha256: a for a in Artifact.objects.filter(sha256__in=wanted - set(made))}
    artifacts = {**made, **rest}
    signed = signed_copies(record)
    versions = [_portable_version(version, MANIFEST)]
    sub_manifests: dict[str, bytes] = {}
    for sub in subs.values():
        found = sub_versions.get((sub["workflow"], sub["version"]))
        if found is None or found.manifest_hash != sub["manifest_hash"]:
            continue  # cannot happen while versions are immutable; the import then names what is missing
        member = f"manifests/{found.manifest_hash.removeprefix('sha256:')}.json"
        if member not in sub_manifests:
            sub_manifests[member] = found.manifest.encode()
            versions.append(_portable_version(found, member))
    document = {
        "format": FORMAT,
        "exported_at": timezone.now().isoformat(),
        "instance": settings.FLONIKS_INSTANCE_NAME,
        "record": {
            "id": str(record.pk),
            "number": record.number,
            "label": record.label,
            "workflow": version.workflow.slug,
            "version": version.version,
            "manifest_hash": record.manifest_hash,
            "spec_hash": record.spec_hash,
            "mode": record.mode,
            "run_at": record.run_at.isoformat(),
            "created_at": record.created_at.isoformat(),
            "inputs": record.inputs,
            "parameters": record.parameters,
            "seeds": record.seeds,
            "models": record.step_models,
            "subworkflows": subs,
            "reference_images": record.reference_images,
            "outputs": record.outputs,
            "signed_outputs": {
                name: {"sha256": c.artifact.sha256, "media_type": c.artifact.media_type, "signer": c.signer}
                for name, c in signed.items()
            },
            "gates": record.gates,
            "annotation": record.annotation,
            "saved_without_annotation": record.saved_without_annotation,
            "annotated_by": record.annotated_by.get_username(),
            "approved_by": record.approved_by.get_username() if record.approved_by else None,
            "approved_at": record.approved_at.isoformat() if record.approved_at else None,
            "legacy_required": record.legacy_required,
            # A record imported here and exported again keeps the trail of where it was made.
            "origin": {"instance": record.origin_instance, "record_id": str(record.origin_record_id), **record.origin}
            if record.is_imported
            else None,
        },
        "versions": versions,
        "steps": [
            {
                "id": s.step_id,
                "kind": s.kind,
                "model": s.model,
                "seed": s.seed,
                "params": s.params,
                "status": s.status,
                "output": s.output.sha256 if s.output else None,
                "provider": s.provider,
                "fingerprint": s.fingerprint,
                "submitted": s.submitted,
            }
            for s in steps
        ],
        "artifacts": {
            sha: {
                "member": _member(a),
                "media_type": a.media_type,
                "width": a.width,
                "height": a.height,
                "frames": a.frames,
                "kind": a.kind,
            }
            for sha, a in sorted(artifacts.items())
        },
    }
    return ExportPlan(
        document=document,
        manifest=version.manifest.encode(),
        specification=canonical_bytes(run.specification),
        sub_manifests=sub_manifests,
        artifacts={_member(a): a.storage_key for a in artifacts.values()},
        signed={_member(c.artifact, "signed"): c.artifact.storage_key for c in signed.values()},
    )


class _Sink(io.RawIOBase):
    """A write-only, unseekable file that keeps what was written until it is taken: zipfile
    writes each member's sizes after its data (a data descriptor) instead of seeking back."""

    def __init__(self) -> None:
        self._chunks: list[bytes] = []
        self._offset = 0

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        chunk = bytes(data)
        self._chunks.append(chunk)
        self._offset += len(chunk)
        return len(chunk)

    def tell(self) -> int:
        return self._offset

    def take(self) -> bytes:
        data = b"".join(self._chunks)
        self._chunks.clear()
        return data


class _Writer:
    """Zip members written one at a time, each hashed as it goes into the zip."""

    def __init__(self) -> None:
        self.sink = _Sink()
        self.zip = zipfile.ZipFile(self.sink, "w")
        self.sums: list[tuple[str, str]] = []

    def _info(self, name: str, *, compress: bool) -> zipfile.ZipInfo:
        info = zipfile.ZipInfo(name, date_time=timezone.now().timetuple()[:6])
        # Pictures are compressed already: storing them costs no CPU and no space.
        info.compress_type = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
        info.external_attr = 0o644 << 16
        return info

    def small(self, name: str, data: bytes) -> bytes:
        self.zip.writestr(self._info(name, compress=True), data)
        self.sums.append((hashlib.sha256(data).hexdigest(), name))
        return self.sink.take()

    def stream(self, name: str, chunks: Iterator[bytes]) -> Iterator[bytes]:
        digest = hashlib.sha256()
        with self.zip.open(self._info(name, compress=False), "w") as member:
            for chunk in chunks:
                digest.update(chunk)
                member.write(chunk)
                yield self.sink.take()
        self.sums.append((digest.hexdigest(), name))
        yield self.sink.take()

    def finish(self) -> bytes:
        listing = "".join(f"{sha}  {name}\n" for sha, name in self.sums)
        self.zip.writestr(self._info(SUMS, compress=True), listing.encode())
        self.zip.close()
        return self.sink.take()


def _chunks_of(key: str) -> Iterator[bytes]:
    with artifact_storage().open(key, "rb") as f:
        while chunk := f.read(CHUNK):
            yield chunk


def stream_bundle(plan: ExportPlan) -> Iterator[bytes]:
    """The bundle's bytes, a member (or a chunk of one) at a time; reads storage, never the database."""
    writer = _Writer()
    yield writer.small(RECORD, json.dumps(plan.document, indent=2, sort_keys=True).encode())
    yield writer.small(MANIFEST, plan.manifest)
    yield writer.small(SPECIFICATION, plan.specification)
    for name, data in sorted(plan.sub_manifests.items()):
        yield writer.small(name, data)
    for name, key in sorted(plan.artifacts.items()):
        yield from writer.stream(name, _chunks_of(key))
    # SIGNED COPIES: C2PA-signed output copies go in signed/, hashed and listed like the rest.
    for name, key in sorted(plan.signed.items()):
        yield from writer.stream(name, _chunks_of(key))
    yield writer.finish()


def outputs_plan(record: VersionRecord) -> dict[str, str]:
    """The record's named outputs as `<output>.<ext>` → storage key, for one zip of them all."""
    found = {a.sha256: a for a in Artifact.objects.filter(sha256__in=[o["sha256"] for o in record.outputs.values()])}
    plan = {}
    for name, out in record.outputs.items():
        artifact = found.get(out["sha256"])
        if artifact is not None:
            safe = re.sub(r"[^A-Za-z0-9_.-]", "_", name) or "output"
            plan[f"{safe}.{artifact.storage_key.rsplit('.', 1)[-1]}"] = artifact.storage_key
    return plan


def stream_outputs(plan: dict[str, str]) -> Iterator[bytes]:
    writer = _Writer()
    for name, key in plan.items():
        yield from writer.stream(name, _chunks_of(key))
    yield writer.finish()


# --- import ----------------------------------------------------------------------------------


@dataclass
class BundleArtifact:
    sha256: str
    member: str
    media_type: str
    extension: str
    width: int
    height: int
    frames: int
    kind: str


@dataclass
class Bundle:
    """A bundle whose every member was checked; nothing of it is stored yet."""

    instance: str
    record: dict[str, Any]
    versions: list[PortableVersion]
    specification: dict[str, Any]
    steps: list[dict[str, Any]]
    artifacts: dict[str, BundleArtifact]  # sha256 → where it is and what it is
    signed: dict[str, BundleArtifact]  # output name → its signed copy
    source: zipfile.ZipFile

    def read(self, item: BundleArtifact) -> bytes:
        """An artifact's bytes, read again with the same caps and checked against its name."""
        data = _read_capped(self.source, self.source.getinfo(item.member))
        if hashlib.sha256(data).hexdigest() != item.sha256:
            raise _refused("hash_mismatch", item.member, "changed while it was imported")
        return data


def _refused(code: str, member: str, message: str) -> ValidationFailed:
    return ValidationFailed([Problem(code, member, f"{member}: {message}")])


def _safe_name(info: zipfile.ZipInfo) -> str:
    """The member's name when it is a plain relative path; otherwise the bundle is refused."""
    # zipfile keeps the name as written (`orig_filename`) but rewrites `filename`: check what was written.
    name = info.orig_filename
    shown = name.replace("\x00", "\\x00")[:200]
    if "\x00" in name or "\\" in name:
        raise _refused("unsafe_member_name", shown, "a member name may not hold NUL or backslash characters")
    if name.startswith("/") or re.match(r"^[A-Za-z]:", name):
        raise _refused("unsafe_member_name", shown, "absolute paths are refused")
    if any(part in ("..", ".", "") for part in name.rstrip("/").split("/")):
        raise _refused("unsafe_member_name", shown, "a member name may not leave the bundle (.., ., or //)")
    if not MEMBER_NAME.match(name.rstrip("/")):
        raise _refused("unsafe_member_name", shown, "unexpected characters in a member name")
    mode = info.external_attr >> 16
    if mode and stat.S_IFMT(mode) not in (0, stat.S_IFREG, stat.S_IFDIR):
        raise _refused("unsafe_member", shown, "links and special files are refused")
    if info.flag_bits & 0x1:
        raise _refused("unsafe_member", shown, "encrypted members are refused")
    return name


def _read_capped(source: zipfile.ZipFile, info: zipfile.ZipInfo, cap: int | None = None) -> bytes:
    """A member's bytes, never more than its declared size nor the cap: a member that inflates past
    either is a zip bomb, whatever its header said. A bad CRC or compression names the member too."""
    limit = min(info.file_size, cap if cap is not None else settings.FLONIKS_BUNDLE_MAX_MEMBER_BYTES)
    buffer = bytearray()
    try:
        with source.open(info) as member:
            while chunk := member.read(min(CHUNK, limit + 1 - len(buffer))):
                buffer += chunk
                if len(buffer) > limit:
                    raise _refused("member_too_large", info.orig_filename, "inflates past its limit (a zip bomb?)")
    except (
        zipfile.BadZipFile,
        zipfile.LargeZipFile,
        zlib.error,
        EOFError,
        OSError,
        ValueError,
        NotImplementedError,
    ) as exc:
        raise _refused("corrupt_member", info.orig_filename, f"cannot be read ({exc})") from None
    return bytes(buffer)


def _hash_member(source: zipfile.ZipFile, info: zipfile.ZipInfo) -> str:
    """The sha256 of a member read in chunks, with the same bounds as _read_capped."""
    limit = min(info.file_size, settings.FLONIKS_BUNDLE_MAX_MEMBER_BYTES)
    digest, size = hashlib.sha256(), 0
    try:
        with source.open(info) as member:
            while chunk := member.read(CHUNK):
                size += len(chunk)
                if size > limit:
                    raise _refused("member_too_large", info.orig_filename, "inflates past its limit (a zip bomb?)")
                digest.update(chunk)
    except (
        zipfile.BadZipFile,
        zipfile.LargeZipFile,
        zlib.error,
        EOFError,
        OSError,
        ValueError,
        NotImplementedError,
    ) as exc:
        raise _refused("corrupt_member", info.orig_filename, f"cannot be read ({exc})") from None
    return digest.hexdigest()


def _members(source: zipfile.ZipFile) -> dict[str, zipfile.ZipInfo]:
    """Every file member by name, after the checks on names and declared sizes."""
    infos = source.infolist()
    if len(infos) > settings.FLONIKS_BUNDLE_MAX_MEMBERS:
        raise _refused(
            "too_many_members", "", f"{len(infos)} members; the limit is {settings.FLONIKS_BUNDLE_MAX_MEMBERS}"
        )
    members: dict[str, zipfile.ZipInfo] = {}
    seen: set[str] = set()
    declared = 0
    for info in infos:
        name = _safe_name(info)
        if name in seen:
            raise _refused("duplicate_member", name, "appears more than once in the bundle")
        seen.add(name)
        if info.file_size > settings.FLONIKS_BUNDLE_MAX_MEMBER_BYTES:
            raise _refused(
                "member_too_large",
                name,
                f"declares {info.file_size} bytes; the limit is {settings.FLONIKS_BUNDLE_MAX_MEMBER_BYTES}",
            )
        declared += info.file_size
        if declared > settings.FLONIKS_BUNDLE_MAX_UNPACKED_BYTES:
            raise _refused(
                "bundle_too_large",
                name,
                f"the members declare more than {settings.FLONIKS_BUNDLE_MAX_UNPACKED_BYTES} bytes together",
            )
        if info.is_dir():
            if info.file_size:
                raise _refused("unsafe_member", name, "a directory entry with contents")
            continue
        members[name] = info
    return members


def _sums(source: zipfile.ZipFile, members: dict[str, zipfile.ZipInfo]) -> dict[str, str]:
    info = members.get(SUMS)
    if info is None:
        raise _refused("missing_member", SUMS, "the bundle has no SHA256SUMS")
    text = _read_capped(source, info, MAX_SUMS_BYTES).decode("utf-8", errors="replace")
    listed: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), 1):
        found = SUMS_LINE.match(line)
        if not found:
            raise _refused("invalid_sums", SUMS, f"line {number} is not `<sha256>  <member>`")
        sha, name = found.groups()
        if name in listed:
            raise _refused("invalid_sums", SUMS, f"lists {name} twice")
        listed[name] = sha
    files = set(members) - {SUMS}
    if missing := sorted(set(listed) - files):
        raise _refused("missing_member", missing[0], "is listed in SHA256SUMS but not in the bundle")
    if unlisted := sorted(files - set(listed)):
        raise _refused("unlisted_member", unlisted[0], "is in the bundle but not in SHA256SUMS")
    return listed


def _json_member(source: zipfile.ZipFile, members: dict[str, zipfile.ZipInfo], name: str) -> tuple[bytes, Any]:
    info = members.get(name)
    if info is None:
        raise _refused("missing_member", name, "is missing")
    data = _read_capped(source, info, MAX_JSON_BYTES)
    try:
        return data, loads(data, path=name)
    except ValidationFailed:
        raise
    except ValueError as exc:
        raise _refused("invalid_member", name, f"is not JSON ({exc})") from None


def _need(value: Any, kind: type | tuple[type, ...], where: str) -> Any:
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is int):
        raise _refused("invalid_member", RECORD, f"{where} is missing or of the wrong type")
    return value


def parse_time(value: Any, where: str) -> dt.datetime:
    try:
        parsed = dt.datetime.fromisoformat(_need(value, str, where))
    except ValueError:
        raise _refused("invalid_member", RECORD, f"{where} is not an ISO 8601 time") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def _probe(data: bytes, member: str) -> tuple[str, int, int, int]:
    """(media type, width, height, frames) of an image, read from its header: nothing is decoded."""
    limit = max(settings.FLONIKS_MAX_STEP_PIXELS, 40_000_000)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as img:
                media_type = MEDIA_TYPES.get(img.format or "")
                width, height = img.size
                frames = int(getattr(img, "n_frames", 1))
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning, OSError, ValueError):
        raise _refused("invalid_image", member, "is not an image Floniks can read") from None
    if media_type is None:
        raise _refused("invalid_image", member, "is not a PNG, JPEG, WebP or GIF image")
    if width * height > limit:
        raise _refused("invalid_image", member, f"{width}×{height} is more pixels than Floniks stores")
    return media_type, width, height, frames


def read_bundle(source: IO[bytes]) -> Bundle:
    """Open and check a bundle: every member's hash against SHA256SUMS, then every hash the record
    names against its member. Raises ValidationFailed naming the first member that is wrong."""
    source.seek(0, io.SEEK_END)
    size = source.tell()
    source.seek(0)
    if size > settings.FLONIKS_BUNDLE_MAX_BYTES:
        raise _refused("bundle_too_large", "file", f"{size} bytes; the limit is {settings.FLONIKS_BUNDLE_MAX_BYTES}")
    try:
        archive = zipfile.ZipFile(source)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError) as exc:
        raise _refused("not_a_bundle", "file", f"not a zip file ({exc})") from None
    members = _members(archive)
    listed = _sums(archive, members)
    for name in sorted(listed):  # every hash first: nothing is believed before they all match
        if _hash_member(archive, members[name]) != listed[name]:
            raise _refused("hash_mismatch", name, "its sha256 is not the one in SHA256SUMS")
    return _checked(archive, members)


def _checked(archive: zipfile.ZipFile, members: dict[str, zipfile.ZipInfo]) -> Bundle:
    _raw, document = _json_member(archive, members, RECORD)
    _need(document, dict, "the document")
    if document.get("format") != FORMAT:
        raise _refused("unsupported_format", RECORD, f"format is {document.get('format')!r}, not {FORMAT}")
    record = _need(document.get("record"), dict, "record")
    for key, kind in (
        ("id", str),
        ("label", str),
        ("workflow", str),
        ("version", str),
        ("manifest_hash", str),
        ("spec_hash", str),
        ("mode", str),
        ("inputs", dict),
        ("parameters", dict),
        ("seeds", dict),
        ("models", dict),
        ("subworkflows", dict),
        ("reference_images", list),
        ("outputs", dict),
        ("gates", list),
        ("annotation", str),
        ("saved_without_annotation", bool),
        ("annotated_by", str),
    ):
        _need(record.get(key), kind, f"record.{key}")
    try:
        uuid.UUID(record["id"])
    except ValueError:
        raise _refused("invalid_member", RECORD, "record.id is not a record id") from None
    if record["mode"] not in Mode.values:
        raise _refused("invalid_member", RECORD, "record.mode is neither discovery nor production")
    if not record["annotation"] and not record["saved_without_annotation"]:
        raise _refused("invalid_member", RECORD, "the record has no annotation and no confirmation")
    if not all(isinstance(s, int) and not isinstance(s, bool) for s in record["seeds"].values()):
        raise _refused("invalid_member", RECORD, "record.seeds must be whole numbers")
    parse_time(record.get("run_at"), "record.run_at")

    # The manifest: the bytes exactly as hashed, and the version they define.
    manifest_bytes, _definition = _json_member(archive, members, MANIFEST)
    if content_hash(manifest_bytes) != record["manifest_hash"]:
        raise _refused(
            "hash_mismatch", MANIFEST, f"its hash is not the record's manifest_hash {record['manifest_hash']}"
        )
    versions = [
        _version(v, archive, members, i) for i, v in enumerate(_need(document.get("versions"), list, "versions"))
    ]
    if not versions or (versions[0].workflow, versions[0].version, versions[0].manifest_hash) != (
        record["workflow"],
        record["version"],
        record["manifest_hash"],
    ):
        raise _refused("invalid_member", RECORD, "versions[0] must be the record's own version")
    for step, sub in record["subworkflows"].items():
        named = _need(sub, dict, f"record.subworkflows.{step}")
        named_version = (named.get("workflow"), named.get("version"), named.get("manifest_hash"))
        if named_version not in {(v.workflow, v.version, v.manifest_hash) for v in versions}:
            raise _refused("missing_member", RECORD, f"the sub-workflow version of step {step} is not in the bundle")

    # The specification: its canonical bytes are what spec_hash names.
    spec_bytes, specification = _json_member(archive, members, SPECIFICATION)
    if content_hash(spec_bytes) != record["spec_hash"]:
        raise _refused("hash_mismatch", SPECIFICATION, f"its hash is not the record's spec_hash {record['spec_hash']}")
    _need(specification, dict, "the specification")
    steps = [_need(s, dict, "steps[]") for s in _need(document.get("steps", []), list, "steps")]
    spec_steps = [s.get("id") for s in specification.get("steps", [])]
    if [s.get("id") for s in steps] != spec_steps:
        raise _refused("invalid_member", RECORD, "the steps are not the specification's steps")

    artifacts = _artifacts(archive, members, document, record, steps)
    signed = _signed(archive, members, record)
    return Bundle(
        instance=_need(document.get("instance"), str, "instance")[:200] or "unknown",
        record=record,
        versions=versions,
        specification=specification,
        steps=steps,
        artifacts=artifacts,
        signed=signed,
        source=archive,
    )


def _version(raw: Any, archive: zipfile.ZipFile, members: dict[str, zipfile.ZipInfo], index: int) -> PortableVersion:
    where = f"versions[{index}]"
    v = _need(raw, dict, where)
    member = _need(v.get("manifest"), str, f"{where}.manifest")
    if member != MANIFEST and not re.match(r"^manifests/[0-9a-f]{64}\.json$", member):
        raise _refused("invalid_member", RECORD, f"{where}.manifest names no manifest member")
    data, _definition = _json_member(archive, members, member)
    manifest_hash = _need(v.get("manifest_hash"), str, f"{where}.manifest_hash")
    if content_hash(data) != manifest_hash:
        raise _refused("hash_mismatch", member, f"its hash is not {manifest_hash}")
    try:
        manifest = data.decode("utf-8")
    except UnicodeDecodeError:
        raise _refused("invalid_member", member, "is not UTF-8") from None
    return PortableVersion(
        workflow=_need(v.get("workflow"), str, f"{where}.workflow"),
        name=_need(v.get("name"), str, f"{where}.name")[:200],
        description=_need(v.get("description", ""), str, f"{where}.description"),
        version=_need(v.get("version"), str, f"{where}.version"),
        manifest=manifest,
        manifest_hash=manifest_hash,
        channel=_need(v.get("channel"), str, f"{where}.channel"),
        bump=_need(v.get("bump"), str, f"{where}.bump"),
        message=_need(v.get("message", ""), str, f"{where}.message"),
        published_at=parse_time(v.get("published_at"), f"{where}.published_at"),
    )


def _artifact_member(
    archive: zipfile.ZipFile, members: dict[str, zipfile.ZipInfo], member: str, sha: str, kind: str
) -> BundleArtifact:
    found = SHA_MEMBER.match(member)
    if not found or found.group(2) != sha or member not in members:
        raise _refused("missing_member", member or sha, f"artifact {sha} is not in the bundle under its hash")
    data = _read_capped(archive, members[member])
    if hashlib.sha256(data).hexdigest() != sha:  # the name is the content's hash, whatever SHA256SUMS says
        raise _refused("hash_mismatch", member, "its content does not have the sha256 it is named by")
    media_type, width, height, frames = _probe(data, member)
    return BundleArtifact(sha, member, media_type, found.group(3), width, height, frames, kind)


def _artifacts(
    archive: zipfile.ZipFile,
    members: dict[str, zipfile.ZipInfo],
    document: dict[str, Any],
    record: dict[str, Any],
    steps: list[dict[str, Any]],
) -> dict[str, BundleArtifact]:
    listed = _need(document.get("artifacts"), dict, "artifacts")
    wanted: dict[str, str] = {}
    for out in record["outputs"].values():
        wanted[_need(_need(out, dict, "record.outputs[]").get("sha256"), str, "record.outputs[].sha256")] = (
            Artifact.Kind.OUTPUT
        )
    for ref in record["reference_images"]:
        wanted.setdefault(
            _need(_need(ref, dict, "reference_images[]").get("sha256"), str, "reference_images[].sha256"),
            Artifact.Kind.REFERENCE,
        )
    for step in steps:
        if step.get("output") is not None:
            wanted.setdefault(_need(step["output"], str, "steps[].output"), Artifact.Kind.OUTPUT)
    found = {}
    for sha, kind in sorted(wanted.items()):
        entry = _need(listed.get(sha), dict, f"artifacts.{sha}")
        found[sha] = _artifact_member(
            archive, members, _need(entry.get("member"), str, f"artifacts.{sha}.member"), sha, kind
        )
    return found


def _signed(
    archive: zipfile.ZipFile, members: dict[str, zipfile.ZipInfo], record: dict[str, Any]
) -> dict[str, BundleArtifact]:
    """The signed copies, checked like every artifact, each of an output the record has; the import
    attaches them to the imported record (runs_app.services.import_bundle)."""
    found = {}
    for name, copy in _need(record.get("signed_outputs") or {}, dict, "record.signed_outputs").items():
        if name not in record["outputs"]:
            raise _refused("invalid_bundle", "record.json", f"signed copy '{name}' is of no output of the record")
        sha = _need(_need(copy, dict, "signed_outputs[]").get("sha256"), str, "signed_outputs[].sha256")
        _need(copy.get("signer", ""), str, "signed_outputs[].signer")
        member = next((m for m in members if m.startswith(f"signed/{sha}.")), "")
        found[name] = _artifact_member(archive, members, member, sha, Artifact.Kind.SIGNED)
    return found
