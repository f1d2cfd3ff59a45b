"""Word error rate of a voice's held-out sentences across sampler settings (temperature, steps,
emotion scale, length scale): which defaults a listener understands best.

    python benchmarks/sampler_sweep.py --voice voices/default --corpus corpus \\
        --sentences 12 --temperatures 1,0.7,0.5 --steps 4,8

For each setting, every emotion of the voice speaks the same held-out sentences of its default
speaker (the corpus's test split, or the lines of ``--lines``; each sentence once per emotion, the
same seeds across settings)
on the default backend, and Whisper base (emomix.perception) transcribes them. With ``--mixes``
the same sentences are also spoken at ``emomix eval``'s exaggerated intensity and as its six 50/50
X → Y mixes (``EvalOptions``), the other conditions of the intelligibility targets. Prints one JSON
object: per setting, the corpus-level WER per emotion (and intensity and mix) and over each group.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from pathlib import Path


def floats(text: str) -> list[float]:
    return [float(x) for x in text.split(",") if x]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--voice", default=None, help="voice directory (default: the default voice)")
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--corpus", help="the corpus (ESD layout) with a test split")
    source.add_argument("--lines", type=Path,
                        help="text file of lines to speak instead, one per line (# comments "
                             "skipped), e.g. benchmarks/lines/dialogue.txt")
    p.add_argument("--sentences", type=int, default=12)
    p.add_argument("--temperatures", type=floats, default=[1.0])
    p.add_argument("--steps", type=lambda t: [int(x) for x in t.split(",") if x], default=[4])
    p.add_argument("--emotion-scales", type=floats, default=[])
    p.add_argument("--length-scales", type=floats, default=[],
                   help="speaking time (> 1 slower), comma-separated (default: the voice's)")
    p.add_argument("--mixes", action="store_true",
                   help="also every emotion but neutral at emomix eval's intensity (1.5) and "
                        "eval's six 50/50 X->Y mixes")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=1)
    args = p.parse_args(argv)

    import emomix
    from emomix.bench import read_text_lines
    from emomix.data import held_out_texts, load_esd
    from emomix.evaluation import EvalOptions
    from emomix.perception import Recognizer, corpus_rate, word_errors

    voice = emomix.load_voice(args.voice, threads=args.threads)
    speaker = voice.default_speaker
    if args.lines is not None:
        try:
            texts = read_text_lines(args.lines)[: args.sentences]
        except (OSError, ValueError) as e:
            print(f"error: cannot use --lines {args.lines}: {e}", file=sys.stderr)
            return 2
    else:
        texts = held_out_texts(load_esd(args.corpus), speaker)[: args.sentences]
    if not texts:
        print(f"error: no sentences of {speaker} in {args.lines or args.corpus}",
              file=sys.stderr)
        return 2
    asr = Recognizer(cpu_threads=args.threads)
    scales = args.emotion_scales or [None]
    lengths = args.length_scales or [None]
    # (group, label, emotion weights, intensity): the seeds below are those of the plain emotions
    # whatever else is spoken, so runs with and without --mixes agree on them
    conditions = [("emotions", e, {e: 1.0}, 1.0) for e in voice.emotions]
    if args.mixes:
        eval_opts = EvalOptions()
        conditions += [("intensity", f"{e} x{eval_opts.asr_intensity:g}", {e: 1.0},
                        eval_opts.asr_intensity) for e in voice.emotions if e != "neutral"]
        conditions += [("mixes", f"{x}->{y}", {x: 0.5, y: 0.5}, 1.0)
                       for x, y in eval_opts.pairs if {x, y} <= set(voice.emotions)]
    out: dict[str, object] = {"voice": voice.bundle.name, "speaker": speaker,
                              "sentences": len(texts), "settings": []}
    for temperature, steps, scale, length in itertools.product(
            args.temperatures, args.steps, scales, lengths):
        config = emomix.GenerationConfig(temperature=temperature, steps=steps,
                                         emotion_scale=scale, length_scale=length,
                                         speakers=speaker)
        per_label: dict[str, float] = {}
        per_group: dict[str, list] = {}
        for ci, (group, label, weights, intensity) in enumerate(conditions):
            counts = []
            for k, text in enumerate(texts):
                audio = voice.synthesize(text, weights, config, intensity=intensity,
                                         seed=args.seed + 31 * k + ci)
                counts.append(word_errors(text, asr.transcribe(audio, voice.sample_rate)))
            per_label[label] = round(corpus_rate(counts), 4)
            per_group.setdefault(group, []).extend(counts)
        row = {"temperature": temperature, "steps": steps, "emotion_scale": scale,
               "length_scale": voice.check_length_scale(length),
               "wer": round(corpus_rate(per_group["emotions"]), 4),
               "wer_per_emotion": {e: per_label[e] for e in voice.emotions}}
        if args.mixes:  # a voice without neutral or eval's emotions may lack a group
            for group in ("intensity", "mixes"):
                if group in per_group:
                    row[f"wer_{group}"] = round(corpus_rate(per_group[group]), 4)
            row["wer_per_condition"] = {label: per_label[label]
                                        for group, label, _, _ in conditions
                                        if group != "emotions"}
        print(json.dumps(row), file=sys.stderr)
        out["settings"].append(row)
    json.dump(out, sys.stdout, indent=1)
    print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
