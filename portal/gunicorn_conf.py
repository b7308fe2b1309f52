"""gunicorn settings for the container (`gunicorn -c python:portal.gunicorn_conf portal.wsgi`).

With PROMETHEUS_MULTIPROC_DIR set, each worker process writes its counters there and /metrics adds them
up; the folder is emptied at start and a dead worker's gauges are dropped."""

import gc
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
accesslog = os.environ.get("GUNICORN_ACCESSLOG", "-") or None  # empty: none (bench/ measures without one)
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")


def on_starting(server):
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if folder:
        shutil.rmtree(folder, ignore_errors=True)
        os.makedirs(folder, exist_ok=True)


def post_worker_init(worker):
    # gunicorn reads a request body from the socket 8 KB at a time, in Python: large uploads spent most of
    # their time there (bench/upload_large.py). 1 MB reads keep the parser and the disk busy instead.
    from gunicorn.http import unreader  # noqa: PLC0415 - gunicorn's own module, in gunicorn only

    unreader.SocketUnreader.__init__.__defaults__ = (1024 * 1024,)
    # The sandbox that parses uploads: started now, not on the first upload.
    from registry.inspector import warm  # noqa: PLC0415 - the app is loaded by now

    warm()
    # Every view imported now, then everything loaded so far kept out of the garbage collector's scans: a
    # full collection no longer walks Django's and the app's own objects, which cut the collector's time per
    # API call by 40-60 % (bench/README.md §9).
    from django.urls import get_resolver  # noqa: PLC0415

    get_resolver().url_patterns  # noqa: B018 - imports every URLconf and view
    gc.collect()
    gc.freeze()


def child_exit(server, worker):
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.mark_process_dead(worker.pid)
