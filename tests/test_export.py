"""Export tooling: ONNX graphs with the runtime contract, parity with PyTorch, stage caching, the
ONNX Runtime backend (no torch), stale-graph errors, and TensorRT where it is installed.

The voice is built here with RANDOM weights and a shrunken config: plumbing only (shapes,
contract, numerics of the export), nothing about speech quality.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

from emomix.backends import create_backend  # noqa: E402
from emomix.backends.onnx_backend import StaleExportError  # noqa: E402
from emomix.errors import EmomixError  # noqa: E402
from emomix.voice import load_bundle, load_weights, save_bundle, update_file_hashes  # noqa: E402
from emomix.voice.export_contract import CONTRACT_KEYS, NETWORKS, onnx_relpath  # noqa: E402

TOL = 1e-4


def small_config():
    from emomix.config import DenoiserConfig, EncoderConfig, SERConfig, VocoderConfig

    return dict(
        emotion_dim=16, speaker_dim=16,
        encoder=EncoderConfig(hidden=32, prenet_layers=1, n_layers=1, ffn_dim=64, dp_hidden=32),
        denoiser=DenoiserConfig(channels=(16, 32), time_embed_dim=16, cond_dim=32),
        vocoder=VocoderConfig(dim=32, intermediate_dim=64, n_layers=2),
        ser=SERConfig(cnn_channels=(4, 8, 8), lstm_input=16, lstm_hidden=16, attention_dim=8))


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """(bundle dir, first ExportReport) of a small random voice exported once."""
    from emomix.train.init_voice import build_random_voice
    from emomix_export import export_voice

    d = tmp_path_factory.mktemp("export") / "voice"
    build_random_voice(d, seed=0, n_speakers=2, config_overrides=small_config())
    report = export_voice(d, onnx=True)
    return d, report


def copy_bundle(src, dst):
    shutil.copytree(src, dst)
    return dst


def test_export_writes_checked_graphs_with_contract(exported):
    import onnx

    d, report = exported
    assert report.built == [f"onnx:{n}" for n in NETWORKS]
    bundle = load_bundle(d)  # every graph listed in voice.json with a matching sha256
    for n in NETWORKS:
        rel = onnx_relpath(n)
        assert rel in bundle.files
        onnx.checker.check_model(str(d / rel), full_check=True)
        props = {p.key: p.value for p in onnx.load(str(d / rel)).metadata_props}
        assert set(CONTRACT_KEYS) <= set(props)
        assert props["emomix.network"] == n
        assert props["emomix.parameterisation"] == "flow"
        assert json.loads(props["emomix.audio"]) == bundle.meta["audio"]
        assert props["emomix.opset"] == "17" and props["emomix.version"]


def test_per_network_parity_on_fresh_inputs(exported):
    from emomix.backends.torch_backend import TorchBackend
    from emomix.config import ModelConfig
    from emomix_export.specs import SPECS
    from emomix_export.validate import parity

    d, report = exported
    assert all(report.parity[n] <= TOL for n in NETWORKS), report.parity
    bundle = load_bundle(d)
    model = TorchBackend(bundle).model
    cfg = ModelConfig.from_dict(bundle.model_config)
    worst = {}
    for n in NETWORKS:
        spec = SPECS[n]
        lengths = (2, 13, 64) if n != "encoder" else (3, 19)
        cases = parity(model, spec, cfg, str(d / onnx_relpath(n)), seed=123, tol=TOL,
                       lengths=lengths, batches=(1, 4))
        worst[n] = max(c.rel_l2 for c in cases)
    print("worst rel L2 per network:", worst)
    assert all(v <= TOL for v in worst.values())


def test_parity_failure_names_the_worst_tensor(exported):
    from emomix.backends.torch_backend import TorchBackend
    from emomix.config import ModelConfig
    from emomix_export.specs import SPECS
    from emomix_export.validate import ExportValidationError, parity

    d, _ = exported
    bundle = load_bundle(d)
    model = TorchBackend(bundle).model
    cfg = ModelConfig.from_dict(bundle.model_config)
    with pytest.raises(ExportValidationError, match=r"worst tensor vocoder\.wav"):
        parity(model, SPECS["vocoder"], cfg, str(d / onnx_relpath("vocoder")), tol=0.0,
               lengths=(5,), batches=(1,))


def test_second_export_does_no_work(exported):
    from emomix_export import export_voice

    d, _ = exported
    before = (d / "voice.json").stat().st_mtime_ns, (d / "onnx/denoiser.onnx").stat().st_mtime_ns
    report = export_voice(d, onnx=True)
    assert report.built == [] and not report.rehashed and not report.did_work
    assert sorted(report.skipped) == sorted(f"onnx:{n}" for n in NETWORKS)
    after = (d / "voice.json").stat().st_mtime_ns, (d / "onnx/denoiser.onnx").stat().st_mtime_ns
    assert before == after


#: Exports one network into a copy of a bundle in a fresh interpreter where every runtime backend
#: module is blocked (``import emomix`` itself loads only ``emomix.backends.base``).
_EXPORT_WITHOUT_BACKENDS = """
import sys
for name in ("onnx_backend", "tensorrt_backend", "torch_backend", "native_backend"):
    sys.modules["emomix.backends." + name] = None  # any import of one raises ImportError
import emomix_export.cli, emomix_export.tensorrt_build
from emomix_export import export_voice

report = export_voice(sys.argv[1], out=sys.argv[2], networks=["vocoder"], force=True)
assert report.built == ["onnx:vocoder"], report
"""


def test_the_exporter_imports_no_runtime_backend(exported, tmp_path):
    """``emomix_export`` takes the export contract from the voice package
    (``emomix.voice.export_contract``) and builds the torch networks with
    ``emomix.models.VoiceModel.from_bundle``: none of its modules imports ``emomix.backends``,
    and an export runs with every runtime backend blocked."""
    import ast
    from pathlib import Path

    import emomix_export

    offenders = []
    for path in sorted(Path(emomix_export.__file__).parent.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.Import):
                modules = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            else:
                continue
            offenders += [f"{path.name}:{node.lineno} {m}" for m in modules
                          if m == "emomix.backends" or m.startswith("emomix.backends.")]
    assert not offenders, offenders
    d, _ = exported
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    run = subprocess.run([sys.executable, "-c", _EXPORT_WITHOUT_BACKENDS, str(d),
                          str(tmp_path / "copy")], env=env, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert load_bundle(tmp_path / "copy").files.keys() >= {onnx_relpath(n) for n in NETWORKS}


def test_cli_export_to_out_copy_reuses_current_graphs(exported, tmp_path, capsys):
    from emomix_export.cli import add_export_command

    d = copy_bundle(exported[0], tmp_path / "voice")
    for p in d.rglob("*"):  # private source files: the copy still gets ordinary permissions
        if p.is_file():
            p.chmod(0o600)
    parser = argparse.ArgumentParser(prog="emomix")
    add_export_command(parser.add_subparsers(dest="command"))
    out = tmp_path / "shipped"
    args = parser.parse_args(["export", str(d), "--onnx", "--out", str(out), "--json"])
    umask = os.umask(0o022)
    try:
        assert args.func(args) == 0
    finally:
        os.umask(umask)
    result = json.loads(capsys.readouterr().out)
    assert result["built"] == [] and len(result["skipped"]) == len(NETWORKS)
    load_bundle(out)  # a complete, verified copy
    modes = {p.relative_to(out).as_posix(): oct(p.stat().st_mode & 0o777)
             for p in out.rglob("*") if p.is_file()}
    assert "voice.json" in modes and set(modes.values()) == {"0o644"}, modes


def test_changed_weights_make_graphs_stale_until_reexported(exported, tmp_path):
    from emomix_export import export_voice

    d = copy_bundle(exported[0], tmp_path / "v")
    bundle = load_bundle(d)
    # new weights -> every graph is stale (the contract covers the whole weights file)
    tweaked = {k: (v + 0.01 if k.startswith("vocoder.") and v.dtype == np.float32 else v)
               for k, v in load_weights(bundle).items()}
    meta = {k: v for k, v in bundle.meta.items() if k != "files"}
    save_bundle(d, meta, tweaked)
    update_file_hashes(load_bundle(d, verify_hashes=False))
    with pytest.raises(StaleExportError, match="emomix export .* --onnx"):
        create_backend("onnx", load_bundle(d))
    report = export_voice(d, onnx=True, networks=["vocoder"])
    assert report.built == ["onnx:vocoder"] and report.parity["vocoder"] <= TOL
    with pytest.raises(StaleExportError, match="encoder"):  # the others are still stale
        create_backend("onnx", load_bundle(d))


# -- the ONNX Runtime backend ----------------------------------------------------------------


def test_full_synthesis_parity_torch_vs_onnx(exported, needs_espeak):
    import emomix

    d, _ = exported
    vt = emomix.load_voice(d, backend="torch", threads=1)
    vo = emomix.load_voice(d, backend="onnx", threads=1)
    for text, mix in [("Hello there, how are you today?", {"happy": 0.6, "sad": 0.4}),
                      ("Short.", {"neutral": 1.0})]:
        a = vt.synthesize_full(text, mix, seed=7)
        b = vo.synthesize_full(text, mix, seed=7)
        np.testing.assert_array_equal(a.durations, b.durations)
        ref = a.audio.astype(np.float64)
        snr = 10 * np.log10(np.sum(ref**2) / max(np.sum((ref - b.audio) ** 2), 1e-30))
        print(f"{text!r}: SNR torch vs onnx {snr:.1f} dB")
        assert snr >= 40.0


def test_onnx_backend_networks_match_torch(exported):
    """Backend-level parity without the text frontend (runs without espeak-ng)."""
    from emomix.backends.onnx_backend import length_regulate_np

    d, _ = exported
    bundle = load_bundle(d)
    bt, bo = create_backend("torch", bundle), create_backend("onnx", bundle, threads=1)
    np.testing.assert_array_equal(bt.speaker_table(), bo.speaker_table())
    rng = np.random.default_rng(5)
    ph = rng.integers(1, 40, size=23)
    emo = bundle.emotions["happy"].embedding.copy()
    spk = bo.speaker_table()[1]
    for scale in (0.7, 1.0, 1.6):
        (mu_t, dur_t), (mu_o, dur_o) = (b.encode(ph, emo, spk, scale) for b in (bt, bo))
        np.testing.assert_array_equal(dur_t, dur_o)
        np.testing.assert_allclose(mu_o, mu_t, atol=1e-4)
    x = rng.standard_normal((3, *mu_t.shape)).astype(np.float32)
    t = np.array([0.9, 0.5, 0.1], np.float32)
    emos = np.stack([e.embedding for e in list(bundle.emotions.values())[:3]])
    spks = np.broadcast_to(spk, (3, spk.size))
    out_t, out_o = bt.denoise(x, t, mu_t, emos, spks), bo.denoise(x, t, mu_t, emos, spks)
    assert np.linalg.norm(out_o - out_t) <= TOL * np.linalg.norm(out_t)
    wav_t, wav_o = bt.vocode(mu_t), bo.vocode(mu_t)
    assert np.linalg.norm(wav_o - wav_t) <= TOL * np.linalg.norm(wav_t)
    emb, logits = bo.ser(mu_t)
    assert emb.shape == (bundle.emotion_dim,) and np.all(np.isfinite(logits))
    with pytest.raises(ValueError, match="length_scale"):
        length_regulate_np(mu_t[:, :2], np.zeros(2, np.float32), np.ones(2), 0.0)


def test_onnx_backend_does_not_import_torch(exported):
    d, _ = exported
    code = f"""
import sys
import numpy as np
import emomix
from emomix.synthesis import run_sampler
from emomix import sampler as ref
v = emomix.load_voice({str(d)!r}, backend="onnx", threads=1)
spk = v.speaker_vector(None)
emo = v.emotion_table["happy"]
mu, dur = v.backend.encode(np.arange(1, 12), emo, spk, 1.0)
W = ref.blend(np.array([1.0]), 2).astype(np.float32)
spec = ref.SamplerSpec(parameterisation="flow", solver="euler", steps=2, temperature=0.667)
mel = run_sampler(lambda x, t, c: v.backend.denoise(x, t, mu, emo[None].repeat(len(c), 0),
                                                    spk[None].repeat(len(c), 0)),
                  mu, W, spec, 1, "python")
wav = v.backend.vocode(mel)
assert wav.shape == (mel.shape[1] * 256,) and np.all(np.isfinite(wav))
assert "torch" not in sys.modules, "the onnx backend imported torch"
print("ok")
"""
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert res.returncode == 0 and "ok" in res.stdout, res.stderr


def test_missing_graph_says_to_export(exported, tmp_path):
    d = copy_bundle(exported[0], tmp_path / "v")
    (d / "onnx/vocoder.onnx").unlink()
    unlist(d, "onnx/vocoder.onnx")  # a bundle shipped without it
    with pytest.raises(StaleExportError, match=r"vocoder graph is missing.*emomix export"):
        create_backend("onnx", load_bundle(d))
    shutil.rmtree(d / "onnx")
    unlist(d, "onnx/")
    with pytest.raises(StaleExportError, match="emomix export"):
        create_backend("onnx", load_bundle(d))


def unlist(d, prefix):
    meta = json.loads((d / "voice.json").read_text())
    meta["files"] = {k: v for k, v in meta["files"].items() if not k.startswith(prefix)}
    (d / "voice.json").write_text(json.dumps(meta))


def test_modified_graph_is_refused(exported, tmp_path):
    import emomix

    d = copy_bundle(exported[0], tmp_path / "v")
    p = d / "onnx/denoiser.onnx"
    data = bytearray(p.read_bytes())
    data[-10] ^= 0xFF
    p.write_bytes(bytes(data))
    # the bundle loader refuses it first (hash mismatch, "re-export") ...
    with pytest.raises(EmomixError, match="re-export"):
        emomix.load_voice(d, backend="onnx")
    # ... and the backend itself when the bundle was opened without hashing
    with pytest.raises(StaleExportError, match=r"sha256.*emomix export .* --onnx"):
        create_backend("onnx", load_bundle(d, verify_hashes=False))


def test_unlisted_graph_is_refused(exported, tmp_path):
    d = copy_bundle(exported[0], tmp_path / "v")
    unlist(d, "onnx/encoder.onnx")
    with pytest.raises(StaleExportError, match="not listed in voice.json"):
        create_backend("onnx", load_bundle(d))


def test_contract_mismatch_names_the_key(exported, tmp_path):
    d = copy_bundle(exported[0], tmp_path / "v")
    meta = json.loads((d / "voice.json").read_text())
    meta["audio"]["mel_mean"] = -4.0
    meta["model"]["config"]["audio"]["mel_mean"] = -4.0
    (d / "voice.json").write_text(json.dumps(meta))
    update_file_hashes(load_bundle(d, verify_hashes=False))
    with pytest.raises(StaleExportError, match=r"emomix\.audio.*emomix export .* --onnx"):
        create_backend("onnx", load_bundle(d))


def test_providers_and_threads_options(exported):
    import onnxruntime as ort

    d, _ = exported
    bundle = load_bundle(d)
    b = create_backend("onnx", bundle, threads=2, providers="auto")
    assert b.providers[-1] == "CPUExecutionProvider"
    assert set(b.providers) <= set(ort.get_available_providers())
    with pytest.raises(ValueError, match="threads"):
        create_backend("onnx", bundle, threads=0)
    if "CUDAExecutionProvider" not in ort.get_available_providers():
        with pytest.raises(ValueError, match="onnxruntime-gpu"):
            create_backend("onnx", bundle, providers=["CUDAExecutionProvider"])
    # the pools do not spin between runs (the numpy steps in between need the cores)
    for name, sess in b._sessions.items():
        opts = sess.get_session_options()
        assert opts.get_session_config_entry("session.intra_op.allow_spinning") == "0", name
        assert opts.intra_op_num_threads == 2, name


# -- TensorRT (only where it is installed) ---------------------------------------------------


def test_tensorrt_engine_and_backend(exported, tmp_path):
    pytest.importorskip("tensorrt", reason="TensorRT is not installed (needs an NVIDIA GPU); "
                        "the engine builder and runner are untested on this machine")
    pytest.importorskip("cuda", reason="cuda-python is not installed")
    from emomix_export import export_voice

    d = copy_bundle(exported[0], tmp_path / "v")
    report = export_voice(d, onnx=True, tensorrt=True)
    assert "tensorrt:denoiser" in report.built
    assert export_voice(d, onnx=True, tensorrt=True).built == []
    bundle = load_bundle(d)
    bo, bt = create_backend("onnx", bundle), create_backend("tensorrt", bundle)
    rng = np.random.default_rng(0)
    mu = rng.standard_normal((80, 37)).astype(np.float32)
    x = rng.standard_normal((2, 80, 37)).astype(np.float32)
    emos = np.stack([e.embedding for e in list(bundle.emotions.values())[:2]])
    spks = np.repeat(bo.speaker_table()[:1], 2, 0)
    ref = bo.denoise(x, np.array([0.7, 0.3], np.float32), mu, emos, spks)
    got = bt.denoise(x, np.array([0.7, 0.3], np.float32), mu, emos, spks)
    assert np.linalg.norm(got - ref) <= 1e-3 * np.linalg.norm(ref)


def test_tensorrt_backend_missing_package_is_clear(exported):
    if os.environ.get("EMOMIX_HAVE_TENSORRT") or _has("tensorrt"):
        pytest.skip("tensorrt is installed here")
    with pytest.raises(ImportError, match="TensorRT is not installed"):
        create_backend("tensorrt", load_bundle(exported[0]))


def _has(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None
