"""Parameter counts, multiply-accumulates and torch CPU inference time of every network.

Prints one JSON object. Times are medians over ``--repeats`` calls for a ``--seconds`` line
(frames = seconds * sample_rate / hop) with ``--phonemes`` phonemes, after warm-up, with
``--threads`` torch threads. The estimate ``pipeline`` adds encoder + steps × denoiser(batch =
conditions) + vocoder and divides by the audio duration (RTF; lower is better).

    PYTHONPATH=sdk python benchmarks/model_sizes.py [--threads 2] [--steps 4] [--conditions 2]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time

import torch

from emomix.config import ModelConfig
from emomix.models import VoiceModel, count_macs, count_parameters


def _median_ms(fn, repeats: int, warmup: int = 3) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return 1000.0 * statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--phonemes", type=int, default=40)
    ap.add_argument("--steps", type=int, default=4)
    ap.add_argument("--conditions", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=10)
    ap.add_argument("--parameterisation", default="flow", choices=["flow", "score"])
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    cfg = ModelConfig(n_symbols=100, n_speakers=4, parameterisation=args.parameterisation)
    model = VoiceModel(cfg).eval()
    a = cfg.audio
    n_frames = round(args.seconds * a.sample_rate / a.hop_length)
    audio_s = n_frames * a.hop_length / a.sample_rate
    t_ph, e, s, c = args.phonemes, cfg.emotion_dim, cfg.speaker_dim, args.conditions

    ph = torch.randint(0, cfg.n_symbols, (1, t_ph))
    lengths = torch.tensor([t_ph])
    emo1, spk1 = torch.randn(1, e), torch.randn(1, s)
    mel1 = torch.randn(1, a.n_mels, n_frames)
    x_c, mu_c = torch.randn(c, a.n_mels, n_frames), torch.randn(c, a.n_mels, n_frames)
    t_c, emo_c, spk_c = torch.rand(c), torch.randn(c, e), torch.randn(c, s)

    calls = {
        "encoder": (model.encoder, lambda: model.encoder(ph, lengths, emo1, spk1), t_ph),
        "denoiser": (
            model.denoiser,
            lambda: model.denoiser(mel1, t_c[:1], mel1, emo1, spk1),
            n_frames,
        ),
        f"denoiser_batch{c}": (
            model.denoiser,
            lambda: model.denoiser(x_c, t_c, mu_c, emo_c, spk_c),
            n_frames * c,
        ),
        "vocoder": (model.vocoder, lambda: model.vocoder(mel1), n_frames),
        "ser": (model.ser, lambda: model.ser(mel1), n_frames),
    }
    nets = {}
    with torch.inference_mode():
        for name, (module, fn, units) in calls.items():
            macs = count_macs(module, fn)
            entry = {
                "params": count_parameters(module),
                "macs_per_call": macs,
                "ms_per_call": round(_median_ms(fn, args.repeats), 3),
            }
            unit = "phoneme" if name == "encoder" else "frame"
            entry[f"macs_per_{unit}"] = round(macs / units)
            nets[name] = entry
    nets["vocoder"]["istft_dense_basis_macs_per_frame"] = model.vocoder.istft.macs_per_frame()

    pipeline_ms = (
        nets["encoder"]["ms_per_call"]
        + args.steps * nets[f"denoiser_batch{c}"]["ms_per_call"]
        + nets["vocoder"]["ms_per_call"]
    )
    print(
        json.dumps(
            {
                "benchmark": "model_sizes",
                "torch": torch.__version__,
                "machine": platform.machine(),
                "processor": platform.processor() or None,
                "threads": args.threads,
                "parameterisation": args.parameterisation,
                "line_seconds": round(audio_s, 4),
                "frames": n_frames,
                "phonemes": t_ph,
                "networks": nets,
                "total_params": count_parameters(model),
                "pipeline": {
                    "steps": args.steps,
                    "conditions": c,
                    "ms": round(pipeline_ms, 3),
                    "rtf": round(pipeline_ms / 1000.0 / audio_s, 5),
                },
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
