"""Sign and verify DSSE envelopes holding in-toto Statements, and re-hash the artifact a statement is about.

This one file is also the verifier deployment tooling runs with no Gatehouse installed: it imports only the
standard library and ``cryptography``. Copy it next to your deployment script and run

    python dsse.py attestation.json --key gatehouse-key.pem --artifact model.onnx

(``--artifact`` may be a version's folder, or the tar the API serves, for a version of several files). It
exits 0 and prints the statement when the signature verifies with the key and the artifact's digest is the
statement's subject; otherwise it exits 1 with what failed.

Specifications followed exactly:
- DSSE v1 (secure-systems-lab/dsse, protocol.md): the envelope ``{payloadType, payload, signatures:
  [{keyid, sig}]}`` with ``payload`` and ``sig`` in standard base64, the signature over
  ``PAE(type, body) = "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body``.
- in-toto Statement v1 (in-toto/attestation, spec/v1/statement.md): ``_type``, ``subject`` (name, digest),
  ``predicateType``, ``predicate``; payloadType ``application/vnd.in-toto+json``.
- A multi-file artifact's digest is OpenSSF model signing's (sigstore/model-transparency): the SHA-256 over
  the raw SHA-256 digests of its files, in the order of their paths relative to the model's folder, compared
  part by part.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import hashlib
import json
import re
import sys
import tarfile
from pathlib import Path, PurePosixPath

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

PAYLOAD_TYPE = "application/vnd.in-toto+json"
STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
CHUNK = 1024 * 1024


class VerificationError(Exception):
    """The envelope, its signature, its statement or the artifact does not verify; the message says which."""


def pae(payload_type: str, payload: bytes) -> bytes:
    """DSSE's pre-authentication encoding: what is signed, never the payload alone."""
    kind = payload_type.encode()
    return b"DSSEv1 %d %b %d %b" % (len(kind), kind, len(payload), payload)


def keyid(public_key) -> str:
    """The key's id: the SHA-256 of its SubjectPublicKeyInfo (DER), in hex."""
    der = public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(der).hexdigest()


def algorithm(key) -> str:
    if isinstance(key, ed25519.Ed25519PrivateKey | ed25519.Ed25519PublicKey):
        return "ed25519"
    if isinstance(key, ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey) and key.curve.name == "secp256r1":
        return "ecdsa-p256-sha256"
    raise ValueError("Gatehouse signs with Ed25519 or ECDSA P-256 keys only.")


def sign(statement: dict, private_key, payload_type: str = PAYLOAD_TYPE) -> dict:
    """The DSSE envelope of ``statement`` (serialised once, as compact JSON) signed by ``private_key``."""
    payload = json.dumps(statement, separators=(",", ":"), sort_keys=True).encode()
    message = pae(payload_type, payload)
    if algorithm(private_key) == "ed25519":
        signature = private_key.sign(message)
    else:  # ECDSA: an ASN.1 DER signature over SHA-256, as DSSE implementations exchange them
        signature = private_key.sign(message, ec.ECDSA(hashes.SHA256()))
    return {
        "payloadType": payload_type,
        "payload": base64.b64encode(payload).decode(),
        "signatures": [{"keyid": keyid(private_key.public_key()), "sig": base64.b64encode(signature).decode()}],
    }


def load_public_keys(pem: bytes) -> list:
    """Every public key in a PEM file (Gatehouse's /api/v1/keys/ may list several: the active one and retired
    ones, whose attestations still verify)."""
    blocks = re.findall(rb"-----BEGIN PUBLIC KEY-----.+?-----END PUBLIC KEY-----", pem, re.DOTALL)
    keys = [serialization.load_pem_public_key(block) for block in blocks]
    if not keys:
        raise VerificationError("The key file holds no PEM public key (-----BEGIN PUBLIC KEY-----).")
    return keys


def _b64(value, what: str) -> bytes:
    if not isinstance(value, str):
        raise VerificationError(f"The envelope's {what} is not a base64 string.")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise VerificationError(f"The envelope's {what} is not valid base64: it was damaged.") from None


def _verifies(public_key, signature: bytes, message: bytes) -> bool:
    try:
        if isinstance(public_key, ed25519.Ed25519PublicKey):
            public_key.verify(signature, message)
        elif isinstance(public_key, ec.EllipticCurvePublicKey):
            public_key.verify(signature, message, ec.ECDSA(hashes.SHA256()))
        else:
            return False
    except InvalidSignature:
        return False
    return True


def verify_payload(envelope: dict, public_keys: list, payload_type: str) -> bytes:
    """The payload of ``envelope`` once a signature over it verifies with one of ``public_keys``."""
    if not isinstance(envelope, dict) or "payload" not in envelope or "signatures" not in envelope:
        raise VerificationError("This is not a DSSE envelope (payloadType, payload, signatures).")
    if envelope.get("payloadType") != payload_type:
        raise VerificationError(f"The envelope's payloadType is {envelope.get('payloadType')!r}, not {payload_type!r}.")
    payload = _b64(envelope["payload"], "payload (the statement)")
    message = pae(payload_type, payload)
    signatures = envelope["signatures"] if isinstance(envelope["signatures"], list) else []
    if not signatures:
        raise VerificationError("The envelope carries no signature.")
    wanted = {keyid(k): k for k in public_keys}
    for entry in signatures:
        signature = _b64(entry.get("sig") if isinstance(entry, dict) else None, "signature")
        # The keyid is a hint, not trusted: a signature is tried with every key given.
        candidates = [wanted[entry["keyid"]]] if entry.get("keyid") in wanted else list(public_keys)
        if any(_verifies(key, signature, message) for key in candidates):
            break
    else:
        hint = next((e.get("keyid") for e in signatures if isinstance(e, dict)), None)
        if hint and hint not in wanted:
            raise VerificationError(
                f"The signature was made with key {hint[:16]}…, which is not among the keys given "
                f"({', '.join(k[:16] + '…' for k in wanted)})."
            )
        raise VerificationError(
            "The signature does not verify with the key: the statement or the signature was changed after signing."
        )
    return payload


def verify_envelope(envelope: dict, public_keys: list) -> dict:
    """The in-toto Statement inside ``envelope`` once a signature over it verifies with one of ``public_keys``."""
    payload = verify_payload(envelope, public_keys, PAYLOAD_TYPE)
    try:
        statement = json.loads(payload)
    except ValueError:
        raise VerificationError("The signed statement is not JSON.") from None
    if not isinstance(statement, dict) or statement.get("_type") != STATEMENT_TYPE:
        raise VerificationError(f"The signed payload is not an in-toto Statement ({STATEMENT_TYPE}).")
    return statement


def _sha256_file(fileobj) -> bytes:
    digest = hashlib.sha256()
    while chunk := fileobj.read(CHUNK):
        digest.update(chunk)
    return digest.digest()


def root_digest(files: dict[str, bytes]) -> str:
    """Model signing's digest of a set: SHA-256 over the files' raw digests in the order of their relative
    paths compared part by part ("a/b" before "a.b", as pathlib sorts them)."""
    order = sorted(files, key=lambda path: PurePosixPath(path).parts)
    return hashlib.sha256(b"".join(files[path] for path in order)).hexdigest()


def artifact_files(path: str | Path, keep: frozenset[str] = frozenset()) -> dict[str, bytes]:
    """Each file's raw SHA-256 by its path in the artifact: a file alone; a version's folder, or the tar the API
    serves for a set (its manifest.json, which Gatehouse adds beside the files, is not one of them unless
    ``keep`` names it: a model may have a file of that name)."""
    path = Path(path)
    files: dict[str, bytes] = {}
    if path.is_dir():
        for item in sorted(path.rglob("*")):
            if item.is_symlink():
                raise VerificationError(f"{item} is a symbolic link: a model's files are plain files.")
            if item.is_file():
                with item.open("rb") as fh:
                    files[item.relative_to(path).as_posix()] = _sha256_file(fh)
    elif tarfile.is_tarfile(path):
        with tarfile.open(path) as archive:
            for member in archive:
                if member.isfile():
                    files[PurePosixPath(member.name).as_posix()] = _sha256_file(archive.extractfile(member))
    else:
        with path.open("rb") as fh:
            return {path.name: _sha256_file(fh)}
    if len(files) > 1 and "manifest.json" not in keep:
        files.pop("manifest.json", None)
    return files


def artifact_digest(path: str | Path) -> str:
    """The SHA-256 an artifact is known by: one file's own; a set's the model-signing root digest."""
    files = artifact_files(path)
    return next(iter(files.values())).hex() if len(files) == 1 else root_digest(files)


def _which_files(files: dict[str, bytes], statement: dict) -> str:
    """For a set: the files that differ from the statement's manifest, by name."""
    signed = {f.get("path"): f.get("sha256") for f in (statement.get("predicate") or {}).get("files") or []}
    if len(signed) < 2:
        return ""
    changed = sorted(p for p in signed if p in files and files[p].hex() != signed[p])
    missing = sorted(set(signed) - set(files))
    extra = sorted(set(files) - set(signed))
    parts = [
        f"{label}: {', '.join(names)}"
        for label, names in (("changed", changed), ("missing", missing), ("not in the statement", extra))
        if names
    ]
    return f" Files {'; '.join(parts)}." if parts else ""


def which_half(envelope: dict, issued_statement_sha256: str) -> str:
    """After a signature failure: compared with the statement's SHA-256 as issued (the attestations API gives
    it beside each envelope), which half of the envelope was changed."""
    try:
        payload = base64.b64decode(envelope.get("payload", ""), validate=True)
    except (binascii.Error, ValueError, TypeError):
        return " The statement was changed (its payload is no longer valid base64)."
    actual = hashlib.sha256(payload).hexdigest()
    if actual != issued_statement_sha256:
        return f" The statement was changed: its SHA-256 is {actual}, the one issued was {issued_statement_sha256}."
    return " The statement is the one issued: its signature was changed."


def verify_attestation(
    envelope: dict, public_keys: list, artifact: str | Path | None = None, *, issued_statement_sha256: str | None = None
) -> dict:
    """Verify the envelope's signature and, given the artifact, that its digest is the statement's subject.
    With the statement's digest as issued, a signature failure also says which half was changed."""
    try:
        statement = verify_envelope(envelope, public_keys)
    except VerificationError as exc:
        if issued_statement_sha256 and "signature does not verify" in str(exc):
            raise VerificationError(str(exc) + which_half(envelope, issued_statement_sha256)) from None
        raise
    subjects = statement.get("subject") or []
    digests = {s.get("digest", {}).get("sha256") for s in subjects if isinstance(s, dict)}
    if artifact is not None:
        signed = {f.get("path"): f.get("sha256") for f in (statement.get("predicate") or {}).get("files") or []}
        files = artifact_files(artifact, keep=frozenset(signed))
        actual = next(iter(files.values())).hex() if len(files) == 1 else root_digest(files)
        # The root digest covers the files' bytes and order, not their names: a set is also held to the
        # statement's manifest, path by path.
        renamed = len(signed) > 1 and {p: d.hex() for p, d in files.items()} != signed
        if actual in digests and renamed:
            raise VerificationError(
                "The artifact's bytes are the ones signed, but not under the names the statement lists."
                + _which_files(files, statement)
            )
        if actual not in digests:
            raise VerificationError(
                f"The artifact's SHA-256 is {actual}, but the statement is about "
                f"{', '.join(sorted(d for d in digests if d)) or 'no digest'}: the artifact was changed, or it "
                f"is not the one this attestation covers.{_which_files(files, statement)}"
            )
    return statement


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Verify a Gatehouse attestation (DSSE, in-toto Statement v1).")
    parser.add_argument("attestation", help="the envelope as JSON (an item of the attestations API works too)")
    parser.add_argument("--key", required=True, help="PEM public key(s), e.g. from GET /api/v1/keys/pem/")
    parser.add_argument("--artifact", help="the model file, or a version's folder or tar, to re-hash")
    args = parser.parse_args(argv)
    try:
        document = json.loads(Path(args.attestation).read_text())
        envelope = document.get("envelope", document) if isinstance(document, dict) else document
        issued = document.get("statement_sha256") if isinstance(document, dict) else None  # an API item has it
        statement = verify_attestation(
            envelope, load_public_keys(Path(args.key).read_bytes()), args.artifact, issued_statement_sha256=issued
        )
    except (OSError, ValueError) as exc:
        print(f"FAILED: {exc}", file=sys.stderr)
        return 1
    except VerificationError as exc:
        print(f"FAILED: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(statement, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
