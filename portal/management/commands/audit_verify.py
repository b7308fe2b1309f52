import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from portal.core import dsse, keys
from portal.core.audit import AUDIT_EXTRACT_FORMAT, Checkpoint, checkpoint_problems, extract_problems, verify_chain
from portal.core.models import AuditCheckpoint, AuditEvent
from portal.core.services import CHECKPOINT_PAYLOAD_TYPE, CHECKPOINT_TYPE

MARKER = "audit checkpoint "  # how portal.core.services logs one
SEQ_BATCH = 500  # places read per query when checking an extract (SQLite takes at most 999 parameters)


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


def _extract(path: Path) -> tuple[list, list[tuple[str, dict]]]:
    """An audit extract: a compliance pack's JSON (its "audit" part) or the extract alone; its events and the
    signed checkpoints it carries."""
    try:
        document = json.loads(path.read_text())
    except OSError as exc:
        raise CommandError(f"{path} cannot be read: {exc}") from None
    except ValueError:
        raise CommandError(f"{path} is not JSON: an extract is a compliance pack's JSON download.") from None
    extract = document.get("audit", document) if isinstance(document, dict) else None
    if not isinstance(extract, dict) or extract.get("format") != AUDIT_EXTRACT_FORMAT:
        raise CommandError(f"{path} holds no audit extract ({AUDIT_EXTRACT_FORMAT}): give a compliance pack's JSON.")
    events = extract.get("events")
    events = events.get("items") if isinstance(events, dict) else events
    if not isinstance(events, list) or not events:
        raise CommandError(f"{path}: the audit extract holds no event, so there is nothing to verify.")
    checkpoints = [
        (f"{path.name} checkpoint at event {c.get('seq')}", c.get("envelope"))
        for c in extract.get("checkpoints") or []
        if isinstance(c, dict) and isinstance(c.get("envelope"), dict)
    ]
    return events, checkpoints


def _check_extract(events: list) -> str:
    """Each event of the extract hashes from its payload to the hash the chain holds at its place; the summary."""
    seqs = sorted({e["seq"] for e in events if isinstance(e, dict) and isinstance(e.get("seq"), int)})
    stored = {}
    for start in range(0, len(seqs), SEQ_BATCH):
        batch = seqs[start : start + SEQ_BATCH]
        stored.update(AuditEvent.objects.filter(seq__in=batch).values_list("seq", "hash"))
    problems = extract_problems(events, stored)
    if problems:
        more = f" ({len(problems) - 5} more problem(s) not shown.)" if len(problems) > 5 else ""
        raise CommandError("Audit extract does not verify. " + " ".join(problems[:5]) + more)
    return (
        f"{len(events)} event(s) between places {seqs[0]} and {seqs[-1]} recompute from their payloads to the "
        "hashes the chain holds"
    )


def _coverage(last: int, checkpoints: list[Checkpoint]) -> str:
    covering = [c.seq for c in checkpoints if c.seq >= last]
    if covering:
        return f"; event {last} is covered by the signed checkpoint at event {min(covering)}"
    newest = max((c.seq for c in checkpoints), default=None)
    return f"; no signed checkpoint covers event {last} yet" + (f" (the newest is at event {newest})" if newest else "")


class Command(BaseCommand):
    help = (
        "Recompute the audit log's hash chain and report the first broken link; then check it against the signed "
        "checkpoints (those stored here, and --checkpoints FILE kept elsewhere): a deleted tail, a truncated "
        "table or a rewritten history each fails, naming what is missing or changed. --extract FILE (a "
        "compliance pack's JSON) first recomputes each event it carries from its payload and compares it with "
        "the chain's hash at that place."
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
        parser.add_argument(
            "--extract",
            help="a compliance pack's JSON: recompute its audit events' hashes and check them against this chain",
        )

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
        extract, extract_summary = None, ""
        if options["extract"]:
            extract, carried = _extract(Path(options["extract"]))
            known = {(c.seq, c.hash) for c in checkpoints}
            carried = [_checkpoint(source, envelope, public) for source, envelope in carried]
            checkpoints += [c for c in carried if (c.seq, c.hash) not in known]  # the stored ones, as a rule
            extract_summary = _check_extract(extract)
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
        if extract is not None:
            last = max(e["seq"] for e in extract)
            coverage = _coverage(last, checkpoints)
            self.stdout.write(self.style.SUCCESS(f"Audit extract intact: {extract_summary}{coverage}."))
        self.stdout.write(self.style.SUCCESS(f"Audit chain intact: {checked} event(s) verified{against}."))
