"""The C ABI (emomix.h, libemomix.so) driven from Python through cffi (emomix.capi).

The library comes from ``$EMOMIX_LIBRARY`` or the installed package (``emomix config --lib``);
the tests skip, saying why, when it or cffi is absent. The voice is the shipped default one.
Lines are short and sampled with few steps: these tests check the contract, not the speech.
"""

from __future__ import annotations

import math
import re
import shutil
import threading
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("cffi", reason="emomix.capi needs cffi: pip install 'emomix[capi]'")

from emomix import capi  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
HEADER = REPO / "native" / "include" / "emomix" / "emomix.h"
VOICE_DIR = REPO / "voices" / "default"
TEXT = "Ten gold coins."
LONG_TEXT = "Ten gold coins, as promised, and one more for the road."
FAST = {"steps": 2, "seed": 5}  # a config where the sampler's quality does not matter
#: block sizes small enough that a short line has several blocks
SMALL_BLOCKS = {"first_block_frames": 64, "block_frames": 48, "context_frames": 16,
                "crossfade_frames": 8, "vocoder_chunk_frames": 16}
HOP = 256  # samples per mel frame of the default voice


# -- the header, parsed ---------------------------------------------------------------------

def _strip_comments(text: str) -> str:
    return re.sub(r"//[^\n]*", "", re.sub(r"/\*.*?\*/", "", text, flags=re.S))


def _normalise(decl: str) -> str:
    decl = re.sub(r"\s+", " ", decl).strip()
    return re.sub(r"\s*([*(),;\[\]])\s*", r"\1", decl)


def header_functions(text: str) -> dict[str, str]:
    """function name → its normalised declaration (without EMX_API)."""
    body = _strip_comments(text)
    out = {}
    for decl in re.findall(r"\bEMX_API\s+([^;]*?\));", body, flags=re.S):
        name = re.search(r"\b(emx_\w+)\s*\(", decl).group(1)
        out[name] = _normalise(decl)
    return out


def cdef_functions(cdef: str) -> dict[str, str]:
    body = _strip_comments(cdef)
    body = re.sub(r"typedef\s+(struct|enum)\s+\w+\s*\{.*?\}\s*\w+\s*;", "", body, flags=re.S)
    body = re.sub(r"typedef\s+struct\s+\w+\s+\w+\s*;", "", body)
    body = re.sub(r"#define[^\n]*", "", body)
    out = {}
    for decl in (d for d in body.split(";") if d.strip()):
        name = re.search(r"\b(emx_\w+)\s*\(", decl).group(1)
        out[name] = _normalise(decl)
    return out


def header_defines(text: str) -> dict[str, int]:
    return {k: int(v) for k, v in re.findall(r"#define\s+(EMX_\w+)\s+(-?\d+)\b", text)}


def header_enums(text: str) -> dict[str, dict[str, int]]:
    body = _strip_comments(text)
    enums = {}
    for name, inner in re.findall(r"typedef\s+enum\s+(\w+)\s*\{(.*?)\}", body, flags=re.S):
        enums[name] = {k: int(v) for k, v in re.findall(r"(EMX_\w+)\s*=\s*(-?\d+)", inner)}
    return enums


def header_structs(text: str) -> dict[str, list[str]]:
    """struct name → its field names in order (``double a, b;`` is two fields)."""
    body = _strip_comments(text)
    structs = {}
    for name, inner in re.findall(r"typedef\s+struct\s+(\w+)\s*\{(.*?)\}\s*\w+\s*;", body,
                                  flags=re.S):
        fields = []
        for decl in (d.strip() for d in inner.split(";") if d.strip()):
            first, *more = decl.split(",")
            fields.append(re.search(r"(\w+)\s*(\[[^\]]*\])?\s*$", first).group(1))
            fields += [m.strip() for m in more]
        structs[name] = fields
    return structs


def native_function_count() -> int:
    """Declarations that start a line with EMX_API (the parser must find them all)."""
    return len(re.findall(r"^EMX_API ", HEADER.read_text(), flags=re.M))


def test_cdef_declares_every_function_of_the_header_as_written():
    text = HEADER.read_text()
    header = header_functions(text)
    declared = cdef_functions(capi.CDEF)
    assert len(header) == native_function_count()
    assert set(header) - set(declared) == set(), "declare these in emomix/capi.py's CDEF"
    assert set(declared) - set(header) == set(), "capi.py declares functions emomix.h lacks"
    for name, decl in header.items():
        assert declared[name] == decl, name


def test_constants_enums_and_structs_agree_with_the_header():
    text = HEADER.read_text()
    defines = header_defines(text)
    assert defines == {k: getattr(capi, k) for k in defines}
    assert defines == header_defines(capi.CDEF)
    ffi = capi.ffi
    enums = header_enums(text)
    assert set(enums) == {"emx_result", "emx_solver", "emx_preset", "emx_curve"}
    for name, values in enums.items():
        assert ffi.typeof(name).relements == values, name
    structs = header_structs(text)
    for name, fields in structs.items():
        assert [f for f, _ in ffi.typeof(name).fields] == fields, name
    # the array lengths come from the #defines
    assert ffi.typeof("emx_weight").fields[0][1].type.length == defines["EMX_NAME_CAPACITY"]
    config = dict(ffi.typeof("emx_generation_config").fields)
    assert config["emotions"].type.length == defines["EMX_MAX_EMOTIONS"]
    assert config["keyframes"].type.length == defines["EMX_MAX_KEYFRAMES"]
    assert config["speakers"].type.length == defines["EMX_MAX_SPEAKERS"]
    assert len(capi.SOLVERS) == len(enums["emx_solver"])
    assert len(capi.CURVES) == len(enums["emx_curve"])
    assert len(capi.PRESETS) == len(enums["emx_preset"])


def test_importing_emomix_does_not_import_capi():
    import subprocess
    import sys

    code = ("import sys, emomix; emomix.load_voice; import emomix.cli; "
            "assert 'emomix.capi' not in sys.modules and 'cffi' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_config_command_prints_the_include_dir(capsys):
    from emomix.cli import main

    assert main(["config", "--include"]) == 0
    folder = Path(capsys.readouterr().out.strip())
    assert (folder / "emomix.h").is_file()


def test_config_command_without_a_library_errors_cleanly(monkeypatch, tmp_path, capsys):
    from emomix.cli import main

    monkeypatch.setenv("EMOMIX_LIBRARY", str(tmp_path / "missing.so"))
    assert main(["config", "--lib"]) == 2
    err = capsys.readouterr().err
    assert "EMOMIX_LIBRARY" in err and "cmake" in err and "Traceback" not in err


# -- the library ----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def lib(capi_lib):
    return capi_lib


@pytest.fixture(scope="module")
def ffi(lib):
    return capi.ffi


@pytest.fixture(scope="module")
def voice(lib):
    with capi.Voice.load(VOICE_DIR) as v:
        try:
            v.synthesize("Hi.", {"steps": 1})
        except capi.EmxError as exc:
            if exc.code == lib.EMX_ERROR_NOT_BUILT:
                pytest.skip(f"libemomix.so speaks no text: {exc}")
            raise
        yield v


def code_of(call, *args) -> int:
    return int(call(*args))


def error_code(fn, *args, **kw) -> int:
    with pytest.raises(capi.EmxError) as info:
        fn(*args, **kw)
    return info.value.code


def test_config_command_prints_the_library(lib, capsys):
    from emomix.cli import main

    assert main(["config", "--lib"]) == 0
    assert Path(capsys.readouterr().out.strip()) == capi.library_path()


def test_every_header_function_is_exported(lib):
    missing = [n for n in header_functions(HEADER.read_text()) if not hasattr(lib, n)]
    assert missing == []


def test_versions(lib):
    import emomix

    assert lib.emx_abi_version() == capi.EMX_ABI_VERSION
    assert re.fullmatch(r"\d+\.\d+\.\d+", capi.version())
    assert capi.version() == emomix.__version__  # one source of truth for the version


def test_result_strings_name_every_code(lib, ffi):
    for name, value in ffi.typeof("emx_result").relements.items():
        assert ffi.string(lib.emx_result_string(value)).decode() == name
    for unknown in (-999, 2, 12345):
        assert lib.emx_result_string(unknown) != ffi.NULL


def test_last_error_says_what_failed(lib, ffi, tmp_path):
    out = ffi.new("emx_voice **")
    missing = tmp_path / "no_such_voice"
    assert lib.emx_voice_load(str(missing).encode(), ffi.NULL, out) == \
        lib.EMX_ERROR_VOICE_NOT_FOUND
    message = capi.last_error()
    assert str(missing) in message
    with pytest.raises(capi.EmxError) as info:
        capi.Voice.load(missing)
    err = info.value
    assert (err.code, err.name) == (lib.EMX_ERROR_VOICE_NOT_FOUND, "EMX_ERROR_VOICE_NOT_FOUND")
    assert str(missing) in err.message and err.function == "emx_voice_load"
    assert isinstance(err, RuntimeError)


def test_last_error_is_per_thread(lib, ffi, voice):
    npc = capi.Character.create(voice)
    assert error_code(npc.set_emotion, "joy") == lib.EMX_ERROR_UNKNOWN_EMOTION
    mine = capi.last_error()
    seen = []
    worker = threading.Thread(target=lambda: seen.append(capi.last_error()))
    worker.start()
    worker.join()
    assert "joy" in mine and seen == [""]


# -- voices ---------------------------------------------------------------------------------

def test_voice_information(voice):
    import json

    meta = json.loads((VOICE_DIR / "voice.json").read_text())
    assert voice.name == meta["name"]
    assert voice.sample_rate == 22050 == meta["audio"]["sample_rate"]
    assert [e.name for e in voice.emotions] == list(meta["emotions"])
    for e in voice.emotions:
        assert [e.valence, e.arousal, e.dominance] == pytest.approx(meta["emotions"][e.name]["vad"])
    assert voice.speakers == list(meta["speakers"])
    assert voice.default_speaker == meta["default_speaker"]


def test_voice_index_out_of_range(lib, ffi, voice):
    info = ffi.new("emx_emotion_info *")
    info.struct_size = ffi.sizeof("emx_emotion_info")
    assert lib.emx_voice_emotion(voice.handle, 99, info) == lib.EMX_ERROR_INVALID_ARGUMENT
    name = ffi.new("const char **")
    assert lib.emx_voice_speaker(voice.handle, 99, name) == lib.EMX_ERROR_INVALID_ARGUMENT


def test_generation_config_defaults_come_from_the_voice(lib, ffi, voice):
    import json

    sampler = json.loads((VOICE_DIR / "voice.json").read_text())["sampler"]
    c = voice.generation_config()
    assert c.struct_size == ffi.sizeof("emx_generation_config")
    assert (c.steps, c.solver, c.preset) == (sampler["steps"], capi.SOLVERS[sampler["solver"]],
                                             capi.PRESETS[sampler["preset"]])
    assert (c.temperature, c.k_max, c.k_min) == pytest.approx(
        (sampler["temperature"], sampler["k_max"], sampler["k_min"]))
    assert c.emotion_scale == pytest.approx(sampler.get("emotion_scale", 1.0))
    assert c.length_scale == pytest.approx(sampler.get("length_scale", 1.0))
    assert capi.read_weights(c.emotions, c.n_emotions) == {"neutral": 1.0}
    assert capi.read_weights(c.speakers, c.n_speakers) == {voice.default_speaker: 1.0}
    assert (c.n_keyframes, c.intensity, c.seed) == (0, 1.0, 0)
    for struct, fn in (("emx_voice_config", lib.emx_voice_config_default),
                       ("emx_character_config", lib.emx_character_config_default),
                       ("emx_stream_config", lib.emx_stream_config_default)):
        cfg = ffi.new(f"{struct} *")
        fn(cfg)
        assert cfg.struct_size == ffi.sizeof(struct), struct
    cfg = ffi.new("emx_character_config *")
    lib.emx_character_config_default(cfg)
    assert (cfg.n_speakers, cfg.threads, cfg.first_block_frames, cfg.block_frames,
            cfg.context_frames, cfg.crossfade_frames, cfg.vocoder_chunk_frames) == \
        (0, 1, 64, 160, 24, 8, 32)


def test_load_memory_gives_the_same_voice(voice):
    files = capi.voice_files(VOICE_DIR)
    assert {"voice.json", "weights.safetensors"} <= set(files)
    with capi.Voice.load_memory(files) as copy:
        files.clear()  # the library copied the bytes
        assert (copy.name, copy.sample_rate, copy.emotions, copy.speakers,
                copy.default_speaker) == (voice.name, voice.sample_rate, voice.emotions,
                                          voice.speakers, voice.default_speaker)
        config = {"emotions": {"happy": 0.7, "sad": 0.3}, **FAST}
        assert np.array_equal(copy.synthesize(TEXT, config), voice.synthesize(TEXT, config))


def test_missing_voice(lib, tmp_path):
    assert error_code(capi.Voice.load, tmp_path / "nothing") == lib.EMX_ERROR_VOICE_NOT_FOUND
    assert error_code(capi.Voice.load_memory, {"weights.safetensors": b"x"}) in (
        lib.EMX_ERROR_VOICE_NOT_FOUND, lib.EMX_ERROR_VOICE_INVALID)


def _truncate(path: Path, keep: float) -> None:
    data = path.read_bytes()
    path.write_bytes(data[:int(len(data) * keep)])


def _flip_last_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[-1] ^= 0x55
    path.write_bytes(bytes(data))


DAMAGE = {
    "voice.json truncated": ("voice.json", lambda p: _truncate(p, 0.5)),
    "voice.json not json": ("voice.json", lambda p: p.write_text("{ this is not json")),
    "voice.json empty": ("voice.json", lambda p: p.write_bytes(b"")),
    "weights truncated": ("weights.safetensors", lambda p: _truncate(p, 0.9)),
    "weights header cut": ("weights.safetensors", lambda p: _truncate(p, 0.00001)),
    "weights modified": ("weights.safetensors", _flip_last_byte),
    "weights missing": ("weights.safetensors", lambda p: p.unlink()),
}


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_damaged_bundle_is_invalid(lib, tmp_path, damage):
    name, harm = DAMAGE[damage]
    bundle = tmp_path / "voice"
    shutil.copytree(VOICE_DIR, bundle)
    harm(bundle / name)
    with pytest.raises(capi.EmxError) as info:
        capi.Voice.load(bundle, verify_hashes=True)
    assert info.value.code == lib.EMX_ERROR_VOICE_INVALID, info.value
    assert info.value.message
    files = capi.voice_files(bundle)
    assert error_code(capi.Voice.load_memory, files) == lib.EMX_ERROR_VOICE_INVALID


# -- robustness -----------------------------------------------------------------------------

@pytest.fixture()
def handles(lib, ffi, voice):
    """Live objects of every kind plus the output buffers the calls need."""
    npc = capi.Character.create(voice)
    line = npc.say_begin(TEXT, FAST)
    stream = capi.Stream.create(capi.Character.create(voice))
    yield voice, npc, line, stream
    for h in (stream, line, npc):
        h.close()


def test_null_handles_and_pointers_are_refused(lib, ffi, handles):
    voice, npc, line, stream = (h.handle for h in handles)
    N = ffi.NULL
    w = ffi.new("emx_weight[1]")
    lib.emx_weight_set(w, b"happy", 1.0)
    config = ffi.new("emx_generation_config *")
    lib.emx_generation_config_default(voice, config)
    info = ffi.new("emx_emotion_info *")
    info.struct_size = ffi.sizeof("emx_emotion_info")
    stats = ffi.new("emx_stream_stats *")
    stats.struct_size = ffi.sizeof("emx_stream_stats")
    s, n32, d, i32 = ffi.new("const char **"), ffi.new("uint32_t *"), ffi.new("double *"), \
        ffi.new("int32_t *")
    size, audio, buf = ffi.new("size_t *"), ffi.new("emx_audio *"), ffi.new("float[16]")
    files = ffi.new("emx_voice_file[1]")
    calls = {
        "emx_weight_set(NULL)": lambda: lib.emx_weight_set(N, b"happy", 1.0),
        "emx_weight_set(name NULL)": lambda: lib.emx_weight_set(w, N, 1.0),
        "emx_voice_load(path NULL)": lambda: lib.emx_voice_load(N, N, ffi.new("emx_voice **")),
        "emx_voice_load(out NULL)": lambda: lib.emx_voice_load(str(VOICE_DIR).encode(), N, N),
        "emx_voice_load_memory(files NULL)": lambda: lib.emx_voice_load_memory(
            N, 2, N, ffi.new("emx_voice **")),
        "emx_voice_load_memory(out NULL)": lambda: lib.emx_voice_load_memory(files, 1, N, N),
        "emx_voice_name": lambda: lib.emx_voice_name(N, s),
        "emx_voice_name(out)": lambda: lib.emx_voice_name(voice, N),
        "emx_voice_sample_rate": lambda: lib.emx_voice_sample_rate(N, n32),
        "emx_voice_sample_rate(out)": lambda: lib.emx_voice_sample_rate(voice, N),
        "emx_voice_emotion_count": lambda: lib.emx_voice_emotion_count(N, size),
        "emx_voice_emotion_count(out)": lambda: lib.emx_voice_emotion_count(voice, N),
        "emx_voice_emotion": lambda: lib.emx_voice_emotion(N, 0, info),
        "emx_voice_emotion(info)": lambda: lib.emx_voice_emotion(voice, 0, N),
        "emx_voice_speaker_count": lambda: lib.emx_voice_speaker_count(N, size),
        "emx_voice_speaker_count(out)": lambda: lib.emx_voice_speaker_count(voice, N),
        "emx_voice_speaker": lambda: lib.emx_voice_speaker(N, 0, s),
        "emx_voice_speaker(out)": lambda: lib.emx_voice_speaker(voice, 0, N),
        "emx_voice_default_speaker": lambda: lib.emx_voice_default_speaker(N, s),
        "emx_voice_default_speaker(out)": lambda: lib.emx_voice_default_speaker(voice, N),
        "emx_generation_config_default": lambda: lib.emx_generation_config_default(N, config),
        "emx_generation_config_default(out)": lambda: lib.emx_generation_config_default(voice,
                                                                                         N),
        "emx_voice_synthesize": lambda: lib.emx_voice_synthesize(N, b"Hi.", config, 1, audio),
        "emx_voice_synthesize(text)": lambda: lib.emx_voice_synthesize(voice, N, config, 1,
                                                                       audio),
        "emx_voice_synthesize(config)": lambda: lib.emx_voice_synthesize(voice, b"Hi.", N, 1,
                                                                         audio),
        "emx_voice_synthesize(out)": lambda: lib.emx_voice_synthesize(voice, b"Hi.", config, 1,
                                                                      N),
        "emx_character_create": lambda: lib.emx_character_create(
            N, N, ffi.new("emx_character **")),
        "emx_character_create(out)": lambda: lib.emx_character_create(voice, N, N),
        "emx_character_set_speakers": lambda: lib.emx_character_set_speakers(N, w, 1),
        "emx_character_set_speakers(weights)": lambda: lib.emx_character_set_speakers(npc, N,
                                                                                      1),
        "emx_character_set_mix": lambda: lib.emx_character_set_mix(N, w, 1),
        "emx_character_set_mix(weights)": lambda: lib.emx_character_set_mix(npc, N, 1),
        "emx_character_set_emotion": lambda: lib.emx_character_set_emotion(N, b"happy", 1.0),
        "emx_character_set_emotion(name)": lambda: lib.emx_character_set_emotion(npc, N, 1.0),
        "emx_character_set_intensity": lambda: lib.emx_character_set_intensity(N, 1.0),
        "emx_character_set_valence_arousal": lambda: lib.emx_character_set_valence_arousal(
            N, 0.0, 0.0),
        "emx_character_transition_to": lambda: lib.emx_character_transition_to(
            N, w, 1, -1.0, 1.0, lib.EMX_CURVE_LINEAR),
        "emx_character_transition_to(target)": lambda: lib.emx_character_transition_to(
            npc, N, 1, -1.0, 1.0, lib.EMX_CURVE_LINEAR),
        "emx_character_advance": lambda: lib.emx_character_advance(N, 0.1),
        "emx_character_time": lambda: lib.emx_character_time(N, d),
        "emx_character_time(out)": lambda: lib.emx_character_time(npc, N),
        "emx_character_mix": lambda: lib.emx_character_mix(N, w, 1, size, d),
        "emx_character_mix(out)": lambda: lib.emx_character_mix(npc, N, 1, size, d),
        "emx_character_mix(n)": lambda: lib.emx_character_mix(npc, w, 1, N, d),
        "emx_character_transitioning": lambda: lib.emx_character_transitioning(N, i32),
        "emx_character_transitioning(out)": lambda: lib.emx_character_transitioning(npc, N),
        "emx_character_say_begin": lambda: lib.emx_character_say_begin(
            N, b"Hi.", N, ffi.new("emx_line **")),
        "emx_character_say_begin(text)": lambda: lib.emx_character_say_begin(
            npc, N, N, ffi.new("emx_line **")),
        "emx_character_say_begin(out)": lambda: lib.emx_character_say_begin(npc, b"Hi.", N, N),
        "emx_line_read": lambda: lib.emx_line_read(N, buf, 16, size),
        "emx_line_read(out)": lambda: lib.emx_line_read(line, N, 16, size),
        "emx_line_read(written)": lambda: lib.emx_line_read(line, buf, 16, N),
        "emx_line_length": lambda: lib.emx_line_length(N, size),
        "emx_line_length(out)": lambda: lib.emx_line_length(line, N),
        "emx_character_say": lambda: lib.emx_character_say(N, b"Hi.", N, audio),
        "emx_character_say(text)": lambda: lib.emx_character_say(npc, N, N, audio),
        "emx_character_say(out)": lambda: lib.emx_character_say(npc, b"Hi.", N, N),
        "emx_stream_create": lambda: lib.emx_stream_create(N, N, ffi.new("emx_stream **")),
        "emx_stream_create(out)": lambda: lib.emx_stream_create(npc, N, N),
        "emx_stream_queue": lambda: lib.emx_stream_queue(N, b"Hi.", N),
        "emx_stream_queue(text)": lambda: lib.emx_stream_queue(stream, N, N),
        "emx_stream_interrupt": lambda: lib.emx_stream_interrupt(N),
        "emx_stream_read": lambda: lib.emx_stream_read(N, buf, 16, size),
        "emx_stream_read(out)": lambda: lib.emx_stream_read(stream, N, 16, size),
        "emx_stream_read(written)": lambda: lib.emx_stream_read(stream, buf, 16, N),
        "emx_stream_stats_get": lambda: lib.emx_stream_stats_get(N, stats),
        "emx_stream_stats_get(out)": lambda: lib.emx_stream_stats_get(stream, N),
        "emx_stream_stop": lambda: lib.emx_stream_stop(N),
    }
    wrong = {name: capi.result_string(code) for name, call in calls.items()
             if (code := call()) != lib.EMX_ERROR_NULL_ARGUMENT}
    assert wrong == {}
    covered = {re.match(r"\w+", k).group(0) for k in calls}
    takes_pointer = {n for n, d in header_functions(HEADER.read_text()).items() if "*" in
                     d.split("(", 1)[1] and not n.endswith(("_free", "_default"))} - {
                         "emx_result_string"}
    assert takes_pointer - covered == set()
    # freeing NULL is a no-op; the _default initialisers are void and take only the struct
    for free in ("emx_voice_free", "emx_character_free", "emx_line_free", "emx_stream_free",
                 "emx_audio_free"):
        getattr(lib, free)(N)


def test_struct_size_is_checked(lib, ffi, voice):
    out = ffi.new("emx_voice **")
    vc = ffi.new("emx_voice_config *")
    lib.emx_voice_config_default(vc)
    vc.struct_size = 3
    assert lib.emx_voice_load(str(VOICE_DIR).encode(), vc, out) == lib.EMX_ERROR_STRUCT_SIZE
    info = ffi.new("emx_emotion_info *")  # struct_size 0
    assert lib.emx_voice_emotion(voice.handle, 0, info) == lib.EMX_ERROR_STRUCT_SIZE
    config = voice.generation_config(**FAST)
    for bad in (0, ffi.sizeof("emx_generation_config") + 8):
        config.struct_size = bad
        assert error_code(voice.synthesize, "Hi.", config) == lib.EMX_ERROR_STRUCT_SIZE
    cc = ffi.new("emx_character_config *")
    lib.emx_character_config_default(cc)
    cc.struct_size = 1
    assert lib.emx_character_create(voice.handle, cc, ffi.new("emx_character **")) == \
        lib.EMX_ERROR_STRUCT_SIZE
    npc = capi.Character.create(voice)
    sc = ffi.new("emx_stream_config *")
    lib.emx_stream_config_default(sc)
    sc.struct_size = 1
    assert lib.emx_stream_create(npc.handle, sc, ffi.new("emx_stream **")) == \
        lib.EMX_ERROR_STRUCT_SIZE
    with capi.Stream.create(npc) as stream:
        stats = ffi.new("emx_stream_stats *")  # struct_size 0
        assert lib.emx_stream_stats_get(stream.handle, stats) == lib.EMX_ERROR_STRUCT_SIZE
    config.struct_size = 0
    assert error_code(npc.say, "Hi.", config) == lib.EMX_ERROR_STRUCT_SIZE


BAD_TEXT = {"not utf-8": b"\xff\xfe caf\xc3", "empty": b"", "spaces": b"   ",
            "100 kB": b"Ten gold coins. " * 6400}


@pytest.mark.parametrize("kind", list(BAD_TEXT))
def test_bad_text_is_refused(lib, voice, kind):
    text = BAD_TEXT[kind]
    npc = capi.Character.create(voice)
    with capi.Stream.create(capi.Character.create(voice)) as stream:
        for call in (lambda: voice.synthesize(text, FAST), lambda: npc.say(text, FAST),
                     lambda: npc.say_begin(text, FAST), lambda: stream.queue(text, FAST)):
            assert error_code(call) == lib.EMX_ERROR_BAD_TEXT
            assert capi.last_error()


def test_a_line_over_the_phoneme_limit_is_bad_text(lib, voice):
    text = b"Ten gold coins, as promised. " * 100  # 2,900 characters, about 2,500 phonemes
    npc = capi.Character.create(voice)
    for call in (lambda: voice.synthesize(text, FAST), lambda: npc.say(text, FAST),
                 lambda: npc.say_begin(text, FAST)):
        assert error_code(call) == lib.EMX_ERROR_BAD_TEXT
        assert "phonemes long" in capi.last_error()


def _raw_weights(ffi, pairs):
    """emx_weight[] filled directly (not through emx_weight_set, which may check values)."""
    w = ffi.new("emx_weight[]", len(pairs))
    for i, (name, value) in enumerate(pairs):
        w[i].name, w[i].weight = name.encode(), value
    return w


def test_unknown_emotion_and_speaker(lib, ffi, voice):
    npc = capi.Character.create(voice)
    E, S = lib.EMX_ERROR_UNKNOWN_EMOTION, lib.EMX_ERROR_UNKNOWN_SPEAKER
    assert error_code(npc.set_emotion, "joy", 1.0) == E
    assert error_code(npc.set_mix, {"happy": 1.0, "joy": 1.0}) == E
    assert error_code(npc.transition_to, {"joy": 1.0}, 1.0) == E
    assert error_code(voice.synthesize, "Hi.", {"emotions": {"joy": 1.0}, **FAST}) == E
    assert error_code(voice.synthesize, "Hi.", {"keyframes": [(0, "happy"), (1, "joy")],
                                                **FAST}) == E
    assert "joy" in capi.last_error()
    assert error_code(npc.set_speakers, "nobody") == S
    assert error_code(capi.Character.create, voice, speakers="nobody") == S
    assert error_code(voice.synthesize, "Hi.", {"speakers": "nobody", **FAST}) == S
    assert "nobody" in capi.last_error()
    # names differ from known ones only after the NUL or by case
    assert error_code(npc.set_emotion, "Happy", 1.0) == E


@pytest.mark.parametrize("weights", [[("happy", math.nan)], [("happy", math.inf)],
                                     [("happy", -0.5), ("sad", 1.0)], [("happy", 0.0)],
                                     [("happy", 0.0), ("sad", 0.0)], []],
                         ids=["nan", "inf", "negative", "zero", "all zero", "none"])
def test_bad_weights_are_refused(lib, ffi, voice, weights):
    npc = capi.Character.create(voice)
    w, n = _raw_weights(ffi, weights or [("happy", 1.0)]), len(weights)
    # no weights at all: BAD_WEIGHT ("all weights zero") or INVALID_ARGUMENT (n out of range)
    expected = {lib.EMX_ERROR_BAD_WEIGHT} if n else {lib.EMX_ERROR_BAD_WEIGHT,
                                                     lib.EMX_ERROR_INVALID_ARGUMENT}
    assert lib.emx_character_set_mix(npc.handle, w, n) in expected
    assert lib.emx_character_transition_to(npc.handle, w, n, -1.0, 1.0, 0) in expected
    config = voice.generation_config(**FAST)
    config.n_emotions = n
    for i in range(n):
        config.emotions[i] = w[i]
    assert error_code(voice.synthesize, "Hi.", config) in expected
    value = weights[0][1] if weights else 1.0
    speakers = _raw_weights(ffi, [(voice.default_speaker, value)])
    assert lib.emx_character_set_speakers(npc.handle, speakers, min(n, 1)) in expected
    assert npc.mix() == ({"neutral": 1.0}, 1.0)  # nothing changed


def test_values_out_of_range_are_refused(lib, ffi, voice):
    npc = capi.Character.create(voice)
    bad = lib.EMX_ERROR_INVALID_ARGUMENT
    for intensity in (-0.1, 1.51, math.nan, math.inf):
        assert error_code(npc.set_intensity, intensity) == bad, intensity
        assert error_code(npc.set_emotion, "happy", intensity) == bad, intensity
    assert error_code(npc.transition_to, "happy", 1.0, "linear", 2.0) == bad
    for seconds in (-1.0, math.nan, math.inf):
        assert error_code(npc.transition_to, "happy", seconds) == bad, seconds
        assert error_code(npc.advance, seconds) == bad, seconds
    assert error_code(npc.transition_to, "happy", 1.0, 99) == bad
    for va in ((1.5, 0.0), (0.0, -1.01), (math.nan, 0.0)):
        assert error_code(npc.set_valence_arousal, *va) == bad, va
    from emomix._schema import MAX_STEPS  # voice schema's sampler.steps_range

    for fields in ({"steps": 0}, {"steps": MAX_STEPS + 1}, {"length_scale": 5.0},
                   {"length_scale": 0.1},
                   {"temperature": 0.0}, {"k_max": 0.2, "k_min": 0.6}, {"k_max": 1.5},
                   {"solver": 7}, {"solver": "em"}, {"preset": 9},
                   {"emotion_scale": math.nan}):
        assert error_code(voice.synthesize, "Hi.", {**FAST, **fields}) == bad, fields
    assert error_code(voice.synthesize, "Hi.", FAST, 0) == bad  # threads
    assert error_code(capi.Character.create, voice, threads=0) == bad
    assert error_code(capi.Character.create, voice, first_block_frames=0) == bad
    assert npc.mix() == ({"neutral": 1.0}, 1.0) and npc.time == 0.0


def test_weight_set_refuses_a_name_that_does_not_fit(lib, ffi):
    w = ffi.new("emx_weight *")
    fits = b"x" * (capi.EMX_NAME_CAPACITY - 1)
    assert lib.emx_weight_set(w, fits, 0.5) == lib.EMX_OK
    assert ffi.string(w.name) == fits and w.weight == 0.5
    assert lib.emx_weight_set(w, fits + b"x", 0.5) == lib.EMX_ERROR_INVALID_ARGUMENT
    assert capi.last_error()


# -- characters -----------------------------------------------------------------------------

def _curve(name: str, u: float) -> float:
    return {"linear": u, "ease": u * u * (3 - 2 * u), "ease_in": u * u,
            "ease_out": 1 - (1 - u) ** 2, "step": 1.0 if u >= 1 else 0.0}[name]


def test_character_starts_neutral_and_normalises_mixes(voice):
    npc = capi.Character.create(voice)
    assert npc.mix() == ({"neutral": 1.0}, 1.0)
    assert (npc.time, npc.transitioning) == (0.0, False)
    npc.set_mix({"sad": 1.0, "happy": 3.0})
    mix, intensity = npc.mix()
    assert list(mix) == ["happy", "sad"]  # the voice's order
    assert mix == pytest.approx({"happy": 0.75, "sad": 0.25}, abs=1e-12) and intensity == 1.0
    npc.set_intensity(0.4)
    assert npc.mix() == (pytest.approx({"happy": 0.75, "sad": 0.25}), 0.4)
    npc.set_emotion("angry", 1.3)
    assert npc.mix() == ({"angry": 1.0}, 1.3)
    npc.set_valence_arousal(0.76, 0.48)  # happy's coordinates: happy alone, intensity kept
    assert npc.mix() == (pytest.approx({"happy": 1.0}), 1.3)


def test_mix_reports_the_count_beyond_capacity(lib, ffi, voice):
    npc = capi.Character.create(voice).set_mix({"happy": 1, "sad": 2, "angry": 3})
    out, n, a = ffi.new("emx_weight[1]"), ffi.new("size_t *"), ffi.new("double *")
    assert lib.emx_character_mix(npc.handle, out, 1, n, a) == lib.EMX_OK
    assert n[0] == 3 and ffi.string(out[0].name) == b"happy"  # the voice's order
    assert out[0].weight == pytest.approx(1 / 6, abs=1e-12) and a[0] == 1.0
    assert lib.emx_character_mix(npc.handle, ffi.NULL, 0, n, a) == lib.EMX_OK and n[0] == 3
    # the intensity is optional
    assert lib.emx_character_mix(npc.handle, out, 1, n, ffi.NULL) == lib.EMX_OK and n[0] == 3


@pytest.mark.parametrize("curve", list(capi.CURVES))
def test_transitions_follow_their_curve_on_the_characters_clock(voice, curve):
    npc = capi.Character.create(voice).set_mix({"happy": 1.0}).set_intensity(0.5)
    npc.advance(1.0)
    npc.transition_to({"sad": 3.0, "angry": 1.0}, 2.0, curve, intensity=1.5)
    clock = 1.0
    for t in (0.0, 0.3, 0.5, 1.0, 1.7, 1.999, 2.0, 2.5):
        npc.advance(t - (clock - 1.0))
        clock = 1.0 + t
        assert npc.time == pytest.approx(clock, abs=1e-12)
        c = _curve(curve, min(t / 2.0, 1.0))
        want = {"happy": 1 - c, "sad": 0.75 * c, "angry": 0.25 * c}
        mix, intensity = npc.mix()
        got = {k: mix.get(k, 0.0) for k in want}
        assert got == pytest.approx(want, abs=1e-9), (curve, t)
        assert set(mix) <= set(want) and all(v > 0 for v in mix.values())
        assert intensity == pytest.approx(0.5 + c, abs=1e-9)
        assert npc.transitioning == (t < 2.0), t
    npc.transition_to("neutral", 0.0)  # 0 s jumps
    assert npc.mix() == ({"neutral": 1.0}, 1.5) and not npc.transitioning


def test_setting_cancels_a_transition(voice):
    npc = capi.Character.create(voice).set_mix("happy")
    npc.transition_to("sad", 1.0).advance(0.5)
    npc.set_intensity(0.8)  # freezes the weights of now
    assert not npc.transitioning
    assert npc.mix() == (pytest.approx({"happy": 0.5, "sad": 0.5}), 0.8)
    npc.transition_to("angry", 1.0).advance(0.25)
    npc.set_mix("surprise")
    assert not npc.transitioning and npc.mix() == ({"surprise": 1.0}, 0.8)


def _read_all(line: capi.Line, block: int) -> np.ndarray:
    chunks = []
    while (chunk := line.read(block)) is not None:
        assert 0 < chunk.size <= block
        chunks.append(chunk)
    assert line.read(block) is None  # stays at its end
    return np.concatenate(chunks)


def test_a_line_read_in_blocks_is_say_bit_for_bit(voice):
    config = {"emotions": "neutral", **FAST}
    npc = capi.Character.create(voice).set_mix({"happy": 0.6, "surprise": 0.4})
    whole = npc.say(TEXT, config)
    assert whole.dtype == np.float32 and whole.size > 0 and np.all(np.isfinite(whole))
    with npc.say_begin(TEXT, config) as line:
        assert line.length == whole.size
        streamed = _read_all(line, 1000)
    assert streamed.tobytes() == whole.tobytes()
    other_seed = npc.say(TEXT, {**config, "seed": 6})
    assert not np.array_equal(other_seed, whole)


def test_any_positive_vocoder_chunk_reads_the_same_line(voice):
    # the chunk grows to four times vocoder_chunk_frames as the line plays: with the largest int
    # that growth must neither overflow nor change more than the float rounding of the pulls
    config = {"emotions": "neutral", **FAST}
    lines = {}
    for chunk in (1, 32, 2**31 - 1):
        npc = capi.Character.create(voice, vocoder_chunk_frames=chunk)
        with npc.say_begin(TEXT, config) as line:
            lines[chunk] = _read_all(line, 4096)
    for chunk in (32, 2**31 - 1):
        assert lines[chunk].size == lines[1].size
        np.testing.assert_allclose(lines[chunk], lines[1], rtol=0, atol=1e-5)


def test_reading_moves_the_clock(voice):
    npc = capi.Character.create(voice).advance(2.0)
    sr = voice.sample_rate
    with npc.say_begin(TEXT, FAST) as line:
        assert npc.time == 2.0  # nothing read yet
        got = 0
        while (chunk := line.read(2205)) is not None:
            got += chunk.size
            assert npc.time >= 2.0 + got / sr - 1e-9
        assert npc.time == pytest.approx(2.0 + line.length / sr, abs=0.05)
    before = npc.time
    audio = npc.say(TEXT, FAST)
    assert npc.time >= before + audio.size / sr - 1e-9


def test_a_second_reader_of_a_line_is_busy_or_served_in_turn(lib, voice):
    npc = capi.Character.create(voice)
    with npc.say_begin(TEXT, FAST) as line:
        results = []
        start = threading.Barrier(2)

        def reader():
            start.wait()
            try:
                while line.read(64) is not None:
                    pass
                results.append("end")
            except capi.EmxError as exc:
                results.append(exc.code)

        threads = [threading.Thread(target=reader) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert set(results) <= {"end", lib.EMX_ERROR_BUSY}


def test_an_emotion_change_mid_line_changes_only_the_later_audio(voice):
    from emomix.vocoder_stream import vocoder_context
    from emomix.voice import load_bundle

    bundle = load_bundle(VOICE_DIR)
    reach = vocoder_context(bundle.model_config, bundle.audio)  # mel frames a sample sees
    first, block = SMALL_BLOCKS["first_block_frames"], SMALL_BLOCKS["block_frames"]
    config = {"emotions": "neutral", **FAST}
    plain_npc = capi.Character.create(voice, **SMALL_BLOCKS).set_emotion("happy", 1.0)
    plain = plain_npc.say(LONG_TEXT, config)
    assert plain.size // HOP > first + 2 * block, "the line must have several blocks"
    npc = capi.Character.create(voice, **SMALL_BLOCKS).set_emotion("happy", 1.0)
    with npc.say_begin(LONG_TEXT, config) as line:
        head = line.read(4 * HOP)  # makes the first block
        npc.set_emotion("angry", 1.5)
        changed = np.concatenate([head, _read_all(line, 1000)])
    assert changed.size == plain.size  # the durations were fixed when the line began
    # the first block's frames, less those whose audio the vocoder mixes with the next block's
    untouched = (first - reach - 1) * HOP
    assert untouched > head.size
    assert np.array_equal(changed[:untouched], plain[:untouched])
    late = slice((first + block) * HOP, None)
    assert np.max(np.abs(changed[late] - plain[late])) > 1e-2


# -- streams --------------------------------------------------------------------------------

def _drain(stream: capi.Stream, block: int = 220, timeout: float = 60.0,
           stop_after: int | None = None) -> tuple[np.ndarray, int]:
    """Reads ``block`` samples at a time until EMX_END; returns the audio and the number of
    reads that got less than ``block`` samples before the end."""
    chunks, short, got = [], 0, 0
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        out, written = stream.read(block)
        assert np.all(out[written:] == 0)  # silence after the audio
        if stream.ended:
            assert written == 0
            return np.concatenate(chunks or [np.zeros(0, np.float32)]), short
        chunks.append(out[:written])
        got += written
        if written < block:
            short += 1
            time.sleep(0.002)
        if stop_after is not None and got >= stop_after:
            return np.concatenate(chunks), short
    raise AssertionError("the stream did not end")


def test_a_stream_plays_its_lines_back_to_back(voice):
    first, second = {"emotions": "neutral", **FAST}, {"emotions": "neutral", "steps": 2,
                                                       "seed": 9}
    reference = capi.Character.create(voice).set_emotion("sad", 0.8)
    expected = np.concatenate([reference.say(TEXT, first), reference.say("Hello there.",
                                                                        second)])
    npc = capi.Character.create(voice).set_emotion("sad", 0.8)
    with capi.Stream.create(npc) as stream:
        stream.queue(TEXT, first).queue("Hello there.", second)
        audio, short = _drain(stream)
        stats = stream.stats()
    assert audio.tobytes() == expected.tobytes()
    assert stats["samples_read"] == audio.size
    assert 1 <= stats["underruns"] <= short  # the first read came before any audio was made
    assert (stats["queued_lines"], stats["last_error"]) == (0, 0)


def test_a_stream_interrupt_drops_its_audio(lib, voice):
    npc = capi.Character.create(voice)
    line_length = npc.say(LONG_TEXT, FAST).size
    with capi.Stream.create(npc) as stream:
        stream.queue(LONG_TEXT, FAST).queue(LONG_TEXT, FAST)
        head, _ = _drain(stream, stop_after=2205)
        stream.interrupt()
        rest, _ = _drain(stream)
        stats = stream.stats()
        assert head.size + rest.size < line_length
        assert stats["samples_read"] == head.size + rest.size
        assert stats["queued_lines"] == 0
        stream.queue("Hi.", FAST)  # still usable after an interrupt
        after, _ = _drain(stream)
        assert after.size > 0
        stream.stop()
        assert error_code(stream.queue, "Hi.", FAST) == lib.EMX_ERROR_STOPPED
        assert error_code(stream.read, 220) == lib.EMX_ERROR_STOPPED
        code = lib.emx_stream_stop(stream.handle)  # stopping twice is harmless
        assert code in (lib.EMX_OK, lib.EMX_ERROR_STOPPED)


def test_a_stream_refuses_more_lines_than_it_holds(lib, voice):
    npc = capi.Character.create(voice)
    with capi.Stream.create(npc, max_queued_lines=2) as stream:
        codes = []
        for _ in range(6):
            try:
                stream.queue(LONG_TEXT, FAST)
                codes.append(0)
            except capi.EmxError as exc:
                codes.append(exc.code)
        assert codes[:2] == [0, 0] and lib.EMX_ERROR_BUSY in codes, codes
        assert set(codes) == {0, lib.EMX_ERROR_BUSY}, codes
        assert lib.emx_stream_interrupt(stream.handle) == lib.EMX_OK
        stream.queue("Hi.", FAST)


def test_handles_are_freed_in_any_order(voice):
    v = capi.Voice.load(VOICE_DIR)
    npc = capi.Character.create(v)
    line = npc.say_begin(TEXT, FAST)
    stream = capi.Stream.create(npc).queue(TEXT, FAST)
    v.close()
    npc.close()
    assert line.read(100).size > 0  # the line keeps its character and voice alive
    stream.close()
    line.close()
    line.close()
    with pytest.raises(ValueError, match="closed"):
        line.read(10)


# -- threads --------------------------------------------------------------------------------

EIGHT = [("happy", 1.0), ("sad", 0.7), ("angry", 1.2), ("surprise", 1.0), ("neutral", 1.0),
         ("happy", 0.3), ("sad", 1.5), ("angry", 0.5)]


def test_eight_characters_on_eight_threads_match_each_alone(voice):
    def speak(i: int) -> np.ndarray:
        emotion, intensity = EIGHT[i]
        with capi.Character.create(voice).set_emotion(emotion, intensity) as npc:
            with npc.say_begin(TEXT, {"steps": 2, "seed": 100 + i}) as line:
                return _read_all(line, 512)

    alone = [speak(i) for i in range(8)]
    together: list[np.ndarray | None] = [None] * 8
    start = threading.Barrier(8)

    def run(i: int) -> None:
        start.wait()
        together[i] = speak(i)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for i in range(8):
        assert together[i] is not None and together[i].tobytes() == alone[i].tobytes(), i
    assert len({a.tobytes() for a in alone}) == 8
