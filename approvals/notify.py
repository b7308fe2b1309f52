"""Side effects of the workflow, sent after commit: webhooks (signed) and email to the people who must act."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
import urllib.error
import urllib.request
import uuid

from celery import current_app
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone

from approvals.models import PromotionRequest, Webhook, WebhookDelivery

logger = logging.getLogger(__name__)
DELIVER_TASK = "approvals.deliver_webhook"  # approvals.tasks, sent by name: the task calls back into this module
MAX_ATTEMPTS = 5
BACKOFF_S = 30  # 30 s, 60 s, 120 s, 240 s between attempts
RESEND_AFTER = timezone.timedelta(minutes=2)  # a pending delivery this late past its time is sent again


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """``sha256=<hex>`` of HMAC-SHA256 over ``timestamp.body``: the receiver recomputes it to trust the event."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def request_payload(request: PromotionRequest, *, actor=None, decision: str | None = None) -> dict:
    version = request.version
    return {
        "request": request.pk,
        "model": version.model.name,
        "version": version.number,
        "stage": version.stage,
        "from_stage": request.from_stage,
        "to_stage": request.to_stage,
        "status": request.status,
        "artifact_sha256": request.artifact_sha256,
        "actor": actor.get_username() if actor is not None else None,
        "decision": decision,
    }


def emit(event: str, payload: dict) -> None:
    """Record one delivery per interested webhook and send them once the transaction commits."""
    event_id = uuid.uuid4()
    body = {"event": event, "event_id": str(event_id), "sent_at": timezone.now().isoformat(), "data": payload}
    ids = [
        WebhookDelivery.objects.create(webhook=hook, event_id=event_id, event=event, payload=body).pk
        for hook in Webhook.objects.filter(active=True)
        if hook.wants(event)
    ]
    for delivery_id in ids:
        transaction.on_commit(lambda d=delivery_id: _enqueue(d))


def _enqueue(delivery_id: int, countdown: int = 0) -> None:
    try:
        current_app.send_task(DELIVER_TASK, args=[delivery_id], countdown=countdown, retry=False, queue="events")
    except Exception:  # broker down: the reaper re-sends pending deliveries
        logger.warning("webhook delivery %s: broker unreachable; it stays pending", delivery_id)


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A subscriber's redirect is its answer, not an address to post to: following one would send the signed
    event, and store the reply, of a host nobody configured (an internal page, say)."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None  # urllib then raises HTTPError with the 3xx


_OPENER = urllib.request.build_opener(_NoRedirects)


def countdown(attempt: int) -> int:
    """Seconds an attempt waits before it is sent: none for the first, then 30 s, 60 s, 120 s, 240 s."""
    return 0 if attempt <= 1 else BACKOFF_S * 2 ** (attempt - 2)


def deliveries_resend(*, now=None) -> int:
    """Beat: send again the deliveries that stayed pending well past their time (the broker was down when they
    were queued, or a worker lost the message). Returns how many."""
    now = now or timezone.now()
    pending = WebhookDelivery.objects.filter(
        status=WebhookDelivery.Status.PENDING, created_at__lt=now - RESEND_AFTER
    ).order_by("pk")[:500]
    late = [
        d.pk for d in pending if d.created_at + timezone.timedelta(seconds=countdown(d.attempt)) + RESEND_AFTER < now
    ]
    for delivery_id in late:
        _enqueue(delivery_id)
    return len(late)


def deliver(delivery_id: int) -> str:
    """One HTTP attempt. On failure a new attempt row is scheduled with backoff, up to MAX_ATTEMPTS."""
    delivery = WebhookDelivery.objects.select_related("webhook").get(pk=delivery_id)
    if delivery.status != WebhookDelivery.Status.PENDING:
        return delivery.status
    body = json.dumps(delivery.payload, sort_keys=True).encode()
    timestamp = str(int(time.time()))
    req = urllib.request.Request(  # noqa: S310 - the admin-configured subscriber URL
        delivery.webhook.url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "User-Agent": "Gatehouse-Webhooks/1",
            "X-Gatehouse-Event": delivery.event,
            "X-Gatehouse-Delivery": str(delivery.event_id),
            "X-Gatehouse-Timestamp": timestamp,
            "X-Gatehouse-Signature": signature(delivery.webhook.secret, timestamp, body),
        },
    )
    started = time.monotonic()
    try:
        with _OPENER.open(req, timeout=10) as response:
            delivery.response_code = response.status
            delivery.response_body = response.read(2000).decode("utf-8", "replace")
            ok = 200 <= response.status < 300
    except urllib.error.HTTPError as exc:
        delivery.response_code = exc.code
        delivery.response_body = exc.read(2000).decode("utf-8", "replace")
        delivery.error = f"HTTP {exc.code}"
        if 300 <= exc.code < 400:
            delivery.error += f": redirects are not followed (to {exc.headers.get('Location', '?')[:200]})"
        ok = False
    except (urllib.error.URLError, OSError) as exc:
        delivery.error = str(getattr(exc, "reason", exc))[:500]
        ok = False
    delivery.duration_ms = int((time.monotonic() - started) * 1000)
    delivery.delivered_at = timezone.now()
    if ok:
        delivery.status = WebhookDelivery.Status.SUCCEEDED
        delivery.save()
        return delivery.status
    if delivery.attempt >= MAX_ATTEMPTS:
        delivery.status = WebhookDelivery.Status.GAVE_UP
        delivery.save()
        return delivery.status
    delivery.status = WebhookDelivery.Status.FAILED
    delivery.save()
    retry = WebhookDelivery.objects.create(
        webhook=delivery.webhook,
        event_id=delivery.event_id,
        event=delivery.event,
        payload=delivery.payload,
        attempt=delivery.attempt + 1,
    )
    _enqueue(retry.pk, countdown=countdown(retry.attempt))
    return delivery.status


def email_people(*, subject: str, message: str, users) -> None:
    addresses = sorted({u.email for u in users if u.email})
    if addresses:
        transaction.on_commit(
            lambda: send_mail(subject, message, settings.DEFAULT_FROM_EMAIL, addresses, fail_silently=True)
        )


def approvers_for(request: PromotionRequest):
    roles = list(request.policy.get("approvals", {}))
    return (
        get_user_model()
        .objects.filter(groups__name__in=roles, is_active=True)
        .exclude(pk=request.requester_id)
        .distinct()
    )


def request_url(request: PromotionRequest) -> str:
    base = getattr(settings, "GATEHOUSE_BASE_URL", "http://127.0.0.1:8000")
    return f"{base}{request.get_absolute_url()}"
