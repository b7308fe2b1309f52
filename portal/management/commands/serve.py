"""Start the web server and one Celery worker side by side; Ctrl-C stops both (used by `make run`)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request

from django.conf import settings
from django.core.management.base import BaseCommand

from portal.demo.accounts import DEMO_PASSWORD, DEMO_USERS


class Command(BaseCommand):
    help = "Run the portal (web server + one Celery worker on queues cpu and gpu, with beat) until Ctrl-C."

    def add_arguments(self, parser):
        parser.add_argument("--addr", default="127.0.0.1:8000")

    def handle(self, *args, addr: str, **options):
        python = sys.executable
        # Links in emails point at the address we serve on, unless configured otherwise.
        os.environ.setdefault("GATEHOUSE_BASE_URL", f"http://{addr}")
        worker = subprocess.Popen(  # noqa: S603
            [
                python,
                "-m",
                "celery",
                "-A",
                "portal",
                "worker",
                "-B",
                "-Q",
                "cpu,gpu",
                "-c",
                "1",
                "--loglevel",
                "INFO",
                "--hostname",
                "embedded@%h",
            ],
        )
        # A second, small worker for webhook deliveries, so they never wait behind a long evidence job.
        events = subprocess.Popen(  # noqa: S603
            [
                python,
                "-m",
                "celery",
                "-A",
                "portal",
                "worker",
                "-Q",
                "events",
                "-c",
                "1",
                "--loglevel",
                "INFO",
                "--hostname",
                "events@%h",
            ],
        )
        web = subprocess.Popen([python, "manage.py", "runserver", addr, "--noreload"])  # noqa: S603
        children = [web, worker, events]

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
        url = f"http://{addr}/"
        try:
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
            self.stdout.write("Press Ctrl-C to stop the web server and the worker.\n")
            while all(child.poll() is None for child in children):
                time.sleep(0.5)
            self.stderr.write("A process stopped; shutting the other down.")
        except KeyboardInterrupt:
            self.stdout.write("\nStopping…")
        finally:
            stop()
