"""emomix's C ABI (``libemomix.so``, ``emomix.h``) from Python, through cffi in ABI mode.

    from emomix import capi

    with capi.Voice.load("voices/default") as voice, capi.Character.create(voice) as npc:
        npc.set_emotion("happy", 1.0)
        audio = npc.say("Ten gold coins, as promised.", voice.generation_config(seed=7))
        with npc.say_begin("And one more thing...") as line:
            while (chunk := line.read(220)) is not None:   # float32, at most 220 samples
                engine.queue(chunk)

This module exists to drive the C ABI itself (its tests, tools that want exactly what a game
engine gets); :mod:`emomix` (``load_voice``, ``Character``) is the Python SDK. Nothing here needs
a compiler: the declarations below are copied from ``emomix.h`` (``tests/test_capi.py`` holds
them equal to the header) and the library is opened with ``ffi.dlopen``. ``import emomix`` never
imports this module; it needs ``pip install 'emomix[capi]'`` (cffi).

Two levels:

- ``capi.ffi`` and ``capi.lib``: the raw cffi objects (``lib.emx_voice_load(...)``), every
  function and constant of the header as it is. Opened on first use.
- :class:`Voice`, :class:`Character`, :class:`Line`, :class:`Stream`: thin owners of the C
  handles. A negative result raises :class:`EmxError` (its ``code``, ``name`` and the library's
  ``emx_last_error()`` message). Handles are freed by ``close()`` or ``with``, and by the garbage
  collector as a backup. The C objects hold references to each other (a character keeps its
  voice alive), so they may be closed in any order.

Where the library is: ``$EMOMIX_LIBRARY`` if set, else ``libemomix.so`` beside the installed
``emomix._native`` module (:func:`library_path`); its header in :func:`include_dir`.

Threads: cffi releases the GIL during every C call, so characters on several Python threads run
in parallel. The thread rules of ``emomix.h`` apply to the objects here too (a :class:`Line` is
read by one thread at a time; a :class:`Stream` is read by one thread).
"""

from __future__ import annotations

import importlib.util
import os
import threading
import weakref
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from .errors import EmomixError

__all__ = [
    "Character", "EmotionInfo", "EmxError", "LibraryNotFoundError", "Line", "Stream", "Voice",
    "check", "configure", "include_dir", "last_error", "library_path", "result_string",
    "version", "voice_files",
]

#: emomix.h's #defines (tests/test_capi.py holds them equal to the header's).
EMX_ABI_VERSION = 1
EMX_NAME_CAPACITY = 32
EMX_MAX_EMOTIONS = 16
EMX_MAX_KEYFRAMES = 8
EMX_MAX_SPEAKERS = 8

#: Environment variable naming libemomix.so (a build tree's, or another install's).
LIBRARY_ENV = "EMOMIX_LIBRARY"
LIBRARY_NAME = "libemomix.so"
HEADER_NAME = "emomix.h"
BUILD_HINT = (
    "build it with `cmake -S . -B build/capi -DEMOMIX_BUILD_PYTHON=OFF -DEMOMIX_CUDA=OFF "
    "-DEMOMIX_BUILD_TESTS=OFF -DCMAKE_BUILD_TYPE=Release && cmake --build build/capi --target "
    f"emomix_shared` and set {LIBRARY_ENV}=$PWD/build/capi/bindings/c/{LIBRARY_NAME}, or "
    "reinstall emomix (pip install .), which puts it beside emomix/_native")

# The declarations of emomix.h, in its order. Only the EMX_API macro and the comments are left
# out; tests/test_capi.py compares every function's declaration with the header's.
CDEF = f"""
#define EMX_ABI_VERSION {EMX_ABI_VERSION}
#define EMX_NAME_CAPACITY {EMX_NAME_CAPACITY}
#define EMX_MAX_EMOTIONS {EMX_MAX_EMOTIONS}
#define EMX_MAX_KEYFRAMES {EMX_MAX_KEYFRAMES}
#define EMX_MAX_SPEAKERS {EMX_MAX_SPEAKERS}

typedef enum emx_result {{
  EMX_OK = 0,
  EMX_END = 1,
  EMX_ERROR_NULL_ARGUMENT = -1,
  EMX_ERROR_STRUCT_SIZE = -2,
  EMX_ERROR_INVALID_ARGUMENT = -3,
  EMX_ERROR_UNKNOWN_EMOTION = -4,
  EMX_ERROR_UNKNOWN_SPEAKER = -5,
  EMX_ERROR_BAD_WEIGHT = -6,
  EMX_ERROR_BAD_TEXT = -7,
  EMX_ERROR_BUSY = -8,
  EMX_ERROR_STOPPED = -9,
  EMX_ERROR_VOICE_NOT_FOUND = -100,
  EMX_ERROR_VOICE_INVALID = -101,
  EMX_ERROR_NOT_BUILT = -200,
  EMX_ERROR_OUT_OF_MEMORY = -201,
  EMX_ERROR_INTERNAL = -202
}} emx_result;

const char *emx_result_string(emx_result result);
const char *emx_last_error(void);
const char *emx_version(void);
uint32_t emx_abi_version(void);

typedef struct emx_voice emx_voice;
typedef struct emx_character emx_character;
typedef struct emx_line emx_line;
typedef struct emx_stream emx_stream;

typedef struct emx_weight {{
  char name[{EMX_NAME_CAPACITY}];
  double weight;
}} emx_weight;

emx_result emx_weight_set(emx_weight *w, const char *name, double weight);

typedef struct emx_voice_config {{
  uint32_t struct_size;
  int32_t verify_hashes;
}} emx_voice_config;

void emx_voice_config_default(emx_voice_config *config);
emx_result emx_voice_load(const char *path, const emx_voice_config *config, emx_voice **out);

typedef struct emx_voice_file {{
  const char *path;
  const void *data;
  size_t size;
}} emx_voice_file;

emx_result emx_voice_load_memory(const emx_voice_file *files, size_t n_files,
                                 const emx_voice_config *config, emx_voice **out);
void emx_voice_free(emx_voice *voice);
emx_result emx_voice_name(const emx_voice *voice, const char **out);
emx_result emx_voice_sample_rate(const emx_voice *voice, uint32_t *out);

typedef struct emx_emotion_info {{
  uint32_t struct_size;
  const char *name;
  double valence, arousal, dominance;
}} emx_emotion_info;

emx_result emx_voice_emotion_count(const emx_voice *voice, size_t *out);
emx_result emx_voice_emotion(const emx_voice *voice, size_t index, emx_emotion_info *info);
emx_result emx_voice_speaker_count(const emx_voice *voice, size_t *out);
emx_result emx_voice_speaker(const emx_voice *voice, size_t index, const char **name);
emx_result emx_voice_default_speaker(const emx_voice *voice, const char **name);

typedef enum emx_solver {{
  EMX_SOLVER_EULER = 0,
  EMX_SOLVER_HEUN = 1,
  EMX_SOLVER_EM = 2,
  EMX_SOLVER_PF_EULER = 3
}} emx_solver;

typedef enum emx_preset {{
  EMX_PRESET_EMOMIX = 0,
  EMX_PRESET_BLEND = 1,
  EMX_PRESET_INTENSITY = 2
}} emx_preset;

typedef struct emx_keyframe {{
  double position;
  uint32_t n_emotions;
  emx_weight emotions[{EMX_MAX_EMOTIONS}];
}} emx_keyframe;

typedef struct emx_generation_config {{
  uint32_t struct_size;
  uint32_t n_emotions;
  emx_weight emotions[{EMX_MAX_EMOTIONS}];
  uint32_t n_keyframes;
  emx_keyframe keyframes[{EMX_MAX_KEYFRAMES}];
  double intensity;
  double emotion_scale;
  uint32_t n_speakers;
  emx_weight speakers[{EMX_MAX_SPEAKERS}];
  int32_t steps;
  int32_t solver;
  int32_t preset;
  double temperature;
  double k_max, k_min;
  double length_scale;
  uint64_t seed;
}} emx_generation_config;

emx_result emx_generation_config_default(const emx_voice *voice, emx_generation_config *config);

typedef struct emx_audio {{
  float *samples;
  size_t n_samples;
  uint32_t sample_rate;
}} emx_audio;

void emx_audio_free(emx_audio *audio);
emx_result emx_voice_synthesize(const emx_voice *voice, const char *text,
                                const emx_generation_config *config, int32_t threads,
                                emx_audio *out);

typedef struct emx_character_config {{
  uint32_t struct_size;
  uint32_t n_speakers;
  emx_weight speakers[{EMX_MAX_SPEAKERS}];
  int32_t threads;
  int32_t first_block_frames;
  int32_t block_frames;
  int32_t context_frames;
  int32_t crossfade_frames;
  int32_t vocoder_chunk_frames;
}} emx_character_config;

void emx_character_config_default(emx_character_config *config);
emx_result emx_character_create(const emx_voice *voice, const emx_character_config *config,
                                emx_character **out);
void emx_character_free(emx_character *character);
emx_result emx_character_set_speakers(emx_character *character, const emx_weight *speakers,
                                      size_t n);
emx_result emx_character_set_mix(emx_character *character, const emx_weight *weights, size_t n);
emx_result emx_character_set_emotion(emx_character *character, const char *name,
                                     double intensity);
emx_result emx_character_set_intensity(emx_character *character, double intensity);
emx_result emx_character_set_valence_arousal(emx_character *character, double valence,
                                             double arousal);

typedef enum emx_curve {{
  EMX_CURVE_LINEAR = 0,
  EMX_CURVE_EASE = 1,
  EMX_CURVE_EASE_IN = 2,
  EMX_CURVE_EASE_OUT = 3,
  EMX_CURVE_STEP = 4
}} emx_curve;

emx_result emx_character_transition_to(emx_character *character, const emx_weight *target,
                                       size_t n, double intensity, double seconds,
                                       emx_curve curve);
emx_result emx_character_advance(emx_character *character, double seconds);
emx_result emx_character_time(const emx_character *character, double *seconds);
emx_result emx_character_mix(const emx_character *character, emx_weight *out, size_t capacity,
                             size_t *n, double *intensity);
emx_result emx_character_transitioning(const emx_character *character, int32_t *out);

emx_result emx_character_say_begin(emx_character *character, const char *text,
                                   const emx_generation_config *config, emx_line **out);
emx_result emx_line_read(emx_line *line, float *out, size_t max, size_t *written);
emx_result emx_line_length(const emx_line *line, size_t *samples);
void emx_line_free(emx_line *line);
emx_result emx_character_say(emx_character *character, const char *text,
                             const emx_generation_config *config, emx_audio *out);

typedef struct emx_stream_config {{
  uint32_t struct_size;
  uint32_t capacity_samples;
  uint32_t max_queued_lines;
}} emx_stream_config;

void emx_stream_config_default(emx_stream_config *config);

typedef struct emx_stream_stats {{
  uint32_t struct_size;
  uint64_t samples_read;
  uint64_t underruns;
  uint32_t queued_lines;
  int32_t last_error;
}} emx_stream_stats;

emx_result emx_stream_create(emx_character *character, const emx_stream_config *config,
                             emx_stream **out);
emx_result emx_stream_queue(emx_stream *stream, const char *text,
                            const emx_generation_config *config);
emx_result emx_stream_interrupt(emx_stream *stream);
emx_result emx_stream_read(emx_stream *stream, float *out, size_t n, size_t *written);
emx_result emx_stream_stats_get(const emx_stream *stream, emx_stream_stats *stats);
emx_result emx_stream_stop(emx_stream *stream);
void emx_stream_free(emx_stream *stream);
"""

#: emx_solver / emx_preset / emx_curve by the names the Python SDK uses.
SOLVERS = {"euler": 0, "heun": 1, "em": 2, "pf_euler": 3}
PRESETS = {"emomix": 0, "blend": 1, "intensity": 2}
CURVES = {"linear": 0, "ease": 1, "ease_in": 2, "ease_out": 3, "step": 4}


class LibraryNotFoundError(EmomixError, FileNotFoundError):
    """libemomix.so (or emomix.h) is not where emomix looks; the message says how to build it."""


class EmxError(EmomixError, RuntimeError):
    """A C ABI call returned a negative ``emx_result``.

    Attributes:
        code:     the ``emx_result`` (e.g. ``-4``; compare with ``capi.lib.EMX_ERROR_...``).
        name:     ``emx_result_string(code)``, e.g. ``"EMX_ERROR_UNKNOWN_EMOTION"``.
        message:  ``emx_last_error()`` right after the call: what was wrong, what to do.
        function: the C function that failed.
    """

    def __init__(self, code: int, name: str, message: str, function: str = "") -> None:
        self.code, self.name, self.message, self.function = int(code), name, message, function
        where = f"{function}: " if function else ""
        super().__init__(f"{where}{name} ({code}): {message or 'no message'}")

    def __reduce__(self):  # keep the fields when pickled
        return (type(self), (self.code, self.name, self.message, self.function))


# -- finding and opening the library ---------------------------------------------------------

def _native_dir() -> Path | None:
    """The folder of the installed ``emomix._native`` module (without importing it)."""
    try:
        spec = importlib.util.find_spec("emomix._native")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.origin:
        return None
    return Path(spec.origin).resolve().parent


def library_path() -> Path:
    """libemomix.so: ``$EMOMIX_LIBRARY`` if set, else the one beside ``emomix._native``.

    Raises :class:`LibraryNotFoundError` (a ``FileNotFoundError``) saying how to build it.
    """
    env = os.environ.get(LIBRARY_ENV)
    if env:
        path = Path(env)
        if not path.is_file():
            raise LibraryNotFoundError(f"${LIBRARY_ENV} is {env}, which is not a file; point it "
                                       f"at {LIBRARY_NAME}, or {BUILD_HINT}")
        return path.resolve()
    native = _native_dir()
    if native is not None and (native / LIBRARY_NAME).is_file():
        return native / LIBRARY_NAME
    where = f"beside emomix._native in {native}" if native else \
        "beside emomix._native (which is not built either)"
    raise LibraryNotFoundError(f"{LIBRARY_NAME} is not installed ({LIBRARY_ENV} is unset and "
                               f"there is none {where}); {BUILD_HINT}")


def include_dir() -> Path:
    """The folder holding ``emomix.h`` (compile with ``-I`` it): ``emomix/include`` beside the
    installed ``emomix._native``, else ``native/include/emomix`` of the source tree this module
    runs from."""
    candidates = []
    native = _native_dir()
    if native is not None:
        candidates.append(native / "include")
    candidates.append(Path(__file__).resolve().parents[2] / "native" / "include" / "emomix")
    for folder in candidates:
        if (folder / HEADER_NAME).is_file():
            return folder
    raise LibraryNotFoundError(f"{HEADER_NAME} is not installed (looked in "
                               f"{', '.join(map(str, candidates))}); reinstall emomix "
                               "(pip install .), or use native/include/emomix of a source tree")


_open_lock = threading.Lock()
_ffi_obj: Any = None
_lib_obj: Any = None


def _ffi() -> Any:
    global _ffi_obj
    if _ffi_obj is None:
        with _open_lock:
            if _ffi_obj is None:
                try:
                    import cffi
                except ImportError:
                    raise ImportError("emomix.capi needs cffi: pip install 'emomix[capi]'"
                                      ) from None
                ffi = cffi.FFI()
                ffi.cdef(CDEF)
                _ffi_obj = ffi
    return _ffi_obj


def _lib() -> Any:
    global _lib_obj
    if _lib_obj is None:
        ffi = _ffi()
        path = library_path()
        with _open_lock:
            if _lib_obj is None:
                try:
                    lib = ffi.dlopen(str(path))
                except OSError as exc:
                    raise LibraryNotFoundError(f"cannot open {path}: {exc}; {BUILD_HINT}"
                                               ) from None
                abi = int(lib.emx_abi_version())
                if abi != EMX_ABI_VERSION:
                    raise EmomixError(f"{path} has ABI version {abi} but emomix.capi speaks "
                                      f"{EMX_ABI_VERSION}; use a libemomix.so of this emomix "
                                      f"({LIBRARY_ENV})")
                _lib_obj = lib
    return _lib_obj


def __getattr__(name: str) -> Any:
    """``capi.ffi`` (the declarations; needs cffi only) and ``capi.lib`` (the opened library),
    created on first use so that ``emomix config --lib`` works without cffi."""
    if name == "ffi":
        return _ffi()
    if name == "lib":
        return _lib()
    raise AttributeError(f"module 'emomix.capi' has no attribute {name!r}")


def version() -> str:
    """The library's version (``emx_version()``)."""
    return _ffi().string(_lib().emx_version()).decode()


def last_error() -> str:
    """This thread's message of the last failed call (``emx_last_error()``)."""
    return _ffi().string(_lib().emx_last_error()).decode("utf-8", "replace")


def result_string(code: int) -> str:
    return _ffi().string(_lib().emx_result_string(int(code))).decode()


def check(code: int, function: str = "") -> int:
    """``code`` (EMX_OK or EMX_END) as it is; a negative one raises :class:`EmxError`."""
    if code < 0:
        raise EmxError(code, result_string(code), last_error(), function)
    return code


def _call(function: str, *args: Any) -> int:
    return check(getattr(_lib(), function)(*args), function)


def _text(text: str | bytes) -> bytes:
    """A line's text as the NUL-terminated UTF-8 the library takes (bytes pass as they are, so
    callers can hand it invalid UTF-8 on purpose)."""
    data = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else bytes(text)
    if b"\0" in data:
        raise ValueError("the text contains a NUL character, which would end it early")
    return data


def _string(ptr: Any) -> str:
    return _ffi().string(ptr).decode("utf-8")


# -- weights and configs ---------------------------------------------------------------------

def _weights(mix: Mapping[str, float] | str, capacity: int, what: str) -> tuple[Any, int]:
    """``{name: weight}`` (or one name) → a new ``emx_weight[]`` filled with emx_weight_set."""
    if isinstance(mix, str):
        mix = {mix: 1.0}
    if len(mix) > capacity:
        raise ValueError(f"{len(mix)} {what} given; the C ABI takes at most {capacity}")
    array = _ffi().new("emx_weight[]", max(1, len(mix)))
    for i, (name, weight) in enumerate(mix.items()):
        _call("emx_weight_set", array + i, str(name).encode(), float(weight))
    return array, len(mix)


def _fill_weights(target: Any, mix: Mapping[str, float] | str, capacity: int, what: str
                  ) -> int:
    array, n = _weights(mix, capacity, what)
    for i in range(n):
        target[i] = array[i]
    return n


def read_weights(array: Any, n: int) -> dict[str, float]:
    """``emx_weight[n]`` → ``{name: weight}``."""
    ffi = _ffi()
    return {ffi.string(array[i].name).decode(): float(array[i].weight) for i in range(n)}


def _enum(value: str | int, names: Mapping[str, int], what: str) -> int:
    if isinstance(value, str):
        try:
            return names[value]
        except KeyError:
            raise ValueError(f"unknown {what} {value!r}; choose one of {', '.join(names)}"
                             ) from None
    return int(value)


def _audio(function: str, *args: Any) -> np.ndarray:
    """Calls a function that fills an ``emx_audio``; returns a copy and frees the library's."""
    ffi, lib = _ffi(), _lib()
    audio = ffi.new("emx_audio *")
    _call(function, *args, audio)
    try:
        n = int(audio.n_samples)
        if n == 0:
            return np.zeros(0, np.float32)
        return np.frombuffer(ffi.buffer(audio.samples, 4 * n), np.float32).copy()
    finally:
        lib.emx_audio_free(audio)


class EmotionInfo(NamedTuple):
    """One emotion of a voice (``emx_emotion_info``): its name and its coordinates in [-1, 1]."""

    name: str
    valence: float
    arousal: float
    dominance: float


# -- handles ---------------------------------------------------------------------------------

class _Handle:
    """Owns one C handle: freed by close(), ``with``, or the garbage collector."""

    _kind = "handle"

    def __init__(self, ptr: Any, free: Callable[[Any], None]) -> None:
        self._ptr = ptr
        self._finalizer = weakref.finalize(self, free, ptr)

    @property
    def handle(self) -> Any:
        """The C handle (``emx_<object> *``) for direct ``capi.lib`` calls."""
        if not self._finalizer.alive:
            raise ValueError(f"the {self._kind} is closed")
        return self._ptr

    @property
    def closed(self) -> bool:
        return not self._finalizer.alive

    def close(self) -> None:
        """Frees the C object now (idempotent)."""
        self._finalizer()

    def __enter__(self):
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Voice(_Handle):
    """A loaded voice bundle (``emx_voice``): immutable, shareable between threads."""

    _kind = "voice"

    @classmethod
    def load(cls, path: str | os.PathLike[str], *, verify_hashes: bool = True) -> Voice:
        """``emx_voice_load``: the bundle directory (or its voice.json)."""
        ffi, lib = _ffi(), _lib()
        config = ffi.new("emx_voice_config *")
        lib.emx_voice_config_default(config)
        config.verify_hashes = int(bool(verify_hashes))
        out = ffi.new("emx_voice **")
        _call("emx_voice_load", os.fsencode(path), config, out)
        return cls(out[0], lib.emx_voice_free)

    @classmethod
    def load_memory(cls, files: Mapping[str, bytes], *, verify_hashes: bool = True) -> Voice:
        """``emx_voice_load_memory``: ``{bundle-relative path: bytes}`` (at least voice.json and
        weights.safetensors); the library copies them."""
        ffi, lib = _ffi(), _lib()
        keep = []  # the cdata that must live until the call returns
        array = ffi.new("emx_voice_file[]", max(1, len(files)))
        for i, (name, data) in enumerate(files.items()):
            c_name, c_data = ffi.new("char[]", str(name).encode()), ffi.from_buffer(data)
            keep += [c_name, c_data]
            array[i].path, array[i].data, array[i].size = c_name, c_data, len(c_data)
        config = ffi.new("emx_voice_config *")
        lib.emx_voice_config_default(config)
        config.verify_hashes = int(bool(verify_hashes))
        out = ffi.new("emx_voice **")
        _call("emx_voice_load_memory", array, len(files), config, out)
        return cls(out[0], lib.emx_voice_free)

    @property
    def name(self) -> str:
        out = _ffi().new("const char **")
        _call("emx_voice_name", self.handle, out)
        return _string(out[0])

    @property
    def sample_rate(self) -> int:
        out = _ffi().new("uint32_t *")
        _call("emx_voice_sample_rate", self.handle, out)
        return int(out[0])

    @property
    def emotions(self) -> list[EmotionInfo]:
        """Every emotion in the voice's order, with its valence, arousal and dominance."""
        ffi = _ffi()
        count = ffi.new("size_t *")
        _call("emx_voice_emotion_count", self.handle, count)
        info = ffi.new("emx_emotion_info *")
        out = []
        for i in range(int(count[0])):
            info.struct_size = ffi.sizeof("emx_emotion_info")
            _call("emx_voice_emotion", self.handle, i, info)
            out.append(EmotionInfo(_string(info.name), float(info.valence), float(info.arousal),
                                   float(info.dominance)))
        return out

    @property
    def speakers(self) -> list[str]:
        ffi = _ffi()
        count = ffi.new("size_t *")
        _call("emx_voice_speaker_count", self.handle, count)
        name = ffi.new("const char **")
        out = []
        for i in range(int(count[0])):
            _call("emx_voice_speaker", self.handle, i, name)
            out.append(_string(name[0]))
        return out

    @property
    def default_speaker(self) -> str:
        out = _ffi().new("const char **")
        _call("emx_voice_default_speaker", self.handle, out)
        return _string(out[0])

    def generation_config(self, **fields: Any) -> Any:
        """A new ``emx_generation_config *`` with this voice's defaults
        (``emx_generation_config_default``), then ``fields`` set on it.

        ``emotions`` / ``speakers``: ``{name: weight}`` or one name; ``keyframes``:
        ``[(position, {emotion: weight}), ...]``; ``solver`` / ``preset``: a name (``"heun"``,
        ``"blend"``) or the enum's value; any other field of the struct by its C name.
        """
        ffi = _ffi()
        config = ffi.new("emx_generation_config *")
        _call("emx_generation_config_default", self.handle, config)
        return configure(config, **fields)

    def synthesize(self, text: str | bytes, config: Any = None, threads: int = 1) -> np.ndarray:
        """``emx_voice_synthesize``: a whole line from a config (default: the voice's defaults),
        float32 ``(samples,)`` at :attr:`sample_rate`. ``config`` is a cdata from
        :meth:`generation_config` or a dict of its fields."""
        return _audio("emx_voice_synthesize", self.handle, _text(text), self._config(config),
                      int(threads))

    def _config(self, config: Any) -> Any:
        if config is None:
            return self.generation_config()
        if isinstance(config, Mapping):
            return self.generation_config(**config)
        return config


def configure(config: Any, **fields: Any) -> Any:
    """Sets fields of an ``emx_generation_config *`` the Pythonic way (see
    :meth:`Voice.generation_config`); returns it."""
    for key, value in fields.items():
        if key == "emotions":
            config.n_emotions = _fill_weights(config.emotions, value, EMX_MAX_EMOTIONS,
                                              "emotions")
        elif key == "speakers":
            config.n_speakers = _fill_weights(config.speakers, value, EMX_MAX_SPEAKERS,
                                              "speakers")
        elif key == "keyframes":
            if len(value) > EMX_MAX_KEYFRAMES:
                raise ValueError(f"{len(value)} keyframes; the C ABI takes at most "
                                 f"{EMX_MAX_KEYFRAMES}")
            for i, (position, mix) in enumerate(value):
                config.keyframes[i].position = float(position)
                config.keyframes[i].n_emotions = _fill_weights(
                    config.keyframes[i].emotions, mix, EMX_MAX_EMOTIONS, "emotions")
            config.n_keyframes = len(value)
        elif key == "solver":
            config.solver = _enum(value, SOLVERS, "solver")
        elif key == "preset":
            config.preset = _enum(value, PRESETS, "preset")
        else:
            try:
                setattr(config, key, value)
            except AttributeError:
                raise ValueError(f"emx_generation_config has no field {key!r}") from None
    return config


class Character(_Handle):
    """A speaker blend and an emotion state on a voice (``emx_character``).

    Its clock (seconds, :attr:`time`) times transitions; it moves by :meth:`advance` and by the
    audio its lines produce. The setters may be called from any thread, also while a line is
    being read.
    """

    _kind = "character"

    def __init__(self, ptr: Any, voice: Voice) -> None:
        super().__init__(ptr, _lib().emx_character_free)
        self.voice = voice

    @classmethod
    def create(cls, voice: Voice, speakers: Mapping[str, float] | str | None = None,
               threads: int = 1, **frames: int) -> Character:
        """``emx_character_create``. ``speakers``: a blend or one name (default: the voice's
        default speaker); ``frames``: the block sizes of ``emx_character_config``
        (``first_block_frames``, ``block_frames``, ``context_frames``, ``crossfade_frames``,
        ``vocoder_chunk_frames``)."""
        ffi = _ffi()
        config = ffi.new("emx_character_config *")
        _lib().emx_character_config_default(config)
        if speakers is not None:
            config.n_speakers = _fill_weights(config.speakers, speakers, EMX_MAX_SPEAKERS,
                                              "speakers")
        config.threads = int(threads)
        for key, value in frames.items():
            if key not in ("first_block_frames", "block_frames", "context_frames",
                           "crossfade_frames", "vocoder_chunk_frames"):
                raise ValueError(f"emx_character_config has no field {key!r}")
            setattr(config, key, int(value))
        out = ffi.new("emx_character **")
        _call("emx_character_create", voice.handle, config, out)
        return cls(out[0], voice)

    @property
    def sample_rate(self) -> int:
        return self.voice.sample_rate

    def set_speakers(self, speakers: Mapping[str, float] | str) -> Character:
        array, n = _weights(speakers, EMX_MAX_SPEAKERS, "speakers")
        _call("emx_character_set_speakers", self.handle, array, n)
        return self

    def set_mix(self, mix: Mapping[str, float] | str) -> Character:
        """Weights (normalised by the library); cancels a running transition."""
        array, n = _weights(mix, EMX_MAX_EMOTIONS, "emotions")
        _call("emx_character_set_mix", self.handle, array, n)
        return self

    def set_emotion(self, name: str, intensity: float = 1.0) -> Character:
        _call("emx_character_set_emotion", self.handle, name.encode(), float(intensity))
        return self

    def set_intensity(self, intensity: float) -> Character:
        _call("emx_character_set_intensity", self.handle, float(intensity))
        return self

    def set_valence_arousal(self, valence: float, arousal: float) -> Character:
        _call("emx_character_set_valence_arousal", self.handle, float(valence), float(arousal))
        return self

    def transition_to(self, target: Mapping[str, float] | str, seconds: float,
                      curve: str | int = "linear", intensity: float | None = None) -> Character:
        """From the value now to ``target`` over ``seconds`` of the character's clock;
        ``intensity=None`` keeps the intensity now."""
        array, n = _weights(target, EMX_MAX_EMOTIONS, "emotions")
        _call("emx_character_transition_to", self.handle, array, n,
              -1.0 if intensity is None else float(intensity), float(seconds),
              _enum(curve, CURVES, "curve"))
        return self

    def advance(self, seconds: float) -> Character:
        _call("emx_character_advance", self.handle, float(seconds))
        return self

    @property
    def time(self) -> float:
        out = _ffi().new("double *")
        _call("emx_character_time", self.handle, out)
        return float(out[0])

    def mix(self) -> tuple[dict[str, float], float]:
        """``({emotion: weight}, intensity)`` at the clock now (largest weight first)."""
        ffi = _ffi()
        n, intensity = ffi.new("size_t *"), ffi.new("double *")
        capacity = EMX_MAX_EMOTIONS
        while True:
            out = ffi.new("emx_weight[]", capacity)
            _call("emx_character_mix", self.handle, out, capacity, n, intensity)
            if int(n[0]) <= capacity:
                return read_weights(out, int(n[0])), float(intensity[0])
            capacity = int(n[0])

    @property
    def transitioning(self) -> bool:
        out = _ffi().new("int32_t *")
        _call("emx_character_transitioning", self.handle, out)
        return bool(out[0])

    def say(self, text: str | bytes, config: Any = None) -> np.ndarray:
        """``emx_character_say``: the whole line, float32 ``(samples,)``. ``config``: its
        sampler fields apply (a cdata or a dict of fields; default: the voice's, seed 0)."""
        return _audio("emx_character_say", self.handle, _text(text), self._config(config))

    def say_begin(self, text: str | bytes, config: Any = None) -> Line:
        """``emx_character_say_begin``: a :class:`Line` whose audio is made as it is read."""
        out = _ffi().new("emx_line **")
        _call("emx_character_say_begin", self.handle, _text(text), self._config(config), out)
        return Line(out[0], self)

    def _config(self, config: Any) -> Any:
        if config is None:
            return _ffi().NULL
        if isinstance(config, Mapping):
            return self.voice.generation_config(**config)
        return config


class Line(_Handle):
    """One line being spoken (``emx_line``), read by one thread at a time."""

    _kind = "line"

    def __init__(self, ptr: Any, character: Character) -> None:
        super().__init__(ptr, _lib().emx_line_free)
        self.character = character
        self._buffer: Any = None
        self._written = _ffi().new("size_t *")

    @property
    def length(self) -> int:
        """Samples of the whole line."""
        out = _ffi().new("size_t *")
        _call("emx_line_length", self.handle, out)
        return int(out[0])

    def read(self, max_samples: int = 4096) -> np.ndarray | None:
        """``emx_line_read``: the next (at most ``max_samples``) float32 samples, or ``None``
        once the line has ended."""
        ffi = _ffi()
        if self._buffer is None or len(self._buffer) < max_samples:
            self._buffer = ffi.new("float[]", max(1, int(max_samples)))
        code = _call("emx_line_read", self.handle, self._buffer, int(max_samples), self._written)
        if code == _lib().EMX_END:
            return None
        n = int(self._written[0])
        return np.frombuffer(ffi.buffer(self._buffer, 4 * n), np.float32).copy()

    def __iter__(self):
        while (chunk := self.read()) is not None:
            yield chunk


class Stream(_Handle):
    """A character's lines rendered by the library's producer thread into a ring that
    :meth:`read` drains (``emx_stream``). :meth:`read` from one thread only."""

    _kind = "stream"

    def __init__(self, ptr: Any, character: Character) -> None:
        super().__init__(ptr, _lib().emx_stream_free)
        self.character = character
        self._buffer: Any = None
        self._written = _ffi().new("size_t *")
        #: whether the last :meth:`read` answered EMX_END (nothing queued, playing or buffered)
        self.ended = False

    @classmethod
    def create(cls, character: Character, capacity_samples: int = 0,
               max_queued_lines: int = 0) -> Stream:
        """``emx_stream_create`` (0: the library's defaults, 2 s of audio and 16 lines)."""
        ffi = _ffi()
        config = ffi.new("emx_stream_config *")
        _lib().emx_stream_config_default(config)
        config.capacity_samples = int(capacity_samples)
        config.max_queued_lines = int(max_queued_lines)
        out = ffi.new("emx_stream **")
        _call("emx_stream_create", character.handle, config, out)
        return cls(out[0], character)

    def queue(self, text: str | bytes, config: Any = None) -> Stream:
        _call("emx_stream_queue", self.handle, _text(text), self.character._config(config))
        return self

    def interrupt(self) -> Stream:
        _call("emx_stream_interrupt", self.handle)
        return self

    def read(self, n: int) -> tuple[np.ndarray, int]:
        """``emx_stream_read``: ``(n float32 samples, how many are audio)``; the rest are
        silence. :attr:`ended` tells whether it answered EMX_END."""
        ffi = _ffi()
        if self._buffer is None or len(self._buffer) < n:
            self._buffer = ffi.new("float[]", max(1, int(n)))
        code = _call("emx_stream_read", self.handle, self._buffer, int(n), self._written)
        self.ended = code == _lib().EMX_END
        out = np.frombuffer(ffi.buffer(self._buffer, 4 * int(n)), np.float32).copy()
        return out, int(self._written[0])

    def stats(self) -> dict[str, int]:
        """``emx_stream_stats_get``: samples_read, underruns, queued_lines, last_error."""
        ffi = _ffi()
        stats = ffi.new("emx_stream_stats *")
        stats.struct_size = ffi.sizeof("emx_stream_stats")
        _call("emx_stream_stats_get", self.handle, stats)
        return {"samples_read": int(stats.samples_read), "underruns": int(stats.underruns),
                "queued_lines": int(stats.queued_lines), "last_error": int(stats.last_error)}

    def stop(self) -> Stream:
        _call("emx_stream_stop", self.handle)
        return self


def voice_files(path: str | os.PathLike[str]) -> dict[str, bytes]:
    """A bundle directory's files as :meth:`Voice.load_memory` takes them."""
    root = Path(path)
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for p in sorted(root.rglob("*")) if p.is_file()}
