"""Log-mel features (numpy reference ↔ torch twin) and the F0 tracker, on signals made here."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from emomix.config import AudioConfig
from emomix.data.prosody import estimate_f0, prosody_stats, rms_db
from emomix.features import (
    denormalise,
    frame_count,
    hz_to_mel,
    log_mel,
    mel_filterbank,
    mel_to_hz,
    normalise,
    pad_for_frames,
    window,
)

CFG = AudioConfig()
SR = CFG.sample_rate
RNG = np.random.default_rng(1234)


def tone(freq: float, seconds: float = 0.5, amp: float = 0.5, sr: int = SR) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    return amp * np.sin(2 * np.pi * freq * t)


def speechlike(seconds: float = 1.0) -> np.ndarray:
    """A gliding harmonic tone with noise bursts: broadband, with silence-free dynamics."""
    t = np.arange(int(seconds * SR)) / SR
    f0 = 120 + 60 * np.sin(2 * np.pi * 1.5 * t)
    phase = 2 * np.pi * np.cumsum(f0) / SR
    x = sum(np.sin(k * phase) / k for k in range(1, 25))
    x = x * (0.5 + 0.5 * np.sin(2 * np.pi * 3 * t) ** 2)
    return 0.3 * x / np.abs(x).max() + 0.01 * RNG.normal(size=t.size)


# ---------------------------------------------------------------- mel scale and filterbank


def test_slaney_mel_scale_is_linear_below_1khz_and_inverts():
    hz = np.array([0.0, 200.0, 500.0, 1000.0, 2000.0, 4000.0, 8000.0, 11025.0])
    mel = hz_to_mel(hz, "slaney")
    np.testing.assert_allclose(mel[:4], hz[:4] * 3 / 200)  # 1000 Hz is 15 mel
    assert np.all(np.diff(mel) > 0)
    np.testing.assert_allclose(mel_to_hz(mel, "slaney"), hz, atol=1e-9)
    np.testing.assert_allclose(hz_to_mel(1000.0, "htk"), 999.99, atol=0.02)
    np.testing.assert_allclose(mel_to_hz(hz_to_mel(hz, "htk"), "htk"), hz, atol=1e-9)
    with pytest.raises(ValueError, match="mel_scale"):
        hz_to_mel(1.0, "bark")


@pytest.mark.parametrize("scale", ["slaney", "htk"])
def test_filterbank_shape_support_and_area_normalisation(scale):
    cfg = dataclasses.replace(CFG, mel_scale=scale)
    fb = mel_filterbank(cfg)
    assert fb.shape == (cfg.n_mels, cfg.n_fft // 2 + 1)
    assert fb.min() >= 0 and np.all(fb.max(axis=1) > 0)
    bins_hz = np.arange(fb.shape[1]) * cfg.sample_rate / cfg.n_fft
    assert bins_hz[np.flatnonzero(fb.any(axis=0))].max() <= cfg.f_max
    # Slaney normalisation: every triangle has (about) unit area in Hz once it spans bins.
    area = fb.sum(axis=1) * cfg.sample_rate / cfg.n_fft
    np.testing.assert_allclose(area[20:], 1.0, rtol=0.1)
    assert abs(area[20:].mean() - 1.0) < 0.02
    # Peaks rise with the band index.
    assert np.all(np.diff(fb.argmax(axis=1)) >= 0)


def test_window_is_periodic_hann_centred():
    w = window(dataclasses.replace(CFG, win_length=512))
    assert w.shape == (CFG.n_fft,)
    assert np.all(w[:256] == 0) and np.all(w[768:] == 0)
    np.testing.assert_allclose(w[256:768], np.hanning(513)[:-1], atol=1e-12)


def test_bad_config_is_rejected_with_the_field():
    with pytest.raises(ValueError, match="f_max"):
        mel_filterbank(dataclasses.replace(CFG, f_max=20000.0))


# ---------------------------------------------------------------- framing


@pytest.mark.parametrize("n", [1, 2, 255, 256, 257, 383, 384, 1000, 22050])
def test_frames_are_ceil_len_over_hop_and_cover_the_padded_clip(n):
    x = RNG.normal(size=n)
    frames = frame_count(n, CFG)
    assert frames == -(-n // CFG.hop_length)
    mel = log_mel(x, CFG)
    assert mel.shape == (CFG.n_mels, frames) and mel.dtype == np.float32
    padded = pad_for_frames(x, CFG)
    # frames · hop is the zero-padded clip; the reflect padding adds n_fft − hop in all.
    assert padded.shape[0] == frames * CFG.hop_length + CFG.n_fft - CFG.hop_length
    assert (padded.shape[0] - CFG.n_fft) // CFG.hop_length + 1 == frames


def test_empty_clip_has_no_frames():
    assert log_mel(np.zeros(0), CFG).shape == (CFG.n_mels, 0)


def test_frame_f_is_centred_on_samples_f_hop_to_f_plus_one_hop():
    # A short burst inside block f is loudest in frame f.
    for f in (3, 10, 17):
        x = np.zeros(20 * CFG.hop_length)
        x[f * CFG.hop_length + 96 : f * CFG.hop_length + 160] = tone(3000, 64 / SR)
        energy = log_mel(x, CFG, normalise=False).max(axis=0)
        assert int(energy.argmax()) == f


# ---------------------------------------------------------------- values


@pytest.mark.parametrize("scale", ["slaney", "htk"])
@pytest.mark.parametrize("freq", [150.0, 440.0, 1000.0, 2500.0, 6000.0])
def test_sine_energy_lands_in_the_mel_band_centred_on_it(scale, freq):
    cfg = dataclasses.replace(CFG, mel_scale=scale)
    mel = log_mel(tone(freq), cfg, normalise=False)
    centres = mel_to_hz(
        np.linspace(hz_to_mel(cfg.f_min, scale), hz_to_mel(cfg.f_max, scale), cfg.n_mels + 2)[1:-1],
        scale,
    )
    loudest = int(np.median(mel.argmax(axis=0)))
    # The loudest band is one whose triangle contains freq, next to the closest centre.
    assert abs(loudest - int(np.argmin(np.abs(centres - freq)))) <= 1
    assert mel[loudest].mean() > mel.mean(axis=1).max() - 1e-6


def test_silence_sits_at_the_log_floor_and_normalisation_inverts():
    raw = log_mel(np.zeros(4000), CFG, normalise=False)
    np.testing.assert_allclose(raw, np.log(CFG.log_floor), rtol=1e-6)
    x = speechlike(0.3)
    raw, norm = log_mel(x, CFG, normalise=False), log_mel(x, CFG)
    np.testing.assert_allclose(norm, normalise(raw, CFG), atol=1e-5)
    np.testing.assert_allclose(denormalise(norm, CFG), raw, atol=1e-5)


def test_log_mel_rejects_batches():
    with pytest.raises(ValueError, match="log_mel_torch"):
        log_mel(np.zeros((2, 100)), CFG)


# ---------------------------------------------------------------- torch twin

torch = pytest.importorskip("torch")


@pytest.mark.parametrize("n", [1, 100, 700, 5000, 22050 + 17])
def test_torch_matches_numpy_in_float64(n):
    from emomix.features import log_mel_torch

    x = speechlike(n / SR + 1e-9)[:n] if n > 100 else RNG.normal(size=n) * 0.3
    ref = log_mel(x, CFG)
    got = log_mel_torch(torch.from_numpy(x), CFG).numpy()
    assert got.shape == ref.shape
    assert np.abs(got - ref).max() < 1e-4


def test_torch_batch_float32_matches_numpy_where_the_signal_is():
    from emomix.features import log_mel_torch

    batch = np.stack([speechlike(0.8), tone(300, 0.8), tone(4000, 0.8, 0.1)]).astype(np.float32)
    got = log_mel_torch(torch.from_numpy(batch), CFG, normalise=False)
    assert got.shape == (3, CFG.n_mels, frame_count(batch.shape[1], CFG))
    assert got.dtype == torch.float32
    for i in range(3):
        ref = log_mel(batch[i], CFG, normalise=False)
        # float32 rounding matters only ~80 dB below the peak; compare within 60 dB of it.
        loud = ref > ref.max() - np.log(1e3)
        assert np.abs(got[i].numpy() - ref)[loud].max() < 1e-4
        assert np.abs(got[i].numpy() - ref).max() < 1e-2


def test_torch_is_differentiable_and_denormalise_takes_tensors():
    from emomix.features import log_mel_torch

    x = torch.from_numpy(speechlike(0.2)).requires_grad_(True)
    mel = log_mel_torch(x, CFG)
    mel.mean().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all()
    back = denormalise(mel.detach(), CFG)
    np.testing.assert_allclose(
        back.numpy(), log_mel(x.detach().numpy(), CFG, normalise=False), atol=1e-4
    )
    with pytest.raises(ValueError, match="batch"):
        log_mel_torch(torch.zeros(1, 2, 3), CFG)


# ---------------------------------------------------------------- F0 tracker


@pytest.mark.parametrize("f0", [70.0, 110.0, 196.0, 330.0, 520.0])
def test_estimate_f0_recovers_a_harmonic_tone(f0):
    x = tone(f0, 0.6) + tone(2 * f0, 0.6, 0.3) + tone(3 * f0, 0.6, 0.2)
    track = estimate_f0(x, SR)
    voiced = track[track > 0]
    assert voiced.size > 0.9 * track.size
    assert abs(np.median(voiced) / f0 - 1) < 0.01


def test_estimate_f0_marks_noise_and_silence_unvoiced():
    assert np.all(estimate_f0(0.1 * RNG.normal(size=SR // 2), SR) == 0)
    x = np.concatenate([np.zeros(SR // 4), tone(200, 0.5)])
    track = estimate_f0(x, SR)
    assert np.all(track[:15] == 0) and np.median(track[-20:]) == pytest.approx(200, rel=0.01)
    assert estimate_f0(np.zeros(10), SR).size == 0


def test_prosody_stats_measure_level_range_and_loudness():
    glide = np.sin(2 * np.pi * np.cumsum(np.linspace(100, 200, SR)) / SR) * 0.5
    stats = prosody_stats(np.concatenate([np.zeros(SR // 2), glide, np.zeros(SR // 2)]), SR)
    assert stats.duration_s == pytest.approx(2.0)
    assert stats.speech_s == pytest.approx(1.0, abs=0.03)
    assert 140 < stats.f0_mean_hz < 160
    assert stats.f0_range_st == pytest.approx(12 * np.log2(190 / 110), abs=0.6)
    assert stats.rms_db == pytest.approx(rms_db(glide), abs=0.2)
    assert rms_db(np.zeros(3)) < -100
