"""Word error rate of a voice's held-out sentences across sampler settings (temperature, steps,
emotion scale, length scale): which defaults a listener understands best.

    python benchmarks/sampler_sweep.py --voice voices/default --corpus corpus \\
        --sentences 12 --temperatures 1,0.7,0.5 --steps 4,8

For each setting, every emotion of the voice speaks the same held-out sentences of its default
speaker (the corpus's test split, or the lines of ``--lines``; each sentence once per emotion, the
same seeds across settings)
on the default backend, and Whisper base (emomix.perception) transcribes them. Prints one JSON
object: per setting, the corpus-level WER per emotion and over all of them.
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
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=1)
    args = p.parse_args(argv)

    import emomix
    from emomix.bench import read_text_lines
    from emomix.data import held_out_texts, load_esd
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
    out: dict[str, object] = {"voice": voice.bundle.name, "speaker": speaker,
                              "sentences": len(texts), "settings": []}
    for temperature, steps, scale, length in itertools.product(
            args.temperatures, args.steps, scales, lengths):
        config = emomix.GenerationConfig(temperature=temperature, steps=steps,
                                         emotion_scale=scale, length_scale=length,
                                         speakers=speaker)
        per_emotion = {}
        everything = []
        for ei, emotion in enumerate(voice.emotions):
            counts = []
            for k, text in enumerate(texts):
                audio = voice.synthesize(text, {emotion: 1.0}, config,
                                         seed=args.seed + 31 * k + ei)
                counts.append(word_errors(text, asr.transcribe(audio, voice.sample_rate)))
            per_emotion[emotion] = round(corpus_rate(counts), 4)
            everything += counts
        row = {"temperature": temperature, "steps": steps, "emotion_scale": scale,
               "length_scale": voice.check_length_scale(length),
               "wer": round(corpus_rate(everything), 4), "wer_per_emotion": per_emotion}
        print(json.dumps(row), file=sys.stderr)
        out["settings"].append(row)
    json.dump(out, sys.stdout, indent=1)
    print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
