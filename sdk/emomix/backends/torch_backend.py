"""The PyTorch reference backend (needs the `train` or `dev` extra)."""

from __future__ import annotations

import threading

import numpy as np

from ..voice import VoiceBundle
from .base import Backend


class TorchBackend(Backend):
    """Runs the torch modules of :class:`emomix.models.VoiceModel` on CPU (or ``device``)."""

    name = "torch"

    def __init__(self, bundle: VoiceBundle, *, threads: int | None = None, device: str = "cpu"):
        try:
            import torch
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise ImportError("the torch backend needs PyTorch: pip install 'emomix[train]' "
                              "(or use backend='native' / 'onnx')") from exc
        from ..models import VoiceModel

        self._torch = torch
        if threads is not None:
            if threads < 1:
                raise ValueError(f"threads must be >= 1, got {threads}")
            torch.set_num_threads(int(threads))
        self.threads = int(threads) if threads is not None else None
        self.device = torch.device(device)
        self.model = VoiceModel.from_bundle(bundle).to(self.device)
        self.hop_length = int(bundle.audio["hop_length"])
        self._lock = threading.Lock()

    def _t(self, a: np.ndarray, dtype=None):
        return self._torch.as_tensor(np.ascontiguousarray(a), device=self.device, dtype=dtype)

    def speaker_table(self) -> np.ndarray:
        return self.model.speakers.weight.detach().cpu().numpy().astype(np.float32)

    def encode(self, phonemes, emotion, speaker, length_scale):
        from ..models import length_regulate

        torch = self._torch
        with self._lock, torch.inference_mode():
            ph = self._t(phonemes[None], torch.long)
            lengths = torch.tensor([ph.shape[1]], device=self.device)
            mu_ph, log_dur, mask = self.model.encoder(
                ph, lengths, self._t(emotion[None], torch.float32),
                self._t(speaker[None], torch.float32))
            mu, _, durations = length_regulate(mu_ph, log_dur, mask, length_scale)
        return mu[0].cpu().numpy().astype(np.float32), durations[0].cpu().numpy()

    def pitch(self, phonemes, emotions, speakers):
        torch = self._torch
        if self.model.pitch is None:
            raise ValueError("this voice has no pitch predictor")
        with self._lock, torch.inference_mode():
            ph = self._t(phonemes[None], torch.long)
            x, mask = self.model.encoder.states(ph, torch.tensor([ph.shape[1]], device=self.device))
            out = self.model.pitch(x, mask, self._t(emotions, torch.float32),
                                   self._t(speakers, torch.float32))
        return out.cpu().numpy().astype(np.float32)

    def denoise(self, x, t, mu, emotions, speakers):
        torch = self._torch
        f32 = torch.float32
        with self._lock, torch.inference_mode():
            b = x.shape[0]
            mu_b = self._t(mu, f32).unsqueeze(0).expand(b, -1, -1)
            out = self.model.denoiser(self._t(x, f32), self._t(t, f32), mu_b,
                                      self._t(emotions, f32), self._t(speakers, f32))
        return out.cpu().numpy().astype(np.float32)

    def vocode(self, mel):
        torch = self._torch
        with self._lock, torch.inference_mode():
            wav = self.model.vocoder(self._t(mel[None], torch.float32))
        return wav[0].cpu().numpy().astype(np.float32)

    @property
    def has_ser(self) -> bool:
        return True  # every VoiceModel has its SER

    def ser(self, logmel):
        torch = self._torch
        with self._lock, torch.inference_mode():
            emb, logits = self.model.ser(self._t(logmel[None], torch.float32))
        return (emb[0].cpu().numpy().astype(np.float32),
                logits[0].cpu().numpy().astype(np.float32))
