"""Deepening a trained denoiser (``emomix train grow``): the grown network computes what the
trained one did, its new blocks learn, and a deeper voice runs the same on every backend.

Weights are random (perturbed so every block matters); these check the mapping and plumbing,
not speech quality.
"""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from emomix.config import DenoiserConfig, ModelConfig  # noqa: E402
from emomix.models.denoiser import Denoiser  # noqa: E402
from emomix.train.grow import check_growable, grow_denoiser_state, grow_run  # noqa: E402

SMALL = {"channels": (16, 24, 32), "time_embed_dim": 16, "cond_dim": 32, "n_heads": 2}


def _denoiser(seed: int, n_mels: int = 8, **fields) -> Denoiser:
    torch.manual_seed(seed)
    d = Denoiser(DenoiserConfig(**{**SMALL, **fields}), n_mels, 6, 5)
    with torch.no_grad():  # FiLM and the output layers start at zero; make every path live
        for p in d.parameters():
            p.add_(0.05 * torch.randn_like(p))
    return d


def _inputs(seed: int = 0, frames: int = 37):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(3, 8, frames, generator=g)
    mu = torch.randn(3, 8, frames, generator=g)
    t = torch.tensor([0.05, 0.5, 0.97])
    emo, spk = torch.randn(3, 6, generator=g), torch.randn(3, 5, generator=g)
    mask = torch.ones(3, 1, frames)
    mask[1, :, frames - 9:] = 0
    return x, t, mu, emo, spk, mask


@pytest.mark.parametrize("grow", [{"n_res_blocks": 2}, {"n_transformer_blocks": 3},
                                  {"n_res_blocks": 3, "n_transformer_blocks": 2}])
def test_the_grown_denoiser_computes_what_the_trained_one_did(grow):
    old = _denoiser(0)
    new = Denoiser(DenoiserConfig(**{**SMALL, **grow}), 8, 6, 5)
    state = grow_denoiser_state(old.state_dict(), old.cfg, new.cfg, new.state_dict())
    new.load_state_dict(state)
    assert sum(p.numel() for p in new.parameters()) > sum(p.numel() for p in old.parameters())
    args = _inputs()
    with torch.no_grad():
        np.testing.assert_array_equal(new(*args).numpy(), old(*args).numpy())
    # the new blocks are not dead: one optimiser step moves them and changes the output
    x, t, mu, emo, spk, mask = args
    loss = (new(x, t, mu, emo, spk, mask) - x).pow(2).mean()
    loss.backward()
    fresh = [n for n in state if n.startswith(("down.2.blocks.", "up.")) and
             n.endswith((".conv2.weight", ".ffn2.weight", ".attn.out.weight"))
             and not state[n].any()]
    assert fresh, "the growth left no zeroed last layer"
    grads = dict(new.named_parameters())
    assert all(grads[n].grad is not None and grads[n].grad.abs().sum() > 0 for n in fresh)


def test_only_depth_can_grow():
    old = DenoiserConfig(**SMALL)
    check_growable(old, DenoiserConfig(**{**SMALL, "n_res_blocks": 2}))
    with pytest.raises(ValueError, match=r"denoiser\.channels: .* cannot keep"):
        check_growable(old, DenoiserConfig(**{**SMALL, "channels": (16, 24, 48)}))
    with pytest.raises(ValueError, match=r"n_transformer_blocks: can only grow \(1 -> 0\)"):
        check_growable(old, DenoiserConfig(**{**SMALL, "n_transformer_blocks": 0}))
    big = Denoiser(DenoiserConfig(**{**SMALL, "n_res_blocks": 2}), 8, 6, 5)
    with pytest.raises(ValueError, match="is old_cfg the config it was trained with"):
        grow_denoiser_state(big.state_dict(), old, DenoiserConfig(**{**SMALL, "n_res_blocks": 3}),
                            Denoiser(DenoiserConfig(**{**SMALL, "n_res_blocks": 3}), 8, 6,
                                     5).state_dict())


def _write_run(tmp_path):
    """A run directory with an acoustic checkpoint (raw and averaged weights) and a SER one."""
    from emomix.models import VoiceModel
    from emomix.train.common import save_checkpoint

    cfg = ModelConfig(n_symbols=20, n_speakers=2, emotion_dim=6, speaker_dim=5,
                      denoiser=DenoiserConfig(**SMALL))
    torch.manual_seed(0)
    model = VoiceModel(cfg)
    run = tmp_path / "run"
    run.mkdir()
    (run / "run.json").write_text(json.dumps({"corpus": "corpus", "cache": "cache",
                                              "model_config": cfg.to_dict()}))
    den = _denoiser(1, n_mels=80)
    model.denoiser.load_state_dict(den.state_dict())
    mods = {"speakers": model.speakers, "encoder": model.encoder, "denoiser": model.denoiser}
    opt = torch.optim.AdamW([p for m in mods.values() for p in m.parameters()])
    avg = {k: {n: v.clone() * 0.5 for n, v in m.state_dict().items()} for k, m in mods.items()}
    save_checkpoint(run / "acoustic.pt", mods, opt, 1234, 99.0, ema=avg, ema_updates=7)
    save_checkpoint(run / "ser.pt", {"ser": model.ser}, None, 5, 1.0)
    return run, model, avg


def test_grow_run_writes_a_deeper_run_that_resumes_from_the_same_function(tmp_path):
    from emomix.models import VoiceModel

    run, model, avg = _write_run(tmp_path)
    grown = grow_run(run, tmp_path / "deep", n_res_blocks=2, n_transformer_blocks=2)
    assert grown == {"run": "run", "acoustic_step": 1234,
                     "denoiser": {"n_res_blocks": 1, "n_transformer_blocks": 1}}
    state = json.loads((tmp_path / "deep" / "run.json").read_text())
    cfg = ModelConfig.from_dict(state["model_config"])
    assert (cfg.denoiser.n_res_blocks, cfg.denoiser.n_transformer_blocks) == (2, 2)
    assert state["grown_from"] == [grown] and state["cache"] == "cache"
    assert (tmp_path / "deep" / "ser.pt").read_bytes() == (run / "ser.pt").read_bytes()
    ck = torch.load(tmp_path / "deep" / "acoustic.pt", map_location="cpu", weights_only=False)
    assert ck["step"] == 1234 and ck["optimizer"] is None and ck["ema_updates"] == 7
    deep = VoiceModel(cfg)
    _, t, _, emo, spk, mask = _inputs(1)
    x, mu = torch.randn(3, 80, 37), torch.randn(3, 80, 37)
    for key, ref in (("modules", model.denoiser.state_dict()), ("ema", avg["denoiser"])):
        deep.denoiser.load_state_dict(ck[key]["denoiser"])
        old = Denoiser(model.cfg.denoiser, 80, 6, 5)
        old.load_state_dict(ref)
        with torch.no_grad():
            np.testing.assert_array_equal(deep.denoiser(x, t, mu, emo, spk, mask).numpy(),
                                          old(x, t, mu, emo, spk, mask).numpy())
    # the other modules and the average are carried over as they were
    np.testing.assert_array_equal(ck["modules"]["encoder"]["proj_mu.weight"].numpy(),
                                  model.encoder.state_dict()["proj_mu.weight"].numpy())
    np.testing.assert_array_equal(ck["ema"]["encoder"]["proj_mu.weight"].numpy(),
                                  avg["encoder"]["proj_mu.weight"].numpy())
    with pytest.raises(FileExistsError, match="already holds a run"):
        grow_run(run, tmp_path / "deep", n_res_blocks=3)
    with pytest.raises(ValueError, match="only n_res_blocks and n_transformer_blocks"):
        grow_run(run, tmp_path / "wide", channels=3)


def test_a_grown_run_warm_started_from_a_voice_loads_the_voice_deepened(random_voice_dir):
    from emomix.models import VoiceModel
    from emomix.train.recipe import _load_init_weights
    from emomix.voice import load_bundle, load_weights

    bundle = load_bundle(random_voice_dir)
    cfg = ModelConfig.from_dict(bundle.model_config)
    old = VoiceModel(cfg)
    old.load_state_dict({k: torch.from_numpy(v) for k, v in load_weights(bundle).items()})
    deeper = cfg.to_dict()
    deeper["denoiser"]["n_res_blocks"] = 2
    model = VoiceModel(ModelConfig.from_dict(deeper))
    _load_init_weights(model, bundle, list(bundle.meta["speakers"]))
    x, mu = torch.randn(2, 80, 21), torch.randn(2, 80, 21)
    t, emo, spk = torch.tensor([0.2, 0.8]), torch.randn(2, 64), torch.randn(2, 64)
    with torch.no_grad():
        np.testing.assert_array_equal(model.denoiser(x, t, mu, emo, spk).numpy(),
                                      old.denoiser(x, t, mu, emo, spk).numpy())


def test_a_deeper_voice_runs_the_same_natively(random_voice_dir, perturbed_voice, tmp_path):
    """Every backend reads the block counts from the config: the native runtime's denoiser
    matches torch on a voice with two residual and two transformer blocks per level."""
    native = pytest.importorskip("emomix._native")
    if not hasattr(native, "Session"):  # pragma: no cover - stale build
        pytest.skip("emomix._native was built without the runtime")
    from emomix.models import VoiceModel
    from emomix.voice import load_bundle, load_weights, save_bundle

    src = load_bundle(random_voice_dir)
    meta = json.loads(json.dumps({k: v for k, v in src.meta.items() if k != "files"}))
    meta["model"]["config"]["denoiser"].update(n_res_blocks=2, n_transformer_blocks=2)
    torch.manual_seed(3)
    model = VoiceModel(ModelConfig.from_dict(meta["model"]["config"]))
    save_bundle(tmp_path / "deep0", meta, {k: v.numpy() for k, v in model.state_dict().items()})
    voice_dir = perturbed_voice(tmp_path / "deep0", tmp_path / "deep")
    model.load_state_dict({k: torch.from_numpy(v)
                           for k, v in load_weights(load_bundle(voice_dir)).items()})
    session = native.Session(native.load_model(str(voice_dir)), threads=2)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 80, 45)).astype(np.float32)
    mu = rng.normal(size=(80, 45)).astype(np.float32)
    tt = np.array([0.3, 0.7], np.float32)
    emo = rng.normal(size=(2, 64)).astype(np.float32)
    spk = rng.normal(size=(2, 64)).astype(np.float32)
    with torch.no_grad():
        ref = model.denoiser(torch.from_numpy(x), torch.from_numpy(tt),
                             torch.from_numpy(mu)[None].expand(2, -1, -1), torch.from_numpy(emo),
                             torch.from_numpy(spk)).numpy()
    out = session.denoise(x, tt, mu, emo, spk)
    assert np.linalg.norm(out - ref) / np.linalg.norm(ref) <= 1e-4


def test_cli_grow_writes_the_run_and_explains_refusals(tmp_path, capsys):
    from emomix.cli import main

    run, _, _ = _write_run(tmp_path)
    assert main(["train", "grow", "--run", str(run), "--out", str(tmp_path / "deep"),
                 "--transformer-blocks", "2"]) == 0
    assert json.loads(capsys.readouterr().out)["grown_from"]["acoustic_step"] == 1234
    for argv, says in (
            (["--run", str(tmp_path / "none"), "--out", str(tmp_path / "x"), "--res-blocks",
              "2"], "is not a run directory"),
            (["--run", str(run), "--out", str(tmp_path / "x")], "say what grows"),
            (["--run", str(run), "--out", str(tmp_path / "x"), "--transformer-blocks", "0"],
             r"can only grow \(1 -> 0\)")):
        assert main(["train", "grow", *argv]) == 2
        err = capsys.readouterr().err
        assert "Traceback" not in err and re.search(says, err), err
    assert not (tmp_path / "x").exists()


def test_a_deeper_voice_exports_to_onnx_within_parity(tmp_path):
    """The ONNX export checks each graph against torch on fresh inputs; a deeper denoiser
    passes the same check."""
    pytest.importorskip("onnxruntime")
    export = pytest.importorskip("emomix_export")
    from emomix.train.init_voice import build_random_voice

    small = {"emotion_dim": 16, "speaker_dim": 16,
             "denoiser": DenoiserConfig(channels=(16, 32), time_embed_dim=16, cond_dim=32,
                                        n_res_blocks=2, n_transformer_blocks=2)}
    build_random_voice(tmp_path / "voice", seed=0, n_speakers=2, config_overrides=small)
    report = export.export_voice(tmp_path / "voice", onnx=True)
    assert "onnx:denoiser" in report.built
    assert report.parity["denoiser"] <= 1e-4, report.parity
