"""The pitch predictor in the ONNX export and the ONNX Runtime backend.

``onnx/pitch.onnx`` (``phonemes (1,T), lengths (1,), emo (B,E), spk (B,S) → pitch (B,2,T)``) is
written only for voices with a pitch predictor, carries the runtime contract, and matches
torch's ``PitchPredictor`` (max abs error <= 1e-4 at several ``T`` and ``M``); the ONNX voice's
``synthesize_full`` (harmonics rendered from that pitch) matches the torch voice's with the same
seed; a pitch voice exported before pitch graphs existed is a clear stale export that a
re-export fixes by writing ``pitch.onnx`` alone; a voice without pitch exports as before.

The voices have RANDOM weights, every one perturbed, and a pitch head whose width and kernel
differ from the encoder's duration head, so that a mixed-up dimension cannot pass. Numerics,
not speech quality.
"""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

import emomix  # noqa: E402
from emomix.backends import create_backend  # noqa: E402
from emomix.backends.onnx_backend import StaleExportError  # noqa: E402
from emomix.config import PitchConfig  # noqa: E402
from emomix.voice import load_bundle, load_weights, save_bundle  # noqa: E402
from emomix.voice.export_contract import (  # noqa: E402
    CONTRACT_KEYS,
    NETWORKS,
    has_pitch,
    onnx_relpath,
    required_networks,
    voice_networks,
)

#: max abs error of ONNX Runtime's pitch against torch's (the native runtime's bound too)
PITCH_ATOL = 1e-4
#: relative L2 of every exported graph against torch (``emomix_export.RTOL_FP32``)
TOL = 1e-4
#: the torch ↔ ONNX line: mel max abs error (as tests/test_native_pitch.py), audio SNR in dB
#: (as tests/test_export.py)
MEL_ATOL = 1e-3
MIN_SNR_DB = 40.0
#: A line as phoneme ids of the symbol table (synthesize_full takes ids as well as text).
IDS = np.random.default_rng(5).integers(1, 100, 40)
E = S = 16


def small_config(pitch: bool) -> dict:
    from emomix.config import DenoiserConfig, EncoderConfig, SERConfig, VocoderConfig

    cfg = dict(
        emotion_dim=E, speaker_dim=S,
        encoder=EncoderConfig(hidden=32, prenet_layers=1, n_layers=1, ffn_dim=64, dp_hidden=32),
        denoiser=DenoiserConfig(channels=(16, 32), time_embed_dim=16, cond_dim=32),
        vocoder=VocoderConfig(dim=32, intermediate_dim=64, n_layers=2),
        ser=SERConfig(cnn_channels=(4, 8, 8), lstm_input=16, lstm_hidden=16, attention_dim=8))
    if pitch:
        cfg["pitch"] = PitchConfig(enabled=True, hidden=24, kernel=5)
    return cfg


def perturbed_voice(root, *, pitch: bool):
    """A small random voice with every float weight perturbed (layer norms off 1/0 too)."""
    from emomix.train.init_voice import build_random_voice

    build_random_voice(root / "random", seed=0, n_speakers=2,
                       config_overrides=small_config(pitch))
    bundle = load_bundle(root / "random")
    rng = np.random.default_rng(1)
    weights = {k: (v + rng.normal(scale=0.05 + 0.1 * float(np.std(v)), size=v.shape)
                   ).astype(np.float32) if v.dtype == np.float32 else v
               for k, v in load_weights(bundle).items()}
    save_bundle(root / "voice", {k: v for k, v in bundle.meta.items() if k != "files"}, weights)
    return root / "voice"


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """(bundle dir, first ExportReport) of a small pitch voice exported once."""
    from emomix_export import export_voice

    d = perturbed_voice(tmp_path_factory.mktemp("onnx_pitch"), pitch=True)
    return d, export_voice(d, onnx=True)


@pytest.fixture(scope="module")
def backends(exported):
    bundle = load_bundle(exported[0])
    return create_backend("torch", bundle, threads=1), create_backend("onnx", bundle, threads=1)


@pytest.fixture(scope="module")
def voices(exported):
    d = exported[0]
    return (emomix.load_voice(d, backend="torch", threads=1),
            emomix.load_voice(d, backend="onnx", threads=1))


def unlist(d, prefix):
    meta = json.loads((d / "voice.json").read_text())
    meta["files"] = {k: v for k, v in meta["files"].items() if not k.startswith(prefix)}
    (d / "voice.json").write_text(json.dumps(meta))


def snr_db(ref: np.ndarray, got: np.ndarray) -> float:
    ref = ref.astype(np.float64)
    return float(10 * np.log10(np.sum(ref**2) / max(np.sum((ref - got) ** 2), 1e-30)))


# -- the export --------------------------------------------------------------------------------


def test_pitch_graph_is_exported_with_the_contract(exported):
    import onnx

    d, report = exported
    assert report.built == [f"onnx:{n}" for n in (*NETWORKS, "pitch")]
    assert report.parity["pitch"] <= TOL, report.parity
    print("export parity (worst rel L2):", report.parity)
    bundle = load_bundle(d)  # pitch.onnx listed in voice.json with a matching sha256
    assert has_pitch(bundle) and voice_networks(bundle)[-1] == "pitch"
    assert "pitch" in required_networks(bundle)
    path = d / onnx_relpath("pitch")
    assert onnx_relpath("pitch") in bundle.files
    onnx.checker.check_model(str(path), full_check=True)
    graph = onnx.load(str(path))
    props = {p.key: p.value for p in graph.metadata_props}
    assert set(CONTRACT_KEYS) <= set(props)
    assert props["emomix.network"] == "pitch"
    assert props["emomix.inputs"] == "phonemes,lengths,emo,spk"
    assert props["emomix.outputs"] == "pitch"

    def dims(value_info):
        return [d.dim_param or d.dim_value for d in value_info.type.tensor_type.shape.dim]

    inputs = {v.name: dims(v) for v in graph.graph.input}
    assert inputs == {"phonemes": [1, "phonemes"], "lengths": [1], "emo": ["batch", E],
                      "spk": ["batch", S]}
    # the tracer names the channel axis symbolically (as the denoiser's); it is 2 at run time
    (out,) = (dims(v) for v in graph.graph.output)
    assert len(out) == 3 and out[0] == "batch" and out[2] == "phonemes"


def test_pitch_parity_on_fresh_inputs(exported, backends):
    from emomix.config import ModelConfig
    from emomix_export.specs import SPECS
    from emomix_export.validate import parity

    d, _ = exported
    cfg = ModelConfig.from_dict(load_bundle(d).model_config)
    cases = parity(backends[0].model, SPECS["pitch"], cfg, str(d / onnx_relpath("pitch")),
                   seed=123, tol=TOL, lengths=(2, 19, 64), batches=(1, 4))
    print("pitch.onnx worst rel L2 on fresh inputs:", max(c.rel_l2 for c in cases))


def test_second_export_does_no_work(exported):
    from emomix_export import export_voice

    d, _ = exported
    report = export_voice(d, onnx=True)
    assert report.built == [] and not report.did_work
    assert "onnx:pitch" in report.skipped


# -- OnnxBackend.pitch -------------------------------------------------------------------------


@pytest.mark.parametrize(("phonemes", "conditions"), [(1, 1), (7, 3), (40, 2), (150, 5)])
def test_pitch_matches_torch(backends, phonemes, conditions):
    torch_backend, onnx_backend = backends
    rng = np.random.default_rng(phonemes)
    ids = rng.integers(0, 100, phonemes)
    emo = rng.normal(size=(conditions, E)).astype(np.float32)
    spk = rng.normal(size=(conditions, S)).astype(np.float32)
    ref = torch_backend.pitch(ids, emo, spk)
    out = onnx_backend.pitch(ids, emo, spk)
    assert out.shape == ref.shape == (conditions, 2, phonemes) and out.dtype == np.float32
    err = float(np.abs(out - ref).max())
    print(f"T={phonemes} M={conditions}: max abs error onnx vs torch {err:.2e}")
    assert err <= PITCH_ATOL
    assert np.abs(ref).max() > 0.1  # a real signal, not zeros on both sides
    for m in range(conditions):  # each condition alone gives its row of the batch
        np.testing.assert_allclose(onnx_backend.pitch(ids, emo[m:m + 1], spk[m:m + 1])[0],
                                   out[m], rtol=0, atol=1e-5)


def test_bad_pitch_inputs_raise_value_error(backends):
    onnx_backend = backends[1]
    ids = np.arange(5)
    emo = np.zeros((2, E), np.float32)
    with pytest.raises(ValueError, match="non-empty 1-D integer"):
        onnx_backend.pitch(np.zeros(0, np.int64), emo, emo)
    with pytest.raises(ValueError, match="non-empty 1-D integer"):
        onnx_backend.pitch(ids[None], emo, emo)
    with pytest.raises(ValueError, match=r"emotions must have shape \(M, E\)"):
        onnx_backend.pitch(ids, emo[0], emo)
    with pytest.raises(ValueError, match=r"speakers must have shape \(M, S\) with M = 2"):
        onnx_backend.pitch(ids, emo, np.zeros((3, S), np.float32))


# -- the voice: torch ↔ ONNX -------------------------------------------------------------------


def _compare_lines(ref, got, what: str) -> None:
    np.testing.assert_array_equal(ref.durations, got.durations)
    mel_err = float(np.abs(ref.mel - got.mel).max())
    snr = snr_db(ref.audio, got.audio)
    print(f"{what}: mel max abs error {mel_err:.2e}, audio SNR {snr:.1f} dB")
    assert mel_err <= MEL_ATOL
    assert snr >= MIN_SNR_DB


@pytest.mark.parametrize("kind", ["mix", "trajectory"])
def test_synthesize_full_matches_torch(voices, kind):
    torch_voice, onnx_voice = voices
    assert onnx_voice.pitch_config is not None
    if kind == "mix":
        kw = dict(emotion={"angry": 0.3, "sad": 0.7}, intensity=1.2, speaker="speaker1",
                  steps=4, seed=3)
    else:
        kw = dict(trajectory=[(0.0, {"happy": 1.0}), (1.0, {"sad": 1.0})], steps=3, seed=5)
    # phoneme ids, so no espeak-ng is needed
    _compare_lines(torch_voice.synthesize_full(IDS, **kw),
                   onnx_voice.synthesize_full(IDS, **kw), kind)


# -- stale exports -----------------------------------------------------------------------------


def test_export_without_pitch_graph_is_stale_until_reexported(exported, tmp_path):
    """A pitch voice exported before pitch graphs existed: the four graphs, no pitch.onnx."""
    from emomix_export import export_voice

    d = tmp_path / "v"
    shutil.copytree(exported[0], d)
    (d / "onnx/pitch.onnx").unlink()
    unlist(d, "onnx/pitch.onnx")
    message = (r"pitch\.onnx: the pitch graph is missing \(this voice has a pitch predictor.*\); "
               r"run `emomix export .* --onnx`")
    with pytest.raises(StaleExportError, match=message):
        create_backend("onnx", load_bundle(d))
    with pytest.raises(StaleExportError, match=message):
        emomix.load_voice(d, backend="onnx")
    # the other graphs are current (the contract did not change): the re-export writes pitch only
    report = export_voice(d, onnx=True)
    assert report.built == ["onnx:pitch"] and report.rehashed
    assert sorted(report.skipped) == sorted(f"onnx:{n}" for n in NETWORKS)
    assert create_backend("onnx", load_bundle(d)).has_pitch


def test_unlisted_pitch_graph_is_refused(exported, tmp_path):
    d = tmp_path / "v"
    shutil.copytree(exported[0], d)
    unlist(d, "onnx/pitch.onnx")  # the file is there, voice.json does not vouch for it
    with pytest.raises(StaleExportError, match=r"pitch\.onnx: not listed in voice\.json"):
        create_backend("onnx", load_bundle(d))


# -- a voice without pitch ---------------------------------------------------------------------


def test_voice_without_pitch_exports_and_runs_as_before(tmp_path):
    from emomix_export import export_voice

    d = perturbed_voice(tmp_path, pitch=False)
    with pytest.raises(ValueError, match="pitch: this voice has no pitch predictor"):
        export_voice(d, onnx=True, networks=["pitch"])
    report = export_voice(d, onnx=True)
    assert report.built == [f"onnx:{n}" for n in NETWORKS]
    assert not (d / onnx_relpath("pitch")).exists()
    bundle = load_bundle(d)
    assert not has_pitch(bundle) and voice_networks(bundle) == NETWORKS
    assert not any("pitch" in rel for rel in bundle.files)
    bt, bo = create_backend("torch", bundle, threads=1), create_backend("onnx", bundle, threads=1)
    assert not bo.has_pitch
    rng = np.random.default_rng(2)
    ids = rng.integers(0, 100, 20)
    emo = rng.normal(size=(2, E)).astype(np.float32)
    with pytest.raises(ValueError, match="no pitch predictor"):
        bo.pitch(ids, emo, emo)
    spk = bo.speaker_table()[0]
    (mu_t, dur_t), (mu_o, dur_o) = (b.encode(ids, emo[0], spk, 1.0) for b in (bt, bo))
    np.testing.assert_array_equal(dur_t, dur_o)
    np.testing.assert_allclose(mu_o, mu_t, atol=1e-4)
    voice = emomix.load_voice(d, backend="onnx", threads=1)
    assert voice.pitch_config is None and voice.line_pitch(ids, emo, spk) is None


def test_has_pitch_reads_the_config(exported, tmp_path):
    assert has_pitch(load_bundle(exported[0]))
    d = tmp_path / "v"
    shutil.copytree(exported[0], d)
    meta = json.loads((d / "voice.json").read_text())
    for pitch in ({"enabled": False}, None):  # disabled, and a config without the section
        if pitch is None:
            meta["model"]["config"].pop("pitch")
        else:
            meta["model"]["config"]["pitch"] = pitch
        (d / "voice.json").write_text(json.dumps(meta))
        bundle = load_bundle(d, verify_hashes=False)
        assert not has_pitch(bundle) and bundle.pitch_config is None


# -- TensorRT (only where it is installed) -----------------------------------------------------


def test_tensorrt_backend_runs_pitch_on_onnx_runtime(exported, tmp_path):
    pytest.importorskip("tensorrt", reason="TensorRT is not installed (needs an NVIDIA GPU); "
                        "the TensorRT backend's pitch path is untested on this machine")
    pytest.importorskip("cuda", reason="cuda-python is not installed")
    from emomix_export import export_voice

    d = tmp_path / "v"
    shutil.copytree(exported[0], d)
    report = export_voice(d, onnx=True, tensorrt=True)
    assert "tensorrt:denoiser" in report.built and "tensorrt:pitch" not in report.built
    bundle = load_bundle(d)
    bo, bt = create_backend("onnx", bundle), create_backend("tensorrt", bundle)
    rng = np.random.default_rng(0)
    ids = rng.integers(0, 100, 30)
    emo = rng.normal(size=(3, E)).astype(np.float32)
    spk = rng.normal(size=(3, S)).astype(np.float32)
    ref, got = bo.pitch(ids, emo, spk), bt.pitch(ids, emo, spk)
    assert got.shape == ref.shape and np.abs(got - ref).max() <= 1e-3


def test_tensorrt_backend_on_a_stale_pitch_export_is_clear(exported, tmp_path):
    """The TensorRT backend opens the ONNX graphs first: a missing pitch graph is reported as
    such, whether or not TensorRT is installed."""
    d = tmp_path / "v"
    shutil.copytree(exported[0], d)
    (d / "onnx/pitch.onnx").unlink()
    unlist(d, "onnx/pitch.onnx")
    with pytest.raises(StaleExportError, match="pitch graph is missing"):
        create_backend("tensorrt", load_bundle(d))
