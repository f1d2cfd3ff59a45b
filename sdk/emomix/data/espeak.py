"""A thin wrapper around the ``espeak-ng`` program: custom voice variants and rendering to arrays.

espeak-ng sets a voice's pitch level and pitch *range* (``pitch <base Hz> <top Hz>``), its
jitter (``flutter``), creak (``roughness``), breathiness (``breath``), formant scaling and
intonation tunes in *voice variant files*, but only reads those from its data directory. So
:class:`EspeakData` builds a private data directory — symbolic links to the system's
``espeak-ng-data`` (phoneme tables, dictionaries, the language files asked for) plus a
``voices/!v`` folder holding our own variants — and renders with ``--path`` pointing at it.
Nothing in the system installation is modified.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
import tempfile
import wave
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import EmomixError

__all__ = ["EspeakData", "EspeakError", "espeak_binary", "espeak_version", "render"]

VARIANT_DIR = "!v"
#: Most custom variants one :class:`EspeakData` holds (espeak-ng lists at most 349 voices).
MAX_VARIANTS = 300


class EspeakError(EmomixError, RuntimeError):
    """espeak-ng is missing, or failed to render a line."""


def espeak_binary() -> str:
    """Path of the ``espeak-ng`` program; raises :class:`EspeakError` if it is not installed."""
    path = shutil.which("espeak-ng")
    if path is None:
        raise EspeakError(
            "espeak-ng is not installed or not on PATH; install it "
            "(Debian/Ubuntu: `apt-get install espeak-ng`)"
        )
    return path


def _version_line() -> str:
    out = subprocess.run(
        [espeak_binary(), "--version"], capture_output=True, text=True, check=False
    )
    return out.stdout.strip()


def espeak_version() -> str:
    """The version number, e.g. ``"1.51"``."""
    m = re.search(r"text-to-speech:\s*(\S+)", _version_line())
    return m.group(1) if m else "unknown"


def _system_data_dir() -> Path:
    m = re.search(r"Data at:\s*(.+)$", _version_line())
    if not m or not Path(m.group(1).strip()).is_dir():
        raise EspeakError("could not find espeak-ng's data directory from `espeak-ng --version`")
    return Path(m.group(1).strip())


def read_variant(name: str) -> list[str]:
    """The lines of a system voice variant (``m3``, ``f2`` …) from ``voices/!v``."""
    path = _system_data_dir() / "voices" / VARIANT_DIR / name
    if not path.is_file():
        raise EspeakError(f"espeak-ng has no voice variant {name!r} (looked for {path})")
    return path.read_text(encoding="utf-8", errors="replace").splitlines()


@dataclass
class EspeakData:
    """A private espeak-ng data directory into which custom voice variants can be written.

    ``root`` is what ``--path`` takes (it contains ``espeak-ng-data/``). Everything but the voice
    lists is a symbolic link into the system's data. espeak-ng indexes at most 349 voice files
    (language files plus variants) and refuses variants beyond that, so the private directory
    holds only the language files asked for and only our own variants: up to
    :data:`MAX_VARIANTS` of them.

    Use as a context manager, or call :meth:`cleanup`; with ``root`` given, the directory is
    kept.
    """

    root: Path
    owned: bool = False  # True: made by create() in a temporary folder, removed by cleanup()

    @classmethod
    def create(cls, languages: Iterable[str], root: str | Path | None = None) -> EspeakData:
        """Make the directory with the language voice files ``languages`` (``"gmw/en-US"``)."""
        system = _system_data_dir()
        base = Path(tempfile.mkdtemp(prefix="emomix-espeak-")) if root is None else Path(root)
        data = base / "espeak-ng-data"
        (data / "voices" / VARIANT_DIR).mkdir(parents=True, exist_ok=True)
        (data / "lang").mkdir(exist_ok=True)
        for entry in system.iterdir():
            if entry.name not in ("voices", "lang") and not (data / entry.name).exists():
                (data / entry.name).symlink_to(entry)
        for language in sorted(set(languages)):
            source = system / "lang" / language
            if not source.is_file():
                raise EspeakError(
                    f"espeak-ng has no language voice {language!r} (looked for {source})"
                )
            target = data / "lang" / language
            target.parent.mkdir(parents=True, exist_ok=True)
            if not target.exists():
                target.symlink_to(source)
        return cls(base, owned=root is None)

    def variants(self) -> list[str]:
        return sorted(
            p.name for p in (self.root / "espeak-ng-data" / "voices" / VARIANT_DIR).iterdir()
        )

    def write_variant(self, name: str, lines: list[str]) -> str:
        """Write a variant file; returns the name to put after ``+`` in ``-v lang+name``."""
        if not re.fullmatch(r"[A-Za-z0-9_-]+", name):
            raise ValueError(f"variant names are letters, digits, '_' and '-', got {name!r}")
        body = ["language variant", f"name {name}"]
        body += [ln for ln in lines if not re.match(r"\s*(language|name)\b", ln)]
        path = self.root / "espeak-ng-data" / "voices" / VARIANT_DIR / name
        if not path.exists() and len(self.variants()) >= MAX_VARIANTS:
            raise EspeakError(
                f"a private espeak-ng data directory holds at most {MAX_VARIANTS} "
                "variants (espeak-ng indexes at most 349 voices); make another"
            )
        path.write_text("\n".join(body) + "\n", encoding="utf-8")
        return name

    def cleanup(self) -> None:
        if self.owned:
            shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> EspeakData:
        return self

    def __exit__(self, *exc: object) -> None:
        self.cleanup()


def _parse_wav(raw: bytes) -> tuple[np.ndarray, int]:
    # espeak-ng --stdout writes a streaming header whose sizes are 0x7fffffff; read what is there.
    if raw[:4] != b"RIFF" or raw[8:12] != b"WAVE":
        raise EspeakError("espeak-ng did not write a WAV stream")
    pos, rate, data = 12, 0, None
    while pos + 8 <= len(raw):
        tag, size = raw[pos : pos + 4], int.from_bytes(raw[pos + 4 : pos + 8], "little")
        if tag == b"fmt ":
            rate = int.from_bytes(raw[pos + 12 : pos + 16], "little")
            bits = int.from_bytes(raw[pos + 22 : pos + 24], "little")
            if bits != 16:
                raise EspeakError(f"unexpected espeak-ng sample width of {bits} bits")
        elif tag == b"data":
            data = raw[pos + 8 :]
            break
        pos += 8 + size
    if data is None or rate <= 0:
        # Fall back to the standard reader for a well-formed file.
        with wave.open(io.BytesIO(raw)) as f:
            return (
                np.frombuffer(f.readframes(f.getnframes()), "<i2").astype(np.float32) / 32768.0,
                f.getframerate(),
            )
    data = data[: len(data) - len(data) % 2]
    return np.frombuffer(data, "<i2").astype(np.float32) / 32768.0, rate


def render(
    text: str,
    voice: str,
    *,
    data: EspeakData | None = None,
    rate_wpm: int = 175,
    pitch: int = 50,
    amplitude: int = 100,
    word_gap: int = 0,
    timeout_s: float = 60.0,
) -> tuple[np.ndarray, int]:
    """Speak ``text`` with espeak-ng; returns ``(audio float32 in [-1, 1], sample_rate)``.

    ``voice`` is ``language[+variant]`` (``en-us+m3``); ``pitch`` is espeak's 0–99 adjustment,
    ``amplitude`` its 0–200 volume, ``word_gap`` extra pause between words in 10 ms units.
    Raises :class:`EspeakError` when espeak-ng fails or produces no audio.
    """
    cmd = [espeak_binary()]
    if data is not None:
        cmd.append(f"--path={data.root}")
    cmd += [
        "-v",
        voice,
        "-s",
        str(int(rate_wpm)),
        "-p",
        str(int(pitch)),
        "-a",
        str(int(amplitude)),
        "-g",
        str(int(word_gap)),
        "--stdout",
        "--",
        text,
    ]
    env = dict(os.environ, LC_ALL="C.UTF-8")
    try:
        proc = subprocess.run(cmd, capture_output=True, timeout=timeout_s, check=False, env=env)
    except subprocess.TimeoutExpired as exc:
        raise EspeakError(f"espeak-ng timed out after {timeout_s} s on {text!r}") from exc
    # espeak-ng reports a voice it could not load as a warning with exit status 0, then speaks
    # with another voice; any message on stderr therefore counts as a failure.
    err = " | ".join(
        dict.fromkeys(
            ln.strip() for ln in proc.stderr.decode("utf-8", "replace").splitlines() if ln.strip()
        )
    )
    if proc.returncode != 0 or err:
        raise EspeakError(
            f"espeak-ng failed (exit {proc.returncode}) for voice {voice!r}: {err or 'no message'}"
        )
    audio, sr = _parse_wav(proc.stdout)
    if audio.size == 0 or not np.any(audio):
        raise EspeakError(f"espeak-ng produced no audio for {text!r} with voice {voice!r}")
    return audio, sr
