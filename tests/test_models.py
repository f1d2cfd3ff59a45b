"""Unit tests of emomix.config and the torch networks in emomix.models."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from emomix.config import (
    AudioConfig,
    DenoiserConfig,
    EncoderConfig,
    ModelConfig,
    SERConfig,
    VocoderConfig,
)

torch = pytest.importorskip("torch")

from emomix.models import (  # noqa: E402
    SER,
    Denoiser,
    InverseSTFT,
    TextEncoder,
    Vocoder,
    VoiceModel,
    alignment_log_likelihood,
    alignment_path,
    count_macs,
    count_parameters,
    duration_loss,
    durations_to_path,
    expand_by_durations,
    grad_tts_noise,
    gram_style_loss,
    length_regulate,
    monotonic_alignment_search,
)
from emomix.models.ser import compute_deltas  # noqa: E402

N_MELS, E, S = 80, 64, 64


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


def _perturb_film(module: torch.nn.Module, std: float = 0.1) -> None:
    """FiLM layers start at zero (conditioning has no effect at init); give them weights."""
    for m in module.modules():
        if type(m).__name__ == "_FiLM":
            torch.nn.init.normal_(m.proj.weight, 0.0, std)
            torch.nn.init.normal_(m.proj.bias, 0.0, std)


# --- config -----------------------------------------------------------------------------------


def test_config_round_trip_and_defaults():
    cfg = ModelConfig(n_symbols=57, n_speakers=3, parameterisation="score")
    cfg.denoiser = DenoiserConfig(channels=(96, 128), n_res_blocks=2)
    cfg.validate()
    d = cfg.to_dict()
    assert d["denoiser"]["channels"] == [96, 128]  # JSON-ready: lists, not tuples
    import json

    back = ModelConfig.from_dict(json.loads(json.dumps(d)))
    assert back == cfg
    assert isinstance(back.denoiser.channels, tuple)
    partial = ModelConfig.from_dict({"n_symbols": 10, "audio": {"n_mels": 64}})
    assert partial.n_symbols == 10 and partial.audio.n_mels == 64
    assert partial.audio.hop_length == AudioConfig().hop_length
    assert partial.encoder == EncoderConfig()


@pytest.mark.parametrize(
    "d, where",
    [
        ({"n_symbolz": 3}, "model.n_symbolz"),
        ({"denoiser": {"chanels": [64]}}, "model.denoiser.chanels"),
        ({"audio": {"sample_rate": 22050, "hop": 256}}, "model.audio.hop"),
    ],
)
def test_config_unknown_key_is_named(d, where):
    with pytest.raises(ValueError, match="unknown key") as err:
        ModelConfig.from_dict(d)
    assert where in str(err.value)


def test_config_type_errors_are_named():
    with pytest.raises(ValueError, match=r"model\.denoiser\.channels\[1\].*integer"):
        ModelConfig.from_dict({"denoiser": {"channels": [64, "x"]}})
    with pytest.raises(ValueError, match=r"model\.audio\.f_max.*number"):
        ModelConfig.from_dict({"audio": {"f_max": "8k"}})
    with pytest.raises(ValueError, match=r"model\.encoder.*mapping"):
        ModelConfig.from_dict({"encoder": 3})
    assert AudioConfig.from_dict({"f_max": 7000}).f_max == 7000.0


@pytest.mark.parametrize(
    "mutate, field",
    [
        (lambda c: setattr(c, "parameterisation", "ddpm"), "model.parameterisation"),
        (lambda c: setattr(c.encoder, "n_heads", 5), "encoder.n_heads"),
        (lambda c: setattr(c.denoiser, "channels", ()), "denoiser.channels"),
        (lambda c: setattr(c.denoiser, "kernel_size", 4), "denoiser.kernel_size"),
        (lambda c: setattr(c.audio, "hop_length", 300), "model.audio.hop_length"),
        (lambda c: setattr(c.audio, "f_max", 20000.0), "audio.f_max"),
        (lambda c: setattr(c.vocoder, "dim", 0), "vocoder.dim"),
        (lambda c: setattr(c.ser, "delta_width", 4), "ser.delta_width"),
        (lambda c: setattr(c, "beta_max", 0.01), "model.beta_min"),
    ],
)
def test_config_validate_names_the_field(mutate, field):
    cfg = ModelConfig()
    mutate(cfg)
    with pytest.raises(ValueError) as err:
        cfg.validate()
    assert field in str(err.value)


def test_config_module_does_not_import_torch():
    import subprocess
    import sys

    code = (
        "import sys\n"
        "sys.modules['torch'] = None  # any 'import torch' now fails\n"
        "import emomix.config\n"
        "emomix.config.ModelConfig().validate()\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# --- encoder and length regulation ------------------------------------------------------------


def _encoder(n_symbols: int = 50) -> TextEncoder:
    cfg = EncoderConfig(hidden=64, n_layers=2, ffn_dim=128, dp_hidden=64)
    return TextEncoder(cfg, n_symbols, N_MELS, E, S).eval()


@pytest.mark.parametrize("b, t", [(1, 1), (3, 5), (2, 17)])
def test_encoder_shapes_and_mask(b, t):
    enc = _encoder()
    ph = torch.randint(0, 50, (b, t))
    lengths = torch.full((b,), t)
    lengths[-1] = max(1, t // 2)
    mu, log_dur, mask = enc(ph, lengths, torch.randn(b, E), torch.randn(b, S))
    assert mu.shape == (b, N_MELS, t) and log_dur.shape == (b, t) and mask.shape == (b, 1, t)
    assert torch.equal(mask.sum(dim=(1, 2)).long(), lengths)
    pad = mask == 0
    assert torch.all(mu.masked_select(pad) == 0) and torch.all(log_dur[pad[:, 0]] == 0)


def test_encoder_padding_does_not_change_real_phonemes():
    enc = _encoder()
    ph = torch.randint(1, 50, (2, 12))
    emo, spk = torch.randn(2, E), torch.randn(2, S)
    with torch.no_grad():
        mu_b, ld_b, _ = enc(ph, torch.tensor([7, 12]), emo, spk)
        mu_a, ld_a, _ = enc(ph[:1, :7], torch.tensor([7]), emo[:1], spk[:1])
    torch.testing.assert_close(mu_b[0, :, :7], mu_a[0], atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(ld_b[0, :7], ld_a[0], atol=1e-5, rtol=1e-4)


def test_duration_predictor_sees_emotion_and_speaker():
    enc = _encoder()
    ph, lengths = torch.randint(0, 50, (1, 9)), torch.tensor([9])
    spk = torch.randn(1, S)
    with torch.no_grad():
        _, ld1, _ = enc(ph, lengths, torch.randn(1, E), spk)
        _, ld2, _ = enc(ph, lengths, torch.randn(1, E), spk)
    assert not torch.allclose(ld1, ld2)


def test_round_durations_keep_the_line_length_that_per_phoneme_ceil_inflates():
    from emomix.models import round_durations

    g = torch.Generator().manual_seed(0)
    raw = torch.rand(3, 200, generator=g) * 6 + 1.0  # 1 … 7 frames: no phoneme is lifted to 1
    mask = torch.ones(3, 200)
    mask[2, 150:] = 0
    dur = round_durations(raw, mask)
    assert dur.dtype == torch.long and (dur[mask > 0] >= 1).all() and (dur[mask == 0] == 0).all()
    total = (raw.double() * mask).sum(1)
    assert (dur.sum(1).double() - total).abs().max() <= 0.5  # the rounded total, no drift
    ceil_total = (torch.ceil(raw) * mask).sum(1).double()
    assert ((ceil_total - total) / mask.sum(1)).min() > 0.4  # ceil: about half a frame each
    # phoneme boundaries stay within half a frame of the real-valued ones (the example in
    # test_length_regulate_sums_and_expansion lifts short phonemes to one frame)
    np.testing.assert_array_less(
        (torch.cumsum(dur, 1).double() - torch.cumsum(raw.double() * mask, 1)).abs().numpy(),
        0.5 + 1e-9)


def test_the_numpy_length_regulation_rounds_like_torch():
    from emomix.backends.onnx_backend import length_regulate_np

    g = torch.Generator().manual_seed(1)
    for scale in (0.6, 1.0, 1.7):
        log_dur = torch.randn(1, 300, generator=g) * 1.2  # many phonemes under one frame
        mask = torch.ones(1, 1, 300)
        mask[..., 260:] = 0
        mu_ph = torch.randn(1, 4, 300, generator=g)
        mu, _, dur = length_regulate(mu_ph, log_dur, mask, scale)
        mu_np, dur_np = length_regulate_np(mu_ph[0].numpy(), log_dur[0].numpy(),
                                           mask[0, 0].numpy(), scale)
        np.testing.assert_array_equal(dur_np, dur[0].numpy())
        np.testing.assert_array_equal(mu_np, mu[0].numpy())


def test_length_regulate_sums_and_expansion():
    mu_ph = torch.randn(2, N_MELS, 6)
    mask = torch.ones(2, 1, 6)
    mask[1, :, 4:] = 0
    log_dur = torch.log(torch.tensor([[1.0, 2.2, 0.1, 3.0, 1.5, 4.0], [2.0, 0.0, 1.0, 2.5, 9, 9]]))
    mu, fmask, dur = length_regulate(mu_ph, log_dur, mask)
    assert dur.dtype == torch.long
    # running totals 1, 3.2, 3.3, 6.3, 7.8, 11.8 end at frames 1, 3, (3 → one frame: 4), 6, 8, 12;
    # 2, 2, 3, 5.5 at 2, (2 → 3), (3 → 4), 6; >= 1 frame, 0 on padding
    assert dur.tolist() == [[1, 2, 1, 2, 2, 4], [2, 1, 1, 2, 0, 0]]
    assert mu.shape == (2, N_MELS, 12) and fmask.shape == (2, 1, 12)
    assert fmask.sum(dim=(1, 2)).tolist() == [12.0, 6.0]
    for i in range(2):
        ref = torch.repeat_interleave(mu_ph[i], dur[i], dim=1)
        torch.testing.assert_close(mu[i, :, : ref.shape[1]], ref)
        assert torch.all(mu[i, :, ref.shape[1] :] == 0)
    _, _, slow = length_regulate(mu_ph, log_dur, mask, length_scale=2.0)
    assert torch.all(slow.sum(1) > dur.sum(1))
    with pytest.raises(ValueError, match="length_scale"):
        length_regulate(mu_ph, log_dur, mask, length_scale=0.0)


def test_expand_by_durations_and_path():
    dur = torch.tensor([[2, 1, 3], [1, 1, 0]])
    path = durations_to_path(dur)
    assert path.shape == (2, 3, 6)
    assert torch.equal(path.sum(-1).long(), dur)
    assert torch.all(path.sum(1)[0] == 1) and path.sum(1)[1].tolist() == [1, 1, 0, 0, 0, 0]
    mu_ph = torch.randn(2, 4, 3)
    mu, fmask = expand_by_durations(mu_ph, dur, n_frames=8)
    assert mu.shape == (2, 4, 8) and fmask[:, 0].sum(1).tolist() == [6.0, 2.0]
    torch.testing.assert_close(mu[0, :, :6], torch.repeat_interleave(mu_ph[0], dur[0], dim=1))
    log_dur = torch.log(dur.float().clamp_min(1))
    mask = (dur > 0).float().unsqueeze(1)
    assert duration_loss(log_dur, dur, mask).item() == pytest.approx(0.0, abs=1e-6)


# --- monotonic alignment search ----------------------------------------------------------------


def _brute_force_path(log_p: np.ndarray) -> np.ndarray:
    t, f = log_p.shape
    best, best_bounds = -np.inf, None
    for cuts in itertools.combinations(range(1, f), t - 1):
        bounds = (0, *cuts, f)
        score = sum(log_p[i, bounds[i] : bounds[i + 1]].sum() for i in range(t))
        if score > best:
            best, best_bounds = score, bounds
    path = np.zeros((t, f), dtype=np.float32)
    for i in range(t):
        path[i, best_bounds[i] : best_bounds[i + 1]] = 1
    return path


def test_mas_matches_brute_force_on_small_batches():
    rng = np.random.default_rng(1)
    for _ in range(40):
        b, t_max, f_max = 3, int(rng.integers(1, 5)), 0
        f_max = int(rng.integers(t_max, 9))
        lens = []
        mask = np.zeros((b, t_max, f_max))
        for i in range(b):
            t_i = int(rng.integers(1, t_max + 1))
            f_i = int(rng.integers(t_i, f_max + 1))
            mask[i, :t_i, :f_i] = 1
            lens.append((t_i, f_i))
        log_p = rng.normal(size=(b, t_max, f_max)) * 3
        path = monotonic_alignment_search(log_p, mask)
        assert path.shape == log_p.shape
        for i, (t_i, f_i) in enumerate(lens):
            np.testing.assert_array_equal(
                path[i, :t_i, :f_i], _brute_force_path(log_p[i, :t_i, :f_i])
            )
            assert path[i].sum() == f_i  # every real frame once, nothing outside
            assert np.all(path[i, :t_i, :f_i].sum(1) >= 1)


def test_alignment_path_takes_known_durations_and_searches_the_rest():
    g = torch.Generator().manual_seed(3)
    mu, mel = torch.randn(3, 4, 5, generator=g), torch.randn(3, 4, 9, generator=g)
    phone_mask = torch.ones(3, 1, 5)
    phone_mask[2, :, 4:] = 0
    frame_mask = torch.ones(3, 1, 9)
    frame_mask[1, :, 7:] = 0
    known = torch.tensor([[1, 3, 2, 2, 1], [0, 0, 0, 0, 0], [2, 2, 3, 2, 0]])
    path = alignment_path(mu, mel, phone_mask, frame_mask, known)
    np.testing.assert_array_equal(path[0].numpy(), durations_to_path(known[:1], 9)[0].numpy())
    np.testing.assert_array_equal(path[2].numpy(), durations_to_path(known[2:], 9)[0].numpy())
    searched = monotonic_alignment_search(alignment_log_likelihood(mu[1:2], mel[1:2]),
                                          phone_mask[1:2].transpose(1, 2) * frame_mask[1:2])
    np.testing.assert_array_equal(path[1].numpy(), searched[0].numpy())
    assert path[1, :, 7:].sum() == 0
    # no known durations at all: every row is searched
    np.testing.assert_array_equal(
        alignment_path(mu[1:2], mel[1:2], phone_mask[1:2], frame_mask[1:2]).numpy(),
        searched.numpy())
    wrong = known.clone()
    wrong[0, 0] = 2  # 10 frames for a 9-frame clip
    with pytest.raises(ValueError, match=r"sum to \[10, 9\] frames, the clips have \[9, 9\]"):
        alignment_path(mu, mel, phone_mask, frame_mask, wrong)


def test_mas_torch_in_torch_out_and_errors():
    log_p = torch.randn(2, 3, 5, dtype=torch.float64)
    mask = torch.ones(2, 3, 5)
    path = monotonic_alignment_search(log_p, mask)
    assert isinstance(path, torch.Tensor) and path.dtype == torch.float64
    np.testing.assert_array_equal(path[0].numpy(), _brute_force_path(log_p[0].numpy()))
    bad = torch.ones(1, 4, 3)
    with pytest.raises(ValueError, match="3 frames for 4 phones"):
        monotonic_alignment_search(torch.randn(1, 4, 3), bad)


def test_alignment_log_likelihood_matches_direct_gaussian():
    mu, mel = torch.randn(2, 5, 3), torch.randn(2, 5, 4)
    ll = alignment_log_likelihood(mu, mel)
    direct = -0.5 * ((mel[:, :, None, :] - mu[:, :, :, None]) ** 2).sum(1) - 2.5 * math.log(
        2 * math.pi
    )
    torch.testing.assert_close(ll, direct, atol=1e-5, rtol=1e-5)


# --- denoiser -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def denoiser() -> Denoiser:
    torch.manual_seed(1)
    d = Denoiser(DenoiserConfig(), N_MELS, E, S).eval()
    _perturb_film(d)
    return d


@pytest.mark.parametrize("b", [1, 3])
@pytest.mark.parametrize("f", [1, 2, 7, 100])
def test_denoiser_shapes_any_length(denoiser, b, f):
    x, mu = torch.randn(b, N_MELS, f), torch.randn(b, N_MELS, f)
    with torch.no_grad():
        out = denoiser(x, torch.rand(b), mu, torch.randn(b, E), torch.randn(b, S))
    assert out.shape == (b, N_MELS, f) and torch.isfinite(out).all()


@pytest.mark.parametrize("f_short", [1, 7, 30])
def test_denoiser_padding_does_not_change_real_frames(denoiser, f_short):
    f_long = 45
    x, mu = torch.randn(2, N_MELS, f_long), torch.randn(2, N_MELS, f_long)
    t, emo, spk = torch.rand(2), torch.randn(2, E), torch.randn(2, S)
    mask = torch.ones(2, 1, f_long)
    mask[0, :, f_short:] = 0
    with torch.no_grad():
        batched = denoiser(x, t, mu, emo, spk, mask)
        alone = denoiser(x[:1, :, :f_short], t[:1], mu[:1, :, :f_short], emo[:1], spk[:1])
        full = denoiser(x[1:], t[1:], mu[1:], emo[1:], spk[1:])
    torch.testing.assert_close(batched[0, :, :f_short], alone[0], atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(batched[1], full[0], atol=1e-5, rtol=1e-4)
    assert torch.all(batched[0, :, f_short:] == 0)


def test_denoiser_conditions_matter(denoiser):
    x, mu = torch.randn(1, N_MELS, 16), torch.randn(1, N_MELS, 16)
    emo, spk, t = torch.randn(1, E), torch.randn(1, S), torch.tensor([0.5])
    with torch.no_grad():
        base = denoiser(x, t, mu, emo, spk)
        assert not torch.allclose(base, denoiser(x, t, mu, torch.randn(1, E), spk))
        assert not torch.allclose(base, denoiser(x, t, mu, emo, torch.randn(1, S)))
        assert not torch.allclose(base, denoiser(x, torch.tensor([0.1]), mu, emo, spk))
        # batching conditions (as the sampler does) equals evaluating them one by one
        emos = torch.randn(3, E)
        batch = denoiser(
            x.expand(3, -1, -1), t.expand(3), mu.expand(3, -1, -1), emos, spk.expand(3, -1)
        )
        one = denoiser(x, t, mu, emos[2:], spk)
    torch.testing.assert_close(batch[2:], one, atol=1e-5, rtol=1e-4)


def _tiny_batch(b: int = 2, f: int = 24):
    x_data = torch.randn(b, N_MELS, f) * 0.5 + 0.3
    mu = x_data + 0.3 * torch.randn(b, N_MELS, f)
    mask = torch.ones(b, 1, f)
    mask[1, :, f - 5 :] = 0
    return x_data, mu, torch.randn(b, E), torch.randn(b, S), mask


def test_flow_loss_matches_the_sampler_contract(denoiser):
    x_data, mu, emo, spk, mask = _tiny_batch()
    tau, noise = torch.tensor([0.25, 0.8]), torch.randn_like(x_data)
    with torch.no_grad():
        loss = denoiser.flow_loss(x_data, mu, emo, spk, mask, tau=tau, noise=noise)
        tt = tau.view(-1, 1, 1)
        x_tau = ((1 - tt) * x_data + tt * noise) * mask
        pred = denoiser(x_tau, tau, mu, emo, spk, mask)
        ref = (((pred - (noise - x_data)) ** 2) * mask).sum() / (mask.sum() * N_MELS)
    torch.testing.assert_close(loss, ref)
    # the sampler's Euler step x <- x - h v with the exact velocity lands on the data
    x = noise.clone()
    for _ in range(4):
        x = x - 0.25 * (noise - x_data)
    torch.testing.assert_close(x, x_data)


def test_grad_tts_noise_matches_integrated_schedule():
    t = torch.tensor([1e-5, 0.1, 0.5, 1.0], dtype=torch.float64)
    a, sigma = grad_tts_noise(t, 0.05, 20.0)
    grid = torch.linspace(0, 1, 200001, dtype=torch.float64)
    for i, ti in enumerate(t):
        g = grid * ti
        integral = torch.trapezoid(0.05 + (20.0 - 0.05) * g, g)
        assert a[i].item() == pytest.approx(math.exp(-0.5 * integral.item()), rel=1e-8)
        assert sigma[i].item() ** 2 == pytest.approx(1 - math.exp(-integral.item()), rel=1e-6)


def test_score_loss_matches_grad_tts(denoiser):
    x_data, mu, emo, spk, mask = _tiny_batch()
    t, noise = torch.tensor([0.3, 0.9]), torch.randn_like(x_data)
    with torch.no_grad():
        loss = denoiser.score_loss(x_data, mu, emo, spk, mask, t=t, noise=noise)
        a, sigma = grad_tts_noise(t.view(-1, 1, 1), 0.05, 20.0)
        x_t = (a * x_data + (1 - a) * mu + sigma * noise) * mask
        pred = denoiser(x_t, t, mu, emo, spk, mask)
        # lambda(t) = sigma^2 weighted score matching against the target score -noise / sigma
        ref = ((sigma**2 * (pred - (-noise / sigma)) ** 2) * mask).sum() / (mask.sum() * N_MELS)
    torch.testing.assert_close(loss, ref, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("kind", ["flow", "score"])
def test_losses_are_finite_and_decrease(kind):
    torch.manual_seed(2)
    d = Denoiser(DenoiserConfig(channels=(32, 64)), N_MELS, E, S)
    x_data, mu, emo, spk, mask = _tiny_batch(f=16)
    times = torch.tensor([0.3, 0.7])
    noise = torch.randn_like(x_data)

    def fixed_loss():
        if kind == "flow":
            return d.flow_loss(x_data, mu, emo, spk, mask, tau=times, noise=noise)
        return d.score_loss(x_data, mu, emo, spk, mask, t=times, noise=noise)

    with torch.no_grad():
        start = fixed_loss().item()
    assert math.isfinite(start)
    opt = torch.optim.Adam(d.parameters(), lr=3e-3)
    for _ in range(15):
        opt.zero_grad()
        loss = fixed_loss()
        loss.backward()
        opt.step()
    with torch.no_grad():
        end = fixed_loss().item()
    assert math.isfinite(end) and end < 0.8 * start, (start, end)


@pytest.mark.parametrize("kind", ["flow", "score"])
def test_voice_model_denoiser_loss_dispatches(kind, monkeypatch):
    model = VoiceModel(ModelConfig(n_symbols=10, parameterisation=kind, beta_max=15.0))
    x_data, mu, emo, spk, mask = _tiny_batch(f=8)
    seen = {}
    original = getattr(model.denoiser, f"{kind}_loss")

    def spy(*args, **kwargs):
        seen.update(kwargs)
        return original(*args, **kwargs)

    monkeypatch.setattr(model.denoiser, f"{kind}_loss", spy)
    loss = model.denoiser_loss(x_data, mu, emo, spk, mask)
    assert math.isfinite(loss.item())
    if kind == "score":
        assert seen == {"beta_min": 0.05, "beta_max": 15.0}


# --- vocoder ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def vocoder() -> Vocoder:
    return Vocoder(VocoderConfig(), AudioConfig()).eval()


@pytest.mark.parametrize("b, f", [(1, 1), (2, 7), (1, 100)])
def test_vocoder_output_length(vocoder, b, f):
    with torch.no_grad():
        wav = vocoder(torch.randn(b, N_MELS, f))
    assert wav.shape == (b, f * AudioConfig().hop_length) and torch.isfinite(wav).all()


def test_inverse_stft_matches_torch_istft():
    n_fft, hop, f = 1024, 256, 12
    spec = torch.randn(2, n_fft // 2 + 1, f, dtype=torch.complex64)
    spec[:, 0].imag = 0
    spec[:, -1].imag = 0
    ours = InverseSTFT(n_fft, hop)(spec.real, spec.imag)
    ref = torch.istft(spec, n_fft, hop, window=torch.hann_window(n_fft), center=True)
    # torch trims n_fft/2 at the start, ours (n_fft - hop)/2: a shift of hop/2 samples
    shift = hop // 2
    n = ref.shape[1] - n_fft  # away from torch's unnormalisable tail
    torch.testing.assert_close(ours[:, shift : shift + n], ref[:, :n], atol=1e-6, rtol=1e-4)
    assert "basis" not in InverseSTFT(n_fft, hop).state_dict()
    with pytest.raises(ValueError, match="divide"):
        InverseSTFT(1024, 300)


# --- SER ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ser() -> SER:
    return SER(SERConfig(), N_MELS, E, 5).eval()


@pytest.mark.parametrize("b, f", [(1, 1), (3, 40)])
def test_ser_shapes(ser, b, f):
    with torch.no_grad():
        emb, logits = ser(torch.randn(b, N_MELS, f))
        emb_m, logits_m = ser(torch.randn(b, N_MELS, f), torch.ones(b, 1, f))
    assert emb.shape == emb_m.shape == (b, E)
    assert logits.shape == logits_m.shape == (b, 5)


def test_ser_mask_ignores_padding_in_lstm_and_pooling(ser):
    x = torch.randn(2, N_MELS, 30)
    mask = torch.ones(2, 1, 30)
    mask[0, :, 20:] = 0
    with torch.no_grad():
        emb1, _ = ser(x, mask)
        x2 = x.clone()
        x2[0, :, 20:] = 100.0  # garbage in padding
        emb2, _ = ser(x2, mask)
    torch.testing.assert_close(emb1, emb2)


def test_ser_full_mask_equals_no_mask_and_reversal_stays_within_length(ser):
    from emomix.models.ser import _reverse_index

    x = torch.randn(3, N_MELS, 17)
    with torch.no_grad():
        torch.testing.assert_close(ser(x, torch.ones(3, 1, 17)), ser(x, None))
    idx = _reverse_index(torch.tensor([4, 1, 6]), 6)
    assert idx.tolist() == [[3, 2, 1, 0, 4, 5], [0, 1, 2, 3, 4, 5], [5, 4, 3, 2, 1, 0]]


@pytest.mark.parametrize("q", [80, 7])
def test_ser_frequency_halving_equals_max_pool(q):
    from emomix.models.ser import _halve_freq

    h = torch.randn(2, 3, q, 11)
    torch.testing.assert_close(_halve_freq(h), torch.nn.functional.max_pool2d(h, (2, 1)),
                               rtol=0, atol=0)


def test_ser_features_and_style_loss(ser):
    x = torch.randn(2, N_MELS, 25, requires_grad=True)
    feats = ser.cnn_features(x)
    assert [tuple(f.shape) for f in feats] == [(2, 16, 80, 25), (2, 32, 40, 25), (2, 32, 20, 25)]
    same = gram_style_loss(feats, [f.detach() for f in feats])
    assert same.item() == pytest.approx(0.0, abs=1e-9)
    other = ser.cnn_features(torch.randn(2, N_MELS, 25))
    loss = gram_style_loss(feats, other)
    assert loss.item() > 0
    loss.backward()
    assert x.grad is not None and torch.isfinite(x.grad).all()


def test_compute_deltas_of_a_ramp():
    ramp = torch.arange(10.0).view(1, 1, 10) * 2.0
    d = compute_deltas(ramp, 5)
    torch.testing.assert_close(d[..., 2:-2], torch.full((1, 1, 6), 2.0))


# --- the whole voice model ------------------------------------------------------------------------


def test_voice_model_submodules_and_weight_names():
    cfg = ModelConfig(n_symbols=20, n_speakers=3)
    model = VoiceModel(cfg)
    for name in ("speakers", "encoder", "denoiser", "vocoder", "ser"):
        assert hasattr(model, name)
    assert model.speakers.weight.shape == (3, cfg.speaker_dim)
    prefixes = {k.split(".")[0] for k in model.state_dict()}
    assert prefixes == {"speakers", "encoder", "denoiser", "vocoder", "ser"}
    assert count_parameters(model) == sum(
        count_parameters(getattr(model, n))
        for n in ("speakers", "encoder", "denoiser", "vocoder", "ser")
    )
    bad = ModelConfig(parameterisation="ddim")
    with pytest.raises(ValueError, match="parameterisation"):
        VoiceModel(bad)


def test_sizes_stay_within_the_cpu_budget():
    """The default networks must stay cheap enough for the native runtime's RTF target."""
    cfg = ModelConfig(n_symbols=100)
    model = VoiceModel(cfg).eval()
    f = 64
    mel = torch.randn(1, N_MELS, f)
    emo, spk, t = torch.randn(1, E), torch.randn(1, S), torch.rand(1)
    den = count_macs(model.denoiser, lambda: model.denoiser(mel, t, mel, emo, spk)) / f
    voc = count_macs(model.vocoder, lambda: model.vocoder(mel)) / f
    assert den <= 0.5e6 and voc <= 1.0e6
    assert 1.0e6 <= count_parameters(model.encoder) <= 2.0e6
    assert 0.3e6 <= count_parameters(model.ser) <= 1.0e6
