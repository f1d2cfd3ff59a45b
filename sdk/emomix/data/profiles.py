"""Speakers and emotion prosody profiles of the generated corpus.

A *speaker* is an espeak-ng language voice (accent) with the timbre of one of espeak's voice
variants (formants, breath, creak) and its own base pitch, pitch range and speaking rate.
An *emotion profile* scales the speaker's pitch level, pitch range and rate, sets the loudness,
and changes voice quality: espeak's flutter (jitter), roughness (creak), breath and consonant
strength, the intonation tunes, plus a soft-clip drive (tense, harsh voice) and a spectral tilt
(bright or dull) applied to the waveform. The numbers follow the usual acoustic correlates of the
basic emotions (Scherer 2003; Murray & Arnott 1993): happy higher, wider, faster; sad lower,
narrower, slower, quieter, duller; angry louder, faster, tense and bright; surprise highest and
widest; neutral in the middle.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

__all__ = [
    "DEFAULT_PROFILES",
    "ESD_EMOTION_NAMES",
    "EmotionProfile",
    "SpeakerVoice",
    "default_speakers",
    "variant_lines",
]

#: emomix emotion name → the emotion folder name ESD uses.
ESD_EMOTION_NAMES: dict[str, str] = {
    "neutral": "Neutral",
    "angry": "Angry",
    "happy": "Happy",
    "sad": "Sad",
    "surprise": "Surprise",
}


@dataclass(frozen=True)
class SpeakerVoice:
    """One generated speaker.

    Attributes:
        speaker_id: four digits, as ESD names speakers (``"0001"``).
        accent: the accent's language tag, e.g. ``"en-us"``, ``"en-gb-scotland"``.
        espeak_voice: espeak-ng voice file of that accent, e.g. ``"gmw/en-US"``. (A file name,
            not the language tag: espeak-ng 1.51 ignores ``+variant`` after ``-v en-gb``.)
        variant: espeak-ng voice variant whose timbre is copied, e.g. ``"m3"``, ``"f2"``.
        gender: ``"male"`` or ``"female"``.
        pitch_hz: base pitch of the neutral voice (espeak's ``pitch`` first value), Hz.
        range_hz: pitch range of the neutral voice (espeak's ``pitch`` top minus base), Hz.
        rate_wpm: neutral speaking rate, words per minute (espeak ``-s``).
    """

    speaker_id: str
    accent: str
    espeak_voice: str
    variant: str
    gender: str
    pitch_hz: float
    range_hz: float
    rate_wpm: int

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


@dataclass(frozen=True)
class EmotionProfile:
    """How one emotion changes a speaker's voice. Scales multiply the speaker's neutral values.

    Attributes:
        name: emomix emotion name.
        pitch_scale: × the speaker's base pitch.
        range_scale: × the speaker's pitch range (espeak's ``pitch`` top − base).
        rate_scale: × the speaker's words per minute.
        level_db: RMS level of the speech in dBFS after rendering (loudness).
        word_gap: extra pause between words, 10 ms units (espeak ``-g``).
        flutter: espeak ``flutter`` (pitch jitter); ``None`` keeps the variant's.
        roughness: espeak ``roughness`` 0–7 (creak); ``None`` keeps the variant's.
        breath: espeak ``breath`` values (breathiness); empty keeps the variant's.
        consonants: espeak ``consonants`` strengths (unvoiced, voiced) in %.
        tunes: espeak intonation tunes for clauses ending in ``. , ? !``.
        drive: soft-clip drive (0 = none); a tense, pressed voice.
        tilt_db: gain of the band above 2 kHz in dB (> 0 bright/tense, < 0 dull/soft).
        jitter: per-utterance random spread (fraction) of pitch, rate and level.
    """

    name: str
    pitch_scale: float
    range_scale: float
    rate_scale: float
    level_db: float
    word_gap: int = 0
    flutter: int | None = None
    roughness: int | None = None
    breath: tuple[int, ...] = ()
    consonants: tuple[int, int] = (100, 100)
    tunes: str = "s1 c1 q1 e1"
    drive: float = 0.0
    tilt_db: float = 0.0
    jitter: float = 0.04

    def to_dict(self) -> dict[str, object]:
        d = asdict(self)
        d["breath"] = list(self.breath)
        d["consonants"] = list(self.consonants)
        return d


DEFAULT_PROFILES: dict[str, EmotionProfile] = {
    p.name: p
    for p in (
        EmotionProfile("neutral", pitch_scale=1.0, range_scale=1.0, rate_scale=1.0, level_db=-23.0),
        EmotionProfile(
            "happy",
            pitch_scale=1.1,
            range_scale=1.6,
            rate_scale=1.12,
            level_db=-20.0,
            flutter=12,
            consonants=(110, 110),
            tunes="e1 c1 q1 e1",
            tilt_db=2.0,
        ),
        EmotionProfile(
            "sad",
            pitch_scale=0.95,
            range_scale=0.4,
            rate_scale=0.74,
            level_db=-30.0,
            word_gap=2,
            flutter=20,
            roughness=2,
            breath=(30, 30, 25, 20, 10, 5),
            consonants=(70, 80),
            tunes="s6 c6 q6 e6",
            tilt_db=-9.0,
        ),
        EmotionProfile(
            "angry",
            pitch_scale=1.05,
            range_scale=1.5,
            rate_scale=1.18,
            level_db=-16.0,
            roughness=5,
            consonants=(160, 140),
            tunes="s4 c4 q4 e4",
            drive=4.0,
            tilt_db=5.0,
        ),
        EmotionProfile(
            "surprise",
            pitch_scale=1.1,
            range_scale=2.5,
            rate_scale=1.0,
            level_db=-19.0,
            flutter=8,
            consonants=(110, 110),
            tunes="q1 c1 q1 e1",
            tilt_db=2.0,
        ),
    )
}

# Timbre variants of espeak-ng 1.5x and whether they sound male or female.
_MALE_VARIANTS = ("m1", "m2", "m3", "m4", "m5", "m6", "m7")
_FEMALE_VARIANTS = ("f1", "f2", "f3", "f4", "f5")
#: accent tag → espeak-ng voice file
_ACCENTS = {
    "en-us": "gmw/en-US",
    "en-gb": "gmw/en",
    "en-gb-scotland": "gmw/en-GB-scotland",
    "en-gb-x-rp": "gmw/en-GB-x-rp",
    "en-029": "gmw/en-029",
    "en-us-nyc": "gmw/en-US-nyc",
    "en-gb-x-gbclan": "gmw/en-GB-x-gbclan",
    "en-gb-x-gbcwmd": "gmw/en-GB-x-gbcwmd",
}


def default_speakers(n: int) -> list[SpeakerVoice]:
    """``n`` distinct speakers, alternating male and female; the first ``k`` never depend on n.

    Speaker ``i`` cycles through the accents and the timbre variants of its gender; its base
    pitch, range and rate are spread evenly (and deterministically) over a natural span for its
    gender, so that no two speakers sound alike even when accent and timbre repeat.
    """
    if n < 1:
        raise ValueError(f"need at least one speaker, got {n}")
    out = []
    for i in range(n):
        female = i % 2 == 1
        k = i // 2  # index within the gender
        variants = _FEMALE_VARIANTS if female else _MALE_VARIANTS
        variant = variants[k % len(variants)]
        accent = list(_ACCENTS)[(i + i // len(_ACCENTS)) % len(_ACCENTS)]
        # golden-ratio sequence: well spread and never repeating
        u = (k * 0.6180339887) % 1.0
        v = (k * 0.7548776662 + 0.3) % 1.0
        pitch = (145 + 45 * u) if female else (70 + 28 * u)
        out.append(
            SpeakerVoice(
                speaker_id=f"{i + 1:04d}",
                accent=accent,
                espeak_voice=_ACCENTS[accent],
                variant=variant,
                gender="female" if female else "male",
                pitch_hz=round(pitch, 1),
                range_hz=round(pitch * (0.4 + 0.2 * v), 1),
                rate_wpm=int(round(150 + 30 * ((k * 0.381966 + 0.5) % 1.0))),
            )
        )
    return out


_OVERRIDDEN = (
    "language",
    "name",
    "pitch",
    "flutter",
    "roughness",
    "breath",
    "breathw",
    "consonants",
    "tunes",
    "intonation",
    "gender",
    "speed",
)


def variant_lines(
    base_variant: list[str],
    speaker: SpeakerVoice,
    profile: EmotionProfile,
) -> list[str]:
    """The espeak-ng variant file for ``speaker`` speaking with ``profile``.

    ``base_variant`` is the system variant's text (:func:`emomix.data.espeak.read_variant`); its
    formant and tone lines are kept (the speaker's timbre), and pitch, voice-quality and tune
    lines are replaced by the speaker's and the profile's.
    """
    keep = []
    for line in base_variant:
        word = line.split("//")[0].split()
        if word and word[0] not in _OVERRIDDEN:
            keep.append(line.split("//")[0].rstrip())
    base = speaker.pitch_hz * profile.pitch_scale
    top = base + speaker.range_hz * profile.range_scale
    lines = keep + [
        f"gender {speaker.gender}",
        f"pitch {int(round(base))} {int(round(top))}",
        f"consonants {profile.consonants[0]} {profile.consonants[1]}",
        f"tunes {profile.tunes}",
    ]
    flutter = profile.flutter if profile.flutter is not None else _value(base_variant, "flutter")
    if flutter is not None:
        lines.append(f"flutter {flutter}")
    roughness = (
        profile.roughness if profile.roughness is not None else _value(base_variant, "roughness")
    )
    if roughness is not None:
        lines.append(f"roughness {roughness}")
    if profile.breath:
        lines.append("breath " + " ".join(str(b) for b in profile.breath))
    else:
        lines += [ln for ln in base_variant if ln.split()[:1] in (["breath"], ["breathw"])]
    return lines


def _value(lines: list[str], key: str) -> int | None:
    for line in lines:
        word = line.split("//")[0].split()
        if len(word) >= 2 and word[0] == key:
            try:
                return int(word[1])
            except ValueError:
                return None
    return None


def level_gain(current_db: float, target_db: float) -> float:
    """Linear gain that moves an RMS level from ``current_db`` to ``target_db``."""
    return math.pow(10.0, (target_db - current_db) / 20.0)
