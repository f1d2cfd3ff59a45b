"""Building blocks shared by the emomix networks, and size/cost helpers.

Every op here exports to ONNX (opset 17) and has a direct C++ counterpart: per-frame layer norm
over channels, explicit-matmul attention with an additive key mask, sinusoidal embeddings
computed from ``arange`` (any length).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import nn

__all__ = [
    "ChannelLayerNorm",
    "MultiHeadSelfAttention",
    "sequence_mask",
    "sinusoidal_embedding",
    "sinusoidal_positions",
    "count_parameters",
    "count_macs",
]


def sequence_mask(lengths: torch.Tensor, max_length: int | None = None) -> torch.Tensor:
    """``(batch,)`` lengths → ``(batch, 1, max_length)`` float mask, 1 on real positions."""
    if max_length is None:
        max_length = int(lengths.max())
    pos = torch.arange(max_length, device=lengths.device)
    return (pos[None, :] < lengths[:, None]).to(torch.float32).unsqueeze(1)


def sinusoidal_embedding(t: torch.Tensor, dim: int, scale: float = 1000.0) -> torch.Tensor:
    """Sinusoidal features of a scalar per item: ``(batch,)`` → ``(batch, dim)``.

    ``[sin(scale·t·ω_0..ω_{d/2-1}), cos(...)]`` with ``ω_i = 10000^(-i / (d/2 - 1))``
    (Grad-TTS / DDPM convention).
    """
    half = dim // 2
    freqs = torch.exp(
        torch.arange(half, device=t.device, dtype=torch.float32)
        * (-math.log(10000.0) / max(half - 1, 1))
    )
    args = (scale * t.to(torch.float32))[:, None] * freqs[None, :]
    return torch.cat([torch.sin(args), torch.cos(args)], dim=-1)


def sinusoidal_positions(length: int | torch.Tensor, dim: int, device=None) -> torch.Tensor:
    """Transformer position table ``(1, dim, length)`` (channels-first), any length."""
    pos = torch.arange(length, device=device, dtype=torch.float32)
    return sinusoidal_embedding(pos, dim, scale=1.0).transpose(0, 1).unsqueeze(0)


class ChannelLayerNorm(nn.Module):
    """Layer norm over the channel axis of ``(batch, channels, *positions)``, per position.

    Each frame is normalised on its own, so padded frames never leak into real ones.
    """

    def __init__(self, channels: int, eps: float = 1e-5) -> None:
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mean = x.mean(dim=1, keepdim=True)
        var = (x - mean).pow(2).mean(dim=1, keepdim=True)
        x = (x - mean) * torch.rsqrt(var + self.eps)
        shape = (1, -1) + (1,) * (x.dim() - 2)
        return x * self.weight.view(shape) + self.bias.view(shape)


class MultiHeadSelfAttention(nn.Module):
    """Self-attention over ``(batch, channels, length)`` with a key mask ``(batch, 1, length)``.

    Written as explicit matmuls + softmax (no fused kernels) so ONNX export and the C++ mirror are
    one-to-one. Masked keys get ``-1e4`` before the softmax; masked queries are zeroed by callers.
    """

    def __init__(self, channels: int, n_heads: int, dropout: float = 0.0) -> None:
        super().__init__()
        if channels % n_heads:
            raise ValueError(f"n_heads ({n_heads}) must divide channels ({channels})")
        self.n_heads = n_heads
        self.head_dim = channels // n_heads
        self.qkv = nn.Conv1d(channels, 3 * channels, 1)
        self.out = nn.Conv1d(channels, channels, 1)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        b, c, n = x.shape
        q, k, v = self.qkv(x).view(b, 3, self.n_heads, self.head_dim, n).unbind(1)
        scores = torch.matmul(q.transpose(2, 3), k) * (self.head_dim**-0.5)  # (b, h, n, n)
        scores = scores.masked_fill(mask.unsqueeze(1) == 0, -1e4)
        attn = self.dropout(torch.softmax(scores, dim=-1))
        y = torch.matmul(v, attn.transpose(2, 3))  # (b, h, head_dim, n)
        return self.out(y.reshape(b, c, n))


def count_parameters(model: nn.Module, trainable_only: bool = False) -> int:
    """Number of parameters of ``model`` (all of them unless ``trainable_only``)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


def count_macs(model: nn.Module, run: Callable[[], object]) -> int:
    """Multiply-accumulates of one call of ``run()`` (which must call ``model``), by hooks.

    Counts ``Conv1d``/``Conv2d``/``ConvTranspose1d``/``Linear``/``LSTM`` layers inside ``model``
    and the two attention products of :class:`MultiHeadSelfAttention`; element-wise ops, norms,
    activations and the iSTFT's fixed basis (counted separately by the vocoder) are left out.
    """
    total = [0]

    def conv_hook(m: nn.Module, inp: Sequence[torch.Tensor], out: torch.Tensor) -> None:
        w = m.weight
        per_out = w.shape[1] * math.prod(w.shape[2:])  # (in/groups) * kernel
        if isinstance(m, nn.ConvTranspose1d):
            total[0] += inp[0].numel() * w.shape[1] * w.shape[2]
        else:
            total[0] += out.numel() * per_out

    def linear_hook(m: nn.Linear, inp: Sequence[torch.Tensor], out: torch.Tensor) -> None:
        total[0] += out.numel() * m.in_features

    def lstm_hook(m: nn.LSTM, inp: Sequence[torch.Tensor], out: object) -> None:
        x = inp[0]
        if isinstance(x, nn.utils.rnn.PackedSequence):
            steps = int(x.data.shape[0])
        else:
            steps = x.shape[0] * x.shape[1]
        dirs = 2 if m.bidirectional else 1
        h = m.hidden_size
        per_step = 0
        in_size = m.input_size
        for _ in range(m.num_layers):
            per_step += dirs * 4 * h * (in_size + h)
            in_size = h * dirs
        total[0] += steps * per_step

    def attn_hook(
        m: MultiHeadSelfAttention, inp: Sequence[torch.Tensor], out: torch.Tensor
    ) -> None:
        b, c, n = inp[0].shape
        total[0] += 2 * b * n * n * c

    handles = []
    for mod in model.modules():
        if isinstance(mod, (nn.Conv1d, nn.Conv2d, nn.ConvTranspose1d)):
            handles.append(mod.register_forward_hook(conv_hook))
        elif isinstance(mod, nn.Linear):
            handles.append(mod.register_forward_hook(linear_hook))
        elif isinstance(mod, nn.LSTM):
            handles.append(mod.register_forward_hook(lstm_hook))
        elif isinstance(mod, MultiHeadSelfAttention):
            handles.append(mod.register_forward_hook(attn_hook))
    try:
        with torch.no_grad():
            run()
    finally:
        for h in handles:
            h.remove()
    return total[0]


def masked_mean(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean of ``x`` over the positions where ``mask`` (broadcastable to ``x``) is 1."""
    mask = mask.expand_as(x)
    return (x * mask).sum() / mask.sum().clamp_min(1.0)


def pad_to_multiple(x: torch.Tensor, multiple: int) -> torch.Tensor:
    """Right-pad the last axis with zeros to a multiple of ``multiple``."""
    n = x.shape[-1]
    extra = (-n) % multiple
    return F.pad(x, (0, extra)) if extra else x
