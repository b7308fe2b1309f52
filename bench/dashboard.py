"""How fast the model-debt dashboard renders at scale, and with how many queries.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/gatehouse_bench SECRET_KEY=bench \\
        .venv/bin/python bench/dashboard.py [--requests 30]

Run after bench/generate.py. Each request goes through the whole Django stack in this process (middleware,
session, the view, the template, the JSON for the charts) with the manager's login, against the database
DATABASE_URL names; the first request warms the caches and is not counted. Each page is measured twice:
with the dashboard's cache emptied before every request (the figures computed, as after a new snapshot or
a stage change) and from the cache. Prints p50, p95 and max wall time, and the queries each page ran.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

PAGES = [
    ("dashboard", "/dashboard/"),
    ("dashboard, one team", "/dashboard/?team=team-07"),
    ("dashboard, critical, 90 days", "/dashboard/?tier=critical&from={d90}"),
    ("dashboard JSON (API)", "/api/v1/debt/"),
    ("drill-down: unmonitored", "/dashboard/models/?figure=unmonitored"),
    ("CSV export", "/dashboard/?format=csv"),
]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=30)
    args = parser.parse_args()
    import django

    django.setup()
    import datetime as dt

    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.db import connection, reset_queries
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from registry.models import ModelVersion, RegisteredModel

    settings.ALLOWED_HOSTS = ["*"]
    client = Client()
    client.force_login(get_user_model().objects.get(username="manager"))
    d90 = (timezone.localdate() - dt.timedelta(days=90)).isoformat()
    print(
        f"database: {connection.vendor} {settings.DATABASES['default']['NAME']}; "
        f"{RegisteredModel.objects.count():,} models, {ModelVersion.objects.count():,} versions"
    )
    from django.core.cache import cache

    print(f"{'page':32} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'queries':>8}")
    for label, url, cached in [(label, url, cached) for label, url in PAGES for cached in (False, True)]:
        url = url.format(d90=d90)
        label = f"{label}{', cached' if cached else ''}"
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
        timings = []
        for _ in range(args.requests):
            if not cached:  # the figures computed from the snapshot, as after a change (portal.dashboard.board)
                cache.clear()
            reset_queries()
            with CaptureQueriesContext(connection) as queries:
                began = time.perf_counter()
                response = client.get(url)
                if response.streaming:
                    b"".join(response.streaming_content)
                else:
                    response.content  # noqa: B018 - rendered already; touch it like a server would
                timings.append((time.perf_counter() - began) * 1000)
        timings.sort()
        p95 = timings[max(0, round(0.95 * len(timings)) - 1)]
        print(
            f"{label:32} {statistics.median(timings):8.0f} {p95:8.0f} {timings[-1]:8.0f} "
            f"{len(queries.captured_queries):8d}"
        )


if __name__ == "__main__":
    main()
