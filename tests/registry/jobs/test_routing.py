"""Where benchmarks go and what they record: the reaper leaves a job waiting for a class alone, the version page
puts the latest benchmark of each class side by side, and the devices a benchmark is checked against."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from portal.management.commands.gpu_workers import worker_commands
from registry.choices import JobStatus
from registry.evidence.devices import ran_on
from registry.models import Job
from registry.services import jobs as job_services
from tests.factories import JobFactory, RegisteredModelFactory, version_create
from tests.fleet.reports import report_in

pytestmark = pytest.mark.django_db


def test_the_reaper_leaves_a_job_waiting_for_a_class_nobody_serves(scientist, team, settings):
    version = version_create(RegisteredModelFactory(name="lin", team=team), scientist)
    job = job_services.job_create(actor=scientist, version=version, kind="benchmark", device="a100")
    long_ago = timezone.now() - timezone.timedelta(seconds=settings.GATEHOUSE_JOB_REDISPATCH_AFTER_S * 16)
    Job.objects.filter(pk=job.pk).update(celery_task_id="sent", dispatched_at=long_ago, dispatches=1)
    assert job_services.reap_stale_jobs()["resent"] == 0  # its message waits in gpu.a100: nothing was lost
    report_in("gpu0@node-1", queues=("gpu",), device_class="a100")
    assert job_services.reap_stale_jobs()["resent"] == 1  # a worker of its class is online and never got it


def _benchmark(version, device_class, *, p99, throughput, power=None, memory=None):
    sampled = {}
    if power is not None:
        sampled = {"power_w": {"mean": power, "max": power}, "gpu_mem_used_mib": {"mean": memory, "max": memory}}
    results = [
        {
            "batch_size": 1,
            "latency_ms": {"p50": p99 / 2, "p99": p99},
            "throughput_samples_s": 1000 / p99,
            "sampled": {},
        },
        {
            "batch_size": 32,
            "latency_ms": {"p50": 1.0, "p99": 2.0},
            "throughput_samples_s": throughput,
            "sampled": sampled,
        },
    ]
    return JobFactory(
        version=version,
        kind="benchmark",
        device_class=device_class,
        result={"runtime": {"device": "cpu" if device_class == "cpu" else "gpu"}, "results": results},
        finished_at=timezone.now(),
    )


def test_the_version_page_shows_the_latest_benchmark_of_each_class_side_by_side(client, users, team):
    version = version_create(RegisteredModelFactory(name="lin", team=team), users["scientist"])
    _benchmark(version, "h100", p99=0.9, throughput=10_000, power=300.0, memory=2048)
    latest = _benchmark(version, "h100", p99=0.5, throughput=20_000, power=250.0, memory=1024)
    on_cpu = _benchmark(version, "cpu", p99=4.0, throughput=900)
    JobFactory(version=version, kind="benchmark", device_class="l4", status=JobStatus.RUNNING)  # not finished
    client.force_login(users["itops"])
    page = client.get("/models/lin/versions/1/").content.decode()
    table = page[
        page.index('id="benchmarks-by-class"') : page.index("</table>", page.index('id="benchmarks-by-class"'))
    ]
    assert table.count("<tr>") == 3  # the header, H100's latest, the CPU's
    assert f"#{latest.pk}" in table and f"#{on_cpu.pk}" in table and "L4" not in table
    assert "0.250 / 0.500" in table and "20,000" in table and "1,024 MiB" in table and "250 W" in table
    assert "80.0" in table  # 20,000 samples/s over 250 W


def test_a_class_benchmark_counts_only_on_a_card_of_that_class():
    on_h100 = {"runtime": {"device": "gpu", "device_class": "h100"}}
    assert ran_on(on_h100, {}, "h100") and ran_on(on_h100, {}, "gpu") and not ran_on(on_h100, {}, "l4")
    assert not ran_on({"runtime": {"device": "cpu", "device_class": "cpu"}}, {"device_class": "h100"}, "h100")
    older = {"runtime": {"device": "gpu"}}  # recorded before classes were: read from the worker's NVML names
    assert ran_on(older, {"nvml": {"gpus": [{"name": "NVIDIA H100 80GB HBM3"}]}}, "h100")


def test_gpu_workers_starts_one_worker_per_card_pinned_to_its_uuid():
    cards = [{"index": 0, "uuid": "GPU-aaaa"}, {"index": 1, "uuid": "GPU-bbbb"}]
    (argv0, env0), (argv1, env1) = worker_commands(cards)
    assert argv0[argv0.index("-n") + 1] == "gpu0@%h" and argv1[argv1.index("-n") + 1] == "gpu1@%h"
    assert argv0[argv0.index("-Q") + 1] == "gpu" and argv0[argv0.index("-c") + 1] == "1"
    assert (env0["CUDA_VISIBLE_DEVICES"], env1["CUDA_VISIBLE_DEVICES"]) == ("GPU-aaaa", "GPU-bbbb")


def test_gpu_workers_on_a_node_without_a_gpu_says_why_and_what_to_start_instead():
    with pytest.raises(CommandError, match="No GPU to start workers for: .*start a CPU worker instead"):
        call_command("gpu_workers", "--dry-run")
