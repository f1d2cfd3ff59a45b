"""Shared fixtures. Voices are built by the tests themselves."""

from __future__ import annotations

import copy
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


@pytest.fixture(scope="session")
def capi_lib():
    """libemomix.so through emomix.capi (cffi); skips, saying why, where either is missing."""
    pytest.importorskip("cffi", reason="emomix.capi needs cffi: pip install 'emomix[capi]'")
    from emomix import capi

    try:
        capi.library_path()
    except capi.LibraryNotFoundError as exc:
        pytest.skip(f"libemomix.so is not built: {exc}")
    return capi.lib


@pytest.fixture()
def needs_espeak():
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed (apt-get install espeak-ng)")


@pytest.fixture()
def line_twice():
    """``run(voice_dir, also=None)``: one line synthesized twice by a fresh native Session (with
    ``also(session, ids, emotions)`` after each), for the no-allocation tests. Returns the
    session, both results, the tensors the second line allocated, ``W`` and the embeddings."""

    def run(voice_dir, also=None):
        import numpy as np

        native = pytest.importorskip("emomix._native")
        s = native.Session(native.load_model(str(voice_dir)), threads=2)
        rng = np.random.default_rng(0)
        ids = rng.integers(0, 100, 30)
        emo = rng.normal(size=(2, 64)).astype(np.float32)
        W = np.array([[1, 0], [1, 0], [0.6, 0.4], [0.6, 0.4]], np.float32)

        def line():
            out = s.synthesize(ids, emo[0], emo[1], 1.0, W, emo, emo, "euler", 0.667, 5)
            if also is not None:
                also(s, ids, emo)
            return out

        first = line()
        before = native.tensor_allocations()
        second = line()
        return s, first, second, native.tensor_allocations() - before, W, emo

    return run


@pytest.fixture(scope="session")
def perturbed_voice():
    """``make(src, dst, seed=1, edit=None)``: a copy of the bundle ``src`` at ``dst`` with every
    float32 weight perturbed, so that the emotion and speaker conditions change the output (FiLM
    projections are zero at initialisation and would hide condition bugs). ``edit(meta)`` may
    change the copy's ``voice.json`` content first (``files`` is recomputed on save)."""

    def make(src, dst, seed=1, edit=None):
        import numpy as np

        from emomix.voice import load_bundle, load_weights, save_bundle

        bundle = load_bundle(src)
        rng = np.random.default_rng(seed)
        weights = {}
        for k, v in load_weights(bundle).items():
            if v.dtype == np.float32:
                v = (v + rng.normal(scale=0.05 + 0.1 * float(np.std(v)), size=v.shape)).astype(
                    np.float32)
            weights[k] = v
        meta = {k: copy.deepcopy(v) for k, v in bundle.meta.items() if k != "files"}
        if edit is not None:
            edit(meta)
        return save_bundle(dst, meta, weights).path

    return make
