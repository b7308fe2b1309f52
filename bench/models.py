"""Real models for the bench scripts, built here (nothing is downloaded)."""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def mlp_onnx(
    path: str, *, features: int = 256, hidden: int = 1024, layers: int = 3, outputs: int = 10, seed: int = 0
) -> None:
    """A dense ReLU network, big enough that inference time dominates Python overhead."""
    rng = np.random.default_rng(seed)
    nodes, inits = [], []
    previous, width = "input", features
    for i in range(layers):
        out = hidden if i < layers - 1 else outputs
        inits += [
            numpy_helper.from_array((rng.standard_normal((width, out)) / np.sqrt(width)).astype(np.float32), f"W{i}"),
            numpy_helper.from_array(np.zeros(out, dtype=np.float32), f"B{i}"),
        ]
        nodes += [
            helper.make_node("MatMul", [previous, f"W{i}"], [f"mm{i}"]),
            helper.make_node("Add", [f"mm{i}", f"B{i}"], [f"h{i}" if i < layers - 1 else "logits"]),
        ]
        if i < layers - 1:
            nodes.append(helper.make_node("Relu", [f"h{i}"], [f"r{i}"]))
            previous = f"r{i}"
        width = out
    graph = helper.make_graph(
        nodes,
        "mlp",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", features])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", outputs])],
        initializer=inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="gatehouse-bench")
    model.ir_version = 8
    onnx.save_model(model, path)
