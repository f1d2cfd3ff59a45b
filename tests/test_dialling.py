"""Dialling an emotion with a fixed seed changes a line smoothly (docs/sampler.md, "Injected,
seeded noise"), checked on the shipped default voice."""

from __future__ import annotations

import numpy as np
import pytest

import emomix
from emomix.measures import cepstral_distortion, log_mel_cepstra

pytestmark = pytest.mark.usefixtures("needs_espeak")

LINES = ("Keep the lantern lit until I come back.", "The bridge is out, we go around.")


@pytest.fixture(scope="module")
def voice():
    return emomix.load_voice(None, backend="torch", threads=2)


def _mel_mcd(a, b, cfg) -> float:
    """DTW-aligned MCD of two of the sampler's (normalised) mels."""
    def cepstra(mel):
        return log_mel_cepstra(np.asarray(mel, np.float64) * cfg.mel_std + cfg.mel_mean)

    return cepstral_distortion(cepstra(a), cepstra(b))


def test_a_small_turn_of_the_dial_changes_the_line_less_than_a_new_seed(voice):
    """Measured on the sampler's mel, where the seeded noise lands (the vocoder, trained on the
    sampler's own mels, smooths some of the draw away, so audio would blur the comparison)."""
    cfg = voice.audio_config
    dial, reseed = [], []
    for k, line in enumerate(LINES):
        base = voice.synthesize_full(line, {"sad": 1.0}, intensity=0.5, seed=k)
        turned = voice.synthesize_full(line, {"sad": 1.0}, intensity=0.6, seed=k)
        # the dial must really move the line's timing, or this would test nothing
        assert not np.array_equal(base.durations, turned.durations)
        other = voice.synthesize_full(line, {"sad": 1.0}, intensity=0.5, seed=k + 100)
        dial.append(_mel_mcd(turned.mel, base.mel, cfg))
        reseed.append(_mel_mcd(other.mel, base.mel, cfg))
    print(f"dial {np.mean(dial):.2f} dB, new seed {np.mean(reseed):.2f} dB")
    assert np.mean(dial) < 0.8 * np.mean(reseed)
