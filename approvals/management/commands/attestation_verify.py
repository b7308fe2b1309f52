import base64
import binascii
import hashlib
import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from approvals.models import Attestation
from portal.core import dsse, keys


def _issued_with(envelope: dict) -> str:
    """When the signature does not verify, what this server issued says which half was changed."""
    try:
        payload = base64.b64decode(envelope.get("payload", ""), validate=True)
    except (binascii.Error, ValueError, TypeError):
        payload = b""
    signature = next((e.get("sig") for e in envelope.get("signatures", []) if isinstance(e, dict)), None)
    by_statement = Attestation.objects.filter(statement_sha256=hashlib.sha256(payload).hexdigest()).first()
    if by_statement is not None:
        return (
            f" The statement is the one issued as attestation #{by_statement.pk} ({by_statement.version} entering "
            f"{by_statement.stage}): its signature was changed."
        )
    by_signature = Attestation.objects.filter(envelope__signatures__0__sig=signature).first() if signature else None
    if by_signature is not None:
        return (
            f" The signature is the one issued with attestation #{by_signature.pk} ({by_signature.version} entering "
            f"{by_signature.stage}): the statement was changed (its SHA-256 is now "
            f"{hashlib.sha256(payload).hexdigest()}, issued {by_signature.statement_sha256})."
        )
    return ""


class Command(BaseCommand):
    help = (
        "Verify an attestation (a DSSE envelope, or an item of the attestations API): its signature with the "
        "key, and, with --artifact, that the artifact's digest is its subject."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="the attestation, as JSON")
        parser.add_argument("--key", help="PEM public key(s); default: this server's published keys")
        parser.add_argument("--artifact", help="the model file, or a version's folder or tar, to re-hash")

    def handle(self, *args, **options):
        try:
            document = json.loads(Path(options["file"]).read_text())
        except (OSError, ValueError) as exc:
            raise CommandError(f"{options['file']} cannot be read as JSON: {exc}") from None
        envelope = document.get("envelope", document) if isinstance(document, dict) else document
        try:
            public = (
                dsse.load_public_keys(Path(options["key"]).read_bytes()) if options["key"] else keys.verification_keys()
            )
        except (OSError, ValueError, dsse.VerificationError) as exc:
            raise CommandError(f"The key cannot be read: {exc}") from None
        try:
            statement = dsse.verify_attestation(envelope, public, options["artifact"])
        except dsse.VerificationError as exc:
            detail = _issued_with(envelope) if "signature does not verify" in str(exc) else ""
            raise CommandError(f"Attestation does not verify: {exc}{detail}") from None
        except OSError as exc:
            raise CommandError(f"The artifact cannot be read: {exc}") from None
        predicate = statement.get("predicate", {})
        subject = statement["subject"][0]
        checked = " and the artifact's digest is its subject" if options["artifact"] else ""
        self.stdout.write(
            self.style.SUCCESS(
                f"Attestation verified{checked}: {subject['name']} (sha256 {subject['digest']['sha256']}) entered "
                f"{predicate.get('stage')} at {predicate.get('appliedAt')}, approved by "
                f"{', '.join(a['person'] for a in predicate.get('approvals', [])) or 'nobody (no approval needed)'}."
            )
        )
