"""Shared fixtures. Voices are built by the tests themselves."""

from __future__ import annotations

import shutil

import pytest


@pytest.fixture(scope="session")
def random_voice_dir(tmp_path_factory):
    """A voice bundle with RANDOM (untrained) weights, built on the spot.

    Random weights are fine for plumbing tests (shapes, determinism, errors, parity between
    implementations); they say nothing about speech quality.
    """
    pytest.importorskip("torch")
    from emomix.train.init_voice import build_random_voice

    out = tmp_path_factory.mktemp("voices") / "random"
    build_random_voice(out, seed=0, n_speakers=2)
    return out


@pytest.fixture()
def needs_espeak():
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed (apt-get install espeak-ng)")
