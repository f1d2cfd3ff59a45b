"""The generated espeak-ng corpus and the loaders for ESD, RAVDESS and IEMOCAP layouts.

The synthesis tests render a tiny corpus (2 speakers × 5 emotions × 3 sentences) and are skipped
when espeak-ng is not installed; the loader tests build small fixture trees of silent WAVs.
"""

from __future__ import annotations

import argparse
import csv
import json
import shutil
import wave
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest

from emomix.audio.wav import read_wav, write_wav
from emomix.bench import read_text_lines
from emomix.data import synth_corpus
from emomix.data.dialogue import MAX_DIALOGUE_WORDS, MIN_DIALOGUE_WORDS, generate_dialogue
from emomix.data.espeak import EspeakError
from emomix.data.loaders import (
    EMOTIONS,
    CorpusLayoutError,
    Utterance,
    held_out_texts,
    load_esd,
    load_iemocap,
    load_ravdess,
)
from emomix.data.profiles import DEFAULT_PROFILES, default_speakers, variant_lines
from emomix.data.prosody import prosody_stats
from emomix.data.sentences import MAX_WORDS, MIN_WORDS, generate_sentences
from emomix.data.synth_corpus import CorpusRecipe, sentence_splits, synthesize_corpus

needs_espeak = pytest.mark.skipif(
    shutil.which("espeak-ng") is None, reason="espeak-ng is not installed"
)
TINY = CorpusRecipe(n_speakers=2, n_sentences=3, seed=7)
FOLDERS = {
    "neutral": "Neutral",
    "happy": "Happy",
    "sad": "Sad",
    "angry": "Angry",
    "surprise": "Surprise",
}


# ---------------------------------------------------------------- recipe parts (no espeak)


def test_sentences_are_deterministic_distinct_and_prefix_stable():
    a = generate_sentences(400, seed=3)
    assert a == generate_sentences(400, seed=3)
    assert a[:50] == generate_sentences(50, seed=3)
    assert a != generate_sentences(400, seed=4)
    assert len(set(a)) == 400
    assert all(MIN_WORDS <= len(s.split()) <= MAX_WORDS for s in a)
    assert all(s[-1] in ".?!" and s[0].isupper() for s in a)
    assert not any(ch.isdigit() for s in a for ch in s)  # numbers are spelled out
    words = {w.strip(".,?!").lower() for s in a for w in s.split()}
    assert len(words) > 400  # a varied vocabulary


def test_dialogue_is_deterministic_distinct_conversational_and_prefix_stable():
    a = generate_dialogue(600, seed=0)
    assert a == generate_dialogue(600, seed=0)
    assert a[:40] == generate_dialogue(40, seed=0)
    assert a != generate_dialogue(600, seed=1)
    assert len(set(a)) == 600
    assert all(MIN_DIALOGUE_WORDS <= len(s.split()) <= MAX_DIALOGUE_WORDS for s in a)
    assert all(s[-1] in ".?!" and s[0].isupper() for s in a)
    assert not any(ch.isdigit() for s in a for ch in s)
    words = [w.strip(".,?!").lower() for s in a for w in s.split()]
    # what the narrative grammar lacks: first and second person, contractions, questions
    assert {"i", "you", "we", "i'm", "don't", "you're", "we'll", "can't", "it's"} <= set(words)
    assert sum(s.endswith("?") for s in a) > 60
    assert sum(s.count(".") + s.count("!") + s.count("?") > 1 for s in a) > 60  # two sentences
    assert " a a" not in " ".join(a).lower() and " an u" not in " ".join(a).lower()
    with pytest.raises(ValueError, match=">= 0"):
        generate_dialogue(-1)


def test_dialogue_grammar_never_writes_the_held_out_dialogue_lines():
    held_out = Path(__file__).resolve().parents[1] / "benchmarks" / "lines" / "dialogue.txt"
    lines = {t.lower() for t in read_text_lines(held_out)}
    assert len(lines) >= 30
    assert not lines & {t.lower() for t in generate_dialogue(5000, seed=0)}


def test_dialogue_lines_are_split_apart_and_leave_the_sentences_splits_alone():
    plain = CorpusRecipe(n_speakers=0, piper_speakers=("joe",), n_sentences=40,
                         emotions=("neutral", "sad"))
    more = CorpusRecipe(**{**plain.__dict__, "dialogue_sentences": 20})
    jobs0, _, sentences0, splits0 = synth_corpus._plan(plain)
    jobs1, _, sentences1, splits1 = synth_corpus._plan(more)
    assert sentences1[:40] == sentences0 and splits1[:40] == splits0
    assert sentences1[40:] == generate_dialogue(20, seed=0)
    assert splits1[40:].count("test") == 2 and splits1[40:].count("evaluation") == 1
    assert len(jobs1) == 2 * 60 and len({j.utt_id for j in jobs1}) == 120
    same = {(j.text, j.profile.name): j.jitter_seed for j in jobs0}
    assert all(same[(j.text, j.profile.name)] == j.jitter_seed
               for j in jobs1 if (j.text, j.profile.name) in same)
    with pytest.raises(ValueError, match="dialogue_sentences"):
        CorpusRecipe(dialogue_sentences=-3).validate()


def test_speakers_are_distinct_and_prefix_stable():
    speakers = default_speakers(20)
    assert speakers[:8] == default_speakers(8)
    assert len({s.speaker_id for s in speakers}) == 20
    assert len({(s.espeak_voice, s.variant, s.pitch_hz) for s in speakers}) == 20
    assert {s.gender for s in speakers[:2]} == {"male", "female"}
    male = [s.pitch_hz for s in speakers if s.gender == "male"]
    female = [s.pitch_hz for s in speakers if s.gender == "female"]
    assert max(male) < min(female)
    with pytest.raises(ValueError):
        default_speakers(0)


def test_variant_file_keeps_timbre_and_sets_the_profile():
    base = [
        "language variant",
        "name male3",
        "pitch 80 122",
        "formant 1 96 97 100",
        "flutter 5 // comment",
        "breath 0 2 3",
    ]
    spk = default_speakers(1)[0]
    happy = variant_lines(base, spk, DEFAULT_PROFILES["happy"])
    sad = variant_lines(base, spk, DEFAULT_PROFILES["sad"])
    assert "formant 1 96 97 100" in happy and "formant 1 96 97 100" in sad
    pitch = {
        name: [int(v) for v in next(ln for ln in lines if ln.startswith("pitch")).split()[1:]]
        for name, lines in (("happy", happy), ("sad", sad))
    }
    assert pitch["happy"][0] > pitch["sad"][0]
    assert pitch["happy"][1] - pitch["happy"][0] > pitch["sad"][1] - pitch["sad"][0]
    assert sum(ln.startswith("pitch") for ln in happy) == 1
    assert not any(ln.startswith(("name", "language")) for ln in happy)


def test_split_is_by_sentence_with_the_requested_fractions():
    splits = sentence_splits(300, seed=1, test_fraction=0.1, eval_fraction=0.05)
    assert (splits.count("test"), splits.count("evaluation")) == (30, 15)
    assert splits == sentence_splits(300, 1, 0.1, 0.05)
    assert splits != sentence_splits(300, 2, 0.1, 0.05)
    assert sentence_splits(3, 0, 0.1, 0.05).count("test") == 1  # tiny corpora hold one out
    assert sentence_splits(1, 0, 0.1, 0.05) == ["train"]


@pytest.mark.parametrize(
    "bad, match",
    [
        (dict(n_speakers=0), "needs a speaker"),
        (dict(n_speakers=-1), "n_speakers"),
        (dict(piper_speakers=("joe", "jim")), "jim"),
        (dict(emotions=("happy", "joyful")), "joyful"),
        (dict(test_fraction=0.6, eval_fraction=0.5), "training"),
    ],
)
def test_recipe_validation_names_the_problem(bad, match, tmp_path):
    with pytest.raises(ValueError, match=match):
        synthesize_corpus(tmp_path, CorpusRecipe(**bad), progress=False)


# ---------------------------------------------------------------- the tiny corpus


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> tuple[Path, synth_corpus.CorpusReport]:
    out = tmp_path_factory.mktemp("tiny") / "corpus"
    return out, synthesize_corpus(out, TINY, jobs=2, progress=False)


def rows_of(out: Path) -> list[dict[str, str]]:
    with open(out / "metadata.csv", newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


@needs_espeak
def test_tiny_corpus_layout_rate_and_transcripts(tiny):
    out, report = tiny
    n = 2 * 5 * 3
    assert (report.planned, report.rendered, report.failures) == (n, n, [])
    rows = rows_of(out)
    assert len(rows) == n
    sentences = generate_sentences(3, seed=7)
    for spk in ("0001", "0002"):
        lines = (out / spk / f"{spk}.txt").read_text("utf-8").splitlines()
        assert len(lines) == 15
        for line in lines:
            uid, text, folder = line.split("\t")
            number = int(uid.split("_")[1])
            block, sentence = divmod(number - 1, 3)  # ESD numbering: emotion blocks
            assert folder == ("Neutral", "Angry", "Happy", "Sad", "Surprise")[block]
            assert text == sentences[sentence]
            wav = out / spk / folder / f"{uid}.wav"
            with wave.open(str(wav)) as f:
                assert (f.getframerate(), f.getnchannels(), f.getsampwidth()) == (22050, 1, 2)
                assert 0.5 < f.getnframes() / 22050 < 10
    manifest = json.loads((out / "corpus.json").read_text("utf-8"))
    assert manifest["seed"] == 7 and manifest["recipe"]["n_sentences"] == 3
    assert manifest["counts"]["rendered"] == n
    assert set(manifest["profiles"]) == set(EMOTIONS)
    assert manifest["espeak_ng_version"]
    for row in rows:
        assert (out / row["path"]).is_file()
        assert row["emotion"] in EMOTIONS and row["espeak_voice"].startswith("gmw/")


@needs_espeak
def test_held_out_sentences_are_held_out_for_every_speaker_and_emotion(tiny):
    out, _ = tiny
    by_sentence = defaultdict(set)
    for row in rows_of(out):
        by_sentence[row["sentence_id"]].add(row["split"])
    assert all(len(s) == 1 for s in by_sentence.values())
    splits = [next(iter(s)) for s in by_sentence.values()]
    assert splits.count("test") == 1 and "train" in splits
    utts = load_esd(out)
    assert len(utts) == 30 and {u.corpus for u in utts} == {"emomix-espeak"}
    train_text = {u.text for u in utts if u.split == "train"}
    assert not train_text & {u.text for u in utts if u.split == "test"}
    assert {u.emotion for u in utts} == set(EMOTIONS)
    assert {u.speaker for u in utts} == {"espeak:0001", "espeak:0002"}
    test_text = sorted({u.text for u in utts if u.split == "test"})
    assert sorted(held_out_texts(utts, "espeak-0002")) == test_text
    assert held_out_texts(utts, "espeak:0002") == []  # a voice's name, not the corpus id


def test_held_out_texts_are_distinct_in_corpus_order_per_speaker():
    def u(text, speaker, split="test", emotion="neutral"):
        return Utterance(Path(f"{text}.wav"), text, speaker, emotion, split)

    utts = [u("B.", "piper:joe"), u("A.", "piper:joe", emotion="sad"), u("B.", "piper:joe",
            emotion="happy"), u("C.", "piper:joe", split="train"), u("D.", "espeak:0001")]
    assert held_out_texts(utts, "piper-joe") == ["B.", "A."]
    assert held_out_texts(utts, "espeak-0001") == ["D."]
    assert held_out_texts(utts, "nobody") == []


@needs_espeak
def test_same_seed_gives_the_same_bytes_whatever_the_job_count(tiny, tmp_path):
    out, _ = tiny
    again = tmp_path / "again"
    recipe = CorpusRecipe(n_speakers=1, n_sentences=3, seed=7)  # speaker 0001 of TINY
    synthesize_corpus(again, recipe, jobs=1, progress=False)
    wavs = sorted(p.relative_to(again) for p in again.rglob("*.wav"))
    assert len(wavs) == 15
    for rel in wavs:
        assert (again / rel).read_bytes() == (out / rel).read_bytes(), rel


@needs_espeak
def test_emotion_profiles_really_differ(tiny):
    out, _ = tiny
    stats = defaultdict(dict)  # (speaker, sentence) → emotion → ProsodyStats
    for row in rows_of(out):
        audio, sr = read_wav(out / row["path"])
        stats[(row["speaker"], row["sentence_id"])][row["emotion"]] = prosody_stats(audio, sr)
    pairs = list(stats.values())

    def share(better) -> float:
        return float(np.mean([better(s) for s in pairs]))

    # Pitch level: happy and surprise above sad (and neutral); loudness: angry above sad;
    # duration: sad slower than angry. Paired by speaker and sentence.
    assert share(lambda s: s["happy"].f0_median_hz > 1.15 * s["sad"].f0_median_hz) == 1.0
    assert share(lambda s: s["surprise"].f0_median_hz > 1.2 * s["sad"].f0_median_hz) == 1.0
    assert share(lambda s: s["surprise"].f0_median_hz > s["neutral"].f0_median_hz) == 1.0
    assert share(lambda s: s["angry"].rms_db > s["sad"].rms_db + 8) == 1.0
    assert share(lambda s: s["sad"].speech_s > 1.2 * s["angry"].speech_s) == 1.0
    assert share(lambda s: s["sad"].speech_s > s["neutral"].speech_s) == 1.0


@needs_espeak
def test_espeak_clips_have_no_alignments(tiny):
    assert not (tiny[0] / synth_corpus.ALIGNMENTS_FILE).exists()


def test_piper_alignment_becomes_clip_phoneme_ends():
    from emomix.data.piper_speaker import clip_phoneme_ends

    raw = [("^", 512), ("h", 256), ("a", 768), (" ", 256), ("i", 512), ("$", 256)]
    # 100 raw samples trimmed off the front: the first phoneme starts at 412
    assert clip_phoneme_ends(raw, 100, 2300) == (["h", "a", " ", "i"], [668, 1436, 1692, 2300],
                                                 412)
    # silence added in front (negative shift) moves everything later; past the clip is clipped
    assert clip_phoneme_ends(raw, -50, 1600) == (["h", "a", " ", "i"], [818, 1586, 1600, 1600],
                                                 562)
    # another output rate scales the samples
    assert clip_phoneme_ends(raw, 0, 1280, 0.5)[1:] == ([384, 768, 896, 1280], 256)
    # a second sentence's markers join the phoneme before them
    two = raw + [("^", 100), ("o", 300), ("$", 50)]
    assert clip_phoneme_ends(two, 0, 2962)[1] == [768, 1536, 1792, 2660, 2962]
    assert clip_phoneme_ends([("^", 5), ("$", 5)], 0, 10) == ([], [], 0)


def test_a_renderers_slightly_other_phonemes_are_mapped_onto_the_frontends():
    from emomix.train.dataset import map_phoneme_ends

    target = list("miː ɔɪ.")
    ends = np.array([100, 200, 300, 400, 500, 600, 700])
    assert map_phoneme_ends(target, target, ends).tolist() == ends.tolist()
    # the renderer has a linking ʲ: it joins the phoneme before it
    assert map_phoneme_ends(target, list("miːʲ ɔɪ."), np.array([1, 2, 3, 4, 5, 6, 7, 8])
                            ).tolist() == [1, 2, 4, 5, 6, 7, 8]
    # ɔː for oː: the substitute takes the span
    assert map_phoneme_ends(list("oːɹ"), list("ɔːɹ"), np.array([10, 20, 30])).tolist() == [
        10, 20, 30]
    # a phoneme only the frontend has ends with the one before it (frame_durations gives it one)
    assert map_phoneme_ends(list("abc"), list("ac"), np.array([10, 30])).tolist() == [10, 10, 30]
    # too different: align by search instead
    assert map_phoneme_ends(list("abcdefgh"), list("stuvwxyz"), np.arange(1, 9)) is None


def test_known_durations_cut_the_leading_silence():
    from emomix.train.dataset import known_durations

    record = (list("abc"), np.array([1000, 1600, 2560]), 600)
    lead, d = known_durations(record, list("abc"), 10, 256)
    # 600 samples of silence: 2 whole frames are cut, the rest of the clip is the phonemes
    assert lead == 2 and d.tolist() == [2, 2, 4] and d.sum() == 10 - lead
    assert known_durations(None, list("abc"), 10, 256) is None
    assert known_durations((list("xyz"), np.array([1, 2, 3]), 0), list("abcdefghijklmnopq"),
                           40, 256) is None


def test_frame_durations_cover_the_clip_and_give_every_phoneme_a_frame():
    from emomix.train.dataset import frame_durations

    np.testing.assert_array_equal(frame_durations([512, 1300, 1310, 2560], 10, 256),
                                  [2, 3, 1, 4])
    # a clip of 2561 samples has 11 frames: the last phoneme gets the extra one
    np.testing.assert_array_equal(frame_durations([512, 1300, 1310, 2561], 11, 256),
                                  [2, 3, 1, 5])
    rng = np.random.default_rng(0)
    for _ in range(50):
        n = int(rng.integers(1, 12))
        ends = np.sort(rng.integers(0, 6000, n))
        frames = max(n, -(-int(ends[-1]) // 256))
        d = frame_durations(ends, frames, 256)
        assert d.sum() == frames and d.min() >= 1
    with pytest.raises(ValueError, match="3 phonemes in 2 frames"):
        frame_durations([10, 20, 30], 2, 256)


@needs_espeak
def test_existing_corpus_is_not_overwritten_by_accident(tiny):
    out, _ = tiny
    with pytest.raises(FileExistsError, match="overwrite"):
        synthesize_corpus(out, TINY, progress=False)


@needs_espeak
def test_a_failed_utterance_is_skipped_and_reported(tmp_path, monkeypatch):
    real = synth_corpus.render
    victim = generate_sentences(2, seed=1)[1]

    def flaky(text, voice, **kw):
        if text == victim and "sad" in voice:
            raise EspeakError("simulated espeak-ng crash")
        return real(text, voice, **kw)

    monkeypatch.setattr(synth_corpus, "render", flaky)
    recipe = CorpusRecipe(n_speakers=1, n_sentences=2, seed=1, emotions=("sad", "happy"))
    report = synthesize_corpus(tmp_path / "c", recipe, jobs=1, progress=False)
    assert (report.planned, report.rendered) == (4, 3)
    assert report.failures[0]["error"] == "simulated espeak-ng crash"
    assert "1 utterance(s) failed" in report.summary()
    manifest = json.loads((tmp_path / "c" / "corpus.json").read_text("utf-8"))
    assert manifest["counts"]["failed"] == 1 and len(manifest["failures"]) == 1
    assert len(load_esd(tmp_path / "c")) == 3  # the transcript lists only what was rendered


@needs_espeak
def test_cli_corpus_synth_and_info(tmp_path, capsys):
    from emomix.data.cli import add_corpus_commands

    parser = argparse.ArgumentParser(prog="emomix")
    add_corpus_commands(parser.add_subparsers(dest="command", required=True))
    out = tmp_path / "cli"
    args = parser.parse_args(
        [
            "corpus",
            "synth",
            "--out",
            str(out),
            "--speakers",
            "1",
            "--sentences",
            "2",
            "--emotions",
            "neutral,angry",
            "--jobs",
            "1",
            "--quiet",
        ]
    )
    assert args.func(args) == 0
    assert "wrote 4 of 4 utterances" in capsys.readouterr().out
    args = parser.parse_args(["corpus", "info", str(out)])
    assert args.func(args) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["utterances"] == 4 and info["by_emotion"] == {"angry": 2, "neutral": 2}


# ---------------------------------------------------------------- loader fixtures


def silent(path: Path) -> None:
    write_wav(path, np.zeros(160, np.float32), 16000)


def make_esd(
    root: Path, speakers=("0011", "0012"), split_dirs: bool = True, per_emotion: int = 4
) -> Path:
    """ESD-like tree: 4 utterances per emotion, blocks of 350 as in the release."""
    for spk in speakers:
        lines = []
        for block, folder in enumerate(("Neutral", "Angry", "Happy", "Sad", "Surprise")):
            for k in range(per_emotion):
                offset = (1, 21, 51, 200)[k]  # evaluation, test, train, train
                uid = f"{spk}_{block * 350 + offset:06d}"
                lines.append(f"{uid}\tSentence number {offset}.\t{folder}")
                split = "evaluation" if offset <= 20 else "test" if offset <= 50 else "train"
                silent(root / spk / folder / (split if split_dirs else "") / f"{uid}.wav")
        (root / spk / f"{spk}.txt").write_text("\n".join(lines) + "\n", "utf-8")
    return root


def test_esd_reads_emotions_text_and_split_folders(tmp_path):
    utts = load_esd(make_esd(tmp_path / "ESD"))
    assert len(utts) == 2 * 5 * 4
    assert {u.emotion for u in utts} == set(EMOTIONS)
    assert {u.speaker for u in utts} == {"esd:0011", "esd:0012"}
    u = next(u for u in utts if u.path.stem == "0011_000351")
    assert (u.emotion, u.split, u.text, u.label) == (
        "angry",
        "evaluation",
        "Sentence number 1.",
        "Angry",
    )
    counts = {s: sum(u.split == s for u in utts) for s in ("train", "evaluation", "test")}
    assert counts == {"train": 20, "evaluation": 10, "test": 10}
    assert len(load_esd(tmp_path / "ESD", speakers=["0012"])) == 20


def test_esd_flat_folders_split_by_utterance_number_and_nested_root(tmp_path):
    make_esd(tmp_path / "dl" / "Emotion Speech Dataset", split_dirs=False)
    utts = load_esd(tmp_path / "dl")
    by_offset = {int(u.path.stem.split("_")[1]) % 350: u.split for u in utts}
    assert by_offset == {1: "evaluation", 21: "test", 51: "train", 200: "train"}


def test_esd_mandarin_labels_in_utf16(tmp_path):
    root = tmp_path / "ESD"
    silent(root / "0001" / "Happy" / "0001_000701.wav")
    (root / "0001" / "0001.txt").write_bytes("0001_000701\t打远一看。\t快乐\n".encode("utf-16"))
    [u] = load_esd(root)
    assert (u.emotion, u.text, u.split) == ("happy", "打远一看。", "evaluation")


def test_esd_errors_name_what_is_missing(tmp_path):
    with pytest.raises(CorpusLayoutError, match="not a directory"):
        load_esd(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(CorpusLayoutError, match="no speaker folders"):
        load_esd(tmp_path / "empty")

    root = make_esd(tmp_path / "a", speakers=("0011",))
    (root / "0011" / "0011.txt").unlink()
    with pytest.raises(CorpusLayoutError, match=r"0011\.txt is missing"):
        load_esd(root)

    root = make_esd(tmp_path / "b", speakers=("0011",))
    (root / "0011" / "Sad" / "train" / "0011_001250.wav").unlink()
    with pytest.raises(CorpusLayoutError, match=r"1 WAV file\(s\).*0011_001250\.wav"):
        load_esd(root)
    assert len(load_esd(root, strict=False)) == 19

    root = make_esd(tmp_path / "c", speakers=("0011",))
    silent(root / "0011" / "Sad" / "train" / "0011_001300.wav")
    with pytest.raises(CorpusLayoutError, match=r"transcript line.*0011_001300\.wav"):
        load_esd(root)

    root = make_esd(tmp_path / "d", speakers=("0011",))
    shutil.rmtree(root / "0011" / "Surprise")
    with pytest.raises(CorpusLayoutError, match=r"emotion folder.*Surprise"):
        load_esd(root)

    root = make_esd(tmp_path / "e", speakers=("0011",))
    with open(root / "0011" / "0011.txt", "a", encoding="utf-8") as f:
        f.write("this line is broken\n")
    with pytest.raises(CorpusLayoutError, match=r"0011\.txt:21: expected id<TAB>"):
        load_esd(root)

    with pytest.raises(CorpusLayoutError, match="0099"):
        load_esd(make_esd(tmp_path / "f", speakers=("0011",)), speakers=["0099"])


def make_ravdess(root: Path) -> Path:
    for actor in (1, 2, 23):
        for emo in ("01", "02", "03", "04", "05", "06", "07", "08"):
            for intensity in ("01",) if emo == "01" else ("01", "02"):
                for statement in ("01", "02"):
                    name = f"03-01-{emo}-{intensity}-{statement}-01-{actor:02d}.wav"
                    silent(root / f"Actor_{actor:02d}" / name)
        silent(root / f"Actor_{actor:02d}" / f"03-02-03-01-01-01-{actor:02d}.wav")  # song
    return root


def test_ravdess_decodes_file_names(tmp_path):
    utts = load_ravdess(make_ravdess(tmp_path / "RAVDESS"))
    # per actor: neutral 2 + (happy, sad, angry, surprise) × 2 intensities × 2 statements
    assert len(utts) == 3 * (2 + 4 * 4)
    assert {u.emotion for u in utts} == set(EMOTIONS) and all(u.known for u in utts)
    u = next(u for u in utts if u.path.name == "03-01-05-02-02-01-23.wav")
    assert (u.emotion, u.text, u.speaker, u.split, u.label) == (
        "angry",
        "Dogs are sitting by the door.",
        "ravdess:23",
        "test",
        "05-02",
    )
    assert {u.split for u in utts if u.speaker == "ravdess:01"} == {"train"}
    every = load_ravdess(tmp_path / "RAVDESS", keep_other=True, include_song=True)
    assert {u.emotion for u in every if not u.known} == {"calm", "fearful", "disgust"}
    assert sum("-02-" in u.path.name[:6] for u in every) == 3


def test_ravdess_errors(tmp_path):
    (tmp_path / "x").mkdir()
    with pytest.raises(CorpusLayoutError, match="no Actor_XX folders"):
        load_ravdess(tmp_path / "x")
    root = make_ravdess(tmp_path / "r")
    silent(root / "Actor_02" / "03-01-09-01-01-01-02.wav")  # emotion 09 does not exist
    silent(root / "Actor_02" / "03-01-03-01-01-01-05.wav")  # actor 05 in Actor_02
    with pytest.raises(CorpusLayoutError, match=r"2 name\(s\).*03-01-09"):
        load_ravdess(root)
    (tmp_path / "e" / "Actor_01").mkdir(parents=True)
    with pytest.raises(CorpusLayoutError, match="no WAV files"):
        load_ravdess(tmp_path / "e")


IEMOCAP_LABELS = """% [START_TIME - END_TIME] TURN_NAME EMOTION [V, A, D]

[6.2901 - 8.2357]\tSes0{s}F_impro01_F000\tneu\t[2.5000, 2.5000, 2.5000]
C-E2:\tNeutral;\t()
C-E3:\tNeutral;\t()

[10.0100 - 11.3925]\tSes0{s}F_impro01_M000\texc\t[3.5000, 3.5000, 3.0000]

[14.8872 - 18.0175]\tSes0{s}F_impro01_F001\tfru\t[2.0000, 3.5000, 3.5000]

[19.2900 - 20.7875]\tSes0{s}F_impro01_M001\txxx\t[2.5000, 2.0000, 2.5000]

[21.3257 - 24.7400]\tSes0{s}F_impro01_F002\tang\t[1.5000, 4.0000, 4.0000]
"""
IEMOCAP_TEXT = """Ses0{s}F_impro01_F000 [006.2901-008.2357]: Excuse me.
Ses0{s}F_impro01_M000 [010.0100-011.3925]: Do you have your forms?
Ses0{s}F_impro01_F001 [014.8872-018.0175]: Yeah.
Ses0{s}F_impro01_M001 [019.2900-020.7875]: Let me see them.
Ses0{s}F_impro01_F002 [021.3257-024.7400]: Is there a problem?
M: [LAUGHTER]
"""


def make_iemocap(root: Path, sessions=(1, 5)) -> Path:
    for s in sessions:
        base = root / f"Session{s}"
        (base / "dialog" / "EmoEvaluation").mkdir(parents=True)
        (base / "dialog" / "transcriptions").mkdir(parents=True)
        (base / "dialog" / "EmoEvaluation" / f"Ses0{s}F_impro01.txt").write_text(
            IEMOCAP_LABELS.format(s=s), "utf-8"
        )
        (base / "dialog" / "transcriptions" / f"Ses0{s}F_impro01.txt").write_text(
            IEMOCAP_TEXT.format(s=s), "utf-8"
        )
        for k in ("F000", "M000", "F001", "M001", "F002"):
            silent(base / "sentences" / "wav" / f"Ses0{s}F_impro01" / f"Ses0{s}F_impro01_{k}.wav")
    return root


def test_iemocap_reads_labels_texts_and_session_split(tmp_path):
    utts = load_iemocap(make_iemocap(tmp_path / "IEMOCAP_full_release"))
    assert len(utts) == 2 * 3  # neu, exc→happy, ang; fru dropped, xxx never kept
    u = next(u for u in utts if u.path.stem == "Ses01F_impro01_M000")
    assert (u.emotion, u.text, u.speaker, u.split, u.label) == (
        "happy",
        "Do you have your forms?",
        "iemocap:Ses01M",
        "train",
        "exc",
    )
    assert {u.split for u in utts if u.speaker.startswith("iemocap:Ses05")} == {"test"}
    kept = load_iemocap(tmp_path, keep_other=True)  # finds IEMOCAP_full_release inside
    assert {u.emotion for u in kept if not u.known} == {"frustration"}
    assert len(kept) == 2 * 4


def test_iemocap_errors(tmp_path):
    (tmp_path / "x").mkdir()
    with pytest.raises(CorpusLayoutError, match="no SessionN folders"):
        load_iemocap(tmp_path / "x")
    root = make_iemocap(tmp_path / "a", sessions=(1,))
    shutil.rmtree(root / "Session1" / "dialog" / "transcriptions")
    with pytest.raises(CorpusLayoutError, match="transcriptions"):
        load_iemocap(root)
    root = make_iemocap(tmp_path / "b", sessions=(1,))
    (
        root / "Session1" / "sentences" / "wav" / "Ses01F_impro01" / "Ses01F_impro01_F002.wav"
    ).unlink()
    with pytest.raises(CorpusLayoutError, match=r"Ses01F_impro01_F002\.wav"):
        load_iemocap(root)
    assert len(load_iemocap(root, strict=False)) == 2
