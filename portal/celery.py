"""The Celery application. Settings are read from Django's (CELERY_* names)."""

import os

from celery import Celery
from django.conf import settings
from kombu import Queue

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

app = Celery("gatehouse")
app.config_from_object("django.conf:settings", namespace="CELERY")
# Validation runs on CPU workers; benchmarks on NVIDIA nodes consuming "gpu"; webhooks on "events", so that
# deployment tooling hears of a release at once, not after the evidence jobs queued before it.
app.conf.task_queues = (Queue("cpu"), Queue("gpu"), Queue("events"))
app.autodiscover_tasks()
app.autodiscover_tasks(["portal.dashboard", "portal.core"])  # packages of the portal app, not apps themselves


def ensure_broker_folders() -> None:
    """The filesystem transport needs its folders before the first message."""
    if settings.CELERY_BROKER_URL.startswith("filesystem://"):
        for key in ("data_folder_in", "processed_folder"):
            os.makedirs(settings.CELERY_BROKER_TRANSPORT_OPTIONS[key], exist_ok=True)
