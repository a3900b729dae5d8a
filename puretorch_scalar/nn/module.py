"""`Module`, the base of every layer and model, and `Parameter`, the Tensors it trains.

A Module finds its parameters and sub-modules by looking at its own attributes, so there is
nothing to register and no `super().__init__()` to forget:

    class Net(nn.Module):
        def __init__(self):
            self.hidden = nn.Linear(2, 16)                              # a sub-module
            self.heads = [nn.Linear(16, 1), nn.Linear(16, 1)]           # a list of them
            self.scale = nn.Parameter([1.0])                            # a parameter

        def forward(self, x):
            h = self.hidden(x).relu()
            return sum(head(h) for head in self.heads) * self.scale

Its parameters are then named by their attribute paths, as in PyTorch: `hidden.weight`,
`hidden.bias`, `heads.0.weight`, …. Attributes are visited in the order they were set, a
module's own parameters (here `scale`) before those of its sub-modules, as in PyTorch.
"""

from __future__ import annotations

import json
import math
import numbers
import os
import secrets
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Any

from puretorch_scalar.checks import boolean, is_bool, mapping
from puretorch_scalar.engine import ParameterValue, zero_grads
from puretorch_scalar.tensor import Tensor

__all__ = ["Parameter", "Module"]


class Parameter(Tensor):
    """A Tensor that a Module trains: its elements are `ParameterValue` leaves (so that graph
    drawings can tell weights from inputs), and a Module attribute holding one registers it.

    `Parameter(data)` takes what `Tensor(data)` takes; a Tensor's numbers are copied into new
    leaves, so the Parameter never shares elements with its source."""

    def __init__(self, data: Any):
        source = data if isinstance(data, Tensor) else Tensor(data)
        # Tensor(t) keeps t's Values and shape (an empty one's too): here, the fresh leaves
        super().__init__(Tensor.from_values([ParameterValue(v.data) for v in source.values()], source.shape))

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()


class Module:
    """Base class of layers and models: subclass it, set parameters and sub-modules as
    attributes, and define `forward`. `module(x)` calls `forward(x)`."""

    training = True  # read by layers that behave differently in training (Dropout)

    def forward(self, *args: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must define forward()")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.forward(*args, **kwargs)

    # -- what a module holds: found in its attributes ----------------------------------------

    def _named_members(self) -> Iterator[tuple[str, Parameter | Module]]:
        """(name, Parameter or Module) for each attribute holding one, and `name.i` for each one
        inside an attribute that is a list or tuple."""
        for name, value in vars(self).items():
            if isinstance(value, (Parameter, Module)):
                yield name, value
            elif isinstance(value, (list, tuple)):
                for i, item in enumerate(value):
                    if isinstance(item, (Parameter, Module)):
                        yield f"{name}.{i}", item

    def named_children(self) -> Iterator[tuple[str, Module]]:
        """The direct sub-modules with their attribute names."""
        return ((name, m) for name, m in self._named_members() if isinstance(m, Module))

    def children(self) -> Iterator[Module]:
        """The direct sub-modules."""
        return (m for _, m in self.named_children())

    def named_modules(self, prefix: str = "") -> Iterator[tuple[str, Module]]:
        """This module (named `prefix`, "" by default) and every module below it, depth first,
        each once even if it appears in several places."""
        seen: set[int] = set()

        def walk(module: Module, name: str) -> Iterator[tuple[str, Module]]:
            if id(module) in seen:
                return
            seen.add(id(module))
            yield name, module
            for child_name, child in module.named_children():
                yield from walk(child, f"{name}.{child_name}" if name else child_name)

        return walk(self, prefix)

    def modules(self) -> Iterator[Module]:
        """This module and every module below it, depth first."""
        return (m for _, m in self.named_modules())

    def named_parameters(self) -> list[tuple[str, Parameter]]:
        """(dotted name, Parameter) for every parameter, each once even if shared (tied)."""
        seen: set[int] = set()
        named = []
        for prefix, module in self.named_modules():
            for name, p in module._named_members():
                if isinstance(p, Parameter) and id(p) not in seen:
                    seen.add(id(p))
                    named.append((f"{prefix}.{name}" if prefix else name, p))
        return named

    def parameters(self) -> list[Parameter]:
        """Every parameter, each once: what an optimizer is given."""
        return [p for _, p in self.named_parameters()]

    def zero_grad(self) -> None:
        """Set the gradient of every parameter element to 0.0 (gradients accumulate otherwise)."""
        zero_grads(v for p in self.parameters() for v in p.values())

    def train(self, mode: bool = True) -> Module:
        """Set `.training` on this module and every module below it; returns self."""
        mode = boolean(mode, "mode", f"{type(self).__name__}.train")
        for m in self.modules():
            m.training = mode
        return self

    def eval(self) -> Module:
        """`train(False)`; returns self."""
        return self.train(False)

    # -- saving and loading: weights only, as nested lists of floats ---------------------------

    def state_dict(self) -> dict[str, Any]:
        """{dotted name: the parameter's numbers as nested lists of floats}: JSON-serialisable
        (numpy scalars written into `.data` come out as floats; NaN and ±inf stay floats)."""
        return {
            name: _nested_map(partial(_as_float, name=name), p.tolist())
            for name, p in self.named_parameters()
        }

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Copy numbers into the parameters, in place.

        Every key, number and shape is checked before anything is written: a `state_dict` that is
        not a dict raises `TypeError`, missing or unexpected keys `KeyError`, an entry that is not
        nested lists of numbers `TypeError` or `ValueError` naming its key, a shape mismatch
        `ValueError`; on any error no parameter changes."""
        state_dict = mapping(
            state_dict, "state_dict", "load_state_dict", "a dict {name: nested lists of numbers}"
        )
        own = dict(self.named_parameters())
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        if missing or unexpected:
            raise KeyError(
                f"load_state_dict for {type(self).__name__}: missing keys {missing}, "
                f"unexpected keys {unexpected}"
            )
        incoming = {name: _numbers(name, state_dict[name]) for name in own}
        for name, p in own.items():
            if incoming[name].shape != p.shape:
                raise ValueError(
                    f"load_state_dict: {name!r} has shape {incoming[name].shape} in the state dict "
                    f"but {p.shape} in the model"
                )
        for name, p in own.items():
            for v, new in zip(p.values(), incoming[name].values()):
                v.data = new.data

    def save(self, path: str | os.PathLike) -> None:
        """Write `state_dict()` to `path` as strict JSON (RFC 8259), replacing the file at once.

        JSON has no NaN or infinity, so those numbers are written as the strings "NaN",
        "Infinity" and "-Infinity", which `load` reads back as floats. The state is built first
        and written to a temporary file in the same folder, flushed to disk, then renamed over
        `path` (`os.replace`, atomic): a failure at any point (a parameter that is not a
        number, a full disk, Ctrl-C) leaves the previous file as it was and no temporary file."""
        state = _nested_map(_encode_number, self.state_dict())
        path = Path(path)
        temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
        f = open(temporary, "x")  # "x": a new file (never someone else's), with the usual permissions
        try:
            with f:
                json.dump(state, f, allow_nan=False)
                f.flush()
                os.fsync(f.fileno())
            os.replace(temporary, path)
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise

    def load(self, path: str | os.PathLike) -> Module:
        """Load weights written by `save` into this module and return it.

        The file holds numbers only, like a PyTorch state-dict file, so first build the model
        the weights belong to: `model = nn.MLP(2, [16, 16, 1]).load("moons.json")`."""
        with open(path) as f:
            self.load_state_dict(_nested_map(_decode_number, json.load(f)))
        return self

    # -- printing -------------------------------------------------------------------------------

    def extra_repr(self) -> str:
        """What goes inside the parentheses of this module's repr (e.g. its sizes)."""
        return ""

    def __repr__(self) -> str:
        lines = [f"({name}): " + repr(child).replace("\n", "\n  ") for name, child in self.named_children()]
        if not lines:
            return f"{type(self).__name__}({self.extra_repr()})"
        body = "".join(f"\n  {line}" for line in ([self.extra_repr()] if self.extra_repr() else []) + lines)
        return f"{type(self).__name__}({body}\n)"


# -- the numbers of a state dict -------------------------------------------------------------------

_NON_FINITE = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}  # JSON's missing numbers


def _nested_map(f: Callable[[Any], Any], nested: Any) -> Any:
    """`nested` with f applied to every leaf: through dicts' values and lists' items."""
    if isinstance(nested, dict):
        return {key: _nested_map(f, value) for key, value in nested.items()}
    if isinstance(nested, list):
        return [_nested_map(f, item) for item in nested]
    return f(nested)


def _as_float(x: Any, name: str) -> float:
    """A parameter's number as a plain float (a numpy scalar written into `.data` included)."""
    if is_bool(x) or not isinstance(x, numbers.Real):
        raise TypeError(f"state_dict: {name!r} holds {x!r} ({type(x).__name__}), not a number")
    return float(x)


def _encode_number(x: float) -> float | str:
    """x itself, or for NaN and ±inf (which strict JSON lacks) the strings "NaN", "±Infinity"."""
    if math.isfinite(x):
        return x
    return "NaN" if math.isnan(x) else "Infinity" if x > 0 else "-Infinity"


def _decode_number(x: Any) -> Any:
    """The inverse of `_encode_number`; anything else is left for `load_state_dict` to judge."""
    return _NON_FINITE.get(x, x) if isinstance(x, str) else x


def _numbers(name: str, nested: Any) -> Tensor:
    """The entry `name` of a state dict as a Tensor; an error names the key."""
    try:
        return Tensor(nested)
    except (TypeError, ValueError) as err:
        kind = TypeError if isinstance(err, TypeError) else ValueError
        raise kind(f"load_state_dict: {name!r} must be nested lists of numbers ({err})") from None
