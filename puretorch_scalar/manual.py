"""Backward passes written by hand on plain floats: what autograd saves you from writing.

Three networks, each as one function that runs the forward pass, keeps what the backward pass
needs, and then applies the chain rule layer by layer from the loss down:

- `mlp_loss_and_grads`: micrograd's moons MLP (Linear, ReLU, …, Linear) with the hinge loss
  and an L2 penalty;
- `mlp_cross_entropy_loss_and_grads`: an MLP classifier (ReLU, softmax cross-entropy), such as
  the MNIST MLP, whose inputs are data (no gradient is computed for them);
- `gpt_loss_and_grads`: microgpt's GPT (one transformer block: `block_forward` and
  `block_backward`), on the weights `gpt_weights(model)` reads from a `models.GPT`.

Notebook 00b derives the first and the last and compares every gradient with the engine's;
the benchmarks time them as the floor that any engine of Python objects pays on top of
(`benchmarks/bench_moons.py`, `benchmarks/bench_mnist.py`, `benchmarks/gpt.py`). Matrices are
lists of rows; a weight `w` of a linear map is stored as PyTorch's `nn.Linear` stores it, one row
per output: y = w·x.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from operator import mul
from typing import Any

Matrix = list[list[float]]


def matvec(w: Matrix, x: list[float]) -> list[float]:
    """w·x: one dot product per row of w."""
    return [sum(map(mul, row, x)) for row in w]


def add(a: Matrix, b: Matrix) -> Matrix:
    return [[x + y for x, y in zip(ra, rb)] for ra, rb in zip(a, b)]


def softmax(z: list[float]) -> list[float]:
    top = max(z)  # subtracted first, so that no exp overflows
    exps = [math.exp(zi - top) for zi in z]
    total = sum(exps)
    return [e / total for e in exps]


def linear_backward(w: Matrix, grad_w: Matrix, xs: Matrix, dys: Matrix) -> Matrix:
    """For y_t = w·x_t at every position t: adds Σ_t dy_t ⊗ x_t into grad_w (∂y_o/∂w_oi = x_i)
    and returns dx_t = wᵀ·dy_t (∂y_o/∂x_i = w_oi, summed over the outputs o)."""
    for x, dy in zip(xs, dys):
        for row, d in zip(grad_w, dy):
            if d:
                row[:] = [g + d * xj for g, xj in zip(row, x)]
    columns = list(zip(*w))
    return [matvec(columns, dy) for dy in dys]


def rmsnorm_rows(xs: Matrix, eps: float) -> tuple[Matrix, list[float]]:
    """y = x·r with r = (mean(x²) + eps)^−½, per row; returns the ys and the rs."""
    rs = [(sum(map(mul, x, x)) / len(x) + eps) ** -0.5 for x in xs]
    return [[xi * r for xi in x] for x, r in zip(xs, rs)], rs


def rmsnorm_backward(xs: Matrix, rs: list[float], dys: Matrix) -> Matrix:
    """dx = r·dy − r³·x·(dy·x)/C: x reaches y directly (times r) and through r itself, with
    ∂r/∂xᵢ = −r³·xᵢ/C."""
    out = []
    for x, r, dy in zip(xs, rs, dys):
        c = r**3 * sum(map(mul, dy, x)) / len(x)
        out.append([r * d - c * xi for d, xi in zip(dy, x)])
    return out


# -- micrograd's MLP ---------------------------------------------------------------------------


def mlp_loss_and_grads(
    Ws: list[Matrix], Bs: list[list[float]], X: Matrix, Y: list[float], alpha: float
) -> tuple[float, list[Matrix], list[list[float]]]:
    """The loss mean(max(0, 1 − y·s)) + alpha·Σp² of the MLP with weights `Ws` and biases `Bs`
    (ReLU after every layer but the last, which gives one score s) on the samples X with labels
    y = ±1, and its gradients with respect to every weight and bias.

    Per sample: the forward pass keeping each layer's input and pre-activation, then backward
    layer by layer: the score's gradient is −y/n where the margin 1 − y·s is positive (else 0);
    a layer's weights get grad ⊗ input, its bias grad, and its input wᵀ·grad, masked by the
    ReLU of the layer below (its slope is 1 where the pre-activation was positive, else 0)."""
    n, last = len(X), len(Ws) - 1
    gW = [[[0.0] * len(row) for row in W] for W in Ws]
    gB = [[0.0] * len(b) for b in Bs]
    data_loss = 0.0
    for x, y in zip(X, Y):
        acts, pres = [x], []  # each layer's input, and its output before the relu
        for i, (W, b) in enumerate(zip(Ws, Bs)):
            pre = [sum(map(mul, row, acts[-1])) + bias for row, bias in zip(W, b)]
            pres.append(pre)
            acts.append(pre if i == last else [p if p > 0 else 0.0 for p in pre])
        margin = 1.0 - y * acts[-1][0]
        data_loss += max(margin, 0.0) / n
        grad = [-y / n if margin > 0 else 0.0]  # ∂loss/∂(the layer's output before relu)
        for i in range(last, -1, -1):
            a = acts[i]
            for j, g in enumerate(grad):
                gW[i][j] = [gw + g * ak for gw, ak in zip(gW[i][j], a)]
                gB[i][j] += g
            if i:
                back = [sum(g * row[k] for g, row in zip(grad, Ws[i])) for k in range(len(a))]
                grad = [g if p > 0 else 0.0 for g, p in zip(back, pres[i - 1])]
    reg = sum(w * w for W in Ws for row in W for w in row) + sum(v * v for b in Bs for v in b)
    for W, b, gWl, gBl in zip(Ws, Bs, gW, gB):  # the L2 penalty's gradient, 2·alpha·p
        for j, row in enumerate(W):
            gWl[j] = [g + 2 * alpha * w for w, g in zip(row, gWl[j])]
            gBl[j] += 2 * alpha * b[j]
    return data_loss + alpha * reg, gW, gB


# -- an MLP classifier: softmax cross-entropy ------------------------------------------------


def mlp_cross_entropy_loss_and_grads(
    Ws: list[Matrix], Bs: list[list[float]], X: Matrix, labels: list[int]
) -> tuple[float, list[Matrix], list[list[float]]]:
    """The mean cross-entropy −log softmax(z)[label] of the MLP with weights `Ws` and biases
    `Bs` (ReLU after every layer but the last, whose outputs are the logits z) on the rows of X
    with integer labels, and its gradients with respect to every weight and bias.

    Per sample: the forward pass keeping each layer's input and pre-activation; the log-softmax
    with the largest logit subtracted first (as `F.cross_entropy` does); then backward layer by
    layer. The logits' gradient is (softmax(z) − one-hot(label)) / n; a layer's weights get
    grad ⊗ input, its bias grad, and the layer below wᵀ·grad, masked by its ReLU. The inputs X
    are data: no gradient is computed for them (the first layer passes nothing down). Every
    product is computed, zeros included, as the engine computes them."""
    n, last = len(X), len(Ws) - 1
    gW = [[[0.0] * len(row) for row in W] for W in Ws]
    gB = [[0.0] * len(b) for b in Bs]
    columns = [list(zip(*W)) for W in Ws]  # wᵀ, for passing gradients down
    loss = 0.0
    for x, label in zip(X, labels):
        acts, pres = [x], []  # each layer's input, and its output before the relu
        for i, (W, b) in enumerate(zip(Ws, Bs)):
            a = acts[-1]
            pre = [sum(map(mul, row, a)) + bias for row, bias in zip(W, b)]
            pres.append(pre)
            acts.append(pre if i == last else [p if p > 0 else 0.0 for p in pre])
        z = acts[-1]
        top = max(z)
        exps = [math.exp(zi - top) for zi in z]
        total = sum(exps)
        loss -= (z[label] - top - math.log(total)) / n
        grad = [e / total / n for e in exps]  # ∂loss/∂z = (softmax − one-hot) / n
        grad[label] -= 1 / n
        for i in range(last, -1, -1):
            a, gWi, gBi = acts[i], gW[i], gB[i]
            for j, g in enumerate(grad):
                gWi[j] = [gw + g * ak for gw, ak in zip(gWi[j], a)]
                gBi[j] += g
            if i:
                back = [sum(map(mul, column, grad)) for column in columns[i]]
                grad = [g if p > 0 else 0.0 for g, p in zip(back, pres[i - 1])]
    return loss, gW, gB


# -- microgpt's GPT: embeddings, one transformer block, a linear head ---------------------------


@dataclass
class BlockCache:
    """What `block_backward` needs of the forward pass: every row of every intermediate."""

    d: int  # the width of a head
    x0: Matrix  # the block's input
    h1: Matrix  # rmsnorm(x0), the attention's input
    r1: list[float]
    q: Matrix
    k: Matrix
    v: Matrix
    weights: dict[tuple[int, int], list[float]]  # (position, head's first column) -> softmax row
    att: Matrix  # the heads' outputs side by side
    x1: Matrix  # x0 + attention
    h2: Matrix  # rmsnorm(x1), the MLP's input
    r2: list[float]
    f: Matrix  # the MLP's hidden layer before the relu
    g: Matrix  # and after it


def block_forward(W: dict[str, Matrix], x0: Matrix, n_head: int, eps: float) -> tuple[Matrix, BlockCache]:
    """x1 = x0 + proj(attention(rmsnorm(x0))), x2 = x1 + fc2(relu(fc1(rmsnorm(x1)))); causal
    attention with `n_head` heads of d = C / n_head columns, scores scaled by 1/√d."""
    T, C = len(x0), len(x0[0])
    D = C // n_head
    scale = 1 / math.sqrt(D)
    h1, r1 = rmsnorm_rows(x0, eps)
    q, k, v = ([matvec(W[name], h) for h in h1] for name in ("query", "key", "value"))
    att, weights = [[0.0] * C for _ in range(T)], {}
    for lo in range(0, C, D):
        for t in range(T):
            w = softmax([sum(map(mul, q[t][lo : lo + D], k[s][lo : lo + D])) * scale for s in range(t + 1)])
            weights[t, lo] = w
            for j in range(lo, lo + D):
                att[t][j] = sum(ws * v[s][j] for s, ws in enumerate(w))
    x1 = add(x0, [matvec(W["proj"], a) for a in att])
    h2, r2 = rmsnorm_rows(x1, eps)
    f = [matvec(W["fc1"], h) for h in h2]
    g = [[fi if fi > 0 else 0.0 for fi in row] for row in f]
    x2 = add(x1, [matvec(W["fc2"], row) for row in g])
    return x2, BlockCache(D, x0, h1, r1, q, k, v, weights, att, x1, h2, r2, f, g)


def block_backward(W: dict[str, Matrix], G: dict[str, Matrix], cache: BlockCache, dx2: Matrix) -> Matrix:
    """Given dx2 = ∂loss/∂x2, adds the gradients of the block's weights into G and returns
    ∂loss/∂x0. Each residual `+` passes its gradient to both of its inputs; the softmax's
    backward is dz = w·(dw − Σ w·dw); the 1/√d scale multiplies the scores' gradient."""
    c, D = cache, cache.d
    T, C = len(c.x0), len(c.x0[0])
    scale = 1 / math.sqrt(D)
    dg = linear_backward(W["fc2"], G["fc2"], c.g, dx2)
    df = [[d if fi > 0 else 0.0 for d, fi in zip(dr, fr)] for dr, fr in zip(dg, c.f)]
    dx1 = add(dx2, rmsnorm_backward(c.x1, c.r2, linear_backward(W["fc1"], G["fc1"], c.h2, df)))
    datt = linear_backward(W["proj"], G["proj"], c.att, dx1)
    dq, dk, dv = ([[0.0] * C for _ in range(T)] for _ in range(3))
    for (t, lo), w in c.weights.items():
        dw = [sum(datt[t][j] * c.v[s][j] for j in range(lo, lo + D)) for s in range(t + 1)]
        mean_dw = sum(map(mul, w, dw))
        for s, (ws, dws) in enumerate(zip(w, dw)):
            dz = ws * (dws - mean_dw) * scale  # softmax, then the 1/√d scale
            for j in range(lo, lo + D):
                dv[s][j] += ws * datt[t][j]
                dq[t][j] += dz * c.k[s][j]
                dk[s][j] += dz * c.q[t][j]
    dh1 = linear_backward(W["query"], G["query"], c.h1, dq)
    dh1 = add(dh1, linear_backward(W["key"], G["key"], c.h1, dk))
    dh1 = add(dh1, linear_backward(W["value"], G["value"], c.h1, dv))
    return add(dx1, rmsnorm_backward(c.x0, c.r1, dh1))


GPT_NAMES = {  # the short names used here -> a one-block `models.GPT`'s parameter names
    "wte": "wte.weight",
    "wpe": "wpe.weight",
    "query": "blocks.0.attn.query.weight",
    "key": "blocks.0.attn.key.weight",
    "value": "blocks.0.attn.value.weight",
    "proj": "blocks.0.attn.proj.weight",
    "fc1": "blocks.0.mlp.0.weight",
    "fc2": "blocks.0.mlp.2.weight",
    "lm_head": "lm_head.weight",
}


def gpt_weights(model: Any) -> dict[str, Matrix]:
    """The weights of a one-block `models.GPT` as the nested lists `gpt_loss_and_grads` takes."""
    params = dict(model.named_parameters())
    return {short: params[name].tolist() for short, name in GPT_NAMES.items()}


def gpt_loss_and_grads(
    W: dict[str, Matrix], tokens: list[int], n_head: int = 4, eps: float = 1e-5
) -> tuple[float, dict[str, Matrix]]:
    """The mean cross-entropy of predicting tokens[1:] from tokens[:-1], and its gradient with
    respect to every weight of `W` (keys wte, wpe, query, key, value, proj, fc1, fc2, lm_head,
    each stored like the GPT's `nn.Linear`/`Embedding` weights). The cross-entropy's gradient with
    respect to the logits is softmax − one-hot, divided by the number of positions."""
    T = len(tokens) - 1
    e = [[a + b for a, b in zip(W["wte"][tokens[t]], W["wpe"][t])] for t in range(T)]
    x0, r0 = rmsnorm_rows(e, eps)
    x2, cache = block_forward(W, x0, n_head, eps)
    probs = [softmax(matvec(W["lm_head"], x)) for x in x2]
    loss = -sum(math.log(p[y]) for p, y in zip(probs, tokens[1:])) / T
    G = {name: [[0.0] * len(row) for row in m] for name, m in W.items()}
    dlogits = [[p / T for p in row] for row in probs]
    for t, y in enumerate(tokens[1:]):
        dlogits[t][y] -= 1 / T
    dx2 = linear_backward(W["lm_head"], G["lm_head"], x2, dlogits)
    de = rmsnorm_backward(e, r0, block_backward(W, G, cache, dx2))
    for t, d in enumerate(de):  # an embedding row gets the gradient of every position it was added at
        G["wte"][tokens[t]] = [a + b for a, b in zip(G["wte"][tokens[t]], d)]
        G["wpe"][t] = [a + b for a, b in zip(G["wpe"][t], d)]
    return loss, G
