"""``emomix.evaluation``: the measures on known answers; the end-to-end run is in test_train.py."""

from __future__ import annotations

import numpy as np
import pytest

from emomix.config import AudioConfig
from emomix.data.prosody import prosody_stats
from emomix.evaluation import (
    dtw_path,
    mel_cepstra,
    mel_cepstral_distortion,
    sentence_identification,
    spearman,
    spearman_interval,
    voiced_curve,
    voiced_items,
)

SR = 22050


def _tone(f0: float, seconds: float = 0.6, sr: int = SR) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    return 0.3 * np.sign(np.sin(2 * np.pi * f0 * t)) * np.hanning(t.size)


def test_spearman_on_known_cases():
    assert spearman([0, 1, 2, 3], [1, 5, 6, 100]) == pytest.approx(1.0)
    assert spearman([0, 1, 2, 3], [9, 4, 2, 1]) == pytest.approx(-1.0)
    assert spearman([0, 1, 2], [3, 3, 3]) is None
    # ties get average ranks: x ranks (0,1,2,3), y ranks (0.5,0.5,2,3)
    rx, ry = np.array([0, 1, 2, 3.0]), np.array([0.5, 0.5, 2, 3])
    rx, ry = rx - rx.mean(), ry - ry.mean()
    expect = (rx @ ry) / np.sqrt((rx @ rx) * (ry @ ry))
    assert spearman([1, 2, 3, 4], [7, 7, 8, 9]) == pytest.approx(expect)
    with pytest.raises(ValueError, match="same length"):
        spearman([1, 2], [1, 2, 3])


def test_spearman_matches_scipy_on_random_data():
    stats = pytest.importorskip("scipy.stats")
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=30), rng.normal(size=30)
    y[:10] = y[10:20]  # some ties
    assert spearman(x, y) == pytest.approx(stats.spearmanr(x, y).statistic)


def test_spearman_interval_brackets_the_sentence_to_sentence_spread():
    w = [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
    rng = np.random.default_rng(3)
    rising = np.linspace(0, 1, 6)[None, :] * rng.uniform(0.5, 2.0, (12, 1))  # every item rises
    assert spearman_interval(w, rising) == pytest.approx([1.0, 1.0])
    noise = rng.random((12, 6))  # no trend: the interval is wide and holds 0
    low, high = spearman_interval(w, noise)
    assert low < 0.0 < high and high - low > 0.8
    # one item sinks at the top: the mean curve inverts on some resamples, not on others
    mixed = np.tile(np.linspace(0, 1, 6), (12, 1))
    mixed[0, -1] = -5.0
    low, high = spearman_interval(w, mixed)
    assert low < 1.0 and high == pytest.approx(1.0)
    assert spearman_interval(w, mixed, seed=1) == spearman_interval(w, mixed, seed=1)
    assert spearman_interval(w, np.ones((4, 6))) is None  # flat everywhere
    with pytest.raises(ValueError, match="per_item"):
        spearman_interval(w, np.ones((4, 5)))
    with pytest.raises(ValueError, match="level"):
        spearman_interval(w, rising, level=1.0)


def test_f0_curves_leave_out_sentences_that_are_barely_voiced():
    w = [0.0, 0.5, 1.0]
    rng = np.random.default_rng(4)
    clips = [[_tone(f0 * (1 + 0.1 * x), seconds=1.0) for x in w] for f0 in (120.0, 200.0)]
    # a breathy "sentence": noise with a short voiced burst whose YIN F0 means nothing
    breathy = []
    for x in w:
        a = 0.05 * rng.normal(size=SR).astype(np.float64)
        a[: int(0.1 * SR)] += _tone(400.0 - 200 * x, seconds=0.1)
        breathy.append(a)
    stats = [[prosody_stats(a, SR) for a in row] for row in (*clips, breathy)]
    f0 = np.array([[s.f0_mean_hz for s in row] for row in stats]).T  # (weights, items)
    voiced = np.array([[s.voiced_fraction * s.speech_s for s in row] for row in stats]).T
    ok = voiced_items(voiced)
    assert ok.tolist() == [True, True, False]
    assert spearman(w, f0.mean(axis=1)) < 0.9  # the burst drags the plain mean down
    curve = voiced_curve(f0, ok)
    assert spearman(w, curve) == pytest.approx(1.0)
    np.testing.assert_allclose(curve, f0[:, :2].mean(axis=1))
    assert voiced_curve(f0, np.zeros(3, bool)) == [0.0, 0.0, 0.0]
    with pytest.raises(ValueError, match="weights, items"):
        voiced_items(voiced[0])


def test_dtw_aligns_a_stretched_sequence():
    a = np.array([[0.0], [1.0], [2.0], [3.0]])
    b = np.array([[0.0], [1.0], [1.0], [2.0], [3.0], [3.0]])
    i, j = dtw_path(a, b)
    assert (i[0], j[0]) == (0, 0) and (i[-1], j[-1]) == (3, 5)
    assert np.all(np.diff(i) >= 0) and np.all(np.diff(j) >= 0)
    assert np.all(a[i, 0] == b[j, 0])  # a perfect warp exists and DTW finds it
    ii, jj = dtw_path(a, a)
    assert ii.tolist() == jj.tolist() == [0, 1, 2, 3]
    with pytest.raises(ValueError, match="non-empty"):
        dtw_path(a, np.zeros((0, 1)))


def test_mel_cepstra_are_the_orthonormal_dct_of_the_log_mel():
    fft = pytest.importorskip("scipy.fft")
    from emomix.features import log_mel

    cfg = AudioConfig()
    x = _tone(150.0)
    c = mel_cepstra(x, cfg, n_coeffs=24)
    lm = log_mel(x, cfg, normalise=False).astype(np.float64)
    expect = fft.dct(lm, type=2, norm="ortho", axis=0)[1:25].T
    np.testing.assert_allclose(c, expect, rtol=1e-9, atol=1e-9)


def test_mcd_is_zero_for_the_same_clip_and_grows_with_the_difference():
    cfg = AudioConfig()
    a = _tone(150.0)
    assert mel_cepstral_distortion(a, a, cfg, SR) == pytest.approx(0.0, abs=1e-9)
    near = mel_cepstral_distortion(a, _tone(160.0), cfg, SR)
    far = mel_cepstral_distortion(a, _tone(400.0), cfg, SR)
    assert 0.0 < near < far
    # a slower rendering of the same content aligns well: far below an unrelated clip
    slow = _tone(150.0, seconds=0.9)
    assert mel_cepstral_distortion(a, slow, cfg, SR) < far


def test_sentence_identification_finds_each_clip_among_the_others():
    cfg = AudioConfig()
    refs = [_tone(f) for f in (120.0, 200.0, 330.0)]
    # slower renderings of the same "sentences", listed in the same order
    synths = [_tone(f, seconds=0.9) for f in (120.0, 200.0, 330.0)]
    res = sentence_identification(synths, refs, cfg, SR)
    assert res["sentences"] == 3 and res["correct"] == 3
    assert res["own_mcd_db"] < res["other_mcd_db"]
    swapped = sentence_identification(synths[::-1], refs, cfg, SR)
    assert swapped["correct"] == 1  # only the middle one still lines up
    same = sentence_identification(refs, refs, cfg, SR)
    assert same["own_mcd_db"] == pytest.approx(0.0, abs=1e-9)
    with pytest.raises(ValueError, match="same number"):
        sentence_identification(synths[:2], refs, cfg, SR)


def test_probe_runs_the_ser_through_the_backend(random_voice_dir):
    """``_Probe`` calls ``Backend.ser``: on torch the probabilities are those of the torch SER
    module itself (what the probe computed before), and the native runtime gives the same."""
    torch = pytest.importorskip("torch")
    import emomix
    from emomix.evaluation import _Probe

    voice = emomix.load_voice(random_voice_dir, backend="torch", threads=1)
    probe = _Probe(voice)
    mel = probe.mel(np.random.default_rng(0).uniform(-0.3, 0.3, SR).astype(np.float32))
    with torch.inference_mode():
        _, logits = voice.backend.model.ser(torch.from_numpy(mel.astype(np.float32))[None])
    expected = torch.softmax(logits[0].double(), -1).numpy()
    np.testing.assert_allclose(probe.mel_probs(mel), expected, rtol=1e-9, atol=1e-12)
    pytest.importorskip("emomix._native")
    native = _Probe(emomix.load_voice(random_voice_dir, backend="native", threads=1))
    np.testing.assert_allclose(native.mel_probs(mel), expected, atol=1e-4)


def test_probe_needs_a_backend_with_an_ser(random_voice_dir):
    import emomix
    from emomix.backends import Backend
    from emomix.evaluation import _Probe

    voice = emomix.load_voice(random_voice_dir, backend="torch", threads=1)

    class NoSer(type(voice.backend)):
        @property
        def has_ser(self) -> bool:
            return Backend.has_ser.fget(self)

        def ser(self, logmel):
            return Backend.ser(self, logmel)

    voice.backend.__class__ = NoSer
    with pytest.raises(ValueError, match="speech-emotion recogniser"):
        _Probe(voice)
    with pytest.raises(NotImplementedError, match="no speech-emotion recogniser"):
        voice.backend.ser(np.zeros((80, 10), np.float32))
