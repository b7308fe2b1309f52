import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from portal.core import dsse, keys
from portal.core.audit import Checkpoint, checkpoint_problems, verify_chain
from portal.core.models import AuditCheckpoint, AuditEvent
from portal.core.services import CHECKPOINT_PAYLOAD_TYPE, CHECKPOINT_TYPE

MARKER = "audit checkpoint "  # how portal.core.services logs one


def _envelopes(path: Path) -> list[tuple[str, dict]]:
    """Checkpoints kept elsewhere: a JSON array, the API's page ({"results": [...]}), webhook bodies one per
    line, or log lines (text: ``… audit checkpoint {envelope}``; LOG_FORMAT=json: that as the "message");
    each an envelope or an object holding one. Lines that are not checkpoints (other log lines) are skipped."""
    text = path.read_text()
    try:
        documents = json.loads(text)
        documents = documents.get("results", [documents]) if isinstance(documents, dict) else documents
        lines = [(f"{path.name} item {i + 1}", d) for i, d in enumerate(documents)]
    except ValueError:
        lines = []
        for number, line in enumerate(text.splitlines(), 1):
            document = None
            try:
                document = json.loads(line)
            except ValueError:
                if MARKER in line:
                    document = line
            if isinstance(document, dict) and MARKER in str(document.get("message", "")):
                document = document["message"]  # a JSON log record
            if isinstance(document, str):
                try:
                    document = json.loads(document.split(MARKER, 1)[1])
                except (IndexError, ValueError):
                    raise CommandError(f"{path}: line {number} names a checkpoint that is not JSON.") from None
            if document is not None:
                lines.append((f"{path.name} line {number}", document))
    found = []
    for source, document in lines:
        while isinstance(document, dict) and "payload" not in document:  # unwrap webhook / API shapes
            document = document.get("envelope") or document.get("data")
        if document is not None:
            found.append((source, document))
    if not found:
        raise CommandError(f"{path} holds no checkpoint: nothing in it could be checked against.")
    return found


def _checkpoint(source: str, envelope: dict, public: list) -> Checkpoint:
    try:
        payload = json.loads(dsse.verify_payload(envelope, public, CHECKPOINT_PAYLOAD_TYPE))
    except dsse.VerificationError as exc:
        raise CommandError(f"Checkpoint {source} does not verify: {exc}") from None
    except ValueError:
        raise CommandError(f"Checkpoint {source} holds no JSON.") from None
    if payload.get("_type") != CHECKPOINT_TYPE:
        raise CommandError(f"Checkpoint {source} is not an audit checkpoint ({CHECKPOINT_TYPE}).")
    return Checkpoint(seq=int(payload["seq"]), hash=payload["hash"], signed_at=payload["signedAt"], source=source)


class Command(BaseCommand):
    help = (
        "Recompute the audit log's hash chain and report the first broken link; then check it against the signed "
        "checkpoints (those stored here, and --checkpoints FILE kept elsewhere): a deleted tail, a truncated "
        "table or a rewritten history each fails, naming what is missing or changed."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--checkpoints",
            action="append",
            default=[],
            help="a file of checkpoints kept outside this database (API pages, webhook bodies, log lines)",
        )
        parser.add_argument("--key", help="PEM public key(s) the checkpoints were signed with; default: this server's")
        parser.add_argument("--no-stored", action="store_true", help="use only the checkpoints given in files")

    def handle(self, *args, **options):
        public = (
            dsse.load_public_keys(Path(options["key"]).read_bytes()) if options["key"] else keys.verification_keys()
        )
        checkpoints = (
            []
            if options["no_stored"]
            else [_checkpoint(f"stored #{c.pk}", c.envelope, public) for c in AuditCheckpoint.objects.order_by("seq")]
        )
        for name in options["checkpoints"]:
            try:
                checkpoints += [_checkpoint(source, e, public) for source, e in _envelopes(Path(name))]
            except OSError as exc:
                raise CommandError(f"{name} cannot be read: {exc}") from None
        hashes_at = {c.seq: None for c in checkpoints}
        # Streamed (a server-side cursor on PostgreSQL); closed at once even when the walk stops early,
        # so the cursor never outlives its transaction.
        events = AuditEvent.objects.order_by("seq").iterator(chunk_size=5000)
        try:
            checked, broken = verify_chain(events, hashes_at=hashes_at)
        finally:
            events.close()
        if broken:
            raise CommandError(
                f"Audit chain broken at event {broken.event_id}: {broken.reason}. {checked} event(s) before it verify."
            )
        problems = checkpoint_problems(checked, hashes_at, checkpoints)
        if problems:
            raise CommandError(" ".join(problems) + f" ({checked} event(s) verify as a chain on their own.)")
        against = f", consistent with {len(checkpoints)} signed checkpoint(s)" if checkpoints else ""
        self.stdout.write(self.style.SUCCESS(f"Audit chain intact: {checked} event(s) verified{against}."))
