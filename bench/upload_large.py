"""Measure a large ONNX upload through the API: MB/s, and the web process's peak memory, beside this
machine's limit (reading the same bytes, hashing them and writing them to disk) measured in the same run.

    .venv/bin/python bench/upload_large.py --mb 500              # one file
    .venv/bin/python bench/upload_large.py --mb 2600 --external  # weights in a data file (over 2 GB: it must)

Starts gunicorn (one sync worker) on a scratch SQLite database and artifact folder, creates a data
scientist with a token, writes a real ONNX file of about --mb megabytes (one big MatMul weight), uploads it
with curl (multipart, as a CI pipeline would), and reads the worker's peak RSS (VmHWM) from /proc.
The graph is parsed in a separate, memory-limited child process; its memory is not the web process's.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import hashlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np
from onnx import TensorProto, helper, numpy_helper

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from registry.manifests import version_digest  # noqa: E402


def make_model(path: Path, mb: int, *, external: bool = False) -> list[Path]:
    """A real ONNX model of about ``mb`` MB: a chain of square MatMuls (at most 512 MB of weights each).
    ``external``: the weights in ``<name>.data`` beside the graph, as PyTorch saves a large model; written
    tensor by tensor (a graph holding them all could not be serialised past 2 GB, which is the point)."""
    rows = 4096
    layers = max(1, -(-mb // 512))
    cols_total = mb * 1024 * 1024 // 4 // rows
    rng = np.random.default_rng(0)
    data = path.with_name(path.name + ".data")
    nodes, weights, previous, offset = [], [], "input", 0
    with contextlib.ExitStack() as stack:
        sink = stack.enter_context(open(data, "wb")) if external else None
        for i in range(layers):
            cols = rows if i < layers - 1 else max(1, cols_total - rows * (layers - 1))
            array = rng.random((rows, cols), dtype=np.float32)
            if sink is None:
                weights.append(numpy_helper.from_array(array, f"W{i}"))
            else:
                tensor = TensorProto(name=f"W{i}", dims=array.shape, data_type=TensorProto.FLOAT)
                tensor.data_location = TensorProto.EXTERNAL
                for key, value in (("location", data.name), ("offset", offset), ("length", array.nbytes)):
                    tensor.external_data.add(key=key, value=str(value))
                sink.write(array.tobytes())
                offset += array.nbytes
                weights.append(tensor)
            del array
            nodes.append(helper.make_node("MatMul", [previous, f"W{i}"], [f"h{i}"]))
            previous = f"h{i}"
    x = helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", rows])
    y = helper.make_tensor_value_info(previous, TensorProto.FLOAT, ["N", cols])
    graph = helper.make_graph(nodes, "big", [x], [y], initializer=weights)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    path.write_bytes(model.SerializeToString())
    return [path, data] if external else [path]


def hash_write_limit(paths: list[Path], scratch: Path) -> float:
    """MB/s of this machine reading the files, hashing them and writing them to disk, as a server must."""
    size = sum(p.stat().st_size for p in paths)
    began = time.perf_counter()
    for path in paths:
        digest = hashlib.sha256()
        with open(path, "rb") as source, open(scratch, "wb") as out:
            while chunk := source.read(4 * 1024 * 1024):
                digest.update(chunk)
                out.write(chunk)
        scratch.unlink()
    return size / 2**20 / (time.perf_counter() - began)


def write_limit(paths: list[Path], scratch: Path) -> float:
    """MB/s of this machine reading the files and writing them to disk, with no hashing: the disk's pace,
    which no server can pass."""
    size = sum(p.stat().st_size for p in paths)
    began = time.perf_counter()
    for path in paths:
        with open(path, "rb") as source, open(scratch, "wb") as out:
            while chunk := source.read(4 * 1024 * 1024):
                out.write(chunk)
        scratch.unlink()
    return size / 2**20 / (time.perf_counter() - began)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(4 * 1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


def _curl(*args: str) -> str:
    done = subprocess.run(["curl", "-sS", "--fail-with-body", *args], capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"curl {args[-1]} failed: {done.stdout[:2000]} {done.stderr[:500]}")
    return done.stdout


def _json(out: str) -> dict:
    try:
        return json.loads(out)
    except json.JSONDecodeError:
        raise SystemExit(f"upload failed: {out[:2000]}") from None


def by_multipart(base: str, token: str, paths: list[Path]) -> dict:
    """One request: the graph as 'artifact', each data file as a repeated 'data' part."""
    return _json(
        _curl(
            "-H",
            f"Authorization: Token {token}",
            "-F",
            f"artifact=@{paths[0]}",
            *[arg for p in paths[1:] for arg in ("-F", f"data=@{p}")],
            f"{base}/api/v1/models/big-multipart/versions/",
        )
    )


def by_tus(base: str, token: str, paths: list[Path]) -> dict:
    """The README's curl recipe: create each upload, send its bytes in one PATCH, register the version."""
    ids = []
    for path in paths:
        created = _json(
            _curl(
                "-X",
                "POST",
                "-H",
                f"Authorization: Token {token}",
                "-H",
                "Tus-Resumable: 1.0.0",
                "-H",
                f"Upload-Length: {path.stat().st_size}",
                "-H",
                f"Upload-Metadata: filename {base64.b64encode(path.name.encode()).decode()}",
                f"{base}/api/v1/uploads/",
            )
        )
        _curl(
            "-X",
            "PATCH",
            "-H",
            f"Authorization: Token {token}",
            "-H",
            "Tus-Resumable: 1.0.0",
            "-H",
            "Content-Type: application/offset+octet-stream",
            "-H",
            "Upload-Offset: 0",
            "-T",
            str(path),
            created["url"].rstrip("/"),  # curl -T appends the file name to a URL ending in /
        )
        ids.append(created["id"])
    return _json(
        _curl(
            "-H",
            f"Authorization: Token {token}",
            "-H",
            "Content-Type: application/json",
            "-d",
            json.dumps({"artifact_upload": ids[0], "data_uploads": ids[1:]}),
            f"{base}/api/v1/models/big-tus/versions/",
        )
    )


WAYS = {"multipart": by_multipart, "tus": by_tus}


def vm_hwm_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise RuntimeError("no VmHWM")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mb", type=int, default=500)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--external", action="store_true", help="weights in an external data file")
    parser.add_argument("--ways", default="multipart,tus", help="comma-separated: multipart, tus")
    parser.add_argument("--profile", help="record the web worker with py-spy (on PATH) into this file")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="gatehouse-bench-"))
    env = {
        **os.environ,
        "DEBUG": "false",
        "SECRET_KEY": "bench-only",
        "GATEHOUSE_VAR_DIR": str(work),
        "GATEHOUSE_MAX_UPLOAD_MB": str(args.mb * 2),
        "GATEHOUSE_INSPECT_TIMEOUT_S": "900",
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
        "[RegisteredModel.objects.create(name=f'big-{w}', team=t, owner=u, created_by=u, task_type='regression') "
        "for w in ('multipart', 'tus')]; "
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
    paths = make_model(model_path, args.mb, external=args.external)
    size = sum(p.stat().st_size for p in paths)
    files = [{"path": p.name, "size": p.stat().st_size, "sha256": _sha256(p)} for p in paths]
    digest = version_digest(files)

    server = subprocess.Popen(
        [python, "-m", "gunicorn", "-c", "python:portal.gunicorn_conf", "portal.wsgi"],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,  # the access log
        env={**env, "GUNICORN_BIND": f"127.0.0.1:{args.port}", "WEB_WORKERS": "1"},
    )
    base = f"http://127.0.0.1:{args.port}"
    results = {"files": [p.name for p in paths], "total_mb": round(size / 2**20, 1), "ways": {}}
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"{base}/healthz", timeout=1)  # noqa: S310
                break
            except OSError:
                time.sleep(0.2)
        workers = subprocess.run(["pgrep", "-P", str(server.pid)], capture_output=True, text=True).stdout.split()
        worker = int(workers[0])
        results["web_worker_peak_rss_mb_idle"] = round(vm_hwm_kb(worker) / 1024, 1)
        for way in args.ways.split(","):
            # The limit is measured just before and just after each way in, from the same clean start (no dirty
            # pages left by the step before): the disk's pace drifts over minutes on a shared machine.
            os.sync()
            limit = hash_write_limit(paths, work / "scratch.bin")
            os.sync()
            profiler = (
                subprocess.Popen(["py-spy", "record", "-p", str(worker), "-f", "raw", "-o", args.profile, "-r", "50"])
                if args.profile
                else None
            )
            start = time.perf_counter()
            body = WAYS[way](base, token, paths)
            elapsed = time.perf_counter() - start
            if profiler:
                profiler.send_signal(signal.SIGINT)
                profiler.wait()
            assert body.get("sha256") == digest, body
            os.sync()
            after = hash_write_limit(paths, work / "scratch.bin")
            limit = (limit + after) / 2  # before and after: the mean of the two
            os.sync()
            disk = write_limit(paths, work / "scratch.bin")
            os.sync()
            results["ways"][way] = {
                "seconds": round(elapsed, 2),
                "mb_per_s": round(size / 2**20 / elapsed, 1),
                "hash_write_limit_mb_per_s": round(limit, 1),
                "share_of_limit": round(size / 2**20 / elapsed / limit, 2),
                # The server hashes on one thread while it writes on another, so it can pass the one-thread
                # hash+write figure above; the disk's own pace is the ceiling.
                "write_only_limit_mb_per_s": round(disk, 1),
                "web_worker_peak_rss_mb": round(vm_hwm_kb(worker) / 1024, 1),
                "digest_matches": True,
            }
        print(json.dumps(results, indent=2))  # noqa: T201
    finally:
        server.terminate()
        server.wait()
        subprocess.run(["rm", "-rf", str(work)], check=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
