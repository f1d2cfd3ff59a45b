"""One generation config for a line, and the plan built from it (the Python mirror of
``native/include/emomix/generation.hpp``).

:class:`GenerationConfig` carries every setting of one line: the emotion mix or a trajectory of
keyframed mixes, intensity, emotion scale, speaker or speaker blend, steps, solver, preset,
temperature, the ``emomix`` window, length scale and seed. It has the C++ struct's fields one
for one, in the same order (``emomix._native.generation_config_fields()``; each ``(n_x, x[])``
pair of the struct is one field ``x`` here). Fields left ``None`` take the voice's defaults
(:meth:`GenerationConfig.for_voice` fills them in), as ``default_generation_config(voice)``
does in C++.

:func:`plan` builds a line's conditions, speaker, encoder emotion and ``W`` from a config with
the same helpers :meth:`emomix.Voice.synthesize_full` uses (``with_neutral``,
``schedule_weights``, ``Voice.speaker_vector``), so the C++ plan (``_native.generation_plan``) is
held equal to the SDK's own pipeline by ``tests/test_generation_plan.py``.

:func:`synthesize_text` runs a whole line in C++ (``Session.synthesize_text``) on the ``native``
backend.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import sampler as ref
from ._schema import MAX_STEPS, SOLVERS
from .sampler.weights import check_window
from .synthesis import Voice, check_seed, clamp_intensity, schedule_weights, with_neutral

#: The presets a config may name: the voice schema's (``emomix``, ``blend``) and ``intensity``
#: (one emotion against neutral, :func:`emomix.sampler.weights.intensity`).
GENERATION_PRESETS = (*ref.PRESETS, "intensity")


@dataclass
class GenerationConfig:
    """Every setting of one line. ``None`` means "the voice's default" (:meth:`for_voice`).

    Attributes:
        emotions: ``{emotion: weight}``, non-negative, normalised; ignored (but checked) when
            ``keyframes`` is given, whose first mix then conditions the encoder.
        keyframes: ``[(position in [0, 1], {emotion: weight}), ...]`` ascending: a trajectory,
            interpolated per mel frame.
        intensity: 0 neutral, 1 the mix, up to 1.5 exaggerated (clamped to ``[0, 1.5]``).
        emotion_scale: the denoiser's extrapolation ``g`` in ``[1, 1.5]``; the voice's.
        speakers: ``{speaker: weight}`` (a blend) or one speaker name; the voice's default. The
            Python SDK also takes a speaker vector ``(S,)`` here (such a line runs the SDK's own
            pipeline: the C struct holds names).
        steps, solver, preset, temperature, k_max, k_min: the sampler; the voice's.
        length_scale: frames per phoneme multiplied by it, in ``[0.25, 4]`` (> 1 slower); the
            voice's (``sampler.length_scale``, 1 when absent).
        seed: the seeded noise (docs/sampler.md), in ``[0, 2**64)``.
    """

    emotions: dict[str, float] = field(default_factory=lambda: {"neutral": 1.0})
    keyframes: list[tuple[float, dict[str, float]]] = field(default_factory=list)
    intensity: float = 1.0
    emotion_scale: float | None = None
    speakers: dict[str, float] | str | np.ndarray | None = None
    steps: int | None = None
    solver: str | None = None
    preset: str | None = None
    temperature: float | None = None
    k_max: float | None = None
    k_min: float | None = None
    length_scale: float | None = None
    seed: int = 0

    @classmethod
    def fields(cls) -> list[str]:
        """The field names, in order (equal to ``_native.generation_config_fields()``)."""
        return [f.name for f in dataclasses.fields(cls)]

    def for_voice(self, voice: Voice) -> GenerationConfig:
        """This config with every ``None`` replaced by ``voice``'s default (what C++'s
        ``default_generation_config(voice)`` starts from)."""
        spec = voice.sampler_spec()
        speakers = self.speakers
        if speakers is None:
            speakers = {voice.default_speaker: 1.0}
        elif isinstance(speakers, str):
            speakers = {speakers: 1.0}
        elif isinstance(speakers, Mapping):
            speakers = dict(speakers)
        return dataclasses.replace(
            self,
            emotion_scale=voice.emotion_scale if self.emotion_scale is None else self.emotion_scale,
            speakers=speakers,
            steps=spec.steps if self.steps is None else self.steps,
            solver=spec.solver if self.solver is None else self.solver,
            preset=voice.check_preset(None) if self.preset is None else self.preset,
            temperature=spec.temperature if self.temperature is None else self.temperature,
            k_max=spec.k_max if self.k_max is None else self.k_max,
            k_min=spec.k_min if self.k_min is None else self.k_min,
            length_scale=voice.length_scale if self.length_scale is None else self.length_scale,
        )


#: Keyword names the SDK's calls accept for config fields besides the fields' own names.
SETTING_ALIASES = {"speaker": "speakers", "trajectory": "keyframes"}


def line_config(config: GenerationConfig | None = None,
                emotion: Mapping[str, float] | None = None, **settings: Any
                ) -> GenerationConfig:
    """The one :class:`GenerationConfig` of a call: ``config`` (default: a new one), with
    ``emotion`` as its mix when given and ``settings`` (config fields by name, or the aliases
    ``speaker`` and ``trajectory``) replacing its fields. ``seed=None`` draws a fresh seed.

    Raises ``TypeError`` for a setting that is not a field.
    """
    fields = set(GenerationConfig.fields())
    changes: dict[str, Any] = {}
    for key, value in settings.items():
        name = SETTING_ALIASES.get(key, key)
        if name not in fields:
            raise TypeError(f"unknown setting {key!r}; a line's settings are the fields of "
                            f"emomix.GenerationConfig: {', '.join(sorted(fields))}")
        if name in changes:
            raise TypeError(f"{key!r} is given twice (also as {name!r})")
        changes[name] = value
    if emotion is not None:
        changes["emotions"] = emotion
    if changes.get("keyframes", ()) is None:
        changes["keyframes"] = []
    if "seed" in changes:
        changes["seed"] = check_seed(changes["seed"])
    base = config if config is not None else GenerationConfig()
    if not isinstance(base, GenerationConfig):
        raise TypeError(f"config must be an emomix.GenerationConfig, got {type(base).__name__}")
    return dataclasses.replace(base, **changes) if changes else base


@dataclass
class LinePlan:
    """What a line runs (``GenerationPlan`` in C++). M conditions, E = emotion_dim,
    S = speaker_dim, N = steps, F = frames."""

    conditions: list[str]  # (M,) emotion names
    neutral: int | None  # index of neutral in conditions
    emotions: np.ndarray  # (M, E) float32
    speaker: np.ndarray  # (S,) float32
    enc_emotion: np.ndarray  # (E,) float32
    alpha: float  # the encoder's intensity (clamped)
    guide: float  # alpha * emotion_scale, the denoiser's
    spec: ref.SamplerSpec
    preset: str
    mix: np.ndarray  # (M,) the line's (first keyframe's) mix over the conditions
    keyframes: list[tuple[float, dict[str, float]]]  # normalised; empty without a trajectory
    length_scale: float  # the encoder's duration factor

    def weights(self, frames: int | None = None) -> np.ndarray:
        """``W (N, M)``, or for a trajectory ``(N, M, frames)``."""
        if self.preset == "intensity":
            target = int(np.flatnonzero((self.mix > 0)
                                        & (np.arange(len(self.mix)) != self.neutral))[0])
            return ref.intensity(self.neutral, target, self.guide, len(self.conditions),
                                 self.spec.steps)
        if not self.keyframes:
            return schedule_weights(self.mix, self.spec, self.preset, self.guide, self.neutral)
        if frames is None:
            raise ValueError("a trajectory's W needs the line's frames")
        times = np.array([p for p, _ in self.keyframes])
        values = np.array([[m.get(n, 0.0) for n in self.conditions] for _, m in self.keyframes])
        per_frame = ref.keyframes_to_frames(times, values, frames)
        return schedule_weights(per_frame, self.spec, self.preset, self.guide, self.neutral)


def plan(voice: Voice, config: GenerationConfig | None = None) -> LinePlan:
    """A config → the line's plan, with the steps of :meth:`Voice.synthesize_full`."""
    c = (config or GenerationConfig()).for_voice(voice)
    mix = voice.check_emotions(c.emotions)
    keys = voice._check_trajectory(c.keyframes) if c.keyframes else []
    line_mix = keys[0][1] if keys else mix
    alpha = clamp_intensity(c.intensity)
    guide = alpha * voice.check_emotion_scale(c.emotion_scale)
    if c.preset not in GENERATION_PRESETS:
        raise ValueError(f"unknown preset {c.preset!r}; choose one of "
                         f"{', '.join(GENERATION_PRESETS)}")
    if c.preset == "intensity" and (keys or len(mix) != 1 or "neutral" in mix):
        raise ValueError("the intensity preset takes one emotion other than neutral and no "
                         "keyframes; use emomix or blend for mixes")
    length_scale = voice.check_length_scale(c.length_scale)
    check_window(c.k_max, c.k_min)
    check_seed(c.seed)
    if not 1 <= int(c.steps) <= MAX_STEPS:
        raise ValueError(f"steps must be between 1 and {MAX_STEPS}, got {c.steps}")
    parameterisation = voice.sampler_spec().parameterisation
    if c.solver not in SOLVERS[parameterisation]:
        raise ValueError(f"solver {c.solver!r} does not fit a {parameterisation} voice; choose "
                         f"one of {', '.join(SOLVERS[parameterisation])}")
    if not (np.isfinite(c.temperature) and c.temperature > 0):
        raise ValueError(f"temperature must be > 0, got {c.temperature}")
    spec = dataclasses.replace(voice.sampler_spec(steps=c.steps, solver=c.solver,
                                                  temperature=c.temperature),
                               k_max=float(c.k_max), k_min=float(c.k_min))

    used = set(line_mix) if not keys else {n for _, m in keys for n in m}
    names, neutral = with_neutral([n for n in voice.emotions if n in used],
                                  0.0 if c.preset == "intensity" else guide)
    emo = np.stack([voice.emotion_table[n] for n in names])
    w0 = np.array([line_mix.get(n, 0.0) for n in names])
    enc_emotion = (alpha * (w0 @ emo) + (1 - alpha) * voice.emotion_table["neutral"]
                   ).astype(np.float32)
    return LinePlan(conditions=names, neutral=neutral, emotions=emo,
                    speaker=voice.speaker_vector(c.speakers), enc_emotion=enc_emotion,
                    alpha=alpha, guide=guide, spec=spec, preset=c.preset, mix=w0,
                    keyframes=keys, length_scale=length_scale)


def config_dict(config: GenerationConfig) -> dict[str, Any]:
    """The config as the dict ``emomix._native`` takes (``None`` fields: the voice's)."""
    return {f: getattr(config, f) for f in GenerationConfig.fields()}


def synthesize_text(voice: Voice, text: str, config: GenerationConfig | None = None
                    ) -> dict[str, np.ndarray]:
    """Text → audio in C++ with no Python in the line (``Session.synthesize_text``): returns
    ``{'audio', 'mel', 'mu', 'durations', 'seed'}``. Needs a backend that runs whole lines
    (``native``)."""
    if not voice.backend.runs_lines:
        raise ValueError("synthesize_text runs the native runtime; load the voice with "
                         "backend='native' (or use Voice.synthesize_full)")
    return voice.backend.synthesize_line(text, config or GenerationConfig())

