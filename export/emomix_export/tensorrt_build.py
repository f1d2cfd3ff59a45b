"""ONNX → TensorRT engines (``tensorrt/<network>.plan``) with the specs' optimisation profiles.

Written against the documented TensorRT 10 Python API (``Builder``, ``OnnxParser``,
``IBuilderConfig`` with a timing cache, ``build_serialized_network``). UNTESTED HERE: TensorRT
cannot be installed on the development machine; the tests skip when ``tensorrt`` is missing.
A plan is specific to the GPU model and TensorRT version it was built with.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

from emomix.voice import VoiceBundle, sha256_file
from emomix.voice.export_contract import (
    ENGINE_NETWORKS,
    engine_key,
    onnx_relpath,
    plan_info_relpath,
    plan_relpath,
)

from .specs import SPECS

#: Timing cache shared by every build in a bundle (a dot-file: not listed in voice.json).
TIMING_CACHE = "tensorrt/.timing.cache"
WORKSPACE_BYTES = 1 << 30


def _import_tensorrt():
    """The ``tensorrt`` package, or an ImportError that says how to export without it (the
    TensorRT runtime backend's own import advises another backend instead)."""
    try:
        import tensorrt as trt
    except ImportError as exc:
        raise ImportError("TensorRT is not installed: pip install tensorrt (needs an NVIDIA GPU "
                          "and driver); or export without --tensorrt") from exc
    return trt


def build_engine(onnx_path: str | os.PathLike[str], plan_path: str | os.PathLike[str],
                 profile: dict[str, tuple[tuple[int, ...], ...]], *, fp16: bool = False,
                 timing_cache: str | os.PathLike[str] | None = None,
                 workspace_bytes: int = WORKSPACE_BYTES) -> None:
    """Parse ``onnx_path``, build an engine with ONE optimisation profile
    (``input → (min, opt, max)`` shapes), and write the serialised plan to ``plan_path``.
    ``timing_cache`` is read if present and written back after the build."""
    trt = _import_tensorrt()
    logger = trt.Logger(trt.Logger.WARNING)
    builder = trt.Builder(logger)
    flags = 0
    if hasattr(trt.NetworkDefinitionCreationFlag, "EXPLICIT_BATCH"):  # TensorRT < 10
        flags = 1 << int(trt.NetworkDefinitionCreationFlag.EXPLICIT_BATCH)
    network = builder.create_network(flags)
    parser = trt.OnnxParser(network, logger)
    if not parser.parse_from_file(str(onnx_path)):
        errors = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
        raise RuntimeError(f"{onnx_path}: TensorRT's ONNX parser failed: {errors}")
    config = builder.create_builder_config()
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, workspace_bytes)
    if fp16:
        config.set_flag(trt.BuilderFlag.FP16)
    cache_path = Path(timing_cache) if timing_cache else None
    cache_bytes = cache_path.read_bytes() if cache_path and cache_path.is_file() else b""
    cache = config.create_timing_cache(cache_bytes)
    config.set_timing_cache(cache, ignore_mismatch=False)
    opt_profile = builder.create_optimization_profile()
    for name, (lo, opt, hi) in profile.items():
        opt_profile.set_shape(name, lo, opt, hi)
    config.add_optimization_profile(opt_profile)
    serialized = builder.build_serialized_network(network, config)
    if serialized is None:
        raise RuntimeError(f"{onnx_path}: TensorRT failed to build an engine (see its log above)")
    plan_path = Path(plan_path)
    plan_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = plan_path.parent / f".{plan_path.name}.tmp"
    tmp.write_bytes(bytes(serialized))
    os.replace(tmp, plan_path)
    if cache_path is not None:
        cache_path.write_bytes(bytes(config.get_timing_cache().serialize()))


def build_engines(bundle: VoiceBundle, cfg, report, *, fp16: bool = False, force: bool = False,
                  log: Callable[[str], None] | None = None) -> None:
    """Build ``tensorrt/<network>.plan`` for :data:`ENGINE_NETWORKS`, skipping current ones
    (same ONNX sha256, TensorRT version, fp16 flag and profile, recorded in a sidecar JSON)."""
    trt = _import_tensorrt()
    log = log or (lambda msg: None)
    for network in ENGINE_NETWORKS:
        spec = SPECS[network]
        onnx_path = bundle.path / onnx_relpath(network)
        profile = spec.tensorrt_profile(cfg)
        key = engine_key(sha256_file(onnx_path), trt.__version__, fp16,
                         {k: [list(s) for s in v] for k, v in profile.items()})
        plan = bundle.path / plan_relpath(network)
        info_path = bundle.path / plan_info_relpath(network)
        if not force and plan.is_file() and info_path.is_file():
            if json.loads(info_path.read_text(encoding="utf-8")).get("key") == key:
                report.skipped.append(f"tensorrt:{network}")
                log(f"{plan_relpath(network)} is current (skipped)")
                continue
        log(f"building {plan_relpath(network)} (fp16={fp16}) ...")
        build_engine(onnx_path, plan, profile, fp16=fp16,
                     timing_cache=bundle.path / TIMING_CACHE)
        info = {"key": key, "onnx_sha256": sha256_file(onnx_path),
                "tensorrt_version": trt.__version__, "fp16": fp16,
                "profile": {k: [list(s) for s in v] for k, v in profile.items()}}
        info_path.write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
        report.built.append(f"tensorrt:{network}")
