"""The samples run end to end.

The Python sample runs on a test-built voice with random weights (plumbing only). The C and C#
samples are compiled here, the way their READMEs say, against libemomix.so (``$EMOMIX_LIBRARY``,
else ``emomix config --lib``, else ``build/capi/bindings/c/libemomix.so``) and run on the shipped
voice (voices/default), so that their WAVs can be checked for plausible speech levels.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import wave
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
HEADER_DIR = ROOT / "native" / "include" / "emomix"
DEFAULT_VOICE = ROOT / "voices" / "default"
STRICT_C99 = ["-std=c99", "-Wall", "-Wextra", "-pedantic", "-Werror"]


def test_offline_render_sample(needs_espeak, random_voice_dir, tmp_path):
    out = tmp_path / "dialogue"
    subprocess.run([sys.executable, str(ROOT / "samples/offline_render/render_dialogue.py"),
                    "--voice", str(random_voice_dir), "--out", str(out)], check=True,
                   capture_output=True, text=True, timeout=300)
    manifest = json.loads((out / "manifest.json").read_text())
    assert len(manifest) == 4
    for entry in manifest:
        assert (out / entry["file"]).stat().st_size > 1000 and entry["seconds"] > 0.3


# ---- helpers ------------------------------------------------------------------------------------


def _tool(name: str, package: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"{name} is not installed (apt-get install {package}; scripts/setup.sh does)")
    return path


def _find_library() -> Path | None:
    env = os.environ.get("EMOMIX_LIBRARY")
    if env:
        return Path(env) if Path(env).is_file() else None
    try:
        out = subprocess.run([sys.executable, "-m", "emomix", "config", "--lib"],
                             capture_output=True, text=True, timeout=60)
        if out.returncode == 0 and Path(out.stdout.strip()).is_file():
            return Path(out.stdout.strip())
    except (OSError, subprocess.TimeoutExpired):
        pass
    built = ROOT / "build" / "capi" / "bindings" / "c" / "libemomix.so"
    return built if built.is_file() else None


@pytest.fixture()
def libemomix(tmp_path) -> Path:
    """A folder holding libemomix.so (a link to the library under test), for -L, -rpath and
    LD_LIBRARY_PATH."""
    lib = _find_library()
    if lib is None:
        pytest.skip("libemomix.so is not built: set EMOMIX_LIBRARY, install emomix (pip install "
                    ".), or build it: cmake -S . -B build/capi -DEMOMIX_BUILD_PYTHON=OFF && "
                    "cmake --build build/capi --target emomix_shared")
    folder = tmp_path / "lib"
    folder.mkdir()
    (folder / "libemomix.so").symlink_to(lib.resolve())
    return folder


@pytest.fixture()
def voice_dir() -> Path:
    if not (DEFAULT_VOICE / "voice.json").is_file():
        pytest.skip(f"the shipped voice is missing at {DEFAULT_VOICE}")
    return DEFAULT_VOICE


def _run(cmd: list[str], **kwargs) -> subprocess.CompletedProcess:
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600, **kwargs)
    assert done.returncode == 0, (f"{' '.join(map(str, cmd))} exited {done.returncode}\n"
                                  f"stdout:\n{done.stdout}\nstderr:\n{done.stderr}")
    return done


def _read_wav(path: Path) -> tuple[np.ndarray, int]:
    """``(frames, channels)`` float samples in [-1, 1] and the sample rate of a 16-bit WAV."""
    with wave.open(str(path)) as w:
        assert w.getsampwidth() == 2 and w.getcomptype() == "NONE"
        pcm = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
        return pcm.reshape(-1, w.getnchannels()).astype(np.float32) / 32767.0, w.getframerate()


def _assert_speech_levels(channel: np.ndarray, what: str) -> None:
    """Not silent, not clipped noise: RMS of speech at a sane level, few clipped samples."""
    assert np.isfinite(channel).all(), what
    rms = float(np.sqrt(np.mean(channel.astype(np.float64) ** 2)))
    clipped = float(np.mean(np.abs(channel) >= 0.999))
    assert 0.005 < rms < 0.5, f"{what}: RMS {rms:.4f}"
    assert clipped < 0.01, f"{what}: {clipped:.1%} of the samples clipped"


# ---- C ------------------------------------------------------------------------------------------


def test_header_alone_is_strict_c99(tmp_path):
    cc = _tool("cc", "build-essential")
    _run([cc, *STRICT_C99, f"-I{HEADER_DIR}", "-c",
          str(ROOT / "samples/c_game_loop/header_only.c"), "-o", str(tmp_path / "c.o")])
    cxx = shutil.which("c++")
    if cxx is not None:  # the header says it also compiles as C++
        _run([cxx, "-x", "c++", "-std=c++17", "-Wall", "-Wextra", "-pedantic", "-Werror",
              f"-I{HEADER_DIR}", "-c", str(ROOT / "samples/c_game_loop/header_only.c"),
              "-o", str(tmp_path / "cxx.o")])


def _build_game_loop(cc: str, exe: Path, libemomix: Path, *defines: str) -> None:
    _run([cc, *STRICT_C99, *defines, f"-I{HEADER_DIR}", str(ROOT / "samples/c_game_loop/main.c"),
          "-o", str(exe), f"-L{libemomix}", "-lemomix", f"-Wl,-rpath,{libemomix}"])


def test_c_game_loop_sample(needs_espeak, libemomix, voice_dir, tmp_path):
    cc = _tool("cc", "build-essential")
    exe, out = tmp_path / "game_loop", tmp_path / "game_loop.wav"
    _build_game_loop(cc, exe, libemomix)
    done = _run([str(exe), str(voice_dir), str(out)], cwd=tmp_path)
    assert "turns sad" in done.stdout

    audio, rate = _read_wav(out)
    assert audio.shape[1] == 2  # left: character A, right: character B
    assert rate == json.loads((voice_dir / "voice.json").read_text())["audio"]["sample_rate"]
    seconds = len(audio) / rate
    assert 1.5 < seconds < 20, seconds  # two lines of about 60 characters, spoken at once
    assert len(audio) % (rate // 100) == 0  # whole 10 ms ticks
    for channel, who in ((0, "character A"), (1, "character B")):
        _assert_speech_levels(audio[:, channel], who)

    # The same game without B's change of mood: A is untouched, B the same until 0.8 s and
    # audibly different in its last second.
    _build_game_loop(cc, tmp_path / "steady", libemomix, "-DTRANSITION_AT_SECONDS=1e9")
    _run([str(tmp_path / "steady"), str(voice_dir), str(tmp_path / "steady.wav")], cwd=tmp_path)
    steady, _ = _read_wav(tmp_path / "steady.wav")
    assert steady.shape == audio.shape
    np.testing.assert_array_equal(audio[:, 0], steady[:, 0])
    np.testing.assert_array_equal(audio[: int(0.8 * rate), 1], steady[: int(0.8 * rate), 1])
    last = slice(len(audio) - rate, len(audio))
    change = np.linalg.norm(audio[last, 1] - steady[last, 1]) / np.linalg.norm(steady[last, 1])
    assert change > 0.1, f"B's last second changed by {change:.3f} (relative) when it turned sad"


def test_c_game_loop_reports_errors(libemomix, tmp_path):
    cc = _tool("cc", "build-essential")
    exe = tmp_path / "game_loop"
    _build_game_loop(cc, exe, libemomix)
    done = subprocess.run([str(exe), str(tmp_path / "no_such_voice"), str(tmp_path / "x.wav")],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert "emx_voice_load failed: EMX_ERROR_VOICE_NOT_FOUND" in done.stderr


# ---- C# -----------------------------------------------------------------------------------------

# emomix.h's structs and Emomix.cs's mirrors, field by field (C name, C# name): their sizes and
# offsets must be equal, or the marshaller hands the library garbage.
_MIRRORS = {
    "emx_weight": ("Weight", [("name", "name"), ("weight", "Value")]),
    "emx_keyframe": ("Keyframe", [("position", "Position"), ("n_emotions", "EmotionCount"),
                                  ("emotions", "Emotions")]),
    "emx_generation_config": ("GenerationConfig", [
        ("struct_size", "StructSize"), ("n_emotions", "EmotionCount"), ("emotions", "Emotions"),
        ("n_keyframes", "KeyframeCount"), ("keyframes", "Keyframes"),
        ("intensity", "Intensity"), ("emotion_scale", "EmotionScale"),
        ("n_speakers", "SpeakerCount"), ("speakers", "Speakers"), ("steps", "Steps"),
        ("solver", "Solver"), ("preset", "Preset"), ("temperature", "Temperature"),
        ("k_max", "KMax"), ("k_min", "KMin"), ("length_scale", "LengthScale"),
        ("seed", "Seed")]),
    "emx_character_config": ("CharacterConfig", [
        ("struct_size", "StructSize"), ("n_speakers", "SpeakerCount"), ("speakers", "Speakers"),
        ("threads", "Threads"), ("first_block_frames", "FirstBlockFrames"),
        ("block_frames", "BlockFrames"), ("context_frames", "ContextFrames"),
        ("crossfade_frames", "CrossfadeFrames"), ("vocoder_chunk_frames", "VocoderChunkFrames")]),
    "emx_voice_config": ("Native.VoiceConfig", [("struct_size", "StructSize"),
                                                ("verify_hashes", "VerifyHashes")]),
    "emx_emotion_info": ("Native.EmotionInfo", [
        ("struct_size", "StructSize"), ("name", "Name"), ("valence", "Valence"),
        ("arousal", "Arousal"), ("dominance", "Dominance")]),
    "emx_audio": ("Native.Audio", [("samples", "Samples"), ("n_samples", "SampleCount"),
                                   ("sample_rate", "SampleRate")]),
    "emx_stream_config": ("Native.StreamConfig", [
        ("struct_size", "StructSize"), ("capacity_samples", "CapacitySamples"),
        ("max_queued_lines", "MaxQueuedLines")]),
    "emx_stream_stats": ("Native.StreamStatsNative", [
        ("struct_size", "StructSize"), ("samples_read", "SamplesRead"),
        ("underruns", "Underruns"), ("queued_lines", "QueuedLines"),
        ("last_error", "LastError")]),
}


def test_csharp_structs_match_the_header(tmp_path):
    """Every struct Emomix.cs marshals has the C layout of this machine (no library needed)."""
    cc = _tool("cc", "build-essential")
    mcs, mono = _tool("mcs", "mono-mcs"), _tool("mono", "mono-runtime")
    c_lines, cs_lines = [], []
    for c_struct, (cs_type, fields) in _MIRRORS.items():
        c_lines.append(f'printf("{c_struct} %zu\\n", sizeof({c_struct}));')
        cs_lines.append(f'P("{c_struct}", Marshal.SizeOf(typeof({cs_type})));')
        for c_field, cs_field in fields:
            c_lines.append(f'printf("{c_struct}.{c_field} %zu\\n", '
                           f'offsetof({c_struct}, {c_field}));')
            cs_lines.append(f'P("{c_struct}.{c_field}", '
                            f'(int)Marshal.OffsetOf(typeof({cs_type}), "{cs_field}"));')
    (tmp_path / "layout.c").write_text(
        "#include <emomix.h>\n#include <stddef.h>\n#include <stdio.h>\n"
        "int main(void) {\n" + "\n".join(c_lines) + "\nreturn 0;\n}\n")
    # compiled with Emomix.cs into one assembly, so that its internal types are visible
    (tmp_path / "Layout.cs").write_text(
        "using System; using System.Runtime.InteropServices;\nnamespace Emomix {\n"
        "static class Layout {\n"
        "static void P(string what, int n) { Console.WriteLine(what + \" \" + n); }\n"
        "static void Main() {\n" + "\n".join(cs_lines) + "\n}\n}\n}\n")
    _run([cc, *STRICT_C99, f"-I{HEADER_DIR}", str(tmp_path / "layout.c"),
          "-o", str(tmp_path / "layout")])
    _run([mcs, f"-out:{tmp_path / 'layout.exe'}", str(tmp_path / "Layout.cs"),
          str(ROOT / "bindings/csharp/Emomix.cs")])
    c_layout = _run([str(tmp_path / "layout")]).stdout.splitlines()
    cs_layout = _run([mono, str(tmp_path / "layout.exe")]).stdout.splitlines()
    assert cs_layout == c_layout


def test_csharp_console_sample(needs_espeak, libemomix, voice_dir, tmp_path):
    mcs, mono = _tool("mcs", "mono-mcs"), _tool("mono", "mono-runtime")
    exe, out = tmp_path / "sample.exe", tmp_path / "out.wav"
    # the README's command, with the output in tmp_path
    _run([mcs, f"-out:{exe}", "Program.cs", "../../bindings/csharp/Emomix.cs"],
         cwd=ROOT / "samples" / "csharp_console")
    env = {**os.environ, "LD_LIBRARY_PATH": str(libemomix)}
    done = _run([mono, str(exe), str(voice_dir), str(out)], env=env, cwd=tmp_path)
    assert "turning sad" in done.stdout
    end_mix = next(line for line in done.stdout.splitlines() if line.startswith("end ("))
    assert "sad" in end_mix, done.stdout  # the transition ran its course by the line's end

    audio, rate = _read_wav(out)
    assert audio.shape[1] == 1
    assert rate == json.loads((voice_dir / "voice.json").read_text())["audio"]["sample_rate"]
    assert 2 < len(audio) / rate < 20, len(audio) / rate  # a line of 80 characters
    _assert_speech_levels(audio[:, 0], "the C# sample's line")


def test_csharp_binding_reports_errors(libemomix, tmp_path):
    mcs, mono = _tool("mcs", "mono-mcs"), _tool("mono", "mono-runtime")
    exe = tmp_path / "sample.exe"
    _run([mcs, f"-out:{exe}", "Program.cs", "../../bindings/csharp/Emomix.cs"],
         cwd=ROOT / "samples" / "csharp_console")
    env = {**os.environ, "LD_LIBRARY_PATH": str(libemomix)}
    done = subprocess.run([mono, str(exe), str(tmp_path / "no_such_voice"), str(tmp_path / "x")],
                          capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 1
    assert "emx_voice_load: EMX_ERROR_VOICE_NOT_FOUND" in done.stderr
    assert "(VoiceNotFound)" in done.stderr
