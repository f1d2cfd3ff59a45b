"""Monotonic alignment search (Glow-TTS / Grad-TTS) and the likelihood it maximises.

Training aligns phonemes to mel frames without external aligners: for each utterance, find the
monotonic, surjective path that maximises the sum of per-(phone, frame) log-likelihoods
``log N(y_f; μ_t, I)``; the path gives the duration targets and the frame-level prior. Where
the corpus knows where each phoneme ends (a clip rendered by Piper reports it),
:func:`alignment_path` uses that instead of searching.
"""

from __future__ import annotations

import math

import numpy as np
import torch

__all__ = ["alignment_path", "monotonic_alignment_search", "alignment_log_likelihood",
           "prior_loss"]


def monotonic_alignment_search(log_p, mask):
    """Most likely monotonic alignment of ``T`` phones to ``F`` frames, per batch item.

    A path assigns every real frame to exactly one phone, starts at (phone 0, frame 0), ends at
    (last phone, last frame), and from one frame to the next stays on the same phone or moves to the
    next one; so every real phone gets at least one frame (needs ``n_frames >= n_phones``).

    Dynamic programming over frames, vectorised over batch and phones:
    ``Q[t, f] = log_p[t, f] + max(Q[t, f-1], Q[t-1, f-1])``, then backtracking from the end.

    Args:
        log_p: ``(B, T, F)`` log-likelihood of frame ``f`` under phone ``t`` (numpy or torch).
        mask: ``(B, T, F)`` 1 where both phone ``t`` and frame ``f`` are real (numpy or torch);
            the real phones/frames of each item must be a prefix of each axis.

    Returns:
        ``path`` ``(B, T, F)``, 0/1, same type (numpy / torch, dtype, device) as ``log_p``.
        Durations are ``path.sum(-1)``.

    Raises:
        ValueError: an item has fewer real frames than real phones, or no phones.
    """
    is_torch = isinstance(log_p, torch.Tensor)
    if is_torch:
        ref = log_p
        lp = log_p.detach().cpu().double().numpy()
        mk = mask.detach().cpu().numpy() if isinstance(mask, torch.Tensor) else np.asarray(mask)
    else:
        lp = np.asarray(log_p, dtype=np.float64)
        mk = np.asarray(mask)
    if lp.ndim != 3 or mk.shape != lp.shape:
        raise ValueError(f"log_p and mask must both be (B, T, F); got {lp.shape} and {mk.shape}")
    b, t_max, f_max = lp.shape
    mk = mk > 0
    t_len = mk[:, :, 0].sum(axis=1) if f_max else np.zeros(b, dtype=np.int64)
    f_len = mk[:, 0, :].sum(axis=1) if t_max else np.zeros(b, dtype=np.int64)
    for i in range(b):
        if t_len[i] < 1:
            raise ValueError(f"monotonic_alignment_search: item {i} has no phones")
        if f_len[i] < t_len[i]:
            raise ValueError(
                f"monotonic_alignment_search: item {i} has {f_len[i]} frames for {t_len[i]} "
                "phones; every phone needs at least one frame"
            )

    neg = -np.inf
    lp = np.where(mk, lp, neg)
    q = np.full((b, t_max, f_max), neg)
    q[:, 0, 0] = lp[:, 0, 0]
    for f in range(1, f_max):
        stay = q[:, :, f - 1]
        advance = np.concatenate([np.full((b, 1), neg), q[:, :-1, f - 1]], axis=1)
        q[:, :, f] = lp[:, :, f] + np.maximum(stay, advance)

    path = np.zeros((b, t_max, f_max), dtype=np.float32)
    rows = np.arange(b)
    index = t_len.astype(np.int64) - 1
    for f in range(f_max - 1, -1, -1):
        active = f < f_len
        path[rows[active], index[active], f] = 1.0
        if f == 0:
            break
        prev_same = q[rows, index, f - 1]
        prev_diag = np.where(index > 0, q[rows, np.maximum(index - 1, 0), f - 1], neg)
        move = active & (index > 0) & (prev_same < prev_diag)
        # An item whose last frame is still ahead keeps its end index.
        index = np.where(move, index - 1, index)

    if is_torch:
        return torch.from_numpy(path).to(device=ref.device, dtype=ref.dtype)
    return path


def alignment_log_likelihood(mu_phone: torch.Tensor, mel: torch.Tensor) -> torch.Tensor:
    """``log N(mel_f; μ_t, I)`` per (phone, frame): ``(B, C, T)``, ``(B, C, F)`` → ``(B, T, F)``.

    The expansion ``-½‖y‖² + μᵀy − ½‖μ‖² − C/2·log 2π`` avoids a ``(B, T, F, C)`` intermediate.
    Masking is the caller's business (pass the outer product of the masks to the search).
    """
    c = mu_phone.shape[1]
    const = -0.5 * math.log(2 * math.pi) * c
    y_sq = -0.5 * (mel**2).sum(dim=1, keepdim=True)  # (B, 1, F)
    mu_sq = -0.5 * (mu_phone**2).sum(dim=1).unsqueeze(-1)  # (B, T, 1)
    cross = torch.matmul(mu_phone.transpose(1, 2), mel)  # (B, T, F)
    return const + y_sq + mu_sq + cross


def prior_loss(mu: torch.Tensor, mel: torch.Tensor, frame_mask: torch.Tensor) -> torch.Tensor:
    """Grad-TTS encoder loss: mean negative log-likelihood of ``mel`` under ``N(μ, I)``.

    ``mu``, ``mel`` ``(B, n_mels, F)``; ``frame_mask`` ``(B, 1, F)``. Normalised per real element.
    """
    nll = 0.5 * ((mel - mu) ** 2 + math.log(2 * math.pi)) * frame_mask
    return nll.sum() / (frame_mask.sum() * mu.shape[1]).clamp_min(1.0)


def alignment_path(mu_phone: torch.Tensor, mel: torch.Tensor, phone_mask: torch.Tensor,
                   frame_mask: torch.Tensor, known: torch.Tensor | None = None) -> torch.Tensor:
    """The training alignment ``(B, T, F)`` of a batch: each row's known durations where it has
    them, else the monotonic alignment search under ``μ``.

    Args:
        mu_phone: ``(B, C, T)``; mel: ``(B, C, F)``.
        phone_mask: ``(B, 1, T)``; frame_mask: ``(B, 1, F)``.
        known: ``(B, T)`` integer frames per phoneme from the corpus; a row of zeros (or
            ``None`` for all rows) means unknown. A known row must sum to its real frames.
    """
    from .encoder import durations_to_path

    b, n_frames = mel.shape[0], mel.shape[-1]
    has = (torch.zeros(b, dtype=torch.bool, device=mel.device) if known is None
           else known.sum(-1) > 0)
    search = torch.nonzero(~has).flatten()
    path = torch.zeros(b, mu_phone.shape[-1], n_frames, dtype=mel.dtype, device=mel.device)
    if has.any():
        rows = torch.nonzero(has).flatten()
        totals = known[rows].sum(-1)
        real = frame_mask[rows, 0].sum(-1).round().long()
        if not torch.equal(totals, real):
            raise ValueError(f"known durations sum to {totals.tolist()} frames, the clips have "
                             f"{real.tolist()}")
        path[rows] = durations_to_path(known[rows].long(), n_frames).to(mel.dtype)
    if search.numel():
        log_p = alignment_log_likelihood(mu_phone[search], mel[search])
        mask = phone_mask[search].transpose(1, 2) * frame_mask[search]
        path[search] = monotonic_alignment_search(log_p, mask).to(mel.dtype)
    return path
