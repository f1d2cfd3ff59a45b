"""Voice bundles: the directory format shared by training, export and every runtime.

See ``docs/voices.md``. numpy + safetensors only (no torch)::

    from emomix.voice import load_bundle, load_weights

    bundle = load_bundle("voices/default")      # validates voice.json, sizes, sha256, header
    happy, vad = bundle.emotions["happy"]       # (emotion_dim,) float32, (v, a, d)
    weights = load_weights(bundle)              # name -> float32 array

:mod:`emomix.voice.export_contract` is what an exported voice's ONNX graphs and TensorRT engines
must be: the exporter writes from it, the runtimes check against it.
"""

from __future__ import annotations

from emomix.errors import VoiceBundleError
from emomix.voice.bundle import (
    VoiceBundle,
    load_bundle,
    load_weights,
    save_bundle,
    sha256_file,
    update_file_hashes,
    validate_meta,
)
from emomix.voice.safetensors_header import TensorSpec
from emomix.voice.schema import (
    FORMAT,
    FORMAT_VERSION,
    META_FILE,
    PAD_SYMBOL,
    WEIGHTS_FILE,
    AudioSettings,
    Emotion,
    SamplerDefaults,
)

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "META_FILE",
    "PAD_SYMBOL",
    "WEIGHTS_FILE",
    "AudioSettings",
    "Emotion",
    "SamplerDefaults",
    "TensorSpec",
    "VoiceBundle",
    "VoiceBundleError",
    "load_bundle",
    "load_weights",
    "save_bundle",
    "sha256_file",
    "update_file_hashes",
    "validate_meta",
]
