"""``emomix bench``: real-time factor, time to first audio and memory of one backend.

    emomix bench --voice DIR --backend native --threads 2 --steps 4 --emotions 2 --seconds 3 --json

One line of about ``--seconds`` of audio is synthesised ``--repeats`` times (after one warm-up)
from fixed phoneme ids: encoder → the mixed sampler (``--steps`` steps, the first ``--emotions``
emotions of the voice in equal parts, ``--preset``, extrapolated from neutral by the voice's
emotion scale as a default call is, which adds neutral to every step when the scale is not 1;
``--emotion-scale 1`` measures without it) → vocoder. The text frontend (espeak) is not
timed. ``first_audio_ms`` is the time to the first vocoded chunk when the backend streams
(``vocode_stream``), else the time to the whole line. Figures are minima and medians over the
repeats; ``peak_rss_mb`` is the process's peak resident memory (``getrusage``). Benchmarks print
numbers; they assert nothing.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .backends import BACKEND_CHOICES
from .generation import GenerationConfig, line_config, plan

#: Text the benchmark line is cut from (phonemised once, then trimmed to the requested length).
PARAGRAPH = ("The old lighthouse keeper climbed the stairs every evening, counting the steps "
             "aloud, and when the storm finally reached the harbour he lit the lamp and "
             "watched the boats come home one by one through the rain and the dark water.")


def read_text_lines(path: Path) -> list[str]:
    """The lines of a benchmark's text file: one line to speak per text line, stripped; blank
    lines and lines starting with ``#`` are skipped. Raises ``ValueError`` when none are left."""
    lines = [t.strip() for t in Path(path).read_text(encoding="utf-8").splitlines()]
    lines = [t for t in lines if t and not t.startswith("#")]
    if not lines:
        raise ValueError(f"{path} has no lines of text (blank lines and # comments are skipped)")
    return lines


def peak_rss_mb() -> float:
    """Peak resident set size of this process in MiB (Linux reports KiB)."""
    kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kb / 1024.0 if sys.platform != "darwin" else kb / 2**20


def current_rss_mb() -> float:
    """Current resident set size in MiB (Linux /proc; 0 elsewhere)."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
    except (OSError, IndexError, ValueError):
        return 0.0
    import os

    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


@dataclass(frozen=True)
class StreamTiming:
    """One streamed call: seconds from the call to its first chunk (time to first audio) and
    to the end of its last chunk, and the audio samples all chunks held."""

    first_s: float
    total_s: float
    samples: int


def time_stream(start: Callable[[], Iterable[np.ndarray]]) -> StreamTiming:
    """Time ``start()`` and the chunks it yields until they run out.

    The clock starts before ``start()`` is called, so work the call does before returning an
    iterator counts as well as the work of each chunk. Every emomix first-audio figure (``emomix
    bench``, ``benchmarks/piper_peer.py``) is measured here. A call that yields nothing raises
    ``ValueError``.
    """
    t0 = time.perf_counter()
    chunks = iter(start())
    first = next(chunks, None)
    t_first = time.perf_counter()
    if first is None:
        raise ValueError("the timed call produced no audio")
    samples = int(np.size(first)) + sum(int(np.size(c)) for c in chunks)
    return StreamTiming(first_s=t_first - t0, total_s=time.perf_counter() - t0, samples=samples)


def line_ids(voice: Any, seconds: float, length_scale: float) -> np.ndarray:
    """Phoneme ids whose predicted length at ``length_scale`` is about ``seconds`` (neutral, the
    default speaker)."""
    try:
        ids = voice.text_to_ids(PARAGRAPH)
    except (OSError, RuntimeError, ValueError):  # no espeak-ng: any valid ids do for timing
        ids = np.arange(1, len(voice.symbols), dtype=np.int64)
    target = seconds * voice.sample_rate / voice.backend.hop_length
    neutral = voice.emotion_table["neutral"]
    spk = voice.speaker_vector(None)

    def frames(n: int) -> int:
        return int(voice.backend.encode(np.resize(ids, n), neutral, spk, length_scale)[0].shape[1])

    lo, hi = 1, max(2, len(ids))
    while frames(hi) < target and hi < 4000:  # repeat the paragraph for long lines
        lo, hi = hi, hi * 2
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if frames(mid) < target else (lo, mid)
    return np.resize(ids, hi).astype(np.int64)


def run_bench(voice: Any, config: GenerationConfig | None = None, *, emotions: int = 2,
              seconds: float = 3.0, repeats: int = 5, **settings: Any) -> dict[str, Any]:
    """Time the pipeline on ``voice``; returns the JSON-ready result.

    The line's settings are one :class:`emomix.GenerationConfig` (``config``, with ``settings``
    replacing fields by name: ``steps=4``, ``preset="blend"``, ``emotion_scale=1.2``; default
    the voice's, seed 0), with its mix replaced by the first ``emotions`` non-neutral emotions
    in equal parts. The line is planned by :func:`emomix.generation.plan`, the plan every
    pipeline runs, and timed step by step on the backend.
    """
    from . import sampler as ref
    from .synthesis import run_sampler

    names = [n for n in voice.emotions if n != "neutral"][:emotions] or ["neutral"]
    if len(names) < emotions:
        raise ValueError(f"the voice has only {len(names)} non-neutral emotions; "
                         f"--emotions must be <= {len(names)}")
    settings.setdefault("seed", 0)
    cfg = line_config(config, {n: 1.0 / len(names) for n in names}, **settings).for_voice(voice)
    p = plan(voice, cfg)
    W = p.weights()
    emo, spk, spec, seed = p.emotions, p.speaker, p.spec, cfg.seed
    spk_b = np.ascontiguousarray(np.broadcast_to(spk, (len(p.conditions), spk.size)))
    enc_emo = p.enc_emotion
    steps = spec.steps
    backend = voice.backend
    ids = line_ids(voice, seconds, p.length_scale)
    stream = backend.vocode_stream if backend.supports_streaming_vocoder else None

    def once() -> tuple[float, float, dict[str, float], int]:
        marks: list[float] = []  # start, encoded, sampled, pitch rendered, last chunk

        def line() -> Iterator[np.ndarray]:
            marks.append(time.perf_counter())
            mu, durations = backend.encode(ids, enc_emo, spk, p.length_scale)
            marks.append(time.perf_counter())

            def denoise(x, t, conds):
                idx = np.asarray(conds, dtype=np.int64)
                return backend.denoise(x, t, mu, emo[idx], spk_b[idx])

            mel = run_sampler(denoise, mu, W, spec, seed, durations=durations)
            marks.append(time.perf_counter())
            # a voice with a pitch predictor renders its harmonics before the vocoder
            mel = voice.render_pitch(mel, voice.line_pitch(ids, emo, spk), durations, W[-1])
            marks.append(time.perf_counter())
            if stream is not None:
                yield from stream(mel)
            else:
                yield backend.vocode(mel)
            marks.append(time.perf_counter())

        timing = time_stream(line)
        t0, t1, t_sampled, t2, t3 = marks
        parts = {"encode_ms": (t1 - t0) * 1e3, "sample_ms": (t_sampled - t1) * 1e3,
                 "pitch_ms": (t2 - t_sampled) * 1e3, "vocode_ms": (t3 - t2) * 1e3}
        return timing.total_s, timing.first_s, parts, timing.samples

    once()  # warm-up: buffers, lazy initialisation
    totals, firsts, parts_all = [], [], []
    samples = 0
    for _ in range(repeats):
        total, first, parts, samples = once()
        totals.append(total)
        firsts.append(first)
        parts_all.append(parts)
    audio_s = samples / voice.sample_rate
    result: dict[str, Any] = {
        "backend": backend.name,
        "threads": backend.threads,
        "steps": steps,
        "preset": cfg.preset,
        "emotions": p.conditions,
        "emotion_scale": cfg.emotion_scale,
        "active_conditions": [len(ref.active_conditions(W, k)) for k in range(steps)],
        "phonemes": int(ids.size),
        "frames": int(samples // backend.hop_length),
        "audio_seconds": round(audio_s, 4),
        "rtf": round(min(totals) / audio_s, 5),
        "rtf_median": round(statistics.median(totals) / audio_s, 5),
        "synth_ms": round(min(totals) * 1e3, 2),
        "first_audio_ms": round(min(firsts) * 1e3, 2),
        "first_audio_ms_median": round(statistics.median(firsts) * 1e3, 2),
        "streaming": stream is not None,
        "parts_ms_min": {k: round(min(p[k] for p in parts_all), 2) for k in parts_all[0]},
        "repeats": repeats,
        "peak_rss_mb": round(peak_rss_mb(), 1),
    }
    if backend.supports_fused_synthesis:  # the whole pipeline in one call (no Python in it)
        fused = backend.synthesize_ids
        ts = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            fused(ids, enc_emo, spk, W, emo, spk_b, solver=spec.solver,
                  temperature=spec.temperature, seed=seed)
            ts.append(time.perf_counter() - t0)
        result["fused_rtf"] = round(min(ts) / audio_s, 5)
        result["fused_synth_ms"] = round(min(ts) * 1e3, 2)
        result["peak_rss_mb"] = round(peak_rss_mb(), 1)
    return result


def add_bench_command(sub: argparse._SubParsersAction) -> None:
    """Register ``emomix bench`` on the CLI's subparsers."""
    p = sub.add_parser("bench", help="measure real-time factor, first-audio latency and memory",
                       description="Synthesise a line of about --seconds several times and "
                       "print RTF (synthesis time / audio time), time to first audio and peak "
                       "memory.")
    p.add_argument("--voice", type=Path, default=None,
                   help="voice bundle directory (default: the shipped default voice)")
    p.add_argument("--backend", choices=BACKEND_CHOICES, default="auto",
                   help="auto (native if built, else onnx, else torch) | torch | onnx | native "
                   "| tensorrt")
    p.add_argument("--threads", type=int, default=None, help="CPU threads for the backend")
    p.add_argument("--steps", type=int, default=4, help="sampler steps (default 4)")
    p.add_argument("--emotions", type=int, default=2, help="emotions mixed (default 2)")
    p.add_argument("--seconds", type=float, default=3.0, help="line length (default 3 s)")
    p.add_argument("--preset", choices=["emomix", "blend"], default="emomix")
    p.add_argument("--emotion-scale", type=float, default=None,
                   help="extrapolation from neutral (default: the voice's; 1 = none)")
    p.add_argument("--repeats", type=int, default=5, help="timed runs after one warm-up")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_bench)


def cmd_bench(args: argparse.Namespace) -> int:
    from .synthesis import default_voice_path, load_voice

    if args.steps < 1 or args.emotions < 1 or args.seconds <= 0 or args.repeats < 1:
        raise ValueError("--steps, --emotions, --repeats must be >= 1 and --seconds > 0")
    path = args.voice if args.voice is not None else default_voice_path()
    options = {"threads": args.threads} if args.threads else {}
    rss_before = current_rss_mb()
    voice = load_voice(path, backend=args.backend, **options)
    loaded_rss = current_rss_mb()
    config = GenerationConfig(steps=args.steps, preset=args.preset,
                              emotion_scale=args.emotion_scale)
    result = run_bench(voice, config, emotions=args.emotions, seconds=args.seconds,
                       repeats=args.repeats)
    if result["threads"] is None:
        result["threads"] = args.threads
    result["voice"] = str(path)
    result["backend_load_rss_mb"] = round(loaded_rss - rss_before, 1)
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key:>22}: {value}")
    return 0
