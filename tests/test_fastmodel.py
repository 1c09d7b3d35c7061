"""The voice-model rewrite (1-D convolutions as 2-D ones): same output, used only when
it checks out, and never a reason for synthesis to fail."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import onnx
import onnxruntime
import pytest
from onnx import TensorProto, helper, numpy_helper

from audiobook import fastmodel

C = 32  # channels of the toy model (a multiple of onnxruntime's block size)


def _toy_model(path: Path, *, opset: int = 15, conv: bool = True) -> Path:
    """A miniature Piper-shaped model: ids -> embedding -> 1-D conv stack with
    residual adds and leaky ReLUs -> transposed conv (upsampling) -> conv -> tanh."""
    rng = np.random.default_rng(7)

    def init(name: str, *shape: int) -> Any:
        return numpy_helper.from_array(rng.normal(0, 0.3, shape).astype(np.float32), name)

    nodes = [
        helper.make_node("Gather", ["emb", "input"], ["e"]),  # (1, T, C)
        helper.make_node("Transpose", ["e"], ["x0"], perm=[0, 2, 1]),  # (1, C, T)
    ]
    if conv:
        nodes += [
            helper.make_node("Conv", ["x0", "w1", "b1"], ["c1"], kernel_shape=[3], pads=[1, 1]),
            helper.make_node("LeakyRelu", ["c1"], ["r1"], alpha=0.1),
            helper.make_node(
                "Conv", ["r1", "w2", "b2"], ["c2"], kernel_shape=[3], pads=[2, 2], dilations=[2]
            ),
            helper.make_node("Add", ["c2", "x0"], ["s1"]),
            helper.make_node("LeakyRelu", ["s1"], ["r2"], alpha=0.1),
            helper.make_node("Conv", ["r2", "w4", "b4"], ["c4"], kernel_shape=[3], pads=[1, 1]),
            helper.make_node("Add", ["c4", "s1"], ["s2"]),
            helper.make_node("Mul", ["s2", "half"], ["m1"]),
            helper.make_node(
                "ConvTranspose",
                ["m1", "wt", "bt"],
                ["u"],
                kernel_shape=[4],
                strides=[2],
                pads=[1, 1],
            ),
            helper.make_node("Conv", ["u", "w3"], ["c3"], kernel_shape=[5], pads=[2, 2]),
            helper.make_node("Tanh", ["c3"], ["t"]),
        ]
    else:
        nodes += [
            helper.make_node("ReduceSum", ["x0", "ax1"], ["x1"], keepdims=1),
            helper.make_node("Tanh", ["x1"], ["t"]),
        ]
    if opset >= 13:
        nodes.append(helper.make_node("Squeeze", ["t", "ax1"], ["output"]))
    else:  # axes were an attribute before opset 13
        nodes.append(helper.make_node("Squeeze", ["t"], ["output"], axes=[1]))
    graph = helper.make_graph(
        nodes,
        "toy",
        [
            helper.make_tensor_value_info("input", TensorProto.INT64, [1, None]),
            helper.make_tensor_value_info("input_lengths", TensorProto.INT64, [1]),
            helper.make_tensor_value_info("scales", TensorProto.FLOAT, [3]),
        ],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, None)],
        [
            init("emb", 40, C),
            init("w1", C, C, 3),
            init("b1", C),
            init("w2", C, C, 3),
            init("b2", C),
            init("w4", C, C, 3),
            init("b4", C),
            numpy_helper.from_array(np.array(0.5, dtype=np.float32), "half"),
            init("wt", C, C, 4),
            init("bt", C),
            init("w3", 1, C, 5),
            numpy_helper.from_array(np.array([1], dtype=np.int64), "ax1"),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    onnx.save(model, str(path))
    return path


def _options() -> Any:
    opts = onnxruntime.SessionOptions()
    opts.intra_op_num_threads = 1
    return opts


FEED = {
    "input": np.array([[1, 5, 9, 2, 33, 17, 4, 0, 12, 3, 8]], dtype=np.int64),
    "input_lengths": np.array([11], dtype=np.int64),
    "scales": np.array([0.667, 1.0, 0.8], dtype=np.float32),
}


def _run(session: Any) -> np.ndarray:
    return np.asarray(session.run(None, FEED)[0])


def _plain(path: Path) -> np.ndarray:
    return _run(onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"]))


def test_rewrite_makes_2d_convolutions_with_the_same_output(tmp_path: Path) -> None:
    src = _toy_model(tmp_path / "toy.onnx")
    data = fastmodel.rewrite(src.read_bytes())
    assert data is not None
    new = onnx.load_from_string(data)
    convs = [n for n in new.graph.node if n.op_type in ("Conv", "ConvTranspose")]
    assert len(convs) == 5
    weights = {t.name: t for t in new.graph.initializer}
    assert all(len(weights[n.input[1]].dims) == 4 for n in convs)
    # The residual Add, LeakyRelu and the Mul by a scalar stay 4-D between convolutions.
    ops = [n.op_type for n in new.graph.node]
    assert ops.count("Squeeze") == 2  # after the last conv's Tanh, and the model's own
    session = onnxruntime.InferenceSession(data, providers=["CPUExecutionProvider"])
    want = _plain(src)
    got = _run(session)
    assert got.shape == want.shape == (1, 22)
    assert np.max(np.abs(got - want)) < 1e-5


def test_load_session_prepares_once_then_loads_the_copy(tmp_path: Path) -> None:
    src = _toy_model(tmp_path / "toy.onnx")
    folder = tmp_path / "models"
    session = fastmodel.load_session(src, folder, _options)
    copies = list(folder.glob("*.onnx"))
    assert len(copies) == 1 and copies[0] == fastmodel.fast_path(src, folder)
    assert np.max(np.abs(_run(session) - _plain(src))) < 1e-5
    stamp = copies[0].stat().st_mtime_ns
    again = fastmodel.load_session(src, folder, _options)
    assert copies[0].stat().st_mtime_ns == stamp  # loaded, not made again
    assert np.max(np.abs(_run(again) - _plain(src))) < 1e-5
    assert not list(folder.glob("*.part"))


def test_a_damaged_copy_is_made_again(tmp_path: Path) -> None:
    src = _toy_model(tmp_path / "toy.onnx")
    folder = tmp_path / "models"
    fastmodel.load_session(src, folder, _options)
    copy = fastmodel.fast_path(src, folder)
    copy.write_bytes(b"\x00garbage")
    session = fastmodel.load_session(src, folder, _options)
    assert np.max(np.abs(_run(session) - _plain(src))) < 1e-5
    assert copy.stat().st_size > 1000


@pytest.mark.parametrize("kind", ["no-conv", "old-opset"])
def test_models_it_cannot_rewrite_are_used_as_they_are(tmp_path: Path, kind: str) -> None:
    src = _toy_model(
        tmp_path / "toy.onnx", conv=kind != "no-conv", opset=11 if kind == "old-opset" else 15
    )
    folder = tmp_path / "models"
    session = fastmodel.load_session(src, folder, _options)
    np.testing.assert_allclose(_run(session), _plain(src), atol=1e-6)
    assert not list(folder.glob("*.onnx"))
    assert fastmodel.fast_path(src, folder).with_suffix(".unsuitable").exists()


def test_switched_off_by_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUDIOBOOK_FAST_MODEL", "0")
    src = _toy_model(tmp_path / "toy.onnx")
    folder = tmp_path / "models"
    fastmodel.load_session(src, folder, _options)
    assert not folder.exists()


def test_a_corrupt_voice_still_raises(tmp_path: Path) -> None:
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"not a model at all")
    with pytest.raises(Exception):  # noqa: B017 - onnxruntime's own error type
        fastmodel.load_session(bad, tmp_path / "models", _options)


def test_cache_info_reports_prepared_models_and_clear_keeps_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from click.testing import CliRunner

    from audiobook.cli import main

    folder = tmp_path / "prepared"
    monkeypatch.setenv("AUDIOBOOK_MODEL_DIR", str(folder))
    src = _toy_model(tmp_path / "toy.onnx")
    fastmodel.load_session(src, folder, _options)
    runner = CliRunner()
    out = runner.invoke(main, ["cache", "info"])
    assert out.exit_code == 0, out.output
    assert "voice models prepared for speed: 1," in out.output and str(folder) in out.output
    assert runner.invoke(main, ["cache", "clear"]).exit_code == 0
    assert fastmodel.fast_path(src, folder).is_file()
    out = runner.invoke(main, ["cache", "clear", "--models"])
    assert out.exit_code == 0 and "removed 1 prepared voice models" in out.output
    assert not list(folder.glob("*.onnx"))


def test_unblock_keeps_elementwise_ops_in_the_blocked_layout(tmp_path: Path) -> None:
    data = fastmodel.rewrite(_toy_model(tmp_path / "toy.onnx").read_bytes())
    assert data is not None
    opts = _options()
    opts.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.optimized_model_filepath = str(tmp_path / "optimised.onnx")
    onnxruntime.InferenceSession(data, opts, providers=["CPUExecutionProvider"])
    optimised = (tmp_path / "optimised.onnx").read_bytes()
    unblocked = fastmodel.unblock(optimised)

    def reorders(model: bytes) -> int:
        nodes = onnx.load_from_string(model).graph.node
        return sum(n.op_type.startswith("Reorder") for n in nodes)

    def sums(model: bytes) -> int:  # blocked convolutions that add a residual themselves
        nodes = onnx.load_from_string(model).graph.node
        return sum(n.op_type == "Conv" and len(n.input) == 4 for n in nodes)

    if reorders(optimised) == 0:
        pytest.skip("onnxruntime made no blocked convolutions on this CPU")
    assert reorders(unblocked) < reorders(optimised)
    assert sums(unblocked) == 2  # each residual Add is done by the conv before it
    plain = onnxruntime.SessionOptions()
    plain.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_DISABLE_ALL
    got = _run(onnxruntime.InferenceSession(unblocked, plain, providers=["CPUExecutionProvider"]))
    want = _plain(tmp_path / "toy.onnx")
    assert got.shape == want.shape and np.max(np.abs(got - want)) < 1e-4


def test_an_unwritable_models_folder_falls_back_to_the_original(tmp_path: Path) -> None:
    src = _toy_model(tmp_path / "toy.onnx")
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the folder should be", encoding="utf-8")
    session = fastmodel.load_session(src, blocker / "models", _options)
    np.testing.assert_allclose(_run(session), _plain(src), atol=1e-6)
