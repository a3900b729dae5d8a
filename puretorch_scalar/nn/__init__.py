"""Neural-network building blocks in the shape of `torch.nn`: `Module`, `Parameter`, layers and
losses (`nn.functional` holds the losses as plain functions)."""

from puretorch_scalar.nn import functional, init
from puretorch_scalar.nn.layers import MLP, Linear, ReLU, Sequential, Sigmoid, Tanh
from puretorch_scalar.nn.loss import BCELoss, CrossEntropyLoss, HingeLoss, MSELoss
from puretorch_scalar.nn.module import Module, Parameter
from puretorch_scalar.nn.transformer import CausalSelfAttention, Embedding, RMSNorm

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
    "Embedding",
    "RMSNorm",
    "CausalSelfAttention",
    "MSELoss",
    "BCELoss",
    "CrossEntropyLoss",
    "HingeLoss",
]
