"""The native C++ runtime (``backend="native"``) against the torch reference.

Per network: relative L2 <= 1e-4 on the same inputs (several lengths and batch sizes); full
synthesis: SNR >= 40 dB against torch with the same seed; the streaming vocoder equals the
whole-line vocoder; bad bundles give errors naming the file and tensor; two threads sharing one
backend get what each gets alone; a repeated line allocates no workspace.

The voice has RANDOM weights, perturbed so that every path matters (FiLM projections are zero at
initialisation and would hide condition bugs). Plumbing and numerics only, not speech quality.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import struct
import subprocess
import sys
import threading

import numpy as np
import pytest

torch = pytest.importorskip("torch")
native = pytest.importorskip("emomix._native")
if not hasattr(native, "Session"):  # pragma: no cover - stale build
    pytest.skip("emomix._native was built without the runtime", allow_module_level=True)

import emomix  # noqa: E402
from emomix.backends import create_backend  # noqa: E402
from emomix.errors import VoiceBundleError  # noqa: E402
from emomix.voice import load_bundle, load_weights, save_bundle  # noqa: E402

TOL = 1e-4
LINE = "The quick brown fox jumps over the lazy dog, then it runs far away."


def rel_l2(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.linalg.norm(np.asarray(a, np.float64) - b) / max(np.linalg.norm(b), 1e-30))


def snr_db(ref: np.ndarray, x: np.ndarray) -> float:
    return float(10 * np.log10(np.sum(ref.astype(np.float64) ** 2)
                               / max(np.sum((ref.astype(np.float64) - x) ** 2), 1e-30)))


@pytest.fixture(scope="module")
def voice_dir(random_voice_dir, perturbed_voice, tmp_path_factory):
    return perturbed_voice(random_voice_dir, tmp_path_factory.mktemp("native") / "voice")


@pytest.fixture(scope="module")
def torch_model(voice_dir):
    from emomix.config import ModelConfig
    from emomix.models import VoiceModel

    bundle = load_bundle(voice_dir)
    model = VoiceModel(ModelConfig.from_dict(bundle.model_config))
    model.load_state_dict({k: torch.from_numpy(v) for k, v in load_weights(bundle).items()})
    return model.eval()


@pytest.fixture(scope="module")
def session(voice_dir):
    return native.Session(native.load_model(str(voice_dir)), threads=2)


def t(a):
    return torch.from_numpy(np.ascontiguousarray(a))


@pytest.mark.parametrize("phonemes", [1, 6, 41])
def test_encoder_matches_torch(session, torch_model, phonemes):
    rng = np.random.default_rng(phonemes)
    cfg = torch_model.cfg
    ids = rng.integers(0, cfg.n_symbols, phonemes)
    emo = rng.normal(size=cfg.emotion_dim).astype(np.float32)
    spk = rng.normal(size=cfg.speaker_dim).astype(np.float32)
    with torch.no_grad():
        mu_t, log_dur_t, mask = torch_model.encoder(t(ids[None]), torch.tensor([phonemes]),
                                                    t(emo[None]), t(spk[None]))
    mu_n, log_dur_n = session.encode_phones(ids, emo, spk)
    assert rel_l2(mu_n, mu_t[0].numpy()) <= TOL
    assert rel_l2(log_dur_n, log_dur_t[0].numpy()) <= TOL
    # length regulation: the same durations, the same frame-level mu
    from emomix.models import length_regulate

    for scale in (1.0, 1.3):
        mu_f, _, dur_t = length_regulate(mu_t, log_dur_t, mask, scale)
        mu_fn, dur_n = session.encode(ids, emo, spk, scale)
        np.testing.assert_array_equal(dur_n, dur_t[0].numpy())
        assert rel_l2(mu_fn, mu_f[0].numpy()) <= TOL


@pytest.mark.parametrize(("batch", "frames"), [(1, 1), (2, 7), (3, 64), (2, 131), (5, 20)])
def test_denoiser_matches_torch(session, torch_model, batch, frames):
    rng = np.random.default_rng(batch * 1000 + frames)
    cfg = torch_model.cfg
    x = rng.normal(size=(batch, cfg.audio.n_mels, frames)).astype(np.float32)
    mu = rng.normal(size=(cfg.audio.n_mels, frames)).astype(np.float32)
    tt = rng.random(batch).astype(np.float32)
    emo = rng.normal(size=(batch, cfg.emotion_dim)).astype(np.float32)
    spk = rng.normal(size=(batch, cfg.speaker_dim)).astype(np.float32)
    with torch.no_grad():
        ref = torch_model.denoiser(t(x), t(tt), t(mu)[None].expand(batch, -1, -1), t(emo),
                                   t(spk)).numpy()
    out = session.denoise(x, tt, mu, emo, spk)
    assert out.shape == ref.shape
    assert rel_l2(out, ref) <= TOL
    # the conditions really change the output (FiLM is live in this voice)
    if batch > 1:
        assert rel_l2(out[0], out[1]) > 1e-3


@pytest.mark.parametrize("frames", [1, 3, 50, 203])
def test_vocoder_matches_torch(session, torch_model, frames):
    rng = np.random.default_rng(frames)
    mel = rng.normal(size=(torch_model.cfg.audio.n_mels, frames)).astype(np.float32)
    with torch.no_grad():
        ref = torch_model.vocoder(t(mel[None]))[0].numpy()
    out = session.vocode(mel)
    assert out.shape == ref.shape == (frames * torch_model.cfg.audio.hop_length,)
    assert rel_l2(out, ref) <= TOL


def test_float16_bundle_loads_converted(voice_dir, tmp_path):
    d16 = tmp_path / "voice16"
    bundle = load_bundle(voice_dir)
    meta = {k: v for k, v in bundle.meta.items() if k != "files"}
    save_bundle(d16, meta, load_weights(bundle), dtype="float16")
    m16 = native.load_model(str(d16))
    assert m16.storage_dtype == "F16" and m16.converted_bytes > 0 and m16.mapped_bytes == 0
    m32 = native.load_model(str(voice_dir))
    assert m32.storage_dtype == "F32" and m32.converted_bytes == 0 and m32.mapped_bytes > 0
    # the native float16 path equals torch running the float16-rounded weights
    from emomix.config import ModelConfig
    from emomix.models import VoiceModel

    b16 = load_bundle(d16)
    ref = VoiceModel(ModelConfig.from_dict(b16.model_config))
    ref.load_state_dict({k: torch.from_numpy(v) for k, v in load_weights(b16).items()})
    mel = np.random.default_rng(0).normal(size=(80, 40)).astype(np.float32)
    with torch.no_grad():
        wav_ref = ref.eval().vocoder(t(mel[None]))[0].numpy()
    wav = native.Session(m16, 1).vocode(mel)
    assert rel_l2(wav, wav_ref) <= TOL


def _pull_all(stream, pushes, mel, max_frames):
    """Push mel in the given pieces, pulling what is ready after each; returns the chunks."""
    chunks = []
    for a, b in zip(pushes[:-1], pushes[1:], strict=True):
        stream.push(mel[:, a:b])
        while (c := stream.pull(max_frames)).size:
            chunks.append(c)
        assert stream.done == max(0, b - stream.lookahead)  # exactly what the mel determines
    stream.finish()
    while (c := stream.pull(max_frames)).size:
        chunks.append(c)
    return chunks


@pytest.mark.parametrize("kind", ["native", "windowed"])
def test_streaming_vocoder_equals_whole_line(voice_dir, kind):
    from emomix.vocoder_stream import WindowedVocoderStream, vocoder_context

    voice = emomix.load_voice(voice_dir, backend="native", threads=2)
    backend = voice.backend
    mel = np.random.default_rng(5).normal(size=(80, 180)).astype(np.float32)
    whole = backend.vocode(mel)
    hop = backend.hop_length

    def make():
        if kind == "native":
            return backend.vocoder_stream()
        return WindowedVocoderStream(backend.vocode, 80, hop,
                                     vocoder_context(voice.bundle.model_config, voice.bundle.audio))

    for pushes, max_frames in (([0, 16, 80, 144, 180], 7), ([0, 1, 2, 100, 179, 180], None),
                               ([0, 180], 16)):
        stream = make()
        assert stream.lookahead >= 4
        chunks = _pull_all(stream, pushes, mel, max_frames)
        assert all(c.dtype == np.float32 and c.size % hop == 0 for c in chunks)
        if max_frames is not None:
            assert max(c.size for c in chunks) <= max_frames * hop
        assert stream.done == stream.pushed == 180 and stream.ready == 0
        np.testing.assert_allclose(np.concatenate(chunks), whole, rtol=0,
                                   atol=1e-5 * np.abs(whole).max())
        with pytest.raises(ValueError, match="after finish"):
            stream.push(mel[:, :1])


def test_streaming_vocoder_rejects_bad_use(voice_dir, session):
    voice = emomix.load_voice(voice_dir, backend="native", threads=1)
    stream = voice.backend.vocoder_stream()
    with pytest.raises(ValueError, match=r"mel must have shape \(n_mels, frames\), got \(79, 4\)"):
        stream.push(np.zeros((79, 4), np.float32))
    with pytest.raises(ValueError, match="max_frames must be >= 1"):
        session.vocode_pull(stream._stream, 0)
    with pytest.raises(ValueError, match="another Model"):  # a Session of a second Model
        session.vocode_pull(stream._stream, 4)
    stream.push(np.zeros((80, 3), np.float32))
    assert stream.pull().size == 0  # 3 frames determine nothing yet: no audio, no error
    stream.finish()
    assert stream.pull().size == 3 * voice.backend.hop_length


@pytest.fixture(scope="module")
def voices(voice_dir):
    return (emomix.load_voice(voice_dir, backend="torch", threads=2),
            emomix.load_voice(voice_dir, backend="native", threads=2))


@pytest.mark.usefixtures("needs_espeak")
@pytest.mark.parametrize(("mix", "steps", "solver", "preset"), [
    ({"happy": 0.6, "surprise": 0.4}, 4, None, "emomix"),
    ({"sad": 1.0}, 3, "heun", "blend"),
])
def test_full_synthesis_matches_torch(voices, mix, steps, solver, preset):
    ref_voice, nat_voice = voices
    kw = dict(emotion=mix, steps=steps, solver=solver, preset=preset, seed=7)
    ref = ref_voice.synthesize_full(LINE, **kw)
    out = nat_voice.synthesize_full(LINE, **kw)
    np.testing.assert_array_equal(out.durations, ref.durations)
    assert out.audio.shape == ref.audio.shape
    assert snr_db(ref.audio, out.audio) >= 40
    assert rel_l2(out.mel, ref.mel) <= 1e-3


@pytest.mark.usefixtures("needs_espeak")
def test_whole_pipeline_in_cpp_equals_the_python_glue(voices):
    _, voice = voices
    r = voice.synthesize_full(LINE, {"angry": 0.3, "sad": 0.7}, intensity=1.2, speaker="speaker1",
                              steps=4, seed=3)
    backend = voice.backend
    emo = np.stack([voice.emotion_table[n] for n in r.conditions])
    spk = voice.speaker_vector("speaker1")
    mix = {"angry": 0.3, "sad": 0.7}
    names = [n for n in r.conditions if n in mix]
    w = np.array([mix[n] for n in names])
    enc_emo = (1.2 * (w @ emo[: len(names)]) + (1 - 1.2) * voice.emotion_table["neutral"]).astype(
        np.float32)
    ids = voice.text_to_ids(LINE)
    spks = np.broadcast_to(spk, (len(r.conditions), spk.size))
    fused = backend.synthesize_ids(ids, enc_emo, spk, r.weights, emo, spks,
                                   solver=voice.sampler_defaults["solver"],
                                   temperature=voice.sampler_defaults["temperature"], seed=3)
    np.testing.assert_array_equal(fused["durations"], r.durations)
    np.testing.assert_allclose(fused["mel"], r.mel, rtol=0, atol=1e-5)
    np.testing.assert_allclose(fused["audio"], r.audio, rtol=0, atol=1e-5)
    sampled = backend.sample(r.mu, r.weights, emo, spks, voice.sampler_defaults["solver"],
                             voice.sampler_defaults["temperature"], 3, r.durations)
    np.testing.assert_allclose(sampled, r.mel, rtol=0, atol=1e-5)
    streamed = np.concatenate(list(backend.vocode_stream(r.mel, chunk_frames=40,
                                                         first_chunk_frames=8)))
    np.testing.assert_allclose(streamed, r.audio, rtol=0, atol=1e-5 * np.abs(r.audio).max())


@pytest.mark.usefixtures("needs_espeak")
def test_two_threads_get_what_each_gets_alone(voice_dir):
    voice = emomix.load_voice(voice_dir, backend="native", threads=2, max_sessions=2)
    jobs = [("Hello there, friend.", {"happy": 1.0}, 1),
            ("Where did everybody go tonight?", {"sad": 0.5, "angry": 0.5}, 2)]
    alone = [voice.synthesize(text, mix, seed=seed) for text, mix, seed in jobs]
    results: dict[int, list[np.ndarray]] = {0: [], 1: []}
    errors = []

    def worker(i: int) -> None:
        try:
            text, mix, seed = jobs[i]
            for _ in range(3):
                results[i].append(voice.synthesize(text, mix, seed=seed))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(2)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not errors
    for i in range(2):
        for audio in results[i]:
            np.testing.assert_allclose(audio, alone[i], rtol=0, atol=1e-6)


def test_a_repeated_line_allocates_no_workspace(voice_dir, line_twice):
    s, first, second, allocated, _, _ = line_twice(voice_dir)
    assert allocated == 0
    np.testing.assert_array_equal(first["audio"], second["audio"])
    assert s.workspace_bytes() > 0


def test_native_backend_does_not_import_torch(voice_dir):
    code = ("import sys, numpy as np, emomix; "
            f"v = emomix.load_voice({str(voice_dir)!r}, backend='native', threads=1); "
            "a = v.backend.vocode(np.zeros((80, 5), np.float32)); assert a.shape == (1280,); "
            "assert 'torch' not in sys.modules, 'the native backend imported torch'")
    subprocess.run([sys.executable, "-c", code], check=True)


# --- bad bundles ------------------------------------------------------------------------------

def _rewrite_weights(path, edit):
    """Rewrites a safetensors file after edit(header: dict, data: bytes) -> (header, data), and
    lists its new size and sha256 in voice.json (so the runtime's checks past the hashes run)."""
    raw = path.read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    header, data = edit(header, raw[8 + n:])
    text = json.dumps(header).encode()
    text += b" " * ((-len(text)) % 8)
    _write_listed(path, struct.pack("<Q", len(text)) + text + data)


def _write_listed(path, data: bytes):
    """Writes a bundle file and its new size and sha256 into the bundle's voice.json."""
    path.write_bytes(data)
    meta_path = path.parent / "voice.json"
    meta = json.loads(meta_path.read_text())
    meta["files"][path.name] = {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
    meta_path.write_text(json.dumps(meta))


@pytest.fixture()
def broken(voice_dir, tmp_path):
    d = tmp_path / "broken"
    shutil.copytree(voice_dir, d)
    return d


def test_missing_tensor_names_file_and_tensor(broken):
    def drop(header, data):
        header["denoiser.input_conv.bias"]["dtype"] = "F32"
        header["denoiser.input_conv_bias_renamed"] = header.pop("denoiser.input_conv.bias")
        return header, data

    _rewrite_weights(broken / "weights.safetensors", drop)
    with pytest.raises(ValueError, match=r"weights\.safetensors:denoiser\.input_conv\.bias: "
                                         r"tensor is missing"):
        native.load_model(str(broken))


def test_wrong_shape_names_tensor_and_config(broken):
    def reshape(header, data):
        spec = header["vocoder.head.weight"]
        spec["shape"] = [spec["shape"][1], spec["shape"][0], 1]
        return header, data

    _rewrite_weights(broken / "weights.safetensors", reshape)
    with pytest.raises(ValueError, match=r"vocoder\.head\.weight: shape \[128, 1026, 1\] but "
                                         r"model\.config implies \[1026, 128, 1\]"):
        native.load_model(str(broken))


def test_truncated_and_garbled_files(broken, voice_dir):
    w = broken / "weights.safetensors"
    raw = w.read_bytes()
    w.write_bytes(raw[: len(raw) - 100])  # voice.json still lists the old size
    with pytest.raises(VoiceBundleError, match=r"voice\.json:files\.weights\.safetensors\.bytes: "
                                               r"file has \d+ bytes but voice\.json lists"):
        native.load_model(str(broken))
    _write_listed(w, raw[: len(raw) - 100])  # listed as it is: the header check objects
    with pytest.raises(ValueError, match=str(w).replace(".", r"\.") + ".*truncated"):
        native.load_model(str(broken))
    _write_listed(w, b"\x10\x00")
    with pytest.raises(ValueError, match="too short"):
        native.load_model(str(broken))
    shutil.copyfile(voice_dir / "voice.json", broken / "voice.json")
    shutil.copyfile(voice_dir / "weights.safetensors", w)
    meta = json.loads((broken / "voice.json").read_text())
    meta["model"]["config"]["denoiser"].pop("channels")
    (broken / "voice.json").write_text(json.dumps(meta))
    with pytest.raises(VoiceBundleError, match=r"voice\.json: voice\.json:model\.config\.denoiser\."
                                               r"channels: is missing"):
        native.load_model(str(broken))
    with pytest.raises(VoiceBundleError, match="voice bundle directory does not exist"):
        native.load_model(str(broken / "nowhere"))


def test_bad_inputs_raise_value_error(session, voice_dir):
    with pytest.raises(ValueError, match="outside the symbol table"):
        session.encode_phones(np.array([0, 10_000]), np.zeros(64, np.float32),
                              np.zeros(64, np.float32))
    with pytest.raises(ValueError, match="x must have shape"):
        session.denoise(np.zeros((1, 79, 5), np.float32), np.zeros(1, np.float32),
                        np.zeros((80, 5), np.float32), np.zeros((1, 64), np.float32),
                        np.zeros((1, 64), np.float32))
    with pytest.raises(ValueError, match="mu must have shape"):
        session.denoise(np.zeros((1, 80, 5), np.float32), np.zeros(1, np.float32),
                        np.zeros((80, 6), np.float32), np.zeros((1, 64), np.float32),
                        np.zeros((1, 64), np.float32))
    with pytest.raises(ValueError, match="sum to"):
        session.sample(np.zeros((80, 5), np.float32), np.array([[0.5, 0.4]], np.float32),
                       np.zeros((2, 64), np.float32), np.zeros((2, 64), np.float32), "euler")
    with pytest.raises(ValueError, match="threads must be >= 1"):
        native.Session(native.load_model(str(voice_dir)), threads=0)
    with pytest.raises(ValueError, match="threads must be >= 1"):
        create_backend("native", load_bundle(voice_dir), threads=0)


@pytest.mark.usefixtures("needs_espeak")
def test_say_native_backend_matches_torch(voice_dir, tmp_path):
    from emomix.audio import read_wav
    from emomix.cli import main

    args = ["--voice", str(voice_dir), "--emotion", "happy=0.6,surprise=0.4", "--seed", "3"]
    assert main(["say", LINE, *args, "--backend", "torch", "-o", str(tmp_path / "t.wav")]) == 0
    assert main(["say", LINE, *args, "--backend", "native", "--threads", "2",
                 "-o", str(tmp_path / "n.wav")]) == 0
    a, _ = read_wav(tmp_path / "t.wav")
    b, _ = read_wav(tmp_path / "n.wav")
    assert a.shape == b.shape and snr_db(a, b) >= 40


@pytest.mark.usefixtures("needs_espeak")
def test_bench_prints_json(voice_dir, capsys):
    from emomix.cli import main

    assert main(["bench", "--voice", str(voice_dir), "--backend", "native", "--threads", "1",
                 "--seconds", "1", "--repeats", "1", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["backend"] == "native" and result["steps"] == 4 and result["streaming"]
    assert result["active_conditions"] == [1, 1, 2, 2] and result["emotion_scale"] == 1.0
    assert result["audio_seconds"] >= 1.0 - 1e-6
    for key in ("rtf", "first_audio_ms", "peak_rss_mb", "fused_rtf"):
        assert result[key] > 0
    assert result["first_audio_ms"] <= result["synth_ms"]
    # with an emotion scale the measured call also runs neutral at every step
    assert main(["bench", "--voice", str(voice_dir), "--backend", "native", "--threads", "1",
                 "--seconds", "1", "--repeats", "1", "--json", "--emotion-scale", "1.4"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["emotions"][-1] == "neutral" and result["emotion_scale"] == 1.4
    assert result["active_conditions"] == [2, 2, 3, 3]


def test_native_calls_release_the_gil(session):
    mel = np.random.default_rng(0).normal(size=(80, 2000)).astype(np.float32)
    done = threading.Event()
    ticks = 0

    def vocode() -> None:
        for _ in range(3):
            session.vocode(mel)
        done.set()

    th = threading.Thread(target=vocode)
    th.start()
    while not done.is_set():  # runs only while the native call does not hold the GIL
        ticks += 1
    th.join()
    assert ticks > 1000


def test_session_pool_is_bounded_and_reused(voice_dir):
    backend = create_backend("native", load_bundle(voice_dir), threads=1, max_sessions=2)
    mel = np.random.default_rng(1).normal(size=(80, 300)).astype(np.float32)
    ref = backend.vocode(mel)
    out: list[np.ndarray] = []
    threads = [threading.Thread(target=lambda: out.append(backend.vocode(mel))) for _ in range(6)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert len(out) == 6 and backend._created <= 2
    for o in out:
        np.testing.assert_array_equal(o, ref)


@pytest.mark.parametrize("frames", [1, 37, 250])
def test_ser_matches_torch(session, torch_model, voice_dir, frames):
    rng = np.random.default_rng(frames)
    mel = rng.normal(size=(torch_model.cfg.audio.n_mels, frames)).astype(np.float32)
    with torch.no_grad():
        emb_t, logits_t = torch_model.ser(t(mel[None]))
    emb, logits = session.ser(mel)
    assert rel_l2(emb, emb_t[0].numpy()) <= TOL
    assert rel_l2(logits, logits_t[0].numpy()) <= TOL
    backend = create_backend("native", load_bundle(voice_dir), threads=1)
    assert backend.model.has_ser
    emb_b, logits_b = backend.ser(mel)
    np.testing.assert_allclose(logits_b, logits, rtol=0, atol=1e-5)


@pytest.mark.usefixtures("needs_espeak")
def test_character_streams_through_the_native_vocoder_stream(voices):
    _, voice = voices
    npc = emomix.Character(voice, speaker="speaker1")
    npc.emotion.set(happy=0.5, sad=0.5)
    chunks = list(npc.speak(LINE, seed=2))
    assert len(chunks) > 1
    assert snr_db(npc.say(LINE, seed=2), np.concatenate(chunks)) >= 60
