"""gunicorn settings for the container (`gunicorn -c python:portal.gunicorn_conf portal.wsgi`).

With PROMETHEUS_MULTIPROC_DIR set, each worker process writes its counters there and /metrics adds them
up; the folder is emptied at start and a dead worker's gauges are dropped."""

import os
import shutil

from prometheus_client import multiprocess

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("WEB_WORKERS", "3"))
# Sync workers unless WEB_THREADS > 1 (gthread): on 2 cores bench/ measured sync workers ahead on every page
# and API operation, with shorter tails (bench/README.md). Run them behind a proxy that buffers uploads, so
# a slow client does not hold a worker.
threads = int(os.environ.get("WEB_THREADS", "1"))
worker_class = "gthread" if threads > 1 else "sync"
timeout = 600  # large uploads are streamed to disk; the request may last minutes
accesslog = "-"
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")


def on_starting(server):
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if folder:
        shutil.rmtree(folder, ignore_errors=True)
        os.makedirs(folder, exist_ok=True)


def child_exit(server, worker):
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.mark_process_dead(worker.pid)
