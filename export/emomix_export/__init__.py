"""emomix export tooling: torch → ONNX (→ TensorRT) for a voice bundle.

    from emomix_export import export_voice
    report = export_voice("my_voice", onnx=True)   # writes my_voice/onnx/*.onnx, updates voice.json

Command line: ``emomix export VOICE_DIR --onnx [--tensorrt] [--fp16] [--out DIR]``.
See ``docs/export.md``. Needs the ``export`` extra (torch, onnx, onnxruntime).
"""

from __future__ import annotations

from .onnx_export import (
    EXPORTER_VERSION,
    OPSET,
    ExportReport,
    export_key,
    export_voice,
    graph_metadata,
)
from .specs import SPECS, NetworkSpec, TensorSpec
from .validate import RTOL_FP32, ExportValidationError, rel_l2

__all__ = [
    "EXPORTER_VERSION",
    "OPSET",
    "RTOL_FP32",
    "SPECS",
    "ExportReport",
    "ExportValidationError",
    "NetworkSpec",
    "TensorSpec",
    "export_key",
    "export_voice",
    "graph_metadata",
    "rel_l2",
]
