"""Build a voice bundle with untrained (random) weights, for plumbing tests and demos."""

from __future__ import annotations

import datetime as _dt
from pathlib import Path

import numpy as np

from ..emotions import DEFAULT_VAD
from ..voice import VoiceBundle, save_bundle


def voice_meta(cfg, symbols, language: str, speakers: list[str], emotions: dict[str, np.ndarray],
               name: str, description: str, provenance: dict, sampler: dict | None = None) -> dict:
    """The ``voice.json`` content for a model config, symbol table, speakers and emotions."""
    from dataclasses import asdict

    return {
        "format": "emomix-voice",
        "format_version": 1,
        "name": name,
        "description": description,
        "model": {"family": "emomix", "parameterisation": cfg.parameterisation,
                  "config": cfg.to_dict()},
        "audio": asdict(cfg.audio),
        "symbols": {"table": list(symbols.symbols), "language": language},
        "speakers": {s: i for i, s in enumerate(speakers)},
        "emotions": {n: {"embedding": [float(v) for v in e],
                         "vad": list(DEFAULT_VAD.get(n, (0.0, 0.0, 0.0)))}
                     for n, e in emotions.items()},
        "sampler": sampler or default_sampler(cfg),
        "provenance": provenance,
    }


def default_sampler(cfg) -> dict:
    """The ``sampler`` section of a new voice of model config ``cfg``."""
    return {"parameterisation": cfg.parameterisation, "steps": 4,
            "solver": "euler" if cfg.parameterisation == "flow" else "em",
            "k_max": 0.6, "k_min": 0.2,
            "temperature": 0.667 if cfg.parameterisation == "flow" else 1.5, "preset": "emomix"}


def build_random_voice(out: str | Path, *, seed: int = 0, parameterisation: str = "flow",
                       n_speakers: int = 2, dtype: str = "float32", config_overrides=None
                       ) -> VoiceBundle:
    """Write a voice whose networks are randomly initialised: it speaks noise, not words."""
    import torch

    from ..config import ModelConfig
    from ..models import VoiceModel
    from ..text import default_symbol_table

    symbols = default_symbol_table()
    cfg = ModelConfig(n_symbols=len(symbols), n_speakers=n_speakers,
                      parameterisation=parameterisation, **(config_overrides or {}))
    torch.manual_seed(seed)
    model = VoiceModel(cfg)
    weights = {k: v.detach().cpu().numpy() for k, v in model.state_dict().items()}
    rng = np.random.default_rng(seed)
    emotions = {}
    for name in DEFAULT_VAD:
        e = rng.normal(size=cfg.emotion_dim)
        emotions[name] = (e / np.linalg.norm(e)).astype(np.float32)
    meta = voice_meta(
        cfg, symbols, "en-us", [f"speaker{i}" for i in range(n_speakers)], emotions,
        name="untrained", description="Randomly initialised weights: produces noise, not speech. "
        "For plumbing tests and demos only.",
        provenance={"kind": "random-init", "seed": seed, "trained": False,
                    "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")})
    return save_bundle(Path(out), meta, weights, dtype=dtype)
