"""Change a character's emotion with keys while it talks.

    python samples/interactive/emotion_keys.py [--voice DIR]          # needs a terminal + speaker
    python samples/interactive/emotion_keys.py --script "1,say,3,wait:0.5,+,say,q" --null

Keys (the terminal is read in raw mode; no Enter needed):

    1-9    glide to the voice's n-th emotion (neutral, happy, sad, angry, surprise, ...)
    a / d  valence down / up        w / s  arousal up / down
    + / -  intensity up / down      space  say the next line (queued behind the current one)
    i      interrupt with the next line    p  pause / resume      x  stop      q  quit

Emotion changes glide over ``--glide`` seconds; a change made while a line is being synthesised
shapes the rest of that line. ``--script`` runs the same actions without a terminal (comma
separated keys, plus ``say``, ``interrupt`` and ``wait:SECONDS``); ``--null`` plays to a null
output instead of the speaker (what the tests use).
"""

from __future__ import annotations

import argparse
import select
import sys
import time
from pathlib import Path

import emomix
from emomix.audio import Player

LINES = [
    "Halt! Who goes there?",
    "Oh, it is you. I was not expecting you so soon.",
    "The bridge is out, and the river is rising fast.",
    "Fine, fine. Take the mountain path, but watch your step.",
]


class Demo:
    """The demo's state: one character, one player, and the key actions."""

    def __init__(self, voice: emomix.Voice, player: Player, glide: float, seed: int) -> None:
        self.npc = emomix.Character(voice)
        self.player = player
        self.glide = glide
        self.seed = seed
        self.line = 0
        self.va = [0.0, 0.0]

    def status(self) -> str:
        mix = ", ".join(f"{k} {v:.2f}" for k, v in self.npc.emotion.weights.items())
        stats = self.player.stats
        return (f"[{mix}] intensity {self.npc.emotion.intensity:.2f} | "
                f"{'speaking' if self.player.speaking else 'idle'} | underruns {stats.underruns}")

    def say(self, interrupt: bool = False) -> str:
        text = LINES[self.line % len(LINES)]
        self.player.say(self.npc, text, seed=self.seed + self.line, interrupt=interrupt)
        self.line += 1
        return f"say: {text}"

    def key(self, k: str) -> str | None:
        """Apply one key; returns a log line, or None to quit."""
        emotion = self.npc.emotion
        names = emotion.emotions
        if k == "q":
            return None
        if k.isdigit() and 1 <= int(k) <= len(names):
            name = names[int(k) - 1]
            emotion.transition_to({name: 1.0}, self.glide, curve="ease")
            return f"glide to {name} over {self.glide:.1f} s"
        if k in "adws" and len(k) == 1:
            axis, step = {"a": (0, -0.2), "d": (0, 0.2), "w": (1, 0.2), "s": (1, -0.2)}[k]
            self.va[axis] = max(-1.0, min(1.0, round(self.va[axis] + step, 2)))
            emotion.set_valence_arousal(*self.va)
            return f"valence {self.va[0]:+.1f}, arousal {self.va[1]:+.1f}"
        if k in ("+", "-"):
            value = emotion.intensity + (0.1 if k == "+" else -0.1)
            emotion.intensity = min(max(value, 0.0), emomix.sampler.ALPHA_MAX)
            return f"intensity {emotion.intensity:.1f}"
        if k in (" ", "say"):
            return self.say()
        if k in ("i", "interrupt"):
            return self.say(interrupt=True)
        if k == "p":
            (self.player.resume if self.player.paused else self.player.pause)()
            return "paused" if self.player.paused else "resumed"
        if k == "x":
            self.player.stop()
            return "stopped"
        return f"(key {k!r} does nothing; q quits)"


def run_script(demo: Demo, script: str) -> int:
    for token in (t.strip() for t in script.split(",")):
        if not token:
            continue
        if token.startswith("wait:"):
            time.sleep(float(token[5:]))
            continue
        if token == "space":
            token = " "
        log = demo.key(token)
        if log is None:
            break
        print(log, "|", demo.status(), flush=True)
    demo.player.wait(timeout=300)
    return 0


def run_terminal(demo: Demo) -> int:
    import termios
    import tty

    if not sys.stdin.isatty():
        print("stdin is not a terminal; use --script for a non-interactive run", file=sys.stderr)
        return 2
    fd = sys.stdin.fileno()
    saved = termios.tcgetattr(fd)
    print(__doc__.split("Keys", 1)[1].split("Emotion changes")[0].strip("\n :"))
    try:
        tty.setcbreak(fd)
        print(demo.say())
        while True:
            ready, _, _ = select.select([sys.stdin], [], [], 0.2)
            if ready:
                log = demo.key(sys.stdin.read(1))
                if log is None:
                    break
                print("\r" + log.ljust(60))
            sys.stdout.write("\r" + demo.status()[:100].ljust(100))
            sys.stdout.flush()
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)
        print()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--voice", type=Path, default=None, help="voice bundle directory")
    parser.add_argument("--backend", default="torch")
    parser.add_argument("--script", default=None, help="comma-separated keys to run, no terminal")
    parser.add_argument("--null", action="store_true", help="play to a null output (no speaker)")
    parser.add_argument("--glide", type=float, default=1.5, help="seconds per emotion change")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)

    voice = emomix.load_voice(args.voice, backend=args.backend)
    with Player(voice.sample_rate, output="null" if args.null else "device",
                null_speed=20.0 if args.null else 1.0) as player:
        demo = Demo(voice, player, args.glide, args.seed)
        code = run_script(demo, args.script) if args.script else run_terminal(demo)
        stats = player.stats
        if player.last_error is not None:
            raise player.last_error
    print(f"done: {stats.lines} lines, {stats.played_samples / voice.sample_rate:.2f} s played, "
          f"{stats.underruns} underruns")
    return code


if __name__ == "__main__":
    sys.exit(main())
