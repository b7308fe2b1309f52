"""/healthz (the process answers), /readyz (its dependencies answer) and /metrics, for probes and scrapers.

Both are answered by a middleware placed first, before host validation, sessions and the database, so a
health check from 127.0.0.1 works whatever ALLOWED_HOSTS says and never opens a session.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable

from celery import current_app
from django.conf import settings
from django.core.files.storage import default_storage
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse

from portal.ops.metrics import has_operations_token, metrics_view

CHECK_TIMEOUT_S = 3
logger = logging.getLogger(__name__)


def _database() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return connection.vendor


def _broker() -> str:
    url = settings.CELERY_BROKER_URL
    scheme = url.split("://", 1)[0]
    if scheme == "filesystem":
        folder = settings.CELERY_BROKER_TRANSPORT_OPTIONS["data_folder_in"]
        if not os.path.isdir(folder) or not os.access(folder, os.W_OK):
            raise OSError(f"the broker folder {folder} is missing or not writable")
        return "filesystem"
    with current_app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=CHECK_TIMEOUT_S)
    return scheme


def _storage() -> str:
    location = getattr(default_storage, "location", None)
    if location is not None and not hasattr(default_storage, "bucket_name"):
        if not os.path.isdir(location) or not os.access(location, os.W_OK):
            raise OSError(f"the artifact folder {location} is missing or not writable")
        return "filesystem"
    # HEAD on the bucket: the store answers, the bucket exists, the credentials may use it (a missing object
    # would say nothing: django-storages turns any 404, NoSuchBucket included, into "does not exist").
    default_storage.connection.meta.client.head_bucket(Bucket=default_storage.bucket_name)
    return f"s3 bucket {default_storage.bucket_name}"


CHECKS: dict[str, Callable[[], str]] = {"database": _database, "broker": _broker, "storage": _storage}


def readiness(*, details: bool = True) -> tuple[bool, dict]:
    """Each dependency's state. Error texts (hosts, users, endpoints) are logged, and returned only with
    ``details`` (DEBUG, or the operations token): /readyz answers before any authentication."""
    results = {}
    for name, check in CHECKS.items():
        began = time.perf_counter()
        try:
            backend = check()
            results[name] = {"status": "ok", "backend": backend}
        except Exception as exc:  # any failure of a dependency is reported, never raised
            error = f"{type(exc).__name__}: {str(exc)[:300]}"
            logger.warning("readyz: %s is unavailable: %s", name, error)
            results[name] = {"status": "error"}
            if details:
                results[name]["error"] = error
        results[name]["ms"] = round((time.perf_counter() - began) * 1000, 1)
    return all(r["status"] == "ok" for r in results.values()), results


class HealthMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path == "/healthz":
            return JsonResponse({"status": "ok"})
        if request.path == "/readyz":
            ready, checks = readiness(details=settings.DEBUG or has_operations_token(request))
            failing = [name for name, r in checks.items() if r["status"] != "ok"]
            body = {"status": "ok" if ready else "unavailable", "checks": checks}
            if failing:
                body["failing"] = failing
            return JsonResponse(body, status=200 if ready else 503)
        if request.path == "/metrics":  # scraped by address over the internal network: before host checks
            return metrics_view(request)
        return self.get_response(request)
