"""A voice's sampler settings reach every line pipeline: ``Voice.synthesize_full``,
``Character``, ``emomix bench`` and the native runtime.

- The ``emomix`` preset switches at the voice's ``voice.json`` ``sampler.k_max``/``k_min``.
- A ``score`` voice integrates with its model config's ``beta_min``/``beta_max`` in the numpy
  reference as in C++.

Non-default values (0.95/0.9, beta_max 10), so a pipeline that falls back on the defaults
(0.6/0.2, 0.05/20) fails. The voices have RANDOM weights, perturbed so that the emotion
conditions change the output; plumbing and numerics, not speech quality.
"""

from __future__ import annotations

import dataclasses
import json
import shutil

import numpy as np
import pytest

torch = pytest.importorskip("torch")
native = pytest.importorskip("emomix._native")

import emomix  # noqa: E402
from emomix.backends import create_backend  # noqa: E402
from emomix.bench import run_bench  # noqa: E402
from emomix.synthesis import Voice  # noqa: E402
from emomix.voice import load_bundle  # noqa: E402

MIX = {"happy": 0.7, "sad": 0.3}  # base: happy; mixed in: sad
#: tau = 1, 0.9, ..., 0.1: every phase of both windows, with steps exactly on k_max = 0.6,
#: k_min = 0.2 (1 - 8/10, not exactly 0.2) and k_min = 0.9
STEPS = 10
#: per step: B the base alone, M the mix, R the mixed-in emotion alone
PHASES = {"paper": "BBBBMMMMMR", "wide": "BMRRRRRRRR"}
WINDOWS = {"paper": (0.6, 0.2), "wide": (0.95, 0.9)}
ROWS = {"B": {"happy": 1.0, "sad": 0.0}, "M": MIX, "R": {"happy": 0.0, "sad": 1.0}}
LINE = "Ten gold coins, as promised, and not one more."
#: full-synthesis parity bounds between backends (as tests/test_native_backend.py): mel relative
#: L2 and audio SNR. Lines that differ must differ by more than backends may.
PARITY_MEL, PARITY_SNR_DB = 1e-3, 40.0


def rel_l2(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.linalg.norm(np.asarray(a, np.float64) - b) / max(np.linalg.norm(b), 1e-30))


def snr_db(ref: np.ndarray, x: np.ndarray) -> float:
    ref = ref.astype(np.float64)
    return float(10 * np.log10(np.sum(ref**2) / max(np.sum((ref - x) ** 2), 1e-30)))


def expected_weights(window: str, conditions: list[str]) -> np.ndarray:
    return np.array([[ROWS[p][n] for n in conditions] for p in PHASES[window]], np.float32)


@pytest.fixture(scope="module")
def voice_dirs(random_voice_dir, perturbed_voice, tmp_path_factory):
    """``{"paper": dir, "wide": dir}``: one voice, its voice.json window 0.6/0.2 or 0.95/0.9."""
    root = tmp_path_factory.mktemp("window")
    paper = perturbed_voice(random_voice_dir, root / "paper")
    assert load_bundle(paper).sampler["k_max"] == 0.6
    wide = shutil.copytree(paper, root / "wide")
    meta = json.loads((wide / "voice.json").read_text())
    meta["sampler"].update(k_max=0.95, k_min=0.9)  # what a user edits; voice.json is not hashed
    (wide / "voice.json").write_text(json.dumps(meta, indent=2))
    return {"paper": paper, "wide": wide}


@pytest.fixture(scope="module")
def lines(voice_dirs):
    """``{(backend, window): Synthesis}`` of one two-emotion line, same ids and seed."""
    out = {}
    for backend in ("torch", "native"):
        for window, d in voice_dirs.items():
            voice = emomix.load_voice(d, backend=backend, threads=1)
            assert (voice.sampler_spec().k_max, voice.sampler_spec().k_min) == WINDOWS[window]
            ids = voice.check_ids(np.arange(3, 40))
            out[backend, window] = voice.synthesize_full(ids, MIX, steps=STEPS, seed=3)
    return out


@pytest.mark.parametrize("backend", ["torch", "native"])
def test_the_voice_window_schedules_w_and_changes_the_audio(lines, backend):
    paper, wide = lines[backend, "paper"], lines[backend, "wide"]
    for window, r in (("paper", paper), ("wide", wide)):
        assert r.conditions == ["happy", "sad"]
        np.testing.assert_array_equal(r.weights, expected_weights(window, r.conditions))
    np.testing.assert_array_equal(wide.durations, paper.durations)  # the encoder is unchanged
    assert rel_l2(wide.mel, paper.mel) > 10 * PARITY_MEL
    assert snr_db(paper.audio, wide.audio) < PARITY_SNR_DB


def test_torch_and_native_agree_on_the_voice_window(lines):
    ref, out = lines["torch", "wide"], lines["native", "wide"]
    np.testing.assert_array_equal(out.weights, ref.weights)
    assert rel_l2(out.mel, ref.mel) <= PARITY_MEL
    assert snr_db(ref.audio, out.audio) >= PARITY_SNR_DB


def test_a_trajectory_is_scheduled_with_the_voice_window(voice_dirs):
    voice = emomix.load_voice(voice_dirs["wide"], backend="native", threads=1)
    ids = voice.check_ids(np.arange(3, 20))
    r = voice.synthesize_full(ids, steps=STEPS, seed=3, trajectory=[(0.0, MIX), (1.0, MIX)])
    assert r.weights.ndim == 3  # per frame: the same mix on every frame
    for f in range(r.weights.shape[2]):
        np.testing.assert_allclose(r.weights[:, :, f], expected_weights("wide", r.conditions),
                                   rtol=0, atol=1e-6)


@pytest.mark.usefixtures("needs_espeak")
def test_character_lines_use_the_voice_window(voice_dirs):
    said = {}
    for window, d in voice_dirs.items():
        voice = emomix.load_voice(d, backend="native", threads=1)
        npc = emomix.Character(voice, steps=STEPS)
        npc.emotion.set(**MIX)
        said[window] = line = npc.say_full(LINE, seed=5)
        assert line.blocks
        for block in line.blocks:
            np.testing.assert_array_equal(block.weights,
                                          expected_weights(window, block.conditions))
    assert rel_l2(said["wide"].mel, said["paper"].mel) > 10 * PARITY_MEL
    assert snr_db(said["paper"].audio, said["wide"].audio) < PARITY_SNR_DB


def test_bench_uses_the_voice_window(voice_dirs):
    # two emotions in equal parts: one condition in the B and R steps, two in the M steps
    active = {"B": 1, "M": 2, "R": 1}
    for window, d in voice_dirs.items():
        voice = emomix.load_voice(d, backend="native", threads=1)
        result = run_bench(voice, steps=STEPS, emotions=2, seconds=0.3, repeats=1)
        assert result["active_conditions"] == [active[p] for p in PHASES[window]]


@pytest.fixture(scope="module")
def score_voice_dir(perturbed_voice, tmp_path_factory):
    from emomix.train.init_voice import build_random_voice

    root = tmp_path_factory.mktemp("score")
    build_random_voice(root / "random", seed=0, parameterisation="score",
                       config_overrides={"beta_max": 10.0})
    return perturbed_voice(root / "random", root / "voice")


def test_score_voice_beta_range_is_the_same_in_python_and_cpp(score_voice_dir):
    bundle = load_bundle(score_voice_dir)
    # torch networks with the numpy sampler loop: the Python reference
    ref_voice = Voice(bundle, create_backend("torch", bundle, threads=1), sampler_impl="python")
    nat_voice = emomix.load_voice(score_voice_dir, backend="native", threads=1)
    spec = ref_voice.sampler_spec()
    assert (spec.parameterisation, spec.beta_min, spec.beta_max) == ("score", 0.05, 10.0)
    ids = ref_voice.check_ids(np.arange(3, 40))
    r = ref_voice.synthesize_full(ids, MIX, seed=5)

    # the whole line in C++ (the native runtime reads beta from the model config)
    emo = np.stack([ref_voice.emotion_table[n] for n in r.conditions])
    w = np.array([MIX[n] for n in r.conditions])
    spk = ref_voice.speaker_vector(None)
    spks = np.ascontiguousarray(np.broadcast_to(spk, (len(r.conditions), spk.size)))
    fused = nat_voice.backend.synthesize_ids(ids, (w @ emo).astype(np.float32), spk, r.weights,
                                             emo, spks, solver=spec.solver,
                                             temperature=spec.temperature, seed=5)
    np.testing.assert_array_equal(fused["durations"], r.durations)
    assert rel_l2(fused["mel"], r.mel) <= PARITY_MEL
    assert snr_db(r.audio, fused["audio"]) >= PARITY_SNR_DB
    # the native backend through the Python glue (C++ sampler loop, spec from the voice)
    n = nat_voice.synthesize_full(ids, MIX, seed=5)
    assert rel_l2(n.mel, r.mel) <= PARITY_MEL

    # beta matters here: the defaults' range (20) gives a different mel
    default = ref_voice.sample_mel(r.mu, emo, spk, r.weights,
                                   dataclasses.replace(spec, beta_max=20.0), seed=5,
                                   durations=r.durations)
    assert rel_l2(default, r.mel) > 0.1
