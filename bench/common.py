"""What the load scripts share: ports, percentiles, a keep-alive HTTP client, timed rounds, gunicorn."""

from __future__ import annotations

import http.client
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))] if ordered else float("nan")


def wait_until_up(url: str, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            urllib.request.urlopen(url, timeout=2).read()  # noqa: S310 - loopback
            return
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{url} did not answer within {seconds:.0f} s") from None
            time.sleep(0.2)


class Client:
    """One keep-alive connection per thread to one loopback server: both sides of a comparison are driven
    by this same code, so the client's own cost is the same for both."""

    def __init__(self, port: int, headers: dict[str, str] | None = None):
        self.port = port
        self.headers = headers or {}
        self._local = threading.local()

    def request(
        self, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None
    ) -> tuple[int, bytes]:
        for attempt in (1, 2):  # a server may close an idle keep-alive connection; reconnect once
            conn = getattr(self._local, "conn", None)
            if conn is None:
                conn = self._local.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
            try:
                conn.request(method, path, body=body, headers={**self.headers, **(headers or {})})
                response = conn.getresponse()
                return response.status, response.read()
            except (http.client.HTTPException, ConnectionError):
                conn.close()
                self._local.conn = None
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")


def hammer(operation: Callable[[int], bool], clients: int, seconds: float) -> dict:
    """Run ``operation(i)`` (i counts calls across threads) from ``clients`` threads for ``seconds``; returns
    calls, errors, operations per second and latency percentiles in ms."""
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    counter = iter(range(10**9))  # next() on a range iterator is atomic under the GIL
    stop = time.perf_counter() + seconds

    def client():
        while time.perf_counter() < stop:
            i = next(counter)
            began = time.perf_counter()
            try:
                ok = operation(i)
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
    return {
        "n": len(latencies),
        "errors": errors[0],
        "rps": (len(latencies) - errors[0]) / wall,
        "p50": percentile(latencies, 50),
        "p95": percentile(latencies, 95),
        "p99": percentile(latencies, 99),
    }


def gunicorn_start(port: int, workers: int, env: dict[str, str], threads: int = 1) -> subprocess.Popen:
    """Gatehouse under gunicorn on a loopback port: ``workers`` processes of ``threads`` threads each."""
    process = subprocess.Popen(  # noqa: S603
        [
            sys.executable,
            "-m",
            "gunicorn",
            "portal.wsgi:application",
            "--config",  # the production settings and hooks (the sandbox started, 1 MB reads, gc.freeze)
            "python:portal.gunicorn_conf",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--threads",
            str(threads),
            "--timeout",
            "120",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env={**os.environ, "ALLOWED_HOSTS": "127.0.0.1", "DEBUG": "false", "GUNICORN_ACCESSLOG": "", **env},
        start_new_session=True,
    )
    wait_until_up(f"http://127.0.0.1:{port}/healthz")
    return process


def stop(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(30)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        os.killpg(process.pid, signal.SIGKILL)


def peak_rss_mb(master: int) -> float:
    """The largest resident memory (VmHWM) any child of ``master`` reached."""
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


_HZ = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> list[str] | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None


def process_tree(root: int) -> set[int]:
    """``root`` and its descendants now."""
    parents = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (fields := _stat(int(entry.name))):
            parents[int(entry.name)] = int(fields[1])
    tree, grew = {root}, True
    while grew:
        found = {pid for pid, parent in parents.items() if parent in tree} - tree
        tree |= found
        grew = bool(found)
    return tree


def postgres_pids() -> set[int]:
    return {
        int(e.name)
        for e in Path("/proc").iterdir()
        if e.name.isdigit() and (e / "comm").exists() and _comm(e) == "postgres"
    }


def _comm(entry: Path) -> str:
    try:
        return (entry / "comm").read_text().strip()
    except OSError:
        return ""


def cpu_seconds(pids: set[int]) -> float:
    """CPU time (user + system) of these processes, including their children that have exited and been
    waited for (a forked inspection, a finished PostgreSQL backend)."""
    total = 0
    for pid in pids:
        if fields := _stat(pid):
            total += sum(int(v) for v in fields[11:15])
    return total / _HZ
