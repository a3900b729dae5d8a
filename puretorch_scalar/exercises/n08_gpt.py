"""Notebook 08, a GPT from scratch: parameters, the causal mask, temperature, one attention head."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from puretorch_scalar.engine import Value
from puretorch_scalar.exercises.core import Report, exercise
from puretorch_scalar.gradcheck import GradcheckError, gradcheck
from puretorch_scalar.models import GPT, GPTConfig
from puretorch_scalar.nn.transformer import causal_mask as reference_mask
from puretorch_scalar.tensor import Tensor

CONFIG = GPTConfig(vocab_size=27, n_embd=8, n_head=2, block_size=8)


@exercise(
    "count_gpt_parameters",
    "08",
    "how many parameters GPT(GPTConfig(vocab_size=27, n_embd=8, n_head=2, block_size=8)) has",
    answer=1264,
    notes="wte 27·8 + wpe 8·8 + query, key, value, proj 4·8·8 + MLP 8·32 + 32·8 + lm_head 27·8 (no biases):",
)
def _count_gpt_parameters(answer: Any, r: Report) -> None:
    expected = sum(p.size for p in GPT(CONFIG).parameters())
    r.equal("parameters", answer, expected, "two embedding tables, four C×C maps, the MLP's two, and lm_head")


def causal_mask(T: int) -> list[list[float]]:
    """Row t, column s: 0 if s ≤ t (the past and t itself), −∞ if s > t (the future)."""
    return [[0.0 if s <= t else -math.inf for s in range(T)] for t in range(T)]


@exercise(
    "causal_mask",
    "08",
    "causal_mask(T) -> T×T nested lists: 0 where position t may look at s (s ≤ t), −inf where not",
    answer=causal_mask,
)
def _causal_mask(answer: Callable, r: Report) -> None:
    for T in (1, 3, 5):
        r.equal(
            f"causal_mask({T})",
            answer(T),
            reference_mask(T).tolist(),
            "row t is a position, column s one it might look at: the future (s > t) gets −inf",
        )


@exercise(
    "temperature",
    "08",
    "the probabilities of logits [2, 1, 0] sampled at temperature 0.5",
    answer=[0.8668133321973348, 0.11731042782619837, 0.015876239976466765],
    notes="Divide the logits by the temperature, then softmax: softmax([4, 2, 0]):",
)
def _temperature(answer: Any, r: Report) -> None:
    expected = (Tensor([2.0, 1.0, 0.0]) / 0.5).softmax()
    r.equal(
        "the probabilities",
        answer,
        expected,
        "logits / temperature, then softmax (a lower temperature sharpens)",
    )


def attention_head(q: Tensor, k: Tensor, v: Tensor) -> Tensor:
    """One causal head: softmax(q·kᵀ/√d + mask)·v for q, k, v of shape (T, d)."""
    T, d = q.shape
    scores = q @ k.T * (1 / math.sqrt(d)) + reference_mask(T)
    return scores.softmax(axis=-1) @ v


@exercise(
    "attention_head",
    "08",
    "attention_head(q, k, v) -> (T, d): one causal head, softmax(q·kᵀ/√d + mask)·v; gradcheck it",
    answer=attention_head,
)
def _attention_head(answer: Callable, r: Report) -> None:
    q, k, v = (Tensor.randn(4, 3, seed=seed) for seed in (1, 2, 3))
    expected = attention_head(q, k, v)
    if not r.equal(
        "attention_head(q, k, v) for T = 4, d = 3",
        answer(q, k, v),
        expected,
        "scale the scores by 1/√d, add the causal mask, softmax each row, then multiply by v",
    ):
        return
    try:
        gradcheck(answer, [q, k, v])
    except GradcheckError as error:
        r.fail("gradcheck(attention_head, [q, k, v])", str(error))
    else:
        r.passed("gradcheck(attention_head, [q, k, v]): its gradients agree with central differences")


def softmax_backward(w: list[float], dw: list[float]) -> list[float]:
    """w = softmax(z), dw = ∂L/∂w: ∂L/∂zᵢ = wᵢ·(dwᵢ − Σⱼ wⱼ·dwⱼ)."""
    mean = sum(wj * dwj for wj, dwj in zip(w, dw))
    return [wi * (dwi - mean) for wi, dwi in zip(w, dw)]


@exercise(
    "softmax_backward",
    "08",
    "softmax_backward(w, dw) -> dz for w = softmax(z), given dw = ∂L/∂w",
    answer=softmax_backward,
)
def _softmax_backward(answer: Callable, r: Report) -> None:
    z = [Value(x) for x in (1.0, -0.5, 2.0, 0.3)]
    dw = [0.2, -1.0, 0.5, 0.0]
    w = Tensor.from_values(z, (4,)).softmax()
    w.backward(dw)
    r.equal(
        "softmax_backward(softmax([1, −0.5, 2, 0.3]), [0.2, −1, 0.5, 0])",
        answer(w.tolist(), dw),
        [zi.grad for zi in z],
        "∂wᵢ/∂zⱼ = wᵢ·([i = j] − wⱼ); sum dwᵢ times that over i",
    )
