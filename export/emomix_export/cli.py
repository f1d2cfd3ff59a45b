"""``emomix export``: the command-line face of :func:`emomix_export.export_voice`."""

from __future__ import annotations

import argparse
import json


def add_export_command(subparsers) -> argparse.ArgumentParser:
    """Register ``export`` on an ``argparse`` subparsers object; the handler is ``run_export``
    (stored as ``func``)."""
    p = subparsers.add_parser(
        "export", help="export a voice's networks to ONNX (and TensorRT engines)",
        description="Write onnx/*.onnx (encoder, denoiser step, vocoder, SER, and the pitch "
        "predictor for voices that have one) into a voice bundle with the runtime contract in "
        "their metadata, check them against PyTorch, and update voice.json's file hashes. "
        "Stages that are already current are skipped.")
    p.add_argument("voice_dir", metavar="VOICE_DIR", help="voice bundle directory")
    p.add_argument("--onnx", action="store_true", help="write/refresh onnx/*.onnx")
    p.add_argument("--tensorrt", action="store_true",
                   help="also build tensorrt/*.plan on this GPU (needs the tensorrt package)")
    p.add_argument("--fp16", action="store_true",
                   help="allow FP16 kernels in TensorRT engines (ONNX graphs stay fp32)")
    p.add_argument("--out", metavar="DIR", default=None,
                   help="write a copy of the bundle with the graphs to DIR instead")
    p.add_argument("--networks", default=None,
                   help="comma-separated subset of encoder,denoiser,vocoder,ser "
                   "(and pitch for a voice with a pitch predictor)")
    p.add_argument("--force", action="store_true", help="rebuild stages that are current")
    p.add_argument("--no-validate", action="store_true",
                   help="skip the ONNX Runtime vs PyTorch parity check (not recommended)")
    p.add_argument("--json", action="store_true", help="print a JSON report")
    p.set_defaults(func=run_export)
    return p


def run_export(args: argparse.Namespace) -> int:
    from .onnx_export import export_voice

    if not (args.onnx or args.tensorrt):
        raise SystemExit("emomix export: pass --onnx (and optionally --tensorrt)")
    networks = [n.strip() for n in args.networks.split(",")] if args.networks else None
    report = export_voice(
        args.voice_dir, out=args.out, onnx=True, tensorrt=args.tensorrt, fp16=args.fp16,
        networks=networks, validate=not args.no_validate, force=args.force,
        log=None if args.json else print)
    if args.json:
        print(json.dumps({"bundle": str(report.bundle_dir), "built": report.built,
                          "skipped": report.skipped, "parity_rel_l2": report.parity,
                          "rehashed": report.rehashed}, indent=2))
    elif not report.did_work:
        print(f"{report.bundle_dir}: everything is current; nothing to do")
    return 0


def main(argv=None) -> int:
    """Stand-alone entry (``python -m emomix_export.cli``) for when the emomix CLI lacks it."""
    parser = argparse.ArgumentParser(prog="emomix")
    sub = parser.add_subparsers(dest="command", required=True)
    add_export_command(sub)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
