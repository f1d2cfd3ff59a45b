"""`emomix.load_voice` and `Voice.synthesize` through the torch backend, on a test-built voice
with random weights (plumbing only: the audio is noise)."""

from __future__ import annotations

import numpy as np
import pytest

import emomix

pytestmark = pytest.mark.usefixtures("needs_espeak")


@pytest.fixture(scope="module")
def voice(random_voice_dir):
    return emomix.load_voice(random_voice_dir, backend="torch", threads=2)


class CountingBackend:
    """Wraps a real backend and records the conditions batched into each denoiser call."""

    def __init__(self, inner):
        self.inner = inner
        self.batches: list[int] = []

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def denoise(self, x, t, mu, emotions, speakers):
        self.batches.append(x.shape[0])
        return self.inner.denoise(x, t, mu, emotions, speakers)


def test_voice_basics(voice):
    assert voice.sample_rate == 22050
    assert set(voice.emotions) == {"neutral", "happy", "sad", "angry", "surprise"}
    assert voice.speakers == ["speaker0", "speaker1"]
    audio = voice.synthesize("Hello there.", {"happy": 1.0}, seed=0)
    assert audio.dtype == np.float32 and audio.ndim == 1 and np.all(np.isfinite(audio))
    assert audio.size % 256 == 0


def test_zero_weight_conditions_are_not_evaluated_and_active_ones_are_batched(voice):
    counting = CountingBackend(voice.backend)
    v = emomix.Voice(voice.bundle, counting)
    r = v.synthesize_full("Hi.", {"happy": 0.6, "surprise": 0.4, "sad": 0.0}, steps=4,
                          preset="emomix", seed=1)
    assert r.conditions == ["happy", "surprise"]  # sad (weight 0) is not even a condition
    # emomix preset on tau = 1, .75, .5, .25: base alone, base alone, then the mix twice
    assert counting.batches == [1, 1, 2, 2]
    counting.batches.clear()
    v.synthesize("Hi.", {"happy": 0.6, "surprise": 0.4}, steps=3, preset="blend", solver="heun",
                 seed=1)
    assert counting.batches == [2] * 6


def test_native_and_python_sampler_loops_agree_on_real_networks(voice):
    native = emomix.Voice(voice.bundle, voice.backend, sampler_impl="native")
    python = emomix.Voice(voice.bundle, voice.backend, sampler_impl="python")
    kw = dict(emotion={"angry": 0.3, "sad": 0.7}, steps=4, seed=11)
    a = native.synthesize_full("A short test line.", **kw)
    b = python.synthesize_full("A short test line.", **kw)
    np.testing.assert_allclose(a.mel, b.mel, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(a.audio, b.audio, rtol=1e-4, atol=1e-5)


def test_make_noise_draws_the_planes_the_solver_reads_on_both_sampler_loops(voice):
    native = emomix.Voice(voice.bundle, voice.backend, sampler_impl="native")
    python = emomix.Voice(voice.bundle, voice.backend, sampler_impl="python")
    durations = np.array([3, 4, 0, 5])
    for spec in (emomix.sampler.SamplerSpec(steps=4),
                 emomix.sampler.SamplerSpec(steps=4, parameterisation="score", solver="em")):
        a = native.make_noise(9, spec, (80, 12), durations)
        b = python.make_noise(9, spec, (80, 12), durations)
        full = emomix.sampler.make_noise(9, 4, (80, 12), durations)
        n = emomix.sampler.noise_streams(spec)
        assert a.shape == b.shape == full.shape
        np.testing.assert_allclose(a[:n], full[:n], rtol=1e-6, atol=1e-6)
        np.testing.assert_array_equal(b[:n], full[:n])
        assert not a[n:].any() and not b[n:].any()


def test_intensity_adds_neutral_with_extrapolating_weights(voice):
    r = voice.synthesize_full("Oh no.", {"sad": 1.0}, intensity=1.4, preset="blend", seed=2)
    assert r.conditions == ["sad", "neutral"]
    np.testing.assert_allclose(r.weights[0], [1.4, -0.4], atol=1e-6)
    r = voice.synthesize_full("Oh no.", {"sad": 1.0}, intensity=7.0, preset="blend", seed=2)
    np.testing.assert_allclose(r.weights[0], [1.5, -0.5], atol=1e-6)  # clamped at ALPHA_MAX
    calm = voice.synthesize_full("Oh no.", {"sad": 1.0}, intensity=0.0, preset="blend", seed=2)
    neutral = voice.synthesize_full("Oh no.", {"neutral": 1.0}, preset="blend", seed=2)
    np.testing.assert_allclose(calm.mel, neutral.mel, atol=1e-4)


def test_emotion_scale_extrapolates_the_denoiser_weights_only(voice):
    assert voice.emotion_scale == 1.0  # the bundle has none: no extrapolation
    plain = voice.synthesize_full("Oh no.", {"sad": 1.0}, preset="blend", seed=2)
    assert plain.conditions == ["sad"]
    r = voice.synthesize_full("Oh no.", {"sad": 1.0}, preset="blend", seed=2, emotion_scale=1.3)
    assert r.conditions == ["sad", "neutral"]
    np.testing.assert_allclose(r.weights[0], [1.3, -0.3], atol=1e-6)
    np.testing.assert_array_equal(r.durations, plain.durations)  # the encoder is not scaled
    half = voice.synthesize_full("Oh no.", {"sad": 1.0}, intensity=0.5, preset="blend", seed=2,
                                 emotion_scale=1.3)
    np.testing.assert_allclose(half.weights[0], [0.65, 0.35], atol=1e-6)
    # neutral alone stays neutral alone
    n = voice.synthesize_full("Oh no.", {"neutral": 1.0}, preset="blend", seed=2,
                              emotion_scale=1.3)
    assert n.conditions == ["neutral"]
    np.testing.assert_allclose(n.weights, 1.0)
    for bad in (0.9, 1.6, float("nan"), "strong"):
        with pytest.raises(ValueError, match="emotion_scale"):
            voice.synthesize("Fine.", emotion_scale=bad)


def _voice_with_sampler(random_voice_dir, d, **sampler):
    """A copy of the random voice in ``d`` with ``sampler`` keys set in its voice.json."""
    import json
    import shutil

    shutil.copytree(random_voice_dir, d)
    meta = json.loads((d / "voice.json").read_text())
    meta["sampler"].update(sampler)
    (d / "voice.json").write_text(json.dumps(meta))
    return emomix.load_voice(d, backend="torch", threads=1)


def test_a_bundles_emotion_scale_is_the_default(random_voice_dir, tmp_path):
    v = _voice_with_sampler(random_voice_dir, tmp_path / "scaled", emotion_scale=1.25)
    assert v.emotion_scale == 1.25
    r = v.synthesize_full("Oh no.", {"sad": 1.0}, preset="blend", seed=2)
    np.testing.assert_allclose(r.weights[0], [1.25, -0.25], atol=1e-6)
    r = v.synthesize_full("Oh no.", {"sad": 1.0}, preset="blend", seed=2, emotion_scale=1.0)
    assert r.conditions == ["sad"]


def test_a_bundles_length_scale_is_the_default(random_voice_dir, tmp_path):
    v = _voice_with_sampler(random_voice_dir, tmp_path / "slow", length_scale=1.5)
    assert v.length_scale == 1.5
    assert emomix.GenerationConfig().for_voice(v).length_scale == 1.5
    line = v.synthesize_full("Oh no, not again.", {"sad": 1.0}, seed=2)
    given = v.synthesize_full("Oh no, not again.", {"sad": 1.0}, seed=2, length_scale=1.5)
    plain = v.synthesize_full("Oh no, not again.", {"sad": 1.0}, seed=2, length_scale=1.0)
    np.testing.assert_array_equal(line.durations, given.durations)
    assert line.durations.sum() > 1.3 * plain.durations.sum()
    for bad in (0.1, 5, float("nan"), "slow"):
        with pytest.raises(ValueError, match="length_scale"):
            v.synthesize("Fine.", length_scale=bad)


def test_speakers_and_emotions_change_the_audio(voice):
    base = voice.synthesize("Good morning.", {"happy": 1.0}, seed=3)
    assert not np.array_equal(base, voice.synthesize("Good morning.", {"happy": 1.0},
                                                     speaker="speaker1", seed=3))
    assert not np.array_equal(base, voice.synthesize("Good morning.", {"angry": 1.0}, seed=3))
    np.testing.assert_array_equal(base, voice.synthesize("Good morning.", {"happy": 1.0}, seed=3))


def test_a_call_without_speaker_uses_the_voices_default_speaker(voice, random_voice_dir,
                                                                tmp_path):
    import json
    import shutil

    assert voice.default_speaker == "speaker0"  # no default_speaker: id 0
    np.testing.assert_array_equal(voice.speaker_vector(None), voice.speaker_vector("speaker0"))
    shutil.copytree(random_voice_dir, tmp_path / "v")
    meta = json.loads((tmp_path / "v" / "voice.json").read_text())
    meta["default_speaker"] = "speaker1"
    (tmp_path / "v" / "voice.json").write_text(json.dumps(meta))
    v = emomix.load_voice(tmp_path / "v", backend="torch", threads=2)
    assert v.default_speaker == "speaker1"
    np.testing.assert_array_equal(v.speaker_vector(None), v.speaker_vector("speaker1"))
    np.testing.assert_array_equal(  # Voice.synthesize and Character follow it
        v.synthesize("Good morning.", {"happy": 1.0}, seed=3),
        voice.synthesize("Good morning.", {"happy": 1.0}, speaker="speaker1", seed=3))
    npc, named = emomix.Character(v), emomix.Character(voice, speaker="speaker1")
    for c in (npc, named):
        c.emotion.set(happy=1.0)
    np.testing.assert_array_equal(npc.say("Good morning.", seed=3),
                                  named.say("Good morning.", seed=3))


def test_score_parameterisation_voice(tmp_path):
    from emomix.train.init_voice import build_random_voice

    build_random_voice(tmp_path / "s", seed=1, parameterisation="score", n_speakers=1)
    v = emomix.load_voice(tmp_path / "s")
    for solver in ("em", "pf_euler"):
        audio = v.synthesize("Score based.", {"surprise": 0.5, "neutral": 0.5}, solver=solver,
                             seed=4)
        assert np.all(np.isfinite(audio)) and audio.size > 0


@pytest.mark.parametrize("kwargs,message", [
    (dict(emotion={"joy": 1}), "unknown emotion"),
    (dict(emotion={"happy": float("inf")}), "finite"),
    (dict(emotion={}), "empty"),
    (dict(intensity=float("nan")), "intensity"),
    (dict(preset="wild"), "preset"),
    (dict(seed=-1), "seed"),
    (dict(length_scale=0.0), "length_scale"),
])
def test_bad_arguments(voice, kwargs, message):
    text = kwargs.pop("text", "Fine.")
    with pytest.raises(ValueError, match=message):
        voice.synthesize(text, **kwargs)


def test_unknown_backend_and_default_voice_message(random_voice_dir, monkeypatch, tmp_path):
    with pytest.raises(ValueError, match="unknown backend"):
        emomix.load_voice(random_voice_dir, backend="quantum")
    monkeypatch.setenv("EMOMIX_DEFAULT_VOICE", str(tmp_path / "none"))
    monkeypatch.setattr(emomix.synthesis, "__file__", str(tmp_path / "pkg" / "synthesis.py"))
    with pytest.raises(FileNotFoundError, match="voice init --random"):
        emomix.default_voice_path()
