"""The training stages of a voice: SER, acoustic model, pitch predictor, vocoder.

Each stage is a function ``train_<stage>(model, data, run_dir, opts) → StageResult`` that trains
the submodules it owns (checkpointed as ``<run_dir>/<stage>.pt``), freezes nothing it does not
own, and stops at ``opts.max_steps`` or ``opts.budget_s``, whichever comes first.

- **SER** (``ser``): cross-entropy of the emotion label on random crops of train-split log-mels;
  afterwards held-out accuracy on the test split (``evaluation`` if there is no test split) and
  the per-emotion mean embeddings over train clips (:func:`emotion_embeddings`).
- **acoustic** (``speakers``, ``encoder``, ``denoiser``): Grad-TTS training with monotonic
  alignment search, conditioned on the speaker and on the *per-emotion mean SER embedding* of the
  utterance's label — the same vectors the sampler uses at synthesis — plus the EmoMix style loss
  (:func:`acoustic_losses`).
- **pitch** (``pitch``, when the model config enables it): per-phoneme ``ln F0`` (MSE over
  voiced frames) and voiced fraction (cross-entropy) from the corpus audio's F0 track, pooled
  over each phoneme's frames of the alignment search's path; the encoder is frozen
  (:func:`pitch_losses`); the voice gets the moving average of its weights.
- **vocoder** (``vocoder``): multi-resolution STFT loss + mel L1 on random (mel, audio) segments;
  with ``adversarial`` also least-squares GAN and feature-matching losses against small period
  and spectrogram discriminators (:mod:`emomix.train.adversarial`, ``docs/training.md``).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from ..models import (
    alignment_path,
    duration_loss,
    gram_style_loss,
    prior_loss,
    sequence_mask,
)
from ..models.denoiser import SCORE_T_EPS, grad_tts_noise
from .common import StageLoop, StageOptions, StageResult, pick_device
from .dataset import Batch, PreparedData

__all__ = [
    "train_ser",
    "evaluate_ser",
    "emotion_embeddings",
    "train_acoustic",
    "acoustic_losses",
    "denoiser_loss_and_estimate",
    "train_pitch",
    "pitch_losses",
    "evaluate_pitch",
    "train_vocoder",
    "vocoder_losses",
    "multi_resolution_stft_loss",
]

#: Weight of the Gram-matrix style loss (EmoMix).
STYLE_WEIGHT = 1e-4


def _sample(rng: np.random.Generator, pool: np.ndarray, n: int) -> np.ndarray:
    return rng.choice(pool, size=min(n, len(pool)), replace=False)


def emotion_tensor(emotion_table: dict[str, Any], emotions: list[str],
                   dev: torch.device | str = "cpu") -> torch.Tensor:
    """``(len(emotions), E)`` float32 rows of ``emotion_table`` (name → embedding), in order."""
    return torch.tensor(np.stack([np.asarray(emotion_table[e], np.float32) for e in emotions]),
                        device=dev)


def _mels(b: Batch, dev: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    mel = torch.from_numpy(b.mels).to(dev)
    mask = sequence_mask(torch.from_numpy(b.mel_lengths), mel.shape[-1]).to(dev)
    return mel, mask


# ---------------------------------------------------------------- SER


def train_ser(model, data: PreparedData, run_dir: Path, opts: StageOptions) -> StageResult:
    """Train ``model.ser``; outputs ``test_accuracy``, ``test_split``, ``emotion_embeddings``."""
    dev = pick_device(opts.device)
    max_frames = int(opts.extra.get("max_frames", 256))
    torch.manual_seed(opts.seed)
    ser = model.ser.to(dev).train()
    opt = torch.optim.AdamW(ser.parameters(), lr=opts.lr, weight_decay=1e-4)
    loop = StageLoop("ser", run_dir, opts, {"ser": ser}, opt)
    rng = np.random.default_rng(opts.seed + loop.step)
    pool = data.indices("train")
    while loop.running():
        b = data.batch(_sample(rng, pool, opts.batch_size), max_frames=max_frames, rng=rng)
        mel, mask = _mels(b, dev)
        target = torch.from_numpy(b.emotion).to(dev)
        _, logits = ser(mel, mask)
        loss = F.cross_entropy(logits, target)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(ser.parameters(), 5.0)
        opt.step()
        acc = (logits.argmax(-1) == target).float().mean()
        loop.record({"loss": loss.item(), "train_acc": acc.item()})
    split = "test" if len(data.indices("test")) else "evaluation"
    acc = evaluate_ser(ser, data, split, dev)
    table = emotion_embeddings(ser, data, dev)
    ser.train()
    return loop.finish({
        "test_accuracy": acc,
        "test_split": split,
        "test_clips": int(min(len(data.indices(split)), 400)),
        "emotion_embeddings": {k: v.tolist() for k, v in table.items()},
    })


@torch.no_grad()
def evaluate_ser(ser, data: PreparedData, split: str, dev: torch.device | str = "cpu",
                 batch_size: int = 16, max_clips: int | None = 400,
                 seed: int = 0) -> float | None:
    """Accuracy of ``ser`` on the clips of ``split`` (``None`` when the split is empty).

    At most ``max_clips`` clips, drawn at random with ``seed`` (the SER is slow on the CPU).
    """
    ser.eval()
    items = data.indices(split)
    if not len(items):
        return None
    if max_clips is not None and len(items) > max_clips:
        items = np.sort(_sample(np.random.default_rng(seed), items, max_clips))
    correct = 0
    for s in range(0, len(items), batch_size):
        b = data.batch(items[s:s + batch_size])
        mel, mask = _mels(b, torch.device(dev))
        _, logits = ser(mel, mask)
        correct += int((logits.argmax(-1).cpu().numpy() == b.emotion).sum())
    return correct / len(items)


@torch.no_grad()
def emotion_embeddings(ser, data: PreparedData, dev: torch.device | str = "cpu",
                       max_clips: int = 64, batch_size: int = 16,
                       seed: int = 0) -> dict[str, np.ndarray]:
    """Mean SER embedding per emotion over up to ``max_clips`` train clips of that emotion."""
    ser.eval()
    rng = np.random.default_rng(seed)
    train = data.indices("train")
    out: dict[str, np.ndarray] = {}
    for k, name in enumerate(data.emotions):
        pool = train[data.emotion[train] == k]
        if not len(pool):
            continue
        pool = _sample(rng, pool, max_clips)
        embs = []
        for s in range(0, len(pool), batch_size):
            b = data.batch(pool[s:s + batch_size])
            mel, mask = _mels(b, torch.device(dev))
            emb, _ = ser(mel, mask)
            embs.append(emb.cpu())
        out[name] = torch.cat(embs).mean(0).numpy().astype(np.float32)
    return out


# ---------------------------------------------------------------- acoustic model


def denoiser_loss_and_estimate(model, x: torch.Tensor, mu: torch.Tensor, emo: torch.Tensor,
                               spk: torch.Tensor, mask: torch.Tensor,
                               t: torch.Tensor | None = None,
                               noise: torch.Tensor | None = None
                               ) -> tuple[torch.Tensor, torch.Tensor]:
    """The parameterisation's denoiser loss and a one-step estimate of the clean mel.

    Same loss as ``VoiceModel.denoiser_loss`` (same ``t`` and noise give the same value), plus
    ``x̂_data``: ``flow`` ``x_τ − τ·v̂``; ``score`` (Tweedie) ``(x_t − (1 − a)·μ + σ²·ŝ) / a`` with
    ``a`` floored at 0.05 so the estimate stays bounded near pure noise.
    Shapes: ``x``, ``mu`` ``(B, n_mels, F)``, ``mask`` ``(B, 1, F)``.
    """
    den = model.denoiser
    b = x.shape[0]
    if noise is None:
        noise = torch.randn_like(x)
    norm = (mask.sum() * x.shape[1]).clamp_min(1.0)
    if model.cfg.parameterisation == "flow":
        if t is None:
            t = torch.rand(b, device=x.device, dtype=x.dtype)
        tt = t.view(b, 1, 1)
        x_t = ((1.0 - tt) * x + tt * noise) * mask
        pred = den(x_t, t, mu, emo, spk, mask)
        loss = (((pred - (noise - x)) ** 2) * mask).sum() / norm
        return loss, (x_t - tt * pred) * mask
    if t is None:
        t = torch.rand(b, device=x.device, dtype=x.dtype).clamp(SCORE_T_EPS, 1.0 - SCORE_T_EPS)
    a, sigma = grad_tts_noise(t.view(b, 1, 1), model.cfg.beta_min, model.cfg.beta_max)
    x_t = (a * x + (1.0 - a) * mu + sigma * noise) * mask
    pred = den(x_t, t, mu, emo, spk, mask)
    loss = (((pred * sigma + noise) ** 2) * mask).sum() / norm
    x0 = (x_t - (1.0 - a) * mu + sigma**2 * pred) / a.clamp_min(0.05)
    return loss, x0 * mask


def _segments(x: torch.Tensor, lengths: torch.Tensor, seg: int,
              rng: np.random.Generator) -> tuple[np.ndarray, int]:
    """Random start per item so that ``[start, start + seg)`` stays in the real frames."""
    n = min(seg, x.shape[-1])
    starts = np.asarray([rng.integers(0, max(int(ln) - n, 0) + 1) for ln in lengths.tolist()])
    return starts, n


def _crop(x: torch.Tensor, starts: np.ndarray, n: int) -> torch.Tensor:
    return torch.stack([x[i, :, s:s + n] for i, s in enumerate(starts.tolist())])


def acoustic_losses(model, b: Batch, emo_table: torch.Tensor, dev: torch.device,
                    rng: np.random.Generator, segment_frames: int = 128,
                    style_weight: float = STYLE_WEIGHT,
                    style_items: int | None = None) -> dict[str, torch.Tensor]:
    """The acoustic-model losses of one batch (Grad-TTS + EmoMix style loss).

    1. ``μ_phone, log d̂ = encoder(ids, spk, emo)``; ``log_p = log N(mel_f; μ_t, I)``;
       the corpus's durations, else the MAS path (no gradient) → durations ``d``;
       ``μ = μ_phone · path``.
    2. ``dur``: MSE of ``log d̂`` to ``log d``; ``prior``: ``−log N(mel; μ, I)`` per element.
    3. ``diff``: the parameterisation's denoiser loss on one random segment of
       ``segment_frames`` frames per item (bounds the U-Net's cost).
    4. ``style``: ``Σ_l mean((G_l(x̂) − G_l(mel))²)`` over the frozen SER's conv maps of the
       one-step clean estimate ``x̂`` and the ground truth on the same segment, × ``style_weight``,
       on the first ``style_items`` segments of the batch (all when ``None``).

    ``loss = dur + prior + diff + style_weight · style``.
    """
    mel, fmask = _mels(b, dev)
    ids = torch.from_numpy(b.ids).to(dev)
    id_len = torch.from_numpy(b.id_lengths).to(dev)
    spk = model.speakers(torch.from_numpy(b.speaker).to(dev))
    emo = emo_table[torch.from_numpy(b.emotion).to(dev)]
    mu_phone, log_dur, tmask = model.encoder(ids, id_len, emo, spk)
    with torch.no_grad():
        path = alignment_path(mu_phone, mel, tmask, fmask,
                              torch.from_numpy(b.durations).to(dev))
    durations = path.sum(-1)
    dur = duration_loss(log_dur, durations, tmask)
    mu = torch.matmul(mu_phone, path)
    prior = prior_loss(mu, mel, fmask)
    starts, n = _segments(mel, torch.from_numpy(b.mel_lengths), segment_frames, rng)
    x_seg, mu_seg, m_seg = (_crop(v, starts, n) for v in (mel, mu, fmask))
    diff, x0 = denoiser_loss_and_estimate(model, x_seg, mu_seg, emo, spk, m_seg)
    losses = {"dur": dur, "prior": prior, "diff": diff}
    if style_weight > 0:
        # The SER's full-resolution 2-D maps dominate a CPU step, so the style loss looks at the
        # first ``style_items`` segments (the batch is a random draw, so a random subset).
        k = x0.shape[0] if style_items is None else max(1, min(style_items, x0.shape[0]))
        feats_hat = model.ser.cnn_features(x0[:k], m_seg[:k])
        with torch.no_grad():
            feats_ref = model.ser.cnn_features(x_seg[:k], m_seg[:k])
        losses["style"] = gram_style_loss(feats_hat, feats_ref, m_seg[:k])
    total = dur + prior + diff
    if "style" in losses:
        total = total + style_weight * losses["style"]
    losses["loss"] = total
    return losses


def train_acoustic(model, data: PreparedData, run_dir: Path, opts: StageOptions,
                   emotion_table: dict[str, Any]) -> StageResult:
    """Train ``speakers``, ``encoder`` and ``denoiser`` with the SER frozen.

    ``emotion_table``: emotion name → mean SER embedding (from :func:`train_ser`).
    ``opts.extra``: ``segment_frames`` (128), ``style_weight`` (1e-4), ``style_items`` (4;
    ``None`` = the whole batch).
    """
    dev = pick_device(opts.device)
    seg = int(opts.extra.get("segment_frames", 128))
    style_weight = float(opts.extra.get("style_weight", STYLE_WEIGHT))
    style_items = opts.extra.get("style_items", 4)
    torch.manual_seed(opts.seed)
    model.to(dev)
    for p in model.ser.parameters():
        p.requires_grad_(False)
    model.ser.eval()
    modules = {"speakers": model.speakers, "encoder": model.encoder, "denoiser": model.denoiser}
    for m in modules.values():
        m.train()
    params = [p for m in modules.values() for p in m.parameters()]
    opt = torch.optim.AdamW(params, lr=opts.lr, weight_decay=0.0)
    loop = StageLoop("acoustic", run_dir, opts, modules, opt)
    emo_table = emotion_tensor(emotion_table, data.emotions, dev)
    rng = np.random.default_rng(opts.seed + loop.step)
    pool = data.indices("train")
    while loop.running():
        b = data.batch(_sample(rng, pool, opts.batch_size))
        losses = acoustic_losses(model, b, emo_table, dev, rng, seg, style_weight, style_items)
        opt.zero_grad(set_to_none=True)
        losses["loss"].backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        loop.record({k: v.item() for k, v in losses.items()})
    for p in model.ser.parameters():
        p.requires_grad_(True)
    return loop.finish()


# ---------------------------------------------------------------- pitch


class F0Cache:
    """Per-frame F0 of a prepared dataset's clips, estimated on first use; and ``targets``, the
    per-phoneme pitch targets of each clip :func:`pitch_losses` has aligned. The alignment comes
    from the encoder, which the pitch stage keeps frozen, so a cache serves one stage's run: a
    clip is aligned the first time it is drawn, not at every draw."""

    def __init__(self, data: PreparedData) -> None:
        self.data = data
        self.sample_rate = int(data.index["audio"]["sample_rate"])
        self._f0: dict[int, np.ndarray] = {}
        #: clip index -> (ln(F0/100), voiced fraction, voiced frames) per phoneme
        self.targets: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}

    def __call__(self, i: int) -> np.ndarray:
        from .pitch_targets import f0_at_frames

        if i not in self._f0:
            audio = self.data.audio[i].astype(np.float64) / 32768.0
            self._f0[i] = f0_at_frames(audio, self.sample_rate, self.data.hop,
                                       self.data.mels[i].shape[1])
        return self._f0[i]


def _pitch_batch(model, b: Batch, items, f0_of: F0Cache, emo_table: torch.Tensor,
                 dev: torch.device):
    """Encoder states, the alignment's per-phoneme targets, and the conditions of a batch
    (clips ``f0_of`` has not aligned yet are aligned here, once)."""
    from .pitch_targets import phone_pitch_targets

    ids = torch.from_numpy(b.ids).to(dev)
    id_len = torch.from_numpy(b.id_lengths).to(dev)
    new = [k for k, i in enumerate(items) if int(i) not in f0_of.targets]
    with torch.no_grad():
        spk = model.speakers(torch.from_numpy(b.speaker).to(dev))
        emo = emo_table[torch.from_numpy(b.emotion).to(dev)]
        x, tmask = model.encoder.states(ids, id_len)
        if new:  # each item's path depends on its own rows only
            sel = torch.tensor(new, device=dev)
            mel, fmask = _mels(b, dev)
            mu_phone = model.encoder.mu_from_states(x[sel], tmask[sel], spk[sel])
            path = alignment_path(mu_phone, mel[sel], tmask[sel], fmask[sel],
                                  torch.from_numpy(b.durations).to(dev)[sel])
            durations = path.sum(-1).round().long().cpu().numpy()
            for row, k in enumerate(new):
                n = int(b.id_lengths[k])
                f0_of.targets[int(items[k])] = phone_pitch_targets(f0_of(int(items[k])),
                                                                   durations[row, :n])
    lf_t, fr_t, wt = (np.zeros(b.ids.shape, np.float32) for _ in range(3))
    for k, i in enumerate(items):
        n = int(b.id_lengths[k])
        lf_t[k, :n], fr_t[k, :n], wt[k, :n] = f0_of.targets[int(i)]
    targets = tuple(torch.from_numpy(a).to(dev) for a in (lf_t, fr_t, wt))
    return x, tmask, emo, spk, targets


def pitch_losses(model, b: Batch, items: np.ndarray, f0_of, emo_table: torch.Tensor,
                 dev: torch.device) -> dict[str, torch.Tensor]:
    """The pitch predictor's losses on one batch (``f0_of``: the stage's :class:`F0Cache`).

    Alignment as in :func:`acoustic_losses` (frozen encoder, MAS path); targets from
    :func:`emomix.train.pitch_targets.phone_pitch_targets`. ``f0``: MSE of ``ln(F0/100)``
    weighted by each phoneme's voiced frames; ``voicing``: binary cross-entropy of the logit
    against the voiced fraction, over real phonemes. ``loss = f0 + voicing``.
    """
    x, tmask, emo, spk, (lf_t, fr_t, wt) = _pitch_batch(model, b, items, f0_of, emo_table, dev)
    pred = model.pitch(x, tmask, emo, spk)
    m = tmask.squeeze(1)
    f0 = (wt * (pred[:, 0] - lf_t) ** 2).sum() / wt.sum().clamp_min(1.0)
    bce = F.binary_cross_entropy_with_logits(pred[:, 1], fr_t, reduction="none")
    voicing = (bce * m).sum() / m.sum().clamp_min(1.0)
    return {"f0": f0, "voicing": voicing, "loss": f0 + voicing}


def train_pitch(model, data: PreparedData, run_dir: Path, opts: StageOptions,
                emotion_table: dict[str, Any], acoustic_step: int | None = None) -> StageResult:
    """Train ``pitch`` with everything else frozen (after the acoustic stage: it needs the
    encoder's states and alignment). ``emotion_table`` as for :func:`train_acoustic`.

    The predictor reads the encoder's states, so it fits the encoder it was trained beside.
    ``acoustic_step`` (the acoustic checkpoint's step) is recorded in the outputs as
    ``acoustic_step`` once a step has trained on it; :func:`~emomix.train.recipe.write_bundle`
    refuses a pitch predictor recorded against another acoustic step.
    """
    if getattr(model, "pitch", None) is None:
        raise ValueError("this model has no pitch predictor; enable it in the model config "
                         "(pitch.enabled) when the run is created")
    dev = pick_device(opts.device)
    torch.manual_seed(opts.seed)
    model.to(dev)
    for name in ("speakers", "encoder", "denoiser", "ser"):
        getattr(model, name).eval()
    model.pitch.train()
    params = list(model.pitch.parameters())
    opt = torch.optim.AdamW(params, lr=opts.lr, weight_decay=0.0)
    loop = StageLoop("pitch", run_dir, opts, {"pitch": model.pitch}, opt)
    emo_table = emotion_tensor(emotion_table, data.emotions, dev)
    rng = np.random.default_rng(opts.seed + loop.step)
    pool = data.indices("train")
    f0_of = F0Cache(data)
    while loop.running():
        items = _sample(rng, pool, opts.batch_size)
        losses = pitch_losses(model, data.batch(items), items, f0_of, emo_table, dev)
        opt.zero_grad(set_to_none=True)
        losses["loss"].backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        loop.record({k: v.item() for k, v in losses.items()})
        if acoustic_step is not None:
            loop.outputs["acoustic_step"] = int(acoustic_step)
    # the held-out error of the weights the voice gets (the moving average when it is on)
    return loop.finish(evaluate=lambda: evaluate_pitch(model, data, emo_table, dev, f0_of))


def evaluate_pitch(model, data: PreparedData, emo_table: torch.Tensor,
                   dev: torch.device | str = "cpu", f0_of=None, split: str = "test",
                   batch_size: int = 16) -> dict[str, Any]:
    """Held-out error of the pitch predictor against the alignment-pooled targets.

    Returns ``pitch_test_split``, ``f0_rmse_cents`` and ``f0_bias_cents`` (over voiced frames,
    overall and per emotion: prediction − target, 1200·Δln F0/ln 2) and ``voicing_accuracy``
    (phonemes whose voiced fraction is on the same side of 1/2 as the predicted probability).
    """
    dev = torch.device(dev)
    pool = data.indices(split)
    if len(pool) == 0:
        split, pool = "evaluation", data.indices("evaluation")
    if len(pool) == 0:
        return {}
    f0_of = f0_of or F0Cache(data)
    modes = {name: getattr(model, name).training for name in ("encoder", "pitch")}
    for name in modes:  # no dropout in the states or the head
        getattr(model, name).eval()
    cents = 1200.0 / np.log(2.0)
    err = {e: [0.0, 0.0, 0.0] for e in range(len(data.emotions))}  # Σw·d, Σw·d², Σw
    hits = total = 0
    with torch.no_grad():
        for start in range(0, len(pool), batch_size):
            items = pool[start:start + batch_size]
            b = data.batch(items)
            x, tmask, emo, spk, (lf_t, fr_t, wt) = _pitch_batch(model, b, items, f0_of,
                                                                 emo_table, dev)
            pred = model.pitch(x, tmask, emo, spk)
            d = ((pred[:, 0] - lf_t) * cents).cpu().numpy()
            w = wt.cpu().numpy()
            m = tmask.squeeze(1).cpu().numpy() > 0
            hits += int((((torch.sigmoid(pred[:, 1]) > 0.5) == (fr_t > 0.5)).cpu().numpy()
                         & m).sum())
            total += int(m.sum())
            for k, e in enumerate(b.emotion.tolist()):
                err[e][0] += float((w[k] * d[k]).sum())
                err[e][1] += float((w[k] * d[k] ** 2).sum())
                err[e][2] += float(w[k].sum())
    for name, mode in modes.items():
        getattr(model, name).train(mode)
    s0, s1, n = (sum(v[i] for v in err.values()) for i in range(3))
    return {
        "pitch_test_split": split,
        "f0_rmse_cents": round(float(np.sqrt(s1 / max(n, 1e-9))), 1),
        "f0_bias_cents": round(float(s0 / max(n, 1e-9)), 1),
        "f0_bias_cents_per_emotion": {data.emotions[e]: round(v[0] / max(v[2], 1e-9), 1)
                                      for e, v in err.items() if v[2] > 0},
        "voicing_accuracy": round(hits / max(total, 1), 4),
    }


# ---------------------------------------------------------------- vocoder

STFT_RESOLUTIONS = ((512, 128), (1024, 256), (2048, 512))


def multi_resolution_stft_loss(pred: torch.Tensor, target: torch.Tensor,
                               resolutions=STFT_RESOLUTIONS) -> torch.Tensor:
    """Σ over (n_fft, hop) of spectral convergence + L1 of log magnitudes (Parallel WaveGAN).

    ``pred``, ``target`` ``(B, samples)``; resolutions longer than the clip are skipped.
    """
    loss = pred.new_zeros(())
    for n_fft, hop in resolutions:
        if target.shape[-1] < n_fft:
            continue
        win = torch.hann_window(n_fft, device=pred.device, dtype=pred.dtype)
        sp = torch.stft(pred, n_fft, hop, window=win, return_complex=True).abs()
        st = torch.stft(target, n_fft, hop, window=win, return_complex=True).abs()
        sc = torch.linalg.norm(st - sp) / torch.linalg.norm(st).clamp_min(1e-7)
        mag = F.l1_loss(torch.log(sp.clamp_min(1e-5)), torch.log(st.clamp_min(1e-5)))
        loss = loss + sc + mag
    return loss


def vocoder_losses(model, b: Batch, dev: torch.device, mel_weight: float = 1.0
                   ) -> dict[str, torch.Tensor]:
    """``stft`` (multi-resolution) + ``mel_weight`` · ``mel`` (L1 of normalised log-mels).

    The vocoder hears ``b.inputs`` where the batch has them (teacher-forced mels), else
    ``b.mels``; both losses compare with the clip's own audio and log-mel.
    """
    return _reconstruction(model, b, dev, mel_weight)[0]


def _reconstruction(model, b: Batch, dev: torch.device, mel_weight: float
                    ) -> tuple[dict[str, torch.Tensor], torch.Tensor, torch.Tensor]:
    """:func:`vocoder_losses`, and the generated and the clip's audio it compared."""
    from ..features import log_mel_torch

    mel = torch.from_numpy(b.mels).to(dev)
    audio = torch.from_numpy(b.audio).to(dev)
    wav = model.vocoder(mel if b.inputs is None else torch.from_numpy(b.inputs).to(dev))
    stft = multi_resolution_stft_loss(wav, audio)
    mel_hat = log_mel_torch(wav, model.cfg.audio)
    mel_l1 = F.l1_loss(mel_hat, mel)
    return {"loss": stft + mel_weight * mel_l1, "stft": stft, "mel": mel_l1}, wav, audio


def train_vocoder(model, data: PreparedData, run_dir: Path, opts: StageOptions,
                  inputs: dict[int, np.ndarray] | None = None,
                  inputs_note: dict[str, Any] | None = None) -> StageResult:
    """Train ``model.vocoder`` on (mel, audio) segments of all splits but test.

    The mels are the clips' own, or ``inputs`` (clip index → a mel as long as the clip's own,
    for every clip of those splits: teacher-forced mels, :mod:`emomix.train.gta`), described by
    ``inputs_note``: the checkpoint's outputs record it as ``teacher_forced`` (``None`` for the
    clips' own mels) once a step has trained on them.
    ``opts.extra``: ``segment_frames`` (32 frames = 8192 samples), ``mel_weight`` (1.0), and
    ``adversarial`` (off): train against :class:`emomix.train.adversarial.Discriminators` too
    (:func:`_adversarial_step`), with ``adv_weight`` (1.0), ``fm_weight`` (2.0) and
    ``disc_warmup`` (500 steps in which only the discriminators learn from the generator).
    """
    dev = pick_device(opts.device)
    seg = int(opts.extra.get("segment_frames", 32))
    mel_weight = float(opts.extra.get("mel_weight", 1.0))
    adversarial = bool(opts.extra.get("adversarial", False))
    torch.manual_seed(opts.seed)
    voc = model.vocoder.to(dev).train()
    modules: dict[str, torch.nn.Module] = {"vocoder": voc}
    groups = [{"params": list(voc.parameters())}]
    if adversarial:
        from .adversarial import Discriminators

        modules["discriminator"] = Discriminators().to(dev).train()
        groups.append({"params": list(modules["discriminator"].parameters())})
        if seg * model.cfg.audio.hop_length < modules["discriminator"].min_samples:
            raise ValueError(f"segment_frames {seg} is too short for the discriminators "
                             f"({modules['discriminator'].min_samples} samples)")
    opt = torch.optim.AdamW(groups, lr=opts.lr, betas=(0.8, 0.9), weight_decay=0.0)
    loop = StageLoop("vocoder", run_dir, opts, modules, opt, optional=("discriminator",))
    rng = np.random.default_rng(opts.seed + loop.step)
    pool = np.setdiff1d(np.arange(len(data)), data.indices("test"))
    lengths = np.asarray([m.shape[1] for m in data.mels])
    if adversarial:  # the discriminators need whole segments
        pool = pool[lengths[pool] >= seg]
        if pool.size == 0:
            raise ValueError(f"no clip is {seg} frames long; lower segment_frames")
    while loop.running():
        items = _sample(rng, pool, opts.batch_size)
        n = int(min(seg, lengths[items].min()))
        b = data.batch(items, with_audio=True, max_frames=n, rng=rng, inputs=inputs)
        if adversarial:
            losses = _adversarial_step(model, modules["discriminator"], opt, b, dev, mel_weight,
                                       opts.extra, loop.outputs)
        else:
            losses = vocoder_losses(model, b, dev, mel_weight)
            opt.zero_grad(set_to_none=True)
            losses["loss"].backward()
            torch.nn.utils.clip_grad_norm_(voc.parameters(), 10.0)
            opt.step()
        loop.record({k: v.item() for k, v in losses.items()})
        loop.outputs["teacher_forced"] = inputs_note if inputs is not None else None
    return loop.finish()


def _adversarial_step(model, disc, opt: torch.optim.Optimizer, b: Batch, dev: torch.device,
                      mel_weight: float, extra: dict[str, Any], outputs: dict[str, Any]
                      ) -> dict[str, torch.Tensor]:
    """One discriminator step, then one generator step, on one batch.

    ``opt`` holds both parameter groups; each step hands it gradients for one side only
    (AdamW skips parameters whose gradient is ``None``). The generator's loss is the
    reconstruction loss of :func:`vocoder_losses` plus ``adv_weight`` · least-squares
    adversarial loss plus ``fm_weight`` · feature matching, the last two only after the
    discriminators have trained ``disc_warmup`` steps (counted in ``outputs["adversarial_steps"]``
    so that a resumed run continues the count).
    """
    from .adversarial import discriminator_loss, feature_matching_loss, generator_loss

    recon, wav, audio = _reconstruction(model, b, dev, mel_weight)
    d_loss = discriminator_loss(disc(audio), disc(wav.detach()))
    opt.zero_grad(set_to_none=True)
    d_loss.backward()
    torch.nn.utils.clip_grad_norm_(disc.parameters(), 10.0)
    opt.step()

    loss = recon["loss"]
    done = int(outputs.get("adversarial_steps", 0))
    adv = fm = torch.zeros((), device=dev)
    if done >= int(extra.get("disc_warmup", 500)):
        with torch.no_grad():
            real = disc(audio)
        fake = disc(wav)
        adv, fm = generator_loss(fake), feature_matching_loss(real, fake)
        loss = (loss + float(extra.get("adv_weight", 1.0)) * adv
                + float(extra.get("fm_weight", 2.0)) * fm)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    for p in disc.parameters():
        p.grad = None
    torch.nn.utils.clip_grad_norm_(model.vocoder.parameters(), 10.0)
    opt.step()
    outputs["adversarial_steps"] = done + 1
    return {**recon, "loss": loss, "adv": adv, "fm": fm, "disc": d_loss}


def with_extra(opts: StageOptions, **extra: Any) -> StageOptions:
    """A copy of ``opts`` with ``extra`` merged in."""
    return replace(opts, extra={**opts.extra, **extra})
