"""The key Gatehouse signs with (attestations, audit checkpoints) and the public keys it publishes.

The private key comes from the settings (GATEHOUSE_SIGNING_KEY, or GATEHOUSE_SIGNING_KEY_FILE for a mounted
secret): PEM, Ed25519 or ECDSA P-256, never stored in the database. Without one, a key is generated once in
``$GATEHOUSE_VAR_DIR/keys/`` so that a fresh install signs from its first release; a deployment of several
processes that do not share that folder (docker-compose.yml: web and workers) mounts one key in all of them
(``check --deploy`` warns while none is set; ``check`` refuses a malformed one: portal/core/checks.py).
Rotation: set the new key, and keep the old public keys in GATEHOUSE_SIGNING_KEYS_RETIRED, so that what they
signed still verifies.
"""

from __future__ import annotations

import contextlib
import functools
import os
import tempfile
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from portal.core import dsse

GENERATED = "signing-key.pem"


def _generated_key_path() -> Path:
    return Path(settings.VAR_DIR) / "keys" / GENERATED


def load_private(pem: bytes, source: str):
    try:
        key = serialization.load_pem_private_key(pem, password=None)
        dsse.algorithm(key)
    except (ValueError, TypeError) as exc:
        raise ImproperlyConfigured(
            f"{source} is not an unencrypted PEM private key of type Ed25519 or ECDSA P-256: {exc}"
        ) from None
    return key


def _generated_key():
    """This install's own key, made once: written whole to a file of its own, then linked into place, which
    fails if another process got there first; then everyone reads the one that won, complete."""
    path = _generated_key_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        pem = ed25519.Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        fd, draft = tempfile.mkstemp(dir=path.parent, prefix=".signing-key-")  # mode 0600
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(pem)
            with contextlib.suppress(FileExistsError):
                os.link(draft, path)
        finally:
            os.unlink(draft)
    return load_private(path.read_bytes(), str(path))


@functools.cache
def signing_key():
    if settings.GATEHOUSE_SIGNING_KEY:
        return load_private(settings.GATEHOUSE_SIGNING_KEY.encode(), "GATEHOUSE_SIGNING_KEY")
    return _generated_key()


def _pem(public_key) -> str:
    return public_key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


@functools.cache
def retired_keys() -> tuple:
    if not settings.GATEHOUSE_SIGNING_KEYS_RETIRED:
        return ()
    try:
        return tuple(dsse.load_public_keys(settings.GATEHOUSE_SIGNING_KEYS_RETIRED.encode()))
    except (ValueError, dsse.VerificationError) as exc:
        raise ImproperlyConfigured(f"GATEHOUSE_SIGNING_KEYS_RETIRED holds no valid PEM public keys: {exc}") from None


def public_keys() -> list[dict]:
    """The active key first, then the retired ones: id, algorithm, status and PEM."""
    active = signing_key().public_key()
    rows = [{"keyid": dsse.keyid(active), "algorithm": dsse.algorithm(active), "status": "active", "pem": _pem(active)}]
    for key in retired_keys():
        if dsse.keyid(key) != rows[0]["keyid"]:
            rows.append(
                {"keyid": dsse.keyid(key), "algorithm": dsse.algorithm(key), "status": "retired", "pem": _pem(key)}
            )
    return rows


def verification_keys() -> list:
    return [signing_key().public_key(), *retired_keys()]


def sign(statement: dict, payload_type: str = dsse.PAYLOAD_TYPE) -> dict:
    """``statement`` as a DSSE envelope signed with the active key."""
    return dsse.sign(statement, signing_key(), payload_type)
