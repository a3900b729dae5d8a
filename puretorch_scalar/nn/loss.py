"""Loss modules: `nn.MSELoss()(pred, target)` is `F.mse_loss(pred, target)`, with the reduction
chosen once, when the loss is made (as in PyTorch)."""

from __future__ import annotations

from typing import Any

from puretorch_scalar.checks import one_of
from puretorch_scalar.nn import functional as F
from puretorch_scalar.nn.module import Module
from puretorch_scalar.tensor import Tensor

__all__ = ["MSELoss", "BCELoss", "CrossEntropyLoss", "HingeLoss"]


class _Loss(Module):
    function = staticmethod(F.mse_loss)  # each subclass names its function from `functional`

    def __init__(self, reduction: F.Reduction = "mean"):
        self.reduction = one_of(reduction, F.REDUCTIONS, "reduction", type(self).__name__)

    def forward(self, pred: Any, target: Any) -> Tensor:
        return self.function(pred, target, reduction=self.reduction)

    def extra_repr(self) -> str:
        return "" if self.reduction == "mean" else f"reduction={self.reduction!r}"


class MSELoss(_Loss):
    """Mean squared error: see `functional.mse_loss`."""


class BCELoss(_Loss):
    """Binary cross-entropy on probabilities: see `functional.binary_cross_entropy`."""

    function = staticmethod(F.binary_cross_entropy)


class CrossEntropyLoss(_Loss):
    """Cross-entropy on logits and class indices: see `functional.cross_entropy`."""

    function = staticmethod(F.cross_entropy)


class HingeLoss(_Loss):
    """Hinge (SVM) loss on scores and ±1 labels: see `functional.hinge_loss`."""

    function = staticmethod(F.hinge_loss)
