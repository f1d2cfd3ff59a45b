"""benchmarks/sampler_sweep.py: Whisper's word error rate of the default voice per condition."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "sampler_sweep.py"


def _sweep(lines: Path, *extra: str) -> dict:
    proc = subprocess.run([sys.executable, str(SCRIPT), "--lines", str(lines), "--sentences", "1",
                           "--steps", "2", "--threads", "1", *extra],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


@pytest.mark.slow
@pytest.mark.usefixtures("needs_espeak")
@pytest.mark.skipif(importlib.util.find_spec("faster_whisper") is None,
                    reason="the sweep listens with faster-whisper: pip install -e '.[eval]'")
def test_mixes_add_the_intensity_and_mix_conditions_and_keep_the_plain_ones(tmp_path):
    from emomix.evaluation import EvalOptions

    lines = tmp_path / "lines.txt"
    lines.write_text("# one line\nOpen the gate, quickly.\n", encoding="utf-8")
    plain = _sweep(lines)
    mixed = _sweep(lines, "--mixes")

    (row,) = plain["settings"]
    (mrow,) = mixed["settings"]
    assert plain["sentences"] == mixed["sentences"] == 1
    assert "wer_mixes" not in row and "wer_per_condition" not in row
    emotions = list(row["wer_per_emotion"])
    assert emotions[0] == "neutral" and len(emotions) == 5
    # the plain emotions are spoken with the same seeds whatever else is measured
    assert mrow["wer_per_emotion"] == row["wer_per_emotion"]
    assert mrow["wer"] == row["wer"]
    opts = EvalOptions()
    expected = [f"{e} x{opts.asr_intensity:g}" for e in emotions[1:]]
    expected += [f"{x}->{y}" for x, y in opts.pairs]
    assert list(mrow["wer_per_condition"]) == expected
    rates = list(mrow["wer_per_condition"].values())
    assert all(r >= 0 for r in rates)
    assert mrow["wer_intensity"] == pytest.approx(sum(rates[:4]) / 4, abs=1e-3)
    assert mrow["wer_mixes"] == pytest.approx(sum(rates[4:]) / 6, abs=1e-3)
