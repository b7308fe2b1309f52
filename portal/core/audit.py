"""The audit chain: how an event is hashed, how the chain is verified, and the actions it may record.

Each event's hash is SHA-256 over the previous event's hash and the canonical JSON (sorted keys, no
whitespace) of the event's own fields, so changing, removing or reordering any row breaks every later link.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

GENESIS_HASH = "0" * 64


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def event_payload(event) -> dict[str, Any]:
    return {
        "created_at": event.created_at.isoformat(),
        "actor_id": event.actor_id,
        "actor_username": event.actor_username,
        "action": event.action,
        "object_type": event.object_type,
        "object_id": str(event.object_id),
        "object_repr": event.object_repr,
        "before": event.before,
        "after": event.after,
        "request_id": event.request_id,
        "ip": event.ip,
    }


def event_hash(prev_hash: str, payload: dict[str, Any]) -> str:
    return hashlib.sha256((prev_hash + canonical_json(payload)).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class ChainBreak:
    event_id: int
    reason: str


def verify_chain(events: Iterable, *, hashes_at: dict[int, str | None] | None = None) -> tuple[int, ChainBreak | None]:
    """Walk events in chain order; return how many were checked and the first broken link, if any. The hash
    at each place named in ``hashes_at`` is written into it (what checkpoints are compared with)."""
    expected_prev = GENESIS_HASH
    checked = 0
    for event in events:
        if event.prev_hash != expected_prev:
            return checked, ChainBreak(
                event.id, "prev_hash does not match the previous event's hash (a row was removed or reordered)"
            )
        if event_hash(event.prev_hash, event_payload(event)) != event.hash:
            return checked, ChainBreak(event.id, "its content does not match its hash (the row was altered)")
        if event.seq != checked + 1:
            return checked, ChainBreak(
                event.id, f"its place is numbered {event.seq}, but it is event {checked + 1} of the chain"
            )
        expected_prev = event.hash
        checked += 1
        if hashes_at is not None and checked in hashes_at:
            hashes_at[checked] = event.hash
    return checked, None


@dataclass(frozen=True)
class Checkpoint:
    """A signed head of the chain, read back: its place, the hash there, when and where it was published."""

    seq: int
    hash: str
    signed_at: str
    source: str


def checkpoint_problems(length: int, hashes_at: dict[int, str | None], checkpoints: Iterable[Checkpoint]) -> list[str]:
    """What the chain as it stands (``length`` events, the hash at each checkpoint's place) contradicts in the
    checkpoints: a tail that is gone, a table emptied, or a history rewritten (hashes recomputed) between the
    last checkpoint that still matches and the first that does not."""
    problems, last_good = [], 0
    for point in sorted(checkpoints, key=lambda c: c.seq):
        if point.seq > length:
            if length == 0:
                problems.append(
                    f"The audit table is empty, but the checkpoint signed {point.signed_at} ({point.source}) covers "
                    f"{point.seq} events: the table was truncated."
                )
            else:
                problems.append(
                    f"The chain ends at event {length}, but the checkpoint signed {point.signed_at} "
                    f"({point.source}) covers {point.seq} events (the last with hash {point.hash[:16]}…): events "
                    f"{length + 1}–{point.seq} are missing (deleted or truncated)."
                )
            break
        actual = hashes_at.get(point.seq)
        if actual != point.hash:
            problems.append(
                f"Event {point.seq} has hash {str(actual)[:16]}…, but the checkpoint signed {point.signed_at} "
                f"({point.source}) signed {point.hash[:16]}… for it: the history was rewritten between event "
                f"{last_good + 1} and event {point.seq}."
            )
            break
        last_good = point.seq
    return problems


# --- Extracts ----------------------------------------------------------------------------------------------
# A compliance pack carries the events about one version as the chain hashes them: each event's place, its
# hash, the previous hash and its payload (event_payload). ``audit_verify --extract`` recomputes each hash and
# compares it with the chain's at that place, and the chain with the signed checkpoints.

AUDIT_EXTRACT_FORMAT = "gatehouse.audit-extract/v1"


def extract_problems(events: list, stored: dict[int, str]) -> list[str]:
    """What the events of an extract (``{"seq", "hash", "prev_hash", "payload"}`` each) contradict: an event
    whose payload and previous hash no longer give its hash (changed since it was extracted), or whose hash
    is not the one the chain (``stored``: place → hash) holds at its place."""
    problems = []
    for number, event in enumerate(events, 1):
        if not isinstance(event, dict) or not {"seq", "hash", "prev_hash", "payload"} <= event.keys():
            problems.append(f"Item {number} of the extract is no audit event (no seq, hash, prev_hash or payload).")
            continue
        seq, claimed = event["seq"], event["hash"]
        if not isinstance(event["payload"], dict) or event_hash(str(event["prev_hash"]), event["payload"]) != claimed:
            problems.append(
                f"Event {seq} of the extract does not match its hash: its payload or previous hash was changed "
                "after it was extracted."
            )
        elif seq not in stored:
            problems.append(f"Event {seq} of the extract is not in this audit chain (no event has that place).")
        elif stored[seq] != claimed:
            problems.append(
                f"Event {seq} of the extract has hash {str(claimed)[:16]}…, but the chain holds {stored[seq][:16]}… "
                "at that place: the extract is not of this chain, or the chain was rewritten since."
            )
    return problems


# --- The actions -------------------------------------------------------------------------------------------
# Each app declares the actions it records as ``AuditAction`` choices (dotted names, e.g.
# ``registry.version.created``, with a label in words) and registers them in its AppConfig.ready(), so the
# log's vocabulary is written once per app and a misspelt action fails where it is written.

_ACTIONS: dict[str, str] = {}


def register_actions(choices) -> None:
    """Declare an app's ``AuditAction`` choices (a TextChoices class)."""
    _ACTIONS.update({str(value): str(label) for value, label in choices.choices})


def check_action(action: str) -> None:
    if action not in _ACTIONS:
        raise ValueError(f"{action!r} is not a declared audit action; add it to the app's AuditAction choices")


def action_label(action: str) -> str:
    """The action in words, for the audit log's pages ("Version uploaded"); the dotted name if unknown."""
    return _ACTIONS.get(action, action)


def known_actions() -> dict[str, str]:
    return dict(_ACTIONS)
