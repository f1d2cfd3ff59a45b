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


#: what ``backend=`` and the CLI's ``--backend`` accept: ``auto`` picks with :func:`auto_backend`
BACKEND_CHOICES: tuple[str, ...] = ("auto", *sorted(BACKENDS))


def native_available() -> bool:
    """Whether the compiled runtime ``emomix._native`` is built and current."""
    try:
        from .. import _native
    except ImportError:
        return False
    return hasattr(_native, "Session")


def auto_backend(bundle: Any) -> str:
    """The runtime for ``backend="auto"``: ``native`` where ``emomix._native`` is built, else
    ``onnx`` where onnxruntime is installed and the voice has its exported graphs, else
    ``torch`` (the training and reference backend)."""
    if native_available():
        return "native"
    import importlib.util

    if importlib.util.find_spec("onnxruntime") is not None:
        from ..voice.export_contract import onnx_relpath, required_networks

        if all((bundle.path / onnx_relpath(n)).is_file() for n in required_networks(bundle)):
            return "onnx"
    return "torch"


def create_backend(name: str, bundle: Any, **options: Any) -> Backend:
    """Instantiate backend ``name`` (or ``"auto"``: :func:`auto_backend`) for a loaded
    :class:`~emomix.voice.VoiceBundle`."""
    if name == "auto":
        name = auto_backend(bundle)
    if name not in BACKENDS:
        raise ValueError(f"unknown backend {name!r}; available: {', '.join(BACKEND_CHOICES)}")
    import importlib

    module_name, cls_name = BACKENDS[name].split(":")
    cls = getattr(importlib.import_module(module_name), cls_name)
    return cls(bundle, **options)


__all__ = ["BACKENDS", "BACKEND_CHOICES", "Backend", "auto_backend", "create_backend",
           "native_available"]
