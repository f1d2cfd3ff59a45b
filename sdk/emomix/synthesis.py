"""A loaded voice on a backend: text in, blended emotional speech out."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import sampler as ref
from .backends import Backend, create_backend
from .voice import VoiceBundle, load_bundle

#: Most phonemes accepted in one call; longer text must be split into sentences.
MAX_PHONEMES = 2000


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
        if sampler_impl not in ("auto", "native", "python"):
            raise ValueError(f"sampler_impl must be auto, native or python, got {sampler_impl!r}")
        self.sampler_impl = sampler_impl

    @property
    def emotions(self) -> list[str]:
        return list(self.emotion_table)

    @property
    def speakers(self) -> list[str]:
        return list(self.speaker_ids)

    def __repr__(self) -> str:
        return (f"Voice({self.bundle.name!r}, backend={self.backend.name!r}, "
                f"emotions={self.emotions}, speakers={len(self.speakers)})")

    # -- inputs -----------------------------------------------------------------------------
    def check_emotions(self, mix: Mapping[str, float]) -> dict[str, float]:
        """Validate a user's mix and return it normalised to sum to 1."""
        if not mix:
            raise ValueError("the emotion mix is empty; give e.g. {'neutral': 1.0}")
        out = {}
        for name, w in mix.items():
            if name not in self.emotion_table:
                raise ValueError(f"unknown emotion {name!r}; this voice has: "
                                 f"{', '.join(self.emotions)}")
            w = float(w)
            if not np.isfinite(w):
                raise ValueError(f"weight of {name!r} is {w}; weights must be finite numbers")
            if w < 0:
                raise ValueError(f"weight of {name!r} is negative ({w}); weights must be >= 0 "
                                 "(use intensity > 1 to exaggerate an emotion)")
            out[name] = w
        total = sum(out.values())
        if total <= 0:
            raise ValueError("all emotion weights are zero; give at least one a positive weight")
        return {k: v / total for k, v in out.items() if v > 0}

    def speaker_vector(self, speaker: str | None) -> np.ndarray:
        if speaker is None:
            return self._speaker_vectors[0]
        if speaker not in self.speaker_ids:
            raise ValueError(f"unknown speaker {speaker!r}; this voice has: "
                             f"{', '.join(self.speakers)}")
        return self._speaker_vectors[self.speaker_ids[speaker]]

    def text_to_ids(self, text: str) -> np.ndarray:
        from .text import text_to_ids

        ids = np.asarray(text_to_ids(text, self.symbols, language=self.language), np.int64)
        if ids.size > MAX_PHONEMES:
            raise ValueError(f"text is {ids.size} phonemes long (limit {MAX_PHONEMES}); split it "
                             "into sentences (emomix.text.split_sentences) and synthesise each")
        return ids

    # -- synthesis --------------------------------------------------------------------------
    def synthesize(self, text: str, emotion: Mapping[str, float] | None = None, **kw) -> np.ndarray:
        """Speak ``text`` with an emotion mix; returns float32 audio at :attr:`sample_rate`.

        See :meth:`synthesize_full` for the keyword arguments.
        """
        return self.synthesize_full(text, emotion, **kw).audio

    def synthesize_full(
        self,
        text: str,
        emotion: Mapping[str, float] | None = None,
        *,
        intensity: float = 1.0,
        speaker: str | None = None,
        steps: int | None = None,
        preset: str | None = None,
        solver: str | None = None,
        temperature: float | None = None,
        length_scale: float = 1.0,
        seed: int | None = None,
    ) -> Synthesis:
        """Text → audio with the mixed-noise sampler.

        ``emotion`` maps emotion names to non-negative weights (normalised); ``intensity`` blends
        the mix with neutral (0 = neutral, 1 = the mix, up to 1.5 exaggerates). ``preset`` is
        ``"emomix"`` (the paper's schedule) or ``"blend"`` (the mix at every step).
        """
        mix = self.check_emotions({"neutral": 1.0} if emotion is None else emotion)
        if not np.isfinite(intensity):
            raise ValueError(f"intensity must be a finite number, got {intensity}")
        alpha = float(np.clip(intensity, 0.0, ref.ALPHA_MAX))
        if not (np.isfinite(length_scale) and 0.25 <= length_scale <= 4.0):
            raise ValueError(f"length_scale must be in [0.25, 4], got {length_scale}")
        d = self.sampler_defaults
        spec = ref.SamplerSpec(
            parameterisation=self.bundle.parameterisation,
            solver=solver or d.get("solver", "euler"),
            steps=int(steps if steps is not None else d.get("steps", 4)),
            temperature=float(temperature if temperature is not None
                              else d.get("temperature", 1.0)),
        )
        preset = preset or d.get("preset", "emomix")
        if preset not in ref.PRESETS:
            raise ValueError(f"unknown preset {preset!r}; choose one of {', '.join(ref.PRESETS)}")
        if seed is None:
            seed = secrets.randbits(63)
        if not 0 <= int(seed) < 2**64:
            raise ValueError(f"seed must be in [0, 2**64), got {seed}")

        # conditions: the mix's emotions in the voice's order, plus neutral when intensity != 1
        names = [n for n in self.emotions if n in mix]
        if alpha != 1.0 and "neutral" not in names:
            names.append("neutral")
        w = np.array([mix.get(n, 0.0) for n in names])
        tau = ref.time_grid(spec.steps)
        W = (ref.emomix(w, tau) if preset == "emomix" else ref.blend(w, spec.steps)).astype(
            np.float64)
        if alpha != 1.0:
            neutral = np.zeros(len(names))
            neutral[names.index("neutral")] = 1.0
            W = alpha * W + (1.0 - alpha) * neutral
        W = W.astype(np.float32)

        emo = np.stack([self.emotion_table[n] for n in names])
        spk = self.speaker_vector(speaker)
        enc_emotion = (alpha * (w @ emo) + (1 - alpha) * self.emotion_table["neutral"]
                       ).astype(np.float32)

        ids = self.text_to_ids(text)
        mu, durations = self.backend.encode(ids, enc_emotion, spk, length_scale)
        spk_b = np.broadcast_to(spk, (len(names), spk.size))

        def denoise(x: np.ndarray, t: np.ndarray, conds) -> np.ndarray:
            idx = np.asarray(conds, dtype=np.int64)
            return self.backend.denoise(x, t, mu, emo[idx], spk_b[idx])

        mel = run_sampler(denoise, mu, W, spec, int(seed), self.sampler_impl)
        audio = self.backend.vocode(mel)
        if not np.all(np.isfinite(audio)):
            raise FloatingPointError("the vocoder produced NaN/inf; the voice weights are broken")
        return Synthesis(audio=audio, sample_rate=self.sample_rate, mel=mel, mu=mu,
                         durations=durations, weights=W, conditions=names, seed=int(seed))


def run_sampler(denoise, mu: np.ndarray, W: np.ndarray, spec: ref.SamplerSpec, seed: int,
                impl: str = "auto") -> np.ndarray:
    """Run the sampler loop in C++ (``native``) or in the numpy reference (``python``)."""
    if impl in ("auto", "native"):
        try:
            from . import _native
        except ImportError:
            if impl == "native":
                raise ImportError("emomix._native is not built; reinstall emomix "
                                  "(pip install -e .) or use sampler_impl='python'") from None
        else:
            return _native.sample(denoise, mu, W, spec.parameterisation, spec.solver,
                                  temperature=spec.temperature, seed=seed,
                                  beta_min=spec.beta_min, beta_max=spec.beta_max)
    return ref.sample(denoise, mu, W, spec, seed=seed)


def load_voice(path: str | os.PathLike | None = None, backend: str = "torch",
               **backend_options) -> Voice:
    """Load and validate a voice bundle and put it on ``backend``.

    ``path=None`` loads the shipped default voice. ``backend_options`` go to the backend
    (e.g. ``threads=2``).
    """
    bundle = load_bundle(Path(path) if path is not None else default_voice_path())
    return Voice(bundle, create_backend(backend, bundle, **backend_options))
