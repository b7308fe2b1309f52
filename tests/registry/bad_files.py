"""Files that must be refused, each with a fragment of the message that must name the problem."""

from __future__ import annotations

import gzip
import os

from tests.onnx_files import (
    external_data_model,
    invalid_graph_bytes,
    onnx_bytes,
    pickle_bytes,
    zip_bytes,
)


def _truncated(tmp_path) -> bytes:
    data = onnx_bytes(n_features=256)
    return data[: len(data) // 2]


BAD_ONNX = [
    ("empty", lambda tmp: b"", "The file is empty"),
    ("pickle", lambda tmp: pickle_bytes(), "Python pickle"),
    ("zip", lambda tmp: zip_bytes(), "ZIP archive"),
    ("gzip", lambda tmp: gzip.compress(onnx_bytes()), "gzip-compressed"),
    ("hdf5", lambda tmp: b"\x89HDF\r\n\x1a\n" + os.urandom(512), "HDF5"),
    ("truncated", _truncated, "not a complete ONNX model"),
    ("random", lambda tmp: bytes(range(256)) * 8 + b"\xff\xfe\xfd", "not a complete ONNX model"),
    ("text", lambda tmp: b"feature_a,feature_b,label\n1.0,2.0,1\n", "text file"),
    ("external-data", external_data_model, "external data files"),
    ("opset-too-new", lambda tmp: onnx_bytes(opset=40), "opset 40"),
    ("checker", lambda tmp: invalid_graph_bytes(), "ONNX checker refused"),
    ("elf", lambda tmp: b"\x7fELF\x02\x01\x01" + b"\x00" * 64, "executable program"),
]
