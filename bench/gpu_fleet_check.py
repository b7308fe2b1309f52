"""The fleet on a GPU node, end to end, on the embedded default (SQLite and the filesystem broker in a
temporary folder): `manage.py gpu_workers` starts a worker per card, each reports itself through NVML, and
a benchmark routed to the first card's class runs there. Prints the heartbeat row and the job's record.

    python bench/gpu_fleet_check.py [--timeout 300]

For a session lent an NVIDIA machine (README, "GPU workers"). Exit status 2: no GPU was seen (the reason is
printed); 1: the benchmark did not run on a card of its class. Nothing is fetched from the network.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--timeout", type=float, default=300)
    parser.add_argument(
        "--rehearse",
        metavar="CLASS",
        help="no GPU here: start one CPU worker declared as CLASS instead, to rehearse the script (it then "
        "reports the run on the CPU and exits 1)",
    )
    args = parser.parse_args()
    var = tempfile.mkdtemp(prefix="gatehouse-fleet-")
    os.environ.update(
        DJANGO_SETTINGS_MODULE="portal.settings", GATEHOUSE_VAR_DIR=var, DEBUG="true", GATEHOUSE_WORKER_HEARTBEAT_S="2"
    )
    sys.path.insert(0, str(ROOT))
    import django  # noqa: PLC0415 - after the environment is set

    django.setup()
    from django.core.management import call_command  # noqa: PLC0415

    from fleet import hardware  # noqa: PLC0415

    nvml = hardware.nvml()
    print("NVML:", json.dumps(nvml, indent=1))
    card = nvml["gpus"][0] if nvml["gpus"] else {"index": 0}
    if not nvml["gpus"] and not args.rehearse:
        print("No GPU seen:", nvml.get("reason"))
        return 2
    call_command("migrate", verbosity=0)
    command = [sys.executable, "manage.py", "gpu_workers"]
    if args.rehearse:
        command = [sys.executable, "-m", "celery", "-A", "portal", "worker", "-Q", "gpu", "-c", "1", "-n", "gpu0@%h"]
        os.environ["GATEHOUSE_DEVICE_CLASS"] = args.rehearse
    workers = subprocess.Popen(command, cwd=ROOT, start_new_session=True)
    try:
        return _check(card, args.timeout)
    finally:
        os.killpg(workers.pid, signal.SIGTERM)
        workers.wait(timeout=60)


def _check(card: dict, timeout: float) -> int:
    from django.contrib.auth import get_user_model  # noqa: PLC0415
    from django.contrib.auth.models import Group  # noqa: PLC0415
    from django.core.files import File  # noqa: PLC0415

    from bench.models import mlp_onnx  # noqa: PLC0415
    from fleet.models import Worker  # noqa: PLC0415
    from portal.core.models import Team  # noqa: PLC0415
    from portal.core.roles import Role, ensure_role_groups  # noqa: PLC0415
    from registry import services  # noqa: PLC0415
    from registry.services import jobs  # noqa: PLC0415

    deadline = time.monotonic() + timeout
    name = f"gpu{card['index']}@"
    while not (worker := Worker.objects.online().filter(name__startswith=name).first()):
        if time.monotonic() > deadline:
            print("No heartbeat from", name)
            return 1
        time.sleep(1)
    print("Heartbeat row:", json.dumps({f: getattr(worker, f) for f in _ROW}, indent=1, default=str))
    ensure_role_groups()
    team = Team.objects.create(name="GPU check", slug="gpu-check")
    user = get_user_model().objects.create_user("gpu-check")
    user.groups.set(Group.objects.filter(name__in=[Role.DATA_SCIENTIST, Role.IT_OPERATIONS]))
    team.members.add(user)
    model = services.registered_model_create(actor=user, name="mlp", team=team, task_type="multiclass", risk_tier="low")
    path = Path(tempfile.mkdtemp()) / "mlp.onnx"
    mlp_onnx(str(path))
    with path.open("rb") as fh:
        version = services.model_version_create(actor=user, model=model, artifact=File(fh, name="mlp.onnx"))
    job = jobs.job_create(
        actor=user,
        version=version,
        kind="benchmark",
        device=worker.device_class or "gpu",
        parameters={"batch_sizes": [1, 32], "min_seconds": 3, "min_iterations": 100},
    )
    while not job.finished:
        if time.monotonic() > deadline:
            print("The benchmark did not finish:", job.message)
            return 1
        time.sleep(1)
        job.refresh_from_db()
    print("Job:", json.dumps({f: getattr(job, f) for f in _JOB}, indent=1, default=str))
    print("Runtime:", json.dumps(job.result.get("runtime") if job.result else job.error, indent=1))
    return 0 if job.result and job.result["runtime"].get("device") == "gpu" and job.gpu_uuid else 1


_ROW = ("name", "queues", "device_class", "gpus", "driver_version", "cuda_version", "software", "last_seen_at")
_JOB = ("pk", "status", "verdict", "device", "queue", "worker", "device_class", "gpu_uuid", "error")

if __name__ == "__main__":
    sys.exit(main())
