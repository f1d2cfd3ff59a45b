"""One voice bundle contract, two validators: Python (``emomix.voice``) and C++ (``_native``).

A corpus of broken bundles is generated from the shipped default voice — missing files, wrong
hashes, truncated or garbled safetensors, tensor shapes that do not match their bytes, bad JSON,
repeated keys, wrong types, unknown names referenced by default settings, NaN and huge numbers,
wrong format versions, and so on. Every case goes to both ``load_bundle`` and the native
``check_voice`` (and ``load_model``, the C++ Model load path): both must reject it and name the
same file and the same field. Both read their constants from one file, ``emomix/voice/schema.json``.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import struct
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from emomix import _schema
from emomix.errors import VoiceBundleError
from emomix.synthesis import default_voice_path
from emomix.voice import load_bundle, save_bundle, sha256_file

native = pytest.importorskip("emomix._native")

WEIGHTS = _schema.WEIGHTS_FILE
META = _schema.META_FILE
FIRST = f"{WEIGHTS}:denoiser.down.0.blocks.0.conv1.bias"  # the default voice's first tensor


# --------------------------------------------------------------------------------------------
# Building the corpus


def read_meta(d: Path) -> dict[str, Any]:
    return json.loads((d / META).read_text(encoding="utf-8"))


def write_meta(d: Path, meta: Any) -> None:
    # allow_nan: json.dumps writes NaN / Infinity literals, as a careless exporter would
    (d / META).write_text(json.dumps(meta, ensure_ascii=False, allow_nan=True), encoding="utf-8")


def write_weights(d: Path, data: bytes, *, rehash: bool) -> None:
    """Replace the weights file (a new inode: the bundle's copy may be a hard link); with
    ``rehash``, voice.json lists the new size and sha256, so only the header checks object."""
    w = d / WEIGHTS
    w.unlink()
    w.write_bytes(data)
    if rehash:
        meta = read_meta(d)
        meta["files"][WEIGHTS] = {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
        write_meta(d, meta)


def split_weights(d: Path) -> tuple[dict[str, Any], bytes]:
    raw = (d / WEIGHTS).read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    return json.loads(raw[8 : 8 + n]), raw[8 + n :]


def header_text(d: Path, text: bytes, body: bytes | None = None) -> None:
    """Weights with the raw header ``text`` (and the original data unless ``body``), rehashed."""
    if body is None:
        body = split_weights(d)[1]
    write_weights(d, struct.pack("<Q", len(text)) + text + body, rehash=True)


def edit_header(edit: Callable[[dict[str, Any]], None]) -> Callable[[Path], None]:
    def mutate(d: Path) -> None:
        header, body = split_weights(d)
        edit(header)
        header_text(d, json.dumps(header).encode(), body)

    return mutate


def edit(fn: Callable[[dict[str, Any]], None]) -> Callable[[Path], None]:
    """A mutation of the parsed voice.json."""

    def mutate(d: Path) -> None:
        meta = read_meta(d)
        fn(meta)
        write_meta(d, meta)

    return mutate


def put(path: str, value: Any) -> Callable[[Path], None]:
    """Set (or with value DELETE, remove) a dotted key of voice.json; a tuple path for keys with
    dots in them."""

    def fn(meta: dict[str, Any]) -> None:
        *parents, last = path.split(".") if isinstance(path, str) else path
        node = meta
        for p in parents:
            node = node[int(p)] if isinstance(node, list) else node[p]
        if value is DELETE:
            del node[last]
        elif isinstance(node, list):
            node[int(last)] = value
        else:
            node[last] = value

    return edit(fn)


DELETE = object()


def raw_text(make: Callable[[str], str | bytes]) -> Callable[[Path], None]:
    """voice.json replaced by ``make(original text)``."""

    def mutate(d: Path) -> None:
        out = make((d / META).read_text(encoding="utf-8"))
        (d / META).write_bytes(out.encode("utf-8") if isinstance(out, str) else out)

    return mutate


def first_tensor(header: dict[str, Any]) -> str:
    return next(k for k in header if k != "__metadata__")


def set_first(**entry: Any) -> Callable[[Path], None]:
    """A header edit of the first tensor's entry (a value DELETE removes the key)."""

    def fn(header: dict[str, Any]) -> None:
        spec = header[first_tensor(header)]
        for k, v in entry.items():
            if v is DELETE:
                del spec[k]
            else:
                spec[k] = v(spec) if callable(v) else v

    return edit_header(fn)


def shift(name: str, by: int) -> Callable[[Path], None]:
    """A header edit that moves tensor ``name``'s byte range by ``by``."""
    def fn(header: dict[str, Any]) -> None:
        header[name]["data_offsets"] = [o + by for o in header[name]["data_offsets"]]

    return edit_header(fn)


def weights_bytes(make: Callable[[bytes], bytes], *, rehash: bool) -> Callable[[Path], None]:
    """The weights file replaced by ``make(original bytes)``."""
    return lambda d: write_weights(d, make((d / WEIGHTS).read_bytes()), rehash=rehash)


def header_bytes(text: bytes) -> Callable[[Path], None]:
    """A weights file of the raw header ``text`` and no data (listed with its size and hash)."""
    return lambda d: header_text(d, text, b"")


@dataclass(frozen=True)
class Case:
    id: str
    mutate: Callable[[Path], None]
    field: str  # the field both validators must name
    file: str = META  # the file at fault, relative to the bundle ("." for the directory)
    target: str = ""  # load this path (relative to the bundle) instead of the bundle directory


def _speakers_swap_id(meta):
    first = next(iter(meta["speakers"].values()))
    meta["speakers"]["extra-speaker"] = first


def _emotion(meta, i=1):
    return list(meta["emotions"])[i]


def _deep(meta):
    node: Any = meta["provenance"]
    for _ in range(_schema.JSON_MAX_DEPTH):
        node["x"] = {}
        node = node["x"]


def _dup_symbol(meta):
    meta["symbols"]["table"][3] = meta["symbols"]["table"][2]


CASES = [
    # voice.json as a file: bytes, syntax, JSON rules
    Case("json-empty", raw_text(lambda t: ""), "voice.json"),
    Case("json-truncated", raw_text(lambda t: t[: len(t) // 2]), "voice.json"),
    Case("json-garbage", raw_text(lambda t: "{not json"), "voice.json"),
    Case("json-trailing-comma", raw_text(lambda t: t.rstrip()[:-1] + ",}"), "voice.json"),
    Case("json-not-utf8", raw_text(lambda t: b"\xff\xfe" + t.encode()), "voice.json"),
    Case("json-bom", raw_text(lambda t: "\ufeff" + t), "voice.json"),
    Case("json-leading-zero", raw_text(lambda t: t.replace('"steps": 4', '"steps": 04')),
         "voice.json"),
    Case("json-duplicate-top-key", raw_text(lambda t: '{"name": "x", ' + t.lstrip()[1:]),
         "voice.json"),
    Case("json-duplicate-nested-key",
         raw_text(lambda t: t.replace('"steps": 4', '"steps": 4, "steps": 5')), "voice.json"),
    Case("json-too-deep", edit(_deep), "voice.json"),
    Case("json-integer-too-long", raw_text(
        lambda t: t.replace('"provenance": {', '"provenance": {"big": ' + "7" * 5000 + ", ", 1)),
         "voice.json"),
    Case("json-array", raw_text(lambda t: "[1, 2]"), "voice.json"),
    # identity
    Case("format-wrong", put("format", "other-format"), "voice.json:format"),
    Case("format-missing", put("format", DELETE), "voice.json:format"),
    Case("format-not-string", put("format", ["emomix-voice"]), "voice.json:format"),
    Case("format-version-newer", put("format_version", _schema.FORMAT_VERSION + 1),
         "voice.json:format_version"),
    Case("format-version-zero", put("format_version", 0), "voice.json:format_version"),
    Case("format-version-string", put("format_version", "1"), "voice.json:format_version"),
    Case("format-version-float", put("format_version", 1.0), "voice.json:format_version"),
    Case("format-version-huge", put("format_version", 10**30), "voice.json:format_version"),
    Case("format-version-missing", put("format_version", DELETE), "voice.json:format_version"),
    Case("name-missing", put("name", DELETE), "voice.json:name"),
    Case("name-wrong-type", put("name", 3), "voice.json:name"),
    Case("name-empty", put("name", ""), "voice.json:name"),
    Case("description-null", put("description", None), "voice.json:description"),
    Case("provenance-not-object", put("provenance", "x"), "voice.json:provenance"),
    Case("provenance-missing", put("provenance", DELETE), "voice.json:provenance"),
    # model
    Case("model-missing", put("model", DELETE), "voice.json:model"),
    Case("model-list", put("model", []), "voice.json:model"),
    Case("model-family", put("model.family", "tacotron"), "voice.json:model.family"),
    Case("model-parameterisation", put("model.parameterisation", "ddpm"),
         "voice.json:model.parameterisation"),
    Case("model-config-string", put("model.config", "big"), "voice.json:model.config"),
    Case("config-emotion-dim-zero", put("model.config.emotion_dim", 0),
         "voice.json:model.config.emotion_dim"),
    Case("config-n-speakers-bool", put("model.config.n_speakers", True),
         "voice.json:model.config.n_speakers"),
    Case("config-parameterisation", put("model.config.parameterisation", "score"),
         "voice.json:model.config.parameterisation"),
    Case("config-audio-list", put("model.config.audio", [1]), "voice.json:model.config.audio"),
    Case("config-beta-order", put("model.config.beta_min", 30.0),
         "voice.json:model.config.beta_min"),
    Case("config-beta-negative", put("model.config.beta_max", -1),
         "voice.json:model.config.beta_max"),
    Case("pitch-not-object", put("model.config.pitch", 1), "voice.json:model.config.pitch"),
    Case("pitch-enabled-string", put("model.config.pitch.enabled", "yes"),
         "voice.json:model.config.pitch.enabled"),
    Case("pitch-kernel-even", put("model.config.pitch.kernel", 4),
         "voice.json:model.config.pitch.kernel"),
    Case("pitch-hidden-zero", put("model.config.pitch.hidden", 0),
         "voice.json:model.config.pitch.hidden"),
    Case("pitch-hidden-huge", put("model.config.pitch.hidden", 2**31),
         "voice.json:model.config.pitch.hidden"),
    Case("pitch-f0-order", put("model.config.pitch.f0_max", 40.0),
         "voice.json:model.config.pitch.f0_max"),
    Case("pitch-envelope-range", put("model.config.pitch.envelope_sigma", 9.0),
         "voice.json:model.config.pitch.envelope_sigma"),
    Case("pitch-key-missing", put("model.config.pitch.f0_min", DELETE),
         "voice.json:model.config.pitch.f0_min"),
    Case("pitch-floor-nan", put("model.config.pitch.harmonic_floor", float("nan")),
         "voice.json:model.config.pitch.harmonic_floor"),
    # audio
    Case("audio-missing", put("audio", DELETE), "voice.json:audio"),
    Case("audio-key-missing", put("audio.hop_length", DELETE), "voice.json:audio.hop_length"),
    Case("audio-sample-rate-float", put("audio.sample_rate", 22050.5),
         "voice.json:audio.sample_rate"),
    Case("audio-n-mels-bool", put("audio.n_mels", True), "voice.json:audio.n_mels"),
    Case("audio-n-fft-negative", put("audio.n_fft", -1024), "voice.json:audio.n_fft"),
    Case("audio-sample-rate-huge", put("audio.sample_rate", 2**31), "voice.json:audio.sample_rate"),
    Case("audio-hop-gt-fft", put("audio.hop_length", 2048), "voice.json:audio.hop_length"),
    Case("audio-win-gt-fft", put("audio.win_length", 2048), "voice.json:audio.win_length"),
    Case("audio-hop-gt-win", put("audio.win_length", 200), "voice.json:audio.hop_length"),
    Case("audio-window", put("audio.window", "kaiser"), "voice.json:audio.window"),
    Case("audio-f-max-nyquist", put("audio.f_max", 12000.0), "voice.json:audio.f_max"),
    Case("audio-f-min-order", put("audio.f_min", 9000.0), "voice.json:audio.f_min"),
    Case("audio-f-min-negative", put("audio.f_min", -1.0), "voice.json:audio.f_min"),
    Case("audio-mel-scale", put("audio.mel_scale", "bark"), "voice.json:audio.mel_scale"),
    Case("audio-log-floor-zero", put("audio.log_floor", 0.0), "voice.json:audio.log_floor"),
    Case("audio-mel-std-negative", put("audio.mel_std", -2.0), "voice.json:audio.mel_std"),
    Case("audio-mel-mean-list", put("audio.mel_mean", [0.0]), "voice.json:audio.mel_mean"),
    # (the first "mel_mean" of the file is model.config.audio's: the copies then disagree)
    Case("audio-mel-mean-huge",
         raw_text(lambda t: t.replace('"mel_mean": ', '"mel_mean": 1e400, "x": ', 1)),
         "voice.json:audio.mel_mean"),
    Case("audio-mel-std-huge-int", put("audio.mel_std", 10**400), "voice.json:audio.mel_std"),
    Case("audio-disagrees-with-model", put("audio.n_mels", 64), "voice.json:audio.n_mels"),
    # symbols
    Case("symbols-table-string", put("symbols.table", "_ab"), "voice.json:symbols.table"),
    Case("symbols-table-empty", put("symbols.table", []), "voice.json:symbols.table"),
    Case("symbols-duplicate", edit(_dup_symbol), "voice.json:symbols.table[3]"),
    Case("symbols-pad-not-first", put("symbols.table.0", "a-new-symbol"),
         "voice.json:symbols.table[0]"),
    Case("symbols-not-string", put("symbols.table.5", 5), "voice.json:symbols.table[5]"),
    Case("symbols-too-many",
         edit(lambda m: m["symbols"]["table"].extend(f"x{i}" for i in range(200))),
         "voice.json:symbols.table"),
    Case("symbols-language-empty", put("symbols.language", ""), "voice.json:symbols.language"),
    # speakers
    Case("speakers-empty", put("speakers", {}), "voice.json:speakers"),
    Case("speakers-id-string", edit(lambda m: m["speakers"].update({"extra-speaker": "1"})),
         "voice.json:speakers.extra-speaker"),
    Case("speakers-id-reused", edit(_speakers_swap_id), "voice.json:speakers.extra-speaker"),
    Case("speakers-id-out-of-range", edit(lambda m: m["speakers"].update({"espeak-0008": 9})),
         "voice.json:speakers.espeak-0008"),
    Case("speakers-too-many",
         edit(lambda m: m["speakers"].update({"extra": len(m["speakers"])})),
         "voice.json:speakers"),
    Case("speakers-empty-name", edit(lambda m: m["speakers"].update({"": len(m["speakers"])})),
         "voice.json:speakers"),
    # default settings that name something the voice lacks
    Case("default-speaker-unknown", put("default_speaker", "nobody"), "voice.json:default_speaker"),
    Case("default-speaker-not-string", put("default_speaker", 3), "voice.json:default_speaker"),
    Case("neutral-missing", put("emotions.neutral", DELETE), "voice.json:emotions.neutral"),
    # emotions
    Case("emotions-missing", put("emotions", DELETE), "voice.json:emotions"),
    Case("emotion-not-object", edit(lambda m: m["emotions"].update({"sad": [1, 2]})),
         "voice.json:emotions.sad"),
    Case("emotion-vad-missing", put("emotions.happy.vad", DELETE), "voice.json:emotions.happy.vad"),
    Case("emotion-embedding-string", put("emotions.happy.embedding", "x"),
         "voice.json:emotions.happy.embedding"),
    Case("emotion-embedding-short", edit(lambda m: m["emotions"]["happy"]["embedding"].pop()),
         "voice.json:emotions.happy.embedding"),
    Case("emotion-dim-disagrees", put("model.config.emotion_dim", 65),
         "voice.json:emotions.neutral.embedding"),
    Case("emotion-embedding-nan", put("emotions.sad.embedding.3", float("nan")),
         "voice.json:emotions.sad.embedding[3]"),
    Case("emotion-embedding-inf", put("emotions.sad.embedding.0", float("-inf")),
         "voice.json:emotions.sad.embedding[0]"),
    Case("emotion-embedding-bool", put("emotions.angry.embedding.7", True),
         "voice.json:emotions.angry.embedding[7]"),
    Case("emotion-embedding-huge", put("emotions.angry.embedding.2", 10**400),
         "voice.json:emotions.angry.embedding[2]"),
    Case("emotion-vad-range", put("emotions.sad.vad.1", 1.5), "voice.json:emotions.sad.vad[1]"),
    Case("emotion-vad-length", put("emotions.sad.vad", [0.0, 0.0]), "voice.json:emotions.sad.vad"),
    Case("emotion-vad-nan", put("emotions.surprise.vad.2", float("nan")),
         "voice.json:emotions.surprise.vad[2]"),
    # sampler
    Case("sampler-missing", put("sampler", DELETE), "voice.json:sampler"),
    Case("sampler-k-min-missing", put("sampler.k_min", DELETE), "voice.json:sampler.k_min"),
    Case("sampler-parameterisation", put("sampler.parameterisation", "score"),
         "voice.json:sampler.parameterisation"),
    Case("sampler-steps-zero", put("sampler.steps", 0), "voice.json:sampler.steps"),
    Case("sampler-steps-too-many", put("sampler.steps", _schema.MAX_STEPS + 1),
         "voice.json:sampler.steps"),
    Case("sampler-steps-huge", put("sampler.steps", 10**20), "voice.json:sampler.steps"),
    Case("sampler-solver-unknown", put("sampler.solver", "rk4"), "voice.json:sampler.solver"),
    Case("sampler-solver-other-family", put("sampler.solver", "em"), "voice.json:sampler.solver"),
    Case("sampler-k-max-range", put("sampler.k_max", 1.5), "voice.json:sampler.k_max"),
    Case("sampler-k-order", put("sampler.k_min", 0.9), "voice.json:sampler.k_min"),
    Case("sampler-temperature-zero", put("sampler.temperature", 0),
         "voice.json:sampler.temperature"),
    Case("sampler-temperature-inf", put("sampler.temperature", float("inf")),
         "voice.json:sampler.temperature"),
    Case("sampler-preset", put("sampler.preset", "wild"), "voice.json:sampler.preset"),
    Case("sampler-emotion-scale-range", put("sampler.emotion_scale", 2.0),
         "voice.json:sampler.emotion_scale"),
    Case("sampler-emotion-scale-type", put("sampler.emotion_scale", "x"),
         "voice.json:sampler.emotion_scale"),
    Case("sampler-length-scale-range", put("sampler.length_scale", 0.1),
         "voice.json:sampler.length_scale"),
    Case("sampler-length-scale-nan", put("sampler.length_scale", float("nan")),
         "voice.json:sampler.length_scale"),
    Case("sampler-length-scale-type", put("sampler.length_scale", "slow"),
         "voice.json:sampler.length_scale"),
    # the files section
    Case("files-missing", put("files", DELETE), "voice.json:files"),
    Case("files-weights-unlisted", put(("files", WEIGHTS), DELETE), f"voice.json:files.{WEIGHTS}"),
    Case("files-path-escapes", put(("files", "../evil"), {"sha256": "0" * 64, "bytes": 1}),
         "voice.json:files.../evil"),
    Case("files-path-absolute", put(("files", "/etc/passwd"), {"sha256": "0" * 64, "bytes": 1}),
         "voice.json:files./etc/passwd"),
    Case("files-path-backslash", put(("files", "onnx\\x.onnx"), {"sha256": "0" * 64, "bytes": 1}),
         "voice.json:files.onnx\\x.onnx"),
    Case("files-lists-voice-json", put(("files", META), {"sha256": "0" * 64, "bytes": 1}),
         f"voice.json:files.{META}"),
    Case("files-sha-short", put(("files", WEIGHTS, "sha256"), "abc"),
         f"voice.json:files.{WEIGHTS}.sha256"),
    Case("files-sha-uppercase", edit(lambda m: m["files"][WEIGHTS].update(
        sha256=m["files"][WEIGHTS]["sha256"].upper())), f"voice.json:files.{WEIGHTS}.sha256"),
    Case("files-sha-newline", edit(lambda m: m["files"][WEIGHTS].update(
        sha256=m["files"][WEIGHTS]["sha256"] + "\n")), f"voice.json:files.{WEIGHTS}.sha256"),
    Case("files-bytes-missing", put(("files", WEIGHTS, "bytes"), DELETE),
         f"voice.json:files.{WEIGHTS}.bytes"),
    Case("files-bytes-negative", put(("files", WEIGHTS, "bytes"), -1),
         f"voice.json:files.{WEIGHTS}.bytes"),
    Case("files-bytes-huge", put(("files", WEIGHTS, "bytes"), 10**30),
         f"voice.json:files.{WEIGHTS}.bytes"),
    # the directory and the listed files
    Case("dir-missing", lambda d: None, "voice.json", file="nowhere", target="nowhere"),
    Case("voice-json-missing", lambda d: (d / META).unlink(), "voice.json", file=META),
    Case("listed-file-missing",
         put(("files", "onnx/encoder.onnx"), {"sha256": "0" * 64, "bytes": 3}),
         "voice.json:files.onnx/encoder.onnx", file="onnx/encoder.onnx"),
    Case("weights-missing", lambda d: (d / WEIGHTS).unlink(), f"voice.json:files.{WEIGHTS}",
         file=WEIGHTS),
    Case("weights-wrong-hash", weights_bytes(lambda b: b[:-1] + bytes([b[-1] ^ 1]), rehash=False),
         f"voice.json:files.{WEIGHTS}.sha256", file=WEIGHTS),
    Case("weights-grown", weights_bytes(lambda b: b + b"\0", rehash=False),
         f"voice.json:files.{WEIGHTS}.bytes", file=WEIGHTS),
    Case("weights-truncated", weights_bytes(lambda b: b[:-100], rehash=False),
         f"voice.json:files.{WEIGHTS}.bytes", file=WEIGHTS),
    # weights.safetensors itself (listed with matching size and sha256: only its checks object)
    Case("st-truncated", weights_bytes(lambda b: b[:-100], rehash=True), WEIGHTS, file=WEIGHTS),
    Case("st-trailing-bytes", weights_bytes(lambda b: b + b"\0" * 8, rehash=True), WEIGHTS,
         file=WEIGHTS),
    Case("st-too-short", weights_bytes(lambda b: b"\x01\x02\x03", rehash=True), WEIGHTS,
         file=WEIGHTS),
    Case("st-empty", weights_bytes(lambda b: b"", rehash=True), WEIGHTS, file=WEIGHTS),
    Case("st-header-length-huge",
         weights_bytes(lambda b: struct.pack("<Q", 10**9) + b"{}", rehash=True), WEIGHTS,
         file=WEIGHTS),
    Case("st-header-past-end",
         weights_bytes(lambda b: struct.pack("<Q", 100) + b"{}", rehash=True), WEIGHTS,
         file=WEIGHTS),
    Case("st-header-not-json", lambda d: header_text(d, b"#" * 64), WEIGHTS, file=WEIGHTS),
    Case("st-header-not-utf8", lambda d: header_text(d, b'{"\xff": 1}'), WEIGHTS, file=WEIGHTS),
    Case("st-header-list", lambda d: header_text(d, b"[]"), WEIGHTS, file=WEIGHTS),
    Case("st-header-duplicate-key",
         header_bytes(b'{"a": {"dtype": "U8", "shape": [0], "data_offsets": [0, 0]}, "a": 1}'),
         WEIGHTS, file=WEIGHTS),
    Case("st-header-too-deep", header_bytes(b'{"a": ' + b"[" * 80 + b"]" * 80 + b"}"), WEIGHTS,
         file=WEIGHTS),
    Case("st-metadata-not-strings", edit_header(lambda h: h.update(__metadata__={"format": 1})),
         f"{WEIGHTS}:__metadata__", file=WEIGHTS),
    Case("st-metadata-null", edit_header(lambda h: h.update(__metadata__=None)),
         f"{WEIGHTS}:__metadata__", file=WEIGHTS),
    Case("st-empty-tensor-name",
         header_bytes(b'{"": {"dtype": "U8", "shape": [0], "data_offsets": [0, 0]}}'), WEIGHTS,
         file=WEIGHTS),
    Case("st-entry-not-object", header_bytes(b'{"t": [1]}'), f"{WEIGHTS}:t", file=WEIGHTS),
    Case("st-dtype-bf16", set_first(dtype="BF16"), FIRST, file=WEIGHTS),
    Case("st-dtype-list", set_first(dtype=["F16"]), FIRST, file=WEIGHTS),
    Case("st-dtype-missing", set_first(dtype=DELETE), FIRST, file=WEIGHTS),
    # "wrong shapes": a shape that does not match the tensor's bytes
    Case("st-shape-wrong", set_first(shape=[17]), FIRST, file=WEIGHTS),
    Case("st-shape-negative", set_first(shape=[-1]), FIRST, file=WEIGHTS),
    Case("st-shape-float", set_first(shape=[64.0]), FIRST, file=WEIGHTS),
    Case("st-shape-huge", set_first(shape=[2**40, 2**40, 2**40]), FIRST, file=WEIGHTS),
    Case("st-offsets-reversed", set_first(data_offsets=lambda spec: spec["data_offsets"][::-1]),
         FIRST, file=WEIGHTS),
    Case("st-offsets-huge", set_first(data_offsets=[0, 2**64]), FIRST, file=WEIGHTS),
    Case("st-offsets-overlap", shift("vocoder.head.bias", -2), f"{WEIGHTS}:vocoder.head.bias",
         file=WEIGHTS),
    Case("st-offsets-gap", shift("vocoder.head.bias", 2), f"{WEIGHTS}:vocoder.head.bias",
         file=WEIGHTS),
    Case("st-tensor-dropped", edit_header(lambda h: h.pop("vocoder.head.bias")),
         f"{WEIGHTS}:vocoder.head.weight", file=WEIGHTS),  # the gap it leaves
]


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Path:
    """A private copy of the default voice (the corpus never writes to the shipped files)."""
    src = default_voice_path()
    d = tmp_path_factory.mktemp("contract") / "base"
    shutil.copytree(src, d)
    return d


def make_case(base: Path, root: Path, case: Case) -> Path:
    d = root / case.id
    d.mkdir(parents=True)
    shutil.copyfile(base / META, d / META)
    os.link(base / WEIGHTS, d / WEIGHTS)  # the mutations replace, never write through, this link
    case.mutate(d)
    return d


def where(err: VoiceBundleError, bundle: Path) -> tuple[str, str]:
    """The normalised place an error names: the file relative to the bundle, and the field."""
    return os.path.relpath(err.path, bundle), err.field


# --------------------------------------------------------------------------------------------
# The tests


def test_the_base_bundle_passes_both(base: Path) -> None:
    py = load_bundle(base)
    c = native.check_voice(str(base))
    assert c["name"] == py.name and c["format_version"] == py.format_version
    native.load_model(str(base))


def test_case_ids_are_unique() -> None:
    ids = [c.id for c in CASES]
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_both_validators_reject_and_name_the_same_field(
    base: Path, tmp_path: Path, case: Case
) -> None:
    d = make_case(base, tmp_path, case)
    target = d / case.target if case.target else d
    with pytest.raises(VoiceBundleError) as py_err:
        load_bundle(target)
    with pytest.raises(VoiceBundleError) as c_err:
        native.check_voice(str(target))
    expected = (case.file, case.field)
    assert where(py_err.value, d) == expected, str(py_err.value)
    assert where(c_err.value, d) == expected, str(c_err.value)
    # The C++ Model load path validates the same way before it reads the networks.
    with pytest.raises(VoiceBundleError) as model_err:
        native.load_model(str(target))
    assert where(model_err.value, d) == expected, str(model_err.value)
    # Both messages carry all four parts.
    for err in (py_err.value, c_err.value):
        assert err.path in str(err) and err.field in str(err) and err.hint in str(err)


def test_sizes_without_hashes(base: Path, tmp_path: Path) -> None:
    """verify_hashes=False skips hashing in both, and still compares sizes."""
    flipped = next(c for c in CASES if c.id == "weights-wrong-hash")
    d = make_case(base, tmp_path, flipped)
    load_bundle(d, verify_hashes=False)
    native.check_voice(str(d), verify_hashes=False)
    native.load_model(str(d), verify_hashes=False)
    grown = next(c for c in CASES if c.id == "weights-grown")
    d = make_case(base, tmp_path / "grown", grown)
    with pytest.raises(VoiceBundleError) as py_err:
        load_bundle(d, verify_hashes=False)
    with pytest.raises(VoiceBundleError) as c_err:
        native.check_voice(str(d), verify_hashes=False)
    expected = (WEIGHTS, f"{META}:files.{WEIGHTS}.bytes")
    assert where(py_err.value, d) == where(c_err.value, d) == expected


def test_validate_meta_text_matches_validate_meta(base: Path) -> None:
    """The text entry point (what the fuzz target runs) agrees with the directory one."""
    text = (base / META).read_bytes()
    assert native.validate_voice_meta(text, str(base / META))["name"] == "default"
    with pytest.raises(VoiceBundleError) as err:
        native.validate_voice_meta(text.replace(b'"steps": 4', b'"steps": 4.5'), "x/voice.json")
    assert (err.value.path, err.value.field) == ("x/voice.json", "voice.json:sampler.steps")


# --------------------------------------------------------------------------------------------
# What C++ reads equals what Python reads, on the default voice and on a voice whose every
# setting differs from the defaults


def _odd_voice(root: Path) -> Path:
    rng = np.random.default_rng(3)
    emotions = {name: {"embedding": rng.standard_normal(6).tolist(), "vad": vad}
                for name, vad in {"neutral": [0.0, 0.0, 0.0], "calm": [0.25, -0.5, 0.125],
                                  "ärgerlich": [-0.5, 0.75, 1.0]}.items()}
    meta = {
        "name": "odd", "description": "",
        "model": {"family": "emomix", "parameterisation": "score",
                  "config": {"emotion_dim": 6, "n_speakers": 5, "n_symbols": 9,
                             "parameterisation": "score", "beta_min": 0.1, "beta_max": 12.5,
                             "pitch": {"enabled": True, "hidden": 7, "kernel": 3, "dropout": 0.0,
                                       "harmonic_floor": 0.125, "envelope_sigma": 0.0,
                                       "f0_min": 70.0, "f0_max": 410.5},
                             "audio": {"sample_rate": 16000, "mel_scale": "htk"}}},
        "audio": {"sample_rate": 16000, "n_fft": 512, "hop_length": 128, "win_length": 400,
                  "window": "hann", "n_mels": 40, "f_min": 55.0, "f_max": 7600.0,
                  "mel_scale": "htk", "log_floor": 1e-4, "mel_mean": 1, "mel_std": 0.5},
        "symbols": {"table": ["_", "ʃ", "a", "\u2014", "😀"], "language": "de"},
        "speakers": {"zed": 2, "amy": 0, "bo": 1},
        "default_speaker": "bo",
        "emotions": emotions,
        "sampler": {"parameterisation": "score", "steps": 17, "solver": "pf_euler", "k_max": 0.75,
                    "k_min": 0.0, "temperature": 1.25, "preset": "blend", "emotion_scale": 1.5,
                    "length_scale": 0.8},
        "provenance": {"deep": [[[1, 2.5, None, True]]]},
    }
    weights = {"w": rng.standard_normal((3, 2)).astype(np.float32),
               "n": np.arange(4, dtype=np.int64)}
    return save_bundle(root / "odd", meta, weights, dtype="float16",
                       extra_files={"onnx/x.onnx": b"graph", "notes/readme.txt": b""}).path


@pytest.mark.parametrize("which", ["default", "odd"])
def test_cpp_reads_what_python_reads(base: Path, tmp_path: Path, which: str) -> None:
    d = base if which == "default" else _odd_voice(tmp_path)
    py = load_bundle(d)
    c = native.check_voice(str(d))
    assert c["name"] == py.name and c["description"] == py.description
    assert c["format"] == _schema.FORMAT and c["format_version"] == py.format_version
    assert c["parameterisation"] == py.parameterisation
    assert c["audio"] == dict(py.audio)
    assert c["symbols"] == py.symbols and c["language"] == py.language
    assert c["speakers"] == py.speakers and c["default_speaker"] == py.default_speaker
    assert list(c["emotions"]) == list(py.emotions)
    for name, (emb, vad) in py.emotions.items():
        np.testing.assert_array_equal(np.asarray(c["emotions"][name]["embedding"], np.float32), emb)
        assert c["emotions"][name]["vad"] == vad
    assert c["emotion_dim"] == py.emotion_dim
    assert c["sampler"] == dict(py.sampler)
    assert c["files"] == py.files
    pitch = py.pitch_config
    if pitch is None:
        assert c["pitch"] is None
    else:
        assert c["pitch"] == {k: getattr(pitch, k) for k in c["pitch"]}
    config = py.model_config
    assert (c["beta_min"], c["beta_max"]) == (config.get("beta_min"), config.get("beta_max"))


# --------------------------------------------------------------------------------------------
# SHA-256 and the schema


def test_native_sha256_matches_hashlib(base: Path, tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    for n in [*range(0, 200), 1000, 4095, 4096, 4097, 65 * 1024 + 3]:
        data = rng.bytes(n)
        assert native.sha256(data) == hashlib.sha256(data).hexdigest(), n
    for f in [base / WEIGHTS, base / META]:
        assert native.sha256_file(str(f)) == sha256_file(f)
    odd = tmp_path / "odd.bin"
    odd.write_bytes(rng.bytes(3 * (1 << 20) + 77))  # several 1 MiB chunks and a tail
    assert native.sha256_file(str(odd)) == hashlib.sha256(odd.read_bytes()).hexdigest()


def test_one_schema_file_for_both_languages() -> None:
    assert native.voice_schema_json() == _schema.SCHEMA_PATH.read_bytes(), (
        "the native build embeds an older schema.json; rebuild emomix._native")
    from emomix.config import PARAMETERISATIONS
    from emomix.sampler import PRESETS, SOLVERS
    from emomix.voice import schema as voice_schema

    s = _schema.SCHEMA
    assert PARAMETERISATIONS == tuple(s["model"]["parameterisations"]) == tuple(SOLVERS)
    assert PRESETS == tuple(s["sampler"]["presets"])
    assert voice_schema.AUDIO_KEYS == tuple(s["audio"]["required"])
    assert voice_schema.FORMAT == s["format"]
    assert voice_schema.FORMAT_VERSION == s["format_version"]["current"]


def test_json_rules(tmp_path: Path) -> None:
    """The contract's JSON rules, as the native reader has them."""
    depth = _schema.JSON_MAX_DEPTH
    assert _schema.json_depth(_schema.loads("[" * depth + "]" * depth)) == depth
    with pytest.raises(_schema.JSONRuleError, match="nested deeper"):
        _schema.loads("[" * (depth + 1) + "]" * (depth + 1))
    with pytest.raises(_schema.JSONRuleError, match="nested deeper"):
        _schema.loads("[" * 100_000 + "]" * 100_000)  # beyond Python's recursion limit
    with pytest.raises(_schema.JSONRuleError, match="appears twice"):
        _schema.loads('{"a": {"b": 1, "b": 2}}')
    with pytest.raises(_schema.JSONRuleError, match="digits"):
        _schema.loads("7" * (_schema.MAX_INTEGER_DIGITS + 1))
    assert _schema.loads("7" * _schema.MAX_INTEGER_DIGITS) > 0
