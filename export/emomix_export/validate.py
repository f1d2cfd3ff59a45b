"""Post-export checks: ``onnx.checker``, then ONNX Runtime against PyTorch on fresh inputs."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .specs import NetworkSpec

#: fp32 tolerance on the relative L2 error of every output tensor.
RTOL_FP32 = 1e-4


class ExportValidationError(RuntimeError):
    """An exported graph failed ``onnx.checker`` or does not match PyTorch."""


def rel_l2(got: np.ndarray, ref: np.ndarray) -> float:
    """``‖got − ref‖ / ‖ref‖`` in float64 (absolute error when ``ref`` is all zeros)."""
    g = np.asarray(got, np.float64)
    r = np.asarray(ref, np.float64)
    if g.shape != r.shape:
        return float("inf")
    diff = float(np.linalg.norm(g - r))
    denom = float(np.linalg.norm(r))
    return diff / denom if denom > 0 else diff


@dataclass
class ParityCase:
    network: str
    batch: int
    length: int
    tensor: str
    rel_l2: float

    def __str__(self) -> str:
        return (f"{self.network}.{self.tensor} (batch {self.batch}, {self.length} "
                f"{'phonemes' if self.network in ('encoder', 'pitch') else 'frames'}): "
                f"rel L2 {self.rel_l2:.2e}")


def check_model(path: str) -> None:
    import onnx

    try:
        onnx.checker.check_model(path, full_check=True)
    except Exception as exc:  # onnx raises ValidationError / InferenceError
        raise ExportValidationError(f"{path}: onnx.checker rejected the graph: {exc}") from exc


def parity(model, spec: NetworkSpec, cfg, path: str, *, seed: int = 0,
           tol: float = RTOL_FP32, lengths=None, batches=None) -> list[ParityCase]:
    """Run the graph in ONNX Runtime (CPU) and the torch module on the same random inputs at
    every (batch, length) of the spec; raise :class:`ExportValidationError` naming the worst
    tensor when any relative L2 error exceeds ``tol``. Returns every case."""
    import onnxruntime as ort
    import torch

    from .specs import wrap

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    sess = ort.InferenceSession(path, sess_options=opts, providers=["CPUExecutionProvider"])
    wrapped = wrap(model, spec.name)
    rng = np.random.default_rng(seed)
    cases: list[ParityCase] = []
    for batch in batches or spec.check_batches:
        for length in lengths or spec.check_lengths:
            feeds = spec.sample_inputs(cfg, batch, length, rng)
            got = sess.run(spec.output_names, feeds)
            with torch.inference_mode():
                ref = wrapped(*(torch.from_numpy(feeds[n]) for n in spec.input_names))
            ref = [ref] if isinstance(ref, torch.Tensor) else list(ref)
            for name, g, r in zip(spec.output_names, got, ref, strict=True):
                cases.append(ParityCase(spec.name, batch, length, name,
                                        rel_l2(g, r.float().numpy())))
    worst = max(cases, key=lambda c: c.rel_l2)
    if not worst.rel_l2 <= tol:  # also catches NaN
        raise ExportValidationError(
            f"{path}: ONNX Runtime does not match PyTorch; worst tensor {worst} > {tol:.0e}. "
            "The graph was not installed; report this with the voice's model config.")
    return cases
