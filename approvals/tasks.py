from __future__ import annotations

from celery import shared_task

from approvals import notify


# Sent to queue "events" (approvals.notify), so it never waits behind an hour-long validation on "cpu".
@shared_task(name="approvals.deliver_webhook", acks_late=True, soft_time_limit=30, time_limit=60)
def deliver_webhook(delivery_id: int) -> str:
    return notify.deliver(delivery_id)


@shared_task(name="approvals.webhooks_resend")
def webhooks_resend() -> int:
    return notify.deliveries_resend()
