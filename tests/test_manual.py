"""puretorch_scalar.manual: the hand-written backward passes give the engine's gradients."""

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from puretorch_scalar import Tensor, data, manual, nn
from puretorch_scalar.demo import micrograd_mlp
from puretorch_scalar.models import GPT, GPTConfig
from puretorch_scalar.nn import functional as F

CONFIG = GPTConfig(vocab_size=7, block_size=6, n_embd=8, n_head=2)


def close(ours, theirs):
    return ours == pytest.approx(theirs, rel=1e-8, abs=1e-12)


@given(st.lists(st.integers(0, CONFIG.vocab_size - 1), min_size=2, max_size=CONFIG.block_size + 1))
def test_the_gpt_backward_by_hand_matches_the_engine(tokens):
    random.seed(1)
    model = GPT(CONFIG)
    loss = model.loss(tokens)
    loss.backward()
    hand_loss, G = manual.gpt_loss_and_grads(manual.gpt_weights(model), tokens, n_head=CONFIG.n_head)
    assert close(hand_loss, loss.item())
    params = dict(model.named_parameters())
    for short, name in manual.GPT_NAMES.items():
        assert close(sum(G[short], []), sum(params[name].grad, [])), short


def test_the_moons_mlp_backward_by_hand_matches_the_engine():
    X, labels = data.make_moons(30, noise=0.1, seed=0)
    y = [2 * t - 1 for t in labels]
    model = micrograd_mlp(seed=3)
    layers = [m for m in model.modules() if isinstance(m, nn.Linear)]
    loss = F.hinge_loss(model(Tensor(X)), y) + 1e-3 * F.l2_penalty(model.parameters())
    loss.backward()
    Ws, Bs = [m.weight.tolist() for m in layers], [m.bias.tolist() for m in layers]
    hand_loss, gW, gB = manual.mlp_loss_and_grads(Ws, Bs, X, y, 1e-3)
    assert close(hand_loss, loss.item())
    for layer, gw, gb in zip(layers, gW, gB):
        assert close(sum(gw, []), sum(layer.weight.grad, []))
        assert close(gb, layer.bias.grad)


def test_rmsnorm_backward_matches_the_engine():
    x = Tensor([[0.5, -1.0, 2.0], [3.0, 0.1, -0.2]])
    dy = [[1.0, 0.5, -0.5], [0.2, 0.3, 0.4]]
    nn.RMSNorm(3, elementwise_affine=False)(x).backward(dy)
    _, rs = manual.rmsnorm_rows(x.tolist(), 1e-5)
    assert close(sum(manual.rmsnorm_backward(x.tolist(), rs, dy), []), sum(x.grad, []))
