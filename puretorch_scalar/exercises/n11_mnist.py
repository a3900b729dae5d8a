"""Notebook 11, MNIST with an MLP and a CNN: a convolution's output size, the children of one
output pixel's dot node, accuracy from a confusion matrix, and a convolution by hand."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

from puretorch_scalar.exercises.core import Report, exercise, random_array
from puretorch_scalar.nn import functional as F
from puretorch_scalar.tensor import Tensor


def conv_output_size(size: int, kernel: int, stride: int = 1, padding: int = 0) -> int:
    """Output pixels along one axis: ⌊(size + 2·padding − kernel) / stride⌋ + 1."""
    return (size + 2 * padding - kernel) // stride + 1


@exercise(
    "conv_output_size",
    "11",
    "conv_output_size(size, kernel, stride=1, padding=0): output pixels along one axis of a convolution",
    answer=conv_output_size,
)
def _conv_output_size(answer: Callable, r: Report) -> None:
    for size, kernel, stride, padding in [
        (28, 5, 1, 0),
        (28, 5, 2, 0),
        (12, 3, 2, 0),
        (28, 5, 1, 2),
        (7, 3, 2, 1),
    ]:
        x = Tensor.zeros(1, 1, size, size)
        w = Tensor.zeros(1, 1, kernel, kernel)
        expected = F.conv2d(x, w, stride=stride, padding=padding).shape[-1]
        r.equal(
            f"conv_output_size({size}, {kernel}, stride={stride}, padding={padding})",
            answer(size, kernel, stride=stride, padding=padding),
            expected,
            "the padded size is size + 2·padding; the kernel fits (padded − kernel) // stride + 1 times",
        )


@exercise(
    "conv_pixel_children",
    "11",
    "nn.Conv2d(1, 8, 5, padding=2) on a 28×28 image: (children of the dot node of an interior output "
    "pixel, children of the dot node of the corner pixel (0, 0))",
    answer=(52, 20),
    notes="A dot node over n pairs has 2n children: the patch's real pixels and the constant 1, then "
    "the weights they meet and the bias. Inside: 25 + 1 pairs; at the corner the padding leaves a "
    "3×3 patch of real pixels: 9 + 1 pairs:",
)
def _conv_pixel_children(answer: Any, r: Report) -> None:
    if not r.sized(answer, 2, "interior pixel, corner pixel"):
        return
    out = F.conv2d(Tensor.zeros(1, 1, 28, 28), Tensor.zeros(8, 1, 5, 5), Tensor.zeros(8), padding=2)
    interior, corner = len(out[0, 0, 14, 14].children), len(out[0, 0, 0, 0].children)
    r.equal(
        "the interior pixel's children",
        answer[0],
        interior,
        "one dot node: [25 pixels, 1]·[25 weights, bias], and every pixel and weight is a child",
    )
    r.equal(
        "the corner pixel's children",
        answer[1],
        corner,
        "the padding zeros add nothing to the sum and are left out of the node: which pixels are real?",
    )


def accuracy_and_worst(confusion: list[list[int]]) -> tuple[float, int]:
    """(the fraction of all samples on the diagonal, the class whose row has the smallest
    fraction on the diagonal: the digit read right least often)."""
    total = sum(map(sum, confusion))
    right = sum(confusion[i][i] for i in range(len(confusion)))
    recall = [row[i] / sum(row) for i, row in enumerate(confusion)]
    return right / total, min(range(len(recall)), key=recall.__getitem__)


@exercise(
    "confusion_accuracy",
    "11",
    "accuracy_and_worst(confusion) -> (accuracy, the class read right least often), rows = true classes",
    answer=accuracy_and_worst,
)
def _confusion_accuracy(answer: Callable, r: Report) -> None:
    small = [[8, 1, 1], [0, 20, 0], [3, 3, 14]]
    rng = random.Random(11)
    big = [[rng.randrange(1, 5) + (60 if i == j else 0) for j in range(10)] for i in range(10)]
    big[7][1] += 40  # sevens read as ones
    for name, confusion in (
        ("the 3×3 matrix [[8, 1, 1], [0, 20, 0], [3, 3, 14]]", small),
        ("a 10×10 matrix", big),
    ):
        if not r.sized(answer(confusion), 2, "accuracy, worst class"):
            return
        accuracy, worst = answer(confusion)
        expected_accuracy, expected_worst = accuracy_and_worst(confusion)
        r.equal(
            f"the accuracy of {name}",
            accuracy,
            expected_accuracy,
            "the diagonal holds the right answers: its sum over the sum of all counts",
        )
        r.equal(
            f"the worst class of {name}",
            worst,
            expected_worst,
            "divide each row's diagonal count by that row's total (the images of that class)",
        )


def conv2d_by_hand(image: list[list[float]], kernel: list[list[float]], stride: int, padding: int) -> list:
    """One channel, no bias: out[i][j] = Σ_u Σ_v x[i·s + u − p][j·s + v − p] · k[u][v], with the
    pixels outside the image taken as 0."""
    h, w, kh, kw = len(image), len(image[0]), len(kernel), len(kernel[0])
    out_h, out_w = (h + 2 * padding - kh) // stride + 1, (w + 2 * padding - kw) // stride + 1
    out = []
    for i in range(out_h):
        row = []
        for j in range(out_w):
            total = 0.0
            for u in range(kh):
                for v in range(kw):
                    y, x = i * stride + u - padding, j * stride + v - padding
                    if 0 <= y < h and 0 <= x < w:
                        total += image[y][x] * kernel[u][v]
            row.append(total)
        out.append(row)
    return out


@exercise(
    "conv2d_by_hand",
    "11",
    "conv2d_by_hand(image, kernel, stride, padding) on nested lists (one channel, no bias), as F.conv2d",
    answer=conv2d_by_hand,
)
def _conv2d_by_hand(answer: Callable, r: Report) -> None:
    rng = random.Random(0)
    for size, k, stride, padding in [(4, 2, 1, 0), (5, 3, 2, 0), (5, 3, 1, 1), (6, 3, 2, 1)]:
        image, kernel = random_array(rng, size, size), random_array(rng, k, k)
        expected = F.conv2d([image], [[kernel]], stride=stride, padding=padding)[0].tolist()
        r.equal(
            f"a {size}×{size} image, a {k}×{k} kernel, stride {stride}, padding {padding}",
            answer(image, kernel, stride, padding),
            expected,
            "slide the kernel `stride` pixels at a time over the image padded with zeros; "
            "each output pixel is Σ pixel·weight (no flipping of the kernel)",
        )
