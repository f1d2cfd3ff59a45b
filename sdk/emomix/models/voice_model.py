"""``VoiceModel``: every network of a voice; its state dict is the bundle's weights."""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
from torch import nn

from ..config import ModelConfig
from .denoiser import Denoiser
from .encoder import PitchPredictor, TextEncoder
from .ser import SER
from .vocoder import Vocoder

if TYPE_CHECKING:  # pragma: no cover
    from ..voice import VoiceBundle

__all__ = ["VoiceModel"]


class VoiceModel(nn.Module):
    """All networks of one voice, built from a validated :class:`~emomix.config.ModelConfig`.

    Submodules (their ``state_dict`` names are the names in ``weights.safetensors``):

    - ``speakers``: ``nn.Embedding(n_speakers, speaker_dim)``, the speaker table;
    - ``encoder``: :class:`TextEncoder`, phonemes → phone-level μ and log durations;
    - ``denoiser``: :class:`Denoiser`, ``D(x, t, μ, c)``;
    - ``vocoder``: :class:`Vocoder`, normalised log-mel → waveform;
    - ``ser``: :class:`SER`, log-mel → emotion embedding and logits;
    - ``pitch``: :class:`PitchPredictor` (``None`` unless ``cfg.pitch.enabled``), encoder
      states → per-phoneme ``ln(F0 / 100 Hz)`` and voicing logit.
    """

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        cfg.validate()
        self.cfg = cfg
        n_mels = cfg.audio.n_mels
        self.speakers = nn.Embedding(cfg.n_speakers, cfg.speaker_dim)
        nn.init.normal_(self.speakers.weight, 0.0, 1.0)
        self.encoder = TextEncoder(
            cfg.encoder, cfg.n_symbols, n_mels, cfg.emotion_dim, cfg.speaker_dim
        )
        self.pitch = (PitchPredictor(cfg.encoder.hidden, cfg.emotion_dim, cfg.speaker_dim,
                                     cfg.pitch) if cfg.pitch.enabled else None)
        self.denoiser = Denoiser(cfg.denoiser, n_mels, cfg.emotion_dim, cfg.speaker_dim)
        self.vocoder = Vocoder(cfg.vocoder, cfg.audio)
        self.ser = SER(cfg.ser, n_mels, cfg.emotion_dim, cfg.n_emotions)

    @classmethod
    def from_bundle(cls, bundle: VoiceBundle) -> VoiceModel:
        """The voice's networks with its weights, on the CPU in eval mode (what the torch
        backend runs and ``emomix export`` traces).

        Raises:
            ValueError: the weights do not match the bundle's model config.
        """
        from ..voice import WEIGHTS_FILE, load_weights

        model = cls(ModelConfig.from_dict(bundle.model_config))
        state = {k: torch.from_numpy(v) for k, v in load_weights(bundle).items()}
        missing, unexpected = model.load_state_dict(state, strict=False)
        if missing or unexpected:
            raise ValueError(f"{bundle.path / WEIGHTS_FILE}: weights do not match the "
                             f"model config (missing {sorted(missing)[:5]}, unexpected "
                             f"{sorted(unexpected)[:5]}); the voice is corrupt or from another "
                             "emomix version")
        return model.eval()

    def denoiser_loss(
        self,
        x_data: torch.Tensor,
        mu: torch.Tensor,
        emo: torch.Tensor,
        spk: torch.Tensor,
        mask: torch.Tensor,
    ) -> torch.Tensor:
        """The training loss of the configured parameterisation (``flow_loss`` or ``score_loss``).

        ``x_data``, ``mu`` ``(B, n_mels, F)``; ``emo`` ``(B, E)``; ``spk`` ``(B, S)``;
        ``mask`` ``(B, 1, F)``.
        """
        if self.cfg.parameterisation == "flow":
            return self.denoiser.flow_loss(x_data, mu, emo, spk, mask)
        return self.denoiser.score_loss(
            x_data, mu, emo, spk, mask, beta_min=self.cfg.beta_min, beta_max=self.cfg.beta_max
        )
