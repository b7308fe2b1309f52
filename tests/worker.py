"""A real Celery worker for the tests: Redis when REDIS_URL is set (CI), else the filesystem broker.

The worker is a separate process, so it shares the test database (a file on SQLite, the test database on
PostgreSQL), the artifact folder and the broker through its environment; tests that use it commit their
rows (transaction=True)."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis
from django.conf import settings
from django.db import connection

from portal.celery import ensure_broker_folders
from portal.core.roles import ensure_role_groups

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def shared_artifacts(tmp_path_factory):
    return tmp_path_factory.mktemp("shared-artifacts")


def _purge_broker() -> None:
    if settings.REDIS_URL:
        redis.Redis.from_url(settings.REDIS_URL).flushdb()
    else:
        shutil.rmtree(settings.BROKER_DIR, ignore_errors=True)

        ensure_broker_folders()


class Worker:
    def __init__(self, env: dict[str, str], log: Path, *, queues: str = "cpu,gpu", name: str = ""):
        self.env = env
        self.log = log
        self.queues = queues
        self.name = name or f"test-{os.getpid()}@{socket.gethostname()}"
        self.proc: subprocess.Popen | None = None

    def start(self, wait: bool = True) -> None:
        self.log.write_text("")
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "portal",
                "worker",
                "-Q",
                self.queues,
                "-c",
                "1",
                "-P",
                "prefork",
                "--without-heartbeat",
                "--without-mingle",
                "--without-gossip",
                "-n",
                self.name,
                "--loglevel",
                "INFO",
            ],
            cwd=ROOT,
            env=self.env,
            stdout=self.log.open("a"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        if wait:
            self.wait_ready()

    def wait_ready(self) -> None:
        deadline = time.monotonic() + 60
        while "ready." not in self.log.read_text():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the test worker did not start:\n{self.log.read_text()[-3000:]}")
            time.sleep(0.2)

    def pool_pids(self) -> list[int]:
        out = subprocess.run(["pgrep", "-P", str(self.proc.pid)], capture_output=True, text=True).stdout
        return [int(pid) for pid in out.split()]

    def kill_pool_child(self) -> int:
        pid = self.pool_pids()[0]
        os.kill(pid, signal.SIGKILL)
        return pid

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, sig)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


@pytest.fixture
def worker(worker_env, tmp_path):
    """A worker process for this test, on queues cpu and gpu; artifacts go where it reads them."""
    w = Worker(worker_env, tmp_path / "worker.log")
    w.start()
    yield w
    w.stop()


@pytest.fixture
def start_worker(worker_env, tmp_path):
    """Start workers of your own: ``start_worker("alpha@test", queues="gpu", device_class="alpha")``."""
    started: list[Worker] = []

    def start(name: str, *, queues: str = "cpu", device_class: str = "", wait: bool = True) -> Worker:
        env = {**worker_env, "GATEHOUSE_DEVICE_CLASS": device_class}
        w = Worker(env, tmp_path / f"worker-{name.split('@')[0]}.log", queues=queues, name=name)
        w.start(wait=wait)
        started.append(w)
        return w

    yield start
    for w in started:
        w.stop()


@pytest.fixture
def worker_env(transactional_db, shared_artifacts, settings) -> dict[str, str]:
    """The environment a worker process shares this test's database, artifacts and broker through."""
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(shared_artifacts)},
        },
    }
    ensure_role_groups()
    _purge_broker()
    db = connection.settings_dict
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "portal.settings",
        "GATEHOUSE_ARTIFACT_ROOT": str(shared_artifacts),
        "GATEHOUSE_JOB_HEARTBEAT_S": "1",
        "GATEHOUSE_WORKER_HEARTBEAT_S": "1",
        "GATEHOUSE_ARTIFACT_CACHE_DIR": str(shared_artifacts.parent / "worker-artifact-cache"),
        "SECRET_KEY": settings.SECRET_KEY,
        "DEBUG": "false",
    }
    if db["ENGINE"].endswith("sqlite3"):
        env["GATEHOUSE_SQLITE_PATH"] = str(db["NAME"])
    else:
        env["DATABASE_URL"] = (
            f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST'] or '127.0.0.1'}:"
            f"{db['PORT'] or 5432}/{db['NAME']}"
        )
    return env
