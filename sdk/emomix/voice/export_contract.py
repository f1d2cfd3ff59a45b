"""The export contract: what an exported voice's ONNX graphs and TensorRT engines must be.

The one source of truth shared by the writer (``emomix_export``, which never imports a runtime
backend) and the readers (:mod:`emomix.backends.onnx_backend`,
:mod:`emomix.backends.tensorrt_backend`), so the two cannot drift apart. No torch, no runtime: it
reads only the bundle's metadata. See ``docs/export.md``.

- **Graphs**: which networks a voice exports (:func:`voice_networks`) and which a runtime needs
  (:func:`required_networks`); where each lives in the bundle (:func:`onnx_relpath`); the
  ``metadata_props`` each must carry to be current for the bundle's ``voice.json``
  (:data:`CONTRACT_KEYS`, :func:`expected_contract`, :func:`contract_mismatches`).
- **Engines**: which networks get a TensorRT engine (:data:`ENGINE_NETWORKS`), where the plan and
  its sidecar JSON live (:func:`plan_relpath`, :func:`plan_info_relpath`), and the key a plan is
  current for (:func:`engine_key`).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from .bundle import VoiceBundle
from .schema import WEIGHTS_FILE

__all__ = [
    "CONTRACT_VERSION",
    "NETWORKS",
    "REQUIRED_NETWORKS",
    "CONTRACT_KEYS",
    "ENGINE_NETWORKS",
    "onnx_relpath",
    "has_pitch",
    "voice_networks",
    "required_networks",
    "expected_contract",
    "contract_mismatches",
    "plan_relpath",
    "plan_info_relpath",
    "engine_key",
]

# ---------------------------------------------------------------- ONNX graphs

#: Version of the graph contract (input/output names, metadata keys). Bump on any change to an
#: existing network's graph; a new network that only some voices have (``pitch``) is not one:
#: a runtime asks for it by name and reports it missing (:func:`required_networks`).
CONTRACT_VERSION = 1
#: Every network ``emomix export`` writes for every voice, in build order; a voice with a
#: pitch predictor also gets ``pitch`` (:func:`voice_networks`).
NETWORKS = ("encoder", "denoiser", "vocoder", "ser")
#: The networks :class:`~emomix.backends.onnx_backend.OnnxBackend`
#: needs to synthesise (``ser`` is optional); a pitch voice
#: needs ``pitch`` too (:func:`required_networks`).
REQUIRED_NETWORKS = ("encoder", "denoiser", "vocoder")
#: Metadata keys a runtime checks against ``voice.json`` (all values are strings).
CONTRACT_KEYS = (
    "emomix.contract_version",
    "emomix.format_version",
    "emomix.network",
    "emomix.audio",
    "emomix.parameterisation",
    "emomix.symbols_sha256",
    "emomix.weights_sha256",
    "emomix.model_config_sha256",
)


def onnx_relpath(network: str) -> str:
    """Bundle-relative path of a network's graph, e.g. ``onnx/denoiser.onnx``."""
    return f"onnx/{network}.onnx"


def has_pitch(bundle: VoiceBundle) -> bool:
    """Whether the voice has a pitch predictor (model config ``pitch.enabled``; a config
    without the section has none)."""
    return bundle.pitch_config is not None


def voice_networks(bundle: VoiceBundle) -> tuple[str, ...]:
    """The networks ``emomix export`` writes for ``bundle``: :data:`NETWORKS`, plus ``pitch``
    for a voice with a pitch predictor."""
    return NETWORKS + (("pitch",) if has_pitch(bundle) else ())


def required_networks(bundle: VoiceBundle) -> tuple[str, ...]:
    """The graphs :class:`~emomix.backends.onnx_backend.OnnxBackend` opens when it is created (a
    stale export fails at load, not mid-line): :data:`REQUIRED_NETWORKS`, plus ``pitch`` for a
    voice with a pitch predictor."""
    return REQUIRED_NETWORKS + (("pitch",) if has_pitch(bundle) else ())


def _sha256_json(obj: Any) -> str:
    text = json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def expected_contract(bundle: VoiceBundle, network: str) -> dict[str, str]:
    """The ``metadata_props`` a graph of ``network`` must carry to be current for ``bundle``."""
    meta = bundle.meta
    return {
        "emomix.contract_version": str(CONTRACT_VERSION),
        "emomix.format_version": str(meta["format_version"]),
        "emomix.network": network,
        "emomix.audio": json.dumps(meta["audio"], sort_keys=True, separators=(",", ":")),
        "emomix.parameterisation": str(meta["model"]["parameterisation"]),
        "emomix.symbols_sha256": _sha256_json(list(meta["symbols"]["table"])),
        "emomix.weights_sha256": str(meta["files"][WEIGHTS_FILE]["sha256"]),
        "emomix.model_config_sha256": _sha256_json(meta["model"]["config"]),
    }


def contract_mismatches(bundle: VoiceBundle, network: str, props: dict[str, str]) -> list[str]:
    """Human-readable differences between a graph's metadata and ``bundle`` (empty = current)."""
    out = []
    for key, want in expected_contract(bundle, network).items():
        got = props.get(key)
        if got != want:
            shown = (got if got is None or len(got) <= 40 else got[:37] + "...")
            out.append(f"{key} is {shown!r}, voice.json implies "
                       f"{want if len(want) <= 40 else want[:37] + '...'!r}")
    return out


# ---------------------------------------------------------------- TensorRT engines

#: Networks ``--tensorrt`` builds engines for (the runner executes the denoiser step); every
#: other graph, ``pitch`` included, runs in ONNX Runtime.
ENGINE_NETWORKS = ("denoiser",)


def plan_relpath(network: str) -> str:
    """Bundle-relative path of a network's TensorRT engine, e.g. ``tensorrt/denoiser.plan``."""
    return f"tensorrt/{network}.plan"


def plan_info_relpath(network: str) -> str:
    """Sidecar JSON next to a plan: the ONNX sha256 and TensorRT version it was built from."""
    return f"tensorrt/{network}.json"


def engine_key(onnx_sha256: str, trt_version: str, fp16: bool, profile: Any) -> str:
    """Cache key of one engine build (a plan is only valid for the same GPU, too: rebuild
    after changing GPUs)."""
    payload = {"onnx": onnx_sha256, "tensorrt": trt_version, "fp16": bool(fp16),
               "profile": profile}
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()
