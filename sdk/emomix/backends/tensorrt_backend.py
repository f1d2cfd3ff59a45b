"""The TensorRT backend: the denoiser step on a TensorRT engine, the rest on ONNX Runtime.

    voice = emomix.load_voice("my_voice", backend="tensorrt")

Needs the ``tensorrt`` Python package (10.x), ``cuda-python`` and an NVIDIA GPU, plus
``tensorrt/denoiser.plan`` built on *this* GPU by ``emomix export VOICE_DIR --onnx --tensorrt``.
The encoder and vocoder run in ONNX Runtime with ``providers="auto"`` (TensorRT/CUDA execution
providers when the installed onnxruntime offers them). numpy only: never imports torch.

Pitch voices: the pitch predictor (``onnx/pitch.onnx``, required and contract-checked as for
:class:`~emomix.backends.onnx_backend.OnnxBackend`) runs in ONNX Runtime like the encoder, with
the same providers; it gets no engine. It runs once per line on ``T`` phonemes, as the encoder
does, while the denoiser runs once per sampler step on ``F`` frames, so an engine would buy
nothing measurable and would cost a second per-GPU build and profile.

UNTESTED HERE: this module is written against the documented TensorRT 10 Python API
(``execute_async_v3``, named I/O tensors) and cuda-python's ``cudart``; the development machine
has neither. ``tests/test_export.py`` runs it where ``tensorrt`` imports and skips elsewhere.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..voice import VoiceBundle
from ..voice.export_contract import onnx_relpath, plan_info_relpath, plan_relpath
from .onnx_backend import OnnxBackend, StaleExportError


def import_tensorrt():
    try:
        import tensorrt as trt
    except ImportError as exc:
        raise ImportError("TensorRT is not installed: pip install tensorrt (needs an NVIDIA GPU "
                          "and driver); or use backend='onnx'") from exc
    return trt


def _cudart():
    try:
        from cuda.bindings import runtime as cudart  # cuda-python >= 12.6
    except ImportError:
        try:
            from cuda import cudart  # older cuda-python
        except ImportError as exc:
            raise ImportError("the tensorrt backend needs cuda-python: pip install cuda-python"
                              ) from exc
    return cudart


def _check(result):
    """cuda-python returns ``(err, *values)``; raise on error, return the values."""
    err, *values = result if isinstance(result, tuple) else (result,)
    if int(err) != 0:
        raise RuntimeError(f"CUDA error {err}")
    return values[0] if len(values) == 1 else values


class TensorRTRunner:
    """Executes one engine with static device buffers sized for the profile's max shapes.

    Buffers are allocated once and bound once (``set_tensor_address``); each call only sets the
    input shapes, copies inputs in, enqueues ``execute_async_v3`` and copies outputs back.
    Not reentrant (one stream, one context).
    """

    def __init__(self, plan_path: str | Path):
        trt = import_tensorrt()
        self._trt = trt
        self._cuda = _cudart()
        self._logger = trt.Logger(trt.Logger.WARNING)
        self._runtime = trt.Runtime(self._logger)
        self.engine = self._runtime.deserialize_cuda_engine(Path(plan_path).read_bytes())
        if self.engine is None:
            raise StaleExportError(f"{plan_path}: TensorRT cannot deserialise this plan (built "
                                   "for another GPU or TensorRT version?); rebuild it with "
                                   "`emomix export VOICE_DIR --onnx --tensorrt --force`")
        self.context = self.engine.create_execution_context()
        self.stream = _check(self._cuda.cudaStreamCreate())
        self.inputs: list[str] = []
        self.outputs: list[str] = []
        self.max_shapes: dict[str, tuple[int, ...]] = {}
        self._ptrs: dict[str, int] = {}
        for i in range(self.engine.num_io_tensors):
            name = self.engine.get_tensor_name(i)
            if self.engine.get_tensor_mode(name) == trt.TensorIOMode.INPUT:
                self.inputs.append(name)
                self.max_shapes[name] = tuple(self.engine.get_tensor_profile_shape(name, 0)[2])
            else:
                self.outputs.append(name)
        self._dtypes = {n: np.dtype(trt.nptype(self.engine.get_tensor_dtype(n)))
                        for n in self.inputs + self.outputs}
        # outputs: bind for the largest input shapes to learn their max sizes
        for name in self.inputs:
            self.context.set_input_shape(name, self.max_shapes[name])
        for name in self.outputs:
            self.max_shapes[name] = tuple(self.context.get_tensor_shape(name))
        for name, shape in self.max_shapes.items():
            nbytes = int(np.prod(shape)) * self._dtypes[name].itemsize
            self._ptrs[name] = int(_check(self._cuda.cudaMalloc(max(nbytes, 1))))
            self.context.set_tensor_address(name, self._ptrs[name])

    def __call__(self, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
        cuda = self._cuda
        h2d = cuda.cudaMemcpyKind.cudaMemcpyHostToDevice
        d2h = cuda.cudaMemcpyKind.cudaMemcpyDeviceToHost
        for name in self.inputs:
            a = np.ascontiguousarray(feeds[name], self._dtypes[name])
            if any(s > m for s, m in zip(a.shape, self.max_shapes[name], strict=True)):
                raise ValueError(f"{name} shape {a.shape} exceeds the engine's profile maximum "
                                 f"{self.max_shapes[name]}; rebuild with larger ranges")
            self.context.set_input_shape(name, a.shape)
            _check(cuda.cudaMemcpyAsync(self._ptrs[name], a.ctypes.data, a.nbytes, h2d,
                                        self.stream))
            feeds[name] = a  # keep alive until the stream is synchronised
        if not self.context.execute_async_v3(self.stream):
            raise RuntimeError("TensorRT execute_async_v3 failed")
        outs = []
        for name in self.outputs:
            out = np.empty(tuple(self.context.get_tensor_shape(name)), self._dtypes[name])
            _check(cuda.cudaMemcpyAsync(out.ctypes.data, self._ptrs[name], out.nbytes, d2h,
                                        self.stream))
            outs.append(out)
        _check(cuda.cudaStreamSynchronize(self.stream))
        return outs

    def close(self) -> None:
        for ptr in self._ptrs.values():
            self._cuda.cudaFree(ptr)
        self._ptrs.clear()
        if self.stream is not None:
            self._cuda.cudaStreamDestroy(self.stream)
            self.stream = None

    def __del__(self):  # pragma: no cover - GC timing
        try:
            self.close()
        except Exception:
            pass


def check_plan(bundle: VoiceBundle, network: str) -> Path:
    """The plan path if it exists and was built from the bundle's current ONNX graph."""
    trt = import_tensorrt()
    plan = bundle.path / plan_relpath(network)
    info_path = bundle.path / plan_info_relpath(network)
    hint = f"run `emomix export {bundle.path} --onnx --tensorrt` on this machine"
    if not plan.is_file() or not info_path.is_file():
        raise StaleExportError(f"{plan}: no TensorRT engine for the {network}; {hint}")
    info = json.loads(info_path.read_text(encoding="utf-8"))
    onnx_entry = bundle.files.get(onnx_relpath(network), {})
    if info.get("onnx_sha256") != onnx_entry.get("sha256"):
        raise StaleExportError(f"{plan}: built from a different {onnx_relpath(network)}; {hint}")
    if info.get("tensorrt_version") != trt.__version__:
        raise StaleExportError(f"{plan}: built with TensorRT {info.get('tensorrt_version')}, "
                               f"this is {trt.__version__}; {hint}")
    return plan


class TensorRTBackend(OnnxBackend):
    """Denoiser step on TensorRT (static buffers, one stream); encoder, vocoder and (for a
    pitch voice) the pitch predictor on ONNX Runtime (:meth:`OnnxBackend.pitch`)."""

    name = "tensorrt"

    def __init__(self, bundle: VoiceBundle, *, threads: int | None = None,
                 providers: str | Sequence[str] | None = "auto", verify_hashes: bool = True):
        super().__init__(bundle, threads=threads, providers=providers,
                         verify_hashes=verify_hashes)
        self._denoiser = TensorRTRunner(check_plan(bundle, "denoiser"))

    def denoise(self, x, t, mu, emotions, speakers):
        b = x.shape[0]
        feeds = {"x": x, "t": np.asarray(t, np.float32).reshape(b),
                 "mu": np.broadcast_to(mu, (b, *mu.shape)), "emo": emotions, "spk": speakers}
        with self._lock:
            return self._denoiser(feeds)[0]
