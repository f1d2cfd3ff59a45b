"""The samples run end to end (on a test-built voice with random weights: plumbing only)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.usefixtures("needs_espeak")


def test_offline_render_sample(random_voice_dir, tmp_path):
    out = tmp_path / "dialogue"
    subprocess.run([sys.executable, str(ROOT / "samples/offline_render/render_dialogue.py"),
                    "--voice", str(random_voice_dir), "--out", str(out)], check=True,
                   capture_output=True, text=True, timeout=300)
    manifest = json.loads((out / "manifest.json").read_text())
    assert len(manifest) == 4
    for entry in manifest:
        assert (out / entry["file"]).stat().st_size > 1000 and entry["seconds"] > 0.3
