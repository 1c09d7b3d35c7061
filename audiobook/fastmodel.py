"""A faster copy of a Piper voice model: same audio, ~25% less CPU per second of speech.

Piper's VITS models are almost all 1-D convolutions (Conv on ``(N, C, L)`` tensors).
onnxruntime runs those through im2col + GEMM, while its blocked ("NCHWc") direct
convolution kernels, which fuse the bias, residual adds and activations, only apply to
2-D convolutions. So each 1-D Conv/ConvTranspose is rewritten as the same 2-D one on
``(N, C, 1, L)`` (weights ``(O, I, 1, K)``), elementwise ops between convolutions
(LeakyRelu, residual Add, ...) stay 4-D, and the tensor is squeezed back to 3-D only
where a node needs it. The arithmetic is the same up to float rounding (measured: at
most ~3e-5, below one int16 step), and every rewrite is checked against the original
model on a short input before it is used; on any doubt the original is used instead.

The rewritten model is written once per voice file, atomically, into ``models/`` in
the user cache folder (``AUDIOBOOK_MODEL_DIR`` overrides), so pool workers and later
runs load it directly. It belongs to the voice, not to any story: clearing or moving
the segment audio cache leaves it. Making it takes ~1 s, once.
Needs the ``onnx`` package, for its protobuf classes only.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib.util
import logging
import math
import os
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

# Bump when the rewrite changes: it is part of the file name, so old copies are unused.
REWRITE_VERSION = "2"  # 2: elementwise ops kept blocked (unblock)
MODELS_DIR = "models"
MODEL_DIR_ENV = "AUDIOBOOK_MODEL_DIR"
MAX_DIFF = 1e-3  # largest sample difference (full scale 1.0) the check accepts
_AXIS = "__audiobook_axis2"
_PB2 = "_audiobook_onnx_ml_pb2"
_ELEMENTWISE = frozenset({"Add", "Sub", "Mul", "Div", "LeakyRelu", "Relu", "Tanh", "Sigmoid"})
_TRUTHY_OFF = frozenset({"0", "false", "no", "off"})


def enabled() -> bool:
    """``AUDIOBOOK_FAST_MODEL=0`` uses voice models as they are (for comparison)."""
    return os.environ.get("AUDIOBOOK_FAST_MODEL", "1").strip().lower() not in _TRUTHY_OFF


def models_dir() -> Path:
    env = os.environ.get(MODEL_DIR_ENV)
    if env:
        return Path(env)
    import platformdirs

    return Path(platformdirs.user_cache_dir("audiobook")) / MODELS_DIR


@functools.lru_cache(maxsize=1)
def _machine() -> str:
    """What an optimised model is specific to: onnxruntime lays blocked tensors out
    for this CPU's vector width, so a copy made elsewhere (a shared home folder) or
    by another onnxruntime must not be used here."""
    import platform

    flags = ""
    with contextlib.suppress(OSError), open("/proc/cpuinfo", encoding="utf-8") as f:
        flags = next((line for line in f if line.startswith("flags")), "")
    import onnxruntime

    return f"{onnxruntime.__version__}|{platform.machine()}|{platform.processor()}|{flags}"


def fast_path(model: Path, folder: Path) -> Path:
    """Where the prepared copy of ``model`` lives: named by the file's identity and
    this machine's, so an edited or replaced voice file gets a new copy."""
    st = model.stat()
    ident = f"{model.resolve()}|{st.st_size}|{st.st_mtime_ns}|{REWRITE_VERSION}|{_machine()}"
    digest = hashlib.sha256(ident.encode("utf-8")).hexdigest()[:16]
    return folder / f"{model.stem}-{digest}.onnx"


def load_session(model: Path, folder: Path, options: Callable[[], Any]) -> Any:
    """An onnxruntime session for ``model``: on its prepared copy when there is (or
    can now be made) a good one, else on the model itself. ``options()`` gives fresh
    session options (threads, memory) to add the graph settings to. Only the final
    fall-back, opening ``model`` itself, may raise."""
    if enabled():
        with contextlib.suppress(Exception):  # a speed-up must never break synthesis
            session = _fast_session(model, folder, options)
            if session is not None:
                return session
    return _open(str(model), options, "original")


def _open(source: str | bytes, options: Callable[[], Any], kind: str, save: str = "") -> Any:
    """kind: "original" (basic graph rewrites only: the layout ones add ~0.2 s to a
    load and make a 1-D model no faster), "rewritten" (all of them: the blocked
    convolutions; ~0.4 s), "prepared" (a saved optimised copy: none, ~0.1 s)."""
    import onnxruntime

    level = onnxruntime.GraphOptimizationLevel
    opts = options()
    opts.graph_optimization_level = {
        "original": level.ORT_ENABLE_BASIC,
        "rewritten": level.ORT_ENABLE_ALL,
        "prepared": level.ORT_DISABLE_ALL,
    }[kind]
    if save:
        opts.optimized_model_filepath = save
    return onnxruntime.InferenceSession(
        source, sess_options=opts, providers=["CPUExecutionProvider"]
    )


def _fast_session(model: Path, folder: Path, options: Callable[[], Any]) -> Any:
    dest = fast_path(model, folder)
    if dest.is_file():
        try:
            return _open(str(dest), options, "prepared")
        except Exception as exc:  # a damaged copy: make it again
            log.info("cannot load %s (%s); preparing it again", dest, exc)
    unsuitable = dest.with_suffix(".unsuitable")
    if unsuitable.exists():
        return None
    folder.mkdir(parents=True, exist_ok=True)  # first: cannot keep it, do not make it
    data = rewrite(model.read_bytes())
    if data is None:
        return _unsuitable(model, unsuitable)
    stem = f"{dest.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}"
    optimised, unblocked = dest.with_name(f"{stem}.part"), dest.with_name(f"{stem}.u.part")
    try:
        # onnxruntime writes the model as it optimised it (blocked convolutions); we
        # keep the elementwise ops between those blocked too (see unblock), and every
        # candidate is checked as it will be loaded later. The first that checks out
        # is kept.
        _open(data, options, "rewritten", save=str(optimised))
        original = _open(str(model), options, "original")
        candidates = [optimised]
        with contextlib.suppress(Exception):
            unblocked.write_bytes(unblock(optimised.read_bytes()))
            candidates.insert(0, unblocked)
        for candidate in candidates:
            try:
                fast = _open(str(candidate), options, "prepared")
                if _same_output(original, fast):
                    os.replace(candidate, dest)
                    log.info("voice model %s prepared for speed: %s", model.name, dest)
                    return fast
            except Exception as exc:  # onnxruntime's own types: try the next one
                log.info("voice model %s: %s did not work (%s)", model.name, candidate, exc)
        return _unsuitable(model, unsuitable)
    finally:
        for path in (optimised, unblocked):
            with contextlib.suppress(OSError):
                path.unlink(missing_ok=True)


def _unsuitable(model: Path, marker: Path) -> None:
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.touch()
    log.info("voice model %s kept as it is (not rewritten)", model.name)


def _onnx_proto() -> Any:
    """onnx's protobuf classes without ``import onnx`` (which costs ~0.6 s, mostly its
    ml_dtypes import, on the critical path of a first render): its generated module,
    loaded from the installed package by path. None if onnx is not installed."""
    import sys

    loaded = sys.modules.get("onnx.onnx_ml_pb2") or sys.modules.get(_PB2)
    if loaded is not None:
        return loaded
    spec = importlib.util.find_spec("onnx")
    if spec is None or spec.origin is None:
        return None
    pb2 = importlib.util.spec_from_file_location(
        _PB2, Path(spec.origin).with_name("onnx_ml_pb2.py")
    )
    if pb2 is None or pb2.loader is None:
        return None
    module = importlib.util.module_from_spec(pb2)
    pb2.loader.exec_module(module)
    sys.modules[_PB2] = module
    return module


def _node(pb: Any, op: str, inputs: list[str], outputs: list[str], name: str = "") -> Any:
    return pb.NodeProto(op_type=op, input=inputs, output=outputs, name=name)


def _elements(t: Any) -> int:
    return math.prod(t.dims)  # 1 for a scalar (no dims)


def rewrite(model_bytes: bytes) -> bytes | None:
    """The serialized 2-D model, or None when nothing here applies."""
    pb = _onnx_proto()
    if pb is None:
        return None
    m = pb.ModelProto()
    m.ParseFromString(model_bytes)
    opset = max((o.version for o in m.opset_import if o.domain in ("", "ai.onnx")), default=0)
    if opset < 13:  # Squeeze/Unsqueeze take their axes as an input from opset 13 on
        return None
    g = m.graph
    inits = {t.name: t for t in g.initializer}
    scalars = _scalar_names(g)
    weights4: dict[str, str] = {}  # 3-D weight -> its 4-D initializer
    four: dict[str, str] = {}  # 3-D tensor -> the 4-D tensor it is the squeeze of
    squeezed: set[str] = set()  # 3-D tensors that exist in the new graph
    out_nodes: list[Any] = []
    n_conv = 0

    def as4(name: str) -> str:
        if name not in four:
            four[name] = f"{name}__4d"
            squeezed.add(name)  # the 3-D one exists already
            out_nodes.append(_node(pb, "Unsqueeze", [name, _AXIS], [four[name]]))
        return four[name]

    def need3(name: str) -> None:
        if name in four and name not in squeezed:
            out_nodes.append(_node(pb, "Squeeze", [four[name], _AXIS], [name]))
            squeezed.add(name)

    for node in g.node:
        w = inits.get(node.input[1]) if len(node.input) > 1 else None
        if node.op_type in ("Conv", "ConvTranspose") and w is not None and len(w.dims) == 3:
            if w.name not in weights4:
                weights4[w.name] = _weight4(pb, g, w)
            y = node.output[0]
            out_nodes.append(_conv2d(pb, node, as4(node.input[0]), weights4[w.name]))
            four[y] = f"{y}__4d"
            n_conv += 1
            continue
        if (
            node.op_type in _ELEMENTWISE
            and not node.domain
            and len(node.output) == 1
            and any(i in four for i in node.input)
            and all(i in four or i in scalars for i in node.input)
        ):
            y = node.output[0]
            new = _node(pb, node.op_type, [four.get(i, i) for i in node.input], [f"{y}__4d"],
                        node.name)  # fmt: skip
            new.attribute.extend(node.attribute)
            out_nodes.append(new)
            four[y] = f"{y}__4d"
            continue
        for i in node.input:
            need3(i)
        out_nodes.append(node)
    for out in g.output:
        need3(out.name)
    if n_conv == 0:
        return None
    g.initializer.append(pb.TensorProto(name=_AXIS, data_type=pb.TensorProto.INT64, dims=[1],
                                        int64_data=[2]))  # fmt: skip
    _replace_nodes(g, out_nodes)
    return bytes(m.SerializeToString())


def _scalar_names(g: Any) -> set[str]:
    """Initializers and Constant outputs of one element: an elementwise op may take
    them with a 4-D tensor (they broadcast the same either way)."""
    scalars = {t.name for t in g.initializer if _elements(t) == 1}
    for node in g.node:
        if node.op_type == "Constant" and len(node.attribute) == 1:
            a = node.attribute[0]
            if a.name in ("value_float", "value_int") or (
                a.name == "value" and _elements(a.t) == 1
            ):
                scalars.add(node.output[0])
    return scalars


def _weight4(pb: Any, g: Any, w: Any) -> str:
    """A 3-D conv weight as a new 4-D initializer: same data, one more unit axis (no
    copy of values); its name."""
    w4 = pb.TensorProto()
    w4.CopyFrom(w)
    w4.name = f"{w.name}__4d"
    w4.dims[:] = [w.dims[0], w.dims[1], 1, w.dims[2]]
    g.initializer.append(w4)
    return str(w4.name)


def _conv2d(pb: Any, node: Any, x4: str, w4: str) -> Any:
    """The 2-D form of a 1-D Conv/ConvTranspose: its attributes get the unit axis."""
    y = node.output[0]
    new = _node(pb, node.op_type, [x4, w4, *node.input[2:]], [f"{y}__4d"], node.name)
    for a in node.attribute:
        a4 = new.attribute.add()
        a4.CopyFrom(a)
        if a.name in ("kernel_shape", "strides", "dilations", "output_padding",
                      "output_shape"):  # fmt: skip
            a4.ints[:] = [1, *a.ints]
        elif a.name == "pads" and len(a.ints) == 2:
            a4.ints[:] = [0, a.ints[0], 0, a.ints[1]]
    return new


def _replace_nodes(g: Any, nodes: list[Any]) -> None:
    """The graph's nodes become ``nodes``; initializers nothing reads any more go."""
    used = {i for n in nodes for i in n.input}
    kept = [t for t in g.initializer if t.name in used]
    del g.initializer[:]
    g.initializer.extend(kept)
    del g.node[:]
    g.node.extend(nodes)
    del g.value_info[:]  # shapes inside changed; onnxruntime infers them again


def _same_output(original: Any, rewritten: Any) -> bool:
    """Both models on one short input with the noise off: same length, same samples."""
    names = {i.name for i in original.get_inputs()}
    if names - {"sid"} != {"input", "input_lengths", "scales"}:  # not a Piper model
        return False
    ids = np.array([[1, 0, 20, 0, 25, 0, 14, 0, 31, 0, 22, 0, 18, 0, 27, 0, 2]], dtype=np.int64)
    feed: dict[str, np.ndarray] = {
        "input": ids,
        "input_lengths": np.array([ids.shape[1]], dtype=np.int64),
        "scales": np.array([0.0, 1.0, 0.0], dtype=np.float32),
    }
    if "sid" in names:
        feed["sid"] = np.array([0], dtype=np.int64)
    x = np.asarray(original.run(None, feed)[0], dtype=np.float32)
    y = np.asarray(rewritten.run(None, feed)[0], dtype=np.float32)
    return x.shape == y.shape and x.size > 0 and float(np.max(np.abs(x - y))) <= MAX_DIFF


_NCHWC = "com.microsoft.nchwc"


def unblock(model_bytes: bytes) -> bytes:
    """onnxruntime's optimised model, with the elementwise ops between its blocked
    ("NCHWc") convolutions run on the blocked tensors too.

    onnxruntime converts a tensor back to plain layout before any op it has no blocked
    kernel for (LeakyRelu), and again to blocked before the next convolution: in
    Piper's decoder that is two full copies around every convolution (~11% of the
    time). Elementwise ops do not care about layout, so here they take the blocked
    tensors as they are (a plain input is converted once, where it is made); a
    residual Add right after a convolution becomes that convolution's fused sum
    input. The plain form is made only where a node still needs it."""
    pb = _onnx_proto()
    if pb is None:
        raise ValueError("onnx is not installed")
    m = pb.ModelProto()
    m.ParseFromString(model_bytes)
    g = m.graph
    inits = {t.name for t in g.initializer}
    scalars = {t.name for t in g.initializer if _elements(t) == 1}
    lay = _Layouts(pb, {i.name for i in g.input} | inits)
    blocked, channels, rename = lay.blocked, lay.channels, lay.rename
    for node in g.node:
        ins = [rename.get(i, i) for i in node.input]
        if node.domain == _NCHWC and not _flag(node, "channels_last"):
            if node.op_type == "ReorderOutput":
                blocked[node.output[0]], channels[node.output[0]] = ins[0], _flag(node, "channels")
                continue
            if node.op_type == "ReorderInput" and ins[0] in blocked:
                rename[node.output[0]] = blocked[ins[0]]
                continue
            if node.op_type == "ReorderInput":  # kept, and reused by to_blocked
                node.input[:] = [lay.plain(i) for i in ins]
                lay.out.append(node)
                lay.made_blocked.setdefault(ins[0], node.output[0])
                continue
        if (
            not node.domain
            and node.op_type in _ELEMENTWISE
            and len(node.output) == 1
            and any(i in blocked for i in ins)
            # a plain operand must be a whole tensor of the same shape: Add/Sub/Mul of
            # two activations (the check below catches any broadcasting surprise)
            and all(i in blocked or i in scalars or i not in inits for i in ins)
        ):
            c = next(channels[i] for i in ins if i in blocked)
            y = node.output[0]
            xs = [i if i in scalars else lay.to_blocked(i, c) for i in ins]
            new = _node(pb, node.op_type, xs, [f"{y}__blocked"], node.name)
            new.attribute.extend(node.attribute)
            lay.out.append(new)
            blocked[y], channels[y] = f"{y}__blocked", c
            continue
        node.input[:] = [lay.plain(i) for i in ins]
        lay.out.append(node)
        lay.exists.update(node.output)
    for o in g.output:
        lay.plain(o.name)
    out = _fuse_sums(lay.out, {o.name for o in g.output} | inits)
    del g.node[:]
    g.node.extend(out)
    return bytes(m.SerializeToString())


def _flag(node: Any, attr: str) -> int:
    return next((a.i for a in node.attribute if a.name == attr), 0)


class _Layouts:
    """The nodes of the graph ``unblock`` rebuilds, and each tensor's plain and blocked
    forms: either is made (by a reorder node) only when first needed."""

    def __init__(self, pb: Any, exists: set[str]) -> None:
        self.pb = pb
        self.blocked: dict[str, str] = {}  # plain tensor -> its blocked form
        self.channels: dict[str, int] = {}  # plain tensor -> its (unpadded) channel count
        self.exists = exists  # plain tensors in the new graph
        self.rename: dict[str, str] = {}
        self.made_blocked: dict[str, str] = {}  # plain -> a blocked form the model makes
        self.out: list[Any] = []

    def reorder(self, op: str, src: str, dst: str, c: int | None = None) -> None:
        node = _node(self.pb, op, [src], [dst])
        node.domain = _NCHWC
        if c is not None:
            a = node.attribute.add()
            a.name, a.type, a.i = "channels", self.pb.AttributeProto.INT, c
        self.out.append(node)

    def plain(self, name: str) -> str:
        name = self.rename.get(name, name)
        if name in self.blocked and name not in self.exists:
            self.reorder("ReorderOutput", self.blocked[name], name, self.channels[name])
            self.exists.add(name)
        return name

    def to_blocked(self, name: str, c: int) -> str:
        if name not in self.blocked and name in self.made_blocked:
            self.blocked[name], self.channels[name] = self.made_blocked[name], c
        if name not in self.blocked:
            self.reorder("ReorderInput", self.plain(name), f"{name}__blocked")
            self.blocked[name], self.channels[name] = f"{name}__blocked", c
        return self.blocked[name]


def _fuse_sums(nodes: list[Any], keep: set[str]) -> list[Any]:
    """``Add(Conv(x), r)`` as the blocked Conv's own sum input: one pass less."""
    uses: dict[str, int] = {}
    for n in nodes:
        for i in n.input:
            uses[i] = uses.get(i, 0) + 1
    made = {o: n for n in nodes for o in n.output}
    fused: dict[int, Any] = {}  # id of an Add -> the conv that takes it over
    for n in nodes:
        if n.op_type != "Add" or n.domain or len(n.input) != 2:
            continue
        for k in (0, 1):
            a, b = n.input[k], n.input[1 - k]
            conv = made.get(a)
            if (
                conv is not None
                and conv.domain == _NCHWC
                and conv.op_type == "Conv"
                and len(conv.input) == 3
                and not any(x.name == "activation" for x in conv.attribute)
                and uses.get(a) == 1
                and a not in keep
                and b in made
            ):
                conv.input.append(b)
                conv.output[0] = n.output[0]
                fused[id(n)] = conv  # the conv moves to the Add's place, after b is made
                break
    moved = {id(conv) for conv in fused.values()}
    return [fused.get(id(n), n) for n in nodes if id(n) not in moved]
