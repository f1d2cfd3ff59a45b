"""Generate an emotional speech corpus with espeak-ng, in the layout of ESD.

    from emomix.data.synth_corpus import CorpusRecipe, synthesize_corpus
    report = synthesize_corpus("corpora/espeak", CorpusRecipe(n_speakers=8, n_sentences=300))

Every speaker (:func:`~emomix.data.profiles.default_speakers`) reads every sentence
(:func:`~emomix.data.sentences.generate_sentences`, then ``dialogue_sentences`` lines of game
dialogue from :func:`~emomix.data.dialogue.generate_dialogue`) in every emotion
(:data:`~emomix.data.profiles.DEFAULT_PROFILES`). A fraction of the *sentences* is held out:
such a sentence is in the ``test`` (or ``evaluation``) split for all speakers and emotions, so
no held-out text is ever seen in training. The output is

    DIR/<speaker>/<Emotion>/<speaker>_<NNNNNN>.wav   16-bit mono PCM at recipe.sample_rate
    DIR/<speaker>/<speaker>.txt                      ESD transcript: id<TAB>text<TAB>Emotion
    DIR/metadata.csv                                 one row per clip, with all render settings
    DIR/alignments.jsonl                             Piper clips: where each phoneme is
    DIR/corpus.json                                  recipe, seed, counts, speakers, profiles,
                                                     failures, espeak-ng version

Utterance numbers follow ESD: emotions in the order Neutral, Angry, Happy, Sad, Surprise, each a
block of ``B = n_sentences + dialogue_sentences`` numbers, so ``NNNNNN = block · B + sentence + 1``
and the same
sentence has the same offset in every block. :func:`emomix.data.loaders.load_esd` reads it.

The same recipe and seed give byte-identical WAV files (espeak-ng is deterministic, and the
per-utterance variation comes from a generator seeded by seed, speaker, emotion and sentence).
"""

from __future__ import annotations

import contextlib
import csv
import json
import math
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from .dialogue import generate_dialogue
from .espeak import (
    MAX_VARIANTS,
    EspeakData,
    EspeakError,
    espeak_version,
    read_variant,
    render,
)
from .piper_speaker import (
    PIPER_MODEL,
    PiperSpeaker,
    clip_phoneme_ends,
    piper_speakers,
    render_piper,
)
from .profiles import (
    DEFAULT_PROFILES,
    ESD_EMOTION_NAMES,
    EmotionProfile,
    SpeakerVoice,
    default_speakers,
    variant_lines,
)
from .sentences import generate_sentences

__all__ = ["ALIGNMENTS_FILE", "CorpusRecipe", "CorpusReport", "RECIPE_VERSION",
           "synthesize_corpus"]

#: Bumped whenever a change to the generator changes the audio it makes.
RECIPE_VERSION = 1
#: Per-clip phoneme spans, one JSON object per line (``path``, ``start``, ``phonemes``,
#: ``ends``).
ALIGNMENTS_FILE = "alignments.jsonl"

#: Stop when this many utterances have failed and none has rendered (a broken installation).
FAIL_FAST_AFTER = 20

#: ESD's emotion block order, which fixes utterance numbers.
ESD_ORDER = ("neutral", "angry", "happy", "sad", "surprise")

METADATA_COLUMNS = (
    "path",
    "speaker",
    "emotion",
    "sentence_id",
    "split",
    "text",
    "duration_s",
    "espeak_voice",
    "espeak_variant",
    "pitch_hz",
    "range_hz",
    "rate_wpm",
    "espeak_pitch",
    "word_gap",
    "level_db",
    "drive",
    "tilt_db",
    "source",
    "length_scale",
    "formant_ratio",
)


@dataclass(frozen=True)
class CorpusRecipe:
    """What to generate. ``to_dict()`` is stored in ``corpus.json``.

    Attributes:
        n_speakers: number of speakers (see :func:`~emomix.data.profiles.default_speakers`).
        n_sentences: number of distinct sentences; every speaker reads each in every emotion.
        seed: fixes the sentences, the split and the per-utterance variation.
        emotions: emomix emotion names, each a key of :data:`DEFAULT_PROFILES`.
        test_fraction: share of sentences held out as ``test``, rounded (at least one when > 0
            and there are two or more sentences).
        eval_fraction: share of sentences held out as ``evaluation`` (validation), rounded.
            At least one sentence is always left for training.
        sample_rate: output rate in Hz; espeak-ng's rendering is resampled when it differs.
        pad_s: silence kept before and after the speech, seconds.
        piper_speakers: natural speakers made from Piper's en_US-joe-medium voice, keys of
            :data:`~emomix.data.piper_speaker.PIPER_SPEAKERS` (``"joe"``, ``"joe-bright"``…);
            they read the same sentences in the same emotions after the espeak-ng speakers.
        dialogue_sentences: lines of game dialogue read after the ``n_sentences`` narrative
            sentences. They are split into train, evaluation and test by the same fractions,
            separately, so adding them leaves the narrative sentences' splits as they were.
    """

    n_speakers: int = 8
    n_sentences: int = 300
    seed: int = 0
    emotions: tuple[str, ...] = ESD_ORDER
    test_fraction: float = 0.1
    eval_fraction: float = 0.05
    sample_rate: int = 22050
    pad_s: float = 0.1
    piper_speakers: tuple[str, ...] = ()
    dialogue_sentences: int = 0

    def validate(self) -> None:
        if self.n_speakers < 0:
            raise ValueError(f"n_speakers must be >= 0, got {self.n_speakers}")
        piper_speakers(self.piper_speakers)
        if self.n_speakers == 0 and not self.piper_speakers:
            raise ValueError("the corpus needs a speaker: n_speakers >= 1 or piper_speakers")
        if self.n_sentences < 1:
            raise ValueError(f"n_sentences must be >= 1, got {self.n_sentences}")
        if self.dialogue_sentences < 0:
            raise ValueError(f"dialogue_sentences must be >= 0, got {self.dialogue_sentences}")
        unknown = [e for e in self.emotions if e not in DEFAULT_PROFILES]
        if unknown or not self.emotions:
            raise ValueError(
                f"unknown emotion(s) {unknown or '(none given)'}; choose from "
                f"{', '.join(DEFAULT_PROFILES)}"
            )
        if len(set(self.emotions)) != len(self.emotions):
            raise ValueError(f"emotions repeat: {', '.join(self.emotions)}")
        for name in ("test_fraction", "eval_fraction"):
            v = getattr(self, name)
            if not 0.0 <= v < 1.0:
                raise ValueError(f"{name} must be in [0, 1), got {v}")
        if self.test_fraction + self.eval_fraction >= 1.0:
            raise ValueError("test_fraction + eval_fraction must leave sentences for training")
        if self.sample_rate < 8000:
            raise ValueError(f"sample_rate must be >= 8000 Hz, got {self.sample_rate}")

    def to_dict(self) -> dict[str, object]:
        d = asdict(self)
        d["emotions"] = list(self.emotions)
        d["piper_speakers"] = list(self.piper_speakers)
        return d


@dataclass
class CorpusReport:
    """What :func:`synthesize_corpus` did."""

    out: Path
    planned: int
    rendered: int
    failures: list[dict[str, str]] = field(default_factory=list)
    wall_s: float = 0.0
    audio_s: float = 0.0
    jobs: int = 1

    @property
    def utterances_per_s(self) -> float:
        return self.rendered / self.wall_s if self.wall_s > 0 else 0.0

    def summary(self) -> str:
        lines = [
            f"wrote {self.rendered} of {self.planned} utterances "
            f"({self.audio_s / 3600:.2f} h of audio) to {self.out} in {self.wall_s:.1f} s "
            f"with {self.jobs} job(s): {self.utterances_per_s:.1f} utterances/s"
        ]
        if self.failures:
            lines.append(
                f"{len(self.failures)} utterance(s) failed and were skipped "
                f"(listed in corpus.json under 'failures'):"
            )
            lines += [f"  {f['id']}: {f['error']}" for f in self.failures[:10]]
            if len(self.failures) > 10:
                lines.append(f"  … and {len(self.failures) - 10} more")
        return "\n".join(lines)


@dataclass(frozen=True)
class _Job:
    utt_id: str
    rel_path: str
    text: str
    sentence_id: int
    split: str
    speaker: SpeakerVoice | PiperSpeaker
    profile: EmotionProfile
    variant_name: str
    jitter_seed: tuple[int, ...]


def sentence_splits(n: int, seed: int, test_fraction: float, eval_fraction: float) -> list[str]:
    """The split of each sentence index: ``"train"``, ``"evaluation"`` or ``"test"``."""
    n_test = int(round(test_fraction * n))
    if test_fraction > 0 and n >= 2:
        n_test = max(1, n_test)  # a tiny corpus still holds one sentence out
    n_test = min(n_test, n - 1)
    n_eval = min(int(round(eval_fraction * n)), max(0, n - n_test - 1))
    order = np.random.default_rng([seed, 0x5EED]).permutation(n)
    splits = ["train"] * n
    for i in order[:n_test]:
        splits[i] = "test"
    for i in order[n_test : n_test + n_eval]:
        splits[i] = "evaluation"
    return splits


def _plan(
    recipe: CorpusRecipe,
) -> tuple[list[_Job], list[SpeakerVoice | PiperSpeaker], list[str], list[str]]:
    speakers: list[SpeakerVoice | PiperSpeaker] = list(
        default_speakers(recipe.n_speakers) if recipe.n_speakers else [])
    speakers += piper_speakers(recipe.piper_speakers)
    sentences = generate_sentences(recipe.n_sentences, recipe.seed)
    splits = sentence_splits(
        recipe.n_sentences, recipe.seed, recipe.test_fraction, recipe.eval_fraction
    )
    if recipe.dialogue_sentences:
        sentences += generate_dialogue(recipe.dialogue_sentences, recipe.seed)
        splits += sentence_splits(recipe.dialogue_sentences, recipe.seed + 1,
                                  recipe.test_fraction, recipe.eval_fraction)
    block_size = len(sentences)
    jobs = []
    for si, spk in enumerate(speakers):
        for emotion in recipe.emotions:
            block = ESD_ORDER.index(emotion)
            folder = ESD_EMOTION_NAMES[emotion]
            for j, text in enumerate(sentences):
                utt = f"{spk.speaker_id}_{block * block_size + j + 1:06d}"
                jobs.append(
                    _Job(
                        utt_id=utt,
                        rel_path=f"{spk.speaker_id}/{folder}/{utt}.wav",
                        text=text,
                        sentence_id=j,
                        split=splits[j],
                        speaker=spk,
                        profile=DEFAULT_PROFILES[emotion],
                        variant_name=f"emomix-{spk.speaker_id}-{emotion}",
                        jitter_seed=(recipe.seed, si, block, j),
                    )
                )
    return jobs, speakers, sentences, splits


# ---------------------------------------------------------------- signal processing of a clip


def _trim(audio: np.ndarray, sr: int, pad_s: float, floor_db: float = -45.0
          ) -> tuple[np.ndarray, int]:
    """The clip cut to ``pad_s`` of silence at each end, and the input sample at its first
    sample (negative where silence was added in front)."""
    hop = max(1, sr // 100)
    n = len(audio) // hop
    if n == 0:
        return audio, 0
    db = 10 * np.log10(np.mean(audio[: n * hop].reshape(n, hop) ** 2, axis=1) + 1e-20)
    loud = np.flatnonzero(db > db.max() + floor_db)
    pad = int(round(pad_s * sr))
    start = max(0, int(loud[0]) * hop - pad)
    stop = min(len(audio), (int(loud[-1]) + 1) * hop + pad)
    out = audio[start:stop]
    # Keep exactly pad_s of silence where espeak-ng left less.
    lead = max(0, pad - int(loud[0]) * hop)
    tail = max(0, (int(loud[-1]) + 1) * hop + pad - len(audio))
    return np.pad(out, (lead, tail)), start - lead


def _tilt(audio: np.ndarray, sr: int, tilt_db: float, corner_hz: float = 2000.0) -> np.ndarray:
    # Zero-phase high shelf in the frequency domain: 1 + (g - 1)·|H_hp(f)|, with H_hp a
    # second-order Butterworth high-pass at corner_hz. (numpy only: scipy.signal takes seconds
    # to import, in every worker process.)
    if tilt_db == 0.0:
        return audio
    n = len(audio)
    f = np.fft.rfftfreq(n, 1.0 / sr)
    hp = 1.0 / np.sqrt(1.0 + (corner_hz / np.maximum(f, 1e-6)) ** 4)
    shelf = 1.0 + (10 ** (tilt_db / 20.0) - 1.0) * hp
    return np.fft.irfft(np.fft.rfft(audio) * shelf, n)


def _drive(audio: np.ndarray, drive: float) -> np.ndarray:
    if drive <= 0.0:
        return audio
    peak = float(np.max(np.abs(audio))) or 1.0
    return np.tanh(drive * audio / peak) / np.tanh(drive) * peak


def _resample(audio: np.ndarray, sr_in: int, sr_out: int) -> np.ndarray:
    if sr_in == sr_out:
        return audio
    from scipy.signal import resample_poly

    g = math.gcd(sr_in, sr_out)
    return resample_poly(audio, sr_out // g, sr_in // g)


def _speech_rms_db(audio: np.ndarray, sr: int) -> float:
    hop = max(1, sr // 100)
    n = len(audio) // hop
    frames = audio[: n * hop].reshape(n, hop)
    e = np.mean(frames**2, axis=1)
    speech = e[e > e.max() * 1e-4]  # frames within 40 dB of the loudest
    return float(10 * np.log10(np.mean(speech) + 1e-20))


def _write_variants(
    stack: contextlib.ExitStack, speakers: list[SpeakerVoice], emotions: tuple[str, ...]
) -> dict[str, str]:
    """One variant file per speaker and emotion; returns speaker id → espeak-ng ``--path``."""
    per_dir = max(1, MAX_VARIANTS // len(emotions))
    roots: dict[str, str] = {}
    for start in range(0, len(speakers), per_dir):
        group = speakers[start : start + per_dir]
        data = stack.enter_context(EspeakData.create({s.espeak_voice for s in group}))
        for spk in group:
            base = read_variant(spk.variant)
            for emotion in emotions:
                data.write_variant(
                    f"emomix-{spk.speaker_id}-{emotion}",
                    variant_lines(base, spk, DEFAULT_PROFILES[emotion]),
                )
            roots[spk.speaker_id] = str(data.root)
    return roots


def _render_job(
    job: _Job, roots: dict[str, str], sample_rate: int, pad_s: float, out_dir: str
) -> dict[str, object]:
    from ..audio.wav import write_wav

    if isinstance(job.speaker, PiperSpeaker):
        return _render_piper_job(job, sample_rate, pad_s, out_dir)
    rng = np.random.default_rng(list(job.jitter_seed))
    p, spk = job.profile, job.speaker
    jit = rng.uniform(-1.0, 1.0, size=3) * p.jitter
    espeak_pitch = int(round(50 + 100 * jit[0]))  # espeak -p: 1 unit ≈ 1 % of pitch
    rate = int(round(spk.rate_wpm * p.rate_scale * (1 + jit[1])))
    level = p.level_db + 25 * jit[2]  # ±1 dB at the default jitter
    voice = f"{spk.espeak_voice}+{job.variant_name}"
    try:
        audio, sr = render(
            job.text,
            voice,
            data=EspeakData(Path(roots[spk.speaker_id])),
            rate_wpm=rate,
            pitch=espeak_pitch,
            word_gap=p.word_gap,
        )
        x, _ = _finish(audio, sr, p, level, sample_rate, pad_s)
        write_wav(Path(out_dir) / job.rel_path, x.astype(np.float32), sample_rate)
    except (EspeakError, ValueError, OSError) as exc:
        return {"id": job.utt_id, "error": str(exc)}
    return _row(job, x, sample_rate, level, source="espeak-ng",
                espeak_voice=spk.espeak_voice, espeak_variant=spk.variant,
                pitch_hz=round(spk.pitch_hz * p.pitch_scale, 1),
                range_hz=round(spk.range_hz * p.range_scale, 1), rate_wpm=rate,
                espeak_pitch=espeak_pitch, word_gap=p.word_gap)


def _row(job: _Job, x: np.ndarray, sample_rate: int, level_db: float,
         **settings: object) -> dict[str, object]:
    """The metadata row of a rendered clip: what every speaker has, then its own settings."""
    return {"path": job.rel_path, "speaker": job.speaker.speaker_id, "emotion": job.profile.name,
            "sentence_id": job.sentence_id, "split": job.split, "text": job.text,
            "duration_s": round(len(x) / sample_rate, 4), "level_db": round(level_db, 2),
            "drive": job.profile.drive, "tilt_db": job.profile.tilt_db, **settings,
            "id": job.utt_id}


def _finish(audio: np.ndarray, sr: int, p: EmotionProfile, level_db: float, sample_rate: int,
            pad_s: float) -> tuple[np.ndarray, int]:
    """Every speaker's clip alike: trimmed to ``pad_s`` of silence, tilt, drive, resampled,
    set to ``level_db`` RMS, limited below full scale. Also returns the input sample at the
    clip's first sample (trimming)."""
    x, shift = _trim(np.asarray(audio, np.float64), sr, pad_s)
    x = _drive(_tilt(x, sr, p.tilt_db), p.drive)
    x = _resample(x, sr, sample_rate)
    x = x * 10 ** ((level_db - _speech_rms_db(x, sample_rate)) / 20.0)
    peak = float(np.max(np.abs(x)))
    if peak > 0.98:  # rare: a very peaky clip at a loud level; limit instead of clipping
        x = np.tanh(x / 0.98) * 0.98
    return x, shift


def _render_piper_job(job: _Job, sample_rate: int, pad_s: float, out_dir: str
                      ) -> dict[str, object]:
    from ..audio.wav import write_wav

    rng = np.random.default_rng(list(job.jitter_seed))
    p, spk = job.profile, job.speaker
    try:
        audio, sr, used = render_piper(job.text, spk, p, rng)
        level = p.level_db + 25 * float(rng.uniform(-1.0, 1.0)) * p.jitter
        x, shift = _finish(audio, sr, p, level, sample_rate, pad_s)
        write_wav(Path(out_dir) / job.rel_path, x.astype(np.float32), sample_rate)
    except (ValueError, OSError) as exc:
        return {"id": job.utt_id, "error": str(exc)}
    phonemes, ends, start = clip_phoneme_ends(used["alignment"], shift, len(x),
                                              sample_rate / sr)
    return _row(job, x, sample_rate, level, source="piper", pitch_hz=used["pitch_hz"],
                range_hz="", length_scale=used["length_scale"],
                formant_ratio=used["formant_ratio"], phonemes=phonemes, phoneme_ends=ends,
                speech_start=start)


# ---------------------------------------------------------------- progress


class _Progress:
    """tqdm when installed; else a counter on stderr, redrawn each second on a terminal and
    printed as a line every 30 s in a log."""

    def __init__(self, total: int, enabled: bool) -> None:
        self.total, self.done, self.enabled = total, 0, enabled
        self.t0 = self.last = time.monotonic()
        self.tty = sys.stderr.isatty()
        self.bar = None
        if enabled:
            try:
                from tqdm import tqdm

                self.bar = tqdm(total=total, unit="utt", desc="corpus synth")
            except ImportError:
                pass

    def update(self) -> None:
        self.done += 1
        if not self.enabled:
            return
        if self.bar is not None:
            self.bar.update(1)
            return
        now = time.monotonic()
        if now - self.last >= (1.0 if self.tty else 30.0) or self.done == self.total:
            self.last = now
            rate = self.done / max(now - self.t0, 1e-9)
            eta = (self.total - self.done) / rate if rate > 0 else float("inf")
            end = "\n" if self.done == self.total or not self.tty else ""
            start = "\r" if self.tty else ""
            print(
                f"{start}corpus synth: {self.done}/{self.total} "
                f"({rate:.1f} utt/s, ETA {eta:.0f} s)",
                end=end,
                file=sys.stderr,
                flush=True,
            )

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


# ---------------------------------------------------------------- the corpus


def synthesize_corpus(
    out: str | Path,
    recipe: CorpusRecipe | None = None,
    *,
    jobs: int | None = None,
    progress: bool = True,
    overwrite: bool = False,
) -> CorpusReport:
    """Render the corpus that ``recipe`` describes into ``out`` (see the module docstring).

    Args:
        out: output directory; created if missing.
        recipe: what to make (default: :class:`CorpusRecipe()`, 8 × 5 × 300).
        jobs: worker processes (default ``os.cpu_count()``); 1 renders in this process.
        progress: show a progress bar (tqdm when installed, else a counter on stderr).
        overwrite: allow writing into a directory that already holds a corpus.

    Returns:
        a :class:`CorpusReport`. An utterance that fails to render is skipped and listed in the
        report and in ``corpus.json``. When the first :data:`FAIL_FAST_AFTER` utterances all
        fail (a broken installation), it stops with :class:`EspeakError`.

    Raises:
        EspeakError: espeak-ng is not installed, or nothing could be rendered.
        FileExistsError: ``out`` already holds a corpus and ``overwrite`` is false.
    """
    recipe = recipe or CorpusRecipe()
    recipe.validate()
    out = Path(out)
    if (out / "corpus.json").exists() and not overwrite:
        raise FileExistsError(
            f"{out} already holds a corpus (corpus.json); choose another "
            "directory or pass overwrite=True (--overwrite)"
        )
    jobs = max(1, int(jobs or os.cpu_count() or 1))
    planned, speakers, sentences, splits = _plan(recipe)
    t0 = time.monotonic()
    out.mkdir(parents=True, exist_ok=True)
    rows: list[dict[str, object]] = []
    failures: list[dict[str, str]] = []
    with contextlib.ExitStack() as stack:
        espeak_speakers = [s for s in speakers if isinstance(s, SpeakerVoice)]
        roots = (_write_variants(stack, espeak_speakers, recipe.emotions)
                 if espeak_speakers else {})
        bar = _Progress(len(planned), progress)
        args = (roots, recipe.sample_rate, recipe.pad_s, str(out))

        def collect(r: dict[str, object]) -> None:
            (failures if "error" in r else rows).append(r)
            bar.update()
            if not rows and len(failures) >= FAIL_FAST_AFTER:
                raise EspeakError(
                    f"the first {len(failures)} utterances all failed, stopping; the first "
                    f"error was: {failures[0]['error']}"
                )

        try:
            if jobs == 1:
                for job in planned:
                    collect(_render_job(job, *args))
            else:
                with ProcessPoolExecutor(max_workers=jobs) as pool:
                    futures = [pool.submit(_render_job, job, *args) for job in planned]
                    try:
                        for fut in as_completed(futures):
                            collect(fut.result())
                    except BaseException:
                        pool.shutdown(wait=True, cancel_futures=True)
                        raise
        finally:
            bar.close()
    if not rows:
        first = failures[0]["error"] if failures else "nothing was planned"
        raise EspeakError(f"no utterance could be rendered; the first error was: {first}")
    rows.sort(key=lambda r: str(r["id"]))
    failures.sort(key=lambda r: r["id"])
    _write_transcripts(out, rows)
    _write_metadata(out, rows)
    _write_alignments(out, rows)
    report = CorpusReport(
        out=out,
        planned=len(planned),
        rendered=len(rows),
        failures=failures,
        wall_s=time.monotonic() - t0,
        audio_s=float(sum(float(r["duration_s"]) for r in rows)),
        jobs=jobs,
    )
    _write_manifest(out, recipe, speakers, sentences, splits, rows, report)
    return report


def _write_transcripts(out: Path, rows: list[dict[str, object]]) -> None:
    by_speaker: dict[str, list[str]] = {}
    for r in rows:
        emotion = ESD_EMOTION_NAMES[str(r["emotion"])]
        by_speaker.setdefault(str(r["speaker"]), []).append(f"{r['id']}\t{r['text']}\t{emotion}")
    for spk, lines in by_speaker.items():
        (out / spk / f"{spk}.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")


def _write_metadata(out: Path, rows: list[dict[str, object]]) -> None:
    with open(out / "metadata.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=METADATA_COLUMNS, extrasaction="ignore")
        w.writeheader()
        w.writerows(rows)


def _write_alignments(out: Path, rows: list[dict[str, object]]) -> None:
    """``alignments.jsonl``: where the first phoneme of a clip starts and where each ends, for
    the clips whose renderer reports it (Piper's; espeak-ng's do not). No file when there are
    none."""
    lines = [json.dumps({"path": r["path"], "start": r["speech_start"],
                         "phonemes": r["phonemes"], "ends": r["phoneme_ends"]},
                        ensure_ascii=False)
             for r in rows if r.get("phonemes")]
    path = out / ALIGNMENTS_FILE
    if lines:
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    elif path.exists():
        path.unlink()


def _write_manifest(
    out: Path,
    recipe: CorpusRecipe,
    speakers: list[SpeakerVoice | PiperSpeaker],
    sentences: list[str],
    splits: list[str],
    rows: list[dict[str, object]],
    report: CorpusReport,
) -> None:
    def counts(key: str) -> dict[str, int]:
        c: dict[str, int] = {}
        for r in rows:
            c[str(r[key])] = c.get(str(r[key]), 0) + 1
        return dict(sorted(c.items()))

    durations = np.array([float(r["duration_s"]) for r in rows])
    manifest = {
        "format": "emomix-espeak-corpus",
        "recipe_version": RECIPE_VERSION,
        "generator": "emomix.data.synth_corpus",
        "espeak_ng_version": espeak_version(),
        "recipe": recipe.to_dict(),
        "seed": recipe.seed,
        "layout": "ESD: <speaker>/<Emotion>/<speaker>_<NNNNNN>.wav, <speaker>/<speaker>.txt",
        "utterance_numbering": {"block_size": len(sentences), "order": list(ESD_ORDER)},
        "counts": {
            "planned": report.planned,
            "rendered": report.rendered,
            "failed": len(report.failures),
            "by_split": counts("split"),
            "by_emotion": counts("emotion"),
            "by_speaker": counts("speaker"),
            "sentences_by_split": {s: splits.count(s) for s in ("train", "evaluation", "test")},
        },
        "duration_s": {
            "total": round(float(durations.sum()), 2),
            "min": round(float(durations.min()), 3),
            "mean": round(float(durations.mean()), 3),
            "max": round(float(durations.max()), 3),
        },
        "speakers": [s.to_dict() for s in speakers],
        "profiles": {e: DEFAULT_PROFILES[e].to_dict() for e in recipe.emotions},
        "piper": PIPER_MODEL if recipe.piper_speakers else None,
        "sentences": [
            {"id": i, "text": t, "split": s}
            for i, (t, s) in enumerate(zip(sentences, splits, strict=True))
        ],
        "failures": report.failures,
        "render": {
            "wall_s": round(report.wall_s, 2),
            "jobs": report.jobs,
            "utterances_per_s": round(report.utterances_per_s, 2),
        },
    }
    (out / "corpus.json").write_text(
        json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
