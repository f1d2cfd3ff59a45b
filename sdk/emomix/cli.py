"""The `emomix` command line."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .backends import BACKENDS

EXAMPLE = 'emomix say "Well, look who it is!" --emotion happy=0.6,surprise=0.4 -o line.wav'


def _add_say(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("say", help="synthesise a line with a blended emotion to a WAV file",
                       description="Synthesise TEXT with a blended emotion. Example: " + EXAMPLE)
    p.add_argument("text", help="the line to speak")
    p.add_argument("--voice", type=Path, default=None,
                   help="voice bundle directory (default: the shipped default voice)")
    p.add_argument("--emotion", default="neutral",
                   help="emotion mix as name=weight pairs, e.g. happy=0.6,surprise=0.4")
    p.add_argument("--intensity", type=float, default=1.0,
                   help="blend with neutral: 0 neutral, 1 the mix, up to 1.5 exaggerated")
    p.add_argument("--speaker", default=None, help="speaker name (default: the voice's first)")
    p.add_argument("--steps", type=int, default=None, help="sampler steps (default: the voice's)")
    p.add_argument("--preset", choices=["emomix", "blend"], default=None,
                   help="how the mix is scheduled over the steps (default: the voice's)")
    p.add_argument("--solver", default=None,
                   help="euler|heun (flow voices), em|pf_euler (score voices)")
    p.add_argument("--seed", type=int, default=None, help="same seed, same audio")
    p.add_argument("--backend", choices=sorted(BACKENDS), default="torch",
                   help="torch (reference), onnx (ONNX Runtime; run `emomix export` first), "
                   "tensorrt (NVIDIA GPUs)")
    p.add_argument("--threads", type=int, default=None, help="CPU threads for the backend")
    p.add_argument("-o", "--output", type=Path, required=True, help="WAV file to write")
    p.set_defaults(func=cmd_say)


def cmd_say(args: argparse.Namespace) -> int:
    from . import load_voice, parse_emotion_spec
    from .audio import write_wav

    options = {"threads": args.threads} if args.threads else {}
    voice = load_voice(args.voice, backend=args.backend, **options)
    result = voice.synthesize_full(
        args.text, parse_emotion_spec(args.emotion), intensity=args.intensity,
        speaker=args.speaker, steps=args.steps, preset=args.preset, solver=args.solver,
        seed=args.seed)
    write_wav(args.output, result.audio, result.sample_rate)
    seconds = result.audio.size / result.sample_rate
    print(f"wrote {args.output} ({seconds:.2f} s, emotions {', '.join(result.conditions)}, "
          f"seed {result.seed})")
    return 0


def _add_voice(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("voice", help="create or check voice bundles")
    vs = p.add_subparsers(dest="voice_command", metavar="COMMAND", required=True)
    init = vs.add_parser("init", help="write a new voice bundle with untrained weights",
                         description="Write a voice bundle with randomly initialised weights. "
                         "Such a voice produces noise, not speech: it exists for plumbing "
                         "tests and demos until a trained voice is available.")
    init.add_argument("out", type=Path, help="directory to create")
    init.add_argument("--random", action="store_true", required=True,
                      help="random weights (required: states that the voice is untrained)")
    init.add_argument("--seed", type=int, default=0)
    init.add_argument("--parameterisation", choices=["flow", "score"], default="flow")
    init.add_argument("--speakers", type=int, default=2, help="number of speakers")
    init.add_argument("--fp16", action="store_true", help="store weights as float16")
    init.set_defaults(func=cmd_voice_init)
    check = vs.add_parser("check", help="validate a voice bundle (hashes, shapes, fields)")
    check.add_argument("path", type=Path)
    check.set_defaults(func=cmd_voice_check)


def cmd_voice_init(args: argparse.Namespace) -> int:
    from .train.init_voice import build_random_voice

    bundle = build_random_voice(args.out, seed=args.seed, parameterisation=args.parameterisation,
                                n_speakers=args.speakers,
                                dtype="float16" if args.fp16 else "float32")
    print(f"wrote untrained voice {bundle.path} (random weights: noise, not speech)")
    return 0


def cmd_voice_check(args: argparse.Namespace) -> int:
    from .voice import load_bundle, load_weights

    bundle = load_bundle(args.path)
    weights = load_weights(bundle)
    n = sum(int(v.size) for v in weights.values())
    print(f"{bundle.path}: ok ({bundle.parameterisation}, {len(weights)} tensors, "
          f"{n / 1e6:.2f} M parameters, emotions {', '.join(bundle.emotions)}, "
          f"speakers {', '.join(bundle.speakers)})")
    return 0


def build_parser() -> argparse.ArgumentParser:
    from . import __version__

    parser = argparse.ArgumentParser(
        prog="emomix", description="Emotional speech whose emotions blend in real time.",
        epilog="Example: " + EXAMPLE)
    parser.add_argument("--version", action="version", version=f"emomix {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True,
                                title="commands")
    _add_say(sub)
    _add_voice(sub)
    from .data.cli import add_corpus_commands
    from .train.cli import add_train_commands

    add_corpus_commands(sub)
    add_train_commands(sub)
    try:  # the export tooling ships beside the SDK in the same wheel
        from emomix_export.cli import add_export_command
    except ImportError:  # pragma: no cover - only when installed without it
        pass
    else:
        add_export_command(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (ValueError, FileNotFoundError, ImportError, OSError) as exc:
        print(f"emomix {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
