"""The pitch predictor's targets (emomix.train.pitch_targets), the harmonic rendering of the mel
(emomix.harmonics), and a pitch voice's synthesis path (torch backend).

The harmonic rendering is checked against physics, not against itself: the log-mel of a real
harmonic signal has the peaks and dips that the rendering puts into its band-smoothed mel.
"""

from __future__ import annotations

import numpy as np
import pytest

from emomix import harmonics as hm
from emomix.config import AudioConfig, PitchConfig
from emomix.features import log_mel
from emomix.train.pitch_targets import f0_at_frames, phone_pitch_targets

SR = 22050
AUDIO = AudioConfig()
PITCH = PitchConfig(enabled=True)


def _harmonic_tone(f0: float, seconds: float = 1.0, top: float = 7000.0) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    return 0.05 * sum(np.cos(2 * np.pi * h * f0 * t) for h in range(1, int(top / f0) + 1))


def test_f0_at_frames_reads_a_tone_and_marks_silence_unvoiced():
    t = np.arange(SR) / SR
    tone = np.concatenate([0.3 * np.sin(2 * np.pi * 180.0 * t), np.zeros(SR // 2)])
    frames = log_mel(tone, AUDIO).shape[1]
    f0 = f0_at_frames(tone, SR, AUDIO.hop_length, frames)
    assert f0.shape == (frames,)
    assert np.median(f0[10:70]) == pytest.approx(180.0, rel=0.01)
    assert np.all(f0[-20:] == 0.0)


def test_phone_targets_average_log_f0_over_voiced_frames_only():
    f0 = np.array([100.0, 200.0, 0.0, 0.0, 0.0, 150.0])
    log_f0, frac, n = phone_pitch_targets(f0, np.array([3, 2, 1]))
    assert log_f0 == pytest.approx([(np.log(1.0) + np.log(2.0)) / 2, 0.0, np.log(1.5)])
    assert frac == pytest.approx([2 / 3, 0.0, 1.0])
    assert n.tolist() == [2, 0, 1]


def test_frame_pitch_mixes_log_f0_linearly_so_f0_is_monotonic_in_the_weight():
    # two conditions, one phoneme of 40 frames: 100 Hz (voiced) vs 200 Hz (voiced)
    pitch = np.zeros((2, 2, 1))
    pitch[0, 0], pitch[1, 0] = np.log(1.0), np.log(2.0)
    pitch[:, 1] = 8.0
    means = []
    for w in np.linspace(0.0, 1.0, 6):
        f0, voicing = hm.frame_pitch(pitch, np.array([40]), np.array([1 - w, w]), PITCH)
        assert f0 == pytest.approx(100.0 * 2.0**w)
        assert voicing == pytest.approx(1 / (1 + np.exp(-8.0)))
        means.append(f0.mean())
    assert np.all(np.diff(means) > 0)


def test_frame_pitch_glides_between_phonemes_and_clamps():
    pitch = np.zeros((1, 2, 2))
    pitch[0, 0] = [np.log(1.2), np.log(2.4)]
    f0, _ = hm.frame_pitch(pitch, np.array([10, 10]), np.array([1.0]), PITCH)
    assert f0[0] == pytest.approx(120.0) and f0[-1] == pytest.approx(240.0)
    assert 120.0 < f0[9] < f0[10] < 240.0  # a ramp across the boundary, not a step
    high = np.full((1, 2, 1), 5.0)  # 100·e^5 Hz: above f0_max
    f0, _ = hm.frame_pitch(high, np.array([5]), np.array([1.0]), PITCH)
    assert np.all(f0 == PITCH.f0_max)
    with pytest.raises(ValueError, match="weights have shape"):
        hm.frame_pitch(pitch, np.array([10, 10]), np.ones((1, 7)), PITCH)


def test_rendered_harmonics_match_the_log_mel_of_a_real_harmonic_tone():
    f0 = 140.0
    mel = log_mel(_harmonic_tone(f0), AUDIO)[:, 10:-10]  # normalised, as the networks see it
    frames = mel.shape[1]
    smooth = hm.render_harmonics(mel, np.full(frames, f0), np.zeros(frames), AUDIO, PITCH)
    rendered = hm.render_harmonics(mel, np.full(frames, f0), np.ones(frames), AUDIO, PITCH)
    low = slice(2, 25)  # bands narrower than F0: harmonics resolved
    real_ripple = (mel - smooth)[low].mean(axis=1)
    model_ripple = (rendered - smooth)[low].mean(axis=1)
    assert np.corrcoef(real_ripple, model_ripple)[0, 1] > 0.8
    assert np.abs(rendered - mel)[low].mean() < 0.75 * np.abs(smooth - mel)[low].mean()
    # the top bands span many harmonics: the comb averages out there
    mod = hm.harmonic_modulation(np.array([f0]), AUDIO, PITCH.harmonic_floor)
    assert np.abs(mod[-20:]).max() < 0.15


def test_zero_voicing_leaves_the_band_smoothed_mel_and_bad_shapes_are_refused():
    rng = np.random.default_rng(0)
    mel = rng.normal(size=(80, 12)).astype(np.float32)
    out = hm.render_harmonics(mel, np.full(12, 150.0), np.zeros(12), AUDIO, PITCH)
    assert np.allclose(out.mean(axis=0), mel.mean(axis=0), atol=0.2)  # smoothing keeps level
    assert np.abs(np.diff(out, axis=0)).mean() < np.abs(np.diff(mel, axis=0)).mean()
    flat = PitchConfig(enabled=True, envelope_sigma=0.0)
    assert np.array_equal(hm.render_harmonics(mel, np.full(12, 150.0), np.zeros(12), AUDIO, flat),
                          mel)
    with pytest.raises(ValueError, match="frames"):
        hm.render_harmonics(mel, np.full(11, 150.0), np.zeros(11), AUDIO, PITCH)


@pytest.fixture(scope="module")
def pitch_voice(tmp_path_factory):
    pytest.importorskip("torch")
    from emomix.train.init_voice import build_random_voice

    out = tmp_path_factory.mktemp("voices") / "pitch"
    build_random_voice(out, seed=1, config_overrides={"pitch": PitchConfig(enabled=True)})
    return out


def test_a_pitch_voice_renders_the_predicted_pitch_into_the_sampled_mel(pitch_voice, needs_espeak):
    import emomix

    voice = emomix.load_voice(pitch_voice, backend="torch")
    assert voice.pitch_config is not None
    text = "A short line."
    r = voice.synthesize_full(text, {"happy": 0.7, "sad": 0.3}, seed=4, emotion_scale=1.0)
    emb = np.stack([voice.emotion_table[n] for n in r.conditions])
    spk = voice.speaker_vector(None)
    raw = voice.sample_mel(r.mu, emb, spk, r.weights, voice.sampler_spec(), seed=4,
                           durations=r.durations)
    pitch = voice.line_pitch(voice.text_to_ids(text), emb, spk)
    assert pitch.shape == (len(r.conditions), 2, len(r.durations))
    f0, voicing = hm.frame_pitch(pitch, r.durations, r.weights[-1], voice.pitch_config)
    expected = hm.render_harmonics(raw, f0, voicing, voice.audio_config, voice.pitch_config)
    np.testing.assert_allclose(r.mel, expected, atol=1e-5)
    assert not np.allclose(r.mel, raw, atol=1e-3)


def test_a_voice_without_pitch_keeps_the_sampled_mel(random_voice_dir, needs_espeak):
    import emomix

    voice = emomix.load_voice(random_voice_dir, backend="torch")
    assert voice.pitch_config is None
    r = voice.synthesize_full("A short line.", {"angry": 1.0}, seed=2, emotion_scale=1.0)
    emb = np.stack([voice.emotion_table[n] for n in r.conditions])
    raw = voice.sample_mel(r.mu, emb, voice.speaker_vector(None), r.weights, voice.sampler_spec(),
                           seed=2, durations=r.durations)
    np.testing.assert_array_equal(r.mel, raw)
    with pytest.raises(ValueError, match="no pitch predictor"):
        voice.backend.pitch(np.array([3, 4]), emb, voice.speaker_vector(None)[None])


def test_synthesize_full_takes_phoneme_ids_and_checks_them(random_voice_dir):
    import emomix

    voice = emomix.load_voice(random_voice_dir, backend="torch")
    ids = np.array([5, 9, 12, 40, 7])
    a = voice.synthesize_full(ids, {"sad": 1.0}, seed=1)
    b = voice.synthesize_full(list(ids), {"sad": 1.0}, seed=1)
    assert len(a.durations) == 5 and np.array_equal(a.audio, b.audio)
    n = len(voice.symbols)
    for bad, msg in (([], "non-empty"), ([[1, 2]], "1-D"), ([1.5, 2.0], "integers"),
                     ([3, n], "not in this voice's symbol table"), ([-1], "not in this"),
                     (np.zeros(2001, np.int64), "limit")):
        with pytest.raises(ValueError, match=msg):
            voice.synthesize_full(bad, {"sad": 1.0}, seed=1)


def test_a_characters_lines_render_pitch_once_per_condition(pitch_voice, needs_espeak):
    import emomix
    from emomix.character import StreamConfig

    voice = emomix.load_voice(pitch_voice, backend="torch")
    whole = emomix.Character(voice, stream=StreamConfig(block_frames=None))
    whole.emotion.set(happy=0.6, surprise=0.4)
    expected = voice.synthesize("Hello there.", {"happy": 0.6, "surprise": 0.4}, seed=5)
    np.testing.assert_array_equal(whole.say("Hello there.", seed=5), expected)

    calls = []
    predict = voice.backend.pitch
    voice.backend.pitch = lambda ids, emo, spk: calls.append(len(emo)) or predict(ids, emo, spk)
    small = StreamConfig(first_block_frames=32, block_frames=48, context_frames=12,
                         crossfade_frames=8)
    npc = emomix.Character(voice, stream=small)
    npc.emotion.set(angry=0.7, sad=0.3)
    text = ("The blacksmith hammered the glowing blade until the evening bells rang, and then "
            "he rested by the fire.")
    line = npc.say_full(text, seed=3)
    assert len(line.blocks) >= 3 and calls == [2]  # two conditions, predicted once
    streamed = np.concatenate(list(npc.speak(text, seed=3)))
    np.testing.assert_allclose(streamed, line.audio, atol=1e-4)
