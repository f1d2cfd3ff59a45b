"""Dialling an emotion with a fixed seed changes a line smoothly (docs/sampler.md, "Injected,
seeded noise"), checked on the shipped default voice."""

from __future__ import annotations

import numpy as np
import pytest

import emomix
from emomix.measures import mel_cepstral_distortion

pytestmark = pytest.mark.usefixtures("needs_espeak")

LINES = ("Keep the lantern lit until I come back.", "The bridge is out, we go around.")


@pytest.fixture(scope="module")
def voice():
    return emomix.load_voice(None, backend="torch", threads=2)


def test_a_small_turn_of_the_dial_changes_the_line_less_than_a_new_seed(voice):
    cfg, sr = voice.audio_config, voice.sample_rate
    dial, reseed = [], []
    for k, line in enumerate(LINES):
        base = voice.synthesize_full(line, {"sad": 1.0}, intensity=0.5, seed=k)
        turned = voice.synthesize_full(line, {"sad": 1.0}, intensity=0.6, seed=k)
        # the dial must really move the line's timing, or this would test nothing
        assert not np.array_equal(base.durations, turned.durations)
        other = voice.synthesize(line, {"sad": 1.0}, intensity=0.5, seed=k + 100)
        dial.append(mel_cepstral_distortion(turned.audio, base.audio, cfg, sr))
        reseed.append(mel_cepstral_distortion(other, base.audio, cfg, sr))
    # measured: 12.3 dB against 19.5 for a new seed; noise laid out by frame position instead
    # of by phoneme gives 21.5 against 19.7 (the dial then re-rolls the whole line)
    assert np.mean(dial) < 0.8 * np.mean(reseed)
