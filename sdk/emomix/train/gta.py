"""Teacher-forced mels: what the trained acoustic model says for each training clip, aligned to it.

The vocoder stage learns from the corpus's own log-mels, but at run time it hears the sampler's:
smoother across time and bands, with harmonics drawn by :mod:`emomix.harmonics` rather than
recorded. Fine-tuning on *teacher-forced* mels (Tacotron 2's "ground-truth aligned" training of
its vocoder) closes that gap. For each clip:

1. the encoder's μ, expanded by the monotonic alignment against the clip's own mel (the
   acoustic stage's path), so every frame lines up with the clip's audio;
2. the sampler of ``emomix.sampler.sample`` from the seeded noise, at the voice's sampler
   settings, with the clip's emotion and speaker as the one condition;
3. for a voice with a pitch predictor, :func:`emomix.harmonics.render_harmonics` with the clip's
   own F0 (YIN per frame, through :func:`emomix.harmonics.frame_pitch` as one-frame "phonemes"):
   the comb sits where the audio's harmonics are, so the vocoder learns to follow it.

The vocoder then maps these mels to the clip's audio; its mel loss still compares with the
clip's real log-mel.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from ..harmonics import F0_REF_HZ, frame_pitch, render_harmonics
from ..models import alignment_path, sequence_mask
from ..sampler import SamplerSpec, sample
from .dataset import PreparedData

__all__ = ["audio_frame_pitch", "teacher_forced_mels"]

#: The voicing logit given to a voiced (unvoiced) YIN frame: a probability of 1 − 3·10⁻⁴ (3·10⁻⁴).
_VOICED_LOGIT = 8.0


def audio_frame_pitch(f0: np.ndarray, pitch_cfg: Any) -> tuple[np.ndarray, np.ndarray]:
    """Per-frame ``(f0_hz, voicing)`` for the harmonic rendering from a clip's YIN F0 per frame
    (0 where unvoiced), smoothed and clamped as the run time does.

    Unvoiced frames take ``ln F0`` interpolated between their voiced neighbours, so the
    smoothing does not pull the voiced edges towards 0 Hz.
    """
    f0 = np.asarray(f0, np.float64)
    n = f0.size
    voiced = f0 > 0
    if voiced.any():
        at = np.flatnonzero(voiced)
        log_f0 = np.interp(np.arange(n), at, np.log(f0[voiced] / F0_REF_HZ))
    else:
        log_f0 = np.zeros(n)
    logit = np.where(voiced, _VOICED_LOGIT, -_VOICED_LOGIT)
    return frame_pitch(np.stack([log_f0, logit])[None], np.ones(n, np.int64), np.ones(1),
                       pitch_cfg)


def teacher_forced_mels(model, data: PreparedData, items: np.ndarray,
                        emotion_table: torch.Tensor, spec: SamplerSpec, *, seed: int = 0,
                        f0_of=None, batch_size: int = 16) -> dict[int, np.ndarray]:
    """Clip index → its teacher-forced mel ``(n_mels, frames)`` (normalised, float32), the
    length of the clip's own mel.

    ``emotion_table`` ``(n_emotions, E)`` holds the emotion embeddings the acoustic model was
    trained with; ``spec`` the voice's sampler settings; clip ``i`` draws its noise with seed
    ``seed + i``. ``f0_of`` (a :class:`~emomix.train.stages.F0Cache`) gives each clip's F0 for
    voices with a pitch predictor. Runs on the CPU with the model in eval mode, no gradients.
    """
    cfg = model.cfg
    pitched = getattr(model, "pitch", None) is not None
    if pitched and f0_of is None:
        raise ValueError("this voice renders harmonics from F0: pass f0_of (an F0Cache)")
    modes = {n: getattr(model, n).training for n in ("speakers", "encoder", "denoiser")}
    for n in modes:
        getattr(model, n).eval()
    out: dict[int, np.ndarray] = {}
    items = [int(i) for i in items]
    try:
        with torch.no_grad():
            for start in range(0, len(items), batch_size):
                chunk = items[start:start + batch_size]
                b = data.batch(chunk)
                mel = torch.from_numpy(b.mels)
                fmask = sequence_mask(torch.from_numpy(b.mel_lengths), mel.shape[-1])
                spk = model.speakers(torch.from_numpy(b.speaker))
                emo = emotion_table[torch.from_numpy(b.emotion)]
                mu_phone, _, tmask = model.encoder(torch.from_numpy(b.ids),
                                                   torch.from_numpy(b.id_lengths), emo, spk)
                path = alignment_path(mu_phone, mel, tmask, fmask,
                                      torch.from_numpy(b.durations))
                mu = torch.matmul(mu_phone, path)
                for k, i in enumerate(chunk):
                    frames, phones = int(b.mel_lengths[k]), int(b.id_lengths[k])
                    mu_k = mu[k, :, :frames]
                    durations = path[k, :phones, :frames].sum(-1).round().long().numpy()

                    def denoise(x, t, conditions, mu_k=mu_k, emo_k=emo[k:k + 1],
                                spk_k=spk[k:k + 1]):
                        n = x.shape[0]
                        return model.denoiser(
                            torch.from_numpy(x), torch.from_numpy(t),
                            mu_k.unsqueeze(0).expand(n, -1, -1),
                            emo_k.expand(n, -1), spk_k.expand(n, -1)).numpy()

                    x = sample(denoise, mu_k.numpy(), np.ones((spec.steps, 1), np.float32),
                               spec, seed=seed + i, durations=durations)
                    if pitched:
                        f0, voicing = audio_frame_pitch(f0_of(i), cfg.pitch)
                        x = render_harmonics(x, f0, voicing, cfg.audio, cfg.pitch)
                    out[i] = np.ascontiguousarray(x, np.float32)
    finally:
        for n, mode in modes.items():
            getattr(model, n).train(mode)
    return out
