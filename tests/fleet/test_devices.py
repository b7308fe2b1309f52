"""Device classes from the names NVML really reports, and the devices a benchmark may ask for."""

from __future__ import annotations

import pytest

from fleet.devices import check_device, describe, gpu_class, queue_for

# As NVML's nvmlDeviceGetName returns them on the cards (nvidia-smi --query-gpu=name prints the same).
NAMES = {
    "NVIDIA H100 80GB HBM3": "h100",
    "NVIDIA H100 PCIe": "h100",
    "NVIDIA H100 NVL": "h100",
    "NVIDIA H200": "h200",
    "NVIDIA H200 NVL": "h200",
    "NVIDIA GH200 480GB": "gh200",
    "NVIDIA H800": "h800",
    "NVIDIA H20": "h20",
    "NVIDIA B200": "b200",
    "NVIDIA A100-SXM4-40GB": "a100",
    "NVIDIA A100-SXM4-80GB": "a100",
    "NVIDIA A100 80GB PCIe": "a100",
    "NVIDIA A10G": "a10g",
    "NVIDIA A10": "a10",
    "NVIDIA A30": "a30",
    "NVIDIA A40": "a40",
    "NVIDIA L4": "l4",
    "NVIDIA L40": "l40",
    "NVIDIA L40S": "l40s",
    "Tesla T4": "t4",
    "Tesla V100-SXM2-16GB": "v100",
    "Tesla P100-PCIE-16GB": "p100",
    "NVIDIA RTX A6000": "rtxa6000",
    "NVIDIA RTX 6000 Ada Generation": "rtx6000",
    "NVIDIA RTX PRO 6000 Blackwell Server Edition": "rtxpro6000",
    "NVIDIA GeForce RTX 4090": "rtx4090",
}


@pytest.mark.parametrize(("name", "expected"), NAMES.items())
def test_the_class_of_a_card_comes_from_its_nvml_name(name, expected):
    assert gpu_class(name) == expected


def test_a_name_it_does_not_know_has_no_class():
    assert gpu_class("Quadro P5000") == "" and gpu_class("") == ""


def test_a_device_is_the_cpu_any_gpu_or_a_class():
    assert [check_device(d) for d in ("cpu", "GPU", " H100 ")] == ["cpu", "gpu", "h100"]
    assert [queue_for(d) for d in ("cpu", "gpu", "h100")] == ["cpu", "gpu", "gpu.h100"]
    assert (describe("h100"), describe("t4"), describe("gpu"), describe("cpu")) == (
        "an H100",
        "a T4",
        "any GPU",
        "the CPU",
    )


@pytest.mark.parametrize("bad", ["h100; rm -rf /", "a" * 21, "gpu.h100", "", "ümlaut"])
def test_anything_else_is_refused_saying_what_is_accepted(bad):
    with pytest.raises(ValueError, match="give 'cpu', 'gpu' \\(any GPU\\) or a GPU class such as 'h100'"):
        check_device(bad)
