"""Inputs and outputs of two versions compared: what a caller of the production model would have to change."""

from __future__ import annotations

from typing import Any


def signature_changes(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    changes = []
    for side in ("inputs", "outputs"):
        before = {io["name"]: io for io in old.get(side, [])}
        after = {io["name"]: io for io in new.get(side, [])}
        for name in before.keys() - after.keys():
            changes.append(f"{side[:-1]} '{name}' was removed")
        for name in after.keys() - before.keys():
            if side == "inputs":
                changes.append(f"input '{name}' is new, so callers must send it")
        for name in before.keys() & after.keys():
            a, b = before[name], after[name]
            if a["dtype"] != b["dtype"]:
                changes.append(f"{side[:-1]} '{name}' changed type from {a['dtype']} to {b['dtype']}")
            sa, sb = a.get("shape") or [], b.get("shape") or []
            fixed = [(x, y) for x, y in zip(sa, sb, strict=False) if isinstance(x, int) and isinstance(y, int)]
            if len(sa) != len(sb) or any(x != y for x, y in fixed):
                changes.append(f"{side[:-1]} '{name}' changed shape from {sa} to {sb}")
    return changes


def normalise(reference: dict[str, Any], signature: dict[str, Any]) -> dict[str, Any]:
    """The runtime names numpy dtypes (float32); the registry stores ONNX names (float): compare like with like."""
    names = {"float32": "float", "float64": "double", "str": "string"}
    return {
        side: [{**io, "dtype": names.get(io["dtype"], io["dtype"])} for io in signature[side]]
        for side in ("inputs", "outputs")
    }
