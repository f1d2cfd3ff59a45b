"""Parameter counts, multiply-accumulates and torch CPU inference time of every network.

Prints one JSON object. Times are the median and the minimum (robust on a busy machine) over
``--repeats`` calls for a ``--seconds`` line (frames = seconds * sample_rate / hop) with
``--phonemes`` phonemes, after warm-up, with ``--threads`` torch threads. ``pipeline`` adds
encoder + steps × denoiser(batch = conditions) + vocoder and divides by the audio duration
(RTF; lower is better), from medians and from minima.

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


def _time_ms(fn, repeats: int, warmup: int = 3) -> tuple[float, float]:
    """(median, minimum) wall time of ``fn()`` in milliseconds."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return 1000.0 * statistics.median(times), 1000.0 * min(times)


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
            median, best = _time_ms(fn, args.repeats)
            entry = {
                "params": count_parameters(module),
                "macs_per_call": macs,
                "ms_per_call": round(median, 3),
                "ms_per_call_min": round(best, 3),
            }
            unit = "phoneme" if name == "encoder" else "frame"
            entry[f"macs_per_{unit}"] = round(macs / units)
            nets[name] = entry
        # the ConvNeXt part alone (the dense iSTFT basis is what an FFT replaces natively)
        nets["vocoder"]["ms_network_only"] = round(
            _time_ms(lambda: model.vocoder.spectrum(mel1), args.repeats)[0], 3
        )
    nets["vocoder"]["istft_dense_basis_macs_per_frame"] = model.vocoder.istft.macs_per_frame()

    def pipeline(key: str) -> float:
        return (
            nets["encoder"][key]
            + args.steps * nets[f"denoiser_batch{c}"][key]
            + nets["vocoder"][key]
        )

    pipeline_ms, pipeline_ms_min = pipeline("ms_per_call"), pipeline("ms_per_call_min")
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
                    "ms_min": round(pipeline_ms_min, 3),
                    "rtf_min": round(pipeline_ms_min / 1000.0 / audio_s, 5),
                },
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
