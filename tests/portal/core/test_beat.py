"""Beat runs once: a second scheduler refuses to start while the first runs, and starts once it has stopped."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from tests.worker import ROOT


def _beat(schedule) -> subprocess.Popen:
    return subprocess.Popen(  # noqa: S603 - our own command
        [sys.executable, "-m", "celery", "-A", "portal", "beat", "--schedule", str(schedule), "--loglevel", "INFO"],
        cwd=ROOT,
        env={**os.environ, "DEBUG": "true"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _wait_for(process: subprocess.Popen, text: str, timeout: float = 30) -> str:
    seen = ""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        seen += line
        if text in line or (line == "" and process.poll() is not None):
            break
    return seen


def test_a_second_beat_refuses_to_start(tmp_path):
    schedule = tmp_path / "celerybeat-schedule"
    first = _beat(schedule)
    try:
        assert "beat: Starting" in _wait_for(first, "beat: Starting")
        time.sleep(2)  # past the lock
        second = _beat(schedule)
        output = _wait_for(second, "this one stops")
        assert second.wait(timeout=30) != 0
        assert "this one stops, so no task is sent twice" in output
    finally:
        first.terminate()
        first.wait(timeout=30)
    third = _beat(schedule)  # the lock went with the first
    try:
        assert "beat: Starting" in _wait_for(third, "beat: Starting")
        time.sleep(2)
        assert third.poll() is None
    finally:
        third.terminate()
        third.wait(timeout=30)
