"""Speech-emotion recogniser (SER), as used by EmoMix for emotion conditions and style loss.

After Chen et al. (2018), "3-D convolutional recurrent neural networks with attention model for
speech emotion recognition" (the "3-D" is the (log-mel, Δ, ΔΔ) channel stack), reduced in size:
conv blocks over (frequency, time) that halve frequency → per-frame projection → BLSTM →
attention pooling over time → emotion embedding → linear classifier. The embedding is the
emotion condition of the acoustic model (per-emotion means are stored in ``voice.json``); the
conv feature maps give the EmoMix style loss through Gram matrices.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..config import SERConfig
from .common import ChannelLayerNorm

__all__ = ["SER", "compute_deltas", "gram_matrix", "gram_style_loss"]


def compute_deltas(x: torch.Tensor, width: int = 5) -> torch.Tensor:
    """Regression deltas along the last (time) axis, as ``torchaudio.functional.compute_deltas``.

    ``d_t = Σ_{n=1..N} n (x_{t+n} − x_{t−n}) / (2 Σ n²)`` with ``N = (width − 1) / 2`` and edge
    replication. ``x`` ``(..., F)`` → same shape.
    """
    n = (width - 1) // 2
    shape = x.shape
    flat = x.reshape(-1, 1, shape[-1])
    flat = F.pad(flat, (n, n), mode="replicate")
    kernel = torch.arange(-n, n + 1, device=x.device, dtype=x.dtype)
    kernel = (kernel / (kernel**2).sum()).view(1, 1, -1)  # Σ_{-N..N} n² = 2 Σ_{1..N} n²
    return F.conv1d(flat, kernel).reshape(shape)


def gram_matrix(feat: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """``(B, C, H, W)`` feature map → ``(B, C, C)`` Gram matrix normalised by the real positions.

    ``mask`` ``(B, 1, W)`` (1 on real frames) excludes padded frames.
    """
    b, c, h, w = feat.shape
    if mask is not None:
        feat = feat * mask.unsqueeze(2)
        count = mask.sum(dim=(1, 2)).clamp_min(1.0) * h  # (B,)
    else:
        count = torch.full((b,), float(h * w), device=feat.device, dtype=feat.dtype)
    flat = feat.reshape(b, c, h * w)
    return torch.bmm(flat, flat.transpose(1, 2)) / count.view(b, 1, 1)


def gram_style_loss(
    feats_a: list[torch.Tensor], feats_b: list[torch.Tensor], mask: torch.Tensor | None = None
) -> torch.Tensor:
    """EmoMix style loss: ``Σ_layers mean((G(a) − G(b))²)`` over :meth:`SER.cnn_features` maps."""
    if len(feats_a) != len(feats_b):
        raise ValueError(f"feature lists differ in length: {len(feats_a)} vs {len(feats_b)}")
    loss = feats_a[0].new_zeros(())
    for fa, fb in zip(feats_a, feats_b, strict=True):
        loss = loss + F.mse_loss(gram_matrix(fa, mask), gram_matrix(fb, mask))
    return loss


def _reverse_index(lengths: torch.Tensor, n: int) -> torch.Tensor:
    """``(B, n)`` time index that reverses ``[0, L_b)`` and leaves the padding after it alone."""
    t = torch.arange(n, device=lengths.device).unsqueeze(0)
    last = (lengths - 1).unsqueeze(1)
    return torch.where(t <= last, last - t, t)


def _halve_freq(h: torch.Tensor) -> torch.Tensor:
    """``max_pool2d(h, (2, 1))`` as a max over frequency pairs (same values, far faster on CPU)."""
    b, c, q, n = h.shape
    return h[:, :, : q - q % 2].reshape(b, c, q // 2, 2, n).amax(dim=3)


class _ConvBlock2d(nn.Module):
    def __init__(self, c_in: int, c_out: int, kernel: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out, kernel, padding=kernel // 2)
        self.norm = ChannelLayerNorm(c_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.norm(self.conv(x)))


class SER(nn.Module):
    """Log-mel ``(B, n_mels, F)`` → emotion embedding ``(B, E)`` and logits ``(B, n_emotions)``.

    Input is the normalised log-mel of ``AudioConfig``. The classifier is linear in the embedding,
    so the logits of a mean embedding are the mean of the logits.
    """

    def __init__(self, cfg: SERConfig, n_mels: int, emotion_dim: int, n_emotions: int) -> None:
        super().__init__()
        self.cfg = cfg
        blocks = []
        c_in = 3
        n_freq = n_mels
        for c in cfg.cnn_channels:
            blocks.append(_ConvBlock2d(c_in, c, cfg.cnn_kernel))
            c_in = c
            n_freq //= 2
        self.blocks = nn.ModuleList(blocks)
        self.frame_proj = nn.Conv1d(c_in * n_freq, cfg.lstm_input, 1)
        # The BLSTM as two one-directional LSTMs: the backward one reads each sequence reversed
        # within its own length, so padded batches run the fused kernels (packed sequences fall
        # back to a per-step loop that is ~4x slower on the CPU) and padding never leaks in.
        self.lstm_fwd = nn.LSTM(cfg.lstm_input, cfg.lstm_hidden, batch_first=True)
        self.lstm_bwd = nn.LSTM(cfg.lstm_input, cfg.lstm_hidden, batch_first=True)
        self.attn_proj = nn.Linear(2 * cfg.lstm_hidden, cfg.attention_dim)
        self.attn_score = nn.Linear(cfg.attention_dim, 1, bias=False)
        self.drop = nn.Dropout(cfg.dropout)
        self.embedding = nn.Linear(2 * cfg.lstm_hidden, emotion_dim)
        self.classifier = nn.Linear(emotion_dim, n_emotions)

    def _stack(self, logmel: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        if mask is not None:
            logmel = logmel * mask
        d1 = compute_deltas(logmel, self.cfg.delta_width)
        d2 = compute_deltas(d1, self.cfg.delta_width)
        return torch.stack([logmel, d1, d2], dim=1)  # (B, 3, n_mels, F)

    def cnn_features(
        self, logmel: torch.Tensor, mask: torch.Tensor | None = None
    ) -> list[torch.Tensor]:
        """The conv blocks' outputs before frequency pooling, ``(B, C_i, n_mels / 2^i, F)``."""
        h = self._stack(logmel, mask)
        feats = []
        for block in self.blocks:
            h = block(h)
            feats.append(h)
            h = _halve_freq(h)
        return feats

    def forward(
        self, logmel: torch.Tensor, mask: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Embed and classify a batch of utterances.

        Args:
            logmel: ``(B, n_mels, F)`` normalised log-mel.
            mask: ``(B, 1, F)`` 1 on real frames, or ``None`` (all real). Padded frames are
                excluded from the BLSTM (each direction reads only its real frames) and from
                the attention pooling.

        Returns:
            ``embedding`` ``(B, emotion_dim)`` and ``logits`` ``(B, n_emotions)``.
        """
        h = self._stack(logmel, mask)
        for block in self.blocks:
            h = _halve_freq(block(h))
        b, c, q, n = h.shape
        h = torch.relu(self.frame_proj(h.reshape(b, c * q, n)))  # (B, D, F)
        h = self.drop(h).transpose(1, 2)  # (B, F, D)
        if mask is not None:
            lengths = mask[:, 0, :].sum(dim=1).long().clamp_min(1)
            rev = _reverse_index(lengths, n)  # (B, F)
            gather = rev.unsqueeze(-1).expand(-1, -1, h.shape[-1])
            fwd, _ = self.lstm_fwd(h)
            bwd, _ = self.lstm_bwd(torch.gather(h, 1, gather))
            bwd = torch.gather(bwd, 1, rev.unsqueeze(-1).expand(-1, -1, bwd.shape[-1]))
        else:
            fwd, _ = self.lstm_fwd(h)
            bwd, _ = self.lstm_bwd(torch.flip(h, dims=[1]))
            bwd = torch.flip(bwd, dims=[1])
        out = torch.cat([fwd, bwd], dim=-1)  # (B, F, 2H)
        scores = self.attn_score(torch.tanh(self.attn_proj(out))).squeeze(-1)  # (B, F)
        if mask is not None:
            scores = scores.masked_fill(mask[:, 0, :] == 0, -1e4)
        weights = torch.softmax(scores, dim=-1)
        pooled = torch.bmm(weights.unsqueeze(1), out).squeeze(1)  # (B, 2H)
        emb = self.embedding(self.drop(pooled))
        return emb, self.classifier(emb)
