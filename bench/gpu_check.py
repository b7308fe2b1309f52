"""Run the benchmark code path on an NVIDIA GPU and print the record. Nothing is fetched from the network.

    python bench/gpu_check.py [--seconds 3]

Needs only numpy, onnx and a GPU runtime: onnxruntime-gpu (CUDA or TensorRT execution provider), or else
PyTorch with CUDA, in which case a TorchScript model is built here and run through torch. nvidia-ml-py, if
installed, adds GPU utilisation, power and clocks sampled during the measured phase. The model is an MLP
built in this script (bench/models.py). Exit status 2 means no GPU runtime was found: the record then says
so, and nothing is reported as a GPU figure.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.models import mlp_onnx  # noqa: E402
from registry.evidence import TensorSpec, environment, load_runtime  # noqa: E402
from registry.evidence.benchmark import BenchmarkParams, run_benchmark  # noqa: E402


def torch_runtime(path: Path):
    import torch

    from registry.evidence.torch import TorchScriptRuntime

    if not torch.cuda.is_available():
        return None
    torch.manual_seed(0)
    module = torch.nn.Sequential(
        torch.nn.Linear(256, 1024),
        torch.nn.ReLU(),
        torch.nn.Linear(1024, 1024),
        torch.nn.ReLU(),
        torch.nn.Linear(1024, 10),
    )
    torch.jit.script(module.eval()).save(str(path))
    return TorchScriptRuntime(str(path), device="gpu", input_specs=[TensorSpec("input", "float32", ["N", 256])])


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--batch-sizes", default="1,8,32,128")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="gatehouse-gpu-"))
    onnx_path = work / "mlp.onnx"
    mlp_onnx(str(onnx_path))
    runtime = None
    try:
        runtime = load_runtime(str(onnx_path), device="gpu")
        if runtime.info.fell_back_to_cpu:
            runtime = None
    except Exception as exc:  # an onnxruntime-gpu without its CUDA libraries fails here
        print(f"onnxruntime on the GPU failed: {exc}", file=sys.stderr)
    if runtime is None:
        try:
            runtime = torch_runtime(work / "mlp.pt")
        except ImportError:
            runtime = None
    env = environment.capture()
    if runtime is None:
        print(json.dumps({"gpu_runtime_found": False, "environment": env}, indent=2))
        return 2
    params = BenchmarkParams(
        batch_sizes=[int(b) for b in args.batch_sizes.split(",")], min_seconds=args.seconds, min_iterations=200
    )
    record = run_benchmark(runtime, params, gpu_index=0)
    for r in record["results"]:
        r.pop("latency_histogram_ms", None)
    print(json.dumps({"gpu_runtime_found": True, "environment": env, "record": record}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
