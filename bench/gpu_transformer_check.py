"""The transformer case on one node: Gatehouse's benchmark (registry.evidence.benchmark through OnnxRuntime)
against a bare ``InferenceSession.run`` loop on the same inputs, the same providers and the same options,
in the same run, at two sequence lengths; on the CPU, and where present on CUDA and on TensorRT with FP16
kernels and its engine cache. The two must agree within 5%: the method adds no overhead of its own.

    .venv/bin/python bench/gpu_transformer_check.py                      # the committed tiny transformer
    .venv/bin/python bench/gpu_transformer_check.py --model big/model.onnx --batch 8 --sequences 128 512

Prints one JSON document; a provider this node lacks is reported as not available, never estimated.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import onnxruntime as ort

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from registry.evidence.benchmark import BenchmarkParams, make_inputs, run_benchmark  # noqa: E402
from registry.evidence.onnx import OnnxRuntime  # noqa: E402

CASES = (
    ("cpu", "CPUExecutionProvider", {}),
    ("cuda", "CUDAExecutionProvider", {}),
    ("tensorrt-fp16", "TensorrtExecutionProvider", {"fp16": True, "engine_cache": True}),
)


def bare_loop(runtime: OnnxRuntime, feeds, *, seconds: float, warmup: int) -> dict:
    """The plainest measurement there is: ``InferenceSession.run`` in a loop, on the benchmark's own session
    (a second session would leave two thread pools spinning on the same cores, and measure that instead)."""
    session = runtime.session
    for _ in range(warmup):
        session.run(None, feeds)
    runs, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        session.run(None, feeds)
        runs += 1
    return {"iterations": runs, "seconds": round(elapsed, 3), "per_s": runs / elapsed}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default=str(ROOT / "tests" / "fixtures" / "tiny-transformer" / "model.onnx"))
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--sequences", type=int, nargs="+", default=[128, 512])
    parser.add_argument("--vocabulary", type=int, default=512, help="token ids are drawn from [0, this)")
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    engines = tempfile.mkdtemp(prefix="gatehouse-trt-")
    report = {"onnxruntime": ort.__version__, "available": ort.get_available_providers(), "cases": []}
    for name, provider, tensorrt in CASES:
        device = "cpu" if provider == "CPUExecutionProvider" else "gpu"
        runtime = OnnxRuntime(args.model, device=device, tensorrt=tensorrt, engine_cache_dir=engines, provider=provider)
        if runtime.info.provider != provider:
            report["cases"].append({"case": name, "available": False, "ran_on": runtime.info.provider})
            continue
        for sequence in args.sequences:
            params = BenchmarkParams(
                batch_sizes=[args.batch],
                dims={"sequence": [sequence]},
                input_ranges={"input_ids": [0, args.vocabulary]},
                warmup_iterations=20,
                warmup_ms=1000,
                min_iterations=50,
                min_seconds=args.seconds,
            )
            feeds = make_inputs(
                runtime.info.inputs, args.batch, params.seed, dims={"sequence": sequence}, ranges=params.input_ranges
            )
            # The bare loop runs just before and just after the benchmark, and their mean is the reference: this
            # machine's pace drifts by more than 5% over seconds (shared cores), and drift would read as overhead.
            before = bare_loop(runtime, feeds, seconds=args.seconds, warmup=20)
            result = run_benchmark(runtime, params, gpu_index=0 if device == "gpu" else None)["results"][0]
            after = bare_loop(runtime, feeds, seconds=args.seconds, warmup=0)
            bare = {"per_s": (before["per_s"] + after["per_s"]) / 2}
            method = result["throughput_samples_s"] / args.batch
            report["cases"].append(
                {
                    "case": name,
                    "available": True,
                    "provider": runtime.info.provider,
                    "tensorrt_options": runtime.info.extra["tensorrt_options"],
                    "input_shapes": result["input_shapes"],
                    "gatehouse_inferences_per_s": round(method, 2),
                    "gatehouse_p50_ms": round(result["latency_ms"]["p50"], 4),
                    "bare_loop_inferences_per_s": round(bare["per_s"], 2),
                    "bare_loop_before_and_after": [round(before["per_s"], 2), round(after["per_s"], 2)],
                    "ratio": round(method / bare["per_s"], 4),
                    "within_5_percent": abs(1 - method / bare["per_s"]) <= 0.05,
                    "peak_gpu_memory_mib": (result.get("sampled") or {}).get("gpu_mem_used_mib", {}).get("max"),
                }
            )
    print(json.dumps(report, indent=2))  # noqa: T201
    return 0 if all(c.get("within_5_percent", True) for c in report["cases"]) else 1


if __name__ == "__main__":
    raise SystemExit(main())
