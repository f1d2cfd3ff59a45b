"""The vocoder's discriminators and adversarial losses (emomix.train.adversarial)."""

from __future__ import annotations

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from emomix.train.adversarial import (  # noqa: E402
    PERIODS,
    RESOLUTIONS,
    Discriminators,
    PeriodDiscriminator,
    discriminator_loss,
    feature_matching_loss,
    generator_loss,
)


def test_every_discriminator_scores_the_audio_and_exposes_its_activations():
    torch.manual_seed(0)
    d = Discriminators()
    out = d(torch.randn(3, 8192))
    assert len(out) == len(PERIODS) + len(RESOLUTIONS)
    for scores, feats in out:
        assert scores.shape[0] == 3 and scores.shape[1] > 0 and torch.isfinite(scores).all()
        assert len(feats) >= 5 and feats[-1].flatten(1).shape == scores.shape
    with pytest.raises(ValueError, match=r"samples ≥ 2048"):
        d(torch.randn(2, 1000))
    with pytest.raises(ValueError, match="period must be"):
        PeriodDiscriminator(0)


def test_a_period_discriminator_folds_by_its_period():
    """Its columns are every p-th sample: a signal that repeats every p samples gives the same
    activations in every row away from the edges, whatever the repeated pattern is."""
    torch.manual_seed(0)
    d = PeriodDiscriminator(5)
    pattern = torch.randn(5)
    wav = pattern.repeat(2000)[None]
    _, feats = d(wav)
    first = feats[0][0]  # (channels, rows, 5)
    rows = first[:, 2:-2, :]
    assert torch.allclose(rows, rows[:, :1, :].expand_as(rows), atol=1e-5)
    _, other = d(torch.randn(5).repeat(2000)[None])
    assert not torch.allclose(other[0][0][:, 2:-2, :], rows, atol=1e-3)
    # a length that is not a multiple of the period is padded, not refused
    scores, _ = d(torch.randn(1, 2048 + 3))
    assert torch.isfinite(scores).all()


def test_least_squares_and_feature_matching_losses():
    ones, zeros = torch.ones(2, 4), torch.zeros(2, 4)
    feats = [torch.randn(2, 3, 5), torch.randn(2, 1, 4)]
    perfect = discriminator_loss([(ones, feats)] * 3, [(zeros, feats)] * 3)
    assert float(perfect) == 0.0
    fooled = discriminator_loss([(zeros, feats)], [(ones, feats)])
    assert float(fooled) == pytest.approx(2.0)
    assert float(generator_loss([(zeros, feats), (ones, feats)])) == pytest.approx(0.5)

    fake = [f.clone().requires_grad_(True) for f in feats]
    real = [f.clone().requires_grad_(True) for f in feats]
    assert float(feature_matching_loss([(ones, real)], [(ones, fake)]).detach()) == 0.0
    shifted = [(f + 1.0).detach().requires_grad_(True) for f in feats]
    fm = feature_matching_loss([(ones, real)], [(ones, shifted)])
    assert float(fm.detach()) == pytest.approx(2.0)  # 1 per layer, summed over two layers
    fm.backward()
    assert all(r.grad is None for r in real)  # the real side is a fixed target
    assert all(s.grad is not None and s.grad.abs().sum() > 0 for s in shifted)


def test_the_discriminators_learn_to_tell_harmonics_from_noise():
    """Trained briefly on voiced-like audio (a 120 Hz harmonic series) against noise of the
    same loudness, the discriminators' loss falls and they score the held-out real kind
    higher: they can see periodicity, which is what they are for."""
    torch.manual_seed(0)
    torch.set_num_threads(2)
    d = Discriminators()
    opt = torch.optim.AdamW(d.parameters(), lr=2e-4, betas=(0.8, 0.9))
    t = torch.arange(4096) / 22050.0

    def voiced(n):
        f0 = 100.0 + 40.0 * torch.rand(n, 1)
        phase = 2 * math.pi * torch.rand(n, 1, 1)
        k = torch.arange(1, 20)[None, :, None]
        wav = (torch.sin(2 * math.pi * f0[:, :, None] * k * t + phase) / k).sum(1)
        return 0.1 * wav / wav.std(dim=1, keepdim=True)

    def noise(n):
        return 0.1 * torch.randn(n, t.numel())

    losses = []
    for _ in range(40):
        loss = discriminator_loss(d(voiced(4)), d(noise(4)))
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    assert np.mean(losses[-5:]) < 0.5 * np.mean(losses[:5])
    with torch.no_grad():
        real = np.mean([float(s.mean()) for s, _ in d(voiced(4))])
        fake = np.mean([float(s.mean()) for s, _ in d(noise(4))])
    assert real > fake + 0.1
