"""Neural-network building blocks in the shape of `torch.nn`: `Module`, `Parameter`, layers and
losses (`nn.functional` holds the losses as plain functions)."""

from puretorch_scalar.nn import functional, init
from puretorch_scalar.nn.layers import MLP, Linear, ReLU, Sequential, Sigmoid, Tanh
from puretorch_scalar.nn.loss import BCELoss, CrossEntropyLoss, HingeLoss, MSELoss
from puretorch_scalar.nn.module import Module, Parameter

__all__ = [
    "functional",
    "init",
    "Module",
    "Parameter",
    "Linear",
    "ReLU",
    "Tanh",
    "Sigmoid",
    "Sequential",
    "MLP",
    "MSELoss",
    "BCELoss",
    "CrossEntropyLoss",
    "HingeLoss",
]
