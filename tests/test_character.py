"""Characters: say/speak, streaming, per-frame emotion trajectories, speakers, reference clips,
threads and leaks — through the torch backend on a test-built voice with random weights
(plumbing only: the audio is noise)."""

from __future__ import annotations

import gc
import threading
import tracemalloc

import numpy as np
import pytest

import emomix
from emomix.character import StreamConfig, vocoder_context

pytestmark = pytest.mark.usefixtures("needs_espeak")

LONG = "Well, look who it is! Ten gold coins, as promised. I waited all day for you."
SMALL_BLOCKS = StreamConfig(first_block_frames=32, block_frames=48, context_frames=12,
                            crossfade_frames=4, vocoder_chunk_frames=16)


class FakeClock:
    def __init__(self, t: float = 10.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


class RecordingBackend:
    """Wraps a backend and logs every network call, so tests can order events."""

    def __init__(self, inner, log: list[str]):
        self.inner, self.log = inner, log

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def denoise(self, *a):
        self.log.append("denoise")
        return self.inner.denoise(*a)

    def vocode(self, mel):
        self.log.append("vocode")
        return self.inner.vocode(mel)


def snr_db(ref: np.ndarray, test: np.ndarray) -> float:
    noise = np.sum((ref.astype(np.float64) - test) ** 2)
    return float("inf") if noise == 0 else 10 * np.log10(np.sum(ref.astype(np.float64) ** 2)
                                                         / noise)


@pytest.fixture(scope="module")
def voice(random_voice_dir):
    return emomix.load_voice(random_voice_dir, backend="torch", threads=1)


def test_whole_line_character_equals_voice_synthesize(voice):
    npc = emomix.Character(voice, stream=StreamConfig(block_frames=None))
    npc.emotion.set(happy=0.6, surprise=0.4)
    npc.emotion.intensity = 0.7
    expected = voice.synthesize("Hello there.", {"happy": 0.6, "surprise": 0.4},
                                intensity=0.7, seed=5)
    np.testing.assert_array_equal(npc.say("Hello there.", seed=5), expected)


def test_character_lines_use_the_emotion_scale(voice):
    assert emomix.Character(voice).emotion_scale == voice.emotion_scale == 1.0
    npc = emomix.Character(voice, stream=StreamConfig(block_frames=None), emotion_scale=1.4)
    npc.emotion.set(angry=1.0)
    line = npc.say_full("Hello there.", seed=6)
    expected = voice.synthesize_full("Hello there.", {"angry": 1.0}, seed=6, emotion_scale=1.4)
    assert line.blocks[0].conditions == expected.conditions == ["angry", "neutral"]
    np.testing.assert_allclose(line.blocks[0].weights[-1], [1.4, -0.4], atol=1e-6)
    np.testing.assert_array_equal(line.audio, expected.audio)
    with pytest.raises(ValueError, match="emotion_scale"):
        emomix.Character(voice, emotion_scale=3.0)
    for bad in (0.5, float("inf"), None):
        with pytest.raises(ValueError, match="emotion_scale"):
            npc.emotion_scale = bad
    assert npc.emotion_scale == 1.4
    npc.emotion_scale = 1.0
    assert npc.say_full("Hello there.", seed=6).blocks[0].conditions == ["angry"]


def test_streamed_chunks_join_to_say_with_a_transition_running(voice):
    clock = FakeClock()
    npc = emomix.Character(voice, speaker="speaker1", stream=SMALL_BLOCKS, clock=clock)
    npc.emotion.set(sad=1).transition_to({"angry": 0.7, "happy": 0.3}, seconds=1.0,
                                         curve="ease")
    line = npc.say_full(LONG, seed=3)
    assert len(line.blocks) >= 3
    chunks = list(npc.speak(LONG, seed=3))
    assert len(chunks) > 3 and all(c.dtype == np.float32 and c.ndim == 1 for c in chunks)
    streamed = np.concatenate(chunks)
    assert streamed.shape == line.audio.shape == (line.mel.shape[1] * 256,)
    assert snr_db(line.audio, streamed) >= 30.0
    # the same with the default stream settings
    npc.stream = StreamConfig()
    npc._voc_ctx = vocoder_context(voice)
    assert snr_db(npc.say(LONG, seed=4), np.concatenate(list(npc.speak(LONG, seed=4)))) >= 30


def test_first_chunk_arrives_before_the_line_is_made(voice):
    log: list[str] = []
    v = emomix.Voice(voice.bundle, RecordingBackend(voice.backend, log))
    npc = emomix.Character(v, stream=SMALL_BLOCKS)
    speech = npc.speak(LONG, seed=1)
    assert log == []  # pull-based: nothing runs until the first chunk is asked for
    next(speech)
    at_first_chunk = log.count("denoise")
    for _ in speech:
        pass
    assert 0 < at_first_chunk < log.count("denoise") / 2
    assert log.index("vocode") < len(log) - log[::-1].index("denoise") - 1  # audio before last step


def test_per_frame_weights_reach_the_sampler(voice, monkeypatch):
    seen = []
    real = emomix.synthesis.run_sampler

    def spy(denoise, mu, W, *a, **kw):
        seen.append(np.array(W))
        return real(denoise, mu, W, *a, **kw)

    monkeypatch.setattr(emomix.synthesis, "run_sampler", spy)
    clock = FakeClock()
    npc = emomix.Character(voice, stream=StreamConfig(block_frames=None), clock=clock,
                           preset="blend")
    npc.emotion.set(neutral=1).transition_to("angry", seconds=1.5)
    line = npc.say_full(LONG, seed=2)
    (W,) = seen
    assert W.ndim == 3 and W.shape[2] == line.mel.shape[1]
    names = line.blocks[0].conditions
    angry = W[0, names.index("angry")]
    assert angry[0] < 0.05 and angry[-1] == 1.0 and np.all(np.diff(angry) >= 0)
    np.testing.assert_allclose(W.sum(axis=1), 1.0, atol=1e-5)
    # the line differs from one spoken with a constant emotion
    calm = emomix.Character(voice, stream=StreamConfig(block_frames=None)).say(LONG, seed=2)
    assert not np.allclose(calm, line.audio)


def test_an_emotion_change_mid_line_shapes_the_frames_not_yet_made(voice):
    conditions: list[np.ndarray] = []

    class Spy(RecordingBackend):
        def denoise(self, x, t, mu, emotions, speakers):
            conditions.append(np.array(emotions))
            return self.inner.denoise(x, t, mu, emotions, speakers)

    npc = emomix.Character(emomix.Voice(voice.bundle, Spy(voice.backend, [])),
                           stream=SMALL_BLOCKS)
    npc.emotion.set(neutral=1)
    speech = npc.speak(LONG, seed=9)
    next(speech)  # the first block is made, calm
    made_calm = len(conditions)
    npc.emotion.set(angry=1)  # lands while the line is being made
    rest = list(speech)
    assert rest and len(conditions) > made_calm
    neutral, angry = voice.emotion_table["neutral"], voice.emotion_table["angry"]
    assert all(np.array_equal(c, neutral[None]) for c in conditions[:made_calm])
    assert all(np.array_equal(c, angry[None]) for c in conditions[made_calm:])


def test_speaker_blends(voice):
    table = voice.backend.speaker_table()
    npc = emomix.Character(voice, speaker={"speaker0": 1, "speaker1": 3})
    assert npc.speaker == {"speaker0": 0.25, "speaker1": 0.75}
    np.testing.assert_allclose(npc._speaker_vector, 0.25 * table[0] + 0.75 * table[1],
                               rtol=1e-6, atol=1e-6)
    blend = npc.say("Hi.", seed=1)
    npc.speaker = "speaker1"
    other = npc.say("Hi.", seed=1)  # another speaker: other durations or other audio
    assert other.shape != blend.shape or not np.allclose(blend, other)
    for bad, msg in (({"nobody": 1}, "unknown speaker"), ({"speaker0": -1}, ">= 0"),
                     ({"speaker0": 0}, "zero"), ("ghost", "unknown speaker")):
        with pytest.raises(ValueError, match=msg):
            npc.speaker = bad
    a = voice.synthesize("Hi.", speaker={"speaker0": 0.5, "speaker1": 0.5}, seed=1)
    b = voice.synthesize("Hi.", speaker=(table[0] + table[1]) / 2, seed=1)
    np.testing.assert_allclose(a, b, atol=1e-5)


def test_voice_trajectory_keyframes(voice):
    r = voice.synthesize_full("Hello there.", trajectory=[(0.0, {"sad": 1}), (1.0, {"happy": 1})],
                              preset="blend", seed=1)
    assert r.weights.ndim == 3 and r.conditions == ["happy", "sad"]
    assert r.weights[0, 0, 0] < r.weights[0, 0, -1]
    with pytest.raises(ValueError, match="ascending"):
        voice.synthesize("Hi.", trajectory=[(0.5, {"sad": 1}), (0.1, {"happy": 1})])
    with pytest.raises(ValueError, match=r"outside \[0, 1\]"):
        voice.synthesize("Hi.", trajectory=[(2.0, {"sad": 1})])


def test_valence_arousal_uses_the_voice_coordinates(voice):
    npc = emomix.Character(voice)
    assert npc.emotion.coordinates["happy"] == pytest.approx(voice.bundle.emotions["happy"].vad[:2])
    npc.emotion.set_valence_arousal(*voice.bundle.emotions["angry"].vad[:2])
    assert npc.emotion.weights == {"angry": 1.0}
    assert npc.say("Hi.", seed=1).size > 0


def test_reference_clip_becomes_an_emotion_condition(voice, tmp_path):
    clip = voice.synthesize("This is a reference clip for the recogniser.", {"sad": 1}, seed=3)
    path = emomix.audio.write_wav(tmp_path / "ref.wav", np.clip(clip, -1, 1), 22050)
    state = emomix.EmotionState.from_reference(path, voice)
    assert state.weights == {"reference": 1.0}
    emb = state.references["reference"]
    assert emb.shape == (voice.bundle.emotion_dim,) and np.all(np.isfinite(emb))
    npc = emomix.Character(voice, emotion=state)
    a = npc.say_full("Hi.", seed=1)
    assert a.blocks[0].conditions == ["reference"]
    state.set(reference=0.5, happy=0.5)
    b = npc.say_full("Hi.", seed=1)
    # the sampler got both conditions, each with half the weight at the mixing steps (this
    # untrained voice's denoiser ignores its condition, so the audio itself cannot tell)
    info = b.blocks[0]
    assert sorted(info.conditions) == ["happy", "reference"]
    assert any(np.allclose(row, 0.5) for row in info.weights)
    with pytest.raises(ValueError, match="16000 Hz but this voice works at 22050 Hz"):
        voice.embed_reference(clip, 16000)
    emomix.audio.write_wav(tmp_path / "r16.wav", np.zeros(16000, np.float32), 16000)
    with pytest.raises(ValueError, match="resample"):
        emomix.EmotionState.from_reference(tmp_path / "r16.wav", voice)
    with pytest.raises(ValueError, match="at least"):
        voice.embed_reference(clip[:1000], 22050)
    with pytest.raises(ValueError, match="sample_rate"):
        voice.embed_reference(clip)


def test_characters_on_threads_match_characters_alone(voice):
    setups = [("speaker0", {"happy": 1.0}, 1), ("speaker1", {"sad": 0.5, "angry": 0.5}, 2),
              ({"speaker0": 0.5, "speaker1": 0.5}, {"surprise": 1.0}, 3)]

    def make(i):
        spk, mix, _ = setups[i]
        npc = emomix.Character(voice, speaker=spk, stream=SMALL_BLOCKS)
        npc.emotion.set(mix)
        return npc

    alone = [make(i).say(LONG, seed=setups[i][2]) for i in range(3)]
    results: dict[int, np.ndarray] = {}
    errors: list[BaseException] = []
    barrier = threading.Barrier(3)

    def run(i):
        try:
            npc = make(i)
            barrier.wait()
            results[i] = np.concatenate(list(npc.speak(LONG, seed=setups[i][2])))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    for i in range(3):
        assert snr_db(alone[i], results[i]) >= 60.0


def test_many_lines_do_not_leak(voice):
    npc = emomix.Character(voice, stream=SMALL_BLOCKS)
    for _ in range(3):
        npc.say("Hi there.", seed=1)
        list(npc.speak("Hi there.", seed=1))
    gc.collect()
    objects = len(gc.get_objects())
    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    for i in range(15):
        npc.emotion.set(happy=1 + i % 2, sad=1)
        npc.say("Hi there.", seed=i)
        list(npc.speak("Hi there.", seed=i))
    gc.collect()
    growth = sum(s.size_diff for s in tracemalloc.take_snapshot().compare_to(before, "filename"))
    tracemalloc.stop()
    assert growth < 1_000_000
    assert len(gc.get_objects()) - objects < 2000


def test_bad_inputs(voice):
    with pytest.raises(TypeError, match="emomix.Voice"):
        emomix.Character("voice")
    with pytest.raises(ValueError, match="crossfade_frames must be <= context_frames"):
        StreamConfig(context_frames=2, crossfade_frames=4)
    with pytest.raises(ValueError, match="first_block_frames"):
        StreamConfig(first_block_frames=0)
    with pytest.raises(ValueError, match="preset"):
        emomix.Character(voice, preset="wild")
    with pytest.raises(ValueError, match="length_scale"):
        emomix.Character(voice, length_scale=9)
    npc = emomix.Character(voice)
    with pytest.raises(TypeError, match="EmotionState"):
        npc.emotion = {"happy": 1}
    with pytest.raises(ValueError, match="does not have"):
        npc.emotion = emomix.EmotionState(["neutral", "bored"])
    with pytest.raises(ValueError, match="seed"):
        npc.speak("Hi.", seed=-1)
    with pytest.raises(ValueError, match="split_sentences"):  # raised by speak, not later
        npc.speak("word " * 1500)
