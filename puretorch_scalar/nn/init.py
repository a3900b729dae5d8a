"""Re-initialise parameters in place, as `torch.nn.init` does (the trailing _ means in place).
For example micrograd's initialisation, weights uniform in [−1, 1] and biases 0:

    for layer in model.modules():
        if isinstance(layer, nn.Linear):
            nn.init.uniform_(layer.weight, -1.0, 1.0)
            nn.init.zeros_(layer.bias)
"""

from __future__ import annotations

import random

from puretorch_scalar.tensor import Tensor

__all__ = ["uniform_", "normal_", "zeros_", "constant_"]


def uniform_(tensor: Tensor, low: float = 0.0, high: float = 1.0) -> Tensor:
    """Fill `tensor` with numbers drawn uniformly from [low, high] (Python's `random`); returns it."""
    for v in tensor.values():
        v.data = random.uniform(low, high)
    return tensor


def normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0) -> Tensor:
    """Fill `tensor` with numbers drawn from N(mean, std²) (Python's `random`); returns it."""
    for v in tensor.values():
        v.data = random.gauss(mean, std)
    return tensor


def constant_(tensor: Tensor, value: float) -> Tensor:
    """Fill `tensor` with `value`; returns it."""
    for v in tensor.values():
        v.data = float(value)
    return tensor


def zeros_(tensor: Tensor) -> Tensor:
    """Fill `tensor` with 0.0; returns it."""
    return constant_(tensor, 0.0)
