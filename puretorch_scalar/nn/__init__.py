"""Neural-network building blocks in the shape of `torch.nn`: `Module`, `Parameter`, layers (for
images too) and losses (`nn.functional` holds the losses and the layers as plain functions)."""

from puretorch_scalar.nn import functional, init
from puretorch_scalar.nn.conv import AvgPool2d, Conv2d, Flatten, MaxPool2d
from puretorch_scalar.nn.layers import MLP, Dropout, Linear, ReLU, Sequential, Sigmoid, Tanh
from puretorch_scalar.nn.loss import BCELoss, CrossEntropyLoss, HingeLoss, MSELoss
from puretorch_scalar.nn.module import Module, Parameter
from puretorch_scalar.nn.norm import LayerNorm
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
    "Dropout",
    "Conv2d",
    "MaxPool2d",
    "AvgPool2d",
    "Flatten",
    "LayerNorm",
    "Embedding",
    "RMSNorm",
    "CausalSelfAttention",
    "MSELoss",
    "BCELoss",
    "CrossEntropyLoss",
    "HingeLoss",
]
