"""The pitch predictor and the harmonic rendering in the native runtime against the references.

``Session.pitch`` against torch's ``PitchPredictor`` (max abs error <= 1e-4); ``Model.frame_pitch``
and ``Model.render_harmonics`` against :mod:`emomix.harmonics` (numpy, float64) on several audio
and pitch configs; the fused ``synthesize_ids`` against ``Voice.synthesize_full`` with the same
seed (mel and audio); a voice without pitch unchanged; errors for bad inputs and bundles.

The voice has RANDOM weights, every one perturbed, with a pitch predictor whose width and kernel
differ from the encoder's, so that a mixed-up dimension cannot pass. Numerics, not speech quality.
"""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

torch = pytest.importorskip("torch")
native = pytest.importorskip("emomix._native")
if not hasattr(native, "Session"):  # pragma: no cover - stale build
    pytest.skip("emomix._native was built without the runtime", allow_module_level=True)

import emomix  # noqa: E402
from emomix import harmonics  # noqa: E402
from emomix.backends import create_backend  # noqa: E402
from emomix.config import AudioConfig, PitchConfig  # noqa: E402
from emomix.voice import load_bundle, load_weights, save_bundle  # noqa: E402

#: A line as phoneme ids of the symbol table (synthesize_full takes ids as well as text).
IDS = np.random.default_rng(5).integers(1, 100, 40)


def perturbed(src, dst, drop: str | None = None):
    """A copy of a bundle with every float weight perturbed; without tensor ``drop``."""
    bundle = load_bundle(src)
    rng = np.random.default_rng(1)
    weights = {}
    for k, v in load_weights(bundle).items():
        if v.dtype == np.float32:
            v = (v + rng.normal(scale=0.05 + 0.1 * float(np.std(v)), size=v.shape)).astype(
                np.float32)
        if k != drop:
            weights[k] = v
    save_bundle(dst, {k: v for k, v in bundle.meta.items() if k != "files"}, weights)
    return dst


@pytest.fixture(scope="module")
def pitch_voice_dir(tmp_path_factory):
    from emomix.train.init_voice import build_random_voice

    root = tmp_path_factory.mktemp("native_pitch")
    build_random_voice(root / "random", seed=0, n_speakers=2,
                       config_overrides={"pitch": PitchConfig(enabled=True, hidden=48, kernel=5)})
    return perturbed(root / "random", root / "voice")


@pytest.fixture(scope="module")
def backends(pitch_voice_dir):
    bundle = load_bundle(pitch_voice_dir)
    return create_backend("torch", bundle), create_backend("native", bundle, threads=2)


@pytest.fixture(scope="module")
def voices(pitch_voice_dir):
    return (emomix.load_voice(pitch_voice_dir, backend="torch", threads=2),
            emomix.load_voice(pitch_voice_dir, backend="native", threads=2))


def edited_voice(src, dst, edit):
    """A copy of a bundle whose voice.json went through ``edit(meta)`` (weights unchanged)."""
    shutil.copytree(src, dst)
    meta = json.loads((dst / "voice.json").read_text())
    edit(meta)
    (dst / "voice.json").write_text(json.dumps(meta))
    return dst


def test_constants_match_the_reference():
    assert native.HARMONICS == {"f0_ref_hz": harmonics.F0_REF_HZ,
                                "smooth_frames": harmonics.SMOOTH_FRAMES,
                                "lobe_bins": harmonics._LOBE_BINS}


@pytest.mark.parametrize(("phonemes", "conditions"), [(1, 1), (7, 3), (40, 2)])
def test_pitch_matches_torch(backends, phonemes, conditions):
    torch_backend, native_backend = backends
    assert native_backend.model.has_pitch
    rng = np.random.default_rng(phonemes)
    ids = rng.integers(0, 100, phonemes)
    emo = rng.normal(size=(conditions, 64)).astype(np.float32)
    spk = rng.normal(size=(conditions, 64)).astype(np.float32)
    ref = torch_backend.pitch(ids, emo, spk)
    out = native_backend.pitch(ids, emo, spk)
    assert out.shape == ref.shape == (conditions, 2, phonemes) and out.dtype == np.float32
    assert np.abs(out - ref).max() <= 1e-4
    # each condition alone gives its row of the batch
    for m in range(conditions):
        np.testing.assert_allclose(native_backend.pitch(ids, emo[m:m + 1], spk[m:m + 1])[0],
                                   out[m], rtol=0, atol=1e-5)


def test_a_session_reuses_a_lines_encoder_states_only_for_that_line(backends):
    """encode() then pitch() of one line runs the encoder's layers once; any other line, or a
    failed one in between, gets its own states."""
    model = backends[1].model
    rng = np.random.default_rng(11)
    a, b = rng.integers(0, 100, 23), rng.integers(0, 100, 31)
    emo = rng.normal(size=(2, 64)).astype(np.float32)
    spk = rng.normal(size=(2, 64)).astype(np.float32)

    def fresh(ids):  # a new session holds no states
        return native.Session(model, threads=1).pitch(ids, emo, spk)

    s = native.Session(model, threads=1)
    mu_a, dur_a = s.encode(a, emo[0], spk[0], 1.0)
    np.testing.assert_array_equal(s.pitch(a, emo, spk), fresh(a))  # the kept states
    np.testing.assert_array_equal(s.pitch(b, emo, spk), fresh(b))  # another line
    shifted = b.copy()
    shifted[-1] = (shifted[-1] + 1) % 100  # same length, one phoneme differs
    np.testing.assert_array_equal(s.pitch(shifted, emo, spk), fresh(shifted))
    with pytest.raises(ValueError, match="outside the symbol table"):
        s.pitch(np.array([1, 2, 10**6]), emo, spk)
    np.testing.assert_array_equal(s.pitch(b, emo, spk), fresh(b))
    mu, dur = s.encode(a, emo[0], spk[0], 1.0)  # encode after pitch of the same line
    np.testing.assert_array_equal(mu, mu_a)
    np.testing.assert_array_equal(dur, dur_a)


@pytest.mark.parametrize("per_frame", [False, True])
def test_frame_pitch_matches_numpy(backends, voices, per_frame):
    model = backends[1].model
    rng = np.random.default_rng(int(per_frame))
    pitch = np.stack([rng.normal(0.3, 0.6, (3, 11)), rng.normal(0, 3, (3, 11))],
                     axis=1).astype(np.float32)
    durations = rng.integers(0, 7, 11)
    durations[0] = 1
    frames = int(durations.sum())
    weights = rng.dirichlet(np.ones(3), size=frames).T if per_frame else np.array([0.5, -0.2, 0.7])
    weights = weights.astype(np.float32)
    f0_ref, v_ref = harmonics.frame_pitch(pitch, durations, weights, voices[0].pitch_config)
    f0, voicing = model.frame_pitch(pitch, durations, weights)
    np.testing.assert_allclose(f0, f0_ref, rtol=1e-12, atol=0)
    np.testing.assert_allclose(voicing, v_ref, rtol=0, atol=1e-12)


RENDER_CASES = {
    "voice": {},
    "htk_no_envelope": {"audio": {"mel_scale": "htk"}, "pitch": {"envelope_sigma": 0.0}},
    "band_limited": {"audio": {"f_min": 55.0, "f_max": 7000.0, "mel_std": 1.7},
                     "pitch": {"envelope_sigma": 1.3, "harmonic_floor": 0.2, "f0_min": 70.0}},
}


@pytest.mark.parametrize("case", sorted(RENDER_CASES))
def test_render_harmonics_matches_numpy(pitch_voice_dir, tmp_path, case):
    def edit(meta):
        for key, value in RENDER_CASES[case].get("audio", {}).items():
            meta["audio"][key] = value
            meta["model"]["config"]["audio"][key] = value
        meta["model"]["config"]["pitch"].update(RENDER_CASES[case].get("pitch", {}))

    d = edited_voice(pitch_voice_dir, tmp_path / "voice", edit)
    meta = json.loads((d / "voice.json").read_text())
    audio_cfg = AudioConfig.from_dict(meta["audio"])
    pitch_cfg = PitchConfig.from_dict(meta["model"]["config"]["pitch"])
    model = native.load_model(str(d))
    rng = np.random.default_rng(len(case))
    frames = 90
    mel = rng.normal(size=(80, frames)).astype(np.float32)
    # F0 across the whole range: a glide, the lowest (most harmonics: where the comb's harmonic
    # count binds) and F0 on bin centres (lobes on exact bins); voicing from 0 to 1
    f0 = np.concatenate([np.geomspace(60.0, 500.0, 40), np.full(10, 60.0),
                         np.arange(3, 43) * audio_cfg.sample_rate / audio_cfg.n_fft])
    voicing = rng.random(frames)
    voicing[:5] = 0.0
    voicing[5:10] = 1.0
    ref = harmonics.render_harmonics(mel, f0, voicing, audio_cfg, pitch_cfg)
    out = model.render_harmonics(mel, f0, voicing)
    assert out.dtype == np.float32 and out.shape == ref.shape
    assert np.abs(out - ref).max() <= 1e-5
    assert np.abs(out - mel).max() > 0.1  # the harmonics are there


def _fused(voice, ids, mix, names, alpha, spk, W, seed):
    """``synthesize_ids`` with the arguments ``synthesize_full`` derives from its own."""
    emo = np.stack([voice.emotion_table[n] for n in names])
    w0 = np.array([mix.get(n, 0.0) for n in names])
    enc_emo = (alpha * (w0 @ emo) + (1 - alpha) * voice.emotion_table["neutral"]).astype(
        np.float32)
    spks = np.broadcast_to(spk, (len(names), spk.size))
    return voice.backend.synthesize_ids(ids, enc_emo, spk, W, emo, spks,
                                        solver=voice.sampler_defaults["solver"],
                                        temperature=voice.sampler_defaults["temperature"],
                                        seed=seed)


@pytest.mark.parametrize("kind", ["mix", "trajectory"])
def test_synthesize_ids_equals_synthesize_full(voices, kind):
    torch_voice, voice = voices
    if kind == "mix":
        mix, alpha = {"angry": 0.3, "sad": 0.7}, 1.2
        kw = dict(emotion=mix, intensity=alpha, speaker="speaker1", steps=4, seed=3)
    else:  # per-frame W; the first keyframe's mix conditions the encoder
        mix, alpha = {"happy": 1.0}, 1.0
        kw = dict(trajectory=[(0.0, mix), (1.0, {"sad": 1.0})], steps=3, seed=5)
    r = voice.synthesize_full(IDS, **kw)  # phoneme ids: no espeak-ng needed
    fused = _fused(voice, IDS, mix, r.conditions, alpha,
                   voice.speaker_vector(kw.get("speaker")), r.weights, kw["seed"])
    np.testing.assert_array_equal(fused["durations"], r.durations)
    np.testing.assert_allclose(fused["mel"], r.mel, rtol=0, atol=1e-5)
    np.testing.assert_allclose(fused["audio"], r.audio, rtol=0, atol=1e-5)
    # and the torch voice: the same line within the networks' float error
    ref = torch_voice.synthesize_full(IDS, **kw)
    np.testing.assert_array_equal(ref.durations, r.durations)
    assert np.abs(ref.mel - r.mel).max() <= 1e-3


def test_a_repeated_pitch_line_allocates_no_workspace(pitch_voice_dir, line_twice):
    s, first, second, allocated, W, emo = line_twice(
        pitch_voice_dir, also=lambda session, ids, emo: session.pitch(ids, emo, emo))
    assert allocated == 0
    np.testing.assert_array_equal(first["audio"], second["audio"])
    # the harmonics were rendered: the vocoded mel is not the sampler's
    sampled = s.sample(first["mu"], W, emo, emo, "euler", 0.667, 5, first["durations"])
    assert np.abs(first["mel"] - sampled).max() > 0.1


def test_a_voice_without_pitch_is_unchanged(random_voice_dir, tmp_path):
    d = perturbed(random_voice_dir, tmp_path / "voice")
    backend = create_backend("native", load_bundle(d), threads=2)
    assert not backend.model.has_pitch
    rng = np.random.default_rng(2)
    ids = rng.integers(0, 100, 20)
    emo = rng.normal(size=(2, 64)).astype(np.float32)
    with pytest.raises(ValueError, match="no pitch predictor"):
        backend.pitch(ids, emo, emo)
    with backend.session() as s, pytest.raises(ValueError, match="no pitch predictor"):
        s.pitch(ids, emo, emo)
    with pytest.raises(ValueError, match="no pitch predictor"):
        backend.model.render_harmonics(np.zeros((80, 3), np.float32), np.full(3, 100.0),
                                       np.ones(3))
    W = np.array([[1, 0], [0.5, 0.5], [0.5, 0.5]], np.float32)
    fused = backend.synthesize_ids(ids, emo[0], emo[1], W, emo, emo, solver="euler",
                                   temperature=0.667, seed=4)
    sampled = backend.sample(fused["mu"], W, emo, emo, "euler", 0.667, 4, fused["durations"])
    np.testing.assert_array_equal(fused["mel"], sampled)
    np.testing.assert_array_equal(fused["audio"], backend.vocode(sampled))


def test_an_absent_pitch_section_is_disabled(pitch_voice_dir, tmp_path):
    d = edited_voice(pitch_voice_dir, tmp_path / "voice",
                     lambda meta: meta["model"]["config"].pop("pitch"))
    assert not native.load_model(str(d)).has_pitch


def test_bad_pitch_inputs_raise_value_error(backends):
    s = native.Session(backends[1].model, threads=1)
    ids = np.arange(5)
    emo = np.zeros((2, 64), np.float32)
    with pytest.raises(ValueError, match="non-empty 1-D integer"):
        s.pitch(np.zeros(0, np.int64), emo, emo)
    with pytest.raises(ValueError, match=r"emotions must have shape \(M, E\)"):
        s.pitch(ids, np.zeros((2, 63), np.float32), emo)
    with pytest.raises(ValueError, match=r"speakers must have shape \(M, S\)"):
        s.pitch(ids, emo, np.zeros((3, 64), np.float32))
    with pytest.raises(ValueError, match="emotions contains NaN"):
        s.pitch(ids, np.full((2, 64), np.nan, np.float32), emo)
    with pytest.raises(ValueError, match="outside the symbol table"):
        s.pitch(np.array([0, 10_000]), emo, emo)
    model = backends[1].model
    mel = np.zeros((80, 4), np.float32)
    with pytest.raises(ValueError, match="f0 must be > 0"):
        model.render_harmonics(mel, np.array([100.0, 0.0, 100.0, 100.0]), np.ones(4))
    with pytest.raises(ValueError, match=r"voicing must have shape \(F,\)"):
        model.render_harmonics(mel, np.full(4, 100.0), np.ones(5))
    with pytest.raises(ValueError, match="mel contains NaN"):
        model.render_harmonics(np.full((80, 4), np.inf, np.float32), np.full(4, 100.0),
                               np.ones(4))
    pitch = np.zeros((2, 2, 3), np.float32)
    with pytest.raises(ValueError, match=r"weights must have shape \(M,\)"):
        model.frame_pitch(pitch, np.array([1, 2, 3]), np.ones((2, 5), np.float32))
    with pytest.raises(ValueError, match=r"pitch must have shape \(M, 2, T\)"):
        model.frame_pitch(np.zeros((2, 3, 3), np.float32), np.array([1, 2, 3]), np.ones(2))


def test_missing_pitch_tensor_names_it(pitch_voice_dir, tmp_path):
    d = perturbed(pitch_voice_dir, tmp_path / "voice", drop="pitch.net.proj.weight")
    with pytest.raises(ValueError, match=r"weights\.safetensors:pitch\.net\.proj\.weight: tensor "
                                         r"is missing"):
        native.load_model(str(d))


def test_bad_pitch_config_names_the_field(pitch_voice_dir, tmp_path):
    d = edited_voice(pitch_voice_dir, tmp_path / "voice",
                     lambda meta: meta["model"]["config"]["pitch"].update(kernel=4))
    with pytest.raises(ValueError,
                       match=r"voice\.json:model\.config\.pitch\.kernel: is 4; must be odd"):
        native.load_model(str(d))
