"""The whole voice recipe: prepare the data, train SER → acoustic → pitch → vocoder, write a
bundle.

:func:`open_run` sets up (or reopens) a run directory: the dataset cache, the model config
(fitted ``mel_mean`` / ``mel_std`` in its audio section) and a :class:`VoiceModel` with every
finished stage's checkpoint loaded. :func:`train_voice` runs the stages within one time
budget and writes the voice bundle with its provenance.
"""

from __future__ import annotations

import datetime as _dt
import json
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from ..config import AudioConfig, ModelConfig, PitchConfig
from .common import StageOptions, StageResult, load_checkpoint

__all__ = ["Recipe", "Run", "open_run", "run_stage", "stale_pitch", "train_voice", "write_bundle",
           "git_commit", "STAGES"]

STAGES = ("ser", "acoustic", "pitch", "vocoder")


def _deep_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in over.items():
        out[k] = _deep_merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) \
            else v
    return out


def git_commit() -> str | None:
    """``git rev-parse HEAD`` of the checkout this package lives in, or ``None``."""
    try:
        r = subprocess.run(["git", "rev-parse", "HEAD"], cwd=Path(__file__).resolve().parent,
                           capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return r.stdout.strip() or None if r.returncode == 0 else None


@dataclass
class Recipe:
    """Every hyperparameter of ``train voice`` (stored in ``voice.json`` provenance).

    The step counts are ceilings: with a budget, each stage stops at its share of the time.
    ``alignment`` is where the acoustic model's phoneme durations come from (``"corpus"`` or
    ``"search"``, :func:`~emomix.train.dataset.prepare_dataset`). ``shares`` split the budget
    left after data preparation; time a stage does not use goes to the stages after it.
    """

    budget_minutes: float | None = 120.0
    shares: dict[str, float] = field(
        default_factory=lambda: {"ser": 0.10, "acoustic": 0.55, "pitch": 0.05, "vocoder": 0.30})
    parameterisation: str = "flow"
    device: str = "cpu"
    threads: int | None = None
    seed: int = 0
    dtype: str = "float16"
    ser: dict[str, Any] = field(default_factory=lambda: {
        "max_steps": 3000, "batch_size": 16, "lr": 1e-3, "max_frames": 256})
    acoustic: dict[str, Any] = field(default_factory=lambda: {
        "max_steps": 100000, "batch_size": 16, "lr": 2e-4, "segment_frames": 128,
        "style_weight": 1e-4, "style_items": 4, "ema": 0.999})
    pitch: dict[str, Any] = field(default_factory=lambda: {
        "max_steps": 3000, "batch_size": 16, "lr": 1e-3, "ema": 0.999})
    vocoder: dict[str, Any] = field(default_factory=lambda: {
        "max_steps": 100000, "batch_size": 16, "lr": 5e-4, "segment_frames": 32,
        "mel_weight": 1.0, "ema": 0.999})
    config_overrides: dict[str, Any] = field(default_factory=dict)
    max_utterances: int | None = None
    init_voice: str | None = None
    alignment: str = "corpus"
    log_every: int = 10
    checkpoint_every: int = 200

    def stage_options(self, stage: str, *, budget_s: float | None, resume: bool,
                      progress: bool) -> StageOptions:
        d = dict(getattr(self, stage))
        base = {k: d.pop(k) for k in ("max_steps", "batch_size", "lr", "ema") if k in d}
        return StageOptions(budget_s=budget_s, resume=resume, device=self.device,
                            progress=progress, seed=self.seed, log_every=self.log_every,
                            checkpoint_every=self.checkpoint_every, extra=d, **base)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Run:
    """An open run: directory, prepared data, model config, model (finished stages loaded)."""

    dir: Path
    data: Any
    cfg: ModelConfig
    model: Any
    index: dict[str, Any]
    results: dict[str, dict[str, Any]]
    init_voice: str | None = None


def open_run(run_dir: str | Path, corpus: str | Path | None = None, *,
             cache: str | Path | None = None, parameterisation: str = "flow",
             config_overrides: dict[str, Any] | None = None,
             max_utterances: int | None = None, init_voice: str | Path | None = None,
             alignment: str = "corpus", progress: bool = True) -> Run:
    """Create or reopen ``run_dir``.

    The first call needs ``corpus``; it prepares the cache (``run_dir/cache`` unless ``cache``
    is given) and writes ``run_dir/run.json`` with the model config. Later calls read
    ``run.json`` (``corpus``, ``parameterisation``, ``config_overrides``, ``init_voice`` and
    ``alignment`` are then ignored) and load each stage checkpoint that exists.

    ``init_voice`` warm-starts a new run from a trained voice bundle (fine-tuning): the run
    takes the voice's model config and mel normalisation (the networks were trained on it), and
    every network starts from the voice's weights, loaded again on each reopen before the
    stage checkpoints. Speakers the voice knows by name keep their rows of the speaker table;
    new speakers start at the mean of the voice's rows.
    """
    import torch

    from ..models import VoiceModel
    from ..text import default_symbol_table
    from .dataset import PreparedData, prepare_dataset

    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    run_json = run_dir / "run.json"
    if run_json.exists():
        state = json.loads(run_json.read_text())
        cache_dir = Path(state["cache"])
        index = json.loads((cache_dir / "index.json").read_text())
        cfg = ModelConfig.from_dict(state["model_config"])
    else:
        if corpus is None:
            raise ValueError(f"{run_dir} is not a run yet; give --corpus to start one")
        cache_dir = Path(cache) if cache is not None else run_dir / "cache"
        # new runs have the pitch predictor (``{"pitch": {"enabled": false}}`` leaves it out)
        init = _init_bundle(init_voice) if init_voice is not None else None
        base = (ModelConfig.from_dict(init.meta["model"]["config"]) if init is not None else
                ModelConfig(parameterisation=parameterisation, pitch=PitchConfig(enabled=True)))
        merged = _deep_merge(base.to_dict(), config_overrides or {})
        audio = AudioConfig.from_dict(merged.get("audio", {}))
        index = prepare_dataset(corpus, cache_dir, audio, max_utterances=max_utterances,
                                progress=progress, alignment=alignment)
        if init is None:
            merged["audio"]["mel_mean"] = index["mel_mean"]
            merged["audio"]["mel_std"] = index["mel_std"]
        merged["n_symbols"] = len(default_symbol_table())
        merged["n_speakers"] = len(index["speakers"])
        merged["n_emotions"] = len(index["emotions"])
        cfg = ModelConfig.from_dict(merged)
        cfg.validate()
        if init is not None and cfg.n_symbols != int(init.meta["model"]["config"]["n_symbols"]):
            raise ValueError(f"{init_voice}: its symbol table has "
                             f"{init.meta['model']['config']['n_symbols']} symbols, this "
                             f"emomix has {cfg.n_symbols}; it cannot be fine-tuned here")
        state = {"corpus": str(Path(corpus).resolve()), "cache": str(cache_dir.resolve()),
                 "model_config": cfg.to_dict()}
        if init is not None:
            state["init_voice"] = str(init.path.resolve())
        run_json.write_text(json.dumps(state, indent=1))
    data = PreparedData(cache_dir, mel_mean=cfg.audio.mel_mean, mel_std=cfg.audio.mel_std)
    torch.manual_seed(0)
    model = VoiceModel(cfg)
    if state.get("init_voice"):
        _load_init_weights(model, _init_bundle(state["init_voice"]), data.speakers)
    results: dict[str, dict[str, Any]] = {}
    owned = {"ser": ("ser",), "acoustic": ("speakers", "encoder", "denoiser"),
             "pitch": ("pitch",), "vocoder": ("vocoder",)}
    for stage in STAGES:
        path = run_dir / f"{stage}.pt"
        if path.exists() and all(getattr(model, k, None) is not None for k in owned[stage]):
            ck = load_checkpoint(path, {k: getattr(model, k) for k in owned[stage]})
            results[stage] = {"steps": int(ck["step"]), "wall_s": float(ck.get("wall_s", 0.0)),
                              "outputs": ck.get("outputs", {})}
    return Run(run_dir, data, cfg, model, index, results, state.get("init_voice"))


def _init_bundle(path: str | Path):
    from ..voice import load_bundle

    return load_bundle(path)


def _load_init_weights(model: Any, bundle: Any, speakers: list[str]) -> None:
    """Copy a voice's weights into ``model`` (see :func:`open_run`'s ``init_voice``)."""
    import torch

    from ..data import voice_speaker_name
    from ..voice import load_weights

    weights = load_weights(bundle)
    trained = ModelConfig.from_dict(bundle.meta["model"]["config"]).denoiser
    if trained != model.cfg.denoiser:  # a grown run (emomix train grow): deepen the voice's too
        from .grow import grow_denoiser_state

        fresh = {k: v.numpy() for k, v in model.denoiser.state_dict().items()}
        old = {k[len("denoiser."):]: v for k, v in weights.items() if k.startswith("denoiser.")}
        weights = {k: v for k, v in weights.items() if not k.startswith("denoiser.")}
        weights.update({f"denoiser.{k}": v for k, v in
                        grow_denoiser_state(old, trained, model.cfg.denoiser, fresh).items()})
    state = model.state_dict()
    for name, value in weights.items():
        if name == "speakers.weight":
            continue
        if name not in state or tuple(state[name].shape) != value.shape:
            raise ValueError(f"{bundle.path}: weight {name} {value.shape} does not fit the "
                             "run's model; fine-tune only from a voice of the same model config")
        state[name] = torch.from_numpy(value)
    old = weights["speakers.weight"]
    known = bundle.meta["speakers"]
    table = torch.from_numpy(old).mean(0, keepdim=True).repeat(len(speakers), 1)
    for row, spk in enumerate(speakers):
        if voice_speaker_name(spk) in known:
            table[row] = torch.from_numpy(old[known[voice_speaker_name(spk)]])
    state["speakers.weight"] = table
    model.load_state_dict(state)


def stale_pitch(run: Run) -> str | None:
    """Why the run's pitch predictor does not fit its acoustic model, or ``None`` if it does.

    The predictor reads the encoder's states, and those move while the acoustic model trains:
    a predictor left from an earlier acoustic step predicts F0 from states it never saw (one
    left 28,000 acoustic steps behind read happy +115 and surprise +186 cents sharp on held-out
    clips, against −13 and +5 when it was trained). A checkpoint that does not record its
    acoustic step (written before the pitch stage recorded it) cannot be vouched for, so it
    counts as stale too: copied between runs, it would otherwise pass silently.
    """
    pitch, acoustic = run.results.get("pitch"), run.results.get("acoustic")
    if pitch is None or acoustic is None:
        return None
    trained_on = pitch.get("outputs", {}).get("acoustic_step")
    if trained_on is None:
        return ("the pitch predictor does not record which acoustic step it was trained against "
                f"(the acoustic model is at step {int(acoustic['steps'])})")
    if int(trained_on) == int(acoustic["steps"]):
        return None
    return (f"the pitch predictor was trained against acoustic step {int(trained_on)}, but the "
            f"acoustic model is at step {int(acoustic['steps'])}")


def _sampler_settings(run: Run) -> dict[str, Any]:
    """The ``sampler`` section the run's bundle gets: its init voice's, else a new voice's."""
    from .init_voice import default_sampler

    init = dict(_init_bundle(run.init_voice).meta.get("sampler") or {}) if run.init_voice else {}
    return init or default_sampler(run.cfg)


def run_sampler(run: Run):
    """The :class:`~emomix.sampler.SamplerSpec` of the voice this run's bundle will be (the
    sampler of the voice it was fine-tuned from, else a new voice's)."""
    from ..sampler import SamplerSpec

    s = _sampler_settings(run)
    return SamplerSpec(parameterisation=s["parameterisation"], solver=s["solver"],
                       steps=int(s["steps"]), temperature=float(s["temperature"]),
                       beta_min=run.cfg.beta_min, beta_max=run.cfg.beta_max,
                       k_max=float(s["k_max"]), k_min=float(s["k_min"]))


def teacher_forced_inputs(run: Run, emotion_table: dict[str, Any], *, seed: int = 0,
                          progress: bool = False) -> tuple[dict[int, np.ndarray], dict[str, Any]]:
    """The run's teacher-forced mels of every clip the vocoder trains on
    (:func:`emomix.train.gta.teacher_forced_mels`, at the voice's sampler settings), and a note
    of where they came from (``acoustic_step``, ``clips``, ``sampler``).

    They are kept in ``RUN/teacher_forced.npz`` and made again when the acoustic model's step
    or the sampler settings differ from the kept ones.
    """
    from .gta import teacher_forced_mels
    from .stages import F0Cache, emotion_tensor

    data, step = run.data, int(run.results["acoustic"]["steps"])
    spec = run_sampler(run)
    note = {"acoustic_step": step, "seed": seed,
            "sampler": {"solver": spec.solver, "steps": spec.steps,
                        "temperature": spec.temperature}}
    items = np.setdiff1d(np.arange(len(data)), data.indices("test"))
    path = run.dir / "teacher_forced.npz"
    if path.exists():
        with np.load(path) as z:
            if (json.loads(str(z["note"])) == note
                    and np.array_equal(z["clips"], items)):
                ends = np.cumsum(z["frames"])
                mels = z["mels"].astype(np.float32)
                out = {int(i): mels[:, e - n:e]
                       for i, n, e in zip(items, z["frames"], ends, strict=True)}
                return out, {**note, "clips": int(items.size)}
    if progress:
        print(f"[vocoder] teacher-forced mels of {items.size} clips from acoustic step {step}",
              file=sys.stderr, flush=True)
    run.model.cpu()
    out = teacher_forced_mels(run.model, data, items, emotion_tensor(emotion_table, data.emotions),
                              spec, seed=seed,
                              f0_of=F0Cache(data))
    frames = np.asarray([out[int(i)].shape[1] for i in items], np.int64)
    tmp = path.with_name(path.stem + ".partial.npz")
    np.savez(tmp, note=json.dumps(note), clips=items, frames=frames,
             mels=np.concatenate([out[int(i)] for i in items], axis=1).astype(np.float16))
    tmp.replace(path)
    return out, {**note, "clips": int(items.size)}


def run_stage(run: Run, stage: str, opts: StageOptions) -> StageResult:
    """Train one stage of an open run (the acoustic and pitch stages need the SER stage's
    embeddings; the pitch stage needs the acoustic model's alignment)."""
    from .stages import train_acoustic, train_pitch, train_ser, train_vocoder

    def embeddings() -> dict[str, Any]:
        ser = run.results.get("ser")
        if ser is None or "emotion_embeddings" not in ser["outputs"]:
            raise RuntimeError(f"{run.dir}: train the SER first (emomix train ser); the {stage} "
                               "stage is conditioned on its per-emotion embeddings")
        return ser["outputs"]["emotion_embeddings"]

    if stage == "ser":
        res = train_ser(run.model, run.data, run.dir, opts)
    elif stage == "acoustic":
        res = train_acoustic(run.model, run.data, run.dir, opts, embeddings())
    elif stage == "pitch":
        if "acoustic" not in run.results:
            raise RuntimeError(f"{run.dir}: train the acoustic model first (emomix train "
                               "acoustic); the pitch stage pools F0 over its alignment")
        why = stale_pitch(run) if opts.resume else None
        if why:  # its weights fit another encoder: train them again for the stage's full steps
            if opts.progress:
                print(f"[pitch] {why}; training it again from step 0", file=sys.stderr,
                      flush=True)
            opts = replace(opts, resume=False)
        res = train_pitch(run.model, run.data, run.dir, opts, embeddings(),
                          acoustic_step=run.results["acoustic"]["steps"])
    elif stage == "vocoder":
        inputs = note = None
        if opts.extra.get("teacher_forced"):
            if "acoustic" not in run.results:
                raise RuntimeError(f"{run.dir}: train the acoustic model first; teacher-forced "
                                   "mels come from it")
            inputs, note = teacher_forced_inputs(run, embeddings(), progress=opts.progress)
        res = train_vocoder(run.model, run.data, run.dir, opts, inputs=inputs,
                            inputs_note=note)
    else:
        raise ValueError(f"unknown stage {stage!r}; choose from {', '.join(STAGES)}")
    run.results[stage] = {"steps": res.steps, "wall_s": res.wall_s, "outputs": res.outputs,
                          "first_loss": res.first_loss, "last_loss": res.last_loss}
    return res


def write_bundle(run: Run, out: str | Path, *, recipe: Recipe | None = None,
                 name: str = "emomix-trained", description: str | None = None,
                 extra_provenance: dict[str, Any] | None = None, dtype: str = "float16",
                 default_speaker: str | None = None):
    """Write the voice bundle of a run whose SER stage has finished.

    A fine-tuned run (``init_voice``) keeps its voice's sampler settings and records the voice
    it started from (name, weights hash, commit) in the provenance. ``default_speaker`` names
    who speaks when a call names no speaker (one of the run's speakers, as the voice names them).
    """
    from ..data import voice_speaker_name
    from ..text import default_symbol_table
    from ..voice import save_bundle
    from .init_voice import voice_meta

    ser = run.results.get("ser")
    if ser is None:
        raise RuntimeError(f"{run.dir}: no SER stage yet; the bundle needs its emotion embeddings")
    why = stale_pitch(run)
    if why:
        raise ValueError(f"{run.dir}: {why}, so its F0 would be off; train it again on this "
                         f"encoder first: emomix train pitch --run {run.dir} --resume")
    table = {k: np.asarray(v, np.float32) for k, v in ser["outputs"]["emotion_embeddings"].items()}
    speakers = [voice_speaker_name(s) for s in run.data.speakers]
    stages = {s: {k: v for k, v in r.items() if k != "outputs" or s != "ser"}
              for s, r in run.results.items()}
    if default_speaker is not None and default_speaker not in speakers:
        raise ValueError(f"default speaker {default_speaker!r} is not one of the run's speakers "
                         f"({', '.join(speakers)})")
    corpus = run.index.get("corpus")
    provenance = {
        "kind": "trained",
        "trained": True,
        # the corpus folder's name, not a path of the machine that trained it
        "data": {"corpus": Path(corpus).name if corpus else None,
                 "corpus_recipe": run.index.get("corpus_recipe"),
                 "counts": run.index.get("counts"), "speakers": run.index.get("speakers"),
                 "emotions": run.index.get("emotions"), "mel_mean": run.index.get("mel_mean"),
                 "mel_std": run.index.get("mel_std")},
        "recipe": recipe.to_dict() if recipe is not None else None,
        "stages": stages,
        "ser_test_accuracy": ser["outputs"].get("test_accuracy"),
        "ser_test_split": ser["outputs"].get("test_split"),
        "git_commit": git_commit(),
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
    }
    if run.init_voice:
        init = _init_bundle(run.init_voice)
        provenance["init_voice"] = {
            "name": init.meta.get("name"),
            "weights_sha256": (init.files.get("weights.safetensors") or {}).get("sha256"),
            "git_commit": (init.meta.get("provenance") or {}).get("git_commit")}
    provenance.update(extra_provenance or {})
    meta = voice_meta(
        run.cfg, default_symbol_table(), run.index.get("language", "en-us"), speakers, table,
        name=name,
        description=description or "Trained by emomix train voice on the corpus in provenance.",
        provenance=provenance, sampler=_sampler_settings(run))
    if default_speaker is not None:
        meta["default_speaker"] = default_speaker
    weights = {k: v.detach().float().cpu().numpy() for k, v in run.model.state_dict().items()}
    return save_bundle(Path(out), meta, weights, dtype=dtype)


def train_voice(corpus: str | Path, out: str | Path, *, run_dir: str | Path | None = None,
                recipe: Recipe | None = None, resume: bool = False, progress: bool = True):
    """Prepare, train the three stages within ``recipe.budget_minutes`` and write the bundle.

    ``run_dir`` defaults to ``<out>.run`` (checkpoints, ``losses.jsonl``, data cache). With
    ``resume`` every stage continues from its checkpoint. Returns the written
    :class:`~emomix.voice.VoiceBundle`.
    """
    import torch

    recipe = recipe or Recipe()
    if recipe.threads:
        torch.set_num_threads(recipe.threads)
    t_start = time.monotonic()
    run_dir = Path(run_dir) if run_dir is not None else Path(str(out) + ".run")
    if not resume and (run_dir / "run.json").exists():
        raise FileExistsError(f"{run_dir} already holds a run; pass --resume to continue it or "
                              "choose another --run directory")
    run = open_run(run_dir, corpus, parameterisation=recipe.parameterisation,
                   config_overrides=recipe.config_overrides,
                   max_utterances=recipe.max_utterances, init_voice=recipe.init_voice,
                   alignment=recipe.alignment, progress=progress)
    prep_s = time.monotonic() - t_start
    budget = None if recipe.budget_minutes is None else recipe.budget_minutes * 60.0
    walls = {"prepare": round(prep_s, 2)}
    stages = [s for s in STAGES if s != "pitch" or run.model.pitch is not None]
    for i, stage in enumerate(stages):
        stage_budget = None
        if budget is not None:
            left = budget - (time.monotonic() - t_start)
            shares = [recipe.shares.get(s, 0.0) for s in stages[i:]]
            stage_budget = max(left, 0.0) * shares[0] / max(sum(shares), 1e-9)
        opts = recipe.stage_options(stage, budget_s=stage_budget, resume=resume,
                                    progress=progress)
        if progress:
            b = "no limit" if stage_budget is None else f"{stage_budget:.0f} s"
            print(f"[voice] stage {stage}: budget {b}", file=sys.stderr, flush=True)
        t0 = time.monotonic()
        run_stage(run, stage, opts)
        walls[stage] = round(time.monotonic() - t0, 2)
    run.model.cpu()
    total = time.monotonic() - t_start
    bundle = write_bundle(
        run, out, recipe=recipe, dtype=recipe.dtype,
        extra_provenance={"device": recipe.device,
                          "torch_threads": torch.get_num_threads(),
                          "torch_version": torch.__version__,
                          "wall_s": {**walls, "total": round(total, 2)}})
    if progress:
        acc = run.results["ser"]["outputs"].get("test_accuracy")
        print(f"[voice] wrote {out} in {total:.0f} s (SER held-out accuracy {acc})",
              file=sys.stderr, flush=True)
    return bundle
