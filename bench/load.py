"""Load on the pages and the API through gunicorn: p50/p95/p99, requests per second, peak worker memory.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/gatehouse_bench SECRET_KEY=bench \\
        .venv/bin/python -u bench/load.py [--clients 8] [--seconds 15] [--workers 2]

Run after bench/generate.py. Starts gunicorn (``--workers`` processes) on a free loopback port against the
database DATABASE_URL names, signs in as the generated ``manager`` (pages) and uses an API token (API),
then, page after page, keeps ``--clients`` threads requesting it for ``--seconds``. Prints the latency
percentiles, requests per second and errors per page, the SQL queries one request of each page runs
(counted in-process with Django's test client), and the largest resident memory any gunicorn worker
reached (VmHWM). Loopback only; each page is bounded in time.
"""

from __future__ import annotations

import argparse
import http.cookiejar
import os
import re
import sys
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.common import Client, free_port, gunicorn_start, hammer, peak_rss_mb, stop  # noqa: E402

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
PASSWORD = "bench-password"  # noqa: S105 - the generator's accounts, on a benchmark database
QUEUE_USER = "it0"  # an IT approver: the manager's queue is always empty

PAGES = [
    ("model list", "/models/"),
    ("model detail", "/models/{model}/"),
    ("version detail", "/models/{model}/versions/{number}/"),
    ("approval queue", "/approvals/"),  # as QUEUE_USER
    ("dashboard", "/dashboard/"),
    ("jobs list", "/jobs/"),
    ("API: model list", "/api/v1/models/"),
    ("API: model detail", "/api/v1/models/{model}/"),
    ("API: version detail", "/api/v1/models/{model}/versions/{number}/"),
    ("API: requests", "/api/v1/requests/"),
    ("API: debt", "/api/v1/debt/"),
    ("API: jobs list", "/api/v1/jobs/"),
]


def _session_cookie(base: str, username: str) -> str:
    """Sign in through the login form; returns the Cookie header that carries the session."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = opener.open(f"{base}/accounts/login/", timeout=30).read().decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    body = urllib.parse.urlencode({"username": username, "password": PASSWORD, "csrfmiddlewaretoken": token}).encode()
    request = urllib.request.Request(  # noqa: S310 - loopback
        f"{base}/accounts/login/", data=body, headers={"Referer": f"{base}/"}
    )
    opener.open(request, timeout=30).read()
    return "; ".join(f"{c.name}={c.value}" for c in jar)


def _queries(paths: list[str], token: str) -> dict[str, int]:
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    settings.ALLOWED_HOSTS = ["*"]
    client, approver = Client(), Client()
    client.force_login(get_user_model().objects.get(username="manager"))
    approver.force_login(get_user_model().objects.get(username=QUEUE_USER))
    out = {}
    for path in paths:
        extra = {"HTTP_AUTHORIZATION": f"Token {token}"} if path.startswith("/api/") else {}
        who = approver if path == "/approvals/" else client
        who.get(path, **extra)
        with CaptureQueriesContext(connection) as captured:
            who.get(path, **extra)
        out[path] = len(captured.captured_queries)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--only", help="only the pages whose label contains this")
    parser.add_argument(
        "--threads", type=int, default=1, help="per worker (1: sync workers, as portal/gunicorn_conf.py runs them)"
    )
    args = parser.parse_args()
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        sys.exit("Set DATABASE_URL to the PostgreSQL database bench/generate.py filled.")

    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from rest_framework.authtoken.models import Token

    from registry.models import ModelVersion

    version = ModelVersion.objects.filter(stage="production").select_related("model").order_by("pk").first()
    token = Token.objects.get_or_create(user=get_user_model().objects.get(username="manager"))[0].key
    paths = [(label, path.format(model=version.model.name, number=version.number)) for label, path in PAGES]

    port = free_port()
    gunicorn = gunicorn_start(port, args.workers, {}, threads=args.threads)
    base = f"http://127.0.0.1:{port}"
    try:
        pages = Client(port, {"Cookie": _session_cookie(base, "manager")})
        approver = Client(port, {"Cookie": _session_cookie(base, QUEUE_USER)})
        api = Client(port, {"Authorization": f"Token {token}"})
        counts = _queries([p for _, p in paths], token)
        print(
            f"gunicorn {args.workers} workers x {args.threads} threads, {args.clients} clients, "
            f"{args.seconds:.0f} s per page; model {version.model.name} v{version.number}"
        )
        print(f"{'page':24} {'req/s':>7} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'errors':>7} {'queries':>8}")
        for label, path in paths:
            if args.only and args.only not in label:
                continue
            client = api if path.startswith("/api/") else approver if path == "/approvals/" else pages
            r = hammer(lambda _i, c=client, p=path: c.request("GET", p)[0] == 200, args.clients, args.seconds)
            print(
                f"{label:24} {r['rps']:7.1f} {r['p50']:8.0f} {r['p95']:8.0f} {r['p99']:8.0f} {r['errors']:7d} "
                f"{counts[path]:8d}"
            )
        print(f"peak gunicorn worker memory (VmHWM): {peak_rss_mb(gunicorn.pid):.0f} MB")
    finally:
        stop(gunicorn)


if __name__ == "__main__":
    main()
