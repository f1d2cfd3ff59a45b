"""``Character``: a voice, a speaker (or a blend of speakers) and an emotion state that speaks.

    npc = emomix.Character(voice, speaker="speaker0")
    npc.emotion.set(happy=0.6, surprise=0.4)
    audio = npc.say("Ten gold coins, as promised.", seed=7)        # float32 array
    for chunk in npc.speak("And one more thing...", seed=7):        # streamed float32 chunks
        engine.queue(chunk)

How a line is made (see docs/sdk.md, "Streaming"):

1. The text is encoded once, conditioned on the emotion at the start of the line (durations).
2. The mel is sampled in **blocks** of frames (a short first block for latency, longer ones
   after). Each block is sampled over its frames plus ``context_frames`` on each side, with the
   line's seeded noise sliced to those frames, and neighbouring blocks are crossfaded over
   ``crossfade_frames``. The emotion state is read *when each block is made*, at the time each
   frame will be heard (line start + frame position), giving per-frame weights
   ``W (steps, M, frames)``: a transition running during the line, or a change that lands
   while it is being made, shapes the frames not yet produced.
3. The committed mel goes into the voice's streaming vocoder (:meth:`Voice.vocoder_stream`),
   which returns audio as soon as the mel determines it: the native backend computes every
   frame once; other backends vocode chunks with ``vocoder_context_frames`` of real mel on each
   side (trimmed). Either way streamed audio equals vocoding the whole mel at once.

``say`` runs the same blocks and vocodes the whole mel in one call, so ``say`` and the joined
chunks of ``speak`` agree (same seed, same emotion timeline) up to float rounding.

Thread safety: a ``Character`` keeps no synthesis state between calls (each line's state lives
in its own call/iterator), so several characters on one shared :class:`~emomix.Voice` may speak
from different threads; the backend serialises network calls. Changing ``npc.emotion`` from
another thread while a line is made is the intended use.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import sampler as ref
from .generation import GenerationConfig, line_config, plan
from .state import EmotionState
from .synthesis import Voice, check_seed, clamp_intensity, schedule_weights, with_neutral
from .vocoder_stream import vocoder_context as _vocoder_context

__all__ = ["BlockInfo", "Character", "Line", "Speech", "StreamConfig", "vocoder_context"]


@dataclass(frozen=True)
class StreamConfig:
    """How a line is cut into mel blocks and vocoder chunks (all sizes in mel frames).

    ``block_frames=None`` samples the whole line as one block (the mel then equals
    :meth:`Voice.synthesize`'s for a constant emotion; the first audio waits for all of it).
    ``vocoder_context_frames`` (backends without a native streaming vocoder only: the native
    one knows its exact reach) is the mel each vocoder chunk reads on each side; ``None``
    derives it from the voice's vocoder (:func:`vocoder_context`). The first audio chunk has
    ``vocoder_chunk_frames`` frames; later ones double up to four times that (fewer vocoder
    calls once playback has started).
    """

    first_block_frames: int = 64
    block_frames: int | None = 160
    context_frames: int = 24
    crossfade_frames: int = 8
    vocoder_chunk_frames: int = 32
    vocoder_context_frames: int | None = None

    def __post_init__(self) -> None:
        def positive(name: str, v: int | None, zero_ok: bool = False) -> None:
            if v is None:
                return
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < (0 if zero_ok
                                                                                   else 1):
                raise ValueError(f"StreamConfig.{name} must be an integer >= "
                                 f"{0 if zero_ok else 1}, got {v!r}")

        positive("first_block_frames", self.first_block_frames)
        positive("block_frames", self.block_frames)
        positive("context_frames", self.context_frames, zero_ok=True)
        positive("crossfade_frames", self.crossfade_frames, zero_ok=True)
        positive("vocoder_chunk_frames", self.vocoder_chunk_frames)
        positive("vocoder_context_frames", self.vocoder_context_frames, zero_ok=True)
        if self.crossfade_frames > self.context_frames:
            raise ValueError("StreamConfig.crossfade_frames must be <= context_frames (the "
                             "crossfade uses frames sampled as context)")
        if self.block_frames is not None and self.crossfade_frames >= min(
                self.first_block_frames, self.block_frames):
            raise ValueError("StreamConfig.crossfade_frames must be smaller than every block")


def vocoder_context(voice: Voice) -> int:
    """Mel frames on each side that one vocoder output frame depends on, from the voice's
    vocoder config (convolution receptive field + inverse-STFT overlap); 32 when unknown."""
    return _vocoder_context(voice.bundle.model_config, voice.bundle.audio)


@dataclass
class BlockInfo:
    """One sampled mel block: frames ``[start, end)`` of the line, the conditions used and the
    weights ``W (steps, M)`` or ``(steps, M, frames sampled)`` passed to the sampler."""

    start: int
    end: int
    sampled: tuple[int, int]
    conditions: list[str]
    weights: np.ndarray


@dataclass
class Line:
    """Everything one :meth:`Character.say_full` call produced."""

    audio: np.ndarray  # (samples,) float32
    sample_rate: int
    mel: np.ndarray  # (n_mels, frames)
    durations: np.ndarray  # (phonemes,)
    seed: int
    blocks: list[BlockInfo] = field(default_factory=list)


class Speech(Iterator[np.ndarray]):
    """The iterator :meth:`Character.speak` returns: float32 audio chunks of one line.

    Work happens as it is iterated (pull-based: the consumer's thread drives synthesis).
    ``sample_rate`` and ``seed`` are known at once; ``close()`` abandons the line.
    """

    def __init__(self, gen: Iterator[np.ndarray], sample_rate: int, seed: int) -> None:
        self._gen = gen
        self.sample_rate = sample_rate
        self.seed = seed

    def __iter__(self) -> Speech:
        return self

    def __next__(self) -> np.ndarray:
        return next(self._gen)

    def close(self) -> None:
        close = getattr(self._gen, "close", None)
        if close is not None:
            close()


class Character:
    """A voice + a speaker (or blend) + an :class:`EmotionState`; ``say`` and ``speak`` lines.

    Args:
        voice: a loaded :class:`~emomix.Voice` (may be shared by many characters).
        speaker: a speaker name, a blend ``{"speaker0": 0.7, "speaker1": 0.3}`` (the speaker
            embedding is the weighted mix of the voice's speaker table), or ``None`` (the first).
        emotion: an :class:`EmotionState` to use (default: a new neutral one on ``clock``).
        stream: block and chunk sizes (:class:`StreamConfig`).
        config: the sampler settings of its lines, an :class:`emomix.GenerationConfig` (steps,
            solver, preset ``emomix`` or ``blend``, temperature, the emomix window, emotion
            scale, length scale; default: the voice's). Its emotion and speaker fields are not
            used: the character's emotion state and speaker decide. ``settings`` replace fields
            by name (``steps=6, length_scale=1.1``).
        clock: seconds, monotonic; the time base of emotion transitions (default: the clock
            of ``npc.emotion``, which is :func:`time.monotonic` unless given).
    """

    def __init__(self, voice: Voice, speaker: str | Mapping[str, float] | None = None, *,
                 emotion: EmotionState | None = None, stream: StreamConfig | None = None,
                 config: GenerationConfig | None = None,
                 clock: Callable[[], float] | None = None, **settings: Any) -> None:
        if not isinstance(voice, Voice):
            raise TypeError(f"Character needs an emomix.Voice (emomix.load_voice(...)), got "
                            f"{type(voice).__name__}")
        self.voice = voice
        self.speaker = speaker
        self.emotion = EmotionState(voice, clock=clock) if emotion is None else emotion
        self._clock_override = clock
        self.stream = stream or StreamConfig()
        cfg = line_config(config, **settings).for_voice(voice)
        self.spec = plan(voice, cfg).spec  # validates every field
        self.preset = voice.check_preset(cfg.preset)
        self._emotion_scale = voice.check_emotion_scale(cfg.emotion_scale)
        self.length_scale = float(cfg.length_scale)
        self.config = cfg
        ctx = self.stream.vocoder_context_frames
        self._voc_ctx = vocoder_context(voice) if ctx is None else int(ctx)
        self._hop = int(voice.bundle.audio["hop_length"])

    @property
    def emotion_scale(self) -> float:
        """The denoiser's extrapolation from neutral for this character's lines (default: the
        voice's; ``docs/sampler.md``, "Emotion scale"). Assign a value in ``[1, 1.5]``."""
        return self._emotion_scale

    @emotion_scale.setter
    def emotion_scale(self, value: float) -> None:
        if value is None:
            raise ValueError("emotion_scale must be a number in [1, 1.5]; "
                             "use voice.emotion_scale for the voice's own")
        self._emotion_scale = self.voice.check_emotion_scale(value)

    @property
    def emotion(self) -> EmotionState:
        """The character's :class:`EmotionState`; assign another to swap it (e.g. a loaded
        one). Lines already being made keep reading the state they started with."""
        return self._emotion

    @emotion.setter
    def emotion(self, state: EmotionState) -> None:
        if not isinstance(state, EmotionState):
            raise TypeError("emotion must be an emomix.EmotionState (e.g. "
                            "emomix.EmotionState(voice) or EmotionState.from_dict(data, voice))")
        unknown = [n for n in state.emotions if n not in self.voice.emotion_table]
        if unknown:
            raise ValueError(f"the emotion state has emotions {unknown} that voice "
                             f"{self.voice.bundle.name!r} does not have; build it for this voice")
        self._emotion = state

    # -- speaker ------------------------------------------------------------------------------
    @property
    def speaker(self) -> str | dict[str, float] | None:
        """The speaker name, blend (normalised) or ``None``; assigning validates it."""
        return self._speaker

    @speaker.setter
    def speaker(self, value: str | Mapping[str, float] | None) -> None:
        if isinstance(value, Mapping):
            value = self.voice.check_speakers(value)
        vector = self.voice.speaker_vector(value)
        self._speaker, self._speaker_vector = value, vector

    @property
    def sample_rate(self) -> int:
        return self.voice.sample_rate

    def __repr__(self) -> str:
        return f"Character(voice={self.voice.bundle.name!r}, speaker={self._speaker!r}, " \
               f"emotion={self.emotion!r})"

    # -- speaking -----------------------------------------------------------------------------
    def say(self, text: str, seed: int | None = None) -> np.ndarray:
        """Speak a whole line: float32 audio ``(samples,)`` at :attr:`sample_rate`."""
        return self.say_full(text, seed).audio

    def say_full(self, text: str, seed: int | None = None) -> Line:
        """:meth:`say` with the mel, durations, seed and each block's weights."""
        line = _LineRenderer(self, text, check_seed(seed))
        for _ in line.blocks():
            pass
        audio = self.voice.vocode(line.mel)
        return Line(audio=audio, sample_rate=self.sample_rate, mel=line.mel,
                    durations=line.durations, seed=line.seed, blocks=line.info)

    def speak(self, text: str, seed: int | None = None) -> Speech:
        """Stream a line: an iterator of float32 chunks whose concatenation is :meth:`say`'s
        audio for the same seed. The first chunk comes after the first mel block, long before
        the line is finished. Text errors are raised here, at once."""
        seed = check_seed(seed)
        self.voice.text_to_ids(text)  # fail early on bad text, before iteration starts
        return Speech(self._stream(text, seed), self.sample_rate, seed)

    def _stream(self, text: str, seed: int) -> Iterator[np.ndarray]:
        line = _LineRenderer(self, text, seed)
        chunk = self.stream.vocoder_chunk_frames
        vocoder = self.voice.vocoder_stream(self._voc_ctx)
        for committed in line.blocks():
            vocoder.push(line.mel[:, vocoder.pushed:committed])
            if committed == line.frames:
                vocoder.finish()
            while (audio := vocoder.pull(chunk)).size:
                chunk = min(2 * chunk, 4 * self.stream.vocoder_chunk_frames)  # fewer calls later
                yield audio


class _LineRenderer:
    """The mel of one line, made block by block (all state is local to one line)."""

    def __init__(self, npc: Character, text: str, seed: int) -> None:
        self.npc = npc
        self.seed = seed
        voice = npc.voice
        self.state = npc.emotion  # a line reads the state it started with
        self.t0 = (npc._clock_override or self.state.clock)()
        names, w, alpha = self.state.frames(np.array([self.t0]))
        a = clamp_intensity(float(alpha[0]))
        emb = self.state.embeddings(voice, names)
        enc = (a * (w[:, 0].astype(np.float64) @ emb)
               + (1 - a) * voice.emotion_table["neutral"]).astype(np.float32)
        self.speaker = npc._speaker_vector
        self.ids = voice.text_to_ids(text)
        self.mu, self.durations = voice.encode_text(self.ids, enc, self.speaker,
                                                    npc.length_scale)
        self.frames = int(self.mu.shape[1])
        fps = voice.sample_rate / npc._hop
        self.times = self.t0 + (np.arange(self.frames) + 0.5) / fps
        self.mel = np.zeros_like(self.mu)
        self._pitch_rows: dict[bytes, np.ndarray] = {}  # condition embedding -> its pitch (2, T)
        self.info: list[BlockInfo] = []

    def plan(self) -> list[tuple[int, int]]:
        """Block boundaries ``[(start, end), ...]`` covering the line."""
        cfg, n = self.npc.stream, self.frames
        if cfg.block_frames is None or n <= cfg.first_block_frames + cfg.block_frames // 2:
            return [(0, n)]
        bounds, start, size = [], 0, cfg.first_block_frames
        while start < n:
            end = min(n, start + size)
            if n - end < cfg.block_frames // 2:  # no tiny last block
                end = n
            bounds.append((start, end))
            start, size = end, cfg.block_frames
        return bounds

    def _weights(self, lo: int, hi: int) -> tuple[list[str], np.ndarray]:
        names, w, alpha = self.state.frames(self.times[lo:hi])
        # the denoiser's intensity: the state's, times the voice's emotion scale
        alpha = np.clip(alpha, 0.0, ref.ALPHA_MAX) * self.npc.emotion_scale
        mixed = len(names)
        names, neutral = with_neutral(names, alpha)
        if len(names) > mixed:  # neutral was added: it has no weight in the mix itself
            w = np.vstack([w, np.zeros((1, w.shape[1]))])
        if np.all(w == w[:, :1]) and np.all(alpha == alpha[0]):  # constant: W (steps, M)
            W = schedule_weights(w[:, 0], self.npc.spec, self.npc.preset, float(alpha[0]),
                                 neutral)
        else:
            W = schedule_weights(w, self.npc.spec, self.npc.preset, alpha, neutral)
        return names, W

    def _pitch(self, emb: np.ndarray) -> np.ndarray | None:
        """The line's pitch for the conditions ``emb (M, E)``; each condition's is predicted
        once per line (the blocks of a line mostly share their conditions, and on the torch and
        ONNX backends every prediction re-runs the text encoder)."""
        voice = self.npc.voice
        if voice.pitch_config is None:
            return None
        keys = [row.tobytes() for row in np.asarray(emb, np.float32)]
        new = [i for i, k in enumerate(keys) if k not in self._pitch_rows]
        if new:
            rows = voice.line_pitch(self.ids, np.asarray(emb)[new], self.speaker)
            self._pitch_rows.update({keys[i]: r for i, r in zip(new, rows, strict=True)})
        return np.stack([self._pitch_rows[k] for k in keys])

    def blocks(self) -> Iterator[int]:
        """Make the mel block by block; yields the number of committed frames after each."""
        npc, voice = self.npc, self.npc.voice
        plan = self.plan()
        if len(plan) == 1:
            names, W = self._weights(0, self.frames)
            emb = self.state.embeddings(voice, names)
            mel = voice.sample_mel(self.mu, emb, self.speaker, W, npc.spec, seed=self.seed,
                                   durations=self.durations)
            self.mel[:] = voice.render_pitch(mel, self._pitch(emb), self.durations, W[-1])
            self.info.append(BlockInfo(0, self.frames, (0, self.frames), names, W))
            yield self.frames
            return
        ctx, xf = npc.stream.context_frames, npc.stream.crossfade_frames
        noise = voice.make_noise(self.seed, npc.spec, self.mu.shape, self.durations)
        tail: np.ndarray | None = None
        ramp = ((np.arange(xf) + 0.5) / xf).astype(np.float32)
        for start, end in plan:
            lo, hi = max(0, start - ctx), min(self.frames, end + ctx)
            names, W = self._weights(lo, hi)
            emb = self.state.embeddings(voice, names)
            mel = voice.sample_mel(np.ascontiguousarray(self.mu[:, lo:hi]), emb, self.speaker,
                                   W, npc.spec, noise=np.ascontiguousarray(noise[:, :, lo:hi]))
            mel = voice.render_pitch(mel, self._pitch(emb), self.durations, W[-1],
                                     slice(lo, hi))
            seg = mel[:, start - lo:min(hi, end + xf) - lo]
            if tail is not None and xf:
                seg[:, :xf] = (1.0 - ramp) * tail + ramp * seg[:, :xf]
            self.mel[:, start:end] = seg[:, :end - start]
            tail = seg[:, end - start:].copy()
            self.info.append(BlockInfo(start, end, (lo, hi), names, W))
            yield end

