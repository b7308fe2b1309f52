"""Real ONNX files (and real bad files) for tests, built with the onnx package."""

from __future__ import annotations

import io
import pickle
import zipfile

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from skl2onnx import convert_sklearn
from skl2onnx.common.data_types import FloatTensorType
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression


def linear_model(n_features: int = 4, *, opset: int = 17, seed: int = 0, batch: str | int = "N") -> onnx.ModelProto:
    """y = x·W + b, with a symbolic batch dimension: a small, valid, runnable regression graph."""
    rng = np.random.default_rng(seed)
    weights = numpy_helper.from_array(rng.normal(size=(n_features, 1)).astype(np.float32), "W")
    bias = numpy_helper.from_array(np.array([0.5], dtype=np.float32), "B")
    x = helper.make_tensor_value_info("input", TensorProto.FLOAT, [batch, n_features])
    y = helper.make_tensor_value_info("output", TensorProto.FLOAT, [batch, 1])
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["input", "W"], ["xw"]), helper.make_node("Add", ["xw", "B"], ["output"])],
        "linear",
        [x],
        [y],
        initializer=[weights, bias],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], producer_name="gatehouse-tests")
    model.ir_version = 8
    return model


def onnx_bytes(**kwargs) -> bytes:
    return linear_model(**kwargs).SerializeToString()


def pickle_bytes() -> bytes:
    return pickle.dumps({"coef": [1.0, 2.0], "intercept": 0.5}, protocol=4)


def zip_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("archive/data.pkl", pickle_bytes())
    return buffer.getvalue()


def external_data_model(tmp_path) -> bytes:
    """An ONNX file whose weights live in a separate file that is not uploaded with it."""
    model = linear_model(n_features=64)
    path = tmp_path / "with_external.onnx"
    onnx.save_model(
        model,
        str(path),
        save_as_external_data=True,
        all_tensors_to_one_file=True,
        location="weights.bin",
        size_threshold=0,
    )
    return path.read_bytes()


def invalid_graph_bytes() -> bytes:
    """Decodes as ONNX but fails onnx.checker: a node reads a tensor nobody produces."""
    x = helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 4])
    y = helper.make_tensor_value_info("output", TensorProto.FLOAT, ["N", 4])
    graph = helper.make_graph([helper.make_node("Add", ["input", "missing"], ["output"])], "broken", [x], [y])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model.SerializeToString()


def raising_model() -> bytes:
    """Valid for onnx.checker, but onnxruntime raises at run time unless 4·N is a multiple of 3."""
    x = helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 4])
    y = helper.make_tensor_value_info("output", TensorProto.FLOAT, [None, 3])
    shape = numpy_helper.from_array(np.array([-1, 3], dtype=np.int64), "shape")
    graph = helper.make_graph(
        [helper.make_node("Reshape", ["input", "shape"], ["output"])], "raises", [x], [y], initializer=[shape]
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model.SerializeToString()


def iris_classifier(*, zipmap: bool = False):
    """A real scikit-learn classifier on iris, exported by skl2onnx: (onnx bytes, features, labels)."""
    bunch = load_iris()
    x = bunch.data.astype(np.float32)
    estimator = LogisticRegression(max_iter=500).fit(x, bunch.target)
    onx = convert_sklearn(
        estimator,
        initial_types=[("input", FloatTensorType([None, 4]))],
        options={id(estimator): {"zipmap": zipmap}},
        target_opset={"": 17, "ai.onnx.ml": 3},
    )
    return onx.SerializeToString(), x, bunch.target


def wide_identity(width: int = 65_536) -> bytes:
    """An 80-byte model whose declared input [N, width] makes every batch as large as a caller asks."""
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", width])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", width])
    graph = helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], "wide", [x], [y])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model.SerializeToString()
