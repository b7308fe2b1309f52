"""Webhooks verified by a local HTTP receiver (and retried while it is down); emails to who must act."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core import mail
from django.utils import timezone

from approvals import notify, services
from approvals.models import Webhook, WebhookDelivery
from registry.choices import JobKind, Stage
from registry.models import ModelVersion
from tests.factories import JUSTIFICATION as WHY
from tests.factories import evidence

pytestmark = pytest.mark.django_db
SECRET = "s3cret-for-tests"


class Receiver:
    """A real HTTP server on loopback that records what it receives."""

    def __init__(self, port: int = 0):
        received = self.received = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers["Content-Length"]))
                received.append((dict(self.headers), body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        ThreadingHTTPServer.allow_reuse_address = True
        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def _verify(headers, body) -> dict:
    expected = notify.signature(SECRET, headers["X-Gatehouse-Timestamp"], body)
    assert hmac.compare_digest(headers["X-Gatehouse-Signature"], expected)
    assert (
        expected
        == "sha256="
        + hmac.new(SECRET.encode(), headers["X-Gatehouse-Timestamp"].encode() + b"." + body, hashlib.sha256).hexdigest()
    )
    return json.loads(body)


def _deliver_pending():
    for pk in WebhookDelivery.objects.filter(status="pending").order_by("pk").values_list("pk", flat=True):
        notify.deliver(pk)


def test_signed_events_reach_a_local_receiver(users, world):  # noqa: F811
    receiver = Receiver()
    try:
        Webhook.objects.create(url=f"http://127.0.0.1:{receiver.port}/hook", secret=SECRET)
        model, version = world
        ModelVersion.objects.filter(pk=version.pk).update(stage=Stage.TEST)
        evidence(version, JobKind.VALIDATION, JobKind.BENCHMARK)
        request = services.promotion_request_open(
            actor=users["scientist"], version=version, action="promote", justification=WHY
        )
        services.promotion_request_decide(actor=users["itops"], request=request, decision="approve", comment="ok")
        services.promotion_request_decide(actor=users["reviewer"], request=request, decision="approve", comment="ok")
        _deliver_pending()
        events = [_verify(headers, body) for headers, body in receiver.received]
        assert [e["event"] for e in events] == [
            "request.opened",
            "request.decided",
            "request.decided",
            "version.stage_changed",
            "request.applied",
        ]
        applied = events[-1]["data"]
        assert applied["artifact_sha256"] == version.sha256
        assert (applied["model"], applied["version"], applied["stage"]) == ("churn", version.number, "production")
        assert applied["actor"] == "rita" and events[2]["data"]["decision"] == "approve"
        assert WebhookDelivery.objects.filter(status="succeeded").count() == 5
    finally:
        receiver.stop()


def test_deliveries_are_retried_while_the_receiver_is_down(users, world):  # noqa: F811
    receiver = Receiver()
    port = receiver.port
    receiver.stop()  # down: nothing listens on the port
    hook = Webhook.objects.create(url=f"http://127.0.0.1:{port}/hook", secret=SECRET, events=["request.opened"])
    model, version = world
    services.promotion_request_open(actor=users["scientist"], version=version, action="promote", justification=WHY)
    _deliver_pending()
    first = WebhookDelivery.objects.get(webhook=hook, attempt=1)
    assert first.status == "failed" and first.error
    retry = WebhookDelivery.objects.get(webhook=hook, attempt=2)
    assert retry.status == "pending" and retry.event_id == first.event_id
    receiver = Receiver(port)  # back up
    try:
        _deliver_pending()
        retry.refresh_from_db()
        assert retry.status == "succeeded" and retry.response_code == 204
        assert _verify(*receiver.received[0])["event"] == "request.opened"
    finally:
        receiver.stop()


def test_approvers_are_emailed_when_a_request_opens(users, world, django_capture_on_commit_callbacks):  # noqa: F811
    model, version = world
    for user in users.values():
        user.email = f"{user.username}@example.com"
        user.save()
    ModelVersion.objects.filter(pk=version.pk).update(stage=Stage.TEST)
    with django_capture_on_commit_callbacks(execute=True):
        services.promotion_request_open(actor=users["scientist"], version=version, action="promote", justification=WHY)
    message = next(m for m in mail.outbox if "your decision is needed" in m.subject)
    assert sorted(message.to) == ["ivo@example.com", "rita@example.com"]
    assert "/approvals/requests/" in message.body


class Redirector:
    """A receiver that answers every event with a redirect to another host (here, the portal's own /readyz)."""

    def __init__(self, location: str):
        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                self.rfile.read(int(self.headers["Content-Length"]))
                self.send_response(302)
                self.send_header("Location", location)
                self.send_header("Content-Length", "5")
                self.end_headers()
                self.wfile.write(b"moved")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def test_a_redirect_is_not_followed(users, world):  # noqa: F811
    target = Receiver()
    redirector = Redirector(f"http://127.0.0.1:{target.port}/internal-page")
    try:
        hook = Webhook.objects.create(url=f"http://127.0.0.1:{redirector.port}/hook", secret=SECRET)
        model, version = world
        services.promotion_request_open(actor=users["scientist"], version=version, action="promote", justification=WHY)
        _deliver_pending()
        first = WebhookDelivery.objects.filter(webhook=hook).order_by("pk").first()
        assert first.status == "failed" and first.response_code == 302 and first.response_body == "moved"
        assert first.error == f"HTTP 302: redirects are not followed (to http://127.0.0.1:{target.port}/internal-page)"
        assert target.received == []  # nothing was posted to where the redirect pointed
    finally:
        redirector.server.shutdown()
        target.stop()


def test_deliveries_left_pending_are_sent_again(users, world, monkeypatch):  # noqa: F811
    sent = []
    monkeypatch.setattr(notify, "_enqueue", lambda delivery_id, countdown=0: sent.append(delivery_id))
    hook = Webhook.objects.create(url="http://127.0.0.1:9/hook", secret=SECRET)
    now = timezone.now()

    def pending(attempt: int, minutes_ago: float) -> WebhookDelivery:
        d = WebhookDelivery.objects.create(
            webhook=hook, event_id=uuid.uuid4(), event="request.opened", payload={}, attempt=attempt
        )
        WebhookDelivery.objects.filter(pk=d.pk).update(created_at=now - dt.timedelta(minutes=minutes_ago))
        return d

    lost = pending(1, 5)  # its send met a down broker five minutes ago
    fresh = pending(1, 1)  # may still be on its way
    waiting = pending(5, 5)  # a fifth attempt waits 240 s before it is sent, plus the grace
    late_retry = pending(3, 10)
    WebhookDelivery.objects.create(
        webhook=hook, event_id=uuid.uuid4(), event="x", payload={}, status=WebhookDelivery.Status.SUCCEEDED
    )
    assert notify.deliveries_resend(now=now) == 2
    assert sorted(sent) == sorted([lost.pk, late_retry.pk]) and fresh.pk not in sent and waiting.pk not in sent
