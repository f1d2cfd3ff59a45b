"""The C++ sampler core (``emomix._native``) against the numpy oracle (``emomix.sampler``).

Same callback, same noise, same weights: the native loop must reproduce the reference for every
parameterisation x solver, with per-step and per-frame weights; the RNG must be bit-compatible;
bad inputs must raise ``ValueError`` (never crash).
"""

from __future__ import annotations

import threading

import numpy as np
import pytest

_native = pytest.importorskip("emomix._native",
                              reason="emomix._native is not built (pip install -e .)")

from emomix import sampler as ref  # noqa: E402

C, F, M = 5, 7, 3
CASES = [("flow", "euler"), ("flow", "heun"), ("score", "em"), ("score", "pf_euler")]
TARGETS = np.random.default_rng(11).normal(size=(M, C, F)).astype(np.float32)


class AnalyticDenoiser:
    """A non-linear, time-dependent numpy "network" that records its calls.

    flow:  v_i(x, t) = tanh(x) - (1 - t/2) a_i       score:  s_i(x, t) = (a_i - x) / (1 + t)
    """

    def __init__(self, parameterisation: str):
        self.parameterisation = parameterisation
        self.calls: list[tuple[float, list[int]]] = []

    def __call__(self, x: np.ndarray, t: np.ndarray, conds) -> np.ndarray:
        assert x.dtype == np.float32 and t.dtype == np.float32
        assert x.shape[0] == t.shape[0] == len(conds)
        idx = np.asarray(conds, dtype=np.int64)
        self.calls.append((float(t[0]), idx.tolist()))
        a = TARGETS[idx]
        tt = t[:, None, None]
        if self.parameterisation == "flow":
            return np.tanh(x) - (np.float32(1) - tt / np.float32(2)) * a
        return (a - x) / (np.float32(1) + tt)


def per_step_weights(steps: int) -> np.ndarray:
    """An emomix-like schedule with a skipped condition at every step but the middle ones."""
    w = np.zeros((steps, M), dtype=np.float32)
    for k in range(steps):
        if k < steps // 3:
            w[k] = (1, 0, 0)
        elif k < 2 * steps // 3:
            w[k] = (0.5, 0.3, 0.2)
        else:
            w[k] = (0, 0.6, 0.4)
    return w


def per_frame_weights(steps: int) -> np.ndarray:
    """A trajectory from condition 0 to condition 2 across the line; condition 1 never speaks."""
    alpha = np.linspace(0, 1, F, dtype=np.float32)
    wf = np.stack([1 - alpha, np.zeros(F, np.float32), alpha])
    return np.broadcast_to(wf, (steps, M, F)).astype(np.float32).copy()


def mu_values() -> np.ndarray:
    return np.linspace(-1, 1, C * F, dtype=np.float32).reshape(C, F)


def max_ulp(a: np.ndarray, b: np.ndarray) -> int:
    ai = np.asarray(a, np.float32).view(np.int32).astype(np.int64)
    bi = np.asarray(b, np.float32).view(np.int32).astype(np.int64)
    # Map the sign-magnitude float order onto a monotone integer line.
    ai = np.where(ai < 0, -(ai & 0x7FFFFFFF), ai)
    bi = np.where(bi < 0, -(bi & 0x7FFFFFFF), bi)
    return int(np.max(np.abs(ai - bi))) if ai.size else 0


# --- RNG and schedules ---------------------------------------------------------------------


@pytest.mark.parametrize("seed,stream", [(0, 0), (1, 1), (42, 7), (2**63 + 5, 3), (2**64 - 1, 999)])
def test_normal_is_bit_compatible(seed: int, stream: int) -> None:
    n = 4096
    got = _native.normal(seed, stream, n)
    want = ref.normal(seed, stream, n)
    assert got.dtype == np.float32 and got.shape == (n,)
    assert max_ulp(got, want) <= 1
    assert np.mean(got == want) > 0.999


def test_normal_offset_and_errors() -> None:
    assert np.array_equal(_native.normal(3, 2, 10, offset=100), _native.normal(3, 2, 110)[100:])
    assert np.array_equal(_native.normal(3, 2, 10, 5), ref.normal(3, 2, 10, 5))
    assert _native.normal(0, 0, 0).shape == (0,)
    with pytest.raises(ValueError, match="seed"):
        _native.normal(-1, 0, 4)
    with pytest.raises(ValueError, match="n must be"):
        _native.normal(0, 0, -1)
    with pytest.raises(ValueError, match="stream must be a non-negative integer"):
        _native.normal(0, 1.5, 4)
    assert np.array_equal(_native.normal(np.int64(9), np.uint32(2), np.int32(3)),
                          _native.normal(9, 2, 3))


@pytest.mark.parametrize("durations", [None, np.array([3, 0, 5, 2, 7]), [17]])
def test_make_noise_matches_the_reference(durations) -> None:
    got = _native.make_noise(2**40 + 3, 4, 80, 17, durations)
    want = ref.make_noise(2**40 + 3, 4, (80, 17), durations)
    assert got.dtype == np.float32 and got.shape == (5, 80, 17)
    assert max_ulp(got, want) <= 1
    assert np.mean(got == want) > 0.999


def test_make_noise_errors_and_voice_dispatch() -> None:
    with pytest.raises(ValueError, match="add up to 9 frames"):
        _native.make_noise(1, 2, 80, 10, np.array([4, 5]))
    with pytest.raises(ValueError, match="n_mels, frames >= 1"):
        _native.make_noise(1, 2, 80, 0)
    with pytest.raises(ValueError, match="steps"):
        _native.make_noise(1, -1, 80, 4)
    with pytest.raises(ValueError, match="durations must be"):
        _native.make_noise(1, 2, 80, 4, np.array([1.5, 2.5]))
    with pytest.raises(ValueError, match="seed"):
        _native.make_noise(-2, 2, 80, 4)
    with pytest.raises(ValueError, match="streams must be between 1 and steps"):
        _native.make_noise(1, 2, 80, 4, None, 4)
    # only the planes a deterministic solver reads are drawn; the rest are zero
    part = _native.make_noise(7, 3, 80, 9, [4, 5], 1)
    assert np.array_equal(part[0], _native.make_noise(7, 3, 80, 9, [4, 5])[0])
    assert not part[1:].any()
    assert ref.noise_streams(ref.SamplerSpec(steps=3)) == 1
    assert ref.noise_streams(ref.SamplerSpec(steps=3, parameterisation="score", solver="em")) == 4


def test_splitmix64_and_time_grid() -> None:
    assert _native.splitmix64(0) == 0xE220A8397B1DCDAF
    assert _native.splitmix64(2**64 + 1) == _native.splitmix64(1)
    for n in (1, 3, 4, 10, 1000):
        assert np.array_equal(_native.time_grid(n), ref.time_grid(n))
    for bad in (0, 1001):
        with pytest.raises(ValueError):
            _native.time_grid(bad)


# --- weights ------------------------------------------------------------------------------


@pytest.mark.parametrize("W", [per_step_weights(6), per_frame_weights(4)])
def test_valid_weights_and_active_conditions(W: np.ndarray) -> None:
    _native.validate_weights(W)
    for k in range(W.shape[0]):
        assert _native.active_conditions(W, k) == ref.active_conditions(W, k).tolist()
    with pytest.raises(ValueError, match="out of range"):
        _native.active_conditions(W, W.shape[0])


@pytest.mark.parametrize(
    "W,message",
    [
        (np.array([[1, 0], [0.5, 0.4]], np.float32), r"step 1\]: weights sum to 0\.9"),
        (np.array([[1, 0], [np.nan, 1]], np.float32), r"step 1\]: weight of condition 0 is nan"),
        (np.array([[np.inf, 0]], np.float32), "finite"),
        (np.array([[[1, 1, 0.5]], [[1, 1, 1]]], np.float32), r"step 0, frame 2\]"),
        (np.ones((2,), np.float32), r"shape \(N, M\) or \(N, M, F\)"),
        (np.ones((0, 2), np.float32), "N=0"),
    ],
)
def test_bad_weights_raise_value_error_naming_the_step(W: np.ndarray, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        _native.validate_weights(W)
    with pytest.raises(ValueError):
        ref.validate_weights(W)
    if W.ndim == 2 and W.size:
        with pytest.raises(ValueError, match=message):
            _native.sample(AnalyticDenoiser("flow"), np.zeros((C, F), np.float32), W, "flow",
                           "euler")


def test_mix_matches_the_formula() -> None:
    rng = np.random.default_rng(0)
    preds = rng.normal(size=(3, C, F)).astype(np.float32)
    w = np.array([0.2, -0.5, 1.3], np.float32)
    want = (w[0] * preds[0] + w[1] * preds[1]) + w[2] * preds[2]
    assert np.array_equal(_native.mix(preds, w), want)
    wf = rng.random((3, F)).astype(np.float32)
    want = np.sum(wf[:, None, :] * preds, axis=0, dtype=np.float32)
    assert np.array_equal(_native.mix(preds, wf), want)
    with pytest.raises(ValueError, match=r"weights must have shape \(B,\) or \(B, F\)"):
        _native.mix(preds, w[:2])
    with pytest.raises(ValueError, match="preds must have shape"):
        _native.mix(preds[0], w)


# --- the sampler loop ---------------------------------------------------------------------


@pytest.mark.parametrize("parameterisation,solver", CASES)
@pytest.mark.parametrize("weights", ["per_step", "per_frame"])
@pytest.mark.parametrize("noise_source", ["seed", "array"])
def test_sample_matches_reference(parameterisation: str, solver: str, weights: str,
                                  noise_source: str) -> None:
    steps = 6
    W = per_step_weights(steps) if weights == "per_step" else per_frame_weights(steps)
    mu = mu_values()
    spec = ref.SamplerSpec(parameterisation, solver, steps, temperature=0.8)
    seed = 1234
    noise = ref.make_noise(seed, steps, mu.shape) if noise_source == "array" else None

    d_ref, d_nat = AnalyticDenoiser(parameterisation), AnalyticDenoiser(parameterisation)
    want = ref.sample(d_ref, mu, W, spec, seed=seed, noise=noise)
    got = _native.sample(d_nat, mu, W, parameterisation, solver, temperature=0.8, seed=seed,
                         noise=noise)

    assert got.dtype == np.float32 and got.shape == (C, F)
    assert d_nat.calls == d_ref.calls  # same evaluations: times, batches, skipped conditions
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
    if noise is not None:
        # Same noise, same callback: the native loop mirrors the oracle operation for operation
        # (float32, same order, no FMA), so the result is bit-identical.
        assert max_ulp(got, want) == 0
    else:
        # Seeded: the RNG may differ from numpy by libm's last float64 ulp (rarely visible).
        assert max_ulp(got, want) <= 64


@pytest.mark.parametrize("parameterisation,solver", CASES)
def test_the_sampler_reads_exactly_the_noise_planes_noise_streams_names(parameterisation: str,
                                                                        solver: str) -> None:
    # emomix.sampler.noise_streams (Python) and uses_step_noise (C++) must agree: planes past
    # noise_streams are never read by either loop, and the last one it names is.
    steps = 4
    W, mu = per_step_weights(steps), mu_values()
    spec = ref.SamplerSpec(parameterisation, solver, steps)
    noise = ref.make_noise(3, steps, mu.shape)
    n = ref.noise_streams(spec)
    unread = noise.copy()
    unread[n:] = np.nan
    full = _native.sample(AnalyticDenoiser(parameterisation), mu, W, parameterisation, solver,
                          noise=noise)
    assert np.array_equal(_native.sample(AnalyticDenoiser(parameterisation), mu, W,
                                         parameterisation, solver, noise=unread), full)
    assert np.array_equal(ref.sample(AnalyticDenoiser(parameterisation), mu, W, spec,
                                     noise=unread), ref.sample(AnalyticDenoiser(parameterisation),
                                                               mu, W, spec, noise=noise))
    changed = noise.copy()
    changed[n - 1] += 1.0
    assert not np.array_equal(_native.sample(AnalyticDenoiser(parameterisation), mu, W,
                                             parameterisation, solver, noise=changed), full)


@pytest.mark.parametrize("parameterisation,solver", CASES)
def test_sample_counts_and_skips(parameterisation: str, solver: str) -> None:
    steps = 6
    W = per_step_weights(steps)
    d = AnalyticDenoiser(parameterisation)
    _native.sample(d, mu_values(), W, parameterisation, solver, seed=0)
    per_step = 2 if solver == "heun" else 1
    assert len(d.calls) == steps * per_step
    evaluated = sum(len(c) for _, c in d.calls)
    skipped = sum(M - len(ref.active_conditions(W, k)) for k in range(steps)) * per_step
    assert evaluated + skipped == steps * M * per_step and skipped > 0
    if solver == "heun":
        tau = ref.time_grid(steps)
        assert [t for t, _ in d.calls] == [np.float32(x) for k in range(steps)
                                           for x in (tau[k], tau[k + 1])]


def test_flow_euler_by_hand() -> None:
    """v_i = x - a_i: from x_0 = 0, x_{k+1} = (1 - h) x_k + h a-bar_k."""
    steps, W = 4, per_step_weights(4)

    def denoise(x, t, conds):
        return x - TARGETS[np.asarray(conds)]

    noise = np.zeros((steps + 1, C, F), np.float32)
    got = _native.sample(denoise, mu_values(), W, "flow", "euler", noise=noise)
    x = np.zeros((C, F))
    for k in range(steps):
        x = 0.75 * x + 0.25 * np.tensordot(W[k].astype(np.float64), TARGETS, axes=1)
    np.testing.assert_allclose(got, x, atol=2e-6)


def test_seed_and_noise_array_agree() -> None:
    W, mu = per_frame_weights(5), mu_values()
    noise = ref.make_noise(77, 5, mu.shape)
    a = _native.sample(AnalyticDenoiser("score"), mu, W, "score", "em", seed=77)
    b = _native.sample(AnalyticDenoiser("score"), mu, W, "score", "em", noise=noise)
    assert np.array_equal(a, b)
    c = _native.sample(AnalyticDenoiser("score"), mu, W, "score", "em", seed=78)
    assert not np.array_equal(a, c)


def test_seeded_noise_anchored_to_durations_matches_the_oracle() -> None:
    W, mu, durations = per_frame_weights(5), mu_values(), np.array([3, 0, 4])
    spec = ref.SamplerSpec("score", "em", 5)
    want = ref.sample(AnalyticDenoiser("score"), mu, W, spec, seed=77, durations=durations)
    got = _native.sample(AnalyticDenoiser("score"), mu, W, "score", "em", seed=77,
                         durations=durations)
    assert max_ulp(got, want) <= 64
    noise = ref.make_noise(77, 5, mu.shape, durations)
    b = _native.sample(AnalyticDenoiser("score"), mu, W, "score", "em", noise=noise)
    assert np.array_equal(got, b)
    assert not np.array_equal(got, _native.sample(AnalyticDenoiser("score"), mu, W, "score",
                                                  "em", seed=77))
    for bad, match in (([3, 3], "add up to 6 frames but the line has 7"), ([8, -1], ">= 0"),
                       ([3.0, 4.0], "integer frame counts"), ([[3, 4]], "1-D")):
        with pytest.raises(ValueError, match=match):
            _native.sample(AnalyticDenoiser("score"), mu, W, "score", "em", seed=77,
                           durations=np.array(bad))


# --- errors -------------------------------------------------------------------------------


def _flow(**kwargs):
    args = dict(denoise=AnalyticDenoiser("flow"), mu=mu_values(), W=per_step_weights(3),
                parameterisation="flow", solver="euler")
    args.update(kwargs)
    return _native.sample(**args)


@pytest.mark.parametrize(
    "kwargs,message",
    [
        (dict(solver="em"), "does not apply to parameterisation 'flow'"),
        (dict(solver="dpm"), "unknown solver 'dpm'"),
        (dict(parameterisation="eps"), "unknown parameterisation 'eps'"),
        (dict(temperature=0.0), "temperature"),
        (dict(parameterisation="score", solver="em", beta_min=2.0, beta_max=1.0), "beta_min"),
        (dict(mu=np.zeros((C,), np.float32)), r"mu must have shape \(n_mels, F\)"),
        (dict(mu=np.full((C, F), np.nan, np.float32)), "mu contains NaN"),
        (dict(W=per_frame_weights(3)[:, :, :-1]), "per-frame W has 6 frames but mu has 7"),
        (dict(noise=np.zeros((3, C, F), np.float32)), r"noise must have shape \(N \+ 1"),
        (dict(denoise=lambda x, t, c: x[:, :1]), "denoise returned shape"),
        (dict(denoise=lambda x, t, c: None), "denoise returned shape|float32 array"),
        (dict(seed=-3), "seed must be a non-negative integer"),
    ],
)
def test_sample_rejects_bad_inputs(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        _flow(**kwargs)


def test_callback_exception_propagates() -> None:
    class NetworkDown(RuntimeError):
        pass

    calls = []

    def denoise(x, t, conds):
        calls.append(1)
        if len(calls) == 2:
            raise NetworkDown("boom")
        return x

    with pytest.raises(NetworkDown, match="boom"):
        _flow(denoise=denoise)
    assert len(calls) == 2
    # The module is still healthy.
    assert _flow().shape == (C, F)


def test_float64_callback_output_is_accepted() -> None:
    out = _flow(denoise=lambda x, t, c: x.astype(np.float64) * 0.5)
    assert out.dtype == np.float32 and np.all(np.isfinite(out))


def test_threads_sample_concurrently() -> None:
    """The GIL is released around the loop; concurrent calls give the sequential answers."""
    W, mu = per_step_weights(6), mu_values()
    seeds = list(range(6))
    want = [_native.sample(AnalyticDenoiser("score"), mu, W, "score", "em", seed=s) for s in seeds]
    got: dict[int, np.ndarray] = {}

    def work(s: int) -> None:
        got[s] = _native.sample(AnalyticDenoiser("score"), mu, W, "score", "em", seed=s)

    threads = [threading.Thread(target=work, args=(s,)) for s in seeds]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    for s in seeds:
        assert np.array_equal(got[s], want[s])


# --- build facts and CUDA -----------------------------------------------------------------


def test_build_info_and_cuda_probe_do_not_crash() -> None:
    info = _native.build_info()
    assert info["version"] == _native.__version__
    assert isinstance(info["cuda_compiled"], bool)
    available = _native.cuda_available()  # must be a clean False without a GPU or driver
    assert isinstance(available, bool)
    assert isinstance(_native.cuda_status(), str)
    if not info["cuda_compiled"]:
        assert not available


def test_cuda_mix_euler() -> None:
    rng = np.random.default_rng(5)
    x = rng.normal(size=(80, 301)).astype(np.float32)
    preds = rng.normal(size=(3, 80, 301)).astype(np.float32)
    w = np.array([0.2, 0.3, 0.5], np.float32)
    if not _native.cuda_available():
        with pytest.raises(RuntimeError):
            _native.cuda_mix_euler(x, preds, w, 0.25)
        pytest.skip(f"no CUDA device: {_native.cuda_status()}")
    h = 0.25
    cpu = x - np.float32(h) * _native.mix(preds, w)
    assert np.array_equal(_native.cuda_mix_euler(x, preds, w, h), cpu)
    wf = rng.random((3, 301)).astype(np.float32)
    cpu = x - np.float32(h) * _native.mix(preds, wf)
    assert np.array_equal(_native.cuda_mix_euler(x, preds, wf, h), cpu)
