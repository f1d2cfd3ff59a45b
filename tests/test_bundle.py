"""Voice bundle: round trips, and every corruption gives a VoiceBundleError naming file + field."""

from __future__ import annotations

import copy
import json
import math
import os
import pickle
import struct
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import safetensors.numpy

from emomix.errors import EmomixError, VoiceBundleError
from emomix.voice import (
    FORMAT_VERSION,
    AudioSettings,
    SamplerDefaults,
    VoiceBundle,
    load_bundle,
    load_weights,
    save_bundle,
    sha256_file,
    update_file_hashes,
    validate_meta,
)

EMOTION_DIM = 8


def make_meta(rng: np.random.Generator | None = None) -> dict[str, Any]:
    rng = rng or np.random.default_rng(0)
    emotions = {
        name: {"embedding": rng.standard_normal(EMOTION_DIM).tolist(), "vad": vad}
        for name, vad in {
            "neutral": [0.0, 0.0, 0.0],
            "happy": [0.8, 0.5, 0.4],
            "sad": [-0.7, -0.4, -0.5],
            "surprise": [0.3, 0.8, 0.0],
        }.items()
    }
    return {
        "name": "test-voice",
        "description": "a tiny voice made by the tests",
        "model": {
            "family": "emomix",
            "parameterisation": "flow",
            "config": {
                "emotion_dim": EMOTION_DIM,
                "n_symbols": 6,
                "n_speakers": 2,
                "parameterisation": "flow",
                "audio": {"sample_rate": 22050, "n_mels": 80, "hop_length": 256},
                "denoiser": {"channels": 16},
            },
        },
        "audio": {
            "sample_rate": 22050,
            "n_fft": 1024,
            "hop_length": 256,
            "win_length": 1024,
            "window": "hann",
            "n_mels": 80,
            "f_min": 0.0,
            "f_max": 8000.0,
            "mel_scale": "slaney",
            "log_floor": 1e-5,
            "mel_mean": -5.5,
            "mel_std": 2.1,
        },
        "symbols": {"table": ["_", " ", "a", "b", "h", "ə"], "language": "en-us"},
        "speakers": {"alice": 0, "bob": 1},
        "emotions": emotions,
        "sampler": {
            "parameterisation": "flow",
            "steps": 8,
            "solver": "heun",
            "k_max": 0.6,
            "k_min": 0.2,
            "temperature": 0.667,
            "preset": "emomix",
        },
        "provenance": {"data": "generated espeak-ng corpus", "recipe": "tests", "commit": "0"},
    }


def make_weights(rng: np.random.Generator | None = None) -> dict[str, np.ndarray]:
    rng = rng or np.random.default_rng(1)
    return {
        "encoder.emb.weight": rng.standard_normal((6, 4)).astype(np.float32),
        "denoiser.in_conv.weight": rng.standard_normal((16, 80, 3)).astype(np.float32),
        "denoiser.in_conv.bias": rng.standard_normal(16).astype(np.float32),
        "vocoder.scale": np.full((), 0.5, np.float32),  # 0-d tensors keep their shape
        "encoder.norm.num_batches_tracked": np.array(7, dtype=np.int64),
    }


@pytest.fixture
def bundle(tmp_path: Path) -> VoiceBundle:
    return save_bundle(
        tmp_path / "voice",
        make_meta(),
        make_weights(),
        extra_files={"onnx/encoder.onnx": b"fake onnx graph" * 10},
    )


def edit_meta(bundle: VoiceBundle, edit) -> None:
    """Apply ``edit(meta)`` to voice.json on disk (hashes untouched)."""
    meta = json.loads(bundle.meta_path.read_text())
    edit(meta)
    bundle.meta_path.write_text(json.dumps(meta))


def expect_error(bundle_path: Path, *fragments: str, verify_hashes: bool = True) -> str:
    with pytest.raises(VoiceBundleError) as info:
        load_bundle(bundle_path, verify_hashes=verify_hashes)
    return check_message(info.value, *fragments)


def check_message(err: VoiceBundleError, *fragments: str) -> str:
    msg = str(err)
    assert err.path and err.path in msg, msg
    assert err.field and err.field in msg, msg
    for frag in fragments:
        assert frag in msg, f"{frag!r} not in {msg!r}"
    assert isinstance(err, EmomixError) and isinstance(err, ValueError)
    return msg


# --------------------------------------------------------------------------------------------
# Round trips


@pytest.mark.parametrize("dtype", ["float32", "float16"])
def test_round_trip(tmp_path: Path, dtype: str) -> None:
    meta, weights = make_meta(), make_weights()
    saved = save_bundle(tmp_path / "v", meta, weights, dtype=dtype)
    loaded = load_bundle(tmp_path / "v")

    assert loaded.meta == saved.meta
    assert loaded.name == "test-voice"
    assert loaded.format_version == FORMAT_VERSION
    assert loaded.parameterisation == "flow"
    assert loaded.model_config == meta["model"]["config"]
    assert loaded.audio == AudioSettings.from_dict(meta["audio"])
    assert loaded.audio.hop_length == 256 and loaded.audio.mel_std == pytest.approx(2.1)
    assert loaded.audio["sample_rate"] == 22050 and dict(loaded.audio) == meta["audio"]
    # optional keys read as their defaults (no emotion scale: 1, no extrapolation; no length
    # scale: 1, the durations as predicted)
    assert dict(loaded.sampler) == {**meta["sampler"], "emotion_scale": 1.0, "length_scale": 1.0}
    assert loaded.sampler["steps"] == 8
    assert loaded.symbols == meta["symbols"]["table"]
    assert loaded.symbol_ids["ə"] == 5
    assert loaded.language == "en-us"
    assert loaded.speakers == {"alice": 0, "bob": 1}
    assert loaded.sampler == SamplerDefaults.from_dict(meta["sampler"])
    assert loaded.emotion_dim == EMOTION_DIM
    assert set(loaded.emotions) == set(meta["emotions"])
    emb, vad = loaded.emotions["happy"]
    assert emb.dtype == np.float32 and emb.shape == (EMOTION_DIM,)
    assert not emb.flags.writeable
    np.testing.assert_allclose(emb, meta["emotions"]["happy"]["embedding"], rtol=1e-6)
    assert vad == (0.8, 0.5, 0.4)
    assert loaded.provenance["recipe"] == "tests" and "created" in loaded.provenance
    assert set(loaded.files) == {"weights.safetensors"}
    assert loaded.files["weights.safetensors"]["sha256"] == sha256_file(loaded.weights_path)
    assert meta.get("files") is None  # the caller's dict is not modified

    specs = loaded.weight_specs()
    stored = "F16" if dtype == "float16" else "F32"
    assert specs["denoiser.in_conv.weight"].dtype == stored
    assert specs["denoiser.in_conv.weight"].shape == (16, 80, 3)
    assert specs["encoder.norm.num_batches_tracked"].dtype == "I64"

    out = load_weights(loaded)
    assert set(out) == set(weights)
    for name, ref in weights.items():
        got = out[name]
        assert got.shape == ref.shape
        if ref.dtype.kind == "f":
            assert got.dtype == np.float32
            if dtype == "float32":
                np.testing.assert_array_equal(got, ref)
            else:  # fp16 keeps 11 significant bits: relative error <= 2**-11
                np.testing.assert_allclose(got, ref, rtol=2.0**-11, atol=2.0**-24)
                np.testing.assert_array_equal(got, ref.astype(np.float16).astype(np.float32))
        else:
            assert got.dtype == ref.dtype
            np.testing.assert_array_equal(got, ref)

    kept = load_weights(loaded, dtype=None)
    assert kept["denoiser.in_conv.bias"].dtype == np.dtype(dtype)


def test_default_speaker_is_the_named_one_else_id_0(bundle: VoiceBundle) -> None:
    speakers = bundle.speakers
    first = min(speakers, key=speakers.__getitem__)
    assert bundle.default_speaker == first
    other = max(speakers, key=speakers.__getitem__)
    edit_meta(bundle, _set("default_speaker", other))
    assert load_bundle(bundle.path).default_speaker == other != first


def test_float16_halves_the_weights_file(tmp_path: Path) -> None:
    big = {"w": np.random.default_rng(2).standard_normal((256, 256)).astype(np.float32)}
    a = save_bundle(tmp_path / "a", make_meta(), big, dtype="float32")
    b = save_bundle(tmp_path / "b", make_meta(), big, dtype="float16")
    size_a = a.files["weights.safetensors"]["bytes"]
    size_b = b.files["weights.safetensors"]["bytes"]
    assert size_b < 0.55 * size_a


def test_extra_files_are_hashed(bundle: VoiceBundle) -> None:
    onnx = bundle.path / "onnx" / "encoder.onnx"
    assert onnx.read_bytes() == b"fake onnx graph" * 10
    entry = bundle.files["onnx/encoder.onnx"]
    assert entry == {"sha256": sha256_file(onnx), "bytes": 150}
    assert bundle.file_path("onnx/encoder.onnx") == onnx
    assert load_bundle(bundle.path).files == bundle.files


def test_load_accepts_voice_json_path(bundle: VoiceBundle) -> None:
    assert load_bundle(bundle.meta_path).path == bundle.path


def test_numpy_embeddings_and_no_temp_files_left(tmp_path: Path) -> None:
    meta = make_meta()
    meta["emotions"]["happy"]["embedding"] = np.arange(EMOTION_DIM, dtype=np.float32)
    b = save_bundle(tmp_path / "v", meta, make_weights())
    assert load_bundle(b.path).emotions["happy"].embedding.tolist() == list(range(EMOTION_DIM))
    leftovers = [p.name for p in b.path.rglob("*") if p.name.startswith(".")]
    assert leftovers == []


def test_save_over_existing_bundle(bundle: VoiceBundle) -> None:
    meta = make_meta()
    meta["name"] = "second"
    b2 = save_bundle(bundle.path, meta, make_weights(np.random.default_rng(9)), dtype="float16")
    assert load_bundle(bundle.path).name == "second"
    assert (
        b2.files["weights.safetensors"]["sha256"] != bundle.files["weights.safetensors"]["sha256"]
    )


def test_sha256_file_chunks(tmp_path: Path) -> None:
    import hashlib

    data = np.random.default_rng(3).bytes(3 * 1024 + 17)
    f = tmp_path / "blob"
    f.write_bytes(data)
    assert sha256_file(f, chunk_size=1000) == hashlib.sha256(data).hexdigest()


def test_update_file_hashes_adds_export_files(bundle: VoiceBundle) -> None:
    (bundle.path / "onnx" / "denoiser.onnx").write_bytes(b"denoiser graph")
    (bundle.path / "onnx" / "encoder.onnx").write_bytes(b"re-exported encoder")
    (bundle.path / ".DS_Store").write_bytes(b"junk")
    updated = update_file_hashes(bundle)
    assert set(updated.files) == {"weights.safetensors", "onnx/encoder.onnx", "onnx/denoiser.onnx"}
    reloaded = load_bundle(bundle.path)
    assert reloaded.files == updated.files
    assert reloaded.files["onnx/denoiser.onnx"]["bytes"] == len(b"denoiser graph")


@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o644), (0o027, 0o640)])
def test_written_files_get_ordinary_permissions(tmp_path: Path, umask: int, mode: int) -> None:
    """Every file a bundle writer makes is 0o666 less the umask, as any new file is (not the
    0o600 of a temporary file), including voice.json rewritten by update_file_hashes."""
    old = os.umask(umask)
    try:
        b = save_bundle(tmp_path / "v", make_meta(), make_weights(),
                        extra_files={"onnx/encoder.onnx": b"graph"})
        written = [b.meta_path, b.weights_path, b.path / "onnx" / "encoder.onnx"]
        assert {p.name: oct(p.stat().st_mode & 0o777) for p in written} == \
            {p.name: oct(mode) for p in written}
        b.meta_path.chmod(0o600)  # update_file_hashes replaces it with a new file
        update_file_hashes(b)
        assert oct(b.meta_path.stat().st_mode & 0o777) == oct(mode)
    finally:
        os.umask(old)


def test_torch_is_not_imported() -> None:
    """Runtimes without torch read bundles: a fresh interpreter must not pull torch in."""
    code = "import sys, emomix.voice as v; sys.exit(1 if 'torch' in sys.modules else 0)"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True)
    assert result.returncode == 0, result.stderr.decode()


def test_error_pickles() -> None:
    err = VoiceBundleError("bad", path="/x/voice.json", field="voice.json:name", hint="fix it")
    back = pickle.loads(pickle.dumps(err))
    assert (back.path, back.field, back.hint, str(back)) == (
        err.path,
        err.field,
        err.hint,
        str(err),
    )
    assert str(err) == "/x/voice.json: voice.json:name: bad — fix it."


# --------------------------------------------------------------------------------------------
# Directory and voice.json as a file


def test_missing_directory(tmp_path: Path) -> None:
    msg = expect_error(tmp_path / "nope", "does not exist", "voice.json")
    assert str(tmp_path / "nope") in msg


def test_path_is_a_file(tmp_path: Path) -> None:
    f = tmp_path / "weights.bin"
    f.write_bytes(b"x")
    expect_error(f, "not a directory")


def test_missing_voice_json(bundle: VoiceBundle) -> None:
    bundle.meta_path.unlink()
    msg = expect_error(bundle.path, "voice.json is missing")
    assert str(bundle.meta_path) in msg


@pytest.mark.parametrize(
    "content, fragment",
    [
        (b"", "truncated"),
        (b"{not json", "not valid JSON"),
        (b"\xff\xfe garbage", "not UTF-8"),
        (b'{"a": 1, "a": 2}', "appears twice"),
    ],
)
def test_voice_json_not_json(bundle: VoiceBundle, content: bytes, fragment: str) -> None:
    bundle.meta_path.write_bytes(content)
    msg = expect_error(bundle.path, fragment)
    assert str(bundle.meta_path) in msg and "voice.json" in msg


def test_voice_json_truncated(bundle: VoiceBundle) -> None:
    text = bundle.meta_path.read_text()
    bundle.meta_path.write_text(text[: len(text) // 2])
    expect_error(bundle.path, "not valid JSON", "truncated", "line")


def test_voice_json_not_an_object(bundle: VoiceBundle) -> None:
    bundle.meta_path.write_text("[1, 2]")
    expect_error(bundle.path, "must be a JSON object")


# --------------------------------------------------------------------------------------------
# voice.json fields


def _set(path: str | tuple[str, ...], value: Any):
    """edit function: set a dotted key, or a tuple of keys (``del`` when value is _DELETE)."""

    def edit(meta: dict[str, Any]) -> None:
        *parents, last = path.split(".") if isinstance(path, str) else path
        node = meta
        for p in parents:
            node = node[p]
        if value is _DELETE:
            del node[last]
        else:
            node[last] = copy.deepcopy(value)

    return edit


_DELETE = object()

FIELD_CASES = [
    # (edit, expected field, message fragments)
    (_set("format", "other-format"), "voice.json:format", ["'other-format'", "emomix-voice"]),
    (_set("format", _DELETE), "voice.json:format", ["missing"]),
    (
        _set("format_version", FORMAT_VERSION + 1),
        "voice.json:format_version",
        [f"is {FORMAT_VERSION + 1}", f"reads (format_version {FORMAT_VERSION})", "upgrade emomix"],
    ),
    (_set("format_version", 0), "voice.json:format_version", ["must be >= 1"]),
    (_set("format_version", "1"), "voice.json:format_version", ["must be an integer"]),
    (_set("format_version", _DELETE), "voice.json:format_version", ["missing"]),
    (_set("name", _DELETE), "voice.json:name", ["required key is missing"]),
    (_set("model", _DELETE), "voice.json:model", ["required key is missing"]),
    (_set("audio", _DELETE), "voice.json:audio", ["required key is missing"]),
    (_set("emotions", _DELETE), "voice.json:emotions", ["required key is missing"]),
    (_set("files", _DELETE), "voice.json:files", ["required key is missing"]),
    (_set("provenance", _DELETE), "voice.json:provenance", ["required key is missing"]),
    (_set("audio.hop_length", _DELETE), "voice.json:audio.hop_length", ["missing"]),
    (_set("sampler.k_min", _DELETE), "voice.json:sampler.k_min", ["missing"]),
    (_set("emotions.happy.vad", _DELETE), "voice.json:emotions.happy.vad", ["missing"]),
    (
        _set(("files", "weights.safetensors"), _DELETE),
        "voice.json:files.weights.safetensors",
        ["missing", "lists its weights file"],
    ),
    # types
    (_set("name", 3), "voice.json:name", ["must be a string"]),
    (_set("model", []), "voice.json:model", ["must be a JSON object", "a list"]),
    (_set("model.config", "big"), "voice.json:model.config", ["must be a JSON object"]),
    (_set("model.family", "tacotron"), "voice.json:model.family", ["'tacotron'", "'emomix'"]),
    (_set("model.parameterisation", "ddpm"), "voice.json:model.parameterisation", ["'flow'"]),
    (_set("audio.sample_rate", 22050.5), "voice.json:audio.sample_rate", ["must be an integer"]),
    (_set("audio.n_mels", True), "voice.json:audio.n_mels", ["must be an integer"]),
    (_set("speakers.bob", "1"), "voice.json:speakers.bob", ["must be an integer"]),
    (_set("provenance", "x"), "voice.json:provenance", ["must be a JSON object"]),
    (_set("symbols.table", "_ab"), "voice.json:symbols.table", ["list"]),
    (_set("emotions.happy.embedding", "x"), "voice.json:emotions.happy.embedding", ["list"]),
    (_set("sampler.solver", "rk4"), "voice.json:sampler.solver", ["'euler', 'heun'"]),
    (_set("sampler.preset", "wild"), "voice.json:sampler.preset", ["'emomix'"]),
    (_set("sampler.steps", 0), "voice.json:sampler.steps", [">= 1"]),
    (_set("sampler.temperature", 0), "voice.json:sampler.temperature", ["> 0"]),
    (_set("sampler.k_max", 1.5), "voice.json:sampler.k_max", ["[0.0, 1.0]"]),
    (_set("sampler.emotion_scale", 2.0), "voice.json:sampler.emotion_scale", ["[1.0, 1.5]"]),
    (_set("sampler.emotion_scale", "x"), "voice.json:sampler.emotion_scale", ["number"]),
    (_set("sampler.length_scale", 5.0), "voice.json:sampler.length_scale", ["[0.25, 4.0]"]),
    (_set("sampler.k_min", 0.9), "voice.json:sampler.k_min", ["above sampler.k_max"]),
    (
        _set("sampler.parameterisation", "score"),
        "voice.json:sampler.parameterisation",
        ["model.parameterisation is 'flow'"],
    ),
    # emotions
    (
        _set("emotions.neutral", _DELETE),
        "voice.json:emotions.neutral",
        ["missing", "'neutral'"],
    ),
    (
        _set("emotions.happy.embedding", [0.1] * (EMOTION_DIM - 1)),
        "voice.json:emotions.happy.embedding",
        [f"has {EMOTION_DIM - 1} values", f"model.config.emotion_dim is {EMOTION_DIM}"],
    ),
    (
        _set("model.config.emotion_dim", EMOTION_DIM + 2),
        "voice.json:emotions.neutral.embedding",
        [f"has {EMOTION_DIM} values", f"emotion_dim is {EMOTION_DIM + 2}"],
    ),
    (_set("emotions.sad.vad", [0.1, 1.5, 0.0]), "voice.json:emotions.sad.vad[1]", ["arousal"]),
    (_set("emotions.sad.vad", [-1.01, 0, 0]), "voice.json:emotions.sad.vad[0]", ["[-1, 1]"]),
    (_set("emotions.sad.vad", [0.0, 0.0]), "voice.json:emotions.sad.vad", ["expected 3"]),
    (_set("emotions.sad", [1, 2]), "voice.json:emotions.sad", ["must be a JSON object"]),
    # speakers
    (_set("speakers", {"alice": 0, "bob": 0}), "voice.json:speakers.bob", ["also used", "alice"]),
    (_set("speakers", {"alice": 0, "bob": 2}), "voice.json:speakers.bob", ["ids 0..1"]),
    (_set("speakers", {"alice": -1}), "voice.json:speakers.alice", [">= 0"]),
    (_set("speakers", {}), "voice.json:speakers", ["empty"]),
    # symbols
    (
        _set("symbols.table", ["_", "a", "b", "a"]),
        "voice.json:symbols.table[3]",
        ["'a'", "duplicate of id 1"],
    ),
    (_set("symbols.table", ["a", "_", "b"]), "voice.json:symbols.table[0]", ["pad symbol '_'"]),
    (_set("symbols.table", ["_", 5]), "voice.json:symbols.table[1]", ["must be a string"]),
    (_set("symbols.table", []), "voice.json:symbols.table", ["non-empty"]),
    (_set("symbols.language", ""), "voice.json:symbols.language", ["empty"]),
    # audio consistency
    (_set("audio.hop_length", 2048), "voice.json:audio.hop_length", ["larger than audio.n_fft"]),
    (_set("audio.win_length", 2048), "voice.json:audio.win_length", ["larger than audio.n_fft"]),
    (_set("audio.f_max", 12000.0), "voice.json:audio.f_max", ["Nyquist", "11025"]),
    (_set("audio.f_min", 9000.0), "voice.json:audio.f_min", ["not below audio.f_max"]),
    (_set("audio.f_min", -1.0), "voice.json:audio.f_min", ["[0.0"]),
    (_set("audio.sample_rate", 0), "voice.json:audio.sample_rate", [">= 1"]),
    (_set("audio.n_fft", -1024), "voice.json:audio.n_fft", [">= 1"]),
    (_set("audio.hop_length", 0), "voice.json:audio.hop_length", [">= 1"]),
    (_set("audio.n_mels", 0), "voice.json:audio.n_mels", [">= 1"]),
    (_set("audio.log_floor", 0.0), "voice.json:audio.log_floor", ["> 0"]),
    (_set("audio.mel_std", -2.0), "voice.json:audio.mel_std", ["> 0"]),
    (_set("audio.mel_mean", [0.0] * 80), "voice.json:audio.mel_mean", ["must be a number"]),
    (_set("audio.window", "kaiser"), "voice.json:audio.window", ["'hann'"]),
    (_set("audio.mel_scale", "bark"), "voice.json:audio.mel_scale", ["'slaney'"]),
    (_set("audio.n_mels", 64), "voice.json:audio.n_mels", ["model.config.audio.n_mels is 80"]),
    (
        _set("audio.hop_length", 512),
        "voice.json:audio.hop_length",
        ["is 512 but model.config.audio.hop_length is 256"],
    ),
    (
        _set("audio.win_length", 200),
        "voice.json:audio.hop_length",
        ["larger than audio.win_length (200)"],
    ),
    (
        _set("model.config.parameterisation", "score"),
        "voice.json:model.config.parameterisation",
        ["model.parameterisation is 'flow'"],
    ),
    (
        _set("speakers", {"a": 0, "b": 1, "c": 2}),
        "voice.json:speakers",
        ["model.config.n_speakers is 2"],
    ),
    (
        _set("symbols.table", ["_", "a", "b", "c", "d", "e", "f"]),
        "voice.json:symbols.table",
        ["model.config.n_symbols is 6"],
    ),
    (
        _set("default_speaker", "nobody"),
        "voice.json:default_speaker",
        ["'nobody'", "not one of the speakers"],
    ),
    (
        _set("default_speaker", 3),
        "voice.json:default_speaker",
        ["must be a string"],
    ),
    # files section
    (
        _set(("files", "../evil"), {"sha256": "0" * 64, "bytes": 1}),
        "voice.json:files.../evil",
        ["'..'"],
    ),
    (
        _set(("files", "/etc/passwd"), {"sha256": "0" * 64, "bytes": 1}),
        "voice.json:files./etc/passwd",
        ["relative"],
    ),
]


def _case_id(case) -> str:
    return case[1].split(":", 1)[1] + "-" + case[2][0][:12]


@pytest.mark.parametrize("edit, field, fragments", FIELD_CASES, ids=map(_case_id, FIELD_CASES))
def test_invalid_field(bundle: VoiceBundle, edit, field: str, fragments: list[str]) -> None:
    edit_meta(bundle, edit)
    with pytest.raises(VoiceBundleError) as info:
        load_bundle(bundle.path)
    err = info.value
    assert err.field == field, str(err)
    assert err.path == str(bundle.meta_path)
    check_message(err, field, *fragments)


def _files_edit(rel: str, entry: dict[str, Any]):
    def edit(meta: dict[str, Any]) -> None:
        meta["files"][rel] = entry

    return edit


@pytest.mark.parametrize(
    "entry, field, fragment",
    [
        ({"sha256": "abc", "bytes": 1}, "voice.json:files.x.bin.sha256", "64 lowercase hex"),
        ({"sha256": "0" * 64}, "voice.json:files.x.bin.bytes", "missing"),
        ({"sha256": "0" * 64, "bytes": -1}, "voice.json:files.x.bin.bytes", ">= 0"),
    ],
)
def test_invalid_file_entry(bundle: VoiceBundle, entry, field: str, fragment: str) -> None:
    edit_meta(bundle, _files_edit("x.bin", entry))
    with pytest.raises(VoiceBundleError) as info:
        load_bundle(bundle.path)
    assert info.value.field == field
    check_message(info.value, fragment)


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_non_finite_embedding(bundle: VoiceBundle, bad: float) -> None:
    def edit(meta: dict[str, Any]) -> None:
        meta["emotions"]["happy"]["embedding"][3] = bad

    edit_meta(bundle, edit)  # json.dumps writes NaN / Infinity literals
    msg = expect_error(bundle.path, "voice.json:emotions.happy.embedding[3]", "finite")
    assert str(bundle.meta_path) in msg


def test_validate_meta_directly(bundle: VoiceBundle) -> None:
    meta = copy.deepcopy(bundle.meta)
    validate_meta(meta, bundle.path)
    meta["emotions"]["sad"]["vad"][2] = 2.0
    with pytest.raises(VoiceBundleError) as info:
        validate_meta(meta, bundle.path)
    check_message(info.value, "voice.json:emotions.sad.vad[2]", "dominance", "[-1, 1]")
    assert info.value.path == str(bundle.meta_path)


def test_emotion_lengths_disagree_without_config_dim(tmp_path: Path) -> None:
    meta = make_meta()
    del meta["model"]["config"]["emotion_dim"]
    meta["emotions"]["sad"]["embedding"] = [0.0] * (EMOTION_DIM + 1)
    with pytest.raises(VoiceBundleError) as info:
        save_bundle(tmp_path / "v", meta, make_weights())
    check_message(
        info.value,
        "voice.json:emotions.sad.embedding",
        f"has {EMOTION_DIM + 1} values",
        f"emotions.neutral.embedding has {EMOTION_DIM}",
    )
    assert not (tmp_path / "v" / "voice.json").exists()


# --------------------------------------------------------------------------------------------
# Listed files: presence, size, hash


def test_listed_file_missing(bundle: VoiceBundle) -> None:
    onnx = bundle.path / "onnx" / "encoder.onnx"
    onnx.unlink()
    with pytest.raises(VoiceBundleError) as info:
        load_bundle(bundle.path)
    assert info.value.path == str(onnx)
    check_message(info.value, "voice.json:files.onnx/encoder.onnx", "missing")


def test_weights_missing(bundle: VoiceBundle) -> None:
    bundle.weights_path.unlink()
    expect_error(bundle.path, "weights.safetensors", "missing", verify_hashes=False)


def test_sha256_mismatch(bundle: VoiceBundle) -> None:
    onnx = bundle.path / "onnx" / "encoder.onnx"
    data = bytearray(onnx.read_bytes())
    data[5] ^= 0xFF  # same size, different content
    onnx.write_bytes(bytes(data))
    msg = expect_error(
        bundle.path,
        "voice.json:files.onnx/encoder.onnx.sha256",
        "file was modified or corrupted after export; re-export or re-download the voice",
    )
    assert str(onnx) in msg
    load_bundle(bundle.path, verify_hashes=False)  # sizes still match: hashing skipped


def test_size_mismatch_is_caught_without_hashing(bundle: VoiceBundle) -> None:
    onnx = bundle.path / "onnx" / "encoder.onnx"
    onnx.write_bytes(onnx.read_bytes() + b"!")
    expect_error(
        bundle.path,
        "voice.json:files.onnx/encoder.onnx.bytes",
        "151 bytes but voice.json lists 150",
        "modified or corrupted",
        verify_hashes=False,
    )


# --------------------------------------------------------------------------------------------
# weights.safetensors corruption


def test_weights_truncated(bundle: VoiceBundle) -> None:
    w = bundle.weights_path
    w.write_bytes(w.read_bytes()[:-10])
    expect_error(bundle.path, "voice.json:files.weights.safetensors.bytes", "modified or corrupted")
    # a truncated file re-listed with matching hashes is still caught by the header check
    update_file_hashes(bundle)
    expect_error(bundle.path, "weights.safetensors", "truncated")


def test_weights_truncated_after_load(bundle: VoiceBundle) -> None:
    loaded = load_bundle(bundle.path)
    w = bundle.weights_path
    w.write_bytes(w.read_bytes()[:-10])
    with pytest.raises(VoiceBundleError) as info:
        load_weights(loaded)
    check_message(info.value, "weights.safetensors", "bytes but voice.json lists")


def _rewrite_weights(bundle: VoiceBundle, data: bytes) -> VoiceBundle:
    bundle.weights_path.write_bytes(data)
    return update_file_hashes(bundle)  # hashes match, so only the content checks can object


def _header(bundle: VoiceBundle) -> tuple[dict[str, Any], bytes]:
    raw = bundle.weights_path.read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    return json.loads(raw[8 : 8 + n]), raw[8 + n :]


def _with_header(header: dict[str, Any], body: bytes) -> bytes:
    h = json.dumps(header).encode()
    return struct.pack("<Q", len(h)) + h + body


def test_weights_short_file(bundle: VoiceBundle) -> None:
    _rewrite_weights(bundle, b"\x01\x02\x03")
    msg = expect_error(bundle.path, "weights.safetensors", "too short")
    assert str(bundle.weights_path) in msg


def test_weights_header_length_too_large(bundle: VoiceBundle) -> None:
    _rewrite_weights(bundle, struct.pack("<Q", 10**9) + b"{}")
    expect_error(bundle.path, "weights.safetensors", "header length")


def test_weights_header_not_json(bundle: VoiceBundle) -> None:
    raw = bytearray(bundle.weights_path.read_bytes())
    raw[8] = ord("#")
    _rewrite_weights(bundle, bytes(raw))
    expect_error(bundle.path, "weights.safetensors", "not valid JSON")


def test_weights_header_bad_dtype(bundle: VoiceBundle) -> None:
    header, body = _header(bundle)
    header["denoiser.in_conv.bias"]["dtype"] = "BF16"
    _rewrite_weights(bundle, _with_header(header, body))
    expect_error(
        bundle.path, "weights.safetensors:denoiser.in_conv.bias", "'BF16'", "float32 or float16"
    )


def test_weights_header_bad_shape(bundle: VoiceBundle) -> None:
    header, body = _header(bundle)
    header["denoiser.in_conv.bias"]["shape"] = [17]
    _rewrite_weights(bundle, _with_header(header, body))
    expect_error(bundle.path, "weights.safetensors:denoiser.in_conv.bias", "needs 68")


def test_weights_header_overlap(bundle: VoiceBundle) -> None:
    header, body = _header(bundle)
    name = "denoiser.in_conv.bias"
    begin, end = header[name]["data_offsets"]
    header[name]["data_offsets"] = [begin - 4, end - 4] if begin else [begin + 4, end + 4]
    _rewrite_weights(bundle, _with_header(header, body))
    expect_error(bundle.path, "weights.safetensors:", "data_offsets")


def test_weights_trailing_bytes(bundle: VoiceBundle) -> None:
    _rewrite_weights(bundle, bundle.weights_path.read_bytes() + b"\0" * 8)
    expect_error(bundle.path, "weights.safetensors", "trailing bytes")


@pytest.mark.parametrize("dtype", ["float32", "float16"])
@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_weights_non_finite(tmp_path: Path, dtype: str, bad: float) -> None:
    b = save_bundle(tmp_path / "v", make_meta(), make_weights(), dtype=dtype)
    weights = make_weights()
    weights["denoiser.in_conv.weight"][1, 2, 0] = bad
    tensors = {k: v.astype(dtype) if v.dtype.kind == "f" else v for k, v in weights.items()}
    safetensors.numpy.save_file(tensors, str(b.weights_path))
    b = update_file_hashes(b)
    b = load_bundle(b.path)  # the header is fine; values are checked when weights are loaded
    with pytest.raises(VoiceBundleError) as info:
        load_weights(b)
    check_message(info.value, "weights.safetensors:denoiser.in_conv.weight", "1 NaN/inf")
    assert info.value.path == str(b.weights_path)


# --------------------------------------------------------------------------------------------
# save_bundle refuses bad input before writing


def test_save_refuses_nan_weights(tmp_path: Path) -> None:
    weights = make_weights()
    weights["encoder.emb.weight"][0, 0] = np.nan
    with pytest.raises(VoiceBundleError) as info:
        save_bundle(tmp_path / "v", make_meta(), weights)
    check_message(info.value, "weights.safetensors:encoder.emb.weight", "NaN/inf")
    assert not (tmp_path / "v" / "voice.json").exists()


def test_save_refuses_fp16_overflow(tmp_path: Path) -> None:
    weights = make_weights()
    weights["encoder.emb.weight"][0, 0] = 1e6
    with pytest.raises(VoiceBundleError) as info:
        save_bundle(tmp_path / "v", make_meta(), weights, dtype="float16")
    check_message(info.value, "weights.safetensors:encoder.emb.weight", "float16 range")
    save_bundle(tmp_path / "v", make_meta(), weights, dtype="float32")  # fine in float32


def test_save_refuses_bad_meta(tmp_path: Path) -> None:
    meta = make_meta()
    meta["audio"]["f_max"] = 20000.0
    with pytest.raises(VoiceBundleError) as info:
        save_bundle(tmp_path / "v", meta, make_weights())
    check_message(info.value, "voice.json:audio.f_max", "Nyquist")
    assert not (tmp_path / "v" / "weights.safetensors").exists()


@pytest.mark.parametrize(
    "rel", ["../escape.onnx", "/abs.onnx", "voice.json", "weights.safetensors"]
)
def test_save_refuses_bad_extra_paths(tmp_path: Path, rel: str) -> None:
    with pytest.raises(VoiceBundleError) as info:
        save_bundle(tmp_path / "v", make_meta(), make_weights(), extra_files={rel: b"x"})
    check_message(info.value, f"voice.json:files.{rel}")


def test_save_refuses_bad_dtype(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="float32"):
        save_bundle(tmp_path / "v", make_meta(), make_weights(), dtype="bfloat16")  # type: ignore[arg-type]
