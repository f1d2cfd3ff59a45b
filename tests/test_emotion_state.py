"""EmotionState: weights, intensity, valence/arousal, transitions on a fake clock, save/load.

No voice is needed: a state can be built over a list of emotion names (coordinates then come
from emomix.emotions.DEFAULT_VAD).
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from emomix.emotions import DEFAULT_EMOTIONS, DEFAULT_VAD
from emomix.sampler import ALPHA_MAX
from emomix.state import CURVES, EmotionState, valence_arousal_weights


class FakeClock:
    def __init__(self, t: float = 100.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


@pytest.fixture()
def clock():
    return FakeClock()


@pytest.fixture()
def state(clock):
    return EmotionState(list(DEFAULT_EMOTIONS), clock=clock)


def test_starts_neutral_and_set_normalises(state):
    assert state.weights == {"neutral": 1.0} and state.intensity == 1.0
    state.set(happy=3, surprise=1)
    assert state.weights == pytest.approx({"happy": 0.75, "surprise": 0.25})
    state.set({"sad": 2.0, "angry": 0.0})
    assert state.weights == {"sad": 1.0}  # zero weights are dropped
    state.set("angry")
    assert state.weights == {"angry": 1.0}


@pytest.mark.parametrize("weights,message", [
    ({"joy": 1.0}, "unknown emotion 'joy'; this voice has: neutral, happy"),
    ({"happy": -0.5}, "negative"),
    ({"happy": float("nan")}, "finite"),
    ({"happy": float("inf")}, "finite"),
    ({"happy": 0.0, "sad": 0.0}, "all emotion weights are zero"),
    ({}, "no emotion weights"),
    ({"happy": "lots"}, "numbers"),
])
def test_bad_weights_are_rejected_with_what_to_do(state, weights, message):
    state.set(happy=1)
    with pytest.raises(ValueError, match=message):
        state.set(weights)
    assert state.weights == {"happy": 1.0}  # unchanged after a rejected call


def test_intensity_is_bounded_by_alpha_max(state):
    state.intensity = 0.0
    assert state.intensity == 0.0
    state.intensity = ALPHA_MAX
    assert state.intensity == ALPHA_MAX
    for bad in (ALPHA_MAX + 0.01, -0.1, float("nan"), float("inf")):
        with pytest.raises(ValueError, match=r"intensity .*\[0, 1.5\]"):
            state.intensity = bad
    assert state.intensity == ALPHA_MAX


def test_a_state_needs_neutral():
    with pytest.raises(ValueError, match="neutral"):
        EmotionState(["happy", "sad"])
    with pytest.raises(TypeError):
        EmotionState("happy")


def test_valence_arousal_maps_onto_nearby_emotions(state):
    coords = {n: DEFAULT_VAD[n][:2] for n in DEFAULT_EMOTIONS}
    # on an emotion's point: that emotion alone; the origin is neutral
    for name, (v, a) in coords.items():
        assert valence_arousal_weights(v, a, coords) == {name: 1.0}
    state.set_valence_arousal(0.0, 0.0)
    assert state.weights == {"neutral": 1.0}
    # near happy: happy dominates, its neighbours share the rest; at most 3 emotions are used
    w = valence_arousal_weights(0.6, 0.35, coords)
    assert sum(w.values()) == pytest.approx(1.0) and len(w) <= 3
    assert max(w, key=w.get) == "happy" and w["happy"] > 0.5
    # high arousal, negative valence is angry; low arousal, negative valence is sad
    assert max(valence_arousal_weights(-0.6, 0.7, coords).items(), key=lambda kv: kv[1])[0] \
        == "angry"
    assert max(valence_arousal_weights(-0.7, -0.4, coords).items(), key=lambda kv: kv[1])[0] \
        == "sad"
    state.set_valence_arousal(0.7, 0.5)
    v, a = state.valence_arousal
    assert v > 0.4 and a > 0.3


def test_valence_arousal_map_is_continuous(state):
    coords = {n: DEFAULT_VAD[n][:2] for n in DEFAULT_EMOTIONS}
    prev = None
    for x in np.linspace(-1, 1, 401):  # a sweep across the plane crosses neighbour changes
        w = valence_arousal_weights(float(x), 0.3 * float(x), coords)
        vec = np.array([w.get(n, 0.0) for n in DEFAULT_EMOTIONS])
        if prev is not None:
            assert np.abs(vec - prev).max() < 0.08
        prev = vec


@pytest.mark.parametrize("v,a", [(1.5, 0), (0, -2), (float("nan"), 0), (0, float("inf"))])
def test_valence_arousal_out_of_range(state, v, a):
    with pytest.raises(ValueError, match=r"\[-1, 1\]"):
        state.set_valence_arousal(v, a)


def test_linear_transition_on_a_fake_clock(state, clock):
    state.set(neutral=1)
    state.transition_to({"angry": 1.0}, seconds=2.0, curve="linear", intensity=1.5)
    assert state.transitioning
    assert state.weights == {"neutral": 1.0} and state.intensity == 1.0
    clock.t += 0.5
    assert state.weights == pytest.approx({"neutral": 0.75, "angry": 0.25})
    assert state.intensity == pytest.approx(1.125)
    clock.t += 1.0
    assert state.weights == pytest.approx({"neutral": 0.25, "angry": 0.75})
    clock.t += 0.5
    assert state.weights == {"angry": 1.0} and state.intensity == 1.5
    assert not state.transitioning


def test_curves(state, clock):
    u = np.linspace(0, 1, 11)
    for name, f in CURVES.items():
        y = np.asarray(f(u))
        assert y[0] == 0 and y[-1] == 1 and np.all(np.diff(y) >= 0), name
    state.set(neutral=1).transition_to("happy", seconds=1.0, curve="ease")
    clock.t += 0.25
    assert state.weights["happy"] == pytest.approx(0.25 * 0.25 * (3 - 0.5))  # smoothstep
    clock.t += 0.25
    assert state.weights["happy"] == pytest.approx(0.5)
    state.set(neutral=1).transition_to("happy", seconds=1.0, curve="step")
    clock.t += 0.99
    assert state.weights == {"neutral": 1.0}
    clock.t += 0.01
    assert state.weights == {"happy": 1.0}


def test_transition_rules(state, clock):
    state.set(neutral=1).transition_to("happy", 2.0)
    clock.t += 1.0
    state.transition_to("sad", 1.0)  # starts from the current half-happy value
    assert state.weights == pytest.approx({"neutral": 0.5, "happy": 0.5})
    clock.t += 0.5
    assert state.weights == pytest.approx({"neutral": 0.25, "happy": 0.25, "sad": 0.5})
    state.set(angry=1)  # set cancels a running transition
    assert not state.transitioning and state.weights == {"angry": 1.0}
    state.transition_to("sad", 0)  # zero seconds jumps
    assert state.weights == {"sad": 1.0}
    other = EmotionState(list(DEFAULT_EMOTIONS)).set(surprise=1)
    other.intensity = 0.5
    state.transition_to(other, 1.0)
    clock.t += 1.0
    assert state.weights == {"surprise": 1.0} and state.intensity == 0.5
    with pytest.raises(ValueError, match="unknown curve 'bounce'; choose one of linear, ease"):
        state.transition_to("sad", 1.0, curve="bounce")
    for bad in (-1.0, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="seconds"):
            state.transition_to("sad", bad)
    with pytest.raises(ValueError, match="unknown emotion"):
        state.transition_to("bored", 1.0)


def test_frames_samples_the_timeline_per_frame(state, clock):
    state.set(neutral=1).transition_to({"angry": 1.0}, seconds=2.0)
    times = clock.t + np.linspace(-1.0, 3.0, 9)  # before, during and after the transition
    names, w, alpha = state.frames(times)
    assert names == ["neutral", "angry"]
    assert w.shape == (2, 9) and alpha.shape == (9,)
    np.testing.assert_allclose(w.sum(axis=0), 1.0)
    angry = w[1]
    assert angry[0] == 0 and angry[-1] == 1 and np.all(np.diff(angry) >= 0)
    np.testing.assert_allclose(angry[2:7], [0.0, 0.25, 0.5, 0.75, 1.0])
    state.set(happy=0.6, surprise=0.4)
    names, w, alpha = state.frames(times)
    assert names == ["happy", "surprise"] and np.all(w[:, 0] == w[:, -1])


def test_references_are_conditions(state):
    state.add_reference("whisper", np.arange(4, dtype=np.float32))
    state.set(whisper=0.5, happy=0.5)
    assert state.conditions[-1] == "whisper"
    assert state.weights == {"whisper": 0.5, "happy": 0.5}
    with pytest.raises(ValueError, match="one of the voice's emotions"):
        state.add_reference("happy", np.zeros(4))
    with pytest.raises(ValueError, match="finite"):
        state.add_reference("bad", [np.nan])


def test_save_and_load_is_json_safe_and_resumes_transitions(state, clock):
    state.add_reference("ref", np.linspace(-1, 1, 8))
    state.set(happy=0.5, ref=0.5)
    state.intensity = 1.2
    state.transition_to({"sad": 1.0}, seconds=4.0, curve="ease", intensity=0.4)
    clock.t += 1.0
    saved = json.loads(json.dumps(state.to_dict()))
    assert saved["transition"]["elapsed"] == pytest.approx(1.0)
    later = FakeClock(5000.0)
    loaded = EmotionState.from_dict(saved, list(DEFAULT_EMOTIONS), clock=later)
    assert loaded.weights == pytest.approx(state.weights)
    assert loaded.intensity == pytest.approx(state.intensity)
    np.testing.assert_array_equal(loaded.references["ref"], state.references["ref"])
    later.t += 1.0
    clock.t += 1.0
    assert loaded.weights == pytest.approx(state.weights)
    later.t += 10
    assert loaded.weights == {"sad": 1.0} and loaded.intensity == pytest.approx(0.4)
    # a plain state round-trips too
    plain = EmotionState(list(DEFAULT_EMOTIONS)).set(angry=1)
    again = EmotionState.from_dict(plain.to_dict(), list(DEFAULT_EMOTIONS))
    assert again.weights == {"angry": 1.0} and again.to_dict()["transition"] is None


@pytest.mark.parametrize("data,message", [
    ({}, "not a saved emotion state"),
    ({"format": "emomix-emotion-state", "version": 99}, "version"),
    ({"format": "emomix-emotion-state", "version": 1, "weights": {"joy": 1}}, "unknown"),
    ({"format": "emomix-emotion-state", "version": 1, "weights": {"sad": 1},
      "transition": {"from": {}}}, "malformed"),
])
def test_bad_saved_states(data, message):
    with pytest.raises(ValueError, match=message):
        EmotionState.from_dict(data, list(DEFAULT_EMOTIONS))


def test_copy_is_independent(state):
    state.set(happy=1)
    other = state.copy()
    other.set(sad=1)
    assert state.weights == {"happy": 1.0} and other.weights == {"sad": 1.0}
    assert "happy=1.00" in repr(state) and not math.isnan(state.intensity)
