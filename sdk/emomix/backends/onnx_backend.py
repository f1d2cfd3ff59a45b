"""The ONNX Runtime backend (numpy + onnxruntime; never imports torch).

Reads the graphs that ``emomix export VOICE_DIR --onnx`` writes into a voice bundle::

    voice = emomix.load_voice("my_voice", backend="onnx", threads=2)

Graphs (``onnx/<network>.onnx``; names, shapes and dynamic axes in ``docs/export.md``):

- ``encoder``: ``phonemes (B,T) int64, lengths (B,) int64, emo (B,E), spk (B,S)`` →
  ``mu_phone (B,C,T), log_dur (B,T), mask (B,1,T)``. Length regulation runs here in numpy
  (:func:`length_regulate_np`, the same rounding as ``emomix.models.length_regulate``).
- ``denoiser``: ONE sampler step, ``x (B,C,F), t (B,), mu (B,C,F), emo (B,E), spk (B,S)`` →
  ``out (B,C,F)``; ``B`` = the active conditions. The sampler loop stays in emomix.
- ``vocoder``: ``mel (B,C,F)`` → ``wav (B, F·hop)``.
- ``ser``: ``logmel (B,C,F)`` → ``embedding (B,E), logits (B,K)`` (optional; loaded on first use).
- ``pitch`` (only for voices whose model config enables ``pitch``): ``phonemes (1,T) int64,
  lengths (1,) int64, emo (B,E), spk (B,S)`` → ``pitch (B,2,T)``, per phoneme ``ln(F0/100 Hz)``
  and the voicing logit; one line's encoder states are broadcast to ``B`` conditions. The graph
  re-runs the text encoder's states (not its duration head), so it stands alone.

The runtime contract: every graph carries ``metadata_props``
(:func:`~emomix.voice.export_contract.expected_contract`) that must equal what this bundle's
``voice.json`` implies; the graph files must be listed in ``voice.json:files`` with matching
sha256. Anything else is a :class:`StaleExportError` telling the user to run
``emomix export VOICE_DIR --onnx``. A voice with a pitch predictor needs ``pitch.onnx`` as well
(:func:`~emomix.voice.export_contract.required_networks`); an export made before pitch graphs
existed lacks it and gets that error too. Its other graphs are still current (the contract of the
four networks did not change), so the re-export only writes ``pitch.onnx``.

The contract itself (networks, paths, metadata keys and values) is
:mod:`emomix.voice.export_contract`, which ``emomix_export`` writes from and this module checks
against, so the writer and the reader cannot drift apart.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..durations import round_running_total
from ..errors import EmomixError
from ..voice import VoiceBundle, load_weights, sha256_file
from ..voice.export_contract import (
    contract_mismatches,
    has_pitch,
    onnx_relpath,
    required_networks,
)
from .base import Backend


class StaleExportError(EmomixError, RuntimeError):
    """ONNX graphs are missing, modified, or were exported from different weights/metadata."""


def export_hint(bundle: VoiceBundle) -> str:
    return f"run `emomix export {bundle.path} --onnx` to (re)write the graphs"


#: Why a graph may be missing from a bundle that was exported, for the error message.
_MISSING_WHY = {
    "pitch": " (this voice has a pitch predictor, model config pitch.enabled; graphs exported "
             "before emomix wrote pitch graphs do not include it)",
}


def check_graph_file(bundle: VoiceBundle, network: str, *, verify_hash: bool = True) -> str:
    """Check that ``onnx/<network>.onnx`` exists and is listed in ``voice.json`` with the same
    size (and sha256); returns its absolute path. Raises :class:`StaleExportError`."""
    rel = onnx_relpath(network)
    path = bundle.path / rel
    if not path.is_file():
        why = _MISSING_WHY.get(network, "")
        raise StaleExportError(f"{path}: the {network} graph is missing{why}; "
                               f"{export_hint(bundle)}")
    entry = bundle.files.get(rel)
    if entry is None:
        raise StaleExportError(f"{path}: not listed in voice.json:files, so it cannot be trusted "
                               f"to belong to these weights; {export_hint(bundle)}")
    if path.stat().st_size != entry["bytes"] or (
            verify_hash and sha256_file(path) != entry["sha256"]):
        raise StaleExportError(f"{path}: does not match its sha256/size in voice.json (modified "
                               f"after export); {export_hint(bundle)}")
    return str(path)


def length_regulate_np(
    mu_phone: np.ndarray, log_dur: np.ndarray, mask: np.ndarray, length_scale: float = 1.0
) -> tuple[np.ndarray, np.ndarray]:
    """numpy twin of ``emomix.models.length_regulate`` for one item.

    ``mu_phone (C, T)``, ``log_dur (T,)``, ``mask (T,)`` → ``mu (C, F)`` float32 and
    ``durations (T,)`` int64: ``emomix.durations.round_running_total`` of
    ``exp(log_dur) · length_scale`` computed in float32, like torch (every real
    phoneme gets ≥ 1 frame; the line's length is its rounded total).
    """
    if length_scale <= 0:
        raise ValueError(f"length_scale must be > 0, got {length_scale}")
    scaled = np.exp(log_dur.astype(np.float32)) * np.float32(length_scale)
    durations = round_running_total(scaled, np.asarray(mask, np.float64) > 0)
    mu = np.repeat(mu_phone.astype(np.float32), durations, axis=1)
    return np.ascontiguousarray(mu), durations


def pitch_feeds(phonemes: np.ndarray, emotions: np.ndarray, speakers: np.ndarray
                ) -> dict[str, np.ndarray]:
    """The inputs of ``pitch.onnx`` for one line: ``phonemes (1, T)``, ``lengths (1,)`` int64,
    ``emo (M, E)``, ``spk (M, S)`` float32. Raises ``ValueError`` for shapes the graph would
    reject with a less helpful message."""
    ph = np.asarray(phonemes)
    if ph.ndim != 1 or ph.size == 0 or not np.issubdtype(ph.dtype, np.integer):
        raise ValueError(f"phonemes must be a non-empty 1-D integer array, got shape {ph.shape} "
                         f"dtype {ph.dtype}")
    emo = np.ascontiguousarray(emotions, np.float32)
    spk = np.ascontiguousarray(speakers, np.float32)
    if emo.ndim != 2 or emo.shape[0] < 1:
        raise ValueError(f"emotions must have shape (M, E) with M >= 1, got {emo.shape}")
    if spk.ndim != 2 or spk.shape[0] != emo.shape[0]:
        raise ValueError(f"speakers must have shape (M, S) with M = {emo.shape[0]} (one row per "
                         f"emotion condition), got {spk.shape}")
    return {"phonemes": np.ascontiguousarray(ph.astype(np.int64)[None]),
            "lengths": np.array([ph.size], np.int64), "emo": emo, "spk": spk}


def resolve_providers(providers: str | Sequence[str] | None) -> list[str]:
    """``None`` → CPU only; ``"auto"`` → TensorRT, CUDA (when this onnxruntime offers them), CPU;
    or an explicit list, each of which must be available."""
    import onnxruntime as ort

    available = ort.get_available_providers()
    if providers is None:
        return ["CPUExecutionProvider"]
    if isinstance(providers, str):
        if providers != "auto":
            providers = [providers]
        else:
            order = ("TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider")
            return [p for p in order if p in available]
    missing = [p for p in providers if p not in available]
    if missing:
        raise ValueError(f"onnxruntime provider(s) {missing} are not available in this "
                         f"onnxruntime build (available: {available}); install "
                         "onnxruntime-gpu for CUDA/TensorRT, or pass providers=None for CPU")
    return list(providers)


class OnnxBackend(Backend):
    """Runs the exported graphs with ONNX Runtime.

    Options: ``threads`` (intra-op threads per session; default: onnxruntime's choice),
    ``providers`` (``None`` = CPU, ``"auto"``, or a list of onnxruntime provider names),
    ``verify_hashes`` (sha256 of every graph against ``voice.json``; default True).
    """

    name = "onnx"

    def __init__(self, bundle: VoiceBundle, *, threads: int | None = None,
                 providers: str | Sequence[str] | None = None, verify_hashes: bool = True):
        try:
            import onnxruntime as ort
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise ImportError("the onnx backend needs onnxruntime: pip install onnxruntime "
                              "(or onnxruntime-gpu)") from exc
        if threads is not None and int(threads) < 1:
            raise ValueError(f"threads must be >= 1, got {threads}")
        self._ort = ort
        self.bundle = bundle
        self.threads = threads
        self.providers = resolve_providers(providers)
        self._verify = verify_hashes
        self.hop_length = int(bundle.audio["hop_length"])
        self._lock = threading.Lock()
        self._sessions: dict[str, Any] = {}
        #: the voice has a pitch predictor, and so ``pitch.onnx`` (opened below)
        self.has_pitch = has_pitch(bundle)
        for network in required_networks(bundle):
            self._sessions[network] = self._open(network)
        self._speakers = np.ascontiguousarray(
            load_weights(bundle)["speakers.weight"], dtype=np.float32)

    def _open(self, network: str):
        path = check_graph_file(self.bundle, network, verify_hash=self._verify)
        opts = self._ort.SessionOptions()
        # Every network has its own session and intra-op pool. Spinning pools keep their cores
        # busy after each run, and the numpy steps between runs (the sampler's arithmetic, the
        # harmonic rendering) then run at a fraction of their speed (26 ms instead of 10 for a
        # 3-second line's rendering on 2 cores).
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        if self.threads is not None:
            opts.intra_op_num_threads = int(self.threads)
            opts.inter_op_num_threads = 1
        try:
            sess = self._ort.InferenceSession(path, sess_options=opts, providers=self.providers)
        except Exception as exc:  # onnxruntime raises its own Fail/InvalidGraph types
            raise StaleExportError(f"{path}: onnxruntime cannot load the graph ({exc}); "
                                   f"{export_hint(self.bundle)}") from exc
        problems = contract_mismatches(self.bundle, network,
                                       dict(sess.get_modelmeta().custom_metadata_map))
        if problems:
            raise StaleExportError(f"{path}: exported for a different voice.json or weights ("
                                   + "; ".join(problems) + f"); {export_hint(self.bundle)}")
        return sess

    def _run(self, network: str, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
        sess = self._sessions.get(network)
        if sess is None:
            sess = self._sessions[network] = self._open(network)
        return sess.run(None, feeds)

    def speaker_table(self) -> np.ndarray:
        return self._speakers.copy()

    def encode(self, phonemes, emotion, speaker, length_scale):
        ph = np.ascontiguousarray(np.asarray(phonemes, np.int64)[None])
        feeds = {"phonemes": ph, "lengths": np.array([ph.shape[1]], np.int64),
                 "emo": np.ascontiguousarray(emotion[None], np.float32),
                 "spk": np.ascontiguousarray(speaker[None], np.float32)}
        with self._lock:
            mu_ph, log_dur, mask = self._run("encoder", feeds)
        return length_regulate_np(mu_ph[0], log_dur[0], mask[0, 0], length_scale)

    def pitch(self, phonemes, emotions, speakers):
        """Phoneme ids ``(T,)``, ``emotions (M, E)``, ``speakers (M, S)`` → ``(M, 2, T)``
        float32 (``ln(F0 / 100 Hz)``, voicing logit) from ``pitch.onnx``: the line goes in as a
        batch of one with its length, the conditions as the graph's batch ``B = M``."""
        if not self.has_pitch:
            raise ValueError("this voice has no pitch predictor")
        feeds = pitch_feeds(phonemes, emotions, speakers)
        with self._lock:
            return self._run("pitch", feeds)[0]

    def denoise(self, x, t, mu, emotions, speakers):
        b = x.shape[0]
        feeds = {"x": np.ascontiguousarray(x, np.float32),
                 "t": np.ascontiguousarray(t, np.float32).reshape(b),
                 "mu": np.ascontiguousarray(np.broadcast_to(mu, (b, *mu.shape)), np.float32),
                 "emo": np.ascontiguousarray(emotions, np.float32),
                 "spk": np.ascontiguousarray(speakers, np.float32)}
        with self._lock:
            return self._run("denoiser", feeds)[0]

    def vocode(self, mel):
        with self._lock:
            wav = self._run("vocoder", {"mel": np.ascontiguousarray(mel[None], np.float32)})[0]
        return wav[0]

    @property
    def has_ser(self) -> bool:
        """``onnx/ser.onnx`` was exported (it is optional; opened on first use)."""
        return "ser" in self._sessions or (self.bundle.path / onnx_relpath("ser")).is_file()

    def ser(self, logmel: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Normalised log-mel ``(C, F)`` → emotion ``embedding (E,)`` and ``logits (K,)``."""
        if not self.has_ser:
            super().ser(logmel)  # raises NotImplementedError
        with self._lock:
            emb, logits = self._run("ser", {"logmel": np.ascontiguousarray(logmel[None],
                                                                           np.float32)})
        return emb[0], logits[0]
