"""torch → ONNX for every network of a voice bundle, with the runtime contract and stage caching.

``export_voice(voice_dir, onnx=True)`` writes ``onnx/<network>.onnx`` for the encoder (with the
duration predictor), ONE denoiser step, the vocoder and the SER, and for a voice with a pitch
predictor the pitch head (on its own copy of the encoder states), each carrying the contract of
:func:`emomix.voice.export_contract.expected_contract` in ``metadata_props`` plus an
``emomix.export_key``. A stage whose graph already carries the key it would get is skipped, so
a second export does no work. Every new graph passes ``onnx.checker`` and ONNX Runtime ↔ PyTorch
parity before it replaces the old one; then ``voice.json:files`` is re-hashed.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

import emomix
from emomix.voice import META_FILE, VoiceBundle, load_bundle, sha256_file, update_file_hashes
from emomix.voice.export_contract import expected_contract, onnx_relpath, voice_networks

from .specs import SPECS, wrap
from .validate import ExportValidationError, check_model, parity

#: Bump when the exporter's output would change for the same weights (invalidates caches).
EXPORTER_VERSION = "1"
OPSET = 17


@dataclass
class ExportReport:
    """What :func:`export_voice` did. ``built``/``skipped`` list stage names
    (``onnx:denoiser``, ``tensorrt:denoiser``); ``parity`` maps ``network → worst rel L2``."""

    bundle_dir: Path
    built: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    parity: dict[str, float] = field(default_factory=dict)
    rehashed: bool = False

    @property
    def did_work(self) -> bool:
        return bool(self.built) or self.rehashed


def export_key(bundle: VoiceBundle, network: str, opset: int = OPSET) -> str:
    """Cache key of one ONNX stage: the contract (weights sha256, model config, audio, symbols)
    plus exporter version and opset."""
    payload = {"contract": expected_contract(bundle, network), "exporter": EXPORTER_VERSION,
               "opset": opset, "inputs": SPECS[network].input_names,
               "outputs": SPECS[network].output_names}
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def graph_metadata(path: str | os.PathLike[str]) -> dict[str, str]:
    """A graph's ``metadata_props`` as a dict (empty if the file is missing or unreadable)."""
    import onnx

    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception:
        return {}
    return {p.key: p.value for p in model.metadata_props}


GRAPH_DIRS = ("onnx/", "tensorrt/")


def _prune_stale_entries(bundle_dir: Path) -> None:
    """Drop ``voice.json:files`` entries of graphs/engines that are missing or whose size or
    sha256 changed, so the bundle loads and those stages are rebuilt (never trusted)."""
    meta_path = bundle_dir / META_FILE
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        files = meta["files"]
    except Exception:
        return  # load_bundle reports it properly
    stale = [rel for rel, e in files.items() if rel.startswith(GRAPH_DIRS) and not (
        (bundle_dir / rel).is_file() and (bundle_dir / rel).stat().st_size == e.get("bytes")
        and sha256_file(bundle_dir / rel) == e.get("sha256"))]
    if not stale:
        return
    for rel in stale:
        files.pop(rel)
    tmp = bundle_dir / f".{META_FILE}.tmp"
    tmp.write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, meta_path)


def _prepare_out(src: Path, out: Path) -> None:
    """Mirror the bundle at ``out``: copy every listed file that differs (graphs too: they are
    then reused if current, rebuilt if not) and ``voice.json``. Contents only: the copies get
    the mode of any new file (0o666 less the umask), not the source's."""
    src_bundle = load_bundle(src, verify_hashes=False)
    out.mkdir(parents=True, exist_ok=True)
    for rel, entry in src_bundle.files.items():
        dst = out / rel
        if dst.is_file() and dst.stat().st_size == entry["bytes"] and \
                sha256_file(dst) == sha256_file(src / rel):
            continue
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src / rel, dst)
    new = (src / META_FILE).read_bytes()
    if not (out / META_FILE).is_file() or (out / META_FILE).read_bytes() != new:
        shutil.copyfile(src / META_FILE, out / META_FILE)


def _files_current(bundle: VoiceBundle) -> bool:
    """Whether ``voice.json:files`` lists exactly the graphs/engines on disk (entries whose
    sha256 no longer matches were pruned before loading)."""
    on_disk = [p.relative_to(bundle.path).as_posix()
               for sub in ("onnx", "tensorrt") if (bundle.path / sub).is_dir()
               for p in sorted((bundle.path / sub).rglob("*"))
               if p.is_file() and not any(part.startswith(".") for part in
                                          p.relative_to(bundle.path).parts)]
    listed = [r for r in bundle.files if r.startswith(GRAPH_DIRS)]
    return sorted(on_disk) == sorted(listed)


def _export_one(model, cfg, bundle: VoiceBundle, network: str, key: str, opset: int,
                validate: bool, seed: int) -> float:
    import onnx
    import torch

    spec = SPECS[network]
    final = bundle.path / onnx_relpath(network)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = final.parent / f".{final.name}.tmp"
    rng = np.random.default_rng(seed)
    sample = spec.sample_inputs(cfg, 2, max(spec.check_lengths), rng)
    args = tuple(torch.from_numpy(sample[n]) for n in spec.input_names)
    try:
        with torch.inference_mode(False), torch.no_grad(), warnings.catch_warnings():
            # the tracer's notes about Python ints/bools are expected: every data-dependent
            # branch is made trace-safe in specs.wrap and proven by the parity check below
            warnings.simplefilter("ignore")
            torch.onnx.export(wrap(model, network), args, str(tmp), dynamo=False,
                              opset_version=opset, input_names=spec.input_names,
                              output_names=spec.output_names, dynamic_axes=spec.dynamic_axes(),
                              do_constant_folding=True)
        graph = onnx.load(str(tmp))
        props = dict(expected_contract(bundle, network))
        props.update({"emomix.version": emomix.__version__, "emomix.opset": str(opset),
                      "emomix.exporter_version": EXPORTER_VERSION, "emomix.export_key": key,
                      "emomix.inputs": ",".join(spec.input_names),
                      "emomix.outputs": ",".join(spec.output_names)})
        del graph.metadata_props[:]
        for k, v in sorted(props.items()):
            graph.metadata_props.add(key=k, value=v)
        graph.producer_name = "emomix_export"
        graph.producer_version = emomix.__version__
        onnx.save(graph, str(tmp))
        check_model(str(tmp))
        worst = 0.0
        if validate:
            cases = parity(model, spec, cfg, str(tmp), seed=seed + 1)
            worst = max(c.rel_l2 for c in cases)
        os.replace(tmp, final)
        return worst
    finally:
        tmp.unlink(missing_ok=True)


def export_voice(
    voice_dir: str | os.PathLike[str],
    *,
    out: str | os.PathLike[str] | None = None,
    onnx: bool = True,
    tensorrt: bool = False,
    fp16: bool = False,
    networks: Sequence[str] | None = None,
    opset: int = OPSET,
    validate: bool = True,
    force: bool = False,
    seed: int = 0,
    log: Callable[[str], None] | None = None,
) -> ExportReport:
    """Export a voice bundle's networks (into the bundle, or a copy at ``out``).

    ``onnx`` writes/refreshes ``onnx/*.onnx`` (``networks``: a subset of
    :func:`~emomix.voice.export_contract.voice_networks`, default all); ``tensorrt`` also builds
    ``tensorrt/*.plan`` from them (needs the ``tensorrt`` package and a GPU; ``fp16`` enables
    FP16 kernels there — the ONNX graphs are always fp32). ``force`` rebuilds current stages
    too. Raises
    :class:`~emomix_export.validate.ExportValidationError` when a graph fails its checks (the old
    graph, if any, is left in place).
    """
    log = log or (lambda msg: None)
    src = Path(voice_dir)
    if not onnx and not tensorrt:
        raise ValueError("nothing to do: pass --onnx and/or --tensorrt")
    bundle_dir = src
    if out is not None and Path(out).resolve() != src.resolve():
        bundle_dir = Path(out)
        _prepare_out(src, bundle_dir)
    _prune_stale_entries(bundle_dir)
    bundle = load_bundle(bundle_dir)  # weights and metadata fully verified
    report = ExportReport(bundle_dir)
    available = voice_networks(bundle)
    wanted = list(networks or available)
    unknown = [n for n in wanted if n not in available]
    if unknown:
        why = (" (pitch: this voice has no pitch predictor)" if "pitch" in unknown else "")
        raise ValueError(f"unknown network(s) {unknown} for this voice{why}; choose from "
                         f"{', '.join(available)}")

    model = cfg = None

    def load_model():
        nonlocal model, cfg
        if model is None:
            from emomix.config import ModelConfig
            from emomix.models import VoiceModel

            model = VoiceModel.from_bundle(bundle)
            cfg = ModelConfig.from_dict(bundle.model_config)
        return model, cfg

    onnx_needed = onnx or tensorrt
    for network in wanted if onnx_needed else []:
        key = export_key(bundle, network, opset)
        path = bundle_dir / onnx_relpath(network)
        listed = onnx_relpath(network) in bundle.files  # (pruned above unless sha256 matches)
        if not force and listed and graph_metadata(path).get("emomix.export_key") == key:
            report.skipped.append(f"onnx:{network}")
            log(f"onnx/{network}.onnx is current (skipped)")
            continue
        m, c = load_model()
        log(f"exporting onnx/{network}.onnx ...")
        report.parity[network] = _export_one(m, c, bundle, network, key, opset, validate, seed)
        report.built.append(f"onnx:{network}")
        if validate:
            log(f"  onnx/{network}.onnx: checker ok, worst rel L2 vs torch "
                f"{report.parity[network]:.2e}")

    if tensorrt:
        from emomix.config import ModelConfig

        from .tensorrt_build import build_engines

        build_engines(bundle, ModelConfig.from_dict(bundle.model_config), report, fp16=fp16,
                      force=force, log=log)

    if report.built or not _files_current(bundle):
        update_file_hashes(bundle)
        report.rehashed = True
        log(f"updated {bundle_dir / META_FILE}")
    return report


__all__ = ["EXPORTER_VERSION", "OPSET", "ExportReport", "ExportValidationError", "export_key",
           "export_voice", "graph_metadata"]
