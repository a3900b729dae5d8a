"""The pieces of a transformer: `Embedding`, `RMSNorm` and `CausalSelfAttention`.

A sequence of T tokens is a `(T, C)` Tensor: one row of C numbers per position. Every piece here
maps rows to rows; only attention lets a row see other rows, and only earlier ones (causal).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from typing import Any

from puretorch_scalar.checks import boolean, positive_int, real
from puretorch_scalar.nn.layers import Linear
from puretorch_scalar.nn.module import Module, Parameter
from puretorch_scalar.tensor import Tensor, as_tensor

__all__ = ["Embedding", "RMSNorm", "CausalSelfAttention", "causal_mask"]


class Embedding(Module):
    """A lookup table: token i is represented by row i of `weight` (num_embeddings, embedding_dim),
    drawn from N(0, 1) as in PyTorch.

    `embedding(ids)` with a list of T token ids gives their rows as a `(T, embedding_dim)` Tensor;
    one id gives one row `(embedding_dim,)`. A lookup computes nothing, so it adds no node: the
    result holds the weight's own Values, and backward sends each row the gradient of every
    position that used it (summed, when a token appears twice)."""

    def __init__(self, num_embeddings: int, embedding_dim: int):
        self.num_embeddings = positive_int(num_embeddings, "num_embeddings", "Embedding")
        self.embedding_dim = positive_int(embedding_dim, "embedding_dim", "Embedding")
        self.weight = Parameter(Tensor.randn(self.num_embeddings, self.embedding_dim))

    def forward(self, ids: int | Sequence[int]) -> Tensor:
        for i in [ids] if isinstance(ids, numbers.Number) else ids:
            if isinstance(i, bool) or not isinstance(i, numbers.Integral):
                raise TypeError(f"Embedding: ids must be ints, not {type(i).__name__}: {i!r}")
            if not 0 <= i < self.num_embeddings:
                raise IndexError(f"Embedding: id {i} is out of range for {self.num_embeddings} embeddings")
        return self.weight[ids if isinstance(ids, numbers.Number) else list(ids)]

    def extra_repr(self) -> str:
        return f"{self.num_embeddings}, {self.embedding_dim}"


class RMSNorm(Module):
    """Root-mean-square normalisation over the last axis (of size `normalized_shape`):

        y = x / √(mean(x²) + eps) · weight

    so every row comes out with an RMS of about 1, whatever its scale going in. Unlike LayerNorm
    it does not subtract the mean. `elementwise_affine=False` leaves out the learned `weight`
    (a parameter-free norm, as in microgpt). `eps` keeps a row of zeros finite."""

    def __init__(self, normalized_shape: int, eps: float = 1e-5, elementwise_affine: bool = True):
        self.normalized_shape = positive_int(normalized_shape, "normalized_shape", "RMSNorm")
        self.eps = real(eps, "eps", "RMSNorm", low=0)
        affine = boolean(elementwise_affine, "elementwise_affine", "RMSNorm")
        self.weight = Parameter(Tensor.ones(self.normalized_shape)) if affine else None

    def forward(self, x: Any) -> Tensor:
        x = as_tensor(x)
        if x.ndim == 0 or x.shape[-1] != self.normalized_shape:
            raise ValueError(
                f"RMSNorm: input of shape {x.shape} does not end in normalized_shape={self.normalized_shape}"
            )
        mean_square = (x * x).mean(axis=-1, keepdims=True)  # (..., 1)
        y = x * (mean_square + self.eps) ** -0.5  # (..., C)
        return y if self.weight is None else y * self.weight

    def extra_repr(self) -> str:
        return f"{self.normalized_shape}, eps={self.eps:g}, elementwise_affine={self.weight is not None}"


def causal_mask(T: int) -> Tensor:
    """(T, T): 0 where position t may look at position s (s ≤ t), −∞ where it may not. Added
    to attention scores before the softmax, it gives the future a weight of exp(−∞) = 0."""
    return Tensor([[0.0 if s <= t else -math.inf for s in range(T)] for t in range(T)])


class CausalSelfAttention(Module):
    """Multi-head causal self-attention without biases, on one sequence `(T, n_embd)`.

    Each position t emits a query q_t, a key k_t and a value v_t (three `Linear` maps of its row).
    The C columns are split into `n_head` heads of d = C / n_head columns each; in every head,
    position t looks at the positions s ≤ t only, because it will be trained to predict token
    t + 1 and must not see it:

        scores_ts  = q_t · k_s / √d         for s ≤ t;  −∞ for s > t (the causal mask)
        weights_t  = softmax(scores_t)      a row of T weights summing to 1; exp(−∞) = 0
        out_t      = Σ_s weights_ts · v_s

    The heads' outputs are put side by side again and mixed by the output map `proj`. In the
    graph each score and each entry of out is one `dot` node, and the scores of the future are
    computed like the others and then masked: wasted work, but far less than the Python
    overhead of a separate, shorter softmax per position."""

    def __init__(self, n_embd: int, n_head: int):
        self.n_embd = positive_int(n_embd, "n_embd", "CausalSelfAttention")
        self.n_head = positive_int(n_head, "n_head", "CausalSelfAttention")
        if n_embd % n_head:
            raise ValueError(f"CausalSelfAttention: n_embd={n_embd} is not divisible by n_head={n_head}")
        self.query = Linear(n_embd, n_embd, bias=False)
        self.key = Linear(n_embd, n_embd, bias=False)
        self.value = Linear(n_embd, n_embd, bias=False)
        self.proj = Linear(n_embd, n_embd, bias=False)

    def forward(self, x: Any) -> Tensor:
        x = as_tensor(x)
        if x.ndim != 2 or x.shape[1] != self.n_embd:
            raise ValueError(f"CausalSelfAttention: input must have shape (T, {self.n_embd}), got {x.shape}")
        if x.shape[0] == 0:
            raise ValueError(
                f"CausalSelfAttention: the sequence is empty (shape {x.shape}): no position to attend to"
            )
        T, H, d = x.shape[0], self.n_head, self.n_embd // self.n_head
        q = self.query(x) * (1 / math.sqrt(d))  # (T, C), scaled once here rather than every score
        k, v = self.key(x), self.value(x)  # (T, C) each
        q, k, v = (m.reshape(T, H, d).transpose(1, 0, 2) for m in (q, k, v))  # (H, T, d): split heads
        mask = causal_mask(T)  # (T, T)
        heads = []
        for qh, kh, vh in zip(q, k, v):  # one head at a time: (T, d) each
            scores = qh @ kh.T + mask  # (T, T): q_t · k_s / √d, or −∞ for s > t
            weights = scores.softmax(axis=-1)  # (T, T): each row sums to 1 over s ≤ t
            heads.append(weights @ vh)  # (T, d)
        y = Tensor(heads).transpose(1, 0, 2).reshape(T, self.n_embd)  # (H, T, d) -> (T, H, d) -> (T, C)
        return self.proj(y)  # (T, C)

    def extra_repr(self) -> str:
        return f"n_embd={self.n_embd}, n_head={self.n_head}"
