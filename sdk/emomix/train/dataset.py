"""Dataset preparation: a corpus in ESD layout → a cache of phoneme ids, log-mels and audio.

Reading WAVs, computing log-mels and phonemising with espeak-ng is slow next to a training
step, so it is done once. The cache directory holds

- ``index.json``: the audio config used, ``mel_mean`` / ``mel_std`` fitted on the train split
  (one scalar each, over every frame and mel bin), speaker and emotion names, per-split counts,
  the corpus's own ``corpus.json`` recipe when present, and the shard list;
- ``shard_NNN.npz``: up to ``shard_size`` utterances, concatenated: ``mels`` ``(n_mels, ΣF)``
  float32 **raw** log-mels (``log(max(mel, floor))``, not normalised, so a refit never
  invalidates them), ``ids`` ``(ΣT,)`` int64, ``audio`` ``(ΣF·hop,)`` int16 padded to whole
  frames, and per utterance ``n_frames``, ``n_ids``, ``speaker``, ``emotion``, ``split`` (int
  codes into the index's name lists).

:class:`PreparedData` loads every shard into memory and hands out padded, *normalised* batches.
"""

from __future__ import annotations

import json
import sys
import time
import wave
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..config import AudioConfig
from ..emotions import DEFAULT_EMOTIONS

__all__ = ["prepare_dataset", "PreparedData", "Batch", "SPLITS", "CACHE_VERSION",
           "ALIGNMENT_SOURCES", "corpus_alignments", "known_durations"]

SPLITS = ("train", "evaluation", "test")
#: Where a clip's phoneme durations come from: the corpus's ``alignments.jsonl`` where it has
#: the clip (else the search), or always the monotonic alignment search.
ALIGNMENT_SOURCES = ("corpus", "search")
CACHE_VERSION = 2


def read_wav(path: Path, sample_rate: int) -> np.ndarray:
    """16-bit PCM mono (or first channel) WAV → float64 in [-1, 1]; the rate must match."""
    with wave.open(str(path), "rb") as w:
        if w.getsampwidth() != 2:
            raise ValueError(f"{path}: expected 16-bit PCM, got {8 * w.getsampwidth()}-bit")
        if w.getframerate() != sample_rate:
            raise ValueError(
                f"{path}: sample rate {w.getframerate()} Hz, the voice uses {sample_rate} Hz; "
                "resample the corpus first"
            )
        data = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
        if w.getnchannels() > 1:
            data = data.reshape(-1, w.getnchannels())[:, 0]
    return data.astype(np.float64) / 32768.0


Alignment = tuple[list[str], np.ndarray, int]


def corpus_alignments(corpus: str | Path) -> dict[str, Alignment]:
    """``alignments.jsonl`` of a generated corpus: clip path (relative) → (phonemes, end
    samples, the first phoneme's start sample); empty when the corpus has none."""
    from ..data.synth_corpus import ALIGNMENTS_FILE

    path = Path(corpus) / ALIGNMENTS_FILE
    if not path.exists():
        return {}
    out: dict[str, Alignment] = {}
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            r = json.loads(line)
            out[str(r["path"])] = (list(r["phonemes"]), np.asarray(r["ends"], np.int64),
                                   int(r.get("start", 0)))
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"{path}:{n}: not an alignment record ({exc}); render the corpus "
                             "again or delete the file to align by search") from exc
    return out


#: Most phonemes (share of the line, at least 2) in which the corpus renderer's phonemes may
#: differ from this frontend's for its alignment to be used.
MAX_PHONEME_EDITS = 0.15


def map_phoneme_ends(target: list[str], phonemes: list[str], ends: np.ndarray
                     ) -> np.ndarray | None:
    """End samples for the phonemes ``target`` from an alignment of nearly the same phonemes.

    The renderer's phonemiser can differ from this frontend's in a few symbols (another
    espeak-ng version writes ``ɔː`` for ``oː``, or adds a linking ``ʲ``). The two sequences are
    matched by edit operations: matched and substituted phonemes take the renderer's spans (a
    substituted run shares its span evenly), a phoneme only the renderer has joins the one
    before it, and one only ``target`` has ends where the one before it ends (it gets its frame
    later, from :func:`frame_durations`). ``None`` when more than :data:`MAX_PHONEME_EDITS` of
    the line differ: then the clip is aligned by search.
    """
    from difflib import SequenceMatcher

    ends = np.asarray(ends, np.int64)
    if list(target) == list(phonemes):
        return ends
    ops = SequenceMatcher(None, list(phonemes), list(target), autojunk=False).get_opcodes()
    edits = sum(max(i2 - i1, j2 - j1) for tag, i1, i2, j1, j2 in ops if tag != "equal")
    if not target or not phonemes or edits > max(2, MAX_PHONEME_EDITS * len(target)):
        return None
    out = np.zeros(len(target), np.int64)
    for _, i1, i2, j1, j2 in ops:
        start = int(ends[i1 - 1]) if i1 > 0 else 0
        stop = int(ends[i2 - 1]) if i2 > i1 else start
        if j2 > j1:
            out[j1:j2] = np.round(start + (stop - start) * np.arange(1, j2 - j1 + 1)
                                  / (j2 - j1))
        elif j1 > 0:
            out[j1 - 1] = stop
    out[-1] = int(ends[-1])
    return np.maximum.accumulate(out)


def frame_durations(ends: np.ndarray, n_frames: int, hop: int) -> np.ndarray:
    """Whole-frame durations of phonemes that end at sample ``ends`` of a clip of ``n_frames``
    frames: the boundaries are rounded to frames as :func:`~emomix.durations.round_running_total`
    rounds, every phoneme gets at least one frame, and they sum to ``n_frames``.

    Raises ``ValueError`` when there are more phonemes than frames.
    """
    from ..durations import round_running_total

    ends = np.asarray(ends, np.float64)
    if len(ends) > n_frames:
        raise ValueError(f"{len(ends)} phonemes in {n_frames} frames")
    lengths = np.diff(np.concatenate([[0.0], ends])) / hop
    d = round_running_total(lengths, np.ones(len(ends), bool))
    excess = int(d.sum()) - n_frames
    # The clip's frames are ceil(samples / hop); put the rounding difference at the end,
    # taking frames from the last phonemes that can spare them.
    k = len(d) - 1
    while excess > 0:
        take = min(excess, int(d[k]) - 1)
        d[k] -= take
        excess -= take
        k -= 1
    d[-1] -= excess  # excess <= 0 here: the last phoneme gets the missing frames
    return d


def known_durations(record: Alignment | None, phonemes: list[str], n_frames: int, hop: int
                    ) -> tuple[int, np.ndarray] | None:
    """A clip's timing from its :func:`corpus_alignments` record, for ``phonemes`` (this
    frontend's) in a clip of ``n_frames``: the whole frames of silence before the first
    phoneme, and each phoneme's frames in the rest. ``None`` when there is no record or it
    does not map.

    The leading silence is cut from the clip rather than given to the first phoneme: a first
    phoneme that also stands for 60 ms of silence gets a μ halfway between the two, and the
    first word of every line came out garbled.
    """
    if record is None:
        return None
    ends = map_phoneme_ends(phonemes, record[0], record[1])
    if ends is None:
        return None
    lead = max(0, min(int(record[2]) // hop, n_frames - len(phonemes) - 1))
    return lead, frame_durations(ends - lead * hop, n_frames - lead, hop)


def _index_matches(index: dict[str, Any], audio: AudioConfig, corpus: Path,
                   alignment: str) -> bool:
    a = dict(index.get("audio", {}))
    b = asdict(audio)
    for k in ("mel_mean", "mel_std"):  # refitted; not part of the identity
        a.pop(k, None)
        b.pop(k, None)
    return (index.get("version") == CACHE_VERSION and a == b
            and index.get("corpus") == str(corpus.resolve())
            and index.get("alignment", "corpus") == alignment)


def prepare_dataset(
    corpus: str | Path,
    cache: str | Path,
    audio: AudioConfig | None = None,
    *,
    language: str = "en-us",
    shard_size: int = 256,
    max_utterances: int | None = None,
    progress: bool = True,
    jobs: int | None = None,
    alignment: str = "corpus",
) -> dict[str, Any]:
    """Compute (or reuse) the cache of ``corpus`` in ``cache`` and return its index.

    Args:
        corpus: a corpus root in ESD layout (``emomix corpus synth`` output or a real ESD).
        cache: the cache directory; an existing, matching cache is reused as is.
        audio: the audio config of the voice (default ``AudioConfig()``).
        language: espeak-ng language for phonemisation.
        shard_size: utterances per shard file.
        max_utterances: keep only the first N utterances (sorted by path), for quick runs.
        progress: print a line every few hundred utterances.
        jobs: worker processes for reading WAVs and computing log-mels (default: all CPUs).
        alignment: ``"corpus"`` keeps the durations of the corpus's ``alignments.jsonl``
            (training then uses them instead of searching); ``"search"`` ignores that file, so
            every clip is aligned by the monotonic alignment search.

    Returns:
        the ``index.json`` content, with ``mel_mean`` / ``mel_std`` fitted on the train split.
    """
    from ..data import load_esd
    from ..text import default_symbol_table, text_to_ids

    if alignment not in ALIGNMENT_SOURCES:
        raise ValueError(f"alignment must be one of {', '.join(ALIGNMENT_SOURCES)}, "
                         f"got {alignment!r}")
    audio = audio or AudioConfig()
    corpus = Path(corpus)
    cache = Path(cache)
    index_path = cache / "index.json"
    if index_path.exists():
        index = json.loads(index_path.read_text())
        if (_index_matches(index, audio, corpus, alignment)
                and index.get("max_utterances") == max_utterances):
            return index
    cache.mkdir(parents=True, exist_ok=True)
    utts = load_esd(corpus)
    utts = [u for u in utts if u.known]
    if max_utterances is not None:
        utts = utts[:max_utterances]
    if not utts:
        raise ValueError(f"{corpus}: no utterances with a known emotion")
    speakers = sorted({u.speaker for u in utts})
    emotions = [e for e in DEFAULT_EMOTIONS if any(u.emotion == e for u in utts)]
    symbols = default_symbol_table()
    alignments = corpus_alignments(corpus) if alignment == "corpus" else {}
    n_aligned = 0
    ids_of: dict[str, np.ndarray] = {}
    t0 = time.monotonic()
    # Mean/std over every (bin, frame) of the train split: running sums in float64.
    s1 = s2 = 0.0
    count = 0
    shards: list[str] = []
    counts = {s: 0 for s in SPLITS}
    buf: dict[str, list[Any]] = {}

    def flush() -> None:
        if not buf.get("mels"):
            return
        name = f"shard_{len(shards):03d}.npz"
        np.savez(
            cache / name,
            mels=np.concatenate(buf["mels"], axis=1),
            ids=np.concatenate(buf["ids"]),
            audio=np.concatenate(buf["audio"]),
            n_frames=np.asarray(buf["n_frames"], np.int64),
            n_ids=np.asarray(buf["n_ids"], np.int64),
            speaker=np.asarray(buf["speaker"], np.int64),
            emotion=np.asarray(buf["emotion"], np.int64),
            split=np.asarray(buf["split"], np.int64),
            durations=np.concatenate(buf["durations"]),
        )
        shards.append(name)
        buf.clear()

    for u in utts:
        if u.text not in ids_of:
            ids_of[u.text] = text_to_ids(u.text, symbols, language=language, strict=False,
                                         on_unknown="skip")
    for i, (u, (mel, pcm)) in enumerate(zip(utts, _clip_features(utts, audio, jobs), strict=True)):
        ids = ids_of[u.text]
        if mel.shape[1] < len(ids) + 1:
            continue  # cannot align: fewer frames than phonemes
        timing = known_durations(alignments.get(relative_path(u.path, corpus)),
                                 symbols.decode(ids), mel.shape[1], audio.hop_length)
        if timing is None:
            durations = np.zeros(len(ids), np.int64)
        else:
            lead, durations = timing
            mel, pcm = mel[:, lead:], pcm[lead * audio.hop_length:]
            n_aligned += 1
        n_frames = mel.shape[1]
        split = u.split if u.split in SPLITS else "train"
        if split == "train":
            s1 += float(mel.sum(dtype=np.float64))
            s2 += float((mel.astype(np.float64) ** 2).sum())
            count += mel.size
        counts[split] += 1
        for key, val in (("mels", mel), ("ids", ids), ("audio", pcm), ("n_frames", n_frames),
                         ("n_ids", len(ids)), ("speaker", speakers.index(u.speaker)),
                         ("emotion", emotions.index(u.emotion)),
                         ("split", SPLITS.index(split)), ("durations", durations)):
            buf.setdefault(key, []).append(val)
        if len(buf["mels"]) >= shard_size:
            flush()
        if progress and (i + 1) % 250 == 0:
            print(f"prepare: {i + 1}/{len(utts)} utterances, {time.monotonic() - t0:.0f} s",
                  file=sys.stderr, flush=True)
    flush()
    if count == 0:
        raise ValueError(f"{corpus}: the train split is empty; cannot fit mel statistics")
    mean = s1 / count
    std = float(np.sqrt(max(s2 / count - mean * mean, 1e-8)))
    corpus_json = corpus / "corpus.json"
    recipe = None
    if corpus_json.exists():
        recipe = json.loads(corpus_json.read_text()).get("recipe")
    index = {
        "version": CACHE_VERSION,
        "corpus": str(corpus.resolve()),
        "corpus_recipe": recipe,
        "language": language,
        "audio": asdict(audio),
        "mel_mean": float(mean),
        "mel_std": std,
        "speakers": speakers,
        "emotions": emotions,
        "counts": counts,
        "alignment": alignment,
        "aligned_by_corpus": n_aligned,
        "max_utterances": max_utterances,
        "shards": shards,
        "prepare_seconds": round(time.monotonic() - t0, 1),
    }
    index_path.write_text(json.dumps(index, indent=1))
    return index


def relative_path(path: str | Path, root: str | Path) -> str:
    """``path`` relative to the corpus ``root``, as the corpus's files name clips."""
    try:
        return Path(path).resolve().relative_to(Path(root).resolve()).as_posix()
    except ValueError:
        return str(path)


def _one_clip(path: str, audio: AudioConfig) -> tuple[np.ndarray, np.ndarray]:
    """One WAV → (raw log-mel ``(n_mels, F)`` float32, int16 PCM padded to ``F · hop``)."""
    from ..features import log_mel

    wav = read_wav(Path(path), audio.sample_rate)
    mel = log_mel(wav, audio, normalise=False)
    padded = np.zeros(mel.shape[1] * audio.hop_length, np.float64)
    padded[: wav.size] = wav
    pcm = np.clip(np.round(padded * 32768.0), -32768, 32767).astype(np.int16)
    return mel, pcm


def _clip_features(utts: list[Any], audio: AudioConfig, jobs: int | None):
    """:func:`_one_clip` of every utterance, in order, on ``jobs`` worker processes."""
    import os
    from concurrent.futures import ProcessPoolExecutor
    from functools import partial

    jobs = max(1, jobs if jobs is not None else (os.cpu_count() or 1))
    paths = [str(u.path) for u in utts]
    if jobs == 1 or len(paths) < 2:
        yield from (_one_clip(p, audio) for p in paths)
        return
    chunk = max(1, min(32, len(paths) // (4 * jobs)))
    with ProcessPoolExecutor(jobs) as pool:
        yield from pool.map(partial(_one_clip, audio=audio), paths, chunksize=chunk)


@dataclass
class Batch:
    """A padded batch (numpy; the trainers move it to torch).

    ``mels`` ``(B, n_mels, F)`` normalised log-mel, ``mel_lengths`` ``(B,)``, ``ids`` ``(B, T)``,
    ``id_lengths`` ``(B,)``, ``speaker`` / ``emotion`` ``(B,)`` indices, ``durations``
    ``(B, T)`` each phoneme's frames from the corpus (a row of zeros where the corpus does not
    say, and always for cropped batches), ``audio`` ``(B, F·hop)`` float32 or ``None``;
    ``inputs`` ``(B, n_mels, F)``: other mels of the same clips, cropped
    alike (the vocoder's teacher-forced inputs), or ``None``.
    """

    mels: np.ndarray
    mel_lengths: np.ndarray
    ids: np.ndarray
    id_lengths: np.ndarray
    speaker: np.ndarray
    emotion: np.ndarray
    durations: np.ndarray
    audio: np.ndarray | None = None
    inputs: np.ndarray | None = None


def _pad(mels: list[np.ndarray], shape: tuple[int, ...]) -> np.ndarray:
    out = np.zeros(shape, np.float32)
    for k, m in enumerate(mels):
        out[k, :, :m.shape[1]] = m
    return out


class PreparedData:
    """Every utterance of a cache, in memory, with batching by split.

    ``mel_mean`` / ``mel_std`` default to the index's fitted values.
    """

    def __init__(self, cache: str | Path, mel_mean: float | None = None,
                 mel_std: float | None = None) -> None:
        cache = Path(cache)
        self.index = json.loads((cache / "index.json").read_text())
        self.mel_mean = float(self.index["mel_mean"] if mel_mean is None else mel_mean)
        self.mel_std = float(self.index["mel_std"] if mel_std is None else mel_std)
        self.hop = int(self.index["audio"]["hop_length"])
        self.speakers: list[str] = self.index["speakers"]
        self.emotions: list[str] = self.index["emotions"]
        self.mels: list[np.ndarray] = []
        self.ids: list[np.ndarray] = []
        self.audio: list[np.ndarray] = []
        self.durations: list[np.ndarray] = []
        spk, emo, split = [], [], []
        for name in self.index["shards"]:
            with np.load(cache / name) as npz:
                z = {k: npz[k] for k in npz.files}  # each npz[k] access re-reads the array
                mo = np.concatenate([[0], np.cumsum(z["n_frames"])])
                io = np.concatenate([[0], np.cumsum(z["n_ids"])])
                ao = mo * self.hop
                for j in range(len(z["n_frames"])):
                    self.mels.append(
                        ((z["mels"][:, mo[j]:mo[j + 1]] - self.mel_mean) / self.mel_std)
                        .astype(np.float32))
                    self.ids.append(z["ids"][io[j]:io[j + 1]])
                    self.durations.append(z["durations"][io[j]:io[j + 1]])
                    self.audio.append(z["audio"][ao[j]:ao[j + 1]])
                spk.append(z["speaker"])
                emo.append(z["emotion"])
                split.append(z["split"])
        self.speaker = np.concatenate(spk)
        self.emotion = np.concatenate(emo)
        self.split = np.concatenate(split)

    def __len__(self) -> int:
        return len(self.mels)

    def indices(self, split: str) -> np.ndarray:
        return np.flatnonzero(self.split == SPLITS.index(split))

    def batch(self, items: np.ndarray | list[int], *, with_audio: bool = False,
              max_frames: int | None = None, rng: np.random.Generator | None = None,
              inputs: dict[int, np.ndarray] | None = None) -> Batch:
        """Pad the utterances ``items``; ``max_frames`` crops each to a random window.

        ``inputs``: clip index → another mel of that clip, as long as its own (teacher-forced
        mels); the batch's ``inputs`` then holds them, cropped to the same windows.
        """
        items = list(items)
        rng = rng or np.random.default_rng()
        mels, auds, ins = [], [], []
        for i in items:
            m = self.mels[i]
            start = 0
            if max_frames is not None and m.shape[1] > max_frames:
                start = int(rng.integers(0, m.shape[1] - max_frames + 1))
                m = m[:, start:start + max_frames]
            mels.append(m)
            if inputs is not None:
                if inputs[i].shape != self.mels[i].shape:
                    raise ValueError(f"clip {i}: its input mel has shape {inputs[i].shape}, "
                                     f"its own mel {self.mels[i].shape}")
                ins.append(inputs[i][:, start:start + m.shape[1]])
            if with_audio:
                a = self.audio[i][start * self.hop:(start + m.shape[1]) * self.hop]
                auds.append(a.astype(np.float32) / 32768.0)
        b = len(items)
        f_max = max(m.shape[1] for m in mels)
        t_max = max(len(self.ids[i]) for i in items)
        mel_arr = _pad(mels, (b, mels[0].shape[0], f_max))
        id_arr = np.zeros((b, t_max), np.int64)
        dur_arr = np.zeros((b, t_max), np.int64)
        aud_arr = np.zeros((b, f_max * self.hop), np.float32) if with_audio else None
        for k, i in enumerate(items):
            id_arr[k, :len(self.ids[i])] = self.ids[i]
            if mels[k].shape[1] == self.mels[i].shape[1]:  # durations hold for whole clips
                dur_arr[k, :len(self.ids[i])] = self.durations[i]
            if aud_arr is not None:
                aud_arr[k, :auds[k].size] = auds[k]
        return Batch(
            mels=mel_arr,
            mel_lengths=np.asarray([m.shape[1] for m in mels], np.int64),
            ids=id_arr,
            id_lengths=np.asarray([len(self.ids[i]) for i in items], np.int64),
            speaker=self.speaker[items],
            emotion=self.emotion[items],
            durations=dur_arr,
            audio=aud_arr,
            inputs=_pad(ins, mel_arr.shape) if inputs is not None else None,
        )
