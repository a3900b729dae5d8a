"""`LayerNorm` and its functional form `layer_norm` (also in `nn.functional`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from puretorch_scalar.checks import boolean, positive_int, real
from puretorch_scalar.nn.module import Module, Parameter
from puretorch_scalar.tensor import Tensor, as_tensor

__all__ = ["LayerNorm", "layer_norm"]


def _normalized_shape(value: int | Sequence[int], where: str) -> tuple[int, ...]:
    """An int n as (n,), or a sequence of sizes as a tuple: the trailing axes to normalise over."""
    sizes = (value,) if not isinstance(value, (tuple, list)) else tuple(value)
    return tuple(positive_int(n, "normalized_shape", where) for n in sizes)


def layer_norm(
    x: Any,
    normalized_shape: int | Sequence[int],
    weight: Any = None,
    bias: Any = None,
    eps: float = 1e-5,
) -> Tensor:
    """Normalise over the trailing axes given by `normalized_shape`, as `torch.nn.functional.
    layer_norm`:

        y = (x − mean) / √(var + eps) · weight + bias

    where mean and var (the biased variance, dividing by the count) are taken over those axes,
    separately for every leading index. `weight` and `bias` (shaped `normalized_shape`) are
    optional; `eps` keeps a constant group finite."""
    shape = _normalized_shape(normalized_shape, "layer_norm")
    eps = real(eps, "eps", "layer_norm", low=0)
    x = as_tensor(x)
    if x.ndim < len(shape) or x.shape[x.ndim - len(shape) :] != shape:
        raise ValueError(f"layer_norm: input of shape {x.shape} does not end in normalized_shape {shape}")
    axes = tuple(range(-len(shape), 0))
    centred = x - x.mean(axis=axes, keepdims=True)  # (..., *shape)
    variance = (centred * centred).mean(axis=axes, keepdims=True)  # (..., 1, …, 1)
    y = centred * (variance + eps) ** -0.5
    if weight is not None:
        y = y * weight
    return y if bias is None else y + bias


class LayerNorm(Module):
    """`layer_norm` as a layer, with a learned `weight` (ones) and `bias` (zeros) of shape
    `normalized_shape` unless `elementwise_affine=False`, as in PyTorch."""

    def __init__(
        self, normalized_shape: int | Sequence[int], eps: float = 1e-5, elementwise_affine: bool = True
    ):
        self.normalized_shape = _normalized_shape(normalized_shape, "LayerNorm")
        self.eps = real(eps, "eps", "LayerNorm", low=0)
        affine = boolean(elementwise_affine, "elementwise_affine", "LayerNorm")
        self.weight = Parameter(Tensor.ones(self.normalized_shape)) if affine else None
        self.bias = Parameter(Tensor.zeros(self.normalized_shape)) if affine else None

    def forward(self, x: Any) -> Tensor:
        return layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return f"{self.normalized_shape}, eps={self.eps:g}, elementwise_affine={self.weight is not None}"
