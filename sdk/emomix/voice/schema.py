"""The ``voice.json`` schema: constants, typed views, and :func:`validate_meta`.

``voice.json`` is the one source of truth every runtime reads (Python, C++, C#): format version,
model family and hyperparameters, audio front end, symbol table, speakers, emotions, sampler
defaults, file hashes and provenance. ``docs/voices.md`` documents each field; this module
enforces them. numpy only — runtimes without torch read bundles too.

The constants (format, versions, required keys, allowed values, limits) come from
``emomix/voice/schema.json``, which the native runtime embeds too; its validator
(``native/src/voice.cpp``) applies the same rules in the same order and names the same field
(``tests/test_voice_contract.py`` holds the two equal on a corpus of broken bundles).
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple, NoReturn

import numpy as np

from emomix.errors import VoiceBundleError

from .._schema import (
    FORMAT,
    FORMAT_VERSION,
    MAX_INTEGER,
    META_FILE,
    MODEL_FAMILY,
    OLDEST_FORMAT_VERSION,
    PARAMETERISATIONS,
    PRESETS,
    SCHEMA,
    SOLVERS,
    WEIGHTS_FILE,
)

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "META_FILE",
    "WEIGHTS_FILE",
    "PAD_SYMBOL",
    "MODEL_FAMILY",
    "PARAMETERISATIONS",
    "SOLVERS",
    "PRESETS",
    "WINDOWS",
    "MEL_SCALES",
    "AudioSettings",
    "SamplerDefaults",
    "Emotion",
    "validate_meta",
]

# FORMAT_VERSION: the newest ``voice.json`` format version this emomix reads (and the one it
# writes); OLDEST_FORMAT_VERSION the oldest it reads.

PAD_SYMBOL: str = SCHEMA["symbols"]["pad"]
"""The padding symbol; always id 0 in the symbol table."""

WINDOWS: tuple[str, ...] = tuple(SCHEMA["audio"]["windows"])
MEL_SCALES: tuple[str, ...] = tuple(SCHEMA["audio"]["mel_scales"])

TOP_LEVEL_KEYS: tuple[str, ...] = tuple(SCHEMA["top_level"]["required"])
MODEL_KEYS: tuple[str, ...] = tuple(SCHEMA["model"]["required"])
CONFIG_POSITIVE_INTEGERS: tuple[str, ...] = tuple(SCHEMA["model"]["config_positive_integers"])
PITCH_KEYS: tuple[str, ...] = tuple(SCHEMA["pitch"]["required_when_enabled"])
ENVELOPE_SIGMA_RANGE: tuple[float, float] = tuple(SCHEMA["pitch"]["envelope_sigma_range"])
PITCH_SIZE_MAX: int = SCHEMA["pitch"]["size_max"]
AUDIO_KEYS: tuple[str, ...] = tuple(SCHEMA["audio"]["required"])
#: Largest sample rate, FFT, hop, window and mel band count.
AUDIO_SIZE_MAX: int = SCHEMA["audio"]["size_max"]
SYMBOLS_KEYS: tuple[str, ...] = tuple(SCHEMA["symbols"]["required"])
REQUIRED_EMOTIONS: tuple[str, ...] = tuple(SCHEMA["emotions"]["required_names"])
EMOTION_KEYS: tuple[str, ...] = tuple(SCHEMA["emotions"]["entry_required"])
VAD_AXES: tuple[str, ...] = tuple(SCHEMA["emotions"]["vad_axes"])
VAD_RANGE: tuple[float, float] = tuple(SCHEMA["emotions"]["vad_range"])
SAMPLER_KEYS: tuple[str, ...] = tuple(SCHEMA["sampler"]["required"])
#: Optional ``sampler`` keys and their value when a bundle leaves them out.
SAMPLER_OPTIONAL: dict[str, float] = dict(SCHEMA["sampler"]["optional"])
STEPS_RANGE: tuple[int, int] = tuple(SCHEMA["sampler"]["steps_range"])
K_RANGE: tuple[float, float] = tuple(SCHEMA["sampler"]["k_range"])
#: Range of ``sampler.emotion_scale`` (see docs/sampler.md, "Emotion scale").
EMOTION_SCALE_RANGE: tuple[float, float] = tuple(SCHEMA["sampler"]["emotion_scale_range"])
#: Range of ``sampler.length_scale``, the voice's default speaking time factor, and of a line's.
LENGTH_SCALE_RANGE: tuple[float, float] = tuple(SCHEMA["sampler"]["length_scale_range"])
FILE_KEYS: tuple[str, ...] = tuple(SCHEMA["file_entry"]["required"])

_SHA256_RE = re.compile(f"[0-9a-f]{{{SCHEMA['file_entry']['sha256_hex_digits']}}}")


# --------------------------------------------------------------------------------------------
# Typed views of validated metadata


class _FieldMapping(Mapping[str, Any]):
    """Read-only mapping access to a frozen dataclass's fields: ``view["steps"]``, ``dict(view)``
    (the same keys and values as in ``voice.json``)."""

    def __getitem__(self, key: str) -> Any:
        if key not in self.__dataclass_fields__:  # type: ignore[attr-defined]
            raise KeyError(key)
        return getattr(self, key)

    def __iter__(self) -> Iterator[str]:
        return iter(self.__dataclass_fields__)  # type: ignore[attr-defined]

    def __len__(self) -> int:
        return len(self.__dataclass_fields__)  # type: ignore[attr-defined]

    def to_dict(self) -> dict[str, Any]:
        return dict(self)


@dataclass(frozen=True)
class AudioSettings(_FieldMapping):
    """The audio front end the voice was trained with (``voice.json:audio``); the same fields as
    :class:`emomix.config.AudioConfig`.

    Mel spectrograms are ``(n_mels, frames)``; a frame every ``hop_length`` samples at
    ``sample_rate`` Hz. The networks see ``(log(max(mel, log_floor)) - mel_mean) / mel_std``.
    """

    sample_rate: int
    n_fft: int
    hop_length: int
    win_length: int
    window: str
    n_mels: int
    f_min: float
    f_max: float
    mel_scale: str
    log_floor: float
    mel_mean: float
    mel_std: float

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> AudioSettings:
        return cls(
            sample_rate=int(d["sample_rate"]),
            n_fft=int(d["n_fft"]),
            hop_length=int(d["hop_length"]),
            win_length=int(d["win_length"]),
            window=str(d["window"]),
            n_mels=int(d["n_mels"]),
            f_min=float(d["f_min"]),
            f_max=float(d["f_max"]),
            mel_scale=str(d["mel_scale"]),
            log_floor=float(d["log_floor"]),
            mel_mean=float(d["mel_mean"]),
            mel_std=float(d["mel_std"]),
        )


@dataclass(frozen=True)
class SamplerDefaults(_FieldMapping):
    """Default sampling settings of a voice (``voice.json:sampler``; see ``docs/sampler.md``)."""

    parameterisation: str
    steps: int
    solver: str
    k_max: float
    k_min: float
    temperature: float
    preset: str
    emotion_scale: float = 1.0
    length_scale: float = 1.0

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> SamplerDefaults:
        return cls(
            parameterisation=str(d["parameterisation"]),
            steps=int(d["steps"]),
            solver=str(d["solver"]),
            k_max=float(d["k_max"]),
            k_min=float(d["k_min"]),
            temperature=float(d["temperature"]),
            preset=str(d["preset"]),
            emotion_scale=float(d.get("emotion_scale", SAMPLER_OPTIONAL["emotion_scale"])),
            length_scale=float(d.get("length_scale", SAMPLER_OPTIONAL["length_scale"])),
        )


class Emotion(NamedTuple):
    """One emotion of a voice: ``embedding`` is ``(emotion_dim,)`` float32 (read-only), the mean
    SER embedding of many clips; ``vad`` is (valence, arousal, dominance), each in [-1, 1]."""

    embedding: np.ndarray
    vad: tuple[float, float, float]


# --------------------------------------------------------------------------------------------
# Validation


def meta_path_for(path: str | os.PathLike[str]) -> Path:
    """``path`` is a bundle directory or its ``voice.json``; returns the ``voice.json`` path."""
    p = Path(path)
    return p if p.name == META_FILE and not p.is_dir() else p / META_FILE


class _Checker:
    """Raises :class:`VoiceBundleError` naming ``voice.json`` and the dotted field."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, field: str, problem: str, hint: str | None = None) -> NoReturn:
        raise VoiceBundleError(
            problem,
            path=self.path,
            field=f"{META_FILE}:{field}" if field else META_FILE,
            hint=hint or "fix this field (or re-export the voice bundle)",
        )

    def dict_(self, obj: Any, field: str) -> dict[str, Any]:
        if not isinstance(obj, dict):
            self.fail(field, f"must be a JSON object, got {_kind(obj)}")
        return obj

    def keys(self, obj: dict[str, Any], field: str, required: tuple[str, ...]) -> None:
        missing = [k for k in required if k not in obj]
        if missing:
            where = f"{field}." if field else ""
            self.fail(
                f"{where}{missing[0]}",
                f"required key is missing (missing: {', '.join(missing)})",
                "add it, or re-export the voice bundle with this emomix",
            )

    def str_(self, obj: Any, field: str, *, choices: tuple[str, ...] = (), nonempty=True) -> str:
        if not isinstance(obj, str):
            self.fail(field, f"must be a string, got {_kind(obj)}")
        if nonempty and not obj:
            self.fail(field, "must not be empty")
        if choices and obj not in choices:
            self.fail(field, f"is {obj!r}; expected one of {', '.join(map(repr, choices))}")
        return obj

    def int_(
        self, obj: Any, field: str, *, min_value: int | None = None, max_value: int | None = None
    ) -> int:
        if isinstance(obj, bool) or not isinstance(obj, int):
            self.fail(field, f"must be an integer, got {_kind(obj)}")
        if min_value is not None and obj < min_value:
            self.fail(field, f"is {obj}; must be >= {min_value}")
        if max_value is not None and obj > max_value:
            self.fail(field, f"is {obj}; must be <= {max_value}")
        if abs(obj) > MAX_INTEGER:  # beyond what every reader holds exactly (a float64 mantissa)
            self.fail(field, f"is {obj}; integers in voice.json must be within +-{MAX_INTEGER}")
        return obj

    def num(
        self,
        obj: Any,
        field: str,
        *,
        low: float | None = None,
        high: float | None = None,
        positive: bool = False,
    ) -> float:
        if isinstance(obj, bool) or not isinstance(obj, int | float):
            self.fail(field, f"must be a number, got {_kind(obj)}")
        if not _finite(obj):
            self.fail(field, f"is {obj}; must be finite (no NaN or infinity)")
        if positive and obj <= 0:
            self.fail(field, f"is {obj}; must be > 0")
        if (low is not None and obj < low) or (high is not None and obj > high):
            self.fail(field, f"is {obj}; must be in [{low}, {high}]")
        return float(obj)

    def num_list(self, obj: Any, field: str, *, length: int | None = None) -> list[float]:
        if not isinstance(obj, list):
            self.fail(field, f"must be a list of numbers, got {_kind(obj)}")
        if length is not None and len(obj) != length:
            self.fail(field, f"has {len(obj)} values; expected {length}")
        for i, v in enumerate(obj):
            if isinstance(v, bool) or not isinstance(v, int | float):
                self.fail(f"{field}[{i}]", f"must be a number, got {_kind(v)}")
            if not _finite(v):
                self.fail(f"{field}[{i}]", f"is {v}; must be finite (no NaN or infinity)")
        return [float(v) for v in obj]


def _finite(v: int | float) -> bool:
    """Finite as a float64: an integer too large for one (1e400 written out) is not."""
    try:
        return math.isfinite(v)
    except OverflowError:
        return False


def _kind(obj: Any) -> str:
    names = {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}
    if obj is None:
        return "null"
    for t, n in names.items():
        if type(obj) is t:
            return n
    if isinstance(obj, int | float):
        return f"the number {obj}"
    return type(obj).__name__


def validate_meta(meta: Any, path: str | os.PathLike[str]) -> None:
    """Check parsed ``voice.json`` contents; raise :class:`VoiceBundleError` at the first fault.

    ``path`` is the bundle directory (or its ``voice.json``) and is used only in error messages.
    Checks the structure, types, ranges and internal consistency of every section; it does not
    touch the files listed in ``files`` (``load_bundle`` does).
    """
    _validate(meta, meta_path_for(path), require_files=True)


def _validate(meta: Any, path: Path, *, require_files: bool) -> None:
    c = _Checker(path)
    c.dict_(meta, "")

    if "format" not in meta:
        c.fail(
            "format",
            f'required key is missing; a voice bundle\'s voice.json has "format": "{FORMAT}"',
            "check that this is an emomix voice bundle",
        )
    if meta["format"] != FORMAT:
        c.fail(
            "format",
            f"is {meta['format']!r}; expected {FORMAT!r}",
            "this is not an emomix voice bundle; point emomix at a voice bundle directory",
        )
    if "format_version" not in meta:
        c.fail(
            "format_version",
            "required key is missing",
            f"re-export the voice with this emomix (format_version {FORMAT_VERSION})",
        )
    version = meta["format_version"]
    c.int_(version, "format_version", min_value=OLDEST_FORMAT_VERSION)
    if version > FORMAT_VERSION:
        c.fail(
            "format_version",
            f"is {version}, newer than this emomix reads (format_version {FORMAT_VERSION})",
            f"upgrade emomix, or re-export the voice with format_version {FORMAT_VERSION}",
        )

    required = TOP_LEVEL_KEYS if require_files else tuple(k for k in TOP_LEVEL_KEYS if k != "files")
    c.keys(meta, "", required)
    c.str_(meta["name"], "name")
    c.str_(meta["description"], "description", nonempty=False)

    config = _validate_model(c, meta["model"])
    _validate_audio(c, meta["audio"], config)
    _validate_symbols(c, meta["symbols"], config)
    _validate_speakers(c, meta["speakers"], config)
    if "default_speaker" in meta:  # optional: who speaks when a call names no speaker
        name = c.str_(meta["default_speaker"], "default_speaker")
        if name not in meta["speakers"]:
            c.fail("default_speaker", f"is {name!r}, which is not one of the speakers "
                   f"({', '.join(meta['speakers'])})", "name one of them, or drop the key")
    _validate_emotions(c, meta["emotions"], config)
    _validate_sampler(c, meta["sampler"], meta["model"]["parameterisation"])
    if require_files or "files" in meta:
        _validate_files(c, meta["files"])
    c.dict_(meta["provenance"], "provenance")


def _validate_model(c: _Checker, model: Any) -> dict[str, Any]:
    c.dict_(model, "model")
    c.keys(model, "model", MODEL_KEYS)
    c.str_(model["family"], "model.family", choices=(MODEL_FAMILY,))
    p = c.str_(model["parameterisation"], "model.parameterisation", choices=PARAMETERISATIONS)
    # The config is emomix.config.ModelConfig.to_dict(), opaque here except for the keys that
    # other sections of voice.json must agree with.
    config = c.dict_(model["config"], "model.config")
    for key in CONFIG_POSITIVE_INTEGERS:
        if key in config:
            c.int_(config[key], f"model.config.{key}", min_value=1)
    if "parameterisation" in config and config["parameterisation"] != p:
        c.fail(
            "model.config.parameterisation",
            f"is {config['parameterisation']!r} but model.parameterisation is {p!r}",
            "the two must agree; re-export the voice",
        )
    if "audio" in config:
        c.dict_(config["audio"], "model.config.audio")
    # A score voice's noise rate (docs/sampler.md); 0.05 and 20 when absent.
    betas = {}
    for key in ("beta_min", "beta_max"):
        if key in config:
            betas[key] = c.num(config[key], f"model.config.{key}", positive=True)
    if len(betas) == 2 and betas["beta_min"] >= betas["beta_max"]:
        c.fail(
            "model.config.beta_min",
            f"is {betas['beta_min']}, not below model.config.beta_max ({betas['beta_max']})",
            "use 0 < beta_min < beta_max",
        )
    if "pitch" in config:
        _validate_pitch(c, config["pitch"])
    return config


def _validate_pitch(c: _Checker, pitch: Any) -> None:
    """``model.config.pitch``: absent, or ``enabled: false``, means no pitch predictor."""
    field = "model.config.pitch"
    c.dict_(pitch, field)
    enabled = pitch.get("enabled", False)
    if not isinstance(enabled, bool):
        c.fail(f"{field}.enabled", f"must be true or false, got {_kind(enabled)}")
    if not enabled:
        return
    c.keys(pitch, field, PITCH_KEYS)
    c.int_(pitch["hidden"], f"{field}.hidden", min_value=1, max_value=PITCH_SIZE_MAX)
    kernel = c.int_(pitch["kernel"], f"{field}.kernel", min_value=1, max_value=PITCH_SIZE_MAX)
    if kernel % 2 == 0:
        c.fail(f"{field}.kernel", f"is {kernel}; must be odd ('same' padding)")
    c.num(pitch["harmonic_floor"], f"{field}.harmonic_floor", positive=True)
    low, high = ENVELOPE_SIGMA_RANGE
    c.num(pitch["envelope_sigma"], f"{field}.envelope_sigma", low=low, high=high)
    f0_min = c.num(pitch["f0_min"], f"{field}.f0_min", positive=True)
    f0_max = c.num(pitch["f0_max"], f"{field}.f0_max")
    if f0_max <= f0_min:
        c.fail(f"{field}.f0_max", f"is {f0_max:g} Hz, not above f0_min ({f0_min:g} Hz)",
               "use 0 < f0_min < f0_max")


def _validate_audio(c: _Checker, audio: Any, config: dict[str, Any]) -> None:
    c.dict_(audio, "audio")
    c.keys(audio, "audio", AUDIO_KEYS)
    size = {"min_value": 1, "max_value": AUDIO_SIZE_MAX}
    sr = c.int_(audio["sample_rate"], "audio.sample_rate", **size)
    n_fft = c.int_(audio["n_fft"], "audio.n_fft", **size)
    hop = c.int_(audio["hop_length"], "audio.hop_length", **size)
    win = c.int_(audio["win_length"], "audio.win_length", **size)
    if hop > n_fft:
        c.fail(
            "audio.hop_length",
            f"is {hop}, larger than audio.n_fft ({n_fft}); frames would skip samples",
            "use hop_length <= win_length <= n_fft",
        )
    if win > n_fft:
        c.fail(
            "audio.win_length",
            f"is {win}, larger than audio.n_fft ({n_fft})",
            "use hop_length <= win_length <= n_fft",
        )
    if hop > win:
        c.fail(
            "audio.hop_length",
            f"is {hop}, larger than audio.win_length ({win}); frames would skip samples",
            "use hop_length <= win_length <= n_fft",
        )
    c.str_(audio["window"], "audio.window", choices=WINDOWS)
    c.int_(audio["n_mels"], "audio.n_mels", **size)
    f_min = c.num(audio["f_min"], "audio.f_min", low=0.0)
    f_max = c.num(audio["f_max"], "audio.f_max", positive=True)
    if f_max > sr / 2:
        c.fail(
            "audio.f_max",
            f"is {f_max:g} Hz, above the Nyquist frequency sample_rate/2 = {sr / 2:g} Hz",
            "use f_max <= sample_rate / 2",
        )
    if f_min >= f_max:
        c.fail(
            "audio.f_min",
            f"is {f_min:g} Hz, not below audio.f_max ({f_max:g} Hz)",
            "use f_min < f_max",
        )
    c.str_(audio["mel_scale"], "audio.mel_scale", choices=MEL_SCALES)
    c.num(audio["log_floor"], "audio.log_floor", positive=True)
    c.num(audio["mel_mean"], "audio.mel_mean")
    c.num(audio["mel_std"], "audio.mel_std", positive=True)

    # The model was trained on features made with model.config.audio: both copies must agree.
    model_audio = config.get("audio")
    if isinstance(model_audio, dict):
        for key in AUDIO_KEYS:
            if key in model_audio and model_audio[key] != audio[key]:
                c.fail(
                    f"audio.{key}",
                    f"is {audio[key]!r} but model.config.audio.{key} is {model_audio[key]!r}",
                    "the audio config and the model must agree; re-export the voice",
                )


def _validate_symbols(c: _Checker, symbols: Any, config: dict[str, Any]) -> None:
    c.dict_(symbols, "symbols")
    c.keys(symbols, "symbols", SYMBOLS_KEYS)
    table = symbols["table"]
    if not isinstance(table, list) or not table:
        c.fail("symbols.table", f"must be a non-empty list of symbols, got {_kind(table)}")
    seen: dict[str, int] = {}
    for i, s in enumerate(table):
        c.str_(s, f"symbols.table[{i}]")
        if s in seen:
            c.fail(
                f"symbols.table[{i}]",
                f"symbol {s!r} is a duplicate of id {seen[s]}; every symbol must map to one id",
                "re-export the voice",
            )
        seen[s] = i
    if table[0] != PAD_SYMBOL:
        c.fail(
            "symbols.table[0]",
            f"is {table[0]!r}; the pad symbol {PAD_SYMBOL!r} must have id 0",
            "re-export the voice with the pad symbol first",
        )
    if "n_symbols" in config and len(table) > config["n_symbols"]:
        c.fail(
            "symbols.table",
            f"has {len(table)} symbols but model.config.n_symbols is {config['n_symbols']}",
            "the symbol table and the model must agree",
        )
    c.str_(symbols["language"], "symbols.language")


def _validate_speakers(c: _Checker, speakers: Any, config: dict[str, Any]) -> None:
    c.dict_(speakers, "speakers")
    if not speakers:
        c.fail("speakers", "is empty; a voice has at least one speaker")
    by_id: dict[int, str] = {}
    for name, sid in speakers.items():
        if not name:
            c.fail("speakers", "has an empty speaker name")
        c.int_(sid, f"speakers.{name}", min_value=0)
        if sid in by_id:
            c.fail(
                f"speakers.{name}",
                f"id {sid} is also used by speaker {by_id[sid]!r}; speaker ids must be unique",
            )
        by_id[sid] = name
    n = len(speakers)
    for name, sid in speakers.items():
        if sid >= n:
            c.fail(
                f"speakers.{name}",
                f"id {sid} is out of range; the {n} speakers must have the ids 0..{n - 1}",
            )
    if "n_speakers" in config and n > config["n_speakers"]:
        c.fail(
            "speakers",
            f"lists {n} speakers but model.config.n_speakers is {config['n_speakers']}",
            "the speakers and the model must agree",
        )


def _validate_emotions(c: _Checker, emotions: Any, config: dict[str, Any]) -> None:
    c.dict_(emotions, "emotions")
    for required in REQUIRED_EMOTIONS:
        if required not in emotions:
            c.fail(
                f"emotions.{required}",
                f"is missing; every voice needs a {required!r} emotion (the "
                "reference for intensity and the default state)",
                f"add a {required} emotion and re-export the voice",
            )
    dim = config.get("emotion_dim")
    ref = f"model.config.emotion_dim is {dim}"
    # the required ones (neutral) first, so a length mismatch names the odd one out.
    first = list(REQUIRED_EMOTIONS)
    for name in [*first, *(k for k in emotions if k not in first)]:
        field = f"emotions.{name}"
        if not name:
            c.fail("emotions", "has an empty emotion name")
        entry = c.dict_(emotions[name], field)
        c.keys(entry, field, EMOTION_KEYS)
        emb = entry["embedding"]
        if not isinstance(emb, list) or not emb:
            c.fail(f"{field}.embedding", f"must be a non-empty list of numbers, got {_kind(emb)}")
        if dim is not None and len(emb) != dim:
            c.fail(
                f"{field}.embedding",
                f"has {len(emb)} values but {ref}; every emotion "
                "embedding must have emotion_dim values",
                "re-export the voice",
            )
        c.num_list(emb, f"{field}.embedding")
        if dim is None:
            dim, ref = len(emb), f"emotions.{name}.embedding has {len(emb)}"
        vad = entry["vad"]
        c.num_list(vad, f"{field}.vad", length=len(VAD_AXES))
        low, high = VAD_RANGE
        for i, (axis, v) in enumerate(zip(VAD_AXES, vad, strict=True)):
            if not low <= v <= high:
                c.fail(f"{field}.vad[{i}]", f"{axis} is {v}; must be in [{low:g}, {high:g}]")


def _validate_sampler(c: _Checker, sampler: Any, parameterisation: str) -> None:
    c.dict_(sampler, "sampler")
    c.keys(sampler, "sampler", SAMPLER_KEYS)
    p = c.str_(sampler["parameterisation"], "sampler.parameterisation", choices=PARAMETERISATIONS)
    if p != parameterisation:
        c.fail(
            "sampler.parameterisation",
            f"is {p!r} but model.parameterisation is {parameterisation!r}",
            "the sampler must match the model",
        )
    c.int_(sampler["steps"], "sampler.steps", min_value=STEPS_RANGE[0], max_value=STEPS_RANGE[1])
    c.str_(sampler["solver"], "sampler.solver", choices=SOLVERS[p])
    k_max = c.num(sampler["k_max"], "sampler.k_max", low=K_RANGE[0], high=K_RANGE[1])
    k_min = c.num(sampler["k_min"], "sampler.k_min", low=K_RANGE[0], high=K_RANGE[1])
    if k_min > k_max:
        c.fail(
            "sampler.k_min",
            f"is {k_min}, above sampler.k_max ({k_max})",
            "use 0 <= k_min <= k_max <= 1",
        )
    c.num(sampler["temperature"], "sampler.temperature", positive=True)
    c.str_(sampler["preset"], "sampler.preset", choices=PRESETS)
    if "emotion_scale" in sampler:
        low, high = EMOTION_SCALE_RANGE
        c.num(sampler["emotion_scale"], "sampler.emotion_scale", low=low, high=high)
    if "length_scale" in sampler:
        low, high = LENGTH_SCALE_RANGE
        c.num(sampler["length_scale"], "sampler.length_scale", low=low, high=high)


def check_relative_path(rel: str) -> str | None:
    """Why ``rel`` is not a safe bundle-relative POSIX path, or ``None`` when it is."""
    if not isinstance(rel, str) or not rel:
        return "must be a non-empty relative path"
    if "\\" in rel or rel.startswith("/") or re.match(r"^[A-Za-z]:", rel):
        return "must be a relative POSIX path (forward slashes, no drive or leading '/')"
    if any(p in ("", ".", "..") for p in rel.split("/")):
        return "must not contain '.', '..' or empty components"
    if rel == META_FILE:
        return "voice.json cannot list its own hash"
    return None


def _validate_files(c: _Checker, files: Any) -> None:
    c.dict_(files, "files")
    if WEIGHTS_FILE not in files:
        c.fail(
            f"files.{WEIGHTS_FILE}",
            "is missing; every bundle lists its weights file",
            "re-export the voice",
        )
    for rel, entry in files.items():
        field = f"files.{rel}"
        why = check_relative_path(rel)
        if why:
            c.fail(field, f"path {rel!r} {why}")
        c.dict_(entry, field)
        c.keys(entry, field, FILE_KEYS)
        digest = entry["sha256"]
        if not isinstance(digest, str) or not _SHA256_RE.fullmatch(digest):
            c.fail(f"{field}.sha256", "must be 64 lowercase hex digits")
        c.int_(entry["bytes"], f"{field}.bytes", min_value=0)
