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
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
PASSWORD = "bench-password"  # noqa: S105 - the generator's accounts, on a benchmark database

PAGES = [
    ("model list", "/models/"),
    ("model detail", "/models/{model}/"),
    ("version detail", "/models/{model}/versions/{number}/"),
    ("approval queue", "/approvals/"),
    ("dashboard", "/dashboard/"),
    ("jobs list", "/jobs/"),
    ("API: model list", "/api/v1/models/"),
    ("API: model detail", "/api/v1/models/{model}/"),
    ("API: version detail", "/api/v1/models/{model}/versions/{number}/"),
    ("API: requests", "/api/v1/requests/"),
    ("API: debt", "/api/v1/debt/"),
    ("API: jobs list", "/api/v1/jobs/"),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))] if ordered else float("nan")


def _opener(base: str, username: str):
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = opener.open(f"{base}/accounts/login/", timeout=30).read().decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    body = urllib.parse.urlencode({"username": username, "password": PASSWORD,
                                   "csrfmiddlewaretoken": token}).encode()
    request = urllib.request.Request(f"{base}/accounts/login/", data=body,  # noqa: S310 - loopback
                                     headers={"Referer": f"{base}/"})
    opener.open(request, timeout=30).read()
    return opener


def _hammer(base: str, path: str, headers: dict, opener, clients: int, seconds: float) -> dict:
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    stop = time.perf_counter() + seconds

    def client():
        while time.perf_counter() < stop:
            began = time.perf_counter()
            try:
                request = urllib.request.Request(base + path, headers=headers)  # noqa: S310 - loopback
                with opener.open(request, timeout=60) as response:
                    response.read()
                    ok = response.status == 200
            except Exception:
                ok = False
            elapsed = (time.perf_counter() - began) * 1000
            with lock:
                latencies.append(elapsed)
                if not ok:
                    errors[0] += 1

    threads = [threading.Thread(target=client) for _ in range(clients)]
    began = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - began
    return {"n": len(latencies), "errors": errors[0], "rps": len(latencies) / wall,
            "p50": _percentile(latencies, 50), "p95": _percentile(latencies, 95), "p99": _percentile(latencies, 99)}


def _queries(paths: list[str], token: str) -> dict[str, int]:
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    settings.ALLOWED_HOSTS = ["*"]
    client = Client()
    client.force_login(get_user_model().objects.get(username="manager"))
    out = {}
    for path in paths:
        extra = {"HTTP_AUTHORIZATION": f"Token {token}"} if path.startswith("/api/") else {}
        client.get(path, **extra)
        with CaptureQueriesContext(connection) as captured:
            client.get(path, **extra)
        out[path] = len(captured.captured_queries)
    return out


def _peak_rss_mb(master: int) -> float:
    peak = 0
    for pid in Path("/proc").iterdir():
        if not pid.name.isdigit():
            continue
        try:
            status = (pid / "status").read_text()
        except OSError:
            continue
        if f"PPid:\t{master}\n" in status:
            match = re.search(r"VmHWM:\s+(\d+) kB", status)
            if match:
                peak = max(peak, int(match.group(1)))
    return peak / 1024


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--workers", type=int, default=2)
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

    port = _free_port()
    env = {**os.environ, "ALLOWED_HOSTS": "127.0.0.1", "DEBUG": "false"}
    gunicorn = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "gunicorn", "portal.wsgi:application", "--bind", f"127.0.0.1:{port}", "--workers",
         str(args.workers), "--timeout", "120", "--log-level", "warning"], cwd=ROOT, env=env, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"{base}/healthz", timeout=2).read()  # noqa: S310 - loopback
                break
            except OSError:
                time.sleep(0.2)
        opener = _opener(base, "manager")
        counts = _queries([p for _, p in paths], token)
        print(f"gunicorn {args.workers} workers, {args.clients} clients, {args.seconds:.0f} s per page; "
              f"model {version.model.name} v{version.number}")
        print(f"{'page':24} {'req/s':>7} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'errors':>7} {'queries':>8}")
        for label, path in paths:
            headers = {"Authorization": f"Token {token}"} if path.startswith("/api/") else {}
            r = _hammer(base, path, headers, opener, args.clients, args.seconds)
            print(f"{label:24} {r['rps']:7.1f} {r['p50']:8.0f} {r['p95']:8.0f} {r['p99']:8.0f} {r['errors']:7d} "
                  f"{counts[path]:8d}")
        print(f"peak gunicorn worker memory (VmHWM): {_peak_rss_mb(gunicorn.pid):.0f} MB")
    finally:
        os.killpg(gunicorn.pid, signal.SIGTERM)
        gunicorn.wait(30)


if __name__ == "__main__":
    main()
