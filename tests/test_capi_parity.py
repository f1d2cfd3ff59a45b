"""The C ABI (libemomix.so through emomix.capi) against the Python SDK on the native backend.

The same text, settings and seed must give the same audio (SNR >= 60 dB, printed per case) and
the same emotion state, on non-default values: a concept written in two languages is held equal
here. The Python side is ``emomix.load_voice(..., backend="native")``: its pipeline
(``Voice.synthesize_full``, ``Character``, ``EmotionState``) is Python code calling the C++
networks; the C side is the library's own line pipeline.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("cffi", reason="emomix.capi needs cffi: pip install 'emomix[capi]'")

from emomix import capi  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
VOICE_DIR = REPO / "voices" / "default"
TEXT = "Ten gold coins, as promised."
LONG_TEXT = "Ten gold coins, as promised, and one more for the road."
MIN_SNR_DB = 60.0


def snr_db(reference: np.ndarray, other: np.ndarray) -> float:
    """``10 log10(|reference|^2 / |reference - other|^2)``; inf when equal."""
    assert reference.shape == other.shape, (reference.shape, other.shape)
    ref = reference.astype(np.float64)
    noise = float(np.sum((ref - other.astype(np.float64)) ** 2))
    return math.inf if noise == 0 else 10 * math.log10(float(np.sum(ref ** 2)) / noise)


def assert_same_audio(case: str, python: np.ndarray, c: np.ndarray) -> None:
    assert python.size == c.size, (
        f"{case}: C gave {c.size} samples, Python {python.size}: the line's phonemes differ "
        "(if test_both_runtimes_phonemise_in_one_process fails too, that is why)")
    db = snr_db(python, c)
    print(f"{case}: SNR {db:.1f} dB over {python.size} samples")
    assert db >= MIN_SNR_DB, f"{case}: SNR {db:.1f} dB < {MIN_SNR_DB} dB"


class FakeClock:
    """Seconds that move only when told: the Python twin of emx_character_advance."""

    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture(scope="module")
def c_voice(capi_lib):
    with capi.Voice.load(VOICE_DIR) as voice:
        yield voice


@pytest.fixture(scope="module")
def py_voice():
    pytest.importorskip("emomix._native", reason="the native backend is not built")
    import emomix

    return emomix.load_voice(VOICE_DIR, backend="native")


@pytest.fixture(scope="module")
def py_voice_window():
    """The default voice with the emomix preset's window moved to (0.7, 0.3): how the Python
    SDK expresses the k_max/k_min that a C config sets per line."""
    pytest.importorskip("emomix._native", reason="the native backend is not built")
    import emomix

    voice = emomix.load_voice(VOICE_DIR, backend="native")
    voice.sampler_defaults = {**voice.sampler_defaults, "k_max": 0.7, "k_min": 0.3}
    return voice


# -- (a) emx_voice_synthesize vs Voice.synthesize_full ----------------------------------------

def test_voice_synthesize_defaults(c_voice, py_voice):
    c = c_voice.synthesize(TEXT, {"seed": 3})
    python = py_voice.synthesize_full(TEXT, seed=3).audio
    assert_same_audio("defaults", python, c)


def test_voice_synthesize_non_default_config(c_voice, py_voice_window):
    speaker = c_voice.default_speaker
    config = c_voice.generation_config(
        emotions={"happy": 0.6, "surprise": 0.4}, intensity=1.3, steps=6, k_max=0.7, k_min=0.3,
        length_scale=1.1, speakers=speaker, temperature=0.6, emotion_scale=1.2, seed=11)
    c = c_voice.synthesize(TEXT, config, threads=2)
    python = py_voice_window.synthesize_full(
        TEXT, {"happy": 0.6, "surprise": 0.4}, intensity=1.3, steps=6, length_scale=1.1,
        speaker=speaker, temperature=0.6, emotion_scale=1.2, seed=11).audio
    assert_same_audio("2-emotion mix, intensity 1.3, steps 6, window 0.7/0.3, length 1.1",
                      python, c)


def test_voice_synthesize_heun_blend_trajectory(c_voice, py_voice):
    keys = [(0.0, {"neutral": 1.0}), (0.6, {"angry": 0.5, "sad": 0.5}), (1.0, {"sad": 1.0})]
    config = c_voice.generation_config(keyframes=keys, solver="heun", preset="blend", steps=3,
                                       intensity=0.8, seed=21)
    c = c_voice.synthesize(TEXT, config)
    python = py_voice.synthesize_full(TEXT, trajectory=keys, solver="heun", preset="blend",
                                      steps=3, intensity=0.8, seed=21).audio
    assert_same_audio("trajectory, heun, blend, intensity 0.8", python, c)


# -- (b) a character's line vs emomix.Character ---------------------------------------------

def _characters(c_voice, py_voice, **python_options):
    import emomix

    clock = FakeClock()
    py = emomix.Character(py_voice, speaker=py_voice.default_speaker, clock=clock,
                          **python_options)
    c = capi.Character.create(c_voice, speakers=c_voice.default_speaker)
    return py, c, clock


def test_character_line_constant_emotion(c_voice, py_voice):
    py, c, _ = _characters(c_voice, py_voice, steps=3, length_scale=1.1, emotion_scale=1.2)
    py.emotion.set(happy=0.6, surprise=0.4).set_intensity(1.3)
    c.set_mix({"happy": 0.6, "surprise": 0.4}).set_intensity(1.3)
    config = {"steps": 3, "length_scale": 1.1, "emotion_scale": 1.2, "seed": 4}
    assert_same_audio("character, constant mix", py.say(LONG_TEXT, seed=4),
                      c.say(LONG_TEXT, config))


def test_character_line_with_a_transition_running(c_voice, py_voice):
    py, c, clock = _characters(c_voice, py_voice, steps=3)
    py.emotion.set("happy").set_intensity(0.9)
    py.emotion.transition_to({"angry": 1.0}, 1.0, "ease", intensity=1.2)
    c.set_emotion("happy", 0.9).transition_to("angry", 1.0, "ease", intensity=1.2)
    clock.t = 0.3
    c.advance(0.3)
    config = {"steps": 3, "seed": 8}
    python = py.say(LONG_TEXT, seed=8)
    assert python.size / py_voice.sample_rate > 1.5, "the transition must end inside the line"
    with c.say_begin(LONG_TEXT, config) as line:  # read as an engine does
        chunks = []
        while (chunk := line.read(441)) is not None:
            chunks.append(chunk)
    assert_same_audio("character, transition during the line", python, np.concatenate(chunks))


# -- (c) EmotionState vs emx_character_mix ----------------------------------------------------

#: (operation, arguments); "check" compares the states
OPERATIONS = [
    ("check",),
    ("set", {"happy": 3.0, "sad": 1.0}), ("check",),
    ("intensity", 0.7), ("advance", 0.5), ("check",),
    ("transition", {"angry": 1.0}, 2.0, "ease", 1.2),
    ("check",), ("advance", 0.4), ("check",), ("advance", 0.7), ("check",),
    ("transition", {"surprise": 1.0, "neutral": 1.0}, 1.0, "ease_out", None),  # from mid-way
    ("advance", 0.25), ("check",), ("intensity", 1.5), ("check",), ("advance", 1.0), ("check",),
    ("valence_arousal", 0.3, 0.5), ("check",),
    ("transition", {"happy": 1.0}, 0.8, "step", 0.5), ("advance", 0.4), ("check",),
    ("advance", 0.4), ("check",), ("advance", 0.1), ("check",),
    ("valence_arousal", -0.5, -0.2), ("check",),
    ("valence_arousal", 0.4, 0.67), ("check",),  # on surprise's coordinates
    ("emotion", "sad", 0.8), ("check",),
    ("transition", {"neutral": 1.0, "angry": 2.0}, 1.5, "ease_in", 0.0),
    ("advance", 0.3), ("check",), ("advance", 0.9), ("check",),
    ("transition", {"happy": 1.0}, 2.0, "linear", None), ("advance", 1.0),
    ("valence_arousal", 0.0, 0.0), ("check",),  # cancels the transition
    ("transition", {"sad": 1.0}, 0.0, "linear", 1.0), ("check",),  # 0 s jumps
    ("advance", 3.0), ("check",),
]


def test_emotion_state_matches_the_c_character(c_voice, py_voice):
    from emomix import EmotionState

    clock = FakeClock()
    state = EmotionState(py_voice, clock=clock)
    npc = capi.Character.create(c_voice)
    checks = 0
    for op, *args in OPERATIONS:
        if op == "set":
            state.set(args[0])
            npc.set_mix(args[0])
        elif op == "intensity":
            state.set_intensity(args[0])
            npc.set_intensity(args[0])
        elif op == "advance":
            clock.t += args[0]
            npc.advance(args[0])
        elif op == "transition":
            target, seconds, curve, intensity = args
            state.transition_to(target, seconds, curve, intensity=intensity)
            npc.transition_to(target, seconds, curve, intensity)
        elif op == "valence_arousal":
            state.set_valence_arousal(*args)
            npc.set_valence_arousal(*args)
        elif op == "emotion":
            state.set(args[0]).set_intensity(args[1])
            npc.set_emotion(*args)
        else:
            checks += 1
            where = f"check {checks} at t={clock.t}"
            weights, intensity = state.value_at(clock.t)
            c_weights, c_intensity = npc.mix()
            assert npc.time == pytest.approx(clock.t, abs=1e-12), where
            names = set(weights) | set(c_weights)
            assert {n: c_weights.get(n, 0.0) for n in names} == pytest.approx(
                {n: weights.get(n, 0.0) for n in names}, abs=1e-9, rel=0), where
            assert c_intensity == pytest.approx(intensity, abs=1e-9, rel=0), where
            assert npc.transitioning == state.transitioning, where
    assert checks == sum(1 for op in OPERATIONS if op[0] == "check")


def test_both_runtimes_phonemise_in_one_process(c_voice, py_voice):
    """libemomix.so and emomix._native each carry the text frontend and both link the one
    libespeak-ng of the process, whose callbacks and voice are process-wide: a host that loads
    both (this file, an editor plugin beside the Python SDK) must get whole lines from each."""
    c_voice.synthesize("The gate is open.", {"steps": 1})  # both frontends started,
    py_voice.text_to_ids("The gate is closed.")  # in either order
    for text in ("Where did you find it, stranger?", "Bring me three red apples."):
        ids = py_voice.text_to_ids(text)
        python = py_voice.synthesize_full(ids, steps=1, seed=1).audio
        c = c_voice.synthesize(text, {"steps": 1, "seed": 1})
        assert c.size == python.size, f"{text!r}: C {c.size} samples, Python {python.size}"
        assert_same_audio(f"fresh text {text!r}", python, c)
        assert py_voice.text_to_ids(text + " Yes.").size > ids.size  # Python still phonemises
