"""`pts.jit`: run a function once on the engine, record what it did as a straight-line program,
and compile that program to Python on plain floats, forward and backward.

Eager training builds a graph of Value objects at every step and then walks it: most of the
time goes to making objects and looking up rules, not to arithmetic. But a training step builds
the same graph every time; only its numbers change. So `jit(fn)` runs `fn` once on the engine
(*tracing*: the engine works as usual while jit watches which nodes it builds), writes the graph
out as Python source, one line per node,

    t12 = t10 * w3                 forward: the op's formula, on floats
    g_t10 = w3 * g_t12             backward: the chain rule, ∂out/∂t10 = ∂t12/∂t10 · ∂out/∂t12
    g_w3 += t10 * g_t12            (a leaf's gradient accumulates, as in eager mode)

compiles it with `compile()`, and from then on runs that code instead of `fn`. The numbers are
eager mode's, float for float: each forward line is the op's `forward` from the registry (or the
same Python operator written inline), each backward line its `derivative` times the gradient
arriving, and the backward lines come in the order of eager backward's own walk
(`fastpath.inner_order`), so that every gradient is summed in the same order. Ops added with
`define_op` work the same way: the generated code calls their functions.

What a compiled call reads afresh:

- the arguments' numbers: floats (in nested lists too), and the data of Values and Tensors
  passed in (backward adds to those Values' `.grad`, as eager mode would);
- the *leaves* that `fn` reaches without being passed: a model's parameters, Values in a
  closure. Their `.data` is read at each call, and backward adds to their `.grad`;
- an argument's number that `fn` takes as a Python float (a loss reads its targets so; jit
  knows it by its identity: the same float object);
- what `fn` computes from those under `no_grad()` or from data alone (jit watches the engine
  build it), and the max that softmax subtracts (`computed_constant`).

What a program takes as fixed:

- ints, bools, strings and None among the arguments: they count, index and choose (a token id,
  a class label), so the program is made for their values; a call with others traces again;
- any other number `fn` uses: Python floats in its code or globals, Values it makes from them
  (`Tensor(X)` of a global `X`), random draws (dropout's mask). They are *baked in* as they were
  at tracing, as jax.jit does with Python values. A float argument that the program does not
  read as a number (only in Python arithmetic, `t - 1`) is baked too, and guarded: a call with
  another value of it traces again.

Python decisions on a Value's number (`if v > 0`, `bool(v)`, `float(v)`, comparing Tensors,
`Tensor.max`/`argmax`) cannot be recorded, only the choice made at tracing: while tracing they
raise `TraceError` naming the line. What jit cannot see is not detected: Python arithmetic on
an argument's `.data` beside the same number used as a Value, a `.data` read of an
intermediate result, a module's `training` flag, an `if` on a Python float, hooks. For those,
`jit(fn, check=True)` runs `fn` eagerly beside every call and raises on any difference.

How this compares: torch.compile (TorchDynamo) also records what a function did, from its
Python bytecode, guards the recording on the inputs' types and shapes, and generates fused
kernels; jax.jit traces with abstract values into a program (a jaxpr) that XLA compiles. Both
meet data-dependent Python control flow as this module does, with a guard, a retrace or an
error. Here the program is Python source, short enough to read.
"""

from __future__ import annotations

import functools
import inspect
import itertools
import keyword
import linecache
import math
import operator
import re
import sys
import warnings
import weakref
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from itertools import repeat
from numbers import Integral, Real
from typing import Any

from puretorch_scalar import engine, ops
from puretorch_scalar.anomaly import Site, user_line
from puretorch_scalar.checks import boolean
from puretorch_scalar.engine import Constant, DataDot, DataValue, Value, is_grad_enabled, topological_order
from puretorch_scalar.fastpath import inner_order
from puretorch_scalar.grad_mode import tracing as _tracing
from puretorch_scalar.nn.module import Module
from puretorch_scalar.tensor import Tensor

__all__ = ["jit", "Jitted", "Program", "Step", "TracedValue", "TraceError", "refuse"]

_programs_made = itertools.count(1)  # numbers the programs' source files: <jit f #3: forward>
MAX_PROGRAMS = 8  # per jitted function; beyond, calls that need a new trace run eagerly (as torch.compile)

_data_of, _grad_of = operator.attrgetter("data"), operator.attrgetter("grad")


class TraceError(RuntimeError):
    """The recorded program would not be `fn`: while tracing, Python took a decision from a
    Value's number (`if v > 0`, `float(v)`, comparing Tensors); or a `check=True` call found
    that the compiled and the eager results differ."""


# ---------------------------------------------------------------------------------------------
# While a thread traces (grad_mode.tracing). The engine tells jit: the plain-number views call
# `refuse` (through grad_mode.decided_by_data), and softmax makes its shift with
# engine.computed_constant.


def refuse(what: str) -> None:
    """Raise TraceError: while this thread traces, `what` (e.g. "bool() of a Value") turned a
    Value's number into a Python decision, and a program could only replay the decision taken at
    tracing. The engine calls it through `grad_mode.decided_by_data`, which checks that a trace
    is on."""
    raise TraceError(
        f"jit: {what} while tracing, at {Site('', *user_line())}\n"
        "A traced program replays arithmetic, not Python decisions: the choice made now would be "
        "made at every call. Write it with ops (relu, abs, a mask passed in as data), or call "
        "this function without jit."
    )


# ---------------------------------------------------------------------------------------------
# jit, and its cache of programs.


def jit(fn: Callable[..., Any], check: bool = False) -> Jitted:
    """`fn`, traced and compiled: a function with `fn`'s signature that runs a compiled program.

    The first call with a given structure of arguments (types, nesting, lengths, shapes, and
    the values of bare ints, bools and strings) traces `fn` and compiles its program; later
    calls with that structure run the program. `fn` takes numbers, nested lists or tuples of them,
    Values and Tensors, and returns a Value, a Tensor, or a tuple or list of them; the call
    returns the same, and their `.backward()` runs the compiled backward. The module docstring
    says what a program reads at each call and what it takes as fixed.

    `check=True` also runs `fn` eagerly at every call (and eager backward beside every compiled
    one) and raises TraceError naming the first output or gradient that differs."""
    if not callable(fn):
        raise TypeError(f"jit: fn must be callable, not {type(fn).__name__}: {fn!r:.80}")
    return Jitted(fn, boolean(check, "check", "jit"))


class Jitted:
    """What `jit(fn)` returns: call it as you would call `fn`. `.cache_size` is how many programs
    it holds; `.program` (a table when printed) and `.source` show the last one traced."""

    def __init__(self, fn: Callable[..., Any], check: bool) -> None:
        functools.update_wrapper(self, fn, updated=())  # fn's name, docstring and signature
        self.fn, self.check, self.name = fn, check, _name(fn)
        self._programs: dict[tuple, list[Program]] = {}  # structure -> programs (guards tell them apart)
        self._last: Program | None = None
        self._warned = False

    @property
    def cache_size(self) -> int:
        """How many programs have been traced and kept."""
        return sum(map(len, self._programs.values()))

    @property
    def program(self) -> Program:
        """The program the last call ran: one entry per node of its graph (print it for a table)."""
        return self._traced("program")

    @property
    def source(self) -> str:
        """The Python source of the program the last call ran: its forward, and its backward from
        the first output."""
        program = self._traced("source")
        return (program.forward_source + "\n\n" + program.backward_source(0)).rstrip("\n")

    def _traced(self, what: str) -> Program:
        if self._last is None:
            raise ValueError(f"jit: no {what} yet: the first call of {self.name} traces it")
        return self._last

    def __repr__(self) -> str:
        return f"<jit({self.name}): {self.cache_size} program(s)>"

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if _tracing.active:  # called by a function that is being traced: part of its trace
            return self.fn(*args, **kwargs)
        key, numbers, values = _flatten(args, kwargs)
        program = next((p for p in self._programs.get(key, ()) if p.holds(numbers)), None)
        if program is None:
            if self.cache_size >= MAX_PROGRAMS:
                self._warn_once()
                return self.fn(*args, **kwargs)
            program = trace(self.fn, args, kwargs, numbers, values)
            kept = self._programs.setdefault(key, [])
            kept[:] = [p for p in kept if p.modules_hold()]  # a model given new parameters: stale
            kept.append(program)
        self._last = program
        outputs = program.run(numbers, values)
        if self.check:
            _compare_outputs(outputs, self.fn(*args, **kwargs))
        return outputs

    def _warn_once(self) -> None:
        if not self._warned:
            self._warned = True
            warnings.warn(
                f"jit: {self.name} has been traced {MAX_PROGRAMS} times (each new structure of its "
                "arguments, each new int or guarded float among them, traces again); calls that would "
                "need another trace now run eagerly",
                stacklevel=3,
            )


def _name(fn: Callable) -> str:
    return getattr(fn, "__name__", type(fn).__name__)


# ---------------------------------------------------------------------------------------------
# 1. The arguments: their structure (the cache key), their numbers, and their Values.


def _flatten(args: tuple, kwargs: dict) -> tuple[tuple, list[float], list[Value | None]]:
    """(key, numbers, values) of a call. The key is the arguments' structure: types, lengths,
    shapes, the values of bare ints, bools and strings, which argument Values are the same object,
    and the engine's state that a trace depends on (grad mode, the op registry). `numbers` are
    the floats and the Values' data in order (what a program reads); `values` the Values, one
    per number (None for a plain float), for their gradients."""
    key: list = []
    numbers: list[float] = []
    values: list[Value | None] = []
    first: dict[Value, int] = {}  # a Value -> its first position: which arguments alias is structure
    key.append(len(args))
    for x in args:  # (not as a tuple of numbers: a bare int argument is fixed, see _take_apart)
        _take_apart(x, key, numbers, values, first)
    for name in sorted(kwargs):
        key.append(name)
        _take_apart(kwargs[name], key, numbers, values, first)
    key += (is_grad_enabled(), tuple(map(id, ops.REGISTRY.values())))
    return tuple(key), numbers, values


def _take_apart(x: Any, key: list, numbers: list, values: list, first: dict, in_list: bool = False) -> None:
    kind = type(x)
    if kind is float:
        key.append(float)
        numbers.append(x)
        values.append(None)
    elif kind is list or kind is tuple:
        types = set(map(type, x))
        if types == {float} or types == {int}:  # a row of numbers or labels, the common case: at once
            key.append((kind, types.pop(), len(x)))
            numbers.extend(map(float, x))
            values.extend(repeat(None, len(x)))
        else:
            key.append((kind, len(x)))
            for item in x:
                _take_apart(item, key, numbers, values, first, True)
    elif isinstance(x, Value):
        if x.children:
            raise TypeError(
                f"jit: arguments must be leaves, but one is a {x.op!r} node, where gradients would "
                "stop: compute it inside the function, or pass x.detach()"
            )
        key.append((Value, first.setdefault(x, len(numbers)), _learns(x)))
        numbers.append(x.data)
        values.append(x)
    elif isinstance(x, Tensor):
        key.append((Tensor, x.shape))
        for v in x.values():
            _take_apart(v, key, numbers, values, first)
    elif in_list and isinstance(x, Integral) and not isinstance(x, bool):  # ints in lists: numbers
        key.append(int)
        numbers.append(float(x))
        values.append(None)
    elif x is None or isinstance(x, (str, Integral)):  # a count, a size, a flag: fixed
        key.append((kind, x))
    elif isinstance(x, Real):  # numpy's floats
        key.append(float)
        numbers.append(float(x))
        values.append(None)
    else:
        hint = " (a model is reached from the function itself, not passed)" * isinstance(x, Module)
        raise TypeError(
            "jit: arguments must be numbers, nested lists or tuples of them, Values or Tensors, "
            f"not {kind.__name__}: {x!r:.60}{hint}"
        )


def _learns(v: Value) -> bool:
    """Whether backward gives this leaf a gradient (not data, not a lifted number)."""
    return v.requires_grad and type(v) is not Constant


class _Number(int):
    """An int argument (in a list) while jit traces: equal to it, but an object of its own, so
    that jit can tell where its number went (the engine's `as_float` turns it into a float)."""


class _StandIns:
    """The arguments rebuilt as `_flatten` took them apart, for tracing. Each of their numbers
    becomes an object of its own, equal to it, that marks it: a float becomes a new float
    object, an int in a list a `_Number`, an argument Value a new leaf holding a new float (a
    plain Value, so that every operation on it builds a node). `fresh[i]` is number i's marker,
    `names[i]` its name as a variable (x_0_1) and `labels[i]` as people write it (x[0][1])."""

    def __init__(self, n: int) -> None:
        self.fresh: list[Any] = [None] * n
        self.names, self.labels = [""] * n, [""] * n
        self.standins: dict[Value, Value] = {}  # argument Value -> its stand-in
        self.position = iter(range(n))

    def of(self, fn: Callable, args: tuple, kwargs: dict) -> tuple[tuple, dict]:
        parameters = _parameter_names(fn, len(args))
        stand_args = tuple(self.rebuild(x, name, name) for x, name in zip(args, parameters))
        return stand_args, {name: self.rebuild(kwargs[name], name, name) for name in sorted(kwargs)}

    def rebuild(self, x: Any, name: str, label: str, in_list: bool = False) -> Any:
        number = isinstance(x, Real) and not isinstance(x, bool)  # a bare int is fixed, not a number
        if isinstance(x, Value) or (number and (in_list or not isinstance(x, Integral))):
            i = next(self.position)
            self.names[i], self.labels[i] = name, label
            if isinstance(x, Value):
                if x not in self.standins:
                    self.standins[x] = Value(x.data * 1.0, x.label)  # x * 1.0: a new float object
                self.fresh[i] = self.standins[x].data
                return self.standins[x]
            self.fresh[i] = _Number(x) if isinstance(x, Integral) else float(x) * 1.0
            return self.fresh[i]
        if isinstance(x, (list, tuple)):
            items = enumerate(x)
            return type(x)(self.rebuild(item, f"{name}_{i}", f"{label}[{i}]", True) for i, item in items)
        if isinstance(x, Tensor):
            indexed = zip(x.values(), _indices(x.shape))
            elements = [self.rebuild(v, name + i, label + _at(i)) for v, i in indexed]
            return Tensor.from_values(elements, x.shape)
        return x


def _parameter_names(fn: Callable, n: int) -> list[str]:
    """Names for n positional arguments: fn's parameter names (`*args` numbered), else arg0…"""
    try:
        parameters = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):
        parameters = []
    names = []
    for i in range(n):
        p = parameters[min(i, len(parameters) - 1)] if parameters else None
        if p is not None and p.kind == p.VAR_POSITIONAL:
            names.append(f"{p.name}_{i - parameters.index(p)}")
        elif p is not None and i < len(parameters) and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD):
            names.append(p.name)
        else:
            names.append(f"arg{i}")
    return names


def _at(index: str) -> str:
    """ "_1_2" as "[1, 2]" ("" for a 0-d tensor's element)."""
    return f"[{index[1:].replace('_', ', ')}]" if index else ""


def _indices(shape: tuple[int, ...]) -> list[str]:
    """ "_i_j…" for every element of a tensor of `shape`, row-major ("" for shape ())."""
    suffixes = [""]
    for n in shape:
        suffixes = [f"{s}_{i}" for s in suffixes for i in range(n)]
    return suffixes


# ---------------------------------------------------------------------------------------------
# 2. Tracing: run fn on the engine and watch it build.
#
# Most nodes need no watching: the graph below fn's result records them. But data (no_grad
# results, `detach()`, operations on data alone) are leaves with no record of what they were
# made from, although a program must compute them afresh. So while fn runs, jit watches the
# engine's calls with `sys.setprofile` and notes, for each such leaf, the operation and the
# operands it came from; and the order in which fn made every node, with the layer (Module
# call) or the line of fn that made it, for a program that reads as fn does.


_NODE = engine.build_node.__code__  # where the engine makes a node in a mode, or data from data
_DOT_OF_DATA = engine.dot_with_data.__code__  # a dot of two data halves is data
_DETACH = Value.detach.__code__
_DATA_UNARY = DataValue.exp.__code__  # the methods of DataValue, made from the registry: one code each
_DATA_BINARY = DataValue.__mul__.__code__
_AS_FLOAT = engine.as_float.__code__  # how an int becomes a Value's float
_MODULE_CALL = Module.__call__.__code__


@dataclass
class _Recording:
    """What jit saw while fn ran."""

    made: dict = field(default_factory=dict)  # Value -> (order made, where: a Module, a Site or None)
    data: dict = field(default_factory=dict)  # data leaf -> (op name or forward function, operands)
    computed: dict = field(default_factory=dict)  # Constant -> (f, Values), from computed_constant
    modules: list = field(default_factory=list)  # the Module calls in progress
    calls: dict = field(default_factory=dict)  # frame of a DataValue method -> its operands
    owner: dict = field(default_factory=dict)  # id of an argument's marker -> (marker, its position)

    def argument(self, number: Any) -> int | None:
        """The argument whose number this is (the same object as its marker), or None."""
        entry = self.owner.get(id(number))
        return entry[1] if entry is not None and entry[0] is number else None

    def event(self, frame: Any, event: str, arg: Any) -> None:
        """sys.setprofile's callback: every Python call and return while fn runs."""
        code = frame.f_code
        if event == "call":
            if code is _MODULE_CALL:
                self.modules.append(frame.f_locals["self"])
            elif code is _DATA_BINARY or code is _DATA_UNARY or code is _DETACH or code is _AS_FLOAT:
                self.calls[frame] = dict(frame.f_locals)  # before the method replaces `other` by a number
            return
        if event != "return":
            return
        operands = self.calls.pop(frame, None) if self.calls else None
        if code is _MODULE_CALL and self.modules:
            self.modules.pop()
        elif code is _AS_FLOAT and isinstance(operands["data"], _Number):  # an int argument's number
            slot = self.argument(operands["data"])
            if slot is not None:
                self.owner[id(arg)] = (arg, slot)
        if not isinstance(arg, Value):
            return
        if arg not in self.made:
            self.made[arg] = (len(self.made), self.modules[-1] if self.modules else Site("", *user_line()))
        if arg.children or arg.requires_grad or arg in self.data:
            return
        if code is _NODE and frame.f_locals["children"]:  # no_grad, or an op on data alone
            self.data[arg] = (frame.f_locals["op"], tuple(frame.f_locals["children"]))
        elif code is _DOT_OF_DATA:
            self.data[arg] = ("dot", tuple(frame.f_locals["children"]))
        elif code is _DETACH:
            self.data[arg] = ("detach", (operands["self"],))
        elif code is _DATA_UNARY:
            self.data[arg] = (operands["forward"], (operands["self"],))
        elif code is _DATA_BINARY:
            a, b = operands["self"], operands["other"]
            self.data[arg] = (operands["forward"], (b, a) if operands["reflected"] else (a, b))

    def operands(self, node: Value) -> tuple:
        """What a node's number is computed from: its children, or what data was made from."""
        if node.children:
            return node.children
        made = self.data.get(node) or self.computed.get(node)
        return made[1] if made else ()


def _record(fn: Callable, args: tuple, kwargs: dict, fresh: list) -> tuple[Any, _Recording]:
    """fn(*args, **kwargs) run on the engine while jit watches (and refuses Python decisions)."""
    recording = _Recording(owner={id(x): (x, i) for i, x in enumerate(fresh)})
    previous = sys.getprofile()
    _tracing.active, _tracing.computed = True, recording.computed
    sys.setprofile(recording.event)
    try:
        out = fn(*args, **kwargs)
    finally:
        if previous is None or callable(previous):
            sys.setprofile(previous)
        else:  # cProfile's Profile, which set itself with the C API: it sets itself again
            previous.enable()
        _tracing.active, _tracing.computed = False, None
    return out, recording


def trace(fn: Callable, args: tuple, kwargs: dict, numbers: list[float], values: list) -> Program:
    """Trace fn on a call's arguments (as `_flatten` took them apart) and compile its program."""
    stand = _StandIns(len(numbers))
    stand_args, stand_kwargs = stand.of(fn, args, kwargs)
    out, recording = _record(fn, stand_args, stand_kwargs, stand.fresh)
    structure, outputs = _outputs(out)
    first: dict[Value, int] = {}
    for i, v in enumerate(values):
        if v is not None:
            first.setdefault(v, i)
    slots = {standin: first[v] for v, standin in stand.standins.items()}
    steps, output_steps, open_leaves = _steps(outputs, recording, slots)
    del out, outputs, recording, stand_args, stand_kwargs  # the traced graph is gone now, but
    leaves = _settle(open_leaves)  # for the leaves that something else holds
    program = Program(fn, structure, steps, output_steps, leaves, numbers, values, stand)
    program.compile()
    return program


def _outputs(out: Any) -> tuple[Any, list[Value]]:
    """fn's result taken apart: its structure (to rebuild it) and its Values in order."""
    flat: list[Value] = []
    return _structure(out, flat), flat


def _structure(x: Any, flat: list[Value]) -> Any:
    if isinstance(x, Value):
        flat.append(x)
        return len(flat) - 1
    if isinstance(x, Tensor):
        flat.extend(x.values())
        return (Tensor, x.shape, len(flat) - x.size)
    if isinstance(x, (list, tuple)):
        return (type(x), [_structure(item, flat) for item in x])
    raise TypeError(
        "jit: the function must return a Value, a Tensor, or a tuple or list of them; it "
        f"returned {type(x).__name__}: {x!r:.60}"
    )


# ---------------------------------------------------------------------------------------------
# 3. The program: one step per node of the traced graph.


@dataclass(eq=False)
class Step:
    """One entry of a program: one node of the traced graph.

    `kind` says where its number comes from:

        "op"        computed by `op` from `operands`; backward passes its gradient on to them
        "input"     an argument Value: A[slot] (backward adds to its .grad)
        "number"    an argument's number, taken as a Python float by fn: A[slot]
        "leaf"      a leaf fn reached (a parameter): P[slot], read at each call
        "const"     a number baked in: `value`
        "data"      computed by `op` from `operands` under no_grad or from data (no gradient)
        "computed"  `function` of the operands' numbers (computed_constant; no gradient)

    `children` are where backward sends its gradient: the operands of an "op" step (of a dot
    whose first half is data, its second half only, as eager backward does), none for the
    others. With them a program is a graph that the engine's own `inner_order` walks."""

    number: int
    kind: str
    op: str = ""
    operands: tuple[Step, ...] = ()
    children: tuple[Step, ...] = ()
    slot: int = -1
    value: float = 0.0
    function: Callable | None = None
    label: str = ""  # a name from fn's world: a label, a parameter's name, an argument's
    where: Any = None  # what made it: a Module, a Site (fn's line), or None
    learns: bool = False  # whether a gradient flows through it to a leaf that takes one
    name: str = ""  # its variable in the generated source
    grad = 0.0  # (read by inner_order, which walks steps as it walks Values: a step holds none)

    @property
    def reads(self) -> list[Step]:
        """The numbers its derivative reads, which forward keeps for backward."""
        if self.kind != "op" or not self.learns:
            return []
        if self.op not in _RULES or not _is_builtin(self.op, "derivative"):
            return [*self.operands, self]  # the op's own derivative function gets them all
        if self.op == "dot":  # ∂/∂xᵢ = yᵢ and ∂/∂yᵢ = xᵢ; a dot over data passes gradients to its ys only
            return list(self.operands[: len(self.operands) - len(self.children)] or self.operands)
        rule = " ".join(_RULES[self.op])
        return [s for i, s in enumerate(self.operands) if f"{{{i}}}" in rule] + [self] * ("{out}" in rule)


def _steps(
    outputs: list[Value], recording: _Recording, slots: dict[Value, int]
) -> tuple[list[Step], list[Step], list[tuple[Step, weakref.ref]]]:
    """A Step for every node the outputs are computed from, in the order forward computes them;
    the outputs' steps; and the leaves whose kind is still open, "leaf" or "const" (see
    `_settle`), each with a weak reference to its Value."""
    of: dict[Value, Step] = {}
    order: list[Step] = []
    open_leaves: list[tuple[Step, weakref.ref]] = []

    def new(kind: str, **fields: Any) -> Step:
        order.append(Step(len(order), kind, **fields))
        return order[-1]

    for node in _in_order(outputs, recording):
        seen = {"label": node.label, "where": recording.made.get(node, (-1, None))[1]}  # for people
        if node.children:
            operands = tuple(of[c] for c in node.children)
            children = operands[len(operands) // 2 :] if type(node) is DataDot else operands
            step = new("op", op=node.op, operands=operands, children=children, **seen)
        elif node in slots:
            step = new("input", slot=slots[node], **seen)
        elif node in recording.computed:
            f, values = recording.computed[node]
            step = new("computed", op=f.__name__, function=f, operands=tuple(of[v] for v in values), **seen)
        elif node in recording.data:
            how, made_of = recording.data[node]  # an op's name, or the forward of a DataValue method
            operands = tuple(of[x] if isinstance(x, Value) else new("const", value=float(x)) for x in made_of)
            op, function = (how, None) if isinstance(how, str) else (_op_of(how), how)
            step = new("data", op=op, function=function, operands=operands, **seen)
        elif (slot := recording.argument(node.data)) is not None:
            step = new("number", slot=slot, **seen)
        else:
            step = new("const", value=node.data, **seen)
            open_leaves.append((step, weakref.ref(node)))
        of[node] = step
    return order, [of[o] for o in outputs], open_leaves


def _in_order(outputs: list[Value], recording: _Recording) -> list[Value]:
    """Every node the outputs are computed from, each after its operands: in the order fn made
    them where jit saw it (so that the program reads as fn's code does), depth first otherwise."""
    found: dict[Value, None] = {}
    stack = list(outputs)
    while stack:
        node = stack.pop()
        if node not in found:
            found[node] = None
            stack.extend(x for x in recording.operands(node) if isinstance(x, Value))
    made = recording.made
    starts = [*sorted((node for node in found if node in made), key=lambda node: made[node][0]), *outputs]
    order: list[Value] = []
    done: set[Value] = set()
    for start in starts:  # depth first from each, in turn: a leaf comes just before its first use
        stack = [(start, False)]
        while stack:
            node, expanded = stack.pop()
            if expanded:
                order.append(node)
            elif node not in done:
                done.add(node)
                stack.append((node, True))
                operands = [x for x in recording.operands(node) if isinstance(x, Value)]
                stack.extend((x, False) for x in reversed(operands) if x not in done)
    return order


def _op_of(forward: Callable) -> str:
    """The name of the op whose forward this is (a DataValue method is known by its forward)."""
    return next((r.name for r in ops.records() if r.forward is forward), getattr(forward, "__name__", "f"))


def _settle(open_leaves: list[tuple[Step, weakref.ref]]) -> list[Value]:
    """Now that the traced graph is gone, a leaf that is still alive is held by something else (a
    model, a closure): a "leaf", read at each call. One that fn made and let go stays "const"."""
    leaves: list[Value] = []
    for step, ref in open_leaves:
        leaf = ref()
        if leaf is not None:
            step.kind, step.slot, step.learns = "leaf", len(leaves), _learns(leaf)
            leaves.append(leaf)
    return leaves


class Program:
    """A traced function as a straight-line program: `steps` (one per node, in the order forward
    computes them), the leaves it reads at each call, and its generated and compiled code.

    `print(program)` shows it as a table; `program.forward_source` and
    `program.backward_source(k)` (from output k) are the Python it runs."""

    def __init__(
        self,
        fn: Callable,
        structure: Any,
        steps: list[Step],
        outputs: list[Step],
        leaves: list[Value],
        numbers: list[float],
        values: list[Value | None],
        arguments: _StandIns,
    ) -> None:
        self.name, self.number = _name(fn), next(_programs_made)
        self.steps, self.structure, self.outputs, self.leaves = steps, structure, outputs, leaves
        self._leaf_ids = {id(leaf) for leaf in leaves}  # (the program holds them: ids stay theirs)
        for step in steps:  # which steps carry a gradient to a leaf that takes one
            if step.kind == "input":
                step.learns = _learns(values[step.slot])
            elif step.kind == "op":
                step.learns = any(child.learns for child in step.children)
        read = {step.slot for step in steps if step.kind in ("input", "number")}
        self.guards = [(i, x) for i, x in enumerate(numbers) if i not in read]  # baked: must not change
        self.learners = [s for s in steps if s.kind == "leaf" and s.learns]  # GP, in this order
        self.learner_leaves = [leaves[s.slot] for s in self.learners]
        self.inputs = [s for s in steps if s.kind == "input" and s.learns]  # GA, in this order
        reached = _Reached(fn, leaves)
        self.modules = reached.modules  # (module, its parameters at tracing): guards
        self._name_steps(reached, arguments, values)
        self._backward: dict[int, tuple[str, Callable | None, list[int]]] = {}

    def _name_steps(self, reached: _Reached, arguments: _StandIns, values: list[Value | None]) -> None:
        """Readable, unique variable names for the steps, and what each is, for the table."""
        names = _Names()
        slot_vars: dict[int, str] = {}
        for step in self.steps:
            if step.kind in ("input", "number"):
                if step.slot not in slot_vars:
                    slot_vars[step.slot] = names(arguments.names[step.slot])
                step.name = slot_vars[step.slot]
                its_number = ", its number" if step.kind == "number" and values[step.slot] is not None else ""
                step.label = f"argument {arguments.labels[step.slot]}{its_number}"
            elif step.kind == "leaf":
                leaf = self.leaves[step.slot]
                full, short = reached.leaf_names.get(leaf, (leaf.label, leaf.label))
                step.name = names(short or f"leaf{step.number}")
                step.label = full or "a leaf fn reached"
            elif step.kind == "const":
                step.name = _literal(step.value)
            else:
                step.name = names(step.label) if step.label else names(f"t{step.number}")
                step.label = reached.where(step.where)
        self.slot_vars = [slot_vars.get(i, "_") for i in range(len(arguments.names))]
        self.names, self.reached = names, reached

    # -- looking at it -------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self.steps)

    def __iter__(self) -> Iterator[Step]:
        return iter(self.steps)

    def __getitem__(self, i: int) -> Step:
        return self.steps[i]

    def __repr__(self) -> str:
        kinds: dict[str, int] = {}
        for step in self.steps:
            kinds[step.kind] = kinds.get(step.kind, 0) + 1
        shown = ", ".join(f"{n} {kind}" for kind, n in kinds.items())
        return f"<Program of {self.name}: {len(self.steps)} steps ({shown})>"

    def __str__(self) -> str:
        """The program as a table: each step's number, its name in the source, its op (or kind of
        leaf), its operands, the numbers its derivative reads, and what it is."""
        rows = [("#", "name", "op", "operands", "backward reads", "what")]
        for s in self.steps:
            op = {"op": s.op, "data": f"{s.op} (data)", "computed": f"{s.op} (no grad)"}.get(s.kind, s.kind)
            rows.append(
                (str(s.number), s.name, op, ", ".join(o.name for o in s.operands),
                 ", ".join(r.name for r in s.reads if r.kind != "const"), s.label)
            )  # fmt: skip
        widths = [min(max(len(row[i]) for row in rows), 36) for i in range(5)]
        lines = []
        for row in rows:
            cells = [c if len(c) <= 36 else c[:33] + "..." for c in row[:5]]
            cells = [cells[0].rjust(widths[0])] + [c.ljust(w) for c, w in zip(cells[1:], widths[1:])]
            lines.append(("  ".join(cells) + "  " + row[5]).rstrip())
        return "\n".join(lines)

    # -- running it ----------------------------------------------------------------------------

    def holds(self, numbers: list[float]) -> bool:
        """Whether this program was made for a call with these numbers: the numbers it baked in
        are the same floats (to the bit), and the models it read still have their parameters."""
        for position, number in self.guards:
            x = numbers[position]
            if x != number and not (x != x and number != number):
                return False
            if x == 0 and math.copysign(1.0, x) != math.copysign(1.0, number):
                return False
        return self.modules_hold()

    def modules_hold(self) -> bool:
        return all(
            len(now := module.parameters()) == len(then) and all(map(operator.is_, now, then))
            for module, then in self.modules
        )

    def run(self, numbers: list[float], values: list[Value | None]) -> Any:
        """The compiled forward on a call's numbers (and its leaves' data now): fn's result."""
        if not self._leaf_ids.isdisjoint(map(id, values)):
            raise TypeError(
                "jit: an argument is also a leaf that the function reaches itself (a parameter?): its "
                "gradient would be summed in two places; pass it, or let the function reach it, not both"
            )
        P = list(map(_data_of, self.leaves))
        outs, saved = self._forward(P, numbers)
        call = _Call(self, P, numbers, saved, values)
        results = []
        for j, (step, x) in enumerate(zip(self.outputs, outs)):
            if step.kind == "op" and step.learns:
                result = TracedValue(x, call, j)
                call.results[j] = weakref.ref(result)
            elif step.kind == "input":
                result = values[step.slot]
            elif step.kind == "leaf":
                result = self.leaves[step.slot]
            else:  # computed from data alone, as eager mode would have made it: data
                result = Value(x) if step.kind == "const" else engine.data_leaf(x)
            results.append(result)
        return _rebuild(self.structure, results)

    def backward_code(self, position: int) -> tuple[Callable | None, list[int]]:
        """The compiled backward from output `position`, and the other outputs it reaches."""
        if position not in self._backward:
            source, reached = self._backward_source(position)
            name = f"<jit {self.name} #{self.number}: backward {position}>"
            code = None if reached is None else self._compiled(source, name)
            self._backward[position] = (source, code, reached or [])
        _, code, reached = self._backward[position]
        return code, reached

    # -- the generated code --------------------------------------------------------------------

    def compile(self) -> None:
        """Generate the forward's source and compile it."""
        self._writer = _Writer(self)
        self.forward_source = self._writer.forward()
        self._forward = self._compiled(self.forward_source, f"<jit {self.name} #{self.number}: forward>")

    def _compiled(self, source: str, filename: str) -> Callable:
        """The function that `source` defines, compiled; tracebacks show its lines while this
        program exists."""
        linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
        weakref.finalize(self, linecache.cache.pop, filename, None)
        namespace = dict(self._writer.namespace)
        exec(compile(source, filename, "exec"), namespace)
        return namespace[source.split("(", 1)[0].removeprefix("def ")]

    def backward_source(self, position: int) -> str:
        """The Python source of the backward from output `position` (∂output/∂every leaf)."""
        if position in self._backward:
            return self._backward[position][0]
        return self._backward_source(position)[0]

    def _backward_source(self, position: int) -> tuple[str, list[int] | None]:
        if not 0 <= position < len(self.outputs):
            raise IndexError(f"jit: the program has {len(self.outputs)} output(s), not an output {position}")
        return self._writer.backward(position)


def _rebuild(structure: Any, results: list) -> Any:
    """fn's result, as `_outputs` took it apart, from the compiled results."""
    if isinstance(structure, int):
        return results[structure]
    kind, *rest = structure
    if kind is Tensor:
        shape, start = rest
        return Tensor.from_values(results[start : start + math.prod(shape)], shape)
    return kind(_rebuild(item, results) for item in rest[0])


class _Reached:
    """What fn reaches by name (itself if a Module, its `self`, its closure's variables, the
    globals its code names): names for the leaves and layers of a program, and the models to
    guard (a model given new parameter Tensors must be traced again)."""

    def __init__(self, fn: Callable, leaves: list[Value]) -> None:
        self.leaf_names: dict[Value, tuple[str, str]] = {}  # leaf -> (full name, short name)
        self.module_names: dict[Module, str] = {}
        self.modules: list[tuple[Module, list]] = []
        read = set(leaves)
        for name, obj in _reachable(fn):
            if isinstance(obj, Module):
                for path, module in obj.named_modules(name):
                    self.module_names.setdefault(module, path)
                params = obj.parameters()
                if any(v in read for p in params for v in p.values()):
                    self.modules.append((obj, params))
                for path, p in obj.named_parameters():  # model.0.weight: model_0_weight_…
                    self._name(f"{name}.{path}", path if name == "self" else f"{name}.{path}", p)
            elif isinstance(obj, Tensor):
                self._name(name, name, obj)
            elif isinstance(obj, Value):
                self.leaf_names.setdefault(obj, (name, name))

    def _name(self, full: str, short: str, tensor: Tensor) -> None:
        for v, index in zip(tensor.values(), _indices(tensor.shape)):
            self.leaf_names.setdefault(v, (full + _at(index), short + index))

    def where(self, where: Any) -> str:
        """The layer or line that made a step, in words."""
        if isinstance(where, Module):
            return f"{self.module_names.get(where) or type(where).__name__}: {_describe(where)}"
        return str(where) if where is not None else ""


def _describe(module: Module) -> str:
    return f"{type(module).__name__}({module.extra_repr()})"


def _reachable(fn: Callable) -> list[tuple[str, Any]]:
    found: list[tuple[str, Any]] = []
    if isinstance(fn, Module):
        found.append((type(fn).__name__.lower(), fn))
    if isinstance(getattr(fn, "__self__", None), Module):
        found.append(("self", fn.__self__))
    function = getattr(fn, "__func__", fn)
    code = getattr(function, "__code__", None)
    if code is None:
        return found
    for name, cell in zip(code.co_freevars, function.__closure__ or ()):
        try:
            found.append((name, cell.cell_contents))
        except ValueError:  # a variable not assigned yet
            pass
    named: set[str] = set()
    codes = [code]
    while codes:  # the globals named by fn's code and by the functions defined inside it
        c = codes.pop()
        named.update(c.co_names)
        codes.extend(k for k in c.co_consts if inspect.iscode(k))
    found += [(name, function.__globals__[name]) for name in sorted(named) if name in function.__globals__]
    return found


_GENERATED = "P A S GP GA g d da db mul inf nan forward backward"  # names the generated code uses


class _Names:
    """Unique Python identifiers made from what people call things ("layers.0.weight[3, 1]" ->
    layers_0_weight_3_1), kept clear of the names the generated code uses itself."""

    def __init__(self) -> None:
        self.taken = set(dir(sys.modules["builtins"])) | set(_GENERATED.split())
        self.functions = {record.function for record in ops.records()} - self.taken  # kept for ops

    def __call__(self, preferred: str, function: bool = False) -> str:
        base = re.sub(r"\W+", "_", preferred, flags=re.ASCII).strip("_") or "v"
        if function and base in self.functions:
            self.functions.discard(base)
            self.taken.add(base)
            return base
        if base[0].isdigit() or keyword.iskeyword(base) or (not function and base[:2] in ("g_", "d_")):
            base = "v_" + base  # g_… and d_… are gradients and derivative functions
        name, k = base, 1
        while name in self.taken or name in self.functions:
            k += 1
            name = f"{base}_{k}"
        self.taken.add(name)
        return name


def _literal(x: float) -> str:
    """A float as Python source that evaluates to the same float (inf and nan are names)."""
    if x != x:
        return "nan"
    text = "inf" if x == math.inf else "-inf" if x == -math.inf else repr(float(x))
    return f"({text})" if text.startswith("-") else text


# ---------------------------------------------------------------------------------------------
# 4. Code generation: a line per step, the registry's formulas on floats.
#
# The built-in ops whose forward is a Python operator are written inline (`a * b`); every other
# forward is a call of the registry's own function (`exp(t3)`), bound in the code's namespace.
# The built-in derivatives are written inline as exact copies of the registry's rules times the
# gradient arriving ({g}): `1.0 * g` is g and `-1.0 * g` is -g to the bit, so those are written
# without the multiplication. An op whose rule is not the built-in one (define_op, or a
# replaced rule) calls its derivative function.

_BUILTIN = {record.name: record for record in ops.BUILTINS}

_FORWARDS = {
    "+": "{0} + {1}",
    "-": "{0} - {1}",
    "*": "{0} * {1}",
    "neg": "-{0}",
    "abs": "abs({0})",
    "relu": "{0} if {0} > 0 or {0} != {0} else 0.0",  # NaN passes, as the registry's _relu
}

# ∂out/∂operand · g, one per operand: {0}, {1} are the operands, {out} the node's own number
_RULES = {
    "+": ("{g}", "{g}"),
    "-": ("{g}", "-{g}"),
    "*": ("{1} * {g}", "{0} * {g}"),
    "/": ("div(1.0, {1}) * {g}", "div(-{out}, {1}) * {g}"),
    "neg": ("-{g}",),
    "exp": ("{out} * {g}",),
    "log": ("1.0 / {0} * {g}",),
    "tanh": ("(1.0 - {out} * {out}) * {g}",),
    "sigmoid": ("{out} * (1.0 - {out}) * {g}",),
    "relu": ("0.0 if {0} <= 0 else {g}",),  # the rule's OFF times anything is 0.0
    "abs": ("{g} if {0} > 0 else -{g} if {0} < 0 else 0.0 * {g}",),
    "sqrt": ("div(0.5, {out}) * {g}",),
    "sin": ("cos({0}) * {g}",),
    "cos": ("-sin({0}) * {g}",),
    "sum": (),  # each operand: {g}
    "dot": (),  # pairwise: ∂/∂xᵢ = yᵢ, ∂/∂yᵢ = xᵢ, in eager backward's order
}


def _is_builtin(op: str, part: str) -> bool:
    """Whether op's forward or derivative (`part`) is still the engine's own."""
    return op in _BUILTIN and op in ops.REGISTRY and getattr(ops.get(op), part) is getattr(_BUILTIN[op], part)


class _Writer:
    """Python source for a program: one forward, and one backward per output asked for."""

    def __init__(self, program: Program) -> None:
        self.program, self.names = program, program.names
        self.namespace: dict[str, Any] = {"mul": operator.mul, "inf": math.inf, "nan": math.nan}
        self.bound: dict[int, str] = {id(f): name for name, f in self.namespace.items()}
        for name, op in (("div", "/"), ("sin", "sin"), ("cos", "cos")):  # what _RULES call
            self.bind(ops.get(op).forward, name)

    def bind(self, function: Callable, preferred: str) -> str:
        """The name under which the generated code calls `function`."""
        if id(function) not in self.bound:
            name = self.names(preferred, function=True)
            self.namespace[name], self.bound[id(function)] = function, name
        return self.bound[id(function)]

    def forward(self) -> str:
        program = self.program
        steps = program.steps
        computed = [s for s in steps if s.kind in ("op", "data", "computed")]
        read = {id(r): r for s in steps for r in s.reads}
        saved = [r for r in read.values() if r.kind in ("op", "data", "computed")]  # the others: P, A
        lines = [
            "def forward(P, A):",
            f'    """{program.name}, forward: every step\'s number from the arguments\' (A) and the',
            '    leaves\' (P); returns the outputs, and the numbers that backward reads."""',
            *_unpack(program.slot_vars, "A"),
            *_unpack([s.name for s in program.steps if s.kind == "leaf"], "P"),
        ]
        region = None
        for step in computed:
            if step.where is not region and step.where != region:
                region = step.where
                lines += ["", f"    # {program.reached.where(region)}"] if region is not None else [""]
            lines.append(f"    {step.name} = {self.expression(step)}")
        outputs, kept = _tuple([o.name for o in program.outputs]), _tuple([s.name for s in saved])
        lines += ["", f"    return {outputs}, {kept}"]
        self.saved = saved
        return "\n".join(lines) + "\n"

    def expression(self, step: Step) -> str:
        """The right-hand side that computes a step's number."""
        args = [o.name for o in step.operands]
        if step.kind == "computed":
            return f"{self.bind(step.function, step.op)}({_tuple(args)})"
        if step.op == "detach":
            return args[0]
        op = step.op
        if step.function is not None and not (op in ops.REGISTRY and ops.get(op).forward is step.function):
            return f"{self.bind(step.function, op)}({', '.join(args)})"  # an op replaced since
        if _is_builtin(op, "forward"):
            if op == "dot":
                half = len(args) // 2
                return f"sum(map(mul, {_tuple(args[:half])}, {_tuple(args[half:])}))"
            if op == "sum":
                return f"sum({_tuple(args)})"
            if op in _FORWARDS:
                return _FORWARDS[op].format(*args)
        record = ops.get(op)
        return f"{self.bind(record.forward, record.function)}({', '.join(args)})"

    def backward(self, position: int) -> tuple[str, list[int] | None]:
        """The backward from output `position`: (source, the other outputs it reaches), or
        (a comment, None) when that output is not computed by an op."""
        program = self.program
        root = program.outputs[position]
        if root.kind != "op":
            return f"# output {position} is a {root.kind}: backward adds the gradient to it directly\n", None
        order = [s for s in reversed(inner_order(root, DataDot)[0]) if s.learns]  # eager's order
        lines = [
            "def backward(P, A, S, GP, GA, g):",
            f'    """{program.name}, backward from {root.name}: g_v is ∂{root.name}/∂v times g, for every',
            '    step v, from the output down; leaves\' gradients (GP, GA) start from their .grad."""',
            *_unpack([s.name for s in self.saved], "S"),
            *_unpack(program.slot_vars, "A"),
            *_unpack([s.name for s in program.steps if s.kind == "leaf"], "P"),
            *_unpack(["g_" + s.name for s in program.learners], "GP"),
            *_unpack(["g_" + s.name for s in program.inputs], "GA"),
            f"    g_{root.name} = g",
        ]
        assigned = {root}
        region = None
        for step in order:
            if step.where is not region and step.where != region:
                region = step.where
                lines += ["", f"    # {program.reached.where(region)}"] if region is not None else [""]
            before, contributions = self.chain_rule(step, "g_" + step.name)
            lines += [f"    {line}" for line in before]
            for child, term in contributions:
                if not child.learns:
                    continue  # nothing that needs a gradient is below it
                if child.kind == "op" and child not in assigned:  # the first path: eager's 0.0 + term
                    assigned.add(child)
                    lines.append(f"    g_{child.name} = {term}")
                else:
                    lines.append(f"    g_{child.name} += {term}")
        reached = [j for j, s in enumerate(program.outputs) if s in assigned and j != position]
        returned = [_tuple(["g_" + s.name for s in group]) for group in (program.learners, program.inputs)]
        returned.append(_tuple(["g_" + program.outputs[j].name for j in reached]))
        lines += ["", f"    return {', '.join(returned)}"]
        return "\n".join(lines) + "\n", reached

    def chain_rule(self, step: Step, g: str) -> tuple[list[str], list[tuple[Step, str]]]:
        """(statements first, [(operand, ∂step/∂operand · g)]) for an op step, in the order eager
        backward adds them."""
        operands, args = step.operands, [o.name for o in step.operands]
        op = step.op
        if op in _RULES and _is_builtin(op, "derivative"):
            if op == "dot":
                half = len(operands) // 2
                pairs = []
                for i in range(half):
                    if len(step.children) == len(operands):  # a DataDot's xs (data) get nothing
                        pairs.append((operands[i], f"{args[half + i]} * {g}"))
                    pairs.append((operands[half + i], f"{args[i]} * {g}"))
                return [], pairs
            if op == "sum":
                return [], [(o, g) for o in operands]
            rule = _RULES[op]
            return [], [(o, term.format(*args, out=step.name, g=g)) for o, term in zip(operands, rule)]
        record = ops.get(op)
        d = self.bind(record.derivative, "d_" + record.function)
        if record.arity == 1:
            return [], [(operands[0], f"{d}({args[0]}, {step.name}) * {g}")]
        if record.arity == 2:
            return [f"da, db = {d}({args[0]}, {args[1]}, {step.name})"], list(
                zip(operands, (f"da * {g}", f"db * {g}"))
            )
        local = f"d = {d}({', '.join(args)}, {step.name})"
        return [local], [(o, f"d[{i}] * {g}") for i, o in enumerate(operands)]


def _tuple(items: list[str]) -> str:
    return f"({items[0]},)" if len(items) == 1 else f"({', '.join(items)})"


def _unpack(names: list[str], source: str) -> list[str]:
    """`(a, b, …) = source`, wrapped at about 100 characters."""
    if not names:
        return []
    text = ", ".join(names) + ("," if len(names) == 1 else "")
    if len(text) <= 88:
        return [f"    ({text}) = {source}"]
    lines, line = ["    ("], "       "
    for name in names:
        if len(line) + len(name) > 96:
            lines.append(line.rstrip())
            line = "       "
        line += f" {name},"
    return [*lines, line, f"    ) = {source}"]


# ---------------------------------------------------------------------------------------------
# 5. Running: a compiled call's outputs, and their backward.


class TracedValue(Value):
    """An output of a compiled call: a Value holding the result, whose `backward()` runs the
    program's compiled backward (into the leaves and the argument Values the program read).

    To the engine it is a leaf: the program, not a graph of nodes, links it to what it was
    computed from. So differentiate through it with its own backward(): an eager computation
    built on it (`jitted(x) * 2`) would not reach the program; put it inside the function."""

    __slots__ = ("_call", "_position")

    def __init__(self, data: float, call: _Call, position: int) -> None:
        super().__init__(data)
        self._call, self._position = call, position

    def backward(self, gradient: Any = 1.0, create_graph: bool = False) -> None:
        """The compiled backward: adds ∂self/∂leaf · gradient to every leaf's `.grad`."""
        if create_graph:
            raise ValueError(
                "jit: backward(create_graph=True) needs the graph of Values, and a compiled call has "
                "none: call the function without jit for higher derivatives"
            )
        gradient = engine.as_float(gradient, "backward gradient")
        self._call.backward(self._position, gradient)


class _Call:
    """One compiled call: the numbers its backward reads, and where its gradients go."""

    __slots__ = ("program", "P", "A", "S", "values", "results", "eager")

    def __init__(self, program: Program, P: list, A: list, S: tuple, values: list) -> None:
        self.program, self.P, self.A, self.S, self.values = program, P, A, S, values
        self.results: dict[int, weakref.ref] = {}  # output position -> its TracedValue (no cycle)
        self.eager: list[Value] | None = None  # check=True: the eager outputs to compare with

    def backward(self, position: int, gradient: float) -> None:
        if self.eager is None:
            self.compiled_backward(position, gradient)
        else:
            _checked_backward(self, position, gradient)

    def compiled_backward(self, position: int, gradient: float) -> None:
        program = self.program
        code, reached = program.backward_code(position)
        inputs = [self.values[s.slot] for s in program.inputs]
        learners = program.learner_leaves
        GP, GA = list(map(_grad_of, learners)), list(map(_grad_of, inputs))
        gp, ga, outs = code(self.P, self.A, self.S, GP, GA, gradient)
        deque(map(setattr, learners, repeat("grad"), gp), 0)  # (a C loop)
        for v, g in zip(inputs, ga):
            v.grad = g
        for j, g in zip((position, *reached), (gradient, *outs)):  # outputs are inner nodes to eager
            result = self.results[j]()
            if result is not None:
                result.grad = g


# ---------------------------------------------------------------------------------------------
# check=True: eager mode beside every call.


def _compare_outputs(compiled: Any, eager: Any) -> None:
    """Raise TraceError at the first output whose number differs between compiled and eager."""
    _, got = _outputs(compiled)
    structure, want = _outputs(eager)
    if len(got) != len(want):
        raise TraceError(
            f"jit(check=True): the function now returns {len(want)} Values, the program {len(got)}: it "
            "no longer computes what was traced"
        )
    for j, (a, b) in enumerate(zip(got, want)):
        if not _same(a.data, b.data):
            which = "the output" if len(got) == 1 else f"output {j}"
            raise TraceError(
                f"jit(check=True): {which} is {a.data!r} compiled but {b.data!r} eagerly "
                f"(difference {a.data - b.data:.3g}): the program no longer computes what the function "
                "does (a number baked in at tracing has changed?)"
            )
    call = next((v._call for v in got if isinstance(v, TracedValue)), None)
    if call is not None:
        call.eager = want


def _checked_backward(call: _Call, position: int, gradient: float) -> None:
    """The compiled backward, then eager backward from the same output with every gradient put
    back as it was before: TraceError naming the leaves where they differ."""
    program = call.program
    root = call.eager[position]
    names = {leaf: s.label for leaf, s in zip(program.learner_leaves, program.learners)}
    names |= {call.values[s.slot]: s.label for s in program.inputs}
    leaves = list(names | dict.fromkeys(v for v in topological_order(root) if not v.children and _learns(v)))
    before = list(map(_grad_of, leaves))
    call.compiled_backward(position, gradient)
    compiled = list(map(_grad_of, leaves))
    deque(map(setattr, leaves, repeat("grad"), before), 0)
    root.backward(gradient)
    wrong = [(leaf, c, e) for leaf, c, e in zip(leaves, compiled, map(_grad_of, leaves)) if not _same(c, e)]
    if wrong:
        shown = "; ".join(
            f"{names.get(leaf) or leaf.label or f'a leaf holding {leaf.data:.6g}'}: {c!r} compiled, "
            f"{e!r} eagerly (difference {c - e:.3g})"
            for leaf, c, e in wrong[:5]
        )
        more = f" (and {len(wrong) - 5} more)" if len(wrong) > 5 else ""
        raise TraceError(f"jit(check=True): gradients differ: {shown}{more}")


def _same(a: float, b: float) -> bool:
    return a == b or (a != a and b != b)
