"""The sandbox: each file is parsed in a forked child under memory and CPU limits, by a small server that
has the ONNX parser imported already (``serve``; registry.inspector talks to it)."""

from __future__ import annotations

import contextlib
import ctypes
import gc
import json
import os
import resource
import select
import signal
import sys
import time
import traceback
from typing import Any

import onnx.checker
from onnx import TensorProto, helper

from registry.inspection.graph import checked, inspect_onnx
from registry.inspection.sniff import Rejected
from registry.inspection.tabular import inspect_csv, inspect_parquet


def inspect(
    kind: str, path: str, label_column: str | None = None, limits: dict | None = None, files: dict | None = None
) -> dict[str, Any]:
    if kind == "onnx":
        return inspect_onnx(path, files)
    if kind == "csv":
        return inspect_csv(path, label_column, limits)
    if kind == "parquet":
        return inspect_parquet(path, label_column, limits)
    raise ValueError(f"unknown kind {kind!r}")


def _address_space() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")


def limit_self(memory_mb: int, cpu_s: int) -> None:
    """Limits on this process: ``memory_mb`` of address space on top of what it has mapped already (the
    parsers, imported before the fork) and ``cpu_s`` seconds of CPU."""
    memory = _address_space() + memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_s, cpu_s + 5))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def answer(kind: str, path: str, label: str | None, limits: dict | None = None, files: dict | None = None) -> str:
    try:
        result = {"ok": True, **inspect(kind, path, label, limits, files)}
    except Rejected as exc:
        result = {"ok": False, "error": str(exc), "field": exc.field}
    except MemoryError:
        result = {"ok": False, "error": "The file could not be parsed within the memory limit for uploads."}
    return json.dumps(result)


def die_with_parent(sig: int = signal.SIGKILL) -> None:
    """Linux: this process gets ``sig`` when the process that started it goes away, even by kill -9, so a parse
    never outlives its server (nor a worker `manage.py serve`). Elsewhere a no-op: the parent's own stop
    (the server's SIGKILL on timeout, serve's terminate) still applies."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(1, sig)  # PR_SET_PDEATHSIG


def _inspect_in_child(request: dict) -> dict:
    """Fork a child that limits itself and parses; wait for its answer at most ``timeout_s``."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns
        code = 0
        if request["kind"] == "onnx":  # one parse of a graph: a collection would only copy the pages it shares
            gc.disable()  # (datasets keep the collector: pandas makes cycles, and the child has a memory limit)
        try:
            die_with_parent()
            # Only the answer pipe and stderr stay open: nothing the child does can touch the server's
            # request and reply streams.
            devnull = os.open(os.devnull, os.O_RDWR)
            os.dup2(devnull, 0)
            os.dup2(devnull, 1)
            os.closerange(3, write_end)
            os.closerange(write_end + 1, 65536)
            limit_self(request["memory_mb"], request["timeout_s"])
            data = answer(
                request["kind"], request["path"], request.get("label"), request.get("limits"), request.get("files")
            ).encode()
            with os.fdopen(write_end, "wb") as out:
                out.write(data)
        except BaseException:
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
    return {
        "id": request.get("id"),
        "answer": None if timed_out else b"".join(chunks).decode(errors="replace"),
        "timed_out": timed_out,
        "exit": os.waitstatus_to_exitcode(status),
    }


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
    # Check one small graph of our own now, so the checker's lazily built operator schemas are built once
    # here rather than in every child.
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 1])
    graph = helper.make_graph(
        [helper.make_node("Identity", ["x"], ["y"])],
        "warm-up",
        [x],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 1])],
    )
    onnx.checker.check_model(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]))
    gc.freeze()  # what is imported now stays out of every collection, here and in the children (no copy-on-write)
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
    result = _inspect_in_child(
        {
            "kind": argv[0],
            "path": argv[1],
            "label": argv[2] if len(argv) > 2 else None,
            "memory_mb": memory_mb,
            "timeout_s": timeout_s,
        }
    )
    reply = json.loads(result["answer"] or '{"ok": false, "error": "The child process died."}')
    if reply.pop("ok"):
        try:
            reply = {"ok": True, **checked(reply)}
        except Rejected as exc:
            reply = {"ok": False, "error": str(exc)}
    sys.stdout.write(json.dumps(reply))
    return 0
