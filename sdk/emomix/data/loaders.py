"""Read emotional speech corpora in their published layouts into one list of utterances.

    from emomix.data.loaders import load_esd
    utts = load_esd("/data/ESD")          # also reads the corpus `emomix corpus synth` writes
    train = [u for u in utts if u.split == "train"]

Each loader returns ``list[Utterance]`` sorted by path, with the corpus's emotion labels mapped
to emomix's names (``neutral``, ``happy``, ``sad``, ``angry``, ``surprise``). Labels with no
emomix counterpart (RAVDESS calm/fearful/disgust, IEMOCAP frustration/fear/disgust/other) are
dropped unless ``keep_other=True``; kept ones carry their own lower-case name and
``known=False``. Splits are ``"train"``, ``"evaluation"`` or ``"test"``.

A tree that does not look like the corpus (missing folders, transcripts or audio) raises
:class:`CorpusLayoutError` naming what is missing and where. Loaders only read file names and
text; they never open the audio.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from ..emotions import DEFAULT_EMOTIONS
from ..errors import EmomixError

__all__ = [
    "EMOTIONS",
    "CorpusLayoutError",
    "Utterance",
    "load_esd",
    "load_iemocap",
    "load_ravdess",
    "voice_speaker_name",
    "RAVDESS_STATEMENTS",
]

#: the emomix emotion names that corpus labels are mapped onto
EMOTIONS = DEFAULT_EMOTIONS
SPLITS = ("train", "evaluation", "test")


def voice_speaker_name(speaker: str) -> str:
    """The name a voice trained on a corpus gives that corpus's speaker id: ``':'`` becomes
    ``'-'`` (``"espeak:0001"`` → ``"espeak-0001"``)."""
    return speaker.replace(":", "-")


def held_out_texts(utterances: Iterable[Utterance], speaker: str) -> list[str]:
    """The distinct sentences of the ``test`` split that ``speaker`` (a voice's name for a
    corpus speaker, :func:`voice_speaker_name`) reads, in corpus order."""
    texts: list[str] = []
    for u in utterances:
        if u.split == "test" and voice_speaker_name(u.speaker) == speaker and u.text not in texts:
            texts.append(u.text)
    return texts


class CorpusLayoutError(EmomixError, ValueError):
    """A corpus directory is missing, incomplete, or not in the layout the loader expects."""


@dataclass(frozen=True)
class Utterance:
    """One clip of a corpus.

    Attributes:
        path: the WAV file.
        text: what is said.
        speaker: corpus-prefixed speaker id: ``"esd:0011"``, ``"ravdess:07"``,
            ``"iemocap:Ses01F"``.
        emotion: emomix emotion name, or the corpus's own label when ``known`` is false.
        split: ``"train"``, ``"evaluation"`` or ``"test"``.
        known: whether ``emotion`` is one of emomix's :data:`EMOTIONS`.
        corpus: ``"esd"``, ``"ravdess"``, ``"iemocap"`` or ``"emomix-espeak"``.
        label: the corpus's original emotion label (``"Angry"``, ``"05"``, ``"exc"`` …).
    """

    path: Path
    text: str
    speaker: str
    emotion: str
    split: str
    known: bool = True
    corpus: str = ""
    label: str = ""


def _require_dir(root: str | Path, corpus: str, hint: str) -> Path:
    root = Path(root)
    if not root.is_dir():
        raise CorpusLayoutError(f"{corpus}: {root} is not a directory — {hint}")
    return root


def _missing(corpus: str, what: str, paths: list[Path], hint: str) -> CorpusLayoutError:
    shown = ", ".join(str(p) for p in paths[:5])
    more = f" and {len(paths) - 5} more" if len(paths) > 5 else ""
    return CorpusLayoutError(f"{corpus}: {len(paths)} {what} missing: {shown}{more} — {hint}")


# ---------------------------------------------------------------- ESD


_ESD_EMOTIONS = {
    "neutral": "neutral",
    "happy": "happy",
    "sad": "sad",
    "angry": "angry",
    "surprise": "surprise",
    # labels of the Mandarin speakers' transcripts
    "中立": "neutral",
    "快乐": "happy",
    "伤心": "sad",
    "生气": "angry",
    "惊喜": "surprise",
}
_ESD_FOLDERS = ("Neutral", "Angry", "Happy", "Sad", "Surprise")
_ESD_BLOCK = 350


def _read_text(path: Path) -> str:
    raw = path.read_bytes()
    for enc in ("utf-8-sig", "utf-16", "gb18030"):
        try:
            text = raw.decode(enc)
        except UnicodeDecodeError:
            continue
        if enc != "utf-16" or raw[:2] in (b"\xff\xfe", b"\xfe\xff"):
            return text
    return raw.decode("utf-8", errors="replace")


def _esd_root(root: Path) -> Path:
    """The folder that holds the speaker folders (the download nests one or two levels)."""
    candidates = [
        root,
        root / "Emotion Speech Dataset",
        root / "Emotional Speech Dataset (ESD)",
        root / "Emotional Speech Dataset (ESD)" / "Emotion Speech Dataset",
    ]
    for c in candidates:
        if c.is_dir() and any(re.fullmatch(r"\d{4}", p.name) and p.is_dir() for p in c.iterdir()):
            return c
    return root


def _esd_number_split(number: int, block: int) -> str:
    # The real ESD: per emotion block of 350, utterances 1–20 evaluation, 21–50 test, rest train.
    offset = (number - 1) % block + 1
    return "evaluation" if offset <= 20 else "test" if offset <= 50 else "train"


def load_esd(
    root: str | Path, *, speakers: Iterable[str] | None = None, strict: bool = True
) -> list[Utterance]:
    """Read ESD (Zhou et al. 2021) or a corpus that ``emomix corpus synth`` wrote.

    Layout::

        root/[Emotion Speech Dataset/]<spk>/<spk>.txt                 id<TAB>text<TAB>Emotion
        root/[Emotion Speech Dataset/]<spk>/<Emotion>/[train|evaluation|test/]<spk>_<NNNNNN>.wav

    with speaker folders of four digits (ESD: 0001–0010 Mandarin, 0011–0020 English) and emotion
    folders Angry, Happy, Neutral, Sad, Surprise. The split of a clip is taken, in this order,
    from its ``train``/``evaluation``/``test`` folder; from ``metadata.csv`` beside the speaker
    folders (a generated corpus, split by sentence); else from its number as in the ESD release
    (in each block of 350: 1–20 evaluation, 21–50 test, 51–350 train).

    Args:
        speakers: only these speaker ids (e.g. ``["0011", "0012"]``).
        strict: a transcript line whose WAV is missing, or a WAV with no transcript line, is an
            error; with ``strict=False`` such clips are skipped.
    """
    hint = "expected ESD's layout: <spk>/<spk>.txt and <spk>/<Emotion>/…/<spk>_<NNNNNN>.wav"
    base = _esd_root(_require_dir(root, "ESD", hint))
    speaker_dirs = sorted(
        p for p in base.iterdir() if p.is_dir() and re.fullmatch(r"\d{4}", p.name)
    )
    if not speaker_dirs:
        raise CorpusLayoutError(
            f"ESD: no speaker folders (four digits, e.g. 0011) in {base} — {hint}"
        )
    wanted = set(speakers) if speakers is not None else None
    if wanted is not None:
        unknown = wanted - {p.name for p in speaker_dirs}
        if unknown:
            raise CorpusLayoutError(
                f"ESD: speaker(s) {', '.join(sorted(unknown))} not found in {base}"
            )
        speaker_dirs = [p for p in speaker_dirs if p.name in wanted]
    meta_split = _generated_splits(base)
    corpus = "emomix-espeak" if meta_split is not None else "esd"
    prefix = "espeak" if meta_split is not None else "esd"
    block = _generated_block(base) or _ESD_BLOCK
    names = _generated_names(base)
    out: list[Utterance] = []
    for spk_dir in speaker_dirs:
        spk = spk_dir.name
        transcript = spk_dir / f"{spk}.txt"
        if not transcript.is_file():
            raise CorpusLayoutError(
                f"ESD: transcript {transcript} is missing — each speaker "
                f"folder holds <spk>.txt with lines id<TAB>text<TAB>Emotion"
            )
        lines = _parse_esd_transcript(transcript)
        labelled: dict[str, tuple[str, str, str]] = {}  # id → (text, label, emomix emotion)
        for uid, (text, label) in lines.items():
            emotion = _ESD_EMOTIONS.get(label.lower()) or _ESD_EMOTIONS.get(label)
            if emotion is None:
                raise CorpusLayoutError(
                    f"ESD: {transcript}: unknown emotion {label!r} for "
                    f"{uid} (expected one of {', '.join(_ESD_FOLDERS)})"
                )
            labelled[uid] = (text, label, emotion)
        folders = {e: spk_dir / e.capitalize() for e in {v[2] for v in labelled.values()}}
        absent = sorted(d for d in folders.values() if not d.is_dir())
        if absent:
            raise _missing("ESD", "emotion folder(s)", absent, hint)
        wavs: dict[str, Path] = {}
        for folder in folders.values():
            for wav in folder.rglob("*.wav"):
                wavs[wav.stem] = wav
        if strict:
            missing = [
                folders[v[2]] / f"{uid}.wav" for uid, v in labelled.items() if uid not in wavs
            ]
            if missing:
                raise _missing(
                    "ESD",
                    f"WAV file(s) listed in {transcript.name}",
                    missing,
                    "the download is incomplete; re-extract it, or load with "
                    "strict=False to skip them",
                )
            orphans = sorted(w for uid, w in wavs.items() if uid not in labelled)
            if orphans:
                raise _missing(
                    "ESD",
                    f"transcript line(s) in {transcript}",
                    orphans,
                    "every WAV needs a line id<TAB>text<TAB>Emotion; load with "
                    "strict=False to skip such files",
                )
        for uid, (text, label, emotion) in sorted(labelled.items()):
            wav = wavs.get(uid)
            if wav is None:
                continue
            if wav.parent.name in SPLITS:
                split = wav.parent.name
            elif meta_split is not None and uid in meta_split:
                split = meta_split[uid]
            else:
                split = _esd_number_split(int(uid.rsplit("_", 1)[1]), block)
            out.append(
                Utterance(
                    path=wav,
                    text=text,
                    speaker=names.get(spk, f"{prefix}:{spk}"),
                    emotion=emotion,
                    split=split,
                    corpus=corpus,
                    label=label,
                )
            )
    return sorted(out, key=lambda u: str(u.path))


def _parse_esd_transcript(path: Path) -> dict[str, tuple[str, str]]:
    lines: dict[str, tuple[str, str]] = {}
    for n, line in enumerate(_read_text(path).splitlines(), 1):
        if not line.strip():
            continue
        parts = [p.strip() for p in line.split("\t") if p.strip()]
        if len(parts) < 3:  # a few ESD lines use runs of spaces instead of tabs
            m = re.match(r"\s*(\d{4}_\d{6})\s+(.*\S)\s+(\S+)\s*$", line)
            parts = list(m.groups()) if m else parts
        if len(parts) < 3 or not re.fullmatch(r"\d{4}_\d{6}", parts[0]):
            raise CorpusLayoutError(
                f"ESD: {path}:{n}: expected id<TAB>text<TAB>Emotion, got {line!r}"
            )
        lines[parts[0]] = (" ".join(parts[1:-1]), parts[-1])
    if not lines:
        raise CorpusLayoutError(f"ESD: transcript {path} is empty")
    return lines


def _generated_splits(root: Path) -> dict[str, str] | None:
    meta = root / "metadata.csv"
    if not meta.is_file():
        return None
    with open(meta, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        if not reader.fieldnames or not {"path", "split"} <= set(reader.fieldnames):
            return None
        return {Path(r["path"]).stem: r["split"] for r in reader}


def _generated_names(root: Path) -> dict[str, str]:
    """Folder → speaker name for the generated corpus's named speakers (the natural Piper
    speakers are ``piper:<name>``; espeak-ng speakers keep ``espeak:<folder>``)."""
    import json

    manifest = root / "corpus.json"
    if not manifest.is_file():
        return {}
    try:
        speakers = json.loads(manifest.read_text("utf-8")).get("speakers") or []
        return {str(s["speaker_id"]): str(s["name"]) for s in speakers
                if isinstance(s, dict) and s.get("name")}
    except (ValueError, KeyError, TypeError, AttributeError):
        return {}


def _generated_block(root: Path) -> int | None:
    import json

    manifest = root / "corpus.json"
    if not manifest.is_file():
        return None
    try:
        return int(json.loads(manifest.read_text("utf-8"))["utterance_numbering"]["block_size"])
    except (ValueError, KeyError, TypeError):
        return None


# ---------------------------------------------------------------- RAVDESS


#: RAVDESS emotion code → emomix name, or the RAVDESS label (unknown to emomix).
_RAVDESS_EMOTIONS = {
    "01": "neutral",
    "02": "calm",
    "03": "happy",
    "04": "sad",
    "05": "angry",
    "06": "fearful",
    "07": "disgust",
    "08": "surprise",
}
#: RAVDESS statement code → text.
RAVDESS_STATEMENTS = {"01": "Kids are talking by the door.", "02": "Dogs are sitting by the door."}
_RAVDESS_NAME = re.compile(r"(\d\d)-(\d\d)-(\d\d)-(\d\d)-(\d\d)-(\d\d)-(\d\d)")


def load_ravdess(
    root: str | Path,
    *,
    keep_other: bool = False,
    include_song: bool = False,
    test_actors: Iterable[int] = (23, 24),
    eval_actors: Iterable[int] = (21, 22),
) -> list[Utterance]:
    """Read the RAVDESS speech audio (Livingstone & Russo 2018).

    Layout: ``root/Actor_XX/MM-VV-EE-II-SS-RR-AA.wav`` where MM is the modality (03 audio-only),
    VV the channel (01 speech, 02 song), EE the emotion (01 neutral, 02 calm, 03 happy, 04 sad,
    05 angry, 06 fearful, 07 disgust, 08 surprised), II the intensity (01 normal, 02 strong),
    SS the statement (01 "Kids are talking by the door.", 02 "Dogs are sitting by the door."),
    RR the repetition, AA the actor (odd male, even female). RAVDESS has no official split, so
    the split is by actor: ``test_actors`` are test, ``eval_actors`` evaluation, the rest train.
    Song files (VV = 02) are skipped unless ``include_song``; video files (MM ≠ 03) always.
    The label keeps the intensity: ``"05-02"`` is strong anger.
    """
    hint = "expected RAVDESS's layout: Actor_XX/03-01-EE-II-SS-RR-XX.wav"
    root = _require_dir(root, "RAVDESS", hint)
    actor_dirs = sorted(p for p in root.rglob("Actor_*") if p.is_dir())
    if not actor_dirs:
        raise CorpusLayoutError(f"RAVDESS: no Actor_XX folders in {root} — {hint}")
    test, evaluation = set(test_actors), set(eval_actors)
    out: list[Utterance] = []
    bad: list[Path] = []
    for actor_dir in actor_dirs:
        m = re.fullmatch(r"Actor_(\d\d)", actor_dir.name)
        if m is None:
            bad.append(actor_dir)
            continue
        wavs = sorted(actor_dir.glob("*.wav"))
        if not wavs:
            raise CorpusLayoutError(f"RAVDESS: {actor_dir} holds no WAV files — {hint}")
        for wav in wavs:
            parts = _RAVDESS_NAME.fullmatch(wav.stem)
            if (
                parts is None
                or parts.group(3) not in _RAVDESS_EMOTIONS
                or parts.group(5) not in RAVDESS_STATEMENTS
            ):
                bad.append(wav)
                continue
            modality, channel, emo, intensity, statement, _rep, actor = parts.groups()
            if actor != m.group(1):
                bad.append(wav)
                continue
            if modality != "03" or (channel == "02" and not include_song):
                continue
            emotion = _RAVDESS_EMOTIONS[emo]
            known = emotion in EMOTIONS
            if not known and not keep_other:
                continue
            a = int(actor)
            split = "test" if a in test else "evaluation" if a in evaluation else "train"
            out.append(
                Utterance(
                    path=wav,
                    text=RAVDESS_STATEMENTS[statement],
                    speaker=f"ravdess:{actor}",
                    emotion=emotion,
                    split=split,
                    known=known,
                    corpus="ravdess",
                    label=f"{emo}-{intensity}",
                )
            )
    if bad:
        raise CorpusLayoutError(
            f"RAVDESS: {len(bad)} name(s) do not follow the RAVDESS coding "
            f"(Actor_XX folders of MM-VV-EE-II-SS-RR-AA.wav, AA matching the folder): "
            f"{', '.join(str(p) for p in bad[:5])}{' …' if len(bad) > 5 else ''}"
        )
    return sorted(out, key=lambda u: str(u.path))


# ---------------------------------------------------------------- IEMOCAP


#: IEMOCAP category → emomix name; "exc" (excited) is merged into happy, as is usual in SER work.
_IEMOCAP_EMOTIONS = {
    "neu": "neutral",
    "hap": "happy",
    "exc": "happy",
    "sad": "sad",
    "ang": "angry",
    "sur": "surprise",
}
#: Categories kept (under their own name) only with keep_other; "xxx" (no agreement) never is.
_IEMOCAP_OTHER = {"fru": "frustration", "fea": "fear", "dis": "disgust", "oth": "other"}
_IEMOCAP_LABEL = re.compile(r"^\[\s*[\d.]+\s*-\s*[\d.]+\s*\]\s+(\S+)\s+(\w+)\s+\[")
_IEMOCAP_TEXT = re.compile(r"^(\S+)\s+\[[^\]]*\]:\s*(.*)$")


def load_iemocap(
    root: str | Path,
    *,
    keep_other: bool = False,
    test_sessions: Iterable[int] = (5,),
    eval_sessions: Iterable[int] = (),
    strict: bool = True,
) -> list[Utterance]:
    """Read IEMOCAP (Busso et al. 2008) utterances with categorical labels.

    Layout (``root`` is ``IEMOCAP_full_release``)::

        SessionN/dialog/EmoEvaluation/<dialog>.txt   [start - end]<TAB><utt><TAB><cat><TAB>[v, a, d]
        SessionN/dialog/transcriptions/<dialog>.txt  <utt> [start-end]: text
        SessionN/sentences/wav/<dialog>/<utt>.wav

    ``<utt>`` is e.g. ``Ses01F_impro01_F000``: session 1, the speaker is the female (``F`` in
    the last part) of that session, so the speaker id is ``iemocap:Ses01F``. Categories: neu,
    hap and exc (→ happy), sad, ang, sur are kept; fru, fea, dis, oth only with ``keep_other``;
    xxx (no majority) never. The split is by session (leave-one-session-out is the usual
    protocol): ``test_sessions`` test, ``eval_sessions`` evaluation, the rest train.

    Args:
        strict: a labelled utterance whose WAV or transcript line is missing is an error; with
            ``strict=False`` it is skipped.
    """
    hint = (
        "expected IEMOCAP's layout: SessionN/dialog/EmoEvaluation/*.txt, "
        "SessionN/dialog/transcriptions/*.txt, SessionN/sentences/wav/<dialog>/<utt>.wav"
    )
    root = _require_dir(root, "IEMOCAP", hint)
    if not any(root.glob("Session*")) and (root / "IEMOCAP_full_release").is_dir():
        root = root / "IEMOCAP_full_release"
    sessions = sorted(p for p in root.glob("Session*") if p.is_dir())
    if not sessions:
        raise CorpusLayoutError(f"IEMOCAP: no SessionN folders in {root} — {hint}")
    test, evaluation = set(test_sessions), set(eval_sessions)
    out: list[Utterance] = []
    for session in sessions:
        m = re.fullmatch(r"Session(\d+)", session.name)
        if m is None:
            continue
        number = int(m.group(1))
        labels_dir = session / "dialog" / "EmoEvaluation"
        text_dir = session / "dialog" / "transcriptions"
        wav_dir = session / "sentences" / "wav"
        absent = [d for d in (labels_dir, text_dir, wav_dir) if not d.is_dir()]
        if absent:
            raise _missing("IEMOCAP", "folder(s)", absent, hint)
        label_files = sorted(labels_dir.glob("*.txt"))
        if not label_files:
            raise CorpusLayoutError(f"IEMOCAP: no label files (*.txt) in {labels_dir} — {hint}")
        missing: list[Path] = []
        for label_file in label_files:
            dialog = label_file.stem
            texts = _iemocap_texts(text_dir / f"{dialog}.txt")
            for line in _read_text(label_file).splitlines():
                lm = _IEMOCAP_LABEL.match(line)
                if lm is None:
                    continue
                utt, cat = lm.group(1), lm.group(2)
                if cat in _IEMOCAP_EMOTIONS:
                    emotion, known = _IEMOCAP_EMOTIONS[cat], True
                elif cat in _IEMOCAP_OTHER and keep_other:
                    emotion, known = _IEMOCAP_OTHER[cat], False
                else:
                    continue
                wav = wav_dir / dialog / f"{utt}.wav"
                if texts is None:
                    missing.append(text_dir / f"{dialog}.txt")
                    break
                if not wav.is_file() or utt not in texts:
                    missing.append(wav if not wav.is_file() else text_dir / f"{dialog}.txt")
                    continue
                gender = utt.rsplit("_", 1)[-1][:1]
                split = (
                    "test" if number in test else "evaluation" if number in evaluation else "train"
                )
                out.append(
                    Utterance(
                        path=wav,
                        text=texts[utt],
                        speaker=f"iemocap:Ses{number:02d}{gender}",
                        emotion=emotion,
                        split=split,
                        known=known,
                        corpus="iemocap",
                        label=cat,
                    )
                )
        if missing and strict:
            raise _missing(
                "IEMOCAP",
                "file(s) for labelled utterances",
                sorted(set(missing)),
                "the tree is incomplete; load with strict=False to skip them",
            )
    return sorted(out, key=lambda u: str(u.path))


def _iemocap_texts(path: Path) -> dict[str, str] | None:
    if not path.is_file():
        return None
    texts = {}
    for line in _read_text(path).splitlines():
        m = _IEMOCAP_TEXT.match(line.strip())
        if m:
            texts[m.group(1)] = m.group(2).strip()
    return texts
