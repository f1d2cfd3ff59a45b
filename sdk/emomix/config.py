"""Hyperparameters of every emomix network, as plain dataclasses.

This module is the single source of truth for model shapes: the training code builds the torch
modules from a :class:`ModelConfig`, the bundle writer stores ``ModelConfig.to_dict()`` in
``voice.json``, and every runtime (ONNX, native) reads the same dictionary back with
:meth:`ModelConfig.from_dict`. It must not import torch: non-torch backends read it.

Every config class has

- ``to_dict()``: a JSON-ready ``dict`` (tuples become lists, nested configs become dicts);
- ``from_dict(d)``: the inverse; missing keys take their defaults, an unknown key is rejected with
  a :class:`ValueError` that names it (``model.denoiser.chanels``), and values of the wrong type are
  rejected with the field's path;
- ``validate()``: raises :class:`ValueError` with a message that names the field and says what is
  allowed. ``from_dict`` does not validate; call ``validate()`` (``ModelConfig.validate`` checks the
  nested configs and the constraints between them).
"""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass, field
from typing import Any, TypeVar

from ._schema import PARAMETERISATIONS as PARAMETERISATIONS  # the voice schema's (schema.json)
from ._schema import SCHEMA as _SCHEMA

__all__ = [
    "AudioConfig",
    "EncoderConfig",
    "DenoiserConfig",
    "VocoderConfig",
    "SERConfig",
    "PitchConfig",
    "ModelConfig",
    "PARAMETERISATIONS",
]

_C = TypeVar("_C", bound="_Config")


def _fail(path: str, message: str) -> ValueError:
    return ValueError(f"{path}: {message}")


def _coerce(value: Any, hint: Any, path: str) -> Any:
    """Convert a JSON value to the field type ``hint`` (a resolved type hint) or raise."""
    origin = typing.get_origin(hint)
    if isinstance(hint, type) and issubclass(hint, _Config):
        if not isinstance(value, dict):
            raise _fail(path, f"expected a mapping for {hint.__name__}, got {type(value).__name__}")
        return hint._from_dict(value, path)
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            raise _fail(path, f"expected a list, got {type(value).__name__}")
        args = typing.get_args(hint)
        item = args[0] if args else Any
        return tuple(_coerce(v, item, f"{path}[{i}]") for i, v in enumerate(value))
    if hint is bool:
        if not isinstance(value, bool):
            raise _fail(path, f"expected true/false, got {value!r}")
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise _fail(path, f"expected an integer, got {value!r}")
        return value
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise _fail(path, f"expected a number, got {value!r}")
        return float(value)
    if hint is str:
        if not isinstance(value, str):
            raise _fail(path, f"expected a string, got {value!r}")
        return value
    return value


class _Config:
    """Shared ``to_dict`` / ``from_dict`` for the config dataclasses."""

    _name: typing.ClassVar[str] = "config"

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            v = getattr(self, f.name)
            if isinstance(v, _Config):
                v = v.to_dict()
            elif isinstance(v, tuple):
                v = list(v)
            out[f.name] = v
        return out

    @classmethod
    def from_dict(cls: type[_C], d: dict[str, Any]) -> _C:
        """Build from a dict such as ``to_dict()`` made; missing keys take their defaults."""
        return cls._from_dict(d, cls._name)

    @classmethod
    def _from_dict(cls: type[_C], d: dict[str, Any], path: str) -> _C:
        if not isinstance(d, dict):
            raise _fail(path, f"expected a mapping, got {type(d).__name__}")
        hints = typing.get_type_hints(cls)
        names = [f.name for f in dataclasses.fields(cls)]  # type: ignore[arg-type]
        for key in d:
            if key not in names:
                raise _fail(
                    f"{path}.{key}",
                    f"unknown key {key!r} for {cls.__name__} (known keys: {', '.join(names)})",
                )
        kwargs = {k: _coerce(v, hints[k], f"{path}.{k}") for k, v in d.items()}
        return cls(**kwargs)

    def validate(self) -> None:  # pragma: no cover - overridden everywhere
        raise NotImplementedError


def _positive(path: str, **values: float) -> None:
    for name, v in values.items():
        if not v > 0:
            raise _fail(f"{path}.{name}", f"must be > 0, got {v!r}")


def _odd(path: str, **values: int) -> None:
    for name, v in values.items():
        if v % 2 == 0:
            raise _fail(f"{path}.{name}", f"must be odd ('same' padding), got {v}")


def _in_range(path: str, name: str, v: float, lo: float, hi: float) -> None:
    if not lo <= v <= hi:
        raise _fail(f"{path}.{name}", f"must be in [{lo}, {hi}], got {v!r}")


@dataclass
class AudioConfig(_Config):
    """How waveforms become (normalised) log-mel spectrograms and back.

    ``log-mel = log(max(mel, log_floor))`` with an STFT of ``n_fft`` points, a periodic ``window``
    of ``win_length`` samples and ``hop_length`` samples between frames, a ``mel_scale`` filterbank
    (``"slaney"`` or ``"htk"``) of ``n_mels`` bands over ``[f_min, f_max]`` Hz. The networks see
    ``(log-mel - mel_mean) / mel_std``; the two statistics are refitted on the training data.
    One mel frame covers ``hop_length`` samples (22050 / 256 ≈ 86.1 frames per second).
    """

    _name: typing.ClassVar[str] = "audio"

    sample_rate: int = 22050
    n_fft: int = 1024
    hop_length: int = 256
    win_length: int = 1024
    window: str = "hann"
    n_mels: int = 80
    f_min: float = 0.0
    f_max: float = 8000.0
    mel_scale: str = "slaney"
    log_floor: float = 1e-5
    mel_mean: float = -5.5
    mel_std: float = 2.2

    def validate(self) -> None:
        p = self._name
        _positive(
            p,
            sample_rate=self.sample_rate,
            n_fft=self.n_fft,
            hop_length=self.hop_length,
            win_length=self.win_length,
            n_mels=self.n_mels,
            log_floor=self.log_floor,
            mel_std=self.mel_std,
        )
        if self.win_length > self.n_fft:
            raise _fail(
                f"{p}.win_length", f"must be <= n_fft ({self.n_fft}), got {self.win_length}"
            )
        if self.hop_length > self.win_length:
            raise _fail(
                f"{p}.hop_length",
                f"must be <= win_length ({self.win_length}), got {self.hop_length}",
            )
        if self.window != "hann":
            raise _fail(f"{p}.window", f"only 'hann' is supported, got {self.window!r}")
        if self.mel_scale not in ("slaney", "htk"):
            raise _fail(f"{p}.mel_scale", f"must be 'slaney' or 'htk', got {self.mel_scale!r}")
        if not 0.0 <= self.f_min < self.f_max <= self.sample_rate / 2:
            raise _fail(
                f"{p}.f_max",
                "need 0 <= f_min < f_max <= sample_rate / 2, got "
                f"f_min={self.f_min}, f_max={self.f_max}, sample_rate={self.sample_rate}",
            )

    @property
    def frames_per_second(self) -> float:
        return self.sample_rate / self.hop_length


@dataclass
class EncoderConfig(_Config):
    """Text encoder: phoneme embedding → conv prenet → transformer → μ; duration predictor.

    Positions are sinusoidal (added after the prenet with a learned scale). The transformer is
    pre-norm with ``n_layers`` blocks of ``n_heads``-head self-attention and a ``ffn_dim``
    feed-forward whose first layer is a convolution of width ``ffn_kernel``. The duration
    predictor sees the (gradient-stopped) encoder states plus a projection of (speaker, emotion)
    and predicts log frame counts.
    """

    _name: typing.ClassVar[str] = "encoder"

    hidden: int = 192
    prenet_layers: int = 3
    prenet_kernel: int = 3
    n_layers: int = 4
    n_heads: int = 2
    ffn_dim: int = 384
    ffn_kernel: int = 1
    dropout: float = 0.1
    dp_hidden: int = 192
    dp_kernel: int = 3
    dp_dropout: float = 0.1

    def validate(self) -> None:
        p = self._name
        _positive(
            p,
            hidden=self.hidden,
            n_layers=self.n_layers,
            n_heads=self.n_heads,
            ffn_dim=self.ffn_dim,
            ffn_kernel=self.ffn_kernel,
            dp_hidden=self.dp_hidden,
            dp_kernel=self.dp_kernel,
            prenet_kernel=self.prenet_kernel,
        )
        if self.prenet_layers < 0:
            raise _fail(f"{p}.prenet_layers", f"must be >= 0, got {self.prenet_layers}")
        if self.hidden % self.n_heads:
            raise _fail(f"{p}.n_heads", f"must divide hidden ({self.hidden}), got {self.n_heads}")
        _odd(p, prenet_kernel=self.prenet_kernel, ffn_kernel=self.ffn_kernel,
             dp_kernel=self.dp_kernel)
        _in_range(p, "dropout", self.dropout, 0.0, 0.9)
        _in_range(p, "dp_dropout", self.dp_dropout, 0.0, 0.9)


@dataclass
class DenoiserConfig(_Config):
    """The 1-D U-Net ``D(x, t, μ, c)`` over mel frames.

    ``channels[i]`` is the width of level ``i``; each level below the first halves the frame rate,
    so inputs are padded internally to a multiple of ``2 ** (len(channels) - 1)`` frames.
    ``n_res_blocks`` residual blocks per level (on the way down and up), ``n_transformer_blocks``
    transformer blocks of ``n_heads`` heads at the lowest level. ``t`` is embedded sinusoidally at
    ``t * time_scale`` with ``time_embed_dim`` features; (t, emotion, speaker) are mixed into a
    ``cond_dim`` vector that scales and shifts (FiLM) every block.
    """

    _name: typing.ClassVar[str] = "denoiser"

    channels: tuple[int, ...] = (64, 128)
    n_res_blocks: int = 1
    n_transformer_blocks: int = 1
    n_heads: int = 2
    ffn_mult: int = 2
    kernel_size: int = 3
    time_embed_dim: int = 64
    time_scale: float = 1000.0
    cond_dim: int = 128
    dropout: float = 0.0

    def validate(self) -> None:
        p = self._name
        if not self.channels:
            raise _fail(f"{p}.channels", "needs at least one level")
        for i, c in enumerate(self.channels):
            if c <= 0:
                raise _fail(f"{p}.channels[{i}]", f"must be > 0, got {c}")
        _positive(
            p,
            n_heads=self.n_heads,
            ffn_mult=self.ffn_mult,
            kernel_size=self.kernel_size,
            time_embed_dim=self.time_embed_dim,
            time_scale=self.time_scale,
            cond_dim=self.cond_dim,
            n_res_blocks=self.n_res_blocks,
        )
        if self.n_transformer_blocks < 0:
            raise _fail(
                f"{p}.n_transformer_blocks", f"must be >= 0, got {self.n_transformer_blocks}"
            )
        if self.channels[-1] % self.n_heads:
            raise _fail(
                f"{p}.n_heads",
                f"must divide the lowest level's channels ({self.channels[-1]}), "
                f"got {self.n_heads}",
            )
        _odd(p, kernel_size=self.kernel_size)
        if self.time_embed_dim % 2:
            raise _fail(f"{p}.time_embed_dim", f"must be even, got {self.time_embed_dim}")
        _in_range(p, "dropout", self.dropout, 0.0, 0.9)

    @property
    def frame_multiple(self) -> int:
        """Frames are padded internally to a multiple of this."""
        return 2 ** (len(self.channels) - 1)


@dataclass
class VocoderConfig(_Config):
    """Vocos-style vocoder: ConvNeXt blocks at frame rate → magnitude and phase → iSTFT.

    The iSTFT uses the audio config's ``n_fft`` / ``hop_length`` / window ("same" padding, so
    ``F`` frames give ``F * hop_length`` samples). ``log_mag_max`` clips the predicted log
    magnitude before ``exp`` (4.6 ≈ ln 100: magnitudes at most 100, as in Vocos).
    """

    _name: typing.ClassVar[str] = "vocoder"

    dim: int = 128
    intermediate_dim: int = 384
    n_layers: int = 8
    kernel_size: int = 7
    input_kernel: int = 7
    layer_scale_init: float = 0.125
    log_mag_max: float = 4.6

    def validate(self) -> None:
        p = self._name
        _positive(
            p,
            dim=self.dim,
            intermediate_dim=self.intermediate_dim,
            n_layers=self.n_layers,
            kernel_size=self.kernel_size,
            input_kernel=self.input_kernel,
            layer_scale_init=self.layer_scale_init,
            log_mag_max=self.log_mag_max,
        )
        _odd(p, kernel_size=self.kernel_size, input_kernel=self.input_kernel)


@dataclass
class SERConfig(_Config):
    """Speech-emotion recogniser (EmoMix / Chen et al. 2018 "3-D ACRNN", reduced).

    (log-mel, Δ, ΔΔ) as 3 channels → ``len(cnn_channels)`` conv blocks over (freq, time), each
    halving frequency → per-frame linear to ``lstm_input`` → BLSTM of ``lstm_hidden`` units per
    direction → attention pooling (``attention_dim``) → emotion embedding (``ModelConfig
    .emotion_dim``) and classifier logits (``ModelConfig.n_emotions``).
    """

    _name: typing.ClassVar[str] = "ser"

    cnn_channels: tuple[int, ...] = (16, 32, 32)
    cnn_kernel: int = 3
    delta_width: int = 5
    lstm_input: int = 128
    lstm_hidden: int = 128
    attention_dim: int = 64
    dropout: float = 0.1

    def validate(self) -> None:
        p = self._name
        if not self.cnn_channels:
            raise _fail(f"{p}.cnn_channels", "needs at least one conv block")
        for i, c in enumerate(self.cnn_channels):
            if c <= 0:
                raise _fail(f"{p}.cnn_channels[{i}]", f"must be > 0, got {c}")
        _positive(
            p,
            cnn_kernel=self.cnn_kernel,
            delta_width=self.delta_width,
            lstm_input=self.lstm_input,
            lstm_hidden=self.lstm_hidden,
            attention_dim=self.attention_dim,
        )
        _odd(p, cnn_kernel=self.cnn_kernel, delta_width=self.delta_width)
        if self.delta_width < 3:
            raise _fail(f"{p}.delta_width", f"must be >= 3, got {self.delta_width}")
        _in_range(p, "dropout", self.dropout, 0.0, 0.9)


@dataclass
class PitchConfig(_Config):
    """The pitch predictor and the harmonic rendering of the mel (``docs/sampler.md``).

    When ``enabled``, the text encoder has a second head shaped like the duration predictor
    (two conv blocks of ``hidden`` channels, width ``kernel``, on the gradient-stopped encoder
    states plus a projection of (speaker, emotion)) that predicts, per phoneme, ``ln(F0 / 100 Hz)``
    and a voicing logit. After the sampler, each mel frame's spectral envelope (the mel smoothed
    across bands with a Gaussian of ``envelope_sigma`` bands) gets the harmonic fine structure of
    its F0 (a comb of Hann-window main lobes at multiples of F0, through the mel filterbank, with
    ``harmonic_floor`` of noise between harmonics), scaled by the frame's voicing. F0 is clamped
    to ``[f0_min, f0_max]`` Hz. A voice without the head renders the sampler's mel as it is.
    """

    _name: typing.ClassVar[str] = "pitch"

    enabled: bool = False
    hidden: int = 192
    kernel: int = 3
    dropout: float = 0.1
    harmonic_floor: float = 0.05
    envelope_sigma: float = 2.0
    f0_min: float = 60.0
    f0_max: float = 500.0

    def validate(self) -> None:
        p = self._name
        _positive(p, hidden=self.hidden, kernel=self.kernel, harmonic_floor=self.harmonic_floor,
                  f0_min=self.f0_min)
        _odd(p, kernel=self.kernel)
        _in_range(p, "dropout", self.dropout, 0.0, 0.9)
        _in_range(p, "envelope_sigma", self.envelope_sigma,
                  *_SCHEMA["pitch"]["envelope_sigma_range"])
        if not self.f0_min < self.f0_max:
            raise _fail(f"{p}.f0_max", f"must be > f0_min ({self.f0_min}), got {self.f0_max}")


@dataclass
class ModelConfig(_Config):
    """Everything needed to build a :class:`emomix.models.VoiceModel`.

    ``parameterisation`` selects what the denoiser predicts (see ``docs/sampler.md``): ``"flow"``
    (velocity ``v = ε − x_data`` on ``x_τ = (1 − τ) x_data + τ ε``) or ``"score"`` (Grad-TTS SDE
    with ``β(t) = beta_min + (beta_max − beta_min) t``). The architecture is the same for both.
    """

    _name: typing.ClassVar[str] = "model"

    n_symbols: int = 100
    n_speakers: int = 1
    emotion_dim: int = 64
    speaker_dim: int = 64
    n_emotions: int = 5
    parameterisation: str = "flow"
    beta_min: float = 0.05
    beta_max: float = 20.0
    audio: AudioConfig = field(default_factory=AudioConfig)
    encoder: EncoderConfig = field(default_factory=EncoderConfig)
    denoiser: DenoiserConfig = field(default_factory=DenoiserConfig)
    vocoder: VocoderConfig = field(default_factory=VocoderConfig)
    ser: SERConfig = field(default_factory=SERConfig)
    pitch: PitchConfig = field(default_factory=PitchConfig)

    def validate(self) -> None:
        p = self._name
        _positive(
            p,
            n_symbols=self.n_symbols,
            n_speakers=self.n_speakers,
            emotion_dim=self.emotion_dim,
            speaker_dim=self.speaker_dim,
            n_emotions=self.n_emotions,
        )
        if self.parameterisation not in PARAMETERISATIONS:
            raise _fail(
                f"{p}.parameterisation",
                f"must be one of {PARAMETERISATIONS}, got {self.parameterisation!r}",
            )
        if not 0 < self.beta_min < self.beta_max:
            raise _fail(
                f"{p}.beta_min",
                "need 0 < beta_min < beta_max, got "
                f"beta_min={self.beta_min}, beta_max={self.beta_max}",
            )
        for sub in (self.audio, self.encoder, self.denoiser, self.vocoder, self.ser, self.pitch):
            sub.validate()
        a = self.audio
        if a.win_length != a.n_fft:
            raise _fail(
                f"{p}.audio.win_length",
                f"the vocoder's iSTFT needs win_length == n_fft ({a.n_fft}), got {a.win_length}",
            )
        if a.n_fft % a.hop_length:
            raise _fail(
                f"{p}.audio.hop_length",
                f"the vocoder's overlap-add needs hop_length to divide n_fft ({a.n_fft}), "
                f"got {a.hop_length}",
            )
        if (a.n_fft - a.hop_length) % 2:
            raise _fail(
                f"{p}.audio.hop_length", "n_fft - hop_length must be even ('same' iSTFT padding)"
            )
        n_pool = len(self.ser.cnn_channels)
        if a.n_mels < 2**n_pool:
            raise _fail(
                f"{p}.ser.cnn_channels",
                f"{n_pool} conv blocks halve frequency {n_pool} times; n_mels ({a.n_mels}) "
                f"must be >= {2**n_pool}",
            )
