"""Bounds a model's run is held to, so a hostile or mistaken model fails its own job, never the worker.
Imports nothing from Django."""

from __future__ import annotations

import contextlib
import math
import os
import resource
from typing import Any

# Bytes per element of the ONNX element types a signature names (registry.inspection.graph).
ITEMSIZE = {
    "float": 4,
    "float32": 4,
    "double": 8,
    "float64": 8,
    "float16": 2,
    "bfloat16": 2,
    "int64": 8,
    "uint64": 8,
    "int32": 4,
    "uint32": 4,
    "int16": 2,
    "uint16": 2,
    "int8": 1,
    "uint8": 1,
    "bool": 1,
}


def tensor_bytes(tensors: list[dict[str, Any]], batch: int, named: dict[str, int] | None = None) -> int:
    """Bytes of these tensors at ``batch``, shaped as the benchmark shapes its inputs: a symbolic dimension in
    ``named`` takes its value, the first dimension and any other symbolic one the batch size, an unknown
    unnamed one 1. Types of no fixed size count as 8 bytes."""
    named = named or {}
    total = 0
    for tensor in tensors:
        dims = [
            d
            if isinstance(d, int) and d > 0
            else named[d]
            if isinstance(d, str) and d in named
            else batch
            if i == 0 or isinstance(d, str)
            else 1
            for i, d in enumerate(tensor.get("shape") or [batch])
        ]
        total += math.prod(dims) * ITEMSIZE.get(str(tensor.get("dtype")), 8)
    return total


def signature_bytes(signature: dict[str, Any], batch: int, named: dict[str, int] | None = None) -> int:
    """What one inference at ``batch`` (and the ``named`` dimensions) holds in inputs and outputs, read from
    the version's signature."""
    return tensor_bytes(signature.get("inputs", []), batch, named) + tensor_bytes(
        signature.get("outputs", []), batch, named
    )


def _address_space() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")


@contextlib.contextmanager
def memory_limit(extra_mb: int):
    """Within the block, this process may map at most ``extra_mb`` more than it has mapped now: an allocation
    past it fails (MemoryError, or the runtime's own allocation error) instead of growing the worker until the
    kernel kills it. The soft limit only, restored after the block. Linux; elsewhere a no-op."""
    try:
        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        wanted = _address_space() + extra_mb * 1024 * 1024
        if hard != resource.RLIM_INFINITY:
            wanted = min(wanted, hard)
        resource.setrlimit(resource.RLIMIT_AS, (wanted, hard))
    except (OSError, ValueError):  # not Linux (no /proc), or a platform without the limit
        yield
        return
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
