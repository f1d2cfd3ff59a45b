"""Offline rendering: a short NPC exchange, each line with its own emotion mix, to WAV files.

    python samples/offline_render/render_dialogue.py --out build/dialogue [--voice DIR]

Shows the public API only: load a voice once, synthesise many lines with different blends and
intensities, write WAVs. Without --voice the shipped default voice is used.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import emomix
from emomix.audio import write_wav

SCRIPT = [
    ("Welcome back, traveller. The road was quiet today.", {"neutral": 1.0}, 1.0),
    ("You found the amulet? I can hardly believe it!", {"happy": 0.6, "surprise": 0.4}, 1.0),
    ("But the village... it is gone.", {"sad": 1.0}, 0.6),
    ("Whoever did this will answer for it.", {"angry": 0.8, "sad": 0.2}, 1.2),
]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--voice", type=Path, default=None, help="voice bundle directory")
    parser.add_argument("--out", type=Path, required=True, help="folder for the WAV files")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    voice = emomix.load_voice(args.voice)
    args.out.mkdir(parents=True, exist_ok=True)
    manifest = []
    for i, (text, mix, intensity) in enumerate(SCRIPT):
        audio = voice.synthesize(text, mix, intensity=intensity, seed=args.seed + i)
        path = write_wav(args.out / f"line{i:02d}.wav", audio, voice.sample_rate)
        seconds = round(audio.size / voice.sample_rate, 3)
        manifest.append({"file": path.name, "text": text, "emotion": mix,
                         "intensity": intensity, "seconds": seconds})
        print(f"{path}: {manifest[-1]['seconds']:.2f} s  {mix} x{intensity}")
    (args.out / "manifest.json").write_text(json.dumps(manifest, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
