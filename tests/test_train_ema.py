"""The training loop's moving average of the weights and its resume rules (no corpus needed)."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")


def _setup(tmp_path, ema=0.9, lr=0.1, resume=False):
    from emomix.train.common import StageLoop, StageOptions

    torch.manual_seed(0)
    net = torch.nn.Linear(3, 2)
    opt = torch.optim.SGD(net.parameters(), lr=lr)
    opts = StageOptions(max_steps=1000, lr=lr, ema=ema, resume=resume, progress=False,
                        log_every=100, checkpoint_every=1000)
    return net, opt, StageLoop("toy", tmp_path, opts, {"net": net}, opt)


def _step(net, opt, loop, x):
    loss = (net(x) ** 2).mean()
    opt.zero_grad()
    loss.backward()
    opt.step()
    loop.record({"loss": loss.item()})


def test_the_average_follows_the_documented_warm_up_and_decay(tmp_path):
    net, opt, loop = _setup(tmp_path, ema=0.9)
    expect = {n: t.detach().clone() for n, t in net.state_dict().items()}
    x = torch.randn(8, 3)
    for n in range(30):
        _step(net, opt, loop, x)
        d = min(0.9, (1 + n) / (10 + n))
        for name, t in net.state_dict().items():
            expect[name] = d * expect[name] + (1 - d) * t
    for name, t in expect.items():
        torch.testing.assert_close(loop.ema["net"][name], t, rtol=1e-5, atol=1e-6)
    # the average lags the weights: it is not just a copy of them
    assert not torch.allclose(loop.ema["net"]["weight"], net.weight)


def _trained(tmp_path, steps=12):
    """A toy loop after ``steps`` steps, with its raw and averaged weight matrices."""
    net, opt, loop = _setup(tmp_path)
    x = torch.randn(8, 3)
    for _ in range(steps):
        _step(net, opt, loop, x)
    return net, loop, net.weight.detach().clone(), loop.ema["net"]["weight"].clone()


def test_checkpoint_keeps_raw_and_averaged_weights_and_finish_leaves_the_average(tmp_path):
    from emomix.train.common import load_checkpoint

    net, loop, raw, avg = _trained(tmp_path)
    loop.finish()
    torch.testing.assert_close(net.weight.detach(), avg)  # the stage's result is the average

    probe = torch.nn.Linear(3, 2)
    state = load_checkpoint(tmp_path / "toy.pt", {"net": probe})
    torch.testing.assert_close(probe.weight.detach(), avg)
    assert state["ema_updates"] == 12
    load_checkpoint(tmp_path / "toy.pt", {"net": probe}, averaged=False)
    torch.testing.assert_close(probe.weight.detach(), raw)


def test_finish_evaluates_the_average_and_still_saves_the_raw_weights(tmp_path):
    from emomix.train.common import load_checkpoint

    net, loop, raw, avg = _trained(tmp_path)
    seen = {}

    def evaluate():
        seen["weight"] = net.weight.detach().clone()
        return {"score": float(net.weight.detach().sum())}

    res = loop.finish({"kept": 1}, evaluate=evaluate)
    torch.testing.assert_close(seen["weight"], avg)  # scored: the weights the voice gets
    assert res.outputs["score"] == pytest.approx(float(avg.sum()))
    assert res.outputs["kept"] == 1
    probe = torch.nn.Linear(3, 2)
    state = load_checkpoint(tmp_path / "toy.pt", {"net": probe}, averaged=False)
    torch.testing.assert_close(probe.weight.detach(), raw)  # --resume goes on from the raw ones
    assert state["outputs"]["score"] == res.outputs["score"]
    torch.testing.assert_close(net.weight.detach(), avg)


def test_resume_trains_the_raw_weights_at_the_new_rate_and_continues_the_average(tmp_path):
    net, opt, loop = _setup(tmp_path, lr=0.1)
    x = torch.randn(8, 3)
    for _ in range(5):
        _step(net, opt, loop, x)
    raw = net.weight.detach().clone()
    avg = loop.ema["net"]["weight"].clone()
    loop.finish()

    net2, opt2, loop2 = _setup(tmp_path, lr=0.01, resume=True)
    assert loop2.step == 5 and loop2.ema_updates == 5
    torch.testing.assert_close(net2.weight.detach(), raw)  # training goes on from the raw weights
    torch.testing.assert_close(loop2.ema["net"]["weight"], avg)
    assert [g["lr"] for g in opt2.param_groups] == [0.01]  # not the saved 0.1
    _step(net2, opt2, loop2, x)
    assert loop2.ema_updates == 6


def test_a_run_without_average_saves_none_and_bad_decays_are_refused(tmp_path):
    from emomix.train.common import StageOptions, load_checkpoint

    net, opt, loop = _setup(tmp_path, ema=None)
    _step(net, opt, loop, torch.randn(4, 3))
    loop.finish()
    state = load_checkpoint(tmp_path / "toy.pt", {"net": torch.nn.Linear(3, 2)})
    assert "ema" not in state
    for bad in (0.0, 1.0, 1.5, -0.2):
        with pytest.raises(ValueError, match="ema must be a decay"):
            StageOptions(ema=bad)
