"""Start the web server, the workers and the scheduler side by side; Ctrl-C stops them all (`make run`)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request

from django.conf import settings
from django.core.management.base import BaseCommand

from fleet import hardware
from portal.demo.accounts import DEMO_PASSWORD, DEMO_USERS
from registry.inspection.sandbox import die_with_parent

CELERY = [sys.executable, "-m", "celery", "-A", "portal"]


def _start(argv: list[str]) -> subprocess.Popen:
    """A child that is stopped when serve goes away, even by kill -9: no worker or scheduler outlives it."""
    return subprocess.Popen(argv, preexec_fn=lambda: die_with_parent(signal.SIGTERM))  # noqa: S603 - our own


class Command(BaseCommand):
    help = "Run the portal (web server, a worker on queue cpu, and gpu where it has one, a webhook worker, beat)."

    def add_arguments(self, parser):
        parser.add_argument("--addr", default="127.0.0.1:8000", help="host:port to serve on (default %(default)s)")

    def handle(self, *args, addr: str, **options):
        # Links in emails point at the address we serve on, unless configured otherwise.
        os.environ.setdefault("GATEHOUSE_BASE_URL", f"http://{addr}")
        # The embedded worker takes GPU benchmarks only where it has a GPU: elsewhere a benchmark for a GPU waits,
        # saying so, instead of running on the CPU and failing its device check.
        queues = "cpu,gpu" if hardware.nvml()["gpus"] or hardware.declared_class() else "cpu"
        self.stdout.write(f"Embedded worker queues: {queues}")
        children = [
            _start([sys.executable, "manage.py", "runserver", addr, "--noreload"]),
            _start([*CELERY, "worker", "-Q", queues, "-c", "1", "--loglevel", "INFO", "--hostname", "embedded@%h"]),
            # A second, small worker for webhook deliveries, so they never wait behind a long evidence job.
            _start([*CELERY, "worker", "-Q", "events", "-c", "1", "--loglevel", "INFO", "--hostname", "events@%h"]),
            # The scheduler in a process of its own, supervised like the others (not a worker's -B).
            _start([*CELERY, "beat", "--loglevel", "INFO", "--schedule", settings.CELERY_BEAT_SCHEDULE_FILENAME]),
        ]

        def stop(*_):
            for child in children:
                if child.poll() is None:
                    child.terminate()
            for child in children:
                try:
                    child.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    child.kill()

        signal.signal(signal.SIGTERM, lambda *_: (stop(), sys.exit(0)))
        # Ctrl-C stops everything even when a shell started us with SIGINT ignored (a background job).
        signal.signal(signal.SIGINT, signal.default_int_handler)
        try:
            self._wait_for_web(children[0], f"http://{addr}/")
            while all(child.poll() is None for child in children):
                time.sleep(0.5)
            self.stderr.write("A process stopped; shutting the others down.")
        except KeyboardInterrupt:
            self.stdout.write("\nStopping…")
        finally:
            stop()

    def _wait_for_web(self, web: subprocess.Popen, url: str) -> None:
        for _ in range(120):
            if web.poll() is not None:
                raise SystemExit(f"The web server exited with status {web.returncode}; see its output above.")
            try:
                urllib.request.urlopen(url + "healthz", timeout=1).read()  # noqa: S310 - our own loopback URL
                break
            except OSError:
                time.sleep(0.5)
        self.stdout.write(self.style.SUCCESS(f"\nGatehouse is up: {url}"))
        if settings.DEBUG:
            self.stdout.write(f"Demo logins, password '{DEMO_PASSWORD}':")
            for username, full_name, role, _teams in DEMO_USERS:
                self.stdout.write(f"  {username:<11} {full_name} ({role})")
            self.stdout.write("  admin       administrator (Django admin at /admin/)")
        self.stdout.write("Press Ctrl-C to stop the web server, the workers and the scheduler.\n")
