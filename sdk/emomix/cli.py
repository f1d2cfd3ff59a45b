"""The `emomix` command line."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .backends import BACKEND_CHOICES
from .bench import add_bench_command

#: the --backend help of every command that loads a voice
BACKEND_HELP = ("auto (default): native if emomix._native is built, else onnx (onnxruntime and "
                "an exported voice), else torch; or name one: native (C++ runtime), onnx (ONNX "
                "Runtime; run `emomix export` first), torch (reference), tensorrt (NVIDIA GPUs)")
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
    p.add_argument("--emotion-scale", type=float, default=None,
                   help="the denoiser's extrapolation from neutral, 1 to 1.5 (default: the "
                   "voice's; 1 = none)")
    p.add_argument("--length-scale", type=float, default=None,
                   help="speaking time, 0.25 to 4, > 1 slower (default: the voice's)")
    _add_emotion_sources(p)
    p.add_argument("--speaker", default=None,
                   help="speaker name or blend, e.g. speaker0 or speaker0=0.7,speaker1=0.3 "
                   "(default: the voice's default speaker)")
    p.add_argument("--steps", type=int, default=None, help="sampler steps (default: the voice's)")
    p.add_argument("--preset", choices=["emomix", "blend"], default=None,
                   help="how the mix is scheduled over the steps (default: the voice's)")
    p.add_argument("--solver", default=None,
                   help="euler|heun (flow voices), em|pf_euler (score voices)")
    p.add_argument("--seed", type=int, default=None, help="same seed, same audio")
    p.add_argument("--backend", choices=BACKEND_CHOICES, default="auto",
                   help=BACKEND_HELP)
    p.add_argument("--threads", type=int, default=None, help="CPU threads for the backend")
    p.add_argument("-o", "--output", type=Path, required=True, help="WAV file to write")
    p.set_defaults(func=cmd_say)


def _add_emotion_sources(p: argparse.ArgumentParser) -> None:
    p.add_argument("--valence", type=float, default=None,
                   help="with --arousal: a point of the valence/arousal plane (each in [-1, 1]) "
                   "instead of --emotion; mapped onto the voice's emotions by their coordinates")
    p.add_argument("--arousal", type=float, default=None, help="see --valence")
    p.add_argument("--reference", type=Path, default=None,
                   help="a WAV clip (at the voice's sample rate) whose emotion, as the voice's "
                   "emotion recogniser hears it, is used instead of --emotion")


def _speaker_arg(spec: str | None) -> str | dict[str, float] | None:
    from . import parse_emotion_spec

    if spec is None or "=" not in spec and "," not in spec:
        return spec
    return parse_emotion_spec(spec)


def _emotion_state(args: argparse.Namespace, voice):
    """The EmotionState the --emotion / --valence --arousal / --reference options ask for."""
    from . import parse_emotion_spec
    from .state import EmotionState

    va = (args.valence, args.arousal)
    if (va[0] is None) != (va[1] is None):
        raise ValueError("give --valence and --arousal together (each in [-1, 1])")
    chosen = [name for name, given in (("--valence/--arousal", va[0] is not None),
                                       ("--reference", args.reference is not None),
                                       ("--emotion", args.emotion != "neutral")) if given]
    if len(chosen) > 1:
        raise ValueError(f"{' and '.join(chosen)} both set the emotion; give only one")
    if args.reference is not None:
        state = EmotionState.from_reference(args.reference, voice)
    else:
        state = EmotionState(voice)
        if va[0] is not None:
            state.set_valence_arousal(*va)
        else:
            state.set(parse_emotion_spec(args.emotion))
    state.intensity = args.intensity
    return state


def _character(args: argparse.Namespace, voice, **options):
    from .character import Character

    return Character(voice, speaker=_speaker_arg(args.speaker),
                     emotion=_emotion_state(args, voice), steps=args.steps, preset=args.preset,
                     solver=args.solver, emotion_scale=args.emotion_scale,
                     length_scale=args.length_scale, **options)


def cmd_say(args: argparse.Namespace) -> int:
    from . import load_voice
    from .audio import write_wav
    from .character import StreamConfig

    options = {"threads": args.threads} if args.threads else {}
    voice = load_voice(args.voice, backend=args.backend, **options)
    # the whole line as one block: the same audio as Voice.synthesize for a fixed emotion
    npc = _character(args, voice, stream=StreamConfig(block_frames=None))
    line = npc.say_full(args.text, args.seed)
    write_wav(args.output, line.audio, line.sample_rate)
    seconds = line.audio.size / line.sample_rate
    mix = ", ".join(f"{k}={v:.2f}" for k, v in npc.emotion.weights.items())
    print(f"wrote {args.output} ({seconds:.2f} s, emotions {mix}, seed {line.seed})")
    return 0


def _add_play(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("play", help="speak a line through the default audio device, streamed",
                       description="Synthesise TEXT and play it while it is being made "
                       "(needs `pip install 'emomix[audio]'` and an output device).")
    p.add_argument("text", help="the line to speak")
    p.add_argument("--voice", type=Path, default=None,
                   help="voice bundle directory (default: the shipped default voice)")
    p.add_argument("--emotion", default="neutral",
                   help="emotion mix as name=weight pairs, e.g. happy=0.6,surprise=0.4")
    p.add_argument("--intensity", type=float, default=1.0,
                   help="blend with neutral: 0 neutral, 1 the mix, up to 1.5 exaggerated")
    p.add_argument("--emotion-scale", type=float, default=None,
                   help="the denoiser's extrapolation from neutral, 1 to 1.5 (default: the "
                   "voice's; 1 = none)")
    p.add_argument("--length-scale", type=float, default=None,
                   help="speaking time, 0.25 to 4, > 1 slower (default: the voice's)")
    _add_emotion_sources(p)
    p.add_argument("--speaker", default=None, help="speaker name or blend (speaker0=0.5,...)")
    p.add_argument("--steps", type=int, default=None, help="sampler steps (default: the voice's)")
    p.add_argument("--preset", choices=["emomix", "blend"], default=None)
    p.add_argument("--solver", default=None)
    p.add_argument("--seed", type=int, default=None, help="same seed, same audio")
    p.add_argument("--backend", choices=BACKEND_CHOICES, default="auto", help=BACKEND_HELP)
    p.add_argument("--threads", type=int, default=None, help="CPU threads for the backend")
    p.add_argument("--device", default=None, help="output device index or name (sounddevice)")
    p.add_argument("--output", choices=["device", "null"], default="device",
                   help=argparse.SUPPRESS)  # "null": no device, for tests
    p.set_defaults(func=cmd_play)


def cmd_play(args: argparse.Namespace) -> int:
    from . import load_voice
    from .audio import AudioDeviceError, Player

    device = int(args.device) if args.device is not None and args.device.isdigit() \
        else args.device
    try:  # open the device first: no point synthesising for a missing speaker
        player = Player(22050, output=args.output, device=device,
                        null_speed=50.0 if args.output == "null" else 1.0)
    except AudioDeviceError as exc:
        raise OSError(f"{exc}. To get a file instead: emomix say TEXT -o out.wav") from exc
    with player:
        options = {"threads": args.threads} if args.threads else {}
        voice = load_voice(args.voice, backend=args.backend, **options)
        if voice.sample_rate != player.sample_rate:
            raise ValueError(f"voice sample rate {voice.sample_rate} Hz is not supported by "
                             "`emomix play` (22050 Hz); use `emomix say -o` instead")
        npc = _character(args, voice)
        speech = npc.speak(args.text, args.seed)
        player.play(speech)
        player.wait()
        stats = player.stats
        if player.last_error is not None:
            raise player.last_error
    print(f"played {stats.played_samples / voice.sample_rate:.2f} s on the {player.output_kind} "
          f"output (seed {speech.seed}, underruns {stats.underruns})")
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


def _add_config(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("config", help="where the C library and its header are (for builds)",
                       description="Print what a C or C++ build needs to use emomix's C ABI: "
                       "e.g. cc game.c -I\"$(emomix config --include)\" "
                       "\"$(emomix config --lib)\"")
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--include", action="store_true",
                       help="the folder of emomix.h (give it to the compiler with -I)")
    which.add_argument("--lib", action="store_true",
                       help="the path of libemomix.so ($EMOMIX_LIBRARY if set)")
    p.set_defaults(func=cmd_config)


def cmd_config(args: argparse.Namespace) -> int:
    from .capi import include_dir, library_path  # needs no cffi

    print(include_dir() if args.include else library_path())
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
    _add_play(sub)
    _add_voice(sub)
    _add_config(sub)
    from .data.cli import add_corpus_commands
    from .train.cli import add_train_commands

    add_corpus_commands(sub)
    add_train_commands(sub)
    add_bench_command(sub)
    from .evaluation import add_eval_command

    add_eval_command(sub)
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
    except (ValueError, FileNotFoundError, ImportError, OSError, NotImplementedError) as exc:
        print(f"emomix {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
