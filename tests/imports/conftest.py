"""A real MLflow tracking server (pinned, in var/mlflow-venv, installed on first use as bench/compare_mlflow.py
does), SQLite backend and a local artifact root in a tmp folder, artifacts served through it."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CLIENT_PACKAGES = ("onnx", "onnxruntime", "skl2onnx", "scikit-learn")
LOGGER = Path(__file__).resolve().parent / "mlflow_log.py"
QUIET = {"MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "true"}  # nothing leaves the machine


def mlflow_venv_or_skip() -> Path:
    sys.path.insert(0, str(ROOT))
    from bench.compare_mlflow import mlflow_venv  # noqa: PLC0415 - a script's helper, not part of the app

    try:
        return mlflow_venv(CLIENT_PACKAGES)
    except (subprocess.CalledProcessError, OSError) as exc:
        pytest.skip(f"the MLflow venv (var/mlflow-venv) could not be installed: {exc}")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class MlflowServer:
    url: str
    venv: Path
    artifacts: Path
    proc: subprocess.Popen

    def log(self, *args: str) -> dict:
        """Run tests/imports/mlflow_log.py with the real MLflow client against this server."""
        out = subprocess.run(
            [str(self.venv / "bin" / "python"), str(LOGGER), self.url, *args],
            capture_output=True,
            text=True,
            timeout=600,
            env={**os.environ, "MLFLOW_TRACKING_URI": self.url, "GIT_PYTHON_REFRESH": "quiet", **QUIET},
        )
        if out.returncode:
            raise RuntimeError(f"mlflow_log.py {' '.join(args)} failed:\n{out.stderr[-4000:]}")
        return json.loads(out.stdout.strip().splitlines()[-1])


def mlflow_server_start(tmp: Path, venv: Path) -> MlflowServer:
    port = _free_port()
    artifacts = tmp / "artifacts"
    artifacts.mkdir()
    log = (tmp / "server.log").open("w")
    proc = subprocess.Popen(
        [
            str(venv / "bin" / "mlflow"),
            "server",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--backend-store-uri",
            f"sqlite:///{tmp / 'mlflow.db'}",
            "--serve-artifacts",
            "--artifacts-destination",
            str(artifacts),
            "--workers",
            "1",
        ],
        cwd=tmp,
        env={**os.environ, **QUIET},
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2):  # noqa: S310 - loopback
                break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                log_tail = (tmp / "server.log").read_text()[-3000:]
                raise RuntimeError(f"mlflow server did not start:\n{log_tail}") from None
            time.sleep(0.5)
    return MlflowServer(url=url, venv=venv, artifacts=artifacts, proc=proc)


def mlflow_server_stop(server: MlflowServer) -> None:
    if server.proc.poll() is None:
        os.killpg(server.proc.pid, 15)
        try:
            server.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.proc.pid, 9)


@pytest.fixture(scope="session")
def mlflow_server(tmp_path_factory):
    """A server with the initial models logged: iris (ONNX, v1 and v2 with alias 'champion' and stage
    Staging), tiny-transformer (ONNX exported by PyTorch, external data), sk-pickle (sklearn flavour)."""
    venv = mlflow_venv_or_skip()
    server = mlflow_server_start(tmp_path_factory.mktemp("mlflow"), venv)
    try:
        server.logged = server.log("initial")
        yield server
    finally:
        mlflow_server_stop(server)
