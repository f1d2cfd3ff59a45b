"""A loaded voice on a backend: text in, blended emotional speech out."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from . import sampler as ref
from .backends import Backend, create_backend
from .emotions import normalise_mix
from .voice import VoiceBundle, load_bundle
from .voice.schema import EMOTION_SCALE_RANGE, LENGTH_SCALE_RANGE

if TYPE_CHECKING:  # pragma: no cover
    from .generation import GenerationConfig

#: Most phonemes accepted in one call; longer text must be split into sentences.
MAX_PHONEMES = 2000
#: Shortest reference clip :meth:`Voice.embed_reference` accepts, in seconds.
MIN_REFERENCE_SECONDS = 0.5


def default_voice_path() -> Path:
    """Where the shipped default voice lives (``$EMOMIX_DEFAULT_VOICE`` overrides)."""
    env = os.environ.get("EMOMIX_DEFAULT_VOICE")
    candidates = [Path(env)] if env else []
    here = Path(__file__).resolve().parent
    candidates += [here / "_voices" / "default", here.parents[1] / "voices" / "default"]
    for c in candidates:
        if (c / "voice.json").is_file():
            return c
    raise FileNotFoundError(
        "no default voice is installed (looked in: " + ", ".join(str(c) for c in candidates)
        + "); pass a voice directory, or build a random plumbing voice with "
        "`emomix voice init --random DIR` (it produces noise, not speech)")


def parse_emotion_spec(spec: str) -> dict[str, float]:
    """``"happy=0.6,surprise=0.4"`` (or ``"sad"``) → ``{"happy": 0.6, "surprise": 0.4}``."""
    out: dict[str, float] = {}
    for part in (p.strip() for p in spec.split(",")):
        if not part:
            continue
        name, _, value = part.partition("=")
        name = name.strip()
        try:
            weight = float(value) if value.strip() else 1.0
        except ValueError as exc:
            raise ValueError(f"emotion weight {value!r} for {name!r} is not a number; "
                             "write e.g. happy=0.6,surprise=0.4") from exc
        if name in out:
            raise ValueError(f"emotion {name!r} is given twice in {spec!r}")
        out[name] = weight
    if not out:
        raise ValueError(f"no emotions in {spec!r}; write e.g. happy=0.6,surprise=0.4")
    return out


@dataclass
class Synthesis:
    """Everything one call produced (``audio`` is what most callers want)."""

    audio: np.ndarray  # (samples,) float32
    sample_rate: int
    mel: np.ndarray  # (n_mels, frames)
    mu: np.ndarray  # (n_mels, frames)
    durations: np.ndarray  # (phonemes,)
    weights: np.ndarray  # W: (steps, M) or (steps, M, frames)
    conditions: list[str]  # emotion name of each of the M conditions
    seed: int


class Voice:
    """A validated voice bundle running on a backend.

    Thread safety: a ``Voice`` may be shared; calls on one backend are serialised by the backend.
    """

    def __init__(self, bundle: VoiceBundle, backend: Backend, sampler_impl: str = "auto"):
        self.bundle = bundle
        self.backend = backend
        self.sample_rate = int(bundle.audio["sample_rate"])
        self.emotion_table = {name: np.asarray(e.embedding, np.float32)
                              for name, e in bundle.emotions.items()}
        self.speaker_ids = dict(bundle.speakers)
        self._speaker_vectors = backend.speaker_table()
        from .text import SymbolTable

        self.symbols = SymbolTable(bundle.symbols)
        self.language = bundle.language
        self.sampler_defaults = dict(bundle.sampler)
        from .config import AudioConfig

        #: the voice's :class:`~emomix.config.PitchConfig` when it predicts pitch, else ``None``
        self.pitch_config = bundle.pitch_config
        self.audio_config = AudioConfig.from_dict(dict(bundle.audio))
        if sampler_impl not in ("auto", "native", "python"):
            raise ValueError(f"sampler_impl must be auto, native or python, got {sampler_impl!r}")
        self.sampler_impl = sampler_impl

    @property
    def emotions(self) -> list[str]:
        return list(self.emotion_table)

    @property
    def speakers(self) -> list[str]:
        return list(self.speaker_ids)

    @property
    def default_speaker(self) -> str:
        """The speaker of calls that name none (``voice.json`` ``default_speaker``, else the
        speaker with id 0)."""
        return self.bundle.default_speaker

    def __repr__(self) -> str:
        return (f"Voice({self.bundle.name!r}, backend={self.backend.name!r}, "
                f"emotions={self.emotions}, speakers={len(self.speakers)})")

    # -- inputs -----------------------------------------------------------------------------
    def check_emotions(self, mix: Mapping[str, float]) -> dict[str, float]:
        """Validate a user's mix and return it normalised to sum to 1."""
        return normalise_mix(mix, self.emotions,
                             empty="the emotion mix is empty; give e.g. {'neutral': 1.0}",
                             negative_hint=" (use intensity > 1 to exaggerate an emotion)")

    def check_speakers(self, mix: Mapping[str, float]) -> dict[str, float]:
        """Validate a speaker blend ``{name: weight}`` and return it normalised to sum to 1."""
        return normalise_mix(mix, self.speakers, kind="speaker",
                             empty="the speaker blend is empty; give e.g. {'speaker0': 1.0}")

    def speaker_vector(self, speaker: str | Mapping[str, float] | np.ndarray | None
                       ) -> np.ndarray:
        """The speaker embedding ``(S,)`` float32 for a name, a blend or a vector.

        ``None`` is the voice's :attr:`default_speaker`; a name picks a row of the speaker
        table; a mapping ``{name: weight}`` mixes rows with normalised non-negative weights (the
        same mixing rule as emotions); an array of shape ``(S,)`` is used as it is (it must be
        finite).
        """
        if speaker is None:
            return self._speaker_vectors[self.speaker_ids[self.default_speaker]]
        if isinstance(speaker, str):
            if speaker not in self.speaker_ids:
                raise ValueError(f"unknown speaker {speaker!r}; this voice has: "
                                 f"{', '.join(self.speakers)}")
            return self._speaker_vectors[self.speaker_ids[speaker]]
        if isinstance(speaker, Mapping):
            mix = self.check_speakers(speaker)
            rows = np.stack([self._speaker_vectors[self.speaker_ids[n]] for n in mix])
            w = np.array(list(mix.values()), np.float64)
            return (w @ rows.astype(np.float64)).astype(np.float32)
        vec = np.asarray(speaker, dtype=np.float32)
        if vec.shape != self._speaker_vectors.shape[1:] or not np.all(np.isfinite(vec)):
            raise ValueError(f"a speaker vector must be finite with shape "
                             f"{self._speaker_vectors.shape[1:]}, got {vec.shape}; or pass a "
                             "speaker name or a blend such as {'speaker0': 0.5, 'speaker1': 0.5}")
        return vec

    def text_to_ids(self, text: str) -> np.ndarray:
        from .text import text_to_ids

        ids = np.asarray(text_to_ids(text, self.symbols, language=self.language), np.int64)
        if ids.size > MAX_PHONEMES:
            raise ValueError(f"text is {ids.size} phonemes long (limit {MAX_PHONEMES}); split it "
                             "into sentences (emomix.text.split_sentences) and synthesise each")
        return ids

    def check_ids(self, ids: Any) -> np.ndarray:
        """Phoneme ids given instead of text: a non-empty 1-D integer sequence of this voice's
        symbol ids (``0 .. len(voice.symbols) - 1``), at most ``MAX_PHONEMES`` long."""
        arr = np.asarray(ids)
        if arr.ndim != 1 or arr.size == 0 or not np.issubdtype(arr.dtype, np.integer):
            raise ValueError("phoneme ids must be a non-empty 1-D sequence of integers, got "
                             f"shape {arr.shape} dtype {arr.dtype}; or pass the text")
        if arr.size > MAX_PHONEMES:
            raise ValueError(f"{arr.size} phoneme ids (limit {MAX_PHONEMES}); split the line")
        bad = (arr < 0) | (arr >= len(self.symbols))
        if bad.any():
            raise ValueError(f"phoneme id {int(arr[bad][0])} is not in this voice's symbol table "
                             f"(0..{len(self.symbols) - 1})")
        return arr.astype(np.int64)

    # -- synthesis --------------------------------------------------------------------------
    def synthesize(self, text: str, emotion: Mapping[str, float] | None = None,
                   config: GenerationConfig | None = None, **settings: Any) -> np.ndarray:
        """Speak ``text`` with an emotion mix; returns float32 audio at :attr:`sample_rate`.

        See :meth:`synthesize_full` for ``config`` and the settings.
        """
        return self.synthesize_full(text, emotion, config, **settings).audio

    def synthesize_full(self, text: str | Sequence[int] | np.ndarray,
                        emotion: Mapping[str, float] | None = None,
                        config: GenerationConfig | None = None, **settings: Any) -> Synthesis:
        """Text (or its phoneme ids, see :meth:`check_ids`) → audio with the mixed-noise sampler.

        Every setting of the line is one :class:`emomix.GenerationConfig` (``config``; fields
        left ``None`` take the voice's defaults): the emotion mix (``emotion`` replaces
        ``config.emotions``), intensity (0 = neutral, 1 = the mix, up to 1.5 exaggerates),
        emotion scale, speaker or speaker blend, steps, solver, preset (``"emomix"``, the
        paper's schedule, or ``"blend"``, the mix at every step), temperature, the emomix
        window, length scale, seed, and ``keyframes`` (a trajectory ``[(position, mix), ...]``
        along the line, interpolated per mel frame; the first keyframe's mix conditions the
        encoder). ``settings`` replace fields by name (``intensity=1.2, seed=7``; ``speaker`` and
        ``trajectory`` are accepted for ``speakers`` and ``keyframes``). Without a seed in
        ``config`` or ``settings`` (``seed=None``), a fresh one is drawn.

        On a backend that runs whole lines (``native``), text goes through its own C++ pipeline
        in one call (``Backend.synthesize_line``); elsewhere the SDK runs the same plan
        (:func:`emomix.generation.plan`) step by step on the backend's networks.
        """
        from .generation import line_config, plan

        if config is None and "seed" not in settings:
            settings["seed"] = None  # a fresh seed, as documented
        cfg = line_config(config, emotion, **settings)
        ids = self.text_to_ids(text) if isinstance(text, str) else self.check_ids(text)
        p = plan(self, cfg)
        by_name = cfg.speakers is None or isinstance(cfg.speakers, (str, Mapping))
        if isinstance(text, str) and by_name and self.backend.runs_lines:
            from .vocoder_stream import check_audio

            r = self.backend.synthesize_line(text, cfg.for_voice(self))
            return Synthesis(audio=check_audio(r["audio"]), sample_rate=self.sample_rate,
                             mel=r["mel"], mu=r["mu"], durations=r["durations"],
                             weights=p.weights(int(r["mu"].shape[1])),
                             conditions=p.conditions, seed=cfg.seed)
        mu, durations = self.encode_text(ids, p.enc_emotion, p.speaker, p.length_scale)
        W = p.weights(int(mu.shape[1]))
        mel = self.sample_mel(mu, p.emotions, p.speaker, W, p.spec, seed=cfg.seed,
                              durations=durations)
        mel = self.render_pitch(mel, self.line_pitch(ids, p.emotions, p.speaker), durations,
                                W[-1])
        audio = self.vocode(mel)
        return Synthesis(audio=audio, sample_rate=self.sample_rate, mel=mel, mu=mu,
                         durations=durations, weights=W, conditions=p.conditions, seed=cfg.seed)

    def _check_trajectory(self, trajectory) -> list[tuple[float, dict[str, float]]]:
        keys = []
        for item in trajectory:
            try:
                pos, mix = item
            except (TypeError, ValueError):
                raise ValueError("trajectory keyframes are (position, {emotion: weight}) pairs, "
                                 f"got {item!r}") from None
            pos = float(pos)
            if not (np.isfinite(pos) and 0.0 <= pos <= 1.0):
                raise ValueError(f"trajectory position {pos} is outside [0, 1]; positions are "
                                 "fractions of the line")
            if keys and pos < keys[-1][0]:
                raise ValueError("trajectory positions must be ascending")
            keys.append((pos, self.check_emotions(mix)))
        if not keys:
            raise ValueError("the trajectory is empty; give at least one (position, mix) pair")
        return keys

    # -- the pipeline's steps (used by synthesize_full and by emomix.Character) --------------
    def check_preset(self, preset: str | None) -> str:
        """``preset`` or the voice's default, checked against the sampler's presets."""
        preset = preset or self.sampler_defaults.get("preset", "emomix")
        if preset not in ref.PRESETS:
            raise ValueError(f"unknown preset {preset!r}; choose one of {', '.join(ref.PRESETS)}")
        return preset

    @property
    def emotion_scale(self) -> float:
        """The voice's emotion scale ``g`` (``voice.json`` ``sampler.emotion_scale``, 1 when
        absent): intensity 1 puts weight ``g`` on the emotion mix and ``1 − g`` on neutral in
        the denoiser. ``synthesize(..., emotion_scale=...)`` and ``Character(...,
        emotion_scale=...)`` override it (1 = no extrapolation)."""
        return float(self.sampler_defaults["emotion_scale"])

    def check_emotion_scale(self, value: float | None) -> float:
        """``value`` checked against ``[1, 1.5]``, or the voice's scale when ``None``."""
        return _setting_in_range("emotion_scale", value, self.emotion_scale, EMOTION_SCALE_RANGE,
                                 "1 means no extrapolation from neutral")

    @property
    def length_scale(self) -> float:
        """The voice's speaking time factor (``voice.json`` ``sampler.length_scale``, 1 when
        absent): every phoneme's predicted frames are multiplied by it. A line's
        ``length_scale`` overrides it (> 1 slower)."""
        return float(self.sampler_defaults["length_scale"])

    def check_length_scale(self, value: float | None) -> float:
        """``value`` checked against ``[0.25, 4]``, or the voice's length scale when ``None``."""
        return _setting_in_range("length_scale", value, self.length_scale, LENGTH_SCALE_RANGE,
                                 "it multiplies every phoneme's duration (> 1 slower)")

    def sampler_spec(self, *, steps: int | None = None, solver: str | None = None,
                     temperature: float | None = None) -> ref.SamplerSpec:
        """The sampler settings of a call: the arguments given, else the voice's defaults.

        This is the one place that reads a voice's sampler settings; every line pipeline
        (:meth:`synthesize_full`, :class:`~emomix.Character`, ``emomix bench``) builds its spec
        here. From ``voice.json``: ``sampler.solver``, ``steps``, ``temperature``, the ``emomix``
        preset's window ``sampler.k_max``/``k_min`` (0.6/0.2 when absent) and, for ``score``
        voices, the noise rate ``model.config.beta_min``/``beta_max`` (0.05/20 when absent).
        """
        d = self.sampler_defaults
        model = self.bundle.meta["model"]["config"]
        return ref.SamplerSpec(
            parameterisation=self.bundle.parameterisation,
            solver=solver or d.get("solver", "euler"),
            steps=int(steps if steps is not None else d.get("steps", 4)),
            temperature=float(temperature if temperature is not None
                              else d.get("temperature", 1.0)),
            beta_min=float(model.get("beta_min", ref.SamplerSpec.beta_min)),
            beta_max=float(model.get("beta_max", ref.SamplerSpec.beta_max)),
            k_max=float(d.get("k_max", ref.K_MAX)),
            k_min=float(d.get("k_min", ref.K_MIN)),
        )

    def encode_text(self, text: str | np.ndarray, emotion: np.ndarray, speaker: np.ndarray,
                    length_scale: float | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Text (or its :meth:`text_to_ids`) → prior ``mu (n_mels, F)`` and ``durations
        (phonemes,)`` for one line.

        ``emotion`` ``(E,)`` and ``speaker`` ``(S,)`` condition the durations; ``length_scale``
        scales them (``None``: the voice's :attr:`length_scale`).
        """
        ids = self.text_to_ids(text) if isinstance(text, str) else np.asarray(text, np.int64)
        return self.backend.encode(ids, np.asarray(emotion, np.float32),
                                   np.asarray(speaker, np.float32),
                                   self.check_length_scale(length_scale))

    def line_pitch(self, ids: np.ndarray, emotions: np.ndarray, speaker: np.ndarray
                   ) -> np.ndarray | None:
        """Per-phoneme pitch ``(M, 2, T)`` of a line for each condition embedding
        ``emotions (M, E)`` (see :mod:`emomix.harmonics`); ``None`` for a voice without a
        pitch predictor."""
        if self.pitch_config is None:
            return None
        emotions = np.ascontiguousarray(emotions, np.float32)
        spk = np.ascontiguousarray(np.broadcast_to(speaker, (emotions.shape[0],
                                                             np.size(speaker))), np.float32)
        return self.backend.pitch(np.asarray(ids, np.int64), emotions, spk)

    def render_pitch(self, mel: np.ndarray, pitch: np.ndarray | None, durations: np.ndarray,
                     weights: np.ndarray, frames: slice | None = None) -> np.ndarray:
        """The sampler's ``mel (C, F)`` with the harmonics of the line's F0 put in.

        ``pitch`` from :meth:`line_pitch` (``None``: ``mel`` is returned as it is), ``weights``
        the conditions' weights ``(M,)`` or ``(M, F)`` (the sampler's last step), ``frames``
        which frames of the line ``mel`` holds (a streaming block; default all).
        """
        if pitch is None:
            return mel
        from .harmonics import frame_pitch, render_harmonics

        f0, voicing = frame_pitch(pitch, durations, weights, self.pitch_config, frames)
        if self.backend.renders_harmonics:  # the native runtime's C++ twin
            return self.backend.render_harmonics(mel, f0, voicing)
        return render_harmonics(mel, f0, voicing, self.audio_config, self.pitch_config)

    def make_noise(self, seed: int, spec: ref.SamplerSpec, shape: tuple[int, int],
                   durations: np.ndarray | None = None) -> np.ndarray:
        """The sampler noise of a line of ``shape (C, F)``, ``(spec.steps + 1, C, F)``, as
        :func:`emomix.sampler.make_noise` draws it, for :meth:`sample_mel` ``noise=``. Only the
        planes that ``spec``'s solver reads are drawn (:func:`emomix.sampler.noise_streams`);
        the others are zero. Drawn by the C++ core unless this voice runs the numpy reference
        sampler (the two are bit-compatible)."""
        streams = ref.noise_streams(spec)
        if self.sampler_impl != "python":
            try:
                from . import _native
            except ImportError:
                pass
            else:
                return _native.make_noise(seed, spec.steps, int(shape[0]), int(shape[1]),
                                          durations, streams)
        noise = np.zeros((spec.steps + 1, *shape), np.float32)
        noise[:streams] = ref.make_noise(seed, streams - 1, shape, durations)
        return noise

    def sample_mel(self, mu: np.ndarray, emotions: np.ndarray, speaker: np.ndarray,
                   W: np.ndarray, spec: ref.SamplerSpec, *, seed: int | None = None,
                   noise: np.ndarray | None = None,
                   durations: np.ndarray | None = None) -> np.ndarray:
        """Run the mixed sampler: ``mu (C, F)``, condition embeddings ``emotions (M, E)``, one
        ``speaker (S,)`` for every condition, ``W (N, M)`` or ``(N, M, F)`` → mel ``(C, F)``.

        Give ``seed`` (noise drawn as in docs/sampler.md) or ``noise (N + 1, C, F)``. With
        ``seed``, pass the line's phoneme ``durations`` (from :meth:`encode_text`): the noise is
        anchored to them, so a changed emotion that lengthens one phoneme leaves the other
        phonemes' noise as it was.
        """
        emotions = np.ascontiguousarray(emotions, np.float32)
        spk_b = np.ascontiguousarray(np.broadcast_to(speaker, (emotions.shape[0],
                                                                np.size(speaker))), np.float32)
        if self.sampler_impl != "python" and self.backend.runs_sampler:
            # the whole loop in the runtime, with its own denoiser: no Python per step
            return self.backend.sample(np.ascontiguousarray(mu, np.float32),
                                       np.ascontiguousarray(W, np.float32), emotions, spk_b,
                                       spec.solver, spec.temperature,
                                       0 if seed is None else seed, durations=durations,
                                       noise=noise)

        def denoise(x: np.ndarray, t: np.ndarray, conds) -> np.ndarray:
            idx = np.asarray(conds, dtype=np.int64)
            return self.backend.denoise(x, t, mu, emotions[idx], spk_b[idx])

        return run_sampler(denoise, mu, W, spec, seed, self.sampler_impl, noise=noise,
                           durations=durations)

    def vocode(self, mel: np.ndarray) -> np.ndarray:
        """Mel ``(C, F)`` → waveform ``(F * hop_length,)`` float32; NaN/inf is an error."""
        from .vocoder_stream import check_audio

        return check_audio(self.backend.vocode(np.ascontiguousarray(mel, np.float32)))

    def vocoder_stream(self, context: int | None = None) -> Any:
        """A streaming vocoder for one line: ``push(mel)`` as it is made, ``finish()`` at its
        end, ``pull(max_frames)`` for the audio the pushed mel determines (see
        :mod:`emomix.vocoder_stream`). The native backend computes every frame once; other
        backends vocode windows with ``context`` frames of mel on each side (default: the
        vocoder's receptive field)."""
        from .vocoder_stream import WindowedVocoderStream, vocoder_context

        if self.backend.supports_streaming_vocoder:
            return self.backend.vocoder_stream()
        ctx = vocoder_context(self.bundle.model_config, self.bundle.audio) if context is None \
            else int(context)
        return WindowedVocoderStream(self.vocode, int(self.bundle.audio["n_mels"]),
                                     self.backend.hop_length, ctx)

    def embed_reference(self, audio: np.ndarray | str | os.PathLike,
                        sample_rate: int | None = None) -> np.ndarray:
        """A reference clip → an emotion embedding ``(E,)`` through the voice's SER.

        ``audio`` is a WAV path or mono float samples in ``[-1, 1]`` (then ``sample_rate`` is
        required). The clip must be at the voice's sample rate (emomix does not resample) and at
        least :data:`MIN_REFERENCE_SECONDS` long. Needs a backend with an SER
        (:attr:`Backend.has_ser`: ``native``, ``torch``, or ``onnx`` with ``onnx/ser.onnx``).
        """
        from . import features
        from .audio import read_wav
        from .config import AudioConfig

        if isinstance(audio, (str, os.PathLike)):
            audio, sample_rate = read_wav(audio, expected_rate=self.sample_rate)
        elif sample_rate is None:
            raise ValueError("give the sample_rate of the reference samples (or a WAV path)")
        if int(sample_rate) != self.sample_rate:
            raise ValueError(f"the reference clip is sampled at {sample_rate} Hz but this voice "
                             f"works at {self.sample_rate} Hz; resample it first (e.g. "
                             f"`sox in.wav -r {self.sample_rate} out.wav`)")
        x = np.asarray(audio, dtype=np.float32)
        if x.ndim != 1:
            raise ValueError(f"the reference clip must be mono samples (n,), got shape {x.shape}")
        if not np.all(np.isfinite(x)):
            raise ValueError("the reference clip contains NaN or inf samples")
        if x.size < MIN_REFERENCE_SECONDS * self.sample_rate:
            raise ValueError(f"the reference clip is {x.size / self.sample_rate:.2f} s long; give "
                             f"at least {MIN_REFERENCE_SECONDS} s of speech")
        cfg = AudioConfig.from_dict(dict(self.bundle.audio))
        logmel = features.log_mel(x, cfg)
        if not self.backend.has_ser:
            raise NotImplementedError(
                f"the {self.backend.name} backend has no speech-emotion recogniser for this "
                "voice, so reference clips cannot be embedded; load the voice with "
                "backend='native' or 'torch' (or 'onnx' after `emomix export VOICE --onnx`)")
        embedding, _ = self.backend.ser(logmel)
        embedding = np.asarray(embedding, np.float32).reshape(-1)
        if embedding.shape != (self.bundle.emotion_dim,) or not np.all(np.isfinite(embedding)):
            raise FloatingPointError("the SER returned an embedding of the wrong size or with "
                                     "NaN/inf; the voice weights are broken")
        return embedding


def _setting_in_range(name: str, value: Any, default: float, bounds: tuple[float, float],
                      meaning: str) -> float:
    """``value`` as a float in ``bounds`` (``default`` when ``None``); a ``ValueError`` naming
    ``name``, the range and ``meaning`` otherwise."""
    if value is None:
        return default
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number, got {value!r}") from None
    low, high = bounds
    if not (np.isfinite(x) and low <= x <= high):
        raise ValueError(f"{name} must be in [{low}, {high}], got {value}; {meaning}")
    return x


def clamp_intensity(intensity: float) -> float:
    """Check ``intensity`` and clamp it to ``[0, ALPHA_MAX]`` (see docs/sampler.md)."""
    try:
        value = float(intensity)
    except (TypeError, ValueError):
        raise ValueError(f"intensity must be a number, got {intensity!r}") from None
    if not np.isfinite(value):
        raise ValueError(f"intensity must be a finite number, got {intensity}")
    return float(np.clip(value, 0.0, ref.ALPHA_MAX))


def check_seed(seed: int | None) -> int:
    """``seed`` as an int in ``[0, 2**64)``, or a fresh random one when ``None``."""
    if seed is None:
        return secrets.randbits(63)
    if not 0 <= int(seed) < 2**64:
        raise ValueError(f"seed must be in [0, 2**64), got {seed}")
    return int(seed)


def with_neutral(names: Sequence[str], alpha: float | np.ndarray) -> tuple[list[str], int | None]:
    """The conditions a line samples: ``names`` plus neutral (appended, weight 0 in the mix) when
    the denoiser's intensity ``alpha`` (scalar or per frame) is not 1 everywhere and ``names``
    lacks it, because :func:`schedule_weights` then puts ``1 − alpha`` on neutral. Returns the
    names and neutral's index (``None`` without neutral)."""
    names = list(names)
    if np.any(np.asarray(alpha) != 1.0) and "neutral" not in names:
        names.append("neutral")
    return names, (names.index("neutral") if "neutral" in names else None)


def schedule_weights(weights: np.ndarray, spec: ref.SamplerSpec, preset: str,
                     alpha: float | np.ndarray = 1.0, neutral: int | None = None) -> np.ndarray:
    """A user's mix → the sampler's ``W``, per step and optionally per frame.

    Args:
        weights: ``(M,)`` one mix for the whole line, or ``(M, F)`` one mix per mel frame; each
            mix non-negative and summing to 1.
        spec: the call's sampler settings (:meth:`Voice.sampler_spec`): ``W`` has
            ``spec.steps`` steps on the grid :func:`~emomix.sampler.time_grid`, and the
            ``emomix`` preset switches at ``spec.k_max``/``spec.k_min`` (the voice's).
        preset: ``"emomix"`` (the paper's schedule, applied frame by frame) or ``"blend"``.
        alpha: the intensity, a scalar or ``(F,)`` per frame, already clamped to
            ``[0, ALPHA_MAX]``: ``W = alpha * W_mix + (1 - alpha) * neutral``.
        neutral: index of the neutral condition (needed when any ``alpha != 1``).

    Returns ``W`` float32 of shape ``(N, M)`` for a ``(M,)`` mix, else ``(N, M, F)``.
    """
    w = np.asarray(weights, np.float64)
    steps = spec.steps
    tau = ref.time_grid(steps)
    if preset == "emomix":
        W = (ref.emomix(w, tau, k_max=spec.k_max, k_min=spec.k_min).astype(np.float64)
             if w.ndim == 1 else ref.emomix_frames(w, tau, spec.k_max, spec.k_min))
    elif w.ndim == 1:
        W = ref.blend(w, steps).astype(np.float64)
    else:
        W = np.broadcast_to(w, (steps, *w.shape)).copy()
    a = np.asarray(alpha, np.float64)
    if np.any(a != 1.0):
        if neutral is None:
            raise ValueError("intensity != 1 needs a neutral condition")
        one_hot = np.zeros(W.shape[1])
        one_hot[neutral] = 1.0
        if W.ndim == 2:
            W = a * W + (1.0 - a) * one_hot
        else:
            W = a * W + (1.0 - a) * one_hot[None, :, None]
    return W.astype(np.float32)


def run_sampler(denoise, mu: np.ndarray, W: np.ndarray, spec: ref.SamplerSpec, seed: int | None,
                impl: str = "auto", noise: np.ndarray | None = None,
                durations: np.ndarray | None = None) -> np.ndarray:
    """Run the sampler loop in C++ (``native``) or in the numpy reference (``python``); seeded
    noise is anchored to the phoneme ``durations`` when given."""
    if impl in ("auto", "native"):
        try:
            from . import _native
        except ImportError:
            if impl == "native":
                raise ImportError("emomix._native is not built; reinstall emomix "
                                  "(pip install -e .) or use sampler_impl='python'") from None
        else:
            return _native.sample(denoise, mu, W, spec.parameterisation, spec.solver,
                                  temperature=spec.temperature,
                                  seed=0 if seed is None else seed,
                                  beta_min=spec.beta_min, beta_max=spec.beta_max, noise=noise,
                                  durations=durations)
    return ref.sample(denoise, mu, W, spec, seed=seed, noise=noise, durations=durations)


def load_voice(path: str | os.PathLike | None = None, backend: str = "auto",
               **backend_options) -> Voice:
    """Load and validate a voice bundle and put it on ``backend``.

    ``path=None`` loads the shipped default voice. ``backend="auto"`` (the default) picks the
    runtime: ``native`` where ``emomix._native`` is built, else ``onnx`` (onnxruntime installed
    and the voice exported), else ``torch``; name one (``"torch"``, ``"onnx"``, ``"native"``,
    ``"tensorrt"``) to choose. ``backend_options`` go to the backend (e.g. ``threads=2``).
    """
    bundle = load_bundle(Path(path) if path is not None else default_voice_path())
    return Voice(bundle, create_backend(backend, bundle, **backend_options))
