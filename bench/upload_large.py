"""Measure a large ONNX upload through the API: MB/s, and the web process's peak memory.

    .venv/bin/python bench/upload_large.py --mb 500

Starts gunicorn (one sync worker) on a scratch SQLite database and artifact folder, creates a data
scientist with a token, writes a real ONNX file of about --mb megabytes (one big MatMul weight), uploads it
with curl (multipart, as a CI pipeline would), and reads the worker's peak RSS (VmHWM) from /proc.
The graph is parsed in a separate, memory-limited child process; its memory is not the web process's.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

ROOT = Path(__file__).resolve().parent.parent


def make_model(path: Path, mb: int) -> None:
    rows = 1000
    cols = mb * 1024 * 1024 // 4 // rows
    weights = numpy_helper.from_array(np.random.default_rng(0).random((rows, cols), dtype=np.float32), "W")
    x = helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", rows])
    y = helper.make_tensor_value_info("output", TensorProto.FLOAT, ["N", cols])
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["input", "W"], ["output"])], "big", [x], [y], initializer=[weights]
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save_model(model, str(path))


def vm_hwm_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise RuntimeError("no VmHWM")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mb", type=int, default=500)
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="gatehouse-bench-"))
    env = {
        **os.environ,
        "DEBUG": "false",
        "SECRET_KEY": "bench-only",
        "GATEHOUSE_VAR_DIR": str(work),
        "GATEHOUSE_MAX_UPLOAD_MB": str(args.mb * 2),
        "ALLOWED_HOSTS": "127.0.0.1",
    }
    env.pop("DATABASE_URL", None)
    python = sys.executable
    subprocess.run([python, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    setup = (
        "from django.contrib.auth.models import User, Group; from portal.core.models import Team; "
        "from rest_framework.authtoken.models import Token; from registry.models import RegisteredModel; "
        "u = User.objects.create_user('bench'); u.groups.add(Group.objects.get(name='data-scientists')); "
        "t = Team.objects.create(name='Bench', slug='bench'); t.members.add(u); "
        "RegisteredModel.objects.create(name='big', team=t, owner=u, created_by=u, task_type='regression'); "
        "print(Token.objects.create(user=u).key)"
    )
    token = (
        subprocess.run(
            [python, "manage.py", "shell", "-c", setup], cwd=ROOT, env=env, check=True, capture_output=True, text=True
        )
        .stdout.strip()
        .splitlines()[-1]
    )
    model_path = work / "big.onnx"
    make_model(model_path, args.mb)
    size = model_path.stat().st_size
    digest = hashlib.sha256(model_path.read_bytes()).hexdigest()

    server = subprocess.Popen(
        [python, "-m", "gunicorn", "portal.wsgi", "-w", "1", "-b", f"127.0.0.1:{args.port}", "--timeout", "600"],
        cwd=ROOT,
        env=env,
    )
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{args.port}/healthz", timeout=1)  # noqa: S310
                break
            except OSError:
                time.sleep(0.2)
        workers = subprocess.run(["pgrep", "-P", str(server.pid)], capture_output=True, text=True).stdout.split()
        worker = int(workers[0])
        before = vm_hwm_kb(worker)
        start = time.perf_counter()
        out = subprocess.run(
            [
                "curl",
                "-sS",
                "-H",
                f"Authorization: Token {token}",
                "-F",
                f"artifact=@{model_path}",
                f"http://127.0.0.1:{args.port}/api/v1/models/big/versions/",
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        elapsed = time.perf_counter() - start
        peak = vm_hwm_kb(worker)
        try:
            body = json.loads(out)
        except json.JSONDecodeError:
            raise SystemExit(f"upload failed: {out[:2000]}") from None
        assert body.get("sha256") == digest, body
        print(
            json.dumps(
                {  # noqa: T201
                    "file_mb": round(size / 1024 / 1024, 1),
                    "seconds": round(elapsed, 2),
                    "mb_per_s": round(size / 1024 / 1024 / elapsed, 1),
                    "web_worker_peak_rss_mb_before": round(before / 1024, 1),
                    "web_worker_peak_rss_mb_after": round(peak / 1024, 1),
                    "sha256_matches": body["sha256"] == digest,
                },
                indent=2,
            )
        )
    finally:
        server.terminate()
        server.wait()
        subprocess.run(["rm", "-rf", str(work)], check=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
