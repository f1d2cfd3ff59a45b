"""The sampler reference against cases whose answers are known by hand."""

from __future__ import annotations

import numpy as np
import pytest

from emomix.sampler import (
    ALPHA_MAX,
    SamplerSpec,
    active_conditions,
    blend,
    emomix,
    emomix_frames,
    intensity,
    keyframes_to_frames,
    line_noise,
    make_noise,
    normal,
    sample,
    time_grid,
    trajectory,
    validate_weights,
)
from emomix.sampler.schedules import beta

C, F = 4, 6
RNG = np.random.default_rng(7)
TARGETS = RNG.normal(size=(3, C, F)).astype(np.float32)  # one "data point" per condition


class CountingDenoiser:
    """Records every call: the batch composition proves skipping and batching."""

    def __init__(self, fn):
        self.fn = fn
        self.calls: list[tuple[float, list[int]]] = []

    def __call__(self, x, t, conds):
        assert x.ndim == 3 and x.shape[0] == len(conds) == t.shape[0]
        assert np.all(t == t[0])
        self.calls.append((float(t[0]), [int(c) for c in conds]))
        return np.stack([self.fn(x[b], float(t[b]), int(c)) for b, c in enumerate(conds)])


def ot_velocity(x, t, c):
    """Exact flow-matching velocity towards a point mass at TARGETS[c]: (x - d) / t."""
    return (x - TARGETS[c]) / t


def test_rng_is_deterministic_and_standard_normal():
    a = normal(3, 1, 200_000)
    assert a.dtype == np.float32
    np.testing.assert_array_equal(a, normal(3, 1, 200_000))
    assert abs(a.mean()) < 0.01 and abs(a.std() - 1) < 0.01
    assert not np.array_equal(a[:100], normal(4, 1, 100))
    assert not np.array_equal(a[:100], normal(3, 2, 100))
    np.testing.assert_array_equal(normal(3, 1, 10, offset=5), a[5:15])
    # tails behave like a Gaussian: P(|z| > 2) ~= 0.0455
    assert abs(np.mean(np.abs(a) > 2) - 0.0455) < 0.003


def test_time_grid():
    np.testing.assert_allclose(time_grid(4), [1, 0.75, 0.5, 0.25, 0])
    for bad in (0, -1, 2.5):
        with pytest.raises(ValueError):
            time_grid(bad)


def test_blend_and_emomix_presets():
    np.testing.assert_allclose(blend([3, 1], 2), [[0.75, 0.25], [0.75, 0.25]])
    tau = time_grid(10)  # tau[k] = 1, .9, ..., .1
    W = emomix([0.6, 0.4], tau)
    # tau > 0.6: base (largest weight) alone; 0.2..0.6: the mix; < 0.2: the mixed-in one
    assert W[:4].tolist() == [[1, 0]] * 4
    np.testing.assert_allclose(W[4:9], [[0.6, 0.4]] * 5)
    assert W[9].tolist() == [0, 1]
    W3 = emomix([0.5, 0.3, 0.2], tau, base=0)
    np.testing.assert_allclose(W3[9], [0, 0.6, 0.4])
    single = emomix([1.0], tau)
    assert np.all(single == 1)
    for bad in ([0, 0], [-1, 2], [np.nan, 1], []):
        with pytest.raises(ValueError):
            emomix(bad, tau)


def test_intensity_preset_extrapolates_and_clamps():
    W = intensity(0, 2, 0.25, 3, 4)
    np.testing.assert_allclose(W[0], [0.75, 0, 0.25])
    W = intensity(0, 1, 1.3, 2, 4)
    np.testing.assert_allclose(W[0], [-0.3, 1.3], atol=1e-6)
    W = intensity(0, 1, 9.0, 2, 4)
    np.testing.assert_allclose(W[0], [1 - ALPHA_MAX, ALPHA_MAX])
    np.testing.assert_allclose(intensity(0, 1, -3, 2, 1)[0], [1, 0])
    with pytest.raises(ValueError):
        intensity(0, 0, 0.5, 2, 4)
    with pytest.raises(ValueError):
        intensity(0, 1, float("nan"), 2, 4)


def test_weight_validation_names_the_fault():
    with pytest.raises(ValueError, match="step 1 sum"):
        validate_weights(np.array([[1.0, 0.0], [0.5, 0.6]]))
    with pytest.raises(ValueError, match="step 0, condition 1"):
        validate_weights(np.array([[1.0, np.nan]]))
    per_frame = np.full((2, 2, 3), 0.5)
    per_frame[1, :, 2] = 0.7
    with pytest.raises(ValueError, match="step 1, frame 2"):
        validate_weights(per_frame)
    with pytest.raises(ValueError, match="shape"):
        validate_weights(np.ones(3))


def test_flow_euler_reaches_the_mixture_of_targets():
    """With the exact velocity field Euler is exact; the final step's mix is what remains."""
    x_noise = make_noise(11, 4, (C, F))
    d = CountingDenoiser(ot_velocity)
    W = blend([0.2, 0.0, 0.8], 4)
    out = sample(d, np.zeros((C, F)), W, SamplerSpec(steps=4), noise=x_noise)
    np.testing.assert_allclose(out, 0.2 * TARGETS[0] + 0.8 * TARGETS[2], atol=1e-5)
    # zero-weight condition 1 never evaluated; the other two batched in one call per step
    assert [c for _, c in d.calls] == [[0, 2]] * 4
    np.testing.assert_allclose([t for t, _ in d.calls], [1, 0.75, 0.5, 0.25])


def test_emomix_schedule_by_hand():
    """x_{k+1} = x_k (1 - h/tau_k) + (h/tau_k) * dbar_k, with dbar_k the mix at step k."""
    steps = 5
    tau = time_grid(steps)
    W = emomix([0.7, 0.3], tau)
    noise = make_noise(5, steps, (C, F))
    d = CountingDenoiser(ot_velocity)
    out = sample(d, np.zeros((C, F)), W, SamplerSpec(steps=steps), noise=noise)
    x = noise[0].astype(np.float64)
    for k in range(steps):
        h = tau[k] - tau[k + 1]
        dbar = W[k, 0] * TARGETS[0] + W[k, 1] * TARGETS[1]
        x = x * (1 - h / tau[k]) + h / tau[k] * dbar
    np.testing.assert_allclose(out, x, atol=1e-5)
    # tau = 1, .8: base only; .6, .4: mix; .2: mix (k_min inclusive)
    assert [c for _, c in d.calls] == [[0], [0], [0, 1], [0, 1], [0, 1]]
    steps = 10  # last step at tau = 0.1 < k_min: the mixed-in emotion alone
    out = sample(CountingDenoiser(ot_velocity), np.zeros((C, F)), emomix([0.7, 0.3], time_grid(10)),
                 SamplerSpec(steps=steps), seed=0)
    np.testing.assert_allclose(out, TARGETS[1], atol=1e-5)


def test_per_frame_weights_reach_each_frame():
    wf = keyframes_to_frames([0.0, 1.0], [[1, 0], [0, 1]], F)  # calm -> angry across the line
    assert wf.shape == (2, F) and np.all(np.diff(wf[1]) > 0)
    W = trajectory(wf, 3)
    assert W.shape == (3, 2, F)
    out = sample(CountingDenoiser(ot_velocity), np.zeros((C, F)), W, SamplerSpec(steps=3), seed=1)
    expected = wf[0] * TARGETS[0] + wf[1] * TARGETS[1]
    np.testing.assert_allclose(out, expected, atol=1e-5)
    with pytest.raises(ValueError, match="frames"):
        sample(ot_velocity, np.zeros((C, F + 1)), W, SamplerSpec(steps=3), seed=1)
    with pytest.raises(ValueError, match="frame 0"):
        trajectory(np.zeros((2, 3)), 2)


def linear_velocity(x, t, c):
    """dx/dtau = x - d: exact solution x(0) = d + (x(1) - d) / e."""
    return x - TARGETS[c]


@pytest.mark.parametrize("solver,order", [("euler", 1), ("heun", 2)])
def test_flow_solver_convergence_order(solver, order):
    x1 = make_noise(2, 1, (C, F))[0]
    exact = TARGETS[0] + (x1 - TARGETS[0]) / np.e
    errs = []
    for n in (8, 16, 32):
        noise = np.concatenate([x1[None], np.zeros((n, C, F), np.float32)])
        spec = SamplerSpec(solver=solver, steps=n)
        out = sample(CountingDenoiser(linear_velocity), np.zeros((C, F)), blend([1, 0], n), spec,
                     noise=noise)
        errs.append(np.abs(out - exact).max())
    ratios = [errs[0] / errs[1], errs[1] / errs[2]]
    assert all(abs(r - 2**order) < 0.3 * 2**order for r in ratios), (errs, ratios)


def test_heun_evaluates_twice_per_step_with_the_steps_weights():
    d = CountingDenoiser(linear_velocity)
    W = emomix([0.5, 0.5], time_grid(3), base=1)
    sample(d, np.zeros((C, F)), W, SamplerSpec(solver="heun", steps=3), seed=0)
    times = [t for t, _ in d.calls]
    np.testing.assert_allclose(times, [1, 2 / 3, 2 / 3, 1 / 3, 1 / 3, 0], atol=1e-6)
    # tau = 1 and 2/3 are above k_max (base alone), 1/3 is inside the mixing window
    assert [c for _, c in d.calls] == [[1], [1], [1], [1], [0, 1], [0, 1]]


def gaussian_score(mu, b_min=0.05, b_max=20.0):
    """Exact score of p_t when the data is a point mass at TARGETS[c] (Grad-TTS forward SDE)."""

    def score(x, t, c):
        big_b = b_min * t + 0.5 * (b_max - b_min) * t * t  # integral of beta from 0 to t
        mean = TARGETS[c] * np.exp(-0.5 * big_b) + mu * (1 - np.exp(-0.5 * big_b))
        var = 1 - np.exp(-big_b)
        return -(x - mean) / var

    return score


@pytest.mark.parametrize("solver,tol", [("pf_euler", 0.05), ("em", 0.15)])
def test_score_solvers_transport_prior_to_the_mixture(solver, tol):
    mu = RNG.normal(size=(C, F)).astype(np.float32)
    spec = SamplerSpec(parameterisation="score", solver=solver, steps=400)
    d = CountingDenoiser(gaussian_score(mu))
    # the weighted sum of scores with shared sigma is the score of the mean target
    out = sample(d, mu, blend([0.25, 0.75, 0], 400), spec, seed=3)
    target = 0.25 * TARGETS[0] + 0.75 * TARGETS[1]
    assert np.abs(out - target).max() < tol
    assert len(d.calls) == 400 and all(c == [0, 1] for _, c in d.calls)


def test_score_single_step_formulas():
    mu = RNG.normal(size=(C, F)).astype(np.float32)
    s_const = RNG.normal(size=(C, F)).astype(np.float32)
    noise = make_noise(9, 1, (C, F))
    b = beta(1.0, 0.05, 20.0)
    for solver in ("em", "pf_euler"):
        spec = SamplerSpec(parameterisation="score", solver=solver, steps=1, temperature=1.5)
        out = sample(lambda x, t, c: np.broadcast_to(s_const, x.shape), mu, blend([1], 1), spec,
                     noise=noise)
        x0 = mu + noise[0] / 1.5
        if solver == "em":
            expect = x0 - b * (0.5 * (mu - x0) - s_const) + np.sqrt(b) * noise[1]
        else:
            expect = x0 - b * 0.5 * (mu - x0 - s_const)
        np.testing.assert_allclose(out, expect, rtol=1e-5, atol=1e-4)


def test_emomix_window_per_step_and_per_frame():
    """Both forms switch at the window given; per-frame mixes take each frame's own base."""
    tau = time_grid(10)  # 1, 0.9, ..., 0.1
    W = emomix([0.7, 0.3], tau, k_max=0.95, k_min=0.9)
    expected = [[1, 0], [0.7, 0.3]] + [[0, 1]] * 8  # 0.9 is in the window (both ends inclusive)
    np.testing.assert_allclose(W, expected, rtol=0, atol=1e-7)
    frames = np.array([[0.7, 0.3, 1.0], [0.3, 0.7, 0.0]])
    Wf = emomix_frames(frames, tau, k_max=0.95, k_min=0.9)
    assert Wf.shape == (10, 2, 3)
    np.testing.assert_allclose(Wf[:, :, 0], expected, rtol=0, atol=1e-7)
    np.testing.assert_allclose(Wf[:, :, 1], np.array(expected)[:, ::-1], rtol=0, atol=1e-7)
    np.testing.assert_array_equal(Wf[:, :, 2], [[1, 0]] * 10)  # nothing mixed in: base alone
    paper = emomix([0.7, 0.3], tau)  # the paper's window by default
    np.testing.assert_allclose(emomix_frames(frames[:, :1], tau), paper[..., None], atol=1e-7)
    with pytest.raises(ValueError, match="k_min"):
        emomix_frames(frames, tau, k_max=0.5, k_min=0.6)


def test_seeds_and_spec_validation():
    spec = SamplerSpec(parameterisation="score", solver="em", steps=4)
    mu = np.zeros((C, F), np.float32)
    W = blend([1, 1], 4)
    fn = CountingDenoiser(gaussian_score(mu))
    a = sample(fn, mu, W, spec, seed=1)
    np.testing.assert_array_equal(a, sample(fn, mu, W, spec, seed=1))
    assert not np.allclose(a, sample(fn, mu, W, spec, seed=2))
    with pytest.raises(ValueError, match="solver"):
        SamplerSpec(parameterisation="flow", solver="em")
    with pytest.raises(ValueError, match="parameterisation"):
        SamplerSpec(parameterisation="ddpm")
    with pytest.raises(ValueError, match="temperature"):
        SamplerSpec(temperature=0)
    with pytest.raises(ValueError, match="k_min"):
        SamplerSpec(k_max=0.2, k_min=0.6)
    with pytest.raises(ValueError, match="beta_min"):
        SamplerSpec(parameterisation="score", solver="em", beta_min=2.0, beta_max=1.0)
    with pytest.raises(ValueError, match="steps"):
        sample(fn, mu, blend([1], 3), spec, seed=0)
    with pytest.raises(ValueError, match="seed"):
        sample(fn, mu, W, spec)
    with pytest.raises(ValueError, match="NaN"):
        sample(fn, np.full((C, F), np.nan), W, spec, seed=0)


def test_line_noise_is_anchored_to_each_phoneme():
    """A phoneme's noise depends on its number and its own frames only (docs/sampler.md)."""
    a = line_noise(5, 2, C, 7, [2, 3, 2])
    longer = line_noise(5, 2, C, 8, [2, 4, 2])  # phoneme 1 one frame longer
    np.testing.assert_array_equal(longer[:, :5], a[:, :5])
    np.testing.assert_array_equal(longer[:, 6:], a[:, 5:])
    # element (c, f), frame f the j-th of phoneme p, is deviate (p << 32) + j * n_mels + c
    assert a[1, 3] == normal(5, 2, 1, offset=(1 << 32) + 1 * C + 1)[0]
    # without durations the line is one segment: frame f's bins are deviates f * C .. f * C + C-1
    whole = line_noise(5, 2, C, 7)
    np.testing.assert_array_equal(whole, normal(5, 2, C * 7).reshape(7, C).T)
    np.testing.assert_array_equal(whole, line_noise(5, 2, C, 7, [7]))
    np.testing.assert_array_equal(make_noise(5, 3, (C, 7), [2, 3, 2])[2], a)
    assert abs(float(line_noise(1, 0, 80, 500, [5] * 100).std()) - 1) < 0.01


def test_line_noise_rejects_durations_that_do_not_fit_the_line():
    spec = SamplerSpec(steps=2)
    mu, W = np.zeros((C, 6), np.float32), blend([1.0], 2)
    fn = CountingDenoiser(ot_velocity)
    for bad, match in (([2, 3], "add up to 5 frames but the line has 6"),
                       ([4, -1, 3], ">= 0"), ([[3, 3]], "1-D"), ([2.0, 4.0], "integer"),
                       ([], "non-empty")):
        with pytest.raises(ValueError, match=match):
            sample(fn, mu, W, spec, seed=1, durations=np.asarray(bad))
    assert not np.array_equal(sample(fn, mu, W, spec, seed=1, durations=[2, 4]),
                              sample(fn, mu, W, spec, seed=1))


def test_active_conditions_per_frame():
    W = np.zeros((2, 3, 4), np.float32)
    W[0, 0] = 1
    W[1, 1, :2] = 1
    W[1, 2, 2:] = 1
    assert active_conditions(W, 0).tolist() == [0]
    assert active_conditions(W, 1).tolist() == [1, 2]
