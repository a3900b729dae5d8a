"""The hand-written float floor of benchmarks/bench_mnist.py: `manual.mlp_cross_entropy_loss_and_grads`
gives the engine's loss and gradients on MNIST rows (fast: a tiny MLP, a few images)."""

import random

import pytest

from puretorch_scalar import Tensor, data, manual, nn
from puretorch_scalar.nn import functional as F


def close(ours, theirs):
    return ours == pytest.approx(theirs, rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("sizes", [[5, 10], [4, 3, 10], [10]], ids=["one hidden", "two hidden", "linear"])
@pytest.mark.parametrize("requires_grad", [True, False], ids=["grad inputs", "data inputs"])
def test_the_mlp_cross_entropy_backward_by_hand_matches_the_engine(sizes, requires_grad):
    X, y = data.load_mnist("test")
    X, y = X[:6], y[:6]
    random.seed(2)
    model = nn.MLP(784, sizes)
    layers = [m for m in model.modules() if isinstance(m, nn.Linear)]
    loss = F.cross_entropy(model(Tensor(X, requires_grad=requires_grad)), y)
    loss.backward()
    Ws, Bs = [m.weight.tolist() for m in layers], [m.bias.tolist() for m in layers]
    hand_loss, gW, gB = manual.mlp_cross_entropy_loss_and_grads(Ws, Bs, X, y)
    assert close(hand_loss, loss.item())
    for layer, gw, gb in zip(layers, gW, gB):
        assert close(sum(gw, []), sum(layer.weight.grad, []))
        assert close(gb, layer.bias.grad)


def test_large_logits_do_not_overflow():
    """The largest logit is subtracted before exp, as in F.cross_entropy."""
    Ws, Bs = [[[1000.0, 0.0], [0.0, 1000.0]]], [[0.0, 0.0]]
    loss, gW, gB = manual.mlp_cross_entropy_loss_and_grads(Ws, Bs, [[1.0, 0.0]], [1])
    assert loss == pytest.approx(1000.0)
    assert gB == [[pytest.approx(1.0), pytest.approx(-1.0)]]
