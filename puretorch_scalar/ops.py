"""The op registry: every operation of the engine is one record, and everything else is made from it.

A record holds what there is to know about an operation:

    name        what a node's `.op` says: "+", "tanh", "dot", …
    arity       how many operands: 1, 2, or 0 for any number (the n-ary `sum` and `dot`)
    forward     its value on floats:            forward(*xs) -> float
    derivative  its local derivatives ∂out/∂xᵢ: derivative(*xs, out) -> one value (arity 1)
                or a tuple (one per operand); `out` is the node's own value, which exp, tanh,
                sigmoid, sqrt and / reuse
    symbol      how `draw_graph` labels the op
    caption     the rule in words, for `backward_steps`

From the records come the `Value` methods and operators, the elementwise `Tensor` methods, the
derivatives that backward (and `create_graph`, and forward mode) use, the symbols of
`draw_graph`, the captions of `backward_steps` and the ops `testing.expressions()` draws from.
So adding an operation is adding one row to `BUILTINS` below, or one call to `define_op`:

    softplus = pts.define_op(
        "softplus",
        forward=lambda x: math.log1p(math.exp(x)),
        derivative=lambda x, out: pts.ops.sigmoid(x),
    )
    Value(1.0).softplus(), Tensor([1.0, 2.0]).softplus(), softplus(2.0)

The derivatives are written with ordinary operators and this module's functions (`sin`, `div`,
`pts.ops.exp`, …), which take floats or Values: so the same rule computes a float during a
normal backward, and builds nodes (a gradient that can be differentiated again) with
`create_graph=True`.
"""

from __future__ import annotations

import inspect
import keyword
import math
import numbers
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

__all__ = [
    "Op",
    "BUILTINS",
    "REGISTRY",
    "RULES",
    "define_op",
    "undefine_op",
    "get",
    "names",
    "records",
    "function",
]
__all__ += ["local_grads"]

inf, nan = math.inf, math.nan


@dataclass(frozen=True)
class Op:
    """One operation: its forward formula next to its local derivatives (see the module docstring).

    `methods` are the names it takes on Value and Tensor (for "+": `__add__`, and `__radd__` as
    the reflected `other + self`); `function` is its name as a plain function (`pts.ops.add`).
    `edge_distance(*xs)`, when given, says how far the operands are from a kink, pole or domain
    edge (negative outside the domain); `testing.expressions()` keeps its random inputs away
    from them, so that central differences are a fair reference."""

    name: str
    forward: Callable[..., float]
    derivative: Callable[..., Any]
    arity: int = 1
    symbol: str = ""
    caption: str = ""
    methods: tuple[str, ...] = ()
    function: str = ""
    edge_distance: Callable[..., float] | None = None

    def __post_init__(self) -> None:  # the defaults that depend on the name
        object.__setattr__(self, "symbol", self.symbol or self.name)
        object.__setattr__(self, "function", self.function or self.name)
        if not self.methods and self.arity:
            object.__setattr__(self, "methods", (self.name,))


# ---------------------------------------------------------------------------------------------
# Forward formulas that need care beyond Python's float operators. Division by zero, overflow
# and NaN follow IEEE 754 (as PyTorch does): x/0 is ±inf and exp(1000) is inf, so a training run
# is never killed by a ZeroDivisionError or OverflowError; real domain errors raise ValueError.


def _div(a: float, b: float) -> float:
    try:
        return a / b
    except ZeroDivisionError:
        if a != a or a == 0:
            return nan
        return math.copysign(inf, a) * math.copysign(1.0, b)


def _pow(a: float, b: float) -> float:
    if a < 0 and math.isfinite(b) and not float(b).is_integer():
        raise ValueError(f"pow: negative base {a!r} with non-integer exponent {b!r} has no real result")
    try:
        return a**b
    except ZeroDivisionError:  # 0 ** negative: inf, with the zero's sign for an odd exponent (IEEE)
        return math.copysign(inf, a) if _odd(b) else inf
    except OverflowError:
        return -inf if a < 0 and _odd(b) else inf


def _odd(b: float) -> bool:
    return float(b).is_integer() and b % 2 == 1


def _exp(x: float) -> float:
    try:
        return math.exp(x)
    except OverflowError:
        return inf


def _log(x: float) -> float:
    if x <= 0:
        raise ValueError(f"log: input {x!r} is not positive; log is defined only for x > 0")
    return math.log(x)


def _sqrt(x: float) -> float:
    if x < 0:
        raise ValueError(f"sqrt: input {x!r} is negative; sqrt is defined only for x >= 0")
    return math.sqrt(x)


def _sigmoid(x: float) -> float:
    if x >= 0:  # two forms, so that exp never overflows
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


def _relu(x: float) -> float:
    return x if x > 0 or x != x else 0.0  # NaN passes through, as in PyTorch


def _periodic(f: Callable[[float], float]) -> Callable[[float], float]:
    """sin or cos: NaN for ±inf (as IEEE and PyTorch say) instead of Python's ValueError."""
    return lambda x: f(x) if math.isfinite(x) else nan


def _dot(*xs: float) -> float:
    n = len(xs) // 2
    return sum(map(operator.mul, xs[:n], xs[n:]))


def _base_slope(a: Any, b: Any) -> Any:
    """∂(a ** b)/∂a = b·aᵇ⁻¹; 0 where b = 0 and aᵇ⁻¹ is not finite (a = 0, ±inf or NaN), where the
    formula would give 0·inf or NaN: a⁰ = 1 is flat, as PyTorch says. Elsewhere the formula
    stays a graph, so that its derivative by b is right."""
    base = _number(a)
    return 0.0 if _number(b) == 0 and not (base != 0 and math.isfinite(base)) else b * pow(a, b - 1.0)


def _ln_base(a: Any, b: Any, out: Any) -> Any:
    """∂(a ** b)/∂b = aᵇ·ln a for a > 0. At a = 0, PyTorch's values: 0 for b ≥ 0, and for b < 0
    aᵇ·ln 0 = ±inf·(−inf); NaN for a < 0 (no real logarithm)."""
    base = _number(a)
    if base > 0:
        return out * log(a)
    if base == 0:
        return 0.0 if _number(b) >= 0 else out * -inf  # ln 0 = −inf; the sign from aᵇ = ±inf
    return a * nan  # NaN, and under create_graph a NaN that reaches the derivatives by a too


def _number(x: Any) -> float:
    """A float's or a Value's number: rules compare numbers, and `==` on Values is identity."""
    return getattr(x, "data", x)


class _Off(float):
    """The 0 that a switched-off ReLU passes back: times anything, even inf or NaN, it is 0
    (PyTorch masks the gradient there instead of multiplying it; 0·inf would be NaN)."""

    def __mul__(self, other: Any) -> float:
        return 0.0

    __rmul__ = __mul__


OFF = _Off(0.0)


# The elementary functions the rules below are written with (every op has one, see __getattr__).
# Each takes floats (and returns a float) or Values/Tensors (and builds nodes).


def function(name: str) -> Callable[..., Any]:
    """The op `name` as a plain function of floats, Values or Tensors: `function("exp")(2.0)` is
    a float, `function("exp")(Value(2.0))` a new node (as is `pts.ops.exp(...)`)."""

    def apply(*operands: Any) -> Any:
        record = _registry[name] if name in _registry else get(name)
        if record.arity and len(operands) != record.arity:
            raise TypeError(f"{name}: takes {record.arity} operand(s), got {len(operands)}")
        if set(map(type, operands)) <= _FLOAT:  # floats, as in every backward: checked in C
            return record.forward(*operands)
        if all(isinstance(x, numbers.Real) for x in operands):
            return record.forward(*map(float, operands))
        # Here rather than at the top: the engine and Tensor are built from this module.
        from puretorch_scalar.engine import apply_op
        from puretorch_scalar.tensor import Tensor, apply_elementwise

        if any(isinstance(x, Tensor) for x in operands):
            return apply_elementwise(record, operands)
        return apply_op(record, operands)

    apply.__name__ = apply.__qualname__ = name if name.isidentifier() else "apply"
    apply.__doc__ = f"The op {name!r} on floats (a float) or on Values/Tensors (a new node)."
    return apply


_FLOAT = {float}
sin, cos, log, div, pow = map(function, ("sin", "cos", "log", "/", "**"))


# ---------------------------------------------------------------------------------------------
# The table of calculus: one row per op, the forward formula next to its local derivatives.


def _kink(x: float) -> float:  # relu and abs bend at 0
    return abs(x)


def _swap_halves(xy: tuple) -> tuple:  # (x1…xn, y1…yn) -> (y1…yn, x1…xn)
    n = len(xy) // 2
    return (*xy[n:], *xy[:n])


BUILTINS: tuple[Op, ...] = (
    #  name       forward               ∂out/∂input(s)
    Op("+",       operator.add,         lambda a, b, out: (1.0, 1.0),
       arity=2, symbol="+", caption="∂(a+b)/∂a = ∂(a+b)/∂b = 1",
       methods=("__add__", "__radd__"), function="add"),
    Op("-",       operator.sub,         lambda a, b, out: (1.0, -1.0),
       arity=2, symbol="−", caption="∂(a−b)/∂a = 1, ∂(a−b)/∂b = −1",
       methods=("__sub__", "__rsub__"), function="sub"),
    Op("*",       operator.mul,         lambda a, b, out: (b, a),
       arity=2, symbol="×", caption="∂(a·b)/∂a = b, ∂(a·b)/∂b = a",
       methods=("__mul__", "__rmul__"), function="mul"),
    Op("/",       _div,                 lambda a, b, out: (div(1.0, b), div(-out, b)),
       arity=2, symbol="÷", caption="∂(a/b)/∂a = 1/b, ∂(a/b)/∂b = −a/b²",
       methods=("__truediv__", "__rtruediv__"), function="div", edge_distance=lambda a, b: abs(b)),
    Op("**",      _pow,                 lambda a, b, out: (_base_slope(a, b), _ln_base(a, b, out)),
       arity=2, symbol="^", caption="∂(aᵇ)/∂a = b·aᵇ⁻¹, ∂(aᵇ)/∂b = aᵇ·ln a",
       methods=("__pow__", "__rpow__"), function="pow",
       edge_distance=lambda a, b: a),  # a real aᵇ, smooth in both, needs a > 0
    Op("neg",     operator.neg,         lambda x, out: -1.0,
       symbol="−x", caption="∂(−x)/∂x = −1", methods=("__neg__",)),
    Op("exp",     _exp,                 lambda x, out: out,
       caption="∂eˣ/∂x = eˣ"),
    Op("log",     _log,                 lambda x, out: 1.0 / x,
       caption="∂ln x/∂x = 1/x", edge_distance=lambda x: x),
    Op("tanh",    math.tanh,            lambda x, out: 1.0 - out * out,
       caption="∂tanh x/∂x = 1 − tanh²x"),
    Op("sigmoid", _sigmoid,             lambda x, out: out * (1.0 - out),
       caption="∂σ(x)/∂x = σ(x)·(1 − σ(x))"),
    Op("relu",    _relu,                lambda x, out: OFF if x <= 0 else 1.0,  # NaN: 1, as PyTorch
       caption="∂relu(x)/∂x = 1 if x > 0 else 0", edge_distance=_kink),
    Op("abs",     abs,                  lambda x, out: 1.0 if x > 0 else -1.0 if x < 0 else 0.0,
       caption="∂|x|/∂x = sign(x)", methods=("abs", "__abs__"), edge_distance=_kink),
    Op("sqrt",    _sqrt,                lambda x, out: div(0.5, out),
       symbol="√", caption="∂√x/∂x = 1/(2√x)", edge_distance=lambda x: x),
    Op("sin",     _periodic(math.sin),  lambda x, out: cos(x),
       caption="∂sin x/∂x = cos x"),
    Op("cos",     _periodic(math.cos),  lambda x, out: -sin(x),
       caption="∂cos x/∂x = −sin x"),
    # n-ary (arity 0): `Value.sum(xs)` is x1 + … + xn; `Value.dot(xs, ys)` has the children
    # x1…xn, y1…yn and is Σ xi·yi. Their rules get every child's value, then out.
    Op("sum",     lambda *xs: sum(xs),  lambda *xs_out: (1.0,) * (len(xs_out) - 1),
       arity=0, symbol="Σ", caption="∂(x₁+…+xₙ)/∂xᵢ = 1"),
    Op("dot",     _dot,                 lambda *xy_out: _swap_halves(xy_out[:-1]),
       arity=0, caption="∂(Σ xᵢyᵢ)/∂xᵢ = yᵢ, ∂(Σ xᵢyᵢ)/∂yᵢ = xᵢ"),
)  # fmt: skip


# ---------------------------------------------------------------------------------------------
# The registry itself.

_registry: dict[str, Op] = {op.name: op for op in BUILTINS}
_BUILTIN = dict(_registry)  # what undefine_op restores after a define_op(..., replace=True)
REGISTRY: Mapping[str, Op] = MappingProxyType(_registry)  # read-only, and always up to date
# The same, reduced to what the fast backward reads for every node: name -> (arity, derivative).
_rules = {op.name: (op.arity, op.derivative) for op in BUILTINS}
RULES: Mapping[str, tuple[int, Callable[..., Any]]] = MappingProxyType(_rules)


def _store(record: Op) -> None:
    _registry[record.name] = record
    _rules[record.name] = (record.arity, record.derivative)


def get(name: str) -> Op:
    """The record of the op `name` (what a node's `.op` holds)."""
    try:
        return _registry[name]
    except KeyError:
        raise KeyError(f"no op named {name!r} is defined; the ops are {names()}") from None


def names() -> list[str]:
    """Every op's name, the built-ins first, then those added by `define_op` in order."""
    return list(_registry)


def records() -> list[Op]:
    """Every op's record, in the order of `names()`."""
    return list(_registry.values())


def local_grads(op: str, args: Any, out: Any) -> tuple:
    """∂out/∂child for each child of a node made by `op`, from its record's rule. `args` are the
    children's data and `out` the node's data (floats), or the children and the node
    themselves (Values: the derivatives are then built as nodes)."""
    record = get(op)
    local = record.derivative(*args, out)
    return (local,) if record.arity == 1 else tuple(local)


def __getattr__(attribute: str) -> Callable[..., Any]:
    """`pts.ops.exp`, `pts.ops.add`, `pts.ops.softplus`: every op as a plain function."""
    for record in _registry.values():
        if record.function == attribute:
            return function(record.name)
    raise AttributeError(f"module {__name__!r} has no attribute {attribute!r} (and no op of that name)")


def __dir__() -> list[str]:
    return sorted({*globals(), *(record.function for record in _registry.values())})


def define_op(
    name: str,
    forward: Callable[..., float],
    derivative: Callable[..., Any],
    *,
    arity: int = 1,
    symbol: str | None = None,
    caption: str | None = None,
    edge_distance: Callable[..., float] | None = None,
    replace: bool = False,
) -> Callable[..., Any]:
    """Add an operation to the engine, end to end, and return it as a function of its operands.

    `forward(*xs)` computes the result on floats; `derivative(*xs, out)` returns ∂out/∂xᵢ (one
    value for `arity=1`, a tuple of two for `arity=2`), written with ordinary operators and
    `pts.ops` functions so that it runs on floats (backward) and on Values (`create_graph`).
    Afterwards `Value.<name>()` and `Tensor.<name>()` exist (with an `other` operand, broadcast,
    for arity 2); backward, second derivatives, `draw_graph` (labelled `symbol`, default the
    name), `backward_steps` (captioned `caption`) and `testing.expressions()` know the op.

    An existing name raises ValueError unless `replace=True`, which swaps its rule (also of a
    built-in: `undefine_op` restores the original). `edge_distance`: see `Op`."""
    where = f"define_op({name!r})"
    existing = _registry.get(name) if isinstance(name, str) else None
    _check_definition(name, forward, derivative, arity, symbol, caption, edge_distance, where, existing)
    if existing is not None and not replace:
        raise ValueError(f"{where}: an op of that name exists already; pass replace=True to swap its rule")
    if existing is not None and existing.arity != arity:
        raise ValueError(f"{where}: the op has arity {existing.arity}; a replacement must too, not {arity}")
    if existing is None:
        _check_free(name, where)
    base = existing or Op(name, forward, derivative, arity)
    record = Op(
        name,
        forward,
        derivative,
        arity,
        symbol=symbol or base.symbol,
        caption=caption or (base.caption if existing else f"∂{name}/∂x: the rule given to define_op"),
        methods=base.methods,
        function=base.function,
        edge_distance=edge_distance or (existing.edge_distance if existing else None),
    )
    _store(record)
    _install(record)
    return function(name)


def undefine_op(name: str) -> None:
    """Remove an op added by `define_op`: its Value and Tensor methods go, and nodes made with it
    can no longer be backpropagated. A built-in replaced with `replace=True` gets its original
    rule back; built-ins themselves cannot be removed."""
    record = get(name)
    if name in _BUILTIN:
        if record is _BUILTIN[name]:
            raise ValueError(f"undefine_op: {name!r} is a built-in op and cannot be removed")
        _store(_BUILTIN[name])
        _install(_BUILTIN[name])
        return
    from puretorch_scalar import engine, tensor  # here: both are built from this module

    del _registry[name], _rules[name]
    engine.remove_methods(record)
    tensor.remove_methods(record)


def _install(record: Op) -> None:
    from puretorch_scalar import engine, tensor  # here: both are built from this module

    engine.install_methods(record)
    tensor.install_methods(record)


def _check_definition(
    name: object,
    forward: object,
    derivative: object,
    arity: object,
    symbol: object,
    caption: object,
    edge_distance: object,
    where: str,
    existing: Op | None,
) -> None:
    if not isinstance(name, str):
        raise TypeError(f"define_op: name must be a str, not {type(name).__name__}: {name!r}")
    if existing is None and (not name.isidentifier() or keyword.iskeyword(name)):  # "+" exists
        raise ValueError(f"{where}: the name must be a Python identifier (it becomes a method name)")
    if isinstance(arity, bool) or not isinstance(arity, int):
        raise TypeError(f"{where}: arity must be an int, not {type(arity).__name__}: {arity!r}")
    if arity not in (1, 2):
        raise ValueError(f"{where}: arity must be 1 or 2, got {arity}")
    for what, f, n, args in (
        ("forward", forward, arity, "(x)" if arity == 1 else "(a, b)"),
        ("derivative", derivative, arity + 1, "(x, out)" if arity == 1 else "(a, b, out)"),
    ):
        if not callable(f):
            raise TypeError(f"{where}: {what} must be callable, not {type(f).__name__}: {f!r}")
        try:
            signature = inspect.signature(f)
        except (TypeError, ValueError):  # some built-in functions have none to show
            continue
        try:
            signature.bind(*[0.0] * n)
        except TypeError:
            raise TypeError(
                f"{where}: {what} must take {n} argument(s) {args} for arity {arity}, "
                f"but its signature is {signature}"
            ) from None
    for what, x in (("symbol", symbol), ("caption", caption)):
        if x is not None and not isinstance(x, str):
            raise TypeError(f"{where}: {what} must be a str, not {type(x).__name__}: {x!r}")
    if edge_distance is not None and not callable(edge_distance):
        raise TypeError(f"{where}: edge_distance must be callable, not {type(edge_distance).__name__}")


def _check_free(name: str, where: str) -> None:
    """A new op's name must not shadow anything Value, Tensor or this module already have."""
    from puretorch_scalar.engine import Value  # here: both are built from this module
    from puretorch_scalar.tensor import Tensor

    for owner, label in ((Value, "Value"), (Tensor, "Tensor")):
        if hasattr(owner, name):
            raise ValueError(f"{where}: the name would shadow {label}.{name}; choose another name")
    if name in globals() or any(record.function == name for record in _registry.values()):
        raise ValueError(f"{where}: the name would shadow pts.ops.{name}; choose another name")
