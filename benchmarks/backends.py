"""torch, ONNX Runtime and the native runtime side by side on one voice, in one process.

For each backend: load the voice with ``--threads`` threads and run ``emomix.bench.run_bench``
(one line of about ``--seconds``, ``--steps`` steps, ``--emotions`` emotions mixed; minima and
medians over ``--repeats`` after a warm-up). Prints a table, then one JSON object with every
result and the native/ONNX speed-up. Without ONNX graphs in the voice, they are exported into a
temporary copy first (needs the ``export`` extra). Peak RSS is per process, so in this combined
run it says little per backend: run ``emomix bench --backend native`` alone for the native
runtime's memory.

    python benchmarks/backends.py --voice DIR --threads 2 [--steps 4] [--emotions 2] [--seconds 3]
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import tempfile
from pathlib import Path

from emomix.bench import current_rss_mb, run_bench
from emomix.generation import GenerationConfig
from emomix.synthesis import default_voice_path, load_voice


def with_onnx_graphs(voice: Path, tmp: Path) -> Path:
    """``voice`` when it already carries ONNX graphs, else an exported copy under ``tmp``."""
    if (voice / "onnx" / "denoiser.onnx").is_file():
        return voice
    from emomix_export import export_voice

    out = tmp / "voice-onnx"
    shutil.copytree(voice, out)
    export_voice(out, onnx=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--voice", type=Path, default=None)
    ap.add_argument("--backends", default="torch,onnx,native")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--steps", type=int, default=4)
    ap.add_argument("--emotions", type=int, default=2)
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--repeats", type=int, default=10)
    ap.add_argument("--emotion-scale", type=float, default=None,
                    help="extrapolation from neutral (default: the voice's; 1 = none)")
    args = ap.parse_args()

    voice_dir = args.voice if args.voice is not None else default_voice_path()
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.backends.split(","):
            path = with_onnx_graphs(voice_dir, Path(tmp)) if name in ("onnx", "tensorrt") \
                else voice_dir
            before = current_rss_mb()
            voice = load_voice(path, backend=name, threads=args.threads)
            r = run_bench(voice, GenerationConfig(steps=args.steps,
                                                  emotion_scale=args.emotion_scale),
                          emotions=args.emotions, seconds=args.seconds, repeats=args.repeats)
            r["load_rss_mb"] = round(current_rss_mb() - before, 1)
            r["threads"] = args.threads
            results[name] = r
            del voice

    print(f"{'backend':>8} {'RTF':>8} {'RTF med':>8} {'synth ms':>9} {'1st audio':>9} "
          f"{'encode':>7} {'sample':>7} {'vocode':>7} {'fused RTF':>9}")
    for name, r in results.items():
        p = r["parts_ms_min"]
        fused = f"{r['fused_rtf']:.4f}" if "fused_rtf" in r else "-"
        print(f"{name:>8} {r['rtf']:8.4f} {r['rtf_median']:8.4f} {r['synth_ms']:9.1f} "
              f"{r['first_audio_ms']:9.1f} {p['encode_ms']:7.1f} {p['sample_ms']:7.1f} "
              f"{p['vocode_ms']:7.1f} {fused:>9}")
    summary = {"voice": str(voice_dir), "threads": args.threads, "machine": platform.machine(),
               "results": results}
    if "onnx" in results and "native" in results:
        summary["native_speedup_vs_onnx"] = round(results["onnx"]["rtf"] / results["native"]["rtf"],
                                                  2)
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
