"""Discriminators and losses for adversarial fine-tuning of the vocoder.

A vocoder trained on reconstruction losses alone (multi-resolution STFT + mel L1) averages over
what it cannot predict: the phase of each harmonic. The result is a slightly buzzy, noisy voice
with weak periodicity. A discriminator that looks at the waveform in periods of a few samples,
and one that looks at its spectrogram at several resolutions, penalise exactly that, and the
generator learns to produce sharper harmonics (HiFi-GAN, Vocos).

Both are small here, so that a fine-tuning stage fits on a CPU:

- :class:`PeriodDiscriminator`: the waveform folded into ``(samples / p, p)``, then 2-D
  convolutions along the first axis only, so each column sees every ``p``-th sample;
- :class:`SpectrogramDiscriminator`: 2-D convolutions over the log-magnitude STFT of one
  resolution;
- :class:`Discriminators`: one per period of ``PERIODS`` and per resolution of ``RESOLUTIONS``.

Losses are least-squares GAN losses (real → 1, generated → 0) plus feature matching (L1 between
the discriminators' inner activations on real and generated audio), each averaged over the
discriminators. The generator is not changed, so a fine-tuned vocoder exports and runs on
every backend exactly as before.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import weight_norm

__all__ = [
    "PERIODS",
    "RESOLUTIONS",
    "PeriodDiscriminator",
    "SpectrogramDiscriminator",
    "Discriminators",
    "discriminator_loss",
    "generator_loss",
    "feature_matching_loss",
]

#: Periods (samples) of the period discriminators: primes, so their folds do not coincide.
PERIODS = (2, 3, 5, 7, 11)
#: (n_fft, hop) of the spectrogram discriminators.
RESOLUTIONS = ((512, 128), (1024, 256), (2048, 512))

_SLOPE = 0.1


def _score(layers: nn.ModuleList, out: nn.Module, x: torch.Tensor
           ) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """Leaky-ReLU convolutions, then the score map: ``(scores (B, n), every layer's output)``."""
    feats = []
    for layer in layers:
        x = F.leaky_relu(layer(x), _SLOPE)
        feats.append(x)
    x = out(x)
    feats.append(x)
    return x.flatten(1), feats


class PeriodDiscriminator(nn.Module):
    """Scores a waveform folded by ``period``: ``(B, samples) → (scores, feature maps)``."""

    def __init__(self, period: int, channels: tuple[int, ...] = (16, 32, 64, 128)) -> None:
        super().__init__()
        if period < 1:
            raise ValueError(f"period must be ≥ 1, got {period}")
        self.period = period
        layers, c_in = [], 1
        for c in channels:
            layers.append(weight_norm(nn.Conv2d(c_in, c, (5, 1), (3, 1), padding=(2, 0))))
            c_in = c
        layers.append(weight_norm(nn.Conv2d(c_in, c_in, (5, 1), 1, padding=(2, 0))))
        self.layers = nn.ModuleList(layers)
        self.out = weight_norm(nn.Conv2d(c_in, 1, (3, 1), 1, padding=(1, 0)))

    def forward(self, wav: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        b, n = wav.shape
        pad = (-n) % self.period
        if pad:
            wav = F.pad(wav, (0, pad), mode="reflect")
        return _score(self.layers, self.out, wav.view(b, 1, -1, self.period))


class SpectrogramDiscriminator(nn.Module):
    """Scores the log-magnitude STFT of a waveform at one ``(n_fft, hop)``."""

    def __init__(self, n_fft: int, hop: int, channels: int = 16) -> None:
        super().__init__()
        self.n_fft, self.hop = n_fft, hop
        self.register_buffer("window", torch.hann_window(n_fft), persistent=False)
        c = channels
        self.layers = nn.ModuleList([
            weight_norm(nn.Conv2d(1, c, (7, 5), (2, 1), padding=(3, 2))),
            weight_norm(nn.Conv2d(c, c, (5, 3), (2, 1), padding=(2, 1))),
            weight_norm(nn.Conv2d(c, c, (5, 3), (2, 1), padding=(2, 1))),
            weight_norm(nn.Conv2d(c, c, (5, 3), (2, 1), padding=(2, 1))),
            weight_norm(nn.Conv2d(c, c, (3, 3), 1, padding=(1, 1))),
        ])
        self.out = weight_norm(nn.Conv2d(c, 1, (3, 3), 1, padding=(1, 1)))

    def forward(self, wav: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        spec = torch.stft(wav, self.n_fft, self.hop, window=self.window, return_complex=True)
        # (B, 1, bins, frames)
        return _score(self.layers, self.out, torch.log(spec.abs().clamp_min(1e-5)).unsqueeze(1))


class Discriminators(nn.Module):
    """All discriminators; ``forward(wav)`` → a list of ``(scores, feature maps)``, one each."""

    def __init__(self, periods: tuple[int, ...] = PERIODS,
                 resolutions: tuple[tuple[int, int], ...] = RESOLUTIONS) -> None:
        super().__init__()
        self.nets = nn.ModuleList([PeriodDiscriminator(p) for p in periods]
                                  + [SpectrogramDiscriminator(n, h) for n, h in resolutions])
        self.min_samples = max([n for n, _ in resolutions] + [max(periods, default=1)])

    def forward(self, wav: torch.Tensor) -> list[tuple[torch.Tensor, list[torch.Tensor]]]:
        if wav.dim() != 2 or wav.shape[-1] < self.min_samples:
            raise ValueError(f"discriminators need (batch, samples ≥ {self.min_samples}) "
                             f"audio, got shape {tuple(wav.shape)}")
        return [net(wav) for net in self.nets]


def discriminator_loss(real, fake) -> torch.Tensor:
    """Least squares, averaged over discriminators: ``mean((1 − D(real))² + D(fake)²)``."""
    terms = [torch.mean((1.0 - r) ** 2) + torch.mean(f ** 2)
             for (r, _), (f, _) in zip(real, fake, strict=True)]
    return torch.stack(terms).mean()


def generator_loss(fake) -> torch.Tensor:
    """Least squares, averaged over discriminators: ``mean((1 − D(generated))²)``."""
    return torch.stack([torch.mean((1.0 - f) ** 2) for f, _ in fake]).mean()


def feature_matching_loss(real, fake) -> torch.Tensor:
    """L1 between inner activations on real (held fixed) and generated audio, summed over each
    discriminator's layers and averaged over discriminators."""
    terms = []
    for (_, fr), (_, ff) in zip(real, fake, strict=True):
        terms.append(sum(F.l1_loss(b, a.detach()) for a, b in zip(fr, ff, strict=True)))
    return torch.stack(terms).mean()
