"""Pieces every training stage shares: stage options, checkpoints, the losses log, progress.

A *run directory* holds one training run:

- ``model_config.json`` — the :class:`~emomix.config.ModelConfig` of the run (written once);
- ``cache/`` — the prepared dataset (:mod:`emomix.train.dataset`), unless another is given;
- ``<stage>.pt`` — the stage checkpoint: its modules' state dicts, the optimizer, the step,
  the wall time spent so far and the stage's outputs (e.g. the SER accuracy); with ``ema`` on,
  also the exponential moving average of the modules' weights (``"ema"``), which is what
  :func:`load_checkpoint` loads for inference and what a finished stage leaves in its modules;
- ``losses.jsonl`` — one JSON object per logged step: ``{"stage", "step", "time_s", <losses>}``.
"""

from __future__ import annotations

import json
import math
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch

__all__ = ["StageOptions", "StageResult", "StageLoop", "save_checkpoint", "write_checkpoint",
           "load_checkpoint", "pick_device"]


@dataclass
class StageOptions:
    """How long and how fast one stage trains.

    Attributes:
        max_steps: stop after this many optimizer steps in total (resumed steps count).
        budget_s: stop after this many wall-clock seconds of this invocation (``None``: no limit).
        batch_size: utterances (or segments) per step.
        lr: AdamW learning rate.
        log_every: write ``losses.jsonl`` and a progress line every N steps.
        checkpoint_every: save the stage checkpoint every N steps (and at the end).
        seed: seeds torch and the batch sampler.
        resume: continue from the stage checkpoint if there is one.
        device: ``"cpu"`` or ``"cuda"``.
        progress: print progress lines to stderr.
        ema: decay of an exponential moving average of the weights (e.g. ``0.999``, an
            average over the last ~1/(1 − decay) steps); ``None`` keeps no average. The
            average is what the stage's voice uses: a diffusion/flow decoder's samples are
            cleaner from averaged weights than from the last step's.
    """

    max_steps: int = 1000
    budget_s: float | None = None
    batch_size: int = 16
    lr: float = 2e-4
    log_every: int = 10
    checkpoint_every: int = 200
    seed: int = 0
    resume: bool = False
    device: str = "cpu"
    progress: bool = True
    ema: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.ema is not None and not 0.0 < self.ema < 1.0:
            raise ValueError(f"ema must be a decay in (0, 1) (e.g. 0.999) or None, got {self.ema}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class StageResult:
    """What a stage did: ``steps`` in total, ``wall_s`` in total (over resumes), the first and
    last logged losses, and stage-specific ``outputs`` (e.g. ``ser_test_accuracy``)."""

    stage: str
    steps: int
    wall_s: float
    first_loss: float | None
    last_loss: float | None
    outputs: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def pick_device(name: str) -> torch.device:
    """``"cuda"`` when asked and available (else a clear error); ``"cpu"`` otherwise."""
    if name == "cuda":
        if not torch.cuda.is_available():
            raise RuntimeError("--device cuda was asked for but torch sees no CUDA device; "
                               "use --device cpu or install a CUDA build of torch")
        return torch.device("cuda")
    if name != "cpu":
        raise ValueError(f"device must be 'cpu' or 'cuda', got {name!r}")
    return torch.device("cpu")


def save_checkpoint(path: Path, modules: dict[str, torch.nn.Module],
                    optimizer: torch.optim.Optimizer | None, step: int, wall_s: float,
                    outputs: dict[str, Any] | None = None,
                    ema: dict[str, dict[str, torch.Tensor]] | None = None,
                    ema_updates: int = 0) -> None:
    """Write ``path`` atomically (temporary name, then rename).

    ``ema``: module name → state dict of the averaged weights (saved under ``"ema"``, with the
    number of updates it has had under ``"ema_updates"``).
    """
    state = {
        "modules": {k: m.state_dict() for k, m in modules.items()},
        "optimizer": optimizer.state_dict() if optimizer is not None else None,
        "step": step,
        "wall_s": wall_s,
        "outputs": outputs or {},
    }
    if ema is not None:
        state["ema"] = ema
        state["ema_updates"] = ema_updates
    write_checkpoint(path, state)


def write_checkpoint(path: Path, state: dict[str, Any]) -> None:
    """Write a checkpoint dict (the layout :func:`save_checkpoint` makes) to ``path`` atomically:
    under a temporary name, then renamed, so a reader never sees half a file."""
    tmp = path.with_suffix(path.suffix + ".tmp")
    torch.save(state, tmp)
    tmp.replace(path)


def load_checkpoint(path: Path, modules: dict[str, torch.nn.Module],
                    optimizer: torch.optim.Optimizer | None = None, *,
                    averaged: bool = True, optional: tuple[str, ...] = ()) -> dict[str, Any]:
    """Load ``path`` into ``modules`` (and ``optimizer``); returns the checkpoint dict.

    With ``averaged`` (inference, bundles) the modules get the checkpoint's moving-average
    weights where it has them; resuming training passes ``averaged=False`` for the raw weights
    the optimizer state belongs to. Modules named in ``optional`` may be missing from the
    checkpoint (a stage that gained a module since it was saved): they keep their weights, and
    then the optimizer state, which belongs to other parameters, is not loaded either.
    """
    state = torch.load(path, map_location="cpu", weights_only=False)
    source = state["ema"] if averaged and state.get("ema") else state["modules"]
    missing = [k for k in modules if k not in source]
    for k in missing:
        if k not in optional:
            raise ValueError(f"{path}: checkpoint has no module {k!r} "
                             f"(has {', '.join(source)})")
    for k, m in modules.items():
        if k in source:
            m.load_state_dict(source[k])
    state["missing_modules"] = missing
    if optimizer is not None and state.get("optimizer") is not None and not missing:
        optimizer.load_state_dict(state["optimizer"])
    return state


class StageLoop:
    """The step loop of a stage: resume, budget, logging, checkpoints.

    Usage::

        loop = StageLoop("ser", run_dir, opts, modules, optimizer)
        while loop.running():
            losses = {...}            # one optimizer step; floats
            loop.record(losses)
        result = loop.finish(outputs)

    ``optional`` names modules a resumed checkpoint may lack (:func:`load_checkpoint`).
    """

    def __init__(self, stage: str, run_dir: Path, opts: StageOptions,
                 modules: dict[str, torch.nn.Module], optimizer: torch.optim.Optimizer,
                 optional: tuple[str, ...] = ()) -> None:
        self.stage = stage
        self.run_dir = Path(run_dir)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.opts = opts
        self.modules = modules
        self.optimizer = optimizer
        self.ckpt_path = self.run_dir / f"{stage}.pt"
        self.step = 0
        self.prev_wall = 0.0
        self.outputs: dict[str, Any] = {}
        self.ema: dict[str, dict[str, torch.Tensor]] | None = None
        self.ema_updates = 0
        saved_ema = None
        if opts.resume and self.ckpt_path.exists():
            state = load_checkpoint(self.ckpt_path, modules, optimizer, averaged=False,
                                    optional=optional)
            self.step = int(state["step"])
            self.prev_wall = float(state.get("wall_s", 0.0))
            self.outputs = dict(state.get("outputs", {}))
            saved_ema = state.get("ema")
            self.ema_updates = int(state.get("ema_updates", 0))
            for group in optimizer.param_groups:  # this invocation's lr, not the saved one
                group["lr"] = opts.lr
            self._say(f"resumed at step {self.step}")
            if state["missing_modules"]:
                self._say(f"new module(s) {', '.join(state['missing_modules'])} start fresh, "
                          "and so does the optimizer")
        if opts.ema is not None:
            if not saved_ema:  # a fresh average starts from the weights it is about to follow
                saved_ema, self.ema_updates = {}, 0
            # on each weight's device (a checkpoint loads to the CPU; training may be on CUDA)
            self.ema = {k: {n: saved_ema.get(k, {}).get(n, t).detach().to(t.device, copy=True)
                            for n, t in m.state_dict().items()}
                        for k, m in modules.items()}
        self.t0 = time.monotonic()
        self.first_loss: float | None = None
        self.last_loss: float | None = None
        self._log = open(self.run_dir / "losses.jsonl", "a", encoding="utf-8")  # noqa: SIM115

    def elapsed(self) -> float:
        return time.monotonic() - self.t0

    def running(self) -> bool:
        if self.step >= self.opts.max_steps:
            return False
        return self.opts.budget_s is None or self.elapsed() < self.opts.budget_s

    def record(self, losses: dict[str, float]) -> None:
        self.step += 1
        total = float(losses.get("loss", next(iter(losses.values()))))
        if not math.isfinite(total):
            raise FloatingPointError(f"{self.stage}: loss became {total} at step {self.step}; "
                                     "lower --lr or check the data")
        if self.first_loss is None:
            self.first_loss = total
        self.last_loss = total
        if self.ema is not None:
            self._update_ema()
        if self.step % self.opts.log_every == 0 or self.step == 1:
            row = {"stage": self.stage, "step": self.step,
                   "time_s": round(self.prev_wall + self.elapsed(), 2)}
            row.update({k: round(float(v), 5) for k, v in losses.items()})
            self._log.write(json.dumps(row) + "\n")
            self._log.flush()
            rate = self.step / max(self.prev_wall + self.elapsed(), 1e-9)
            self._say(f"step {self.step}/{self.opts.max_steps} "
                      + " ".join(f"{k}={float(v):.4f}" for k, v in losses.items())
                      + f" ({rate:.2f} steps/s)")
        if self.step % self.opts.checkpoint_every == 0:
            self.save()

    @torch.no_grad()
    def _update_ema(self) -> None:
        """``avg ← d·avg + (1 − d)·w`` with ``d = min(ema, (1 + n) / (10 + n))`` after ``n``
        updates, so a fresh average follows the weights closely at first; integer buffers
        (counters) are copied."""
        n = self.ema_updates
        d = min(float(self.opts.ema), (1.0 + n) / (10.0 + n))
        for k, m in self.modules.items():
            avg = self.ema[k]
            for name, t in m.state_dict().items():
                if t.is_floating_point():
                    avg[name].lerp_(t.detach(), 1.0 - d)
                else:
                    avg[name].copy_(t)
        self.ema_updates += 1

    def save(self) -> None:
        save_checkpoint(self.ckpt_path, self.modules, self.optimizer, self.step,
                        self.prev_wall + self.elapsed(), self.outputs, self.ema, self.ema_updates)

    def finish(self, outputs: dict[str, Any] | None = None,
               evaluate: Callable[[], dict[str, Any]] | None = None) -> StageResult:
        """Save the checkpoint and end the stage, leaving the averaged weights (if any) in the
        modules. ``evaluate()`` runs on the model the stage hands over (the average with ``ema``
        on, else the last weights); what it returns joins the outputs."""
        self.outputs.update(outputs or {})
        if evaluate is not None:
            raw = None
            if self.ema is not None:  # evaluate the weights the voice will get
                raw = {k: {n: t.detach().clone() for n, t in m.state_dict().items()}
                       for k, m in self.modules.items()}
                for k, m in self.modules.items():
                    m.load_state_dict(self.ema[k])
            self.outputs.update(evaluate())
            for k, sd in (raw or {}).items():  # the checkpoint keeps the raw weights to resume
                self.modules[k].load_state_dict(sd)
        self.save()
        self._log.close()
        if self.ema is not None:  # the stage's result is the averaged model
            for k, m in self.modules.items():
                m.load_state_dict(self.ema[k])
        wall = self.prev_wall + self.elapsed()
        self._say(f"done: {self.step} steps, {wall:.0f} s")
        return StageResult(self.stage, self.step, round(wall, 2), self.first_loss,
                           self.last_loss, dict(self.outputs))

    def _say(self, msg: str) -> None:
        if self.opts.progress:
            print(f"[{self.stage}] {msg}", file=sys.stderr, flush=True)
