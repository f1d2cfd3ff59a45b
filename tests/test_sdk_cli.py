"""`emomix say` with valence/arousal and reference clips, `emomix play` on a null output, and the
interactive sample in its scripted mode (random-weight voice: plumbing only)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from emomix.audio import read_wav, write_wav
from emomix.cli import main

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.usefixtures("needs_espeak")


def test_say_valence_arousal_and_reference(random_voice_dir, tmp_path, capsys):
    a, b, c = (tmp_path / f"{n}.wav" for n in "abc")
    base = ["say", "Hello there, my old friend. How are you?", "--voice", str(random_voice_dir),
            "--seed", "3"]
    assert main([*base, "--valence", "0.76", "--arousal", "0.48", "-o", str(a)]) == 0
    assert "happy=1.00" in capsys.readouterr().out  # happy's own coordinates
    assert main([*base, "--emotion", "happy", "-o", str(b)]) == 0
    assert a.read_bytes() == b.read_bytes()
    assert main([*base, "--reference", str(a), "-o", str(c)]) == 0
    assert "reference=1.00" in capsys.readouterr().out
    assert read_wav(c)[0].size > 0


@pytest.mark.parametrize("extra,message", [
    (["--valence", "0.5"], "--valence and --arousal together"),
    (["--valence", "2", "--arousal", "0"], "[-1, 1]"),
    (["--valence", "0", "--arousal", "0", "--emotion", "sad"], "give only one"),
    (["--speaker", "speaker0=0.5,ghost=0.5"], "unknown speaker"),
    (["--intensity", "3"], "intensity"),
    (["--emotion-scale", "2"], "emotion_scale"),
    (["--length-scale", "0"], "length_scale"),
])
def test_say_bad_emotion_options(random_voice_dir, tmp_path, capsys, extra, message):
    code = main(["say", "Hi.", "--voice", str(random_voice_dir), "-o", str(tmp_path / "x.wav"),
                 *extra])
    assert code == 2 and message in capsys.readouterr().err


def test_say_emotion_scale_is_the_voices_call_option(random_voice_dir, tmp_path):
    import emomix

    out = tmp_path / "scaled.wav"
    assert main(["say", "Hello there.", "--voice", str(random_voice_dir), "--emotion", "angry",
                 "--emotion-scale", "1.3", "--seed", "4", "-o", str(out)]) == 0
    voice = emomix.load_voice(random_voice_dir)
    expected = voice.synthesize("Hello there.", {"angry": 1.0}, seed=4, emotion_scale=1.3)
    audio, rate = read_wav(out)
    assert rate == voice.sample_rate and audio.shape == expected.shape
    np.testing.assert_allclose(audio, expected, atol=2 / 32768)


def test_say_length_scale_slows_the_line(random_voice_dir, tmp_path):
    import emomix

    voice = emomix.load_voice(random_voice_dir)
    lengths = {}
    for scale in ("1", "1.5"):
        out = tmp_path / f"{scale}.wav"
        assert main(["say", "Hello there, friend.", "--voice", str(random_voice_dir),
                     "--length-scale", scale, "--seed", "4", "-o", str(out)]) == 0
        lengths[scale] = read_wav(out)[0].size
    expected = voice.synthesize("Hello there, friend.", seed=4, length_scale=1.5)
    assert lengths["1.5"] == expected.size > 1.3 * lengths["1"]


def test_say_reference_at_the_wrong_rate(random_voice_dir, tmp_path, capsys):
    ref = write_wav(tmp_path / "r.wav", np.zeros(16000, np.float32), 16000)
    code = main(["say", "Hi.", "--voice", str(random_voice_dir), "--reference", str(ref),
                 "-o", str(tmp_path / "x.wav")])
    assert code == 2 and "resample" in capsys.readouterr().err


def test_play_on_a_null_output(random_voice_dir, capsys):
    assert main(["play", "Hello there.", "--voice", str(random_voice_dir), "--emotion", "sad",
                 "--speaker", "speaker0=0.5,speaker1=0.5", "--seed", "1",
                 "--output", "null"]) == 0
    assert "played" in capsys.readouterr().out


def test_play_without_a_device_says_what_to_do(random_voice_dir, capsys):
    try:
        import sounddevice as sd

        if any(d["max_output_channels"] > 0 for d in sd.query_devices()):
            pytest.skip("this machine has an audio output device")
    except (ImportError, OSError):
        pass
    assert main(["play", "Hi.", "--voice", str(random_voice_dir)]) == 2
    err = capsys.readouterr().err
    assert "emomix say TEXT -o out.wav" in err


def test_interactive_sample_scripted(random_voice_dir):
    out = subprocess.run(
        [sys.executable, str(ROOT / "samples/interactive/emotion_keys.py"), "--voice",
         str(random_voice_dir), "--null", "--glide", "0.3",
         "--script", "say,4,+,wait:0.2,d,w,say,interrupt,p,p,x,space,q"],
        capture_output=True, text=True, timeout=600, check=True).stdout
    assert "glide to angry" in out and "intensity 1.1" in out and "valence +0.2" in out
    assert "stopped" in out and "done:" in out


DRIVER = """
import sys
from emomix.cli import main

voice, out = sys.argv[1], sys.argv[2]
rc = main(["say", "Hello there, my old friend.", "--voice", voice, "--emotion", "happy=0.6,sad=0.4",
           "--seed", "1", "-o", out])
assert rc == 0, rc
assert "torch" not in sys.modules, "emomix say imported torch"
import emomix

v = emomix.load_voice(voice)
assert v.backend.name == "native", v.backend.name
assert v.synthesize("Hi there.", {"angry": 1.0}, seed=2).size > 0
assert "torch" not in sys.modules, "synthesizing on backend='auto' imported torch"
print("no torch")
"""


def test_say_on_the_default_backend_does_not_import_torch(random_voice_dir, tmp_path):
    """The runtime is the default: `emomix say` and load_voice() on ``auto`` run the native
    backend (where it is built) without importing torch."""
    pytest.importorskip("emomix._native")
    out = tmp_path / "line.wav"
    r = subprocess.run([sys.executable, "-c", DRIVER, str(random_voice_dir), str(out)],
                       capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "no torch" in r.stdout and read_wav(out)[0].size > 0


def test_auto_backend_falls_back_without_the_runtime(random_voice_dir, monkeypatch):
    import emomix.backends as backends
    from emomix.voice import load_bundle

    bundle = load_bundle(random_voice_dir)
    monkeypatch.setattr(backends, "native_available", lambda: False)
    assert backends.auto_backend(bundle) == "torch"  # not exported: no onnx graphs
    monkeypatch.setattr(backends, "native_available", lambda: True)
    assert backends.auto_backend(bundle) == "native"
