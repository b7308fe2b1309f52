"""Devices a benchmark can ask for, and the queues they are routed to. Imports nothing from Django: the
evidence code on a bare GPU node uses it too.

A device is "cpu", "gpu" (any GPU) or a GPU class such as "h100": the class of a card comes from the name
NVML reports ("NVIDIA H100 80GB HBM3" → "h100"), or from GATEHOUSE_DEVICE_CLASS where NVML cannot name it.
"""

from __future__ import annotations

import re

CPU = "cpu"
ANY_GPU = "gpu"
CLASS_QUEUE_PREFIX = "gpu."
CLASS_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,19}$")

# Longest names first where one is a prefix of another (L40S before L40 before L4, A10G before A10).
_GPU_CLASS = re.compile(
    r"\b(GB300|GB200|B300|B200|B100|GH200|H200|H100|H800|H20|A100|A800|A10G|A10|A16|A30|A40|A2|"
    r"L40S|L40|L20|L4|T4|V100|P100|P40|P4|RTX\s?PRO\s?\d+|RTX\s?A?\d+\w*|TITAN\s?\w+)\b",
    re.IGNORECASE,
)


def gpu_class(name: str) -> str:
    """The device class of an NVML GPU name: "NVIDIA H100 80GB HBM3" → "h100", "NVIDIA L40S" → "l40s",
    "NVIDIA A100-SXM4-40GB" → "a100"; "" for a name it does not know (declare one with GATEHOUSE_DEVICE_CLASS)."""
    match = _GPU_CLASS.search(name or "")
    return re.sub(r"\s+", "", match.group(1)).lower() if match else ""


def check_class(value: str, *, what: str = "GATEHOUSE_DEVICE_CLASS") -> str:
    """A class name as given by a person: lower-case letters, digits, '-' and '_', up to 20."""
    value = (value or "").strip().lower()
    if value in (CPU, ANY_GPU) or not CLASS_PATTERN.match(value):
        raise ValueError(
            f"{what} {value!r} is not a GPU class: use lower-case letters and digits, up to 20, such as 'h100' or "
            "'l40s' (not 'cpu' or 'gpu')."
        )
    return value


def check_device(value: str) -> str:
    """ "cpu", "gpu" (any GPU) or a GPU class; anything else is refused with what is accepted."""
    value = (value or "").strip().lower()
    if value in (CPU, ANY_GPU):
        return value
    try:
        return check_class(value, what="Device")
    except ValueError:
        raise ValueError(
            f"Device {value!r} is not one Gatehouse knows: give 'cpu', 'gpu' (any GPU) or a GPU class such as "
            "'h100' (lower-case letters and digits, up to 20)."
        ) from None


def queue_for(device: str) -> str:
    """The broker queue a benchmark for ``device`` waits in: cpu, gpu, or gpu.<class>."""
    if device in (CPU, ANY_GPU):
        return device
    return CLASS_QUEUE_PREFIX + device


def class_of_queue(queue: str) -> str:
    return queue[len(CLASS_QUEUE_PREFIX) :] if queue.startswith(CLASS_QUEUE_PREFIX) else ""


def describe(device: str) -> str:
    """How the pages name a device: "the CPU", "any GPU", "an H100"."""
    if device == CPU:
        return "the CPU"
    if device == ANY_GPU:
        return "any GPU"
    return f"{'an' if device[:1] in 'aefhilmnorsx' else 'a'} {device.upper()}"
