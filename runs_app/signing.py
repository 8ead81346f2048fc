"""C2PA provenance in the file (DESIGN §13): signing a record's outputs and verifying any file.

A signed copy carries a C2PA manifest made with c2pa-python: the claim generator `Floniks/<version>`,
a `c2pa.created` action whose digital source type is trained algorithmic media, the record's
reference images as ingredients, and a `com.floniks.record` assertion naming the record. PNG, WebP
and GIF (every format Floniks writes) are signed in place of their own bytes by the c2pa library;
the original output is never rewritten.

Verification answers one of four states: `trusted` (intact, and the signer chains to a configured
trust anchor), `valid` (intact, an unknown signer), `invalid` (a manifest whose signature or hashes
no longer match: tampered) or `none` (no manifest, or none that can be read). The certificate, key
and anchors are read from settings each time (PEM text or files), so a renewed certificate or a
repaired key path takes effect without a restart; `make_development_credentials` writes a development
CA and an ES256 signer under var/c2pa."""

from __future__ import annotations

import datetime as dt
import io
import logging
import shutil
import tempfile
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import c2pa
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from django.conf import settings
from PIL import Image, UnidentifiedImageError

log = logging.getLogger(__name__)

RECORD_ASSERTION = "com.floniks.record"
TRAINED_ALGORITHMIC_MEDIA = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"
# What verification reads: the formats Floniks writes, and JPEG (an output re-encoded elsewhere).
VERIFIABLE = {"PNG": "image/png", "WEBP": "image/webp", "GIF": "image/gif", "JPEG": "image/jpeg"}
# The failure a valid manifest by an unknown signer reports when trust is checked.
UNTRUSTED_CODES = frozenset({"signingCredential.untrusted"})
# c2pa-rs errors that mean "a manifest is there and does not verify" (tampering), as opposed to
# one that cannot be read at all (then the answer is `none`).
TAMPERED_ERRORS = ("Verify", "Signature", "Assertion", "AssertionNotFound")
# No auto-generated thumbnails in the manifest: they cost an encode per output and ingredient.
BUILDER_SETTINGS: dict[str, Any] = {"builder": {"thumbnail": {"enabled": False}}}


class SigningUnavailable(Exception):
    """The signing certificate or key cannot be read or used; the record stays "signing pending"."""


class UnreadableFile(Exception):
    """The uploaded file is not a picture verification can read (the API answers 400)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


# --- credentials -------------------------------------------------------------------------------


def _pem(inline: str, path: str, what: str) -> str:
    if inline:
        return inline
    try:
        text = Path(path).read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as exc:
        raise SigningUnavailable(f"The C2PA {what} at {path!r} cannot be read: {exc}.") from None
    if "-----BEGIN" not in text:
        raise SigningUnavailable(f"The C2PA {what} at {path!r} is not PEM.")
    return text


def signer() -> c2pa.Signer:
    """The configured ES256 signer (certificate chain and key from settings)."""
    chain = _pem(settings.FLONIKS_C2PA_CERT, settings.FLONIKS_C2PA_CERT_FILE, "certificate chain")
    key = _pem(settings.FLONIKS_C2PA_KEY, settings.FLONIKS_C2PA_KEY_FILE, "private key")
    try:
        info = c2pa.C2paSignerInfo(
            c2pa.C2paSigningAlg.ES256, chain.encode(), key.encode(), settings.FLONIKS_C2PA_TSA_URL or None
        )
        return c2pa.Signer.from_info(info)
    except (c2pa.C2paError, ValueError) as exc:
        raise SigningUnavailable(f"The C2PA signer cannot be made: {exc}.") from None


def trust_anchors() -> str:
    """The configured trust anchors (PEM), or "" when none can be read (nothing is then `trusted`)."""
    try:
        return _pem(settings.FLONIKS_C2PA_TRUST_ANCHORS, settings.FLONIKS_C2PA_TRUST_ANCHORS_FILE, "trust anchors")
    except SigningUnavailable as exc:
        log.warning("%s Verification answers `valid` at best.", exc)
        return ""


def signer_subject() -> str:
    """The subject of the configured signing certificate (the first of its chain), as RFC 4514 text."""
    chain = _pem(settings.FLONIKS_C2PA_CERT, settings.FLONIKS_C2PA_CERT_FILE, "certificate chain")
    try:
        return x509.load_pem_x509_certificate(chain.encode()).subject.rfc4514_string()
    except ValueError as exc:
        raise SigningUnavailable(f"The C2PA certificate chain cannot be read: {exc}.") from None


@dataclass(frozen=True)
class Credentials:
    ca: Path
    chain: Path
    key: Path


def make_development_credentials(directory: Path, *, days: int = 825) -> Credentials:
    """A development CA and an ES256 end-entity signer it issued, under `directory`, unless present.

    The signer is what C2PA asks of a claim signer: not self-signed, not a CA, key usage
    digitalSignature (critical), an extended key usage from C2PA's list (emailProtection and
    documentSigning; never anyExtendedKeyUsage), with subject and authority key identifiers. The
    chain file holds the signer then the CA, as the manifest must carry it; the CA is the anchor."""
    found = Credentials(directory / "dev-ca.pem", directory / "signer-chain.pem", directory / "signer.key")
    if found.ca.exists() and found.chain.exists() and found.key.exists():
        return found
    # Written into a directory of their own, then moved into place in one rename: two processes
    # starting at once (test workers) never mix one's key with the other's certificate.
    directory.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".c2pa-", dir=directory.parent))
    _write_credentials(Credentials(staging / found.ca.name, staging / found.chain.name, staging / found.key.name), days)
    try:
        if directory.exists() and not any(directory.iterdir()):
            directory.rmdir()
        staging.rename(directory)
    except OSError:  # another process got there first (or the directory holds other files): keep theirs
        shutil.rmtree(staging, ignore_errors=True)
        if not (found.ca.exists() and found.chain.exists() and found.key.exists()):
            raise
    return found


def _write_credentials(found: Credentials, days: int) -> None:
    now = dt.datetime.now(dt.UTC)

    def name(common: str) -> x509.Name:
        return x509.Name(
            [
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Floniks development"),
                x509.NameAttribute(NameOID.COMMON_NAME, common),
            ]
        )

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(name("Floniks development CA"))
        .issuer_name(name("Floniks development CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=days + 365))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_usage(cert_sign=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (
        x509.CertificateBuilder()
        .subject_name(name("Floniks development signer"))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_usage(cert_sign=False), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION, x509.ObjectIdentifier("1.3.6.1.5.5.7.3.36")]),
            critical=False,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    key_pem = key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    found.key.touch(mode=0o600)
    found.key.write_bytes(key_pem)
    found.chain.write_bytes(leaf.public_bytes(pem) + ca.public_bytes(pem))
    found.ca.write_bytes(ca.public_bytes(pem))


def _usage(*, cert_sign: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=not cert_sign,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=cert_sign,
        crl_sign=cert_sign,
        encipher_only=False,
        decipher_only=False,
    )


# --- signing -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Ingredient:
    data: bytes
    media_type: str
    title: str


def manifest(*, title: str, media_type: str, record: dict[str, Any]) -> dict[str, Any]:
    """The manifest definition of one signed output."""
    agent = {"name": "Floniks", "version": settings.FLONIKS_VERSION}
    return {
        "claim_generator": f"Floniks/{settings.FLONIKS_VERSION}",
        "claim_generator_info": [agent],
        "title": title,
        "format": media_type,
        "assertions": [
            {
                "label": "c2pa.actions",
                "data": {
                    "actions": [
                        {
                            "action": "c2pa.created",
                            "digitalSourceType": TRAINED_ALGORITHMIC_MEDIA,
                            "softwareAgent": agent,
                        }
                    ]
                },
            },
            {"label": RECORD_ASSERTION, "data": record},
        ],
    }


def sign(
    data: bytes, media_type: str, definition: dict[str, Any], ingredients: list[Ingredient], with_signer: c2pa.Signer
) -> bytes:
    """`data` with the manifest embedded and signed: the signed copy's bytes."""
    context = c2pa.Context.from_dict(BUILDER_SETTINGS)
    try:
        with c2pa.Builder(definition, context=context) as builder:
            for ingredient in ingredients:
                builder.add_ingredient(
                    {"title": ingredient.title, "relationship": "inputTo"},
                    ingredient.media_type,
                    io.BytesIO(ingredient.data),
                )
            out = io.BytesIO()
            builder.sign(with_signer, media_type, io.BytesIO(data), out)
            return out.getvalue()
    except c2pa.C2paError as exc:
        # A key that does not match its certificate fails here, at the first signature.
        raise SigningUnavailable(f"Signing failed: {exc}.") from None


# --- verifying ---------------------------------------------------------------------------------


@dataclass
class Verification:
    state: str  # trusted | valid | invalid | none
    signer: str | None = None
    record: dict[str, Any] = field(default_factory=dict)  # the com.floniks.record assertion, as signed
    detail: str = ""


def sniff(data: bytes, max_pixels: int) -> str:
    """The media type of an uploaded picture, from its bytes (never from what the client says);
    UnreadableFile for anything else. Only the header is parsed: no pixels are decoded."""
    if not data:
        raise UnreadableFile("empty_file", "The file is empty.")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as probe:
                fmt, (width, height) = probe.format or "", probe.size
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise UnreadableFile("not_an_image", "The file is not a picture Floniks can check.") from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise UnreadableFile("corrupt_image", f"The picture is damaged or truncated ({exc}).") from None
    if fmt not in VERIFIABLE:
        raise UnreadableFile("unsupported_type", f"{fmt} files are not checked; send PNG, JPEG, WebP or GIF.")
    if width * height > max_pixels:
        raise UnreadableFile("too_many_pixels", f"{width}×{height} is more than {max_pixels} pixels.")
    return VERIFIABLE[fmt]


def verify(data: bytes, media_type: str, anchors: str) -> Verification:
    """What the file's C2PA manifest says, checked against `anchors` (PEM; "" trusts nobody)."""
    config: dict[str, Any] = {"verify": {"verify_trust": bool(anchors)}}
    if anchors:
        config["trust"] = {"trust_anchors": anchors}
    try:
        context = c2pa.Context.from_dict(config)
        reader = c2pa.Reader.try_create(media_type, io.BytesIO(data), None, context)
    except c2pa.C2paError as exc:
        kind = type(exc).__name__.removeprefix("_C2pa")
        if kind in TAMPERED_ERRORS:
            return Verification("invalid", detail=f"The manifest does not verify: {exc}")
        return Verification("none", detail=f"No manifest could be read: {exc}")
    if reader is None:
        return Verification("none")
    with reader:
        state = reader.get_validation_state() or ""
        results = reader.get_validation_results() or {}
        active = reader.get_active_manifest() or {}
    info = active.get("signature_info") or {}
    who = ", ".join(str(info[k]) for k in ("common_name", "issuer") if info.get(k)) or None
    claim = next((a.get("data") or {} for a in active.get("assertions", []) if a.get("label") == RECORD_ASSERTION), {})
    if state == "Trusted":
        answer = "trusted"
    elif state == "Valid" or (state == "Invalid" and _failures(results) <= UNTRUSTED_CODES):
        answer = "valid"
    else:
        answer = "invalid"
    return Verification(answer, signer=who, record=claim if isinstance(claim, dict) else {})


def _failures(results: dict[str, Any]) -> set[str]:
    codes: set[str] = set()
    for section in ("activeManifest", *[k for k in results if k != "activeManifest"]):
        value = results.get(section)
        if isinstance(value, dict):
            codes |= {str(f.get("code")) for f in value.get("failure", []) if isinstance(f, dict)}
    return codes
