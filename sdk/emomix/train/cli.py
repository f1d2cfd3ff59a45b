"""``emomix train …`` commands. ``emomix.cli`` registers them with :func:`add_train_commands`.

emomix train voice --corpus corpora/espeak --out voices/mine --budget-minutes 120 --threads 2
emomix train ser --corpus corpora/espeak --run runs/mine --steps 2000
emomix train acoustic --run runs/mine --minutes 60
emomix train pitch --run runs/mine --minutes 5
emomix train vocoder --run runs/mine --minutes 30 --resume
emomix train bundle --run runs/mine --out voices/mine --default-speaker espeak-0001
emomix train grow --run runs/mine --out runs/mine-deep --res-blocks 2
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

__all__ = ["add_train_commands", "cmd_train_bundle", "cmd_train_grow", "cmd_train_stage",
           "cmd_train_voice"]


def _config_overrides(value: str | None) -> dict[str, Any]:
    """``--config``: a JSON file or an inline JSON object merged into the default ModelConfig."""
    if not value:
        return {}
    text = Path(value).read_text() if not value.lstrip().startswith("{") else value
    d = json.loads(text)
    if not isinstance(d, dict):
        raise ValueError(f"--config must be a JSON object, got {type(d).__name__}")
    return d


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--device", choices=("cpu", "cuda"), default="cpu",
                   help="train on the CPU (default) or a CUDA GPU")
    p.add_argument("--threads", type=int, default=None,
                   help="torch CPU threads (torch.set_num_threads; default: torch's choice)")
    p.add_argument("--resume", action="store_true",
                   help="continue from the checkpoints in the run directory")
    p.add_argument("--config", default=None,
                   help="model config overrides: a JSON file or inline JSON object, merged into "
                   "the defaults (e.g. '{\"encoder\": {\"n_layers\": 2}}'); new runs only")
    p.add_argument("--parameterisation", choices=("flow", "score"), default="flow",
                   help="denoiser parameterisation (new runs only; default flow)")
    p.add_argument("--seed", type=int, default=0, help="seeds torch and the batch sampler")
    p.add_argument("--init-voice", type=Path, default=None,
                   help="fine-tune: start every network from this voice bundle's weights, "
                   "with its model config and mel normalisation (new runs only)")
    from .dataset import ALIGNMENT_SOURCES

    p.add_argument("--alignment", choices=ALIGNMENT_SOURCES, default="corpus",
                   help="phoneme durations for training: the corpus's alignments.jsonl where "
                   "it has the clip, else the alignment search (corpus, default), or the "
                   "search for every clip (search); new runs only")
    p.add_argument("--quiet", action="store_true", help="no progress lines")


def add_train_commands(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add ``train ser|acoustic|pitch|vocoder|voice`` to an ``emomix`` sub-parser set.

    Each leaf parser sets ``func`` (``args.func(args) -> int``).
    """
    train = subparsers.add_parser(
        "train",
        help="train a voice (SER, acoustic model, pitch predictor, vocoder) from an emotional "
        "corpus",
        description="Train an emomix voice from a corpus in ESD layout (e.g. the output of "
        "'emomix corpus synth'). 'train voice' runs every stage within a time budget and writes "
        "a voice bundle; the per-stage commands work on a run directory.")
    ts = train.add_subparsers(dest="train_command", metavar="COMMAND", required=True)

    for stage, what in (("ser", "the speech-emotion recogniser (first)"),
                        ("acoustic", "encoder, duration predictor and denoiser (needs ser)"),
                        ("pitch", "the per-phoneme F0/voicing predictor (needs acoustic)"),
                        ("vocoder", "the mel → waveform vocoder")):
        p = ts.add_parser(stage, help=f"train {what}",
                          description=f"Train {what} in a run directory. The first command of a "
                          "run needs --corpus; it prepares the data cache there.")
        p.add_argument("--run", type=Path, required=True, help="run directory")
        p.add_argument("--corpus", type=Path, default=None, help="corpus root (new runs)")
        p.add_argument("--cache", type=Path, default=None,
                       help="dataset cache directory (default RUN/cache)")
        p.add_argument("--steps", type=int, default=None, help="total steps (ceiling)")
        p.add_argument("--minutes", type=float, default=None, help="wall-clock budget")
        p.add_argument("--batch-size", type=int, default=None)
        p.add_argument("--lr", type=float, default=None,
                       help="learning rate (also on --resume: the saved optimizer keeps its "
                       "moments, not its old rate)")
        p.add_argument("--ema", type=float, default=None,
                       help="decay of the weights' moving average the voice uses (acoustic, "
                       "pitch and vocoder default 0.999; 0 turns it off)")
        if stage == "vocoder":
            p.add_argument("--teacher-forced", action="store_true",
                           help="train on the acoustic model's own mels of each clip (aligned "
                           "to it, through the voice's sampler and harmonics) instead of the "
                           "clip's log-mel: fine-tuning for the mels the vocoder hears at run "
                           "time (needs acoustic)")
            p.add_argument("--adversarial", action="store_true",
                           help="also train against period and spectrogram discriminators "
                           "(least-squares GAN + feature matching) for sharper, less buzzy "
                           "audio; meant for fine-tuning a trained vocoder (--resume)")
        _common(p)
        p.set_defaults(func=cmd_train_stage, stage=stage)

    b = ts.add_parser(
        "bundle", help="write the voice bundle of a run directory (after its stages)",
        description="Write a voice bundle from the checkpoints of a run trained stage by stage. "
        "Example: emomix train bundle --run runs/joe --out voices/joe --name joe "
        "--default-speaker piper-joe")
    b.add_argument("--run", type=Path, required=True, help="run directory")
    b.add_argument("--out", type=Path, required=True, help="voice bundle directory to write")
    b.add_argument("--name", default="emomix-trained", help="the voice's name")
    b.add_argument("--description", default=None, help="the voice's description")
    b.add_argument("--default-speaker", default=None,
                   help="who speaks when a call names no speaker (e.g. piper-joe)")
    b.add_argument("--note", action="append", default=[],
                   help="a line for provenance.history (how the run was trained); repeatable")
    b.add_argument("--dtype", choices=("float16", "float32"), default="float16",
                   help="weight precision in the bundle (default float16)")
    b.set_defaults(func=cmd_train_bundle)

    g = ts.add_parser(
        "grow", help="start a new run from a run's checkpoints with a deeper denoiser",
        description="Copy a run's checkpoints into a new run whose denoiser has more blocks per "
        "level. The new blocks start as identities, so the grown model computes what the old "
        "one did; continue with 'emomix train acoustic --run OUT --resume'. Example: emomix "
        "train grow --run runs/joe --out runs/joe-deep --res-blocks 2 --transformer-blocks 2")
    g.add_argument("--run", type=Path, required=True, help="the run to grow from")
    g.add_argument("--out", type=Path, required=True, help="the new run directory")
    g.add_argument("--res-blocks", type=int, default=None,
                   help="residual blocks per level (at least the run's)")
    g.add_argument("--transformer-blocks", type=int, default=None,
                   help="transformer blocks at the lowest level (at least the run's)")
    g.set_defaults(func=cmd_train_grow)

    v = ts.add_parser(
        "voice", help="run every stage within a time budget and write a voice bundle",
        description="Prepare the data, train SER (10 % of the budget), acoustic model "
        "(55 %), pitch predictor (5 %) and vocoder (30 %), and write a voice bundle with "
        "provenance. Example: emomix train voice --corpus corpora/espeak --out voices/mine "
        "--budget-minutes 120 --threads 2")
    v.add_argument("--corpus", type=Path, required=True, help="corpus root (ESD layout)")
    v.add_argument("--out", type=Path, required=True, help="voice bundle directory to write")
    v.add_argument("--run", type=Path, default=None,
                   help="run directory for cache, checkpoints and losses (default OUT.run)")
    v.add_argument("--budget-minutes", type=float, default=120.0,
                   help="wall-clock budget for everything (default 120; 0 = no limit)")
    v.add_argument("--max-steps", type=int, default=None,
                   help="cap every stage at this many steps (quick runs)")
    v.add_argument("--max-utterances", type=int, default=None,
                   help="use only the first N utterances of the corpus")
    v.add_argument("--dtype", choices=("float16", "float32"), default="float16",
                   help="weight precision in the bundle (default float16)")
    _common(v)
    v.set_defaults(func=cmd_train_voice)
    return train


def _threads(args: argparse.Namespace) -> None:
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)


def cmd_train_stage(args: argparse.Namespace) -> int:
    from .recipe import Recipe, open_run, run_stage

    _threads(args)
    run = open_run(args.run, args.corpus, cache=args.cache,
                   parameterisation=args.parameterisation,
                   config_overrides=_config_overrides(args.config),
                   init_voice=args.init_voice, alignment=args.alignment,
                   progress=not args.quiet)
    recipe = Recipe(device=args.device, seed=args.seed)
    opts = recipe.stage_options(args.stage, budget_s=None if args.minutes is None
                                else args.minutes * 60.0, resume=args.resume,
                                progress=not args.quiet)
    if args.steps is not None:
        opts.max_steps = args.steps
    if args.batch_size is not None:
        opts.batch_size = args.batch_size
    if args.lr is not None:
        opts.lr = args.lr
    if args.ema is not None:
        opts.ema = args.ema or None
        opts.__post_init__()
    if getattr(args, "teacher_forced", False):
        opts.extra["teacher_forced"] = True
    if getattr(args, "adversarial", False):
        opts.extra["adversarial"] = True
    res = run_stage(run, args.stage, opts)
    out = res.to_dict()
    out["outputs"].pop("emotion_embeddings", None)
    print(json.dumps(out, indent=1))
    return 0


def cmd_train_bundle(args: argparse.Namespace) -> int:
    from .recipe import open_run, write_bundle

    if not (args.run / "run.json").is_file():
        raise FileNotFoundError(f"{args.run} is not a run directory (no run.json); train its "
                                "stages first")
    run = open_run(args.run, progress=False)
    missing = [s for s in ("ser", "acoustic", "vocoder") if s not in run.results]
    if missing:
        raise ValueError(f"{args.run}: stage(s) {', '.join(missing)} have no checkpoint yet; "
                         "train them first")
    extra: dict[str, Any] = {"wall_s": {s: r["wall_s"] for s, r in run.results.items()}}
    if args.note:
        extra["history"] = list(args.note)
    bundle = write_bundle(run, args.out, name=args.name, description=args.description,
                          extra_provenance=extra, dtype=args.dtype,
                          default_speaker=args.default_speaker)
    print(json.dumps({"voice": str(args.out), "speakers": list(bundle.meta["speakers"]),
                      "steps": {s: r["steps"] for s, r in run.results.items()}}, indent=1))
    return 0


def cmd_train_grow(args: argparse.Namespace) -> int:
    from .grow import grow_run

    if args.res_blocks is None and args.transformer_blocks is None:
        raise ValueError("say what grows: --res-blocks N and/or --transformer-blocks N")
    grown = grow_run(args.run, args.out, n_res_blocks=args.res_blocks,
                     n_transformer_blocks=args.transformer_blocks)
    print(json.dumps({"run": str(args.out), "grown_from": grown}, indent=1))
    return 0


def cmd_train_voice(args: argparse.Namespace) -> int:
    from .recipe import Recipe, train_voice

    recipe = Recipe(budget_minutes=args.budget_minutes or None,
                    parameterisation=args.parameterisation, device=args.device,
                    threads=args.threads, seed=args.seed, dtype=args.dtype,
                    config_overrides=_config_overrides(args.config),
                    max_utterances=args.max_utterances,
                    init_voice=None if args.init_voice is None else str(args.init_voice),
                    alignment=args.alignment)
    if args.max_steps is not None:
        for stage in ("ser", "acoustic", "pitch", "vocoder"):
            getattr(recipe, stage)["max_steps"] = args.max_steps
    bundle = train_voice(args.corpus, args.out, run_dir=args.run, recipe=recipe,
                         resume=args.resume, progress=not args.quiet)
    prov = bundle.provenance
    print(json.dumps({"voice": str(args.out), "ser_test_accuracy": prov.get("ser_test_accuracy"),
                      "wall_s": prov.get("wall_s"),
                      "steps": {k: v.get("steps") for k, v in prov.get("stages", {}).items()}},
                     indent=1), file=sys.stdout)
    return 0
