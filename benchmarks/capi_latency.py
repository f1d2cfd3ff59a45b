"""First audio and real-time factor of a character's line through the C ABI (libemomix.so, driven
through cffi) against the Python SDK on the native backend, in one run, on the same text, seed,
voice and threads.

    python benchmarks/capi_latency.py --threads 2 --repeats 7

Both sides speak the same line with the same character settings (default block sizes, the voice's
sampler defaults, a happy/surprise mix) and are timed alternately, after a warm-up of each:

- ``c_abi``: ``emx_character_say_begin`` (text checked, phonemised and encoded), then
  ``emx_line_read`` in 10 ms blocks; first audio is the time from the call to the first block
  that holds audio, total the time to the line's end.
- ``python``: ``emomix.Character(...).speak(text, seed)`` iterated (the same C++ networks,
  with Python driving the blocks); first audio is the time to its first chunk.

Prints one JSON object: per side the median and best first audio (ms), RTF (synthesis time /
audio time), and the audio seconds; plus the SNR (dB) between the two sides' audio.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
TEXT = "Well, look who it is. Ten gold coins, as promised."  # about 3 s
MIX = {"happy": 0.6, "surprise": 0.4}


def snr_db(reference: np.ndarray, other: np.ndarray) -> float:
    n = min(reference.size, other.size)
    err = float(np.sum((reference[:n].astype(np.float64) - other[:n]) ** 2))
    sig = float(np.sum(reference[:n].astype(np.float64) ** 2))
    return float("inf") if err == 0 else 10 * np.log10(sig / err)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--voice", default=str(REPO / "voices" / "default"))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--text", default=TEXT)
    args = ap.parse_args()

    import emomix
    from emomix import capi

    voice = emomix.load_voice(args.voice, backend="native", threads=args.threads)
    sr = voice.sample_rate
    py_npc = emomix.Character(voice, clock=lambda: 0.0)
    py_npc.emotion.set(MIX)

    c_voice = capi.Voice.load(args.voice)
    c_npc = capi.Character.create(c_voice, threads=args.threads)
    c_npc.set_mix(MIX)
    config = c_voice.generation_config(seed=args.seed)
    block = sr // 100

    def run_c() -> tuple[float, float, np.ndarray]:
        t0 = time.perf_counter()
        first = None
        chunks = []
        with c_npc.say_begin(args.text, config) as line:
            while (chunk := line.read(block)) is not None:
                if first is None and chunk.size:
                    first = time.perf_counter() - t0
                chunks.append(chunk)
        return first, time.perf_counter() - t0, np.concatenate(chunks)

    def run_py() -> tuple[float, float, np.ndarray]:
        t0 = time.perf_counter()
        first = None
        chunks = []
        for chunk in py_npc.speak(args.text, seed=args.seed):
            if first is None:
                first = time.perf_counter() - t0
            chunks.append(chunk)
        return first, time.perf_counter() - t0, np.concatenate(chunks)

    run_c()
    run_py()  # warm-up: buffers, caches, thread pools
    results: dict[str, list[tuple[float, float]]] = {"c_abi": [], "python": []}
    audio: dict[str, np.ndarray] = {}
    for _ in range(args.repeats):
        for name, fn in (("c_abi", run_c), ("python", run_py)):
            first, total, a = fn()
            results[name].append((first, total))
            audio[name] = a
    seconds = audio["c_abi"].size / sr
    out = {"voice": Path(args.voice).name, "threads": args.threads, "repeats": args.repeats,
           "text_chars": len(args.text), "audio_s": round(seconds, 3),
           "snr_db_c_vs_python": round(snr_db(audio["python"], audio["c_abi"]), 1)}
    for name, runs in results.items():
        firsts = [f for f, _ in runs]
        totals = [t for _, t in runs]
        out[name] = {"first_audio_ms_median": round(statistics.median(firsts) * 1e3, 2),
                     "first_audio_ms_best": round(min(firsts) * 1e3, 2),
                     "rtf_median": round(statistics.median(totals) / seconds, 4),
                     "rtf_best": round(min(totals) / seconds, 4)}
    json.dump(out, sys.stdout, indent=1)
    print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
