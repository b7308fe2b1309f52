"""ONNX graphs, decoded as protobuf (external data left unloaded) and checked; nothing in them runs."""

from __future__ import annotations

import functools
import os
from typing import Any

import onnx
from google.protobuf.message import DecodeError
from onnx import TensorProto, external_data_helper, helper

from registry.inspection.sniff import Rejected, describe_foreign, looks_like_text, read_head
from registry.manifests import safe_path


def _type_str(type_proto) -> str:
    kind = type_proto.WhichOneof("value")
    if kind == "tensor_type":
        return onnx.TensorProto.DataType.Name(type_proto.tensor_type.elem_type).lower()
    if kind == "sequence_type":
        return f"seq({_type_str(type_proto.sequence_type.elem_type)})"
    if kind == "map_type":
        key = onnx.TensorProto.DataType.Name(type_proto.map_type.key_type).lower()
        return f"map({key},{_type_str(type_proto.map_type.value_type)})"
    if kind == "optional_type":
        return f"optional({_type_str(type_proto.optional_type.elem_type)})"
    return kind or "unknown"


def _shape(type_proto) -> list[int | str | None] | None:
    if type_proto.WhichOneof("value") != "tensor_type" or not type_proto.tensor_type.HasField("shape"):
        return None
    dims: list[int | str | None] = []
    for dim in type_proto.tensor_type.shape.dim:
        if dim.HasField("dim_value"):
            dims.append(int(dim.dim_value))
        elif dim.HasField("dim_param"):
            dims.append(dim.dim_param)
        else:
            dims.append(None)
    return dims


def _value_info(vi) -> dict[str, Any]:
    return {"name": vi.name, "dtype": _type_str(vi.type), "shape": _shape(vi.type)}


@functools.lru_cache(maxsize=256)
def runtime_refusal(ir_version: int, opsets: tuple[tuple[str, int], ...]) -> str | None:
    """Ask onnxruntime whether it can load a graph with this IR version and these opsets (``(domain,
    version)`` pairs as ``inspect_onnx`` reports them).

    The probe is a one-node Identity graph that *we* build from those numbers; the uploaded graph itself is
    never handed to the runtime. It runs in the web process, not in the inspecting child: onnxruntime starts
    a thread when imported, and a process with threads must not be forked. Answers are cached per process.
    """
    import onnxruntime as ort  # noqa: PLC0415 - starts a thread: never in the fork server (see above)

    def loads(domain: str, version: int) -> str | None:
        x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])
        y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])
        graph = helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], "probe", [x], [y])
        imports = [helper.make_opsetid(domain, version)]
        if domain not in ("", "ai.onnx"):
            imports.append(helper.make_opsetid("", 13))  # Identity itself lives in the default domain
        probe = helper.make_model(graph, opset_imports=imports)
        probe.ir_version = ir_version
        options = ort.SessionOptions()
        options.intra_op_num_threads = options.inter_op_num_threads = 1  # no thread pool for a one-node probe
        try:
            ort.InferenceSession(probe.SerializeToString(), options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own exception types
            return str(exc)
        return None

    runtime = f"the runtime here (onnxruntime {ort.__version__})"
    for domain, version in opsets:
        domain = "" if domain == "ai.onnx" else domain
        error = loads(domain, version)
        if error is None:
            continue
        if "IR version" in error:
            return (
                f"The model uses ONNX IR version {ir_version}, which {runtime} cannot load. "
                "Export it with an older IR version or upgrade onnxruntime on the workers."
            )
        best = next((v for v in range(version - 1, 0, -1) if loads(domain, v) is None), None)
        hint = f" it runs up to opset {best}; re-export with that target opset" if best else " re-export it"
        return f"The model needs opset {version} of domain '{domain or 'ai.onnx'}', which {runtime} cannot run:{hint}."
    return None


def checked(facts: dict[str, Any]) -> dict[str, Any]:
    """The verdicts that come after parsing, in the order a person can act on them: the runtime's word on
    opsets ("re-export with opset N") first, then the checker's. Raises Rejected; returns the facts."""
    if facts.get("format") == "onnx":
        facts = dict(facts)
        refusal = runtime_refusal(facts["ir_version"], tuple(facts["opsets"].items()))
        if refusal:
            raise Rejected(refusal)
        checker_error = facts.pop("checker_error")
        if checker_error:
            raise Rejected(f"The ONNX checker refused the graph: {checker_error}")
    return facts


def _external_location(tensor) -> tuple[str, int, int | None]:
    entries = {entry.key: entry.value for entry in tensor.external_data}
    try:
        offset = int(entries.get("offset") or 0)
        length = int(entries["length"]) if entries.get("length") else None
    except ValueError:
        raise Rejected(f"Tensor {tensor.name!r} gives an offset or length that is not a number.") from None
    return entries.get("location", ""), offset, length


def check_external_data(model, data_files: dict[str, int]) -> int:
    """Every tensor kept outside the graph names a file of the upload by a safe relative path, and its bytes
    (offset + length) lie inside that file; every uploaded data file is used. Returns the tensors checked."""
    external = [t for t in external_data_helper._get_all_tensors(model) if external_data_helper.uses_external_data(t)]
    used: set[str] = set()
    for tensor in external:
        location, offset, length = _external_location(tensor)
        if not safe_path(location):
            raise Rejected(
                f"Tensor {tensor.name!r} keeps its data at {location!r}, outside the model's folder: a location "
                "must be a relative path inside the set (no absolute path, no '..')."
            )
        if location not in data_files:
            raise Rejected(
                f"Tensor {tensor.name!r} keeps its data in {location!r}, which is not in the upload. Add that file "
                f"as a data file (its name must be {location!r})."
            )
        size = data_files[location]
        end = offset + (length if length is not None else 0)
        if offset < 0 or (length is not None and length < 0) or end > size or (length is None and offset > size):
            raise Rejected(
                f"Tensor {tensor.name!r} reads {location!r} at offset {offset:,}"
                + (f" for {length:,} bytes" if length is not None else "")
                + f", past the end of the file ({size:,} bytes): the data file is truncated or from another export."
            )
        used.add(location)
    unused = sorted(set(data_files) - used)
    if unused:
        raise Rejected(
            f"No tensor of the model reads {', '.join(repr(u) for u in unused[:5])}"
            + (f" and {len(unused) - 5} more" if len(unused) > 5 else "")
            + ": remove the file(s) from the upload, or upload the model they belong to."
        )
    return len(external)


def inspect_onnx(path: str, data_files: dict[str, int] | None = None) -> dict[str, Any]:
    """The facts of an ONNX model. ``data_files``: {location: size} of the external data files uploaded
    with it (the files lie beside ``path`` at their locations); None for a single-file upload."""
    size = os.path.getsize(path)
    if size == 0:
        raise Rejected("The file is empty.")
    head = read_head(path)
    foreign = describe_foreign(head, expected="onnx")
    if foreign:
        raise Rejected(foreign)
    if looks_like_text(head):
        first = head.decode("utf-8", "replace").strip().splitlines()[0][:60] if head.strip() else ""
        raise Rejected(f"This is a text file (it starts with {first!r}), not an ONNX model.")
    try:
        model = onnx.load(path, load_external_data=False)
    except (DecodeError, RuntimeError, ValueError) as exc:
        raise Rejected(
            "The file is not a complete ONNX model: its protobuf could not be decoded, so it is truncated, "
            f"corrupted or another kind of file ({type(exc).__name__})."
        ) from None
    if model.ir_version == 0 or not model.HasField("graph") or not model.graph.node:
        raise Rejected(
            "The file decodes but holds no ONNX graph (no IR version or no nodes): it is truncated or not an "
            "ONNX model."
        )
    if data_files is None:
        external = [
            t for t in external_data_helper._get_all_tensors(model) if external_data_helper.uses_external_data(t)
        ]
        if external:
            locations = sorted({_external_location(t)[0] for t in external})
            raise Rejected(
                f"The model keeps {len(external)} tensor(s) in external data files "
                f"({', '.join(repr(loc) for loc in locations[:5]) or 'unnamed'}), which are not part of this upload. "
                "Upload them with it: one 'data' file per location, named as the model names it."
            )
        external_count = 0
    else:
        external_count = check_external_data(model, data_files)
    # The checker's verdict is reported, not raised: `checked` puts the runtime's word on opsets first. By
    # path, so a model whose weights live outside the graph (over 2 GB in all) is checked with them in place.
    checker_error = None
    try:
        onnx.checker.check_model(path if external_count else model)
    except (onnx.checker.ValidationError, ValueError) as exc:
        checker_error = str(exc).strip().splitlines()[0][:400]

    initializers = {init.name for init in model.graph.initializer}
    return {
        "format": "onnx",
        "ir_version": int(model.ir_version),
        "opsets": dict(sorted((o.domain or "ai.onnx", int(o.version)) for o in model.opset_import)),
        "producer": f"{model.producer_name} {model.producer_version}".strip(),
        "signature": {
            "inputs": [_value_info(vi) for vi in model.graph.input if vi.name not in initializers],
            "outputs": [_value_info(vi) for vi in model.graph.output],
        },
        "node_count": len(model.graph.node),
        "external_tensors": external_count,
        "checker_error": checker_error,
    }
