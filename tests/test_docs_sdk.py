"""docs/sdk.md's Python examples run, in order, against a test-built random-weight voice."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.usefixtures("needs_espeak")


def python_blocks(path: Path) -> list[str]:
    return re.findall(r"```python\n(.*?)```", path.read_text(), flags=re.S)


def test_sdk_page_examples_run(random_voice_dir, tmp_path):
    blocks = python_blocks(ROOT / "docs/sdk.md")
    assert len(blocks) >= 8
    script = "\n".join(f"# --- block {i}\n{b}" for i, b in enumerate(blocks))
    (tmp_path / "examples.py").write_text(script)
    env = {"EMOMIX_DEFAULT_VOICE": str(random_voice_dir), "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "examples.py"], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "unknown emotion 'joy'" in out.stdout
    assert "{'neutral': 0.5, 'angry': 0.5}" in out.stdout
    assert "PlayerStats(" in out.stdout
