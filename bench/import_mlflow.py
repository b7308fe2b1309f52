"""An import of a whole MLflow registry: 200 models x 5 ONNX versions from a local ``mlflow server``.

    .venv/bin/python -u bench/import_mlflow.py [--models 200] [--versions 5] [--threads 8]

Installs MLflow into var/mlflow-venv the first time (bench/compare_mlflow.py's helper), starts ``mlflow server``
(SQLite, artifacts served from a tmp folder) and fills it through its REST API with the path a client takes
(runs/create, a metric and a param, MLmodel and model.onnx PUT through the artifact proxy, model-versions/create;
each version a distinct tiny ONNX graph). Then, on a fresh PostgreSQL database (BENCH_POSTGRES, default
postgres://postgres@127.0.0.1:5432), it times ``manage.py import_mlflow URL --team bench`` (every version through
the registry's upload service: download, digest, sandboxed inspection, storage, audit) and a second run
that finds nothing new. Prints the time and the rate of each.
"""

from __future__ import annotations

import argparse
import json
import os
import struct
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.common import Client, free_port, stop, wait_until_up  # noqa: E402
from bench.compare_mlflow import _fresh_database, _onnx_template, mlflow_venv  # noqa: E402

MLMODEL = """artifact_path: model
flavors:
  onnx:
    code: null
    onnx_model: model.onnx
    onnx_version: 1.17.0
    providers: [CPUExecutionProvider]
  python_function:
    data: model.onnx
    env: {conda: conda.yaml, virtualenv: python_env.yaml}
    loader_module: mlflow.onnx
    python_version: 3.11.0
mlflow_version: 3.17.2
"""


def seed(port: int, models: int, versions: int, threads: int) -> float:
    template, offset = _onnx_template()
    client = Client(port)

    def post(endpoint: str, body: dict) -> dict:
        status, data = client.request(
            "POST", f"/api/2.0/mlflow/{endpoint}", json.dumps(body).encode(), {"Content-Type": "application/json"}
        )
        if status != 200:
            raise RuntimeError(f"{endpoint}: {status} {data[:300]!r}")
        return json.loads(data)

    def one_model(m: int) -> None:
        name = f"bench-{m:04d}"
        post("registered-models/create", {"name": name, "description": f"bench model {m}"})
        for v in range(versions):
            run = post("runs/create", {"experiment_id": "0", "run_name": f"{name}-{v}"})["run"]["info"]
            post("runs/log-metric", {"run_id": run["run_id"], "key": "score", "value": v / 10, "timestamp": 0})
            post("runs/log-parameter", {"run_id": run["run_id"], "key": "seed", "value": str(v)})
            path = run["artifact_uri"].removeprefix("mlflow-artifacts:")
            marker = float(m * 1000 + v + 0.5)
            data = bytearray(template)
            data[offset : offset + 4] = struct.pack("<f", marker)
            for filename, body in (("MLmodel", MLMODEL.encode()), ("model.onnx", bytes(data))):
                status, _ = client.request("PUT", f"/api/2.0/mlflow-artifacts/artifacts{path}/model/{filename}", body)
                assert status == 200, status
            post(
                "model-versions/create",
                {"name": name, "source": f"{run['artifact_uri']}/model", "run_id": run["run_id"]},
            )

    started = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(one_model, range(models)))
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", type=int, default=200)
    parser.add_argument("--versions", type=int, default=5)
    parser.add_argument("--threads", type=int, default=8)
    args = parser.parse_args()
    venv = mlflow_venv()
    postgres = os.environ.get("BENCH_POSTGRES", "postgres://postgres@127.0.0.1:5432")
    database = _fresh_database(postgres, "gatehouse_bench_import")
    with tempfile.TemporaryDirectory(prefix="bench-import-") as tmp:
        port = free_port()
        server = subprocess.Popen(  # noqa: S603
            [
                str(venv / "bin" / "mlflow"),
                "server",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--backend-store-uri",
                f"sqlite:///{tmp}/mlflow.db",
                "--serve-artifacts",
                "--artifacts-destination",
                f"{tmp}/artifacts",
                "--workers",
                "4",
            ],
            cwd=tmp,
            env={**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true"},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            url = f"http://127.0.0.1:{port}"
            wait_until_up(f"{url}/health")
            total = args.models * args.versions
            seconds = seed(port, args.models, args.versions, args.threads)
            print(f"seeded MLflow: {args.models} models x {args.versions} versions in {seconds:.1f} s", flush=True)
            env = {
                **os.environ,
                "DATABASE_URL": database,
                "SECRET_KEY": "bench",
                "DEBUG": "false",
                "GATEHOUSE_VAR_DIR": f"{tmp}/gatehouse",
                "GATEHOUSE_ARTIFACT_ROOT": f"{tmp}/gatehouse/artifacts",
            }
            manage = [sys.executable, str(ROOT / "manage.py")]
            subprocess.run([*manage, "migrate", "-v0"], env=env, check=True)  # noqa: S603
            subprocess.run(  # noqa: S603
                [
                    *manage,
                    "shell",
                    "-c",
                    "from portal.core.models import Team; Team.objects.create(name='Bench', slug='bench')",
                ],
                env=env,
                check=True,
            )
            for label in ("first import", "second import (nothing new)"):
                started = time.perf_counter()
                out = subprocess.run(  # noqa: S603
                    [*manage, "import_mlflow", url, "--team", "bench"],
                    env=env,
                    check=True,
                    capture_output=True,
                    text=True,
                ).stdout
                elapsed = time.perf_counter() - started
                summary = out.strip().splitlines()[-1]
                print(f"{label}: {elapsed:.1f} s, {total / elapsed:.1f} versions/s read — {summary}", flush=True)
        finally:
            stop(server)


if __name__ == "__main__":
    main()
