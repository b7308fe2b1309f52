"""Parse untrusted uploads without executing them. Imports nothing from Django.

Each file is parsed in a child process under memory and CPU limits, forked by a small server process that
has the parsers imported already (``serve``; registry.artifacts.inspect_file talks to it), so a huge or
hostile file can only take the child down. The child answers one JSON object: ``{"ok": true, ...facts}``
or ``{"ok": false, "error": "<a message a person can act on>"}``. ``python -m registry.inspection KIND PATH
[LABEL]`` does the same from a shell.

ONNX graphs are decoded as protobuf and checked with ``onnx.checker``; nothing in them runs. Pickles are
recognised by their first bytes and refused: loading a pickle runs code.
"""

from __future__ import annotations

import functools
import json
import os
import sys
import time
from typing import Any


class Rejected(Exception):
    """The file is not acceptable; the message says why and what to do."""


_MAGIC = [
    (b"PK\x03\x04", "a ZIP archive (a PyTorch .pt/.pth checkpoint, a Keras .keras file or a zipped folder)"),
    (b"PK\x05\x06", "an empty ZIP archive"),
    (b"\x1f\x8b", "a gzip-compressed file"),
    (b"\x89HDF\r\n\x1a\n", "an HDF5 file (a Keras .h5 model)"),
    (b"PAR1", "a Parquet file"),
    (b"\x7fELF", "an executable program"),
    (b"%PDF", "a PDF document"),
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
]


def _head(path: str, n: int = 4096) -> bytes:
    with open(path, "rb") as fh:
        return fh.read(n)


def _looks_like_text(head: bytes) -> bool:
    if b"\x00" in head:
        return False
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        # A multi-byte character cut at the end of the sample is still text.
        try:
            text = head[:-3].decode("utf-8")
        except UnicodeDecodeError:
            return False
    printable = sum(ch.isprintable() or ch in "\r\n\t" for ch in text)
    return printable >= 0.95 * max(len(text), 1)


def describe_foreign(head: bytes, *, expected: str) -> str | None:
    """Name what a file is when it is clearly not ``expected``; None when it may be."""
    if head[:1] == b"\x80" and head[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05"):
        return (
            "This is a Python pickle (a .pkl or joblib file). Gatehouse never loads pickles, because loading "
            "one runs code. Export the model to ONNX (skl2onnx, torch.onnx.export, tf2onnx) and upload the "
            ".onnx file."
        )
    for magic, what in _MAGIC:
        if head.startswith(magic) and not (magic == b"PAR1" and expected == "parquet"):
            hint = " Export the model to ONNX (torch.onnx.export, tf2onnx, skl2onnx) and upload the .onnx file." \
                if expected == "onnx" else ""
            return f"This is {what}, not {expected_label(expected)}.{hint}"
    return None


def expected_label(expected: str) -> str:
    return {"onnx": "an ONNX model", "csv": "a CSV file", "parquet": "a Parquet file"}[expected]


# --- ONNX ------------------------------------------------------------------------------------------------


def _type_str(type_proto) -> str:
    import onnx

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
    import onnxruntime as ort
    from onnx import TensorProto, helper

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


def inspect_onnx(path: str) -> dict[str, Any]:
    import onnx
    from google.protobuf.message import DecodeError
    from onnx import external_data_helper

    size = os.path.getsize(path)
    if size == 0:
        raise Rejected("The file is empty.")
    head = _head(path)
    foreign = describe_foreign(head, expected="onnx")
    if foreign:
        raise Rejected(foreign)
    if _looks_like_text(head):
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
    external = [t for t in external_data_helper._get_all_tensors(model) if external_data_helper.uses_external_data(t)]
    if external:
        locations = sorted({entry.value for t in external for entry in t.external_data if entry.key == "location"})
        raise Rejected(
            f"The model keeps {len(external)} tensor(s) in external data files ({', '.join(locations) or 'unnamed'}), "
            "which are not part of this upload. Save it as one file: onnx.save_model(model, path, "
            "save_as_external_data=False)."
        )
    # The checker's verdict is reported, not raised: `checked` puts the runtime's word on opsets first.
    checker_error = None
    try:
        onnx.checker.check_model(model)
    except onnx.checker.ValidationError as exc:
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
        "checker_error": checker_error,
    }


# --- Datasets --------------------------------------------------------------------------------------------


def _dtype_name(dtype: str) -> str:
    return {
        "object": "string",
        "str": "string",
        "double": "float64",
        "float": "float32",
        "large_string": "string",
        "bool": "bool",
    }.get(dtype, dtype)


def _check_label(columns: list[dict[str, str]], label_column: str | None) -> None:
    names = [c["name"] for c in columns]
    if label_column and label_column not in names:
        shown = ", ".join(names[:20]) + (" …" if len(names) > 20 else "")
        raise Rejected(f"The label column '{label_column}' is not in the file. Its columns are: {shown}.")


def inspect_csv(path: str, label_column: str | None) -> dict[str, Any]:
    import csv

    import pandas as pd

    if os.path.getsize(path) == 0:
        raise Rejected("The file is empty.")
    head = _head(path)
    foreign = describe_foreign(head, expected="csv")
    if foreign:
        raise Rejected(foreign)
    if not _looks_like_text(head):
        raise Rejected("This is a binary file, not a CSV file (CSV is UTF-8 text with a header row).")
    with open(path, newline="", encoding="utf-8", errors="replace") as fh:
        header = next(csv.reader(fh), [])
    if not header or all(not h.strip() for h in header):
        raise Rejected("The CSV has no header row: its first line must name the columns.")
    duplicates = sorted({h for h in header if header.count(h) > 1})
    if duplicates:
        raise Rejected(f"The CSV names these columns more than once: {', '.join(duplicates)}.")
    if any(not h.strip() for h in header):
        raise Rejected("A column in the CSV's header row has no name.")

    rows = 0
    kinds: dict[str, str] = {}
    try:
        for chunk in pd.read_csv(path, chunksize=200_000, encoding="utf-8", low_memory=False):
            rows += len(chunk)
            for name, dtype in chunk.dtypes.items():
                kinds[name] = _merge_dtype(kinds.get(name), str(dtype))
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
        message = str(exc).strip().splitlines()[0][:300]
        raise Rejected(f"The CSV could not be parsed: {message}") from None
    if rows == 0:
        raise Rejected("The CSV has a header but no rows.")
    columns = [{"name": h, "dtype": _dtype_name(kinds.get(h, "string"))} for h in header]
    _check_label(columns, label_column)
    return {"format": "csv", "row_count": rows, "columns": columns}


def _merge_dtype(old: str | None, new: str) -> str:
    """A column's dtype over all chunks: int widens to float, anything mixed with text is text."""
    if old is None or old == new:
        return new
    numeric = ("int64", "float64", "bool")
    if old in numeric and new in numeric:
        return "float64" if "float64" in (old, new) or {old, new} == {"int64", "bool"} else new
    return "object"


def inspect_parquet(path: str, label_column: str | None) -> dict[str, Any]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    if os.path.getsize(path) == 0:
        raise Rejected("The file is empty.")
    head = _head(path)
    foreign = describe_foreign(head, expected="parquet")
    if foreign:
        raise Rejected(foreign)
    try:
        parquet = pq.ParquetFile(path)
        schema = parquet.schema_arrow
        rows = parquet.metadata.num_rows
    except (pa.ArrowException, OSError) as exc:
        message = str(exc).strip().splitlines()[0][:300]
        raise Rejected(f"This is not a readable Parquet file: {message}") from None
    if rows == 0:
        raise Rejected("The Parquet file has no rows.")
    columns = [{"name": f.name, "dtype": _dtype_name(str(f.type))} for f in schema]
    _check_label(columns, label_column)
    return {"format": "parquet", "row_count": int(rows), "columns": columns}


def inspect(kind: str, path: str, label_column: str | None = None) -> dict[str, Any]:
    if kind == "onnx":
        return inspect_onnx(path)
    if kind == "csv":
        return inspect_csv(path, label_column)
    if kind == "parquet":
        return inspect_parquet(path, label_column)
    raise ValueError(f"unknown kind {kind!r}")


def _address_space() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")


def limit_self(memory_mb: int, cpu_s: int) -> None:
    """Limits on this process: ``memory_mb`` of address space on top of what it has mapped already (the
    parsers, imported before the fork) and ``cpu_s`` seconds of CPU."""
    import resource

    memory = _address_space() + memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_s, cpu_s + 5))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def answer(kind: str, path: str, label: str | None) -> str:
    try:
        result = {"ok": True, **inspect(kind, path, label)}
    except Rejected as exc:
        result = {"ok": False, "error": str(exc)}
    except MemoryError:
        result = {"ok": False, "error": "The file could not be parsed within the memory limit for uploads."}
    return json.dumps(result)


def _die_with_parent() -> None:
    """Linux: the child is killed if the server that forked it goes away, so no parse outlives its deadline."""
    try:
        import ctypes
        import signal

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # not Linux: the server's SIGKILL on timeout still applies
        pass


def _inspect_in_child(request: dict) -> dict:
    """Fork a child that limits itself and parses; wait for its answer at most ``timeout_s``."""
    import select
    import signal

    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns
        code = 0
        try:
            _die_with_parent()
            # Only the answer pipe and stderr stay open: nothing the child does can touch the server's
            # request and reply streams.
            devnull = os.open(os.devnull, os.O_RDWR)
            os.dup2(devnull, 0)
            os.dup2(devnull, 1)
            os.closerange(3, write_end)
            os.closerange(write_end + 1, 65536)
            limit_self(request["memory_mb"], request["timeout_s"])
            data = answer(request["kind"], request["path"], request.get("label")).encode()
            with os.fdopen(write_end, "wb") as out:
                out.write(data)
        except BaseException:
            import traceback

            traceback.print_exc()
            code = 1
        finally:
            os._exit(code)
    os.close(write_end)
    chunks, deadline = [], time.monotonic() + request["timeout_s"]
    timed_out = False
    with os.fdopen(read_end, "rb") as pipe:
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([pipe], [], [], left)[0]:
                timed_out = True
                os.kill(pid, signal.SIGKILL)
                break
            chunk = os.read(pipe.fileno(), 1 << 16)
            if not chunk:
                break
            chunks.append(chunk)
    _, status = os.waitpid(pid, 0)
    return {"id": request.get("id"), "answer": None if timed_out else b"".join(chunks).decode(errors="replace"),
            "timed_out": timed_out, "exit": os.waitstatus_to_exitcode(status)}


def threads() -> int:
    with open("/proc/self/status") as fh:
        return int(next(line.split()[1] for line in fh if line.startswith("Threads:")))


def serve() -> None:
    """The fork server (``python -m registry.inspection --serve``): import the ONNX parser once, then for each
    request line on stdin fork a child to parse the file and write one answer line on stdout. A child costs a
    fork (milliseconds) instead of a new interpreter importing onnx (a few hundred). Datasets' parsers
    (pandas, pyarrow) and onnxruntime are not imported here: the first two are large and rarely needed, and
    onnxruntime starts a thread, which a process that forks must not have (it runs in the web process,
    ``runtime_refusal``)."""
    import onnx.checker
    from onnx import TensorProto, helper

    # Check one small graph of our own now, so the checker's lazily built operator schemas are built once
    # here rather than in every child.
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 1])
    graph = helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], "warm-up", [x],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 1])])
    onnx.checker.check_model(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]))
    if threads() != 1:  # forking a threaded process can leave the child holding a lock nobody will release
        sys.stderr.write(f"registry.inspection: the fork server runs {threads()} threads; refusing to fork\n")
        raise SystemExit(3)
    for line in sys.stdin:
        sys.stdout.write(json.dumps(_inspect_in_child(json.loads(line))) + "\n")
        sys.stdout.flush()


def main(argv: list[str]) -> int:
    if argv == ["--serve"]:
        serve()
        return 0
    memory_mb = int(os.environ.get("GATEHOUSE_INSPECT_MEMORY_MB", "4096"))
    timeout_s = int(os.environ.get("GATEHOUSE_INSPECT_TIMEOUT_S", "300"))
    result = _inspect_in_child({"kind": argv[0], "path": argv[1], "label": argv[2] if len(argv) > 2 else None,
                                "memory_mb": memory_mb, "timeout_s": timeout_s})
    reply = json.loads(result["answer"] or '{"ok": false, "error": "The child process died."}')
    if reply.pop("ok"):
        try:
            reply = {"ok": True, **checked(reply)}
        except Rejected as exc:
            reply = {"ok": False, "error": str(exc)}
    sys.stdout.write(json.dumps(reply))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
