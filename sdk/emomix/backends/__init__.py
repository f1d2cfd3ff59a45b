"""Backends run a voice's networks; the sampler loop is shared by all of them."""

from __future__ import annotations

from typing import Any

from .base import Backend

#: backend name → "module:class" (imported lazily so that torch is only imported when asked for)
BACKENDS: dict[str, str] = {
    "torch": "emomix.backends.torch_backend:TorchBackend",
    "onnx": "emomix.backends.onnx_backend:OnnxBackend",
    "native": "emomix.backends.native_backend:NativeBackend",
    "tensorrt": "emomix.backends.tensorrt_backend:TensorRTBackend",
}


def create_backend(name: str, bundle: Any, **options: Any) -> Backend:
    """Instantiate backend ``name`` for a loaded :class:`~emomix.voice.VoiceBundle`."""
    if name not in BACKENDS:
        raise ValueError(f"unknown backend {name!r}; available: {', '.join(sorted(BACKENDS))}")
    import importlib

    module_name, cls_name = BACKENDS[name].split(":")
    cls = getattr(importlib.import_module(module_name), cls_name)
    return cls(bundle, **options)


__all__ = ["BACKENDS", "Backend", "create_backend"]
