"""Text encoder: phonemes → phone-level prior mean μ and log durations; length regulation.

Shapes: ``B`` batch, ``T`` phonemes, ``F`` mel frames, ``E`` emotion_dim, ``S`` speaker_dim.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ..config import EncoderConfig, PitchConfig
from ..durations import round_running_total
from .common import ChannelLayerNorm, MultiHeadSelfAttention, sequence_mask, sinusoidal_positions

__all__ = [
    "TextEncoder",
    "DurationPredictor",
    "PitchPredictor",
    "length_regulate",
    "round_durations",
    "expand_by_durations",
    "durations_to_path",
    "duration_loss",
]


class _ConvBlock(nn.Module):
    """conv → ReLU → channel layer norm → dropout, on masked input."""

    def __init__(self, c_in: int, c_out: int, kernel: int, dropout: float) -> None:
        super().__init__()
        self.conv = nn.Conv1d(c_in, c_out, kernel, padding=kernel // 2)
        self.norm = ChannelLayerNorm(c_out)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return self.drop(self.norm(torch.relu(self.conv(x * mask))))


class _EncoderLayer(nn.Module):
    """Pre-norm transformer layer: x + attn(norm(x)); x + ffn(norm(x))."""

    def __init__(self, cfg: EncoderConfig) -> None:
        super().__init__()
        self.norm1 = ChannelLayerNorm(cfg.hidden)
        self.attn = MultiHeadSelfAttention(cfg.hidden, cfg.n_heads, cfg.dropout)
        self.norm2 = ChannelLayerNorm(cfg.hidden)
        self.ffn1 = nn.Conv1d(cfg.hidden, cfg.ffn_dim, cfg.ffn_kernel, padding=cfg.ffn_kernel // 2)
        self.ffn2 = nn.Conv1d(cfg.ffn_dim, cfg.hidden, 1)
        self.drop = nn.Dropout(cfg.dropout)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        x = x + self.drop(self.attn(self.norm1(x), mask))
        h = torch.relu(self.ffn1(self.norm2(x) * mask))
        return (x + self.drop(self.ffn2(self.drop(h)))) * mask


class DurationPredictor(nn.Module):
    """Phone-level predictor conditioned on (speaker, emotion): log durations, or pitch.

    forward(h (B, C, T), mask (B, 1, T), cond (B, C)) -> (B, T) when ``out_channels`` is 1 (log
    durations), else (B, out_channels, T); ``cond`` is added to every phoneme's state before two
    conv blocks.
    """

    def __init__(self, c_in: int, hidden: int, kernel: int, dropout: float,
                 out_channels: int = 1) -> None:
        super().__init__()
        self.block1 = _ConvBlock(c_in, hidden, kernel, dropout)
        self.block2 = _ConvBlock(hidden, hidden, kernel, dropout)
        self.proj = nn.Conv1d(hidden, out_channels, 1)

    def forward(self, h: torch.Tensor, mask: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        h = h + cond.unsqueeze(-1)
        h = self.block2(self.block1(h, mask), mask)
        out = self.proj(h * mask) * mask
        return out.squeeze(1) if out.shape[1] == 1 else out


class TextEncoder(nn.Module):
    """Phoneme ids → phone-level prior mean ``μ`` (normalised log-mel units) and log durations.

    embedding → ``prenet_layers`` conv blocks (residual) → + sinusoidal positions (learned scale) →
    ``n_layers`` pre-norm transformer layers → final norm. ``μ`` is a 1×1 projection of the states
    plus a speaker projection; the duration predictor sees the gradient-stopped states plus a
    projection of ``concat(speaker, emotion)``.
    """

    def __init__(
        self, cfg: EncoderConfig, n_symbols: int, n_mels: int, emotion_dim: int, speaker_dim: int
    ) -> None:
        super().__init__()
        c = cfg.hidden
        self.hidden = c
        self.embedding = nn.Embedding(n_symbols, c)
        nn.init.normal_(self.embedding.weight, 0.0, c**-0.5)
        self.prenet = nn.ModuleList(
            [_ConvBlock(c, c, cfg.prenet_kernel, cfg.dropout) for _ in range(cfg.prenet_layers)]
        )
        self.pos_scale = nn.Parameter(torch.ones(1))
        self.layers = nn.ModuleList([_EncoderLayer(cfg) for _ in range(cfg.n_layers)])
        self.norm = ChannelLayerNorm(c)
        self.speaker_to_mu = nn.Linear(speaker_dim, c)
        self.proj_mu = nn.Conv1d(c, n_mels, 1)
        self.cond_to_duration = nn.Linear(speaker_dim + emotion_dim, c)
        self.duration = DurationPredictor(c, cfg.dp_hidden, cfg.dp_kernel, cfg.dp_dropout)

    def forward(
        self,
        phonemes: torch.Tensor,
        lengths: torch.Tensor,
        emo: torch.Tensor,
        spk: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Encode a padded batch of phoneme sequences.

        Args:
            phonemes: ``(B, T)`` int64 symbol ids (padding any valid id, e.g. 0).
            lengths: ``(B,)`` int64 number of real phonemes per item (``1 <= lengths <= T``).
            emo: ``(B, E)`` float emotion embedding (conditions the durations only).
            spk: ``(B, S)`` float speaker embedding.

        Returns:
            ``mu_phone`` ``(B, n_mels, T)`` (zero on padding), ``log_dur`` ``(B, T)`` predicted
            log frame counts (zero on padding), ``mask`` ``(B, 1, T)`` float.
        """
        x, mask = self.states(phonemes, lengths, emo.dtype)
        mu = self.mu_from_states(x, mask, spk)
        cond = self.cond_to_duration(torch.cat([spk, emo], dim=-1))
        log_dur = self.duration(x.detach(), mask, cond)
        return mu, log_dur, mask

    def mu_from_states(self, x: torch.Tensor, mask: torch.Tensor,
                       spk: torch.Tensor) -> torch.Tensor:
        """The phone-level prior ``μ`` ``(B, n_mels, T)`` from :meth:`states` and the speaker."""
        return self.proj_mu(x + self.speaker_to_mu(spk).unsqueeze(-1)) * mask

    def states(self, phonemes: torch.Tensor, lengths: torch.Tensor,
               dtype: torch.dtype = torch.float32) -> tuple[torch.Tensor, torch.Tensor]:
        """The final encoder states ``(B, C, T)`` (zero on padding) and the mask ``(B, 1, T)``."""
        t = phonemes.shape[1]
        mask = sequence_mask(lengths, t).to(dtype)
        x = self.embedding(phonemes).transpose(1, 2) * mask  # (B, C, T)
        for block in self.prenet:
            x = x + block(x, mask)
        x = (x + self.pos_scale * sinusoidal_positions(t, self.hidden, x.device)) * mask
        for layer in self.layers:
            x = layer(x, mask)
        return self.norm(x) * mask, mask


class PitchPredictor(nn.Module):
    """Per-phoneme pitch: ``ln(F0 / 100 Hz)`` and a voicing logit (``emomix.harmonics``).

    Shaped like the duration predictor: ``cond = cond(concat(spk, emo))`` added to the
    gradient-stopped encoder states, two conv blocks, a 1×1 projection to two channels.
    forward(x (B or 1, C, T), mask (B or 1, 1, T), emo (B, E), spk (B, S)) -> (B, 2, T); states
    of one line are broadcast to ``B`` conditions.
    """

    def __init__(self, c_in: int, emotion_dim: int, speaker_dim: int, cfg: PitchConfig) -> None:
        super().__init__()
        self.cond = nn.Linear(speaker_dim + emotion_dim, c_in)
        self.net = DurationPredictor(c_in, cfg.hidden, cfg.kernel, cfg.dropout, out_channels=2)

    def forward(self, x: torch.Tensor, mask: torch.Tensor, emo: torch.Tensor,
                spk: torch.Tensor) -> torch.Tensor:
        b = emo.shape[0]
        if x.shape[0] != b:
            x, mask = x.expand(b, -1, -1), mask.expand(b, -1, -1)
        return self.net(x.detach(), mask, self.cond(torch.cat([spk, emo], dim=-1)))


def durations_to_path(durations: torch.Tensor, n_frames: int | None = None) -> torch.Tensor:
    """Integer durations ``(B, T)`` → hard alignment ``(B, T, F)`` (1 where frame f ∈ phone t).

    ``F`` defaults to the largest total; frames past an item's total belong to no phone.
    """
    ends = torch.cumsum(durations, dim=1)  # (B, T)
    starts = ends - durations
    if n_frames is None:
        n_frames = int(ends[:, -1].max()) if durations.numel() else 0
    f = torch.arange(n_frames, device=durations.device)[None, None, :]
    return ((f >= starts[..., None]) & (f < ends[..., None])).to(torch.float32)


def expand_by_durations(
    mu_phone: torch.Tensor, durations: torch.Tensor, n_frames: int | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Repeat each phone's column of ``mu_phone`` ``durations`` times (training / given durations).

    Args:
        mu_phone: ``(B, C, T)``.
        durations: ``(B, T)`` integer frame counts (zero on padding).
        n_frames: output length ``F``; defaults to the largest total duration.

    Returns:
        ``mu`` ``(B, C, F)`` and ``frame_mask`` ``(B, 1, F)`` float.
    """
    durations = durations.long()
    path = durations_to_path(durations, n_frames).to(mu_phone.dtype)
    mu = torch.matmul(mu_phone, path)
    frame_mask = sequence_mask(durations.sum(dim=1), path.shape[-1]).to(mu_phone.dtype)
    return mu, frame_mask


def round_durations(raw: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Whole-frame durations ``(B, T)`` int64 from real-valued ones ``raw (B, T)``: each row
    rounded by its running total (:func:`emomix.durations.round_running_total`, the rule every
    runtime shares); padding (``mask`` 0) gets none."""
    rows = [round_running_total(r, m > 0) for r, m in
            zip(raw.detach().float().cpu().numpy(), mask.detach().cpu().numpy(), strict=True)]
    out = np.stack(rows) if rows else np.zeros(raw.shape, np.int64)
    return torch.from_numpy(out).to(raw.device)


def length_regulate(
    mu_phone: torch.Tensor,
    log_dur: torch.Tensor,
    mask: torch.Tensor,
    length_scale: float = 1.0,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Expand phone-level ``μ`` to frames with the predicted durations (inference).

    ``durations = round_durations(exp(log_dur) * length_scale, mask)`` (float32 before the
    running total): every real phoneme gets at least one frame, padding gets none.
    ``length_scale > 1`` slows speech down.

    Args:
        mu_phone: ``(B, n_mels, T)``; log_dur: ``(B, T)``; mask: ``(B, 1, T)``.

    Returns:
        ``mu`` ``(B, n_mels, F)`` with ``F`` the largest total, ``frame_mask`` ``(B, 1, F)``,
        ``durations`` ``(B, T)`` int64.
    """
    if length_scale <= 0:
        raise ValueError(f"length_scale must be > 0, got {length_scale}")
    m = mask.squeeze(1)
    durations = round_durations(torch.exp(log_dur.float()) * float(length_scale), m)
    mu, frame_mask = expand_by_durations(mu_phone, durations)
    return mu, frame_mask, durations


def duration_loss(
    log_dur: torch.Tensor, durations: torch.Tensor, mask: torch.Tensor
) -> torch.Tensor:
    """MSE between predicted and target log durations over real phonemes (Grad-TTS).

    ``durations`` ``(B, T)`` are target frame counts (e.g. ``path.sum(-1)`` from alignment search);
    the target is ``log(1e-8 + durations)``.
    """
    m = mask.squeeze(1)
    target = torch.log(1e-8 + durations.to(log_dur.dtype)) * m
    return ((log_dur - target) ** 2 * m).sum() / m.sum().clamp_min(1.0)
