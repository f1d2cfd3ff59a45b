"""The line plan in C++ (``emomix/generation.hpp``) equals the SDK's (``emomix.generation``, built
from the helpers ``Voice.synthesize_full`` uses), and ``Session.synthesize_text`` equals
``Voice.synthesize_full`` on the native backend.

Many random configs on three voices: the shipped default voice, a random ``score`` voice with
``beta_max = 10`` and a voice whose ``emomix`` window is 0.95/0.9 and length scale 1.3
(non-default values, so a copy that falls back on the defaults fails). The random voices have
RANDOM weights: plumbing and numerics, not speech quality.
"""

from __future__ import annotations

import dataclasses
import json
import shutil

import numpy as np
import pytest

native = pytest.importorskip("emomix._native")

import emomix  # noqa: E402
from emomix.generation import GenerationConfig, config_dict, plan, synthesize_text  # noqa: E402
from emomix.synthesis import default_voice_path  # noqa: E402

#: full-synthesis parity: C++ text-to-audio against the SDK's pipeline on the same backend
MIN_SNR_DB = 60.0


def snr_db(ref: np.ndarray, x: np.ndarray) -> float:
    ref = ref.astype(np.float64)
    return float(10 * np.log10(np.sum(ref**2) / max(np.sum((ref - x) ** 2), 1e-30)))


@pytest.fixture(scope="module")
def voices(tmp_path_factory, perturbed_voice):
    """``{name: Voice}`` on the native backend: default, score (beta_max 10), wide (0.95/0.9,
    length scale 1.3)."""
    out = {"default": emomix.load_voice(default_voice_path(), backend="native", threads=1)}
    try:
        from emomix.train.init_voice import build_random_voice
    except ImportError:  # torch missing: the default voice only
        return out
    root = tmp_path_factory.mktemp("generation")
    build_random_voice(root / "score_random", seed=0, parameterisation="score",
                       config_overrides={"beta_max": 10.0}, n_speakers=3)
    score = perturbed_voice(root / "score_random", root / "score")
    build_random_voice(root / "flow_random", seed=1, n_speakers=2)
    wide = shutil.copytree(perturbed_voice(root / "flow_random", root / "flow"), root / "wide")
    meta = json.loads((wide / "voice.json").read_text())
    meta["sampler"].update(k_max=0.95, k_min=0.9, length_scale=1.3)
    (wide / "voice.json").write_text(json.dumps(meta, indent=2))
    for name, d in (("score", score), ("wide", wide)):
        out[name] = emomix.load_voice(d, backend="native", threads=1)
    assert out["score"].sampler_spec().beta_max == 10.0
    assert (out["wide"].sampler_spec().k_max, out["wide"].sampler_spec().k_min) == (0.95, 0.9)
    assert out["wide"].length_scale == 1.3
    return out


def random_mix(rng, names, zeros=True) -> dict[str, float]:
    k = int(rng.integers(1, len(names) + 1))
    chosen = rng.choice(names, size=k, replace=False)
    w = rng.uniform(0, 2, size=k)
    if zeros and k > 1 and rng.random() < 0.3:
        w[0] = 0.0
    return {str(n): float(x) for n, x in zip(chosen, w, strict=True)}


def random_config(rng, voice) -> GenerationConfig:
    names = voice.emotions
    solvers = {"flow": ["euler", "heun"], "score": ["em", "pf_euler"]}[voice.sampler_spec()
                                                                         .parameterisation]
    preset = str(rng.choice(["emomix", "blend", "intensity", None]))
    c = GenerationConfig(
        emotions=random_mix(rng, names),
        intensity=1.0 if rng.random() < 0.3 else float(rng.uniform(-0.3, 1.9)),
        emotion_scale=None if rng.random() < 0.5 else float(rng.uniform(1.0, 1.5)),
        speakers=None if rng.random() < 0.3 else random_mix(rng, voice.speakers, zeros=False),
        steps=None if rng.random() < 0.3 else int(rng.integers(1, 13)),
        solver=None if rng.random() < 0.3 else str(rng.choice(solvers)),
        preset=None if preset == "None" else preset,
        temperature=None if rng.random() < 0.5 else float(rng.uniform(0.2, 1.5)),
        length_scale=None if rng.random() < 0.3 else float(rng.uniform(0.5, 2.0)),
        seed=int(rng.integers(0, 2**63)),
    )
    if rng.random() < 0.4:
        hi = float(rng.uniform(0, 1))
        c.k_max, c.k_min = hi, float(rng.uniform(0, hi))
    if c.preset == "intensity":
        c.emotions = {str(rng.choice([n for n in names if n != "neutral"])): 1.0}
    elif rng.random() < 0.3:
        pos = np.sort(rng.uniform(0, 1, size=int(rng.integers(1, 5))))
        c.keyframes = [(float(p), random_mix(rng, names)) for p in pos]
    return c


def test_config_fields_mirror_the_struct():
    assert GenerationConfig.fields() == native.generation_config_fields()


def test_defaults_come_from_the_voice(voices):
    for voice in voices.values():
        ours = config_dict(GenerationConfig().for_voice(voice))
        theirs = native.default_generation_config(voice.backend.model)
        assert ours == theirs


def test_plan_matches_python_on_random_configs(voices):
    pytest.importorskip("torch")  # builds the score and wide voices
    assert set(voices) == {"default", "score", "wide"}
    rng = np.random.default_rng(7)
    for name, voice in voices.items():
        for i in range(60):
            c = random_config(rng, voice)
            frames = int(rng.integers(1, 90))
            ours = plan(voice, c)
            theirs = native.generation_plan(voice.backend.model, config_dict(c), frames)
            what = f"{name} config {i}: {c}"
            assert theirs["conditions"] == ours.conditions, what
            assert theirs["neutral"] == ours.neutral, what
            np.testing.assert_array_equal(theirs["emotions"], ours.emotions, err_msg=what)
            np.testing.assert_allclose(theirs["speaker"], ours.speaker, atol=1e-6, err_msg=what)
            np.testing.assert_allclose(theirs["enc_emotion"], ours.enc_emotion, atol=1e-6,
                                       err_msg=what)
            W = ours.weights(frames)
            assert theirs["W"].shape == W.shape, what
            np.testing.assert_allclose(theirs["W"], W, atol=1e-6, err_msg=what)
            spec = ours.spec
            assert (theirs["solver"], theirs["steps"], theirs["parameterisation"]) == \
                (spec.solver, spec.steps, spec.parameterisation), what
            for key in ("temperature", "beta_min", "beta_max", "k_max", "k_min"):
                assert theirs[key] == getattr(spec, key), (what, key)
            assert theirs["alpha"] == ours.alpha and theirs["guide"] == ours.guide, what


@pytest.mark.parametrize("change, needle", [
    ({"emotions": {"bored": 1.0}}, "unknown emotion 'bored'"),
    ({"emotions": {"happy": -1.0}}, "negative"),
    ({"emotions": {"happy": float("nan")}}, "finite"),
    ({"emotions": {"happy": 0.0}}, "zero"),
    ({"steps": 0}, "steps"),
    ({"solver": "em"}, "solver"),
    ({"preset": "intensity", "emotions": {"happy": 0.5, "sad": 0.5}}, "intensity"),
    ({"speakers": {"nobody": 1.0}}, "unknown speaker"),
    ({"keyframes": [(0.8, {"happy": 1.0}), (0.2, {"sad": 1.0})]}, "ascending"),
    ({"length_scale": 9.0}, "length_scale"),
    ({"k_max": 0.1, "k_min": 0.5}, "k_min"),
])
def test_bad_configs_are_refused_by_both(voices, change, needle):
    voice = voices["default"]
    c = dataclasses.replace(GenerationConfig(), **change)
    with pytest.raises(ValueError, match=needle):
        native.generation_plan(voice.backend.model, config_dict(c))
    with pytest.raises((ValueError, TypeError)):
        plan(voice, c).weights(10)


LINE = "The lanterns flickered as the ship came home."


@pytest.mark.parametrize("case", ["mix", "blend_speakers", "trajectory", "scaled"])
def test_synthesize_text_equals_synthesize_full(voices, needs_espeak, case):
    voice = voices["default"]
    c = {
        "mix": GenerationConfig(emotions={"happy": 0.6, "surprise": 0.4}, intensity=0.8,
                                seed=11),
        "blend_speakers": GenerationConfig(
            emotions={"sad": 1.0}, preset="blend", seed=12, length_scale=1.2, steps=6,
            speakers={voice.speakers[0]: 0.3, voice.speakers[-1]: 0.7}, temperature=0.7),
        "trajectory": GenerationConfig(keyframes=[(0.0, {"neutral": 1.0}),
                                                  (1.0, {"angry": 0.8, "sad": 0.2})], seed=13),
        "scaled": GenerationConfig(emotions={"angry": 1.0}, emotion_scale=1.3, intensity=1.2,
                                   solver="heun", seed=14),
    }[case]
    cpp = synthesize_text(voice, LINE, c)
    full = c.for_voice(voice)
    ref = voice.synthesize_full(
        LINE, full.emotions, intensity=full.intensity, speaker=full.speakers, steps=full.steps,
        preset=full.preset, solver=full.solver, temperature=full.temperature,
        length_scale=full.length_scale, seed=full.seed,
        trajectory=full.keyframes or None, emotion_scale=full.emotion_scale)
    np.testing.assert_array_equal(cpp["durations"], ref.durations)
    assert cpp["audio"].shape == ref.audio.shape
    assert snr_db(ref.mel, cpp["mel"]) >= MIN_SNR_DB
    assert snr_db(ref.audio, cpp["audio"]) >= MIN_SNR_DB


def test_the_voices_length_scale_is_every_pipelines_default(voices, needs_espeak):
    """``sampler.length_scale`` (1.3 on ``wide``) is the default of C++ text-to-audio, of the
    SDK's pipeline and of a character's lines; a line's own value overrides it."""
    voice = voices["wide"]
    ids = voice.text_to_ids(LINE)
    p = plan(voice, GenerationConfig(emotions={"happy": 1.0}))
    assert p.length_scale == 1.3
    _, slow = voice.encode_text(ids, p.enc_emotion, p.speaker, 1.3)
    _, plain = voice.encode_text(ids, p.enc_emotion, p.speaker, 1.0)
    assert slow.sum() > plain.sum() * 1.2
    np.testing.assert_array_equal(voice.encode_text(ids, p.enc_emotion, p.speaker)[1], slow)
    cpp = synthesize_text(voice, LINE, GenerationConfig(emotions={"happy": 1.0}, seed=3))
    np.testing.assert_array_equal(cpp["durations"], slow)
    full = voice.synthesize_full(LINE, {"happy": 1.0}, seed=3)
    np.testing.assert_array_equal(full.durations, slow)
    npc = emomix.Character(voice)
    assert npc.length_scale == 1.3
    assert emomix.Character(voice, length_scale=1.0).length_scale == 1.0
    assert synthesize_text(voice, LINE, GenerationConfig(emotions={"happy": 1.0}, seed=3,
                                                         length_scale=1.0))["mu"].shape[1] \
        == plain.sum()
