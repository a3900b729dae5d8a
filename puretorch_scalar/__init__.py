"""puretorch_scalar: a scalar-level autograd engine in pure Python, for learning how autograd works."""

from puretorch_scalar import data, nn, ops, optim
from puretorch_scalar.anomaly import AnomalyError, detect_anomaly
from puretorch_scalar.autograd import hessian, hvp, jacfwd, jacobian, jacrev, jvp, vjp
from puretorch_scalar.engine import Value, grad, is_grad_enabled, no_grad
from puretorch_scalar.explain import explain
from puretorch_scalar.jit import TraceError, jit
from puretorch_scalar.ops import define_op, undefine_op
from puretorch_scalar.tensor import Tensor
from puretorch_scalar.train import fit

__all__ = [
    "Tensor",
    "fit",
    "nn",
    "optim",
    "data",
    "ops",
    "define_op",
    "undefine_op",
    "detect_anomaly",
    "AnomalyError",
    "explain",
    "jit",
    "TraceError",
    "Value",
    "grad",
    "hessian",
    "hvp",
    "jvp",
    "vjp",
    "jacobian",
    "jacfwd",
    "jacrev",
    "is_grad_enabled",
    "no_grad",
]
__version__ = "0.1.0"
