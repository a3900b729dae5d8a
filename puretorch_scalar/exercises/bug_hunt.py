"""`bug_hunt(k)`: the engine with one derivative rule planted wrong, for you to find.

    with exercises.bug_hunt(3) as hunt:
        ...                     # gradcheck, a property test over testing.expressions(), the player
    hunt.check("tanh")          # True if bug 3 is in the rule of tanh

Inside the `with` block one op of the registry has a wrong derivative rule: a lost sign, a
missing factor, `x` where the rule needs `out`, … (ten bugs, one per `k`, in the ops whose names
are method names: `define_op` replaces only those, so `+`, `*`, … keep their rules). Forward values are
untouched, so training still runs: only the gradients are wrong, which is what makes such bugs
dangerous. Entering the block does what `pts.define_op(op, forward, wrong_rule, replace=True)`
does; leaving it calls `pts.undefine_op(op)`, which brings the built-in rule back, also when the
block raises.

The registry is shared by every thread, so the planted rule asks who calls it: the thread that
entered the hunt gets the wrong derivative, every other thread the right one.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from puretorch_scalar import ops
from puretorch_scalar.checks import positive_int
from puretorch_scalar.ops import cos, div

exp = ops.function("exp")
_RIGHT = {record.name: record for record in ops.BUILTINS}


@dataclass(frozen=True)
class Bug:
    """One planted bug: the op, its wrong rule `rule(*xs, out)`, and what is wrong with it."""

    op: str
    rule: Callable[..., Any]
    what: str


# Each wrong rule is written like the registry's (operators and pts.ops functions), so that it
# also runs on Values: second derivatives and forward mode see the same bug.
BUGS: tuple[Bug, ...] = (
    Bug("tanh", lambda x, out: 1.0 - x * x, "x instead of out: 1 − x² instead of 1 − tanh²x"),
    Bug("log", lambda x, out: div(1.0, out), "out instead of x: 1/ln x instead of 1/x"),
    Bug("neg", lambda x, out: 1.0, "a lost sign: ∂(−x)/∂x = 1 instead of −1"),
    Bug("sqrt", lambda x, out: div(1.0, out), "a missing factor ½: 1/√x instead of 1/(2√x)"),
    Bug("exp", lambda x, out: x * exp(x - 1.0), "the power rule misapplied: x·eˣ⁻¹ instead of eˣ"),
    Bug("sigmoid", lambda x, out: out * (1.0 + out), "a sign: σ·(1 + σ) instead of σ·(1 − σ)"),
    Bug("abs", lambda x, out: 1.0, "the negative side forgotten: 1 everywhere instead of sign(x)"),
    Bug("sin", lambda x, out: -cos(x), "a sign: −cos x instead of cos x"),
    Bug("relu", lambda x, out: out, "out instead of 1: relu(x) instead of 1 for x > 0"),
    Bug(
        "cos", lambda x, out: -cos(x), "the wrong function: −cos x (the second derivative) instead of −sin x"
    ),
)


class _Planted:
    """An op whose rule is swapped for a dispatcher: the wrong rule for the threads hunting in
    it, the built-in rule for every other thread."""

    def __init__(self, op: str) -> None:
        self.right = _RIGHT[op].derivative
        self.wrong: dict[int, Callable[..., Any]] = {}  # thread id -> the rule that thread sees

    def derivative(self, *args: Any) -> Any:
        return self.wrong.get(threading.get_ident(), self.right)(*args)


_lock = threading.Lock()
_planted: dict[str, _Planted] = {}  # the ops with a planted rule, in any thread
PLANTABLE = [r.name for r in ops.BUILTINS if r.name.isidentifier() and r.arity]  # what define_op replaces


def plant(op: str, rule: Callable[..., Any]) -> None:
    """From now on this thread sees `rule(*xs, out)` as the derivative of the built-in `op`
    (via `define_op(op, forward, dispatcher, replace=True)`); `unplant(op)` ends it."""
    if op not in PLANTABLE:
        raise ValueError(f"plant: op must be one of {PLANTABLE} (define_op replaces those), got {op!r}")
    me = threading.get_ident()
    with _lock:
        if any(me in planted.wrong for planted in _planted.values()):
            raise RuntimeError("bug_hunt: a bug is planted in this thread already; leave its block first")
        replaced = [r.name for r in ops.BUILTINS if ops.get(r.name) is not r and r.name not in _planted]
        if replaced:
            raise RuntimeError(
                f"bug_hunt: the rules of {replaced} were replaced with define_op(replace=True); "
                "pts.undefine_op them first, so that the planted bug is the only wrong rule"
            )
        if op not in _planted:
            planted = _Planted(op)
            record = _RIGHT[op]
            ops.define_op(op, record.forward, planted.derivative, arity=record.arity, replace=True)
            _planted[op] = planted
        _planted[op].wrong[me] = rule


def unplant(op: str) -> None:
    """This thread sees the built-in rule of `op` again (everyone does, once no thread plants in it)."""
    with _lock:
        planted = _planted[op]
        del planted.wrong[threading.get_ident()]
        if not planted.wrong:
            del _planted[op]
            if ops.get(op).derivative == planted.derivative:  # unless someone restored it already
                ops.undefine_op(op)


@contextmanager
def planted(op: str, rule: Callable[..., Any]) -> Iterator[None]:
    """Inside the block this thread sees `rule` as op's derivative; see `plant`."""
    plant(op, rule)
    try:
        yield
    finally:
        unplant(op)


class BugHunt:
    """The context manager `bug_hunt(k)` returns; `.check(op)` says whether bug k is in op's rule."""

    def __init__(self, k: int) -> None:
        k = positive_int(k, "k", "bug_hunt")
        if k > len(BUGS):
            raise ValueError(f"bug_hunt: k must be an int from 1 to {len(BUGS)}, got {k}")
        self.k = k
        self._bug = BUGS[k - 1]

    def __repr__(self) -> str:
        return f"bug_hunt({self.k})"

    def __enter__(self) -> BugHunt:
        plant(self._bug.op, self._bug.rule)
        return self

    def __exit__(self, *exc_info: object) -> None:
        unplant(self._bug.op)

    def check(self, op: str) -> bool:
        """Whether bug k is in the rule of `op` (a name of the registry: "tanh", "*", …); prints
        what was wrong when it is."""
        ops.get(op)  # KeyError naming the ops, for a name that is none
        if op != self._bug.op:
            print(f"bug {self.k}: not {op!r}, whose rule is right in this hunt. Keep looking.")
            return False
        print(f"bug {self.k}: found! The rule of {op!r} had {self._bug.what}. Right: {_RIGHT[op].caption}")
        return True


def bug_hunt(k: int) -> BugHunt:
    """A context manager inside which one derivative rule of the engine is wrong (`k` from 1 to
    10 picks which bug); `bug_hunt(k).check(op)` says whether you found it. Leaving the block
    restores the engine, also on an exception; other threads never see the bug."""
    return BugHunt(k)
