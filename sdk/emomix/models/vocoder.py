"""Vocos-style vocoder: ConvNeXt blocks at frame rate → magnitude + phase → inverse STFT.

The inverse STFT is written as a fixed inverse-DFT basis (one 1×1 convolution) followed by an
overlap-add made of slices and pads, normalised by the summed squared window. No ``torch.istft``
and no complex tensors: it exports to ONNX and a C++ runtime can mirror it (there, an FFT gives
the same frames far cheaper than the dense basis).

Frame convention ("same" padding, as HiFi-GAN / Grad-TTS / Vocos): ``F`` frames give exactly
``F * hop`` samples, frame ``f``'s window is centred at sample ``f * hop + hop / 2``, i.e. the
analysis STFT reflect-pads ``(n_fft − hop) / 2`` samples at each end with ``center=False``.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ..config import AudioConfig, VocoderConfig
from .common import ChannelLayerNorm

__all__ = ["Vocoder", "InverseSTFT", "hann_window"]


def hann_window(length: int) -> torch.Tensor:
    """Periodic Hann window (``torch.hann_window(length, periodic=True)``), float64."""
    n = torch.arange(length, dtype=torch.float64)
    return 0.5 - 0.5 * torch.cos(2 * math.pi * n / length)


class InverseSTFT(nn.Module):
    """``(real, imag)`` spectra ``(B, n_fft/2+1, F)`` each → waveform ``(B, F * hop)``.

    Equal to ``torch.istft`` of the same spectrum with a periodic Hann window, trimmed by
    ``(n_fft − hop) / 2`` samples at each end instead of ``n_fft / 2`` at the start ("same"
    padding). Needs ``hop`` to divide ``n_fft`` and ``win_length == n_fft``.

    Buffers (not saved in the state dict, rebuilt from the config): ``basis`` ``(n_fft, 2K, 1)``
    the windowed inverse real-DFT basis, with ``K = n_fft/2 + 1`` and rows ``[real; imag]``;
    ``window_sq`` ``(n_fft,)``.
    """

    def __init__(self, n_fft: int, hop_length: int) -> None:
        super().__init__()
        if n_fft % hop_length or (n_fft - hop_length) % 2:
            raise ValueError(
                f"InverseSTFT needs hop_length ({hop_length}) to divide n_fft ({n_fft}) with "
                "n_fft - hop_length even"
            )
        self.n_fft = n_fft
        self.hop = hop_length
        self.overlap = n_fft // hop_length
        self.trim = (n_fft - hop_length) // 2
        k = n_fft // 2 + 1
        window = hann_window(n_fft)
        n = torch.arange(n_fft, dtype=torch.float64)
        kk = torch.arange(k, dtype=torch.float64)
        ang = 2 * math.pi * kk[:, None] * n[None, :] / n_fft  # (K, N)
        scale = torch.full((k, 1), 2.0, dtype=torch.float64)
        scale[0] = 1.0
        scale[-1] = 1.0  # DC and Nyquist appear once in the Hermitian spectrum
        real = scale * torch.cos(ang) / n_fft
        imag = -scale * torch.sin(ang) / n_fft
        basis = torch.cat([real, imag], dim=0) * window[None, :]  # (2K, N)
        self.register_buffer("basis", basis.T.contiguous().unsqueeze(-1).float(), persistent=False)
        self.register_buffer("window_sq", (window**2).float(), persistent=False)

    def _overlap_add(self, frames: torch.Tensor) -> torch.Tensor:
        """``(B, n_fft, F)`` → ``(B, (F + overlap − 1) * hop)`` summed at hop spacing."""
        b, _, n = frames.shape
        r = self.overlap
        chunks = frames.view(b, r, self.hop, n)
        blocks = F.pad(chunks[:, 0], (0, r - 1))
        for j in range(1, r):
            blocks = blocks + F.pad(chunks[:, j], (j, r - 1 - j))
        return blocks.transpose(1, 2).reshape(b, -1)  # block f of hop samples, f = 0 … F+r-2

    def forward(self, real: torch.Tensor, imag: torch.Tensor) -> torch.Tensor:
        n = real.shape[-1]
        frames = F.conv1d(torch.cat([real, imag], dim=1), self.basis)  # (B, n_fft, F)
        y = self._overlap_add(frames)
        env = self._overlap_add(self.window_sq.view(1, -1, 1).expand(1, self.n_fft, n))
        end = self.trim + n * self.hop
        return y[:, self.trim : end] / env[:, self.trim : end]

    def macs_per_frame(self) -> int:
        """Multiply-accumulates per frame of the dense basis (an FFT needs far fewer)."""
        return int(self.basis.shape[0] * self.basis.shape[1])


class _ConvNeXtBlock(nn.Module):
    """Depthwise conv → norm → 1×1 (dim→intermediate) → GELU → 1×1 → layer scale, residual."""

    def __init__(self, dim: int, intermediate: int, kernel: int, layer_scale: float) -> None:
        super().__init__()
        self.dwconv = nn.Conv1d(dim, dim, kernel, padding=kernel // 2, groups=dim)
        self.norm = ChannelLayerNorm(dim, eps=1e-6)
        self.pw1 = nn.Conv1d(dim, intermediate, 1)
        self.pw2 = nn.Conv1d(intermediate, dim, 1)
        self.gamma = nn.Parameter(torch.full((dim, 1), layer_scale))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.pw2(F.gelu(self.pw1(self.norm(self.dwconv(x)))))
        return x + self.gamma * h


class Vocoder(nn.Module):
    """Normalised log-mel ``(B, n_mels, F)`` → waveform ``(B, F * hop_length)`` in [-1, 1]-ish.

    conv(k=input_kernel) → norm → ``n_layers`` ConvNeXt blocks → norm → 1×1 conv to
    ``n_fft + 2`` channels = log-magnitude and phase for ``n_fft/2 + 1`` bins →
    ``exp(min(log_mag, log_mag_max))·(cos φ, sin φ)`` → :class:`InverseSTFT`.
    """

    def __init__(self, cfg: VocoderConfig, audio: AudioConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.hop_length = audio.hop_length
        self.n_bins = audio.n_fft // 2 + 1
        self.embed = nn.Conv1d(
            audio.n_mels, cfg.dim, cfg.input_kernel, padding=cfg.input_kernel // 2
        )
        self.norm = ChannelLayerNorm(cfg.dim, eps=1e-6)
        self.blocks = nn.ModuleList(
            [
                _ConvNeXtBlock(cfg.dim, cfg.intermediate_dim, cfg.kernel_size, cfg.layer_scale_init)
                for _ in range(cfg.n_layers)
            ]
        )
        self.final_norm = ChannelLayerNorm(cfg.dim, eps=1e-6)
        self.head = nn.Conv1d(cfg.dim, 2 * self.n_bins, 1)
        self.istft = InverseSTFT(audio.n_fft, audio.hop_length)
        self.apply(self._init)

    @staticmethod
    def _init(m: nn.Module) -> None:
        if isinstance(m, nn.Conv1d):
            nn.init.trunc_normal_(m.weight, std=0.02)
            nn.init.zeros_(m.bias)

    def spectrum(self, mel: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(B, n_mels, F)`` → ``(log_mag, phase)``, each ``(B, n_fft/2 + 1, F)``."""
        h = self.norm(self.embed(mel))
        for block in self.blocks:
            h = block(h)
        log_mag, phase = self.head(self.final_norm(h)).split(self.n_bins, dim=1)
        return log_mag, phase

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        """``mel`` ``(B, n_mels, F)`` normalised log-mel → ``wav`` ``(B, F * hop_length)`` float."""
        log_mag, phase = self.spectrum(mel)
        mag = torch.exp(torch.clamp(log_mag, max=self.cfg.log_mag_max))
        return self.istft(mag * torch.cos(phase), mag * torch.sin(phase))
