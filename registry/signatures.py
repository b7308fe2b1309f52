"""Models signed with OpenSSF model signing (the ``model-signing`` package, sigstore/model-transparency): a
version uploaded with its signature (the bundle ``model_signing sign`` writes) is verified against the files
it arrived with, and the signer recorded. Verified here with that project's own verifier; the bundle is JSON
(a Sigstore bundle holding a DSSE envelope), parsed, never executed.

Trusted keys: one PEM public key per signer in GATEHOUSE_MODEL_SIGNING_KEYS_DIR, the file named after them
(``dana.pem`` signs as "dana"). A bundle names its key by a hint (the SHA-256 of the key's PEM), so the one
key it claims is the only one tried: the files are hashed once.
"""

from __future__ import annotations

import hashlib
import json
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from django.conf import settings

from portal.core.errors import ApplicationError


@dataclass(frozen=True)
class Signature:
    signer: str
    keyid: str  # the bundle's key hint: SHA-256 of the signer's PEM public key
    bundle: dict


def _hint(public_key) -> str:
    pem = public_key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(pem).hexdigest()


def trusted_keys() -> dict[str, tuple[str, Path]]:
    """Key hint → (signer, PEM file), from GATEHOUSE_MODEL_SIGNING_KEYS_DIR."""
    folder = settings.GATEHOUSE_MODEL_SIGNING_KEYS_DIR
    keys: dict[str, tuple[str, Path]] = {}
    if not folder:
        return keys
    for path in sorted(Path(folder).glob("*.pem")):
        try:
            key = serialization.load_pem_public_key(path.read_bytes())
        except ValueError:
            continue  # not a public key: ignored, as a stray file in the folder would be
        keys[_hint(key)] = (path.stem, path)
    return keys


def _read_bundle(fileobj, field: str) -> tuple[bytes, dict]:
    limit = settings.GATEHOUSE_MODEL_SIGNATURE_MAX_KB * 1024
    if hasattr(fileobj, "seek"):
        fileobj.seek(0)
    raw = fileobj.read(limit + 1)
    if len(raw) > limit:
        raise ApplicationError(
            f"The signature file is larger than {settings.GATEHOUSE_MODEL_SIGNATURE_MAX_KB} KB "
            "(GATEHOUSE_MODEL_SIGNATURE_MAX_KB); a model-signing bundle is a few kilobytes.",
            field=field,
        )
    try:
        bundle = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        bundle = None
    if not isinstance(bundle, dict) or "dsseEnvelope" not in bundle:
        raise ApplicationError(
            "The signature is not a model-signing bundle (the JSON file `model_signing sign` writes, with a "
            "dsseEnvelope).",
            field=field,
        )
    return raw, bundle


def signature_verify(*, model_path: str, folder: str, single: bool, fileobj, field: str = "signature") -> Signature:
    """Verify ``fileobj`` (the bundle) against the uploaded files: ``model_path`` alone for a one-file version
    (signed as a file or as a folder holding it), the set's ``folder`` otherwise. Refused, with what failed
    (the file whose hash differs, a missing or extra file, an untrusted key), as an ApplicationError."""
    from model_signing import verifying  # noqa: PLC0415 - imports sigstore's stack: only when a signature comes

    raw, bundle = _read_bundle(fileobj, field)
    hint = ((bundle.get("verificationMaterial") or {}).get("publicKey") or {}).get("hint")
    trusted = trusted_keys()
    if not hint:
        raise ApplicationError(
            "Only signatures made with a private key (model_signing sign key) are verified here; this bundle names "
            "no key (a certificate or Sigstore signature).",
            field=field,
        )
    if hint not in trusted:
        known = ", ".join(sorted(name for name, _ in trusted.values())) or "none"
        raise ApplicationError(
            f"The model was signed with a key this server does not trust (hint {hint[:16]}…). Trusted signers: "
            f"{known} (public keys in GATEHOUSE_MODEL_SIGNING_KEYS_DIR).",
            field=field,
        )
    signer, key_path = trusted[hint]
    with tempfile.NamedTemporaryFile(suffix=".sig", dir=settings.FILE_UPLOAD_TEMP_DIR) as copy:
        copy.write(raw)
        copy.flush()
        errors = []
        for target in [model_path, folder] if single else [folder]:
            try:
                verifying.Config().use_elliptic_key_verifier(public_key=key_path).verify(target, copy.name)
            except ValueError as exc:
                errors.append(str(exc))
            except Exception as exc:  # noqa: BLE001 - a malformed bundle raises what protobuf and sigstore raise
                errors.append(f"the bundle could not be read ({type(exc).__name__}: {exc})")
            else:
                return Signature(signer=signer, keyid=hint, bundle=bundle)
    raise ApplicationError(
        f"The model-signing signature does not match the uploaded files: {_readable(errors)}", field=field
    )


def _readable(errors: list[str]) -> str:
    """The verifier's findings in words: which files changed (its message quotes raw digests), or which are
    missing or extra. For one file tried both ways, the attempt that compared hashes says most."""
    text = next((e for e in errors if "Hash mismatch" in e), errors[0])
    changed = re.findall(r"Hash mismatch for '([^']+)'", text)
    if changed:
        return f"{', '.join(changed)} changed since it was signed."
    return text.removeprefix("Signature mismatch: ")[:600]
