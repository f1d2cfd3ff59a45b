"""The `emomix` command line end to end, on a small voice built by the test (random weights:
plumbing only — the audio is noise, which is all these tests need)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from emomix.audio import read_wav
from emomix.cli import main

pytestmark = pytest.mark.usefixtures("needs_espeak")
LINE = "Well, look who it is! Ten gold coins, as promised."


def say(voice_dir, out, *extra, text=LINE):
    return main(["say", text, "--voice", str(voice_dir), "-o", str(out), *extra])


def test_help_lists_every_subcommand(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    text = capsys.readouterr().out
    from emomix.cli import build_parser

    sub = next(a for a in build_parser()._actions if a.dest == "command")
    assert {"say", "voice", "corpus", "train", "export"} <= set(sub.choices)
    for command in sub.choices:
        assert f"\n    {command} " in text, f"{command} missing from --help"
    with pytest.raises(SystemExit):
        main(["voice", "--help"])
    text = capsys.readouterr().out
    assert "init" in text and "check" in text


def test_say_writes_a_wav_and_is_deterministic(random_voice_dir, tmp_path, capsys):
    a, b, c, d = (tmp_path / f"{n}.wav" for n in "abcd")
    mix = ["--emotion", "happy=0.6,surprise=0.4", "--steps", "4", "--preset", "emomix"]
    assert say(random_voice_dir, a, *mix, "--seed", "5") == 0
    assert "wrote" in capsys.readouterr().out
    assert say(random_voice_dir, b, *mix, "--seed", "5") == 0
    assert say(random_voice_dir, c, "--emotion", "sad", "--seed", "5") == 0
    assert say(random_voice_dir, d, *mix, "--seed", "6") == 0
    wa, sr = read_wav(a)
    assert sr == 22050 and wa.size > sr // 2
    assert a.read_bytes() == b.read_bytes()  # same seed, same audio
    assert a.read_bytes() != c.read_bytes()  # other emotion, other audio
    assert a.read_bytes() != d.read_bytes()  # other seed, other audio


def test_say_options(random_voice_dir, tmp_path):
    out = tmp_path / "o.wav"
    assert say(random_voice_dir, out, "--emotion", "angry", "--intensity", "1.3", "--speaker",
               "speaker1", "--steps", "2", "--preset", "blend", "--solver", "heun",
               "--seed", "1", "--threads", "1") == 0
    assert read_wav(out)[0].size > 0


@pytest.mark.parametrize("args,message", [
    (["--emotion", "smug=1"], "unknown emotion 'smug'"),
    (["--emotion", "happy=-1"], "negative"),
    (["--emotion", "happy=0,sad=0"], "all emotion weights are zero"),
    (["--emotion", "happy=nan"], "finite"),
    (["--emotion", "happy=lots"], "not a number"),
    (["--speaker", "nobody"], "unknown speaker"),
    (["--steps", "0"], "steps"),
    (["--solver", "em"], "solver"),
])
def test_say_rejects_bad_input_clearly(random_voice_dir, tmp_path, capsys, args, message):
    assert say(random_voice_dir, tmp_path / "x.wav", *args) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not (tmp_path / "x.wav").exists()


def test_say_rejects_empty_text_and_missing_voice(random_voice_dir, tmp_path, capsys):
    assert say(random_voice_dir, tmp_path / "x.wav", text="   ") == 2
    assert "empty" in capsys.readouterr().err.lower()
    assert say(tmp_path / "nowhere", tmp_path / "x.wav") == 2
    assert "voice.json" in capsys.readouterr().err


def test_voice_init_and_check(tmp_path, capsys):
    pytest.importorskip("torch")
    assert main(["voice", "init", str(tmp_path / "v"), "--random", "--parameterisation", "score",
                 "--fp16"]) == 0
    assert main(["voice", "check", str(tmp_path / "v")]) == 0
    assert "ok (score" in capsys.readouterr().out
    (tmp_path / "v" / "weights.safetensors").write_bytes(b"\0" * 10)
    assert main(["voice", "check", str(tmp_path / "v")]) == 2
    assert "weights.safetensors" in capsys.readouterr().err


def test_module_entry_point_and_version():
    out = subprocess.run([sys.executable, "-m", "emomix", "--version"], capture_output=True,
                         text=True, check=True)
    assert out.stdout.startswith("emomix ")


def test_import_emomix_does_not_import_torch():
    code = ("import sys, emomix, emomix.sampler, emomix.voice, emomix.text, emomix.cli; "
            "import emomix._native; assert 'torch' not in sys.modules, 'torch imported'")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_say_onnx_backend_matches_torch_without_importing_torch(random_voice_dir, tmp_path):
    pytest.importorskip("onnxruntime")
    exported = tmp_path / "voice-onnx"
    assert main(["export", str(random_voice_dir), "--onnx", "--out", str(exported)]) == 0
    ref_wav, onnx_wav = tmp_path / "torch.wav", tmp_path / "onnx.wav"
    args = ["--emotion", "happy=0.6,surprise=0.4", "--seed", "3"]
    assert say(exported, ref_wav, *args, "--backend", "torch") == 0
    code = ("import sys; from emomix.cli import main; "
            f"rc = main({['say', LINE, '--voice', str(exported), '-o', str(onnx_wav), *args, '--backend', 'onnx']!r}); "  # noqa: E501
            "assert 'torch' not in sys.modules, 'the onnx backend imported torch'; sys.exit(rc)")
    subprocess.run([sys.executable, "-c", code], check=True)
    a, _ = read_wav(ref_wav)
    b, _ = read_wav(onnx_wav)
    assert a.shape == b.shape
    snr = 10 * np.log10(np.sum(a**2) / max(np.sum((a - b) ** 2), 1e-20))
    assert snr >= 40, snr
