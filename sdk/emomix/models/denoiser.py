"""The denoiser ``D(x, t, μ, c)``: a 1-D U-Net over mel frames, and its training objectives.

One architecture serves both parameterisations of ``docs/sampler.md``; only the training target
differs:

- ``flow`` (conditional flow matching): ``x_τ = (1 − τ) x_data + τ ε``, ``D`` predicts the velocity
  ``v = dx/dτ = ε − x_data``;
- ``score`` (Grad-TTS): forward SDE ``dX = ½ β(t)(μ − X) dt + √β(t) dB``, ``D`` predicts the score
  ``∇ log p_t(x) = −ε / σ_t``.

Shapes: ``B`` batch, ``F`` frames, ``E`` emotion_dim, ``S`` speaker_dim.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..config import DenoiserConfig
from .common import ChannelLayerNorm, MultiHeadSelfAttention, pad_to_multiple, sinusoidal_embedding

__all__ = ["Denoiser", "grad_tts_noise", "SCORE_T_EPS"]

#: Grad-TTS draws the training time from ``U(SCORE_T_EPS, 1 − SCORE_T_EPS)``.
SCORE_T_EPS = 1e-5


def grad_tts_noise(
    t: torch.Tensor, beta_min: float, beta_max: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """Marginal of the Grad-TTS forward SDE at time ``t``: ``x_t ~ N(a·x0 + (1 − a)·μ, σ²I)``.

    With ``∫₀ᵗ β = beta_min·t + ½(beta_max − beta_min)·t²``: ``a = exp(−½∫β)`` and
    ``σ² = 1 − exp(−∫β)``. Returns ``(a, σ)`` with the shape of ``t``.
    """
    cum = beta_min * t + 0.5 * (beta_max - beta_min) * t * t
    return torch.exp(-0.5 * cum), torch.sqrt(1.0 - torch.exp(-cum))


class _FiLM(nn.Module):
    """Per-item scale and shift of ``(B, C, F)`` features from the condition vector ``(B, D)``."""

    def __init__(self, cond_dim: int, channels: int) -> None:
        super().__init__()
        self.proj = nn.Linear(cond_dim, 2 * channels)
        nn.init.zeros_(self.proj.weight)
        nn.init.zeros_(self.proj.bias)

    def forward(self, x: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        scale, shift = self.proj(cond).unsqueeze(-1).chunk(2, dim=1)
        return x * (1.0 + scale) + shift


class _ResBlock(nn.Module):
    """norm → FiLM(c) → SiLU → conv → norm → SiLU → dropout → conv, plus a (1×1) skip. Masked."""

    def __init__(self, c_in: int, c_out: int, cond_dim: int, kernel: int, dropout: float) -> None:
        super().__init__()
        self.norm1 = ChannelLayerNorm(c_in)
        self.film = _FiLM(cond_dim, c_in)
        self.conv1 = nn.Conv1d(c_in, c_out, kernel, padding=kernel // 2)
        self.norm2 = ChannelLayerNorm(c_out)
        self.drop = nn.Dropout(dropout)
        self.conv2 = nn.Conv1d(c_out, c_out, kernel, padding=kernel // 2)
        self.skip = nn.Conv1d(c_in, c_out, 1) if c_in != c_out else nn.Identity()

    def forward(self, x: torch.Tensor, mask: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        h = F.silu(self.film(self.norm1(x), cond))
        h = self.conv1(h * mask)
        h = self.drop(F.silu(self.norm2(h)))
        h = self.conv2(h * mask)
        return (self.skip(x) + h) * mask


class _TransformerBlock(nn.Module):
    """Pre-norm self-attention + feed-forward, both modulated by FiLM(c). Masked."""

    def __init__(self, channels: int, n_heads: int, ffn_mult: int, cond_dim: int, dropout: float):
        super().__init__()
        self.norm1 = ChannelLayerNorm(channels)
        self.film1 = _FiLM(cond_dim, channels)
        self.attn = MultiHeadSelfAttention(channels, n_heads, dropout)
        self.norm2 = ChannelLayerNorm(channels)
        self.film2 = _FiLM(cond_dim, channels)
        self.ffn1 = nn.Conv1d(channels, ffn_mult * channels, 1)
        self.ffn2 = nn.Conv1d(ffn_mult * channels, channels, 1)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, mask: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        x = x + self.drop(self.attn(self.film1(self.norm1(x), cond), mask))
        h = F.gelu(self.ffn1(self.film2(self.norm2(x), cond)))
        return (x + self.drop(self.ffn2(h))) * mask


class _Level(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.blocks = nn.ModuleList()

    def forward(self, x: torch.Tensor, mask: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        for block in self.blocks:
            x = block(x, mask, cond)
        return x


class Denoiser(nn.Module):
    """1-D U-Net ``D(x, t, μ, c)`` over mel frames; same network for ``flow`` and ``score``.

    Input ``concat(x, μ)`` (2·n_mels channels) → conv → ``len(channels)`` levels; going down each
    level runs ``n_res_blocks`` residual blocks, then a stride-2 conv halves the frame rate; the
    lowest level adds ``n_transformer_blocks`` transformer blocks; going up, nearest-neighbour
    upsampling + conv, concatenation with the skip of the same level and ``n_res_blocks`` residual
    blocks; a final norm → SiLU → 1×1 conv gives ``n_mels`` channels.

    Conditioning ``c = SiLU(MLP(sinusoidal(t·time_scale)) + W_e·emo + W_s·spk)`` scales and shifts
    (FiLM, zero-initialised) the normalised input of every block.

    Any ``F >= 1`` works: frames are padded internally to a multiple of ``2^(levels−1)``, padded and
    masked frames are zeroed before every convolution and excluded from attention keys, and the
    output is cropped back. Each frame is normalised on its own, so a real frame's output does not
    depend on how much padding follows it.
    """

    def __init__(
        self, cfg: DenoiserConfig, n_mels: int, emotion_dim: int, speaker_dim: int
    ) -> None:
        super().__init__()
        self.cfg = cfg
        self.n_mels = n_mels
        ch = list(cfg.channels)
        k = cfg.kernel_size
        d = cfg.cond_dim
        self.time_mlp = nn.Sequential(
            nn.Linear(cfg.time_embed_dim, 2 * d), nn.SiLU(), nn.Linear(2 * d, d)
        )
        self.emotion_proj = nn.Linear(emotion_dim, d)
        self.speaker_proj = nn.Linear(speaker_dim, d)

        self.input_conv = nn.Conv1d(2 * n_mels, ch[0], k, padding=k // 2)
        self.down = nn.ModuleList()
        self.downsample = nn.ModuleList()
        for i, c in enumerate(ch):
            level = _Level()
            for _ in range(cfg.n_res_blocks):
                level.blocks.append(_ResBlock(c, c, d, k, cfg.dropout))
            if i == len(ch) - 1:
                for _ in range(cfg.n_transformer_blocks):
                    level.blocks.append(
                        _TransformerBlock(c, cfg.n_heads, cfg.ffn_mult, d, cfg.dropout)
                    )
            self.down.append(level)
            if i < len(ch) - 1:
                self.downsample.append(nn.Conv1d(c, ch[i + 1], k, stride=2, padding=k // 2))
        self.upsample = nn.ModuleList()
        self.up = nn.ModuleList()
        for i in range(len(ch) - 2, -1, -1):
            self.upsample.append(nn.Conv1d(ch[i + 1], ch[i], k, padding=k // 2))
            level = _Level()
            for j in range(cfg.n_res_blocks):
                level.blocks.append(
                    _ResBlock(2 * ch[i] if j == 0 else ch[i], ch[i], d, k, cfg.dropout)
                )
            self.up.append(level)
        self.out_norm = ChannelLayerNorm(ch[0])
        self.out_conv = nn.Conv1d(ch[0], n_mels, 1)

    def condition(self, t: torch.Tensor, emo: torch.Tensor, spk: torch.Tensor) -> torch.Tensor:
        """Condition vector ``(B, cond_dim)`` from ``t (B,)``, ``emo (B, E)``, ``spk (B, S)``."""
        temb = sinusoidal_embedding(t, self.cfg.time_embed_dim, self.cfg.time_scale)
        return F.silu(self.time_mlp(temb) + self.emotion_proj(emo) + self.speaker_proj(spk))

    def forward(
        self,
        x: torch.Tensor,
        t: torch.Tensor,
        mu: torch.Tensor,
        emo: torch.Tensor,
        spk: torch.Tensor,
        mask: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """One evaluation of ``D``.

        Args:
            x: ``(B, n_mels, F)`` current sample.
            t: ``(B,)`` time in ``[0, 1]`` (``τ`` for ``flow``, ``t`` for ``score``).
            mu: ``(B, n_mels, F)`` frame-level prior mean from the encoder.
            emo: ``(B, E)`` emotion embedding; spk: ``(B, S)`` speaker embedding.
            mask: ``(B, 1, F)`` 1 on real frames, or ``None`` (all real).

        Returns:
            ``(B, n_mels, F)`` prediction (velocity or score), zero on masked frames.
        """
        n = x.shape[-1]
        if mask is None:
            mask = torch.ones_like(x[:, :1, :])
        cond = self.condition(t, emo, spk)
        multiple = self.cfg.frame_multiple
        h = pad_to_multiple(torch.cat([x, mu], dim=1), multiple)
        m = pad_to_multiple(mask, multiple)
        h = self.input_conv(h * m) * m
        skips: list[tuple[torch.Tensor, torch.Tensor]] = []
        masks = [m]
        for i, level in enumerate(self.down):
            h = level(h, masks[-1], cond)
            if i < len(self.downsample):
                skips.append((h, masks[-1]))
                h = self.downsample[i](h * masks[-1])
                masks.append(masks[-1][:, :, ::2])
                h = h * masks[-1]
        for upsample, level in zip(self.upsample, self.up, strict=True):
            skip, m = skips.pop()
            h = torch.repeat_interleave(h, 2, dim=-1)
            h = upsample(h * m) * m
            h = level(torch.cat([h, skip], dim=1), m, cond)
        h = F.silu(self.out_norm(h))
        out = self.out_conv(h * masks[0]) * masks[0]
        return out[:, :, :n]

    # --- training objectives (docs/sampler.md) -------------------------------------------------

    def flow_loss(
        self,
        x_data: torch.Tensor,
        mu: torch.Tensor,
        emo: torch.Tensor,
        spk: torch.Tensor,
        mask: torch.Tensor,
        tau: torch.Tensor | None = None,
        noise: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Conditional flow matching loss (``flow`` parameterisation).

        ``τ ~ U(0, 1)`` per item, ``ε ~ N(0, I)``, ``x_τ = (1 − τ)·x_data + τ·ε``; the target is the
        velocity ``v = ε − x_data`` (``dx_τ/dτ``, towards noise, as the sampler integrates it from
        ``τ = 1`` to ``0`` with ``x ← x − h·v``). Masked MSE, averaged over real elements.

        Args:
            x_data: ``(B, n_mels, F)`` normalised log-mel; mu: ``(B, n_mels, F)``;
            emo: ``(B, E)``; spk: ``(B, S)``; mask: ``(B, 1, F)``;
            tau, noise: optional ``(B,)`` times and ``(B, n_mels, F)`` noise (tests inject them).
        """
        b = x_data.shape[0]
        if tau is None:
            tau = torch.rand(b, device=x_data.device, dtype=x_data.dtype)
        if noise is None:
            noise = torch.randn_like(x_data)
        tt = tau.view(b, 1, 1)
        x_tau = ((1.0 - tt) * x_data + tt * noise) * mask
        target = noise - x_data
        pred = self(x_tau, tau, mu, emo, spk, mask)
        err = (pred - target) ** 2 * mask
        return err.sum() / (mask.sum() * x_data.shape[1]).clamp_min(1.0)

    def score_loss(
        self,
        x_data: torch.Tensor,
        mu: torch.Tensor,
        emo: torch.Tensor,
        spk: torch.Tensor,
        mask: torch.Tensor,
        beta_min: float = 0.05,
        beta_max: float = 20.0,
        t: torch.Tensor | None = None,
        noise: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Grad-TTS denoising score matching loss (``score`` parameterisation).

        ``t ~ U(1e-5, 1 − 1e-5)``, ``x_t = a·x_data + (1 − a)·μ + σ·ε`` (:func:`grad_tts_noise`);
        the score of that Gaussian is ``−ε/σ``. As in Grad-TTS the loss is weighted by ``λ = σ²``:
        ``‖σ·D(x_t, t) + ε‖²`` averaged over real elements.

        Args:
            as :meth:`flow_loss`; ``beta_min``, ``beta_max`` the schedule (``ModelConfig``);
            ``t`` optional ``(B,)`` times.
        """
        b = x_data.shape[0]
        if t is None:
            t = torch.rand(b, device=x_data.device, dtype=x_data.dtype)
            t = t.clamp(SCORE_T_EPS, 1.0 - SCORE_T_EPS)
        if noise is None:
            noise = torch.randn_like(x_data)
        a, sigma = grad_tts_noise(t.view(b, 1, 1), beta_min, beta_max)
        x_t = (a * x_data + (1.0 - a) * mu + sigma * noise) * mask
        pred = self(x_t, t, mu, emo, spk, mask)
        err = (pred * sigma + noise) ** 2 * mask
        return err.sum() / (mask.sum() * x_data.shape[1]).clamp_min(1.0)
