"""What a worker reports about the machine: on this CPU-only machine, plainly no GPU, and why."""

from __future__ import annotations

import pytest

from fleet import hardware
from fleet.worker import report

CARDS = [
    {"index": 0, "uuid": "GPU-aaaa1111", "name": "NVIDIA H100 80GB HBM3", "class": "h100"},
    {"index": 1, "uuid": "GPU-bbbb2222", "name": "NVIDIA H100 80GB HBM3", "class": "h100"},
    {"index": 2, "uuid": "GPU-cccc3333", "name": "NVIDIA L4", "class": "l4"},
]


@pytest.mark.parametrize(
    ("cuda_visible_devices", "shown"),
    [
        (None, [0, 1, 2]),  # unset: every card
        ("1", [1]),
        ("2,0", [2, 0]),  # CUDA's order: device 0 is card 2
        ("GPU-cccc3333", [2]),
        ("GPU-bbbb", [1]),  # a unique prefix of the UUID
        ("0,7,1", [0]),  # like CUDA, the list stops at the first entry that names no card
        ("", []),
        ("-1", []),
        ("0,0", [0]),
    ],
)
def test_a_worker_reports_the_cards_cuda_gives_it(cuda_visible_devices, shown):
    assert [g["index"] for g in hardware.visible(CARDS, cuda_visible_devices)] == shown


def test_without_nvml_a_worker_has_no_gpu_and_says_why(monkeypatch):
    monkeypatch.delenv("GATEHOUSE_DEVICE_CLASS", raising=False)
    nvml = hardware.nvml()
    assert nvml["available"] is False and nvml["gpus"] == []
    assert nvml["reason"].startswith(("nvidia-ml-py is not installed", "NVML could not start"))
    stated = report(["cpu"])
    assert stated["gpus"] == [] and stated["device_class"] == "" and stated["nvml_note"] == nvml["reason"]
    assert stated["cpu_count"] >= 1 and stated["memory_total_mib"] > 0 and stated["software"]["python"]


def test_a_declared_class_names_a_worker_nvml_cannot(monkeypatch):
    monkeypatch.setenv("GATEHOUSE_DEVICE_CLASS", "alpha")
    assert report(["gpu"])["device_class"] == "alpha" and report(["gpu"])["declared_class"] is True
    assert report(["cpu"])["device_class"] == ""  # a class is served through the gpu queue only
    monkeypatch.setenv("GATEHOUSE_DEVICE_CLASS", "not a class!")
    with pytest.raises(ValueError, match="GATEHOUSE_DEVICE_CLASS 'not a class!' is not a GPU class"):
        hardware.declared_class()
