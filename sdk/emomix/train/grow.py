"""Deepen a trained denoiser without changing what it computes, so training can go on from it.

A denoiser level is a stack of residual blocks (and, at the lowest level, transformer blocks)
that each add their output to their input. A block whose last layer is zero adds nothing: the
level computes what it did without it. :func:`grow_denoiser_state` maps a trained denoiser's
weights onto a config with more blocks per level (``n_res_blocks``, ``n_transformer_blocks``):
every old block keeps its weights in the same place of its stack, and each new block starts from
the reference initialisation with its last layer (``conv2`` of a residual block; ``attn.out`` and
``ffn2`` of a transformer block) zeroed. The grown network gives the same output for every input
and has new weights that training can move; the zeroed layers still get gradients, so the new
blocks start to learn at once.

Only the depth grows: the widths, kernel, heads and condition sizes must stay the same (a wider
layer norm would see different statistics, so widening cannot preserve the function).
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path
from typing import Any

__all__ = ["GROWABLE", "check_growable", "grow_denoiser_state", "grow_run"]

#: The denoiser fields that may grow; every other field must be equal.
GROWABLE = ("n_res_blocks", "n_transformer_blocks")


def _plain(v: Any) -> Any:
    return tuple(v) if isinstance(v, (list, tuple)) else v


def check_growable(old: Any, new: Any) -> None:
    """Raise ``ValueError`` unless ``new`` (a DenoiserConfig) is ``old`` with at least as many
    blocks per level, saying which field stops it."""
    for f in dataclasses.fields(old):
        a, b = getattr(old, f.name), getattr(new, f.name)
        if f.name in GROWABLE:
            if b < a:
                raise ValueError(f"denoiser.{f.name}: can only grow ({a} -> {b}); train a new "
                                 "run to make the denoiser smaller")
        elif _plain(a) != _plain(b):
            raise ValueError(f"denoiser.{f.name}: {a} -> {b} cannot keep the trained function; "
                             f"only {' and '.join(GROWABLE)} can grow")


def _block_map(old: Any, new: Any) -> dict[str, str | None]:
    """New block prefix (``down.1.blocks.2``) → the old block it takes, or ``None`` (new)."""
    out: dict[str, str | None] = {}
    levels = len(old.channels)
    for i in range(levels):
        last = i == levels - 1
        for j in range(new.n_res_blocks):
            out[f"down.{i}.blocks.{j}"] = (f"down.{i}.blocks.{j}" if j < old.n_res_blocks
                                           else None)
        for j in range(new.n_transformer_blocks if last else 0):
            out[f"down.{i}.blocks.{new.n_res_blocks + j}"] = (
                f"down.{i}.blocks.{old.n_res_blocks + j}" if j < old.n_transformer_blocks
                else None)
    for i in range(levels - 1):
        for j in range(new.n_res_blocks):
            out[f"up.{i}.blocks.{j}"] = f"up.{i}.blocks.{j}" if j < old.n_res_blocks else None
    return out


#: The last layer of each kind of block: zero, the block adds nothing to its input.
_LAST_LAYERS = ("conv2.", "attn.out.", "ffn2.")


def grow_denoiser_state(old_state: dict[str, Any], old_cfg: Any, new_cfg: Any,
                        fresh_state: dict[str, Any]) -> dict[str, Any]:
    """The state dict of a ``new_cfg`` denoiser that computes what ``old_state`` (an
    ``old_cfg`` denoiser's state dict, names without the ``denoiser.`` prefix) computes.

    ``fresh_state`` is a newly built ``new_cfg`` denoiser's state dict: the new blocks take its
    weights, with their last layers zeroed. Tensors are returned as given (torch or numpy).
    """
    check_growable(old_cfg, new_cfg)
    blocks = _block_map(old_cfg, new_cfg)
    out: dict[str, Any] = {}
    used: set[str] = set()
    for name, value in fresh_state.items():
        prefix = next((p for p in blocks if name.startswith(p + ".")), None)
        if prefix is None:
            src = name  # stems, up/down sampling convs, the output layers: unchanged
        elif blocks[prefix] is None:
            rest = name[len(prefix) + 1:]
            out[name] = value * 0 if rest.startswith(_LAST_LAYERS) else value
            continue
        else:
            src = blocks[prefix] + name[len(prefix):]
        if src not in old_state:
            raise ValueError(f"the trained denoiser has no weight {src!r} for {name!r}; is "
                             "old_cfg the config it was trained with?")
        if tuple(old_state[src].shape) != tuple(value.shape):
            raise ValueError(f"denoiser weight {src} has shape {tuple(old_state[src].shape)}, "
                             f"{name} needs {tuple(value.shape)}")
        out[name] = old_state[src]
        used.add(src)
    unused = sorted(set(old_state) - used)
    if unused:
        raise ValueError(f"trained denoiser weights {', '.join(unused[:4])} have no place in the "
                         "grown config; is old_cfg the config it was trained with?")
    return out


def grow_run(src: str | Path, out: str | Path, **fields: int) -> dict[str, Any]:
    """Start run ``out`` from run ``src`` with a deeper denoiser (``fields``: the new
    ``n_res_blocks`` and/or ``n_transformer_blocks``).

    ``out`` shares ``src``'s data cache and corpus, takes copies of its stage checkpoints and
    gets a grown acoustic checkpoint: the denoiser (and its moving average) mapped by
    :func:`grow_denoiser_state`, the step count kept, the optimizer state dropped (its moments
    have the old shapes; ``emomix train acoustic --resume`` starts a fresh one). ``run.json``
    records the run and step it grew from. Returns that record.
    """
    import torch

    from ..config import ModelConfig
    from ..models.denoiser import Denoiser
    from .common import write_checkpoint

    src, out = Path(src), Path(out)
    if not (src / "run.json").is_file():
        raise FileNotFoundError(f"{src} is not a run directory (no run.json)")
    if not (src / "acoustic.pt").is_file():
        raise FileNotFoundError(f"{src} has no acoustic checkpoint to grow; train it first")
    if (out / "run.json").exists():
        raise FileExistsError(f"{out} already holds a run; choose another directory")
    unknown = sorted(set(fields) - set(GROWABLE))
    if unknown:
        raise ValueError(f"cannot grow {', '.join(unknown)}; only "
                         f"{' and '.join(GROWABLE)} can grow")
    state = json.loads((src / "run.json").read_text())
    old_cfg = ModelConfig.from_dict(state["model_config"])
    new_dict = old_cfg.to_dict()
    new_dict["denoiser"].update({k: int(v) for k, v in fields.items() if v is not None})
    new_cfg = ModelConfig.from_dict(new_dict)
    new_cfg.validate()
    check_growable(old_cfg.denoiser, new_cfg.denoiser)
    torch.manual_seed(0)
    fresh = Denoiser(new_cfg.denoiser, new_cfg.audio.n_mels, new_cfg.emotion_dim,
                     new_cfg.speaker_dim).state_dict()
    ck = torch.load(src / "acoustic.pt", map_location="cpu", weights_only=False)
    for key in ("modules", "ema"):
        if ck.get(key):
            ck[key]["denoiser"] = grow_denoiser_state(ck[key]["denoiser"], old_cfg.denoiser,
                                                      new_cfg.denoiser, fresh)
    ck["optimizer"] = None
    out.mkdir(parents=True, exist_ok=True)
    for stage in ("ser", "pitch", "vocoder"):
        if (src / f"{stage}.pt").is_file():
            shutil.copy2(src / f"{stage}.pt", out / f"{stage}.pt")
    write_checkpoint(out / "acoustic.pt", ck)
    grown = {"run": src.name, "acoustic_step": int(ck["step"]),
             "denoiser": {k: getattr(old_cfg.denoiser, k) for k in GROWABLE}}
    state["model_config"] = new_cfg.to_dict()
    state["grown_from"] = [*state.get("grown_from", []), grown]
    (out / "run.json").write_text(json.dumps(state, indent=1))
    return grown
