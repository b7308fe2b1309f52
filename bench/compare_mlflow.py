"""Gatehouse's registry API side by side with MLflow's model registry: one run, one client, one PostgreSQL.

    make bench-mlflow            # or: .venv/bin/python -u bench/compare_mlflow.py [--seconds 10] [--clients 8]

Installs MLflow (pinned, from PyPI) into var/mlflow-venv the first time, makes two fresh databases on the
PostgreSQL server BENCH_POSTGRES names (default postgres://postgres@127.0.0.1:5432), starts ``mlflow server``
and Gatehouse under gunicorn with the same number of worker processes on loopback ports, and drives both
with the same threads and the same keep-alive HTTP client through five operations, one after the other,
each for ``--seconds``:

1. create a registered model;
2. create a version of one of them: MLflow records metadata only (a ``source`` URI); Gatehouse has no
   metadata-only version - a version *is* its artifact - so it receives a real (tiny, distinct) ONNX file,
   hashes it, parses and checks it in a sandboxed child process, stores it and writes the audit event;
3. register a version with its artifact, the same ONNX file on both sides: MLflow's least path is three
   requests (runs/create; the file PUT through its artifact proxy into the run; model-versions/create from
   the run's artifact), Gatehouse's the one request of operation 2;
4. read a version;
5. list a model's versions, newest first (a page of 50);
6. search models by name prefix (a page of 50).

Prints operations per second and latency percentiles for both and Gatehouse's ratio, and the peak memory
of a Gatehouse worker. ``--gatehouse-database-url`` runs Gatehouse's side on an existing database instead
(e.g. the one bench/generate.py filled, to measure it with 10,000 models already there).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import struct
import subprocess
import sys
import time
import urllib.parse
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.common import (  # noqa: E402
    Client,
    cpu_seconds,
    free_port,
    gunicorn_start,
    hammer,
    peak_rss_mb,
    postgres_pids,
    process_tree,
    stop,
    wait_until_up,
)

MLFLOW = "mlflow==3.17.2"  # the release measured in bench/README.md
PAGE = 50
OPERATIONS = (
    "create model",
    "create version",
    "register with artifact",
    "read version",
    "list versions",
    "search by prefix",
)


def mlflow_venv(extras: tuple[str, ...] = ()) -> Path:
    """var/mlflow-venv with MLFLOW (and ``extras``, e.g. the client side's onnx and skl2onnx) installed; made on
    first use, and again only when the packages asked for change (a marker file names them)."""
    venv = ROOT / "var" / "mlflow-venv"
    packages = [MLFLOW, "psycopg2-binary", *extras]
    marker = venv / f".installed-{hashlib.sha256(' '.join(sorted(packages)).encode()).hexdigest()[:12]}"
    if not marker.exists():
        print(f"Installing {' '.join(packages)} into {venv} (once) ...", flush=True)
        if not (venv / "bin" / "pip").exists():
            subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)  # noqa: S603
        subprocess.run([str(venv / "bin" / "pip"), "install", "-q", *packages], check=True)  # noqa: S603
        marker.touch()
    return venv


def _mlflow_executable(path: str | None) -> str:
    if path:
        return path
    return str(mlflow_venv() / "bin" / "mlflow")


def _fresh_database(server: str, name: str) -> str:
    import psycopg

    with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"{server}/{name}"


def _onnx_template() -> tuple[bytes, int]:
    """A tiny valid ONNX model (y = x + c) and the offset of c's four bytes: each version gets its own c, so
    each upload is a distinct artifact (Gatehouse refuses a file identical to an earlier version)."""
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    marker = np.array([1234.5678], dtype=np.float32)
    graph = helper.make_graph(
        [helper.make_node("Add", ["x", "c"], ["y"])],
        "bench",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 1])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 1])],
        initializer=[numpy_helper.from_array(marker, "c")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="bench")
    model.ir_version = 8
    onnx.checker.check_model(model)
    data = model.SerializeToString()
    return data, data.index(marker.tobytes())


def _multipart(fields: dict[str, tuple[str, bytes]]) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts = []
    for name, (filename, content) in fields.items():
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n".encode()
            + content
            + b"\r\n"
        )
    return b"".join(parts) + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


class Registry:
    """The five operations against one server; ``models`` and ``versions`` remember what was created."""

    def __init__(self, client: Client, run: str):
        self.client, self.run = client, run
        self.models: list[str] = []
        self.versions: list[tuple[str, int]] = []

    def name(self, i: int) -> str:
        return f"{self.run}-{i:06d}"

    def prefix(self, rng: random.Random) -> str:  # matches up to 100 of the models created
        return self.name(rng.randrange(len(self.models)))[:-2]

    def create_model(self, i: int) -> bool:
        raise NotImplementedError

    def create_version(self, i: int) -> bool:
        raise NotImplementedError

    def register_with_artifact(self, i: int) -> bool:
        raise NotImplementedError

    def read_version(self, i: int) -> bool:
        raise NotImplementedError

    def list_versions(self, i: int) -> bool:
        raise NotImplementedError

    def search(self, i: int) -> bool:
        raise NotImplementedError


class MLflow(Registry):
    def __init__(self, client: Client, run: str):
        super().__init__(client, run)
        self.template, self.offset = _onnx_template()

    def _post(self, path: str, payload: dict) -> tuple[int, dict]:
        status, body = self.client.request(
            "POST", f"/api/2.0/mlflow/{path}", json.dumps(payload).encode(), {"Content-Type": "application/json"}
        )
        return status, json.loads(body) if status == 200 else {}

    def _get(self, path: str, params: dict) -> tuple[int, dict]:
        status, body = self.client.request("GET", f"/api/2.0/mlflow/{path}?{urllib.parse.urlencode(params)}")
        return status, json.loads(body) if status == 200 else {}

    def create_model(self, i):
        status, _ = self._post("registered-models/create", {"name": self.name(i)})
        if status == 200:
            self.models.append(self.name(i))
        return status == 200

    def create_version(self, i):
        name = self.models[i % len(self.models)]
        status, body = self._post("model-versions/create", {"name": name, "source": f"s3://bench/{name}/{i}"})
        if status == 200:
            self.versions.append((name, int(body["model_version"]["version"])))
        return status == 200

    def register_with_artifact(self, i):
        name = self.models[i % len(self.models)]
        status, body = self._post("runs/create", {"experiment_id": "0", "run_name": f"bench-{i}"})
        if status != 200:
            return False
        info = body["run"]["info"]
        artifact = self.template[: self.offset] + struct.pack("<f", float(i)) + self.template[self.offset + 4 :]
        # The run's artifact URI is mlflow-artifacts:/<experiment>/<run>/artifacts: the proxy takes the bytes.
        path = info["artifact_uri"].removeprefix("mlflow-artifacts:")
        status, _ = self.client.request(
            "PUT",
            f"/api/2.0/mlflow-artifacts/artifacts{path}/model.onnx",
            artifact,
            {"Content-Type": "application/octet-stream"},
        )
        if status != 200:
            return False
        status, body = self._post(
            "model-versions/create",
            {"name": name, "source": f"{info['artifact_uri']}/model.onnx", "run_id": info["run_id"]},
        )
        if status == 200:
            self.versions.append((name, int(body["model_version"]["version"])))
        return status == 200

    def read_version(self, i):
        name, number = self.versions[i % len(self.versions)]
        status, body = self._get("model-versions/get", {"name": name, "version": number})
        return status == 200 and body["model_version"]["version"] == str(number)

    def list_versions(self, i):
        name = self.versions[i % len(self.versions)][0]
        status, body = self._get(
            "model-versions/search",
            {"filter": f"name='{name}'", "order_by": "version_number DESC", "max_results": PAGE},
        )
        numbers = [int(v["version"]) for v in body.get("model_versions", [])]
        return status == 200 and bool(numbers) and numbers == sorted(numbers, reverse=True)

    def search(self, i):
        prefix = self.prefix(random.Random(i))
        status, body = self._get("registered-models/search", {"filter": f"name LIKE '{prefix}%'", "max_results": PAGE})
        return status == 200 and all(m["name"].startswith(prefix) for m in body.get("registered_models", []))


class Gatehouse(Registry):
    def __init__(self, client: Client, run: str, team: str):
        super().__init__(client, run)
        self.team = team
        self.template, self.offset = _onnx_template()

    def create_model(self, i):
        payload = {"name": self.name(i), "team": self.team, "task_type": "binary-classification", "risk_tier": "low"}
        status, _ = self.client.request(
            "POST", "/api/v1/models/", json.dumps(payload).encode(), {"Content-Type": "application/json"}
        )
        if status == 201:
            self.models.append(self.name(i))
        return status == 201

    def create_version(self, i):
        name = self.models[i % len(self.models)]
        artifact = self.template[: self.offset] + struct.pack("<f", float(i)) + self.template[self.offset + 4 :]
        body, content_type = _multipart({"artifact": ("model.onnx", artifact)})
        status, response = self.client.request(
            "POST", f"/api/v1/models/{name}/versions/", body, {"Content-Type": content_type}
        )
        if status == 201:
            self.versions.append((name, json.loads(response)["number"]))
        return status == 201

    def register_with_artifact(self, i):  # a version is its artifact: the same single request
        return self.create_version(i + 10**7)  # its own weights, distinct from operation 2's

    def read_version(self, i):
        name, number = self.versions[i % len(self.versions)]
        status, body = self.client.request("GET", f"/api/v1/models/{name}/versions/{number}/")
        return status == 200 and json.loads(body)["number"] == number

    def list_versions(self, i):
        name = self.versions[i % len(self.versions)][0]
        status, body = self.client.request("GET", f"/api/v1/models/{name}/versions/?page_size={PAGE}")
        numbers = [v["number"] for v in json.loads(body)["results"]] if status == 200 else []
        return status == 200 and bool(numbers) and numbers == sorted(numbers, reverse=True)

    def search(self, i):
        prefix = self.prefix(random.Random(i))
        status, body = self.client.request("GET", f"/api/v1/models/?name_prefix={prefix}&page_size={PAGE}")
        return status == 200 and all(m["name"].startswith(prefix) for m in json.loads(body)["results"])


def _gatehouse_setup(database_url: str) -> tuple[str, str]:
    """Migrate, and make a team with a data scientist and an API token; returns (team slug, token)."""
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("SECRET_KEY", "bench")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.core.management import call_command
    from rest_framework.authtoken.models import Token

    from portal.core.models import Team
    from portal.core.roles import Role

    call_command("migrate", verbosity=0)
    user, _ = get_user_model().objects.get_or_create(username="bench-ci")
    user.groups.add(Group.objects.get(name=Role.DATA_SCIENTIST))
    team, _ = Team.objects.get_or_create(slug="bench-compare", defaults={"name": "Bench compare"})
    team.members.add(user)
    token = Token.objects.get_or_create(user=user)[0].key
    from django.db import connections

    connections.close_all()
    return team.slug, token


def _cpu(result: dict) -> float:
    return result["server_cpu"] + result["db_cpu"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10, help="how long each operation runs on each side")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2, help="server worker processes on each side")
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="threads per Gatehouse worker process (1: sync workers, as portal/gunicorn_conf.py)",
    )
    parser.add_argument("--mlflow", help="an mlflow executable (default: var/mlflow-venv, installed on first use)")
    parser.add_argument("--gatehouse-database-url", help="run Gatehouse on this database instead of a fresh one")
    args = parser.parse_args()

    server = os.environ.get("BENCH_POSTGRES", "postgres://postgres@127.0.0.1:5432").rstrip("/")
    mlflow = _mlflow_executable(args.mlflow)
    mlflow_db = _fresh_database(server, "bench_mlflow").replace("postgres://", "postgresql+psycopg2://", 1)
    gatehouse_db = args.gatehouse_database_url or _fresh_database(server, "bench_gatehouse")
    team, token = _gatehouse_setup(gatehouse_db)
    run = f"r{int(time.time()) % 10**6}"

    mlflow_port, gatehouse_port = free_port(), free_port()
    artifacts = ROOT / "var" / "bench-mlflow-artifacts"
    mlflow_server = subprocess.Popen(  # noqa: S603
        [
            mlflow,
            "server",
            "--backend-store-uri",
            mlflow_db,
            # Artifacts through the server's proxy (mlflow-artifacts:/), stored in this folder.
            "--artifacts-destination",
            str(artifacts),
            "--host",
            "127.0.0.1",
            "--port",
            str(mlflow_port),
            "--workers",
            str(args.workers),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    media = ROOT / "var" / "bench-gatehouse-media"
    gatehouse_server = None
    try:
        wait_until_up(f"http://127.0.0.1:{mlflow_port}/health", seconds=180)
        gatehouse_server = gunicorn_start(
            gatehouse_port,
            args.workers,
            {"DATABASE_URL": gatehouse_db, "GATEHOUSE_ARTIFACT_ROOT": str(media)},
            threads=args.threads,
        )
        sides = {
            "MLflow": MLflow(Client(mlflow_port), run),
            "Gatehouse": Gatehouse(Client(gatehouse_port, {"Authorization": f"Token {token}"}), run, team),
        }
        results: dict[tuple[str, str], dict] = {}
        print(
            f"{args.clients} clients, {args.workers} server workers each, {args.seconds:.0f} s per operation "
            f"per side; {MLFLOW} vs Gatehouse ({gatehouse_db.rsplit('/', 1)[-1]})",
            flush=True,
        )
        roots = {"MLflow": mlflow_server.pid, "Gatehouse": gatehouse_server.pid}
        for operation in OPERATIONS:
            for side_name, side in sides.items():
                method = getattr(side, operation.replace(" by prefix", "").replace(" ", "_"))
                # CPU per operation: the server's processes (with the children they forked and reaped) and
                # PostgreSQL's, measured around the run; the two sides run one after the other.
                server, database = process_tree(roots[side_name]), postgres_pids()
                before = cpu_seconds(server), cpu_seconds(database)
                r = hammer(method, args.clients, args.seconds)
                r["server_cpu"] = (cpu_seconds(server) - before[0]) * 1000 / max(r["n"], 1)
                r["db_cpu"] = (cpu_seconds(database | postgres_pids()) - before[1]) * 1000 / max(r["n"], 1)
                results[(operation, side_name)] = r
                print(
                    f"  {operation:17} {side_name:9} {r['rps']:8.1f} ops/s  p50 {r['p50']:6.1f}  "
                    f"p95 {r['p95']:6.1f}  p99 {r['p99']:6.1f} ms  errors {r['errors']}  CPU per op: server "
                    f"{r['server_cpu']:.1f} ms, PostgreSQL {r['db_cpu']:.1f} ms",
                    flush=True,
                )
        print()
        print(
            f"{'operation':18} {'MLflow ops/s':>12} {'p50':>6} {'p95':>6} {'p99':>6} {'cpu':>5}   "
            f"{'Gatehouse ops/s':>15} {'p50':>6} {'p95':>6} {'p99':>6} {'cpu':>5}   {'ratio':>6} {'cpu ratio':>9}"
        )
        for operation in OPERATIONS:
            m, g = results[(operation, "MLflow")], results[(operation, "Gatehouse")]
            print(
                f"{operation:18} {m['rps']:12.1f} {m['p50']:6.1f} {m['p95']:6.1f} {m['p99']:6.1f} "
                f"{m['server_cpu'] + m['db_cpu']:5.1f}   {g['rps']:15.1f} {g['p50']:6.1f} {g['p95']:6.1f} "
                f"{g['p99']:6.1f} {g['server_cpu'] + g['db_cpu']:5.1f}   "
                f"{g['rps'] / m['rps'] if m['rps'] else float('inf'):5.2f}x "
                f"{_cpu(m) / _cpu(g) if _cpu(g) else float('inf'):8.2f}x"
            )
        print(
            "latencies in ms; cpu: CPU ms per operation, server processes and PostgreSQL together; ratio: "
            "Gatehouse's operations per second over MLflow's; cpu ratio: MLflow's CPU per operation over Gatehouse's"
        )
        print(
            f"errors: MLflow {sum(results[(o, 'MLflow')]['errors'] for o in OPERATIONS)}, "
            f"Gatehouse {sum(results[(o, 'Gatehouse')]['errors'] for o in OPERATIONS)}; created "
            + ", ".join(f"{n}: {len(s.models)} models, {len(s.versions)} versions" for n, s in sides.items())
        )
        print(f"peak Gatehouse worker memory (VmHWM): {peak_rss_mb(gatehouse_server.pid):.0f} MB")
    finally:
        for process in (mlflow_server, gatehouse_server):
            if process is not None:
                stop(process)


if __name__ == "__main__":
    main()
