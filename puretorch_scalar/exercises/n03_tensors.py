"""Notebook 03, tensors and broadcasting: shapes, the gradient of a broadcast, matmul's backward."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

from puretorch_scalar.exercises.core import Report, exercise, random_array
from puretorch_scalar.tensor import Tensor

PAIRS = [((2, 1, 3), (4, 3)), ((5, 1), (1, 6)), ((3,), (2, 1))]


@exercise(
    "broadcast_shapes",
    "03",
    "the shapes of a + b for a, b of shapes (2, 1, 3) and (4, 3); (5, 1) and (1, 6); (3,) and (2, 1)",
    answer=[(2, 4, 3), (5, 6), (2, 3)],
    notes="Align the shapes at the right, pad with 1s on the left, take the larger side of each axis:",
)
def _broadcast_shapes(answer: Any, r: Report) -> None:
    if not r.sized(answer, len(PAIRS), "one shape per pair"):
        return
    for (left, right), got in zip(PAIRS, answer):
        expected = (Tensor.zeros(*left) + Tensor.zeros(*right)).shape
        r.equal(
            f"the shape of {left} + {right}",
            got,
            expected,
            "align at the right; a missing axis counts as 1; a side of 1 stretches to the other",
        )


COL, ROW = [[1.0], [2.0], [3.0]], [1.0, 2.0, 3.0, 4.0]
W = [[1.0, 2.0, 3.0, 4.0], [5.0, 6.0, 7.0, 8.0], [9.0, 10.0, 11.0, 12.0]]


@exercise(
    "broadcast_gradient",
    "03",
    "(col.grad, row.grad) for loss = ((col + row) * W).sum(), col (3, 1), row (4,), W (3, 4) = 1 … 12",
    answer=([[10.0], [26.0], [42.0]], [15.0, 18.0, 21.0, 24.0]),
    notes="∂loss/∂(col + row)[i, j] = W[i, j]; col[i] feeds row i of the sum, row[j] column j:",
)
def _broadcast_gradient(answer: Any, r: Report) -> None:
    if not r.sized(answer, 2, "col.grad, row.grad"):
        return
    col, row = Tensor(COL), Tensor(ROW)
    ((col + row) * Tensor(W)).sum().backward()
    r.equal(
        "col.grad, shape (3, 1)",
        answer[0],
        col.grad,
        "col[i] is stretched along row i: it collects the sum of row i of W",
    )
    r.equal(
        "row.grad, shape (4,)",
        answer[1],
        row.grad,
        "row[j] is stretched down column j: it collects the sum of column j of W",
    )


def matmul_backward(A: list, B: list, dP: list) -> tuple[list, list]:
    """P = A·B with P[i][j] = Σₛ A[i][s]·B[s][j]: dA = dP·Bᵀ, dB = Aᵀ·dP."""
    m, k, n = len(A), len(B), len(B[0])
    dA = [[sum(dP[i][j] * B[s][j] for j in range(n)) for s in range(k)] for i in range(m)]
    dB = [[sum(A[i][s] * dP[i][j] for i in range(m)) for j in range(n)] for s in range(k)]
    return dA, dB


@exercise(
    "matmul_backward",
    "03",
    "matmul_backward(A, B, dP) -> (dA, dB) for P = A @ B, given dP = ∂loss/∂P",
    answer=matmul_backward,
)
def _matmul_backward(answer: Callable, r: Report) -> None:
    rng = random.Random(0)
    a, b, dp = random_array(rng, 2, 3), random_array(rng, 3, 4), random_array(rng, 2, 4)
    dA, dB = answer(a, b, dp)
    A, B = Tensor(a), Tensor(b)
    (A @ B).backward(dp)
    r.equal("dA for A (2, 3), B (3, 4)", dA, A.grad, "dA = dP·Bᵀ: A[i, s] meets B[s, j] in every P[i, j]")
    r.equal("dB", dB, B.grad, "dB = Aᵀ·dP: B[s, j] meets A[i, s] in every P[i, j]")


def unbroadcast(grad: Any, shape: tuple) -> Any:
    """Sum a gradient of the broadcast shape down to `shape`: first over the leading axes that
    `shape` lacks, then over every axis where `shape` has 1 (keeping it)."""
    g = Tensor(grad)
    while g.ndim > len(shape):
        g = g.sum(axis=0)
    for axis, side in enumerate(shape):
        if side == 1 and g.shape[axis] != 1:
            g = g.sum(axis=axis, keepdims=True)
    return g.tolist()


CASES = [((3,), (2, 3)), ((2, 1), (2, 3)), ((4, 1), (2, 4, 3)), ((1, 3), (2, 4, 3)), ((1,), (2, 2))]


@exercise(
    "unbroadcast",
    "03",
    "unbroadcast(grad, shape): sum a gradient of the broadcast shape down to the shape of the input",
    answer=unbroadcast,
)
def _unbroadcast(answer: Callable, r: Report) -> None:
    rng = random.Random(1)
    for shape, wide in CASES:
        g = random_array(rng, *wide)
        x = Tensor.zeros(*shape)
        (x + Tensor.zeros(*wide)).backward(g)
        r.equal(
            f"unbroadcast(a gradient of shape {wide}, {shape})",
            answer(g, shape),
            x.grad,
            "sum over the leading axes the input lacks, then over the axes where it has 1 (keepdims)",
        )
