"""Per-network export specs: graph I/O names, dynamic axes, sample inputs, TensorRT profiles.

A spec is data; the torch wrapper that fixes the call signature of each network lives here too
(``wrap``), because the input order of ``torch.onnx.export`` *is* the graph's input order.
Shapes: ``B`` batch, ``T`` phonemes, ``F`` frames, ``C = n_mels``, ``E``/``S`` emotion/speaker
sizes, ``K = n_emotions``. ``pitch`` is exported only for voices with a pitch predictor
(:func:`emomix.voice.export_contract.voice_networks`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

#: TensorRT optimisation-profile ranges per named axis: (min, opt, max).
DEFAULT_AXIS_RANGES: dict[str, tuple[int, int, int]] = {
    "batch": (1, 2, 8),  # the denoiser's batch is the active conditions of one step
    "phonemes": (1, 64, 512),
    "frames": (1, 256, 4096),
}


@dataclass(frozen=True)
class TensorSpec:
    """One graph input or output. ``axes`` names each dimension: a dynamic axis name
    (``"batch"``, ``"phonemes"``, ``"frames"``, or ``"samples"`` for outputs) or a fixed size key
    (``"C"``, ``"E"``, ``"S"``, ``"K"``, ``"1"``, ``"2"``) resolved from the model config."""

    name: str
    axes: tuple[str, ...]
    dtype: str = "float32"


DYNAMIC_AXES = ("batch", "phonemes", "frames", "samples")


@dataclass(frozen=True)
class NetworkSpec:
    name: str
    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]
    #: lengths (of the network's sequence axis) and batch sizes checked after export
    check_lengths: tuple[int, ...]
    check_batches: tuple[int, ...]
    #: the sequence axis name of this network
    seq_axis: str
    #: build a TensorRT engine for it with ``--tensorrt``
    tensorrt: bool = False
    axis_ranges: dict[str, tuple[int, int, int]] = field(
        default_factory=lambda: dict(DEFAULT_AXIS_RANGES))

    @property
    def input_names(self) -> list[str]:
        return [t.name for t in self.inputs]

    @property
    def output_names(self) -> list[str]:
        return [t.name for t in self.outputs]

    def dynamic_axes(self) -> dict[str, dict[int, str]]:
        """``torch.onnx.export``'s ``dynamic_axes`` for every input and output."""
        out: dict[str, dict[int, str]] = {}
        for t in (*self.inputs, *self.outputs):
            dyn = {i: a for i, a in enumerate(t.axes) if a in DYNAMIC_AXES}
            if dyn:
                out[t.name] = dyn
        return out

    def sizes(self, cfg) -> dict[str, int]:
        return {"C": cfg.audio.n_mels, "E": cfg.emotion_dim, "S": cfg.speaker_dim,
                "K": cfg.n_emotions, "1": 1, "2": 2}

    def shape(self, t: TensorSpec, cfg, dims: dict[str, int]) -> tuple[int, ...]:
        s = self.sizes(cfg)
        return tuple(dims[a] if a in dims else s[a] for a in t.axes)

    def tensorrt_profile(self, cfg) -> dict[str, tuple[tuple[int, ...], ...]]:
        """``input name → (min, opt, max)`` shapes for a TensorRT optimisation profile."""
        out = {}
        for t in self.inputs:
            shapes = []
            for k in range(3):
                dims = {a: r[k] for a, r in self.axis_ranges.items()}
                shapes.append(self.shape(t, cfg, dims))
            out[t.name] = tuple(shapes)
        return out

    def sample_inputs(self, cfg, batch: int, length: int, rng: np.random.Generator
                      ) -> dict[str, np.ndarray]:
        """Random inputs of the right dtypes; ``length`` sizes the sequence axis."""
        dims = {"batch": batch, self.seq_axis: length}
        feeds: dict[str, np.ndarray] = {}
        for t in self.inputs:
            shape = self.shape(t, cfg, dims)
            if t.name == "phonemes":
                feeds[t.name] = rng.integers(0, cfg.n_symbols, size=shape, dtype=np.int64)
            elif t.name == "lengths":
                lengths = rng.integers(1, length + 1, size=shape, dtype=np.int64)
                lengths[0] = length  # the longest item fills the padded axis
                feeds[t.name] = lengths
            elif t.name == "t":
                feeds[t.name] = rng.uniform(0.0, 1.0, size=shape).astype(np.float32)
            else:
                feeds[t.name] = rng.standard_normal(size=shape).astype(np.float32)
        return feeds


ENCODER = NetworkSpec(
    name="encoder",
    inputs=(TensorSpec("phonemes", ("batch", "phonemes"), "int64"),
            TensorSpec("lengths", ("batch",), "int64"),
            TensorSpec("emo", ("batch", "E")),
            TensorSpec("spk", ("batch", "S"))),
    outputs=(TensorSpec("mu_phone", ("batch", "C", "phonemes")),
             TensorSpec("log_dur", ("batch", "phonemes")),
             TensorSpec("mask", ("batch", "1", "phonemes"))),
    check_lengths=(1, 7, 33), check_batches=(1, 3), seq_axis="phonemes",
)
DENOISER = NetworkSpec(
    name="denoiser",
    inputs=(TensorSpec("x", ("batch", "C", "frames")),
            TensorSpec("t", ("batch",)),
            TensorSpec("mu", ("batch", "C", "frames")),
            TensorSpec("emo", ("batch", "E")),
            TensorSpec("spk", ("batch", "S"))),
    outputs=(TensorSpec("out", ("batch", "C", "frames")),),
    check_lengths=(1, 7, 50), check_batches=(1, 3), seq_axis="frames", tensorrt=True,
)
VOCODER = NetworkSpec(
    name="vocoder",
    inputs=(TensorSpec("mel", ("batch", "C", "frames")),),
    outputs=(TensorSpec("wav", ("batch", "samples")),),
    check_lengths=(1, 7, 40), check_batches=(1, 2), seq_axis="frames",
)
SER = NetworkSpec(
    name="ser",
    inputs=(TensorSpec("logmel", ("batch", "C", "frames")),),
    outputs=(TensorSpec("embedding", ("batch", "E")), TensorSpec("logits", ("batch", "K"))),
    check_lengths=(2, 9, 40), check_batches=(1, 2), seq_axis="frames",
)
#: One line's phonemes (batch 1, like ``OnnxBackend.encode``) against ``B`` conditions.
PITCH = NetworkSpec(
    name="pitch",
    inputs=(TensorSpec("phonemes", ("1", "phonemes"), "int64"),
            TensorSpec("lengths", ("1",), "int64"),
            TensorSpec("emo", ("batch", "E")),
            TensorSpec("spk", ("batch", "S"))),
    outputs=(TensorSpec("pitch", ("batch", "2", "phonemes")),),
    check_lengths=(1, 7, 33), check_batches=(1, 3), seq_axis="phonemes",
)

SPECS: dict[str, NetworkSpec] = {s.name: s for s in (ENCODER, DENOISER, VOCODER, SER, PITCH)}


def _denoiser_step(m, x, t, mu, emo, spk):
    """``Denoiser.forward`` pads ``F`` to a multiple of ``2^(levels-1)`` behind a Python ``if``,
    which tracing would freeze to the sample's length. Pad here with a traced amount and an
    explicit frame mask (what the denoiser does internally), so its own pad is a no-op at any
    ``F``; then crop. Same numbers as the eager call."""
    import torch.nn.functional as F

    n = x.shape[-1]
    extra = (-n) % m.denoiser.cfg.frame_multiple
    mask = F.pad(x.new_ones(x.shape[0], 1, n), (0, extra))
    out = m.denoiser(F.pad(x, (0, extra)), t, F.pad(mu, (0, extra)), emo, spk, mask)
    return out[:, :, :n]


def _pitch(m, phonemes, lengths, emo, spk):
    """``PitchPredictor.forward`` broadcasts one line's states to the conditions behind a
    Python ``if`` on the batch sizes, which tracing would freeze to the sample's batch. Expand
    here to the traced ``B`` (a no-op at ``B = 1``) so that branch is never taken."""
    x, mask = m.encoder.states(phonemes, lengths, emo.dtype)
    b = emo.shape[0]
    return m.pitch(x.expand(b, -1, -1), mask.expand(b, -1, -1), emo, spk)


def wrap(model, network: str):
    """A ``torch.nn.Module`` whose ``forward`` takes exactly ``SPECS[network].inputs`` in order
    (masks fixed to ``None`` = all frames real: the runtime never pads a denoiser/vocoder/SER
    batch) and returns ``SPECS[network].outputs`` in order."""
    from torch import nn

    calls: dict[str, Callable[..., Any]] = {
        "encoder": lambda m, phonemes, lengths, emo, spk: m.encoder(phonemes, lengths, emo, spk),
        "denoiser": _denoiser_step,
        "vocoder": lambda m, mel: m.vocoder(mel),
        "ser": lambda m, logmel: m.ser(logmel, None),
        "pitch": _pitch,
    }
    call = calls[network]
    if network == "pitch" and model.pitch is None:
        raise ValueError("this voice has no pitch predictor (model config pitch.enabled is "
                         "false), so it has no pitch graph")

    class _Wrapped(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.m = model

        def forward(self, *args):
            return call(self.m, *args)

    return _Wrapped().eval()
