"""Benchmarks of transformer-shaped models: sizes for symbolic dimensions other than the batch, token ids
drawn from a range, float16 models, TensorRT options; each case records the shapes it ran at."""

from __future__ import annotations

import numpy as np
import pytest
from django.core.files.base import ContentFile
from onnx import TensorProto, helper

from portal.core.errors import ApplicationError
from registry import services
from registry.choices import JobStatus
from registry.evidence import TensorSpec
from registry.evidence.benchmark import BenchmarkParams, make_inputs, slo_verdict
from registry.evidence.onnx import tensorrt_options
from registry.models import Job
from registry.runner import run_job
from registry.services import jobs as job_services
from tests.factories import RegisteredModelFactory
from tests.registry.test_external_data import _files

pytestmark = pytest.mark.django_db
QUICK = {"batch_sizes": [1, 4], "min_seconds": 0.1, "min_iterations": 10, "warmup_ms": 0, "warmup_iterations": 1}


@pytest.fixture
def transformer(scientist, team):
    model = RegisteredModelFactory(name="tiny", team=team, task_type="binary-classification", slo_p99_latency_ms=1e6)
    artifact, data = _files()
    return services.model_version_create(actor=scientist, model=model, artifact=artifact, data=data)


def test_each_batch_and_sequence_length_is_measured_with_token_ids_from_the_range(scientist, transformer):
    parameters = {**QUICK, "dims": {"sequence": [64, 16]}, "input_ranges": {"input_ids": [0, 512]}}
    job = job_services.job_create(actor=scientist, version=transformer, kind="benchmark", parameters=parameters)
    assert job.parameters["dims"] == {"sequence": [16, 64]}  # sorted: the last case of a batch is the largest
    assert run_job(job.pk) == JobStatus.SUCCEEDED
    job = Job.objects.get(pk=job.pk)
    cases = [(r["batch_size"], r["dims"], r["input_shapes"]) for r in job.result["results"]]
    assert cases == [
        (1, {"sequence": 16}, {"input_ids": [1, 16]}),
        (1, {"sequence": 64}, {"input_ids": [1, 64]}),
        (4, {"sequence": 16}, {"input_ids": [4, 16]}),
        (4, {"sequence": 64}, {"input_ids": [4, 64]}),
    ]
    assert all(r["iterations"] >= 10 for r in job.result["results"])
    assert job.result["method"]["input_ranges"] == {"input_ids": [0, 512]}
    # The SLO is judged at the largest sequence: p99 at batch 1 is batch 1's sequence-64 case.
    p99 = next(c for c in job.result["slo"]["checks"] if c["name"] == "p99 latency at batch 1")
    assert p99["actual"] == round(job.result["results"][1]["latency_ms"]["p99"], 4)
    # No TensorRT here: what was asked is recorded, and that no option applied.
    runtime = job.result["runtime"]
    assert runtime["provider"] == "CPUExecutionProvider" and runtime["tensorrt_options"] == {}


def test_integer_inputs_are_drawn_from_their_range_and_dims_set_their_dimension():
    specs = [
        TensorSpec("input_ids", "int64", ["batch", "sequence"]),
        TensorSpec("mask", "int64", ["batch", "sequence"]),
    ]
    feeds = make_inputs(specs, 2, 0, dims={"sequence": 300}, ranges={"input_ids": [1000, 30522]})
    assert feeds["input_ids"].shape == (2, 300) and feeds["mask"].shape == (2, 300)
    assert feeds["input_ids"].min() >= 1000 and feeds["input_ids"].max() < 30522
    assert feeds["mask"].max() < 10  # no range given: [0, 10)


def test_a_float16_model_is_benchmarked_with_float16_inputs(scientist, team):
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT16, ["batch", "width"])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT16, ["batch", "width"])
    graph = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "half", [x], [y])
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    proto.ir_version = 8
    model = RegisteredModelFactory(name="half", team=team)
    version = services.model_version_create(
        actor=scientist, model=model, artifact=ContentFile(proto.SerializeToString(), name="half.onnx")
    )
    assert version.signature["inputs"][0]["dtype"] == "float16"
    parameters = {**QUICK, "dims": {"width": [256]}}
    job = job_services.job_create(actor=scientist, version=version, kind="benchmark", parameters=parameters)
    assert run_job(job.pk) == JobStatus.SUCCEEDED, Job.objects.get(pk=job.pk).error
    assert Job.objects.get(pk=job.pk).result["results"][-1]["input_shapes"] == {"x": [4, 256]}
    feeds = make_inputs([TensorSpec("x", "float16", ["batch", "width"])], 1, 0, dims={"width": 8})
    assert feeds["x"].dtype == np.float16


REFUSALS = {
    "a dimension the model does not have": (
        {"dims": {"tokens": [128]}},
        "not a symbolic dimension of this model's inputs other than the batch (those are: sequence)",
    ),
    "the batch named as a dimension": ({"dims": {"batch": [2]}}, "dims names 'batch'"),
    "a size that is not a number": ({"dims": {"sequence": ["long"]}}, "dims sequence must be a whole number"),
    "a size of zero": ({"dims": {"sequence": [0]}}, "dim must be between 1 and 1000000"),
    "too many cases": ({"batch_sizes": list(range(1, 10)), "dims": {"sequence": list(range(1, 9))}}, "72 cases"),
    "a range for an input that is not an integer": (
        {"input_ranges": {"logits": [0, 5]}},
        "not an integer input of this model (those are: input_ids)",
    ),
    "a range the wrong way round": ({"input_ranges": {"input_ids": [10, 0]}}, "is [low, high) in whole numbers"),
    "an unknown TensorRT option": ({"tensorrt": {"int8": True}}, "tensorrt takes true or false for fp16, engine_cache"),
}


@pytest.mark.parametrize("case", REFUSALS)
def test_benchmark_parameters_are_refused_with_the_reason(scientist, transformer, case):
    change, message = REFUSALS[case]
    with pytest.raises(ApplicationError) as refused:
        job_services.job_create(actor=scientist, version=transformer, kind="benchmark", parameters={**QUICK, **change})
    assert message in refused.value.message
    assert not Job.objects.exists()


def test_the_tensor_budget_counts_the_largest_dims(scientist, transformer, settings):
    settings.GATEHOUSE_BENCHMARK_MAX_TENSOR_MB = 1
    parameters = {**QUICK, "dims": {"sequence": [16, 200_000]}}
    with pytest.raises(ApplicationError, match="GATEHOUSE_BENCHMARK_MAX_TENSOR_MB"):
        job_services.job_create(actor=scientist, version=transformer, kind="benchmark", parameters=parameters)


def test_tensorrt_options_are_onnxruntimes_names_with_the_engine_cache_on_the_node():
    assert tensorrt_options({"fp16": True, "engine_cache": True}, "/var/cache/trt") == {
        "trt_fp16_enable": True,
        "trt_engine_cache_enable": True,
        "trt_engine_cache_path": "/var/cache/trt",
        "trt_timing_cache_enable": True,
        "trt_timing_cache_path": "/var/cache/trt",
    }
    assert tensorrt_options({}, "/var/cache/trt") == {}


def test_the_slo_is_judged_at_the_largest_case_of_each_batch():
    def case(batch, seq, p99, throughput):
        return {
            "batch_size": batch,
            "dims": {"sequence": seq},
            "latency_ms": {"p99": p99},
            "throughput_samples_s": throughput,
        }

    result = {"results": [case(1, 16, 1.0, 100), case(1, 512, 9.0, 50), case(8, 16, 2.0, 800), case(8, 512, 20.0, 300)]}
    verdict = slo_verdict(result, p99_ms=5.0, min_throughput=500)
    assert [(c["actual"], c["passed"]) for c in verdict["checks"]] == [(9.0, False), (300, False)]


def test_cases_are_every_batch_times_every_combination():
    params = BenchmarkParams(batch_sizes=[1, 2], dims={"a": [1, 2], "b": [3]})
    assert params.cases() == [
        (1, {"a": 1, "b": 3}),
        (1, {"a": 2, "b": 3}),
        (2, {"a": 1, "b": 3}),
        (2, {"a": 2, "b": 3}),
    ]


def test_the_form_takes_dims_ranges_and_tensorrt_and_the_job_page_shows_the_shapes(client, scientist, transformer):
    client.force_login(scientist)
    response = client.post(
        "/models/tiny/versions/1/jobs/benchmark/",
        {
            "device": "cpu",
            "batch_sizes": "1",
            "min_seconds": "0.1",
            "min_iterations": "10",
            "warmup_ms": "0",
            "dims": "sequence = 8, 32",
            "input_ranges": "input_ids = 0..512",
            "tensorrt_fp16": "on",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    job = Job.objects.get()
    assert job.parameters["dims"] == {"sequence": [8, 32]} and job.parameters["tensorrt"] == {"fp16": True}
    assert job.parameters["input_ranges"] == {"input_ids": [0, 512]}
    assert run_job(job.pk) == JobStatus.SUCCEEDED
    page = client.get(f"/jobs/{job.pk}/").content.decode()
    assert "input_ids 1×32" in page and "sequence at 8, 32" in page
    assert "TensorRT asked for fp16 (not applied: TensorRT did not run)" in page


def test_the_form_says_how_to_write_dims(client, scientist, transformer):
    client.force_login(scientist)
    response = client.post(
        "/models/tiny/versions/1/jobs/benchmark/",
        {
            "device": "cpu",
            "batch_sizes": "1",
            "min_seconds": "1",
            "min_iterations": "10",
            "warmup_ms": "0",
            "dims": "sequence 8",
        },
    )
    assert response.status_code == 400 and "name = value, e.g. sequence = 128, 512" in response.content.decode()
    assert not Job.objects.exists()
