"""Does the benchmark job measure what a bare loop measures? Throughput at batch 1 on the CPU, both ways.

    .venv/bin/python bench/bench_vs_bare.py [--seconds 5] [--rounds 3]

Runs, alternately and in one process, (a) the benchmark code path the jobs use
(registry.evidence.benchmark.run_benchmark) and (b) a bare timed loop of onnxruntime's
InferenceSession.run on the same model file and the same generated inputs, and prints both throughputs
and their difference. The target is agreement within 5%.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import onnxruntime as ort  # noqa: E402

from bench.models import mlp_onnx  # noqa: E402
from registry.evidence import load_runtime  # noqa: E402
from registry.evidence.benchmark import BenchmarkParams, make_inputs, run_benchmark  # noqa: E402


def bare_loop(path: str, feeds: dict, seconds: float) -> float:
    session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    for _ in range(20):
        session.run(names, feeds)
    n = 0
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        session.run(names, feeds)
        n += 1
    return n / (time.perf_counter() - start)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    path = str(Path(tempfile.mkdtemp()) / "mlp.onnx")
    mlp_onnx(path)
    runtime = load_runtime(path, device="cpu")
    feeds = make_inputs(runtime.info.inputs, 1, 0)
    rows = []
    for round_ in range(args.rounds):
        bare = bare_loop(path, feeds, args.seconds)
        record = run_benchmark(
            runtime,
            BenchmarkParams(
                batch_sizes=[1], min_seconds=args.seconds, max_seconds=args.seconds * 4, min_iterations=100
            ),
        )
        job = record["results"][0]["throughput_samples_s"]
        rows.append(
            {
                "round": round_ + 1,
                "benchmark_job_samples_s": round(job, 1),
                "bare_loop_samples_s": round(bare, 1),
                "difference_pct": round((job - bare) / bare * 100, 2),
            }
        )
    worst = max(abs(r["difference_pct"]) for r in rows)
    print(
        json.dumps(
            {
                "model": "MLP 256→1024→1024→10, float32, batch 1",
                "onnxruntime": ort.__version__,
                "provider": runtime.info.provider,
                "rounds": rows,
                "worst_difference_pct": worst,
                "within_5_pct": worst <= 5.0,
            },
            indent=2,
            ensure_ascii=False,
        )
    )
    return 0 if worst <= 5.0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
