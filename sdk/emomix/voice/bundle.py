"""Voice bundles: save, load, validate (``docs/voices.md``).

A voice bundle is a directory — the contract between training, export and every runtime::

    my_voice/
      voice.json             metadata (schema: emomix.voice.schema), written last
      weights.safetensors    every network's weights, float32 or float16 on disk
      onnx/*.onnx            optional, written by export tooling
      tensorrt/*.plan        optional, built on the target GPU

numpy + safetensors only: runtimes without torch read bundles too. Nothing here is slow except
hashing (``load_bundle(verify_hashes=True)`` reads every listed file once).

Thread safety: functions are pure except for the files they write; a :class:`VoiceBundle` is
immutable after loading and may be shared between threads.
"""

from __future__ import annotations

import copy
import datetime as _dt
import hashlib
import json
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Literal, NoReturn

import numpy as np
import safetensors.numpy

from emomix import _schema
from emomix.errors import VoiceBundleError
from emomix.voice.safetensors_header import (
    FLOAT_DTYPES,
    TensorSpec,
    read_safetensors_header,
)
from emomix.voice.schema import (
    FORMAT,
    FORMAT_VERSION,
    META_FILE,
    WEIGHTS_FILE,
    AudioSettings,
    Emotion,
    SamplerDefaults,
    _validate,
    check_relative_path,
    validate_meta,
)

__all__ = [
    "VoiceBundle",
    "save_bundle",
    "load_bundle",
    "validate_meta",
    "load_weights",
    "update_file_hashes",
    "sha256_file",
]

_HASH_CHUNK = 1 << 20
_MODIFIED_HINT = "file was modified or corrupted after export; re-export or re-download the voice"


@dataclass(frozen=True)
class VoiceBundle:
    """A validated voice bundle: its directory and the parsed ``voice.json``.

    ``meta`` is the raw JSON object (treat it as read-only); the properties below are typed
    views of it. Weights are not loaded until :func:`load_weights`.
    """

    path: Path
    meta: dict[str, Any] = field(repr=False)

    # -- identity ------------------------------------------------------------------------
    @property
    def name(self) -> str:
        return self.meta["name"]

    @property
    def description(self) -> str:
        return self.meta["description"]

    @property
    def format_version(self) -> int:
        return self.meta["format_version"]

    # -- model ---------------------------------------------------------------------------
    @property
    def parameterisation(self) -> str:
        """``"flow"`` or ``"score"``."""
        return self.meta["model"]["parameterisation"]

    @property
    def model_config(self) -> dict[str, Any]:
        """Model hyperparameters (``emomix.config.ModelConfig.to_dict()``), a copy."""
        return copy.deepcopy(self.meta["model"]["config"])

    @property
    def pitch_config(self) -> Any:
        """The :class:`emomix.config.PitchConfig` of a voice with a pitch predictor (model
        config ``pitch.enabled``), else ``None`` (the section is optional)."""
        from emomix.config import PitchConfig

        pitch = PitchConfig.from_dict(self.meta["model"]["config"].get("pitch", {}))
        return pitch if pitch.enabled else None

    @property
    def emotion_dim(self) -> int:
        return len(self.meta["emotions"]["neutral"]["embedding"])

    # -- audio, text, speakers, emotions, sampler ----------------------------------------
    @cached_property
    def audio(self) -> AudioSettings:
        return AudioSettings.from_dict(self.meta["audio"])

    @cached_property
    def symbols(self) -> list[str]:
        """The symbol table: ``symbols[i]`` is the symbol with id ``i``; ``symbols[0] == "_"``."""
        return list(self.meta["symbols"]["table"])

    @cached_property
    def symbol_ids(self) -> dict[str, int]:
        """symbol -> id."""
        return {s: i for i, s in enumerate(self.meta["symbols"]["table"])}

    @property
    def language(self) -> str:
        return self.meta["symbols"]["language"]

    @cached_property
    def speakers(self) -> dict[str, int]:
        """speaker name -> id (ids are 0..n-1)."""
        return dict(self.meta["speakers"])

    @property
    def default_speaker(self) -> str:
        """Who speaks when a call names no speaker: ``voice.json`` ``default_speaker``, else the
        speaker with id 0."""
        speakers = self.meta["speakers"]
        return self.meta.get("default_speaker") or min(speakers, key=speakers.__getitem__)

    @cached_property
    def emotions(self) -> dict[str, Emotion]:
        """emotion name -> ``Emotion(embedding (emotion_dim,) float32 read-only, vad)``."""
        out: dict[str, Emotion] = {}
        for name, entry in self.meta["emotions"].items():
            emb = np.asarray(entry["embedding"], dtype=np.float32)
            emb.setflags(write=False)
            v, a, d = (float(x) for x in entry["vad"])
            out[name] = Emotion(emb, (v, a, d))
        return out

    @cached_property
    def sampler(self) -> SamplerDefaults:
        return SamplerDefaults.from_dict(self.meta["sampler"])

    # -- files ---------------------------------------------------------------------------
    @property
    def files(self) -> dict[str, dict[str, Any]]:
        """relative path -> ``{"sha256": hex, "bytes": size}``, a copy."""
        return copy.deepcopy(self.meta["files"])

    @property
    def provenance(self) -> dict[str, Any]:
        return copy.deepcopy(self.meta["provenance"])

    @property
    def meta_path(self) -> Path:
        return self.path / META_FILE

    @property
    def weights_path(self) -> Path:
        return self.path / WEIGHTS_FILE

    def file_path(self, rel: str) -> Path:
        """Absolute path of a file listed in ``files`` (e.g. ``"onnx/denoiser.onnx"``)."""
        if rel not in self.meta["files"]:
            raise KeyError(
                f"{rel!r} is not listed in {self.meta_path} (files: "
                f"{', '.join(self.meta['files'])})"
            )
        return self.path / rel

    def weight_specs(self) -> dict[str, TensorSpec]:
        """name -> ``TensorSpec(dtype, shape, begin, end)`` from the weights header, without
        loading any tensor data."""
        return read_safetensors_header(self.weights_path, label=WEIGHTS_FILE).tensors


# --------------------------------------------------------------------------------------------
# Hashing and atomic writes


def sha256_file(path: str | os.PathLike[str], *, chunk_size: int = _HASH_CHUNK) -> str:
    """Lowercase hex sha256 of a file, read in ``chunk_size`` chunks (constant memory)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(chunk_size):
            h.update(chunk)
    return h.hexdigest()


def _file_entry(path: Path) -> dict[str, Any]:
    return {"sha256": sha256_file(path), "bytes": path.stat().st_size}


def _temp_path(final: Path) -> Path:
    """A new empty file beside ``final`` (a dot-file, so hashing skips it) with the mode of any
    newly created file: 0o666 less the process umask (``mkstemp`` would make it 0o600, and the
    rename would carry that onto the bundle's files)."""
    for _ in range(100):
        tmp = final.parent / f".{final.name}.{secrets.token_hex(6)}.tmp"
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            continue
        os.close(fd)
        return tmp
    raise FileExistsError(f"could not create a temporary file beside {final}")


def _fsync_file(path: Path) -> None:
    with open(path, "rb+") as f:
        os.fsync(f.fileno())


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # e.g. Windows: directories cannot be opened
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _atomic_write(final: Path, write: Any) -> None:
    """Write via ``write(temp_path)`` then rename over ``final``: readers see the old file or the
    new one, never half of one. ``final`` gets the mode of any newly created file (0o666 less
    the process umask), whatever mode ``write`` left."""
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = _temp_path(final)
    try:
        mode = tmp.stat().st_mode & 0o777
        write(tmp)
        os.chmod(tmp, mode)  # some writers (safetensors) replace the file with a 0o600 one
        _fsync_file(tmp)
        os.replace(tmp, final)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(final.parent)


def _write_meta(bundle_dir: Path, meta: dict[str, Any]) -> None:
    text = json.dumps(meta, indent=2, ensure_ascii=False, allow_nan=False) + "\n"
    _atomic_write(bundle_dir / META_FILE, lambda p: p.write_text(text, encoding="utf-8"))


# --------------------------------------------------------------------------------------------
# Save


def _jsonable(obj: Any) -> Any:
    """numpy arrays/scalars and tuples -> plain JSON types (so callers may pass embeddings as
    arrays)."""
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, Mapping):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, Path):
        return str(obj)
    return obj


def _prepare_weights(
    weights: Mapping[str, np.ndarray], dtype: str, weights_path: Path
) -> dict[str, np.ndarray]:
    def fail(name: str, problem: str, hint: str) -> NoReturn:
        raise VoiceBundleError(
            problem, path=weights_path, field=f"{WEIGHTS_FILE}:{name}", hint=hint
        )

    if not weights:
        raise VoiceBundleError(
            "no weights given",
            path=weights_path,
            field=WEIGHTS_FILE,
            hint="pass the model's state dict as numpy arrays",
        )
    target = np.dtype(dtype)
    out: dict[str, np.ndarray] = {}
    for name, value in weights.items():
        if not isinstance(name, str) or not name or name == "__metadata__":
            fail(str(name), "invalid tensor name", "use the torch module's parameter names")
        arr = np.asarray(value)
        if arr.dtype.kind == "f":
            if not np.isfinite(arr).all():
                bad = int(np.size(arr) - np.count_nonzero(np.isfinite(arr)))
                fail(name, f"contains {bad} NaN/inf values", "fix training before exporting")
            with np.errstate(over="ignore"):
                cast = arr.astype(target)
            if not np.isfinite(cast).all():
                fail(
                    name,
                    f"has values beyond the {dtype} range (max |x| = {float(np.abs(arr).max()):g})",
                    "save with dtype='float32'",
                )
            arr = cast
        elif arr.dtype.kind not in "biu" or arr.dtype.itemsize > 8:
            fail(name, f"dtype {arr.dtype} cannot be stored", "convert to float32 or an int type")
        out[name] = arr if arr.flags.c_contiguous else arr.copy(order="C")  # keeps 0-d shape
    return out


def save_bundle(
    path: str | os.PathLike[str],
    meta: Mapping[str, Any],
    weights: Mapping[str, np.ndarray],
    *,
    dtype: Literal["float32", "float16"] = "float32",
    extra_files: Mapping[str, bytes] | None = None,
) -> VoiceBundle:
    """Write a voice bundle directory and return it, validated.

    Args:
        path: the bundle directory; created if missing. An existing bundle there is replaced
            (its ``voice.json`` is removed first, so a crash mid-write leaves no valid bundle
            rather than a mismatched one).
        meta: ``voice.json`` contents without ``files`` (computed here). ``format`` and
            ``format_version`` are filled in when absent; ``provenance.created`` (UTC ISO-8601)
            too. Embeddings may be numpy arrays.
        weights: tensor name (as in the torch modules) -> array. Floating arrays are stored as
            ``dtype``; integer/bool buffers unchanged.
        dtype: storage precision of floating weights. ``load_weights`` returns float32 either way.
        extra_files: bundle-relative POSIX path -> bytes, e.g. ``{"onnx/encoder.onnx": b"..."}``.

    Every file is written to a temporary name and renamed into place; ``voice.json`` is written
    last, with the sha256 and size of every other file.
    """
    if dtype not in ("float32", "float16"):
        raise ValueError(f"dtype must be 'float32' or 'float16', got {dtype!r}")
    bundle_dir = Path(path)
    meta_path = bundle_dir / META_FILE
    weights_path = bundle_dir / WEIGHTS_FILE

    m = _jsonable(meta)
    if not isinstance(m, dict):
        validate_meta(m, bundle_dir)  # raises: not an object
    m.setdefault("format", FORMAT)
    m.setdefault("format_version", FORMAT_VERSION)
    if isinstance(m.get("provenance"), dict):
        m["provenance"].setdefault(
            "created", _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
        )
    m.pop("files", None)
    _validate(m, meta_path, require_files=False)

    extra = dict(extra_files or {})
    for rel, data in extra.items():
        why = check_relative_path(rel) or (
            f"{WEIGHTS_FILE} is written from `weights`" if rel == WEIGHTS_FILE else None
        )
        if why:
            raise VoiceBundleError(
                f"extra file path {rel!r} {why}",
                path=bundle_dir,
                field=f"{META_FILE}:files.{rel}",
                hint="use a relative path such as 'onnx/encoder.onnx'",
            )
        if not isinstance(data, bytes | bytearray | memoryview):
            raise TypeError(f"extra_files[{rel!r}] must be bytes, got {type(data).__name__}")
    tensors = _prepare_weights(weights, dtype, weights_path)

    bundle_dir.mkdir(parents=True, exist_ok=True)
    meta_path.unlink(missing_ok=True)

    st_meta = {"format": FORMAT, "format_version": str(FORMAT_VERSION), "dtype": dtype}
    _atomic_write(
        weights_path, lambda p: safetensors.numpy.save_file(tensors, str(p), metadata=st_meta)
    )
    files = {WEIGHTS_FILE: _file_entry(weights_path)}
    for rel, data in sorted(extra.items()):
        target = bundle_dir / rel
        _atomic_write(target, lambda p, d=bytes(data): p.write_bytes(d))
        files[rel] = _file_entry(target)

    m["files"] = files
    validate_meta(m, meta_path)
    _write_meta(bundle_dir, m)
    return VoiceBundle(bundle_dir, m)


# --------------------------------------------------------------------------------------------
# Load


def _read_meta(meta_path: Path) -> Any:
    fail_hint = "re-export or re-download the voice"
    try:
        raw = meta_path.read_bytes()
    except OSError as e:
        raise VoiceBundleError(
            f"cannot be read: {e.strerror or e}",
            path=meta_path,
            field=META_FILE,
            hint="check the file permissions",
        ) from e
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise VoiceBundleError(
            f"is not UTF-8 text (byte {e.start})", path=meta_path, field=META_FILE, hint=fail_hint
        ) from e
    try:
        return _schema.loads(text)
    except json.JSONDecodeError as e:
        truncated = not text.strip() or e.pos >= len(text.rstrip())
        problem = f"is not valid JSON: {e.msg} at line {e.lineno} column {e.colno}"
        if truncated:
            problem += " (the file is empty or truncated)"
        raise VoiceBundleError(problem, path=meta_path, field=META_FILE, hint=fail_hint) from e
    except _schema.JSONRuleError as e:
        raise VoiceBundleError(
            f"is not valid: {e}", path=meta_path, field=META_FILE, hint=fail_hint
        ) from None


def _resolve_dir(path: str | os.PathLike[str]) -> Path:
    p = Path(path)
    if p.name == META_FILE and p.is_file():
        return p.parent
    if not p.exists():
        raise VoiceBundleError(
            "voice bundle directory does not exist",
            path=p,
            field=META_FILE,
            hint="check the path; a voice bundle is a directory holding "
            "voice.json and weights.safetensors",
        )
    if not p.is_dir():
        raise VoiceBundleError(
            "is not a directory",
            path=p,
            field=META_FILE,
            hint="pass the voice bundle directory (the one holding voice.json)",
        )
    if not (p / META_FILE).is_file():
        raise VoiceBundleError(
            "voice.json is missing from the bundle directory",
            path=p / META_FILE,
            field=META_FILE,
            hint="a voice bundle directory holds voice.json and "
            "weights.safetensors; copy the whole bundle, or re-export it",
        )
    return p


def _check_files(bundle_dir: Path, files: dict[str, dict[str, Any]], verify_hashes: bool) -> None:
    for rel, entry in files.items():
        f = bundle_dir / rel
        field_ = f"{META_FILE}:files.{rel}"
        if not f.is_file():
            raise VoiceBundleError(
                "file listed in voice.json is missing",
                path=f,
                field=field_,
                hint="copy the whole bundle directory; or re-export or re-download the voice",
            )
        size = f.stat().st_size
        if size != entry["bytes"]:
            raise VoiceBundleError(
                f"file has {size} bytes but voice.json lists {entry['bytes']}",
                path=f,
                field=f"{field_}.bytes",
                hint=_MODIFIED_HINT,
            )
        if verify_hashes:
            digest = sha256_file(f)
            if digest != entry["sha256"]:
                raise VoiceBundleError(
                    f"sha256 is {digest} but voice.json lists {entry['sha256']}",
                    path=f,
                    field=f"{field_}.sha256",
                    hint=_MODIFIED_HINT,
                )


def load_bundle(path: str | os.PathLike[str], *, verify_hashes: bool = True) -> VoiceBundle:
    """Open and validate the voice bundle at ``path`` (its directory, or its ``voice.json``).

    Checks, in order: the directory and ``voice.json`` exist; ``voice.json`` is UTF-8 JSON;
    :func:`validate_meta`; every listed file exists with the listed size and — when
    ``verify_hashes`` (default) — the listed sha256; the weights header parses and tiles the
    file. Tensor values are checked by :func:`load_weights`. Raises :class:`VoiceBundleError`
    naming the file and field at fault.

    ``verify_hashes=False`` skips hashing (reading every byte of every listed file) for fast
    start-up of a bundle already verified, e.g. right after download.
    """
    bundle_dir = _resolve_dir(path)
    meta_path = bundle_dir / META_FILE
    meta = _read_meta(meta_path)
    validate_meta(meta, meta_path)
    _check_files(bundle_dir, meta["files"], verify_hashes)
    read_safetensors_header(bundle_dir / WEIGHTS_FILE, label=WEIGHTS_FILE)
    return VoiceBundle(bundle_dir, meta)


def load_weights(bundle: VoiceBundle, *, dtype: Any = np.float32) -> dict[str, np.ndarray]:
    """Load every tensor of ``weights.safetensors``: name -> array.

    Floating tensors (float16 or float32 on disk) are returned as ``dtype`` (float32 by default;
    ``None`` keeps the stored precision); integer/bool buffers unchanged. Checks the header
    (names, dtypes, shapes, offsets, file length), that the file still has the size listed in
    ``voice.json``, and that no floating tensor holds NaN or infinity. Raises
    :class:`VoiceBundleError` naming ``weights.safetensors:<tensor>``.
    """
    wpath = bundle.weights_path
    listed = bundle.meta["files"][WEIGHTS_FILE]["bytes"]
    if not wpath.is_file():
        raise VoiceBundleError(
            "file listed in voice.json is missing",
            path=wpath,
            field=f"{META_FILE}:files.{WEIGHTS_FILE}",
            hint="re-export or re-download the voice",
        )
    if wpath.stat().st_size != listed:
        raise VoiceBundleError(
            f"file has {wpath.stat().st_size} bytes but voice.json lists {listed}",
            path=wpath,
            field=f"{META_FILE}:files.{WEIGHTS_FILE}.bytes",
            hint=_MODIFIED_HINT,
        )
    header = read_safetensors_header(wpath, label=WEIGHTS_FILE)
    try:
        loaded = safetensors.numpy.load_file(str(wpath))
    except Exception as e:  # safetensors raises its own SafetensorError / OSError
        raise VoiceBundleError(
            f"safetensors could not read the file: {e}",
            path=wpath,
            field=WEIGHTS_FILE,
            hint=_MODIFIED_HINT,
        ) from e

    target = None if dtype is None else np.dtype(dtype)
    out: dict[str, np.ndarray] = {}
    for name, spec in header.tensors.items():
        arr = loaded.get(name)
        field_ = f"{WEIGHTS_FILE}:{name}"
        if arr is None or arr.dtype != spec.numpy_dtype or arr.shape != spec.shape:
            raise VoiceBundleError(
                "tensor does not match the file header",
                path=wpath,
                field=field_,
                hint=_MODIFIED_HINT,
            )
        if spec.dtype in FLOAT_DTYPES:
            finite = np.isfinite(arr)
            if not finite.all():
                bad = int(finite.size - np.count_nonzero(finite))
                raise VoiceBundleError(
                    f"contains {bad} NaN/inf values",
                    path=wpath,
                    field=field_,
                    hint="the weights are corrupted or training diverged; re-export the voice "
                    "from a good checkpoint",
                )
            if target is not None:
                arr = arr.astype(target, copy=False)
        out[name] = arr
    return out


# --------------------------------------------------------------------------------------------
# Export tooling


def _scan_files(bundle_dir: Path) -> list[str]:
    rels: list[str] = []
    for p in sorted(bundle_dir.rglob("*")):
        rel = p.relative_to(bundle_dir).as_posix()
        if rel == META_FILE or any(part.startswith(".") for part in rel.split("/")):
            continue  # voice.json cannot hash itself; dot-files are temp/OS files
        if p.is_file() and not p.is_symlink():
            rels.append(rel)
    return rels


def update_file_hashes(bundle: VoiceBundle) -> VoiceBundle:
    """Re-hash every file in the bundle directory and rewrite ``voice.json``'s ``files``.

    For export tooling: write ``onnx/*.onnx`` (or a TensorRT plan) into the bundle, then call
    this. Lists every regular file under the directory except ``voice.json`` and dot-files;
    files that no longer exist drop out. ``voice.json`` is replaced atomically. Returns the
    updated bundle.
    """
    bundle_dir = Path(bundle.path)
    meta = copy.deepcopy(bundle.meta)
    meta["files"] = {rel: _file_entry(bundle_dir / rel) for rel in _scan_files(bundle_dir)}
    validate_meta(meta, bundle_dir / META_FILE)
    _write_meta(bundle_dir, meta)
    return VoiceBundle(bundle_dir, meta)
