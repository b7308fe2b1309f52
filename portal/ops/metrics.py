"""Prometheus metrics at /metrics: requests (counted by a middleware), and at each scrape, from the
database and the broker, jobs by status and queue, queue depth and job durations.

With several gunicorn workers set PROMETHEUS_MULTIPROC_DIR (an empty folder per start) so the request
counters of all workers are added up; the database figures are the same whichever worker answers.
"""

from __future__ import annotations

import datetime as dt
import hmac
import os
import time

from django.conf import settings
from django.db.models import Count, DurationField, ExpressionWrapper, F, Q, Sum
from django.http import HttpRequest, HttpResponse
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest, multiprocess
from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily

from fleet.broker import queue_depths
from fleet.selectors import fleet_now
from registry.models import Job
from registry.selectors import fleet_summary, watched_queues

REQUESTS = Counter("gatehouse_http_requests_total", "HTTP requests answered", ["method", "view", "status"])
LATENCY = Histogram(
    "gatehouse_http_request_duration_seconds",
    "Time to answer an HTTP request",
    ["method", "view"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
JOB_BUCKETS = (1, 5, 15, 60, 300, 900, 3600, 4 * 3600)
# Labels a client cannot grow: the method is one of these or "other"; the view is a route name or "unmatched";
# the status is the server's own.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class MetricsMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        began = time.perf_counter()
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        view = match.view_name if match else "unmatched"
        method = request.method if request.method in METHODS else "other"
        REQUESTS.labels(method, view, str(response.status_code)).inc()
        LATENCY.labels(method, view).observe(time.perf_counter() - began)
        return response


class DatabaseCollector:
    """Read at scrape time: a fixed number of aggregate queries, whatever the number of jobs."""

    def collect(self):
        jobs = GaugeMetricFamily("gatehouse_jobs", "Jobs by status, queue and kind", labels=["status", "queue", "kind"])
        for row in Job.objects.values("status", "queue", "kind").annotate(n=Count("id")).order_by():
            jobs.add_metric([row["status"], row["queue"], row["kind"]], row["n"])
        yield jobs

        duration = ExpressionWrapper(F("finished_at") - F("started_at"), output_field=DurationField())
        finished = Job.objects.filter(
            started_at__isnull=False, finished_at__isnull=False, status__in=["succeeded", "failed"]
        ).annotate(d=duration)
        aggregates = {f"le_{b}": Count("id", filter=Q(d__lte=dt.timedelta(seconds=b))) for b in JOB_BUCKETS}
        family = HistogramMetricFamily("gatehouse_job_duration_seconds", "Run time of finished jobs", labels=["kind"])
        for row in finished.values("kind").annotate(n=Count("id"), total=Sum("d"), **aggregates).order_by():
            buckets = [(str(float(b)), row[f"le_{b}"]) for b in JOB_BUCKETS] + [("+Inf", row["n"])]
            total = row["total"].total_seconds() if row["total"] else 0.0
            family.add_metric([row["kind"]], buckets, total)
        yield family

        fleet = fleet_now()
        online = GaugeMetricFamily(
            "gatehouse_workers_online",
            "Workers online per device: cpu, gpu (any GPU) or a GPU class",
            labels=["device"],
        )
        for row in fleet_summary(fleet):
            online.add_metric([row.device], row.online)
        yield online

        # The fixed queues, those workers consume and those jobs wait in (capped: registry.selectors).
        depth = GaugeMetricFamily("gatehouse_queue_depth", "Messages waiting in the broker per queue", labels=["queue"])
        for queue, length in (queue_depths(watched_queues(fleet)) or {}).items():
            depth.add_metric([queue], length)
        yield depth


def has_operations_token(request: HttpRequest) -> bool:
    """``Authorization: Bearer <GATEHOUSE_METRICS_TOKEN>``, compared in constant time."""
    token = settings.GATEHOUSE_METRICS_TOKEN
    given = request.headers.get("Authorization", "")
    return bool(token) and hmac.compare_digest(given.encode(), f"Bearer {token}".encode())


def metrics_view(request: HttpRequest) -> HttpResponse:
    if settings.GATEHOUSE_METRICS_TOKEN and not has_operations_token(request):
        return HttpResponse(
            "A bearer token is required (GATEHOUSE_METRICS_TOKEN).\n", status=401, content_type="text/plain"
        )
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.MultiProcessCollector(registry)
    else:
        registry.register(REQUESTS)
        registry.register(LATENCY)
    registry.register(DatabaseCollector())
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
