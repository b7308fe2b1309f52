"""Validation of a 1,000,000-row dataset: wall time and the worker process's peak memory.

    .venv/bin/python bench/validate_1m.py [--rows 1000000]

Trains the demo's breast-cancer classifier (scikit-learn, converted by skl2onnx), writes a CSV of --rows
rows drawn from the data set with noise, registers both through the services on a scratch SQLite database,
then runs the validation job in a fresh process exactly as a worker does (registry.runner.run_job) and
reports that process's peak resident memory (ru_maxrss) and the job's wall time.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

SETUP = """
import numpy as np, pandas as pd
from django.contrib.auth.models import User, Group
from django.core.files import File
from django.core.files.base import ContentFile
from portal.core.models import Team
from registry import services
from registry.services import jobs as job_services
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from skl2onnx import convert_sklearn
from skl2onnx.common.data_types import FloatTensorType

rows = int({rows})
bunch = load_breast_cancer()
x = bunch.data.astype(np.float32)
est = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(x, bunch.target)
onx = convert_sklearn(est, initial_types=[("input", FloatTensorType([None, 30]))],
                      options={{id(est): {{"zipmap": False}}}}, target_opset={{"": 17, "ai.onnx.ml": 3}})
u = User.objects.create_user("bench"); u.groups.add(Group.objects.get(name="data-scientists"))
t = Team.objects.create(name="Bench", slug="bench"); t.members.add(u)
m = services.registered_model_create(actor=u, name="tumor", team=t, task_type="binary-classification",
                                     risk_tier="high")
v = services.model_version_create(actor=u, model=m, artifact=ContentFile(onx.SerializeToString(), name="m.onnx"))
rng = np.random.default_rng(0)
path = "{csv}"
header = True
for start in range(0, rows, 200_000):
    n = min(200_000, rows - start)
    idx = rng.integers(0, len(x), n)
    frame = pd.DataFrame(x[idx] * rng.normal(1, 0.02, (n, 30)).astype(np.float32),
                         columns=[f"f{{i}}" for i in range(30)])
    frame["target"] = bunch.target[idx]
    frame.to_csv(path, mode="a", header=header, index=False)
    header = False
with open(path, "rb") as fh:
    d = services.dataset_create(actor=u, model=m, name="million", label_column="target", file=File(fh, name="d.csv"))
job = job_services.job_create(actor=u, version=v, kind="validation", dataset=d)
print(job.pk)
"""

RUN = """
import resource, time
from registry.runner import run_job
from registry.models import Job
start = time.perf_counter()
status = run_job({job})
elapsed = time.perf_counter() - start
job = Job.objects.get(pk={job})
import json
print(json.dumps({{"status": status, "verdict": job.verdict, "rows": job.result.get("rows"),
                  "metrics": job.result.get("metrics"), "seconds": round(elapsed, 1),
                  "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}}))
"""


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="gatehouse-validate-"))
    env = {
        **os.environ,
        "DEBUG": "false",
        "SECRET_KEY": "bench-only",
        "GATEHOUSE_VAR_DIR": str(work),
        "GATEHOUSE_MAX_UPLOAD_MB": "4096",
    }
    env.pop("DATABASE_URL", None)
    env.pop("REDIS_URL", None)
    python = sys.executable
    subprocess.run([python, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    csv = work / "million.csv"
    out = subprocess.run(
        [python, "manage.py", "shell", "-c", SETUP.format(rows=args.rows, csv=csv)],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    job = int(out.strip().splitlines()[-1])
    size_mb = csv.stat().st_size / 2**20
    out = subprocess.run(
        [python, "manage.py", "shell", "-c", RUN.format(job=job)],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    result = json.loads(out.strip().splitlines()[-1])
    result["dataset_mb"] = round(size_mb, 1)
    result["under_1_gib"] = result["peak_rss_mib"] < 1024
    print(json.dumps(result, indent=2))
    subprocess.run(["rm", "-rf", str(work)], check=False)
    return 0 if result["under_1_gib"] and result["status"] == "succeeded" else 1


if __name__ == "__main__":
    raise SystemExit(main())
